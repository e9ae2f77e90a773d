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
    clip(min: Operand | null, max: Operand | null): NDArray;
    diagonal(offset?: number, axis1?: number, axis2?: number): NDArray;
    diag(k?: number): NDArray;
    trace(offset?: number, axis1?: number, axis2?: number, opts?: { dtype?: DType }): NDArray;
    var(axis?: Axes | rx.VarOptions, opts?: rx.VarOptions): NDArray;
    std(axis?: Axes | rx.VarOptions, opts?: rx.VarOptions): NDArray;
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
