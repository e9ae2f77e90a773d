// The fine-tuning loss (mlx-lm's): logits of tokens[:, :-1] against tokens[:, 1:], cross-entropy
// summed over the target positions t (1-based in the row) with offset <= t < length, divided by
// their count. Positions before the offset are the masked prompt; those from the length on are
// padding.
import type { NDArray } from '../../core/array.js';
import { arange } from '../../ops/creation.js';
import { astype, divide, greaterEqual, less, logicalAnd, multiply } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { expandDims } from '../../ops/views.js';
import { slice } from '../../ops/views.js';
import { crossEntropy } from '../../nn/losses.js';

/** A model as the loss sees it: int32 tokens [B, L] -> logits [B, L, V]. */
export interface Forward {
  forward(tokens: NDArray): NDArray;
}

/**
 * The target mask [B, T-1] (float32): 1 where offset <= t < length, t = 1..T-1.
 * @example
 * kn.models.lora.targetMask(kn.array([3, 2], 'int32'), kn.array([1, 0], 'int32'), 4) // [[1, 1, 0], [1, 0, 0]]
 */
export function targetMask(lengths: NDArray, offsets: NDArray, T: number): NDArray {
  const steps = expandDims(arange(1, T, 1, 'int32'), 0);
  return astype(logicalAnd(greaterEqual(steps, expandDims(offsets, 1)), less(steps, expandDims(lengths, 1))), 'float32');
}

/**
 * [mean loss over the target tokens, their count] of a batch (tokens [B, T] int32, lengths and
 * prompt offsets [B] int32).
 * @example
 * const m = kn.models.createModel({ model_type: 'llama', hidden_size: 32, num_hidden_layers: 1, intermediate_size: 64, num_attention_heads: 4, vocab_size: 50 });
 * const [, n] = kn.models.lora.lossAndCount(m, kn.array([[1, 2, 3, 4]], 'int32'), kn.array([4], 'int32'), kn.array([2], 'int32'));
 * n // 2
 */
export function lossAndCount(model: Forward, tokens: NDArray, lengths: NDArray, offsets: NDArray): [NDArray, NDArray] {
  const T = tokens.shape[1];
  if (tokens.ndim !== 2 || T < 2) throw new Error(`[lora.loss] tokens must be [batch, length >= 2], got shape [${tokens.shape.join(', ')}]`);
  const inputs = slice(tokens, [{}, { stop: T - 1 }]);
  const targets = slice(tokens, [{}, { start: 1 }]);
  const logits = astype(model.forward(inputs), 'float32');
  const mask = targetMask(lengths, offsets, T);
  const ntoks = sum(mask);
  const ce = multiply(crossEntropy(logits, targets), mask);
  return [divide(sum(ce), ntoks), ntoks];
}
