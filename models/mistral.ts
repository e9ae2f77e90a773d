// Mistral family (model_type "mistral"): the Llama architecture plus an optional sliding window
// (Mistral 7B v0.1: 4096; later versions none). With a window, each layer's cache is a
// RotatingKVCache of the window size (keep 0), which is exactly sliding-window attention.
import type { NDArray } from '../core/array.js';
import { add, multiply } from '../ops/elementwise.js';
import { reshape, transpose } from '../ops/views.js';
import { Embedding, Linear, Module, RMSNorm, silu } from '../nn/index.js';
import { boolField, checkCache, checkHeads, checkTokens, numField, optPosInt, posInt, ropeScaling, ropeTheta, sanitizeCommon, type Config } from './args.js';
import { attend, layerMasks, type MaskSpec } from './attention.js';
import { slidingCaches, type MakeCacheOptions } from './cache.js';
import { Rope } from './rope.js';
import type { ForwardOptions, KVCacheLike, LanguageModel } from './types.js';

/** The config.json fields Mistral reads (HF names), defaults filled in. */
export interface MistralArgs {
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
  sliding_window: number | null;
}

/**
 * Parses a Mistral config.json.
 * @example
 * kn.models.createModel({ model_type: 'mistral', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128, num_attention_heads: 4, vocab_size: 100, sliding_window: 16 }).args.sliding_window // 16
 */
export function mistralArgs(c: Config): MistralArgs {
  const f = 'mistral';
  const hidden = posInt(c, 'hidden_size', f),
    heads = posInt(c, 'num_attention_heads', f);
  const kvHeads = posInt(c, 'num_key_value_heads', f, heads);
  checkHeads(heads, kvHeads, f);
  const headDim = optPosInt(c, 'head_dim', f) ?? hidden / heads;
  if (!Number.isInteger(headDim))
    throw new Error(`[models] mistral config: hidden_size (${hidden}) must be a multiple of num_attention_heads (${heads}) when head_dim is absent`);
  return {
    model_type: 'mistral',
    hidden_size: hidden,
    num_hidden_layers: posInt(c, 'num_hidden_layers', f),
    intermediate_size: posInt(c, 'intermediate_size', f),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    rms_norm_eps: numField(c, 'rms_norm_eps', f, 1e-6),
    vocab_size: posInt(c, 'vocab_size', f),
    rope_theta: ropeTheta(c, f),
    rope_scaling: ropeScaling(c, f),
    tie_word_embeddings: boolField(c, 'tie_word_embeddings', f, false),
    max_position_embeddings: posInt(c, 'max_position_embeddings', f, 4096 * 32),
    sliding_window: optPosInt(c, 'sliding_window', f),
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
  constructor(a: MistralArgs, rope: Rope) {
    super();
    this.nHeads = a.num_attention_heads;
    this.nKvHeads = a.num_key_value_heads;
    this.headDim = a.head_dim;
    this.scale = 1 / Math.sqrt(a.head_dim);
    this.q_proj = new Linear(a.hidden_size, this.nHeads * this.headDim, { bias: false });
    this.k_proj = new Linear(a.hidden_size, this.nKvHeads * this.headDim, { bias: false });
    this.v_proj = new Linear(a.hidden_size, this.nKvHeads * this.headDim, { bias: false });
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
  constructor(a: MistralArgs, rope: Rope) {
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

export class MistralModel extends Module {
  embed_tokens: Embedding;
  layers: TransformerBlock[];
  norm: RMSNorm;
  readonly window: number | null;
  constructor(a: MistralArgs) {
    super();
    const rope = new Rope({ dims: a.head_dim, base: a.rope_theta, scaling: a.rope_scaling, maxPositionEmbeddings: a.max_position_embeddings });
    this.embed_tokens = new Embedding(a.vocab_size, a.hidden_size);
    this.layers = Array.from({ length: a.num_hidden_layers }, () => new TransformerBlock(a, rope));
    this.norm = new RMSNorm(a.hidden_size, { eps: a.rms_norm_eps });
    this.window = a.sliding_window;
  }
  forward(tokens: NDArray, opts: ForwardOptions = {}): NDArray {
    const cache = checkCache(opts.cache, this.layers.length, 'mistral');
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
 * A Mistral causal LM: `forward(tokens [B, L], { cache, mask })` -> logits [B, L, vocab].
 * @example
 * const m = kn.models.createModel({ model_type: 'mistral', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100, sliding_window: 8 });
 * m.forward(kn.array([[1, 2, 3]], 'int32')).shape // [1, 3, 100]
 */
export class Model extends Module implements LanguageModel {
  readonly modelType = 'mistral';
  model: MistralModel;
  lm_head?: Linear;
  _args: MistralArgs;
  constructor(config: Config) {
    super();
    const a = mistralArgs(config);
    this._args = a;
    this.model = new MistralModel(a);
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
    checkTokens(tokens.shape, tokens.dtype, 'mistral');
    const h = this.model.call(tokens, opts);
    return this.lm_head ? this.lm_head.call(h) : this.model.embed_tokens.asLinear(h);
  }
  sanitize(weights: Map<string, NDArray>): Map<string, NDArray> {
    return sanitizeCommon(weights, this._args.tie_word_embeddings);
  }
  /** A sliding-window model gets RotatingKVCache(window, 0) per layer (maxKvSize below the window: keep 4). */
  makeCache(opts: MakeCacheOptions = {}): KVCacheLike[] {
    return slidingCaches(
      this.model.layers.map(() => this._args.sliding_window),
      opts,
    );
  }
}

export const mistralFamily = { create: (config: Config): LanguageModel => new Model(config) };
