// config.json of a Hugging Face model folder: read, parse and check the fields every family needs,
// with errors that name the file. Family-specific fields are checked by the family itself.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { quantizationOf } from './quantized.js';

export type ModelConfig = Record<string, unknown>;

/** Fields every supported family reads; each must be a positive integer. */
const REQUIRED_INTS = ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'vocab_size', 'intermediate_size'] as const;
/** Optional fields that must be positive integers when present (null allowed). */
const OPTIONAL_INTS = ['num_key_value_heads', 'head_dim', 'max_position_embeddings', 'sliding_window'] as const;

function show(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Checks a parsed config object; `where` names its source in errors (a file path).
 * @example
 * const c = { model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 100, intermediate_size: 128 };
 * validateConfig(c, 'config.json') === c // true
 * // validateConfig({ model_type: 'llama' }, 'config.json') throws, naming the missing keys
 */
export function validateConfig(config: unknown, where: string): ModelConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config))
    throw new Error(`[models.load] ${where} must hold a JSON object, got ${Array.isArray(config) ? 'an array' : show(config)}`);
  const c = config as ModelConfig;
  if (typeof c.model_type !== 'string' || c.model_type.length === 0)
    throw new Error(`[models.load] ${where} has no model_type (a string such as "llama"), got ${show(c.model_type)}`);
  const bad = (key: string, what: string) => new Error(`[models.load] ${where}: ${key} must be ${what}, got ${show(c[key])}`);
  // phi3-style configs are the same shape; other families may add their own required fields
  for (const k of REQUIRED_INTS) {
    const v = c[k];
    if (v === undefined) throw new Error(`[models.load] ${where} is missing the required field ${k} (model_type ${c.model_type})`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw bad(k, 'a positive integer');
  }
  for (const k of OPTIONAL_INTS) {
    const v = c[k];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)) throw bad(k, 'a positive integer or null');
  }
  for (const k of ['rms_norm_eps', 'rope_theta'] as const) {
    const v = c[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) throw bad(k, 'a positive number');
  }
  if (c.rope_scaling !== undefined && c.rope_scaling !== null && (typeof c.rope_scaling !== 'object' || Array.isArray(c.rope_scaling)))
    throw bad('rope_scaling', 'an object or null');
  // MLX's quantized layout loads (models/quantized.ts); other schemes are refused by name
  quantizationOf(c, where);
  return c;
}

/**
 * Reads and checks `<dir>/config.json` (or a config.json path).
 * @example readConfig('tests/fixtures/models/llama').model_type // 'llama'
 */
export function readConfig(dirOrFile: string): ModelConfig {
  const file = dirOrFile.endsWith('.json') ? dirOrFile : join(dirOrFile, 'config.json');
  if (!existsSync(file)) throw new Error(`[models.load] ${file} not found: a Hugging Face model folder needs a config.json`);
  if (!statSync(file).isFile()) throw new Error(`[models.load] ${file} is not a file`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`[models.load] cannot read ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`[models.load] ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return validateConfig(parsed, file);
}
