// Array methods of the sorting and scan ops. Unlike numpy's in-place `a.sort()` and
// `a.partition()`, these return new arrays (kiln arrays are immutable handles).
import { NDArray } from '../core/array.js';
import * as so from './sort.js';
import * as sc from './scan.js';

declare module '../core/array.js' {
  interface NDArray {
    sort(axis?: so.SortAxis): NDArray;
    argsort(axis?: so.SortAxis): NDArray;
    partition(kth: number | readonly number[], axis?: so.SortAxis): NDArray;
    argpartition(kth: number | readonly number[], axis?: so.SortAxis): NDArray;
    searchsorted(v: NDArray | number | boolean | bigint | readonly unknown[], opts?: so.SearchSortedOptions): NDArray;
    cumsum(axis?: number | null | sc.AccumulateOptions, opts?: sc.AccumulateOptions): NDArray;
    cumprod(axis?: number | null | sc.AccumulateOptions, opts?: sc.AccumulateOptions): NDArray;
    cummax(axis?: number | null | sc.ScanOptions, opts?: sc.ScanOptions): NDArray;
    cummin(axis?: number | null | sc.ScanOptions, opts?: sc.ScanOptions): NDArray;
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
