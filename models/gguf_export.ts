// Hugging Face weights + config -> a llama-architecture GGUF file, laid out as llama.cpp's
// converter does: GGUF tensor names, q/k rows permuted for llama/mistral, `<arch>.*` metadata,
// llama3 rope scaling as a rope_freqs tensor, 1-D tensors kept F32. The inverse of gguf_load.ts;
// tests use it to make GGUF files of the tiny fixture models.
import type { NDArray } from '../core/array.js';
import { array } from '../ops/creation.js';
import { saveGguf, type GgmlTypeName, type GgufValue } from '../ops/io/index.js';
import type { ModelConfig } from './config.js';
import { hfToGgufName, permuteQK } from './gguf_load.js';
import { defaultInvFreq, llama3InvFreq, ropeType } from './rope.js';

export interface GgufExportOptions {
  /**
   * storage type of the 2-D weight matrices (default F16); 1-D tensors stay F32. Q4_K_M is
   * llama.cpp's mix: Q4_K, with Q6_K for the output head (the embedding when tied) and for attn_v
   * and ffn_down of the first and last eighth of the layers and every third layer between. Rows
   * that do not split into the type's blocks fall back (K types: Q8_0 when rows split into 32s,
   * else F16; Q8_0/Q4_0: F16).
   */
  type?: GgufExportType;
  /** general.name */
  name?: string;
  /** extra metadata (e.g. tokenizer.ggml.* keys) and their GGUF types */
  metadata?: Record<string, GgufValue>;
  metadataTypes?: Record<string, string>;
}

/** The file types exportGguf writes. */
export type GgufExportType = 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K' | 'Q4_K_M';
/** every GgufExportType (for argument checks) */
export const GGUF_EXPORT_TYPES: readonly GgufExportType[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K', 'Q4_K_M'];

// general.file_type (llama_ftype): Q4_K and Q6_K files are written as the _M mix / Q6_K ftypes
const FILE_TYPE: Record<string, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K: 15, Q6_K: 18, Q4_K_M: 15, BF16: 32 };

/** Q4_K_M's choice for one GGUF tensor (llama.cpp's use_more_bits layers get Q6_K for attn_v and ffn_down). */
function q4kmType(name: string, nLayers: number, tied: boolean): GgmlTypeName {
  if (name === 'output.weight' || (tied && name === 'token_embd.weight')) return 'Q6_K';
  const m = /^blk\.(\d+)\.(attn_v|ffn_down)\.weight$/.exec(name);
  if (m) {
    const i = Number(m[1]);
    if (i < nLayers / 8 || i >= (7 * nLayers) / 8 || (i - Math.floor(nLayers / 8)) % 3 === 2) return 'Q6_K';
  }
  return 'Q4_K';
}
const ARCH: Record<string, string> = { llama: 'llama', mistral: 'llama', qwen2: 'qwen2', qwen3: 'qwen3' };

function int(c: ModelConfig, key: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new Error(`[models.exportGguf] config ${key} must be a positive integer, got ${String(v)}`);
  return v;
}

/**
 * The GGUF tensors and metadata of a model given as its config.json object and HF-named weights.
 * @example
 * import { readConfig } from './config.js';
 * const config = readConfig('tests/fixtures/models/llama');
 * const weights = kn.loadSafetensors('tests/fixtures/models/llama/model.safetensors').tensors;
 * const g = hfToGguf(config, weights);
 * g.metadata['general.architecture'] // 'llama'
 */
export function hfToGguf(config: ModelConfig, weights: Map<string, NDArray> | Record<string, NDArray>, opts: GgufExportOptions = {}) {
  const mt = String(config.model_type);
  const arch = ARCH[mt];
  if (!arch) throw new Error(`[models.exportGguf] model_type "${mt}" has no llama-architecture GGUF form here (supported: ${Object.keys(ARCH).join(', ')})`);
  const heads = int(config, 'num_attention_heads');
  const kvHeads = int(config, 'num_key_value_heads', heads);
  const hidden = int(config, 'hidden_size');
  const headDim = int(config, 'head_dim', hidden / heads);
  const type = opts.type ?? 'F16';
  const k = (s: string) => `${arch}.${s}`;
  const metadata: Record<string, GgufValue> = {
    'general.architecture': arch,
    'general.name': opts.name ?? mt,
    'general.file_type': FILE_TYPE[type],
    [k('context_length')]: int(config, 'max_position_embeddings', 2048),
    [k('embedding_length')]: hidden,
    [k('block_count')]: int(config, 'num_hidden_layers'),
    [k('feed_forward_length')]: int(config, 'intermediate_size'),
    [k('attention.head_count')]: heads,
    [k('attention.head_count_kv')]: kvHeads,
    [k('attention.key_length')]: headDim,
    [k('attention.value_length')]: headDim,
    [k('rope.dimension_count')]: headDim,
    [k('attention.layer_norm_rms_epsilon')]: typeof config.rms_norm_eps === 'number' ? config.rms_norm_eps : 1e-6,
    [k('rope.freq_base')]: typeof config.rope_theta === 'number' ? config.rope_theta : 10000,
    [k('vocab_size')]: int(config, 'vocab_size'),
  };
  const types: Record<string, string> = {
    'general.architecture': 'string',
    'general.name': 'string',
    'general.file_type': 'uint32',
    [k('attention.layer_norm_rms_epsilon')]: 'float32',
    [k('rope.freq_base')]: 'float32',
  };
  for (const key of Object.keys(metadata)) types[key] ??= 'uint32';
  const window = config.sliding_window;
  const useWindow = mt === 'mistral' || config.use_sliding_window === true;
  if (typeof window === 'number' && window > 0 && useWindow) {
    metadata[k('attention.sliding_window')] = window;
    types[k('attention.sliding_window')] = 'uint32';
  }

  const tensors: Record<string, NDArray> = {};
  const scaling = (config.rope_scaling ?? null) as Record<string, unknown> | null;
  const rt = ropeType(scaling);
  if (rt === 'llama3') {
    const base = defaultInvFreq(headDim, metadata[k('rope.freq_base')] as number);
    const scaled = llama3InvFreq(base, scaling!, 'rope_scaling');
    tensors['rope_freqs.weight'] = array(Float32Array.from(base, (f, i) => f / scaled[i]));
  } else if (rt === 'linear') {
    metadata[k('rope.scaling.type')] = 'linear';
    metadata[k('rope.scaling.factor')] = scaling!.factor as number;
    types[k('rope.scaling.type')] = 'string';
    types[k('rope.scaling.factor')] = 'float32';
  } else if (rt !== 'default') throw new Error(`[models.exportGguf] rope_scaling type "${rt}" has no GGUF form here (default, linear and llama3 do)`);

  const entries = weights instanceof Map ? [...weights] : Object.entries(weights);
  const permute = arch === 'llama';
  for (const [name, w] of entries) {
    if (name.includes('rotary_emb.inv_freq')) continue;
    if (name === 'lm_head.weight' && config.tie_word_embeddings === true) continue;
    const g = hfToGgufName(name);
    if (!g) throw new Error(`[models.exportGguf] weight '${name}' has no GGUF name for arch ${arch}`);
    let t = w;
    if (permute && /self_attn\.q_proj\.(weight|bias)$/.test(name)) t = permuteQK(w, heads);
    else if (permute && /self_attn\.k_proj\.(weight|bias)$/.test(name)) t = permuteQK(w, kvHeads);
    tensors[g] = t;
  }
  Object.assign(metadata, opts.metadata ?? {});
  Object.assign(types, opts.metadataTypes ?? {});
  if (!GGUF_EXPORT_TYPES.includes(type)) throw new Error(`[models.exportGguf] type must be one of ${GGUF_EXPORT_TYPES.join(', ')}, got ${String(type)}`);
  // as llama.cpp's quantizer does, a matrix whose rows do not split into the type's blocks falls back
  const nLayers = int(config, 'num_hidden_layers');
  const tied = !tensors['output.weight'];
  const tensorTypes = (name: string, a: NDArray): GgmlTypeName => {
    if (a.ndim < 2) return 'F32';
    const t: GgmlTypeName = type === 'Q4_K_M' ? q4kmType(name, nLayers, tied) : type;
    const cols = a.shape[a.ndim - 1];
    if ((t === 'Q4_K' || t === 'Q6_K') && cols % 256 !== 0) return cols % 32 === 0 ? 'Q8_0' : 'F16';
    if ((t === 'Q8_0' || t === 'Q4_0') && cols % 32 !== 0) return 'F16';
    return t;
  };
  return { tensors, metadata, metadataTypes: types, tensorTypes };
}

/**
 * Writes a model (its config.json object and HF-named weights) as a GGUF file.
 * @example
 * import { readConfig } from './config.js';
 * const config = readConfig('tests/fixtures/models/llama');
 * const weights = kn.loadSafetensors('tests/fixtures/models/llama/model.safetensors').tensors;
 * exportGguf('/tmp/kiln-doc-tiny-f16.gguf', config, weights, { type: 'F16' });
 * kn.loadGguf('/tmp/kiln-doc-tiny-f16.gguf').types['blk.0.attn_q.weight'] // 'F16'
 */
export function exportGguf(path: string, config: ModelConfig, weights: Map<string, NDArray> | Record<string, NDArray>, opts: GgufExportOptions = {}): void {
  const g = hfToGguf(config, weights, opts);
  saveGguf(path, { tensors: g.tensors, metadata: g.metadata, metadataTypes: g.metadataTypes }, { types: g.tensorTypes });
}
