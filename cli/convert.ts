// kiln convert: a Hugging Face / MLX folder (or GGUF file, or HF cache id) written back out as a
// folder — quantized to MLX's affine layout (-q), dequantized (--dequantize) or just cast
// (--dtype) — or, when --out ends in .gguf, as a GGUF file (convertToGguf below).
import { createRequire } from 'node:module';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { CliError, dtypeFlag, num, parse, str } from './args.js';
import { kiln, type Kiln } from './common.js';

export const CONVERT_HELP = `Usage: kiln convert --model M --out DIR|FILE.gguf [options]

Convert a model folder, .gguf file or Hugging Face model id in the local cache into a folder
that kiln and mlx-lm load (config.json, model.safetensors, tokenizer files), quantized in MLX's
affine layout with -q, or into a GGUF file when --out ends in .gguf.

Options:
  --model PATH           source model (required)
  --out PATH             output folder, or a .gguf file (required)
  -q, --quantize         quantize Linear and Embedding weights (MLX affine: uint32 words + scales/biases)
  --q-bits N             bits per weight: 2, 3, 4, 5, 6 or 8 (default 4)
  --q-group-size N       weights per scale/bias: 32, 64 or 128 (default 64)
  --dtype D              float32, float16 or bfloat16 for the float weights, scales and biases
  --dequantize           turn a quantized model back into float weights
  --gguf-type T          storage type of a .gguf output: F32, F16 (default), BF16, Q8_0, Q4_0,
                         Q4_K, Q6_K or Q4_K_M (llama.cpp's mix)
  --force                write into a non-empty output folder
  -h, --help             this help
`;

const OPTIONS = {
  model: { type: 'string' },
  out: { type: 'string' },
  quantize: { type: 'boolean', short: 'q' },
  'q-bits': { type: 'string' },
  'q-group-size': { type: 'string' },
  dtype: { type: 'string' },
  dequantize: { type: 'boolean' },
  'gguf-type': { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface Bar {
  start(total: number, value: number): void;
  update(value: number): void;
  stop(): void;
}

/** A cli-progress bar on stderr (a no-op when stderr is not a terminal). */
function bar(label: string): Bar {
  const none: Bar = { start() {}, update() {}, stop() {} };
  if (!process.stderr.isTTY) return none;
  try {
    const cp = createRequire(import.meta.url)('cli-progress') as { SingleBar: new (o: object, p: object) => Bar; Presets: Record<string, object> };
    return new cp.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total}`, stream: process.stderr, clearOnComplete: true, hideCursor: true },
      cp.Presets.shades_classic,
    );
  } catch {
    return none;
  }
}

export async function convertCommand(argv: string[]): Promise<void> {
  const { values: v } = parse('convert', argv, OPTIONS);
  if (v.help) {
    process.stdout.write(CONVERT_HELP);
    return;
  }
  const modelPath = str(v, 'model'),
    out = str(v, 'out');
  if (!modelPath) throw new CliError('--model is required (see kiln convert --help)');
  if (!out) throw new CliError('--out is required: a folder, or a file ending in .gguf (see kiln convert --help)');
  const quantize = v.quantize === true,
    dequant = v.dequantize === true;
  if (quantize && dequant) throw new CliError('-q/--quantize and --dequantize cannot be combined');
  const bits = num(v, 'q-bits', { int: true }) ?? 4,
    groupSize = num(v, 'q-group-size', { int: true }) ?? 64;
  if (![2, 3, 4, 5, 6, 8].includes(bits)) throw new CliError(`--q-bits must be 2, 3, 4, 5, 6 or 8, got ${bits}`);
  if (![32, 64, 128].includes(groupSize)) throw new CliError(`--q-group-size must be 32, 64 or 128, got ${groupSize}`);
  if (!quantize && (v['q-bits'] !== undefined || v['q-group-size'] !== undefined)) throw new CliError('--q-bits and --q-group-size need -q');
  const dtype = dtypeFlag(v);
  const toGguf = out.toLowerCase().endsWith('.gguf');
  if (!toGguf && v['gguf-type'] !== undefined) throw new CliError('--gguf-type needs an --out file ending in .gguf');
  if (!toGguf && existsSync(out) && !v.force) {
    if (!statSync(out).isDirectory()) throw new CliError(`--out ${out} exists and is not a folder`);
    if (readdirSync(out).length) throw new CliError(`--out ${out} is not empty (pass --force to write into it)`);
  }

  const kn = await kiln();
  const src = kn.models.resolveModelPath(modelPath);
  const t0 = performance.now();
  let loaded: { model: import('../models/types.js').LanguageModel; config: import('../models/config.js').ModelConfig };
  try {
    const hasTokenizer = statSync(src).isDirectory() && existsSync(`${src}/tokenizer.json`);
    loaded =
      hasTokenizer || src.toLowerCase().endsWith('.gguf')
        ? await kn.models.load(src, { ...(dtype ? { dtype } : {}), progress: process.stderr.isTTY })
        : await kn.models.loadModel(src, { ...(dtype ? { dtype } : {}), progress: process.stderr.isTTY });
  } catch (e) {
    throw new CliError(`cannot load model '${modelPath}': ${(e as Error).message.split('\n')[0]}`);
  }
  const { model, config } = loaded;
  if (dequant) {
    const n = kn.models.dequantizeLanguageModel(model);
    if (n === 0) process.stderr.write('kiln convert: the model has no quantized layers; --dequantize changes nothing\n');
    if (dtype) (model as unknown as import('../nn/module.js').Module).setDtype(dtype);
  }
  if (quantize) {
    if (kn.models.quantizationOf(config)) throw new CliError(`'${modelPath}' is already quantized; pass --dequantize first (to another folder) to requantize`);
    kn.models.quantizeLanguageModel(model, { groupSize, bits });
    evaluateLayers(kn, model, 'quantizing');
  }
  if (toGguf) {
    await convertToGguf(kn, model, config, src, out, str(v, 'gguf-type'));
  } else {
    const { files } = kn.models.save(model, out, { config, tokenizerFrom: statSync(src).isDirectory() ? src : undefined });
    process.stderr.write(`Wrote ${out}: ${files.join(', ')}\n`);
  }
  process.stderr.write(`Converted in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
}

/** Evaluates (and so quantizes) the weights one layer at a time, with a progress bar. */
function evaluateLayers(kn: Kiln, model: unknown, label: string): void {
  const params = kn.tree.flatten((model as import('../nn/module.js').Module).parameters()) as [string, import('../core/array.js').NDArray][];
  const b = bar(label);
  b.start(params.length, 0);
  params.forEach(([, a], i) => {
    kn.eval(a);
    b.update(i + 1);
  });
  b.stop();
}

/**
 * The GGUF output (--out *.gguf): float weights through models/gguf_export.ts. The GGUF side
 * (quantized GGUF types, the tokenizer metadata) belongs to models/gguf_export.ts; this hook hands
 * it the model's HF-named float weights.
 */
async function convertToGguf(
  kn: Kiln,
  model: unknown,
  config: import('../models/config.js').ModelConfig,
  _src: string,
  out: string,
  type: string | undefined,
): Promise<void> {
  const { exportGguf, GGUF_EXPORT_TYPES } = await import('../models/gguf_export.js');
  const { dequantizeLanguageModel } = await import('../models/quantized.js');
  const { dequantizeGgufLayers } = await import('../models/gguf_layers.js');
  dequantizeLanguageModel(model as import('../models/types.js').LanguageModel);
  dequantizeGgufLayers(model as import('../models/types.js').LanguageModel); // a quantized .gguf source
  const weights = new Map(kn.tree.flatten((model as import('../nn/module.js').Module).parameters()) as [string, import('../core/array.js').NDArray][]);
  const t = (type ?? 'F16').toUpperCase();
  const known: readonly string[] = GGUF_EXPORT_TYPES;
  if (!known.includes(t)) throw new CliError(`--gguf-type must be one of ${known.join(', ')}, got ${type}`);
  exportGguf(out, config, weights, { type: t as import('../models/gguf_export.js').GgufExportType });
  process.stderr.write(`Wrote ${out} (${t})\n`);
}
