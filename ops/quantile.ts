// quantile / percentile with numpy's 13 methods, and the NaN-ignoring nanquantile, nanpercentile
// and nanmedian: sort the reduced axes (moved last and merged), find each q's virtual index
// from the slice's count (the non-NaN count for the nan* forms) and interpolate as numpy does.
import type { NDArray } from '../core/array.js';
import { floatFor } from '../core/dtype.js';
import { fmtShape, fmtValue, normalizeAxes, sizeOf } from '../core/shape.js';
import { asArray } from './convert.js';
import {
  add,
  astype,
  ceil,
  equal,
  floor,
  greaterEqual,
  isnan,
  less,
  logicalAnd,
  logicalNot,
  maximum,
  minimum,
  multiply,
  remainder,
  round,
  subtract,
  where,
} from './elementwise.js';
import { full } from './creation.js';
import { sum } from './reduce.js';
import { sort } from './sort.js';
import { stack } from './shape.js';
import { takeAlongAxis } from './take_scatter.js';
import { reshape, transpose } from './views.js';

export type QuantileMethod =
  | 'inverted_cdf'
  | 'averaged_inverted_cdf'
  | 'closest_observation'
  | 'interpolated_inverted_cdf'
  | 'hazen'
  | 'weibull'
  | 'linear'
  | 'median_unbiased'
  | 'normal_unbiased'
  | 'lower'
  | 'higher'
  | 'midpoint'
  | 'nearest';

const METHODS: readonly QuantileMethod[] = [
  'inverted_cdf',
  'averaged_inverted_cdf',
  'closest_observation',
  'interpolated_inverted_cdf',
  'hazen',
  'weibull',
  'linear',
  'median_unbiased',
  'normal_unbiased',
  'lower',
  'higher',
  'midpoint',
  'nearest',
];

export interface QuantileOptions {
  axis?: number | readonly number[] | null;
  keepdims?: boolean;
  /** numpy's estimation method (default 'linear') */
  method?: QuantileMethod;
}

/** H&F virtual index n·q + (α + q(1 - α - β)) - 1 */
const hf = (n: NDArray, q: number, alpha: number, beta: number) => subtract(add(multiply(n, q), alpha + q * (1 - alpha - beta)), 1);

/** numpy's discrete rule: floor(index) where cond(gamma, index), else floor + 1, never below 0 */
function discrete(index: NDArray, cond: (gamma: NDArray, index: NDArray) => NDArray): NDArray {
  const prev = floor(index);
  const gamma = subtract(index, prev);
  return maximum(where(cond(gamma, index), prev, add(prev, 1)), 0);
}

/** index (integer methods) or [virtual index, fixed gamma] for one q given the slice counts n */
function virtual(method: QuantileMethod, n: NDArray, q: number): { idx?: NDArray; v?: NDArray; gamma?: (g: NDArray, v: NDArray) => NDArray } {
  const nm1q = multiply(subtract(n, 1), q);
  switch (method) {
    case 'inverted_cdf':
      return { idx: discrete(subtract(multiply(n, q), 1), (g) => equal(g, 0)) };
    case 'closest_observation':
      return { idx: discrete(subtract(multiply(n, q), 1.5), (g, i) => logicalAnd(equal(g, 0), equal(remainder(floor(i), 2), 1))) };
    case 'lower':
      return { idx: floor(nm1q) };
    case 'higher':
      return { idx: ceil(nm1q) };
    case 'nearest':
      return { idx: round(nm1q) }; // half to even, as np.around
    case 'averaged_inverted_cdf':
      return { v: subtract(multiply(n, q), 1), gamma: (g) => where(equal(g, 0), 0.5, 1) };
    case 'midpoint':
      return { v: multiply(add(floor(nm1q), ceil(nm1q)), 0.5), gamma: (_, v) => where(equal(remainder(v, 1), 0), 0, 0.5) };
    case 'interpolated_inverted_cdf':
      return { v: hf(n, q, 0, 1) };
    case 'hazen':
      return { v: hf(n, q, 0.5, 0.5) };
    case 'weibull':
      return { v: hf(n, q, 0, 0) };
    case 'median_unbiased':
      return { v: hf(n, q, 1 / 3, 1 / 3) };
    case 'normal_unbiased':
      return { v: hf(n, q, 3 / 8, 3 / 8) };
    default:
      return { v: nm1q };
  }
}

/** numpy's _lerp: a + (b - a)·t, or b - (b - a)·(1 - t) when t >= 0.5 (exact at both ends) */
function lerp(a: NDArray, b: NDArray, t: NDArray): NDArray {
  const d = subtract(b, a);
  return where(greaterEqual(t, 0.5), subtract(b, multiply(d, subtract(1, t))), add(a, multiply(d, t)));
}

function qList(q: number | readonly number[] | NDArray, op: string, scale: number): { qs: number[]; scalar: boolean } {
  let raw: number[], scalar: boolean;
  if (typeof q === 'number') {
    raw = [q];
    scalar = true;
  } else if (Array.isArray(q)) {
    raw = q.slice() as number[];
    scalar = false;
  } else {
    const qa = asArray(q, op);
    if (qa.ndim > 1) throw new Error(`[${op}] q must be a scalar or 1-d, got shape ${fmtShape(qa.shape)}`);
    raw = qa.tolist() as number[] | number as number[];
    scalar = qa.ndim === 0;
    if (scalar) raw = [raw as unknown as number];
  }
  for (const v of raw)
    if (typeof v !== 'number' || !(v >= 0 && v <= scale))
      throw new RangeError(`[${op}] ${scale === 100 ? 'percentiles' : 'quantiles'} must be in the range [0, ${scale}], got ${fmtValue(v)}`);
  return { qs: raw.map((v) => v / scale), scalar };
}

function quantileCore(a: NDArray, q: number | readonly number[] | NDArray, opts: QuantileOptions, op: string, scale: number, ignoreNan: boolean): NDArray {
  const x0 = asArray(a, op);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`[${op}] options must be an object such as { axis: 0 }, got ${fmtValue(opts)}`);
  const method = opts.method ?? 'linear';
  if (!METHODS.includes(method)) throw new TypeError(`[${op}] method must be one of ${METHODS.join(', ')}, got ${fmtValue(method)}`);
  const { qs, scalar } = qList(q, op, scale);
  const x = astype(x0, floatFor(x0.dtype));
  const axes = normalizeAxes(opts.axis, x.ndim, op);
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const N = sizeOf(axes.map((i) => x.shape[i]));
  if (N === 0) throw new Error(`[${op}] cannot take a quantile over an empty axis of an array of shape ${fmtShape(x.shape)}`);
  const rows = reshape(transpose(x, [...kept, ...axes]), [...kept.map((i) => x.shape[i]), N]);
  const s = sort(rows, -1); // NaNs last
  const idxType = 'float64';
  const n = ignoreNan ? astype(sum(logicalNot(isnan(s)), -1, { keepdims: true }), idxType) : full([...rows.shape.slice(0, -1), 1], N, idxType);
  const at = (i: NDArray) => takeAlongAxis(s, astype(maximum(minimum(i, subtract(n, 1)), 0), 'int32'), -1);
  const outs = qs.map((qv) => {
    const r = virtual(method, n, qv);
    if (r.idx) return at(r.idx);
    const v = r.v!;
    const prev0 = floor(v);
    const below = less(v, 0),
      above = greaterEqual(v, subtract(n, 1));
    const prev = where(below, 0, where(above, subtract(n, 1), prev0));
    const next = where(below, 0, where(above, subtract(n, 1), add(prev0, 1)));
    const g0 = subtract(v, prev);
    const g = r.gamma ? r.gamma(g0, v) : g0;
    return lerp(at(prev), at(next), astype(g, s.dtype));
  });
  let res = outs.length === 1 && scalar ? outs[0] : stack(outs, 0);
  // a NaN in a slice gives NaN (nan* forms: an all-NaN slice)
  const nanRow = ignoreNan ? equal(n, 0) : isnan(takeAlongAxis(s, full([...rows.shape.slice(0, -1), 1], N - 1, 'int32'), -1));
  res = where(nanRow, NaN, res);
  const lead = scalar ? [] : [qs.length];
  const outShape = opts.keepdims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept.map((i) => x.shape[i]);
  return reshape(res, [...lead, ...outShape]);
}

/**
 * The q-th quantiles (q in [0, 1], a number or a list) over `axis` (all axes by default), with
 * numpy's `method`s (default 'linear'). A list of q puts a leading axis on the result. A NaN in
 * a slice gives NaN. Integers compute in float32.
 * @example kn.quantile(kn.array([1, 2, 3, 4]), 0.5).item() // 2.5
 * @example kn.quantile(kn.array([1, 2, 3, 4]), [0.25, 0.75], { method: 'lower' }).tolist() // [1, 3]
 */
export function quantile(a: NDArray, q: number | readonly number[] | NDArray, opts: QuantileOptions = {}): NDArray {
  return quantileCore(a, q, opts, 'quantile', 1, false);
}

/**
 * The q-th percentiles (q in [0, 100]); otherwise as `quantile`.
 * @example kn.percentile(kn.array([[10, 7, 4], [3, 2, 1]]), 50, { axis: 1 }).tolist() // [7, 2]
 */
export function percentile(a: NDArray, q: number | readonly number[] | NDArray, opts: QuantileOptions = {}): NDArray {
  return quantileCore(a, q, opts, 'percentile', 100, false);
}

/**
 * `quantile` ignoring NaNs (an all-NaN slice gives NaN).
 * @example kn.nanquantile(kn.array([1, NaN, 3]), 0.5).item() // 2
 */
export function nanquantile(a: NDArray, q: number | readonly number[] | NDArray, opts: QuantileOptions = {}): NDArray {
  return quantileCore(a, q, opts, 'nanquantile', 1, true);
}

/**
 * `percentile` ignoring NaNs.
 * @example kn.nanpercentile(kn.array([1, NaN, 3, 5]), 50).item() // 3
 */
export function nanpercentile(a: NDArray, q: number | readonly number[] | NDArray, opts: QuantileOptions = {}): NDArray {
  return quantileCore(a, q, opts, 'nanpercentile', 100, true);
}

/**
 * Median ignoring NaNs (an all-NaN slice gives NaN).
 * @example kn.nanmedian(kn.array([[1, NaN], [3, 4]]), 0).tolist() // [2, 4]
 */
export function nanmedian(a: NDArray, axis?: number | readonly number[] | null, opts: { keepdims?: boolean } = {}): NDArray {
  return quantileCore(a, 0.5, { axis, keepdims: opts.keepdims }, 'nanmedian', 1, true);
}
