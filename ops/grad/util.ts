// Helpers shared by the gradient and batching rules.
import type { NDArray } from '../../core/array.js';
import { isFloating } from '../../core/dtype.js';
import { moveaxis, broadcastTo, reshape } from '../views.js';

/** true when gradients flow through values of this array (floating and complex dtypes). */
export const differentiable = (a: NDArray): boolean => isFloating(a.dtype) || a.dtype === 'complex64';

/** `x` with its batch axis `ax` moved to the front (unbatched arrays are returned as they are). */
export function batchFirst(x: NDArray, ax: number | null): NDArray {
  return ax === null || ax === 0 ? x : moveaxis(x, ax, 0);
}

/**
 * Inputs of an elementwise node under vmap, all shaped [B, ...shape]: batched ones with the batch
 * axis first, unbatched ones broadcast (a free view).
 */
export function alignBatched(inputs: NDArray[], axes: readonly (number | null)[], shape: readonly number[]): NDArray[] {
  const B = batchSize(inputs, axes);
  return inputs.map((x, i) => {
    if (axes[i] === null) return broadcastTo(x, [B, ...shape]);
    const f = batchFirst(x, axes[i]);
    return f.ndim === shape.length + 1 ? f : reshape(f, [B, ...shape]);
  });
}

export function batchSize(inputs: NDArray[], axes: readonly (number | null)[]): number {
  const i = axes.findIndex((a) => a !== null);
  if (i < 0) throw new Error('[vmap] internal: a batching rule was called with no batched input');
  return inputs[i].shape[axes[i]!];
}
