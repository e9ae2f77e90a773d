// A KV cache stored in MLX's affine quantization (8-bit groups of 64 by default, as mlx-lm's
// QuantizedKVCache): keys and values [B, H, S, D] are kept as packed words [B, H, S, D*bits/32]
// with scales/biases [B, H, S, D/group], about half (8-bit) of a float16 cache. Attention runs on the
// packed cache through kn.quantizedMatmul (q·kᵀ with the transposed orientation, p·v with the
// plain one): `updateAndFetch` returns lazy dequantized views that carry the packed parts, and
// models/attention.ts `attend` takes the quantized path when it sees them (the views are never
// computed then; anything else that reads them gets correct float values).
import type { NDArray } from '../core/array.js';
import { keep as keepArray } from '../core/memory.js';
import { fmtShape } from '../core/shape.js';
import { zeros } from '../ops/creation.js';
import { add, astype, multiply, where } from '../ops/elementwise.js';
import { dequantize, quantize, quantizedMatmul } from '../ops/quantized.js';
import { concatenate } from '../ops/shape.js';
import { softmax } from '../ops/stats_softmax.js';
import { expandDims, reshape } from '../ops/views.js';
import { causalMask, type MaskingCache, type MaskSpec } from './attention.js';
import { CACHE_STEP, firstRows, writeRows, type CacheOptions } from './cache.js';

/** One packed tensor of the cache: words, scales, biases (all [B, H, S, *]). */
export interface PackedKV {
  wq: NDArray;
  scales: NDArray;
  biases: NDArray;
  groupSize: number;
  bits: number;
}

const packedOf = new WeakMap<NDArray, PackedKV>();

/** The packed parts behind a key/value array a QuantizedKVCache returned (else undefined). */
export function packedKV(a: NDArray): PackedKV | undefined {
  return packedOf.get(a);
}

export interface QuantizedCacheOptions extends CacheOptions {
  /** bits per cached value: 4 or 8 (default 8) */
  bits?: number;
  /** values per scale/bias along the head dim (default 64) */
  groupSize?: number;
}

/**
 * A KV cache stored quantized (`kvBits` in generate). Same interface as KVCache.
 * @example
 * const c = new kn.models.QuantizedKVCache({ bits: 8 });
 * const [k] = c.updateAndFetch(kn.ones([1, 2, 3, 64]), kn.ones([1, 2, 3, 64]));
 * k.shape // [1, 2, 3, 64]
 * c.state[0].shape // [1, 2, 256, 16]
 */
export class QuantizedKVCache implements MaskingCache {
  keys: [NDArray, NDArray, NDArray] | null = null;
  values: [NDArray, NDArray, NDArray] | null = null;
  offset = 0;
  readonly step: number;
  readonly bits: number;
  readonly groupSize: number;
  readonly leftPadding: number[] | null;

  constructor(opts: QuantizedCacheOptions = {}) {
    this.step = opts.step ?? CACHE_STEP;
    this.bits = opts.bits ?? 8;
    this.groupSize = opts.groupSize ?? 64;
    if (!Number.isInteger(this.step) || this.step <= 0) throw new Error(`[QuantizedKVCache] step must be a positive integer, got ${opts.step}`);
    if (![2, 3, 4, 5, 6, 8].includes(this.bits)) throw new Error(`[QuantizedKVCache] bits must be 2, 3, 4, 5, 6 or 8, got ${opts.bits}`);
    if (![32, 64, 128].includes(this.groupSize)) throw new Error(`[QuantizedKVCache] groupSize must be 32, 64 or 128, got ${opts.groupSize}`);
    const p = opts.leftPadding;
    if (p !== undefined && p !== null && (!Array.isArray(p) || !p.every((v) => Number.isInteger(v) && v >= 0)))
      throw new Error(`[QuantizedKVCache] leftPadding must be a list of non-negative integers, got ${JSON.stringify(p)}`);
    this.leftPadding = p ? [...p] : null;
  }

  get capacity(): number {
    return this.keys ? this.keys[0].shape[2] : 0;
  }

  #store(buf: [NDArray, NDArray, NDArray] | null, x: NDArray, prev: number): [NDArray, NDArray, NDArray] {
    const D = x.shape[3];
    if (D % this.groupSize !== 0)
      throw new Error(`[QuantizedKVCache] head dim ${D} (keys ${fmtShape(x.shape)}) must be a multiple of groupSize ${this.groupSize}`);
    const q = quantize(x, { groupSize: this.groupSize, bits: this.bits });
    const parts = [q.wq, q.scales, q.biases];
    const L = x.shape[2];
    if (!buf || prev + L > buf[0].shape[2]) {
      const cap = Math.ceil((prev + L) / this.step) * this.step;
      return parts.map((p, i) => {
        const old = buf && prev > 0 ? firstRows(buf[i], prev) : null;
        const pad = zeros([p.shape[0], p.shape[1], cap - prev - L, p.shape[3]], p.dtype);
        const out = keepArray(concatenate(old ? [old, p, pad] : [p, pad], 2));
        old?.dispose();
        pad.dispose();
        buf?.[i].dispose();
        return out;
      }) as [NDArray, NDArray, NDArray];
    }
    return parts.map((p, i) => {
      const out = keepArray(writeRows(buf[i], p, prev));
      buf[i].dispose();
      return out;
    }) as [NDArray, NDArray, NDArray];
  }

  updateAndFetch(keys: NDArray, values: NDArray): [NDArray, NDArray] {
    if (keys.ndim !== 4 || values.ndim !== 4)
      throw new Error(`[QuantizedKVCache] keys and values must be [B, H, L, D], got ${fmtShape(keys.shape)} and ${fmtShape(values.shape)}`);
    const prev = this.offset;
    this.keys = this.#store(this.keys, keys, prev);
    this.values = this.#store(this.values, values, prev);
    this.offset = prev + keys.shape[2];
    const view = (buf: [NDArray, NDArray, NDArray], dtype: NDArray['dtype']): NDArray => {
      const [wq, scales, biases] = buf.map((b) => firstRows(b, this.offset));
      const p: PackedKV = { wq, scales, biases, groupSize: this.groupSize, bits: this.bits };
      const a = dequantize(wq, scales, biases, { groupSize: this.groupSize, bits: this.bits, dtype });
      packedOf.set(a, p);
      return a;
    };
    return [view(this.keys, keys.dtype), view(this.values, values.dtype)];
  }

  get state(): NDArray[] {
    return this.keys ? [...this.keys, ...this.values!] : [];
  }
  set state(s: NDArray[]) {
    if (s.length === 0) {
      for (const a of this.state) a.dispose();
      this.keys = this.values = null;
      this.offset = 0;
      return;
    }
    if (s.length !== 6) throw new Error('[QuantizedKVCache] state must be [kWords, kScales, kBiases, vWords, vScales, vBiases]');
    this.keys = [s[0], s[1], s[2]];
    this.values = [s[3], s[4], s[5]];
    this.offset = s[0].shape[2];
  }

  isTrimmable(): boolean {
    return true;
  }

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

  dispose(): void {
    this.state = [];
  }
}

/**
 * softmax(q kᵀ · scale + mask) v with k and v packed: q [B, Hq, L, D] against k, v [B, Hkv, S, *]
 * (GQA: the q heads of one kv head share its packed rows). Scores and softmax are float32.
 */
export function quantizedAttention(q: NDArray, k: PackedKV, v: PackedKV, scale: number, mask: MaskSpec): NDArray {
  const [B, Hq, L, D] = q.shape;
  const Hkv = k.wq.shape[1],
    S = k.wq.shape[2];
  if (Hq % Hkv !== 0) throw new Error(`[quantizedAttention] ${Hq} query heads are not a multiple of ${Hkv} kv heads`);
  const rep = Hq / Hkv;
  const o = { groupSize: k.groupSize, bits: k.bits };
  const qs = reshape(multiply(q, scale), [B, Hkv, rep * L, D]);
  let scores = astype(quantizedMatmul(qs, k.wq, k.scales, k.biases, { ...o, transpose: true }), 'float32');
  const m = mask === 'causal' ? causalMask(L, S - L) : mask;
  if (m) {
    scores = reshape(scores, [B, Hkv, rep, L, S]);
    const mm = m.ndim === 4 ? expandDims(m, 1) : m;
    scores = m.dtype === 'bool' ? where(mm, scores, -Infinity) : add(scores, astype(mm, 'float32'));
    scores = reshape(scores, [B, Hkv, rep * L, S]);
  }
  const p = astype(softmax(scores, -1), q.dtype);
  const out = quantizedMatmul(p, v.wq, v.scales, v.biases, { ...o, transpose: false });
  return reshape(out, [B, Hq, L, D]);
}
