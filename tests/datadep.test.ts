// Data-dependent ops (synchronisation points): expected values follow numpy's definitions.
import { describe, it, expect } from 'vitest';
import * as kn from '../index.js';

describe('data-dependent shapes', () => {
  it('nonzero, flatnonzero, argwhere and one-argument where', () => {
    const a = kn.array([
      [0, 3, 0],
      [4, 0, 5],
    ]);
    expect(kn.nonzero(a).map((x) => x.tolist())).toEqual([
      [0, 1, 1],
      [1, 0, 2],
    ]);
    expect(kn.where(a).map((x) => x.tolist())).toEqual([
      [0, 1, 1],
      [1, 0, 2],
    ]);
    expect(kn.flatnonzero(a).tolist()).toEqual([1, 3, 5]);
    expect(kn.argwhere(a).tolist()).toEqual([
      [0, 1],
      [1, 0],
      [1, 2],
    ]);
    expect(kn.argwhere(kn.zeros([2, 2])).shape).toEqual([0, 2]);
    expect(kn.nonzero(kn.array([Number.NaN, 0, -0.0])).map((x) => x.tolist())).toEqual([[0]]);
    expect(() => kn.nonzero(kn.array(1))).toThrow(/\[nonzero\]/);
  });

  it('boolean masks select along the leading dims', () => {
    const a = kn.arange(6).reshape(3, 2);
    expect(a.index(kn.array([true, false, true])).tolist()).toEqual([
      [0, 1],
      [4, 5],
    ]);
    expect(a.index(a.greater(2)).tolist()).toEqual([3, 4, 5]);
    expect(kn.booleanMask(a, kn.array([false, false, false])).shape).toEqual([0, 2]);
    expect(() => kn.booleanMask(a, kn.array([true]))).toThrow(/\[booleanMask\] mask of shape \[1\]/);
  });

  it('unique with index, inverse and counts', () => {
    const r = kn.unique(kn.array([3, 1, 3, 2, 1, 3]), { returnIndex: true, returnInverse: true, returnCounts: true });
    expect(r.values.tolist()).toEqual([1, 2, 3]);
    expect(r.indices!.tolist()).toEqual([1, 3, 0]);
    expect(r.inverse!.tolist()).toEqual([2, 0, 2, 1, 0, 2]);
    expect(r.counts!.tolist()).toEqual([2, 1, 3]);
    const f = kn.unique(kn.array([Number.NaN, 1, Number.NaN, -1], 'float64'));
    expect(f.values.dtype).toBe('float64');
    expect(f.values.tolist()).toEqual([-1, 1, Number.NaN]);
    expect(kn.unique(kn.array([[2n, 2n]])).values.tolist()).toEqual([2]);
  });
});
