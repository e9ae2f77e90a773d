// Turning a model into a fine-tunable one: the last N blocks' Linear layers (or those named by
// `keys`) become LoRA / DoRA layers, or (full) those blocks are unfrozen; and the inverse, fusing
// adapters back into plain Linear layers.
import type { NDArray } from '../../core/array.js';
import { split } from '../../ops/random.js';
import { unstack } from '../../ops/shape.js';
import { Linear, Module } from '../../nn/index.js';
import { DoRALinear, LoRALinear, type LoRAOptions } from './layers.js';

export type FineTuneType = 'lora' | 'dora' | 'full';

/** What adapter_config.json's lora_parameters hold (mlx-lm's names). */
export interface LoRAParameters {
  rank: number;
  scale: number;
  dropout: number;
  /** block-relative module paths (self_attn.q_proj) or leaf names (q_proj); null: every Linear */
  keys?: string[] | null;
}

export interface ApplyOptions {
  fineTuneType?: FineTuneType;
  /** the last N blocks; -1 for all (default 16) */
  numLayers?: number;
  loraParameters?: Partial<LoRAParameters>;
  /** seed for the adapters' initialisation keys */
  key?: NDArray;
}

/** The transformer blocks of a loaded model (`model.layers` or `model.model.layers`). */
export function blocksOf(model: Module): Module[] {
  const m = model as unknown as { layers?: unknown; model?: { layers?: unknown } };
  const layers = m.layers ?? m.model?.layers;
  if (!Array.isArray(layers) || !layers.every((l) => l instanceof Module)) throw new Error('[lora] the model has no list of blocks (model.layers)');
  return layers as Module[];
}

function isLinearLike(m: Module): boolean {
  if (m instanceof LoRALinear) return false;
  if (m instanceof Linear) return true;
  return m.constructor.name === 'QuantizedLinear';
}

/** Replaces a submodule at a dotted path below `root`. */
function setAt(root: Module, path: string, value: Module): void {
  const parts = path.split('.');
  let cur: Record<string, unknown> = root as unknown as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  cur[parts[parts.length - 1]] = value;
}

const matches = (path: string, keys: string[] | null | undefined): boolean =>
  !keys || keys.some((k) => path === k || path.endsWith(`.${k}`) || path.split('.').pop() === k);

/** The blocks an adapter of `numLayers` covers, checked against the model. */
export function coveredBlocks(model: Module, numLayers: number): Module[] {
  const blocks = blocksOf(model);
  if (!Number.isInteger(numLayers) || (numLayers < 1 && numLayers !== -1))
    throw new Error(`[lora] num_layers must be a positive integer or -1 (all), got ${numLayers}`);
  if (numLayers > blocks.length) throw new Error(`[lora] num_layers ${numLayers} exceeds the model's ${blocks.length} blocks`);
  return numLayers === -1 ? blocks : blocks.slice(blocks.length - numLayers);
}

/**
 * Freezes the model and makes its last `numLayers` blocks trainable: LoRA/DoRA layers in place of
 * their Linear layers (those matching `keys`), or the blocks' own weights for `full`. Returns the
 * number of layers converted (blocks for full).
 * @example
 * const m = kn.models.createModel({ model_type: 'llama', hidden_size: 32, num_hidden_layers: 2, intermediate_size: 64, num_attention_heads: 4, vocab_size: 50 });
 * kn.models.lora.applyLoRA(m, { numLayers: 1, loraParameters: { rank: 4, keys: ['q_proj', 'v_proj'] } }) // 2
 */
export function applyLoRA(model: Module, opts: ApplyOptions = {}): number {
  const type = opts.fineTuneType ?? 'lora';
  if (!['lora', 'dora', 'full'].includes(type)) throw new Error(`[lora] fine_tune_type must be lora, dora or full, got ${JSON.stringify(type)}`);
  const blocks = coveredBlocks(model, opts.numLayers ?? 16);
  model.freeze();
  if (type === 'full') {
    for (const b of blocks) b.unfreeze();
    return blocks.length;
  }
  const p = opts.loraParameters ?? {};
  const keys = p.keys ?? null;
  if (keys !== null && (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && k.length > 0)))
    throw new Error(`[lora] lora_parameters.keys must be a list of module names, got ${JSON.stringify(keys)}`);
  const lo: LoRAOptions = { rank: p.rank ?? 8, scale: p.scale ?? 20, dropout: p.dropout ?? 0 };
  let n = 0,
    key = opts.key;
  for (const b of blocks) {
    for (const [path, m] of b.namedModules()) {
      if (path === '' || !isLinearLike(m) || !matches(path, keys)) continue;
      let sub;
      if (key) [key, sub] = splitKey(key);
      const layer = type === 'dora' ? new DoRALinear(m, { ...lo, ...(sub ? { key: sub } : {}) }) : new LoRALinear(m, { ...lo, ...(sub ? { key: sub } : {}) });
      setAt(b, path, layer);
      n++;
    }
  }
  if (n === 0) throw new Error(`[lora] no Linear layer of the last ${blocks.length} blocks matches keys ${JSON.stringify(keys)}`);
  return n;
}

function splitKey(k: NDArray): [NDArray, NDArray] {
  const [a, b] = unstack(split(k, 2));
  return [a, b];
}

/**
 * Replaces every LoRA / DoRA layer by a plain Linear with the update merged in (a quantized base
 * is quantized again after the merge unless `dequantize`); returns how many.
 * @example
 * const m = kn.models.createModel({ model_type: 'llama', hidden_size: 32, num_hidden_layers: 2, intermediate_size: 64, num_attention_heads: 4, vocab_size: 50 });
 * kn.models.lora.applyLoRA(m, { numLayers: 1 });
 * kn.models.lora.fuseLoRA(m) // 7
 */
export function fuseLoRA(model: Module, opts: { dequantize?: boolean } = {}): number {
  let n = 0;
  for (const [path, m] of model.namedModules()) {
    if (path === '' || !(m instanceof LoRALinear)) continue;
    setAt(model, path, m.fuse(opts));
    n++;
  }
  model.unfreeze();
  return n;
}

/** Every LoRA / DoRA layer of a model with its dotted path. */
export function loraLayers(model: Module): [string, LoRALinear][] {
  return model.namedModules().filter((e): e is [string, LoRALinear] => e[1] instanceof LoRALinear);
}
