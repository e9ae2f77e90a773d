// Hugging Face PEFT adapters: adapter_config.json (r, lora_alpha, target_modules, use_rslora,
// use_dora, base_model_name_or_path) and adapter_model.safetensors with
// base_model.model.<path>.lora_A.weight [r, in], .lora_B.weight [out, r] and, for DoRA,
// .lora_magnitude_vector [out]. kiln keeps mlx-lm's orientation (lora_a [in, r], lora_b [r, out])
// and one scale, so reading transposes and takes scale = lora_alpha / r (/ √r with rsLoRA).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NDArray } from '../../core/array.js';
import { astype } from '../../ops/elementwise.js';
import { loadSafetensors, saveSafetensors } from '../../ops/io/index.js';
import { swapaxes } from '../../ops/views.js';
import { Module } from '../../nn/index.js';
import type { AdapterConfig } from './adapters.js';
import { blocksOf, loraLayers } from './apply.js';
import { DoRALinear, LoRALinear } from './layers.js';

export const PEFT_CONFIG = 'adapter_config.json';
export const PEFT_FILE = 'adapter_model.safetensors';
const PREFIX = 'base_model.model.';

/** Whether a folder holds a PEFT adapter (adapter_model.safetensors, or a config with peft_type / r). */
export function isPeftFolder(dir: string): boolean {
  if (existsSync(join(dir, PEFT_FILE))) return true;
  try {
    const c = JSON.parse(readFileSync(join(dir, PEFT_CONFIG), 'utf8'));
    return typeof c?.peft_type === 'string' || typeof c?.lora_alpha === 'number';
  } catch {
    return false;
  }
}

interface PeftConfig {
  r: number;
  lora_alpha: number;
  use_rslora?: boolean;
  use_dora?: boolean;
  lora_dropout?: number;
  peft_type?: string;
  [k: string]: unknown;
}

function readPeftConfig(dir: string): PeftConfig {
  const path = join(dir, PEFT_CONFIG);
  if (!existsSync(path)) throw new Error(`[lora] PEFT adapter ${dir} has no ${PEFT_CONFIG}`);
  let c: PeftConfig;
  try {
    c = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`[lora] ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (c.peft_type !== undefined && c.peft_type !== 'LORA') throw new Error(`[lora] ${path}: peft_type ${c.peft_type} is not supported (only LORA)`);
  if (!Number.isInteger(c.r) || c.r < 1) throw new Error(`[lora] ${path}: r must be a positive integer, got ${JSON.stringify(c.r)}`);
  if (typeof c.lora_alpha !== 'number' || !Number.isFinite(c.lora_alpha))
    throw new Error(`[lora] ${path}: lora_alpha must be a number, got ${JSON.stringify(c.lora_alpha)}`);
  for (const f of ['rank_pattern', 'alpha_pattern'])
    if (c[f] && Object.keys(c[f] as object).length) throw new Error(`[lora] ${path}: ${f} (per-module ranks or alphas) is not supported`);
  if (c.fan_in_fan_out) throw new Error(`[lora] ${path}: fan_in_fan_out (Conv1D bases) is not supported`);
  return c;
}

/** PEFT's scaling: lora_alpha / r, or lora_alpha / √r with use_rslora. */
export const peftScale = (c: { r: number; lora_alpha: number; use_rslora?: boolean }): number =>
  c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r;

function moduleAt(root: Module, path: string): Module | undefined {
  let cur: unknown = root;
  for (const p of path.split('.')) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return cur instanceof Module ? cur : undefined;
}

function setAt(root: Module, path: string, value: Module): void {
  const parts = path.split('.');
  const parent = moduleAt(root, parts.slice(0, -1).join('.')) ?? (parts.length === 1 ? root : undefined);
  (parent as unknown as Record<string, unknown>)[parts[parts.length - 1]] = value;
}

/**
 * Applies a PEFT LoRA/DoRA adapter folder to a loaded model (every module the file names gets an
 * adapter); returns the equivalent mlx-lm style config.
 * @example
 * const { model } = await kn.models.loadModel('tests/fixtures/lora/model');
 * kn.models.lora.loadPeftAdapter(model, 'tests/fixtures/lora/peft_lora').lora_parameters.scale // 2
 */
export function loadPeftAdapter(model: Module, dir: string): AdapterConfig {
  const c = readPeftConfig(dir);
  const file = join(dir, PEFT_FILE);
  if (!existsSync(file)) throw new Error(`[lora] PEFT adapter ${dir} has no ${PEFT_FILE}`);
  let tensors: Record<string, NDArray>;
  try {
    tensors = loadSafetensors(file).tensors;
  } catch (e) {
    throw new Error(`[lora] cannot read ${file}: ${(e as Error).message}`);
  }
  const byModule = new Map<string, { A?: NDArray; B?: NDArray; m?: NDArray }>();
  for (const [name, t] of Object.entries(tensors)) {
    const mm = /^(?:base_model\.model\.)?(.+)\.(lora_A\.weight|lora_B\.weight|lora_magnitude_vector(?:\.weight)?)$/.exec(name);
    if (!mm)
      throw new Error(`[lora] ${file}: tensor '${name}' is not a LoRA tensor (expected <module>.lora_A.weight, .lora_B.weight or .lora_magnitude_vector)`);
    const e = byModule.get(mm[1]) ?? {};
    if (mm[2] === 'lora_A.weight') e.A = t;
    else if (mm[2] === 'lora_B.weight') e.B = t;
    else e.m = t;
    byModule.set(mm[1], e);
  }
  const scale = peftScale(c);
  const dora = c.use_dora === true;
  const keys = new Set<string>();
  model.freeze();
  for (const [path, e] of byModule) {
    const base = moduleAt(model, path);
    if (!base) throw new Error(`[lora] ${file}: '${path}' is not a module of the model`);
    if (!e.A || !e.B) throw new Error(`[lora] ${file}: '${path}' needs both lora_A and lora_B`);
    if (dora && !e.m) throw new Error(`[lora] ${file}: use_dora is set but '${path}' has no lora_magnitude_vector`);
    const w = (base as unknown as { weight?: NDArray }).weight;
    const [out, inp] = w?.shape ?? [];
    if (e.A.ndim !== 2 || e.A.shape[0] !== c.r || e.A.shape[1] !== inp)
      throw new Error(`[lora] ${file}: '${path}.lora_A.weight' has shape [${e.A.shape.join(', ')}], expected [${c.r}, ${inp}]`);
    if (e.B.ndim !== 2 || e.B.shape[1] !== c.r || e.B.shape[0] !== out)
      throw new Error(`[lora] ${file}: '${path}.lora_B.weight' has shape [${e.B.shape.join(', ')}], expected [${out}, ${c.r}]`);
    const layer = dora ? new DoRALinear(base, { rank: c.r, scale }) : new LoRALinear(base, { rank: c.r, scale });
    layer.lora_a = astype(swapaxes(e.A, 0, 1), 'float32');
    layer.lora_b = astype(swapaxes(e.B, 0, 1), 'float32');
    if (dora) (layer as DoRALinear).m = astype(e.m!, 'float32');
    setAt(model, path, layer);
    keys.add(path.split('.').pop()!);
  }
  model.eval();
  const blocks = blocksOf(model);
  const covered = new Set([...byModule.keys()].map((p) => /layers\.(\d+)\./.exec(p)?.[1]).filter((x) => x !== undefined));
  return {
    fine_tune_type: dora ? 'dora' : 'lora',
    num_layers: covered.size === blocks.length ? -1 : covered.size,
    lora_parameters: { rank: c.r, scale, dropout: c.lora_dropout ?? 0, keys: [...keys] },
    base_model_name_or_path: c.base_model_name_or_path ?? null,
    peft: true,
  };
}

export interface PeftExportOptions {
  /** base_model_name_or_path in the config */
  baseModel?: string;
}

/**
 * Writes a model's LoRA/DoRA layers as a PEFT adapter folder (adapter_model.safetensors +
 * adapter_config.json) that peft's PeftModel.from_pretrained loads.
 * @example
 * const m = kn.models.createModel({ model_type: 'llama', hidden_size: 32, num_hidden_layers: 2, intermediate_size: 64, num_attention_heads: 4, vocab_size: 50 });
 * kn.models.lora.applyLoRA(m, { numLayers: 1, loraParameters: { rank: 4, scale: 2, keys: ['q_proj'] } });
 * kn.models.lora.exportPeft(m, '/tmp/kiln-doc-peft').target_modules // ['q_proj']
 */
export function exportPeft(model: Module, dir: string, opts: PeftExportOptions = {}): Record<string, unknown> {
  const layers = loraLayers(model);
  if (!layers.length) throw new Error('[lora] exportPeft: the model has no LoRA or DoRA layers (full fine-tunes have no PEFT LoRA form)');
  const rank = layers[0][1].lora_a.shape[1],
    scale = layers[0][1].scale;
  const dora = layers[0][1] instanceof DoRALinear;
  const tensors: Record<string, NDArray> = {};
  const perBlock = new Map<string, Set<string>>();
  for (const [path, l] of layers) {
    if (l.lora_a.shape[1] !== rank || l.scale !== scale || l instanceof DoRALinear !== dora)
      throw new Error(`[lora] exportPeft: '${path}' differs in rank, scale or type from the other layers (PEFT keeps one per adapter)`);
    tensors[`${PREFIX}${path}.lora_A.weight`] = swapaxes(l.lora_a, 0, 1);
    tensors[`${PREFIX}${path}.lora_B.weight`] = swapaxes(l.lora_b, 0, 1);
    if (l instanceof DoRALinear) tensors[`${PREFIX}${path}.lora_magnitude_vector`] = l.m;
    const mm = /^(.*layers\.(\d+))\.(.+)$/.exec(path);
    const block = mm ? mm[2] : '';
    const set = perBlock.get(block) ?? new Set<string>();
    set.add(path.split('.').pop()!);
    perBlock.set(block, set);
  }
  const leafSets = [...perBlock.values()].map((s) => [...s].sort().join(','));
  const regular = leafSets.every((s) => s === leafSets[0]) && !perBlock.has('');
  const leaves = [...new Set(layers.map(([p]) => p.split('.').pop()!))].sort();
  const nBlocks = (() => {
    try {
      return blocksOf(model).length;
    } catch {
      return -1;
    }
  })();
  const indices = [...perBlock.keys()].map(Number).sort((a, b) => a - b);
  const config: Record<string, unknown> = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: opts.baseModel ?? null,
    r: rank,
    lora_alpha: scale * rank,
    lora_dropout: layers[0][1].dropoutP,
    target_modules: regular ? leaves : `^(${layers.map(([p]) => p.replace(/\./g, '\\.')).join('|')})$`,
    layers_to_transform: regular && indices.length !== nBlocks ? indices : null,
    layers_pattern: regular && indices.length !== nBlocks ? 'layers' : null,
    use_dora: dora,
    use_rslora: false,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    modules_to_save: null,
  };
  mkdirSync(dir, { recursive: true });
  saveSafetensors(join(dir, PEFT_FILE), tensors, { format: 'pt' });
  writeFileSync(join(dir, PEFT_CONFIG), JSON.stringify(config, null, 2) + '\n');
  return config;
}
