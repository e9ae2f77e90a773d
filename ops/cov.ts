// Covariance and correlation matrices (numpy's cov and corrcoef), from matmul over the centred
// observations. Integers compute in float32, float64 stays float64.
import type { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import { fmtShape, fmtValue } from '../core/shape.js';
import { asArray, checkOptions, type ArrayInput } from './convert.js';
import { astype, divide, multiply, sqrt, subtract } from './elementwise.js';
import { clip } from './clip_compare.js';
import { diagonal } from './grids_diagonals.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';
import { concatenate, atleast2d } from './shape.js';
import { reshape, swapaxes } from './views.js';

export interface CovOptions {
  /** each row is a variable and each column an observation (default true) */
  rowvar?: boolean;
  /** normalise by N (true) instead of N - 1 */
  bias?: boolean;
  /** overrides bias: the divisor is N - ddof */
  ddof?: number;
  /** integer frequency weights per observation */
  fweights?: ArrayInput;
  /** observation weights */
  aweights?: ArrayInput;
}

function observations(m: ArrayInput, y: ArrayInput | null | undefined, rowvar: boolean, op: string): { X: NDArray; dt: DType } {
  const a = asArray(m, op);
  if (a.ndim > 2) throw new Error(`[${op}] m has more than 2 dimensions: shape ${fmtShape(a.shape)}`);
  let dt: DType = a.dtype === 'float64' ? 'float64' : 'float32';
  let X = atleast2d(astype(a, dt));
  if (!rowvar && X.shape[0] !== 1) X = swapaxes(X, 0, 1);
  if (y !== undefined && y !== null) {
    const b = asArray(y, op);
    if (b.ndim > 2) throw new Error(`[${op}] y has more than 2 dimensions: shape ${fmtShape(b.shape)}`);
    if (b.dtype === 'float64') dt = 'float64';
    let Y = atleast2d(astype(b, dt));
    if (!rowvar && Y.shape[0] !== 1) Y = swapaxes(Y, 0, 1);
    if (Y.shape[1] !== X.shape[1]) throw new Error(`[${op}] m and y have different numbers of observations: ${X.shape[1]} and ${Y.shape[1]}`);
    X = concatenate([astype(X, dt), Y], 0);
  }
  return { X: astype(X, dt), dt };
}

function weightVector(w: ArrayInput | undefined, n: number, name: string, op: string, integer: boolean): NDArray | null {
  if (w === undefined) return null;
  const a = asArray(w, op);
  if (a.ndim !== 1 || a.size !== n) throw new Error(`[${op}] ${name} must be 1-d with one weight per observation (${n}), got shape ${fmtShape(a.shape)}`);
  const h = Array.from(a.toTypedArray() as ArrayLike<number>, Number);
  if (integer && !h.every(Number.isInteger)) throw new TypeError(`[${op}] ${name} must be integers, got ${fmtValue(h)}`);
  if (h.some((v) => v < 0)) throw new RangeError(`[${op}] ${name} cannot be negative, got ${fmtValue(h)}`);
  return a;
}

/**
 * Covariance matrix of variables (rows of m, plus those of y), numpy's cov: divisor N - 1 unless
 * `bias` or `ddof`; optional fweights / aweights. A single variable gives a 0-d result.
 * @example kn.cov(kn.array([[0, 1, 2], [2, 1, 0]])).tolist() // [[1, -1], [-1, 1]]
 */
export function cov(m: ArrayInput, y?: ArrayInput | null, opts: CovOptions = {}): NDArray {
  const op = 'cov';
  checkOptions(opts, op, '{ rowvar: false }');
  if (opts.ddof !== undefined && !Number.isInteger(opts.ddof)) throw new TypeError(`[${op}] ddof must be an integer, got ${fmtValue(opts.ddof)}`);
  const { X, dt } = observations(m, y, opts.rowvar ?? true, op);
  const n = X.shape[1];
  const fw = weightVector(opts.fweights, n, 'fweights', op, true),
    aw = weightVector(opts.aweights, n, 'aweights', op, false);
  let w: NDArray | null = null;
  if (fw) w = astype(fw, dt);
  if (aw) w = w ? multiply(w, astype(aw, dt)) : astype(aw, dt);
  const ddof = opts.ddof ?? (opts.bias ? 0 : 1);
  let Xc: NDArray, fact: NDArray | number;
  if (w) {
    const v1 = sum(w);
    const avg = divide(sum(multiply(X, w), 1, { keepdims: true }), v1);
    Xc = subtract(X, avg);
    fact = aw ? subtract(v1, divide(multiply(sum(multiply(w, astype(aw, dt))), ddof), v1)) : subtract(v1, ddof);
    const c = divide(matmul(Xc, swapaxes(multiply(Xc, w), 0, 1)), fact);
    return X.shape[0] === 1 ? reshape(c, []) : c;
  }
  Xc = subtract(X, divide(sum(X, 1, { keepdims: true }), n));
  fact = n - ddof;
  const c = divide(matmul(Xc, swapaxes(Xc, 0, 1)), fact <= 0 ? 0 : fact);
  return X.shape[0] === 1 ? reshape(c, []) : c;
}

/**
 * Pearson correlation coefficients (numpy's corrcoef): cov / sqrt(var_i var_j), clipped to [-1, 1].
 * @example kn.corrcoef(kn.array([[1, 2, 3], [2, 4, 7]])).tolist() // [[1, 0.9934], [0.9934, 1]]
 */
export function corrcoef(x: ArrayInput, y?: ArrayInput | null, opts: { rowvar?: boolean } = {}): NDArray {
  const c = cov(x, y, { rowvar: opts.rowvar });
  if (c.ndim === 0) return divide(c, c);
  const d = sqrt(diagonal(c));
  const r = divide(divide(c, reshape(d, [d.size, 1])), reshape(d, [1, d.size]));
  return clip(r, -1, 1);
}
