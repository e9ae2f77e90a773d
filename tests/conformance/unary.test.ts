// unary kernel family (unary.cc): every op × every dtype × every layout against the reference,
// with inputs drawn from each op's domain plus its edge and special values.
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
  showInputs,
  transposed,
  type DType,
  type Domain,
} from './util.js';
import { UNARY_DOMAINS } from './domains.js';

const OPS = Object.keys(R.UNARY);
const fn = (op: string) => (kn as unknown as Record<string, (a: kn.NDArray) => kn.NDArray>)[op];

/** erfinv is ill-conditioned near ±1; everything else uses the plain per-dtype tolerance. */
const tolScale = (op: string): number => (op === 'erfinv' ? 4 : 1);

/** Exact ops must also get the sign of zero right (numpy: floor(-0.5) = -0.0). */
const SIGNED_ZERO = new Set(['negative', 'abs', 'floor', 'ceil', 'trunc', 'round']);

function rejects(op: string, d: DType): boolean {
  try {
    R.unaryDType(op, d);
    return false;
  } catch (e) {
    if (e instanceof R.RefTypeError) return true;
    throw e;
  }
}

const CASES = OPS.flatMap((op) => DTYPES.filter((d) => !rejects(op, d)).flatMap((d) => LAYOUTS.map((l) => [op, d, l.name] as [string, DType, string])));
const REJECTED = OPS.flatMap((op) => DTYPES.filter((d) => rejects(op, d)).map((d) => [op, d] as [string, DType]));

describe('unary ops on every dtype and layout', () => {
  it.each(CASES)('%s %s %s', (op, d, layoutName) => {
    const layout = LAYOUTS.find((l) => l.name === layoutName)!;
    runCase(() => {
      const rng = mulberry32(seedOf('unary', op, d, layoutName));
      const { x, ref } = layout.build(d, (n) => genValues(d, n, rng, UNARY_DOMAINS[op]));
      const exp = R.unaryRef(op, ref);
      kn.eval(x);
      poison(nbytesOf(exp.dtype, exp.shape));
      const y = fn(op)(x);
      expectMatches(y, exp, {
        acc: R.UNARY[op].acc,
        signedZero: SIGNED_ZERO.has(op),
        tolScale: tolScale(op),
        inputs: showInputs(exp.shape, ref),
      });
    });
  });
});

describe('unary ops reject unsupported dtypes with a clear error', () => {
  it.each(REJECTED)('%s %s', (op, d) => {
    const x = kn.array([1, 0], d);
    expect(() => fn(op)(x)).toThrow(TypeError);
    expect(() => fn(op)(x)).toThrow(new RegExp(`\\[${op}\\]`));
    x.dispose();
  });
});

describe('unary: accuracy near zero (relative, no absolute slack)', () => {
  // the function value is ~x (or x-ish) for tiny x: a kernel that computes exp(x)-1 or log(1+x)
  // naively, or loses relative accuracy near zero, fails these
  const tiny = [1e-10, -3e-9, 1e-6, -2.5e-5, 1e-20];
  it.each([
    ['expm1', 'float32'],
    ['expm1', 'float64'],
    ['log1p', 'float32'],
    ['log1p', 'float64'],
    ['sin', 'float32'],
    ['tan', 'float32'],
    ['arcsin', 'float32'],
    ['arctan', 'float32'],
    ['sinh', 'float32'],
    ['tanh', 'float32'],
    ['arcsinh', 'float32'],
    ['arctanh', 'float32'],
    ['erf', 'float32'],
    ['erf', 'float64'],
    ['erfinv', 'float32'],
    ['sinh', 'float64'],
    ['tanh', 'float64'],
    ['erfinv', 'float64'],
  ] as [string, DType][])('%s %s', (op, d) => {
    runCase(() => {
      const vals = tiny.map((v) => R.roundTo(d, v));
      const ref = R.make(d, [vals.length], vals);
      const exp = R.unaryRef(op, ref);
      const y = fn(op)(fromVals(d, [vals.length], vals));
      const [rtol] = d === 'float64' ? [1e-12] : [2e-6];
      const got = y.toTypedArray() as ArrayLike<number>;
      exp.data.forEach((e, i) => {
        expect(Math.abs(got[i] - (e as number)), `${op}(${vals[i]}) = ${got[i]}, expected ${e}`).toBeLessThanOrEqual(rtol * Math.abs(e as number));
      });
    });
  });
});

describe('unary: erf/erfinv keep full float64 accuracy near ±1', () => {
  it('erfinv of 1 - 3e-6, 1 - 1e-12, -(1 - 2^-52) and erf beyond 2', () => {
    runCase(() => {
      const ys = [0.9999969876371324, 1 - 1e-12, -(1 - 2 ** -52), 0.99, -0.75];
      const xs = [2.5, 3.3, 4.8399416147731245, -5.9];
      for (const [op, vals] of [
        ['erfinv', ys],
        ['erf', xs],
      ] as [string, number[]][]) {
        const exp = R.unaryRef(op, R.make('float64', [vals.length], vals));
        expectMatches(fn(op)(kn.array(vals, 'float64')), exp, { acc: 'transcendental', tolScale: 0.01 });
      }
    });
  });
});

describe('unary: odd functions keep the sign of zero (numpy/IEEE: f(-0) = -0)', () => {
  const ops = ['sqrt', 'sin', 'tan', 'arcsin', 'arctan', 'sinh', 'tanh', 'arcsinh', 'arctanh', 'erf', 'expm1', 'log1p'];
  const cases = ops.flatMap((op) => (['float16', 'bfloat16', 'float32', 'float64'] as DType[]).map((d) => [op, d] as [string, DType]));
  it.each(cases)('%s(-0) %s', (op, d) => {
    runCase(() => {
      // a contiguous run of 9 takes the 8-wide SIMD path and its scalar tail
      const got = Array.from(fn(op)(kn.full([9], -0, d)).toTypedArray() as ArrayLike<number>);
      expect(got.map((v) => (Object.is(v, -0) ? '-0' : String(v)))).toEqual(new Array(9).fill('-0'));
    });
  });
});

describe('unary: methods exist and match the functions', () => {
  const methods = [
    'negative',
    'abs',
    'sign',
    'square',
    'sqrt',
    'rsqrt',
    'reciprocal',
    'exp',
    'expm1',
    'log',
    'log1p',
    'log2',
    'log10',
    'sin',
    'cos',
    'tan',
    'tanh',
    'sigmoid',
    'erf',
    'floor',
    'ceil',
    'trunc',
    'round',
    'isnan',
    'isinf',
    'isfinite',
    'logicalNot',
  ];
  it.each(methods)('a.%s()', (m) => {
    runCase(() => {
      const x = kn.array([0.25, 1.5, 4], 'float32');
      const viaMethod = (x as unknown as Record<string, () => kn.NDArray>)[m]();
      expect(viaMethod.tolist()).toEqual(fn(m)(x).tolist());
    });
  });
});

describe('unary: round with decimals (numpy: half to even at the scaled value)', () => {
  it('float64 and int32', () => {
    expect(kn.round(kn.array([1.25, 2.5, -0.125, 15.5], 'float64'), 1).tolist()).toEqual([1.2, 2.5, -0.1, 15.5]);
    expect(kn.round(kn.array([1234, -1250, 1350, 1251], 'int32'), -2).tolist()).toEqual([1200, -1200, 1400, 1300]);
  });
  it('integers with negative decimals round ties to even', () => {
    expect(kn.round(kn.array([1250, 250, 150, -150, -250], 'int32'), -2).tolist()).toEqual([1200, 200, 200, -200, -200]);
  });
});

describe('unary: large inputs (multi-threaded paths)', () => {
  it.each([
    ['exp', 'float32'],
    ['sqrt', 'float64'],
    ['tanh', 'float16'],
    ['negative', 'int32'],
    ['floor', 'bfloat16'],
    ['isnan', 'float32'],
  ] as [string, DType][])('%s %s: 100k contiguous and [400, 250] transposed', (op, d) => {
    runCase(() => {
      const rng = mulberry32(seedOf('bigunary', op, d));
      const dom = UNARY_DOMAINS[op];
      const data = genValues(d, 100_000, rng, { ...dom, specialRate: 0.01 });
      const x = fromVals(d, [100_000], data);
      let exp = R.unaryRef(op, R.make(d, [100_000], data));
      poison(nbytesOf(exp.dtype, exp.shape));
      expectMatches(fn(op)(x), exp, { acc: R.UNARY[op].acc, signedZero: SIGNED_ZERO.has(op) });
      const { x: t, ref } = transposed([400, 250], 't').build(d, (n) => genValues(d, n, rng, { ...dom, specialRate: 0.01 }));
      kn.eval(t);
      exp = R.unaryRef(op, ref);
      poison(nbytesOf(exp.dtype, exp.shape));
      expectMatches(fn(op)(t), exp, { acc: R.UNARY[op].acc, signedZero: SIGNED_ZERO.has(op) });
    });
  });
});
