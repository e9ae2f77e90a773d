// numpy's classic polynomial helpers, coefficients highest power first: polyval (Horner),
// polyfit (least squares on the column-scaled Vandermonde matrix, as numpy) and roots
// (eigenvalues of the companion matrix).
import type { NDArray } from '../core/array.js';
import { isFloating, type DType } from '../core/dtype.js';
import { fmtShape, fmtValue } from '../core/shape.js';
import { asArray, checkOptions, type ArrayInput } from './convert.js';
import { add, astype, divide, multiply, sqrt } from './elementwise.js';
import { finfo } from './dtype_info.js';
import { lstsq } from './linalg_decomp.js';
import { sum } from './reduce.js';
import { stack } from './shape.js';
import { reshape } from './views.js';
import { full } from './creation.js';

/**
 * Evaluates the polynomial p[0]·x^(n-1) + ... + p[n-1] at x (Horner's scheme, numpy's polyval).
 * @example kn.polyval([3, 0, 1], kn.array([5, 1])).tolist() // [76, 4]
 */
export function polyval(p: ArrayInput, x: ArrayInput): NDArray {
  const op = 'polyval';
  const pa = asArray(p, op),
    xa = asArray(x, op);
  if (pa.ndim !== 1) throw new Error(`[${op}] p must be 1-d, got shape ${fmtShape(pa.shape)}`);
  let y: NDArray = multiply(xa, 0);
  const n = pa.size;
  for (let i = 0; i < n; i++) y = add(multiply(y, xa), pa.index(i));
  return y;
}

/**
 * Least-squares polynomial fit of degree `deg` (numpy's polyfit): coefficients highest power
 * first. y may be 2-d (one fit per column); `w` weights the residuals. Computed in float64 unless
 * the inputs are float32 (then float32).
 * @example kn.polyfit(kn.array([0, 1, 2, 3]), kn.array([1, 3, 5, 7]), 1).tolist() // [2, 1]
 */
export function polyfit(x: ArrayInput, y: ArrayInput, deg: number, opts: { w?: ArrayInput; rcond?: number } = {}): NDArray {
  const op = 'polyfit';
  checkOptions(opts, op, '{ w: weights }');
  if (!Number.isInteger(deg) || deg < 0) throw new RangeError(`[${op}] deg must be a non-negative integer, got ${fmtValue(deg)}`);
  const xa = asArray(x, op),
    ya = asArray(y, op);
  if (xa.ndim !== 1) throw new TypeError(`[${op}] expected 1-d x, got shape ${fmtShape(xa.shape)}`);
  if (xa.size === 0) throw new TypeError(`[${op}] expected a non-empty vector for x`);
  if (ya.ndim < 1 || ya.ndim > 2) throw new TypeError(`[${op}] expected 1-d or 2-d y, got shape ${fmtShape(ya.shape)}`);
  if (ya.shape[0] !== xa.size) throw new TypeError(`[${op}] expected x and y to have the same length, got ${xa.size} and ${ya.shape[0]}`);
  const dt: DType = xa.dtype === 'float32' && (ya.dtype === 'float32' || !isFloating(ya.dtype)) ? 'float32' : 'float64';
  const xf = astype(xa, dt);
  const order = deg + 1;
  const cols: NDArray[] = [];
  let pw: NDArray = full([xa.size], 1, dt);
  for (let k = 0; k < order; k++) {
    cols.unshift(pw);
    if (k + 1 < order) pw = multiply(pw, xf);
  }
  let lhs = stack(cols, 1);
  let rhs = astype(ya, dt);
  if (opts.w !== undefined) {
    const w = astype(asArray(opts.w, op), dt);
    if (w.ndim !== 1 || w.size !== xa.size) throw new TypeError(`[${op}] expected w of shape [${xa.size}], got ${fmtShape(w.shape)}`);
    lhs = multiply(lhs, reshape(w, [xa.size, 1]));
    rhs = multiply(rhs, rhs.ndim === 2 ? reshape(w, [xa.size, 1]) : w);
  }
  // numpy scales each column to unit norm first (conditioning)
  const scale = sqrt(sum(multiply(lhs, lhs), 0));
  const rcond = opts.rcond ?? xa.size * finfo(dt).eps;
  const { x: c } = lstsq(divide(lhs, scale), rhs, { rcond });
  return divide(c, rhs.ndim === 2 ? reshape(scale, [order, 1]) : scale);
}
export { roots } from './linalg_eig.js';
