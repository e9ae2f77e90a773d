// Samplers and logits processors as plain composable functions (mlx-lm's sample_utils shape).
// A sampler maps log-probabilities [B, V] to token ids int32 [B]; a logits processor maps
// (tokens so far int32 [B, n], logits [B, V]) to new logits. Everything runs lazily on device,
// so generate.ts can queue the next step before the current token is read.
import type { NDArray } from '../core/array.js';
import { keep } from '../core/memory.js';
import * as ops from '../ops/index.js';

/** Maps log-probabilities [B, V] to sampled token ids, int32 [B]. */
export type Sampler = (logprobs: NDArray) => NDArray;
/**
 * Maps (tokens so far int32 [B, n], logits [B, V]) to adjusted logits [B, V]. An optional
 * `contextSize` says how many recent tokens it looks at (generation then keeps only those).
 */
export type LogitsProcessor = ((tokens: NDArray, logits: NDArray) => NDArray) & { contextSize?: number };

const withContext = (f: (tokens: NDArray, logits: NDArray) => NDArray, contextSize: number): LogitsProcessor => Object.assign(f, { contextSize });

export interface SamplerOptions {
  /** temperature; 0 (default) takes the argmax */
  temp?: number;
  /** nucleus sampling: keep the most likely tokens whose mass reaches topP, in (0, 1]; 1 = off (default) */
  topP?: number;
  /** keep the topK most likely tokens; 0 = off (default) */
  topK?: number;
  /** keep tokens with probability >= minP * the top probability, in [0, 1]; 0 = off (default) */
  minP?: number;
  /** minP never keeps fewer than this many tokens (default 1) */
  minTokensToKeep?: number;
  /** seed of the sampler's own key sequence (reproducible draws); the global kn.random sequence when omitted */
  seed?: number;
  /** a kn.random.key to start the sampler's key sequence from (instead of seed) */
  key?: NDArray;
}

export interface LogitsProcessorOptions {
  /** > 1 discourages tokens seen in the last repetitionContextSize tokens (CTRL's rule); 1 = off */
  repetitionPenalty?: number;
  /** how many recent tokens the penalties look at (default 20) */
  repetitionContextSize?: number;
  /** subtracted once from the logit of every token seen in the context (OpenAI's presence penalty) */
  presencePenalty?: number;
  /** subtracted from a token's logit once per occurrence in the context (OpenAI's frequency penalty) */
  frequencyPenalty?: number;
  /** added to the logits of the given token ids: `{ 13: -100 }` or a Map */
  logitBias?: Record<number, number> | Map<number, number>;
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** @internal checks one option; `ok` says whether the value is allowed, `range` words the rule. */
export function check(op: string, name: string, v: unknown, ok: (x: number) => boolean, range: string): number | undefined {
  if (v === undefined) return undefined;
  if (!isNum(v) || !ok(v)) throw new RangeError(`[${op}] ${name} must be ${range}, got ${show(v)}`);
  return v;
}

const nonNegInt = (x: number) => Number.isInteger(x) && x >= 0;

/** @internal validated sampler options (shared with generate.ts, which reports them as `[generate]`). */
export function checkSamplerOptions(o: SamplerOptions, op: string): Required<Omit<SamplerOptions, 'seed' | 'key'>> & Pick<SamplerOptions, 'seed' | 'key'> {
  if (o === null || typeof o !== 'object') throw new TypeError(`[${op}] options must be an object, got ${show(o)}`);
  const temp = check(op, 'temp', o.temp, (x) => x >= 0, 'a finite number >= 0') ?? 0;
  const topP = check(op, 'topP', o.topP, (x) => x > 0 && x <= 1, 'in (0, 1]') ?? 1;
  const topK = check(op, 'topK', o.topK, nonNegInt, 'an integer >= 0') ?? 0;
  const minP = check(op, 'minP', o.minP, (x) => x >= 0 && x <= 1, 'in [0, 1]') ?? 0;
  const minTokensToKeep = check(op, 'minTokensToKeep', o.minTokensToKeep, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1') ?? 1;
  const seed = check(op, 'seed', o.seed, Number.isSafeInteger, 'a safe integer');
  if (o.key !== undefined && o.seed !== undefined) throw new TypeError(`[${op}] pass at most one of seed and key`);
  return { temp, topP, topK, minP, minTokensToKeep, seed, key: o.key };
}

/**
 * Keys for successive draws, split from one key in blocks of 256 on the host side, so a draw never
 * waits for an evaluation and no device-side key chain grows with the number of draws.
 */
class KeyStream {
  #words: Uint32Array = new Uint32Array(0);
  #next = 0;
  #base: [number, number];
  constructor(base: NDArray) {
    const w = base.toTypedArray() as Uint32Array;
    this.#base = [w[0], w[1]];
  }
  take(): NDArray {
    if (this.#next * 2 >= this.#words.length) this.#refill();
    const i = this.#next++;
    return ops.array(this.#words.slice(2 * i, 2 * i + 2), 'uint32');
  }
  #refill(): void {
    const base = ops.array(Uint32Array.from(this.#base), 'uint32');
    const keys = ops.random.split(base, 257);
    const w = keys.toTypedArray() as Uint32Array;
    base.dispose();
    keys.dispose();
    this.#words = w.slice(0, 512);
    this.#base = [w[512], w[513]];
    this.#next = 0;
  }
}

const NEG_INF = -Infinity;

/**
 * Keeps the smallest set of most likely tokens whose probability mass reaches `p` (the top token
 * always stays); the rest get -inf. `x` are log-probabilities [B, V].
 */
export function applyTopP(x: NDArray, p: number): NDArray {
  const desc = ops.negative(ops.sort(ops.negative(x), -1)); // log-probs, largest first
  const probs = ops.exp(desc);
  const before = ops.cumsum(probs, -1, { inclusive: false }); // mass strictly above each rank
  // the smallest log-prob still inside the nucleus is the cut-off
  const inside = ops.where(ops.less(before, p), desc, Infinity);
  const cut = ops.min(inside, -1, { keepdims: true });
  return ops.where(ops.greaterEqual(x, cut), x, NEG_INF);
}

/** Keeps the `k` largest log-probabilities of each row (ties with the k-th stay); the rest get -inf. */
export function applyTopK(x: NDArray, k: number): NDArray {
  const v = x.shape[x.ndim - 1];
  if (k >= v) return x;
  const kth = ops.min(ops.topk(x, k, -1), -1, { keepdims: true });
  return ops.where(ops.greaterEqual(x, kth), x, NEG_INF);
}

/**
 * Keeps tokens whose probability is at least `minP` times the top one's, and never fewer than
 * `minTokensToKeep` tokens; the rest get -inf.
 */
export function applyMinP(x: NDArray, minP: number, minTokensToKeep = 1): NDArray {
  let cut = ops.add(ops.max(x, -1, { keepdims: true }), Math.log(minP));
  const v = x.shape[x.ndim - 1];
  if (minTokensToKeep > 1) {
    const m = Math.min(minTokensToKeep, v);
    cut = ops.minimum(cut, ops.min(ops.topk(x, m, -1), -1, { keepdims: true }));
  }
  return ops.where(ops.greaterEqual(x, cut), x, NEG_INF);
}

/**
 * A sampler: argmax at temp 0, otherwise the topP, minP and topK filters (in mlx-lm's order, on
 * the untempered log-probabilities) and a categorical draw from logprobs / temp.
 * @example
 * const sample = kn.models.makeSampler({ temp: 0.8, topK: 40, seed: 1 });
 * sample(kn.log(kn.array([[0.1, 0.6, 0.3]]))).shape // [1]
 * @example kn.models.makeSampler({ temp: 0 })(kn.array([[1, 5, 2]])).tolist() // [1]
 */
export function makeSampler(opts: SamplerOptions = {}): Sampler {
  return samplerFrom(opts, 'makeSampler');
}

/** @internal makeSampler that reports errors under `op`. */
export function samplerFrom(opts: SamplerOptions, op: string): Sampler {
  const o = checkSamplerOptions(opts, op);
  if (o.temp === 0) return (logprobs) => ops.argmax(logprobs, -1);
  let keys: KeyStream | null = null;
  if (o.key !== undefined) keys = new KeyStream(o.key);
  else if (o.seed !== undefined) {
    const k = ops.random.key(o.seed);
    keys = new KeyStream(k);
    k.dispose();
  }
  const filters: ((x: NDArray) => NDArray)[] = [];
  if (o.topP < 1) filters.push((x) => applyTopP(x, o.topP));
  if (o.minP > 0) filters.push((x) => applyMinP(x, o.minP, o.minTokensToKeep));
  if (o.topK > 0) filters.push((x) => applyTopK(x, o.topK));
  const invTemp = 1 / o.temp;
  return (logprobs) => {
    let x = logprobs.dtype === 'float32' || logprobs.dtype === 'float64' ? logprobs : ops.astype(logprobs, 'float32');
    for (const f of filters) x = f(x);
    return ops.random.categorical(ops.multiply(x, invTemp), keys ? { key: keys.take() } : {});
  };
}

/** @internal validated logits-processor options. */
export function checkProcessorOptions(o: LogitsProcessorOptions, op: string) {
  if (o === null || typeof o !== 'object') throw new TypeError(`[${op}] options must be an object, got ${show(o)}`);
  const repetitionPenalty = check(op, 'repetitionPenalty', o.repetitionPenalty, (x) => x > 0, 'a finite number > 0');
  const repetitionContextSize = check(op, 'repetitionContextSize', o.repetitionContextSize, (x) => Number.isInteger(x) && x >= 1, 'an integer >= 1') ?? 20;
  const presencePenalty = check(op, 'presencePenalty', o.presencePenalty, () => true, 'a finite number');
  const frequencyPenalty = check(op, 'frequencyPenalty', o.frequencyPenalty, () => true, 'a finite number');
  let logitBias: [number[], number[]] | null = null;
  if (o.logitBias !== undefined) {
    const b = o.logitBias;
    if (b === null || typeof b !== 'object' || Array.isArray(b))
      throw new TypeError(`[${op}] logitBias must be an object or Map of token id -> bias, got ${show(b)}`);
    const entries = b instanceof Map ? [...b.entries()] : Object.entries(b).map(([k, v]) => [Number(k), v] as [number, unknown]);
    const ids: number[] = [],
      vals: number[] = [];
    for (const [k, v] of entries) {
      if (!nonNegInt(k)) throw new RangeError(`[${op}] logitBias keys must be token ids (integers >= 0), got ${show(k)}`);
      if (!isNum(v)) throw new RangeError(`[${op}] logitBias[${k}] must be a finite number, got ${show(v)}`);
      ids.push(k);
      vals.push(v);
    }
    if (ids.length) logitBias = [ids, vals];
  }
  return { repetitionPenalty, repetitionContextSize, presencePenalty, frequencyPenalty, logitBias };
}

/** The last `n` columns of tokens [B, t] (all of them when t <= n). */
const window = (tokens: NDArray, n: number): NDArray => {
  const t = tokens.shape[tokens.ndim - 1];
  return t <= n ? tokens : ops.slice(tokens, [{}, { start: t - n }]);
};

const as2d = (tokens: NDArray): NDArray => (tokens.ndim === 1 ? ops.expandDims(tokens, 0) : tokens);

/**
 * Divides positive logits by `penalty` and multiplies negative ones by it, for every token among
 * the last `contextSize` tokens (CTRL / mlx-lm / transformers' repetition penalty).
 */
export function repetitionPenalty(penalty: number, contextSize = 20): LogitsProcessor {
  return withContext((tokens, logits) => {
    const w = window(as2d(tokens), contextSize);
    if (w.shape[w.ndim - 1] === 0) return logits;
    const seen = ops.takeAlongAxis(logits, w, -1);
    const adjusted = ops.where(ops.less(seen, 0), ops.multiply(seen, penalty), ops.divide(seen, penalty));
    return ops.putAlongAxis(logits, w, adjusted, -1); // repeated ids write the same value
  }, contextSize);
}

/**
 * OpenAI's presence and frequency penalties over the last `contextSize` tokens:
 * logit -= frequency * count + presence * (count > 0).
 */
export function presenceFrequencyPenalty(presence: number, frequency: number, contextSize = 20): LogitsProcessor {
  return withContext((tokens, logits) => {
    const w = window(as2d(tokens), contextSize);
    const [b, n] = w.shape;
    if (n === 0) return logits;
    const rows = ops.broadcastTo(ops.reshape(ops.arange(b, 'int32'), [b, 1]), [b, n]);
    const counts = ops.at(ops.zeros([b, logits.shape[logits.ndim - 1]], 'float32'), rows, w).add(1);
    let pen = ops.multiply(counts, frequency);
    if (presence !== 0) pen = ops.add(pen, ops.multiply(ops.greater(counts, 0), presence));
    return ops.subtract(logits, ops.astype(pen, logits.dtype));
  }, contextSize);
}

/** Adds `bias[i]` to the logit of token `ids[i]` (ids distinct, checked against the vocabulary). */
export function logitBias(ids: readonly number[], bias: readonly number[]): LogitsProcessor {
  // kept: a processor made inside kn.tidy outlives that scope
  const idArr = keep(ops.array(Int32Array.from(ids), 'int32'));
  const biasArr = keep(ops.array(Float32Array.from(bias), 'float32'));
  return withContext((_tokens, logits) => {
    const v = logits.shape[logits.ndim - 1];
    const bad = ids.find((i) => i >= v);
    if (bad !== undefined) throw new RangeError(`[generate] logitBias token id ${bad} is outside the vocabulary of ${v} tokens`);
    const b = logits.shape[0];
    const idx = ops.broadcastTo(ops.reshape(idArr, [1, ids.length]), [b, ids.length]);
    const cur = ops.takeAlongAxis(logits, idx, -1);
    return ops.putAlongAxis(logits, idx, ops.add(cur, ops.astype(biasArr, logits.dtype)), -1);
  }, 0);
}

/**
 * The logits processors for the given options, in the order logit bias, repetition penalty,
 * presence/frequency penalty. Each is `(tokens int32 [B, n], logits [B, V]) => logits`.
 * @example
 * const [pen] = kn.models.makeLogitsProcessors({ repetitionPenalty: 2 });
 * pen(kn.array([[0]]), kn.array([[4, 1]])).tolist() // [[2, 1]]
 */
export function makeLogitsProcessors(opts: LogitsProcessorOptions = {}): LogitsProcessor[] {
  return processorsFrom(opts, 'makeLogitsProcessors');
}

/** @internal makeLogitsProcessors that reports errors under `op`. */
export function processorsFrom(opts: LogitsProcessorOptions, op: string): LogitsProcessor[] {
  const o = checkProcessorOptions(opts, op);
  const out: LogitsProcessor[] = [];
  if (o.logitBias) out.push(logitBias(o.logitBias[0], o.logitBias[1]));
  if (o.repetitionPenalty !== undefined && o.repetitionPenalty !== 1) out.push(repetitionPenalty(o.repetitionPenalty, o.repetitionContextSize));
  const pres = o.presencePenalty ?? 0,
    freq = o.frequencyPenalty ?? 0;
  if (pres !== 0 || freq !== 0) out.push(presenceFrequencyPenalty(pres, freq, o.repetitionContextSize));
  return out;
}
