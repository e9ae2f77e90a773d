// Indexing against numpy: 300 random index expressions (fixtures/index_cases.json, made by
// fixtures/make_index_fixtures.py), plus take / takeAlongAxis / putAlongAxis / at / put_.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as kn from '../index.js';

type Item = { int?: number; slice?: (number | null)[]; newaxis?: 1; ellipsis?: 1; array?: unknown[]; shape?: number[] };
type Case = { shape: number[]; items: Item[]; expected: { shape?: number[]; values?: number[]; error?: string } };
const cases = JSON.parse(readFileSync(new URL('./fixtures/index_cases.json', import.meta.url), 'utf8')) as Case[];

function toItem(it: Item): kn.IndexItem {
  if (it.int !== undefined) return it.int;
  if (it.slice) return kn.sliceOf(it.slice[0], it.slice[1], it.slice[2]);
  if (it.newaxis) return kn.newaxis;
  if (it.ellipsis) return '...';
  return kn.reshape(kn.array((it.array as number[]).flat(), 'int32'), it.shape!);
}

describe('index() matches numpy on random expressions', () => {
  it.each(cases.map((c, i) => [i, c] as const))('case %i', (_, c) => {
    const size = c.shape.reduce((p, d) => p * d, 1);
    const a = kn.arange(size).reshape(c.shape);
    const run = () => {
      const r = kn.index(a, ...c.items.map(toItem));
      return { shape: r.shape, values: kn.reshape(r, [r.size]).tolist() };
    };
    if (c.expected.error) {
      expect(run).toThrow(/^\[(index|take)\]/);
    } else {
      expect(run()).toEqual({ shape: c.expected.shape, values: c.expected.values });
    }
  });
});

describe('take, takeAlongAxis, putAlongAxis, at, sliceUpdate, put_', () => {
  it('take along an axis and flattened', () => {
    const a = kn.arange(12).reshape(3, 4);
    expect(kn.take(a, kn.array([2, 0, -1])).tolist()).toEqual([2, 0, 11]);
    expect(kn.take(a, kn.array([[0, 2]]), 1).tolist()).toEqual([[[0, 2]], [[4, 6]], [[8, 10]]]);
    expect(kn.take(a.T, kn.array([1]), 0).tolist()).toEqual([[1, 5, 9]]);
    expect(kn.take(kn.array([1.5, 2.5], 'float16'), kn.array([1], 'uint8')).tolist()).toEqual([2.5]);
  });

  it('out-of-range indices raise a clear error at evaluation', () => {
    expect(() => kn.take(kn.arange(3), kn.array([3])).tolist()).toThrow(/\[take\] index 3 is out of bounds for an axis of size 3/);
    expect(() => kn.take(kn.arange(3), kn.array([1.5]))).toThrow(/\[take\] indices must be integers/);
  });

  it('takeAlongAxis / putAlongAxis follow numpy (argsort-style use)', () => {
    const a = kn.array([
      [10, 30, 20],
      [60, 40, 50],
    ]);
    const idx = kn.array([
      [0, 2, 1],
      [1, 2, 0],
    ]);
    expect(kn.takeAlongAxis(a, idx, 1).tolist()).toEqual([
      [10, 20, 30],
      [40, 50, 60],
    ]);
    expect(kn.takeAlongAxis(a, kn.array([[1, 0, 1]]), 0).tolist()).toEqual([[60, 30, 50]]);
    expect(kn.putAlongAxis(a, kn.array([[0], [2]]), -1, 1).tolist()).toEqual([
      [-1, 30, 20],
      [60, 40, -1],
    ]);
  });

  it('at() scatters with accumulation for repeated indices', () => {
    expect(
      kn
        .at(kn.zeros([3]), kn.array([0, 0, 2]))
        .add(1)
        .tolist(),
    ).toEqual([2, 0, 1]);
    expect(
      kn
        .at(kn.ones([3]), kn.array([1, 1]))
        .multiply(3)
        .tolist(),
    ).toEqual([1, 9, 1]);
    expect(
      kn
        .at(kn.array([5, 5, 5]), kn.array([0, 2]))
        .maximum(kn.array([7, 1]))
        .tolist(),
    ).toEqual([7, 5, 5]);
    expect(
      kn
        .at(kn.array([5, 5, 5]), kn.array([0, 2]))
        .minimum(kn.array([7, 1]))
        .tolist(),
    ).toEqual([5, 5, 1]);
    expect(
      kn
        .at(kn.arange(6).reshape(2, 3), ':', 1)
        .set(kn.array([-1, -2]))
        .tolist(),
    ).toEqual([
      [0, -1, 2],
      [3, -2, 5],
    ]);
    expect(
      kn
        .at(kn.ones([4]), '1:3')
        .subtract(1)
        .tolist(),
    ).toEqual([1, 0, 0, 1]);
    expect(
      kn
        .at(kn.ones([2]), 0)
        .divide(4)
        .tolist(),
    ).toEqual([0.25, 1]);
  });

  it('sliceUpdate and put_ (copy-on-write for other holders)', () => {
    expect(kn.sliceUpdate(kn.zeros([4]), kn.ones([2]), [1]).tolist()).toEqual([0, 1, 1, 0]);
    expect(kn.sliceUpdate(kn.zeros([3, 3]), kn.ones([2, 1]), [1, 2]).tolist()).toEqual([
      [0, 0, 0],
      [0, 0, 1],
      [0, 0, 1],
    ]);
    const a = kn.zeros([3]).eval();
    const view = a.reshape(3, 1);
    kn.put_(a, [1], 5);
    expect(a.tolist()).toEqual([0, 5, 0]);
    expect(view.tolist()).toEqual([[0], [0], [0]]);
  });
});

describe('slice objects and aliases', () => {
  it('kn.slice(start, stop, step) builds numpy slice objects for index()', () => {
    const a = kn.arange(10);
    expect(a.index(kn.slice(1, 8, 2)).tolist()).toEqual([1, 3, 5, 7]);
    expect(a.index(kn.slice(3)).tolist()).toEqual([0, 1, 2]);
    expect(a.index(kn.slice(null, null, -3)).tolist()).toEqual([9, 6, 3, 0]);
    expect(a.index('1:-1:4').tolist()).toEqual([1, 5]);
    expect(kn.permuteDims(kn.ones([2, 3]), [1, 0]).shape).toEqual([3, 2]);
  });
});
