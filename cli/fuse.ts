// kiln fuse: merge an adapter into its base model and save a model folder (and optionally a GGUF
// file) that generates as base + adapter does.
import { statSync } from 'node:fs';
import { CliError, parse, str } from './args.js';
import { loadForCli } from './common.js';

export const FUSE_HELP = `Usage: kiln fuse --model M [--adapter-path A] [--save-path OUT] [options]

Merge a LoRA / DoRA adapter (kiln lora's folder or a PEFT folder) into the base model's weights
and write a Hugging Face model folder (config.json, model.safetensors, the tokenizer files).

Options:
  --model PATH          base model folder (required)
  --adapter-path DIR    the adapter (default adapters)
  --save-path DIR       where the fused model goes (default fused_model)
  --dequantize          write dense weights when the base is quantized
  --export-gguf FILE    also write the fused model as a GGUF file (weights in the model's float type)
  -h, --help            this help
`;

const OPTIONS = {
  model: { type: 'string' },
  'adapter-path': { type: 'string' },
  'save-path': { type: 'string' },
  dequantize: { type: 'boolean' },
  'export-gguf': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function fuseCommand(argv: string[]): Promise<void> {
  const { values: v } = parse('fuse', argv, OPTIONS);
  if (v.help) {
    process.stdout.write(FUSE_HELP);
    return;
  }
  const modelPath = str(v, 'model');
  if (!modelPath) throw new CliError('--model is required (see kiln fuse --help)');
  const adapterPath = str(v, 'adapter-path') ?? 'adapters';
  const savePath = str(v, 'save-path') ?? 'fused_model';
  const { kn, model, config } = await loadForCli(modelPath, undefined, adapterPath);
  const dir = kn.models.resolveModelPath(modelPath);
  if (!statSync(dir).isDirectory()) throw new CliError(`kiln fuse needs a model folder as --model, got the file ${modelPath}`);
  const m = model as unknown as InstanceType<typeof kn.nn.Module>;
  const quantized = config.quantization !== undefined || config.quantization_config !== undefined;
  const outConfig = { ...config };
  if (quantized && v.dequantize) {
    const dq = (kn.models as unknown as { dequantizeLanguageModel?: (m: unknown) => unknown }).dequantizeLanguageModel;
    if (typeof dq !== 'function') throw new CliError('--dequantize needs quantized-model support, which this build lacks');
    dq(m);
    delete outConfig.quantization;
    delete outConfig.quantization_config;
  }
  const n = kn.models.lora.fuseAndSave(m, dir, savePath, outConfig, { ggufPath: str(v, 'export-gguf'), dequantize: v.dequantize === true });
  process.stderr.write(`Fused ${n} adapter layers into ${savePath}${v['export-gguf'] ? ` and ${String(v['export-gguf'])}` : ''}\n`);
}
