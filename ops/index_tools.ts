// numpy's index helpers and selection functions: unravelIndex, ravelMultiIndex, triuIndices,
// trilIndices, diagIndices, indices, ix_, lexsort, select, choose, compress, extract, place; and
// the log-spaced grids logspace and geomspace. Data-dependent sizes (compress, extract, place)
// evaluate their masks, as kn.nonzero does.
import { NDArray } from '../core/array.js';
import { fmtShape, fmtValue, normalizeAxis, sizeOf } from '../core/shape.js';
import { arrayFrom, asArray, checkOptions, dtypeArg, type ArrayInput, type DTypeArg } from './convert.js';
import { arange } from './creation.js';
import { add, astype, floorDivide, lessEqual, multiply, power, remainder, where } from './elementwise.js';
import { clip } from './clip_compare.js';
import { flatnonzero } from './datadep.js';
import { linspace } from './grids_diagonals.js';
import { max, min } from './reduce.js';
import { stack } from './shape.js';
import { argsort } from './sort.js';
import { scatterFlat, take, takeAlongAxis } from './take_scatter.js';
import { broadcastArrays, broadcastTo, expandDims, reshape } from './views.js';

function dimsArg(shape: number | readonly number[], op: string): number[] {
  const s = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0))
    throw new TypeError(`[${op}] dims must be non-negative integers, got ${fmtValue(shape)}`);
  return [...s];
}

function order(o: string | undefined, op: string): 'C' | 'F' {
  const v = o ?? 'C';
  if (v !== 'C' && v !== 'F') throw new TypeError(`[${op}] order must be 'C' or 'F', got ${fmtValue(o)}`);
  return v;
}

/** min and max of an integer index array (evaluates it) */
function hostRange(a: NDArray): [number, number] {
  if (a.size === 0) return [0, 0];
  return [Number(min(a).item()), Number(max(a).item())];
}

/**
 * Converts flat indices into a tuple of coordinate arrays for `shape` (numpy's unravel_index;
 * order 'C' or 'F'). Out-of-range indices raise (the indices are read to check).
 * @example kn.unravelIndex(kn.array([22, 41, 37]), [7, 6]).map((a) => a.tolist()) // [[3, 6, 6], [4, 5, 1]]
 */
export function unravelIndex(indices: ArrayInput, shape: number | readonly number[], opts: { order?: 'C' | 'F' } = {}): NDArray[] {
  const op = 'unravelIndex';
  const dims = dimsArg(shape, op);
  const o = order(opts.order, op);
  const idx = asArray(indices, op);
  if (!['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'].includes(idx.dtype))
    throw new TypeError(`[${op}] indices must be integers, got ${idx.dtype}`);
  const total = sizeOf(dims);
  const [lo, hi] = hostRange(idx);
  if (idx.size > 0 && (lo < 0 || hi >= total)) throw new RangeError(`[${op}] index ${lo < 0 ? lo : hi} is out of bounds for array with size ${total}`);
  let rest: NDArray = astype(idx, total > 2 ** 31 - 1 ? 'int64' : 'int32');
  const out = new Array<NDArray>(dims.length);
  const seq = o === 'C' ? dims.map((_, i) => dims.length - 1 - i) : dims.map((_, i) => i);
  for (const d of seq) {
    out[d] = remainder(rest, dims[d]);
    rest = floorDivide(rest, dims[d]);
  }
  return out;
}

/**
 * Converts a tuple of coordinate arrays into flat indices for `dims` (numpy's ravel_multi_index).
 * mode 'raise' (default; reads the coordinates to check them), 'wrap' or 'clip', one per axis or one
 * for all.
 * @example kn.ravelMultiIndex([kn.array([3, 6, 6]), kn.array([4, 5, 1])], [7, 6]).tolist() // [22, 41, 37]
 */
export function ravelMultiIndex(
  multiIndex: readonly ArrayInput[],
  dims: readonly number[],
  opts: { mode?: 'raise' | 'wrap' | 'clip' | readonly ('raise' | 'wrap' | 'clip')[]; order?: 'C' | 'F' } = {},
): NDArray {
  const op = 'ravelMultiIndex';
  checkOptions(opts, op, "{ mode: 'wrap' }");
  const d = dimsArg(dims, op);
  if (!Array.isArray(multiIndex) || multiIndex.length !== d.length)
    throw new Error(`[${op}] parameter multiIndex must be a sequence of length ${d.length}, got ${fmtValue(multiIndex)}`);
  const modes = Array.isArray(opts.mode) ? opts.mode : d.map(() => (opts.mode as string | undefined) ?? 'raise');
  if (modes.length !== d.length || !modes.every((m) => m === 'raise' || m === 'wrap' || m === 'clip'))
    throw new TypeError(`[${op}] mode must be 'raise', 'wrap' or 'clip' (or one per dimension), got ${fmtValue(opts.mode)}`);
  const o = order(opts.order, op);
  const total = sizeOf(d);
  const dt = total > 2 ** 31 - 1 ? 'int64' : 'int32';
  const coords = broadcastArrays(...multiIndex.map((m) => astype(asArray(m, op), dt)));
  const fixed = coords.map((c, i) => {
    if (modes[i] === 'wrap') return remainder(c, d[i]);
    if (modes[i] === 'clip') return clip(c, 0, d[i] - 1);
    const [lo, hi] = hostRange(c);
    if (c.size > 0 && (lo < 0 || hi >= d[i]))
      throw new RangeError(`[${op}] invalid entry in coordinates array: ${lo < 0 ? lo : hi} for a dimension of size ${d[i]}`);
    return c;
  });
  const seq = o === 'C' ? d.map((_, i) => i) : d.map((_, i) => d.length - 1 - i);
  let flat: NDArray | null = null;
  for (const i of seq) flat = flat ? add(multiply(flat, d[i]), fixed[i]) : fixed[i];
  return flat!;
}

function triIndices(n: number, k: number, m: number | undefined, upper: boolean, op: string): [NDArray, NDArray] {
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`[${op}] n must be a non-negative integer, got ${fmtValue(n)}`);
  if (!Number.isInteger(k)) throw new TypeError(`[${op}] k must be an integer, got ${fmtValue(k)}`);
  const mm = m ?? n;
  if (!Number.isInteger(mm) || mm < 0) throw new TypeError(`[${op}] m must be a non-negative integer, got ${fmtValue(m)}`);
  const r: number[] = [],
    c: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < mm; j++)
      if (upper ? j - i >= k : j - i <= k) {
        r.push(i);
        c.push(j);
      }
  return [arrayFrom(Int32Array.from(r), 'int32', op), arrayFrom(Int32Array.from(c), 'int32', op)];
}

/**
 * Row and column indices of the upper triangle (j - i >= k) of an n×m matrix (numpy's triu_indices).
 * @example kn.triuIndices(3).map((a) => a.tolist()) // [[0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2]]
 */
export function triuIndices(n: number, k = 0, m?: number): [NDArray, NDArray] {
  return triIndices(n, k, m, true, 'triuIndices');
}

/**
 * Row and column indices of the lower triangle (j - i <= k) (numpy's tril_indices).
 * @example kn.trilIndices(3, -1).map((a) => a.tolist()) // [[1, 2, 2], [0, 0, 1]]
 */
export function trilIndices(n: number, k = 0, m?: number): [NDArray, NDArray] {
  return triIndices(n, k, m, false, 'trilIndices');
}

/**
 * Indices of the main diagonal of an n×...×n array: `ndim` copies of arange(n).
 * @example kn.diagIndices(3).map((a) => a.tolist()) // [[0, 1, 2], [0, 1, 2]]
 */
export function diagIndices(n: number, ndim = 2): NDArray[] {
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`[diagIndices] n must be a non-negative integer, got ${fmtValue(n)}`);
  if (!Number.isInteger(ndim) || ndim < 1) throw new TypeError(`[diagIndices] ndim must be a positive integer, got ${fmtValue(ndim)}`);
  return Array.from({ length: ndim }, () => arange(0, n, 'int32'));
}

/**
 * A grid of indices: shape [len(dims), ...dims], entry i holding the index along axis i (numpy's
 * indices; default int32).
 * @example kn.indices([2, 3]).tolist() // [[[0, 0, 0], [1, 1, 1]], [[0, 1, 2], [0, 1, 2]]]
 */
export function indices(dimensions: readonly number[], dtype?: DTypeArg): NDArray {
  const op = 'indices';
  const d = dimsArg(dimensions, op);
  const dt = dtypeArg(dtype, op) ?? 'int32';
  const grids = d.map((n, i) =>
    broadcastTo(
      reshape(
        arange(0, n, dt),
        d.map((_, j) => (j === i ? n : 1)),
      ),
      d,
    ),
  );
  return grids.length ? stack(grids, 0) : reshape(arange(0, 0, dt), [0]);
}

/**
 * An open mesh from 1-d sequences: the i-th output has shape [1, .., n_i, .., 1], for indexing or
 * broadcasting (numpy's ix_). Bool sequences give their non-zero positions.
 * @example kn.ix_([0, 1], [2, 4]).map((a) => a.shape) // [[2, 1], [1, 2]]
 */
export function ix_(...seqs: ArrayInput[]): NDArray[] {
  const op = 'ix_';
  const nd = seqs.length;
  return seqs.map((s, i) => {
    let a = asArray(s, op);
    if (a.ndim !== 1) throw new Error(`[${op}] cross index must be 1-d, got shape ${fmtShape(a.shape)} for argument ${i}`);
    if (a.dtype === 'bool') a = flatnonzero(a);
    return reshape(
      a,
      Array.from({ length: nd }, (_, j) => (j === i ? a.size : 1)),
    );
  });
}

/**
 * Indirect stable sort by several keys, the LAST key primary (numpy's lexsort); keys is a list of
 * 1-d arrays or a 2-d array whose rows are keys. int32 indices.
 * @example kn.lexsort([kn.array([1, 5, 1, 4, 3]), kn.array([9, 4, 0, 4, 0])]).tolist() // [2, 4, 3, 1, 0]
 */
export function lexsort(keys: readonly ArrayInput[] | NDArray): NDArray {
  const op = 'lexsort';
  const list: NDArray[] = keys instanceof NDArray ? (keys.ndim === 1 ? [keys] : Array.from(keys)) : keys.map((k) => asArray(k, op));
  if (list.length === 0) throw new TypeError(`[${op}] need at least one key`);
  const n = list[0].shape[0];
  list.forEach((k, i) => {
    if (k.ndim !== 1 || k.size !== n) throw new Error(`[${op}] all keys need to be 1-d of the same length, key ${i} has shape ${fmtShape(k.shape)}`);
  });
  let idx = argsort(list[0]);
  for (let i = 1; i < list.length; i++) idx = take(idx, argsort(take(list[i], idx)));
  return astype(idx, 'int32');
}

/**
 * Picks from `choicelist` where the matching condition of `condlist` is first true, else `default`
 * (numpy's select).
 * @example kn.select([kn.array([true, false, false]), kn.array([true, true, false])], [1, 2], 0).tolist() // [1, 2, 0]
 */
export function select(condlist: readonly ArrayInput[], choicelist: readonly ArrayInput[], defaultValue: ArrayInput = 0): NDArray {
  const op = 'select';
  if (!Array.isArray(condlist) || !Array.isArray(choicelist) || condlist.length !== choicelist.length)
    throw new Error(`[${op}] list of cases must be same length as list of conditions, got ${fmtValue(condlist?.length)} and ${fmtValue(choicelist?.length)}`);
  if (condlist.length === 0) throw new Error(`[${op}] select with an empty condition list is not possible`);
  const conds = condlist.map((c, i) => {
    const a = asArray(c, op);
    if (a.dtype !== 'bool') throw new TypeError(`[${op}] invalid entry ${i} in condlist: should be boolean ndarray, got ${a.dtype}`);
    return a;
  });
  let out = asArray(defaultValue, op);
  for (let i = conds.length - 1; i >= 0; i--) out = where(conds[i], asArray(choicelist[i], op), out);
  return out;
}

/**
 * Builds an array from an index array and a list of choices (numpy's choose): out[i] =
 * choices[a[i]][i], all broadcast together. mode 'raise' (reads a to check), 'wrap' or 'clip'.
 * @example kn.choose(kn.array([2, 0, 1]), [[10, 11, 12], [20, 21, 22], [30, 31, 32]]).tolist() // [30, 11, 22]
 */
export function choose(a: ArrayInput, choices: readonly ArrayInput[], opts: { mode?: 'raise' | 'wrap' | 'clip' } = {}): NDArray {
  const op = 'choose';
  checkOptions(opts, op, "{ mode: 'clip' }");
  const idx = asArray(a, op);
  if (!Array.isArray(choices) || choices.length === 0) throw new TypeError(`[${op}] choices must be a non-empty list of arrays, got ${fmtValue(choices)}`);
  const n = choices.length;
  const mode = opts.mode ?? 'raise';
  let i = astype(idx, 'int32');
  if (mode === 'wrap') i = remainder(i, n);
  else if (mode === 'clip') i = clip(i, 0, n - 1);
  else if (mode === 'raise') {
    const [lo, hi] = hostRange(i);
    if (i.size > 0 && (lo < 0 || hi >= n)) throw new RangeError(`[${op}] invalid entry in choice array: ${lo < 0 ? lo : hi} for ${n} choices`);
  } else throw new TypeError(`[${op}] mode must be 'raise', 'wrap' or 'clip', got ${fmtValue(mode)}`);
  const all = broadcastArrays(i, ...choices.map((c) => asArray(c, op)));
  const stacked = stack(all.slice(1), 0);
  return reshape(takeAlongAxis(stacked, expandDims(all[0], 0), 0), all[0].shape);
}

/**
 * Selects slices of `a` along axis where the 1-d `condition` is true (flattened when axis is null;
 * a shorter condition covers the first entries only), numpy's compress. Synchronisation point.
 * @example kn.compress([false, true, true], kn.array([[1, 2], [3, 4], [5, 6]]), 0).tolist() // [[3, 4], [5, 6]]
 */
export function compress(condition: ArrayInput, a: ArrayInput, axis: number | null = null): NDArray {
  const op = 'compress';
  const c = asArray(condition, op);
  if (c.ndim !== 1) throw new Error(`[${op}] condition must be a 1-d array, got shape ${fmtShape(c.shape)}`);
  let x = asArray(a, op);
  if (axis === null) x = reshape(x, [x.size]);
  const ax = normalizeAxis(axis ?? 0, x.ndim, op);
  const hits = Array.from(flatnonzero(c).toTypedArray() as Int32Array);
  if (hits.length && hits[hits.length - 1] >= x.shape[ax])
    throw new RangeError(`[${op}] index ${hits[hits.length - 1]} is out of bounds for axis ${ax} with size ${x.shape[ax]}`);
  return take(x, hits, ax);
}

/**
 * The elements of `arr` where `condition` is non-zero, flattened (numpy's extract).
 * Synchronisation point.
 * @example kn.extract(kn.array([[1, 0], [0, 1]]), kn.array([[1, 2], [3, 4]])).tolist() // [1, 4]
 */
export function extract(condition: ArrayInput, arr: ArrayInput): NDArray {
  const op = 'extract';
  const c = asArray(condition, op),
    x = asArray(arr, op);
  if (c.size !== x.size) throw new Error(`[${op}] condition of shape ${fmtShape(c.shape)} and arr of shape ${fmtShape(x.shape)} must have the same size`);
  return take(reshape(x, [x.size]), flatnonzero(c));
}

/**
 * Puts `vals` (cycled) at the positions where `mask` is true, in place as numpy's place: `arr` is
 * rebound to the updated array (like kn.put_) and returned. Synchronisation point.
 * @example kn.place(kn.array([1, 2, 3, 4]), kn.array([true, false, true, true]), [9, 8]).tolist() // [9, 2, 8, 9]
 */
export function place(arr: NDArray, mask: ArrayInput, vals: ArrayInput): NDArray {
  const op = 'place';
  if (!(arr instanceof NDArray)) throw new TypeError(`[${op}] arr must be an NDArray (it is updated in place), got ${fmtValue(arr)}`);
  const m = asArray(mask, op);
  if (m.size !== arr.size) throw new Error(`[${op}] mask of shape ${fmtShape(m.shape)} and arr of shape ${fmtShape(arr.shape)} must have the same size`);
  const pos = flatnonzero(m);
  if (pos.size === 0) return arr;
  const v = reshape(asArray(vals, op), [-1]);
  if (v.size === 0) throw new Error(`[${op}] cannot place ${pos.size} values from an empty vals`);
  const src = take(astype(v, arr.dtype), remainder(arange(0, pos.size, 'int32'), v.size));
  const updated = scatterFlat(op, arr, pos, src, 'set');
  arr.rebind(updated.node);
  return arr;
}

export interface LogspaceOptions {
  endpoint?: boolean;
  /** the base of the exponents (default 10) */
  base?: number;
  dtype?: DTypeArg;
}

/**
 * `num` samples base ** linspace(start, stop) (numpy's logspace; computed in float64, default
 * dtype float32).
 * @example kn.logspace(0, 3, 4).tolist() // [1, 10, 100, 1000]
 */
export function logspace(start: number, stop: number, num = 50, opts: LogspaceOptions = {}): NDArray {
  const op = 'logspace';
  checkOptions(opts, op, '{ base: 2 }');
  const base = opts.base ?? 10;
  if (typeof base !== 'number') throw new TypeError(`[${op}] base must be a number, got ${fmtValue(base)}`);
  const y = linspace(start, stop, num, { endpoint: opts.endpoint ?? true, dtype: 'float64' });
  return astype(power(base, y), dtypeArg(opts.dtype, op) ?? 'float32');
}

/**
 * `num` samples evenly spaced on a log scale from start to stop, both included by default and
 * exact (numpy's geomspace; start and stop non-zero and of one sign).
 * @example kn.geomspace(1, 1000, 4).tolist() // [1, 10, 100, 1000]
 */
export function geomspace(start: number, stop: number, num = 50, opts: { endpoint?: boolean; dtype?: DTypeArg } = {}): NDArray {
  const op = 'geomspace';
  checkOptions(opts, op, '{ endpoint: false }');
  if (typeof start !== 'number' || typeof stop !== 'number' || start === 0 || stop === 0)
    throw new RangeError(`[${op}] geometric sequence cannot include zero, got start ${fmtValue(start)} and stop ${fmtValue(stop)}`);
  if (Math.sign(start) !== Math.sign(stop))
    throw new RangeError(`[${op}] start and stop must have the same sign (no complex results), got ${start} and ${stop}`);
  const endpoint = opts.endpoint ?? true;
  const s = Math.sign(start);
  const lo = Math.log10(Math.abs(start)),
    hi = Math.log10(Math.abs(stop));
  let y = multiply(power(10, linspace(lo, hi, num, { endpoint, dtype: 'float64' })), s);
  const i = arange(0, num, 'int32');
  if (num > 0) y = where(lessEqual(i, 0), start, y);
  if (num > 1 && endpoint) y = where(i.equal(num - 1), stop, y);
  return astype(y, dtypeArg(opts.dtype, op) ?? 'float32');
}
