// Reductions over any set of axes, with keepdims: sum, prod, mean, max, min, all, any,
// argmax, argmin. The reduced axes are moved last (a free view) and one kernel reduces them.
import type { NDArray } from '../core/array.js';
import { floatFor, isFloating, type DType } from '../core/dtype.js';
import { Reduce } from '../core/primitives.js';
import { fmtShape, fmtValue, normalizeAxes, normalizeAxis } from '../core/shape.js';
import { asArray, checkOptions } from './convert.js';
import { astype, divide } from './elementwise.js';
import { make } from './make.js';
import { reshape, transpose } from './views.js';
import { hook } from './complex/hooks.js';

export interface ReduceOptions {
  axis?: number | readonly number[] | null;
  keepdims?: boolean;
}
type AxisArg = number | readonly number[] | null | undefined | ReduceOptions;

function parseArgs(axisOrOpts: AxisArg, opts: ReduceOptions | undefined, op: string): ReduceOptions {
  checkOptions(opts, op, '{ keepdims: true }');
  if (axisOrOpts !== null && typeof axisOrOpts === 'object' && !Array.isArray(axisOrOpts)) {
    if (opts) throw new TypeError(`[${op}] pass either an axis and options, or one options object`);
    const o = axisOrOpts as ReduceOptions;
    if (o.keepdims !== undefined && typeof o.keepdims !== 'boolean') throw new TypeError(`[${op}] keepdims must be a boolean`);
    return o;
  }
  const o = { ...(opts ?? {}), axis: axisOrOpts as number | readonly number[] | null | undefined };
  if (o.keepdims !== undefined && typeof o.keepdims !== 'boolean') throw new TypeError(`[${op}] keepdims must be a boolean`);
  return o;
}

/** dtype sum/prod accumulate and return in (numpy widens small integers). */
function sumDType(d: DType): DType {
  if (d === 'bool' || d === 'int8' || d === 'int16') return 'int32';
  if (d === 'uint8' || d === 'uint16') return 'uint32';
  return d;
}

function reduce(op: string, name: string, a: NDArray, axes: number[], keepdims: boolean, outDType: DType): NDArray {
  const x = asArray(a, name);
  if (x.dtype === 'complex64') return hook('reduce', name)(op, name, x, axes, keepdims);
  const sh = x.node.shape;
  const kept = sh.map((_, i) => i).filter((i) => !axes.includes(i));
  const identityless = op === 'max' || op === 'min' || op === 'argmax' || op === 'argmin';
  const outShape = kept.map((i) => sh[i]);
  if (identityless && axes.some((i) => sh[i] === 0))
    throw new Error(`[${name}] cannot reduce an empty axis of an array of shape ${fmtShape(sh)}: the operation has no identity`);
  const moved = transpose(x, [...kept, ...axes]);
  const out = make(Reduce, { op, r: axes.length }, [moved], outShape, outDType);
  if (!keepdims) return out;
  return reshape(
    out,
    sh.map((d, i) => (axes.includes(i) ? 1 : d)),
  );
}

function simple(op: string, name: string, dtypeOf: (d: DType) => DType) {
  return (a: NDArray, axis?: AxisArg, opts?: ReduceOptions): NDArray => {
    const x = asArray(a, name);
    const o = parseArgs(axis, opts, name);
    const axes = normalizeAxes(o.axis, x.ndim, name);
    const dt = dtypeOf(x.dtype);
    const input = op === 'sum' || op === 'prod' ? astype(x, dt) : x;
    return reduce(op, name, input, axes, o.keepdims ?? false, dt);
  };
}

/**
 * Sum over `axis` (all axes when omitted); small integer types accumulate in int32/uint32.
 * @example kn.sum(kn.array([[1, 2], [3, 4]]), 0) // [4, 6]
 * @example
 * const a = kn.array([[1, 2], [3, 4]]);
 * kn.sum(a, [0, 1], { keepdims: true }) // [[10]]
 */
export const sum = simple('sum', 'sum', sumDType);
/** Product over axes. @example kn.prod(kn.array([1, 2, 3])) // 6 */
export const prod = simple('prod', 'prod', sumDType);
/** Maximum over axes (NaN propagates). @example kn.max(kn.array([1, 3, 2])) // 3 */
export const max = simple('max', 'max', (d) => d);
/** Minimum over axes (NaN propagates). @example kn.min(kn.array([1, 3, 2])) // 1 */
export const min = simple('min', 'min', (d) => d);
/** True where every element along the axes is non-zero. @example kn.all(kn.array([true, false])) // false */
export const all = simple('all', 'all', () => 'bool');
/** True where any element along the axes is non-zero. @example kn.any(kn.array([true, false])) // true */
export const any = simple('any', 'any', () => 'bool');

/**
 * Arithmetic mean over axes; integers average in float32, float16/bfloat16 accumulate in float32.
 * @example kn.mean(kn.array([1, 2, 3, 4])) // 2.5
 */
export function mean(a: NDArray, axis?: AxisArg, opts?: ReduceOptions): NDArray {
  const x = asArray(a, 'mean');
  const o = parseArgs(axis, opts, 'mean');
  const axes = normalizeAxes(o.axis, x.ndim, 'mean');
  if (x.dtype === 'complex64') return hook('mean', 'mean')(x, axes, o.keepdims ?? false);
  const target = floatFor(x.dtype);
  const acc: DType = target === 'float64' ? 'float64' : 'float32';
  const count = axes.reduce((n, i) => n * x.node.shape[i], 1);
  const s = reduce('sum', 'mean', astype(x, acc), axes, o.keepdims ?? false, acc);
  return astype(divide(s, count), isFloating(target) ? target : acc);
}

export interface ArgReduceOptions {
  keepdims?: boolean;
}

function argReduce(op: 'argmax' | 'argmin') {
  return (a: NDArray, axis?: number | null | (ArgReduceOptions & { axis?: number | null }), opts?: ArgReduceOptions): NDArray => {
    const x = asArray(a, op);
    checkOptions(opts, op, '{ keepdims: true }');
    let ax: number | null | undefined,
      keepdims = false;
    if (Array.isArray(axis)) throw new TypeError(`[${op}] axis must be a single integer or null, got ${fmtValue(axis)}`);
    if (axis !== null && typeof axis === 'object') {
      ax = axis.axis;
      keepdims = axis.keepdims ?? false;
    } else {
      ax = axis;
      keepdims = opts?.keepdims ?? false;
    }
    if (typeof keepdims !== 'boolean') throw new TypeError(`[${op}] keepdims must be a boolean`);
    if (ax === undefined || ax === null) {
      const flat = reduce(op, op, reshape(x, [x.size]), [0], false, 'int32');
      return keepdims
        ? reshape(
            flat,
            x.node.shape.map(() => 1),
          )
        : flat;
    }
    const i = normalizeAxis(ax, x.ndim, op);
    return reduce(op, op, x, [i], keepdims, 'int32');
  };
}

/**
 * Index of the first maximum along `axis` (of the flattened array when omitted), as int32.
 * @example kn.argmax(kn.array([1, 3, 3])) // 1
 */
export const argmax = argReduce('argmax');
/** Index of the first minimum along `axis`, as int32. @example kn.argmin(kn.array([2, 1, 1])) // 1 */
export const argmin = argReduce('argmin');
