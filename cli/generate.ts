// kiln generate: one completion, streamed. Only the generated text goes to stdout; statistics
// and diagnostics go to stderr, so `kiln generate ... > out.txt` captures the text alone.
import { CliError, dtypeFlag, gb, num, parse, str } from './args.js';
import { loadForCli, promptTokens, readPrompt } from './common.js';

export const GENERATE_HELP = `Usage: kiln generate --model M [--prompt P] [options]

Generate text from a Hugging Face model folder, a .gguf file or a model id in the local
Hugging Face cache. The prompt goes through the chat template as a user message when the
tokenizer has one. Only the generated text is written to stdout.

Options:
  --model PATH               model folder, .gguf file or Hugging Face model id (required)
  -p, --prompt TEXT          the prompt ('-' reads stdin; default "hello")
  -m, --max-tokens N         most tokens to generate (default 256)
  --temp T                   sampling temperature (default 0: greedy)
  --top-p P                  nucleus sampling mass in (0, 1] (default 1: off)
  --top-k K                  keep the K most likely tokens (default 0: off)
  --min-p P                  keep tokens with p >= P * top p (default 0: off)
  --seed S                   seed for sampling (reproducible output)
  --system-prompt TEXT       a system message before the prompt (with a chat template)
  --ignore-chat-template     send the prompt as raw text
  --max-kv-size N            rotating KV cache of N tokens
  --kv-bits N                store the KV cache quantized (8 or 4 bits, groups of 64)
  --draft-model PATH         a small model with the same vocabulary for speculative decoding
  --num-draft-tokens N       tokens the draft proposes per step (default 3)
  --adapter-path PATH        apply a LoRA adapter (kiln lora's folder or a PEFT folder)
  --dtype D                  convert weights to float32, float16 or bfloat16 on load
  --verbose                  also print the rendered prompt, load time and finish reason to stderr
  -h, --help                 this help
`;

const OPTIONS = {
  model: { type: 'string' },
  prompt: { type: 'string', short: 'p' },
  'max-tokens': { type: 'string', short: 'm' },
  temp: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  'min-p': { type: 'string' },
  seed: { type: 'string' },
  'system-prompt': { type: 'string' },
  'ignore-chat-template': { type: 'boolean' },
  'max-kv-size': { type: 'string' },
  'kv-bits': { type: 'string' },
  'draft-model': { type: 'string' },
  'num-draft-tokens': { type: 'string' },
  'adapter-path': { type: 'string' },
  dtype: { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Sampling options shared by generate and chat. */
export function samplingFlags(v: Record<string, unknown>) {
  return {
    temp: num(v, 'temp', { min: 0 }),
    topP: num(v, 'top-p'),
    topK: num(v, 'top-k', { int: true, min: 0 }),
    minP: num(v, 'min-p'),
    seed: num(v, 'seed', { int: true }),
    maxKvSize: num(v, 'max-kv-size', { int: true, min: 1 }),
    kvBits: num(v, 'kv-bits', { int: true, min: 2, max: 8 }),
  };
}

export async function generateCommand(argv: string[]): Promise<void> {
  const { values: v } = parse('generate', argv, OPTIONS);
  if (v.help) {
    process.stdout.write(GENERATE_HELP);
    return;
  }
  const modelPath = str(v, 'model');
  if (!modelPath) throw new CliError('--model is required (see kiln generate --help)');
  const maxTokens = num(v, 'max-tokens', { int: true, min: 0 }) ?? 256;
  const numDraftTokens = num(v, 'num-draft-tokens', { int: true, min: 1 });
  const sampling = samplingFlags(v);
  const dtype = dtypeFlag(v);
  const verbose = v.verbose === true;
  const prompt = await readPrompt(str(v, 'prompt') ?? 'hello');

  const t0 = performance.now();
  const { kn, model, tokenizer } = await loadForCli(modelPath, dtype, str(v, 'adapter-path'));
  const draftPath = str(v, 'draft-model');
  const draft = draftPath ? (await loadForCli(draftPath, dtype)).model : undefined;
  if (verbose) process.stderr.write(`Loaded ${modelPath} in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);

  const ids = promptTokens(tokenizer, prompt, { system: str(v, 'system-prompt'), ignoreChatTemplate: v['ignore-chat-template'] === true });
  if (verbose) process.stderr.write(`==========\n${tokenizer.decode(ids)}\n==========\n`);
  let last = null;
  try {
    for await (const r of kn.models.streamGenerate(model, tokenizer, ids, {
      maxTokens,
      ...sampling,
      ...(draft ? { draftModel: draft, numDraftTokens } : {}),
    })) {
      if (r.text) process.stdout.write(r.text);
      last = r;
    }
  } catch (e) {
    // option errors from the library name the option: report them as usage errors
    if (/^\[generate\]/.test((e as Error).message)) throw new CliError((e as Error).message);
    throw e;
  }
  process.stdout.write('\n');
  if (last) {
    process.stderr.write(
      `Prompt: ${last.promptTokens} tokens, ${last.promptTps.toFixed(3)} tokens-per-sec\n` +
        `Generation: ${last.generationTokens} tokens, ${last.generationTps.toFixed(3)} tokens-per-sec\n` +
        `Peak memory: ${gb(last.peakMemory)}\n`,
    );
    if (verbose) process.stderr.write(`Finish reason: ${last.finishReason}\n`);
  }
}
