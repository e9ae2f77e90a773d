// Global gradient-norm clipping across a whole tree of gradients (MLX's clip_grad_norm).
import { NDArray } from '../../core/array.js';
import { isFloating } from '../../core/dtype.js';
import { tidy } from '../../core/memory.js';
import { flatten, isContainer, map } from '../../core/tree.js';
import { add, astype, divide, less, multiply, sqrt, square, sum, where, zeros } from '../../ops/index.js';
import { checkNumber } from './validate.js';

/**
 * Scales every gradient by maxNorm / (‖g‖ + 1e-6) when the global L2 norm ‖g‖ over all leaves
 * reaches `maxNorm`; returns the (possibly scaled) tree and ‖g‖. Squares accumulate in float32
 * (float64 when any gradient is float64), so float16 gradients do not overflow.
 * @example
 * const [clipped, norm] = kn.optim.clipGradNorm({ w: kn.array([3, 4], 'float32') }, 1);
 * [norm, clipped.w] // [5, [0.6, 0.8]]
 */
export function clipGradNorm<T>(grads: T, maxNorm: number): [T, NDArray] {
  checkNumber('clipGradNorm', 'maxNorm', maxNorm, { min: 0 });
  if (!isContainer(grads)) throw new TypeError('[clipGradNorm] grads must be a tree (object, array or Map) of arrays');
  const leaves = flatten<unknown>(grads);
  for (const [path, g] of leaves) {
    if (!(g instanceof NDArray)) throw new TypeError(`[clipGradNorm] gradient '${path}' is not an array`);
    if (!isFloating(g.dtype)) throw new TypeError(`[clipGradNorm] gradient '${path}' has dtype ${g.dtype}, not a floating type`);
  }
  const acc = leaves.some(([, g]) => (g as NDArray).dtype === 'float64') ? 'float64' : 'float32';
  return tidy(() => {
    let sq: NDArray = zeros([], acc);
    for (const [, g] of leaves) sq = add(sq, sum(square(astype(g as NDArray, acc))));
    const total = sqrt(sq);
    const normalizer = divide(maxNorm, add(total, 1e-6));
    const small = less(total, maxNorm);
    const clipped = map((g: NDArray) => where(small, g, multiply(g, astype(normalizer, g.dtype))), grads) as T;
    return [clipped, total] as [T, NDArray];
  });
}
