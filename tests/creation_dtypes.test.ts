// JS numbers never wrap silently (issue 17): the creation paths (kn.array from lists and typed
// arrays, kn.full, kn.arange) and weak scalar operands against numpy 2's choices
// (tests/fixtures/make_creation_dtype_fixtures.py), plus fast-check round-trip properties.
// kiln's documented narrowing of numpy: int64 becomes int32 when every value fits, float64
// becomes float32 unless a value would overflow it, and a weak scalar an integer array cannot
// hold promotes (numpy 2 raises OverflowError there).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as kn from '../index.js';

type JsNum = { i: string } | { f: string };
interface Cases {
  arrays: { input: JsNum[]; numpy: { dtype?: string; values?: string[]; error?: string } }[];
  explicit: { value: JsNum; dtype: kn.DType; fits: boolean }[];
  weak: { dtype: kn.DType; value: JsNum; numpy: string }[];
  aranges: { args: number[]; dtype: string; values: string[] }[];
}
const cases = JSON.parse(readFileSync(new URL('./fixtures/creation_dtype_cases.json', import.meta.url), 'utf8')) as Cases;

const num = (v: JsNum): number => ('i' in v ? Number(v.i) : Number(v.f === '-0.0' ? '-0' : v.f));
const wrap = (v: bigint, d: kn.DType): bigint => {
  const bits = BigInt(kn.array(0, d).itemsize * 8);
  return d.startsWith('u') ? BigInt.asUintN(Number(bits), v) : BigInt.asIntN(Number(bits), v);
};
const I32 = (x: number) => x >= -(2 ** 31) && x < 2 ** 31;
const F32_MAX = 3.4028234663852886e38;
// exact element values (64-bit integers as bigints)
const exact = (a: kn.NDArray): (number | bigint)[] => Array.from(a.toTypedArray() as ArrayLike<number | bigint>);

describe('kn.array against numpy 2', () => {
  it('reads every JS number in the fixture as numpy does', () => {
    for (const c of cases.arrays) {
      const xs = c.input.map(num);
      const a = kn.array(xs);
      const np = c.numpy;
      const label = `${JSON.stringify(c.input)} -> ${np.dtype}`;
      if (np.dtype === 'int64') {
        expect(a.dtype, label).toBe(xs.every(I32) ? 'int32' : 'int64');
        expect(exact(a).map(BigInt), label).toEqual(np.values!.map(BigInt));
      } else if (np.dtype === 'uint64') {
        expect(a.dtype, label).toBe('uint64');
        expect(exact(a), label).toEqual(np.values!.map(BigInt));
      } else if (np.dtype === 'float64') {
        // numpy's float64 for whole numbers only: a negative beside a value past int64 (kiln too)
        const wide = c.input.every((v) => 'i' in v) || xs.some((x) => Number.isFinite(x) && Math.abs(x) > F32_MAX);
        expect(a.dtype, label).toBe(wide ? 'float64' : 'float32');
        const want = np.values!.map(Number).map((x) => (wide ? x : Math.fround(x)));
        expect(exact(a), label).toEqual(want); // toEqual tells -0 from 0
      } else {
        // numpy keeps Python ints in an object array; kiln has no exact home: float64
        expect(np.dtype, label).toBe('object');
        expect(a.dtype, label).toBe('float64');
        expect(exact(a), label).toEqual(xs);
      }
      a.dispose();
    }
  });

  it('raises for an explicit integer dtype exactly where numpy 2 raises', () => {
    for (const c of cases.explicit) {
      const x = num(c.value);
      const label = `${x} as ${c.dtype}`;
      if (c.fits) expect(exact(kn.array([x], c.dtype)).map(BigInt), label).toEqual([BigInt(x)]);
      else expect(() => kn.array([x], c.dtype), label).toThrow(`[array] ${String(x)} does not fit ${c.dtype}`);
      if (c.fits) expect(exact(kn.full([2], x, c.dtype)).map(BigInt), label).toEqual([BigInt(x), BigInt(x)]);
      else expect(() => kn.full([2], x, c.dtype), label).toThrow(`[full] ${String(x)} does not fit ${c.dtype}`);
    }
  });

  it('weak scalars keep the array dtype where numpy 2 does, and promote where it raises', () => {
    for (const c of cases.weak) {
      const x = num(c.value);
      const r = kn.add(kn.array([1], c.dtype), x);
      const label = `${c.dtype} + ${x}`;
      if (c.numpy !== 'overflow') expect(r.dtype, label).toBe(c.numpy);
      else {
        expect(r.dtype, label).not.toBe(c.dtype);
        expect(r.dtype, label).toBe(kn.promoteTypes(c.dtype, kn.array(x).dtype));
      }
      const sum = 1n + BigInt(x);
      const got = exact(r)[0];
      if (r.dtype === 'float32') expect(got, label).toBe(Math.fround(Number(sum)));
      else if (r.dtype === 'float64') expect(got, label).toBe(Number(sum));
      else expect(BigInt(got), label).toBe(wrap(sum, r.dtype)); // integer arithmetic wraps, as numpy's
    }
  });

  it('arange gives int64 when its values leave int32', () => {
    for (const c of cases.aranges) {
      const a = kn.arange(...c.args);
      expect(a.dtype).toBe(c.values.every((v) => I32(Number(v))) ? 'int32' : 'int64');
      expect(exact(a).map(BigInt)).toEqual(c.values.map(BigInt));
    }
    expect(() => kn.arange(2 ** 31 - 2, 2 ** 31 + 1, 'int32')).toThrow('[arange] 2147483648 does not fit int32');
  });
});

describe('creation from JS values', () => {
  it('keeps -0 a float and typed arrays as they are', () => {
    expect(kn.array([-0]).dtype).toBe('float32');
    expect(Object.is((kn.array([1, -0]).tolist() as number[])[1], -0)).toBe(true);
    expect(kn.full([1], -0).dtype).toBe('float32');
    expect(kn.array(new Int32Array([2 ** 31 - 1])).dtype).toBe('int32');
    expect(kn.array(new Float64Array([3e9])).dtype).toBe('float64');
    expect(exact(kn.array(new BigInt64Array([2n ** 62n])))).toEqual([2n ** 62n]);
    expect(() => kn.array(new Int32Array([-1]), 'uint8')).toThrow('[array] -1 does not fit uint8');
    expect(() => kn.array([NaN], 'int32')).toThrow('[array] NaN does not fit int32');
  });

  it('carries bigints exactly', () => {
    expect(exact(kn.array([2n ** 62n + 1n]))).toEqual([2n ** 62n + 1n]);
    expect(exact(kn.full([2], 2n ** 62n + 1n))).toEqual([2n ** 62n + 1n, 2n ** 62n + 1n]);
    expect(exact(kn.add(kn.array([1], 'int64'), 2n ** 62n + 1n))).toEqual([2n ** 62n + 2n]);
    expect(() => kn.array([2n ** 64n])).toThrow('[array] 18446744073709551616 does not fit int64');
  });

  it('property: whole JS numbers round-trip exactly through kn.array, kn.full and kn.arange', () => {
    const whole = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53));
    fc.assert(
      fc.property(fc.array(whole, { minLength: 1, maxLength: 6 }), (xs) => {
        const a = kn.array(xs);
        expect(a.dtype).toBe(xs.every(I32) ? 'int32' : 'int64');
        expect(a.tolist()).toEqual(xs);
        const f = kn.full([2], xs[0]);
        expect(f.tolist()).toEqual([xs[0], xs[0]]);
        const x = Math.min(xs[0], Number.MAX_SAFE_INTEGER - 3);
        const r = kn.arange(x, x + 3);
        expect(r.dtype).toBe(I32(x) && I32(x + 2) ? 'int32' : 'int64');
        expect(r.tolist()).toEqual([x, x + 1, x + 2]);
        kn.dispose([a, f, r]);
      }),
      { seed: 17, numRuns: 200 },
    );
  });

  it('property: an explicit integer dtype holds the value exactly or raises', () => {
    const dtypes: kn.DType[] = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'];
    const bounds: Record<string, [number, number]> = {
      int8: [-128, 127],
      uint8: [0, 255],
      int16: [-32768, 32767],
      uint16: [0, 65535],
      int32: [-(2 ** 31), 2 ** 31 - 1],
      uint32: [0, 2 ** 32 - 1],
      int64: [-(2 ** 63), 2 ** 63 - 1],
      uint64: [0, 2 ** 64 - 1],
    };
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.constantFrom(...dtypes), (x, d) => {
        const [lo, hi] = bounds[d];
        if (x >= lo && x <= hi) expect(kn.array([x], d).tolist()).toEqual([x]);
        else expect(() => kn.array([x], d)).toThrow(/does not fit/);
      }),
      { seed: 18, numRuns: 300 },
    );
  });

  it('property: weak integer scalars give the exact sum (no wrap) with int32 arrays', () => {
    fc.assert(
      fc.property(fc.integer(), fc.maxSafeInteger(), (a, s) => {
        const r = kn.add(kn.array([a], 'int32'), s);
        const sum = BigInt(a) + BigInt(s);
        expect(r.dtype).toBe(I32(s) ? 'int32' : 'int64');
        // int32 + an in-range scalar wraps like numpy's int32 arithmetic; out of range it is exact
        expect(BigInt(exact(r)[0])).toBe(I32(s) ? BigInt.asIntN(32, sum) : sum);
      }),
      { seed: 19, numRuns: 300 },
    );
  });
});
