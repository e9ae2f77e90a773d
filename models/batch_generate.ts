// Several prompts at once (mlx-lm's batch_generate): prompts are left-padded to one length, the
// cache masks each row's padding keys (RoPE is relative, so a shifted row attends exactly as it
// would alone) and every decode step runs all rows in one forward pass. Rows that finish keep
// computing until the last one does; their extra tokens are dropped.
import { memory } from '../core/memory.js';
import { makeCache } from './cache.js';
import { batchSteps } from './generate_step.js';
import { promptIds, resolveOptions, type GenerateOptions, type TokenizerLike } from './generate.js';
import { StopMatcher } from './stop.js';
import type { LanguageModel } from './types.js';

export interface BatchResponse {
  /** the generated text of each prompt */
  texts: string[];
  /** the generated token ids of each prompt (EOS excluded) */
  tokens: number[][];
  finishReasons: ('stop' | 'length')[];
  promptTokens: number;
  promptTps: number;
  generationTokens: number;
  generationTps: number;
  peakMemory: number;
}

/** Options of batchGenerate: those of generate except the draft model, custom caches and processors. */
export type BatchGenerateOptions = Omit<GenerateOptions, 'draftModel' | 'numDraftTokens' | 'promptCache' | 'draftPromptCache'> & {
  /** token id used for the left padding (default: the first EOS id, else 0); never attended to */
  padTokenId?: number;
};

/**
 * Generates a continuation for every prompt in one batch.
 * @example
 * const { model, tokenizer } = await kn.models.load('examples/models/kjv-llama-5m');
 * const { texts } = await kn.models.batchGenerate(model, tokenizer, ['And God said', 'In the beginning'], { maxTokens: 8 });
 * texts // [' unto them, I have given them a', ' of the son of Zuar,']
 */
export async function batchGenerate(
  model: LanguageModel,
  tokenizer: TokenizerLike,
  prompts: readonly (string | readonly number[])[],
  opts: BatchGenerateOptions = {},
): Promise<BatchResponse> {
  const op = 'batchGenerate';
  if (!Array.isArray(prompts) || prompts.length === 0) throw new TypeError(`[${op}] prompts must be a non-empty array of strings or token id arrays`);
  const { padTokenId, ...rest } = opts;
  for (const k of ['draftModel', 'promptCache', 'draftPromptCache'] as const)
    if ((rest as GenerateOptions)[k] !== undefined) throw new TypeError(`[${op}] option ${k} is not supported in batch generation`);
  const o = resolveOptions(model, rest, op);
  if (o.processors.length)
    throw new Error(`[${op}] logits processors (repetition/presence/frequency penalties, logitBias) are not supported in batch generation yet`);
  const ids = prompts.map((p) => promptIds(tokenizer, model, p, op));
  const pad = padTokenId ?? tokenizer.eosTokenIds[0] ?? 0;
  if (!Number.isInteger(pad) || pad < 0 || pad >= model.vocabSize)
    throw new RangeError(`[${op}] padTokenId must be a token id in [0, ${model.vocabSize}), got ${pad}`);
  const T = Math.max(...ids.map((r) => r.length));
  const padding = ids.map((r) => T - r.length);
  const rows = ids.map((r, i) => [...new Array<number>(padding[i]).fill(pad), ...r]);
  const B = rows.length;

  const out: number[][] = ids.map(() => []);
  const texts = ids.map(() => '');
  const reasons: ('stop' | 'length' | null)[] = ids.map(() => null);
  if (o.maxTokens === 0)
    return {
      texts,
      tokens: out,
      finishReasons: reasons.map(() => 'length'),
      promptTokens: 0,
      promptTps: 0,
      generationTokens: 0,
      generationTps: 0,
      peakMemory: memory.peak(),
    };
  const detoks = ids.map(() => tokenizer.detokenizer());
  const stops = ids.map(() => new StopMatcher(o.stop));
  const eos = new Set(tokenizer.eosTokenIds);
  const cache = makeCache(model, { maxKvSize: o.maxKvSize, leftPadding: padding });

  memory.resetPeak();
  const t0 = performance.now();
  let t1 = t0,
    n = 0;
  try {
    for await (const { tokens } of batchSteps(model, rows, { cache, sampler: o.sampler, prefillStepSize: o.prefillStepSize, maxTokens: o.maxTokens })) {
      n++;
      if (n === 1) t1 = performance.now();
      for (let i = 0; i < B; i++) {
        if (reasons[i]) continue;
        const t = tokens[i];
        if (eos.has(t)) {
          texts[i] += stops[i].flush(detoks[i].finalize()).text;
          reasons[i] = 'stop';
          continue;
        }
        out[i].push(t);
        const r = stops[i].push(detoks[i].add(t));
        texts[i] += r.text;
        if (r.stopped) reasons[i] = 'stop';
        else if (n >= o.maxTokens) {
          const f = stops[i].flush(detoks[i].finalize());
          texts[i] += f.text;
          reasons[i] = f.stopped ? 'stop' : 'length';
        }
      }
      if (reasons.every((r) => r !== null)) break;
    }
  } finally {
    for (const c of cache) (c as { dispose?: () => void }).dispose?.();
  }
  const t2 = performance.now();
  const genTokens = out.reduce((s, r) => s + r.length, 0);
  return {
    texts,
    tokens: out,
    finishReasons: reasons.map((r) => r ?? 'length'),
    promptTokens: ids.reduce((s, r) => s + r.length, 0),
    promptTps: ids.reduce((s, r) => s + r.length, 0) / Math.max((t1 - t0) / 1000, 1e-9),
    generationTokens: genTokens,
    generationTps: n > 1 ? (B * (n - 1)) / Math.max((t2 - t1) / 1000, 1e-9) : 0,
    peakMemory: memory.peak(),
  };
}
