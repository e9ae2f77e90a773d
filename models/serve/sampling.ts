// Per-request sampling inside a continuous batch: each sequence keeps its own sampler (with its
// own key sequence when seeded, so a seeded request draws the same tokens whatever else is in
// the batch) and its own penalties over the tokens it generated so far.
import type { NDArray } from '../../core/array.js';
import * as ops from '../../ops/index.js';
import { presenceFrequencyPenalty, samplerFrom, type Sampler } from '../sample.js';

/** The sampling fields of one request (OpenAI's, validated). */
export interface SamplingParams {
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  seed: number | null;
  presencePenalty: number;
  frequencyPenalty: number;
  /** token id -> bias added to its logit */
  logitBias: Map<number, number> | null;
  /** report the chosen token's log-probability */
  logprobs: boolean;
  /** and this many most likely alternatives (0..20) */
  topLogprobs: number;
}

/** One row's lazily built outputs: the token and, when asked, its log-probability and the top alternatives. */
export interface RowSample {
  token: NDArray;
  chosen: NDArray | null;
  topValues: NDArray | null;
  topIndices: NDArray | null;
}

/** Draws one sequence's tokens from rows of log-probabilities [1, V]. */
export class SeqSampler {
  readonly params: SamplingParams;
  readonly #sampler: Sampler;

  constructor(p: SamplingParams) {
    this.params = p;
    this.#sampler = samplerFrom({ temp: p.temperature, topP: p.topP, topK: p.topK, minP: p.minP, ...(p.seed !== null ? { seed: p.seed } : {}) }, 'serve');
  }

  /** Whether the batch-wide argmax gives this sequence's token (greedy, no processing, no logprobs). */
  get plainGreedy(): boolean {
    const p = this.params;
    return p.temperature === 0 && !p.logitBias && p.presencePenalty === 0 && p.frequencyPenalty === 0 && !p.logprobs;
  }

  /** Builds the sample of one row `lp` [1, V] given the tokens generated so far (call inside kn.tidy). */
  build(lp: NDArray, generated: readonly number[]): RowSample {
    const p = this.params;
    let x = lp;
    let changed = false;
    if (p.logitBias) {
      const V = lp.shape[1];
      const ids = [...p.logitBias.keys()].filter((i) => i < V);
      const idx = ops.reshape(ops.array(Int32Array.from(ids), 'int32'), [1, ids.length]);
      const vals = ops.reshape(ops.array(Float32Array.from(ids.map((i) => p.logitBias!.get(i)!)), 'float32'), [1, ids.length]);
      x = ops.putAlongAxis(x, idx, ops.add(ops.takeAlongAxis(x, idx, -1), vals), -1);
      changed = true;
    }
    if ((p.presencePenalty !== 0 || p.frequencyPenalty !== 0) && generated.length > 0) {
      const hist = ops.reshape(ops.array(Int32Array.from(generated), 'int32'), [1, generated.length]);
      x = presenceFrequencyPenalty(p.presencePenalty, p.frequencyPenalty, generated.length)(hist, x);
      changed = true;
    }
    if (changed) x = ops.subtract(x, ops.logsumexp(x, -1, { keepdims: true }));
    const token = ops.astype(this.#sampler(x), 'int32');
    if (!p.logprobs) return { token, chosen: null, topValues: null, topIndices: null };
    const chosen = ops.reshape(ops.takeAlongAxis(x, ops.reshape(token, [1, 1]), -1), [1]);
    if (p.topLogprobs === 0) return { token, chosen, topValues: null, topIndices: null };
    const [tv, ti] = ops.topkWithIndices(ops.reshape(x, [x.shape[1]]), Math.min(p.topLogprobs, x.shape[1]));
    return { token, chosen, topValues: tv, topIndices: ti };
  }
}
