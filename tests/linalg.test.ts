// kn.linalg against numpy.linalg (fixtures/linalg_cases.json from fixtures/make_linalg_fixtures.py).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as kn from '../index.js';

type T = { shape: number[]; values: number[] };
const f = JSON.parse(readFileSync(new URL('./fixtures/linalg_cases.json', import.meta.url), 'utf8')) as Record<string, T>;
const arr = (k: string, dtype: kn.DType = 'float64') => kn.reshape(kn.array(f[k].values, dtype), f[k].shape);

function close(got: kn.NDArray, want: T, tol = 1e-10) {
  expect(got.shape).toEqual(want.shape);
  const g = kn.reshape(got, [got.size]).tolist() as number[];
  g.forEach((v, i) => expect(Math.abs(v - want.values[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(want.values[i]))));
}

describe('kn.linalg matches numpy', () => {
  it('inv, cholesky, solve, solveTriangular, det, slogdet (float64)', () => {
    close(kn.linalg.inv(arr('A')), f.inv);
    close(kn.linalg.cholesky(arr('S')), f.cholesky);
    close(kn.linalg.solve(kn.take(arr('A'), [0], 0).squeeze(0), arr('Bv')), f.solve_v);
    close(kn.linalg.solve(arr('A'), arr('Bm')), f.solve_m);
    close(kn.linalg.solveTriangular(arr('T'), arr('Bv')), f.tri);
    close(kn.linalg.det(arr('A')), f.det);
    const [s, l] = kn.linalg.slogdet(arr('A'));
    close(s, f.slogdet_sign);
    close(l, f.slogdet_log);
  });

  it('float32 inputs stay float32 within float32 accuracy', () => {
    const x = kn.linalg.inv(arr('A', 'float32'));
    expect(x.dtype).toBe('float32');
    close(x, f.inv, 1e-5);
  });

  it('qr reconstructs A with orthonormal Q and upper-triangular R', () => {
    for (const k of ['Q', 'W']) {
      const a = arr(k);
      const [q, r] = kn.linalg.qr(a);
      const m = a.shape[0],
        n = a.shape[1],
        p = Math.min(m, n);
      expect(q.shape).toEqual([m, p]);
      expect(r.shape).toEqual([p, n]);
      close(kn.matmul(q, r), f[k]);
      const qtq = kn.matmul(q.T, q).tolist() as number[][];
      qtq.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - (i === j ? 1 : 0))).toBeLessThan(1e-12)));
      (r.tolist() as number[][]).forEach((row, i) => row.forEach((v, j) => j < i && expect(v).toBe(0)));
    }
  });

  it('norms and cross products', () => {
    close(kn.linalg.norm(arr('V')), f.norm2);
    close(kn.linalg.norm(arr('V'), null, 1), f.norm_ax1);
    close(kn.linalg.norm(arr('V'), Infinity, 0), f.norm_inf);
    close(kn.linalg.norm(arr('V'), 3, 1), f.norm_p3);
    close(kn.linalg.norm(arr('V'), 'fro'), f.norm_fro);
    close(kn.linalg.norm(arr('V'), 1), f.norm_m1);
    close(kn.linalg.norm(arr('V'), -Infinity), f.norm_minf);
    close(kn.linalg.norm(arr('V'), 0, 1), f.norm_0);
    const v = arr('V');
    close(kn.linalg.cross(v.slice([{}, { stop: 3 }]), kn.flip(v, 0).slice([{}, { start: 1 }])), f.cross3);
    close(kn.linalg.cross(v.slice([{}, { stop: 2 }]), v.slice([{}, { start: 2 }])), f.cross2);
  });

  it('raises clear errors', () => {
    expect(() =>
      kn.linalg
        .inv(
          kn.array([
            [1, 2],
            [2, 4],
          ]),
        )
        .tolist(),
    ).toThrow(/\[inv\] matrix 0 is singular/);
    expect(() =>
      kn.linalg
        .cholesky(
          kn.array([
            [1, 2],
            [2, 1],
          ]),
        )
        .tolist(),
    ).toThrow(/\[cholesky\] matrix 0 is not positive definite/);
    expect(() => kn.linalg.inv(kn.ones([2, 3]))).toThrow(/\[inv\] expects square matrices/);
    expect(() => kn.linalg.solve(kn.ones([2, 2]), kn.ones([3]))).toThrow(/\[solve\] right-hand side/);
    expect(
      kn.linalg
        .det(
          kn.array([
            [1, 2],
            [2, 4],
          ]),
        )
        .item(),
    ).toBe(0);
  });
});

describe('linalg kernels on non-contiguous layouts', () => {
  it('transposed, sliced and broadcast inputs give the same results as contiguous copies', () => {
    const A = arr('A'); // [2, 4, 4]
    const At = kn.swapaxes(A, 1, 2); // transposed view
    const copy = (x: kn.NDArray) => kn.array(x.tolist() as number[][][], 'float64');
    expect(kn.linalg.inv(At).tolist()).toEqual(kn.linalg.inv(copy(At)).tolist());
    const sl = kn.flip(A, 0); // negative batch stride
    expect(kn.linalg.det(sl).tolist()).toEqual(kn.linalg.det(copy(sl)).tolist());
    // one right-hand side broadcast against a batch of matrices
    const b = arr('Bv');
    const x = kn.linalg.solve(A, b);
    expect(x.shape).toEqual([2, 4]);
    const back = kn.matmul(A, x.expandDims(-1)).squeeze(-1).tolist() as number[][];
    back.forEach((row) => row.forEach((v, i) => expect(Math.abs(v - f.Bv.values[i])).toBeLessThan(1e-10)));
    // a 0-batch of matrices is fine
    expect(kn.linalg.inv(kn.zeros([0, 3, 3])).shape).toEqual([0, 3, 3]);
  });
});
