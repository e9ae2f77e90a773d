// Composite reductions: var, std, logsumexp, softmax, logSoftmax, countNonzero, trace.
// Written from sum/max/exp/log (no new primitive); the exponential ones subtract the maximum first.
import type { NDArray } from '../core/array.js';
import { floatFor, type DType } from '../core/dtype.js';
import { fmtValue, normalizeAxes } from '../core/shape.js';
import { asArray, checkOptions } from './convert.js';
import { full } from './creation.js';
import { diagonal } from './grids_diagonals.js';
import { add, astype, divide, exp, isfinite, log, multiply, sqrt, subtract, where } from './elementwise.js';
import { max, mean, sum, type ReduceOptions } from './reduce.js';
import { reshape } from './views.js';

type AxisArg<O> = number | readonly number[] | null | undefined | O;

function parse<O extends ReduceOptions>(axisOrOpts: AxisArg<O>, opts: O | undefined, op: string): O {
  checkOptions(opts, op, '{ keepdims: true }');
  let o: O;
  if (axisOrOpts !== null && typeof axisOrOpts === 'object' && !Array.isArray(axisOrOpts)) {
    if (opts) throw new TypeError(`[${op}] pass either an axis and options, or one options object`);
    o = axisOrOpts as O;
  } else o = { ...(opts ?? ({} as O)), axis: axisOrOpts as number | readonly number[] | null | undefined };
  if (o.keepdims !== undefined && typeof o.keepdims !== 'boolean') throw new TypeError(`[${op}] keepdims must be a boolean, got ${fmtValue(o.keepdims)}`);
  return o;
}

/** dtype the float reductions compute in, and the dtype they return (like mean). */
function floatTypes(d: DType): { acc: DType; out: DType } {
  const out = floatFor(d);
  return { acc: out === 'float64' ? 'float64' : 'float32', out };
}

export interface VarOptions extends ReduceOptions {
  /** delta degrees of freedom: the divisor is N - ddof (default 0) */
  ddof?: number;
}

function variance(a: NDArray, axis?: AxisArg<VarOptions>, opts?: VarOptions, op = 'var'): NDArray {
  const x = asArray(a, op);
  const o = parse(axis, opts, op);
  const axes = normalizeAxes(o.axis, x.ndim, op);
  const ddof = o.ddof ?? 0;
  if (typeof ddof !== 'number' || !Number.isFinite(ddof)) throw new TypeError(`[${op}] ddof must be a finite number, got ${fmtValue(ddof)}`);
  const { acc, out } = floatTypes(x.dtype);
  const xf = astype(x, acc);
  const n = axes.reduce((p, i) => p * x.shape[i], 1);
  // two passes (mean, then squared deviations): no cancellation as in E[x²] - E[x]²
  const d = subtract(xf, mean(xf, axes, { keepdims: true }));
  const ss = sum(multiply(d, d), axes, { keepdims: o.keepdims ?? false });
  return astype(divide(ss, Math.max(n - ddof, 0)), out);
}

/**
 * Variance over axes (all when omitted), sum((x - mean)²) / (N - ddof); integers compute in
 * float32, float16/bfloat16 accumulate in float32. N - ddof <= 0 gives inf or NaN, as numpy.
 * Exported as `kn.var` (declared as `varOp` because `var` is a keyword).
 * @example kn.var(kn.array([1, 2, 3, 4])).item() // 1.25
 * @example kn.var(kn.array([[1, 2], [3, 5]]), 1, { ddof: 1, keepdims: true }).tolist() // [[0.5], [2]]
 */
function varOp(a: NDArray, axis?: AxisArg<VarOptions>, opts?: VarOptions): NDArray {
  return variance(a, axis, opts, 'var');
}

/**
 * Standard deviation: sqrt(var) with the same axis, keepdims and ddof options.
 * @example kn.std(kn.array([1, 2, 3, 4])).item() // 1.118
 */
export function std(a: NDArray, axis?: AxisArg<VarOptions>, opts?: VarOptions): NDArray {
  return sqrt(variance(a, axis, opts, 'std'));
}

/** max over axes with keepdims, where infinite maxima are replaced by 0 (so x - m never gives inf - inf). */
function safeMax(x: NDArray, axes: number[]): NDArray {
  const m = max(x, axes, { keepdims: true });
  return where(isfinite(m), m, 0);
}

/**
 * log(sum(exp(a))) over axes, computed stably by factoring out the maximum; integers compute in
 * float32. All -inf gives -inf, an empty reduction gives -inf.
 * @example kn.logsumexp(kn.array([1000, 1000])).item() // 1000.6932
 * @example kn.logsumexp(kn.array([[0, 0], [1, 1]]), 1, { keepdims: true }).shape // [2, 1]
 */
export function logsumexp(a: NDArray, axis?: AxisArg<ReduceOptions>, opts?: ReduceOptions): NDArray {
  const x0 = asArray(a, 'logsumexp');
  const o = parse(axis, opts, 'logsumexp');
  const axes = normalizeAxes(o.axis, x0.ndim, 'logsumexp');
  const x = astype(x0, floatFor(x0.dtype));
  const keepdims = o.keepdims ?? false;
  if (axes.some((i) => x.shape[i] === 0)) {
    const shape = keepdims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    return full(shape, -Infinity, x.dtype);
  }
  const m = safeMax(x, axes);
  const s = log(sum(exp(subtract(x, m)), axes, { keepdims: true }));
  const out = add(s, m);
  return keepdims
    ? out
    : reshape(
        out,
        x.shape.filter((_, i) => !axes.includes(i)),
      );
}

function softmaxAxes(x: NDArray, axis: number | readonly number[] | null | undefined, op: string): number[] {
  return normalizeAxes(axis, x.ndim, op);
}

/**
 * exp(a) / sum(exp(a)) over `axis` (all axes when omitted, as MLX's softmax), computed after
 * subtracting the maximum so large logits do not overflow; integers compute in float32.
 * @example kn.softmax(kn.array([1, 2, 3])).tolist() // [0.0900, 0.2447, 0.6652]
 * @example kn.softmax(kn.ones([2, 2]), -1).tolist() // [[0.5, 0.5], [0.5, 0.5]]
 */
export function softmax(a: NDArray, axis?: number | readonly number[] | null): NDArray {
  const x0 = asArray(a, 'softmax');
  const x = astype(x0, floatFor(x0.dtype));
  const axes = softmaxAxes(x, axis, 'softmax');
  if (x.size === 0) return x;
  const e = exp(subtract(x, safeMax(x, axes)));
  return divide(e, sum(e, axes, { keepdims: true }));
}

/**
 * log(softmax(a)) over `axis` (all axes when omitted), as x - max - log(sum(exp(x - max))), which
 * stays finite where softmax underflows to 0.
 * @example kn.logSoftmax(kn.array([0, 1000])).tolist() // [-1000, 0]
 */
export function logSoftmax(a: NDArray, axis?: number | readonly number[] | null): NDArray {
  const x0 = asArray(a, 'logSoftmax');
  const x = astype(x0, floatFor(x0.dtype));
  const axes = softmaxAxes(x, axis, 'logSoftmax');
  if (x.size === 0) return x;
  const shifted = subtract(x, safeMax(x, axes));
  return subtract(shifted, log(sum(exp(shifted), axes, { keepdims: true })));
}

/**
 * Number of non-zero elements over axes (all when omitted), as int32 (NaN counts as non-zero).
 * @example kn.countNonzero(kn.array([[0, 1], [2, 0]])).item() // 2
 * @example kn.countNonzero(kn.array([[0, 1], [2, 3]]), 1).tolist() // [1, 2]
 */
export function countNonzero(a: NDArray, axis?: AxisArg<ReduceOptions>, opts?: ReduceOptions): NDArray {
  const x = asArray(a, 'countNonzero');
  const o = parse(axis, opts, 'countNonzero');
  const axes = normalizeAxes(o.axis, x.ndim, 'countNonzero');
  return astype(sum(astype(x, 'bool'), axes, { keepdims: o.keepdims ?? false }), 'int32');
}

/**
 * Sum along a diagonal (numpy's trace); the result dtype follows sum (small integers widen to
 * int32/uint32) unless `dtype` is given.
 * @example kn.trace(kn.array([[1, 2], [3, 4]])).item() // 5
 * @example kn.trace(kn.ones([2, 3, 3]), 0, 1, 2).tolist() // [3, 3]
 */
export function trace(a: NDArray, offset = 0, axis1 = 0, axis2 = 1, opts: { dtype?: DType } = {}): NDArray {
  const x = asArray(a, 'trace');
  const dt = opts.dtype;
  const d = diagonal(x, offset, axis1, axis2);
  if (dt === undefined) return sum(d, -1);
  return astype(sum(astype(d, dt), -1), dt);
}

export { varOp as var };
