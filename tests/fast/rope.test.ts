// kn.fast.rope: the native kernel and the composed fallback against a float64 reference, for
// both pair layouts, partial rotations, offsets, scales, custom frequencies, every float dtype
// and input layout, plus edge sizes and errors.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { Rope, ropeArgs, ropeComposed, type RopeOptions } from '../../ops/fast/rope.js';
import { FLOATS, LAYOUTS, expectClose, makeInput, rng, values } from './helpers.js';
import { ropeRef } from './reference.js';

interface Case {
  shape: number[];
  dims: number;
  opts: Omit<RopeOptions, 'freqs'> & { freqs?: number[] };
}
const CASES: Case[] = [
  { shape: [2, 3, 7, 8], dims: 8, opts: {} },
  { shape: [2, 3, 7, 8], dims: 8, opts: { traditional: true, offset: 3 } },
  { shape: [5, 12], dims: 8, opts: { base: 500, scale: 0.5 } },
  { shape: [5, 12], dims: 6, opts: { traditional: true, offset: 2, scale: 2 } },
  { shape: [1, 2, 40, 64], dims: 64, opts: { offset: 4000 } },
  { shape: [3, 6, 10], dims: 4, opts: { freqs: [1.5, 40] } },
  { shape: [3, 6, 10], dims: 4, opts: { traditional: true, freqs: [0.5, 7], offset: -2 } },
];

describe('rope', () => {
  for (const dtype of FLOATS)
    for (const layout of LAYOUTS)
      it(`${dtype} ${layout}: kernel and fallback match the float64 reference`, () => {
        CASES.forEach(({ shape, dims, opts }, c) => {
          const x = makeInput(shape, dtype, layout, rng(c + 3));
          const freqs = opts.freqs ? kn.array(opts.freqs, 'float32') : null;
          const o: RopeOptions = { ...opts, freqs };
          const expected = ropeRef({
            x: x.vals,
            shape,
            dims,
            traditional: opts.traditional ?? false,
            base: opts.base ?? 10000,
            scale: opts.scale ?? 1,
            offset: opts.offset ?? 0,
            freqs: freqs ? values(freqs) : null,
          });
          const y = kn.fast.rope(x.arr, dims, o);
          expect(y.node.primitive).toBe(Rope);
          expect(y.dtype).toBe(dtype);
          expect(y.shape).toEqual(shape);
          const what = `case ${c} ${JSON.stringify(opts)}`;
          // float64 angles near 4000 rad carry ~4000 roundoffs whichever formula makes them
          const ulps = dtype === 'float64' && (opts.offset ?? 0) > 100 ? 64 : 4;
          expectClose(y, expected, dtype, ulps, 1, `kernel ${what}`);
          const f = ropeComposed(ropeArgs(x.arr, dims, o));
          expectClose(f, expected, dtype, ulps, 1, `fallback ${what}`);
          expectClose(y, values(f), dtype, 2, 1, `kernel vs fallback ${what}`);
        });
      });

  it('position 0 is the identity; features past dims pass through exactly', () => {
    const x = kn.array([[[1, 2, 3, 4, 5, 6]]], 'float32');
    expect(kn.fast.rope(x, 4).tolist()).toEqual([[[1, 2, 3, 4, 5, 6]]]);
    const y = values(kn.fast.rope(kn.broadcastTo(x, [1, 3, 6]), 4, { offset: 7 }));
    for (let l = 0; l < 3; l++) expect([y[l * 6 + 4], y[l * 6 + 5]]).toEqual([5, 6]);
  });

  it('rotations preserve the norm of each pair', () => {
    const x = kn.random.normal([1, 1, 5, 8], { key: kn.random.key(1) }).astype('float64');
    const a = values(x),
      b = values(kn.fast.rope(x, 8, { offset: 5 }));
    for (let r = 0; r < 5; r++)
      for (let i = 0; i < 4; i++) expect(Math.hypot(b[r * 8 + i], b[r * 8 + i + 4])).toBeCloseTo(Math.hypot(a[r * 8 + i], a[r * 8 + i + 4]), 12);
  });

  it('integer input computes in float32', () => {
    const y = kn.fast.rope(kn.ones([1, 2, 4], 'int32'), 4, { offset: 1 });
    expect(y.dtype).toBe('float32');
    expectClose(y, ropeRef({ x: new Float64Array(8).fill(1), shape: [1, 2, 4], dims: 4, traditional: false, base: 10000, scale: 1, offset: 1 }), 'float32');
  });

  it('0-size inputs', () => {
    expect(kn.fast.rope(kn.zeros([2, 0, 8]), 8).shape).toEqual([2, 0, 8]);
    expect(kn.fast.rope(kn.zeros([0, 3, 8], 'float16'), 4, { traditional: true }).shape).toEqual([0, 3, 8]);
  });

  it('errors name the op and the values', () => {
    const x = kn.ones([2, 3, 8]);
    expect(() => kn.fast.rope(x, 7)).toThrow(/\[rope\] dims must be an even integer in \[2, 8\].*got 7/);
    expect(() => kn.fast.rope(x, 10)).toThrow(/\[rope\] dims must be an even integer in \[2, 8\]/);
    expect(() => kn.fast.rope(x, 0)).toThrow(/\[rope\] dims/);
    expect(() => kn.fast.rope(x, 2.5)).toThrow(/\[rope\] dims must be an integer, got 2.5/);
    expect(() => kn.fast.rope(kn.ones([8]), 8)).toThrow(/\[rope\] x must have shape \[\.\.\., L, D\]/);
    expect(() => kn.fast.rope(x, 8, { freqs: kn.ones([3]) })).toThrow(/\[rope\] freqs must have shape \[4\] \(dims \/ 2\), got \[3\]/);
    expect(() => kn.fast.rope(x, 8, { freqs: kn.ones([4]), base: 10 })).toThrow(/\[rope\] pass either base or freqs, not both/);
    expect(() => kn.fast.rope(x, 8, { offset: 1.5 })).toThrow(/\[rope\] offset must be an integer, got 1.5/);
    expect(() => kn.fast.rope(x, 8, { base: -1 })).toThrow(/\[rope\] base must be positive, got -1/);
    expect(() => kn.fast.rope(x, 8, { scale: NaN })).toThrow(/\[rope\] scale must be a finite number/);
    expect(() => kn.fast.rope(x, 8, { traditional: 1 as unknown as boolean })).toThrow(/\[rope\] traditional must be a boolean/);
    expect(() => kn.fast.rope(x, 8, { offest: 1 } as RopeOptions)).toThrow(/\[rope\] unknown option 'offest'/);
  });
});
