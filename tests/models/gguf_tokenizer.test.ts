// A tokenizer built from GGUF metadata gives the ids of the Hugging Face tokenizer it was converted from.
// The metadata is written the way llama.cpp's converter writes it (tokenizer.ggml.tokens / scores /
// token_type / merges / pre, special ids and flags, the chat template) from the real Llama-3 (gpt2,
// llama-bpe), Mistral-7B (llama: SentencePiece scores) and Qwen3 (gpt2, qwen2) tokenizer.json files,
// saved to a real .gguf file with saveGguf and read back with loadGguf.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGguf, saveGguf, type GgufValue } from '../../ops/io/gguf.js';
import { BYTE_TO_CHAR } from '../../models/decode.js';
import { ggufToTokenizerFiles } from '../../models/gguf_tokenizer.js';
import { Tokenizer } from '../../models/tokenizer.js';
import { fixture, folderOf, readJson, type Name } from './tokenizer_fixtures.js';

type Meta = Record<string, GgufValue>;
const tmp = mkdtempSync(join(tmpdir(), 'kiln-gguf-tok-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TYPES = { normal: 1, unknown: 2, control: 3, userDefined: 4, byte: 6 };
const META_TYPES: Record<string, string> = {
  'tokenizer.ggml.scores': 'array<float32>',
  'tokenizer.ggml.token_type': 'array<int32>',
  'tokenizer.ggml.bos_token_id': 'uint32',
  'tokenizer.ggml.eos_token_id': 'uint32',
  'tokenizer.ggml.unknown_token_id': 'uint32',
  'tokenizer.ggml.padding_token_id': 'uint32',
  'tokenizer.ggml.eot_token_id': 'uint32',
};

interface Hf {
  tj: { model: { vocab: Record<string, number>; merges: (string | [string, string])[] }; added_tokens: { id: number; content: string; special: boolean }[] };
  cfg: Record<string, unknown>;
}
const hf = (name: Name): Hf => ({
  tj: readJson(join(folderOf(name), 'tokenizer.json')) as unknown as Hf['tj'],
  cfg: readJson(join(folderOf(name), 'tokenizer_config.json')),
});

/** tokens by id (vocab and added tokens) and llama.cpp token types */
function tokensAndTypes({ tj }: Hf, typeOf: (tok: string, id: number) => number): { tokens: string[]; types: number[] } {
  const tokens: string[] = [];
  const types: number[] = [];
  for (const [t, id] of Object.entries(tj.model.vocab)) tokens[id] = t;
  for (const a of tj.added_tokens) tokens[a.id] = a.content;
  for (let id = 0; id < tokens.length; id++) {
    const a = tj.added_tokens.find((x) => x.id === id);
    types[id] = a ? (a.special ? TYPES.control : TYPES.userDefined) : typeOf(tokens[id], id);
  }
  return { tokens, types };
}

const mergeStrings = (m: (string | [string, string])[]) => m.map((x) => (typeof x === 'string' ? x : `${x[0]} ${x[1]}`));

/** byte-level BPE as convert_hf_to_gguf writes it */
function gpt2Meta(h: Hf, pre: string, ids: Record<string, number>, flags: Record<string, boolean>): Meta {
  const { tokens, types } = tokensAndTypes(h, () => TYPES.normal);
  const m: Meta = {
    'general.architecture': 'llama',
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': pre,
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.token_type': types,
    'tokenizer.ggml.merges': mergeStrings(h.tj.model.merges),
  };
  for (const [k, v] of Object.entries(ids)) m[`tokenizer.ggml.${k}`] = v;
  for (const [k, v] of Object.entries(flags)) m[`tokenizer.ggml.${k}`] = v;
  if (typeof h.cfg.chat_template === 'string') m['tokenizer.chat_template'] = h.cfg.chat_template;
  return m;
}

/**
 * SentencePiece as _set_vocab_sentencepiece writes it: pieces, scores, types. Without the
 * tokenizer.model its scores are rebuilt from the merges (the merged piece of merge r scores -r, single
 * characters below every merge), which orders pieces as the real scores do.
 */
function llamaMeta(h: Hf): Meta {
  const firstRank = new Map<string, number>();
  mergeStrings(h.tj.model.merges).forEach((s, r) => {
    const [a, b] = s.split(' ');
    if (!firstRank.has(a + b)) firstRank.set(a + b, r);
  });
  const { tokens, types } = tokensAndTypes(h, (t, id) => (id === 0 ? TYPES.unknown : /^<0x[0-9A-F]{2}>$/.test(t) ? TYPES.byte : TYPES.normal));
  const scores = tokens.map((t, id) => (types[id] !== TYPES.normal ? 0 : firstRank.has(t) ? -firstRank.get(t)! : -1e6 - id));
  return {
    'general.architecture': 'llama',
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.scores': scores,
    'tokenizer.ggml.token_type': types,
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.unknown_token_id': 0,
    'tokenizer.ggml.add_bos_token': true,
    'tokenizer.ggml.add_eos_token': false,
    'tokenizer.chat_template': "{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}",
  };
}

/** writes the metadata into a .gguf file and reads it back */
function roundTrip(file: string, metadata: Meta): Record<string, GgufValue> {
  const path = join(tmp, file);
  const types = Object.fromEntries(Object.entries(META_TYPES).filter(([k]) => k in metadata));
  saveGguf(path, { tensors: {}, metadata, metadataTypes: types });
  const g = loadGguf(path);
  expect(g.metadataTypes['tokenizer.ggml.tokens']).toBe('array<string>');
  return g.metadata;
}

const CASES: { name: Name; meta: () => Meta }[] = [
  // this Llama-3 tokenizer.json adds no BOS, so the flag says so (llama.cpp's default for llama-bpe is true)
  {
    name: 'llama3',
    meta: () => gpt2Meta(hf('llama3'), 'llama-bpe', { bos_token_id: 128000, eos_token_id: 128001, eot_token_id: 128009 }, { add_bos_token: false }),
  },
  { name: 'mistral', meta: () => llamaMeta(hf('mistral')) },
  { name: 'qwen3', meta: () => gpt2Meta(hf('qwen3'), 'qwen2', { eos_token_id: 151645, padding_token_id: 151643 }, { add_bos_token: false }) },
];

describe.each(CASES)('$name from a GGUF file', ({ name, meta }) => {
  let tok: Tokenizer;
  let m: Record<string, GgufValue>;
  beforeAll(() => {
    m = roundTrip(`${name}.gguf`, meta());
    tok = Tokenizer.fromGGUF(m);
  }, 120_000);

  it('encodes the corpus to the Hugging Face ids', () => {
    for (const e of fixture(name).corpus) {
      expect(tok.encode(e.text), JSON.stringify(e.text)).toEqual(e.ids);
      expect(tok.encode(e.text, { addSpecialTokens: false }), JSON.stringify(e.text)).toEqual(e.ids_nospecial);
    }
  });

  it('encodes 200 random texts to the Hugging Face ids', () => {
    for (const r of fixture(name).random_text) expect(tok.encode(r.text), JSON.stringify(r.text)).toEqual(r.ids);
  });

  it('decodes as Hugging Face does, random id sequences included', () => {
    const fx = fixture(name);
    for (const e of fx.corpus) expect(tok.decode(e.ids), JSON.stringify(e.text)).toBe(e.decode);
    for (const r of fx.random_decode) {
      expect(tok.decode(r.ids), r.ids.join(',')).toBe(r.decode);
      expect(tok.decode(r.ids, { skipSpecialTokens: true }), r.ids.join(',')).toBe(r.decode_skip);
    }
  });

  it('special ids, vocabulary size and chat template', () => {
    const want = { llama3: [128000, [128001, 128009], 128256], mistral: [1, [2], 32000], qwen3: [null, [151645], 151669] }[name];
    expect([tok.bosTokenId, tok.eosTokenIds, tok.vocabSize]).toEqual(want);
    expect(tok.chatTemplate).toBe(m['tokenizer.chat_template'] ?? null);
    if (name === 'qwen3')
      expect(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { tokenize: false, addGenerationPrompt: true })).toBe(
        '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
      );
    if (name === 'mistral') {
      const ids = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }]);
      expect(tok.decode(ids)).toBe('<s> [INST] Hi [/INST]');
      expect(ids.filter((i) => i === 1)).toEqual([1]);
    }
  });
});

describe('GGUF details', () => {
  it('SentencePiece merges rebuilt from scores are the tokenizer.json merges', () => {
    const h = hf('mistral');
    const built = ggufToTokenizerFiles(llamaMeta(h)).tokenizerJson as { model: { merges: [string, string][] } };
    const orig = mergeStrings(h.tj.model.merges);
    const got = built.model.merges.map(([a, b]) => `${a} ${b}`);
    expect(got.length).toBe(orig.length);
    // same set; the order differs only where the original itself is out of score order
    expect(new Set(got)).toEqual(new Set(orig));
    const differ = got.filter((x, i) => x !== orig[i]).length;
    expect(differ).toBeLessThanOrEqual(4);
  });

  it('add_bos_token defaults: true for llama and llama-bpe, false for qwen2; add_eos_token appends EOS', () => {
    const l3 = gpt2Meta(hf('llama3'), 'llama-bpe', { bos_token_id: 128000, eos_token_id: 128001 }, {});
    expect(Tokenizer.fromGGUF(l3).encode('Hello world')).toEqual([128000, 9906, 1917]);
    const mi = llamaMeta(hf('mistral'));
    delete mi['tokenizer.ggml.add_bos_token'];
    mi['tokenizer.ggml.add_eos_token'] = true;
    expect(Tokenizer.fromGGUF(mi).encode('Hello world')).toEqual([1, 22557, 1526, 2]);
    mi['tokenizer.ggml.add_space_prefix'] = false;
    const noPrefix = Tokenizer.fromGGUF(mi);
    expect(noPrefix.encode('Hello world', { addSpecialTokens: false })[0]).toBe(noPrefix.tokenToId('Hello'));
    expect(noPrefix.decode(noPrefix.encode(' Hello world', { addSpecialTokens: false }))).toBe(' Hello world');
  });

  it('pre-tokenizer types: default keeps digit runs whole, smollm splits every digit, qwen2 normalizes to NFC', () => {
    // byte-level strings: U+0301 is CC 81, é is C3 A9; the merges join each pair of bytes
    const bytes = (t: string) => [...new TextEncoder().encode(t)].map((b) => BYTE_TO_CHAR[b]);
    const bl = (t: string) => bytes(t).join('');
    const tokens = [bl('1'), bl('2'), bl('12'), bl('e'), bl('\u0301'), bl('\u00e9'), ...bytes('\u0301'), ...bytes('\u00e9')];
    const merges = ['1 2', bytes('\u0301').join(' '), bytes('\u00e9').join(' ')];
    const meta = (pre: string) => ({
      'tokenizer.ggml.model': 'gpt2',
      'tokenizer.ggml.pre': pre,
      'tokenizer.ggml.tokens': tokens,
      'tokenizer.ggml.merges': merges,
    });
    expect(Tokenizer.fromGGUF(meta('default')).encode('12')).toEqual([2]);
    expect(Tokenizer.fromGGUF(meta('smollm')).encode('12')).toEqual([0, 1]);
    expect(Tokenizer.fromGGUF(meta('qwen2')).encode('12')).toEqual([0, 1]);
    // e + combining acute becomes é (C3 A9) under NFC
    expect(Tokenizer.fromGGUF(meta('qwen2')).encode('e\u0301')).toEqual([5]);
    expect(Tokenizer.fromGGUF(meta('default')).encode('e\u0301')).toEqual([3, 4]);
  });

  it('errors name the key and the problem', () => {
    expect(() => Tokenizer.fromGGUF({})).toThrow('[models] GGUF metadata has no tokenizer.ggml.model (no tokenizer in this file)');
    expect(() => Tokenizer.fromGGUF({ 'tokenizer.ggml.model': 'bert' })).toThrow(
      '[models] GGUF tokenizer.ggml.model "bert" is not supported; supported: llama (SentencePiece), gpt2 (byte-level BPE)',
    );
    expect(() => Tokenizer.fromGGUF({ 'tokenizer.ggml.model': 'gpt2' })).toThrow('[models] GGUF metadata has no tokenizer.ggml.tokens');
    const base = { 'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.tokens': ['a', 'b', 'ab'], 'tokenizer.ggml.merges': ['a b'] };
    expect(() => Tokenizer.fromGGUF({ ...base, 'tokenizer.ggml.pre': 'falcon3' })).toThrow(
      /tokenizer\.ggml\.pre "falcon3" is not supported; supported: llama-bpe, qwen2/,
    );
    expect(() => Tokenizer.fromGGUF({ ...base, 'tokenizer.ggml.token_type': [1, 1] })).toThrow(
      '[models] GGUF tokenizer.ggml.token_type has 2 entries for 3 tokens',
    );
    expect(() => Tokenizer.fromGGUF({ ...base, 'tokenizer.ggml.eos_token_id': 7 })).toThrow(
      '[models] GGUF tokenizer.ggml.eos_token_id = 7 is outside the vocabulary of 3 tokens',
    );
    expect(() => Tokenizer.fromGGUF({ ...base, 'tokenizer.ggml.merges': ['ab'] })).toThrow(/merges\[0\] = "ab" is not "left right"/);
    expect(() => Tokenizer.fromGGUF({ ...base, 'tokenizer.ggml.model': 'llama' })).toThrow(/"llama" needs tokenizer\.ggml\.scores/);
    // a minimal byte-level vocabulary works
    const t = Tokenizer.fromGGUF({ ...base, 'tokenizer.ggml.pre': 'default' });
    expect(t.encode('ab')).toEqual([2]);
    expect(t.decode([2, 0])).toBe('aba');
  });
});
