// GPU matmul (cuBLASLt, backends/cuda/cuda_blas.cc; integers kernels/matmul_int.cu) and linalg
// (cuSOLVER, backends/cuda/cuda_solver.cc) against the CPU kernels. Float matmul inputs are small
// integers, so every product and sum is exact in every float dtype and the results must be equal.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

// this folder runs only on a GPU machine (npm run test:gpu): without a GPU it fails with the reason
if (!kn.gpuAvailable()) throw new Error(`tests/gpu needs a GPU: ${kn.info().gpuUnavailable}`);

/** Deterministic integers in [lo, hi] (a 32-bit LCG). */
function ints(n: number, lo: number, hi: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(lo + (s % (hi - lo + 1)));
  }
  return out;
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const arr = (shape: number[], dtype: kn.DType, lo: number, hi: number, seed: number) => kn.reshape(kn.array(ints(size(shape), lo, hi, seed), dtype), shape);

/** fn's result on the CPU and on the GPU, as nested lists. */
function both(fn: () => kn.NDArray | kn.NDArray[]): [unknown, unknown] {
  const run = (d: kn.Device) =>
    kn.withDevice(d, () => {
      const r = fn();
      return Array.isArray(r) ? r.map((x) => x.tolist()) : r.tolist();
    });
  return [run(kn.cpu), run(kn.gpu)];
}

function closeLists(a: unknown, b: unknown, tol: number) {
  const fa = [a].flat(Infinity as 1) as number[],
    fb = [b].flat(Infinity as 1) as number[];
  expect(fb.length).toBe(fa.length);
  fa.forEach((x, i) => expect(Math.abs(fb[i] - x)).toBeLessThanOrEqual(tol * (1 + Math.abs(x))));
}

describe('matmul on the GPU equals the CPU', () => {
  const floats: kn.DType[] = ['float32', 'float16', 'bfloat16', 'float64'];

  it.each(floats)('%s: plain, transposed, strided, negative strides, vectors, K = 0', (dt) => {
    const A = arr([6, 5], dt, -4, 4, 1),
      B = arr([5, 7], dt, -4, 4, 2);
    const cases: (() => kn.NDArray)[] = [
      () => kn.matmul(A, B),
      () => kn.matmul(kn.transpose(B), kn.transpose(A)), // both operands column-major views
      () => kn.transpose(kn.matmul(A, B)), // read back through a transposed output
      () => kn.matmul(kn.slice(A, [{ step: 2 }]), B), // row stride 10
      () => kn.matmul(A, kn.slice(B, [{}, { step: 3 }])), // column stride 3
      () => kn.matmul(kn.flip(A, 1), kn.flip(B, 0)), // negative strides: scratch copies
      () => kn.matmul(kn.reshape(kn.slice(A, [{ start: 0, stop: 1 }]), [5]), B), // 1-d @ 2-d
      () => kn.matmul(A, kn.reshape(kn.slice(B, [{}, { start: 2, stop: 3 }]), [5])), // 2-d @ 1-d
      () => kn.matmul(kn.zeros([3, 0], dt), kn.zeros([0, 4], dt)), // K = 0: zeros
    ];
    for (const f of cases) {
      const [c, g] = both(f);
      expect(g).toEqual(c);
    }
  });

  it.each(floats)('%s: batched, broadcast batch dims, non-collapsible batch strides', (dt) => {
    const A = arr([2, 3, 4, 5], dt, -3, 3, 3),
      B = arr([2, 3, 5, 6], dt, -3, 3, 4);
    const W = arr([5, 6], dt, -3, 3, 5);
    const cases: (() => kn.NDArray)[] = [
      () => kn.matmul(A, B), // one strided-batched call
      () => kn.matmul(A, W), // [..., M, K] @ [K, N]
      () => kn.matmul(kn.reshape(kn.slice(A, [{ start: 0, stop: 1 }]), [3, 4, 5]), kn.broadcastTo(W, [3, 5, 6])), // zero batch stride
      () => kn.matmul(kn.swapaxes(A, 0, 1), kn.swapaxes(B, 0, 1)), // batch dims that do not collapse: looped
      () => kn.matmul(A, kn.swapaxes(arr([2, 3, 6, 5], dt, -3, 3, 15), 2, 3)), // batched column-major B
    ];
    for (const f of cases) {
      const [c, g] = both(f);
      expect(g).toEqual(c);
    }
  });

  it('float32 with fractional values agrees to float32 rounding (TF32 off)', () => {
    const A = kn.divide(arr([64, 96], 'float32', -1000, 1000, 6), kn.array(997, 'float32'));
    const B = kn.divide(arr([96, 48], 'float32', -1000, 1000, 7), kn.array(991, 'float32'));
    const [c, g] = both(() => kn.matmul(A, B));
    closeLists(c, g, 1e-5);
  });

  it.each(['int8', 'uint8', 'int16', 'int32', 'uint32'] as kn.DType[])('%s: wraps exactly like the CPU', (dt) => {
    const big = dt === 'int32' || dt === 'uint32' ? 100000 : 100;
    const lo = dt.startsWith('u') ? 0 : -big;
    const A = arr([2, 9, 20], dt, lo, big, 8),
      B = arr([2, 20, 11], dt, lo, big, 9);
    for (const f of [() => kn.matmul(A, B), () => kn.matmul(kn.swapaxes(B, 1, 2), kn.swapaxes(A, 1, 2))]) {
      const [c, g] = both(f);
      expect(g).toEqual(c);
    }
  });
});

describe('linalg on the GPU matches the CPU', () => {
  // symmetric positive definite: M M^T + n I
  const spd = (n: number, dt: kn.DType) => {
    const M = arr([3, n, n], dt, -5, 5, 10 + n);
    return kn.add(kn.matmul(M, kn.swapaxes(M, 1, 2)), kn.multiply(kn.eye(n, dt), kn.array(n, dt)));
  };
  for (const [dt, tol] of [
    ['float64', 1e-10],
    ['float32', 2e-4],
  ] as [kn.DType, number][]) {
    it(`${dt}: cholesky (lower, upper), inv, solve, solveTriangular, det, slogdet, qr`, () => {
      const S = spd(6, dt);
      const A = arr([3, 6, 6], dt, -9, 9, 11);
      const B = arr([3, 6, 4], dt, -9, 9, 12);
      const cases: (() => kn.NDArray | kn.NDArray[])[] = [
        () => kn.linalg.cholesky(S),
        () => kn.linalg.cholesky(S, { upper: true }),
        () => kn.linalg.inv(A),
        () => kn.linalg.inv(kn.swapaxes(A, 1, 2)), // a transposed view
        () => kn.linalg.solve(A, B),
        () => kn.linalg.solveTriangular(kn.linalg.cholesky(S), B),
        () => kn.linalg.solveTriangular(kn.linalg.cholesky(S, { upper: true }), B, { upper: true }),
        () => kn.linalg.solveTriangular(kn.linalg.cholesky(S), B, { unitDiagonal: true }),
        () => kn.linalg.det(A),
        () => kn.linalg.slogdet(A),
        () => kn.linalg.qr(A),
        () => kn.linalg.qr(arr([2, 7, 4], dt, -9, 9, 13)), // tall
        () => kn.linalg.qr(arr([2, 3, 5], dt, -9, 9, 14)), // wide
      ];
      for (const f of cases) {
        const [c, g] = both(f);
        closeLists(c, g, tol);
      }
    });
  }

  it('singular and non-positive-definite inputs: the CPU errors, det 0 and log|det| -inf', () => {
    const sing = kn.array(
      [
        [1, 2],
        [2, 4],
      ],
      'float64',
    );
    const notPd = kn.array(
      [
        [1, 2],
        [2, 1],
      ],
      'float64',
    );
    kn.withDevice(kn.gpu, () => {
      expect(() => kn.linalg.inv(sing).tolist()).toThrow(/\[inv\] matrix 0 is singular/);
      expect(() => kn.linalg.solve(sing, kn.ones([2, 1], 'float64')).tolist()).toThrow(/\[solve\] matrix 0 is singular/);
      expect(() => kn.linalg.cholesky(notPd).tolist()).toThrow(/\[cholesky\] matrix 0 is not positive definite/);
      // the device stays usable
      expect(kn.linalg.det(notPd).tolist()).toBeCloseTo(-3, 12);
    });
    const [c, g] = both(() => [kn.linalg.det(sing), ...kn.linalg.slogdet(sing)]);
    expect(g).toEqual(c);
    expect(g).toEqual([0, 0, -Infinity]);
  });
});
