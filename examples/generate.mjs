// Generate text from a model folder, streamed token by token:
//   node examples/generate.mjs [model-folder] [prompt]
// (after `npm install`; the default model is the small KJV Llama shipped in examples/models/).
import { fileURLToPath } from 'node:url';
import * as kn from 'kilnjs';

const modelPath = process.argv[2] ?? fileURLToPath(new URL('./models/kjv-llama-5m', import.meta.url));
const prompt = process.argv[3] ?? 'And God said';

const { model, tokenizer } = await kn.models.load(modelPath);
process.stdout.write(prompt);
let last;
for await (const r of kn.models.streamGenerate(model, tokenizer, prompt, { maxTokens: 100, temp: 0.7, topP: 0.9, seed: 1 })) {
  process.stdout.write(r.text);
  last = r;
}
console.log(
  `\n\n${last.generationTokens} tokens at ${last.generationTps.toFixed(1)} tokens/s (prompt: ${last.promptTokens} tokens at ${last.promptTps.toFixed(1)} tokens/s)`,
);

// Greedy decoding with a stop string, returning the whole text at once
const text = await kn.models.generate(model, tokenizer, 'In the beginning', { maxTokens: 60, stop: ['\n'] });
console.log(`\nIn the beginning${text}`);
