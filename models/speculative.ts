// Speculative decoding (mlx-lm's speculative_generate_step): a draft model proposes k tokens one
// at a time, the target scores all of them in one forward pass, the longest prefix where the
// target's own choice equals the draft's is accepted plus the target's next token, and both caches
// are trimmed back to what was accepted. Every emitted token is the target's choice given the
// accepted prefix, so greedy output equals plain greedy decoding.
import type { NDArray } from '../core/array.js';
import { evaluate, tidy } from '../core/memory.js';
import * as ops from '../ops/index.js';
import { cacheState } from './cache.js';
import { lastLogits, prefill, type StepResult } from './generate_step.js';
import { readTokens } from './read_token.js';
import type { Sampler } from './sample.js';
import type { KVCacheLike, LanguageModel } from './types.js';

export interface SpeculativeOptions {
  cache: KVCacheLike[];
  draftCache: KVCacheLike[];
  sampler: Sampler;
  /** tokens proposed per round (default 3) */
  numDraftTokens?: number;
  prefillStepSize?: number;
  maxTokens?: number;
}

function trimAll(cache: KVCacheLike[], n: number): void {
  if (n <= 0) return;
  for (const c of cache) {
    if (!c.isTrimmable()) throw new Error('[generate] speculative decoding needs trimmable caches (not a rotating cache)');
    c.trim(n);
  }
}

/** Log-probabilities of logits [B, L, V] (float32). */
const logSoftmax = (logits: NDArray): NDArray => {
  const x = ops.astype(logits, 'float32');
  return ops.subtract(x, ops.logsumexp(x, -1, { keepdims: true }));
};

/**
 * Token ids after `prompt` from `model`, proposed by `draft` (same vocabulary): an async
 * iterator of `{ token, logprobs, fromDraft }`.
 * @example
 * const { model, tokenizer } = await kn.models.load('examples/models/kjv-llama-5m');
 * const draft = kn.models.modelFromConfig('examples/models/kjv-llama-5m', { seed: 1 }); // random weights: poor guesses
 * const prompt = tokenizer.encode('And God said');
 * const steps = kn.models.speculativeStep(model, draft, prompt, { cache: kn.models.makeCache(model), draftCache: kn.models.makeCache(draft), sampler: kn.models.makeSampler(), maxTokens: 8 });
 * const tokens = [];
 * for await (const { token } of steps) tokens.push(token);
 * tokenizer.decode(tokens) // ' unto them, I have given them a' (greedy: what generate gives)
 */
export async function* speculativeStep(
  model: LanguageModel,
  draft: LanguageModel,
  prompt: readonly number[],
  opts: SpeculativeOptions,
): AsyncGenerator<StepResult, void, undefined> {
  const { cache, draftCache, sampler } = opts;
  const k0 = opts.numDraftTokens ?? 3;
  const maxTokens = opts.maxTokens ?? Infinity;
  if (maxTokens <= 0) return;
  const step = opts.prefillStepSize ?? 2048;
  // both caches get the prompt except its last token, which starts the first round
  for (const [m, c] of [
    [model, cache],
    [draft, draftCache],
  ] as const)
    prefill(m, [prompt], c, step);
  let y = prompt[prompt.length - 1];
  let draftPending: number[] = [y]; // accepted tokens the draft cache has not seen yet
  let emitted = 0;
  while (emitted < maxTokens) {
    const k = Math.min(k0, maxTokens - emitted - 1);
    // the draft proposes k tokens greedily from its own sampler (one forward each)
    let proposals: number[] = [];
    if (k > 0) {
      const drafted = tidy(() => {
        const toks: NDArray[] = [];
        let input = ops.array([draftPending], 'int32');
        for (let i = 0; i < k; i++) {
          const t = ops.astype(sampler(lastLogits(logSoftmax(draft.forward(input, { cache: draftCache })))), 'int32');
          toks.push(t);
          input = ops.reshape(t, [1, 1]);
        }
        const all = ops.concatenate(toks);
        evaluate(all, cacheState(draftCache));
        return all;
      });
      proposals = readTokens(drafted);
      drafted.dispose();
    }
    // the target scores y and the k proposals in one pass
    const [choice, lps] = tidy(() => {
      const lp = logSoftmax(model.forward(ops.array([[y, ...proposals]], 'int32'), { cache }));
      const v = lp.shape[2];
      const rows = ops.reshape(lp, [k + 1, v]);
      const t = ops.astype(sampler(rows), 'int32');
      evaluate(t, rows, cacheState(cache));
      return [t, rows] as const;
    });
    const targetToks = readTokens(choice);
    choice.dispose();
    let accepted = 0;
    while (accepted < k && targetToks[accepted] === proposals[accepted]) accepted++;
    try {
      for (let i = 0; i <= accepted; i++) {
        const row = ops.reshape(ops.slice(lps, [{ start: i, stop: i + 1 }, {}]), [lps.shape[1]]);
        emitted++;
        try {
          yield { token: targetToks[i], logprobs: row, fromDraft: i < accepted };
        } finally {
          row.dispose();
        }
      }
    } finally {
      lps.dispose();
    }
    // target cache: drop the rejected proposals; draft cache: keep y and the accepted proposals
    trimAll(cache, k - accepted);
    const next = targetToks[accepted];
    if (accepted < k) {
      trimAll(draftCache, k - 1 - accepted);
      draftPending = [next];
    } else if (k > 0) {
      draftPending = [proposals[k - 1], next];
    } else {
      draftPending = [...draftPending, next]; // k = 0 only in the last round
    }
    y = next;
  }
}
