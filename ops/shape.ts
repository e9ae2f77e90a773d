// Shape manipulation beyond views: concatenate, stack, split, unstack, tile, repeat, roll, flip,
// pad, atleast1d/2d/3d, diff, kron, unflatten. Everything but concatenate and constant padding
// is composed from views, so most of these copy nothing until a kernel needs contiguity.
import type { NDArray } from '../core/array.js';
import { resultType, type DType } from '../core/dtype.js';
import type { Scalar } from '../core/host.js';
import { Concatenate, PadConstant } from '../core/primitives.js';
import { fmtShape, fmtValue, normalizeAxis, sizeOf } from '../core/shape.js';
import { asArray } from './convert.js';
import { astype, multiply, notEqual, subtract } from './elementwise.js';
import { make } from './make.js';
import { broadcastTo, expandDims, reshape, slice, type SliceSpec } from './views.js';

function arrayList(arrays: unknown, op: string): NDArray[] {
  if (!Array.isArray(arrays) || arrays.length === 0) throw new TypeError(`[${op}] expected a non-empty array of arrays, got ${fmtValue(arrays)}`);
  return arrays.map((a) => asArray(a, op));
}

/** Slice specs selecting [start, stop) along `axis` only. */
function along(ndim: number, axis: number, spec: SliceSpec): SliceSpec[] {
  return Array.from({ length: ndim }, (_, i) => (i === axis ? spec : {}));
}

/**
 * Joins arrays along an existing axis (default 0); dtypes promote as in binary ops.
 * @example kn.concatenate([kn.ones([2, 2]), kn.zeros([1, 2])]).shape // [3, 2]
 */
export function concatenate(arrays: readonly NDArray[], axis = 0): NDArray {
  const xs = arrayList(arrays, 'concatenate');
  const nd = xs[0].ndim;
  if (nd === 0) throw new Error('[concatenate] zero-dimensional arrays cannot be concatenated');
  const ax = normalizeAxis(axis, nd, 'concatenate');
  const first = xs[0].shape;
  xs.forEach((x, k) => {
    const s = x.shape;
    if (s.length !== nd || s.some((d, i) => i !== ax && d !== first[i]))
      throw new Error(`[concatenate] array ${k} has shape ${fmtShape(s)}, which does not match ${fmtShape(first)} except along axis ${ax}`);
  });
  const dt: DType = resultType(...xs.map((x) => x.dtype));
  const cast = xs.map((x) => astype(x, dt));
  if (cast.length === 1) return cast[0];
  const offsets: number[] = [];
  let total = 0;
  for (const x of cast) {
    offsets.push(total);
    total += x.shape[ax];
  }
  const shape = first.slice();
  shape[ax] = total;
  return make(Concatenate, { axis: ax, offsets }, cast, shape, dt);
}

/**
 * Joins arrays of one shape along a new axis.
 * @example kn.stack([kn.ones([3]), kn.zeros([3])], 1).shape // [3, 2]
 */
export function stack(arrays: readonly NDArray[], axis = 0): NDArray {
  const xs = arrayList(arrays, 'stack');
  const s0 = xs[0].shape;
  xs.forEach((x, k) => {
    if (x.ndim !== s0.length || x.shape.some((d, i) => d !== s0[i]))
      throw new Error(`[stack] array ${k} has shape ${fmtShape(x.shape)}, expected ${fmtShape(s0)}`);
  });
  const ax = normalizeAxis(axis, s0.length + 1, 'stack');
  return concatenate(
    xs.map((x) => expandDims(x, ax)),
    ax,
  );
}

/**
 * Splits into equal sections (a number) or at indices (an array), as views.
 * @example kn.split(kn.arange(6), 3).map((a) => a.tolist()) // [[0, 1], [2, 3], [4, 5]]
 * @example kn.split(kn.arange(6), [1, 4]).map((a) => a.tolist()) // [[0], [1, 2, 3], [4, 5]]
 */
export function split(a: NDArray, indicesOrSections: number | readonly number[], axis = 0): NDArray[] {
  const x = asArray(a, 'split');
  if (x.ndim === 0) throw new Error('[split] cannot split a zero-dimensional array');
  const ax = normalizeAxis(axis, x.ndim, 'split');
  const n = x.shape[ax];
  let bounds: number[];
  if (typeof indicesOrSections === 'number') {
    const k = indicesOrSections;
    if (!Number.isInteger(k) || k <= 0) throw new RangeError(`[split] number of sections must be a positive integer, got ${fmtValue(k)}`);
    if (n % k !== 0) throw new Error(`[split] array of size ${n} along axis ${ax} cannot be split into ${k} equal sections`);
    bounds = Array.from({ length: k - 1 }, (_, i) => ((i + 1) * n) / k);
  } else if (Array.isArray(indicesOrSections)) {
    if (!indicesOrSections.every(Number.isInteger)) throw new TypeError(`[split] indices must be integers, got ${fmtValue(indicesOrSections)}`);
    bounds = indicesOrSections.map((i) => (i < 0 ? Math.max(0, i + n) : Math.min(i, n)));
  } else {
    throw new TypeError(`[split] expected a number of sections or an array of indices, got ${fmtValue(indicesOrSections)}`);
  }
  const edges = [0, ...bounds, n];
  const out: NDArray[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const start = edges[i],
      stop = Math.max(edges[i], edges[i + 1]);
    out.push(slice(x, along(x.ndim, ax, { start, stop })));
  }
  return out;
}

/**
 * Splits along an axis into arrays with that axis removed.
 * @example kn.unstack(kn.ones([2, 3])).length // 2
 */
export function unstack(a: NDArray, axis = 0): NDArray[] {
  const x = asArray(a, 'unstack');
  if (x.ndim === 0) throw new Error('[unstack] cannot unstack a zero-dimensional array');
  const ax = normalizeAxis(axis, x.ndim, 'unstack');
  const keep = x.shape.filter((_, i) => i !== ax);
  return Array.from({ length: x.shape[ax] }, (_, i) => reshape(slice(x, along(x.ndim, ax, { start: i, stop: i + 1 })), keep));
}

/**
 * Reverses the order of elements along the given axes (all when omitted), as a view.
 * @example kn.flip(kn.arange(3)).tolist() // [2, 1, 0]
 */
export function flip(a: NDArray, axis?: number | readonly number[] | null): NDArray {
  const x = asArray(a, 'flip');
  const axes =
    axis === undefined || axis === null ? x.shape.map((_, i) => i) : (typeof axis === 'number' ? [axis] : axis).map((ax) => normalizeAxis(ax, x.ndim, 'flip'));
  return slice(
    x,
    x.shape.map((_, i) => (axes.includes(i) ? { step: -1 } : {})),
  );
}

/**
 * Rolls elements along an axis (the flattened array when no axis is given); several shifts and
 * axes may be given together.
 * @example kn.roll(kn.arange(5), 2).tolist() // [3, 4, 0, 1, 2]
 */
export function roll(a: NDArray, shift: number | readonly number[], axis?: number | readonly number[]): NDArray {
  const x = asArray(a, 'roll');
  if (axis === undefined) {
    if (typeof shift !== 'number') throw new TypeError('[roll] several shifts need as many axes');
    return reshape(roll(reshape(x, [x.size]), shift, 0), x.shape);
  }
  const shifts = typeof shift === 'number' ? [shift] : [...shift];
  const axes = typeof axis === 'number' ? [axis] : [...axis];
  if (shifts.length !== axes.length && shifts.length !== 1)
    throw new Error(`[roll] shift ${fmtValue(shift)} and axis ${fmtValue(axis)} must have the same length`);
  let out = x;
  axes.forEach((ax, k) => {
    const s = shifts.length === 1 ? shifts[0] : shifts[k];
    if (!Number.isInteger(s)) throw new TypeError(`[roll] shift must be an integer, got ${fmtValue(s)}`);
    const i = normalizeAxis(ax, out.ndim, 'roll');
    const n = out.shape[i];
    if (n === 0) return;
    const r = ((s % n) + n) % n;
    if (r === 0) return;
    out = concatenate([slice(out, along(out.ndim, i, { start: n - r })), slice(out, along(out.ndim, i, { stop: n - r }))], i);
  });
  return out;
}

/**
 * Repeats the whole array `reps` times per axis.
 * @example kn.tile(kn.array([1, 2]), 2).tolist() // [1, 2, 1, 2]
 */
export function tile(a: NDArray, reps: number | readonly number[]): NDArray {
  const x = asArray(a, 'tile');
  const r = typeof reps === 'number' ? [reps] : [...reps];
  if (!r.every((v) => Number.isInteger(v) && v >= 0)) throw new TypeError(`[tile] reps must be non-negative integers, got ${fmtValue(reps)}`);
  const nd = Math.max(r.length, x.ndim);
  const reps2 = [...new Array(nd - r.length).fill(1), ...r];
  const shape = [...new Array(nd - x.ndim).fill(1), ...x.shape];
  // [r0, s0, r1, s1, ...] broadcast, then merged pairwise
  const inter = shape.flatMap((d) => [1, d]);
  const big = shape.flatMap((d, i) => [reps2[i], d]);
  return reshape(
    broadcastTo(reshape(x, inter), big),
    shape.map((d, i) => d * reps2[i]),
  );
}

/**
 * Repeats each element `repeats` times along `axis` (the flattened array when omitted).
 * @example kn.repeat(kn.array([1, 2]), 2).tolist() // [1, 1, 2, 2]
 */
export function repeat(a: NDArray, repeats: number, axis?: number): NDArray {
  let x = asArray(a, 'repeat');
  if (!Number.isInteger(repeats) || repeats < 0) throw new TypeError(`[repeat] repeats must be a non-negative integer, got ${fmtValue(repeats)}`);
  if (axis === undefined) {
    x = reshape(x, [x.size]);
    axis = 0;
  }
  const ax = normalizeAxis(axis, x.ndim, 'repeat');
  const s = x.shape;
  const e = expandDims(x, ax + 1);
  const big = [...s.slice(0, ax + 1), repeats, ...s.slice(ax + 1)];
  const out = s.slice();
  out[ax] *= repeats;
  return reshape(broadcastTo(e, big), out);
}

export type PadWidth = number | readonly [number, number] | readonly (readonly [number, number])[];

/**
 * Pads with a constant (default 0) or by repeating the edge values.
 * @example kn.pad(kn.array([1, 2]), 1).tolist() // [0, 1, 2, 0]
 * @example kn.pad(kn.array([1, 2]), [[0, 2]], { mode: 'edge' }).tolist() // [1, 2, 2, 2]
 */
export function pad(a: NDArray, padWidth: PadWidth, opts: { mode?: 'constant' | 'edge'; constantValue?: Scalar } = {}): NDArray {
  const x = asArray(a, 'pad');
  const nd = x.ndim;
  let widths: [number, number][];
  if (typeof padWidth === 'number') widths = new Array(nd).fill([padWidth, padWidth]);
  else if (Array.isArray(padWidth) && padWidth.length === 2 && padWidth.every((v) => typeof v === 'number'))
    widths = new Array(nd).fill([padWidth[0], padWidth[1]]);
  else if (Array.isArray(padWidth) && padWidth.every((p) => Array.isArray(p) && p.length === 2))
    widths = padWidth.length === 1 ? new Array(nd).fill(padWidth[0]) : (padWidth as [number, number][]);
  else throw new TypeError(`[pad] invalid pad width ${fmtValue(padWidth)}`);
  if (widths.length !== nd) throw new Error(`[pad] pad width has ${widths.length} entries for an array of dimension ${nd}`);
  if (!widths.every(([b, e]) => Number.isInteger(b) && Number.isInteger(e) && b >= 0 && e >= 0))
    throw new RangeError(`[pad] pad widths must be non-negative integers, got ${fmtValue(padWidth)}`);
  const mode = opts.mode ?? 'constant';
  if (mode === 'constant') {
    const v = opts.constantValue ?? 0;
    const shape = x.shape.map((d, i) => d + widths[i][0] + widths[i][1]);
    return make(PadConstant, { before: widths.map((w) => w[0]), value: typeof v === 'boolean' ? (v ? 1 : 0) : Number(v) }, [x], shape, x.dtype);
  }
  if (mode !== 'edge') throw new Error(`[pad] mode must be 'constant' or 'edge', got ${fmtValue(mode)}`);
  let out = x;
  widths.forEach(([b, e], i) => {
    if (b === 0 && e === 0) return;
    const n = out.shape[i];
    if (n === 0) throw new Error(`[pad] cannot edge-pad an empty axis ${i}`);
    const edge = (start: number, count: number) => {
      const sl = slice(out, along(out.ndim, i, { start, stop: start + 1 }));
      const shape = out.shape.slice();
      shape[i] = count;
      return broadcastTo(sl, shape);
    };
    const parts = [...(b ? [edge(0, b)] : []), out, ...(e ? [edge(n - 1, e)] : [])];
    out = concatenate(parts, i);
  });
  return out;
}

/** @example kn.atleast1d(kn.array(5)).shape // [1] */
export function atleast1d(a: NDArray): NDArray {
  const x = asArray(a, 'atleast1d');
  return x.ndim >= 1 ? x : reshape(x, [1]);
}
/** @example kn.atleast2d(kn.array([1, 2])).shape // [1, 2] */
export function atleast2d(a: NDArray): NDArray {
  const x = asArray(a, 'atleast2d');
  return x.ndim >= 2 ? x : reshape(x, x.ndim === 0 ? [1, 1] : [1, x.size]);
}
/** @example kn.atleast3d(kn.array([1, 2])).shape // [1, 2, 1] */
export function atleast3d(a: NDArray): NDArray {
  const x = asArray(a, 'atleast3d');
  if (x.ndim >= 3) return x;
  if (x.ndim === 0) return reshape(x, [1, 1, 1]);
  if (x.ndim === 1) return reshape(x, [1, x.size, 1]);
  return reshape(x, [...x.shape, 1]);
}

/**
 * n-th discrete difference along an axis (default the last).
 * @example kn.diff(kn.array([1, 4, 9])).tolist() // [3, 5]
 */
export function diff(a: NDArray, n = 1, axis = -1): NDArray {
  let x = asArray(a, 'diff');
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`[diff] order must be a non-negative integer, got ${fmtValue(n)}`);
  if (x.ndim === 0) throw new Error('[diff] needs at least one dimension');
  const ax = normalizeAxis(axis, x.ndim, 'diff');
  for (let k = 0; k < n; k++) {
    const hi = slice(x, along(x.ndim, ax, { start: 1 })),
      lo = slice(x, along(x.ndim, ax, { stop: -1 }));
    x = x.dtype === 'bool' ? notEqual(hi, lo) : subtract(hi, lo);
  }
  return x;
}

/**
 * Kronecker product.
 * @example kn.kron(kn.array([[1, 0], [0, 1]]), kn.ones([2, 2])).shape // [4, 4]
 */
export function kron(a: NDArray, b: NDArray): NDArray {
  let x = asArray(a, 'kron'),
    y = asArray(b, 'kron');
  const nd = Math.max(x.ndim, y.ndim);
  x = reshape(x, [...new Array(nd - x.ndim).fill(1), ...x.shape]);
  y = reshape(y, [...new Array(nd - y.ndim).fill(1), ...y.shape]);
  const xs = x.shape,
    ys = y.shape;
  const prod = multiply(
    reshape(
      x,
      xs.flatMap((d) => [d, 1]),
    ),
    reshape(
      y,
      ys.flatMap((d) => [1, d]),
    ),
  );
  return reshape(
    prod,
    xs.map((d, i) => d * ys[i]),
  );
}

/**
 * Splits one axis into several (the inverse of flatten); one size may be -1.
 * @example kn.unflatten(kn.arange(6), 0, [2, 3]).shape // [2, 3]
 */
export function unflatten(a: NDArray, axis: number, shape: readonly number[]): NDArray {
  const x = asArray(a, 'unflatten');
  const ax = normalizeAxis(axis, x.ndim, 'unflatten');
  if (!Array.isArray(shape) || shape.length === 0) throw new TypeError(`[unflatten] shape must be a non-empty array, got ${fmtValue(shape)}`);
  const n = x.shape[ax];
  const known = sizeOf(shape.filter((d) => d !== -1));
  const filled = shape.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  if (sizeOf(filled) !== n || !filled.every(Number.isInteger)) throw new Error(`[unflatten] cannot split axis ${ax} of size ${n} into ${fmtShape(shape)}`);
  return reshape(x, [...x.shape.slice(0, ax), ...filled, ...x.shape.slice(ax + 1)]);
}
