// Array methods for the composite ops (clip_compare, grids_diagonals, stats_softmax) that numpy
// or MLX offer as methods: clip, diagonal, diag, trace, var, std, logsumexp. Installed by importing this module (ops/index.ts does).
import { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import type { ReduceOptions } from './reduce.js';
import type { Operand } from './elementwise.js';
import { clip } from './clip_compare.js';
import { diag, diagonal } from './grids_diagonals.js';
import * as rx from './stats_softmax.js';

type Axes = number | readonly number[] | null | undefined;

declare module '../core/array.js' {
  interface NDArray {
    /**
     * Limits values to [min, max]; either bound may be null (not both); NaN stays NaN. Same as `kn.clip(a, min, max)`.
     * @example kn.array([-2, 0.5, 3]).clip(0, 1) // [0, 0.5, 1]
     * @example kn.array([1, 5]).clip(null, 2) // [1, 2]
     */
    clip(min: Operand | null, max: Operand | null): NDArray;
    /**
     * The `offset` diagonal of the (axis1, axis2) planes, as the last axis (defaults 0, 0, 1). Same as `kn.diagonal(a, offset, axis1, axis2)`.
     * @example kn.arange(9).reshape(3, 3).diagonal() // [0, 4, 8]
     * @example kn.arange(9).reshape(3, 3).diagonal(1) // [1, 5]
     */
    diagonal(offset?: number, axis1?: number, axis2?: number): NDArray;
    /**
     * A 1-d array becomes a square matrix with it on the k-th diagonal; a 2-d array gives its k-th diagonal. Same as `kn.diag(a, k)`.
     * @example kn.array([1, 2]).diag() // [[1, 0], [0, 2]]
     * @example kn.array([[1, 2], [3, 4]]).diag(1) // [2]
     */
    diag(k?: number): NDArray;
    /**
     * Sum along a diagonal (`offset`, `axis1`, `axis2` as in diagonal; `dtype` option). Same as `kn.trace(a, offset, axis1, axis2, opts)`.
     * @example kn.array([[1, 2], [3, 4]]).trace() // 5
     */
    trace(offset?: number, axis1?: number, axis2?: number, opts?: { dtype?: DType }): NDArray;
    /**
     * Variance over `axis` (all axes when omitted); options `ddof` (divisor N - ddof) and `keepdims`. Same as `kn.var(a, axis, opts)`.
     * @example kn.array([1, 2, 3, 4]).var() // 1.25
     * @example kn.array([1, 2, 3, 4]).var(0, { ddof: 1 }) // 1.6667
     */
    var(axis?: Axes | rx.VarOptions, opts?: rx.VarOptions): NDArray;
    /**
     * Standard deviation, sqrt(var), with the same axis, `ddof` and `keepdims` options. Same as `kn.std(a, axis, opts)`.
     * @example kn.array([1, 2, 3, 4]).std() // 1.118
     */
    std(axis?: Axes | rx.VarOptions, opts?: rx.VarOptions): NDArray;
    /**
     * log(sum(exp(a))) over `axis` (all axes when omitted), computed stably. Same as `kn.logsumexp(a, axis, opts)`.
     * @example kn.array([1000, 1000]).logsumexp() // 1000.6932 (float32)
     * @example kn.array([[0, 0], [1, 1]]).logsumexp(1) // [0.6931, 1.6931]
     */
    logsumexp(axis?: Axes | ReduceOptions, opts?: ReduceOptions): NDArray;
  }
}

Object.assign(NDArray.prototype as unknown as Record<string, unknown>, {
  clip(this: NDArray, min: Operand | null, max: Operand | null) {
    return clip(this, min, max);
  },
  diagonal(this: NDArray, offset?: number, axis1?: number, axis2?: number) {
    return diagonal(this, offset, axis1, axis2);
  },
  diag(this: NDArray, k?: number) {
    return diag(this, k);
  },
  trace(this: NDArray, offset?: number, axis1?: number, axis2?: number, opts?: { dtype?: DType }) {
    return rx.trace(this, offset, axis1, axis2, opts);
  },
  var(this: NDArray, axis?: Axes | rx.VarOptions, opts?: rx.VarOptions) {
    return rx.var(this, axis, opts);
  },
  std(this: NDArray, axis?: Axes | rx.VarOptions, opts?: rx.VarOptions) {
    return rx.std(this, axis, opts);
  },
  logsumexp(this: NDArray, axis?: Axes | ReduceOptions, opts?: ReduceOptions) {
    return rx.logsumexp(this, axis, opts);
  },
});
