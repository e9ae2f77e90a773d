// Phi-3 family (model_type "phi3"; Phi-3/3.5 mini and medium, Phi-4-mini): fused projections
// (qkv_proj = [q | k | v], gate_up_proj = [gate | up]), partial rotary embeddings
// (partial_rotary_factor), longrope/su rope scaling with its attention factor, and a sliding
// window (the released 4k configs set 2047) masked the same way as HF.
import type { NDArray } from '../core/array.js';
import { add, multiply } from '../ops/elementwise.js';
import { split } from '../ops/shape.js';
import { reshape, transpose } from '../ops/views.js';
import { Embedding, Linear, Module, RMSNorm, silu } from '../nn/index.js';
import {
  boolField,
  checkCache,
  checkHeads,
  checkTokens,
  numField,
  optPosInt,
  posInt,
  ropeParameters,
  ropeScaling,
  ropeTheta,
  sanitizeCommon,
  type Config,
} from './args.js';
import { attend, layerMasks, type MaskSpec } from './attention.js';
import { slidingCaches, type MakeCacheOptions } from './cache.js';
import { Rope } from './rope.js';
import type { ForwardOptions, KVCacheLike, LanguageModel } from './types.js';

/** The config.json fields Phi-3 reads (HF names), defaults filled in. */
export interface Phi3Args {
  model_type: string;
  hidden_size: number;
  num_hidden_layers: number;
  intermediate_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  rms_norm_eps: number;
  vocab_size: number;
  rope_theta: number;
  rope_scaling: Record<string, unknown> | null;
  partial_rotary_factor: number;
  tie_word_embeddings: boolean;
  max_position_embeddings: number;
  original_max_position_embeddings: number;
  sliding_window: number | null;
}

/**
 * Parses a Phi-3 config.json.
 * @example
 * kn.models.createModel({ model_type: 'phi3', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128, num_attention_heads: 4, vocab_size: 100 }).args.num_key_value_heads // 4
 */
export function phi3Args(c: Config): Phi3Args {
  const f = 'phi3';
  const hidden = posInt(c, 'hidden_size', f),
    heads = posInt(c, 'num_attention_heads', f);
  const kvHeads = posInt(c, 'num_key_value_heads', f, heads);
  checkHeads(heads, kvHeads, f);
  const headDim = optPosInt(c, 'head_dim', f) ?? hidden / heads;
  if (!Number.isInteger(headDim)) throw new Error(`[models] phi3 config: hidden_size (${hidden}) must be a multiple of num_attention_heads (${heads})`);
  const rp = ropeParameters(c, f);
  const partial = numField(c, 'partial_rotary_factor', f, typeof rp?.partial_rotary_factor === 'number' ? rp.partial_rotary_factor : 1);
  if (!(partial > 0 && partial <= 1)) throw new Error(`[models] phi3 config: partial_rotary_factor must be in (0, 1], got ${partial}`);
  const maxPos = posInt(c, 'max_position_embeddings', f, 4096);
  return {
    model_type: 'phi3',
    hidden_size: hidden,
    num_hidden_layers: posInt(c, 'num_hidden_layers', f),
    intermediate_size: posInt(c, 'intermediate_size', f),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    rms_norm_eps: numField(c, 'rms_norm_eps', f, 1e-5),
    vocab_size: posInt(c, 'vocab_size', f),
    rope_theta: ropeTheta(c, f),
    rope_scaling: ropeScaling(c, f),
    partial_rotary_factor: partial,
    tie_word_embeddings: boolField(c, 'tie_word_embeddings', f, false),
    max_position_embeddings: maxPos,
    original_max_position_embeddings: posInt(c, 'original_max_position_embeddings', f, maxPos),
    sliding_window: optPosInt(c, 'sliding_window', f),
  };
}

export class Attention extends Module {
  qkv_proj: Linear;
  o_proj: Linear;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly scale: number;
  _rope: Rope;
  constructor(a: Phi3Args, rope: Rope) {
    super();
    this.nHeads = a.num_attention_heads;
    this.nKvHeads = a.num_key_value_heads;
    this.headDim = a.head_dim;
    this.scale = 1 / Math.sqrt(a.head_dim);
    this.qkv_proj = new Linear(a.hidden_size, (this.nHeads + 2 * this.nKvHeads) * this.headDim, { bias: false });
    this.o_proj = new Linear(this.nHeads * this.headDim, a.hidden_size, { bias: false });
    this._rope = rope;
  }
  forward(x: NDArray, mask: MaskSpec, cache?: KVCacheLike): NDArray {
    const [B, L] = x.shape;
    const qs = this.nHeads * this.headDim,
      ks = this.nKvHeads * this.headDim;
    const [q0, k0, v0] = split(this.qkv_proj.call(x), [qs, qs + ks], -1);
    const heads = (y: NDArray, n: number) => transpose(reshape(y, [B, L, n, this.headDim]), [0, 2, 1, 3]);
    const offset = cache?.offset ?? 0;
    const q = this._rope.apply(heads(q0, this.nHeads), offset);
    let k = this._rope.apply(heads(k0, this.nKvHeads), offset);
    let v = heads(v0, this.nKvHeads);
    if (cache) [k, v] = cache.updateAndFetch(k, v);
    const o = attend(q, k, v, this.scale, mask);
    return this.o_proj.call(reshape(transpose(o, [0, 2, 1, 3]), [B, L, this.nHeads * this.headDim]));
  }
}

/** SwiGLU with one fused input projection: gate_up_proj(x) = [gate | up]. */
export class MLP extends Module {
  gate_up_proj: Linear;
  down_proj: Linear;
  readonly hidden: number;
  constructor(dim: number, hidden: number) {
    super();
    this.hidden = hidden;
    this.gate_up_proj = new Linear(dim, 2 * hidden, { bias: false });
    this.down_proj = new Linear(hidden, dim, { bias: false });
  }
  forward(x: NDArray): NDArray {
    const [gate, up] = split(this.gate_up_proj.call(x), 2, -1);
    return this.down_proj.call(multiply(up, silu(gate)));
  }
}

export class TransformerBlock extends Module {
  self_attn: Attention;
  mlp: MLP;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;
  constructor(a: Phi3Args, rope: Rope) {
    super();
    this.self_attn = new Attention(a, rope);
    this.mlp = new MLP(a.hidden_size, a.intermediate_size);
    this.input_layernorm = new RMSNorm(a.hidden_size, { eps: a.rms_norm_eps });
    this.post_attention_layernorm = new RMSNorm(a.hidden_size, { eps: a.rms_norm_eps });
  }
  forward(x: NDArray, mask: MaskSpec, cache?: KVCacheLike): NDArray {
    const h = add(x, this.self_attn.call(this.input_layernorm.call(x), mask, cache));
    return add(h, this.mlp.call(this.post_attention_layernorm.call(h)));
  }
}

export class Phi3Model extends Module {
  embed_tokens: Embedding;
  layers: TransformerBlock[];
  norm: RMSNorm;
  readonly window: number | null;
  constructor(a: Phi3Args) {
    super();
    const dims = Math.floor(a.head_dim * a.partial_rotary_factor);
    const rope = new Rope({
      dims,
      base: a.rope_theta,
      scaling: a.rope_scaling,
      maxPositionEmbeddings: a.max_position_embeddings,
      originalMaxPositionEmbeddings: a.original_max_position_embeddings,
    });
    this.embed_tokens = new Embedding(a.vocab_size, a.hidden_size);
    this.layers = Array.from({ length: a.num_hidden_layers }, () => new TransformerBlock(a, rope));
    this.norm = new RMSNorm(a.hidden_size, { eps: a.rms_norm_eps });
    this.window = a.sliding_window;
  }
  forward(tokens: NDArray, opts: ForwardOptions = {}): NDArray {
    const cache = checkCache(opts.cache, this.layers.length, 'phi3');
    let h = this.embed_tokens.call(tokens);
    const masks = layerMasks(
      tokens.shape[1],
      this.layers.map(() => this.window),
      cache,
      opts.mask,
    );
    this.layers.forEach((layer, i) => {
      h = layer.call(h, masks[i], cache?.[i]);
    });
    return this.norm.call(h);
  }
}

/**
 * A Phi-3 causal LM: `forward(tokens [B, L], { cache, mask })` -> logits [B, L, vocab].
 * @example
 * const m = kn.models.createModel({ model_type: 'phi3', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128, num_attention_heads: 4, vocab_size: 100 });
 * m.forward(kn.array([[1, 2, 3]], 'int32')).shape // [1, 3, 100]
 */
export class Model extends Module implements LanguageModel {
  readonly modelType = 'phi3';
  model: Phi3Model;
  lm_head?: Linear;
  _args: Phi3Args;
  constructor(config: Config) {
    super();
    const a = phi3Args(config);
    this._args = a;
    this.model = new Phi3Model(a);
    if (!a.tie_word_embeddings) this.lm_head = new Linear(a.hidden_size, a.vocab_size, { bias: false });
  }
  get args(): Record<string, unknown> {
    return { ...this._args };
  }
  get vocabSize(): number {
    return this._args.vocab_size;
  }
  get numLayers(): number {
    return this._args.num_hidden_layers;
  }
  forward(tokens: NDArray, opts: ForwardOptions = {}): NDArray {
    checkTokens(tokens.shape, tokens.dtype, 'phi3');
    const h = this.model.call(tokens, opts);
    return this.lm_head ? this.lm_head.call(h) : this.model.embed_tokens.asLinear(h);
  }
  sanitize(weights: Map<string, NDArray>): Map<string, NDArray> {
    return sanitizeCommon(weights, this._args.tie_word_embeddings);
  }
  /** With a sliding window, RotatingKVCache(window, 0) per layer (an exact window, bounded memory). */
  makeCache(opts: MakeCacheOptions = {}): KVCacheLike[] {
    return slidingCaches(
      this.model.layers.map(() => this._args.sliding_window),
      opts,
    );
  }
}

export const phi3Family = { create: (config: Config): LanguageModel => new Model(config) };
