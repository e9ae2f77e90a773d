// kn.linalg: norm, inv, solve, solveTriangular, cholesky, qr, det, slogdet, cross (and, from linalg_decomp.ts, eigh, svd and what is built on them).
// Matrix kernels take float32/float64 (other dtypes compute in float32, as numpy would in
// float64) and batch over leading dims; failures (singular, not positive definite) raise
// when the result is evaluated.
import type { NDArray } from '../core/array.js';
import { floatFor, type DType } from '../core/dtype.js';
import { Linalg, LinalgMulti } from '../core/primitives.js';
import { broadcastShapes, fmtShape, fmtValue, normalizeAxes, normalizeAxis, sizeOf } from '../core/shape.js';
import { asArray } from './convert.js';
import { abs, astype, multiply, notEqual, power, sqrt, subtract } from './elementwise.js';
import { make, multi } from './make.js';
import { max, min, sum } from './reduce.js';
import { broadcastTo, reshape, slice, moveaxis } from './views.js';
import { stack } from './shape.js';
import { take } from './take_scatter.js';
import { spectralNorm } from './linalg_decomp.js';

function floatMatrix(a: NDArray, op: string, square = true): NDArray {
  const x = asArray(a, op);
  if (x.ndim < 2) throw new Error(`[${op}] expects an array of matrices (at least 2-d), got shape ${fmtShape(x.shape)}`);
  const [m, n] = x.shape.slice(-2);
  if (square && m !== n) throw new Error(`[${op}] expects square matrices, got shape ${fmtShape(x.shape)}`);
  const dt: DType = x.dtype === 'float64' ? 'float64' : 'float32';
  return astype(x, dt);
}

const as3 = (x: NDArray) => reshape(x, [sizeOf(x.shape.slice(0, -2)), ...x.shape.slice(-2)]);
function run1(kernel: string, x: NDArray, args: number[] = []): NDArray {
  const x3 = as3(x);
  return reshape(make(Linalg, { kernel, args }, [x3], x3.shape, x.dtype), x.shape);
}

/** Inverse of square matrices. @example kn.linalg.inv(kn.array([[2, 0], [0, 4]])).tolist() // [[0.5, 0], [0, 0.25]] */
export function inv(a: NDArray): NDArray {
  return run1('inv', floatMatrix(a, 'inv'));
}

/**
 * Cholesky factor: lower triangular L with A = L Lᵀ (or upper U with A = Uᵀ U).
 * @example kn.linalg.cholesky(kn.array([[4, 2], [2, 2]])).tolist() // [[2, 0], [1, 1]]
 */
export function cholesky(a: NDArray, opts: { upper?: boolean } = {}): NDArray {
  return run1('cholesky', floatMatrix(a, 'cholesky'), [opts.upper ? 1 : 0]);
}

function rhs(op: string, A: NDArray, b: NDArray): { A3: NDArray; B3: NDArray; outShape: number[]; vec: boolean } {
  let B = asArray(b, op);
  const dt = A.dtype === 'float64' || B.dtype === 'float64' ? 'float64' : 'float32';
  A = astype(A, dt);
  B = astype(B, dt);
  const n = A.shape[A.ndim - 1];
  const vec = B.ndim === 1;
  if (vec) B = reshape(B, [n === B.size ? n : B.size, 1]);
  if (B.shape[B.ndim - 2] !== n) throw new Error(`[${op}] right-hand side of shape ${fmtShape(b.shape)} does not match matrices of shape ${fmtShape(A.shape)}`);
  const batch = broadcastShapes(op, A.shape.slice(0, -2), B.shape.slice(0, -2));
  const k = B.shape[B.ndim - 1];
  const Ab = broadcastTo(A, [...batch, n, n]),
    Bb = broadcastTo(B, [...batch, n, k]);
  return { A3: as3(Ab), B3: as3(Bb), outShape: vec ? [...batch, n] : [...batch, n, k], vec };
}

/**
 * Solves A x = b (b a vector or a matrix of right-hand sides; batches broadcast).
 * @example kn.linalg.solve(kn.array([[2, 0], [0, 4]]), kn.array([2, 4])).tolist() // [1, 1]
 */
export function solve(a: NDArray, b: NDArray): NDArray {
  const { A3, B3, outShape } = rhs('solve', floatMatrix(a, 'solve'), b);
  return reshape(make(Linalg, { kernel: 'solve', args: [] }, [A3, B3], B3.shape, A3.dtype), outShape);
}

/**
 * Solves a triangular system (lower by default).
 * @example kn.linalg.solveTriangular(kn.array([[1, 0], [1, 1]]), kn.array([1, 3])).tolist() // [1, 2]
 */
export function solveTriangular(a: NDArray, b: NDArray, opts: { upper?: boolean; unitDiagonal?: boolean } = {}): NDArray {
  const { A3, B3, outShape } = rhs('solveTriangular', floatMatrix(a, 'solveTriangular'), b);
  const args = [opts.upper ? 1 : 0, opts.unitDiagonal ? 1 : 0];
  return reshape(make(Linalg, { kernel: 'solve_triangular', args }, [A3, B3], B3.shape, A3.dtype), outShape);
}

/**
 * Reduced QR decomposition (R with a non-negative diagonal).
 * @example
 * const [q, r] = kn.linalg.qr(kn.array([[1, 2], [3, 4]]));
 * r // [[3.1623, 4.4272], [0, 0.6325]]
 * kn.matmul(q, r) // [[1, 2], [3, 4]]
 */
export function qr(a: NDArray): [NDArray, NDArray] {
  const x = floatMatrix(a, 'qr', false);
  const [m, n] = x.shape.slice(-2),
    k = Math.min(m, n),
    batch = x.shape.slice(0, -2);
  const x3 = as3(x),
    B = x3.shape[0];
  const [q, r] = multi(
    LinalgMulti,
    { kernel: 'qr' },
    [x3],
    [
      [B, m, k],
      [B, k, n],
    ],
    x.dtype,
  );
  return [reshape(q, [...batch, m, k]), reshape(r, [...batch, k, n])];
}

/** Determinant. @example kn.linalg.det(kn.array([[1, 2], [3, 4]])).item() // -2 (up to rounding) */
export function det(a: NDArray): NDArray {
  const x = floatMatrix(a, 'det');
  const x3 = as3(x);
  return reshape(make(Linalg, { kernel: 'det', args: [] }, [x3], [x3.shape[0], 1, 1], x.dtype), x.shape.slice(0, -2));
}

/**
 * Sign and natural log of |det| (stable for large or tiny determinants).
 * @example
 * const [sign, logabs] = kn.linalg.slogdet(kn.array([[2, 0], [0, 3]]));
 * [sign.item(), logabs.item()] // [1, 1.7918] (log 6)
 */
export function slogdet(a: NDArray): [NDArray, NDArray] {
  const x = floatMatrix(a, 'slogdet');
  const x3 = as3(x),
    batch = x.shape.slice(0, -2),
    B = x3.shape[0];
  const [sign, logabs] = multi(
    LinalgMulti,
    { kernel: 'slogdet' },
    [x3],
    [
      [B, 1, 1],
      [B, 1, 1],
    ],
    x.dtype,
  );
  return [reshape(sign, batch), reshape(logabs, batch)];
}

export interface NormOptions {
  ord?: number | 'fro' | 'nuc' | null;
  axis?: number | readonly number[] | null;
  keepdims?: boolean;
}

/**
 * Vector and matrix norms like numpy: vectors support ord = 2 (default), 1, Infinity, -Infinity,
 * 0 and any p; matrices (axis of length 2) support 'fro' (default), 'nuc', 2, -2 (largest and
 * smallest singular value), 1, -1, Infinity, -Infinity. Options may be passed as one object:
 * `norm(x, { axis: 1 })`.
 * @example kn.linalg.norm(kn.array([3, 4])).item() // 5
 * @example kn.linalg.norm(kn.array([[3, 4], [6, 8]]), { axis: 1 }).tolist() // [5, 10]
 * @example kn.linalg.norm(kn.array([[1, 2], [3, 4]]), 2).item() // 5.465
 */
export function norm(
  a: NDArray,
  ord?: number | 'fro' | 'nuc' | null | NormOptions,
  axis?: number | readonly number[] | null,
  opts: { keepdims?: boolean } = {},
): NDArray {
  if (ord !== null && typeof ord === 'object') {
    if (axis !== undefined) throw new TypeError('[norm] pass either ord, axis and options, or one options object');
    const o = ord;
    for (const k of Object.keys(o))
      if (k !== 'ord' && k !== 'axis' && k !== 'keepdims') throw new TypeError(`[norm] unknown option '${k}' (ord, axis, keepdims)`);
    return norm(a, o.ord, o.axis, { keepdims: o.keepdims });
  }
  let x = asArray(a, 'norm');
  x = astype(x, floatFor(x.dtype));
  const keepdims = opts.keepdims ?? false;
  let axes: number[];
  if (axis === undefined || axis === null) {
    if (ord === undefined || ord === null) return sqrt(sum(multiply(x, x), null, { keepdims }));
    axes = x.shape.map((_, i) => i);
    if (axes.length > 2) throw new Error(`[norm] ord ${fmtValue(ord)} needs an axis for an array of dimension ${x.ndim}`);
  } else axes = normalizeAxes(axis, x.ndim, 'norm');
  const o = ord ?? (axes.length === 2 ? 'fro' : 2);
  if (axes.length === 1) {
    const ax = axes[0];
    const ax1 = abs(x);
    if (o === 'fro' || o === 'nuc') throw new Error(`[norm] '${o}' is a matrix norm`);
    if (o === Infinity) return max(ax1, ax, { keepdims });
    if (o === -Infinity) return min(ax1, ax, { keepdims });
    if (o === 0) return sum(astype(notEqual(ax1, 0), x.dtype), ax, { keepdims });
    if (o === 1) return sum(ax1, ax, { keepdims });
    if (o === 2) return sqrt(sum(multiply(x, x), ax, { keepdims }));
    return power(sum(power(ax1, o), ax, { keepdims }), 1 / o);
  }
  if (axes.length !== 2) throw new Error(`[norm] axis must name 1 or 2 axes, got ${fmtValue(axis)}`);
  const [r, c] = axes;
  const keep = (v: NDArray, gone: number[]) => {
    if (!keepdims) return v;
    const shape = x.shape.map((d, i) => (gone.includes(i) ? 1 : d));
    return reshape(v, shape);
  };
  if (o === 'fro') return keep(sqrt(sum(multiply(x, x), [r, c])), [r, c]);
  if (o === 'nuc' || o === 2 || o === -2) return keep(spectralNorm(moveaxis(moveaxis(x, r, -1), c > r ? c - 1 : c, -1), o), [r, c]);
  const absx = abs(x);
  const colSums = () => sum(absx, r, { keepdims: true });
  const rowSums = () => sum(absx, c, { keepdims: true });
  let out: NDArray;
  if (o === 1) out = max(colSums(), c, { keepdims: true });
  else if (o === -1) out = min(colSums(), c, { keepdims: true });
  else if (o === Infinity) out = max(rowSums(), r, { keepdims: true });
  else if (o === -Infinity) out = min(rowSums(), r, { keepdims: true });
  else throw new Error(`[norm] matrix norm ord ${fmtValue(o)} is not supported (use 'fro', 'nuc', 2, -2, 1, -1, Infinity, -Infinity)`);
  return keepdims
    ? out
    : reshape(
        out,
        x.shape.filter((_, i) => i !== r && i !== c),
      );
}

/**
 * Cross product of 3-vectors (or 2-vectors, giving the z component) along `axis`.
 * @example kn.linalg.cross(kn.array([1, 0, 0]), kn.array([0, 1, 0])).tolist() // [0, 0, 1]
 */
export function cross(a: NDArray, b: NDArray, axis = -1): NDArray {
  let x = asArray(a, 'cross'),
    y = asArray(b, 'cross');
  const ax = normalizeAxis(axis, x.ndim, 'cross'),
    ay = normalizeAxis(axis, y.ndim, 'cross');
  x = moveaxis(x, ax, -1);
  y = moveaxis(y, ay, -1);
  const nx = x.shape[x.ndim - 1],
    ny = y.shape[y.ndim - 1];
  if ((nx !== 2 && nx !== 3) || (ny !== 2 && ny !== 3)) throw new Error(`[cross] vectors must have 2 or 3 components, got ${nx} and ${ny}`);
  const comp = (v: NDArray, i: number, n: number) => (i < n ? take(v, [i], -1).squeeze(-1) : null);
  const [x0, x1, x2] = [0, 1, 2].map((i) => comp(x, i, nx));
  const [y0, y1, y2] = [0, 1, 2].map((i) => comp(y, i, ny));
  const mul = (p: NDArray | null, q: NDArray | null) => (p && q ? multiply(p, q) : null);
  const sub = (p: NDArray | null, q: NDArray | null): NDArray => (p && q ? subtract(p, q) : (p ?? multiply(q!, -1)));
  if (nx === 2 && ny === 2) return sub(mul(x0, y1), mul(x1, y0));
  const out = stack([sub(mul(x1, y2), mul(x2, y1)), sub(mul(x2, y0), mul(x0, y2)), sub(mul(x0, y1), mul(x1, y0))], -1);
  return moveaxis(out, -1, Math.min(ax, out.ndim - 1));
}

export { eigh, eigvalsh, svd, pinv, matrixRank, lstsq, cond, matrixPower, multiDot } from './linalg_decomp.js';
export type { EighOptions, SvdOptions, LstsqResult } from './linalg_decomp.js';
export { eig, eigvals } from './linalg_eig.js';
