// Text generation (mlx-lm's stream_generate / generate): prompt encoding, stop strings, EOS,
// streaming detokenization and speed statistics over the token loops of generate_step.ts
// (plain, pipelined) and speculative.ts (draft model).
import type { NDArray } from '../core/array.js';
import { memory } from '../core/memory.js';
import { makeCache } from './cache.js';
import { generateStep, type StepResult } from './generate_step.js';
import { check, processorsFrom, samplerFrom, type LogitsProcessor, type LogitsProcessorOptions, type Sampler, type SamplerOptions } from './sample.js';
import { speculativeStep } from './speculative.js';
import { StopMatcher } from './stop.js';
import type { KVCacheLike, LanguageModel } from './types.js';

/** What generation needs of a tokenizer (models/tokenizer.ts's Tokenizer has it all). */
export interface TokenizerLike {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId: number | null;
  detokenizer(): { add(id: number): string; finalize(): string };
}

export interface GenerateOptions extends SamplerOptions, LogitsProcessorOptions {
  /** the most tokens to generate (default 256) */
  maxTokens?: number;
  /** generation stops before any of these strings; the stop text is not emitted */
  stop?: string | readonly string[];
  /** prompt tokens per forward pass during prefill (default 2048) */
  prefillStepSize?: number;
  /** a rotating KV cache of this many tokens (keeps the first 4): unbounded generation in bounded memory */
  maxKvSize?: number;
  /** store the KV cache quantized at this many bits (8 or 4; groups of 64 along the head dim): attention runs on the packed cache */
  kvBits?: number;
  /** values per scale/bias of the quantized KV cache (default 64) */
  kvGroupSize?: number;
  /** a small model with the same vocabulary that proposes tokens for the target to verify */
  draftModel?: LanguageModel;
  /** tokens the draft model proposes per verification (default 3) */
  numDraftTokens?: number;
  /** a custom sampler (replaces temp/topP/topK/minP/seed) */
  sampler?: Sampler;
  /** custom logits processors (replace repetitionPenalty/presencePenalty/frequencyPenalty/logitBias) */
  logitsProcessors?: LogitsProcessor[];
  /** a cache to continue from (e.g. a chat): the prompt is appended to what it already holds */
  promptCache?: KVCacheLike[];
  /** a cache for the draft model to continue from (with promptCache) */
  draftPromptCache?: KVCacheLike[];
}

/** One streamed step: the new text and statistics so far. */
export interface GenerationResponse {
  /** text newly complete with this token ('' while a character or a possible stop string is pending) */
  text: string;
  token: number;
  /** log-probabilities [vocab] of this step (float32), valid until the next step is requested */
  logprobs: NDArray;
  /** set on the last response: 'stop' (EOS or a stop string) or 'length' (maxTokens) */
  finishReason: 'stop' | 'length' | null;
  promptTokens: number;
  /** prompt tokens per second (prefill up to the first token) */
  promptTps: number;
  generationTokens: number;
  /** generated tokens per second after the first */
  generationTps: number;
  /** peak native memory in bytes since generation started */
  peakMemory: number;
  /** speculative decoding: whether the draft model proposed this token */
  fromDraft?: boolean;
}

const OPTION_KEYS = new Set([
  'maxTokens',
  'stop',
  'prefillStepSize',
  'maxKvSize',
  'kvBits',
  'kvGroupSize',
  'draftModel',
  'numDraftTokens',
  'sampler',
  'logitsProcessors',
  'promptCache',
  'draftPromptCache',
  'temp',
  'topP',
  'topK',
  'minP',
  'minTokensToKeep',
  'seed',
  'key',
  'repetitionPenalty',
  'repetitionContextSize',
  'presencePenalty',
  'frequencyPenalty',
  'logitBias',
]);

const posInt = (x: number) => Number.isInteger(x) && x >= 1;

/** @internal validated generation options (sampler and processors built, errors under `op`). */
export function resolveOptions(model: LanguageModel, opts: GenerateOptions, op: string) {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`[${op}] options must be an object, got ${String(opts)}`);
  for (const k of Object.keys(opts)) {
    if (!OPTION_KEYS.has(k) && (opts as Record<string, unknown>)[k] !== undefined)
      throw new TypeError(`[${op}] unknown option "${k}"; known: ${[...OPTION_KEYS].join(', ')}`);
  }
  const maxTokens = check(op, 'maxTokens', opts.maxTokens, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0') ?? 256;
  const prefillStepSize = check(op, 'prefillStepSize', opts.prefillStepSize, posInt, 'an integer >= 1') ?? 2048;
  const maxKvSize = check(op, 'maxKvSize', opts.maxKvSize, posInt, 'an integer >= 1');
  const numDraftTokens = check(op, 'numDraftTokens', opts.numDraftTokens, posInt, 'an integer >= 1') ?? 3;
  let stop: string[] = [];
  if (opts.stop !== undefined) {
    stop = typeof opts.stop === 'string' ? [opts.stop] : Array.isArray(opts.stop) ? [...opts.stop] : [null as unknown as string];
    if (!stop.every((s) => typeof s === 'string'))
      throw new TypeError(`[${op}] stop must be a string or an array of strings, got ${JSON.stringify(opts.stop)}`);
  }
  if (opts.sampler !== undefined && typeof opts.sampler !== 'function') throw new TypeError(`[${op}] sampler must be a function (logprobs) => tokens`);
  if (opts.logitsProcessors !== undefined && !(Array.isArray(opts.logitsProcessors) && opts.logitsProcessors.every((p) => typeof p === 'function')))
    throw new TypeError(`[${op}] logitsProcessors must be an array of functions (tokens, logits) => logits`);
  const sampler = opts.sampler ?? samplerFrom(opts, op);
  const processors = opts.logitsProcessors ?? processorsFrom(opts, op);
  const draft = opts.draftModel;
  if (draft !== undefined) {
    if (draft === null || typeof draft.forward !== 'function') throw new TypeError(`[${op}] draftModel must be a loaded language model`);
    if (draft.vocabSize !== model.vocabSize)
      throw new Error(`[${op}] the draft model's vocabulary (${draft.vocabSize} tokens) differs from the model's (${model.vocabSize})`);
    if (maxKvSize !== undefined)
      throw new Error(`[${op}] speculative decoding needs trimmable caches: maxKvSize (a rotating cache) cannot be combined with draftModel`);
    if (processors.length)
      throw new Error(`[${op}] logits processors (repetition/presence/frequency penalties, logitBias) are not supported with draftModel yet`);
  }
  const kvBits = check(op, 'kvBits', opts.kvBits, (v) => [2, 3, 4, 5, 6, 8].includes(v as number), 'one of 2, 3, 4, 5, 6, 8');
  const kvGroupSize = check(op, 'kvGroupSize', opts.kvGroupSize, (v) => [32, 64, 128].includes(v as number), 'one of 32, 64, 128');
  if (kvBits !== undefined && maxKvSize !== undefined) throw new Error(`[${op}] kvBits (a quantized cache) cannot be combined with maxKvSize (a rotating cache)`);
  return { maxTokens, prefillStepSize, maxKvSize, kvBits, kvGroupSize, numDraftTokens, stop, sampler, processors, draft };
}

/** @internal the prompt as token ids, validated against the model's vocabulary. */
export function promptIds(tokenizer: TokenizerLike, model: LanguageModel, prompt: string | readonly number[], op: string): number[] {
  let ids: number[];
  if (typeof prompt === 'string') {
    if (prompt.length === 0) throw new Error(`[${op}] the prompt is empty`);
    // a prompt that already starts with the BOS text (e.g. a rendered chat template) gets no second BOS
    const bos = tokenizer.bosTokenId;
    const bosText = bos !== null && bos !== undefined ? tokenizer.decode([bos]) : '';
    ids = tokenizer.encode(prompt, { addSpecialTokens: !(bosText && prompt.startsWith(bosText)) });
  } else if (Array.isArray(prompt) || ArrayBuffer.isView(prompt)) {
    ids = Array.from(prompt as ArrayLike<number>);
    const bad = ids.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= model.vocabSize);
    if (bad >= 0) throw new RangeError(`[${op}] prompt token ${bad} is ${String(ids[bad])}, not a token id in [0, ${model.vocabSize})`);
  } else {
    throw new TypeError(`[${op}] prompt must be a string or an array of token ids, got ${prompt === null ? 'null' : typeof prompt}`);
  }
  if (ids.length === 0) throw new Error(`[${op}] the prompt is empty`);
  return ids;
}

/** @internal a prompt that a bounded, non-rotating cache cannot hold is an error. */
export function checkFits(cache: readonly KVCacheLike[], n: number, op: string, maxKvSize?: number): void {
  const c = cache[0] as (KVCacheLike & { keep?: number }) | undefined;
  if (!c || c.maxSize === undefined) return;
  const rotating = c.keep !== undefined || c.constructor?.name?.startsWith('Rotating');
  if (!rotating && c.offset + n > c.maxSize)
    throw new Error(`[${op}] the prompt (${n} tokens${c.offset ? ` after ${c.offset} cached` : ''}) is longer than the cache's maxKvSize of ${c.maxSize}`);
  void maxKvSize;
}

/**
 * Generates text after `prompt` (a string, encoded with the tokenizer, or token ids), one
 * response per token (mlx-lm's stream_generate). Stops at an EOS token, a stop string or
 * `maxTokens`; the last response has `finishReason` set.
 * @example
 * const { model, tokenizer } = await kn.models.load('examples/models/kjv-llama-5m');
 * const pieces = [];
 * for await (const r of kn.models.streamGenerate(model, tokenizer, 'And God said', { maxTokens: 4 })) pieces.push(r.text);
 * pieces // [' unto', ' them', ',', ' I']
 */
export async function* streamGenerate(
  model: LanguageModel,
  tokenizer: TokenizerLike,
  prompt: string | readonly number[],
  opts: GenerateOptions = {},
): AsyncGenerator<GenerationResponse, void, undefined> {
  const op = 'generate';
  const o = resolveOptions(model, opts, op);
  const ids = promptIds(tokenizer, model, prompt, op);
  if (o.maxTokens === 0) return;
  // caches made here are freed at the end; a promptCache passed in stays the caller's
  const cache = opts.promptCache ?? makeCache(model, { maxKvSize: o.maxKvSize, kvBits: o.kvBits, kvGroupSize: o.kvGroupSize });
  const draftCache = o.draft ? (opts.draftPromptCache ?? makeCache(o.draft)) : null;
  const owned = [...(opts.promptCache ? [] : cache), ...(o.draft && !opts.draftPromptCache ? draftCache! : [])];
  try {
    yield* stream(model, tokenizer, ids, o, cache, draftCache);
  } finally {
    for (const c of owned) (c as { dispose?: () => void }).dispose?.();
  }
}

async function* stream(
  model: LanguageModel,
  tokenizer: TokenizerLike,
  ids: number[],
  o: ReturnType<typeof resolveOptions>,
  cache: KVCacheLike[],
  draftCache: KVCacheLike[] | null,
): AsyncGenerator<GenerationResponse, void, undefined> {
  const op = 'generate';
  checkFits(cache, ids.length, op, o.maxKvSize);
  const detok = tokenizer.detokenizer();
  const stops = new StopMatcher(o.stop);
  const eos = new Set(tokenizer.eosTokenIds);

  memory.resetPeak();
  const t0 = performance.now();
  let t1 = t0;
  let promptTps = 0;
  const steps: AsyncGenerator<StepResult, void, undefined> = o.draft
    ? speculativeStep(model, o.draft, ids, {
        cache,
        draftCache: draftCache!,
        sampler: o.sampler,
        numDraftTokens: o.numDraftTokens,
        prefillStepSize: o.prefillStepSize,
        maxTokens: o.maxTokens,
      })
    : generateStep(model, ids, { cache, sampler: o.sampler, logitsProcessors: o.processors, prefillStepSize: o.prefillStepSize, maxTokens: o.maxTokens });
  let n = 0;
  for await (const s of steps) {
    n++;
    if (n === 1) {
      t1 = performance.now();
      promptTps = ids.length / Math.max((t1 - t0) / 1000, 1e-9);
    }
    let finishReason: 'stop' | 'length' | null = null;
    let text: string;
    if (eos.has(s.token)) {
      finishReason = 'stop';
      text = stops.flush(detok.finalize()).text;
    } else {
      const r = stops.push(detok.add(s.token));
      text = r.text;
      if (r.stopped) finishReason = 'stop';
      else if (n >= o.maxTokens) {
        const f = stops.flush(detok.finalize());
        text += f.text;
        finishReason = f.stopped ? 'stop' : 'length';
      }
    }
    const elapsed = (performance.now() - t1) / 1000;
    yield {
      text,
      token: s.token,
      logprobs: s.logprobs,
      finishReason,
      promptTokens: ids.length,
      promptTps,
      generationTokens: n,
      generationTps: n > 1 && elapsed > 0 ? (n - 1) / elapsed : 0,
      peakMemory: memory.peak(),
      ...(s.fromDraft !== undefined ? { fromDraft: s.fromDraft } : {}),
    };
    if (finishReason) return;
  }
}

/**
 * The generated text after `prompt` (streamGenerate, concatenated).
 * @example
 * const { model, tokenizer } = await kn.models.load('examples/models/kjv-llama-5m');
 * await kn.models.generate(model, tokenizer, 'And God said', { maxTokens: 8 }) // ' unto them, I have given them a'
 */
export async function generate(
  model: LanguageModel,
  tokenizer: TokenizerLike,
  prompt: string | readonly number[],
  opts: GenerateOptions = {},
): Promise<string> {
  let out = '';
  for await (const r of streamGenerate(model, tokenizer, prompt, opts)) out += r.text;
  return out;
}
