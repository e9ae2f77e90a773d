// Counting into bins: histogram, histogram2d, bincount, digitize. Bin indices come from
// searchsorted against the edges (the last edge is inclusive, as numpy), counts from a
// scatter-add. Edge computation for a number of bins reads the data range (a synchronisation
// point unless `range` is given); bincount reads max(x) for its length.
import type { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import { isFloating, isInteger } from '../core/dtype.js';
import { fmtShape, fmtValue } from '../core/shape.js';
import { arrayFrom, asArray, checkOptions, type ArrayInput } from './convert.js';
import { zeros } from './creation.js';
import { add, astype, divide, equal, greater, less, logicalOr, multiply, subtract, where } from './elementwise.js';
import { max, min, sum } from './reduce.js';
import { searchsorted } from './sort.js';
import { scatterFlat } from './take_scatter.js';
import { reshape, slice } from './views.js';
import { diff, flip } from './shape.js';

/** numpy's linspace(first, last, n + 1) in float64: i·step + first, the last edge exactly `last` */
function uniformEdges(first: number, last: number, n: number): Float64Array {
  const e = new Float64Array(n + 1);
  const step = (last - first) / n;
  for (let i = 0; i <= n; i++) e[i] = i * step + first;
  e[n] = last;
  return e;
}

const edgeType = (x: NDArray): DType => (isFloating(x.dtype) && x.dtype !== 'float64' ? x.dtype : 'float64');

function resolveEdges(x: NDArray, bins: number | ArrayInput, range: readonly [number, number] | undefined, op: string): NDArray {
  const dt = edgeType(x);
  if (typeof bins === 'number') {
    if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`[${op}] bins must be a positive integer, got ${fmtValue(bins)}`);
    let first: number, last: number;
    if (range !== undefined) {
      if (!Array.isArray(range) || range.length !== 2) throw new TypeError(`[${op}] range must be [min, max], got ${fmtValue(range)}`);
      [first, last] = range;
      if (!(first <= last)) throw new RangeError(`[${op}] max must be larger than min in range, got ${fmtValue(range)}`);
      if (!Number.isFinite(first) || !Number.isFinite(last)) throw new RangeError(`[${op}] supplied range of ${fmtValue(range)} is not finite`);
    } else if (x.size === 0) {
      [first, last] = [0, 1];
    } else {
      first = Number(min(x).item());
      last = Number(max(x).item());
      if (!Number.isFinite(first) || !Number.isFinite(last)) throw new RangeError(`[${op}] autodetected range of [${first}, ${last}] is not finite`);
    }
    if (first === last) {
      first -= 0.5;
      last += 0.5;
    }
    return arrayFrom(uniformEdges(first, last, bins), 'float64', op).astype(dt);
  }
  const e = asArray(bins, op);
  if (e.ndim !== 1 || e.size < 2) throw new Error(`[${op}] bins must be a positive integer or a 1-d array of at least 2 edges, got shape ${fmtShape(e.shape)}`);
  const h = Array.from(e.toTypedArray() as ArrayLike<number>, Number);
  for (let i = 1; i < h.length; i++) if (!(h[i] >= h[i - 1])) throw new Error(`[${op}] bins must increase monotonically, got ${fmtValue(h)}`);
  return astype(e, isFloating(e.dtype) ? e.dtype : 'float64');
}

/** bin of each value (0..n-1), or n for values outside [first, last] (and NaN) */
function binIndex(x: NDArray, edges: NDArray): NDArray {
  const n = edges.size - 1;
  const dt = edges.dtype === 'float64' || x.dtype === 'float64' ? 'float64' : edges.dtype;
  const xf = astype(x, dt),
    ef = astype(edges, dt);
  const first = slice(ef, [{ stop: 1 }]),
    last = slice(ef, [{ start: n }]);
  let i = subtract(searchsorted(ef, xf, { side: 'right' }), 1);
  i = where(equal(xf, last), n - 1, i);
  const out = logicalOr(logicalOr(less(xf, first), greater(xf, last)), xf.isnan());
  return where(out, n, i);
}

function countBins(idx: NDArray, nbins: number, weights: NDArray | undefined, op: string): NDArray {
  const dt: DType = weights ? (weights.dtype === 'float64' ? 'float64' : isInteger(weights.dtype) || weights.dtype === 'bool' ? 'int32' : 'float32') : 'int32';
  const base = zeros([nbins + 1], dt);
  const vals = weights ? astype(weights, dt) : 1;
  return slice(scatterFlat(op, base, astype(reshape(idx, [idx.size]), 'int32'), typeof vals === 'number' ? vals : reshape(vals, [idx.size]), 'add'), [
    { stop: nbins },
  ]);
}

export interface HistogramOptions {
  /** [min, max] of the bins when `bins` is a number (default: the data's range) */
  range?: readonly [number, number];
  /** a weight per value (same shape as a); the counts become sums of weights */
  weights?: ArrayInput;
  /** divide by the total and the bin widths, so the histogram integrates to 1 */
  density?: boolean;
}

function checkWeights(w: ArrayInput | undefined, x: NDArray, op: string): NDArray | undefined {
  if (w === undefined) return undefined;
  const wa = asArray(w, op);
  if (wa.ndim !== x.ndim || wa.shape.some((d, i) => d !== x.shape[i]))
    throw new Error(`[${op}] weights of shape ${fmtShape(wa.shape)} should have the same shape as a ${fmtShape(x.shape)}`);
  return wa;
}

/**
 * Histogram of the flattened data (numpy's histogram): `bins` is a number of equal bins over
 * `range` (default the data's min..max) or the edges; every bin is half-open but the last.
 * Returns [counts (int32, or the weights' sums), edges].
 * @example
 * const [h, e] = kn.histogram(kn.array([1, 2, 2, 3, 4]), 3);
 * h.tolist() // [1, 2, 2]
 * e.tolist() // [1, 2, 3, 4]
 */
export function histogram(a: ArrayInput, bins: number | ArrayInput = 10, opts: HistogramOptions = {}): [NDArray, NDArray] {
  const op = 'histogram';
  checkOptions(opts, op, '{ range: [0, 1] }');
  const x0 = asArray(a, op);
  const w = checkWeights(opts.weights, x0, op);
  const x = reshape(x0, [x0.size]);
  const edges = resolveEdges(x, bins, opts.range, op);
  const n = edges.size - 1;
  let h = countBins(binIndex(x, edges), n, w, op);
  if (opts.density) {
    const widths = astype(diff(edges), 'float64');
    h = astype(divide(divide(astype(h, 'float64'), widths), sum(astype(h, 'float64'))), edgeType(x) === 'float64' ? 'float64' : edges.dtype);
  }
  return [h, edges];
}

/**
 * 2-d histogram of points (x[i], y[i]) (numpy's histogram2d): `bins` is a number, [nx, ny], or
 * [xEdges, yEdges]; `range` is [[xmin, xmax], [ymin, ymax]]. Returns [H [nx, ny], xEdges, yEdges].
 * @example
 * const [h] = kn.histogram2d(kn.array([0, 1, 1]), kn.array([0, 0, 1]), 2);
 * h.tolist() // [[1, 0], [1, 1]]
 */
export function histogram2d(
  x: ArrayInput,
  y: ArrayInput,
  bins: number | readonly [number | ArrayInput, number | ArrayInput] = 10,
  opts: { range?: readonly [readonly [number, number], readonly [number, number]]; weights?: ArrayInput; density?: boolean } = {},
): [NDArray, NDArray, NDArray] {
  const op = 'histogram2d';
  checkOptions(opts, op, '{ range: [[0, 1], [0, 1]] }');
  const xa = asArray(x, op),
    ya = asArray(y, op);
  if (xa.ndim !== 1 || ya.ndim !== 1 || xa.size !== ya.size)
    throw new Error(`[${op}] x and y must be 1-d of the same length, got shapes ${fmtShape(xa.shape)} and ${fmtShape(ya.shape)}`);
  const w = checkWeights(opts.weights, xa, op);
  let bx: number | ArrayInput, by: number | ArrayInput;
  if (typeof bins === 'number') bx = by = bins;
  else if (Array.isArray(bins) && bins.length === 2) [bx, by] = bins;
  else bx = by = bins as ArrayInput; // one array of edges for both
  const ex = resolveEdges(xa, bx, opts.range?.[0], op),
    ey = resolveEdges(ya, by, opts.range?.[1], op);
  const nx = ex.size - 1,
    ny = ey.size - 1;
  const ix = binIndex(xa, ex),
    iy = binIndex(ya, ey);
  const outside = logicalOr(equal(ix, nx), equal(iy, ny));
  const flat = where(outside, nx * ny, add(multiply(ix, ny), iy));
  let h = reshape(countBins(flat, nx * ny, w, op), [nx, ny]);
  if (opts.density) {
    const area = multiply(reshape(astype(diff(ex), 'float64'), [nx, 1]), reshape(astype(diff(ey), 'float64'), [1, ny]));
    const hf = astype(h, 'float64');
    h = divide(divide(hf, area), sum(hf));
  }
  return [h, ex, ey];
}

/**
 * Counts of each non-negative integer in a 1-d array (numpy's bincount): length max(x) + 1 (at
 * least minlength); with weights, sums of the weights. Synchronisation point (reads max(x)).
 * @example kn.bincount(kn.array([0, 1, 1, 3])).tolist() // [1, 2, 0, 1]
 * @example kn.bincount(kn.array([0, 1, 1]), { weights: [0.5, 1, 2] }).tolist() // [0.5, 3]
 */
export function bincount(x: ArrayInput, opts: { weights?: ArrayInput; minlength?: number } = {}): NDArray {
  const op = 'bincount';
  checkOptions(opts, op, '{ minlength: 4 }');
  const xa = asArray(x, op);
  if (xa.ndim !== 1) throw new Error(`[${op}] x must be 1-d, got shape ${fmtShape(xa.shape)}`);
  if (!isInteger(xa.dtype) && xa.dtype !== 'bool') throw new TypeError(`[${op}] x must hold integers, got ${xa.dtype}`);
  const minlength = opts.minlength ?? 0;
  if (!Number.isInteger(minlength) || minlength < 0) throw new RangeError(`[${op}] minlength must be a non-negative integer, got ${fmtValue(minlength)}`);
  const w = checkWeights(opts.weights, xa, op);
  let len = minlength;
  if (xa.size > 0) {
    const lo = Number(min(xa).item());
    if (lo < 0) throw new RangeError(`[${op}] x must be non-negative, got a minimum of ${lo}`);
    len = Math.max(len, Number(max(xa).item()) + 1);
  }
  const dt: DType = w ? (w.dtype === 'float64' ? 'float64' : 'float32') : 'int32';
  return scatterFlat(op, zeros([len], dt), astype(xa, 'int32'), w ? astype(w, dt) : 1, 'add');
}

/**
 * Index of the bin each value falls in (numpy's digitize): for increasing bins, i with
 * bins[i-1] <= x < bins[i] (`right: true`: bins[i-1] < x <= bins[i]); decreasing bins mirror
 * this. Reads the bins to check they are monotonic.
 * @example kn.digitize(kn.array([0.5, 1, 2.5]), kn.array([1, 2, 3])).tolist() // [0, 1, 2]
 */
export function digitize(x: ArrayInput, bins: ArrayInput, opts: { right?: boolean } = {}): NDArray {
  const op = 'digitize';
  checkOptions(opts, op, '{ right: true }');
  const xa = asArray(x, op),
    b = asArray(bins, op);
  if (b.ndim !== 1) throw new Error(`[${op}] bins must be 1-d, got shape ${fmtShape(b.shape)}`);
  const h = Array.from(b.toTypedArray() as ArrayLike<number>, Number);
  const inc = h.every((v, i) => i === 0 || v >= h[i - 1]),
    dec = h.every((v, i) => i === 0 || v <= h[i - 1]);
  if (!inc && !dec) throw new Error(`[${op}] bins must be monotonically increasing or decreasing, got ${fmtValue(h)}`);
  const side = opts.right ? 'left' : 'right';
  if (inc) return searchsorted(b, xa, { side });
  return subtract(b.size, searchsorted(flip(b), xa, { side }));
}
