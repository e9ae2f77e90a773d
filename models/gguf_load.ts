// Llama-architecture GGUF files (general.architecture llama, mistral, qwen2, qwen3) onto the HF
// families: a config.json-style object from the metadata, HF tensor names from GGUF's, and
// llama.cpp's Q/K row permutation undone where its converter applied it (llama/mistral: the
// interleaved-pair RoPE layout back to HF's rotate-half halves; qwen2/qwen3 keep HF's layout).
import type { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import type { GgufFile, GgufValue } from '../ops/io/gguf.js';
import { reshape, transpose } from '../ops/views.js';
import type { ModelConfig } from './config.js';

/** The GGUF architectures kiln maps onto its families. */
export const GGUF_ARCHES = ['llama', 'mistral', 'qwen2', 'qwen3'] as const;
/** Architectures whose q/k rows llama.cpp's converter permutes. */
const PERMUTED = new Set(['llama', 'mistral']);

const LAYER_MAP: [string, string][] = [
  ['attn_norm.weight', 'input_layernorm.weight'],
  ['ffn_norm.weight', 'post_attention_layernorm.weight'],
  ['attn_q.weight', 'self_attn.q_proj.weight'],
  ['attn_k.weight', 'self_attn.k_proj.weight'],
  ['attn_v.weight', 'self_attn.v_proj.weight'],
  ['attn_q.bias', 'self_attn.q_proj.bias'],
  ['attn_k.bias', 'self_attn.k_proj.bias'],
  ['attn_v.bias', 'self_attn.v_proj.bias'],
  ['attn_output.weight', 'self_attn.o_proj.weight'],
  ['attn_output.bias', 'self_attn.o_proj.bias'],
  ['attn_q_norm.weight', 'self_attn.q_norm.weight'],
  ['attn_k_norm.weight', 'self_attn.k_norm.weight'],
  ['ffn_gate.weight', 'mlp.gate_proj.weight'],
  ['ffn_up.weight', 'mlp.up_proj.weight'],
  ['ffn_down.weight', 'mlp.down_proj.weight'],
];
const GLOBAL_MAP: [string, string][] = [
  ['token_embd.weight', 'model.embed_tokens.weight'],
  ['output_norm.weight', 'model.norm.weight'],
  ['output.weight', 'lm_head.weight'],
];
const G2H_LAYER = new Map(LAYER_MAP);
const H2G_LAYER = new Map(LAYER_MAP.map(([g, h]) => [h, g]));
const G2H_GLOBAL = new Map(GLOBAL_MAP);
const H2G_GLOBAL = new Map(GLOBAL_MAP.map(([g, h]) => [h, g]));

/**
 * The Hugging Face name of a GGUF tensor (null when it has none, e.g. rope_freqs.weight).
 * @example ggufToHfName('blk.3.ffn_gate.weight') // 'model.layers.3.mlp.gate_proj.weight'
 */
export function ggufToHfName(name: string): string | null {
  const g = G2H_GLOBAL.get(name);
  if (g) return g;
  const m = /^blk\.(\d+)\.(.+)$/.exec(name);
  const h = m && G2H_LAYER.get(m[2]);
  return h ? `model.layers.${m![1]}.${h}` : null;
}

/**
 * The GGUF name of a Hugging Face tensor (null when GGUF has none).
 * @example hfToGgufName('model.layers.0.self_attn.q_proj.weight') // 'blk.0.attn_q.weight'
 */
export function hfToGgufName(name: string): string | null {
  const g = H2G_GLOBAL.get(name);
  if (g) return g;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  const h = m && H2G_LAYER.get(m[2]);
  return h ? `blk.${m![1]}.${h}` : null;
}

/**
 * llama.cpp's converter layout of q/k rows: per head, HF's [2, headDim/2] halves become
 * [headDim/2, 2] interleaved pairs. `inverse` goes back (GGUF -> HF). Works on weights
 * [heads*headDim, in] and biases [heads*headDim].
 * @example permuteQK(kn.arange(8).reshape([8, 1]), 1).flatten() // [0, 4, 1, 5, 2, 6, 3, 7]
 */
export function permuteQK(w: NDArray, heads: number, inverse = false): NDArray {
  const rows = w.shape[0];
  const rest = w.shape.slice(1);
  if (rows % heads !== 0 || (rows / heads) % 2 !== 0)
    throw new Error(`[models.gguf] cannot permute q/k rows: ${rows} rows is not ${heads} heads of an even head size`);
  const half = rows / heads / 2;
  const from = inverse ? [heads, half, 2, ...rest] : [heads, 2, half, ...rest];
  const axes = [0, 2, 1, ...rest.map((_, i) => i + 3)];
  return reshape(transpose(reshape(w, from), axes), w.shape);
}

function meta(md: Record<string, GgufValue>, key: string): GgufValue | undefined {
  return Object.prototype.hasOwnProperty.call(md, key) ? md[key] : undefined;
}

/** A metadata number (a per-layer array must hold one value; llama.cpp allows that form). */
function metaNum(md: Record<string, GgufValue>, key: string, where: string, required: true): number;
function metaNum(md: Record<string, GgufValue>, key: string, where: string, required?: false): number | undefined;
function metaNum(md: Record<string, GgufValue>, key: string, where: string, required = false): number | undefined {
  let v = meta(md, key);
  if (v === undefined) {
    if (required) throw new Error(`[models.load] ${where} lacks the metadata key ${key}`);
    return undefined;
  }
  if (Array.isArray(v)) {
    const vals = new Set(v.map(Number));
    if (vals.size !== 1) throw new Error(`[models.load] ${where}: ${key} differs between layers (${[...vals].join(', ')}); kiln's families need one value`);
    v = v[0];
  }
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`[models.load] ${where}: ${key} must be a number, got ${String(v)}`);
  return v;
}

/**
 * A config.json-style object for a llama-architecture GGUF file: HF field names and values taken
 * from `<arch>.*` metadata, the vocabulary size from the tokenizer tokens (checked against
 * token_embd), tied embeddings when `output.weight` is absent, and rope_scaling from the
 * rope.scaling keys or a `rope_freqs` tensor (llama3-style per-frequency factors, kept exactly
 * as longrope factors). `where` names the file in errors.
 * @example
 * import { readConfig } from './config.js';
 * import { exportGguf } from './gguf_export.js';
 * const st = kn.loadSafetensors('tests/fixtures/models/llama/model.safetensors').tensors;
 * exportGguf('/tmp/kiln-doc-tiny.gguf', readConfig('tests/fixtures/models/llama'), st);
 * ggufConfig(kn.loadGguf('/tmp/kiln-doc-tiny.gguf'), 'tiny.gguf').model_type // 'llama'
 */
export function ggufConfig(file: Pick<GgufFile, 'metadata' | 'tensors'>, where: string): ModelConfig {
  const md = file.metadata;
  const arch = meta(md, 'general.architecture');
  if (typeof arch !== 'string') throw new Error(`[models.load] ${where} lacks general.architecture`);
  if (!(GGUF_ARCHES as readonly string[]).includes(arch))
    throw new Error(`[models.load] ${where} has GGUF architecture "${arch}"; kiln loads ${GGUF_ARCHES.join(', ')}`);
  const k = (s: string) => `${arch}.${s}`;
  const hidden = metaNum(md, k('embedding_length'), where, true);
  const layers = metaNum(md, k('block_count'), where, true);
  const heads = metaNum(md, k('attention.head_count'), where, true);
  const kvHeads = metaNum(md, k('attention.head_count_kv'), where) ?? heads;
  const headDim = metaNum(md, k('attention.key_length'), where) ?? hidden / heads;
  const valueDim = metaNum(md, k('attention.value_length'), where) ?? headDim;
  if (valueDim !== headDim)
    throw new Error(`[models.load] ${where}: attention.key_length ${headDim} != value_length ${valueDim}, which kiln's families do not support`);
  const ropeDims = metaNum(md, k('rope.dimension_count'), where) ?? headDim;
  if (ropeDims !== headDim)
    throw new Error(
      `[models.load] ${where}: rope.dimension_count ${ropeDims} differs from the head size ${headDim} (partial rotary embeddings are not supported for ${arch})`,
    );

  const embd = file.tensors['token_embd.weight'];
  if (!embd) throw new Error(`[models.load] ${where} has no token_embd.weight tensor`);
  const tokens = meta(md, 'tokenizer.ggml.tokens');
  let vocab = Array.isArray(tokens) ? tokens.length : (metaNum(md, k('vocab_size'), where) ?? embd.shape[0]);
  if (vocab !== embd.shape[0]) {
    const src = Array.isArray(tokens) ? 'tokenizer.ggml.tokens' : `${arch}.vocab_size`;
    throw new Error(`[models.load] ${where}: ${src} gives a vocabulary of ${vocab} but token_embd.weight has ${embd.shape[0]} rows`);
  }
  vocab = embd.shape[0];

  const config: ModelConfig = {
    model_type: arch,
    architectures: [`gguf:${arch}`],
    hidden_size: hidden,
    num_hidden_layers: layers,
    intermediate_size: metaNum(md, k('feed_forward_length'), where, true),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    rms_norm_eps: metaNum(md, k('attention.layer_norm_rms_epsilon'), where) ?? 1e-5,
    rope_theta: metaNum(md, k('rope.freq_base'), where) ?? 10000,
    max_position_embeddings: metaNum(md, k('context_length'), where) ?? 2048,
    vocab_size: vocab,
    tie_word_embeddings: !file.tensors['output.weight'],
  };
  const window = metaNum(md, k('attention.sliding_window'), where);
  if (window !== undefined && window > 0) {
    // llama.cpp's converter writes Mistral as arch llama; the window selects our mistral family
    if (arch === 'llama' || arch === 'mistral') config.model_type = 'mistral';
    config.sliding_window = window;
    if (arch === 'qwen2' || arch === 'qwen3') config.use_sliding_window = true;
  }
  if (arch === 'llama' && file.tensors['blk.0.attn_q.bias']) config.attention_bias = true;
  for (const [key, field] of [
    ['tokenizer.ggml.bos_token_id', 'bos_token_id'],
    ['tokenizer.ggml.eos_token_id', 'eos_token_id'],
  ] as const) {
    const v = metaNum(md, key, where);
    if (v !== undefined) config[field] = v;
  }

  const stype = meta(md, k('rope.scaling.type'));
  const factor = metaNum(md, k('rope.scaling.factor'), where) ?? metaNum(md, k('rope.scale_linear'), where);
  const freqs = file.tensors['rope_freqs.weight'];
  if (freqs) {
    if (freqs.size !== headDim / 2)
      throw new Error(`[models.load] ${where}: rope_freqs.weight has ${freqs.size} factors, expected head_dim/2 = ${headDim / 2}`);
    const f = Array.from(freqs.astype('float32').toTypedArray() as Float32Array);
    // the factors divide the inverse frequencies, which is longrope's form with one factor list
    config.rope_scaling = {
      rope_type: 'longrope',
      short_factor: f,
      long_factor: f,
      factor: 1,
      attention_factor: 1,
      original_max_position_embeddings: config.max_position_embeddings,
    };
  } else if (stype === 'linear' || (stype === undefined && factor !== undefined && factor !== 1)) {
    config.rope_scaling = { rope_type: 'linear', factor };
  } else if (stype !== undefined && stype !== 'none') {
    throw new Error(`[models.load] ${where}: rope scaling type "${String(stype)}" is not supported (supported: none, linear, and rope_freqs factors)`);
  }
  return config;
}

/**
 * The tensors of a GGUF file under Hugging Face names, q/k rows un-permuted for llama/mistral.
 * Throws naming any tensor it cannot place.
 * @example
 * import { readConfig } from './config.js';
 * import { exportGguf } from './gguf_export.js';
 * const st = kn.loadSafetensors('tests/fixtures/models/llama/model.safetensors').tensors;
 * exportGguf('/tmp/kiln-doc-tiny.gguf', readConfig('tests/fixtures/models/llama'), st);
 * const file = kn.loadGguf('/tmp/kiln-doc-tiny.gguf'), cfg = ggufConfig(file, 'tiny.gguf');
 * ggufWeights(file, cfg, 'tiny.gguf').get('model.norm.weight').shape // [64]
 */
export function ggufWeights(file: Pick<GgufFile, 'metadata' | 'tensors'>, config: ModelConfig, where: string): Map<string, NDArray> {
  const arch = String(file.metadata['general.architecture']);
  const heads = config.num_attention_heads as number,
    kvHeads = config.num_key_value_heads as number;
  const out = new Map<string, NDArray>();
  const unknown: string[] = [];
  for (const [name, t] of Object.entries(file.tensors)) {
    if (name === 'rope_freqs.weight') continue; // folded into config.rope_scaling
    const hf = ggufToHfName(name);
    if (!hf) {
      unknown.push(name);
      continue;
    }
    let w = t;
    if (PERMUTED.has(arch)) {
      if (/attn_q\.(weight|bias)$/.test(name)) w = permuteQK(t, heads, true);
      else if (/attn_k\.(weight|bias)$/.test(name)) w = permuteQK(t, kvHeads, true);
    }
    out.set(hf, w);
  }
  if (unknown.length)
    throw new Error(`[models.load] ${where} holds tensors kiln cannot map onto ${arch}: ${unknown.slice(0, 8).join(', ')}${unknown.length > 8 ? ', ...' : ''}`);
  return out;
}

/** Block types whose products run natively on float32 activations (kn.ggufMatmul). */
const NATIVE = new Set(['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K']);

/**
 * The float dtype a GGUF model computes in by default: the storage type most of its weight
 * matrices use (F16 -> float16, BF16 -> bfloat16, F32 -> float32; the natively run block types
 * count as float32, the kernels' activation type; other quantized types as float16).
 * @example ggufDefaultDtype({ 'blk.0.attn_q.weight': 'F16' }, { 'blk.0.attn_q.weight': [64, 64] }) // 'float16'
 * @example ggufDefaultDtype({ 'blk.0.attn_q.weight': 'Q4_K' }, { 'blk.0.attn_q.weight': [256, 256] }) // 'float32'
 */
export function ggufDefaultDtype(types: Record<string, string>, shapes: Record<string, readonly number[]>): DType {
  const votes = new Map<DType, number>();
  for (const [name, t] of Object.entries(types)) {
    if ((shapes[name]?.length ?? 0) < 2) continue;
    const dt: DType = t === 'F32' || t === 'F64' || NATIVE.has(t) ? 'float32' : t === 'BF16' ? 'bfloat16' : 'float16';
    votes.set(dt, (votes.get(dt) ?? 0) + 1);
  }
  let best: DType = 'float32',
    n = -1;
  for (const [dt, c] of votes) if (c > n) [best, n] = [dt, c];
  return best;
}
