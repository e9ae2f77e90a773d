// Loading a model: a Hugging Face folder (config.json + single or sharded safetensors, mapped
// lazily), a .gguf file, or a model id found in the local HF cache. Weights are checked against
// the model the config describes (names, shapes) with errors naming the tensor and the file,
// converted once when a dtype is asked for, and handed to the family's module tree.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { NDArray } from '../core/array.js';
import { isFloating, type DType } from '../core/dtype.js';
import { dispose, evaluate } from '../core/memory.js';
import { flatten } from '../core/tree.js';
import { astype } from '../ops/elementwise.js';
import { loadGguf, loadSafetensors } from '../ops/io/index.js';
import { seed as randomSeed } from '../ops/random.js';
import type { Module } from '../nn/index.js';
import { readConfig, validateConfig, type ModelConfig } from './config.js';
import { ggufConfig, ggufDefaultDtype, ggufWeights } from './gguf_load.js';
import { useGgufLayers } from './gguf_layers.js';
import { ggufNativeAvailable } from '../ops/gguf_quantized.js';
import { isModelId, resolveHfModel } from './hf_cache.js';
import { createModel } from './registry.js';
import { Tokenizer } from './tokenizer.js';
import type { LanguageModel } from './types.js';
import { prepareQuantized, quantizationOf } from './quantized.js';
import { loadAdapters } from './lora/adapters.js';

export type LoadDtype = 'float32' | 'float16' | 'bfloat16';

export interface LoadOptions {
  /** convert floating weights to this dtype on load (default: keep the checkpoint's) */
  dtype?: LoadDtype;
  /** show a progress bar (default: when stderr is a TTY) */
  progress?: boolean;
  /** a LoRA adapter folder to apply (mlx-lm's adapters.safetensors + adapter_config.json, or a PEFT folder) */
  adapterPath?: string;
}

export interface LoadedModel {
  model: LanguageModel;
  config: ModelConfig;
}

export interface Loaded extends LoadedModel {
  tokenizer: Tokenizer;
}

const DTYPES: readonly LoadDtype[] = ['float32', 'float16', 'bfloat16'];

function checkOpts(opts: LoadOptions, op: string): void {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`[${op}] options must be an object`);
  if (opts.dtype !== undefined && !DTYPES.includes(opts.dtype))
    throw new Error(`[${op}] dtype must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(opts.dtype)}`);
  if (opts.adapterPath !== undefined && (typeof opts.adapterPath !== 'string' || opts.adapterPath.length === 0))
    throw new TypeError(`[${op}] adapterPath must be a non-empty string, got ${JSON.stringify(opts.adapterPath)}`);
}

/**
 * Where a model lives: an existing folder or .gguf file (as an absolute path), else a model id
 * resolved to its snapshot folder in the local Hugging Face cache (nothing is downloaded).
 * @example
 * resolveModelPath('tests/fixtures/models/llama') === process.cwd() + '/tests/fixtures/models/llama' // true
 * // resolveModelPath('Qwen/Qwen3-0.6B') gives '~/.cache/huggingface/hub/models--Qwen--Qwen3-0.6B/snapshots/<rev>'
 */
export function resolveModelPath(pathOrId: string): string {
  if (typeof pathOrId !== 'string' || pathOrId.length === 0) throw new TypeError(`[models.load] path must be a non-empty string, got ${String(pathOrId)}`);
  if (existsSync(pathOrId)) return resolve(pathOrId);
  if (isModelId(pathOrId)) return resolveHfModel(pathOrId);
  throw new Error(`[models.load] ${pathOrId} does not exist (expected a model folder, a .gguf file or a Hugging Face model id such as Qwen/Qwen3-0.6B)`);
}

// ---- progress ------------------------------------------------------------------------------

interface Bar {
  start(total: number, value: number, payload?: object): void;
  update(value: number, payload?: object): void;
  stop(): void;
}

/** A cli-progress bar on stderr, or a no-op when off (cli-progress has no bundled types). */
function progressBar(on: boolean, label: string): Bar {
  const none: Bar = { start() {}, update() {}, stop() {} };
  if (!on) return none;
  try {
    const cp = createRequire(import.meta.url)('cli-progress') as {
      SingleBar: new (o: object, preset: object) => Bar;
      Presets: Record<string, object>;
    };
    return new cp.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} MB`, stream: process.stderr, clearOnComplete: true, hideCursor: true },
      cp.Presets.shades_classic,
    );
  } catch {
    return none;
  }
}

// ---- weights -------------------------------------------------------------------------------

const MB = 1 << 20;
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** The safetensors files of a folder: the index's shards, model.safetensors, or every *.safetensors. */
export function weightFiles(dir: string): { files: string[]; index: string | null } {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) return { files: [index], index };
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return { files: [single], index: null };
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors') && !f.startsWith('.') && !f.startsWith('adapter'))
    .sort();
  if (!all.length) {
    const pickles = readdirSync(dir).filter((f) => f.endsWith('.bin') || f.endsWith('.pt') || f.endsWith('.pth'));
    const hint = pickles.length
      ? ` (${pickles.join(', ')} ${pickles.length > 1 ? 'are' : 'is'} a PyTorch pickle, which kiln never executes; convert it to safetensors)`
      : '';
    throw new Error(`[models.load] ${dir} has no weights: expected model.safetensors, model.safetensors.index.json or *.safetensors${hint}`);
  }
  return { files: all.map((f) => join(dir, f)), index: null };
}

/**
 * The shards of a model.safetensors.index.json and the shard of each tensor it lists; shard names
 * must stay inside the folder. Each shard is then loaded on its own, so errors name the shard.
 */
function readIndex(index: string): { shards: string[]; shardOf: Map<string, string> } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(index, 'utf8'));
  } catch (e) {
    throw new Error(`[models.load] ${index} is not valid JSON: ${(e as Error).message}`);
  }
  const wm = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) throw new Error(`[models.load] ${index} has no weight_map object`);
  const shardOf = new Map<string, string>();
  for (const [k, v] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof v !== 'string' || v.length === 0 || isAbsolute(v) || v.split(/[\\/]/).includes('..') || v.includes('\0'))
      throw new Error(`[models.load] ${index} names an invalid shard file ${JSON.stringify(v)} for '${k}' (must be a file inside the folder)`);
    shardOf.set(k, join(dirname(index), v));
  }
  return { shards: [...new Set(shardOf.values())], shardOf };
}

/** Reads a folder's weights as lazily mapped views: name -> array, and name -> the file it came from. */
function readFolderWeights(dir: string): { weights: Map<string, NDArray>; fileOf: Map<string, string> } {
  const { files: found, index } = weightFiles(dir);
  const idx = index ? readIndex(index) : null;
  const files = idx ? idx.shards : found;
  const weights = new Map<string, NDArray>();
  const fileOf = new Map<string, string>();
  try {
    for (const f of files) {
      let tensors: Record<string, NDArray>;
      try {
        tensors = loadSafetensors(f).tensors;
      } catch (e) {
        // safetensors errors name the problem, not always the file
        const m = (e as Error).message;
        throw new Error(m.includes(f) ? m.replace(/^\[load\]/, '[models.load]') : `[models.load] ${f}: ${m.replace(/^\[load\] /, '')}`);
      }
      for (const [k, v] of Object.entries(tensors)) {
        if (weights.has(k)) throw new Error(`[models.load] tensor '${k}' appears twice (in ${fileOf.get(k)} and ${f})`);
        weights.set(k, v);
        fileOf.set(k, f);
      }
    }
    if (idx)
      for (const [k, f] of idx.shardOf)
        if (fileOf.get(k) !== f)
          throw new Error(`[models.load] ${index} lists tensor '${k}' in ${f}, but ${fileOf.has(k) ? `it is in ${fileOf.get(k)}` : 'no shard holds it'}`);
  } catch (e) {
    dispose([...weights.values()]);
    throw e;
  }
  return { weights, fileOf };
}

/**
 * Checks weights against the model's parameters and loads them, converting floating ones to
 * `dtype` (one pass: each converted tensor is evaluated as it is loaded). `where` and `fileOf`
 * name the source in errors.
 * @example
 * const model = kn.models.modelFromConfig('tests/fixtures/models/llama');
 * const weights = new Map(Object.entries(kn.loadSafetensors('tests/fixtures/models/llama/model.safetensors').tensors));
 * applyWeights(model, weights, { where: 'my-model/', dtype: 'bfloat16' });
 * model.parameters().model.norm.weight.dtype // 'bfloat16'
 */
export function applyWeights(
  model: LanguageModel,
  weights: Map<string, NDArray>,
  opts: { where: string; fileOf?: Map<string, string>; dtype?: DType; progress?: boolean; sanitize?: boolean },
): void {
  const mod = model as unknown as Module;
  const w = opts.sanitize === false ? weights : model.sanitize(weights);
  const params = new Map(flatten<NDArray>(mod.parameters()));
  const src = (k: string) => opts.fileOf?.get(k) ?? opts.where;
  const missing = [...params.keys()].filter((k) => !w.has(k));
  if (missing.length) {
    const list = missing
      .slice(0, 6)
      .map((k) => `'${k}' ${fmt(params.get(k)!.shape)}`)
      .join(', ');
    throw new Error(
      `[models.load] ${opts.where} is missing ${missing.length} weight${missing.length > 1 ? 's' : ''} the ${model.modelType} model needs: ${list}${missing.length > 6 ? ', ...' : ''}`,
    );
  }
  const extra = [...w.keys()].filter((k) => !params.has(k));
  if (extra.length)
    throw new Error(
      `[models.load] ${src(extra[0])} holds ${extra.length} tensor${extra.length > 1 ? 's' : ''} the ${model.modelType} model has no place for: ${extra.slice(0, 6).join(', ')}${extra.length > 6 ? ', ...' : ''}`,
    );
  for (const [k, p] of params) {
    const a = w.get(k)!;
    if (a.shape.length !== p.shape.length || a.shape.some((d, i) => d !== p.shape[i]))
      throw new Error(`[models.load] weight '${k}' in ${src(k)} has shape ${fmt(a.shape)}, but the model (from its config) expects ${fmt(p.shape)}`);
  }
  const total = [...w.values()].reduce((s, a) => s + a.nbytes, 0);
  const bar = progressBar(opts.progress ?? process.stderr.isTTY === true, 'loading');
  bar.start(Math.ceil(total / MB), 0);
  const entries: [string, NDArray][] = [];
  const made: NDArray[] = [];
  let done = 0;
  try {
    for (const [k, a] of w) {
      let v = a;
      if (opts.dtype && isFloating(a.dtype) && a.dtype !== opts.dtype) {
        v = astype(a, opts.dtype);
        made.push(v);
      }
      // convert (or un-permute) now, once: mapped views are already evaluated and stay zero-copy
      evaluate(v);
      entries.push([k, v]);
      done += a.nbytes;
      bar.update(Math.ceil(done / MB));
    }
  } catch (e) {
    dispose(made);
    throw e;
  } finally {
    bar.stop();
  }
  mod.loadWeights(entries);
}

// ---- public API ----------------------------------------------------------------------------

function isGgufPath(p: string): boolean {
  return p.toLowerCase().endsWith('.gguf') && existsSync(p) && statSync(p).isFile();
}

/** A model folder's single .gguf file, when it has no config.json (a GGUF repo in the HF cache). */
function ggufInFolder(dir: string): string | null {
  if (existsSync(join(dir, 'config.json'))) return null;
  const ggufs = readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.gguf'))
    .sort();
  if (ggufs.length === 1) return join(dir, ggufs[0]);
  if (ggufs.length > 1) throw new Error(`[models.load] ${dir} has no config.json but ${ggufs.length} .gguf files (${ggufs.join(', ')}); pass one of them`);
  return null;
}

function loadGgufModel(file: string, opts: LoadOptions): LoadedModel & { metadata: Record<string, unknown> } {
  const g = loadGguf(file, { quantized: ggufNativeAvailable() ? 'blocks' : 'float32' });
  try {
    const config = ggufConfig(g, file);
    const weights = ggufWeights(g, config, file);
    const model = createModel(config);
    const shapes = Object.fromEntries(Object.entries(g.tensors).map(([k, v]) => [k, v.shape]));
    const dtype = opts.dtype ?? ggufDefaultDtype(g.types, shapes);
    useGgufLayers(model, weights, g.types, dtype); // quantized weights stay in their blocks
    applyWeights(model, weights, { where: file, dtype, progress: opts.progress });
    config.torch_dtype = dtype;
    return { model, config, metadata: g.metadata };
  } catch (e) {
    dispose(Object.values(g.tensors));
    throw e;
  }
}

function loadFolderModel(dir: string, opts: LoadOptions): LoadedModel {
  const config = readConfig(dir);
  const model = createModel(config);
  const { weights, fileOf } = readFolderWeights(dir);
  try {
    const quant = quantizationOf(config, join(dir, 'config.json'));
    if (quant) prepareQuantized(model, quant, weights, dir);
    applyWeights(model, weights, { where: dir, fileOf, dtype: opts.dtype, progress: opts.progress });
  } catch (e) {
    dispose([...weights.values()]);
    throw e;
  }
  return { model, config };
}

/**
 * Loads a model without its tokenizer: `{ model, config }`. `path` is a Hugging Face folder,
 * a `.gguf` file, or a model id in the local HF cache.
 * @example
 * const { model, config } = await kn.models.loadModel('tests/fixtures/models/llama');
 * [model.numLayers, config.hidden_size] // [2, 64]
 */
export async function loadModel(path: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  checkOpts(opts, 'models.loadModel');
  if (opts.adapterPath !== undefined) return withAdapter(await loadModel(path, { ...opts, adapterPath: undefined }), opts.adapterPath);
  const p = resolveModelPath(path);
  if (isGgufPath(p)) {
    const { model, config } = loadGgufModel(p, opts);
    return { model, config };
  }
  if (!statSync(p).isDirectory()) throw new Error(`[models.load] ${p} is neither a model folder nor a .gguf file`);
  const gguf = ggufInFolder(p);
  if (gguf) {
    const { model, config } = loadGgufModel(gguf, opts);
    return { model, config };
  }
  return loadFolderModel(p, opts);
}

/**
 * Loads a model and its tokenizer: `{ model, tokenizer, config }`. A folder needs tokenizer.json
 * (with tokenizer_config.json, chat_template.jinja and generation_config.json when present);
 * a GGUF file carries its vocabulary and chat template in its metadata.
 * @example
 * // or a model id in the local HF cache: kn.models.load('Qwen/Qwen3-0.6B', { dtype: 'bfloat16' })
 * const { model, tokenizer } = await kn.models.load('examples/models/kjv-llama-5m', { dtype: 'bfloat16' });
 * tokenizer.encode('And God said') // [2042, 286, 387, 376]
 */
export async function load(path: string, opts: LoadOptions = {}): Promise<Loaded> {
  checkOpts(opts, 'models.load');
  if (opts.adapterPath !== undefined) return withAdapter(await load(path, { ...opts, adapterPath: undefined }), opts.adapterPath);
  const p = resolveModelPath(path);
  const gguf = isGgufPath(p) ? p : statSync(p).isDirectory() ? ggufInFolder(p) : null;
  if (gguf) {
    const { model, config, metadata } = loadGgufModel(gguf, opts);
    if (!Object.prototype.hasOwnProperty.call(metadata, 'tokenizer.ggml.tokens'))
      throw new Error(`[models.load] ${gguf} has no tokenizer (no tokenizer.ggml.tokens metadata); use loadModel for the weights alone`);
    return { model, config, tokenizer: Tokenizer.fromGGUF(metadata) };
  }
  if (!statSync(p).isDirectory()) throw new Error(`[models.load] ${p} is neither a model folder nor a .gguf file`);
  // check the tokenizer before mapping gigabytes of weights
  if (!existsSync(join(p, 'tokenizer.json'))) {
    const hint = existsSync(join(p, 'tokenizer.model')) ? ' (only a SentencePiece tokenizer.model is present; kiln reads tokenizer.json)' : '';
    throw new Error(`[models.load] ${p} has no tokenizer: tokenizer.json not found${hint}; use loadModel for the weights alone`);
  }
  const tokenizer = await Tokenizer.fromFolder(p);
  const { model, config } = loadFolderModel(p, opts);
  return { model, tokenizer, config };
}

/** Applies a LoRA adapter folder to a loaded model (models/lora). */
function withAdapter<T extends LoadedModel>(r: T, adapterPath: string): T {
  loadAdapters(r.model as unknown as Module, adapterPath);
  return r;
}

/**
 * A model of a real shape with random weights (benchmarks, tests): `config` is a config.json
 * object, a config.json path or a model folder. Same seed, same weights.
 * @example
 * const m = kn.models.modelFromConfig('tests/fixtures/models/llama', { dtype: 'bfloat16', seed: 0 });
 * m.numLayers // 2
 * m.call(kn.array([[1, 2, 3]])).shape // [1, 3, 512]
 */
export function modelFromConfig(config: ModelConfig | string, opts: { dtype?: LoadDtype; seed?: number } = {}): LanguageModel {
  if (opts.dtype !== undefined && !DTYPES.includes(opts.dtype))
    throw new Error(`[models.modelFromConfig] dtype must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(opts.dtype)}`);
  const c = typeof config === 'string' ? readConfig(config) : validateConfig(config, 'the config given to modelFromConfig');
  randomSeed(opts.seed ?? 0);
  const model = createModel(c);
  const mod = model as unknown as Module;
  if (opts.dtype) mod.setDtype(opts.dtype);
  evaluate(mod.parameters());
  return model;
}
