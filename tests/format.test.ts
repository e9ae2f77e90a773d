import { readFileSync } from 'node:fs';
import { describe, it, expect, afterEach } from 'vitest';
import { formatArray, setPrintOptions, getPrintOptions, type FormatOptions } from '../core/format.js';

// Expected texts come from numpy's repr(), made by tests/fixtures/make_format_fixtures.py with
// kiln's implied dtypes (float32, int32, bool) in place of numpy's (see that script's docstring).
interface FixtureCase {
  name: string;
  dtype: string;
  shape: number[];
  values: (number | string | boolean)[];
  expected: string;
  options?: FormatOptions;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/format_cases.json', import.meta.url), 'utf8')) as { numpy_version: string; cases: FixtureCase[] };

function decode(c: FixtureCase): (number | bigint | boolean)[] {
  return c.values.map((v) => {
    if (typeof v === 'boolean') return v;
    if (c.dtype === 'int64' || c.dtype === 'uint64') return BigInt(v);
    if (v === 'nan') return NaN;
    if (v === 'inf') return Infinity;
    if (v === '-inf') return -Infinity;
    return Number(v);
  });
}

describe(`formatArray matches numpy ${fixture.numpy_version} repr`, () => {
  it('has the generated cases', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(40);
  });
  for (const c of fixture.cases) {
    it(c.name, () => {
      expect(formatArray(decode(c), c.shape, c.dtype, c.options)).toBe(c.expected);
    });
  }
});

// bfloat16 has no numpy reference. These values are exactly representable in bfloat16 and their
// shortest bfloat16 digits equal their shortest float32 digits (short exact binary fractions), so
// the text is numpy's float32 rendering of the same values plus kiln's `, dtype=bfloat16` suffix.
describe('formatArray bfloat16 (hand-checked)', () => {
  it('exact short values print like float32 ones', () => {
    // numpy: repr(np.array([1, 2.5, -0.5, 0.375], np.float32)) minus ', dtype=float32'
    expect(formatArray([1, 2.5, -0.5, 0.375], [4], 'bfloat16')).toBe('array([ 1.   ,  2.5  , -0.5  ,  0.375], dtype=bfloat16)');
    expect(formatArray([1, 2, 3, 4], [2, 2], 'bfloat16')).toBe('array([[1., 2.],\n       [3., 4.]], dtype=bfloat16)');
    expect(formatArray([-0.25], [], 'bfloat16')).toBe('array(-0.25, dtype=bfloat16)');
  });
  it('uses bfloat16 shortest digits and rounds inputs to bfloat16', () => {
    // 0.1 is stored as 0.10009765625; float32 would print 0.10009766, but "0.1" already
    // round-trips through bfloat16 (its spacing near 0.1 is 2^-11), as numpy's unique mode wants.
    expect(formatArray([0.1], [], 'bfloat16')).toBe('array(0.1, dtype=bfloat16)');
    // 1 + 2^-8 is halfway between bfloat16 1 and 1 + 2^-7: ties go to the even mantissa, 1.
    expect(formatArray([1.00390625, 3], [2], 'bfloat16')).toBe('array([1., 3.], dtype=bfloat16)');
  });
  it('switches to scientific notation from 1e2 (numpy rule with finfo(bfloat16).precision 2)', () => {
    expect(formatArray([1, 200], [2], 'bfloat16')).toBe('array([1.e+00, 2.e+02], dtype=bfloat16)');
    expect(formatArray([1, 64], [2], 'bfloat16')).toBe('array([ 1., 64.], dtype=bfloat16)');
  });
});

describe('print options', () => {
  const saved = getPrintOptions();
  afterEach(() => setPrintOptions(saved));

  it('defaults to numpy defaults', () => {
    expect(saved).toEqual({ threshold: 1000, edgeItems: 3, precision: 8, lineWidth: 75, suppressSmall: false });
  });
  it('setPrintOptions changes later calls; per-call options win', () => {
    setPrintOptions({ precision: 3 });
    expect(getPrintOptions().precision).toBe(3);
    expect(formatArray([Math.PI], [1], 'float64')).toBe('array([3.142], dtype=float64)');
    expect(formatArray([Math.PI], [1], 'float64', { precision: 1 })).toBe('array([3.1], dtype=float64)');
    setPrintOptions({ threshold: 4, edgeItems: 1 });
    expect(formatArray([1, 2, 3, 4, 5], [5], 'int32')).toBe('array([1, ..., 5], shape=(5,))');
  });
  it('rejects bad input with the op named', () => {
    expect(() => formatArray([1, 2], [3], 'float32')).toThrow(/\[formatArray\]/);
    expect(() => formatArray([1], [1], 'complex128')).toThrow(/unknown dtype/);
    expect(() => setPrintOptions({ precision: -1 })).toThrow(/\[setPrintOptions\] precision/);
  });
});
