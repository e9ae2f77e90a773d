// Sorting and selection: sort, argsort, partition, argpartition, topk (along one axis, moved last
// with a free view so one kernel works on rows) and searchsorted on a sorted 1-d array.
// Order is numpy's: NaN last, -0 equal to +0, float16/bfloat16 compared as floats.
import type { NDArray } from '../core/array.js';
import { promoteTypes, weakScalarPromote, type DType } from '../core/dtype.js';
import { SearchSorted, Sort, TopkIndexed } from '../core/primitives_sort.js';
import { fmtShape, fmtValue, normalizeAxis } from '../core/shape.js';
import { asArray } from './convert.js';
import { astype } from './elementwise.js';
import { take } from './take_scatter.js';
import { make, multi } from './make.js';
import { moveaxis, reshape } from './views.js';
import { complexUnsupported } from './complex/hooks.js';

/** Options of the sorting ops: the axis (default -1; null sorts the flattened array). */
export interface SortOptions {
  axis?: number | null;
}
export type SortAxis = number | null | undefined | SortOptions;

function axisOf(axis: SortAxis, op: string): number | null {
  if (axis !== null && typeof axis === 'object') {
    if (Array.isArray(axis)) throw new TypeError(`[${op}] axis must be a single integer or null, got ${fmtValue(axis)}`);
    return axis.axis === undefined ? -1 : axis.axis;
  }
  return axis === undefined ? -1 : axis;
}

/** The input with the op's axis last (flattened when axis is null), and the axis to restore. */
function prepare(a: unknown, axis: SortAxis, op: string): { x: NDArray; ax: number } {
  let x = asArray(a, op);
  if (x.dtype === 'complex64') throw complexUnsupported(op, 'complex64 arrays have no order (sort kn.abs or kn.real instead)');
  const ax0 = axisOf(axis, op);
  if (ax0 === null) return { x: reshape(x, [x.size]), ax: 0 };
  const ax = normalizeAxis(ax0, x.ndim, op);
  x = moveaxis(x, ax, -1);
  return { x, ax };
}

function sortNode(op: string, x: NDArray, k: number, dtype: DType, last: number): NDArray {
  const shape = [...x.shape.slice(0, -1), last];
  return make(Sort, { op, k }, [x], shape, dtype);
}

function kthOf(kth: unknown, n: number, op: string): number[] {
  const list = typeof kth === 'number' ? [kth] : kth;
  if (!Array.isArray(list) || list.length === 0) throw new TypeError(`[${op}] kth must be an integer or a non-empty array of integers, got ${fmtValue(kth)}`);
  return list.map((k: unknown) => {
    if (typeof k !== 'number' || !Number.isInteger(k)) throw new TypeError(`[${op}] kth must be integers, got ${fmtValue(kth)}`);
    if (k < -n || k >= n) throw new RangeError(`[${op}] kth ${k} is out of bounds for an axis of size ${n}`);
    return k < 0 ? k + n : k;
  });
}

/**
 * A sorted copy along `axis` (default -1; `null` sorts the flattened array). NaN sorts last, as
 * in numpy; every dtype is supported (float16/bfloat16 compare as floats).
 * @example kn.sort(kn.array([3, 1, 2])).tolist() // [1, 2, 3]
 * @example kn.sort(kn.array([[3, 1], [0, 2]]), 0).tolist() // [[0, 1], [3, 2]]
 */
export function sort(a: NDArray, axis?: SortAxis): NDArray {
  const { x, ax } = prepare(a, axis, 'sort');
  const n = x.shape[x.ndim - 1];
  return moveaxis(sortNode('sort', x, 0, x.dtype, n), -1, ax);
}

/**
 * Indices (int32) that sort `a` along `axis` (default -1; `null`: the flattened array). The sort
 * is stable: equal elements keep their order (numpy's kind='stable'); NaNs go last.
 * @example kn.argsort(kn.array([3, 1, 2, 1])).tolist() // [1, 3, 2, 0]
 */
export function argsort(a: NDArray, axis?: SortAxis): NDArray {
  const { x, ax } = prepare(a, axis, 'argsort');
  const n = x.shape[x.ndim - 1];
  return moveaxis(sortNode('argsort', x, 0, 'int32', n), -1, ax);
}

function partitionLike(op: 'partition' | 'argpartition', a: NDArray, kth: number | readonly number[], axis: SortAxis): NDArray {
  const { x, ax } = prepare(a, axis, op);
  const n = x.shape[x.ndim - 1];
  const ks = [...new Set(kthOf(kth, n, op))];
  const dtype = op === 'partition' ? x.dtype : 'int32';
  // several kth: a full sort puts every one of them in its sorted place
  const node = ks.length === 1 ? sortNode(op, x, ks[0], dtype, n) : sortNode(op === 'partition' ? 'sort' : 'argsort', x, 0, dtype, n);
  return moveaxis(node, -1, ax);
}

/**
 * numpy's partition: a copy where the element at index `kth` (negative counts from the end) is
 * the one a sort would put there, smaller-or-equal elements before it and greater-or-equal ones
 * after it, in unspecified order (NaN counts as greatest). Several kth: each is in place.
 * @example kn.partition(kn.array([5, 1, 4, 2, 3]), 2).index(2).item() // 3
 */
export function partition(a: NDArray, kth: number | readonly number[], axis?: SortAxis): NDArray {
  return partitionLike('partition', a, kth, axis);
}

/**
 * Indices (int32) that partition `a` around `kth` along `axis` (see `partition`).
 * @example kn.argpartition(kn.array([5, 1, 4, 2, 3]), 0).index(0).item() // 1
 */
export function argpartition(a: NDArray, kth: number | readonly number[], axis?: SortAxis): NDArray {
  return partitionLike('argpartition', a, kth, axis);
}

/**
 * The `k` largest elements along `axis` (default -1; MLX's topk). MLX leaves their order
 * unspecified; kiln returns them sorted in descending order (NaN counts as greatest, so NaNs come
 * first), computed with a selection and a sort of the k winners only.
 * @example kn.topk(kn.array([4, 9, 1, 7]), 2).tolist() // [9, 7]
 */
export function topk(a: NDArray, k: number, axis?: SortAxis): NDArray {
  const { x, ax } = prepare(a, axis, 'topk');
  const n = x.shape[x.ndim - 1];
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k > n)
    throw new RangeError(`[topk] k must be an integer in [0, ${n}] for an axis of size ${n}, got ${fmtValue(k)}`);
  return moveaxis(sortNode('topk', x, k, x.dtype, k), -1, ax);
}

/**
 * The `k` largest elements along `axis` (default -1) and their int32 indices along that axis, from
 * one kernel launch: descending, NaN first, equal values by ascending index (as topk, plus where
 * each value came from).
 * @example kn.topkWithIndices(kn.array([4, 9, 1, 7]), 2)[1].tolist() // [1, 3]
 */
export function topkWithIndices(a: NDArray, k: number, axis?: SortAxis): [NDArray, NDArray] {
  const { x, ax } = prepare(a, axis, 'topkWithIndices');
  const n = x.shape[x.ndim - 1];
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k > n)
    throw new RangeError(`[topkWithIndices] k must be an integer in [0, ${n}] for an axis of size ${n}, got ${fmtValue(k)}`);
  if (n > 2 ** 31 - 1) throw new RangeError(`[topkWithIndices] an axis of ${n} elements: the indices do not fit int32`);
  const shape = [...x.shape.slice(0, -1), k];
  const [values, indices] = multi(TopkIndexed, { k }, [x], [shape, shape], [x.dtype, 'int32']);
  return [moveaxis(values, -1, ax), moveaxis(indices, -1, ax)];
}

/** Options of searchsorted. */
export interface SearchSortedOptions {
  /** 'left' (default): the first index where v fits; 'right': the last */
  side?: 'left' | 'right';
  /** int indices that sort `a` (as from argsort), when `a` itself is not sorted */
  sorter?: NDArray | readonly number[];
}

/**
 * Indices (int32, the shape of `v`) where the values `v` would be inserted into the sorted 1-d
 * array `a` to keep it sorted: `a[i-1] < v <= a[i]` for side 'left', `a[i-1] <= v < a[i]` for
 * 'right'. Both are compared in their promoted dtype; NaN sorts last (numpy).
 * @example kn.searchsorted(kn.array([1, 2, 2, 3]), kn.array([2, 5])).tolist() // [1, 4]
 * @example kn.searchsorted(kn.array([1, 2, 2, 3]), 2, { side: 'right' }).item() // 3
 */
export function searchsorted(a: NDArray, v: NDArray | number | boolean | bigint | readonly unknown[], opts: SearchSortedOptions = {}): NDArray {
  let s = asArray(a, 'searchsorted');
  if (s.ndim !== 1) throw new Error(`[searchsorted] the sorted array must be 1-d, got shape ${fmtShape(s.shape)}`);
  const side = opts.side ?? 'left';
  if (side !== 'left' && side !== 'right') throw new TypeError(`[searchsorted] side must be 'left' or 'right', got ${fmtValue(side)}`);
  if (opts.sorter !== undefined) {
    const sorter = asArray(opts.sorter, 'searchsorted');
    if (sorter.ndim !== 1 || sorter.size !== s.size)
      throw new Error(`[searchsorted] sorter of shape ${fmtShape(sorter.shape)} must be 1-d with the array's ${s.size} elements`);
    s = take(s, sorter);
  }
  const scalar = typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint';
  let x = scalar ? undefined : asArray(v, 'searchsorted');
  const dt = scalar ? weakScalarPromote(s.dtype, v as number | boolean | bigint) : promoteTypes(s.dtype, x!.dtype);
  if (!x) x = asArray(v, 'searchsorted', dt);
  return make(SearchSorted, { side: side === 'left' ? 0 : 1 }, [astype(s, dt), astype(x, dt)], x.shape, 'int32');
}
