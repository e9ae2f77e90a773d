// The row-copy path of the gather kernel (take of whole dense rows: embedding lookups and the
// paged KV gather) against values computed here by hand, next to the cases that must keep the
// element path (strided rows, per-element indices).
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const rows = (n: number, w: number) => Array.from({ length: n }, (_, i) => Array.from({ length: w }, (_, j) => i * 100 + j));

describe('take of whole rows', () => {
  it.each(['float32', 'bfloat16', 'int32', 'uint8'] as const)('%s rows, repeated and out of order', (dtype) => {
    // small integers: exact in every dtype here
    const small = rows(6, 5).map((r) => r.map((v) => (v % 100) + Math.floor(v / 100) * 10));
    const got = kn
      .take(kn.array(small, dtype), kn.array([4, 0, 4, 5, 1], 'int32'), 0)
      .astype('float32')
      .tolist();
    const want = [4, 0, 4, 5, 1].map((i) => small[i]);
    expect(got).toEqual(want);
  });

  it('rows of a batched source (axis 1 of a 3-d array) and of an offset view', () => {
    const x = kn.reshape(kn.arange(2 * 4 * 3), [2, 4, 3]);
    expect(kn.take(x, kn.array([3, 1]), 1).tolist()).toEqual([
      [
        [9, 10, 11],
        [3, 4, 5],
      ],
      [
        [21, 22, 23],
        [15, 16, 17],
      ],
    ]);
    const v = kn.slice(kn.array(rows(5, 4), 'float32'), [{ start: 1 }, { start: 1, stop: 3 }]); // rows 1..4, columns 1..2
    expect(kn.take(v, kn.array([2, 0]), 0).tolist()).toEqual([
      [301, 302],
      [101, 102],
    ]);
  });

  it('a transposed source (rows not dense) and negative indices', () => {
    const t = kn.transpose(kn.array(rows(3, 4), 'float32'));
    expect(kn.take(t, kn.array([1, -1]), 0).tolist()).toEqual([
      [1, 101, 201],
      [3, 103, 203],
    ]);
    expect(() => kn.take(kn.array(rows(3, 2), 'float32'), kn.array([3]), 0).tolist()).toThrow(/index 3 is out of bounds for an axis of size 3/);
  });
});
