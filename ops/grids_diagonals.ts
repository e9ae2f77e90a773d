// More creation ops, composed from arange, comparisons, where and views (no new primitive):
// linspace, eye, identity, tri, tril, triu, diag, diagonal, meshgrid.
import { NDArray } from '../core/array.js';
import { isFloating, type DType } from '../core/dtype.js';
import { fmtShape, fmtValue, normalizeAxis, sizeOf } from '../core/shape.js';
import { arange, zeros } from './creation.js';
import { asArray, dtypeArg, type DTypeArg, type NestedInput } from './convert.js';
import { add, astype, equal, floor, lessEqual, multiply, where } from './elementwise.js';
import { pad } from './shape.js';
import { asStrided, broadcastTo, reshape, transpose } from './views.js';

function checkCount(n: unknown, op: string, what: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new TypeError(`[${op}] ${what} must be a non-negative integer, got ${fmtValue(n)}`);
  return n;
}

function checkInt(k: unknown, op: string, what: string): number {
  if (typeof k !== 'number' || !Number.isInteger(k)) throw new TypeError(`[${op}] ${what} must be an integer, got ${fmtValue(k)}`);
  return k;
}

export interface LinspaceOptions {
  /** include `stop` as the last sample (default true) */
  endpoint?: boolean;
  dtype?: DType;
}

/**
 * `num` evenly spaced samples from `start` to `stop` (numpy's formula; default dtype float32 as
 * in MLX; integer dtypes compute in float64 and take the floor like numpy 2).
 * @example kn.linspace(0, 1, 5).tolist() // [0, 0.25, 0.5, 0.75, 1]
 * @example kn.linspace(0, 1, 4, { endpoint: false }).tolist() // [0, 0.25, 0.5, 0.75]
 */
export function linspace(start: number, stop: number, num = 50, opts: LinspaceOptions | DType = {}): NDArray {
  if (typeof start !== 'number' || typeof stop !== 'number' || !Number.isFinite(start) || !Number.isFinite(stop))
    throw new TypeError(`[linspace] start and stop must be finite numbers, got ${fmtValue(start)} and ${fmtValue(stop)}`);
  checkCount(num, 'linspace', 'num');
  const o: LinspaceOptions = typeof opts === 'string' ? { dtype: opts } : (opts ?? {});
  const dt = dtypeArg(o.dtype, 'linspace') ?? 'float32';
  if (dt === 'bool') throw new TypeError('[linspace] dtype bool is not supported');
  const endpoint = o.endpoint ?? true;
  if (typeof endpoint !== 'boolean') throw new TypeError(`[linspace] endpoint must be a boolean, got ${fmtValue(endpoint)}`);
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : NaN;
  // float32 targets compute in float32 (as MLX; no float64 round trip), the rest in float64
  const ct: DType = dt === 'float64' || !isFloating(dt) ? 'float64' : 'float32';
  const i = arange(0, num, ct);
  let y = div > 0 ? add(multiply(i, step), start) : add(i, start); // num <= 1 gives [start]
  if (endpoint && num > 1) y = where(equal(i, num - 1), stop, y);
  if (!isFloating(dt)) y = floor(y);
  return astype(y, dt);
}

/** [n, m] bool mask with true where column - row == k (or <= k when `lower`). */
function bandMask(n: number, m: number, k: number, lower: boolean): NDArray {
  const rows = add(reshape(arange(0, n, 'int32'), [n, 1]), k);
  const cols = reshape(arange(0, m, 'int32'), [1, m]);
  return lower ? lessEqual(cols, rows) : equal(cols, rows);
}

/** `eye(n, 'bool')`, `eye(n, m, 'int8')`: a dtype may stand in any trailing position. */
function dtypeLast(m: unknown, k: unknown, dtype: DTypeArg): [number | null | undefined, number, DTypeArg] {
  const isDt = (x: unknown) => typeof x === 'string' || (x !== null && typeof x === 'object');
  if (isDt(m)) return [undefined, 0, m as DTypeArg];
  if (isDt(k)) return [m as number | null | undefined, 0, k as DTypeArg];
  return [m as number | null | undefined, k as number, dtype];
}

/**
 * A 2-d array with ones on the k-th diagonal and zeros elsewhere (default float32, as MLX).
 * @example kn.eye(3).tolist() // [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
 * @example kn.eye(2, 3, 1, 'int32').tolist() // [[0, 1, 0], [0, 0, 1]]
 * @example kn.eye(2, 'bool').tolist() // [[true, false], [false, true]]
 */
export function eye(n: number, m?: number | null | DTypeArg, k: number | DTypeArg = 0, dtype?: DTypeArg): NDArray {
  [m, k, dtype] = dtypeLast(m, k, dtype);
  checkCount(n, 'eye', 'n');
  const mm = m === undefined || m === null ? n : checkCount(m, 'eye', 'm');
  checkInt(k, 'eye', 'k');
  return astype(bandMask(n, mm, k, false), dtypeArg(dtype, 'eye') ?? 'float32');
}

/** The n×n identity matrix. @example kn.identity(2).tolist() // [[1, 0], [0, 1]] */
export function identity(n: number, dtype?: DTypeArg): NDArray {
  return eye(n, n, 0, dtypeArg(dtype, 'identity') ?? 'float32');
}

/**
 * Ones at and below the k-th diagonal, zeros above (numpy's tri).
 * @example kn.tri(3, 3, 0, 'int32').tolist() // [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
 */
export function tri(n: number, m?: number | null | DTypeArg, k: number | DTypeArg = 0, dtype?: DTypeArg): NDArray {
  [m, k, dtype] = dtypeLast(m, k, dtype);
  checkCount(n, 'tri', 'n');
  const mm = m === undefined || m === null ? n : checkCount(m, 'tri', 'm');
  checkInt(k, 'tri', 'k');
  return astype(bandMask(n, mm, k, true), dtypeArg(dtype, 'tri') ?? 'float32');
}

function triangle(a: NDArray, k: number, op: 'tril' | 'triu'): NDArray {
  const x = asArray(a, op);
  checkInt(k, op, 'k');
  if (x.ndim < 2) throw new Error(`[${op}] array must be at least 2-d, got shape ${fmtShape(x.shape)}`);
  const [n, m] = x.shape.slice(-2);
  // tril keeps col - row <= k; triu keeps col - row >= k, i.e. drops col - row <= k - 1
  const mask = bandMask(n, m, op === 'tril' ? k : k - 1, true);
  const zero = zeros([], x.dtype);
  return op === 'tril' ? where(mask, x, zero) : where(mask, zero, x);
}

/**
 * Lower triangle of the last two axes: elements above the k-th diagonal become zero.
 * @example kn.tril(kn.ones([3, 3], 'int32')).tolist() // [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
 */
export function tril(a: NDArray, k = 0): NDArray {
  return triangle(a, k, 'tril');
}

/**
 * Upper triangle of the last two axes: elements below the k-th diagonal become zero.
 * @example kn.triu(kn.ones([3, 3], 'int32'), 1).tolist() // [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
 */
export function triu(a: NDArray, k = 0): NDArray {
  return triangle(a, k, 'triu');
}

/**
 * numpy's diagonal: the `offset` diagonal of the (axis1, axis2) planes, as the last axis. It is a
 * strided view of a row-major copy (free when `a` is already row-major).
 * @example kn.diagonal(kn.arange(9).reshape([3, 3])).tolist() // [0, 4, 8]
 * @example kn.diagonal(kn.arange(9).reshape([3, 3]), 1).tolist() // [1, 5]
 */
export function diagonal(a: NDArray, offset = 0, axis1 = 0, axis2 = 1): NDArray {
  const x = asArray(a, 'diagonal');
  checkInt(offset, 'diagonal', 'offset');
  if (x.ndim < 2) throw new Error(`[diagonal] array must be at least 2-d, got shape ${fmtShape(x.shape)}`);
  const i = normalizeAxis(axis1, x.ndim, 'diagonal'),
    j = normalizeAxis(axis2, x.ndim, 'diagonal');
  if (i === j) throw new Error(`[diagonal] axis1 and axis2 must differ, got ${axis1} and ${axis2}`);
  const sh = x.shape;
  const st: number[] = [];
  for (let d = sh.length - 1, acc = 1; d >= 0; d--) {
    st[d] = acc;
    acc *= sh[d];
  }
  const len = Math.max(0, Math.min(sh[i] - Math.max(0, -offset), sh[j] - Math.max(0, offset)));
  const rest = sh.map((_, d) => d).filter((d) => d !== i && d !== j);
  const shape = [...rest.map((d) => sh[d]), len];
  if (sizeOf(shape) === 0) return zeros(shape, x.dtype);
  const strides = [...rest.map((d) => st[d]), st[i] + st[j]];
  const start = offset >= 0 ? offset * st[j] : -offset * st[i];
  return asStrided(x, shape, strides, start);
}

/**
 * A 1-d array becomes a square matrix with it on the k-th diagonal; a 2-d array gives its k-th
 * diagonal.
 * @example kn.diag(kn.array([1, 2])).tolist() // [[1, 0], [0, 2]]
 * @example kn.diag(kn.array([[1, 2], [3, 4]])).tolist() // [1, 4]
 */
export function diag(v: NDArray, k = 0): NDArray {
  const x = asArray(v, 'diag');
  checkInt(k, 'diag', 'k');
  if (x.ndim === 2) return diagonal(x, k);
  if (x.ndim !== 1) throw new Error(`[diag] input must be 1-d or 2-d, got shape ${fmtShape(x.shape)}`);
  const a = Math.abs(k),
    n = x.size + a;
  // row i holds v[i] on the diagonal when k >= 0; column j holds v[j] when k < 0
  const padded = pad(x, [[0, a]]);
  const vals = k >= 0 ? reshape(padded, [n, 1]) : reshape(padded, [1, n]);
  return where(bandMask(n, n, k, false), vals, zeros([], x.dtype));
}

export interface MeshgridOptions {
  /** 'xy' (Cartesian, default: the first two output axes are swapped) or 'ij' (matrix) */
  indexing?: 'xy' | 'ij';
  /** return broadcastable arrays instead of full grids */
  sparse?: boolean;
}

const isOptions = (x: unknown): x is MeshgridOptions =>
  x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof NDArray) && !ArrayBuffer.isView(x);

/**
 * Coordinate grids from 1-d coordinate vectors (inputs of other ranks are flattened, as numpy).
 * Outputs are broadcast views.
 * @example
 * const [X, Y] = kn.meshgrid(kn.array([1, 2, 3]), kn.array([4, 5]));
 * X // [[1, 2, 3], [1, 2, 3]]
 * Y // [[4, 4, 4], [5, 5, 5]]
 * @example kn.meshgrid(kn.arange(2), kn.arange(3), { indexing: 'ij' })[0].shape // [2, 3]
 */
export function meshgrid(...args: (NDArray | NestedInput | MeshgridOptions)[]): NDArray[] {
  const last = args[args.length - 1];
  const opts: MeshgridOptions = args.length && isOptions(last) ? (args.pop() as MeshgridOptions) : {};
  const indexing = opts.indexing ?? 'xy';
  if (indexing !== 'xy' && indexing !== 'ij') throw new Error(`[meshgrid] indexing must be 'xy' or 'ij', got ${fmtValue(indexing)}`);
  const xs = args.map((a) => {
    const x = asArray(a, 'meshgrid');
    return reshape(x, [x.size]);
  });
  const nd = xs.length;
  const shapes = xs.map((x, i) => {
    const s = new Array<number>(nd).fill(1);
    s[i] = x.size;
    return s;
  });
  const swap = indexing === 'xy' && nd >= 2;
  const perm = Array.from({ length: nd }, (_, i) => i);
  if (swap) [perm[0], perm[1]] = [perm[1], perm[0]];
  const full = perm.map((p) => xs[p].size);
  return xs.map((x, i) => {
    const g = transpose(reshape(x, shapes[i]), perm);
    return opts.sparse ? g : broadcastTo(g, full);
  });
}
