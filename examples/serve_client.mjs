// The official openai client against kiln serve. With no arguments it starts a server in this
// process on loopback (the small KJV Llama shipped in examples/models/); with --url it talks to a
// running one (kiln serve --model M --port 8080):
//   node examples/serve_client.mjs
//   node examples/serve_client.mjs --url http://127.0.0.1:8080/v1 --model kjv-llama-5m [--api-key KEY]
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import * as kn from 'kilnjs';

const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
let baseURL = arg('url'),
  modelId = arg('model') ?? 'kjv-llama-5m',
  server = null;
if (!baseURL) {
  const { model, tokenizer } = await kn.models.load(fileURLToPath(new URL('./models/kjv-llama-5m', import.meta.url)));
  server = kn.models.createServer({ model, tokenizer, modelId });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  baseURL = `http://127.0.0.1:${server.address().port}/v1`;
  console.log(`started kiln serve in-process on ${baseURL}`);
}
const client = new OpenAI({ baseURL, apiKey: arg('api-key') ?? 'none' });

// a chat answer, whole
const chat = await client.chat.completions.create({
  model: modelId,
  messages: [{ role: 'user', content: 'Who made the heaven and the earth?' }],
  max_tokens: 24,
  temperature: 0,
});
console.log('chat:', JSON.stringify(chat.choices[0].message.content), chat.usage);

// a completion, streamed token by token, with the usage chunk at the end
const stream = await client.completions.create({
  model: modelId,
  prompt: 'And God said',
  max_tokens: 32,
  temperature: 0.8,
  seed: 1,
  stream: true,
  stream_options: { include_usage: true },
});
process.stdout.write('stream: And God said');
for await (const chunk of stream) {
  if (chunk.choices[0]) process.stdout.write(chunk.choices[0].text);
  if (chunk.usage) console.log(`\n(${chunk.usage.completion_tokens} tokens)`);
}

// four requests at once share the decode steps (continuous batching)
const t0 = performance.now();
const answers = await Promise.all(
  ['In the beginning', 'Blessed are the', 'The LORD is my', 'Hear, O Israel'].map((prompt) =>
    client.completions.create({ model: modelId, prompt, max_tokens: 16, temperature: 0 }),
  ),
);
for (const a of answers) console.log('batched:', JSON.stringify(a.choices[0].text));
console.log(`4 requests in ${(performance.now() - t0).toFixed(0)} ms`);

if (server) await server.drain();
