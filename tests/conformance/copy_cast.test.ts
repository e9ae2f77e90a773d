// copy kernel family (copy.cc): astype between every pair of dtypes, on contiguous data and on
// every layout; fill (kn.full) and arange for every dtype; multi-threaded sizes.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import * as R from './reference.js';
import {
  DTYPES,
  LAYOUTS,
  expectMatches,
  fromVals,
  genValues,
  mulberry32,
  nbytesOf,
  poison,
  runCase,
  seedOf,
  transposed,
  type DType,
  type Domain,
} from './util.js';

// Float sources: fractions, signed zeros, float16/bfloat16 overflow and subnormal boundaries,
// float32 subnormals and a float64 -> float16 double-rounding trap.
const FLOAT_SPECIALS = [
  NaN,
  Infinity,
  -Infinity,
  -0,
  0,
  0.5,
  -0.5,
  1.5,
  -2.5,
  65504,
  65519.99,
  65520,
  -70000,
  1e-5,
  6.1e-5,
  5.96e-8,
  2.98e-8,
  -2e-7,
  1e-40,
  1e-45,
  3.4e38,
  -3.4e38,
  1e-320,
  2e9 + 7,
  -2e9 - 3,
  1e18,
  -1e18,
  1e19,
];
const CAST_DOMAIN: Domain = { lo: -300, hi: 300, specials: FLOAT_SPECIALS, extremes: true, specialRate: 0.35 };

/**
 * Float -> integer is only defined by numpy (x86) where the C conversion is: finite values in
 * the int32 range for targets of up to 32 bits (wrapping), the int64 range for int64 and
 * (-2^63, 2^64) for uint64. Other sources keep every value.
 */
function castable(v: R.Val, from: DType, to: DType): boolean {
  if (!R.isFloat(from) || !R.isInt(to)) return true;
  const x = v as number;
  if (!Number.isFinite(x)) return false;
  if (to === 'int64') return x >= -(2 ** 63) && x < 2 ** 63;
  if (to === 'uint64') return x > -(2 ** 63) && x < 2 ** 64;
  return Math.abs(x) < 2 ** 31;
}

function castInputs(from: DType, to: DType, n: number, seed: number): R.Val[] {
  const rng = mulberry32(seed);
  const vals = genValues(from, n * 2, rng, CAST_DOMAIN).filter((v) => castable(v, from, to));
  return vals.slice(0, n);
}

const PAIRS = DTYPES.flatMap((from) => DTYPES.map((to) => [from, to] as [DType, DType]));

describe('astype: every dtype to every dtype, contiguous', () => {
  it.each(PAIRS)('%s -> %s', (from, to) => {
    runCase(() => {
      const data = castInputs(from, to, 64, seedOf('cast', from, to));
      const x = fromVals(from, [data.length], data);
      const exp = R.castArray(R.make(from, [data.length], data), to);
      kn.eval(x);
      poison(nbytesOf(to, exp.shape));
      const y = x.astype(to);
      expectMatches(y, exp, { signedZero: true, inputs: [R.make(from, [data.length], data)] });
    });
  });
});

describe('astype on every layout', () => {
  // each dtype to a wider and a narrower float, and float32/int32 into it
  const cases: [DType, DType, string][] = [];
  for (const d of DTYPES) {
    for (const l of LAYOUTS) {
      cases.push([d, d === 'float64' ? 'float16' : 'float64', l.name]);
      cases.push(['float32', d, l.name]);
      cases.push(['int32', d, l.name]);
    }
  }
  it.each(cases.filter(([a, b]) => a !== b))('%s -> %s, %s', (from, to, layoutName) => {
    const layout = LAYOUTS.find((l) => l.name === layoutName)!;
    runCase(() => {
      const rng = mulberry32(seedOf('castlayout', from, to, layoutName));
      const gen = (n: number) => {
        const v = genValues(from, n * 3, rng, CAST_DOMAIN).filter((x) => castable(x, from, to));
        while (v.length < n) v.push(R.castVal(1, 'float64', from));
        return v.slice(0, n);
      };
      const { x, ref } = layout.build(from, gen);
      const exp = R.castArray(ref, to);
      kn.eval(x);
      poison(nbytesOf(to, exp.shape));
      expectMatches(x.astype(to), exp, { signedZero: true, inputs: [ref] });
    });
  });
});

describe('astype: documented details', () => {
  it('float64 -> float16 rounds once (numpy), not through float32', () => {
    // 1 + 2^-11 + 2^-40: through float32 it becomes the tie 1 + 2^-11 and rounds to 1.0
    const v = 1 + 2 ** -11 + 2 ** -40;
    expect(kn.array([v], 'float64').astype('float16').tolist()).toEqual([1 + 2 ** -10]);
  });
  it('float64 values filled into float16 (kn.full, JS scalar operands) also round once', () => {
    const v = 1 + 2 ** -11 + 2 ** -40;
    expect(kn.array([v], 'float16').tolist()).toEqual([1 + 2 ** -10]); // host conversion
    expect(kn.full([1], v, 'float16').tolist()).toEqual([1 + 2 ** -10]);
    expect(kn.add(kn.zeros([1], 'float16'), v).tolist()).toEqual([1 + 2 ** -10]);
  });
  it('float -> int truncates toward zero and wraps (numpy on x86)', () => {
    expect(kn.array([-1.7, 1.7, 300.7, -300.7, -129.2], 'float64').astype('int8').tolist()).toEqual([-1, 1, 44, -44, 127]);
    expect(kn.array([-1.5, 300.7], 'float32').astype('uint8').tolist()).toEqual([255, 44]);
    expect(kn.array([-1.5, 1e19], 'float64').astype('uint64').toTypedArray()).toEqual(new BigUint64Array([2n ** 64n - 1n, 10000000000000000000n]));
  });
  it('NaN and infinities cast to integers without crashing (undefined in numpy)', () => {
    for (const d of ['int8', 'uint8', 'int32', 'uint32', 'int64', 'uint64'] as DType[]) {
      const y = kn.array([NaN, Infinity, -Infinity], 'float32').astype(d);
      expect(y.dtype).toBe(d);
      expect(y.toTypedArray().length).toBe(3);
    }
  });
  it('bool casts: NaN and -0.0', () => {
    expect(kn.array([NaN, -0, 0, 0.1, -Infinity], 'float32').astype('bool').tolist()).toEqual([true, false, false, true, true]);
  });
});

// ---- fill and arange ------------------------------------------------------------------------

describe('fill (kn.full) for every dtype', () => {
  const values: Record<string, number[]> = {
    float: [0, -0, 1.5, -2.25, NaN, Infinity, -Infinity, 1e-5, 65504],
    int: [0, 1, -1, 7, 100, -100, 127, 255],
  };
  it.each(DTYPES)('%s', (d) => {
    runCase(() => {
      const vals = d === 'bool' ? [0, 1, 2] : R.isFloat(d) ? values.float : values.int;
      for (const v of vals) {
        const shape = [3, 5];
        poison(nbytesOf(d, shape));
        // an integer dtype that cannot hold the value raises (issue 17) instead of wrapping
        if (R.isInt(d) && Number(R.castVal(v, 'float64', d)) !== v) {
          expect(() => kn.full(shape, v, d)).toThrow(`[full] ${v} does not fit ${d}`);
          continue;
        }
        const y = kn.full(shape, v, d);
        const exp = R.make(d, shape, new Array<R.Val>(15).fill(R.castVal(v, 'float64', d)));
        expectMatches(y, exp, { signedZero: true });
      }
      const e = kn.full([2, 0, 3], 1, d);
      expect(e.shape).toEqual([2, 0, 3]);
      expect(e.tolist()).toEqual([[], []]);
      const z = kn.full([], 3, d);
      expectMatches(z, R.make(d, [], [R.castVal(3, 'float64', d)]));
    });
  });
  it('zeros/ones default to float32 and broadcast an array fill value', () => {
    expect(kn.zeros([2]).dtype).toBe('float32');
    expect(kn.ones([2], 'int8').tolist()).toEqual([1, 1]);
    expect(kn.full([2, 3], kn.array([1, 2, 3])).tolist()).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
  });
});

describe('arange for every dtype', () => {
  const specs: [number, number, number][] = [
    [0, 10, 1],
    [3, -4, -1],
    [-2, 2, 0.5],
    [1, 2, 0.25],
    [5, 5, 1],
    [0, 100, 7],
  ];
  it.each(DTYPES.filter((d) => d !== 'bool'))('%s', (d) => {
    runCase(() => {
      for (const [start, stop, step] of specs) {
        if (!R.isFloat(d) && !Number.isInteger(step)) continue;
        if (R.isUnsigned(d) && (start < 0 || stop < 0)) continue;
        const n = Math.max(0, Math.ceil((stop - start) / step));
        poison(nbytesOf(d, [n]));
        const y = kn.arange(start, stop, step, d);
        const exp = R.make(
          d,
          [n],
          Array.from({ length: n }, (_, i) => R.castVal(start + i * step, 'float64', d)),
        );
        expectMatches(y, exp, { signedZero: true });
      }
    });
  });
  it('infers int32 for integer arguments and float32 otherwise', () => {
    expect(kn.arange(5).dtype).toBe('int32');
    expect(kn.arange(0, 1, 0.5).dtype).toBe('float32');
    expect(kn.arange(0, 1, 0.5).tolist()).toEqual([0, 0.5]);
  });
});

// ---- multi-threaded sizes -------------------------------------------------------------------

describe('large copies (multi-threaded paths)', () => {
  it.each([
    ['float32', 'float16'],
    ['float32', 'bfloat16'],
    ['int32', 'float64'],
    ['float64', 'int16'],
    ['uint8', 'float32'],
  ] as [DType, DType][])('%s -> %s, 120k elements contiguous and transposed', (from, to) => {
    runCase(() => {
      const rng = mulberry32(seedOf('bigcast', from, to));
      const dom: Domain = { lo: -1000, hi: 1000, ilo: -1000, ihi: 1000, specials: [] };
      const data = genValues(from, 120_000, rng, dom);
      const x = fromVals(from, [120_000], data);
      const exp = R.castArray(R.make(from, [120_000], data), to);
      poison(nbytesOf(to, exp.shape));
      expectMatches(x.astype(to), exp, { signedZero: true });
      const t = transposed([300, 400], 't');
      const built = t.build(from, (n) => genValues(from, n, rng, dom));
      kn.eval(built.x);
      poison(nbytesOf(to, [300, 400]));
      expectMatches(built.x.astype(to), R.castArray(built.ref, to), { signedZero: true });
    });
  });
});
