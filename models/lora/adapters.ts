// Adapter files in mlx-lm's layout: a folder with adapter_config.json (the training settings:
// fine_tune_type, num_layers, lora_parameters {rank, scale, dropout, keys}, ...) and
// adapters.safetensors (the trainable parameters by their dotted model path, e.g.
// model.layers.5.self_attn.q_proj.lora_a). A folder holding a PEFT adapter is read too.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NDArray } from '../../core/array.js';
import { flatten } from '../../core/tree.js';
import { loadSafetensors, saveSafetensors } from '../../ops/io/index.js';
import type { Module } from '../../nn/index.js';
import { applyLoRA, type FineTuneType, type LoRAParameters } from './apply.js';
import { isPeftFolder, loadPeftAdapter } from './peft.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_FILE = 'adapters.safetensors';

/** adapter_config.json: the fields kiln reads back (other training settings ride along). */
export interface AdapterConfig {
  fine_tune_type: FineTuneType;
  num_layers: number;
  lora_parameters: LoRAParameters;
  [key: string]: unknown;
}

/** The trainable parameters of a model by dotted path (what an adapter file holds). */
export function adapterWeights(model: Module): Record<string, NDArray> {
  return Object.fromEntries(flatten<NDArray>(model.trainableParameters()));
}

/**
 * Writes adapters.safetensors (or `file`) and adapter_config.json into `dir`.
 * @example
 * const m = kn.models.createModel({ model_type: 'llama', hidden_size: 32, num_hidden_layers: 2, intermediate_size: 64, num_attention_heads: 4, vocab_size: 50 });
 * const config = { fine_tune_type: 'lora', num_layers: 1, lora_parameters: { rank: 4, scale: 2, dropout: 0, keys: ['q_proj'] } };
 * kn.models.lora.applyLoRA(m, { numLayers: 1, loraParameters: config.lora_parameters });
 * kn.models.lora.saveAdapters(m, '/tmp/kiln-doc-adapter', config);
 * Object.keys(kn.loadSafetensors('/tmp/kiln-doc-adapter/adapters.safetensors').tensors).sort() // ['model.layers.1.self_attn.q_proj.lora_a', 'model.layers.1.self_attn.q_proj.lora_b']
 */
export function saveAdapters(model: Module, dir: string, config: AdapterConfig, file = ADAPTER_FILE): void {
  mkdirSync(dir, { recursive: true });
  saveSafetensors(join(dir, file), adapterWeights(model), { format: 'mlx' });
  writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify(config, null, 4) + '\n');
}

/** Reads and checks an adapter_config.json. */
export function readAdapterConfig(dir: string): AdapterConfig {
  const path = join(dir, ADAPTER_CONFIG);
  if (!existsSync(path)) throw new Error(`[lora] ${dir} has no ${ADAPTER_CONFIG}`);
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`[lora] ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new Error(`[lora] ${path} must hold a JSON object`);
  const type = (c.fine_tune_type ?? 'lora') as FineTuneType;
  if (!['lora', 'dora', 'full'].includes(type))
    throw new Error(`[lora] ${path}: fine_tune_type must be lora, dora or full, got ${JSON.stringify(c.fine_tune_type)}`);
  const numLayers = c.num_layers ?? 16;
  if (typeof numLayers !== 'number' || !Number.isInteger(numLayers))
    throw new Error(`[lora] ${path}: num_layers must be an integer, got ${JSON.stringify(c.num_layers)}`);
  const lp = (c.lora_parameters ?? {}) as Record<string, unknown>;
  if (typeof lp !== 'object' || Array.isArray(lp)) throw new Error(`[lora] ${path}: lora_parameters must be an object`);
  for (const f of ['rank', 'scale', 'dropout'])
    if (lp[f] !== undefined && (typeof lp[f] !== 'number' || !Number.isFinite(lp[f])))
      throw new Error(`[lora] ${path}: lora_parameters.${f} must be a number, got ${JSON.stringify(lp[f])}`);
  return {
    ...c,
    fine_tune_type: type,
    num_layers: numLayers,
    lora_parameters: {
      rank: (lp.rank as number) ?? 8,
      scale: (lp.scale as number) ?? 20,
      dropout: (lp.dropout as number) ?? 0,
      keys: (lp.keys as string[] | null | undefined) ?? null,
    },
  };
}

/** Loads adapter weights from a file into a model already converted by applyLoRA; names are checked. */
export function loadAdapterWeights(model: Module, file: string): void {
  let tensors: Record<string, NDArray>;
  try {
    tensors = loadSafetensors(file).tensors;
  } catch (e) {
    throw new Error(`[lora] cannot read ${file}: ${(e as Error).message}`);
  }
  const want = new Set(Object.keys(adapterWeights(model)));
  const all = new Set(flatten(model.parameters()).map(([k]) => k));
  const extra = Object.keys(tensors).filter((k) => !all.has(k));
  if (extra.length) throw new Error(`[lora] ${file} holds ${extra.length} tensor(s) the adapted model lacks: ${extra.slice(0, 5).join(', ')}`);
  const missing = [...want].filter((k) => !(k in tensors));
  if (missing.length) throw new Error(`[lora] ${file} lacks ${missing.length} adapter tensor(s): ${missing.slice(0, 5).join(', ')}`);
  try {
    model.loadWeights(Object.entries(tensors), { strict: false });
  } catch (e) {
    throw new Error(`[lora] ${file}: ${(e as Error).message}`);
  }
}

/**
 * Applies an adapter folder (mlx-lm layout or PEFT) to a loaded model; returns its config.
 * `path` may also name an .safetensors file beside an adapter_config.json.
 * @example
 * const { model } = await kn.models.loadModel('tests/fixtures/lora/model');
 * kn.models.lora.loadAdapters(model, 'tests/fixtures/lora/kiln_partial_mlx').lora_parameters // { rank: 2, scale: 3, dropout: 0, keys: ['q_proj', 'v_proj'] }
 */
export function loadAdapters(model: Module, path: string): AdapterConfig {
  if (!existsSync(path)) throw new Error(`[lora] adapter path ${path} does not exist`);
  const isFile = statSync(path).isFile();
  const dir = isFile ? join(path, '..') : path;
  if (!isFile && isPeftFolder(dir)) return loadPeftAdapter(model, dir);
  const config = readAdapterConfig(dir);
  applyLoRA(model, { fineTuneType: config.fine_tune_type, numLayers: config.num_layers, loraParameters: config.lora_parameters });
  const file = isFile ? path : join(dir, ADAPTER_FILE);
  if (!existsSync(file)) throw new Error(`[lora] ${dir} has no ${ADAPTER_FILE}`);
  loadAdapterWeights(model, file);
  model.eval();
  return config;
}
