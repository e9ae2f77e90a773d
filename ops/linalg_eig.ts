// kn.linalg.eig / eigvals for general square matrices, and numpy's roots (eigenvalues of the
// companion matrix). Computed on the host in double precision (a synchronisation point): the
// matrix is reduced to Hessenberg form by Householder reflections, then complex single-shift QR
// with Wilkinson shifts gives the Schur form T = Qᴴ A Q; eigenvectors come from back-substitution
// in T. Real spectra give real arrays (as numpy); complex ones give complex64 arrays where kiln
// has them, and otherwise a clear error.
import type { NDArray } from '../core/array.js';
import { DTYPES, type DType } from '../core/dtype.js';
import { fmtShape, fmtValue } from '../core/shape.js';
import { arrayFrom, asArray, type ArrayInput } from './convert.js';

type C = [number, number];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const cdiv = (a: C, b: C): C => {
  const d = b[0] * b[0] + b[1] * b[1];
  return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
};
const cabs = (a: C) => Math.hypot(a[0], a[1]);
const csqrt = (a: C): C => {
  const r = cabs(a);
  const re = Math.sqrt(Math.max(0, (r + a[0]) / 2)),
    im = Math.sqrt(Math.max(0, (r - a[0]) / 2));
  return [re, a[1] < 0 ? -im : im];
};

/** Schur decomposition of a real n×n matrix (row-major): T upper triangular and unitary Q, complex */
function schur(a: Float64Array, n: number): { T: C[][]; Q: C[][] } {
  const H: C[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => [a[i * n + j], 0] as C));
  const Q: C[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => [i === j ? 1 : 0, 0] as C));
  // Householder reduction to Hessenberg form (real arithmetic on the real parts)
  for (let k = 0; k < n - 2; k++) {
    let norm = 0;
    for (let i = k + 1; i < n; i++) norm += H[i][k][0] ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = H[k + 1][k][0] > 0 ? -norm : norm;
    const v = new Float64Array(n);
    for (let i = k + 1; i < n; i++) v[i] = H[i][k][0];
    v[k + 1] -= alpha;
    let vv = 0;
    for (let i = k + 1; i < n; i++) vv += v[i] * v[i];
    if (vv === 0) continue;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = k + 1; i < n; i++) s += v[i] * H[i][j][0];
      s = (2 * s) / vv;
      for (let i = k + 1; i < n; i++) H[i][j][0] -= s * v[i];
    }
    for (let i = 0; i < n; i++) {
      let s = 0,
        q = 0;
      for (let j = k + 1; j < n; j++) {
        s += H[i][j][0] * v[j];
        q += Q[i][j][0] * v[j];
      }
      s = (2 * s) / vv;
      q = (2 * q) / vv;
      for (let j = k + 1; j < n; j++) {
        H[i][j][0] -= s * v[j];
        Q[i][j][0] -= q * v[j];
      }
    }
  }
  // complex shifted QR with Givens rotations on the active window [lo, hi]
  let hi = n - 1,
    iter = 0;
  let scale = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) scale = Math.max(scale, cabs(H[i][j]));
  const eps = 2.220446049250313e-16;
  while (hi > 0) {
    if (iter++ > 100 * n) throw new Error('[linalg.eig] the QR iteration did not converge');
    let lo = hi;
    while (lo > 0 && cabs(H[lo][lo - 1]) > eps * (cabs(H[lo - 1][lo - 1]) + cabs(H[lo][lo]) || eps * scale)) lo--;
    if (lo === hi) {
      if (hi > 0) H[hi][hi - 1] = [0, 0];
      hi--;
      iter = 0;
      continue;
    }
    if (lo > 0) H[lo][lo - 1] = [0, 0];
    // Wilkinson shift from the trailing 2×2 block (an exceptional shift now and then)
    const a11 = H[hi - 1][hi - 1],
      a12 = H[hi - 1][hi],
      a21 = H[hi][hi - 1],
      a22 = H[hi][hi];
    const tr: C = [a11[0] + a22[0], a11[1] + a22[1]];
    const det: C = [cmul(a11, a22)[0] - cmul(a12, a21)[0], cmul(a11, a22)[1] - cmul(a12, a21)[1]];
    const disc = csqrt([tr[0] * tr[0] - tr[1] * tr[1] - 4 * det[0], 2 * tr[0] * tr[1] - 4 * det[1]]);
    const l1: C = [(tr[0] + disc[0]) / 2, (tr[1] + disc[1]) / 2],
      l2: C = [(tr[0] - disc[0]) / 2, (tr[1] - disc[1]) / 2];
    let mu = cabs([l1[0] - a22[0], l1[1] - a22[1]]) < cabs([l2[0] - a22[0], l2[1] - a22[1]]) ? l1 : l2;
    if (iter % 11 === 10) mu = [a22[0] + cabs(a21), a22[1]];
    for (let i = lo; i <= hi; i++) H[i][i] = [H[i][i][0] - mu[0], H[i][i][1] - mu[1]];
    const rots: [C, C][] = [];
    for (let k = lo; k < hi; k++) {
      const x = H[k][k],
        y = H[k + 1][k];
      const r = Math.hypot(cabs(x), cabs(y));
      const c: C = r === 0 ? [1, 0] : [x[0] / r, -x[1] / r]; // conj(x)/r
      const s: C = r === 0 ? [0, 0] : [y[0] / r, -y[1] / r]; // conj(y)/r
      // rows k, k+1 ← G rows: [c s; -conj(s) conj(c)]
      for (let j = k; j < n; j++) {
        const p = H[k][j],
          q = H[k + 1][j];
        const np: C = [cmul(c, p)[0] + cmul(s, q)[0], cmul(c, p)[1] + cmul(s, q)[1]];
        const sc: C = [s[0], -s[1]],
          cc: C = [c[0], -c[1]];
        const nq: C = [-cmul(sc, p)[0] + cmul(cc, q)[0], -cmul(sc, p)[1] + cmul(cc, q)[1]];
        H[k][j] = np;
        H[k + 1][j] = nq;
      }
      rots.push([c, s]);
    }
    for (let k = lo; k < hi; k++) {
      const [c, s] = rots[k - lo];
      // columns k, k+1 ← times Gᴴ: [conj(c) -s; conj(s) c]
      const cc: C = [c[0], -c[1]],
        sc: C = [s[0], -s[1]];
      for (let i = 0; i <= Math.min(hi, k + 2); i++) {
        const p = H[i][k],
          q = H[i][k + 1];
        H[i][k] = [cmul(p, cc)[0] + cmul(q, sc)[0], cmul(p, cc)[1] + cmul(q, sc)[1]];
        H[i][k + 1] = [-cmul(p, s)[0] + cmul(q, c)[0], -cmul(p, s)[1] + cmul(q, c)[1]];
      }
      for (let i = 0; i < n; i++) {
        const p = Q[i][k],
          q = Q[i][k + 1];
        Q[i][k] = [cmul(p, cc)[0] + cmul(q, sc)[0], cmul(p, cc)[1] + cmul(q, sc)[1]];
        Q[i][k + 1] = [-cmul(p, s)[0] + cmul(q, c)[0], -cmul(p, s)[1] + cmul(q, c)[1]];
      }
    }
    for (let i = lo; i <= hi; i++) H[i][i] = [H[i][i][0] + mu[0], H[i][i][1] + mu[1]];
  }
  for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) H[i][j] = [0, 0];
  return { T: H, Q };
}

/** eigenvectors of A from its Schur form (columns, unit 2-norm) */
function vectors(T: C[][], Q: C[][], n: number): C[][] {
  const cols: C[][] = [];
  let scale = 0;
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) scale = Math.max(scale, cabs(T[i][j]));
  const tiny = 2.220446049250313e-16 * Math.max(scale, 1e-300);
  for (let k = 0; k < n; k++) {
    const lam = T[k][k];
    const y: C[] = Array.from({ length: n }, () => [0, 0] as C);
    y[k] = [1, 0];
    for (let i = k - 1; i >= 0; i--) {
      let s: C = [0, 0];
      for (let j = i + 1; j <= k; j++) s = [s[0] + cmul(T[i][j], y[j])[0], s[1] + cmul(T[i][j], y[j])[1]];
      let d: C = [T[i][i][0] - lam[0], T[i][i][1] - lam[1]];
      if (cabs(d) < tiny) d = [tiny, 0];
      y[i] = cdiv([-s[0], -s[1]], d);
    }
    const x: C[] = Array.from({ length: n }, (_, i) => {
      let s: C = [0, 0];
      for (let j = 0; j <= k; j++) s = [s[0] + cmul(Q[i][j], y[j])[0], s[1] + cmul(Q[i][j], y[j])[1]];
      return s;
    });
    let nrm = 0;
    for (const v of x) nrm += v[0] * v[0] + v[1] * v[1];
    nrm = Math.sqrt(nrm);
    // phase: the largest component real and positive (fixes the arbitrary complex phase)
    let big = x[0];
    for (const v of x) if (cabs(v) > cabs(big)) big = v;
    const ph: C = [big[0] / cabs(big) / nrm, -big[1] / cabs(big) / nrm];
    cols.push(x.map((v) => cmul(v, ph)));
  }
  return cols;
}

function squareHost(a: ArrayInput, op: string): { h: Float64Array; n: number; dt: DType } {
  const x = asArray(a, op);
  if (x.ndim !== 2 || x.shape[0] !== x.shape[1]) throw new Error(`[${op}] expects a square 2-d matrix, got shape ${fmtShape(x.shape)}`);
  const h = Float64Array.from(x.astype('float64').toTypedArray() as Float64Array);
  if (!h.every(Number.isFinite)) throw new Error(`[${op}] the matrix has a non-finite entry`);
  return { h, n: x.shape[0], dt: x.dtype === 'float64' ? 'float64' : 'float32' };
}

const hasComplex = () => (DTYPES as readonly string[]).includes('complex64');

function output(vals: C[], shape: number[], dt: DType, op: string, realTol: number): NDArray {
  if (vals.every((v) => Math.abs(v[1]) <= realTol))
    return arrayFrom(
      Float64Array.from(vals, (v) => v[0]),
      'float64',
      op,
    )
      .astype(dt)
      .reshape(shape);
  if (!hasComplex())
    throw new Error(`[${op}] the result is complex (${fmtValue(vals.find((v) => Math.abs(v[1]) > realTol))}) and this kiln has no complex64 arrays`);
  return arrayFrom(vals.map(([re, im]) => ({ re, im })) as never, 'complex64' as DType, op).reshape(shape);
}

/** eigenvalues, with conjugate pairs made exact and real ones given a zero imaginary part */
function eigen(h: Float64Array, n: number): { w: C[]; T: C[][]; Q: C[][]; tol: number } {
  const { T, Q } = schur(h, n);
  let scale = 0;
  for (const v of h) scale = Math.max(scale, Math.abs(v));
  const tol = 1e-9 * Math.max(scale, 1e-300);
  const w = T.map((row, i) => row[i].slice() as C);
  for (const v of w) if (Math.abs(v[1]) <= tol) v[1] = 0;
  return { w, T, Q, tol };
}

/**
 * Eigenvalues of a general square matrix (numpy's eigvals; order as the QR iteration finds them).
 * Real spectra give a real array; complex ones need complex64. Synchronisation point.
 * @example kn.linalg.eigvals(kn.array([[2, 0], [0, 3]])).tolist() // [2, 3]
 */
export function eigvals(a: ArrayInput): NDArray {
  const op = 'linalg.eigvals';
  const { h, n, dt } = squareHost(a, op);
  const { w, tol } = eigen(h, n);
  return output(w, [n], dt, op, tol);
}

/**
 * Eigenvalues and right eigenvectors (columns, unit norm) of a general square matrix (numpy's
 * eig): A v = w v. Real spectra give real arrays; complex ones need complex64. Synchronisation point.
 * @example
 * const [w, v] = kn.linalg.eig(kn.array([[2, 1], [0, 3]]));
 * w.tolist() // [2, 3]
 * kn.matmul(kn.array([[2, 1], [0, 3]]), v.index(':', 1)) // [2.1213, 2.1213]
 */
export function eig(a: ArrayInput): [NDArray, NDArray] {
  const op = 'linalg.eig';
  const { h, n, dt } = squareHost(a, op);
  const { w, T, Q, tol } = eigen(h, n);
  const cols = vectors(T, Q, n);
  const flat: C[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) flat.push(cols[j][i]);
  const real = w.every((v) => v[1] === 0);
  return [output(w, [n], dt, op, tol), output(flat, [n, n], dt, op, real ? Infinity : -1)];
}

/**
 * Roots of the polynomial p[0]·x^n + ... + p[n] (numpy's roots): eigenvalues of the companion
 * matrix, leading and trailing zeros handled as numpy does. Real roots give a real array.
 * @example kn.roots([1, -3, 2]).tolist() // [2, 1]
 */
export function roots(p: ArrayInput): NDArray {
  const op = 'roots';
  const pa = asArray(p, op);
  if (pa.ndim !== 1) throw new Error(`[${op}] input must be a rank-1 array, got shape ${fmtShape(pa.shape)}`);
  let c = Array.from(pa.astype('float64').toTypedArray() as Float64Array);
  if (!c.every(Number.isFinite)) throw new Error(`[${op}] coefficients must be finite, got ${fmtValue(c)}`);
  const dt: DType = pa.dtype === 'float64' || !['float16', 'bfloat16', 'float32'].includes(pa.dtype) ? 'float64' : 'float32';
  const nz = c.map((v, i) => (v !== 0 ? i : -1)).filter((i) => i >= 0);
  if (nz.length === 0) return arrayFrom(new Float64Array(0), 'float64', op).astype(dt);
  const trailing = c.length - nz[nz.length - 1] - 1;
  c = c.slice(nz[0], nz[nz.length - 1] + 1);
  const n = c.length - 1;
  const vals: C[] = [];
  if (n > 0) {
    const comp = new Float64Array(n * n);
    for (let j = 0; j < n; j++) comp[j] = -c[j + 1] / c[0];
    for (let i = 1; i < n; i++) comp[i * n + i - 1] = 1;
    const { w } = eigen(comp, n);
    vals.push(...w);
  }
  for (let i = 0; i < trailing; i++) vals.push([0, 0]);
  let scale = 0;
  for (const v of c) scale = Math.max(scale, Math.abs(v / c[0]));
  return output(vals, [vals.length], dt, op, 1e-9 * Math.max(1, scale));
}
