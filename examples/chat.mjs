// A terminal chat that keeps the conversation (the model's chat template renders each turn):
//   node examples/chat.mjs [model-folder]      (type a message; Ctrl-D quits)
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as kn from 'kilnjs';

const modelPath = process.argv[2] ?? fileURLToPath(new URL('./models/kjv-llama-5m', import.meta.url));
const { model, tokenizer } = await kn.models.load(modelPath);
const rl = readline.createInterface({ input: process.stdin, output: process.stdout, prompt: '>> ' });
const messages = [];

rl.prompt();
for await (const line of rl) {
  if (!line.trim()) continue;
  messages.push({ role: 'user', content: line });
  const prompt = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  let answer = '';
  for await (const r of kn.models.streamGenerate(model, tokenizer, prompt, { maxTokens: 200, temp: 0.7, seed: 0 })) {
    process.stdout.write(r.text);
    answer += r.text;
  }
  messages.push({ role: 'assistant', content: answer });
  process.stdout.write('\n');
  rl.prompt();
}
