// sort kernel family (sort.cc): sort, argsort, partition, argpartition, topk × every dtype ×
// every layout × axis (-1, 0, 1, null), searchsorted, NaN placement, argsort stability with many
// ties (comparison-sort and radix paths), native re-validation, and fast-check properties.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as kn from '../../index.js';
import { native, K, SortOps } from '../../backends/native.js';
import * as R from './reference.js';
import { alongAxis, argsortRow, cmp, flat, searchRow, sortRow } from './sort_scan_ref.js';
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
  readVals,
  refOf,
  runCase,
  seedOf,
  transposed,
  type DType,
  type Domain,
  type Layout,
} from './util.js';
import { SORT_DOMAIN } from './domains.js';

type Op = 'sort' | 'argsort' | 'partition' | 'argpartition' | 'topk';
/** Every sort op of the native catalog (tests/catalog.test.ts checks this file knows them). */
const OPS = Object.keys(SortOps) as Op[];

function axesFor(nd: number): (number | null)[] {
  if (nd === 0) return [null, -1];
  const a: (number | null)[] = [-1, 0, null];
  if (nd >= 3) a.push(1);
  return a;
}
/** kth / k values tried for a row of length n */
function params(op: Op, n: number): number[] {
  if (op === 'sort' || op === 'argsort') return [0];
  if (op === 'topk') return [...new Set([0, 1, Math.min(3, n), n])].filter((k) => k <= n);
  if (n === 0) return [0];
  return [...new Set([0, n >> 1, -1])];
}

const sameVal = (a: R.Val, b: R.Val) => cmp(a, b) === 0;

/** Checks one row of a partition result (values `g`) against the input row. */
function checkPartitionRow(g: R.Val[], row: R.Val[], k: number): string | null {
  const s = sortRow(row);
  if (!sameVal(g[k], s[k])) return `element ${k} is ${g[k]}, expected ${s[k]}`;
  for (let i = 0; i < g.length; i++) {
    if (i < k && cmp(g[i], g[k]) > 0) return `element ${i} (${g[i]}) > kth element ${g[k]}`;
    if (i > k && cmp(g[i], g[k]) < 0) return `element ${i} (${g[i]}) < kth element ${g[k]}`;
  }
  const gs = sortRow(g);
  if (!gs.every((v, i) => sameVal(v, s[i]))) return `not a permutation of the input row`;
  return null;
}

function runOp(op: Op, x: kn.NDArray, axis: number | null, p: number): kn.NDArray {
  switch (op) {
    case 'sort':
      return kn.sort(x, axis);
    case 'argsort':
      return kn.argsort(x, axis);
    case 'partition':
      return kn.partition(x, p, axis);
    case 'argpartition':
      return kn.argpartition(x, p, axis);
    case 'topk':
      return kn.topk(x, p, axis);
  }
}

function checkOp(op: Op, d: DType, x: kn.NDArray, ref: R.RArray, axis: number | null, p: number): void {
  const r = axis === null ? flat(ref) : ref;
  const nd = r.shape.length;
  const ax = axis === null ? 0 : axis < 0 ? axis + nd : axis;
  const n = r.shape[ax];
  if ((op === 'partition' || op === 'argpartition') && n === 0) {
    expect(() => runOp(op, x, axis, p)).toThrow(new RegExp(`\\[${op}\\] kth 0 is out of bounds for an axis of size 0`));
    return;
  }
  const outShape = r.shape.slice();
  if (op === 'topk') outShape[ax] = p;
  poison(nbytesOf(op.startsWith('arg') ? 'int32' : d, outShape));
  const y = runOp(op, x, axis, p);
  if (op === 'sort') return expectMatches(y, alongAxis(r, ax, sortRow, d));
  if (op === 'argsort') return expectMatches(y, alongAxis(r, ax, argsortRow, 'int32'));
  if (op === 'topk')
    return expectMatches(
      y,
      alongAxis(r, ax, (row) => sortRow(row).reverse().slice(0, p), d, p),
    );
  // partitions: check each row's property
  expect(y.shape).toEqual(r.shape);
  expect(y.dtype).toBe(op === 'partition' ? d : 'int32');
  const got = refOf(y.dtype as DType, y.shape, readVals(y));
  const k = p < 0 ? p + n : p;
  const problems: string[] = [];
  // pair each input row with the result row: run alongAxis over the input, reading the result row
  // at the same position through a row counter (alongAxis visits rows in the same order)
  const gotRows: R.Val[][] = [];
  alongAxis(got, ax, (row) => (gotRows.push(row), row), got.dtype);
  let ri = 0;
  alongAxis(
    r,
    ax,
    (row) => {
      const g = gotRows[ri++];
      let vals = g;
      if (op === 'argpartition') {
        const idx = g.map(Number);
        if (new Set(idx).size !== n || idx.some((i) => i < 0 || i >= n)) problems.push(`indices ${idx} are not a permutation`);
        vals = idx.map((i) => row[i]);
      }
      const e = checkPartitionRow(vals, row, k);
      if (e && problems.length < 5) problems.push(e);
      return row;
    },
    r.dtype,
  );
  expect(problems).toEqual([]);
}

const CASES = OPS.flatMap((op) =>
  DTYPES.flatMap((d) => LAYOUTS.flatMap((l) => axesFor(l.shape.length).map((a) => [op, d, l.name, a] as [Op, DType, string, number | null]))),
);

describe('sort ops on every dtype, layout and axis', () => {
  it.each(CASES)('%s %s %s axis %s', (op, d, layoutName, axis) => {
    const layout = LAYOUTS.find((l) => l.name === layoutName)!;
    runCase(() => {
      const rng = mulberry32(seedOf('sort', op, d, layoutName, String(axis)));
      const { x, ref } = layout.build(d, (n) => genValues(d, n, rng, SORT_DOMAIN));
      kn.eval(x);
      if (layout.shape.length === 0 && axis !== null) {
        expect(() => runOp(op, x, axis, 0)).toThrow(new RegExp(`\\[${op}\\] axis -1 is out of bounds for array of dimension 0`));
        return;
      }
      const r = axis === null ? flat(ref) : ref;
      const ax = axis === null ? 0 : axis < 0 ? axis + r.shape.length : axis;
      for (const p of params(op, r.shape[ax])) checkOp(op, d, x, ref, axis, p);
    });
  });
});

describe('sort: NaN placement, signed zeros, stability', () => {
  const v = (a: kn.NDArray) => a.tolist();
  it('NaN sorts last and is greatest for topk / partition (numpy)', () => {
    for (const d of ['float16', 'bfloat16', 'float32', 'float64'] as const) {
      const a = kn.array([NaN, 2, -Infinity, NaN, -1, Infinity], d);
      expect(v(kn.sort(a))).toEqual([-Infinity, -1, 2, Infinity, NaN, NaN]);
      expect(v(kn.argsort(a))).toEqual([2, 4, 1, 5, 0, 3]);
      expect(v(kn.topk(a, 3))).toEqual([NaN, NaN, Infinity]);
      expect((v(kn.partition(a, 4)) as number[]).slice(4)).toEqual([NaN, NaN]);
    }
  });
  it('-0 and +0 are equal: argsort keeps their input order', () => {
    const a = kn.array([0, -0, 0, -1, -0], 'float32');
    expect(v(kn.argsort(a))).toEqual([3, 0, 1, 2, 4]);
    const big = kn.array(Float64Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? -0 : i % 3 === 1 ? 0 : -1)));
    const idx = kn.argsort(big).toTypedArray() as Int32Array;
    const want = [...Array(1000).keys()].filter((i) => i % 3 === 2).concat([...Array(1000).keys()].filter((i) => i % 3 !== 2));
    expect(Array.from(idx)).toEqual(want);
  });
  it('NaN payloads and signs survive sort (values are permuted, not rebuilt)', () => {
    const bits = new Uint32Array([0x7fc00001, 0x3f800000, 0xffc00002, 0x80000000]);
    const out = new Uint32Array(kn.sort(kn.array(new Float32Array(bits.buffer))).toTypedArray().buffer as ArrayBuffer);
    expect(Array.from(out)).toEqual([0x80000000, 0x3f800000, 0x7fc00001, 0xffc00002]);
  });
  it.each(['bool', 'int8', 'uint16', 'int32', 'uint64', 'int64', 'float16', 'bfloat16', 'float32', 'float64'] as DType[])(
    'argsort is stable with many ties on short and long rows (%s)',
    (d) => {
      runCase(() => {
        const rng = mulberry32(seedOf('ties', d));
        for (const n of [40, 300, 5000]) {
          const data = genValues(d, n, rng, { lo: 0, hi: 2, quantum: 1, specials: [NaN, -0], specialRate: 0.1, ilo: 0, ihi: 2 });
          const x = fromVals(d, [n], data);
          expectMatches(kn.argsort(x), refOf('int32', [n], argsortRow(data)));
          expectMatches(kn.sort(x), refOf(d, [n], sortRow(data)));
        }
      });
    },
  );
  it('integer extremes and 64-bit values order exactly', () => {
    const big = [2n ** 63n - 1n, -(2n ** 63n), 0n, -1n, 2n ** 53n + 1n, 2n ** 53n];
    expect(Array.from(kn.sort(kn.array(BigInt64Array.from(big))).toTypedArray() as BigInt64Array)).toEqual([
      -(2n ** 63n),
      -1n,
      0n,
      2n ** 53n,
      2n ** 53n + 1n,
      2n ** 63n - 1n,
    ]);
    const u = [2n ** 64n - 1n, 0n, 2n ** 63n, 1n];
    expect(Array.from(kn.sort(kn.array(BigUint64Array.from(u))).toTypedArray() as BigUint64Array)).toEqual([0n, 1n, 2n ** 63n, 2n ** 64n - 1n]);
    expect(v(kn.argsort(kn.array([127, -128, 0], 'int8')))).toEqual([1, 2, 0]);
  });
});

describe('sort: large inputs (radix and multi-threaded paths)', () => {
  const SHAPES: [string, number[]][] = [
    ['[9, 2000]', [9, 2000]],
    ['[20000]', [20000]],
    ['[300, 40] axis 0', [300, 40]],
  ];
  const cases = DTYPES.flatMap((d) => SHAPES.map(([name]) => [d, name] as [DType, string]));
  it.each(cases)('%s %s', (d, name) => {
    const shape = SHAPES.find((s) => s[0] === name)![1];
    runCase(() => {
      const rng = mulberry32(seedOf('bigsort', d, name));
      const dom: Domain = { lo: -1e4, hi: 1e4, specials: [NaN, -0, 0, Infinity], specialRate: 0.01, ilo: -1000, ihi: 1000, extremes: true };
      const layouts: Layout[] = name.includes('axis 0') ? [transposed(shape)] : [contiguous(shape)];
      for (const l of layouts) {
        const { x, ref } = l.build(d, (n) => genValues(d, n, rng, dom));
        kn.eval(x);
        const ax = name.includes('axis 0') ? 0 : shape.length - 1;
        expectMatches(kn.sort(x, ax), alongAxis(ref, ax, sortRow, d));
        expectMatches(kn.argsort(x, ax), alongAxis(ref, ax, argsortRow, 'int32'));
        expectMatches(
          kn.topk(x, 5, ax),
          alongAxis(ref, ax, (row) => sortRow(row).reverse().slice(0, 5), d, 5),
        );
        const n = shape[ax];
        checkOp('partition', d, x, ref, ax, Math.floor(n / 3));
        checkOp('argpartition', d, x, ref, ax, n - 2);
      }
    });
  });
  const LONG: [DType, number[]][] = [...DTYPES.map((d) => [d, [70_000]] as [DType, number[]]), ['float32', [3, 66_000]], ['int64', [3, 66_000]]];
  it.each(LONG)('long rows (MSD path) %s %j: sort, argsort', (d, shape) => {
    runCase(() => {
      const rng = mulberry32(seedOf('longsort', d, shape.join()));
      const dom: Domain = { lo: -1e3, hi: 1e3, specials: [NaN, -0, 0, Infinity, -Infinity], specialRate: 0.01, ilo: -5000, ihi: 5000, extremes: true };
      const { x, ref } = contiguous(shape).build(d, (n) => genValues(d, n, rng, dom));
      kn.eval(x);
      expectMatches(kn.sort(x), alongAxis(ref, shape.length - 1, sortRow, d));
      expectMatches(kn.argsort(x), alongAxis(ref, shape.length - 1, argsortRow, 'int32'));
    });
  });
  it('long rows of equal keys and of NaNs keep their order', () => {
    runCase(() => {
      const n = 70_000;
      expectMatches(kn.argsort(kn.zeros([n], 'float32')), refOf('int32', [n], [...Array(n).keys()]));
      const nanBits = Uint32Array.from({ length: n }, (_, i) => 0x7fc00000 + i);
      const got = new Uint32Array(kn.sort(kn.array(new Float32Array(nanBits.buffer))).toTypedArray().buffer as ArrayBuffer);
      expect(got).toEqual(nanBits);
    });
  });
  it('one thread and all threads give the same argsort', () => {
    runCase(() => {
      const x = kn.array(Float32Array.from({ length: 20000 }, (_, i) => (i * 7919) % 101)).reshape([4, 5000]);
      const all = readVals(kn.argsort(x));
      kn.setNumThreads(1);
      try {
        expect(readVals(kn.argsort(x))).toEqual(all);
      } finally {
        kn.setNumThreads(0);
      }
    });
  });
});

describe('searchsorted', () => {
  /** 1-d sorted layouts: contiguous, sliced with a step and offset, reversed view, empty */
  function sortedLayouts(d: DType, rng: () => number): { name: string; a: kn.NDArray; ref: R.Val[] }[] {
    const base = sortRow(genValues(d, 25, rng, SORT_DOMAIN));
    const out = [{ name: 'contiguous', a: fromVals(d, [25], base), ref: base }];
    out.push({ name: 'sliced', a: fromVals(d, [25], base).slice([{ start: 1, step: 3 }]), ref: base.filter((_, i) => i >= 1 && (i - 1) % 3 === 0) });
    const rev = base.slice().reverse();
    out.push({ name: 'negative step', a: fromVals(d, [25], rev).slice([{ step: -1 }]), ref: base });
    out.push({ name: 'empty', a: fromVals(d, [0], []), ref: [] });
    return out;
  }
  const cases = DTYPES.flatMap((d) => ['left', 'right'].map((s) => [d, s] as [DType, 'left' | 'right']));
  it.each(cases)('%s side %s on sorted and value layouts', (d, side) => {
    runCase(() => {
      const rng = mulberry32(seedOf('searchsorted', d, side));
      for (const s of sortedLayouts(d, rng)) {
        for (const l of LAYOUTS) {
          const { x, ref } = l.build(d, (n) => genValues(d, n, rng, SORT_DOMAIN));
          const exp = refOf(
            'int32',
            ref.shape,
            ref.data.map((v) => searchRow(s.ref, v, side)),
          );
          expectMatches(kn.searchsorted(s.a, x, { side }), exp);
        }
      }
    });
  });
  it('scalars, promotion, sorter, method', () => {
    const a = kn.array([1, 2, 2, 3], 'int32');
    expect(kn.searchsorted(a, 2).item()).toBe(1);
    expect(kn.searchsorted(a, 2, { side: 'right' }).item()).toBe(3);
    expect(kn.searchsorted(a, 2.5).item()).toBe(3); // compared as float32
    expect(kn.searchsorted(a, kn.array([0.5, 3.5], 'float64')).tolist()).toEqual([0, 4]);
    expect(kn.searchsorted(a, [[1, 4]]).tolist()).toEqual([[0, 4]]);
    const u = kn.array([3, 1, 2], 'float32');
    expect(kn.searchsorted(u, [2, 3], { sorter: kn.argsort(u) }).tolist()).toEqual([1, 2]);
    expect(a.searchsorted(kn.array([3]), { side: 'right' }).tolist()).toEqual([4]);
    expect(kn.searchsorted(kn.array([1, 2, NaN], 'float32'), kn.array([NaN, Infinity])).tolist()).toEqual([2, 2]);
    expect(kn.searchsorted(a, 2).dtype).toBe('int32');
  });
});

describe('sort: API, methods and errors', () => {
  const v = (a: kn.NDArray) => a.tolist();
  it('axis options, methods and multiple kth', () => {
    const a = kn.array(
      [
        [3, 1, 2],
        [0, 5, 4],
      ],
      'int16',
    );
    expect(v(a.sort())).toEqual([
      [1, 2, 3],
      [0, 4, 5],
    ]);
    expect(v(a.sort(0))).toEqual([
      [0, 1, 2],
      [3, 5, 4],
    ]);
    expect(v(a.sort({ axis: null }))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(v(a.argsort(null))).toEqual([3, 1, 2, 0, 5, 4]);
    expect(v(a.argsort(-2))).toEqual([
      [1, 0, 0],
      [0, 1, 1],
    ]);
    expect(v(a.partition(1))).toEqual([
      [1, 2, 3],
      [0, 4, 5],
    ]);
    expect(v(a.argpartition(0, 0))).toEqual([
      [1, 0, 0],
      [0, 1, 1],
    ]);
    expect(v(kn.partition(kn.array([5, 1, 4, 2, 3]), [1, 3]))).toEqual([1, 2, 3, 4, 5]);
    expect(kn.argpartition(kn.array([5, 1, 4, 2, 3]), [0, -1]).shape).toEqual([5]);
    expect(v(kn.topk(a, 2))).toEqual([
      [3, 2],
      [5, 4],
    ]);
    expect(v(kn.topk(a, 1, 0))).toEqual([[3, 5, 4]]);
    expect(v(kn.sort(kn.array(7), null))).toEqual([7]);
    expect(v(kn.topk(kn.zeros([2, 0]), 0))).toEqual([[], []]);
    expect(kn.sort(kn.zeros([2, 0, 3]), 1).shape).toEqual([2, 0, 3]);
  });
  it('clear errors naming the op and the values', () => {
    const a = kn.zeros([2, 3]);
    expect(() => kn.sort(a, 2)).toThrow(/\[sort\] axis 2 is out of bounds for array of dimension 2/);
    expect(() => kn.argsort(a, 0.5)).toThrow(/\[argsort\] axis must be an integer, got 0.5/);
    expect(() => kn.sort(a, [0, 1] as unknown as number)).toThrow(/\[sort\] axis must be a single integer or null/);
    expect(() => kn.partition(a, 3)).toThrow(/\[partition\] kth 3 is out of bounds for an axis of size 3/);
    expect(() => kn.argpartition(a, -4)).toThrow(/\[argpartition\] kth -4 is out of bounds/);
    expect(() => kn.partition(a, 1.5)).toThrow(/\[partition\] kth must be integers, got 1.5/);
    expect(() => kn.partition(a, [])).toThrow(/\[partition\] kth must be an integer or a non-empty array/);
    expect(() => kn.topk(a, 4)).toThrow(/\[topk\] k must be an integer in \[0, 3\] for an axis of size 3, got 4/);
    expect(() => kn.topk(a, -1, 0)).toThrow(/\[topk\] k must be an integer in \[0, 2\]/);
    expect(() => kn.searchsorted(a, 1)).toThrow(/\[searchsorted\] the sorted array must be 1-d, got shape \[2, 3\]/);
    expect(() => kn.searchsorted(kn.zeros([3]), 1, { side: 'middle' as 'left' })).toThrow(/\[searchsorted\] side must be 'left' or 'right', got "middle"/);
    expect(() => kn.searchsorted(kn.zeros([3]), 1, { sorter: [0, 1] })).toThrow(/\[searchsorted\] sorter of shape \[2\]/);
  });
});

describe('sort kernels re-validate raw commands (never crash)', () => {
  const code = (d: DType) => DTYPES.indexOf(d);
  const opnd = (id: number, d: DType, shape: number[]) => {
    const st = R.contiguousStrides(shape);
    return [id, code(d), 0, shape.length, ...shape, ...st];
  };
  const bufs: number[] = [];
  const buf = () => {
    const id = native.alloc(4096);
    bufs.push(id);
    return id;
  };
  const run = (w: number[]) => () => native.run(new Float64Array(w));
  it('sort / searchsorted / scan reject bad params, dtypes and shapes', () => {
    const a = buf(),
      b = buf(),
      o = buf();
    const sort = (p: number[], ins: number[][]) => run([K.sort, p.length, ...p, ins.length, ...ins.flat()]);
    const f32 = (id: number, s: number[]) => opnd(id, 'float32', s);
    expect(sort([99, 0], [f32(a, [4]), f32(o, [4])])).toThrow(/\[sort\] invalid op code 99/);
    expect(sort([0.5, 0], [f32(a, [4]), f32(o, [4])])).toThrow(/\[sort\] invalid op code 0.5/);
    expect(sort([2, 4], [f32(a, [4]), f32(o, [4])])).toThrow(/\[sort\] partition: kth = 4 is out of bounds for an axis of size 4/);
    expect(sort([4, 5], [f32(a, [4]), f32(o, [5])])).toThrow(/\[sort\] topk: k = 5 is out of range/);
    expect(sort([4, 2], [f32(a, [4]), f32(o, [3])])).toThrow(/\[sort\] topk: output must be the input shape with its last dim 2/);
    expect(sort([1, 0], [f32(a, [4]), f32(o, [4])])).toThrow(/\[sort\] argsort: output dtype must be int32, got float32/);
    expect(sort([0, 0], [f32(a, [4]), opnd(o, 'float16', [4])])).toThrow(/\[sort\] sort: output dtype must equal the input dtype float32/);
    expect(sort([0, 0], [f32(a, [2, 4]), f32(o, [4, 2])])).toThrow(/\[sort\] sort: output shape must equal the input shape/);
    expect(sort([0, 0], [f32(a, []), f32(o, [])])).toThrow(/\[sort\] sort: the input must have at least one dim/);
    expect(sort([0, NaN], [f32(a, [4]), f32(o, [4])])).toThrow(/\[sort\] sort: invalid parameter nan/i);
    const ss = (p: number[], ins: number[][]) => run([K.searchsorted, p.length, ...p, ins.length, ...ins.flat()]);
    expect(ss([2], [f32(a, [4]), f32(b, [3]), opnd(o, 'int32', [3])])).toThrow(/\[searchsorted\] side must be 0 \(left\) or 1 \(right\), got 2/);
    expect(ss([0], [f32(a, [2, 2]), f32(b, [3]), opnd(o, 'int32', [3])])).toThrow(/\[searchsorted\] the sorted array must be 1-d/);
    expect(ss([0], [f32(a, [4]), opnd(b, 'int32', [3]), opnd(o, 'int32', [3])])).toThrow(
      /\[searchsorted\] the sorted array and the values must have one dtype, got float32 and int32/,
    );
    expect(ss([0], [f32(a, [4]), f32(b, [3]), opnd(o, 'int32', [2])])).toThrow(/\[searchsorted\] values and output: shapes differ/);
    expect(ss([0], [f32(a, [4]), f32(b, [3]), opnd(o, 'int64', [3])])).toThrow(/\[searchsorted\] output must be int32, got int64/);
    const sc = (p: number[], ins: number[][]) => run([K.scan, p.length, ...p, ins.length, ...ins.flat()]);
    expect(sc([7, 0, 1], [f32(a, [4]), f32(o, [4])])).toThrow(/\[scan\] invalid op code 7/);
    expect(sc([0, 2, 1], [f32(a, [4]), f32(o, [4])])).toThrow(/\[scan\] cumsum: reverse must be 0 or 1, got 2/);
    expect(sc([0, 0, -1], [f32(a, [4]), f32(o, [4])])).toThrow(/\[scan\] cumsum: inclusive must be 0 or 1, got -1/);
    expect(sc([0, 0, 1], [opnd(a, 'bool', [4]), opnd(o, 'bool', [4])])).toThrow(/\[scan\] cumsum: cannot accumulate bool into bool/);
    expect(sc([1, 0, 1], [opnd(a, 'int8', [4]), opnd(o, 'uint32', [4])])).toThrow(/\[scan\] cumprod: cannot accumulate int8 into uint32/);
    expect(sc([2, 0, 1], [opnd(a, 'int8', [4]), opnd(o, 'int32', [4])])).toThrow(/\[scan\] cummax: output dtype must equal the input dtype int8/);
    expect(sc([4, 0, 1], [opnd(a, 'int32', [4]), opnd(o, 'int32', [4])])).toThrow(/\[scan\] logcumsumexp needs a floating-point input, got int32/);
    expect(sc([0, 0, 1], [f32(a, [4]), f32(o, [5])])).toThrow(/\[scan\] input and output: shapes differ/);
    expect(sc([0, 0, 1], [f32(a, []), f32(o, [])])).toThrow(/\[scan\] cumsum: the input must have at least one dim/);
    for (const id of bufs.splice(0)) native.free(id);
  });
});

describe('sort properties (fast-check)', () => {
  const f32 = fc.array(fc.float(), { maxLength: 600 });
  it('sort is sorted and a permutation; argsort gathers to sort and is stable', () => {
    fc.assert(
      fc.property(f32, fc.constantFrom<DType>('float32', 'float16', 'float64', 'bfloat16'), (data, d) => {
        return kn.tidy(() => {
          const vals = data.map((x) => R.roundTo(d, x));
          const x = fromVals(d, [vals.length], vals);
          const s = readVals(kn.sort(x));
          const idx = readVals(kn.argsort(x)).map(Number);
          const want = sortRow(vals);
          for (let i = 0; i < s.length; i++) {
            if (!sameVal(s[i], want[i])) return false;
            if (i > 0 && cmp(s[i - 1], s[i]) > 0) return false;
          }
          if (new Set(idx).size !== vals.length) return false;
          const g = readVals(kn.takeAlongAxis(x, kn.argsort(x), 0));
          if (!g.every((v, i) => sameVal(v, s[i]))) return false;
          // stable: equal neighbours keep increasing indices
          return idx.every((j, i) => i === 0 || cmp(vals[idx[i - 1]], vals[j]) < 0 || idx[i - 1] < j);
        });
      }),
      { numRuns: 60 },
    );
  });
  it('2-d int arrays: sort along any axis equals sorting each row; partition holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 1 }),
        fc.infiniteStream(fc.integer({ min: -5, max: 5 })),
        (r, c, axis, s) => {
          return kn.tidy(() => {
            const it = s[Symbol.iterator]();
            const vals: R.Val[] = Array.from({ length: r * c }, () => it.next().value as number);
            const ref = refOf('int32', [r, c], vals);
            const x = fromVals('int32', [r, c], vals);
            const got = readVals(kn.sort(x, axis));
            const exp = alongAxis(ref, axis, sortRow, 'int32').data;
            if (!got.every((v, i) => v === exp[i])) return false;
            const n = axis === 0 ? r : c,
              k = n >> 1;
            const p = refOf('int32', [r, c], readVals(kn.partition(x, k, axis)));
            const rows: R.Val[][] = [];
            alongAxis(p, axis, (row) => (rows.push(row), row), 'int32');
            let i = 0,
              ok = true;
            alongAxis(
              ref,
              axis,
              (row) => {
                ok = ok && checkPartitionRow(rows[i++], row, k) === null;
                return row;
              },
              'int32',
            );
            return ok;
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
