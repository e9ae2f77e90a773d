// A model built from its config gets GGUF-native layers where the file's tensor is quantized: each
// Linear / Embedding whose weight arrives as ggml blocks (loadGguf(..., { quantized: 'blocks' }))
// becomes an nn.GGUFLinear / nn.GGUFEmbedding over those bytes, so the weights stay in the mapped
// file's blocks and the products run on them (kn.ggufMatmul).
import type { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import type { Module } from '../nn/module.js';
import { Embedding } from '../nn/layers/embedding.js';
import { Linear } from '../nn/layers/linear.js';
import { GGUFEmbedding, GGUFLinear } from '../nn/layers/gguf.js';
import type { GgmlTypeName } from '../ops/io/index.js';
import { ggufDequantize, GGUF_NATIVE_TYPES } from '../ops/gguf_quantized.js';
import { astype } from '../ops/elementwise.js';
import { ggufToHfName } from './gguf_load.js';
import type { LanguageModel } from './types.js';

/** Puts `m` at the dotted module path (fields, and list indices for arrays of layers). */
function setModule(root: Module, path: string, m: Module): void {
  const keys = path.split('.');
  let parent: Record<string, unknown> = root as unknown as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) parent = parent[k] as Record<string, unknown>;
  parent[keys[keys.length - 1]] = m;
}

/**
 * Replaces the model's Linear/Embedding layers whose weights `weights` (HF names) holds as GGUF blocks
 * (uint8, with a native type in `types`, keyed by GGUF tensor names). `dtype` is what embeddings
 * return. Returns how many layers were replaced.
 * @example
 * import { readConfig } from './config.js';
 * import { exportGguf } from './gguf_export.js';
 * const st = kn.loadSafetensors('tests/fixtures/models/llama/model.safetensors').tensors;
 * exportGguf('/tmp/kiln-doc-q8.gguf', readConfig('tests/fixtures/models/llama'), st, { type: 'Q8_0' });
 * const { model } = await kn.models.loadModel('/tmp/kiln-doc-q8.gguf');
 * model.model.layers[0].mlp.up_proj.constructor.name // 'GGUFLinear'
 */
export function useGgufLayers(model: LanguageModel, weights: Map<string, NDArray>, types: Record<string, GgmlTypeName>, dtype: DType): number {
  const native = new Map<string, GgmlTypeName>();
  for (const [g, t] of Object.entries(types)) {
    const hf = ggufToHfName(g);
    if (hf && (GGUF_NATIVE_TYPES as readonly string[]).includes(t) && weights.get(hf)?.dtype === 'uint8') native.set(hf, t);
  }
  const root = model as unknown as Module;
  const swaps: [string, Module][] = [];
  for (const [path, m] of root.namedModules()) {
    const type = native.get(`${path}.weight`);
    if (!type) continue;
    if (m instanceof Linear) {
      const [out, inp] = m.weight.shape;
      swaps.push([path, new GGUFLinear(inp, out, type, { bias: m.bias !== undefined, dtype })]);
    } else if (m instanceof Embedding) {
      const [n, dims] = m.weight.shape;
      swaps.push([path, new GGUFEmbedding(n, dims, type, { dtype })]);
    } else throw new Error(`[models.load] GGUF tensor for '${path}.weight' is ${type} blocks, but ${path} is a ${m.constructor.name}, which has no GGUF form`);
  }
  for (const [path, m] of swaps) setModule(root, path, m);
  return swaps.length;
}

/**
 * The inverse of useGgufLayers: every GGUFLinear / GGUFEmbedding becomes a float Linear / Embedding
 * holding the dequantized weight (ggml's values) in `dtype` -- for converting a quantized GGUF to
 * another format. Returns how many layers were replaced.
 * @example
 * import { readConfig } from './config.js';
 * import { exportGguf } from './gguf_export.js';
 * const st = kn.loadSafetensors('tests/fixtures/models/llama/model.safetensors').tensors;
 * exportGguf('/tmp/kiln-doc-q8b.gguf', readConfig('tests/fixtures/models/llama'), st, { type: 'Q8_0' });
 * const { model } = await kn.models.loadModel('/tmp/kiln-doc-q8b.gguf');
 * dequantizeGgufLayers(model, 'float32') > 0 // true
 * model.model.layers[0].mlp.up_proj.weight.dtype // 'float32'
 */
export function dequantizeGgufLayers(model: LanguageModel, dtype: DType = 'float32'): number {
  const root = model as unknown as Module;
  const swaps: [string, Module][] = [];
  for (const [path, m] of root.namedModules()) {
    if (m instanceof GGUFLinear) {
      const l = new Linear(m.inputDims, m.weight.shape[0], { bias: m.bias !== undefined });
      l.weight = astype(ggufDequantize(m.weight, m.ggmlType), dtype);
      if (m.bias) l.bias = astype(m.bias, dtype);
      swaps.push([path, l]);
    } else if (m instanceof GGUFEmbedding) {
      const e = new Embedding(m.weight.shape[0], m.dims);
      e.weight = astype(ggufDequantize(m.weight, m.ggmlType), dtype);
      swaps.push([path, e]);
    }
  }
  for (const [path, m] of swaps) setModule(root, path, m);
  return swaps.length;
}
