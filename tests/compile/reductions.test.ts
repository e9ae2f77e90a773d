// Eager and fused reductions share their definitions (backends/cpu/kernels/reduce_ops.h): the
// identities and combining rules, the vector fold of max/min, the float sum of a run (32 partial
// sums, the last steps in double) and the float product (in double). Where the eager kernel's
// run and the fused program's block are the same elements (rows up to 1024 for a pure reduction,
// up to 256 with full outputs beside), a compiled reduction gives the eager bits exactly.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { normal } from './helpers.js';

const bits = (a: kn.NDArray) => Array.from(new Uint32Array((a.toTypedArray() as Float32Array).buffer.slice(0)));

function sameBits(fn: (x: kn.NDArray) => kn.NDArray | kn.NDArray[], x: kn.NDArray) {
  const c = kn.compile(fn);
  const got = [c(x)].flat(),
    want = [fn(x)].flat();
  for (let i = 0; i < want.length; i++) expect(bits(got[i]), `output ${i}`).toEqual(bits(want[i]));
  expect(c.info.fused).toBeGreaterThan(0);
}

describe('compiled reductions give the eager bits', () => {
  for (const n of [7, 33, 300, 1000, 1024]) {
    it(`sum, prod, max, min of rows of ${n} (pure reductions)`, () => {
      const x = normal([5, n], n);
      sameBits((v) => kn.sum(kn.multiply(v, 3), -1), x);
      sameBits((v) => kn.prod(kn.add(kn.multiply(v, 0.01), 1), -1), x);
      sameBits((v) => kn.max(kn.subtract(v, 0.5), -1), x);
      sameBits((v) => kn.min(kn.exp(v), -1), x);
    });
  }

  for (const n of [5, 64, 256]) {
    it(`a row sum next to a full output (rows of ${n})`, () => {
      const x = normal([6, n], 100 + n);
      sameBits((v) => {
        const e = kn.exp(kn.subtract(v, 1));
        return [e, kn.sum(e, -1, { keepdims: true })];
      }, x);
    });
  }

  it('NaN wins max and min in both, with or without other lanes', () => {
    const x = kn.array(
      [
        [1, NaN, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18],
        [2, 1, 0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, NaN],
      ],
      'float32',
    );
    for (const f of [(v: kn.NDArray) => kn.max(kn.add(v, 1), -1), (v: kn.NDArray) => kn.min(kn.add(v, 1), -1)]) {
      const c = kn.compile(f);
      expect(c(x).tolist()).toEqual([NaN, NaN]);
      expect(f(x).tolist()).toEqual([NaN, NaN]);
    }
  });
});
