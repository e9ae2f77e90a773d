// Array methods of the sorting and scan ops. Unlike numpy's in-place `a.sort()` and
// `a.partition()`, these return new arrays (kiln arrays are immutable handles).
import { NDArray } from '../core/array.js';
import * as so from './sort.js';
import * as sc from './scan.js';

declare module '../core/array.js' {
  interface NDArray {
    /**
     * A sorted copy along `axis` (default -1; `null` sorts the flattened array); NaN sorts last. Same as `kn.sort(a, axis)`.
     * @example kn.array([3, 1, 2]).sort() // [1, 2, 3]
     * @example kn.array([[3, 1], [0, 2]]).sort(0) // [[0, 1], [3, 2]]
     */
    sort(axis?: so.SortAxis): NDArray;
    /**
     * Indices (int32) that sort along `axis` (default -1; `null`: flattened), stably. Same as `kn.argsort(a, axis)`.
     * @example kn.array([3, 1, 2, 1]).argsort() // [1, 3, 2, 0]
     */
    argsort(axis?: so.SortAxis): NDArray;
    /**
     * A copy with the element a sort would put at index `kth` there, smaller-or-equal ones before it and the rest after,
     * in unspecified order. Same as `kn.partition(a, kth, axis)`.
     * @example kn.array([5, 1, 4, 2, 3]).partition(2).index(2).item() // 3
     */
    partition(kth: number | readonly number[], axis?: so.SortAxis): NDArray;
    /**
     * Indices (int32) that partition around `kth` along `axis` (see partition). Same as `kn.argpartition(a, kth, axis)`.
     * @example kn.array([5, 1, 4, 2, 3]).argpartition(0).index(0).item() // 1
     */
    argpartition(kth: number | readonly number[], axis?: so.SortAxis): NDArray;
    /**
     * Indices (int32) where `v` would be inserted into this sorted 1-d array to keep it sorted (`side`: 'left' or 'right';
     * `sorter`: indices that sort it). Same as `kn.searchsorted(a, v, opts)`.
     * @example kn.array([1, 2, 2, 3]).searchsorted(kn.array([2, 5])) // [1, 4]
     * @example kn.array([1, 2, 2, 3]).searchsorted(2, { side: 'right' }) // 3
     */
    searchsorted(v: NDArray | number | boolean | bigint | readonly unknown[], opts?: so.SearchSortedOptions): NDArray;
    /**
     * Cumulative sum along `axis` (the flattened array when omitted); options `reverse`, `inclusive`, `dtype`. Same as `kn.cumsum(a, axis, opts)`.
     * @example kn.array([1, 2, 3]).cumsum() // [1, 3, 6]
     * @example kn.array([[1, 2], [3, 4]]).cumsum(0) // [[1, 2], [4, 6]]
     * @example kn.array([1, 2, 3]).cumsum({ reverse: true }) // [6, 5, 3]
     */
    cumsum(axis?: number | null | sc.AccumulateOptions, opts?: sc.AccumulateOptions): NDArray;
    /** Cumulative product along `axis` (options as cumsum). Same as `kn.cumprod(a, axis, opts)`. @example kn.array([1, 2, 3, 4]).cumprod() // [1, 2, 6, 24] */
    cumprod(axis?: number | null | sc.AccumulateOptions, opts?: sc.AccumulateOptions): NDArray;
    /**
     * Running maximum along `axis` (numpy's maximum.accumulate). Same as `kn.cummax(a, axis, opts)`.
     * @example kn.array([1, 3, 2, 5]).cummax() // [1, 3, 3, 5]
     */
    cummax(axis?: number | null | sc.ScanOptions, opts?: sc.ScanOptions): NDArray;
    /**
     * Running minimum along `axis` (numpy's minimum.accumulate). Same as `kn.cummin(a, axis, opts)`.
     * @example kn.array([4, 2, 3, 1]).cummin() // [4, 2, 2, 1]
     */
    cummin(axis?: number | null | sc.ScanOptions, opts?: sc.ScanOptions): NDArray;
    /**
     * log(cumsum(exp(a))) along `axis`, computed stably. Same as `kn.logcumsumexp(a, axis, opts)`.
     * @example kn.array([0, 0, 0]).logcumsumexp() // [0, 0.6931, 1.0986]
     */
    logcumsumexp(axis?: number | null | sc.ScanOptions, opts?: sc.ScanOptions): NDArray;
  }
}

Object.assign(NDArray.prototype as unknown as Record<string, unknown>, {
  sort(this: NDArray, axis?: so.SortAxis) {
    return so.sort(this, axis);
  },
  argsort(this: NDArray, axis?: so.SortAxis) {
    return so.argsort(this, axis);
  },
  partition(this: NDArray, kth: number | readonly number[], axis?: so.SortAxis) {
    return so.partition(this, kth, axis);
  },
  argpartition(this: NDArray, kth: number | readonly number[], axis?: so.SortAxis) {
    return so.argpartition(this, kth, axis);
  },
  searchsorted(this: NDArray, v: NDArray | number | boolean | bigint | readonly unknown[], opts?: so.SearchSortedOptions) {
    return so.searchsorted(this, v, opts);
  },
  cumsum(this: NDArray, axis?: number | null | sc.AccumulateOptions, opts?: sc.AccumulateOptions) {
    return sc.cumsum(this, axis, opts);
  },
  cumprod(this: NDArray, axis?: number | null | sc.AccumulateOptions, opts?: sc.AccumulateOptions) {
    return sc.cumprod(this, axis, opts);
  },
  cummax(this: NDArray, axis?: number | null | sc.ScanOptions, opts?: sc.ScanOptions) {
    return sc.cummax(this, axis, opts);
  },
  cummin(this: NDArray, axis?: number | null | sc.ScanOptions, opts?: sc.ScanOptions) {
    return sc.cummin(this, axis, opts);
  },
  logcumsumexp(this: NDArray, axis?: number | null | sc.ScanOptions, opts?: sc.ScanOptions) {
    return sc.logcumsumexp(this, axis, opts);
  },
});
