// The token loop under streamGenerate: chunked prefill, then a pipelined decode where step n+1's
// graph is built and queued with evalAsync while step n runs, before step n's token is read,
// so JS graph building, lowering and the consumer's work overlap the native runs. Every step runs inside kn.tidy and evaluates
// its token, log-probabilities, the cache state and the token history together, so nothing
// outside the cache grows with the number of tokens.
import type { NDArray } from '../core/array.js';
import { evalAsync, evaluate, keep, tidy, dispose } from '../core/memory.js';
import * as ops from '../ops/index.js';
import type { KVCacheLike, LanguageModel } from './types.js';
import type { LogitsProcessor, Sampler } from './sample.js';
import { readTokens } from './read_token.js';
import { cacheState, type KVCache } from './cache.js';
import { DecodeGraph } from './decode_graph.js';

export interface StepOptions {
  cache: KVCacheLike[];
  sampler: Sampler;
  logitsProcessors?: LogitsProcessor[];
  /** prompt tokens per forward during prefill (default 2048) */
  prefillStepSize?: number;
  /** stop after this many tokens (default Infinity: the caller stops) */
  maxTokens?: number;
  /**
   * run decode steps as one compiled graph when the model and caches allow it (default true;
   * `KILN_DECODE_GRAPH=0` turns it off everywhere)
   */
  compiled?: boolean;
}

/** One decoded token: its id and the log-probabilities [V] it was drawn from (valid until the next token). */
export interface StepResult {
  token: number;
  logprobs: NDArray;
  /** speculative decoding: the draft model proposed this token and the target accepted it */
  fromDraft?: boolean;
}

/** Logits of the last position, [B, V]. */
export function lastLogits(logits: NDArray): NDArray {
  const [b, l, v] = logits.shape;
  return ops.reshape(ops.slice(logits, [{}, { start: l - 1, stop: l }, {}]), [b, v]);
}

/**
 * Runs prompt rows [B][T] through the model in chunks of `stepSize` tokens, all but the last
 * token, which is left for the caller's first sampling step (as mlx-lm does): the logits of the
 * prompt positions are never computed, only the cache.
 */
export function prefill(model: LanguageModel, rows: readonly (readonly number[])[], cache: KVCacheLike[], stepSize: number): number[][] {
  let rest = rows.map((r) => r.slice());
  while (rest[0].length > 1) {
    const n = Math.min(stepSize, rest[0].length - 1);
    const chunk = rest.map((r) => r.slice(0, n));
    tidy(() => {
      model.forward(ops.array(chunk, 'int32'), { cache });
      evaluate(cacheState(cache));
    });
    rest = rest.map((r) => r.slice(n));
  }
  return rest;
}

/** One decode step of B rows: the sampled tokens and the log-probabilities [B, V] they came from. */
export interface BatchStepResult {
  tokens: number[];
  logprobs: NDArray;
}

/**
 * The pipelined token loop over B prompt rows of equal length (left-padded by the caller, with a
 * cache that masks the padding): yields B tokens per step.
 */
export async function* batchSteps(
  model: LanguageModel,
  rows: readonly (readonly number[])[],
  opts: StepOptions,
): AsyncGenerator<BatchStepResult, void, undefined> {
  const { cache, sampler } = opts;
  const processors = opts.logitsProcessors ?? [];
  const maxTokens = opts.maxTokens ?? Infinity;
  if (maxTokens <= 0) return;
  const B = rows.length;
  const tail = prefill(model, rows, cache, opts.prefillStepSize ?? 2048);
  // decode steps replay one compiled graph where the model and caches allow (models/decode_graph.ts)
  const graph = opts.compiled === false ? null : DecodeGraph.for(model, cache);
  const reserve = Number.isFinite(maxTokens) ? cache[0].offset + tail[0].length + maxTokens : 0;

  // the token history the processors see, cut to the most any of them looks at
  const span = Math.max(0, ...processors.map((p) => p.contextSize ?? Infinity));
  const recent = (r: readonly number[]) => (span === Infinity ? r.slice() : r.slice(Math.max(0, r.length - span)));
  let history: NDArray | null = processors.length ? keep(ops.array(rows.map(recent), 'int32')) : null;
  interface Pending {
    y: NDArray;
    logprobs: NDArray;
    targets: NDArray[];
    done: Promise<void> | null;
  }
  // builds the graph of one step (lazy); input: int32 [B, L]; a decode step also appends its
  // input tokens to the history
  const build = (input: () => NDArray, append: boolean): Pending => {
    const [y, logprobs, hist] = tidy(() => {
      const x = input();
      let logits = graph && x.shape[1] === 1 ? graph.step(x, cache as KVCache[], reserve) : lastLogits(model.forward(x, { cache }));
      let h = history;
      if (h && append && span > 0) {
        h = ops.concatenate([h, x], 1);
        const t = h.shape[1];
        if (t > span) h = ops.slice(h, [{}, { start: t - span }]);
      }
      if (h) for (const p of processors) logits = p(h, logits);
      logits = ops.astype(logits, 'float32');
      const lp = ops.subtract(logits, ops.logsumexp(logits, -1, { keepdims: true }));
      return [ops.astype(sampler(lp), 'int32'), lp, h] as const;
    });
    const targets: NDArray[] = [y, logprobs, ...cacheState(cache)];
    if (hist && hist !== history) {
      targets.push(hist);
      history?.dispose();
      history = hist;
    }
    return { y, logprobs, targets, done: null };
  };
  const launch = (p: Pending): void => {
    p.done = evalAsync(p.targets);
    p.done.catch(() => {}); // awaited below; never an unhandled rejection when the loop stops early
    p.targets = [];
  };

  // Pipelining: step n+1's graph is built and queued (evalAsync) while step n runs natively, before
  // step n's tokens are read: a native read waits only for the run that writes what it reads, so
  // the read returns as soon as step n is done while step n+1 already runs.
  let cur: Pending | null = build(() => ops.array(tail, 'int32'), false);
  launch(cur);
  let next: Pending | null = null;
  try {
    for (let n = 1; cur; n++) {
      const c: Pending = cur;
      next = n < maxTokens ? build(() => ops.reshape(c.y, [B, 1]), true) : null;
      if (next) launch(next);
      await c.done;
      const tokens = readTokens(c.y);
      yield { tokens, logprobs: c.logprobs };
      dispose(c.y, c.logprobs);
      cur = next;
      next = null;
    }
  } finally {
    // stopped early: let queued work finish before freeing what it writes
    for (const p of [cur, next]) {
      if (!p) continue;
      if (!p.done) launch(p); // built but not queued: its cache writes are already in the cache's arrays
      await p.done!.catch(() => {});
      dispose(p.y, p.logprobs);
    }
    history?.dispose();
  }
}

/**
 * Generates token ids after `prompt` (mlx-lm's generate_step): an async iterator of
 * `{ token, logprobs }`. Stop it with `break` (or `maxTokens`); the cache then holds the prompt,
 * the yielded tokens and possibly one more token queued ahead.
 * @example
 * const { model, tokenizer } = await kn.models.load('examples/models/kjv-llama-5m');
 * const cache = kn.models.makeCache(model), tokens = [];
 * const prompt = tokenizer.encode('And God said');
 * for await (const { token } of kn.models.generateStep(model, prompt, { cache, sampler: kn.models.makeSampler(), maxTokens: 4 })) tokens.push(token);
 * tokenizer.decode(tokens) // ' unto them, I'
 */
export async function* generateStep(model: LanguageModel, prompt: readonly number[], opts: StepOptions): AsyncGenerator<StepResult, void, undefined> {
  for await (const { tokens, logprobs } of batchSteps(model, [prompt], opts)) {
    const row = ops.reshape(logprobs, [logprobs.shape[1]]);
    try {
      yield { token: tokens[0], logprobs: row };
    } finally {
      row.dispose();
    }
  }
}
