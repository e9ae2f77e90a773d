// The decode step as one compiled graph (kn.compile): a step's shapes do not depend on how many
// tokens are cached, so every step replays the same stored command list in one native crossing
// instead of building, lowering and parsing some 30 ops per layer in JavaScript. Keys and values
// of the new token are written at a position given as an array (not a traced constant), and
// attention runs over the cache's whole capacity with a mask that hides the positions not yet
// written. RoPE angles come from the same position array.
//
// Runs the Llama-style families (models/decoder_parts.ts) over plain KVCaches; everything else
// (rotating, quantized or left-padded caches, other families) keeps the eager step.
import type { NDArray } from '../core/array.js';
import { compile } from '../ops/compile.js';
import { compileEnabled, type Compiled, type CompiledInfo } from '../core/compile/compile.js';
import { keep } from '../core/memory.js';
import { flatten } from '../core/tree.js';
import type { Module } from '../nn/module.js';
import * as ops from '../ops/index.js';
import { scaledDotProductAttention } from '../ops/fast/index.js';
import { floatResult } from '../ops/fast/common.js';
import { rmsNormComposed } from '../ops/fast/rms_norm.js';
import { RMSNorm } from '../nn/layers/normalization.js';
import { KVCache, writeRows } from './cache.js';
import { decoderParts, ropeAngles, rotateHalves, type DecoderParts } from './decoder_parts.js';
import type { KVCacheLike, LanguageModel } from './types.js';

/** Capacity is reserved in multiples of this many positions (a new capacity is a new trace). */
export const DECODE_GRAPH_STEP = 256;

const graphs = new WeakMap<LanguageModel, DecodeGraph | Error>();

/**
 * The compiled decode step of one model. `DecodeGraph.for(model, cache)` returns it when the
 * model and caches can take it (null otherwise, with the reason under KILN_DEBUG=1).
 * @example
 * const { model } = await kn.models.load('examples/models/kjv-llama-5m');
 * const cache = kn.models.makeCache(model);
 * const g = kn.models.DecodeGraph.for(model, cache);
 * g.step(kn.array([[1]], 'int32'), cache, 16).shape // [1, 2048]
 */
export class DecodeGraph {
  readonly model: LanguageModel;
  readonly #parts: DecoderParts;
  #layerCaches: KVCache[] = [];
  readonly #fn: (tokens: NDArray, pos: NDArray) => NDArray;

  private constructor(model: LanguageModel, parts: DecoderParts) {
    this.model = model;
    this.#parts = parts;
    // the caches of the current call are state (read and replaced), as are the weights: nothing
    // model-sized is held by the trace as a constant
    const state = () => [this.#weights(), this.#layerCaches.map((c) => [c.keys, c.values])];
    this.#fn = compile((tokens: NDArray, pos: NDArray) => this.#forward(tokens, pos), {
      inputs: state,
      outputs: () => this.#layerCaches.map((c) => [c.keys, c.values]),
    });
  }

  // The model's arrays as a flat list, walked once (a module walk per token costs more than the
  // rest of the step's JavaScript); walked again when the model's arrays were replaced (a weight
  // load frees the old ones).
  #weights(): NDArray[] {
    if (!this.#params || this.#params.some((a) => a.disposed))
      this.#params = flatten<NDArray>((this.model as unknown as Module).parameters()).map(([, a]) => a);
    return this.#params;
  }
  #params: NDArray[] | null = null;

  /** What the compiled step ran on its last call (traces, calls, kernels of the replayed list). */
  get info(): CompiledInfo {
    return (this.#fn as Compiled<(t: NDArray, p: NDArray) => NDArray>).info;
  }

  /** The graph for `model` over `cache`, or null when this path cannot run them (eager decode then). */
  static for(model: LanguageModel, cache: readonly KVCacheLike[]): DecodeGraph | null {
    if (!compileEnabled() || process.env.KILN_DECODE_GRAPH === '0') return null;
    const why = DecodeGraph.unsupported(model, cache);
    if (why) {
      if (process.env.KILN_DEBUG) console.error(`[decode] eager decode steps: ${why}`);
      return null;
    }
    return graphs.get(model) as DecodeGraph;
  }

  /** Why `model` with `cache` cannot use a compiled decode step, or null when it can. */
  static unsupported(model: LanguageModel, cache: readonly KVCacheLike[]): string | null {
    let g = graphs.get(model);
    if (!g) {
      const parts = decoderParts(model, 'decode');
      g = parts instanceof Error ? parts : new DecodeGraph(model, parts);
      graphs.set(model, g);
    }
    if (g instanceof Error) return g.message;
    if (cache.length !== g.#parts.dec.layers.length) return `${cache.length} caches for ${g.#parts.dec.layers.length} layers`;
    for (const c of cache) {
      if (!(c instanceof KVCache) || c.constructor !== KVCache) return `cache type ${c.constructor.name} (only KVCache runs compiled)`;
      if (c.leftPadding) return 'left-padded cache';
    }
    return null;
  }

  /**
   * One decode step: tokens [B, 1] int32 at the caches' common offset; writes their keys and
   * values into the caches (offset + 1) and returns the last position's logits [B, vocab]
   * (float32). `reserve` is the number of positions the caller expects to reach (capacity is
   * allocated for it once, so the steps share one trace).
   */
  step(tokens: NDArray, cache: KVCache[], reserve = 0): NDArray {
    const { nKvHeads, headDim, dtype } = this.#parts;
    const [B, L] = tokens.shape;
    if (L !== 1) throw new Error(`[decode] a compiled step takes one token per row, got tokens of shape [${tokens.shape}]`);
    const offset = cache[0].offset;
    for (const c of cache) if (c.offset !== offset) throw new Error(`[decode] the caches disagree on the offset (${c.offset} vs ${offset})`);
    const need = offset + 1;
    if (cache[0].capacity < need) {
      const cap = Math.ceil(Math.max(need, reserve, 2 * cache[0].capacity) / DECODE_GRAPH_STEP) * DECODE_GRAPH_STEP;
      for (const c of cache) c.reserve(cap, { batch: B, heads: nKvHeads, headDim, dtype });
    }
    const pos = ops.array(Int32Array.of(offset), 'int32');
    this.#layerCaches = cache;
    let logits: NDArray;
    try {
      logits = this.#fn(tokens, pos);
    } finally {
      this.#layerCaches = [];
      pos.dispose();
    }
    for (const c of cache) {
      c.offset = need;
      keep([c.keys, c.values]); // the cache's arrays outlive the caller's tidy
    }
    return logits;
  }

  #forward(tokens: NDArray, pos: NDArray): NDArray {
    const { dec, lmHead, nHeads: H, nKvHeads: Hk, headDim: D } = this.#parts;
    const caches = this.#layerCaches;
    const [B] = tokens.shape;
    const cap = caches[0].capacity;
    const rope = dec.layers[0].self_attn._rope;
    const rot = ropeAngles(rope, pos); // [1, dims/2], broadcast over [B, heads, 1, dims/2]
    const mask = ops.reshape(ops.lessEqual(ops.arange(cap, 'int32'), pos), [1, 1, 1, cap]);
    let h = dec.embed_tokens.call(tokens); // [B, 1, hidden]
    dec.layers.forEach((layer, li) => {
      const at = layer.self_attn,
        c = caches[li];
      const x = fusableNorm(layer.input_layernorm, h);
      const split = (y: NDArray, n: number) => ops.reshape(y, [B, n, 1, D]); // L = 1: heads first is a reshape
      let q = ops.reshape(at.q_proj.call(x), [B, 1, H, D]);
      let k = ops.reshape(at.k_proj.call(x), [B, 1, Hk, D]);
      if (at.q_norm) q = at.q_norm.call(q);
      if (at.k_norm) k = at.k_norm.call(k);
      q = rotateHalves(split(q, H), rot, at._rope.dims);
      k = rotateHalves(split(k, Hk), rot, at._rope.dims);
      const v = split(at.v_proj.call(x), Hk);
      const [oldK, oldV] = [c.keys!, c.values!];
      c.keys = writeRows(oldK, k, pos);
      c.values = writeRows(oldV, v, pos);
      // the replaced handles go (a traced call rebinds the new ones to each replay's results)
      oldK.dispose();
      oldV.dispose();
      const o = scaledDotProductAttention(q, c.keys, c.values, { scale: at.scale, mask });
      h = ops.add(h, at.o_proj.call(ops.reshape(o, [B, 1, H * D])));
      h = ops.add(h, layer.mlp.call(fusableNorm(layer.post_attention_layernorm, h)));
    });
    const normed = fusableNorm(dec.norm, h);
    const logits = lmHead ? lmHead.call(normed) : dec.embed_tokens.asLinear(normed);
    return ops.astype(ops.reshape(logits, [B, logits.shape[2]]), 'float32');
  }
}

/**
 * RMSNorm as ordinary ops (the rmsNorm kernel's composed form, the same roundings): kn.compile
 * fuses it with the residual add before it into one kernel with phases, which writes both the new
 * residual stream and its normalised value.
 */
function fusableNorm(norm: { call(x: NDArray): NDArray }, x: NDArray): NDArray {
  if (!(norm instanceof RMSNorm)) return norm.call(x);
  return rmsNormComposed(x, norm.weight, norm.eps, floatResult([x, norm.weight]));
}
