// One generated sequence (one choice of a request) as the scheduler sees it: its known tokens,
// how many of them have keys and values in the pool, its block table and its text state.
import type { TokenizerLike } from '../generate.js';
import { StopMatcher } from '../stop.js';
import type { PrefixNode } from './prefix_cache.js';
import { SeqSampler, type SamplingParams } from './sampling.js';

/** What a sequence tells its request after each step. */
export type SeqEvent =
  | { type: 'token'; text: string; token: number; logprob: number | null; top: { token: number; logprob: number }[] | null }
  | { type: 'done'; finishReason: 'stop' | 'length'; text: string; promptTokens: number; completionTokens: number; cachedTokens: number }
  | { type: 'error'; message: string };

export interface SeqRequest {
  prompt: readonly number[];
  maxTokens: number;
  stop: readonly string[];
  sampling: SamplingParams;
  /** stop at EOS (default true) */
  stopAtEos?: boolean;
}

export type SeqState = 'waiting' | 'running' | 'done';

let nextId = 1;

export class Sequence {
  readonly id = nextId++;
  /** arrival order: earlier sequences are served first and preempted last */
  readonly arrival: number;
  readonly prompt: readonly number[];
  readonly maxTokens: number;
  /** prompt, then every generated token */
  readonly tokens: number[];
  /** tokens whose keys and values are in the pool */
  computed = 0;
  /** block table: block ids, position p lives in blocks[p / blockSize] */
  blocks: number[] = [];
  /** per block: the prefix-cache node that owns it (shared, immutable) or null (this sequence's own) */
  nodes: (PrefixNode | null)[] = [];
  state: SeqState = 'waiting';
  readonly sampler: SeqSampler;
  readonly detok: { add(id: number): string; finalize(): string };
  readonly stops: StopMatcher;
  readonly eos: Set<number>;
  readonly sink: (e: SeqEvent) => void;
  generated: number[] = [];
  /** prompt tokens found in the prefix cache at first admission */
  cachedTokens = -1;
  preemptions = 0;

  constructor(arrival: number, req: SeqRequest, tokenizer: TokenizerLike, sink: (e: SeqEvent) => void) {
    this.arrival = arrival;
    this.prompt = req.prompt;
    this.maxTokens = req.maxTokens;
    this.tokens = [...req.prompt];
    this.sampler = new SeqSampler(req.sampling);
    this.detok = tokenizer.detokenizer();
    this.stops = new StopMatcher(req.stop);
    this.eos = req.stopAtEos === false ? new Set() : new Set(tokenizer.eosTokenIds);
    this.sink = sink;
  }

  /** Tokens still to feed before the next sample. */
  get pending(): number {
    return this.tokens.length - this.computed;
  }

  /** Slot ids of positions 0..n-1. */
  slots(n: number, blockSize: number): number[] {
    const out = new Array<number>(n);
    for (let p = 0; p < n; p++) out[p] = this.blocks[Math.floor(p / blockSize)] * blockSize + (p % blockSize);
    return out;
  }
}
