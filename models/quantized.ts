// Quantized checkpoints in MLX's layout (what mlx_lm.convert -q writes and mlx-community publishes):
// config.json `quantization: { group_size, bits, mode?, "<module path>": { group_size, bits } | false }`,
// and for each quantized layer `<path>.weight` (uint32 packed words), `<path>.scales`, `<path>.biases`.
// Loading swaps the model's Linear / Embedding layers for quantized ones before the weights are
// applied; saving writes the same layout back (models/save.ts).
import type { NDArray } from '../core/array.js';
import { zeros } from '../ops/creation.js';
import { Embedding, Linear, type Module } from '../nn/index.js';
import { QuantizedEmbedding, QuantizedLinear, quantizeModel, replaceModule, type QuantParams } from '../nn/layers/quantized.js';
import { QUANT_BITS, QUANT_GROUP_SIZES } from '../ops/quantized.js';
import type { ModelConfig } from './config.js';
import type { LanguageModel } from './types.js';

/** The parsed `quantization` block: defaults and per-layer overrides (false = kept float). */
export interface QuantizationSpec {
  groupSize: number;
  bits: number;
  overrides: Map<string, { groupSize: number; bits: number } | false>;
}

function checkParams(where: string, key: string, gs: unknown, bits: unknown): { groupSize: number; bits: number } {
  if (!QUANT_GROUP_SIZES.includes(gs as number))
    throw new Error(`[models.load] ${where}: quantization${key}.group_size must be one of ${QUANT_GROUP_SIZES.join(', ')}, got ${JSON.stringify(gs)}`);
  if (!QUANT_BITS.includes(bits as number))
    throw new Error(`[models.load] ${where}: quantization${key}.bits must be one of ${QUANT_BITS.join(', ')}, got ${JSON.stringify(bits)}`);
  return { groupSize: gs as number, bits: bits as number };
}

/**
 * The MLX quantization settings of a config.json, or null for a float checkpoint. Reads
 * `quantization` (MLX) or, failing that, an MLX-style `quantization_config`; other schemes
 * (GPTQ, AWQ, bitsandbytes: a `quant_method`) are refused with their name.
 * @example quantizationOf({ quantization: { group_size: 64, bits: 4 } })?.bits // 4
 */
export function quantizationOf(config: ModelConfig | Record<string, unknown>, where = 'config.json'): QuantizationSpec | null {
  const c = config as Record<string, unknown>;
  let q = c.quantization as Record<string, unknown> | undefined | null;
  if (q === undefined || q === null) {
    const qc = c.quantization_config as Record<string, unknown> | undefined | null;
    if (qc === undefined || qc === null) return null;
    if (typeof qc === 'object' && qc.quant_method !== undefined && qc.quant_method !== 'mlx' && qc.group_size === undefined)
      throw new Error(
        `[models.load] ${where} is quantized with ${JSON.stringify(qc.quant_method)}; kiln runs MLX's affine layout (quantization: { group_size, bits }) and GGUF files — dequantize it first`,
      );
    q = qc;
  }
  if (typeof q !== 'object' || Array.isArray(q))
    throw new Error(`[models.load] ${where}: quantization must be an object such as { "group_size": 64, "bits": 4 }`);
  if (q.mode !== undefined && q.mode !== 'affine')
    throw new Error(`[models.load] ${where}: quantization.mode ${JSON.stringify(q.mode)} is not supported (kiln runs MLX's 'affine' mode)`);
  if (q.quant_method !== undefined && q.quant_method !== 'mlx' && q.quant_method !== 'affine')
    throw new Error(`[models.load] ${where}: quantization_config.quant_method ${JSON.stringify(q.quant_method)} is not supported`);
  const base = checkParams(where, '', q.group_size, q.bits);
  const overrides = new Map<string, { groupSize: number; bits: number } | false>();
  for (const [k, v] of Object.entries(q)) {
    if (['group_size', 'bits', 'mode', 'quant_method'].includes(k)) continue;
    if (v === false) overrides.set(k, false);
    else if (v === true) overrides.set(k, base);
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      overrides.set(k, checkParams(where, `["${k}"]`, o.group_size ?? base.groupSize, o.bits ?? base.bits));
    } else throw new Error(`[models.load] ${where}: quantization["${k}"] must be false or { group_size, bits }, got ${JSON.stringify(v)}`);
  }
  return { ...base, overrides };
}

/**
 * Turns the model's Linear/Embedding layers into quantized ones shaped for a checkpoint: a layer
 * is quantized when the checkpoint has `<path>.scales` (MLX's rule), with its override's
 * parameters when the config names it. Placeholders only: the weights are applied afterwards.
 */
export function prepareQuantized(model: LanguageModel, spec: QuantizationSpec, weights: Map<string, NDArray>, where: string): void {
  const mod = model as unknown as Module;
  const pred = (path: string, m: Module): boolean | QuantParams => {
    const o = spec.overrides.get(path);
    if (o === false) return false;
    if (!weights.has(`${path}.scales`)) return false;
    const p = o ?? spec;
    const w = (m as Linear | Embedding).weight;
    const inDims = w.shape[1];
    if (inDims % p.groupSize !== 0)
      throw new Error(`[models.load] ${where}: layer '${path}' has ${inDims} inputs, not a multiple of its group size ${p.groupSize}`);
    return { groupSize: p.groupSize, bits: p.bits };
  };
  // placeholders of the right shapes and dtypes, never computed
  const swaps: [string, Module][] = [];
  for (const [path, m] of mod.namedModules()) {
    if (!(m instanceof Linear) && !(m instanceof Embedding)) continue;
    const p = pred(path, m);
    if (!p) continue;
    const { groupSize, bits } = p as { groupSize: number; bits: number };
    const [out, inp] = m.weight.shape;
    const s = weights.get(`${path}.scales`)!;
    const wq = zeros([out, (inp * bits) / 32], 'uint32'),
      sc = zeros([out, inp / groupSize], s.dtype),
      bi = zeros([out, inp / groupSize], s.dtype);
    const q = m instanceof Linear ? new QuantizedLinear(wq, sc, bi, m.bias, { groupSize, bits }) : new QuantizedEmbedding(wq, sc, bi, { groupSize, bits });
    swaps.push([path, q]);
  }
  for (const [path, q] of swaps) replaceModule(mod, path, q);
}

/** What `quantization` block describes the model's quantized layers (null when none are). */
export function quantizationBlock(model: LanguageModel, defaults?: { groupSize: number; bits: number }): Record<string, unknown> | null {
  const layers: [string, QuantizedLinear | QuantizedEmbedding][] = [];
  for (const [path, m] of (model as unknown as Module).namedModules())
    if (m instanceof QuantizedLinear || m instanceof QuantizedEmbedding) layers.push([path, m]);
  if (!layers.length) return null;
  // the most common parameters become the defaults, the others per-layer overrides (as mlx_lm writes them)
  const count = new Map<string, number>();
  for (const [, m] of layers) count.set(`${m.groupSize}/${m.bits}`, (count.get(`${m.groupSize}/${m.bits}`) ?? 0) + 1);
  const top = defaults ? `${defaults.groupSize}/${defaults.bits}` : [...count.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const [gs, bits] = top.split('/').map(Number);
  const block: Record<string, unknown> = { group_size: gs, bits, mode: 'affine' };
  for (const [path, m] of layers) if (m.groupSize !== gs || m.bits !== bits) block[path] = { group_size: m.groupSize, bits: m.bits };
  return block;
}

/**
 * Quantizes a loaded model's Linear and Embedding layers in place (the `kiln convert -q` step):
 * MLX's defaults (groupSize 64, bits 4); layers whose input dims are not a multiple of the group
 * stay float. Returns the config block to save with it.
 */
export function quantizeLanguageModel(
  model: LanguageModel,
  opts: { groupSize?: number; bits?: number; classPredicate?: (path: string, m: Module) => boolean | QuantParams } = {},
): Record<string, unknown> {
  const groupSize = opts.groupSize ?? 64,
    bits = opts.bits ?? 4;
  quantizeModel(model as unknown as Module, { groupSize, bits, classPredicate: opts.classPredicate });
  return quantizationBlock(model, { groupSize, bits }) ?? { group_size: groupSize, bits, mode: 'affine' };
}

/** Replaces every quantized layer by the float layer it stands for (`kiln convert --dequantize`). */
export function dequantizeLanguageModel(model: LanguageModel): number {
  const swaps: [string, Module][] = [];
  for (const [path, m] of (model as unknown as Module).namedModules()) {
    let f: Module | null = null;
    if (m instanceof QuantizedLinear) f = m.toLinear();
    else if (m instanceof QuantizedEmbedding) f = m.toEmbedding();
    if (f) swaps.push([path, f]);
  }
  for (const [path, f] of swaps) replaceModule(model as unknown as Module, path, f);
  return swaps.length;
}
