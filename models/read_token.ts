// Reading a sampled token id back to JS.
import type { NDArray } from '../core/array.js';

/** The int32 token in a size-1 array (evaluating it if needed). */
export function readToken(y: NDArray): number {
  return (y.toTypedArray() as Int32Array)[0];
}

/** The int32 tokens of a 1-d array. */
export function readTokens(y: NDArray): number[] {
  return Array.from(y.toTypedArray() as Int32Array);
}
