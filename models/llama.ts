// Llama family (model_type "llama"): Llama 2, 3, 3.1 / 3.2 (rope_scaling llama3), TinyLlama,
// SmolLM. Module fields carry Hugging Face's names, so `model.loadWeights(entries)` maps a HF
// safetensors file directly (model.layers.0.self_attn.q_proj.weight, ...).
import type { NDArray } from '../core/array.js';
import { add, multiply } from '../ops/elementwise.js';
import { reshape, transpose } from '../ops/views.js';
import { Embedding, Linear, Module, RMSNorm, silu } from '../nn/index.js';
import { boolField, checkCache, checkHeads, checkTokens, numField, optPosInt, posInt, ropeScaling, ropeTheta, sanitizeCommon, type Config } from './args.js';
import { attend, createAttentionMask, type MaskSpec } from './attention.js';
import { Rope } from './rope.js';
import type { ForwardOptions, KVCacheLike, LanguageModel } from './types.js';

/** The config.json fields the Llama family reads (HF names), defaults filled in. */
export interface LlamaArgs {
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
  attention_bias: boolean;
  mlp_bias: boolean;
  max_position_embeddings: number;
}

/**
 * Parses a Llama config.json (HF defaults for absent fields).
 * @example
 * kn.models.createModel({ model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128, num_attention_heads: 4, vocab_size: 100 }).args.head_dim // 16
 */
export function llamaArgs(c: Config): LlamaArgs {
  const f = 'llama';
  const hidden = posInt(c, 'hidden_size', f),
    heads = posInt(c, 'num_attention_heads', f);
  const kvHeads = posInt(c, 'num_key_value_heads', f, heads);
  checkHeads(heads, kvHeads, f);
  const headDim = optPosInt(c, 'head_dim', f) ?? hidden / heads;
  if (!Number.isInteger(headDim))
    throw new Error(`[models] llama config: hidden_size (${hidden}) must be a multiple of num_attention_heads (${heads}) when head_dim is absent`);
  return {
    model_type: typeof c.model_type === 'string' ? c.model_type : 'llama',
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
    attention_bias: boolField(c, 'attention_bias', f, false),
    mlp_bias: boolField(c, 'mlp_bias', f, false),
    max_position_embeddings: posInt(c, 'max_position_embeddings', f, 2048),
  };
}

/** Self-attention with grouped k/v heads (GQA through sdpa, k/v never repeated). */
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

  constructor(a: LlamaArgs, rope: Rope) {
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
    this._rope = rope;
  }

  forward(x: NDArray, mask: MaskSpec, cache?: KVCacheLike): NDArray {
    const [B, L] = x.shape;
    const heads = (y: NDArray, n: number) => transpose(reshape(y, [B, L, n, this.headDim]), [0, 2, 1, 3]);
    let q = heads(this.q_proj.call(x), this.nHeads);
    let k = heads(this.k_proj.call(x), this.nKvHeads);
    let v = heads(this.v_proj.call(x), this.nKvHeads);
    const offset = cache?.offset ?? 0;
    q = this._rope.apply(q, offset);
    k = this._rope.apply(k, offset);
    if (cache) [k, v] = cache.updateAndFetch(k, v);
    const o = attend(q, k, v, this.scale, mask);
    return this.o_proj.call(reshape(transpose(o, [0, 2, 1, 3]), [B, L, this.nHeads * this.headDim]));
  }
}

/** SwiGLU feed-forward: down(silu(gate(x)) * up(x)). */
export class MLP extends Module {
  gate_proj: Linear;
  up_proj: Linear;
  down_proj: Linear;
  constructor(dim: number, hidden: number, bias: boolean) {
    super();
    this.gate_proj = new Linear(dim, hidden, { bias });
    this.up_proj = new Linear(dim, hidden, { bias });
    this.down_proj = new Linear(hidden, dim, { bias });
  }
  forward(x: NDArray): NDArray {
    return this.down_proj.call(multiply(silu(this.gate_proj.call(x)), this.up_proj.call(x)));
  }
}

/** Pre-norm decoder block: x + attn(norm(x)), then h + mlp(norm(h)). */
export class TransformerBlock extends Module {
  self_attn: Attention;
  mlp: MLP;
  input_layernorm: RMSNorm;
  post_attention_layernorm: RMSNorm;
  constructor(a: LlamaArgs, rope: Rope) {
    super();
    this.self_attn = new Attention(a, rope);
    this.mlp = new MLP(a.hidden_size, a.intermediate_size, a.mlp_bias);
    this.input_layernorm = new RMSNorm(a.hidden_size, { eps: a.rms_norm_eps });
    this.post_attention_layernorm = new RMSNorm(a.hidden_size, { eps: a.rms_norm_eps });
  }
  forward(x: NDArray, mask: MaskSpec, cache?: KVCacheLike): NDArray {
    const h = add(x, this.self_attn.call(this.input_layernorm.call(x), mask, cache));
    return add(h, this.mlp.call(this.post_attention_layernorm.call(h)));
  }
}

/** The decoder stack (HF's LlamaModel: `model.*` weights). */
export class LlamaModel extends Module {
  embed_tokens: Embedding;
  layers: TransformerBlock[];
  norm: RMSNorm;
  constructor(a: LlamaArgs) {
    super();
    const rope = new Rope({ dims: a.head_dim, base: a.rope_theta, scaling: a.rope_scaling, maxPositionEmbeddings: a.max_position_embeddings });
    this.embed_tokens = new Embedding(a.vocab_size, a.hidden_size);
    this.layers = Array.from({ length: a.num_hidden_layers }, () => new TransformerBlock(a, rope));
    this.norm = new RMSNorm(a.hidden_size, { eps: a.rms_norm_eps });
  }
  forward(tokens: NDArray, opts: ForwardOptions = {}): NDArray {
    const cache = checkCache(opts.cache, this.layers.length, 'llama');
    let h = this.embed_tokens.call(tokens);
    const mask = opts.mask ?? createAttentionMask(tokens.shape[1], cache?.[0]);
    this.layers.forEach((layer, i) => {
      h = layer.call(h, mask, cache?.[i]);
    });
    return this.norm.call(h);
  }
}

/**
 * A Llama causal LM: `forward(tokens [B, L], { cache, mask })` -> logits [B, L, vocab].
 * @example
 * const m = kn.models.createModel({ model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100 });
 * m.forward(kn.array([[1, 2, 3]], 'int32')).shape // [1, 3, 100]
 */
export class Model extends Module implements LanguageModel {
  readonly modelType: string;
  model: LlamaModel;
  lm_head?: Linear;
  _args: LlamaArgs;
  constructor(config: Config) {
    super();
    const a = llamaArgs(config);
    this._args = a;
    this.modelType = a.model_type;
    this.model = new LlamaModel(a);
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
  /** The layers' (heads, kv heads, head dim), for caches. */
  get layers(): TransformerBlock[] {
    return this.model.layers;
  }
  forward(tokens: NDArray, opts: ForwardOptions = {}): NDArray {
    checkTokens(tokens.shape, tokens.dtype, 'llama');
    const h = this.model.call(tokens, opts);
    return this.lm_head ? this.lm_head.call(h) : this.model.embed_tokens.asLinear(h);
  }
  sanitize(weights: Map<string, NDArray>): Map<string, NDArray> {
    return sanitizeCommon(weights, this._args.tie_word_embeddings);
  }
}

/** The family record the registry keeps. */
export const llamaFamily = { create: (config: Config): LanguageModel => new Model(config) };
