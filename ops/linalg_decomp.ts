// kn.linalg decompositions and what is built on them: eigh, eigvalsh, svd, pinv, matrixRank,
// lstsq, cond, matrixPower, multiDot. eigh and svd are native Jacobi kernels (linalg_eig.cc) with
// several outputs (core/siblings.ts); their gradients are in ops/grad/linalg_decomp.ts.
import type { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import type { Primitive } from '../core/node.js';
import { fmtShape, fmtValue, sizeOf } from '../core/shape.js';
import { asArray } from './convert.js';
import { astype, divide, greater, multiply, where } from './elementwise.js';
import { multi } from './make.js';
import { matmul } from './matmul.js';
import { max, sum } from './reduce.js';
import { broadcastTo, expandDims, reshape, swapaxes } from './views.js';
import { eye } from './grids_diagonals.js';
import { inv, norm } from './linalg.js';
import { finfo } from './dtype_info.js';
import { zeros } from './creation.js';

/** eigh / svd: params.kernel, params.args; inputs and outputs are [batch, rows, cols] views. */
export const Decomp: Primitive = {
  name: 'linalgDecomp',
  lowerOutputs(nodes, ins, outs, emit) {
    const n = nodes[0];
    const inputs = n.inputs.map((i, k) => ({ view: ins[k], dtype: i.dtype, shape: i.shape }));
    emit.kernel(n.params.kernel as string, n.params.args as number[], [
      ...inputs,
      ...outs.map((view, k) => ({ view, dtype: nodes[k].dtype, shape: nodes[k].shape })),
    ]);
  },
};

const mT = (x: NDArray) => swapaxes(x, -1, -2);

function floatMatrix(a: NDArray, op: string, square: boolean): NDArray {
  const x = asArray(a, `linalg.${op}`);
  if (x.ndim < 2) throw new Error(`[linalg.${op}] expects an array of matrices (at least 2-d), got shape ${fmtShape(x.shape)}`);
  const [m, n] = x.shape.slice(-2);
  if (square && m !== n) throw new Error(`[linalg.${op}] expects square matrices, got shape ${fmtShape(x.shape)}`);
  return astype(x, x.dtype === 'float64' ? 'float64' : 'float32');
}
const as3 = (x: NDArray) => reshape(x, [sizeOf(x.shape.slice(0, -2)), ...x.shape.slice(-2)]);

export interface EighOptions {
  /** which triangle is read: 'L' (default, as numpy) or 'U' */
  UPLO?: 'L' | 'U';
}

function uplo(opts: EighOptions, op: string): number {
  const u = opts.UPLO ?? 'L';
  if (u !== 'L' && u !== 'U') throw new TypeError(`[linalg.${op}] UPLO must be 'L' or 'U', got ${fmtValue(u)}`);
  return u === 'U' ? 1 : 0;
}

/**
 * Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices, reading one triangle
 * (numpy's eigh). Each eigenvector is signed so that its largest-magnitude component is positive.
 * Differentiable (the eigenvalues must be distinct for the eigenvector gradient).
 * @example
 * const [w, v] = kn.linalg.eigh(kn.array([[2, 1], [1, 2]]));
 * w // [1, 3]
 * v // [[0.7071, 0.7071], [-0.7071, 0.7071]]
 */
export function eigh(a: NDArray, opts: EighOptions = {}): [NDArray, NDArray] {
  const x = floatMatrix(a, 'eigh', true);
  const n = x.shape[x.ndim - 1],
    batch = x.shape.slice(0, -2);
  const x3 = as3(x),
    B = x3.shape[0];
  const [w, v] = multi(
    Decomp,
    { kernel: 'eigh', args: [uplo(opts, 'eigh')] },
    [x3],
    [
      [B, 1, n],
      [B, n, n],
    ],
    x.dtype,
  );
  return [reshape(w, [...batch, n]), reshape(v, [...batch, n, n])];
}

/**
 * Eigenvalues of symmetric matrices, ascending (numpy's eigvalsh).
 * @example kn.linalg.eigvalsh(kn.array([[2, 1], [1, 2]])) // [1, 3]
 */
export function eigvalsh(a: NDArray, opts: EighOptions = {}): NDArray {
  return eigh(a, opts)[0];
}

export interface SvdOptions {
  /** U [.., m, m] and Vt [.., n, n] (default true, as numpy) instead of the reduced k = min(m, n) */
  fullMatrices?: boolean;
  /** false: return only the singular values (default true) */
  computeUv?: boolean;
}

/**
 * Singular value decomposition A = U diag(S) Vt (numpy's svd): S descending, U and Vt full by
 * default (`fullMatrices: false` for the reduced form); `computeUv: false` returns S alone.
 * Singular vectors are signed by a fixed rule (numpy's LAPACK signs are arbitrary).
 * Differentiable (through the reduced factors; distinct singular values for U and Vt).
 * @example
 * const [u, s, vt] = kn.linalg.svd(kn.array([[3, 0], [0, -2]]));
 * s // [3, 2]
 * kn.matmul(kn.multiply(u, s), vt) // [[3, 0], [0, -2]]
 * @example kn.linalg.svd(kn.array([[1, 2], [3, 4], [5, 6]]), { computeUv: false }) // [9.5255, 0.5143]
 */
export function svd(a: NDArray, opts: SvdOptions & { computeUv: false }): NDArray;
export function svd(a: NDArray, opts?: SvdOptions): [NDArray, NDArray, NDArray];
export function svd(a: NDArray, opts: SvdOptions = {}): [NDArray, NDArray, NDArray] | NDArray {
  for (const k of ['fullMatrices', 'computeUv'] as const)
    if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw new TypeError(`[linalg.svd] ${k} must be a boolean, got ${fmtValue(opts[k])}`);
  const x = floatMatrix(a, 'svd', false);
  const [m, n] = x.shape.slice(-2),
    k = Math.min(m, n),
    batch = x.shape.slice(0, -2);
  const full = (opts.fullMatrices ?? true) && opts.computeUv !== false;
  const x3 = as3(x),
    B = x3.shape[0];
  const [u, s, vt] = multi(
    Decomp,
    { kernel: 'svd', args: [full ? 1 : 0] },
    [x3],
    [
      [B, m, full ? m : k],
      [B, 1, k],
      [B, full ? n : k, n],
    ],
    x.dtype,
  );
  const S = reshape(s, [...batch, k]);
  if (opts.computeUv === false) return S;
  return [reshape(u, [...batch, m, full ? m : k]), S, reshape(vt, [...batch, full ? n : k, n])];
}

const singular = (x: NDArray) => svd(x, { computeUv: false });

/** relative cutoff `rc` → absolute cutoff per matrix: rc · max(S) (keepdims over the values axis) */
const cutoff = (s: NDArray, rc: number | NDArray) => multiply(max(s, -1, { keepdims: true }), rc);

/**
 * Moore-Penrose pseudo-inverse through the SVD: singular values at or below rtol · max(S) count as
 * zero (rtol defaults to max(m, n) · eps, as numpy 2).
 * @example kn.linalg.pinv(kn.array([[1, 2], [2, 4]])) // [[0.04, 0.08], [0.08, 0.16]]
 */
export function pinv(a: NDArray, opts: { rtol?: number } = {}): NDArray {
  const x = floatMatrix(a, 'pinv', false);
  const [m, n] = x.shape.slice(-2);
  const rtol = opts.rtol ?? Math.max(m, n) * finfo(x.dtype).eps;
  if (typeof rtol !== 'number' || !(rtol >= 0)) throw new TypeError(`[linalg.pinv] rtol must be a non-negative number, got ${fmtValue(rtol)}`);
  const [u, s, vt] = svd(x, { fullMatrices: false });
  const keep = greater(s, cutoff(s, rtol));
  const sinv = where(keep, divide(1, where(keep, s, 1)), 0);
  return matmul(multiply(mT(vt), expandDims(sinv, -2)), mT(u));
}

/**
 * Rank of matrices: the number of singular values above tol (default max(S) · max(m, n) · eps, as
 * numpy). A 1-d input has rank 1 unless it is all zeros.
 * @example kn.linalg.matrixRank(kn.array([[1, 2], [2, 4]])).item() // 1
 */
export function matrixRank(a: NDArray, opts: { tol?: number; rtol?: number } = {}): NDArray {
  let x = asArray(a, 'linalg.matrixRank');
  if (x.ndim < 2) x = reshape(x, [1, x.size]);
  x = floatMatrix(x, 'matrixRank', false);
  const [m, n] = x.shape.slice(-2);
  const s = singular(x);
  let tol: NDArray | number;
  if (opts.tol !== undefined) {
    if (typeof opts.tol !== 'number' || !(opts.tol >= 0))
      throw new TypeError(`[linalg.matrixRank] tol must be a non-negative number, got ${fmtValue(opts.tol)}`);
    tol = opts.tol;
  } else tol = cutoff(s, opts.rtol ?? Math.max(m, n) * finfo(x.dtype).eps);
  return sum(astype(greater(s, tol), 'int32'), -1);
}

export interface LstsqResult {
  /** the least-squares solution [n] or [n, k] */
  x: NDArray;
  /** squared residual norms per column ([k], or [1] for a vector b); empty when rank < n or m <= n */
  residuals: NDArray;
  /** the effective rank of a */
  rank: number;
  /** singular values of a, descending */
  s: NDArray;
}

/**
 * Least-squares solution of a x = b (numpy's lstsq), through the SVD. Singular values at or below
 * rcond · max(S) are dropped (rcond defaults to max(m, n) · eps). Synchronisation point: the rank is
 * evaluated because the residuals' shape depends on it.
 * @example kn.linalg.lstsq(kn.array([[1, 0], [1, 1], [1, 2]]), kn.array([1, 2, 4])).x // [0.8333, 1.5]
 */
export function lstsq(a: NDArray, b: NDArray, opts: { rcond?: number } = {}): LstsqResult {
  const op = 'linalg.lstsq';
  const A = asArray(a, op),
    Bv = asArray(b, op);
  if (A.ndim !== 2) throw new Error(`[${op}] a must be a 2-d matrix, got shape ${fmtShape(A.shape)}`);
  const [m, n] = A.shape;
  if ((Bv.ndim !== 1 && Bv.ndim !== 2) || Bv.shape[0] !== m)
    throw new Error(`[${op}] b of shape ${fmtShape(Bv.shape)} does not match a of shape ${fmtShape(A.shape)}`);
  const dt: DType = A.dtype === 'float64' || Bv.dtype === 'float64' ? 'float64' : 'float32';
  const x0 = astype(A, dt),
    b2 = astype(Bv.ndim === 1 ? reshape(Bv, [m, 1]) : Bv, dt);
  const rcond = opts.rcond ?? Math.max(m, n) * finfo(dt).eps;
  if (typeof rcond !== 'number' || !(rcond >= 0)) throw new TypeError(`[${op}] rcond must be a non-negative number, got ${fmtValue(rcond)}`);
  const [u, s, vt] = svd(x0, { fullMatrices: false });
  const keep = greater(s, cutoff(s, rcond));
  const sinv = where(keep, divide(1, where(keep, s, 1)), 0);
  const x = matmul(multiply(mT(vt), expandDims(sinv, -2)), matmul(mT(u), b2));
  const rank = Number(sum(astype(keep, 'int32')).item());
  const r = matmul(x0, x);
  const d = r.subtract(b2);
  const residuals = rank === n && m > n ? sum(multiply(d, d), 0) : zeros([0], dt);
  return { x: Bv.ndim === 1 ? reshape(x, [n]) : x, residuals, rank, s };
}

/**
 * Condition number (numpy's cond): p = null/2 is max(S)/min(S), -2 its inverse; 'fro', 'nuc', 1,
 * -1, Infinity, -Infinity are norm(x, p) · norm(inv(x), p).
 * @example kn.linalg.cond(kn.array([[1, 0], [0, 4]])).item() // 4
 */
export function cond(a: NDArray, p: number | 'fro' | 'nuc' | null = null): NDArray {
  const x = floatMatrix(a, 'cond', p !== null && p !== 2 && p !== -2);
  if (p === null || p === 2 || p === -2) {
    const s = singular(x);
    const k = s.shape[s.ndim - 1];
    const hi = s.index('...', 0),
      lo = s.index('...', k - 1);
    return p === -2 ? divide(lo, hi) : divide(hi, lo);
  }
  if (!['fro', 'nuc', 1, -1, Infinity, -Infinity].includes(p as never))
    throw new TypeError(`[linalg.cond] p must be null, 2, -2, 'fro', 'nuc', 1, -1, Infinity or -Infinity, got ${fmtValue(p)}`);
  return multiply(norm(x, p, [-2, -1]), norm(inv(x), p, [-2, -1]));
}

/**
 * The n-th power of square matrices by repeated squaring (numpy's matrix_power); n = 0 gives the
 * identity, n < 0 powers the inverse. Integer matrices stay integer for n >= 0.
 * @example kn.linalg.matrixPower(kn.array([[1, 1], [1, 0]]), 5).tolist() // [[8, 5], [5, 3]]
 */
export function matrixPower(a: NDArray, n: number): NDArray {
  const op = 'linalg.matrixPower';
  let x = asArray(a, op);
  if (!Number.isInteger(n)) throw new TypeError(`[${op}] n must be an integer, got ${fmtValue(n)}`);
  if (x.ndim < 2 || x.shape[x.ndim - 1] !== x.shape[x.ndim - 2]) throw new Error(`[${op}] expects square matrices, got shape ${fmtShape(x.shape)}`);
  const k = x.shape[x.ndim - 1];
  if (n === 0) return broadcastTo(eye(k, k, 0, x.dtype), x.shape);
  if (n < 0) {
    x = inv(x);
    n = -n;
  }
  let result: NDArray | null = null,
    base = x;
  for (;;) {
    if (n & 1) result = result ? matmul(result, base) : base;
    n = Math.floor(n / 2);
    if (n === 0) break;
    base = matmul(base, base);
  }
  return result!;
}

/**
 * Product of several matrices in the cheapest association order (numpy's multi_dot): a 1-d first
 * argument is a row vector, a 1-d last argument a column vector (and those dims are dropped).
 * @example kn.linalg.multiDot([kn.array([1, 2]), kn.array([[1, 0], [0, 1]]), kn.array([3, 4])]).item() // 11
 */
export function multiDot(arrays: readonly NDArray[]): NDArray {
  const op = 'linalg.multiDot';
  if (!Array.isArray(arrays) || arrays.length < 2) throw new TypeError(`[${op}] expects a list of at least two arrays, got ${fmtValue(arrays)}`);
  const xs = arrays.map((a) => asArray(a, op));
  const first1d = xs[0].ndim === 1,
    last1d = xs[xs.length - 1].ndim === 1;
  if (first1d) xs[0] = reshape(xs[0], [1, xs[0].size]);
  if (last1d) xs[xs.length - 1] = reshape(xs[xs.length - 1], [xs[xs.length - 1].size, 1]);
  xs.forEach((x, i) => {
    if (x.ndim !== 2) throw new Error(`[${op}] array ${i} must be 2-d (only the first and last may be 1-d), got shape ${fmtShape(x.shape)}`);
    if (i > 0 && xs[i - 1].shape[1] !== x.shape[0])
      throw new Error(`[${op}] shapes ${fmtShape(xs[i - 1].shape)} and ${fmtShape(x.shape)} (arrays ${i - 1} and ${i}) are not aligned`);
  });
  // dims p0..pN and the classic O(N^3) chain order
  const p = [xs[0].shape[0], ...xs.map((x) => x.shape[1])];
  const N = xs.length;
  const cost: number[][] = Array.from({ length: N }, () => new Array<number>(N).fill(0));
  const split: number[][] = Array.from({ length: N }, () => new Array<number>(N).fill(0));
  for (let len = 1; len < N; len++)
    for (let i = 0; i + len < N; i++) {
      const j = i + len;
      cost[i][j] = Infinity;
      for (let s = i; s < j; s++) {
        const c = cost[i][s] + cost[s + 1][j] + p[i] * p[s + 1] * p[j + 1];
        if (c < cost[i][j]) {
          cost[i][j] = c;
          split[i][j] = s;
        }
      }
    }
  const chain = (i: number, j: number): NDArray => (i === j ? xs[i] : matmul(chain(i, split[i][j]), chain(split[i][j] + 1, j)));
  let out = chain(0, N - 1);
  if (first1d && last1d) return reshape(out, []);
  if (first1d) out = reshape(out, [out.shape[1]]);
  else if (last1d) out = reshape(out, [out.shape[0]]);
  return out;
}

/** Spectral and nuclear matrix norms over the last two axes (used by kn.linalg.norm). */
export function spectralNorm(x: NDArray, ord: 2 | -2 | 'nuc'): NDArray {
  const s = singular(x);
  if (ord === 'nuc') return sum(s, -1);
  const k = s.shape[s.ndim - 1];
  return s.index('...', ord === 2 ? 0 : k - 1);
}
