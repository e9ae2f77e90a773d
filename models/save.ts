// Saving a model as a Hugging Face / MLX folder: config.json (with MLX's `quantization` block when
// layers are quantized), model.safetensors (sharded past `maxShardBytes`, with the index Hugging Face
// reads), and the tokenizer files copied from the folder the model came from.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NDArray } from '../core/array.js';
import { isFloating } from '../core/dtype.js';
import { flatten } from '../core/tree.js';
import { saveSafetensors } from '../ops/io/index.js';
import type { Module } from '../nn/index.js';
import type { ModelConfig } from './config.js';
import { quantizationBlock } from './quantized.js';
import type { LanguageModel } from './types.js';

/** The files besides weights and config that make a folder loadable by kiln, mlx-lm and transformers. */
export const TOKENIZER_FILES: readonly string[] = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'tokenizer.model',
  'chat_template.jinja',
  'chat_template.json',
  'generation_config.json',
  'added_tokens.json',
];

export interface SaveOptions {
  /** the model's config.json object (from `kn.models.load`): written with torch_dtype and quantization updated */
  config: ModelConfig;
  /** a folder to copy tokenizer files from (the source model's) */
  tokenizerFrom?: string;
  /** largest shard in bytes (default 5 GB, as transformers writes) */
  maxShardBytes?: number;
  /** called after each shard is written (progress bars) */
  onShard?: (done: number, total: number) => void;
}

/**
 * Writes `model` to the folder `dir` (created if needed) so `kn.models.load(dir)` — and mlx-lm
 * for quantized models — reads it back: `{ dir, files }`.
 * @example
 * const { model, config } = await kn.models.load('examples/models/kjv-llama-5m');
 * kn.nn.quantize(model, { bits: 8 });
 * kn.models.save(model, '/tmp/kiln-doc-kjv-q8', { config, tokenizerFrom: 'examples/models/kjv-llama-5m' }).files.includes('tokenizer.json') // true
 */
export function saveModel(model: LanguageModel, dir: string, opts: SaveOptions): { dir: string; files: string[] } {
  if (!opts || typeof opts !== 'object' || !opts.config || typeof opts.config !== 'object')
    throw new TypeError('[models.save] options must include the model config: save(model, dir, { config })');
  if (typeof dir !== 'string' || dir === '') throw new TypeError(`[models.save] dir must be a folder path, got ${JSON.stringify(dir)}`);
  const maxShard = opts.maxShardBytes ?? 5e9;
  if (!(maxShard > 0)) throw new RangeError(`[models.save] maxShardBytes must be positive, got ${maxShard}`);
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const params = flatten<NDArray>((model as unknown as Module).parameters());
  const files: string[] = [];

  // config: dtype of the float weights, quantization block (or none)
  const config: Record<string, unknown> = { ...opts.config };
  const floatDtype = params.find(([k, a]) => isFloating(a.dtype) && !k.endsWith('.scales') && !k.endsWith('.biases'))?.[1].dtype;
  if (floatDtype) config.torch_dtype = floatDtype;
  const q = quantizationBlock(model);
  delete config.quantization;
  delete config.quantization_config;
  if (q) {
    config.quantization = q;
    config.quantization_config = q;
  }
  writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  files.push('config.json');

  // shards in parameter order
  const shards: [string, NDArray][][] = [[]];
  let size = 0;
  for (const e of params) {
    if (size > 0 && size + e[1].nbytes > maxShard) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(e);
    size += e[1].nbytes;
  }
  const meta = { format: q ? 'mlx' : 'pt' };
  if (shards.length === 1) {
    saveSafetensors(join(out, 'model.safetensors'), Object.fromEntries(shards[0]), meta);
    files.push('model.safetensors');
    opts.onShard?.(1, 1);
  } else {
    const n = shards.length,
      pad = (i: number) => String(i).padStart(5, '0');
    const weightMap: Record<string, string> = {};
    let total = 0;
    shards.forEach((s, i) => {
      const name = `model-${pad(i + 1)}-of-${pad(n)}.safetensors`;
      saveSafetensors(join(out, name), Object.fromEntries(s), meta);
      for (const [k, a] of s) {
        weightMap[k] = name;
        total += a.nbytes;
      }
      files.push(name);
      opts.onShard?.(i + 1, n);
    });
    writeFileSync(join(out, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n');
    files.push('model.safetensors.index.json');
  }

  if (opts.tokenizerFrom) {
    const src = resolve(opts.tokenizerFrom);
    if (src !== out)
      for (const f of TOKENIZER_FILES)
        if (existsSync(join(src, f))) {
          copyFileSync(join(src, f), join(out, f));
          files.push(f);
        }
  }
  return { dir: out, files };
}
