// kn.linalg decompositions (eigh, svd) and what is built on them, against numpy
// (fixtures/numpy_funcs_cases.json, the 'linalg.*' and polyfit cases) plus reconstructions,
// gradients against central differences, jvp/vjp agreement, vmap and errors.
import { describe, it, expect } from 'vitest';
import * as kn from '../index.js';
import { check, close, decode, eigCases, f64, fixtureTests, lstsqCases, numeric } from './helpers/numpy_fixture.js';

describe('linalg against numpy', () => {
  fixtureTests(it, (c) => c.op.startsWith('linalg.') || c.op === 'polyfit');
  it(`linalg.lstsq (${lstsqCases.length} cases)`, () => {
    for (const c of lstsqCases) {
      const r = kn.linalg.lstsq(decode(c.a) as kn.NDArray, decode(c.b) as kn.NDArray);
      check(r.x, c.x, `${c.name} x`);
      check(r.residuals, c.residuals, `${c.name} residuals`);
      expect(r.rank, c.name).toBe(c.rank);
      check(r.s, c.s, `${c.name} s`);
    }
  });
});

describe('eig, eigvals and roots (host QR iteration)', () => {
  /** [re, im] pairs of a result: real arrays, or complex64 ones ({ re, im } in tolist) */
  const pairs = (a: kn.NDArray): [number, number][] =>
    (a.tolist() as (number | { re: number; im: number })[])
      .map((v) => (typeof v === 'number' ? [v, 0] : [v.re, v.im]) as [number, number])
      .sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  const hasComplex = (kn.DTYPES as readonly string[]).includes('complex64');
  it(`eigenvalues and roots match numpy (${eigCases.length} cases)`, () => {
    for (const c of eigCases) {
      const complexWant = c.w.some(([, im]) => im !== 0);
      const run = () => (c.op === 'eig' ? kn.linalg.eigvals(decode(c.a) as kn.NDArray) : kn.roots(decode(c.p) as kn.NDArray));
      if (complexWant && !hasComplex) {
        expect(run, c.name).toThrow(/the result is complex .* no complex64 arrays/);
        continue;
      }
      const got = pairs(run());
      expect(got.length, c.name).toBe(c.w.length);
      got.forEach(([re, im], i) => {
        expect(Math.abs(re - c.w[i][0]), `${c.name} re[${i}]`).toBeLessThanOrEqual(c.tol * (1 + Math.abs(c.w[i][0])));
        expect(Math.abs(im - c.w[i][1]), `${c.name} im[${i}]`).toBeLessThanOrEqual(c.tol * (1 + Math.abs(c.w[i][1])));
      });
    }
  });
  it('eig vectors satisfy A v = w v with unit columns; real spectra stay real', () => {
    const a = f64([
      [1, 2, 3],
      [0.5, -1, 2],
      [1, 0, 4],
    ]);
    const [w, v] = kn.linalg.eig(a);
    expect(w.dtype).toBe('float64');
    close(kn.matmul(a, v), kn.multiply(v, w), 1e-12);
    close(kn.sum(kn.square(v), 0), kn.ones([3], 'float64'), 1e-12);
    expect(
      kn.linalg.eig(
        kn.array([
          [2, 0],
          [0, 3],
        ]),
      )[0].dtype,
    ).toBe('float32');
    expect(kn.roots([0, 0]).shape).toEqual([0]);
    expect(() => kn.linalg.eig(kn.ones([2, 3]))).toThrow(/\[linalg\.eig\] expects a square 2-d matrix, got shape \[2, 3\]/);
    expect(() => kn.roots(kn.ones([2, 2]))).toThrow(/\[roots\] input must be a rank-1 array/);
  });
});

describe('linalg decompositions', () => {
  const A = f64([
    [4, 1, -2, 2],
    [1, 2, 0, 1],
    [-2, 0, 3, -2],
    [2, 1, -2, -1],
  ]);
  it('eigh reconstructs A = V diag(w) Vᵀ with orthonormal V, float32 and float64, batched', () => {
    for (const dt of ['float32', 'float64'] as const) {
      const a = A.astype(dt);
      const [w, v] = kn.linalg.eigh(a);
      expect(w.dtype).toBe(dt);
      close(kn.matmul(kn.multiply(v, w), v.T), a, dt === 'float32' ? 1e-5 : 1e-12);
      close(kn.matmul(v.T, v), kn.eye(4, 4, 0, dt), dt === 'float32' ? 1e-5 : 1e-12);
    }
    const b = kn.stack([A, kn.multiply(A, 2)]);
    const [w] = kn.linalg.eigh(b);
    close(w.index(1), kn.multiply(w.index(0), 2), 1e-12);
    // sign rule: each vector's largest-magnitude component is positive
    const [, v] = kn.linalg.eigh(A);
    const vt = v.T.tolist() as number[][];
    for (const col of vt) expect(col.reduce((p, q) => (Math.abs(q) > Math.abs(p) ? q : p), 0)).toBeGreaterThan(0);
  });

  it('svd: A = U diag(S) Vt, full and reduced, tall and wide, orthonormal factors', () => {
    for (const shape of [
      [5, 3],
      [3, 5],
      [4, 4],
    ]) {
      const x = kn.random.normal(shape, { key: kn.random.key(shape[0] * 10 + shape[1]), dtype: 'float64' });
      const [u, s, vt] = kn.linalg.svd(x, { fullMatrices: false });
      close(kn.matmul(kn.multiply(u, s), vt), x, 1e-12);
      const [U, S, Vt] = kn.linalg.svd(x);
      expect(U.shape).toEqual([shape[0], shape[0]]);
      expect(Vt.shape).toEqual([shape[1], shape[1]]);
      close(S, s, 0);
      close(kn.matmul(U.T, U), kn.eye(shape[0], shape[0], 0, 'float64'), 1e-12);
      close(kn.matmul(Vt, Vt.T), kn.eye(shape[1], shape[1], 0, 'float64'), 1e-12);
    }
    // a rank-deficient matrix: the completed left vectors stay orthonormal
    const r = kn.matmul(f64([[1], [2], [3]]), f64([[1, 1, 1]]));
    const [U, S] = kn.linalg.svd(r);
    expect((S.tolist() as number[])[1]).toBeLessThan(1e-12);
    close(kn.matmul(U.T, U), kn.eye(3, 3, 0, 'float64'), 1e-12);
  });

  it('eigh gradients (eigenvalues and eigenvectors) match central differences', () => {
    const x0 = f64([
      [2, 0.5, -0.3],
      [0.5, 1, 0.2],
      [-0.3, 0.2, -1],
    ]);
    const fw = (x: kn.NDArray) => kn.sum(kn.multiply(kn.linalg.eigvalsh(x), f64([1, -2, 3])));
    const fv = (x: kn.NDArray) => {
      const [, v] = kn.linalg.eigh(x);
      return kn.sum(
        kn.multiply(
          kn.square(v),
          f64([
            [1, 2, 3],
            [0.5, -1, 2],
            [1, 1, -3],
          ]),
        ),
      );
    };
    for (const f of [fw, fv]) {
      const g = kn.grad(f)(x0);
      const num = numeric(f, x0);
      close(g, num, 1e-6);
    }
  });

  it('svd gradients (singular values, U and Vt; tall and wide) match central differences', () => {
    for (const shape of [
      [4, 3],
      [3, 4],
      [3, 3],
    ]) {
      const x0 = kn.random.normal(shape, { key: kn.random.key(7 + shape[1]), dtype: 'float64' });
      const k = Math.min(...shape);
      const fs = (x: kn.NDArray) => kn.sum(kn.multiply(kn.linalg.svd(x, { computeUv: false }), kn.arange(1, k + 1, 'float64')));
      const fu = (x: kn.NDArray) => {
        const [u, s, vt] = kn.linalg.svd(x, { fullMatrices: false });
        // sign-invariant: u_i v_iᵀ products and squares
        return kn
          .add(
            kn.sum(kn.square(kn.matmul(u, vt))),
            kn.sum(
              kn.multiply(
                kn.square(u),
                kn
                  .arange(0, shape[0] * k, 'float64')
                  .reshape([shape[0], k])
                  .divide(10),
              ),
            ),
          )
          .add(kn.sum(s));
      };
      for (const f of [fs, fu]) close(kn.grad(f)(x0), numeric(f, x0), 1e-6);
    }
  });

  it('jvp of eigh and svd agree with the vjp (⟨J t, c⟩ = ⟨t, Jᵀ c⟩)', () => {
    const x0 = kn.random.normal([3, 3], { key: kn.random.key(3), dtype: 'float64' });
    const sym = kn.add(x0, x0.T);
    const t = kn.random.normal([3, 3], { key: kn.random.key(4), dtype: 'float64' });
    const c = f64([1, 2, 3]);
    const dot = (a: kn.NDArray, b: kn.NDArray) => Number(kn.sum(kn.multiply(a, b)).item());
    const f = (x: kn.NDArray) => kn.linalg.svd(x, { computeUv: false });
    const [, [jt]] = kn.jvp(f, [x0], [t]);
    const [, [g]] = kn.vjp(f, [x0], [c]);
    expect(dot(jt, c)).toBeCloseTo(dot(g, t), 8);
    const fe = (x: kn.NDArray) => kn.linalg.eigh(x)[1];
    const tl = kn.tril(t);
    const cv = kn.random.normal([3, 3], { key: kn.random.key(5), dtype: 'float64' });
    const [, [je]] = kn.jvp(fe, [sym], [tl]);
    const [, [ge]] = kn.vjp(fe, [sym], [cv]);
    expect(dot(je, cv)).toBeCloseTo(dot(ge, tl), 8);
  });

  it('vmap over eigvalsh and svd equals the batched call', () => {
    const b = kn.random.normal([3, 4, 4], { key: kn.random.key(9), dtype: 'float64' });
    const sym = kn.add(b, kn.swapaxes(b, -1, -2));
    close(kn.vmap((x: kn.NDArray) => kn.linalg.eigvalsh(x))(sym) as kn.NDArray, kn.linalg.eigvalsh(sym), 1e-12);
    close(kn.vmap((x: kn.NDArray) => kn.linalg.svd(x, { computeUv: false }))(b) as kn.NDArray, kn.linalg.svd(b, { computeUv: false }), 1e-12);
  });

  it('bad input names the op', () => {
    expect(() => kn.linalg.eigh(kn.ones([2, 3]))).toThrow(/\[linalg\.eigh\] expects square matrices, got shape \[2, 3\]/);
    expect(() => kn.linalg.svd(kn.ones([3]))).toThrow(/\[linalg\.svd\] expects an array of matrices/);
    expect(() => kn.linalg.eigh(kn.eye(2), { UPLO: 'X' as 'L' })).toThrow(/UPLO must be 'L' or 'U', got "X"/);
    expect(() =>
      kn.linalg
        .eigvalsh(
          f64([
            [1, NaN],
            [NaN, 1],
          ]),
        )
        .eval(),
    ).toThrow(/\[eigh\] matrix 0 has a non-finite entry/);
    expect(() => kn.linalg.matrixPower(kn.ones([2, 2]), 1.5)).toThrow(/\[linalg\.matrixPower\] n must be an integer, got 1\.5/);
    expect(() => kn.linalg.multiDot([kn.ones([2, 3]), kn.ones([2, 3])])).toThrow(/not aligned/);
    expect(() => kn.linalg.cond(kn.eye(2), 3)).toThrow(/\[linalg\.cond\] p must be/);
    expect(() => kn.linalg.norm(kn.ones([3]), 'nuc')).toThrow(/'nuc' is a matrix norm/);
    expect(() => kn.linalg.lstsq(kn.ones([3, 2]), kn.ones([4]))).toThrow(/\[linalg\.lstsq\] b of shape \[4\] does not match a of shape \[3, 2\]/);
  });
});
