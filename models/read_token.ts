// Reading sampled token ids back to JS.
import type { NDArray } from '../core/array.js';

/** The int32 tokens of an array, in row-major order (evaluating it if needed). */
export function readTokens(y: NDArray): number[] {
  return Array.from(y.toTypedArray() as Int32Array);
}
