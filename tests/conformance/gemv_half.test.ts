// Half-precision matrix-vector products (backends/cpu/kernels/gemv_half.h): x [.., M <= 8, K] @ W.T
// with W [N, K] float16 / bfloat16, as a decode step computes them. Checked against float64 sums
// of the same rounded inputs, over lengths that exercise the 32-wide blocks and their tails.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { mulberry32 } from '../helpers/rng.js';

function vals(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => r() * 2 - 1);
}

describe('half-precision matrix-vector products', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    for (const [K, N] of [
      [1, 3],
      [31, 5],
      [32, 7],
      [33, 9],
      [100, 64],
      [257, 130],
    ]) {
      it(`${dtype} [1, ${K}] @ W.T, W [${N}, ${K}]`, () => {
        const x = kn.array(vals(K, K), 'float64').reshape([1, K]).astype(dtype);
        const w = kn
          .array(vals(N * K, N + 7 * K), 'float64')
          .reshape([N, K])
          .astype(dtype);
        const got = kn.matmul(x, w.T).astype('float64').toTypedArray() as Float64Array;
        const xr = x.astype('float64').toTypedArray() as Float64Array,
          wr = w.astype('float64').toTypedArray() as Float64Array;
        const eps = dtype === 'float16' ? 2 ** -11 : 2 ** -8;
        for (let j = 0; j < N; j++) {
          let s = 0,
            mag = 0;
          for (let k = 0; k < K; k++) {
            s += xr[k] * wr[j * K + k];
            mag += Math.abs(xr[k] * wr[j * K + k]);
          }
          // one rounding of the float sum to the output dtype, plus float accumulation error
          expect(Math.abs(got[j] - s), `column ${j}`).toBeLessThanOrEqual(eps * Math.abs(s) + 1e-6 * mag + 1e-30);
        }
      });
    }
    it(`${dtype}: M rows at once (batched decode, M <= 8) give each row's own bits, and are right`, () => {
      // N * K above 4096: one row alone takes the matrix-vector path too, not the tiny-product one
      const K = 97,
        N = 50;
      const w = kn
        .array(vals(N * K, 11), 'float64')
        .reshape([N, K])
        .astype(dtype);
      const wr = w.astype('float64').toTypedArray() as Float64Array;
      const eps = dtype === 'float16' ? 2 ** -11 : 2 ** -8;
      for (const M of [2, 3, 5, 8]) {
        // rows with a row stride of 2K (every other row of a larger array): a strided batch
        const big = kn
          .array(vals(2 * M * K, M), 'float64')
          .reshape([2 * M, K])
          .astype(dtype);
        const x = big.index('::2');
        const got = kn.matmul(x, w.T).astype('float64').toTypedArray() as Float64Array;
        const xr = x.astype('float64').toTypedArray() as Float64Array;
        for (let i = 0; i < M; i++) {
          const alone = kn.matmul(kn.index(x, [i]), w.T).astype('float64').toTypedArray() as Float64Array;
          expect(Array.from(got.subarray(i * N, (i + 1) * N)), `M ${M} row ${i} equals the row alone`).toEqual(Array.from(alone));
          for (let j = 0; j < N; j++) {
            let s = 0,
              mag = 0;
            for (let k = 0; k < K; k++) {
              s += xr[i * K + k] * wr[j * K + k];
              mag += Math.abs(xr[i * K + k] * wr[j * K + k]);
            }
            expect(Math.abs(got[i * N + j] - s), `M ${M} [${i}, ${j}]`).toBeLessThanOrEqual(eps * Math.abs(s) + 1e-6 * mag + 1e-30);
          }
        }
      }
    });
    it(`${dtype}: a strided x and batched rows give the same values as one product each`, () => {
      const K = 70,
        N = 12;
      const xs = kn
        .array(vals(3 * 2 * K, 5), 'float64')
        .reshape([3, 1, 2 * K])
        .astype(dtype)
        .index('...', '::2');
      const w = kn
        .array(vals(N * K, 6), 'float64')
        .reshape([N, K])
        .astype(dtype);
      const all = kn.matmul(xs, w.T).astype('float32').tolist() as number[][][];
      for (let b = 0; b < 3; b++)
        expect(all[b]).toEqual(
          kn
            .matmul(kn.multiply(kn.index(xs, b), 1), w.T)
            .astype('float32')
            .tolist(),
        );
    });
  }
});
