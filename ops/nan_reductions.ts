// Reductions that ignore NaNs (nansum, nanmean, nanvar, nanstd, nanmax, nanmin, nanargmax,
// nanargmin), numpy's weighted average and ptp. Written from where/sum/max; integer inputs have
// no NaNs and reduce as the plain ops do.
import type { NDArray } from '../core/array.js';
import { floatFor, isFloating, type DType } from '../core/dtype.js';
import { fmtShape, fmtValue, normalizeAxes, normalizeAxis } from '../core/shape.js';
import { asArray, checkOptions, type ArrayInput } from './convert.js';
import { astype, divide, equal, isnan, lessEqual, logicalAnd, logicalNot, multiply, subtract, where } from './elementwise.js';
import { all, any, argmax, argmin, max, mean, min, sum, type ReduceOptions } from './reduce.js';
import { broadcastTo, reshape } from './views.js';

type AxisArg<O> = number | readonly number[] | null | undefined | O;

function parse<O extends ReduceOptions>(axisOrOpts: AxisArg<O>, opts: O | undefined, op: string): O {
  checkOptions(opts, op, '{ keepdims: true }');
  if (axisOrOpts !== null && typeof axisOrOpts === 'object' && !Array.isArray(axisOrOpts)) {
    if (opts) throw new TypeError(`[${op}] pass either an axis and options, or one options object`);
    return axisOrOpts as O;
  }
  return { ...(opts ?? ({} as O)), axis: axisOrOpts as number | readonly number[] | null | undefined };
}

const isFloatX = (x: NDArray) => isFloating(x.dtype);

/**
 * Sum treating NaNs as zero.
 * @example kn.nansum(kn.array([1, NaN, 2])).item() // 3
 */
export function nansum(a: ArrayInput, axis?: AxisArg<ReduceOptions>, opts?: ReduceOptions): NDArray {
  const x = asArray(a, 'nansum');
  const o = parse(axis, opts, 'nansum');
  return sum(isFloatX(x) ? where(isnan(x), 0, x) : x, o.axis, { keepdims: o.keepdims });
}

function counts(x: NDArray, axes: number | readonly number[] | null | undefined, keepdims: boolean, dt: DType): NDArray {
  return astype(sum(logicalNot(isnan(x)), axes, { keepdims }), dt);
}

/**
 * Mean of the non-NaN elements (an all-NaN slice gives NaN). Integers compute in float32.
 * @example kn.nanmean(kn.array([[1, NaN], [3, 4]]), 0).tolist() // [2, 4]
 */
export function nanmean(a: ArrayInput, axis?: AxisArg<ReduceOptions>, opts?: ReduceOptions): NDArray {
  const x = asArray(a, 'nanmean');
  const o = parse(axis, opts, 'nanmean');
  if (!isFloatX(x)) return mean(x, o.axis, { keepdims: o.keepdims });
  const acc: DType = x.dtype === 'float64' ? 'float64' : 'float32';
  const xf = astype(x, acc);
  const s = sum(where(isnan(xf), 0, xf), o.axis, { keepdims: o.keepdims });
  return astype(divide(s, counts(xf, o.axis, o.keepdims ?? false, acc)), x.dtype);
}

export interface NanVarOptions extends ReduceOptions {
  /** delta degrees of freedom: the divisor is (non-NaN count) - ddof */
  ddof?: number;
}

/**
 * Variance of the non-NaN elements, divisor count - ddof.
 * @example kn.nanvar(kn.array([1, NaN, 3])).item() // 1
 */
export function nanvar(a: ArrayInput, axis?: AxisArg<NanVarOptions>, opts?: NanVarOptions): NDArray {
  return nanVariance(a, axis, opts, 'nanvar');
}

/**
 * Standard deviation of the non-NaN elements (sqrt of nanvar, same options).
 * @example kn.nanstd(kn.array([1, NaN, 3])).item() // 1
 */
export function nanstd(a: ArrayInput, axis?: AxisArg<NanVarOptions>, opts?: NanVarOptions): NDArray {
  return nanVariance(a, axis, opts, 'nanstd').sqrt();
}

function nanVariance(a: ArrayInput, axis: AxisArg<NanVarOptions>, opts: NanVarOptions | undefined, op: string): NDArray {
  const x = asArray(a, op);
  const o = parse(axis, opts, op);
  const ddof = o.ddof ?? 0;
  if (typeof ddof !== 'number' || !Number.isFinite(ddof)) throw new TypeError(`[${op}] ddof must be a finite number, got ${fmtValue(ddof)}`);
  const out = floatFor(x.dtype);
  const acc: DType = out === 'float64' ? 'float64' : 'float32';
  const xf = astype(x, acc);
  const bad = isnan(xf);
  const cnt = counts(xf, o.axis, true, acc);
  const m = divide(sum(where(bad, 0, xf), o.axis, { keepdims: true }), cnt);
  const d = where(bad, 0, subtract(xf, m));
  const ss = sum(multiply(d, d), o.axis, { keepdims: o.keepdims ?? false });
  const c = o.keepdims ? cnt : reshape(cnt, ss.shape);
  // count - ddof <= 0 gives NaN, as numpy (with a warning there)
  const dof = subtract(c, ddof);
  return astype(where(lessEqual(dof, 0), NaN, divide(ss, dof)), out);
}

function nanExtreme(a: ArrayInput, axis: AxisArg<ReduceOptions>, opts: ReduceOptions | undefined, op: 'nanmax' | 'nanmin'): NDArray {
  const x = asArray(a, op);
  const o = parse(axis, opts, op);
  const red = op === 'nanmax' ? max : min;
  if (!isFloatX(x)) return red(x, o.axis, { keepdims: o.keepdims });
  const bad = isnan(x);
  const m = red(where(bad, op === 'nanmax' ? -Infinity : Infinity, x), o.axis, { keepdims: o.keepdims });
  return where(all(bad, o.axis, { keepdims: o.keepdims }), NaN, m);
}

/**
 * Maximum ignoring NaNs (an all-NaN slice gives NaN).
 * @example kn.nanmax(kn.array([1, NaN, 3])).item() // 3
 */
export function nanmax(a: ArrayInput, axis?: AxisArg<ReduceOptions>, opts?: ReduceOptions): NDArray {
  return nanExtreme(a, axis, opts, 'nanmax');
}

/**
 * Minimum ignoring NaNs (an all-NaN slice gives NaN).
 * @example kn.nanmin(kn.array([NaN, 2, 3])).item() // 2
 */
export function nanmin(a: ArrayInput, axis?: AxisArg<ReduceOptions>, opts?: ReduceOptions): NDArray {
  return nanExtreme(a, axis, opts, 'nanmin');
}

function nanArg(a: ArrayInput, axis: number | null | undefined, opts: { keepdims?: boolean }, op: 'nanargmax' | 'nanargmin'): NDArray {
  const x = asArray(a, op);
  const ax = axis === null || axis === undefined ? null : normalizeAxis(axis, x.ndim, op);
  const flat = ax === null ? reshape(x, [x.size]) : x;
  const dim = ax === null ? 0 : ax;
  if (flat.shape[dim] === 0) throw new Error(`[${op}] attempt to get ${op.slice(3)} of an empty sequence (shape ${fmtShape(x.shape)})`);
  if (!isFloatX(x)) return (op === 'nanargmax' ? argmax : argmin)(flat, dim, opts);
  const bad = isnan(flat);
  // numpy raises on an all-NaN slice: that needs the data (a synchronisation point)
  if (any(all(bad, dim)).item()) throw new Error(`[${op}] All-NaN slice encountered`);
  // as numpy: NaNs become -inf (+inf for nanargmin), then the plain argmax/argmin
  const filled = where(bad, op === 'nanargmax' ? -Infinity : Infinity, flat);
  return op === 'nanargmax' ? argmax(filled, dim, opts) : argmin(filled, dim, opts);
}

/**
 * Index of the maximum ignoring NaNs (flattened when axis is null). An all-NaN slice raises, as
 * numpy does, so this evaluates the NaN mask (a synchronisation point) for float inputs.
 * @example kn.nanargmax(kn.array([NaN, 3, 1])).item() // 1
 */
export function nanargmax(a: ArrayInput, axis: number | null = null, opts: { keepdims?: boolean } = {}): NDArray {
  return nanArg(a, axis, opts, 'nanargmax');
}

/**
 * Index of the minimum ignoring NaNs; see nanargmax.
 * @example kn.nanargmin(kn.array([NaN, 3, 1])).item() // 2
 */
export function nanargmin(a: ArrayInput, axis: number | null = null, opts: { keepdims?: boolean } = {}): NDArray {
  return nanArg(a, axis, opts, 'nanargmin');
}

export interface AverageOptions {
  /** weights of a's shape, or 1-d along a single axis */
  weights?: ArrayInput;
  keepdims?: boolean;
}

/**
 * Weighted average over `axis` (all axes by default): sum(a·w) / sum(w) (numpy's average). With
 * weights, a zero weight sum raises; checking it evaluates the weight sums.
 * @example kn.average(kn.array([1, 2, 3, 4]), null, { weights: [4, 3, 2, 1] }).item() // 2
 * @example kn.average(kn.array([[1, 2], [3, 4]]), 1).tolist() // [1.5, 3.5]
 */
export function average(a: ArrayInput, axis: number | readonly number[] | null = null, opts: AverageOptions = {}): NDArray {
  const op = 'average';
  checkOptions(opts, op, '{ weights: [1, 2, 3] }');
  const x = asArray(a, op);
  const keepdims = opts.keepdims ?? false;
  if (opts.weights === undefined) return mean(x, axis, { keepdims });
  let w = asArray(opts.weights, op);
  const axes = normalizeAxes(axis, x.ndim, op);
  if (w.ndim !== x.ndim || w.shape.some((d, i) => d !== x.shape[i])) {
    if (axes.length !== 1 || w.ndim !== 1)
      throw new TypeError(`[${op}] weights of shape ${fmtShape(w.shape)} differ from a's shape ${fmtShape(x.shape)}: give one axis and 1-d weights`);
    if (w.shape[0] !== x.shape[axes[0]])
      throw new Error(`[${op}] length of weights (${w.shape[0]}) differs from the length of axis ${axes[0]} (${x.shape[axes[0]]})`);
    w = broadcastTo(
      reshape(
        w,
        x.shape.map((d, i) => (i === axes[0] ? d : 1)),
      ),
      x.shape,
    );
  }
  const dt = floatFor(x.dtype) === 'float64' || w.dtype === 'float64' ? 'float64' : floatFor(x.dtype);
  const xf = astype(x, dt),
    wf = astype(w, dt);
  const sw = sum(wf, axes, { keepdims });
  if (any(equal(sw, 0)).item()) throw new Error(`[${op}] weights sum to zero, can't be normalized`);
  return divide(sum(multiply(xf, wf), axes, { keepdims }), sw);
}

/**
 * Range of values (max - min) over axes (numpy's ptp; integers keep their dtype).
 * @example kn.ptp(kn.array([[4, 9], [2, 3]]), 1).tolist() // [5, 1]
 */
export function ptp(a: ArrayInput, axis?: AxisArg<ReduceOptions>, opts?: ReduceOptions): NDArray {
  const x = asArray(a, 'ptp');
  const o = parse(axis, opts, 'ptp');
  return subtract(max(x, o.axis, { keepdims: o.keepdims }), min(x, o.axis, { keepdims: o.keepdims }));
}
