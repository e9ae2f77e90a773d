// Views: reshape, transpose, slice, broadcast, expandDims, squeeze, flatten, asStrided.
// They share the input's buffer; reshape copies only when the layout makes a view impossible.
import type { NDArray } from '../core/array.js';
import { AsStrided, BroadcastTo, Contiguous, Reshape, Slice, Transpose } from '../core/primitives.js';
import { broadcastShapes, checkShape, fmtShape, fmtValue, normalizeAxes, normalizeAxis, shapeEqual, sizeOf } from '../core/shape.js';
import { asArray } from './convert.js';
import { make } from './make.js';

/**
 * Gives a new shape to an array without changing its data; one dimension may be -1.
 * @example kn.arange(6).reshape([2, 3]) // [[0, 1, 2], [3, 4, 5]]
 */
export function reshape(a: NDArray, shape: number | readonly number[]): NDArray {
  const x = asArray(a, 'reshape');
  const req = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(req)) throw new TypeError(`[reshape] shape must be an array of integers, got ${fmtValue(shape)}`);
  const unknown = req.filter((d) => d === -1).length;
  if (unknown > 1) throw new Error(`[reshape] can only specify one unknown dimension, got ${fmtShape(req)}`);
  for (const d of req) if (typeof d !== 'number' || !Number.isInteger(d) || d < -1) throw new TypeError(`[reshape] invalid shape ${fmtShape(req)}`);
  let out = req.slice();
  if (unknown) {
    const known = sizeOf(req.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) throw new Error(`[reshape] cannot reshape array of size ${x.size} into shape ${fmtShape(req)}`);
    out = req.map((d) => (d === -1 ? x.size / known : d));
  }
  out = checkShape(out, 'reshape');
  if (sizeOf(out) !== x.size) throw new Error(`[reshape] cannot reshape array of size ${x.size} into shape ${fmtShape(req)}`);
  if (shapeEqual(out, x.node.shape)) return x;
  return make(Reshape, {}, [x], out, x.dtype);
}

/** @example kn.ones([2, 3]).flatten().shape // [6] */
export function flatten(a: NDArray, startAxis = 0, endAxis = -1): NDArray {
  const x = asArray(a, 'flatten');
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeAxis(startAxis, x.ndim, 'flatten'),
    e = normalizeAxis(endAxis, x.ndim, 'flatten');
  if (s > e) throw new Error(`[flatten] startAxis ${startAxis} is after endAxis ${endAxis}`);
  const sh = x.shape;
  return reshape(x, [...sh.slice(0, s), sizeOf(sh.slice(s, e + 1)), ...sh.slice(e + 1)]);
}

/**
 * Permutes the axes (reverses them when `axes` is omitted).
 * @example kn.ones([2, 3, 4]).transpose([2, 0, 1]).shape // [4, 2, 3]
 */
export function transpose(a: NDArray, axes?: readonly number[]): NDArray {
  const x = asArray(a, 'transpose');
  const nd = x.ndim;
  let perm: number[];
  if (axes === undefined || axes === null) perm = Array.from({ length: nd }, (_, i) => nd - 1 - i);
  else {
    if (!Array.isArray(axes) || axes.length !== nd) throw new Error(`[transpose] axes ${JSON.stringify(axes)} do not match an array of dimension ${nd}`);
    perm = normalizeAxes(axes, nd, 'transpose');
  }
  if (perm.every((p, i) => p === i)) return x;
  const shape = perm.map((p) => x.node.shape[p]);
  return make(Transpose, { perm }, [x], shape, x.dtype);
}

/** numpy 2 / array-API name for transpose with explicit axes. @example kn.permuteDims(kn.ones([2, 3]), [1, 0]).shape // [3, 2] */
export function permuteDims(a: NDArray, axes?: readonly number[]): NDArray {
  return transpose(a, axes);
}

/** Swaps two axes. @example kn.ones([2, 3]).swapaxes(0, 1).shape // [3, 2] */
export function swapaxes(a: NDArray, axis1: number, axis2: number): NDArray {
  const x = asArray(a, 'swapaxes');
  const i = normalizeAxis(axis1, x.ndim, 'swapaxes'),
    j = normalizeAxis(axis2, x.ndim, 'swapaxes');
  const perm = Array.from({ length: x.ndim }, (_, k) => k);
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return transpose(x, perm);
}

/** Moves one axis to a new position. @example kn.ones([2, 3, 4]).moveaxis(0, -1).shape // [3, 4, 2] */
export function moveaxis(a: NDArray, source: number, destination: number): NDArray {
  const x = asArray(a, 'moveaxis');
  const s = normalizeAxis(source, x.ndim, 'moveaxis'),
    d = normalizeAxis(destination, x.ndim, 'moveaxis');
  const perm = Array.from({ length: x.ndim }, (_, k) => k).filter((k) => k !== s);
  perm.splice(d, 0, s);
  return transpose(x, perm);
}

/**
 * Broadcasts to a shape with numpy's rules, as a view with zero strides.
 * @example kn.array([1, 2, 3]).broadcastTo([2, 3]) // [[1, 2, 3], [1, 2, 3]]
 */
export function broadcastTo(a: NDArray, shape: number | readonly number[]): NDArray {
  const x = asArray(a, 'broadcastTo');
  const s = checkShape(shape, 'broadcastTo');
  const b = broadcastShapes('broadcastTo', x.node.shape, s);
  if (!shapeEqual(b, s)) throw new Error(`[broadcastTo] cannot broadcast array of shape ${fmtShape(x.node.shape)} to ${fmtShape(s)}`);
  if (shapeEqual(s, x.node.shape)) return x;
  return make(BroadcastTo, {}, [x], s, x.dtype);
}

/**
 * Broadcasts several arrays against each other.
 * @example kn.broadcastArrays(kn.array([1, 2]), kn.array([[0], [10]])) // [[[1, 2], [1, 2]], [[0, 0], [10, 10]]]
 */
export function broadcastArrays(...arrays: NDArray[]): NDArray[] {
  const xs = arrays.map((a) => asArray(a, 'broadcastArrays'));
  const s = broadcastShapes('broadcastArrays', ...xs.map((x) => x.node.shape));
  return xs.map((x) => broadcastTo(x, s));
}

/** Inserts size-1 axes. @example kn.ones([3]).expandDims(0).shape // [1, 3] */
export function expandDims(a: NDArray, axis: number | readonly number[]): NDArray {
  const x = asArray(a, 'expandDims');
  const list = typeof axis === 'number' ? [axis] : axis;
  if (!Array.isArray(list)) throw new TypeError(`[expandDims] axis must be an integer or an array of integers, got ${fmtValue(axis)}`);
  const nd = x.ndim + list.length;
  const ax = normalizeAxes(list, nd, 'expandDims');
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < nd; i++) out.push(ax.includes(i) ? 1 : x.node.shape[k++]);
  return reshape(x, out);
}

/** Removes size-1 axes (all of them when `axis` is omitted). @example kn.ones([1, 3, 1]).squeeze().shape // [3] */
export function squeeze(a: NDArray, axis?: number | readonly number[]): NDArray {
  const x = asArray(a, 'squeeze');
  const sh = x.node.shape;
  let ax: number[];
  if (axis === undefined || axis === null) ax = sh.flatMap((d, i) => (d === 1 ? [i] : []));
  else {
    ax = normalizeAxes(axis, x.ndim, 'squeeze');
    for (const i of ax) if (sh[i] !== 1) throw new Error(`[squeeze] cannot select axis ${i} of shape ${fmtShape(sh)}: its size is ${sh[i]}, not 1`);
  }
  return reshape(
    x,
    sh.filter((_, i) => !ax.includes(i)),
  );
}

export interface SliceSpec {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/** numpy's slice index normalisation for one axis: returns [start, size, step]. */
export function resolveSlice(s: SliceSpec, dim: number, op: string): [number, number, number] {
  const step = s.step ?? 1;
  if (!Number.isInteger(step) || step === 0) throw new RangeError(`[${op}] slice step must be a non-zero integer, got ${fmtValue(step)}`);
  for (const v of [s.start, s.stop])
    if (v !== undefined && v !== null && !Number.isInteger(v)) throw new TypeError(`[${op}] slice bounds must be integers, got ${fmtValue(v)}`);
  let start: number, stop: number;
  if (step > 0) {
    start = s.start == null ? 0 : s.start < 0 ? Math.max(0, s.start + dim) : Math.min(s.start, dim);
    stop = s.stop == null ? dim : s.stop < 0 ? Math.max(0, s.stop + dim) : Math.min(s.stop, dim);
    return [start, Math.max(0, Math.ceil((stop - start) / step)), step];
  }
  start = s.start == null ? dim - 1 : s.start < 0 ? Math.max(-1, s.start + dim) : Math.min(s.start, dim - 1);
  stop = s.stop == null ? -1 : s.stop < 0 ? Math.max(-1, s.stop + dim) : Math.min(s.stop, dim - 1);
  return [start, Math.max(0, Math.ceil((stop - start) / step)), step];
}

/**
 * Two uses, as in numpy/MLX code:
 * - `kn.slice(start, stop?, step?)` makes a slice object for `a.index(...)` (numpy's `slice`);
 * - `kn.slice(a, specs)` slices `a` with one spec per leading axis (numpy `a[1:8:2, ...]`),
 *   as a view.
 * @example kn.arange(10).index(kn.slice(1, 8, 2)).tolist() // [1, 3, 5, 7]
 * @example kn.arange(10).slice([{ start: 1, stop: 8, step: 2 }]) // [1, 3, 5, 7]
 */
export function slice(start: number | null | undefined, stop?: number | null, step?: number | null): SliceSpec;
export function slice(a: NDArray, specs: readonly SliceSpec[]): NDArray;
export function slice(a: NDArray | number | null | undefined, specs?: readonly SliceSpec[] | number | null, step?: number | null): NDArray | SliceSpec {
  if ((a === null || a === undefined || typeof a === 'number') && !Array.isArray(specs)) {
    if (specs !== undefined && specs !== null && typeof specs !== 'number')
      throw new TypeError(`[slice] slice(start, stop, step) takes numbers or null, got ${fmtValue(specs)}`);
    // one argument means stop, as in Python's slice(stop)
    return specs === undefined && step === undefined
      ? { start: null, stop: a ?? null, step: null }
      : { start: a ?? null, stop: specs ?? null, step: step ?? null };
  }
  return sliceArray(a as NDArray, specs as readonly SliceSpec[]);
}

function sliceArray(a: NDArray, specs: readonly SliceSpec[]): NDArray {
  const x = asArray(a, 'slice');
  if (!Array.isArray(specs)) throw new TypeError(`[slice] expected an array of { start, stop, step } specs, got ${fmtValue(specs)}`);
  const keys = new Set(['start', 'stop', 'step']);
  specs.forEach((s, i) => {
    if (s === undefined || s === null) return; // a full slice of that axis
    if (typeof s !== 'object' || Array.isArray(s) || Object.keys(s).some((k) => !keys.has(k)))
      throw new TypeError(`[slice] spec ${i} must be an object with start, stop and step, got ${fmtValue(s)}`);
  });
  if (specs.length > x.ndim) throw new Error(`[slice] too many slices (${specs.length}) for array of dimension ${x.ndim}`);
  const sh = x.node.shape;
  const starts: number[] = [],
    steps: number[] = [],
    shape: number[] = [];
  for (let i = 0; i < sh.length; i++) {
    const [st, n, step] = resolveSlice(specs[i] ?? {}, sh[i], 'slice');
    starts.push(n > 0 ? st : 0);
    steps.push(step);
    shape.push(n);
  }
  if (shapeEqual(shape, sh) && steps.every((s) => s === 1)) return x;
  return make(Slice, { starts, steps }, [x], shape, x.dtype);
}

/**
 * A view with explicit shape, element strides and element offset (relative to `a`'s first
 * element). Like numpy's as_strided it can read any element of the underlying buffer, so the
 * result is checked against the buffer's bounds when evaluated.
 * @example kn.asStrided(kn.arange(6), [2, 2], [1, 1]) // [[0, 1], [1, 2]] (sliding windows)
 */
export function asStrided(a: NDArray, shape: readonly number[], strides: readonly number[], offset = 0): NDArray {
  const x = asArray(a, 'asStrided');
  const s = checkShape(shape, 'asStrided');
  if (!Array.isArray(strides) || strides.length !== s.length || !strides.every(Number.isInteger))
    throw new Error(`[asStrided] strides ${JSON.stringify(strides)} must be ${s.length} integers`);
  if (!Number.isInteger(offset)) throw new TypeError(`[asStrided] offset must be an integer, got ${offset}`);
  // Elements reachable must lie inside the source array's own span, assuming it is contiguous.
  let lo = offset,
    hi = offset;
  if (sizeOf(s) > 0) s.forEach((d, i) => (strides[i] < 0 ? (lo += (d - 1) * strides[i]) : (hi += (d - 1) * strides[i])));
  if (sizeOf(s) > 0 && (lo < 0 || hi >= x.size))
    throw new RangeError(
      `[asStrided] shape ${fmtShape(s)} with strides ${fmtShape(strides)} and offset ${offset} reaches outside an array of ${x.size} elements`,
    );
  // the view is taken of a contiguous copy so strides are relative to row-major order
  const base = make(Contiguous, {}, [reshape(x, [x.size])], [x.size], x.dtype);
  return make(AsStrided, { strides: strides.slice(), offset }, [base], s, x.dtype);
}
