// reduce kernel family (reduce.cc): sum prod mean max min all any argmax argmin × every dtype ×
// every layout × axis configurations (all, one axis, negative axes, several axes, keepdims).
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import * as R from './reference.js';
import {
  DTYPES,
  LAYOUTS,
  contiguous,
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
import { REDUCE_DOMAINS } from './domains.js';

interface AxisCfg {
  name: string;
  axis?: number | number[];
  keepdims?: boolean;
}

function axisConfigs(op: R.ReduceOp, ndim: number): AxisCfg[] {
  const c: AxisCfg[] = [{ name: 'all' }, { name: 'all keepdims', keepdims: true }];
  if (ndim >= 1) c.push({ name: 'axis 0', axis: 0 }, { name: 'axis -1 keepdims', axis: -1, keepdims: true });
  if (op === 'argmax' || op === 'argmin') return c;
  if (ndim >= 2) c.push({ name: 'axes [0, -1]', axis: [0, -1] });
  if (ndim >= 3) c.push({ name: 'axes [-1, 1]', axis: [-1, 1] });
  if (ndim === 0) c.push({ name: 'axes []', axis: [] });
  return c;
}

type ReduceFn = (a: kn.NDArray, axis?: number | number[], opts?: { keepdims?: boolean }) => kn.NDArray;
const fn = (op: string) => (kn as unknown as Record<string, ReduceFn>)[op];

const CASES = R.REDUCE_OPS.flatMap((op) =>
  DTYPES.flatMap((d) => LAYOUTS.flatMap((l) => axisConfigs(op, l.shape.length).map((a) => [op, d, l.name, a.name] as [R.ReduceOp, DType, string, string]))),
);

describe('reductions on every dtype, layout and axis configuration', () => {
  it.each(CASES)('%s %s %s, %s', (op, d, layoutName, axisName) => {
    const layout = LAYOUTS.find((l) => l.name === layoutName)!;
    const cfg = axisConfigs(op, layout.shape.length).find((a) => a.name === axisName)!;
    runCase(() => {
      const rng = mulberry32(seedOf('reduce', op, d, layoutName, axisName));
      const { x, ref } = layout.build(d, (n) => genValues(d, n, rng, REDUCE_DOMAINS[op]));
      let exp: R.RArray;
      try {
        exp = R.reduceRef(op, ref, cfg.axis, cfg.keepdims ?? false);
      } catch (e) {
        if (!(e instanceof R.RefAxisError)) throw e;
        // max/min/argmax/argmin of an empty axis: no identity
        expect(() => fn(op)(x, cfg.axis, { keepdims: cfg.keepdims }).eval()).toThrow(new RegExp(`\\[${op}\\].*(empty|identity)`));
        return;
      }
      kn.eval(x);
      poison(nbytesOf(exp.dtype, exp.shape));
      const y = fn(op)(x, cfg.axis, { keepdims: cfg.keepdims });
      expectMatches(y, exp, { acc: 'arith' });
    });
  });
});

describe('reductions: numpy edge semantics', () => {
  const v = (a: kn.NDArray) => a.tolist();
  it('NaN propagates through max/min; argmax/argmin return the first NaN', () => {
    const a = kn.array(
      [
        [1, NaN, 3, NaN],
        [4, 2, 5, 0],
      ],
      'float32',
    );
    expect(v(kn.max(a, 1))).toEqual([NaN, 5]);
    expect(v(kn.min(a, 1))).toEqual([NaN, 0]);
    expect(v(kn.argmax(a, 1))).toEqual([1, 2]);
    expect(v(kn.argmin(a, 1))).toEqual([1, 3]);
    expect(v(kn.argmax(a))).toBe(1);
  });
  it('argmax/argmin return the first of equal extremes', () => {
    expect(v(kn.argmax(kn.array([1, 3, 3, 2], 'int8')))).toBe(1);
    expect(
      v(
        kn.argmin(
          kn.array(
            [
              [2, 1, 1],
              [0, 0, 5],
            ],
            'float16',
          ),
          1,
        ),
      ),
    ).toEqual([1, 0]);
    expect(v(kn.argmax(kn.array([false, true, true])))).toBe(1);
  });
  it('sum of +inf and -inf is NaN; sum with NaN is NaN', () => {
    expect(v(kn.sum(kn.array([Infinity, -Infinity, 1], 'float32')))).toBeNaN();
    expect(v(kn.sum(kn.array([NaN, 1], 'float16')))).toBeNaN();
  });
  it('empty reductions give the identity (mean: NaN)', () => {
    const e = kn.zeros([0, 3], 'float32');
    expect(v(kn.sum(e, 0))).toEqual([0, 0, 0]);
    expect(v(kn.prod(e, 0))).toEqual([1, 1, 1]);
    expect(v(kn.all(e, 0))).toEqual([true, true, true]);
    expect(v(kn.any(e, 0))).toEqual([false, false, false]);
    expect(v(kn.mean(e, 0))).toEqual([NaN, NaN, NaN]);
    expect(v(kn.sum(kn.zeros([0], 'bool')))).toBe(0);
    expect(v(kn.max(e, 1))).toEqual([]);
  });
  it('integer sums wrap in their accumulator dtype', () => {
    expect(v(kn.sum(kn.array([2 ** 31 - 1, 1], 'int32')))).toBe(-(2 ** 31));
    expect(v(kn.sum(kn.array([127, 127, 127], 'int8')))).toBe(381);
    expect(v(kn.sum(kn.array([255, 255], 'uint8')))).toBe(510);
    expect(v(kn.prod(kn.array([256, 256, 256, 256], 'uint32')))).toBe(0);
    expect(kn.sum(kn.array([2n ** 62n, 2n ** 62n], 'int64')).toTypedArray()).toEqual(new BigInt64Array([-(2n ** 63n)]));
  });
  it('mean of float16 accumulates beyond float16 (numpy)', () => {
    // a float16 accumulator would stall at 2048 (2048 + 1 rounds back to 2048)
    const y = kn.mean(kn.ones([5000], 'float16'));
    expect(y.dtype).toBe('float16');
    expect(v(y)).toBe(1);
    expect(v(kn.sum(kn.ones([3000], 'float16')))).toBe(3000);
  });
  it('keepdims keeps reduced axes as 1', () => {
    const a = kn.ones([2, 3, 4], 'int32');
    expect(kn.sum(a, [0, 2], { keepdims: true }).shape).toEqual([1, 3, 1]);
    expect(kn.argmax(a, 1, { keepdims: true }).shape).toEqual([2, 1, 4]);
    expect(kn.argmax(a, undefined, { keepdims: true }).shape).toEqual([1, 1, 1]);
    expect(kn.sum(a, { axis: -1, keepdims: true }).shape).toEqual([2, 3, 1]);
    expect(a.sum(1).shape).toEqual([2, 4]);
  });
  it('methods exist and match the functions', () => {
    const a = kn.array(
      [
        [3, 1, 2],
        [0, 5, 4],
      ],
      'int16',
    );
    for (const m of ['sum', 'prod', 'mean', 'max', 'min', 'all', 'any', 'argmax', 'argmin']) {
      const method = (a as unknown as Record<string, (axis?: number) => kn.NDArray>)[m];
      expect(method.call(a, 1).tolist()).toEqual(fn(m)(a, 1).tolist());
    }
  });
});

describe('reductions: large inputs (multi-threaded paths)', () => {
  const CFGS: [string, number[], AxisCfg[]][] = [
    ['[400, 250] contiguous', [400, 250], [{ name: 'all' }, { name: 'axis 0', axis: 0 }, { name: 'axis 1', axis: 1 }]],
    ['[100000]', [100_000], [{ name: 'all' }]],
    [
      '[50, 40, 60]',
      [50, 40, 60],
      [
        { name: 'axes [0, 2]', axis: [0, 2] },
        { name: 'axis 1', axis: 1 },
      ],
    ],
  ];
  const OPS: [R.ReduceOp, DType][] = [
    ['sum', 'float32'],
    ['sum', 'int32'],
    ['sum', 'float16'],
    ['prod', 'int64'],
    ['mean', 'bfloat16'],
    ['max', 'float32'],
    ['min', 'int16'],
    ['argmax', 'float32'],
    ['argmin', 'int32'],
    ['any', 'float32'],
  ];
  const cases = OPS.flatMap(([op, d]) => CFGS.map(([name]) => [op, d, name] as [R.ReduceOp, DType, string]));
  it.each(cases)('%s %s %s', (op, d, cfgName) => {
    const [, shape, axes] = CFGS.find((c) => c[0] === cfgName)!;
    runCase(() => {
      const rng = mulberry32(seedOf('bigreduce', op, d, cfgName));
      // small integers keep float sums exact, so any lost or doubled block shows up
      const dom: Domain =
        op === 'sum' || op === 'mean'
          ? { lo: -3, hi: 3, quantum: 1, specials: [], ilo: -3, ihi: 3, extremes: d === 'int32' || d === 'uint8', specialRate: 0.01 }
          : op === 'prod'
            ? { lo: 0, hi: 0, ilo: 1, ihi: 1, intSpecials: [-1, 3, 2], specialRate: 0.002 }
            : { ...REDUCE_DOMAINS[op], specialRate: op === 'all' || op === 'any' ? 0.00005 : 0.0001 };
      for (const layout of [contiguous(shape), ...(shape.length === 2 ? [transposed(shape)] : [])]) {
        const { x, ref } = layout.build(d, (n) => genValues(d, n, rng, dom));
        kn.eval(x);
        for (const a of axes) {
          if ((op === 'argmax' || op === 'argmin') && Array.isArray(a.axis)) continue;
          const exp = R.reduceRef(op, ref, a.axis);
          poison(nbytesOf(exp.dtype, exp.shape));
          expectMatches(fn(op)(x, a.axis), exp, { acc: 'arith' });
        }
      }
    });
  });
});

describe('reductions: thread count does not change exact results', () => {
  it.each(['sum', 'argmax'] as R.ReduceOp[])('%s of [300, 400] int32 with 1 thread and with all', (op) => {
    runCase(() => {
      const rng = mulberry32(seedOf('threads', op));
      const { x, ref } = transposed([300, 400]).build('int32', (n) =>
        genValues('int32', n, rng, { lo: 0, hi: 0, ilo: -3, ihi: 3, extremes: true, specialRate: 0.001 }),
      );
      kn.eval(x);
      for (const axis of [undefined, 0, 1]) {
        const exp = R.reduceRef(op, ref, axis);
        kn.setNumThreads(1);
        try {
          expectMatches(fn(op)(x, axis), exp);
        } finally {
          kn.setNumThreads(0);
        }
        expectMatches(fn(op)(x, axis), exp);
      }
    });
  });
});

describe('reduction errors', () => {
  const a = () => kn.ones([2, 3]);
  it('axis out of bounds', () => {
    expect(() => kn.sum(a(), 2)).toThrow(/\[sum\] axis 2 is out of bounds for array of dimension 2/);
    expect(() => kn.max(a(), -3)).toThrow(/\[max\].*out of bounds/);
    expect(() => kn.argmax(a(), 2)).toThrow(/\[argmax\].*out of bounds/);
    expect(() => kn.sum(kn.array(1), 0)).toThrow(/\[sum\].*out of bounds/);
  });
  it('repeated axes', () => {
    expect(() => kn.sum(a(), [0, 0])).toThrow(/\[sum\] repeated axis/);
    expect(() => kn.mean(a(), [1, -1])).toThrow(/\[mean\] repeated axis/);
  });
  it('non-integer axis and bad keepdims', () => {
    expect(() => kn.sum(a(), 0.5)).toThrow(/\[sum\] axis must be an integer/);
    expect(() => kn.sum(a(), 0, { keepdims: 1 as unknown as boolean })).toThrow(/\[sum\] keepdims must be a boolean/);
    // a bare `true` for the options would otherwise drop keepdims without a word
    expect(() => kn.sum(a(), -1, true as never)).toThrow('[sum] options must be an object such as { keepdims: true }, got true');
    expect(() => kn.argmax(a(), 0, [1] as never)).toThrow('[argmax] options must be an object such as { keepdims: true }, got [1]');
  });
  it('identity-less reductions of empty arrays', () => {
    expect(() => kn.max(kn.zeros([0]))).toThrow(/\[max\] cannot reduce an empty axis/);
    expect(() => kn.argmin(kn.zeros([3, 0]), 1)).toThrow(/\[argmin\] cannot reduce an empty axis/);
  });
  it('fromVals helper sanity', () => {
    expect(fromVals('uint8', [3], [1, 2, 3]).sum().item()).toBe(6);
  });
});
