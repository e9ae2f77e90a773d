// kn.topkWithIndices: the k largest and where they came from, one launch (the topk_indexed
// kernel, a two-output primitive). Checked against a JS reference, kn.topk, gradients and vmap.
import { describe, expect, it } from 'vitest';
import * as kn from '../index.js';
import { mulberry32 } from './helpers/rng.js';

/** Reference: indices of the k largest of a row, NaN first, then descending, ties by index. */
function refTopk(row: number[], k: number): number[] {
  const ids = row.map((_, i) => i);
  ids.sort((a, b) => {
    const na = Number.isNaN(row[a]),
      nb = Number.isNaN(row[b]);
    if (na !== nb) return na ? -1 : 1;
    if (!na && row[a] !== row[b]) return row[b] - row[a];
    return a - b;
  });
  return ids.slice(0, k);
}

describe('topkWithIndices', () => {
  const r = mulberry32(7);
  // small integers so that ties are common
  const data = Array.from({ length: 6 }, () => Array.from({ length: 9 }, () => Math.floor(r() * 5) - 2));
  data[1][3] = NaN;
  data[4][0] = NaN;
  data[4][8] = NaN;

  for (const dtype of ['float32', 'float16', 'bfloat16', 'float64', 'int32', 'int8', 'uint8'] as const) {
    it(`rows of ${dtype} with ties${dtype.startsWith('float') || dtype === 'bfloat16' ? ' and NaN' : ''}`, () => {
      const rows =
        dtype.startsWith('float') || dtype === 'bfloat16' ? data : data.map((row) => row.map((v) => (Number.isNaN(v) ? 1 : dtype === 'uint8' ? v + 2 : v)));
      const a = kn.array(rows, 'float64').astype(dtype);
      for (const k of [0, 1, 4, 9]) {
        const [v, i] = kn.topkWithIndices(a, k);
        expect(i.dtype).toBe('int32');
        expect(v.dtype).toBe(dtype);
        const want = rows.map((row) => refTopk(row, k));
        expect(i.tolist()).toEqual(want);
        const vals = v.astype('float64').tolist() as number[][];
        vals.forEach((row, b) => row.forEach((x, j) => (Number.isNaN(rows[b][want[b][j]]) ? expect(x).toBeNaN() : expect(x).toBe(rows[b][want[b][j]]))));
        if (dtype === 'float32') expect(v.tolist()).toEqual(kn.topk(a, k).tolist());
      }
    });
  }

  it('along axis 0 of a strided view', () => {
    const a = kn
      .array(
        data.map((row) => row.map((v) => (Number.isNaN(v) ? 0 : v))),
        'float32',
      )
      .T.index('::-1');
    const [v, i] = kn.topkWithIndices(a, 2, 0);
    expect(v.shape).toEqual([2, 6]);
    const cols = a.T.tolist() as number[][];
    const want = cols.map((c) => refTopk(c, 2));
    expect(i.T.tolist()).toEqual(want);
    expect(v.T.tolist()).toEqual(want.map((ids, c) => ids.map((j) => cols[c][j])));
  });

  it('gradients route through the indices; vmap and compile agree with eager', () => {
    const x = kn.array(
      [
        [0.5, 2, -1, 3],
        [4, 1, 1, -2],
      ],
      'float64',
    );
    const g = kn.grad((a: kn.NDArray) => kn.sum(kn.multiply(kn.topkWithIndices(a, 2)[0], kn.array([10, 1], 'float64'))))(x);
    expect(g.tolist()).toEqual([
      [0, 1, 0, 10],
      [10, 1, 0, 0],
    ]);
    const [, [t]] = kn.jvp(
      (a: kn.NDArray) => kn.topkWithIndices(a, 2)[0],
      [x],
      [
        kn.array(
          [
            [1, 2, 3, 4],
            [5, 6, 7, 8],
          ],
          'float64',
        ),
      ],
    );
    expect(t.tolist()).toEqual([
      [4, 2],
      [5, 6],
    ]);
    const batched = kn.vmap((a: kn.NDArray) => kn.topkWithIndices(a, 3)[1])(x);
    expect(batched.tolist()).toEqual([
      [3, 1, 0],
      [0, 1, 2],
    ]);
    const f = (a: kn.NDArray) => kn.topkWithIndices(kn.multiply(a, 2), 2);
    const [cv, ci] = kn.compile(f)(x);
    expect(ci.tolist()).toEqual([
      [3, 1],
      [0, 1],
    ]);
    expect(cv.tolist()).toEqual([
      [6, 4],
      [8, 2],
    ]);
  });

  it('rejects a bad k', () => {
    expect(() => kn.topkWithIndices(kn.array([1, 2, 3]), 4)).toThrow(/\[topkWithIndices\] k must be an integer in \[0, 3\]/);
    expect(() => kn.topkWithIndices(kn.array([1, 2, 3]), 1.5)).toThrow(/k must be an integer/);
  });
});
