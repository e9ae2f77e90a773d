// Key/value caches for decoding. Buffers are preallocated in steps of 256 positions and new rows
// are written with a scatter over the buffer, which the evaluator performs in place when nothing
// else holds the old buffer (core/lowering.ts: a dead evaluated input's buffer may be taken over),
// so a decode step writes one row instead of copying the whole cache.
//
// Evaluate `cache.state` together with the logits of each step (kn.eval(logits, ...states)) and
// free the step's temporaries (kn.tidy) before building the next step: an unevaluated cache would
// chain every step's graph, and a live temporary that views the old buffer forces a copy.
//
// Batches with left padding: every row shares the position offset (RoPE is relative, so a row
// shifted by its padding attends exactly as unpadded) and the padding keys of each row are masked
// out (`leftPadding`, per-row counts): makeMask returns a bool mask [B, 1, L, S].
import { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import { keep as keepArray } from '../core/memory.js';
import { Scatter } from '../core/primitives.js';
import { fmtShape } from '../core/shape.js';
import { arange, array, zeros } from '../ops/creation.js';
import { astype } from '../ops/elementwise.js';
import { make } from '../ops/make.js';
import { concatenate } from '../ops/shape.js';
import { take } from '../ops/take_scatter.js';
import { broadcastTo, reshape, slice } from '../ops/views.js';
import { loadSafetensors, saveSafetensors } from '../ops/io/safetensors.js';
import { causalMask, type MaskingCache, type MaskSpec } from './attention.js';
import type { KVCacheLike, LanguageModel } from './types.js';
import { QuantizedKVCache } from './quantized_cache.js';

/** Positions are allocated in multiples of this. */
export const CACHE_STEP = 256;

/**
 * Rows start..start+L-1 (axis 2) of buf [B, H, cap, D] replaced by upd [B, H, L, D]; in place when
 * buf is dead. `start` may be an int32 array [1] (one row, L = 1: the compiled decode step's
 * position, an input rather than a traced constant).
 */
export function writeRows(buf: NDArray, upd: NDArray, start: number | NDArray): NDArray {
  const [B, H, cap, D] = buf.shape,
    L = upd.shape[2];
  if (typeof start !== 'number' && L !== 1) throw new Error(`[writeRows] a position array writes one row, got ${L}`);
  const base = reshape(buf, [B * H, cap, D]);
  const rows = typeof start === 'number' ? reshape(arange(start, start + L, 'int32'), [1, L, 1]) : reshape(start, [1, 1, 1]);
  const idx = broadcastTo(rows, [B * H, L, D]);
  const u0 = upd.dtype === buf.dtype ? upd : astype(upd, buf.dtype);
  const u = reshape(u0, [B * H, L, D]);
  const out = make(Scatter, { mode: 0 }, [base, idx, u], [B * H, cap, D], buf.dtype);
  const res = reshape(out, [B, H, cap, D]);
  // drop the temporaries' handles now: a live handle on the base would keep the old buffer alive
  for (const t of [base, rows, idx, u, out]) if (t !== start) t.dispose();
  if (u0 !== upd) u0.dispose();
  return res;
}

/** Rows 0..n-1 of axis 2: a view, always a handle of its own (disposing it never frees the cache). */
export function firstRows(x: NDArray, n: number): NDArray {
  const v = slice(x, [{}, {}, { start: 0, stop: n }, {}]);
  return v === x ? new NDArray(x.node) : v;
}

function checkKV(keys: NDArray, values: NDArray, op: string, leftPadding: readonly number[] | null): void {
  if (!(keys instanceof NDArray) || !(values instanceof NDArray)) throw new TypeError(`[${op}] keys and values must be arrays`);
  if (keys.ndim !== 4 || values.ndim !== 4)
    throw new Error(`[${op}] keys and values must have shape [B, nKvHeads, L, headDim], got keys ${fmtShape(keys.shape)}, values ${fmtShape(values.shape)}`);
  const [B, H, L] = keys.shape;
  if (values.shape[0] !== B || values.shape[1] !== H || values.shape[2] !== L)
    throw new Error(`[${op}] keys ${fmtShape(keys.shape)} and values ${fmtShape(values.shape)} must agree in B, nKvHeads and L`);
  if (L === 0) throw new Error(`[${op}] cannot add zero positions`);
  if (leftPadding && leftPadding.length !== B) throw new Error(`[${op}] leftPadding has ${leftPadding.length} rows but keys have batch size ${B}`);
}

function checkAgainst(buf: NDArray | null, x: NDArray, op: string, what: string): void {
  if (!buf) return;
  const [B, H, , D] = buf.shape;
  if (x.shape[0] !== B || x.shape[1] !== H || x.shape[3] !== D)
    throw new Error(`[${op}] ${what} ${fmtShape(x.shape)} do not match the cache's [${B}, ${H}, *, ${D}]`);
}

function checkPadding(p: readonly number[] | null | undefined, op: string): number[] | null {
  if (p === undefined || p === null) return null;
  if (!Array.isArray(p) || !p.every((v) => Number.isInteger(v) && v >= 0))
    throw new Error(`[${op}] leftPadding must be a list of non-negative integers (one per batch row), got ${JSON.stringify(p)}`);
  return [...p];
}

export interface CacheOptions {
  /** allocation granularity in positions (default 256) */
  step?: number;
  /** per batch row, how many leading positions are padding (masked out as keys) */
  leftPadding?: readonly number[] | null;
}

/**
 * The standard cache: keys/values [B, nKvHeads, capacity, headDim] grown in steps of 256 positions,
 * new rows written in place.
 * @example
 * const c = new kn.models.KVCache();
 * const [k, v] = c.updateAndFetch(kn.ones([1, 2, 3, 8]), kn.ones([1, 2, 3, 8]));
 * k.shape // [1, 2, 3, 8]
 * c.offset // 3
 * c.capacity // 256
 */
export class KVCache implements MaskingCache {
  keys: NDArray | null = null;
  values: NDArray | null = null;
  offset = 0;
  readonly step: number;
  readonly leftPadding: number[] | null;

  constructor(opts: CacheOptions = {}) {
    this.step = opts.step ?? CACHE_STEP;
    if (!Number.isInteger(this.step) || this.step <= 0) throw new Error(`[KVCache] step must be a positive integer, got ${opts.step}`);
    this.leftPadding = checkPadding(opts.leftPadding, 'KVCache');
  }

  /** Positions allocated. */
  get capacity(): number {
    return this.keys ? this.keys.shape[2] : 0;
  }

  updateAndFetch(keys: NDArray, values: NDArray): [NDArray, NDArray] {
    checkKV(keys, values, 'KVCache', this.leftPadding);
    checkAgainst(this.keys, keys, 'KVCache', 'keys');
    checkAgainst(this.values, values, 'KVCache', 'values');
    const prev = this.offset,
      L = keys.shape[2];
    if (!this.keys || prev + L > this.capacity) {
      const cap = Math.ceil((prev + L) / this.step) * this.step;
      const grow = (buf: NDArray | null, x: NDArray): NDArray => {
        const dtype = buf?.dtype ?? x.dtype;
        const parts = [buf && prev > 0 ? firstRows(buf, prev) : null, astype(x, dtype), zeros([x.shape[0], x.shape[1], cap - prev - L, x.shape[3]], dtype)];
        const out = keepArray(
          concatenate(
            parts.filter((p): p is NDArray => p !== null),
            2,
          ),
        );
        for (const p of parts) if (p !== x) p?.dispose();
        buf?.dispose();
        return out;
      };
      this.keys = grow(this.keys, keys);
      this.values = grow(this.values, values);
    } else {
      const k = keepArray(writeRows(this.keys, keys, prev));
      this.keys.dispose();
      this.keys = k;
      const v = keepArray(writeRows(this.values!, values, prev));
      this.values!.dispose();
      this.values = v;
    }
    this.offset = prev + L;
    return [firstRows(this.keys, this.offset), firstRows(this.values!, this.offset)];
  }

  /**
   * Makes room for `n` positions (rounded up to the step) without changing the contents; an
   * empty cache takes its batch, heads, head size and dtype from `like`.
   * @example
   * const c = new kn.models.KVCache();
   * c.reserve(300, { batch: 1, heads: 2, headDim: 8, dtype: 'float32' });
   * c.capacity // 512
   */
  reserve(n: number, like: { batch: number; heads: number; headDim: number; dtype: DType }): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`[KVCache] reserve takes a non-negative integer, got ${n}`);
    if (n <= this.capacity) return;
    const cap = Math.ceil(n / this.step) * this.step;
    const grow = (buf: NDArray | null): NDArray => {
      const [B, H, , D] = buf ? buf.shape : [like.batch, like.heads, 0, like.headDim];
      const dtype = buf?.dtype ?? like.dtype;
      const parts = [buf && this.offset > 0 ? firstRows(buf, this.offset) : null, zeros([B, H, cap - this.offset, D], dtype)].filter(
        (p): p is NDArray => p !== null,
      );
      const out = keepArray(parts.length === 1 ? parts[0] : concatenate(parts, 2));
      for (const p of parts) if (p !== out) p.dispose();
      buf?.dispose();
      return out;
    };
    this.keys = grow(this.keys);
    this.values = grow(this.values);
  }

  /** The buffers (evaluate them with each step's logits). */
  get state(): NDArray[] {
    return this.keys ? [this.keys, this.values!] : [];
  }
  set state(s: NDArray[]) {
    if (s.length === 0) {
      this.keys?.dispose();
      this.values?.dispose();
      this.keys = this.values = null;
      this.offset = 0;
      return;
    }
    if (s.length !== 2 || s[0].ndim !== 4 || s[1].ndim !== 4) throw new Error(`[KVCache] state must be [keys, values] of shape [B, H, S, D]`);
    this.keys = s[0];
    this.values = s[1];
    this.offset = s[0].shape[2];
  }

  isTrimmable(): boolean {
    return true;
  }

  /** Drops the last n positions (their rows are overwritten by later updates). */
  trim(n: number): number {
    const k = Math.max(0, Math.min(this.offset, Math.floor(n)));
    this.offset -= k;
    return k;
  }

  makeMask(L: number, opts: { window?: number | null } = {}): MaskSpec {
    const window = opts.window ?? null;
    if (this.leftPadding || (window !== null && this.offset + L > window)) return causalMask(L, this.offset, { window, leftPadding: this.leftPadding });
    return L > 1 ? 'causal' : null;
  }

  /** Frees the buffers. */
  dispose(): void {
    this.state = [];
  }
}

interface RotatingPlan {
  /** absolute positions of the keys the update returns, in their returned order */
  keyPos: number[];
  kind: 'append' | 'ring' | 'reorder';
}

/**
 * A cache of at most `maxSize` positions that keeps the first `keep` tokens and the most recent
 * `maxSize - keep` (a sliding window with attention sinks; `keep = 0` is an exact sliding window of
 * maxSize). Decode steps write one ring slot in place; a multi-token update that evicts reorders
 * the buffer once.
 * @example
 * const c = new kn.models.RotatingKVCache(8, 0);
 * for (let i = 0; i < 10; i++) c.updateAndFetch(kn.ones([1, 1, 1, 4]), kn.ones([1, 1, 1, 4]));
 * c.offset // 10
 * c.filled // 8
 */
export class RotatingKVCache implements MaskingCache {
  keys: NDArray | null = null;
  values: NDArray | null = null;
  offset = 0;
  readonly maxSize: number;
  readonly keep: number;
  readonly step: number;
  readonly leftPadding: number[] | null;
  /** absolute position held by each filled slot */
  slotPos: number[] = [];
  /** next slot a single-token update overwrites once the buffer is full */
  ptr = 0;

  constructor(maxSize: number, keep = 4, opts: CacheOptions = {}) {
    if (!Number.isInteger(maxSize) || maxSize <= 0) throw new Error(`[RotatingKVCache] maxSize must be a positive integer, got ${maxSize}`);
    if (!Number.isInteger(keep) || keep < 0 || keep >= maxSize)
      throw new Error(`[RotatingKVCache] keep must be an integer in [0, maxSize) = [0, ${maxSize}), got ${keep}`);
    this.maxSize = maxSize;
    this.keep = keep;
    this.step = opts.step ?? CACHE_STEP;
    this.leftPadding = checkPadding(opts.leftPadding, 'RotatingKVCache');
  }

  get capacity(): number {
    return this.keys ? this.keys.shape[2] : 0;
  }

  /** Positions the buffer holds now. */
  get filled(): number {
    return this.slotPos.length;
  }

  /** The recent-token window: a query at p sees p - window + 1 .. p besides the kept tokens. */
  get window(): number {
    return this.maxSize - this.keep;
  }

  #plan(L: number): RotatingPlan {
    const filled = this.filled,
      news = Array.from({ length: L }, (_, i) => this.offset + i);
    if (filled + L <= this.maxSize) return { kind: 'append', keyPos: [...this.slotPos, ...news] };
    if (L === 1) {
      const keyPos = [...this.slotPos];
      keyPos[this.ptr] = this.offset;
      return { kind: 'ring', keyPos };
    }
    // kept tokens, the window - 1 most recent old ones (what the chunk's first query needs), the new ones
    const order = this.slotPos.map((p, s) => [p, s]).sort((a, b) => a[0] - b[0]);
    const kept = order.filter(([p]) => p < this.keep),
      rest = order.filter(([p]) => p >= this.keep);
    const recent = rest.slice(Math.max(0, rest.length - (this.window - 1)));
    return { kind: 'reorder', keyPos: [...kept, ...recent].map(([p]) => p).concat(news) };
  }

  updateAndFetch(keys: NDArray, values: NDArray): [NDArray, NDArray] {
    checkKV(keys, values, 'RotatingKVCache', this.leftPadding);
    checkAgainst(this.keys, keys, 'RotatingKVCache', 'keys');
    checkAgainst(this.values, values, 'RotatingKVCache', 'values');
    const L = keys.shape[2];
    const plan = this.#plan(L);
    let out: [NDArray, NDArray];
    if (plan.kind === 'append') {
      const filled = this.filled;
      if (!this.keys || filled + L > this.capacity) {
        const cap = Math.min(this.maxSize, Math.ceil((filled + L) / this.step) * this.step);
        const grow = (buf: NDArray | null, x: NDArray): NDArray => {
          const dtype = buf?.dtype ?? x.dtype;
          const parts = [
            buf && filled > 0 ? firstRows(buf, filled) : null,
            astype(x, dtype),
            cap > filled + L ? zeros([x.shape[0], x.shape[1], cap - filled - L, x.shape[3]], dtype) : null,
          ];
          const res = keepArray(
            concatenate(
              parts.filter((p): p is NDArray => p !== null),
              2,
            ),
          );
          for (const p of parts) if (p !== x) p?.dispose();
          buf?.dispose();
          return res;
        };
        this.keys = grow(this.keys, keys);
        this.values = grow(this.values, values);
      } else this.#write(keys, values, filled);
      this.slotPos = plan.keyPos;
      this.ptr = this.filled === this.maxSize ? this.keep : this.filled;
      out = [firstRows(this.keys!, this.filled), firstRows(this.values!, this.filled)];
    } else if (plan.kind === 'ring') {
      this.#write(keys, values, this.ptr);
      this.slotPos = plan.keyPos;
      this.ptr = this.ptr + 1 === this.maxSize ? this.keep : this.ptr + 1;
      out = [firstRows(this.keys!, this.filled), firstRows(this.values!, this.filled)];
    } else {
      // gather the old keys the chunk needs in temporal order, then append the chunk
      const oldSlots = this.#oldSlots(plan.keyPos.length - L);
      const idx = oldSlots.length ? array(Int32Array.from(oldSlots)) : null;
      const gather = (buf: NDArray | null, x: NDArray) => {
        if (!buf || !idx) return buf && buf.dtype !== x.dtype ? astype(x, buf.dtype) : x;
        const g = take(buf, idx, 2),
          xc = astype(x, buf.dtype);
        const res = concatenate([g, xc], 2);
        g.dispose();
        if (xc !== x) xc.dispose();
        return res;
      };
      const k = gather(this.keys, keys),
        v = gather(this.values, values);
      idx?.dispose();
      // the new buffer: kept tokens and the `window` most recent, still in temporal order
      const pos = plan.keyPos;
      const keptIdx = pos.flatMap((p, i) => (p < this.keep ? [i] : []));
      const restIdx = pos.flatMap((p, i) => (p >= this.keep ? [i] : []));
      const sel = [...keptIdx, ...restIdx.slice(Math.max(0, restIdx.length - this.window))];
      const selArr = array(Int32Array.from(sel));
      const nk = keepArray(take(k, selArr, 2)),
        nv = keepArray(take(v, selArr, 2));
      selArr.dispose();
      this.keys?.dispose();
      this.values?.dispose();
      this.keys = nk;
      this.values = nv;
      this.slotPos = sel.map((i) => pos[i]);
      this.ptr = this.filled === this.maxSize ? keptIdx.length : this.filled;
      out = [k, v];
    }
    this.offset += L;
    return out;
  }

  /** Slots of the old tokens a reorder plan returns (kept, then the recent ones), in temporal order. */
  #oldSlots(n: number): number[] {
    const order = this.slotPos.map((p, s) => [p, s]).sort((a, b) => a[0] - b[0]);
    const kept = order.filter(([p]) => p < this.keep),
      rest = order.filter(([p]) => p >= this.keep);
    const recent = rest.slice(Math.max(0, rest.length - (this.window - 1)));
    const slots = [...kept, ...recent].map(([, s]) => s);
    if (slots.length !== n) throw new Error(`[RotatingKVCache] internal: planned ${n} old keys, found ${slots.length}`);
    return slots;
  }

  #write(keys: NDArray, values: NDArray, start: number): void {
    const k = keepArray(writeRows(this.keys!, keys, start));
    this.keys!.dispose();
    this.keys = k;
    const v = keepArray(writeRows(this.values!, values, start));
    this.values!.dispose();
    this.values = v;
  }

  get state(): NDArray[] {
    return this.keys ? [this.keys, this.values!] : [];
  }
  set state(s: NDArray[]) {
    if (s.length === 0) {
      this.keys?.dispose();
      this.values?.dispose();
      this.keys = this.values = null;
      this.slotPos = [];
      this.offset = this.ptr = 0;
      return;
    }
    if (s.length !== 2 || s[0].ndim !== 4 || s[1].ndim !== 4) throw new Error(`[RotatingKVCache] state must be [keys, values] of shape [B, H, S, D]`);
    this.keys = s[0];
    this.values = s[1];
  }

  /** Only while nothing was evicted (afterwards the dropped tokens are gone). */
  isTrimmable(): boolean {
    return this.offset < this.maxSize;
  }

  trim(n: number): number {
    if (!this.isTrimmable()) return 0;
    const k = Math.max(0, Math.min(this.offset, Math.floor(n)));
    this.offset -= k;
    this.slotPos.length = this.offset;
    this.ptr = this.filled;
    return k;
  }

  makeMask(L: number, opts: { window?: number | null } = {}): MaskSpec {
    const plan = this.#plan(L);
    const modelWindow = opts.window ?? null;
    const window = modelWindow === null ? this.window : Math.min(modelWindow, this.window);
    if (plan.kind === 'append' && !this.leftPadding && (modelWindow === null || this.offset + L <= modelWindow)) return L > 1 ? 'causal' : null;
    if (plan.kind === 'ring' && !this.leftPadding && window === this.window) return null;
    return causalMask(L, this.offset, { keyPositions: plan.keyPos, window, keep: this.keep, leftPadding: this.leftPadding });
  }

  dispose(): void {
    this.state = [];
  }
}

export interface MakeCacheOptions {
  /** bound the cache: a RotatingKVCache of this size per layer (keeping `keep` first tokens) */
  maxKvSize?: number | null;
  /** tokens a rotating cache keeps from the start (default 4) */
  keep?: number;
  leftPadding?: readonly number[] | null;
  /** store keys/values quantized at this many bits (a QuantizedKVCache per layer; models/quantized_cache.ts) */
  kvBits?: number | null;
  /** values per scale/bias of a quantized cache (default 64) */
  kvGroupSize?: number | null;
}

/** A model that builds its own caches (sliding-window families). */
interface CacheMaker {
  makeCache(opts: MakeCacheOptions): KVCacheLike[];
}

/**
 * One cache per layer: the model's own `makeCache` when it has one (sliding-window families),
 * else a KVCache, or a RotatingKVCache(maxKvSize, keep = 4) when maxKvSize is given.
 * @example
 * const model = kn.models.createModel({ model_type: 'llama', hidden_size: 16, num_hidden_layers: 2, intermediate_size: 32, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 50 });
 * kn.models.makeCache(model).length // 2
 * kn.models.makeCache(model, { maxKvSize: 512 })[0].maxSize // 512
 */
export function makeCache(model: LanguageModel, opts: MakeCacheOptions = {}): KVCacheLike[] {
  const m = opts.maxKvSize;
  if (m !== undefined && m !== null && (!Number.isInteger(m) || m <= 0)) throw new Error(`[makeCache] maxKvSize must be a positive integer, got ${m}`);
  const own = (model as unknown as Partial<CacheMaker>).makeCache;
  if (typeof own === 'function') return own.call(model, opts);
  return defaultCache(model.numLayers, opts);
}

/** numLayers caches: KVCache, or RotatingKVCache(maxKvSize, keep) when bounded. */
export function defaultCache(numLayers: number, opts: MakeCacheOptions = {}): KVCacheLike[] {
  const m = opts.maxKvSize;
  const keep = opts.keep ?? 4;
  if (opts.kvBits) {
    if (m) throw new Error('[makeCache] kvBits (a quantized cache) cannot be combined with maxKvSize (a rotating cache)');
    return Array.from(
      { length: numLayers },
      () => new QuantizedKVCache({ bits: opts.kvBits!, groupSize: opts.kvGroupSize ?? 64, leftPadding: opts.leftPadding }),
    );
  }
  return Array.from({ length: numLayers }, () =>
    m ? new RotatingKVCache(m, Math.min(keep, m - 1), { leftPadding: opts.leftPadding }) : new KVCache({ leftPadding: opts.leftPadding }),
  );
}

/**
 * Caches for per-layer sliding windows: a layer with window w gets RotatingKVCache(w, 0) (exactly
 * the window), a full-attention layer the default; a maxKvSize below a layer's window bounds that
 * layer instead (RotatingKVCache(maxKvSize, keep)).
 */
export function slidingCaches(windows: readonly (number | null)[], opts: MakeCacheOptions = {}): KVCacheLike[] {
  const m = opts.maxKvSize;
  return windows.map((w) => {
    if (w === null || (m && m < w)) return defaultCache(1, opts)[0];
    return new RotatingKVCache(w, 0, { leftPadding: opts.leftPadding });
  });
}

/** Whether every layer cache can be trimmed. */
export function canTrimCache(cache: readonly KVCacheLike[]): boolean {
  return cache.every((c) => c.isTrimmable());
}

/**
 * Drops the last n tokens of every layer cache (speculative decoding, prompt-cache reuse);
 * returns how many were dropped (0 when a layer cannot trim).
 * @example
 * const cache = [new kn.models.KVCache()];
 * cache[0].updateAndFetch(kn.ones([1, 1, 5, 4]), kn.ones([1, 1, 5, 4]));
 * kn.models.trimCache(cache, 2) // 2
 * cache[0].offset // 3
 */
export function trimCache(cache: readonly KVCacheLike[], n: number): number {
  if (!canTrimCache(cache) || cache.length === 0) return 0;
  let k = 0;
  for (const c of cache) k = c.trim(n);
  return k;
}

/** The evaluable arrays of a cache list (pass them to kn.eval / kn.evalAsync with the logits). */
export function cacheState(cache: readonly KVCacheLike[]): NDArray[] {
  return cache.flatMap((c) => c.state);
}

interface SavedLayer {
  class: 'KVCache' | 'RotatingKVCache';
  offset: number;
  step: number;
  leftPadding: number[] | null;
  maxSize?: number;
  keep?: number;
  slotPos?: number[];
  ptr?: number;
}

/**
 * Saves a prompt cache (one entry per layer) as safetensors: tensors `<layer>.keys` /
 * `<layer>.values` (the filled positions only) and the cache layout plus your `metadata` strings.
 * @example
 * const cache = [new kn.models.KVCache()];
 * cache[0].updateAndFetch(kn.ones([1, 1, 5, 4]), kn.ones([1, 1, 5, 4]));
 * kn.models.savePromptCache('/tmp/kiln-prompt-example.safetensors', cache, { model: 'tiny' });
 * kn.models.loadPromptCache('/tmp/kiln-prompt-example.safetensors').cache[0].offset // 5
 */
export function savePromptCache(path: string, cache: readonly KVCacheLike[], metadata: Record<string, string> = {}): void {
  const tensors: Record<string, NDArray> = {};
  const layers: SavedLayer[] = [];
  const temps: NDArray[] = [];
  cache.forEach((c, i) => {
    if (c instanceof KVCache) {
      layers.push({ class: 'KVCache', offset: c.offset, step: c.step, leftPadding: c.leftPadding });
      if (c.keys && c.offset > 0) {
        tensors[`${i}.keys`] = firstRows(c.keys, c.offset);
        tensors[`${i}.values`] = firstRows(c.values!, c.offset);
      }
    } else if (c instanceof RotatingKVCache) {
      layers.push({
        class: 'RotatingKVCache',
        offset: c.offset,
        step: c.step,
        leftPadding: c.leftPadding,
        maxSize: c.maxSize,
        keep: c.keep,
        slotPos: c.slotPos,
        ptr: c.ptr,
      });
      if (c.keys && c.filled > 0) {
        tensors[`${i}.keys`] = firstRows(c.keys, c.filled);
        tensors[`${i}.values`] = firstRows(c.values!, c.filled);
      }
    } else throw new Error(`[savePromptCache] layer ${i}: only KVCache and RotatingKVCache can be saved, got ${(c as object)?.constructor?.name}`);
  });
  temps.push(...Object.values(tensors));
  for (const k of Object.keys(metadata))
    if (k.startsWith('kiln.')) throw new Error(`[savePromptCache] metadata keys starting with 'kiln.' are reserved, got '${k}'`);
  try {
    saveSafetensors(path, tensors, { ...metadata, 'kiln.cache': JSON.stringify(layers) });
  } finally {
    for (const t of temps) t.dispose();
  }
}

/**
 * Loads a prompt cache saved by savePromptCache: the layer caches and the metadata strings.
 * @example
 * kn.models.savePromptCache('/tmp/kiln-prompt-example2.safetensors', [new kn.models.KVCache()], { model: 'tiny' });
 * kn.models.loadPromptCache('/tmp/kiln-prompt-example2.safetensors').metadata // { model: 'tiny' }
 */
export function loadPromptCache(path: string): { cache: KVCacheLike[]; metadata: Record<string, string> } {
  const f = loadSafetensors(path);
  const raw = f.metadata['kiln.cache'];
  if (raw === undefined) throw new Error(`[loadPromptCache] ${path} is not a prompt cache (no 'kiln.cache' metadata)`);
  let layers: SavedLayer[];
  try {
    layers = JSON.parse(raw) as SavedLayer[];
    if (!Array.isArray(layers)) throw new Error('not a list');
  } catch (e) {
    throw new Error(`[loadPromptCache] ${path}: corrupt 'kiln.cache' metadata (${(e as Error).message})`);
  }
  const cache = layers.map((l, i): KVCacheLike => {
    const k = f.tensors[`${i}.keys`],
      v = f.tensors[`${i}.values`];
    const c =
      l.class === 'RotatingKVCache'
        ? new RotatingKVCache(l.maxSize!, l.keep!, { step: l.step, leftPadding: l.leftPadding })
        : l.class === 'KVCache'
          ? new KVCache({ step: l.step, leftPadding: l.leftPadding })
          : null;
    if (!c) throw new Error(`[loadPromptCache] ${path}: layer ${i} has unknown cache class ${JSON.stringify(l.class)}`);
    if (k && v) {
      // the next update copies these (memory-mapped, read-only) arrays into a growable buffer
      c.state = [keepArray(k), keepArray(v)];
    }
    c.offset = l.offset;
    if (c instanceof RotatingKVCache) {
      c.slotPos = l.slotPos ?? [];
      c.ptr = l.ptr ?? 0;
    }
    const held = c instanceof RotatingKVCache ? c.filled : c.offset;
    if ((k?.shape[2] ?? 0) !== held) throw new Error(`[loadPromptCache] ${path}: layer ${i} holds ${k?.shape[2] ?? 0} positions, its layout says ${held}`);
    return c;
  });
  const metadata: Record<string, string> = {};
  for (const [key, val] of Object.entries(f.metadata)) if (!key.startsWith('kiln.')) metadata[key] = val;
  return { cache, metadata };
}
