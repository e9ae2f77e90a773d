// scan kernel family (scan.cc): cumsum, cumprod, cummax, cummin, logcumsumexp × every dtype ×
// every layout × axis (flattened, 0, -1, 1), reverse/exclusive variants, the chunked two-pass
// path for long rows, numpy dtype rules, options and errors.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import * as R from './reference.js';
import { SCAN_OPS, alongAxis, flat, lcseErr, scanDType, scanOrderErr, scanRow, type ScanOp } from './sort_scan_ref.js';
import {
  DTYPES,
  LAYOUTS,
  contiguous,
  evalDevice,
  expectMatches,
  genValues,
  mulberry32,
  nbytesOf,
  poison,
  readVals,
  runCase,
  seedOf,
  transposed,
  sliced,
  type DType,
  type Domain,
  type Layout,
} from './util.js';
import { SCAN_DOMAINS } from './domains.js';

type ScanFn = (a: kn.NDArray, axis?: number | null, opts?: { reverse?: boolean; inclusive?: boolean }) => kn.NDArray;
const fn = (op: ScanOp) => (kn as unknown as Record<string, ScanFn>)[op];

interface Cfg {
  reverse: boolean;
  inclusive: boolean;
}
const DEFAULT: Cfg = { reverse: false, inclusive: true };

// On a GPU (KILN_DEVICE=gpu) float sums and products are parallel scans: they round in another
// order than the sequential reference, so they get scanOrderErr's allowance; the CPU's short rows
// are sequential and stay exact (its chunked long rows are checked on integer-valued floats).
const REORDERED = evalDevice().type === 'gpu';

/** The reference scan of `ref` along `axis` (undefined: flattened). */
function expected(op: ScanOp, ref: R.RArray, axis: number | undefined, cfg: Cfg): R.RArray {
  // integer / bool inputs of logcumsumexp compute in float32
  const src = op === 'logcumsumexp' && !R.isFloat(ref.dtype) ? R.castArray(ref, 'float32') : ref;
  const r = axis === undefined ? flat(src) : src;
  const ax = axis === undefined ? 0 : axis < 0 ? axis + r.shape.length : axis;
  const od = scanDType(op, src.dtype);
  return alongAxis(
    r,
    ax,
    (row) => scanRow(op, src.dtype, row, cfg.reverse, cfg.inclusive),
    od,
    undefined,
    op === 'logcumsumexp'
      ? (row) => lcseErr(od, row, cfg.reverse)
      : REORDERED && (op === 'cumsum' || op === 'cumprod') && R.isFloat(od)
        ? (row) => scanOrderErr(op, src.dtype, row, cfg.reverse, cfg.inclusive)
        : undefined,
  );
}

function check(op: ScanOp, d: DType, layout: Layout, axis: number | undefined, cfg: Cfg, seed: string): void {
  runCase(() => {
    const rng = mulberry32(seedOf('scan', op, d, layout.name, String(axis), seed));
    const { x, ref } = layout.build(d, (n) => genValues(d, n, rng, SCAN_DOMAINS[op]));
    kn.eval(x);
    if (axis !== undefined && (axis >= layout.shape.length || axis < -layout.shape.length)) {
      expect(() => fn(op)(x, axis, cfg)).toThrow(new RegExp(`\\[${op}\\] axis ${axis} is out of bounds for array of dimension ${layout.shape.length}`));
      return;
    }
    const exp = expected(op, ref, axis, cfg);
    poison(nbytesOf(exp.dtype, exp.shape));
    const y = fn(op)(x, axis, cfg);
    expectMatches(y, exp, { acc: op === 'logcumsumexp' ? 'transcendental' : 'exact' });
  });
}

const axesFor = (nd: number): (number | undefined)[] => (nd === 0 ? [undefined, 0] : nd >= 3 ? [undefined, 0, -1, 1] : [undefined, 0, -1]);

const CASES = SCAN_OPS.flatMap((op) =>
  DTYPES.flatMap((d) => LAYOUTS.flatMap((l) => axesFor(l.shape.length).map((a) => [op, d, l.name, a] as [ScanOp, DType, string, number | undefined]))),
);

describe('scans on every dtype, layout and axis', () => {
  it.each(CASES)('%s %s %s axis %s', (op, d, layoutName, axis) => {
    check(
      op,
      d,
      LAYOUTS.find((l) => l.name === layoutName)!,
      axis,
      DEFAULT,
      'default',
    );
  });
});

const VARIANTS: Cfg[] = [
  { reverse: true, inclusive: true },
  { reverse: false, inclusive: false },
  { reverse: true, inclusive: false },
];
const VLAYOUTS = [transposed([5, 6]), sliced([4, 7])];
const VCASES = SCAN_OPS.flatMap((op) => DTYPES.flatMap((d) => VARIANTS.map((v, i) => [op, d, i] as [ScanOp, DType, number])));

describe('reverse and exclusive scans', () => {
  it.each(VCASES)('%s %s variant %i', (op, d, vi) => {
    const cfg = VARIANTS[vi];
    for (const l of VLAYOUTS) for (const axis of [0, -1]) check(op, d, l, axis, cfg, `v${vi}`);
  });
});

describe('scans: long rows (chunked two-pass path) and many rows', () => {
  const SHAPES: [string, number[], number][] = [
    ['[200000] (one row)', [200_000], 0],
    ['[3, 132000] axis 1', [3, 132_000], 1],
    ['[2000, 60] transposed, axis 0', [2000, 60], 0],
    ['[1500, 300] axis 0 (columns)', [1500, 300], 0],
  ];
  const OPS: [ScanOp, DType, Domain][] = [
    ['cumsum', 'int32', { lo: 0, hi: 0, ilo: -9, ihi: 9, extremes: true, specialRate: 0.001 }],
    // integer-valued floats keep float32 partial sums exact whatever the chunking
    ['cumsum', 'float32', { lo: -1, hi: 1, quantum: 1, specials: [], specialRate: 0 }],
    ['cumsum', 'int8', { lo: 0, hi: 0, ilo: -100, ihi: 100, extremes: true, specialRate: 0.01 }],
    ['cumprod', 'int64', { lo: 0, hi: 0, ilo: 1, ihi: 1, intSpecials: [-1, 3, 2], specialRate: 0.002 }],
    ['cummax', 'float32', { lo: -1e6, hi: 1e6, specials: [NaN], specialRate: 0.000005 }],
    ['cummin', 'uint16', { lo: 0, hi: 0, ilo: 0, ihi: 60000 }],
    ['logcumsumexp', 'float64', { lo: -30, hi: 5, specials: [-Infinity], specialRate: 0.01 }],
  ];
  const cases = OPS.flatMap(([op, d], i) => SHAPES.map(([name]) => [op, d, name, i] as [ScanOp, DType, string, number]));
  it.each(cases)('%s %s %s', (op, d, name, i) => {
    const [, shape, axis] = SHAPES.find((s) => s[0] === name)!;
    const dom = OPS[i][2];
    runCase(() => {
      const rng = mulberry32(seedOf('bigscan', op, d, name));
      const layout = name.includes('transposed') ? transposed(shape) : contiguous(shape);
      const { x, ref } = layout.build(d, (n) => genValues(d, n, rng, dom));
      kn.eval(x);
      for (const cfg of [DEFAULT, { reverse: true, inclusive: false }]) {
        const exp = expected(op, ref, axis, cfg);
        if (op === 'logcumsumexp') exp.err = exp.err!.map((e) => e * 50); // chunked order: more roundings
        poison(nbytesOf(exp.dtype, exp.shape));
        expectMatches(fn(op)(x, axis, cfg), exp, { acc: op === 'logcumsumexp' ? 'transcendental' : 'exact' });
      }
    });
  });
  it('one thread and all threads give the same integer scans', () => {
    runCase(() => {
      const x = kn.array(Int32Array.from({ length: 300_000 }, (_, i) => ((i * 7919) % 13) - 6));
      const all = readVals(kn.cumsum(x, { reverse: true }));
      kn.setNumThreads(1);
      try {
        expect(readVals(kn.cumsum(x, { reverse: true }))).toEqual(all);
      } finally {
        kn.setNumThreads(0);
      }
    });
  });
});

describe('scans: numpy dtype rules, options, methods and errors', () => {
  const v = (a: kn.NDArray) => a.tolist();
  it('result dtypes follow kn.sum (small integers widen), logcumsumexp computes in float', () => {
    const cases: [DType, DType, DType][] = [
      ['bool', 'int32', 'bool'],
      ['int8', 'int32', 'int8'],
      ['int16', 'int32', 'int16'],
      ['uint8', 'uint32', 'uint8'],
      ['uint16', 'uint32', 'uint16'],
      ['int32', 'int32', 'int32'],
      ['uint64', 'uint64', 'uint64'],
      ['float16', 'float16', 'float16'],
      ['bfloat16', 'bfloat16', 'bfloat16'],
    ];
    for (const [d, sum, max] of cases) {
      const a = kn.zeros([3], d);
      expect([kn.cumsum(a).dtype, kn.cumprod(a).dtype, kn.cummax(a).dtype, kn.cummin(a).dtype]).toEqual([sum, sum, max, max]);
    }
    expect(kn.logcumsumexp(kn.zeros([2], 'int32')).dtype).toBe('float32');
    expect(kn.logcumsumexp(kn.zeros([2], 'float16')).dtype).toBe('float16');
    expect(v(kn.cumsum(kn.array([true, true, false, true])))).toEqual([1, 2, 2, 3]);
    expect(v(kn.cumsum(kn.array([100, 100, 100], 'int8')))).toEqual([100, 200, 300]);
    expect(v(kn.cumsum(kn.array([2 ** 31 - 1, 1], 'int32')))).toEqual([2 ** 31 - 1, -(2 ** 31)]);
  });
  it('dtype option, flattening, 0-d and empty inputs', () => {
    const a = kn.array(
      [
        [1, 2],
        [3, 4],
      ],
      'int32',
    );
    expect(kn.cumsum(a, { dtype: 'float64' }).dtype).toBe('float64');
    expect(v(kn.cumprod(a, 0, { dtype: 'int8' }))).toEqual([
      [1, 2],
      [3, 8],
    ]);
    expect(v(kn.cumsum(a))).toEqual([1, 3, 6, 10]);
    expect(v(kn.cumsum(a, null))).toEqual([1, 3, 6, 10]);
    expect(v(kn.cumsum(kn.array(5)))).toEqual([5]);
    expect(kn.cumsum(kn.zeros([2, 0]), 1).shape).toEqual([2, 0]);
    expect(kn.cummax(kn.zeros([0]), 0).shape).toEqual([0]);
  });
  it('reverse, exclusive and their identities', () => {
    const a = kn.array([3, 1, 4, 1, 5], 'float32');
    expect(v(kn.cumsum(a, { reverse: true }))).toEqual([14, 11, 10, 6, 5]);
    expect(v(kn.cumsum(a, { inclusive: false }))).toEqual([0, 3, 4, 8, 9]);
    expect(v(kn.cumprod(a, { inclusive: false, reverse: true }))).toEqual([20, 20, 5, 5, 1]);
    expect(v(kn.cummax(a, { inclusive: false }))).toEqual([-Infinity, 3, 3, 4, 4]);
    expect(v(kn.cummin(kn.array([3, 1], 'uint8'), { inclusive: false }))).toEqual([255, 3]);
    expect(v(kn.cummax(kn.array([true, false]), { inclusive: false }))).toEqual([false, true]);
    expect((v(kn.logcumsumexp(a, { inclusive: false })) as number[])[0]).toBe(-Infinity);
    expect(v(kn.cummax(kn.array([1, NaN, 3], 'float32')))).toEqual([1, NaN, NaN]);
  });
  it('logcumsumexp is stable for large and -inf inputs', () => {
    expect(v(kn.logcumsumexp(kn.array([1000, 1000], 'float32')))).toEqual([1000, 1000 + Math.fround(Math.LN2)].map(Math.fround));
    expect(v(kn.logcumsumexp(kn.array([-Infinity, -Infinity, 0], 'float64')))).toEqual([-Infinity, -Infinity, 0]);
    expect(v(kn.logcumsumexp(kn.array([Infinity, Infinity], 'float64')))).toEqual([Infinity, Infinity]);
  });
  it('methods match the functions', () => {
    const a = kn.array(
      [
        [3, 1, 2],
        [0, 5, 4],
      ],
      'int16',
    );
    for (const m of SCAN_OPS) {
      const method = (a as unknown as Record<string, (axis?: number, opts?: { reverse?: boolean }) => kn.NDArray>)[m];
      expect(method.call(a, 1, { reverse: true }).tolist()).toEqual(fn(m)(a, 1, { reverse: true }).tolist());
    }
  });
  it('clear errors naming the op and the values', () => {
    const a = kn.zeros([2, 3]);
    expect(() => kn.cumsum(a, 2)).toThrow(/\[cumsum\] axis 2 is out of bounds for array of dimension 2/);
    expect(() => kn.cummax(a, 0.5)).toThrow(/\[cummax\] axis must be an integer, got 0.5/);
    expect(() => kn.cumprod(a, [0] as unknown as number)).toThrow(/\[cumprod\] axis must be a single integer or null/);
    expect(() => kn.cumsum(a, 0, { reverse: 1 as unknown as boolean })).toThrow(/\[cumsum\] reverse must be a boolean, got 1/);
    expect(() => kn.cumsum(a, 0, true as never)).toThrow('[cumsum] options must be an object such as { reverse: true }, got true');
    expect(() => kn.cummin(a, { axis: 0, inclusive: 'no' as unknown as boolean })).toThrow(/\[cummin\] inclusive must be a boolean, got "no"/);
    expect(() => kn.cumsum(a, { axis: 0 }, { reverse: true })).toThrow(/\[cumsum\] pass either an axis and options, or one options object/);
    expect(() => kn.cumsum(a, { dtype: 'bool' })).toThrow(/\[cumsum\] cannot accumulate in dtype bool/);
    expect(() => kn.cumprod(a, { dtype: 'float8' as DType })).toThrow(/\[cumprod\] unknown dtype "float8"/);
    expect(() => kn.logcumsumexp(kn.array(1), 0)).toThrow(/\[logcumsumexp\] axis 0 is out of bounds for array of dimension 0/);
  });
});
