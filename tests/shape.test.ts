// Shape ops against numpy (expected values in fixtures/shape_cases.json, made by
// fixtures/make_shape_fixtures.py).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as kn from '../index.js';

type Case = { shape: number[]; values: (number | boolean)[] };
const cases = JSON.parse(readFileSync(new URL('./fixtures/shape_cases.json', import.meta.url), 'utf8')) as Record<string, Case | Case[]>;

const a = kn.arange(24).reshape(2, 3, 4);
const m = kn.arange(6).astype('float32').reshape(2, 3).divide(2);

function check(got: kn.NDArray | kn.NDArray[], want: Case | Case[]) {
  if (Array.isArray(got)) {
    const w = want as Case[];
    expect(got.length).toBe(w.length);
    got.forEach((g, i) => check(g, w[i]));
    return;
  }
  const w = want as Case;
  expect(got.shape).toEqual(w.shape);
  expect(kn.reshape(got, [got.size]).tolist() as unknown[]).toEqual(w.values);
}

const ops: Record<string, () => kn.NDArray | kn.NDArray[]> = {
  concat0: () => kn.concatenate([a, a.add(100)], 0),
  concat2: () => kn.concatenate([a, a.slice([{}, {}, { stop: 1 }])], 2),
  concatT: () => kn.concatenate([m.T, m.T.multiply(3)], 1),
  stack1: () => kn.stack([m, m.add(1), m.add(2)], 1),
  stackNeg: () => kn.stack([m, m], -1),
  split3: () => kn.split(kn.arange(12), 3),
  splitIdx: () => kn.split(a, [1, 3, 10], 2),
  splitNeg: () => kn.split(kn.arange(8), [-3]),
  roll: () => kn.roll(a, 5),
  rollAxis: () => kn.roll(a, -2, 2),
  rollMulti: () => kn.roll(a, [1, 2], [0, 1]),
  tile: () => kn.tile(m, [2, 1, 3]),
  tileScalar: () => kn.tile(kn.arange(3), 2),
  repeatFlat: () => kn.repeat(m, 2),
  repeatAxis: () => kn.repeat(a, 3, 1),
  padConst: () =>
    kn.pad(
      m,
      [
        [1, 0],
        [2, 3],
      ],
      { constantValue: 7 },
    ),
  padEdge: () =>
    kn.pad(
      a,
      [
        [0, 1],
        [2, 0],
        [1, 1],
      ],
      { mode: 'edge' },
    ),
  flipAll: () => kn.flip(a),
  flip1: () => kn.flip(a, 1),
  diff1: () => kn.diff(a),
  diff2axis0: () => kn.diff(kn.arange(10).square(), 2),
  diffBool: () => kn.diff(kn.array([true, false, false, true])),
  kron: () =>
    kn.kron(
      kn.array([
        [1, 2],
        [3, 4],
      ]),
      kn.array([
        [0, 1],
        [1, 0],
      ]),
    ),
  unstack: () => kn.unstack(a, 1),
};

describe('shape ops match numpy', () => {
  it.each(Object.keys(ops))('%s', (name) => check(ops[name](), cases[name]));

  it('atleast1d/2d/3d and unflatten', () => {
    expect(kn.atleast1d(kn.array(5)).shape).toEqual([1]);
    expect(kn.atleast2d(kn.array([1, 2])).shape).toEqual([1, 2]);
    expect(kn.atleast3d(kn.array([1, 2])).shape).toEqual([1, 2, 1]);
    expect(kn.atleast3d(kn.ones([2, 3])).shape).toEqual([2, 3, 1]);
    expect(kn.unflatten(kn.arange(24), 0, [2, -1, 4]).shape).toEqual([2, 3, 4]);
  });

  it('concatenate promotes dtypes and handles empty parts', () => {
    const c = kn.concatenate([kn.array([1], 'int8'), kn.array([2.5], 'float16')]);
    expect(c.dtype).toBe('float16');
    expect(c.tolist()).toEqual([1, 2.5]);
    expect(kn.concatenate([kn.zeros([0, 2]), kn.ones([1, 2])]).tolist()).toEqual([[1, 1]]);
    expect(kn.pad(kn.zeros([0, 2]), 1).shape).toEqual([2, 4]);
  });

  it.each([
    [() => kn.concatenate([]), /\[concatenate\] expected a non-empty array/],
    [() => kn.concatenate([kn.ones([2]), kn.ones([2, 2])]), /\[concatenate\] array 1 has shape \[2, 2\]/],
    [() => kn.concatenate([kn.array(1), kn.array(2)]), /\[concatenate\] zero-dimensional/],
    [() => kn.stack([kn.ones([2]), kn.ones([3])]), /\[stack\] array 1 has shape \[3\]/],
    [() => kn.split(kn.arange(5), 2), /\[split\] array of size 5/],
    [() => kn.split(kn.arange(5), 0), /\[split\] number of sections/],
    [() => kn.tile(kn.arange(2), -1), /\[tile\] reps/],
    [() => kn.repeat(kn.arange(2), 1.5), /\[repeat\]/],
    [() => kn.pad(kn.arange(2), -1), /\[pad\] pad widths/],
    [() => kn.pad(kn.arange(2), 1, { mode: 'reflect' as 'edge' }), /\[pad\] mode/],
    [() => kn.roll(kn.arange(4), 1.5, 0), /\[roll\] shift must be an integer/],
    [() => kn.unflatten(kn.arange(6), 0, [4, -1]), /\[unflatten\] cannot split/],
  ])('error %#', (fn, re) => expect(fn).toThrow(re));
});
