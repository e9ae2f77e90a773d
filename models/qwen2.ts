// Qwen2 family (model_type "qwen2", also Qwen2.5): the Llama architecture with biases on the q,
// k and v projections (none on o_proj), tied embeddings in the small sizes, and optional sliding
// windows on the upper layers (use_sliding_window, off in released configs).
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

/** The config.json fields Qwen2 reads (HF names), defaults filled in. */
export interface Qwen2Args {
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
  tie_word_embeddings: boolean;
  max_position_embeddings: number;
  /** per layer: the sliding window, or null for full attention */
  layer_windows: (number | null)[];
}

/**
 * Parses a Qwen2 config.json.
 * @example
 * kn.models.createModel({ model_type: 'qwen2', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100 }).args.head_dim // 16
 */
export function qwen2Args(c: Config): Qwen2Args {
  const f = 'qwen2';
  const hidden = posInt(c, 'hidden_size', f),
    heads = posInt(c, 'num_attention_heads', f);
  const kvHeads = posInt(c, 'num_key_value_heads', f, heads);
  checkHeads(heads, kvHeads, f);
  if (hidden % heads !== 0) throw new Error(`[models] qwen2 config: hidden_size (${hidden}) must be a multiple of num_attention_heads (${heads})`);
  const layers = posInt(c, 'num_hidden_layers', f);
  return {
    model_type: 'qwen2',
    hidden_size: hidden,
    num_hidden_layers: layers,
    intermediate_size: posInt(c, 'intermediate_size', f),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: hidden / heads,
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
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly scale: number;
  _rope: Rope;
  constructor(a: Qwen2Args, rope: Rope) {
    super();
    this.nHeads = a.num_attention_heads;
    this.nKvHeads = a.num_key_value_heads;
    this.headDim = a.head_dim;
    this.scale = 1 / Math.sqrt(a.head_dim);
    this.q_proj = new Linear(a.hidden_size, this.nHeads * this.headDim, { bias: true });
    this.k_proj = new Linear(a.hidden_size, this.nKvHeads * this.headDim, { bias: true });
    this.v_proj = new Linear(a.hidden_size, this.nKvHeads * this.headDim, { bias: true });
    this.o_proj = new Linear(this.nHeads * this.headDim, a.hidden_size, { bias: false });
    this._rope = rope;
  }
  forward(x: NDArray, mask: MaskSpec, cache?: KVCacheLike): NDArray {
    const [B, L] = x.shape;
    const heads = (y: NDArray, n: number) => transpose(reshape(y, [B, L, n, this.headDim]), [0, 2, 1, 3]);
    const offset = cache?.offset ?? 0;
    const q = this._rope.apply(heads(this.q_proj.call(x), this.nHeads), offset);
    let k = this._rope.apply(heads(this.k_proj.call(x), this.nKvHeads), offset);
    let v = heads(this.v_proj.call(x), this.nKvHeads);
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
  constructor(a: Qwen2Args, rope: Rope) {
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

export class Qwen2Model extends Module {
  embed_tokens: Embedding;
  layers: TransformerBlock[];
  norm: RMSNorm;
  readonly windows: (number | null)[];
  constructor(a: Qwen2Args) {
    super();
    const rope = new Rope({ dims: a.head_dim, base: a.rope_theta, scaling: a.rope_scaling, maxPositionEmbeddings: a.max_position_embeddings });
    this.embed_tokens = new Embedding(a.vocab_size, a.hidden_size);
    this.layers = Array.from({ length: a.num_hidden_layers }, () => new TransformerBlock(a, rope));
    this.norm = new RMSNorm(a.hidden_size, { eps: a.rms_norm_eps });
    this.windows = a.layer_windows;
  }
  forward(tokens: NDArray, opts: ForwardOptions = {}): NDArray {
    const cache = checkCache(opts.cache, this.layers.length, 'qwen2');
    let h = this.embed_tokens.call(tokens);
    const masks = layerMasks(tokens.shape[1], this.windows, cache, opts.mask);
    this.layers.forEach((layer, i) => {
      h = layer.call(h, masks[i], cache?.[i]);
    });
    return this.norm.call(h);
  }
}

/**
 * A Qwen2 causal LM: `forward(tokens [B, L], { cache, mask })` -> logits [B, L, vocab].
 * @example
 * const m = kn.models.createModel({ model_type: 'qwen2', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100, tie_word_embeddings: true });
 * m.forward(kn.array([[1, 2, 3]], 'int32')).shape // [1, 3, 100]
 */
export class Model extends Module implements LanguageModel {
  readonly modelType = 'qwen2';
  model: Qwen2Model;
  lm_head?: Linear;
  _args: Qwen2Args;
  constructor(config: Config) {
    super();
    const a = qwen2Args(config);
    this._args = a;
    this.model = new Qwen2Model(a);
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
    checkTokens(tokens.shape, tokens.dtype, 'qwen2');
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

export const qwen2Family = { create: (config: Config): LanguageModel => new Model(config) };
