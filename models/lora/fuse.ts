// Fusing an adapter into its base model and saving the result: a Hugging Face folder (config.json,
// model.safetensors, the tokenizer files copied) and optionally a GGUF file with the tokenizer in
// its metadata (byte-level BPE tokenizers), so `kiln generate` runs either.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NDArray } from '../../core/array.js';
import { flatten } from '../../core/tree.js';
import { saveSafetensors, type GgufValue } from '../../ops/io/index.js';
import type { Module } from '../../nn/index.js';
import { exportGguf, type GgufExportOptions } from '../gguf_export.js';
import type { ModelConfig } from '../config.js';
import { fuseLoRA } from './apply.js';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'generation_config.json', 'special_tokens_map.json'];

export interface FuseOptions {
  /** write dense layers where the base was quantized (default: quantize the merged weights again) */
  dequantize?: boolean;
  /** also write a GGUF file (weights in `ggufType`, default: the model's float type) */
  ggufPath?: string;
  ggufType?: GgufExportOptions['type'];
}

/**
 * Fuses every adapter layer of `model` (loaded from the folder `srcDir` with an adapter) and writes
 * the merged model to `outDir`; returns the number of layers fused.
 * @example
 * import { readConfig } from '../config.js';
 * const { model } = await kn.models.loadModel('tests/fixtures/lora/model', { adapterPath: 'tests/fixtures/lora/peft_lora' });
 * kn.models.lora.fuseAndSave(model, 'tests/fixtures/lora/model', '/tmp/kiln-doc-fused', readConfig('tests/fixtures/lora/model')) // 14
 */
export function fuseAndSave(model: Module, srcDir: string, outDir: string, config: ModelConfig, opts: FuseOptions = {}): number {
  const n = fuseLoRA(model, { dequantize: opts.dequantize ?? false });
  mkdirSync(outDir, { recursive: true });
  const weights: Record<string, NDArray> = Object.fromEntries(flatten<NDArray>(model.parameters()));
  saveSafetensors(join(outDir, 'model.safetensors'), weights, { format: 'pt' });
  writeFileSync(join(outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  for (const f of TOKENIZER_FILES) if (existsSync(join(srcDir, f))) copyFileSync(join(srcDir, f), join(outDir, f));
  if (opts.ggufPath) {
    const tj = join(srcDir, 'tokenizer.json');
    const meta = existsSync(tj) ? tokenizerGgufMetadata(srcDir, config) : null;
    // the weights' own precision (a bfloat16 model stays BF16), unless asked otherwise
    const dt = weights['model.embed_tokens.weight']?.dtype;
    const type = opts.ggufType ?? (dt === 'bfloat16' ? 'BF16' : dt === 'float32' ? 'F32' : 'F16');
    exportGguf(opts.ggufPath, config, weights, { type, ...(meta ?? {}) });
  }
  return n;
}

/**
 * GGUF tokenizer metadata (tokenizer.ggml.*) of a folder's byte-level BPE tokenizer.json, with
 * its chat template; other tokenizer kinds are an error naming the kind.
 * @example
 * import { readConfig } from '../config.js';
 * kn.models.lora.tokenizerGgufMetadata('examples/models/kjv-llama-5m', readConfig('examples/models/kjv-llama-5m')).metadata['tokenizer.ggml.model'] // 'gpt2'
 */
export function tokenizerGgufMetadata(dir: string, config: ModelConfig): { metadata: Record<string, GgufValue>; metadataTypes: Record<string, string> } {
  const tj = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const model = tj.model ?? {};
  const byteLevel = JSON.stringify(tj.pre_tokenizer ?? {}).includes('ByteLevel');
  if (model.type !== 'BPE' || !byteLevel)
    throw new Error(
      `[lora.fuse] --export-gguf writes byte-level BPE tokenizers; ${dir}/tokenizer.json is ${model.type}${byteLevel ? '' : ' without ByteLevel'}`,
    );
  const vocab = model.vocab as Record<string, number>;
  const added = (tj.added_tokens ?? []) as { id: number; content: string; special?: boolean }[];
  const n = Math.max(...Object.values(vocab), ...added.map((a) => a.id)) + 1;
  const tokens = new Array<string>(n).fill('');
  const types = new Array<number>(n).fill(1);
  for (const [t, id] of Object.entries(vocab)) tokens[id] = t;
  for (const a of added) {
    tokens[a.id] = a.content;
    types[a.id] = a.special === false ? 4 : 3;
  }
  const merges = (model.merges as (string | string[])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const metadata: Record<string, GgufValue> = {
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': 'default',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.token_type': types,
    'tokenizer.ggml.merges': merges,
  };
  const metadataTypes: Record<string, string> = { 'tokenizer.ggml.merges': 'array<string>', 'tokenizer.ggml.token_type': 'array<int32>' };
  const id = (k: string, v: unknown) => {
    const x = Array.isArray(v) ? v[0] : v;
    if (typeof x === 'number') {
      metadata[k] = x;
      metadataTypes[k] = 'uint32';
    }
  };
  id('tokenizer.ggml.bos_token_id', config.bos_token_id);
  // every end id (config.json and generation_config.json may list several): the first is eos, the
  // next one llama.cpp's end-of-turn id, so a chat model stops at its turn end as it does from the folder
  const gcPath = join(dir, 'generation_config.json');
  const gc = existsSync(gcPath) ? JSON.parse(readFileSync(gcPath, 'utf8')) : {};
  const ends = [...new Set([config.eos_token_id, gc.eos_token_id].flat().filter((x): x is number => typeof x === 'number'))];
  id('tokenizer.ggml.eos_token_id', ends[0]);
  if (ends.length > 1) id('tokenizer.ggml.eot_token_id', ends[1]);
  id('tokenizer.ggml.padding_token_id', config.pad_token_id);
  const tcPath = join(dir, 'tokenizer_config.json');
  const tc = existsSync(tcPath) ? JSON.parse(readFileSync(tcPath, 'utf8')) : {};
  const jinja = join(dir, 'chat_template.jinja');
  const template = existsSync(jinja) ? readFileSync(jinja, 'utf8') : typeof tc.chat_template === 'string' ? tc.chat_template : null;
  if (template) metadata['tokenizer.chat_template'] = template;
  if (typeof tc.add_bos_token === 'boolean') {
    metadata['tokenizer.ggml.add_bos_token'] = tc.add_bos_token;
    metadataTypes['tokenizer.ggml.add_bos_token'] = 'bool';
  }
  return { metadata, metadataTypes };
}
