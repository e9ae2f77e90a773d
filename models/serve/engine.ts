// The continuous-batching scheduler. Each step: every running sequence that is decoding feeds
// one token; prefilling sequences (oldest first) feed chunks within a per-step prefill bound;
// waiting requests are admitted first come, first served while the batch has room. Blocks come
// from the free list, then from evicting unread prefix-cache blocks; when a running sequence
// needs a block and none is left, the youngest running sequence is preempted (its blocks freed,
// its tokens kept) and re-admitted later, where the prefix cache usually hands most of its
// blocks back. Steps run on the native worker (evalAsync), so the event loop serves HTTP meanwhile.
import type { NDArray } from '../../core/array.js';
import { dispose, evalAsync, tidy } from '../../core/memory.js';
import * as ops from '../../ops/index.js';
import type { TokenizerLike } from '../generate.js';
import type { LanguageModel } from '../types.js';
import { BlockPool } from './block_pool.js';
import { PagedKV } from './paged_kv.js';
import { PagedModel, type StepRow } from './paged_model.js';
import { PrefixCache } from './prefix_cache.js';
import type { RowSample } from './sampling.js';
import { Sequence, type SeqEvent, type SeqRequest } from './sequence.js';

export interface EngineOptions {
  /** most sequences in the running batch (default 32) */
  maxConcurrency?: number;
  /** token slots per KV block (default 16) */
  blockSize?: number;
  /** KV pool size in bytes (default: room for maxConcurrency full contexts, at most 1 GiB) */
  kvBudgetBytes?: number;
  /** most prompt tokens prefilled per step, over all sequences (default 256) */
  prefillChunk?: number;
  /** reuse cached prefix blocks across requests (default true) */
  prefixCache?: boolean;
}

/** Counters and gauges for /metrics. */
export interface EngineStats {
  steps: number;
  lastBatchSize: number;
  batchSizeSum: number;
  preemptions: number;
  promptTokens: number;
  generationTokens: number;
  prefixQueriedTokens: number;
  prefixHitTokens: number;
  waiting: number;
  running: number;
  blocksTotal: number;
  blocksUsed: number;
  blocksCached: number;
  blocksFree: number;
}

/** A submitted sequence; cancel() frees its blocks at once. */
export interface SeqHandle {
  readonly id: number;
  cancel(): void;
}

export class Engine {
  readonly model: PagedModel;
  readonly tokenizer: TokenizerLike;
  readonly blockSize: number;
  readonly maxConcurrency: number;
  readonly prefillChunk: number;
  readonly contextLength: number;
  readonly pool: BlockPool;
  readonly kv: PagedKV;
  readonly prefix: PrefixCache;
  readonly usePrefix: boolean;
  #waiting: Sequence[] = [];
  #running: Sequence[] = [];
  #arrivals = 0;
  #loop: Promise<void> | null = null;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  stats = { steps: 0, lastBatchSize: 0, batchSizeSum: 0, preemptions: 0, promptTokens: 0, generationTokens: 0 };

  constructor(model: LanguageModel, tokenizer: TokenizerLike, opts: EngineOptions = {}) {
    this.model = new PagedModel(model);
    this.tokenizer = tokenizer;
    this.blockSize = opts.blockSize ?? 16;
    this.maxConcurrency = opts.maxConcurrency ?? 32;
    this.prefillChunk = opts.prefillChunk ?? 256;
    const a = model.args as { max_position_embeddings?: number };
    this.contextLength = a.max_position_embeddings ?? 2048;
    for (const [k, v] of [
      ['maxConcurrency', this.maxConcurrency],
      ['blockSize', this.blockSize],
      ['prefillChunk', this.prefillChunk],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`[serve] ${k} must be an integer >= 1, got ${v}`);
    const item = this.model.dtype === 'float32' ? 4 : 2;
    const perBlock = PagedKV.bytesPerSlot(this.model.numLayers, this.model.kvWidth, item) * this.blockSize;
    const budget = opts.kvBudgetBytes ?? Math.min(2 ** 30, this.maxConcurrency * Math.ceil(this.contextLength / this.blockSize) * perBlock);
    if (!(budget > 0) || !Number.isFinite(budget)) throw new RangeError(`[serve] kvBudgetBytes must be a positive number, got ${budget}`);
    const numBlocks = Math.floor(budget / perBlock);
    if (numBlocks < 2)
      throw new RangeError(
        `[serve] a KV budget of ${budget} bytes holds ${numBlocks} blocks of ${perBlock} bytes (${this.blockSize} tokens); at least 2 are needed`,
      );
    this.pool = new BlockPool(numBlocks, this.blockSize);
    this.kv = new PagedKV(this.model.numLayers, numBlocks * this.blockSize, this.model.kvWidth, this.model.dtype);
    this.prefix = new PrefixCache(this.blockSize);
    this.usePrefix = opts.prefixCache ?? true;
  }

  /** Tokens the whole pool can hold: the most one sequence (prompt + generated) may ever need. */
  get capacityTokens(): number {
    return this.pool.numBlocks * this.blockSize;
  }

  get waitingCount(): number {
    return this.#waiting.length;
  }
  get runningCount(): number {
    return this.#running.length;
  }

  snapshot(): EngineStats {
    const cached = this.prefix.size - this.prefix.readBlocks();
    const free = this.pool.freeCount;
    return {
      ...this.stats,
      prefixQueriedTokens: this.prefix.queriedTokens,
      prefixHitTokens: this.prefix.hitTokens,
      waiting: this.#waiting.length,
      running: this.#running.length,
      blocksTotal: this.pool.numBlocks,
      blocksFree: free,
      blocksCached: cached,
      blocksUsed: this.pool.numBlocks - free - cached,
    };
  }

  /** Queues one sequence; events arrive through `sink` from the scheduler loop. */
  submit(req: SeqRequest, sink: (e: SeqEvent) => void): SeqHandle {
    if (this.#closed) throw new Error('[serve] the engine is shut down');
    const need = req.prompt.length + req.maxTokens;
    if (need > this.capacityTokens)
      throw new RangeError(
        `[serve] the prompt (${req.prompt.length} tokens) plus max_tokens (${req.maxTokens}) needs ${need} KV slots; the pool holds ${this.capacityTokens}`,
      );
    if (req.prompt.length === 0) throw new RangeError('[serve] the prompt has no tokens');
    const seq = new Sequence(this.#arrivals++, req, this.tokenizer, sink);
    this.#waiting.push(seq);
    this.#kick();
    return { id: seq.id, cancel: () => this.#cancel(seq) };
  }

  /** Resolves when nothing is waiting or running. */
  idle(): Promise<void> {
    if (!this.#loop && this.#waiting.length === 0 && this.#running.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /** Refuses new work; with `abort`, ends every sequence now (an error event) and frees its blocks. */
  close(abort = false): void {
    this.#closed = true;
    if (abort) for (const s of [...this.#running, ...this.#waiting]) this.#fail(s, 'the server is shutting down');
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Frees the KV pool (after close and idle). */
  dispose(): void {
    this.kv.dispose();
  }

  #kick(): void {
    if (this.#loop) return;
    this.#loop = this.#run().finally(() => {
      this.#loop = null;
      if (this.#waiting.length || this.#running.length) this.#kick();
      else for (const r of this.#idleWaiters.splice(0)) r();
    });
  }

  async #run(): Promise<void> {
    while (this.#waiting.length || this.#running.length) {
      const rows = this.#schedule();
      if (rows.length === 0) {
        // nothing can run: the head of the queue cannot fit even into an empty pool
        const head = this.#waiting[0];
        if (head && this.#running.length === 0) this.#fail(head, 'the KV pool cannot hold this request');
        else await new Promise((r) => setImmediate(r));
        continue;
      }
      try {
        await this.#step(rows);
      } catch (e) {
        for (const { seq } of rows) if (seq.state === 'running') this.#fail(seq, `[serve] step failed: ${(e as Error).message}`);
      }
    }
  }

  #allocBlock(): number | null {
    const b = this.pool.alloc();
    if (b !== null) return b;
    return this.usePrefix ? this.prefix.evict() : null;
  }

  /** Gives `seq` blocks for positions up to `upto` (exclusive); false when the pool is out. */
  #ensure(seq: Sequence, upto: number): boolean {
    while (seq.blocks.length * this.blockSize < upto) {
      const b = this.#allocBlock();
      if (b === null) return false;
      seq.blocks.push(b);
      seq.nodes.push(null);
    }
    return true;
  }

  #releaseBlocks(seq: Sequence): void {
    seq.blocks.forEach((b, i) => {
      const n = seq.nodes[i];
      if (n) this.prefix.release(n);
      else this.pool.release(b);
    });
    seq.blocks = [];
    seq.nodes = [];
    seq.computed = 0;
  }

  #remove(seq: Sequence): void {
    const i = this.#running.indexOf(seq);
    if (i >= 0) this.#running.splice(i, 1);
    const j = this.#waiting.indexOf(seq);
    if (j >= 0) this.#waiting.splice(j, 1);
  }

  #finish(seq: Sequence, e: SeqEvent): void {
    if (seq.state === 'done') return;
    this.#remove(seq);
    this.#releaseBlocks(seq);
    seq.state = 'done';
    try {
      seq.sink(e);
    } catch {
      // a failing sink must not stop the scheduler
    }
  }

  #fail(seq: Sequence, message: string): void {
    this.#finish(seq, { type: 'error', message });
  }

  #cancel(seq: Sequence): void {
    if (seq.state === 'done') return;
    this.#remove(seq);
    this.#releaseBlocks(seq);
    seq.state = 'done';
  }

  #preempt(seq: Sequence): void {
    this.#remove(seq);
    this.#releaseBlocks(seq);
    seq.state = 'waiting';
    seq.preemptions++;
    this.stats.preemptions++;
    // back in arrival order: an older sequence waits in front of younger ones
    let i = 0;
    while (i < this.#waiting.length && this.#waiting[i].arrival < seq.arrival) i++;
    this.#waiting.splice(i, 0, seq);
  }

  /** Tries to give `seq` blocks up to `upto`, preempting younger running sequences; false if `seq` itself had to go. */
  #ensureOrPreempt(seq: Sequence, upto: number): boolean {
    while (!this.#ensure(seq, upto)) {
      const victim = this.#running.reduce<Sequence | null>((v, s) => (!v || s.arrival > v.arrival ? s : v), null);
      if (!victim || victim === seq) {
        this.#preempt(seq);
        return false;
      }
      this.#preempt(victim);
    }
    return true;
  }

  #admit(seq: Sequence, budget: number): number {
    // prefix reuse: whole cached blocks, never the last token (its logits are needed)
    if (this.usePrefix && seq.blocks.length === 0) {
      const nodes = this.prefix.match(seq.tokens, Math.floor((seq.tokens.length - 1) / this.blockSize));
      seq.blocks = nodes.map((n) => n.block);
      seq.nodes = [...nodes];
      seq.computed = nodes.length * this.blockSize;
    }
    const needBlocks = Math.ceil((seq.tokens.length + 1) / this.blockSize) - seq.blocks.length;
    const available = this.pool.freeCount + (this.usePrefix ? this.prefix.evictableCount() : 0);
    const chunk = Math.min(seq.pending, budget);
    if (needBlocks > available || chunk <= 0 || !this.#ensure(seq, seq.computed + chunk)) {
      this.#releaseBlocks(seq);
      return 0;
    }
    if (seq.cachedTokens < 0) {
      seq.cachedTokens = seq.computed;
      if (this.usePrefix) this.prefix.record(seq.prompt.length, seq.computed);
    }
    this.#waiting.splice(this.#waiting.indexOf(seq), 1);
    this.#running.push(seq);
    seq.state = 'running';
    return chunk;
  }

  #schedule(): { seq: Sequence; row: StepRow }[] {
    const plan: { seq: Sequence; n: number }[] = [];
    const byAge = [...this.#running].sort((a, b) => a.arrival - b.arrival);
    // 1. decoding sequences: one token each
    for (const s of byAge) {
      if (s.state !== 'running' || s.pending !== 1) continue;
      if (this.#ensureOrPreempt(s, s.computed + 1)) plan.push({ seq: s, n: 1 });
    }
    // preempted sequences planned earlier must leave the plan
    let live = plan.filter((p) => p.seq.state === 'running');
    // 2. prefilling sequences already running, oldest first, within the prefill bound
    let budget = this.prefillChunk;
    for (const s of byAge) {
      if (s.state !== 'running' || s.pending <= 1 || budget <= 0) continue;
      const n = Math.min(s.pending, budget);
      if (this.#ensureOrPreempt(s, s.computed + n)) {
        live.push({ seq: s, n });
        budget -= n;
      }
    }
    live = live.filter((p) => p.seq.state === 'running');
    // 3. admit waiting sequences, first come first served
    while (this.#waiting.length && this.#running.length < this.maxConcurrency && (budget > 0 || this.#waiting[0].pending === 1)) {
      const s = this.#waiting[0];
      const n = this.#admit(s, Math.max(budget, 1));
      if (n === 0) break;
      live.push({ seq: s, n });
      if (n > 1 || s.pending > 1) budget -= n;
    }
    // one-token rows first (they attend as one batch)
    live.sort((a, b) => (a.n === 1 ? 0 : 1) - (b.n === 1 ? 0 : 1));
    return live.map(({ seq, n }) => ({
      seq,
      row: {
        tokens: seq.tokens.slice(seq.computed, seq.computed + n),
        start: seq.computed,
        slots: seq.slots(seq.computed + n, this.blockSize),
        sample: seq.computed + n === seq.tokens.length,
      },
    }));
  }

  async #step(plan: { seq: Sequence; row: StepRow }[]): Promise<void> {
    const rows = plan.map((p) => p.row);
    const sampled = plan.filter((p) => p.row.sample);
    const out = tidy(() => {
      const lp = this.model.forward(this.kv, rows);
      const greedy = sampled.length ? ops.astype(ops.argmax(lp, -1), 'int32') : null;
      const samples: (RowSample | null)[] = sampled.map(({ seq }, i) => {
        if (seq.sampler.plainGreedy) return null;
        const row = ops.slice(lp, [{ start: i, stop: i + 1 }]);
        return seq.sampler.build(row, seq.generated);
      });
      const parts = samples.map((s, i) => (s ? s.token : ops.slice(greedy!, [{ start: i, stop: i + 1 }])));
      const tokens = parts.length ? ops.concatenate(parts, 0) : null;
      return { tokens, samples };
    });
    const targets: NDArray[] = [...this.kv.state];
    if (out.tokens) targets.push(out.tokens);
    for (const s of out.samples) if (s) for (const a of [s.chosen, s.topValues, s.topIndices]) if (a) targets.push(a);
    try {
      await evalAsync(targets);
      const tokens = out.tokens ? Array.from(out.tokens.toTypedArray() as Int32Array) : [];
      this.stats.steps++;
      this.stats.lastBatchSize = plan.length;
      this.stats.batchSizeSum += plan.length;
      for (const { seq, row } of plan) {
        if (seq.state !== 'running') continue; // cancelled while the step ran
        seq.computed += row.tokens.length;
        if (seq.generated.length === 0 && row.start < seq.prompt.length) this.stats.promptTokens += Math.min(row.tokens.length, seq.prompt.length - row.start);
        this.#register(seq);
      }
      sampled.forEach(({ seq }, i) => {
        if (seq.state !== 'running') return;
        const s = out.samples[i];
        this.#accept(seq, tokens[i], s);
      });
    } finally {
      dispose(out);
    }
  }

  /** Hands the sequence's newly full blocks to the prefix cache (shared from now on). */
  #register(seq: Sequence): void {
    if (!this.usePrefix) return;
    const bs = this.blockSize;
    for (let bi = 0; (bi + 1) * bs <= seq.computed; bi++) {
      if (seq.nodes[bi]) continue;
      const parent = bi > 0 ? seq.nodes[bi - 1] : null;
      if (bi > 0 && !parent) return; // the chain must be registered in order
      const { node, dup } = this.prefix.insert(parent, seq.tokens.slice(bi * bs, (bi + 1) * bs), seq.blocks[bi]);
      if (dup) {
        this.pool.release(seq.blocks[bi]);
        seq.blocks[bi] = node.block;
      }
      seq.nodes[bi] = node;
    }
  }

  #accept(seq: Sequence, token: number, s: RowSample | null): void {
    let logprob: number | null = null,
      top: { token: number; logprob: number }[] | null = null;
    if (s?.chosen) logprob = (s.chosen.toTypedArray() as Float32Array)[0];
    if (s?.topValues && s.topIndices) {
      const v = s.topValues.toTypedArray() as Float32Array,
        ix = s.topIndices.toTypedArray() as Int32Array;
      top = Array.from(ix, (t, j) => ({ token: t, logprob: v[j] }));
    }
    const done = (finishReason: 'stop' | 'length', text: string) =>
      this.#finish(seq, {
        type: 'done',
        finishReason,
        text,
        promptTokens: seq.prompt.length,
        completionTokens: seq.generated.length,
        cachedTokens: Math.max(0, seq.cachedTokens),
      });
    if (seq.eos.has(token)) {
      done('stop', seq.stops.flush(seq.detok.finalize()).text);
      return;
    }
    seq.generated.push(token);
    seq.tokens.push(token);
    this.stats.generationTokens++;
    const r = seq.stops.push(seq.detok.add(token));
    seq.sink({ type: 'token', text: r.text, token, logprob, top });
    if (seq.state !== 'running') return; // the sink cancelled it
    if (r.stopped) done('stop', '');
    else if (seq.generated.length >= seq.maxTokens) {
      const f = seq.stops.flush(seq.detok.finalize());
      done(f.stopped ? 'stop' : 'length', f.text);
    }
  }
}
