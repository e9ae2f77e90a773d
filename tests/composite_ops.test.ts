// Composite ops (grids_diagonals, clip_compare, stats_softmax) against numpy
// (fixtures/composite_ops_cases.json from fixtures/make_composite_ops_fixtures.py), plus edge cases,
// methods and error messages checked here directly.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as kn from '../index.js';

type Enc = number | boolean | string | null;
interface Arr {
  dtype: kn.DType;
  shape: number[];
  values: Enc[];
}
interface Res extends Arr {
  tol: number;
}
interface Case {
  name: string;
  op: string;
  args: unknown[];
  expected: Res | Res[];
}

const cases = JSON.parse(readFileSync(new URL('./fixtures/composite_ops_cases.json', import.meta.url), 'utf8')) as Case[];

const num = (v: Enc): number | boolean => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number | boolean));
const isArr = (x: unknown): x is Arr => x !== null && typeof x === 'object' && !Array.isArray(x) && 'dtype' in x && 'shape' in x && 'values' in x;

function decode(x: unknown): unknown {
  if (isArr(x)) return kn.reshape(kn.array(x.values.map(num), x.dtype), x.shape);
  if (Array.isArray(x)) return x.map(decode);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, decode(v)]));
  if (typeof x === 'string') return num(x);
  return x;
}
// option values that are strings (dtype, indexing) must stay strings
function decodeArg(x: unknown): unknown {
  if (x !== null && typeof x === 'object' && !Array.isArray(x) && !isArr(x))
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, typeof v === 'string' && !['nan', 'inf', '-inf'].includes(v) ? v : decode(v)]));
  if (typeof x === 'string' && !['nan', 'inf', '-inf'].includes(x)) return x;
  return decode(x);
}

function check(got: kn.NDArray, want: Res, name: string) {
  expect(got.dtype, `${name}: dtype`).toBe(want.dtype);
  expect(got.shape, `${name}: shape`).toEqual(want.shape);
  const g = got.size ? (kn.reshape(got, [got.size]).tolist() as (number | boolean)[]) : [];
  const w = want.values.map(num);
  g.forEach((v, i) => {
    const e = w[i];
    if (typeof e === 'boolean' || typeof v === 'boolean') return expect(v, `${name}[${i}]`).toBe(e);
    if (Number.isNaN(e)) return expect(Number.isNaN(v), `${name}[${i}] = ${v}, want NaN`).toBe(true);
    if (!Number.isFinite(e)) return expect(v, `${name}[${i}]`).toBe(e);
    expect(Math.abs((v as number) - e), `${name}[${i}] = ${v}, want ${e}`).toBeLessThanOrEqual(want.tol * (1 + Math.abs(e)));
  });
}

const ops = kn as unknown as Record<string, (...a: unknown[]) => kn.NDArray | kn.NDArray[]>;

describe('composite ops match numpy', () => {
  const byOp = new Map<string, Case[]>();
  for (const c of cases) byOp.set(c.op, [...(byOp.get(c.op) ?? []), c]);
  for (const [op, list] of byOp) {
    it(`${op} (${list.length} cases)`, () => {
      for (const c of list) {
        const out = ops[op](...c.args.map(decodeArg)) as kn.NDArray | kn.NDArray[] | boolean;
        // allclose and arrayEqual answer a JS boolean, as numpy's do
        if (typeof out === 'boolean') {
          expect(out, c.name).toBe((c.expected as Res).values[0]);
          continue;
        }
        if (Array.isArray(c.expected)) {
          const outs = out as kn.NDArray[];
          expect(outs.length, c.name).toBe(c.expected.length);
          c.expected.forEach((e, i) => check(outs[i], e, `${c.name} #${i}`));
        } else check(out as kn.NDArray, c.expected, c.name);
      }
    });
  }
});

const f32 = (x: unknown) => kn.array(x as number[], 'float32');

describe('grids_diagonals', () => {
  it('diagonal is a strided view and works on transposed and sliced inputs', () => {
    const a = kn.arange(12).reshape([3, 4]);
    expect(kn.diagonal(a.T).tolist()).toEqual([0, 5, 10]);
    expect(kn.diagonal(a.slice([{ start: 1 }, { step: 2 }])).tolist()).toEqual([4, 10]);
    expect(kn.diagonal(kn.ones([0, 3])).shape).toEqual([0]);
    expect(a.diagonal(1).tolist()).toEqual([1, 6, 11]);
    expect(kn.array([1, 2]).diag().tolist()).toEqual([
      [1, 0],
      [0, 2],
    ]);
  });
  it('tril/triu keep dtype, including bool, and diag of empty', () => {
    expect(kn.tril(kn.ones([2, 2], 'float16')).dtype).toBe('float16');
    expect(kn.triu(kn.full([2, 2], true)).tolist()).toEqual([
      [true, true],
      [false, true],
    ]);
    expect(kn.diag(kn.zeros([0])).shape).toEqual([0, 0]);
    expect(kn.diag(kn.zeros([0]), 2).tolist()).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });
  it('linspace and eye edge cases', () => {
    expect(kn.linspace(1, 1, 3).tolist()).toEqual([1, 1, 1]);
    expect(kn.linspace(0, 1, 0).shape).toEqual([0]);
    expect(kn.eye(0, 3).shape).toEqual([0, 3]);
    expect(kn.meshgrid().length).toBe(0);
    expect(kn.meshgrid([1, 2], [3, 4, 5])[0].shape).toEqual([3, 2]);
  });
  it('rejects bad arguments with the op name and values', () => {
    expect(() => kn.linspace(0, 1, -1)).toThrow('[linspace] num must be a non-negative integer, got -1');
    expect(() => kn.linspace(0, NaN, 3)).toThrow('[linspace] start and stop must be finite numbers');
    expect(() => kn.eye(2.5)).toThrow('[eye] n must be a non-negative integer, got 2.5');
    expect(() => kn.tri(2, 2, 0.5)).toThrow('[tri] k must be an integer, got 0.5');
    expect(() => kn.tril(kn.ones([3]))).toThrow('[tril] array must be at least 2-d, got shape [3]');
    expect(() => kn.diag(kn.ones([2, 2, 2]))).toThrow('[diag] input must be 1-d or 2-d, got shape [2, 2, 2]');
    expect(() => kn.diagonal(kn.ones([2, 2]), 0, 1, 1)).toThrow('[diagonal] axis1 and axis2 must differ');
    expect(() => kn.diagonal(kn.ones([2, 2]), 0, 0, 2)).toThrow('[diagonal] axis 2 is out of bounds for array of dimension 2');
    expect(() => kn.meshgrid(kn.ones([2]), { indexing: 'yx' as 'xy' })).toThrow("[meshgrid] indexing must be 'xy' or 'ij', got \"yx\"");
  });
});

describe('clip_compare', () => {
  it('keeps dtypes under weak scalars and handles 0-d and empty inputs', () => {
    expect(kn.clip(kn.array([1, 5], 'int8'), 0, 3).dtype).toBe('int8');
    expect(kn.clip(kn.array([1, 5], 'float16'), 0.5, 3).dtype).toBe('float16');
    expect(kn.clip(kn.array(2.5), 0, 1).item()).toBe(1);
    expect(kn.clip(kn.zeros([0, 2]), 0, 1).shape).toEqual([0, 2]);
    expect(kn.array([-1, 2]).clip(0, null).tolist()).toEqual([0, 2]);
    expect(kn.radians(kn.array(180, 'float64')).item()).toBe(Math.PI);
    expect(kn.isclose(kn.zeros([0]), kn.zeros([0])).shape).toEqual([0]);
    expect(kn.allclose(kn.zeros([0]), kn.zeros([0]))).toBe(true);
    expect(kn.arrayEqual(kn.array(3), 3)).toBe(true);
  });
  it('isclose treats infinities exactly', () => {
    const a = kn.array([Infinity, -Infinity, Infinity]);
    expect(kn.isclose(a, kn.array([Infinity, -Infinity, -Infinity]), { atol: Infinity }).tolist()).toEqual([true, true, false]);
    expect(kn.isclose(kn.array([1e10], 'float64'), 1.00001e10).item()).toBe(true); // rtol 1e-5
  });
  it('divmod satisfies q * b + r == a and the sign rule', () => {
    const a = kn.array([-9, -4, 0, 4, 9]),
      b = kn.array([4, -3, 2, -3, 4]);
    const [q, r] = kn.divmod(a, b);
    expect(kn.add(kn.multiply(q, b), r).tolist()).toEqual(a.tolist());
    (r.tolist() as number[]).forEach((v, i) => expect(v === 0 || Math.sign(v) === Math.sign((b.tolist() as number[])[i])).toBe(true));
  });
  it('rejects bad arguments', () => {
    expect(() => kn.clip(kn.ones([2]), null, null)).toThrow('[clip] at least one of min and max must be given');
    expect(() => kn.isclose(kn.ones([2]), 1, { rtol: -1 })).toThrow('[isclose] rtol must be a non-negative number, got -1');
    expect(() => kn.isclose(kn.ones([2]), kn.ones([3]))).toThrow('cannot be broadcast');
    expect(() => kn.nanToNum(kn.ones([2]), { nan: NaN })).toThrow('[nanToNum] nan must be a number, got NaN');
  });
});

describe('stats_softmax', () => {
  it('methods: var, std, logsumexp, trace', () => {
    const a = f32([
      [1, 2],
      [3, 5],
    ]);
    expect(a.var().item()).toBeCloseTo(2.1875, 6);
    expect(a.std(1, { ddof: 1 }).tolist()).toEqual([Math.fround(Math.SQRT1_2), Math.fround(Math.SQRT2)]);
    expect(a.var({ axis: 0, keepdims: true }).shape).toEqual([1, 2]);
    expect(a.logsumexp(1).shape).toEqual([2]);
    expect(a.trace().item()).toBe(6);
  });
  it('0-d and empty inputs', () => {
    expect(kn.var(kn.array(3)).item()).toBe(0);
    expect(kn.logsumexp(kn.array(2.5)).item()).toBe(2.5);
    expect(kn.softmax(kn.array(7)).item()).toBe(1);
    expect(Number.isNaN(kn.var(kn.zeros([0])).item() as number)).toBe(true);
    expect(kn.logsumexp(kn.zeros([0])).item()).toBe(-Infinity);
    expect(kn.logsumexp(kn.zeros([2, 0]), 1, { keepdims: true }).shape).toEqual([2, 1]);
    expect(kn.softmax(kn.zeros([0, 3]), 1).shape).toEqual([0, 3]);
    expect(kn.countNonzero(kn.zeros([0])).item()).toBe(0);
    expect(Number.isFinite(kn.var(kn.array([1, 2]), { ddof: 2 }).item() as number)).toBe(false);
  });
  it('softmax rows sum to one and logSoftmax stays finite where softmax underflows', () => {
    const x = kn.multiply(kn.arange(-20, 20).reshape([4, 10]), 30);
    const s = kn.sum(kn.softmax(x, 1), 1).tolist() as number[];
    s.forEach((v) => expect(v).toBeCloseTo(1, 6));
    const ls = kn.logSoftmax(x, 1).tolist() as number[][];
    ls.flat().forEach((v) => expect(Number.isFinite(v)).toBe(true));
    expect(ls[0][0]).toBeCloseTo(-270, 3);
  });
  it('rejects bad arguments', () => {
    expect(() => kn.var(kn.ones([2]), 1)).toThrow('[var] axis 1 is out of bounds for array of dimension 1');
    expect(() => kn.std(kn.ones([2]), { ddof: NaN })).toThrow('[std] ddof must be a finite number, got NaN');
    expect(() => kn.logsumexp(kn.ones([2]), 0, { keepdims: 1 as unknown as boolean })).toThrow('[logsumexp] keepdims must be a boolean');
    expect(() => kn.logsumexp(kn.ones([2]), 0, true as never)).toThrow('[logsumexp] options must be an object such as { keepdims: true }, got true');
    expect(() => kn.softmax(kn.ones([2]), [0, 0])).toThrow('[softmax] repeated axis');
    expect(() => kn.trace(kn.ones([2]))).toThrow('[diagonal] array must be at least 2-d');
  });
});
