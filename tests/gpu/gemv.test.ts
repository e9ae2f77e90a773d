// The GPU decode matmul (backends/cuda/kernels/gemv.cu: x [M <= 8, K] @ W^T with W [N, K] the
// row-major Linear weight, taken ahead of cuBLASLt) against the CPU kernel. Most inputs are small
// integers: every float32 partial sum is exact whatever the order, so the GPU (float32 sums in
// another order, rounded once to the output dtype) must equal the CPU bit for bit in every dtype.
// Fractional inputs check the inexact case within the rounding of the sums. Shapes pick both load
// paths (16-byte vectors; scalar for odd K or unaligned rows), the K slices shared by a block's warps
// (small N) and split-K across blocks (N = 7 with long K), and cases the kernel must leave to cuBLASLt.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

// this folder runs only on a GPU machine (npm run test:gpu): without a GPU it fails with the reason
if (!kn.gpuAvailable()) throw new Error(`tests/gpu needs a GPU: ${kn.info().gpuUnavailable}`);

const DTYPES: kn.DType[] = ['bfloat16', 'float16', 'float32'];

/** Deterministic integers in [-3, 3] (a 32-bit LCG) as an Int8Array: fast for millions of elements. */
function ints(n: number, seed: number): Int8Array {
  let s = seed >>> 0;
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s >>> 24) % 7) - 3;
  }
  return out;
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** An evaluated array of small integers in dtype dt. */
const mat = (shape: number[], dt: kn.DType, seed: number) => {
  const a = kn.reshape(kn.array(ints(size(shape), seed)), shape).astype(dt);
  kn.eval(a);
  return a;
};
/** Rows 0..m of x (row stride unchanged). */
const rows = (x: kn.NDArray, m: number) => kn.slice(x, [{ start: 0, stop: m }]);

/** fn's result on the CPU and on the GPU, as flat float64 lists. */
function both(fn: () => kn.NDArray): [number[], number[]] {
  const run = (d: kn.Device) => kn.withDevice(d, () => Array.from(fn().astype('float64').toTypedArray() as Float64Array));
  return [run(kn.cpu), run(kn.gpu)];
}

/** The first element where the GPU differs from the CPU by more than tol(i, cpu value) (one expect per case: per-element expects are slow). */
function expectClose(fn: () => kn.NDArray, what: string, tol: (i: number, x: number) => number = () => 0) {
  const [c, g] = both(fn);
  expect(g.length, what).toBe(c.length);
  let bad = '';
  for (let i = 0; i < c.length && !bad; i++) {
    const x = c[i],
      y = g[i];
    const ok = Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)) || Math.abs(y - x) <= tol(i, x);
    if (!ok) bad = `${what} [${i}]: gpu ${y} cpu ${x}`;
  }
  expect(bad).toBe('');
}
/** Linear: x @ W^T, the weight a transposed view (B strides (1, K)): the case the kernel takes. */
const linear = (x: kn.NDArray, w: kn.NDArray) => kn.matmul(x, kn.transpose(w));

describe('decode matmul x @ W^T on the GPU equals the CPU', () => {
  it.each(DTYPES)('%s: M = 1..8, K = 64 and 100 (scalar loads), N = 1, 7, 2048', (dt) => {
    for (const K of [64, 100])
      for (const N of [1, 7, 2048]) {
        const W = mat([N, K], dt, K + N),
          X = mat([8, K], dt, 7 * K + N);
        for (let M = 1; M <= 8; M++) expectClose(() => linear(rows(X, M), W), `${dt} M ${M} K ${K} N ${N}`);
      }
  });

  it.each(DTYPES)('%s: K = 2048, 8192 and 8191 (warps share rows; split-K over blocks for N = 7)', (dt) => {
    for (const [K, N] of [
      [2048, 7],
      [2048, 2048],
      [8192, 7],
      [8192, 2048],
      [8191, 7], // scalar loads, split-K
    ]) {
      const W = mat([N, K], dt, K + N),
        X = mat([8, K], dt, 3 * K + N);
      for (const M of [1, 3, 8]) expectClose(() => linear(rows(X, M), W), `${dt} M ${M} K ${K} N ${N}`);
    }
  });

  it.each(DTYPES)('%s: the LM head width N = 128256 (K = 64)', (dt) => {
    const W = mat([128256, 64], dt, 11),
      X = mat([8, 64], dt, 12);
    for (const M of [1, 8]) expectClose(() => linear(rows(X, M), W), `${dt} M ${M}`);
  });

  it.each(DTYPES)('%s: strided and offset rows, batch dims, the Linear pattern [1, 1, K]', (dt) => {
    const K = 256,
      N = 96;
    const W = mat([N, K], dt, 21);
    const cases: [string, () => kn.NDArray][] = [
      ['x [1, 1, K] (one decode token)', () => linear(mat([1, 1, K], dt, 22), W)],
      ['x [1, 5, K]: a batch dim of size 1', () => linear(mat([1, 5, K], dt, 23), W)],
      ['x [2, 4, K]: 8 rows (matmul flattens the leading dims)', () => linear(mat([2, 4, K], dt, 24), W)],
      // a batched product whose weight broadcasts (batch stride 0): batch and M collapse to 8 rows
      ['x [2, 4, K] @ W^T broadcast to [2, K, N]', () => kn.matmul(mat([2, 4, K], dt, 38), kn.broadcastTo(kn.transpose(W), [2, K, N]))],
      ['x rows with stride 2K (a column slice)', () => linear(kn.slice(mat([6, 2 * K], dt, 25), [{}, { start: 0, stop: K }]), W)],
      ['x every other row (a row slice)', () => linear(kn.slice(mat([16, K], dt, 26), [{ step: 2 }]), W)],
      ['x rows offset by one element (unaligned: scalar loads)', () => linear(kn.slice(mat([4, K + 1], dt, 27), [{}, { start: 1 }]), W)],
      [
        'W rows with stride K + 8 (a column slice of a wider weight)',
        () => linear(mat([3, K], dt, 28), kn.slice(mat([N, K + 8], dt, 29), [{}, { start: 0, stop: K }])),
      ],
      ['W rows offset by one element (unaligned)', () => linear(mat([3, K], dt, 30), kn.slice(mat([N, K + 1], dt, 31), [{}, { start: 1 }]))],
      // the kernel must not apply: cuBLASLt gives the same result
      ['B not transposed (strides (N, 1))', () => kn.matmul(mat([4, K], dt, 32), mat([K, N], dt, 33))],
      ['M = 9 rows', () => linear(mat([9, K], dt, 34), W)],
      ['x [3, 3, K]: 9 rows', () => linear(mat([3, 3, K], dt, 35), W)],
      ['a batched weight (B batch stride not 0)', () => kn.matmul(mat([2, 1, K], dt, 36), kn.swapaxes(mat([2, N, K], dt, 37), 1, 2))],
    ];
    for (const [what, f] of cases) expectClose(f, `${dt} ${what}`);
  });

  it.each(DTYPES)('%s: fractional values agree within the rounding of float32 sums and of the output', (dt) => {
    const K = 4096,
      N = 1024;
    const frac = (shape: number[], seed: number) => {
      const a = kn.divide(kn.reshape(kn.array(ints(size(shape), seed)), shape).astype('float32'), kn.array(7, 'float32')).astype(dt);
      kn.eval(a);
      return a;
    };
    const W = frac([N, K], 41),
      X = frac([8, K], 42);
    // |error| <= (2 units in the last place of the output dtype) * |value| + 1e-5 * sum_k |x_k w_nk|
    const rel = { bfloat16: 2 ** -6, float16: 2 ** -9, float32: 2 ** -21 }[dt as 'bfloat16' | 'float16' | 'float32'];
    for (const M of [1, 2, 8]) {
      const x = rows(X, M);
      const mag = kn.withDevice(kn.cpu, () =>
        Array.from(
          linear(kn.abs(x.astype('float32')), kn.abs(W.astype('float32')))
            .astype('float64')
            .toTypedArray() as Float64Array,
        ),
      );
      expectClose(
        () => linear(x, W),
        `${dt} M ${M}`,
        (i, v) => rel * Math.abs(v) + 1e-5 * mag[i],
      );
    }
  });
});
