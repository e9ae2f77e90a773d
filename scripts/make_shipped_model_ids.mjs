// Writes tests/fixtures/shipped_model_ids.json: token ids of a few prompts and of a chat transcript
// under the shipped model's tokenizer, computed by our own BPE encoder (scripts/bpe_train.mjs) from
// the folder's tokenizer.json, and the chat template rendered by @huggingface/jinja.
// scripts/check_shipped_model.py then checks transformers' AutoTokenizer gives the same.
//   node scripts/make_shipped_model_ids.mjs [examples/models/kjv-llama-5m]
import { readFileSync, writeFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { makeEncoder } from './bpe_train.mjs';

const dir = process.argv[2] ?? new URL('../examples/models/kjv-llama-5m', import.meta.url).pathname;
const tj = JSON.parse(readFileSync(`${dir}/tokenizer.json`, 'utf8'));
const tc = JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8'));
const vocab = new Map(Object.entries(tj.model.vocab));
for (const t of tj.added_tokens) vocab.set(t.content, t.id);
const merges = tj.model.merges.map((m) => (typeof m === 'string' ? m.split(' ') : m));
const enc = makeEncoder({ vocab, merges });
const id = (t) => vocab.get(t);
const bos = id(tc.bos_token);

const texts = [
  'And God said',
  'In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep.',
  'And Moses spake unto the children of Israel, saying,',
  'naïve café 😀\n  two  spaces\tand a tab, 1234567',
];
const messages = [{ role: 'user', content: 'And God said' }];
const rendered = new Template(tc.chat_template).render({ messages, add_generation_prompt: true, bos_token: tc.bos_token, eos_token: tc.eos_token });
const nl = enc.encode('\n');
const chatIds = [bos, id('<|user|>'), ...nl, ...enc.encode(messages[0].content), id('<|end|>'), ...nl, id('<|assistant|>'), ...nl];
const out = {
  generated_by: 'scripts/make_shipped_model_ids.mjs',
  prompts: texts.map((text) => ({ text, ids: [bos, ...enc.encode(text)] })),
  chat: { messages, rendered, ids: chatIds },
};
const path = new URL('../tests/fixtures/shipped_model_ids.json', import.meta.url).pathname;
writeFileSync(path, JSON.stringify(out) + '\n');
console.log(`wrote ${path}: ${out.prompts.map((p) => p.ids.length).join(', ')} ids; chat ${JSON.stringify(rendered)}`);
