// median: sort along the reduced axes (moved last and merged), then average the middle pair.
import type { NDArray } from '../core/array.js';
import { floatFor } from '../core/dtype.js';
import { fmtShape, normalizeAxes, sizeOf } from '../core/shape.js';
import { asArray } from './convert.js';
import { add, astype, divide, isnan, where } from './elementwise.js';
import { take } from './take_scatter.js';
import { sort } from './sort.js';
import { reshape, transpose } from './views.js';

/**
 * Median over `axis` (all axes when omitted); NaN in a slice gives NaN (numpy). Integers
 * compute in float32.
 * @example kn.median(kn.array([3, 1, 4, 2])).item() // 2.5
 * @example kn.median(kn.array([[1, 5], [3, 2]]), 0, { keepdims: true }).tolist() // [[2, 3.5]]
 */
export function median(a: NDArray, axis?: number | readonly number[] | null, opts: { keepdims?: boolean } = {}): NDArray {
  const x0 = asArray(a, 'median');
  const x = astype(x0, floatFor(x0.dtype));
  const axes = normalizeAxes(axis, x.ndim, 'median');
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const n = sizeOf(axes.map((i) => x.shape[i]));
  if (n === 0) throw new Error(`[median] cannot take the median of an empty axis of an array of shape ${fmtShape(x.shape)}`);
  const rows = reshape(transpose(x, [...kept, ...axes]), [...kept.map((i) => x.shape[i]), n]);
  const s = sort(rows, -1);
  const pick = (i: number) => take(s, [i], -1);
  const mid = n % 2 ? pick((n - 1) / 2) : divide(add(pick(n / 2 - 1), pick(n / 2)), 2);
  const last = pick(n - 1); // NaNs sort last: one NaN in the slice makes the median NaN
  const m = where(isnan(last), last, mid);
  const outShape = opts.keepdims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept.map((i) => x.shape[i]);
  return reshape(m, outShape);
}
