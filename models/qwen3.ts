// Qwen3 family (model_type "qwen3"): per-head RMSNorm of q and k (q_norm, k_norm over head_dim)
// before RoPE, an explicit head_dim (not hidden / heads), projection biases only with
// attention_bias, and the Qwen2 sliding-window options.
import type { NDArray } from '../core/array.js';
import { add, multiply } from '../ops/elementwise.js';
import { reshape, transpose } from '../ops/views.js';
import { Embedding, Linear, Module, RMSNorm, silu } from '../nn/index.js';
import {
  boolField,
  checkCache,
  checkHeads,
  checkTokens,
  numField,
  posInt,
  qwenLayerWindows,
  ropeScaling,
  ropeTheta,
  sanitizeCommon,
  type Config,
} from './args.js';
import { attend, layerMasks, type MaskSpec } from './attention.js';
import { slidingCaches, type MakeCacheOptions } from './cache.js';
import { Rope } from './rope.js';
import type { ForwardOptions, KVCacheLike, LanguageModel } from './types.js';

/** The config.json fields Qwen3 reads (HF names), defaults filled in. */
export interface Qwen3Args {
  model_type: string;
  hidden_size: number;
  num_hidden_layers: number;
  intermediate_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  attention_bias: boolean;
  rms_norm_eps: number;
  vocab_size: number;
  rope_theta: number;
  rope_scaling: Record<string, unknown> | null;
  tie_word_embeddings: boolean;
  max_position_embeddings: number;
  /** per layer: the sliding window, or null for full attention */
  layer_windows: (number | null)[];
}

/**
 * Parses a Qwen3 config.json.
 * @example
 * kn.models.createModel({ model_type: 'qwen3', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100 }).args.head_dim // 128
 */
export function qwen3Args(c: Config): Qwen3Args {
  const f = 'qwen3';
  const hidden = posInt(c, 'hidden_size', f),
    heads = posInt(c, 'num_attention_heads', f);
  const kvHeads = posInt(c, 'num_key_value_heads', f, heads);
  checkHeads(heads, kvHeads, f);
  const layers = posInt(c, 'num_hidden_layers', f);
  return {
    model_type: 'qwen3',
    hidden_size: hidden,
    num_hidden_layers: layers,
    intermediate_size: posInt(c, 'intermediate_size', f),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: posInt(c, 'head_dim', f, 128),
    attention_bias: boolField(c, 'attention_bias', f, false),
    rms_norm_eps: numField(c, 'rms_norm_eps', f, 1e-6),
    vocab_size: posInt(c, 'vocab_size', f),
    rope_theta: ropeTheta(c, f),
    rope_scaling: ropeScaling(c, f),
    tie_word_embeddings: boolField(c, 'tie_word_embeddings', f, false),
    max_position_embeddings: posInt(c, 'max_position_embeddings', f, 32768),
    layer_windows: qwenLayerWindows(c, layers, f),
  };
}

export class Attention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  q_norm: RMSNorm;
  k_norm: RMSNorm;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly scale: number;
  _rope: Rope;
  constructor(a: Qwen3Args, rope: Rope) {
    super();
    this.nHeads = a.num_attention_heads;
    this.nKvHeads = a.num_key_value_heads;
    this.headDim = a.head_dim;
    this.scale = 1 / Math.sqrt(a.head_dim);
    const bias = a.attention_bias;
    this.q_proj = new Linear(a.hidden_size, this.nHeads * this.headDim, { bias });
    this.k_proj = new Linear(a.hidden_size, this.nKvHeads * this.headDim, { bias });
    this.v_proj = new Linear(a.hidden_size, this.nKvHeads * this.headDim, { bias });
    this.o_proj = new Linear(this.nHeads * this.headDim, a.hidden_size, { bias });
    this.q_norm = new RMSNorm(this.headDim, { eps: a.rms_norm_eps });
    this.k_norm = new RMSNorm(this.headDim, { eps: a.rms_norm_eps });
    this._rope = rope;
  }
  forward(x: NDArray, mask: MaskSpec, cache?: KVCacheLike): NDArray {
    const [B, L] = x.shape;
    const split = (y: NDArray, n: number) => reshape(y, [B, L, n, this.headDim]);
    const heads = (y: NDArray) => transpose(y, [0, 2, 1, 3]);
    const offset = cache?.offset ?? 0;
    // the norms act per head, before the heads move in front of the positions
    const q = this._rope.apply(heads(this.q_norm.call(split(this.q_proj.call(x), this.nHeads))), offset);
    let k = this._rope.apply(heads(this.k_norm.call(split(this.k_proj.call(x), this.nKvHeads))), offset);
    let v = heads(split(this.v_proj.call(x), this.nKvHeads));
    if (cache) [k, v] = cache.updateAndFetch(k, v);
    const o = attend(q, k, v, this.scale, mask);
    return this.o_proj.call(reshape(transpose(o, [0, 2, 1, 3]), [B, L, this.nHeads * this.headDim]));
  }
}

export class MLP extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;
  constructor(dim: number, hidden: number) {
    super();
    this.gate_proj = new Linear(dim, hidden, { bias: false });
    this.up_proj = new Linear(dim, hidden, { bias: false });
    this.down_proj = new Linear(hidden, dim, { bias: false });
  }
  forward(x: NDArray): NDArray {
    return this.down_proj.call(multiply(silu(this.gate_proj.call(x)), this.up_proj.call(x)));
  }
}

export class TransformerBlock extends Module {
  self_attn: Attention;
  mlp: MLP;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;
  constructor(a: Qwen3Args, rope: Rope) {
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

export class Qwen3Model extends Module {
  embed_tokens: Embedding;
  layers: TransformerBlock[];
  norm: RMSNorm;
  readonly windows: (number | null)[];
  constructor(a: Qwen3Args) {
    super();
    const rope = new Rope({ dims: a.head_dim, base: a.rope_theta, scaling: a.rope_scaling, maxPositionEmbeddings: a.max_position_embeddings });
    this.embed_tokens = new Embedding(a.vocab_size, a.hidden_size);
    this.layers = Array.from({ length: a.num_hidden_layers }, () => new TransformerBlock(a, rope));
    this.norm = new RMSNorm(a.hidden_size, { eps: a.rms_norm_eps });
    this.windows = a.layer_windows;
  }
  forward(tokens: NDArray, opts: ForwardOptions = {}): NDArray {
    const cache = checkCache(opts.cache, this.layers.length, 'qwen3');
    let h = this.embed_tokens.call(tokens);
    const masks = layerMasks(tokens.shape[1], this.windows, cache, opts.mask);
    this.layers.forEach((layer, i) => {
      h = layer.call(h, masks[i], cache?.[i]);
    });
    return this.norm.call(h);
  }
}

/**
 * A Qwen3 causal LM: `forward(tokens [B, L], { cache, mask })` -> logits [B, L, vocab].
 * @example
 * const m = kn.models.createModel({ model_type: 'qwen3', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, vocab_size: 100, tie_word_embeddings: true });
 * m.forward(kn.array([[1, 2, 3]], 'int32')).shape // [1, 3, 100]
 */
export class Model extends Module implements LanguageModel {
  readonly modelType = 'qwen3';
  model: Qwen3Model;
  lm_head?: Linear;
  _args: Qwen3Args;
  constructor(config: Config) {
    super();
    const a = qwen3Args(config);
    this._args = a;
    this.model = new Qwen3Model(a);
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
    checkTokens(tokens.shape, tokens.dtype, 'qwen3');
    const h = this.model.call(tokens, opts);
    return this.lm_head ? this.lm_head.call(h) : this.model.embed_tokens.asLinear(h);
  }
  sanitize(weights: Map<string, NDArray>): Map<string, NDArray> {
    return sanitizeCommon(weights, this._args.tie_word_embeddings);
  }
  /** Sliding layers get RotatingKVCache(window, 0), full-attention layers a KVCache. */
  makeCache(opts: MakeCacheOptions = {}): KVCacheLike[] {
    return slidingCaches(this._args.layer_windows, opts);
  }
}

export const qwen3Family = { create: (config: Config): LanguageModel => new Model(config) };
