// numpy's joining, splitting, editing and rotating helpers, written over concatenate, take, flip
// and views: vstack, hstack, columnStack, dstack, arraySplit, append, insert, delete, rot90,
// fliplr, flipud; and copy, ravel, empty, emptyLike, dot.
import type { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import { Copy } from '../core/primitives.js';
import { fmtShape, fmtValue, normalizeAxis } from '../core/shape.js';
import { asArray, dtypeArg, type ArrayInput, type DTypeArg } from './convert.js';
import { zeros } from './creation.js';
import { astype, multiply } from './elementwise.js';
import { make } from './make.js';
import { matmul } from './matmul.js';
import { concatenate, flip, atleast1d, atleast2d, atleast3d } from './shape.js';
import { take } from './take_scatter.js';
import { tensordot } from './contract.js';
import { broadcastTo, moveaxis, reshape, slice, transpose, type SliceSpec } from './views.js';

const list = (arrays: readonly ArrayInput[], op: string): NDArray[] => {
  if (!Array.isArray(arrays) || arrays.length === 0) throw new TypeError(`[${op}] expects a non-empty list of arrays, got ${fmtValue(arrays)}`);
  return arrays.map((a) => asArray(a, op));
};

/**
 * Stacks arrays vertically (row-wise): 1-d arrays become rows (numpy's vstack).
 * @example kn.vstack([kn.array([1, 2]), kn.array([3, 4])]).tolist() // [[1, 2], [3, 4]]
 */
export function vstack(arrays: readonly ArrayInput[]): NDArray {
  return concatenate(list(arrays, 'vstack').map(atleast2d), 0);
}

/**
 * Stacks arrays horizontally: along axis 0 for 1-d arrays, else axis 1 (numpy's hstack).
 * @example kn.hstack([kn.array([1, 2]), kn.array([3])]).tolist() // [1, 2, 3]
 */
export function hstack(arrays: readonly ArrayInput[]): NDArray {
  const xs = list(arrays, 'hstack').map(atleast1d);
  return concatenate(xs, xs[0].ndim === 1 ? 0 : 1);
}

/**
 * Stacks along a third axis: 1-d [n] become [1, n, 1], 2-d [m, n] become [m, n, 1] (numpy's dstack).
 * @example kn.dstack([kn.array([1, 2]), kn.array([3, 4])]).tolist() // [[[1, 3], [2, 4]]]
 */
export function dstack(arrays: readonly ArrayInput[]): NDArray {
  return concatenate(list(arrays, 'dstack').map(atleast3d), 2);
}

/**
 * Stacks 1-d arrays as columns of a 2-d array (2-d arrays are stacked as they are).
 * @example kn.columnStack([kn.array([1, 2]), kn.array([3, 4])]).tolist() // [[1, 3], [2, 4]]
 */
export function columnStack(arrays: readonly ArrayInput[]): NDArray {
  const xs = list(arrays, 'columnStack').map((x) => (x.ndim < 2 ? reshape(x, [x.size, 1]) : x));
  return concatenate(xs, 1);
}

/**
 * Splits into `sections` parts that need not be equal (the first len % sections parts get one more
 * element, as numpy's array_split), or at the given indices; the parts are views.
 * @example kn.arraySplit(kn.arange(5), 3).map((p) => p.tolist()) // [[0, 1], [2, 3], [4]]
 */
export function arraySplit(a: NDArray, indicesOrSections: number | readonly number[], axis = 0): NDArray[] {
  const op = 'arraySplit';
  const x = asArray(a, op);
  if (x.ndim === 0) throw new Error(`[${op}] cannot split a zero-dimensional array`);
  const ax = normalizeAxis(axis, x.ndim, op);
  const n = x.shape[ax];
  let edges: number[];
  if (typeof indicesOrSections === 'number') {
    const k = indicesOrSections;
    if (!Number.isInteger(k) || k <= 0) throw new RangeError(`[${op}] number of sections must be a positive integer, got ${fmtValue(k)}`);
    const each = Math.floor(n / k),
      extra = n % k;
    edges = [0];
    for (let i = 0; i < k; i++) edges.push(edges[i] + each + (i < extra ? 1 : 0));
  } else if (Array.isArray(indicesOrSections) && indicesOrSections.every(Number.isInteger)) {
    edges = [0, ...indicesOrSections.map((i) => (i < 0 ? Math.max(0, i + n) : Math.min(i, n))), n];
  } else throw new TypeError(`[${op}] expected a number of sections or a list of integer indices, got ${fmtValue(indicesOrSections)}`);
  const out: NDArray[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const spec: SliceSpec[] = x.shape.map((_, d) => (d === ax ? { start: Math.min(edges[i], n), stop: Math.max(edges[i], edges[i + 1]) } : {}));
    out.push(slice(x, spec));
  }
  return out;
}

/**
 * Appends values at the end: flattened when axis is null (the default, as numpy), else along axis
 * (shapes must match except along it).
 * @example kn.append(kn.array([1, 2]), [3, 4]).tolist() // [1, 2, 3, 4]
 * @example kn.append(kn.array([[1, 2]]), kn.array([[3, 4]]), 0).tolist() // [[1, 2], [3, 4]]
 */
export function append(arr: ArrayInput, values: ArrayInput, axis: number | null = null): NDArray {
  const x = asArray(arr, 'append'),
    v = asArray(values, 'append');
  if (axis === null) return concatenate([reshape(x, [x.size]), reshape(v, [v.size])], 0);
  if (x.ndim !== v.ndim)
    throw new Error(`[append] arrays of shapes ${fmtShape(x.shape)} and ${fmtShape(v.shape)} must have the same number of dimensions along an axis`);
  return concatenate([x, v], axis);
}

function intIndices(obj: number | readonly number[], n: number, op: string, allowEnd: boolean): number[] {
  const raw = typeof obj === 'number' ? [obj] : obj;
  if (!Array.isArray(raw) && typeof obj !== 'number') throw new TypeError(`[${op}] indices must be an integer or a list of integers, got ${fmtValue(obj)}`);
  return raw.map((i) => {
    if (!Number.isInteger(i)) throw new TypeError(`[${op}] indices must be integers, got ${fmtValue(i)}`);
    const hi = allowEnd ? n : n - 1;
    if (i < -n || i > hi) throw new RangeError(`[${op}] index ${i} is out of bounds for axis of size ${n}`);
    return i < 0 ? i + n : i;
  });
}

/**
 * Inserts values before the given index or indices along axis (flattened when axis is null, as
 * numpy's insert). With one index the values form a block; with a list, one value per index.
 * @example kn.insert(kn.array([1, 2, 3]), 1, 9).tolist() // [1, 9, 2, 3]
 * @example kn.insert(kn.array([1, 2, 3]), [0, 3], [7, 8]).tolist() // [7, 1, 2, 3, 8]
 * @example kn.insert(kn.array([[1, 2], [3, 4]]), 1, 0, 1).tolist() // [[1, 0, 2], [3, 0, 4]]
 */
export function insert(arr: ArrayInput, obj: number | readonly number[], values: ArrayInput, axis: number | null = null): NDArray {
  const op = 'insert';
  let x = asArray(arr, op);
  if (axis === null) x = reshape(x, [x.size]);
  const ax = normalizeAxis(axis ?? 0, x.ndim, op);
  const n = x.shape[ax];
  let v = astype(asArray(values, op), x.dtype);
  let idx: number[], block: NDArray;
  if (typeof obj === 'number') {
    [idx] = [intIndices(obj, n, op, true)];
    // numpy: values get at least x.ndim dims and their first axis becomes `axis`
    if (v.ndim < x.ndim) v = reshape(v, [...new Array<number>(x.ndim - v.ndim).fill(1), ...v.shape]);
    v = moveaxis(v, 0, ax);
    const k = v.shape[ax];
    block = broadcastTo(
      v,
      x.shape.map((d, i) => (i === ax ? k : d)),
    );
    idx = new Array<number>(k).fill(idx[0]);
  } else {
    idx = intIndices(obj, n, op, true);
    const shape = x.shape.map((d, i) => (i === ax ? idx.length : d));
    try {
      block = broadcastTo(v, shape);
    } catch {
      throw new Error(`[${op}] values of shape ${fmtShape(v.shape)} do not broadcast to the inserted block ${fmtShape(shape)}`);
    }
  }
  // new positions of the inserted entries: stable by index, each one after the earlier ones
  const order = idx.map((_, j) => j).sort((p, q) => idx[p] - idx[q] || p - q);
  const total = n + idx.length;
  const src = new Int32Array(total).fill(-1);
  order.forEach((j, r) => (src[idx[j] + r] = n + j));
  let next = 0;
  for (let i = 0; i < total; i++) if (src[i] < 0) src[i] = next++;
  return take(concatenate([x, block], ax), Array.from(src), ax);
}

/**
 * Removes entries at the given index or indices (or a slice) along axis (flattened when axis is
 * null, as numpy's delete).
 * @example kn.delete(kn.array([1, 2, 3, 4]), [0, 2]).tolist() // [2, 4]
 * @example kn.delete(kn.array([[1, 2], [3, 4]]), 0, 0).tolist() // [[3, 4]]
 */
function deleteOp(arr: ArrayInput, obj: number | readonly number[] | SliceSpec, axis: number | null = null): NDArray {
  const op = 'delete';
  let x = asArray(arr, op);
  if (axis === null) x = reshape(x, [x.size]);
  const ax = normalizeAxis(axis ?? 0, x.ndim, op);
  const n = x.shape[ax];
  const drop = new Uint8Array(n);
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    const s = obj as SliceSpec;
    const step = s.step ?? 1;
    if (step === 0) throw new RangeError(`[${op}] slice step cannot be zero`);
    const norm = (v: number | null | undefined, dflt: number) =>
      v === null || v === undefined ? dflt : v < 0 ? Math.max(v + n, step < 0 ? -1 : 0) : Math.min(v, step < 0 ? n - 1 : n);
    const start = norm(s.start, step > 0 ? 0 : n - 1),
      stop = norm(s.stop, step > 0 ? n : -1);
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) drop[i] = 1;
  } else for (const i of intIndices(obj as number | readonly number[], n, op, false)) drop[i] = 1;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (!drop[i]) keep.push(i);
  return take(x, keep, ax);
}

/**
 * Rotates by 90° k times in the plane of `axes` (from the first axis towards the second), as a view.
 * @example kn.rot90(kn.array([[1, 2], [3, 4]])).tolist() // [[2, 4], [1, 3]]
 */
export function rot90(m: NDArray, k = 1, axes: readonly [number, number] = [0, 1]): NDArray {
  const op = 'rot90';
  const x = asArray(m, op);
  if (!Number.isInteger(k)) throw new TypeError(`[${op}] k must be an integer, got ${fmtValue(k)}`);
  if (!Array.isArray(axes) || axes.length !== 2) throw new TypeError(`[${op}] axes must be a pair of axes, got ${fmtValue(axes)}`);
  if (x.ndim < 2) throw new Error(`[${op}] needs an array of at least 2 dimensions, got shape ${fmtShape(x.shape)}`);
  const a0 = normalizeAxis(axes[0], x.ndim, op),
    a1 = normalizeAxis(axes[1], x.ndim, op);
  if (a0 === a1) throw new Error(`[${op}] axes must be different, got ${fmtValue(axes)}`);
  const r = ((k % 4) + 4) % 4;
  if (r === 0) return x;
  if (r === 2) return flip(flip(x, a0), a1);
  const perm = x.shape.map((_, i) => (i === a0 ? a1 : i === a1 ? a0 : i));
  return r === 1 ? transpose(flip(x, a1), perm) : flip(transpose(x, perm), a1);
}

/** Reverses the columns (axis 1). @example kn.fliplr(kn.array([[1, 2], [3, 4]])).tolist() // [[2, 1], [4, 3]] */
export function fliplr(m: NDArray): NDArray {
  const x = asArray(m, 'fliplr');
  if (x.ndim < 2) throw new Error(`[fliplr] needs an array of at least 2 dimensions, got shape ${fmtShape(x.shape)}`);
  return flip(x, 1);
}

/** Reverses the rows (axis 0). @example kn.flipud(kn.array([1, 2, 3])).tolist() // [3, 2, 1] */
export function flipud(m: NDArray): NDArray {
  const x = asArray(m, 'flipud');
  if (x.ndim < 1) throw new Error('[flipud] needs an array of at least 1 dimension, got a 0-d array');
  return flip(x, 0);
}

/**
 * A copy with its own buffer (never a view of `a`).
 * @example kn.copy(kn.array([1, 2])).tolist() // [1, 2]
 */
export function copy(a: ArrayInput): NDArray {
  const x = asArray(a, 'copy');
  return make(Copy, {}, [x], x.shape, x.dtype);
}

/** The flattened array, row-major (a view when possible). @example kn.ravel(kn.array([[1, 2], [3, 4]])).tolist() // [1, 2, 3, 4] */
export function ravel(a: ArrayInput): NDArray {
  const x = asArray(a, 'ravel');
  return reshape(x, [x.size]);
}

/**
 * An array of `shape` (numpy's empty; kiln fills it with zeros, so reading it is never undefined).
 * @example kn.empty([2, 2]).shape // [2, 2]
 */
export function empty(shape: number | readonly number[], dtype?: DTypeArg): NDArray {
  return zeros(shape, dtypeArg(dtype, 'empty') ?? 'float32');
}

/** An array like `a` in shape and dtype (zero-filled). @example kn.emptyLike(kn.ones([3], 'int32')).dtype // 'int32' */
export function emptyLike(a: NDArray, dtype?: DTypeArg): NDArray {
  const x = asArray(a, 'emptyLike');
  return zeros(x.shape, (dtypeArg(dtype, 'emptyLike') as DType | undefined) ?? x.dtype);
}

/**
 * numpy's dot: scalars multiply, 1-d·1-d is the inner product, 2-d·2-d the matrix product, N-d·1-d
 * sums over the last axes, N-d·M-d sums a's last axis against b's second-to-last.
 * @example kn.dot(kn.array([1, 2, 3]), kn.array([4, 5, 6])).item() // 32
 * @example kn.dot(kn.array([[1, 2], [3, 4]]), kn.array([1, 1])).tolist() // [3, 7]
 */
export function dot(a: ArrayInput, b: ArrayInput): NDArray {
  const x = asArray(a, 'dot'),
    y = asArray(b, 'dot');
  if (x.ndim === 0 || y.ndim === 0) return multiply(x, y);
  const kx = x.shape[x.ndim - 1],
    ky = y.ndim === 1 ? y.shape[0] : y.shape[y.ndim - 2];
  if (kx !== ky) throw new Error(`[dot] shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)} are not aligned: ${kx} (dim ${x.ndim - 1}) != ${ky}`);
  if (y.ndim <= 2 && x.ndim <= 2) return matmul(x, y);
  if (y.ndim === 1) return reshape(matmul(x, reshape(y, [ky, 1])), x.shape.slice(0, -1));
  return tensordot(x, y, [[x.ndim - 1], [y.ndim - 2]]);
}

export { deleteOp as delete };
