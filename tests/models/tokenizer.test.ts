// Tokenizer against Hugging Face on the real Llama-3, Mistral-7B and Qwen3 tokenizers: ids of a corpus
// with unicode, emoji, whitespace runs, digits and special tokens equal those of Hugging Face's tokenizers
// library (fixtures from scripts/tokenizer_fixtures.mjs), decode equals its decode on those ids and on
// random id sequences; transformers' BOS/EOS flags, EOS ids and space clean-up; folder loading and errors.
import { mkdtempSync, copyFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUpTokenization, Tokenizer } from '../../models/tokenizer.js';
import { fixture, folderOf, inputs, NAMES, readJson, tokenizer, type Name } from './tokenizer_fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'kiln-tok-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** a copy of a real tokenizer folder with some files replaced or added */
function folder(name: Name, files: Record<string, string | null> = {}): string {
  const d = mkdtempSync(join(tmp, `${name}-`));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) if (!(f in files)) copyFileSync(join(folderOf(name), f), join(d, f));
  for (const [f, text] of Object.entries(files)) if (text !== null) writeFileSync(join(d, f), text);
  return d;
}

describe.each(NAMES)('%s against Hugging Face tokenizers', (name) => {
  const fx = fixture(name);

  it('the reference covers the corpus', () => {
    expect(fx.source).toMatch(/tokenizers/);
    expect(fx.corpus.map((e) => e.text)).toEqual(inputs().corpus);
    expect(fx.corpus.length).toBeGreaterThan(25);
  });

  it('encode(text) gives the same ids, BOS included where the tokenizer adds it', async () => {
    const tok = await tokenizer(name);
    for (const e of fx.corpus) expect(tok.encode(e.text), JSON.stringify(e.text)).toEqual(e.ids);
  });

  it('encode(text, { addSpecialTokens: false }) gives the same ids', async () => {
    const tok = await tokenizer(name);
    for (const e of fx.corpus) expect(tok.encode(e.text, { addSpecialTokens: false }), JSON.stringify(e.text)).toEqual(e.ids_nospecial);
  });

  it('decode gives the same text, with and without skipSpecialTokens', async () => {
    const tok = await tokenizer(name);
    for (const e of fx.corpus) {
      expect(tok.decodeRaw(e.ids), JSON.stringify(e.text)).toBe(e.decode);
      expect(tok.decodeRaw(e.ids, true), JSON.stringify(e.text)).toBe(e.decode_skip);
      // clean_up_tokenization_spaces is on for this Llama-3 config only
      const want = name === 'llama3' ? cleanUpTokenization(e.decode) : e.decode;
      expect(tok.decode(e.ids), JSON.stringify(e.text)).toBe(want);
    }
  });

  it('decode of random id sequences (byte pieces, special tokens, broken UTF-8) gives the same text', async () => {
    const tok = await tokenizer(name);
    expect(fx.random_decode.length).toBeGreaterThanOrEqual(40);
    for (const r of fx.random_decode) {
      expect(tok.decodeRaw(r.ids), r.ids.join(',')).toBe(r.decode);
      expect(tok.decodeRaw(r.ids, true), r.ids.join(',')).toBe(r.decode_skip);
    }
  });

  it('200 random texts (whitespace runs, contractions, digits, specials, emoji, many scripts) give the same ids and decode back', async () => {
    const tok = await tokenizer(name);
    expect(fx.random_text.length).toBe(200);
    for (const r of fx.random_text) {
      expect(tok.encode(r.text), JSON.stringify(r.text)).toEqual(r.ids);
      // byte-level and byte-fallback tokenizers lose nothing: decoding without the BOS gives the text back
      if (name !== 'mistral') expect(tok.decodeRaw(r.ids), JSON.stringify(r.text)).toBe(name === 'qwen3' ? r.text.normalize('NFC') : r.text);
    }
  });

  it('vocabSize counts the added tokens', async () => {
    expect((await tokenizer(name)).vocabSize).toBe(fx.vocab_size_with_added);
  });
});

describe('transformers-level rules', () => {
  it('bosTokenId and eosTokenIds come from tokenizer_config.json', async () => {
    const [l3, mi, qw] = await Promise.all([tokenizer('llama3'), tokenizer('mistral'), tokenizer('qwen3')]);
    expect([l3.bosTokenId, l3.eosTokenIds]).toEqual([128000, [128001]]);
    expect([mi.bosTokenId, mi.eosTokenIds]).toEqual([1, [2]]);
    expect([qw.bosTokenId, qw.eosTokenIds]).toEqual([null, [151645]]);
  });

  it('add_bos_token / add_eos_token in tokenizer_config rebuild the BOS/EOS template', () => {
    const tj = readJson(join(folderOf('mistral'), 'tokenizer.json'));
    const cfg = readJson(join(folderOf('mistral'), 'tokenizer_config.json'));
    // "Hello world" is [22557, 1526] without special tokens (fixture above)
    expect(Tokenizer.fromJSON(tj, cfg).encode('Hello world')).toEqual([1, 22557, 1526]);
    expect(Tokenizer.fromJSON(tj, { ...cfg, add_bos_token: false }).encode('Hello world')).toEqual([22557, 1526]);
    expect(Tokenizer.fromJSON(tj, { ...cfg, add_eos_token: true }).encode('Hello world')).toEqual([1, 22557, 1526, 2]);
    expect(Tokenizer.fromJSON(tj, { ...cfg, add_bos_token: false, add_eos_token: true }).encode('')).toEqual([2]);
    expect(Tokenizer.fromJSON(tj, { ...cfg, add_eos_token: true }).encode('Hello world', { addSpecialTokens: false })).toEqual([22557, 1526]);
    // without the flags the tokenizer.json post-processor stands: this Llama-3 file adds no BOS
    const l3 = readJson(join(folderOf('llama3'), 'tokenizer.json'));
    const l3cfg = readJson(join(folderOf('llama3'), 'tokenizer_config.json'));
    expect(Tokenizer.fromJSON(l3, l3cfg).encode('Hello world')).toEqual([9906, 1917]);
    expect(Tokenizer.fromJSON(l3, { ...l3cfg, add_bos_token: true }).encode('Hello world')).toEqual([128000, 9906, 1917]);
  });

  it('a Llama-3.1-style post-processor (Sequence of ByteLevel and a BOS template) adds BOS; flags keep it or drop it', () => {
    const l3 = readJson(join(folderOf('llama3'), 'tokenizer.json'));
    const cfg = readJson(join(folderOf('llama3'), 'tokenizer_config.json'));
    const bos = { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } };
    l3.post_processor = {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] } },
        },
      ],
    };
    expect(Tokenizer.fromJSON(l3, cfg).encode('Hello world')).toEqual([128000, 9906, 1917]);
    expect(Tokenizer.fromJSON(l3, { ...cfg, add_eos_token: true }).encode('Hello world')).toEqual([128000, 9906, 1917, 128001]);
    expect(Tokenizer.fromJSON(l3, { ...cfg, add_bos_token: false }).encode('Hello world')).toEqual([9906, 1917]);
  });

  it('clean_up_tokenization_spaces drops the space before punctuation and contractions (transformers rule)', async () => {
    expect(cleanUpTokenization("Hello . World ? yes ! no , it ' s x n't y 'm z 's w 've v 're")).toBe("Hello. World? yes! no, it's xn't y'm z's w've v're");
    const l3 = await tokenizer('llama3');
    const ids = l3.encode('Hello . World');
    expect(l3.decode(ids)).toBe('Hello. World');
    expect(l3.decodeRaw(ids)).toBe('Hello . World');
    expect((await tokenizer('qwen3')).decode((await tokenizer('qwen3')).encode('Hello . World'))).toBe('Hello . World');
  });
});

describe('special tokens', () => {
  it('special tokens in text are single ids, and skipSpecialTokens drops them', async () => {
    const tok = await tokenizer('qwen3');
    const ids = tok.encode('<|im_start|>user\nhi<|im_end|>');
    expect(ids[0]).toBe(tok.tokenToId('<|im_start|>'));
    expect(ids[ids.length - 1]).toBe(151645);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('user\nhi');
  });
  it('Mistral adds <s> (id 1) first; Llama-3 from this tokenizer.json adds nothing', async () => {
    expect((await tokenizer('mistral')).encode('Hi')[0]).toBe(1);
    expect((await tokenizer('llama3')).encode('Hi')).toEqual([13347]);
  });
});

describe('fromFolder', () => {
  it('eosTokenIds merges tokenizer_config eos_token with every generation_config eos_token_id', async () => {
    // Mistral's tokenizer_config says eos_token </s> (id 2); the list form as Llama-3.1 writes it
    const d = folder('mistral', { 'generation_config.json': JSON.stringify({ bos_token_id: 1, eos_token_id: [32000, 2, 32001] }) });
    expect((await Tokenizer.fromFolder(d)).eosTokenIds).toEqual([2, 32000, 32001]);
    const d2 = folder('mistral', { 'generation_config.json': JSON.stringify({ eos_token_id: 2 }) });
    expect((await Tokenizer.fromFolder(d2)).eosTokenIds).toEqual([2]);
    const d3 = folder('mistral', { 'generation_config.json': JSON.stringify({ temperature: 0.6 }) });
    expect((await Tokenizer.fromFolder(d3)).eosTokenIds).toEqual([2]);
  });

  it('chat_template.jinja wins over tokenizer_config.chat_template; a named list uses "default"', async () => {
    const d = folder('qwen3', { 'chat_template.jinja': '{{ messages[0].content }}!' });
    const tok = await Tokenizer.fromFolder(d);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'hey' }], { tokenize: false })).toBe('hey!');
    const cfg = readJson(join(folderOf('mistral'), 'tokenizer_config.json'));
    cfg.chat_template = [
      { name: 'tool_use', template: 'T{{ messages | length }}' },
      { name: 'default', template: 'D{{ messages | length }}' },
    ];
    const t2 = await Tokenizer.fromFolder(folder('mistral', { 'tokenizer_config.json': JSON.stringify(cfg) }));
    expect(t2.applyChatTemplate([{ role: 'user', content: 'a' }], { tokenize: false })).toBe('D1');
    expect((await tokenizer('mistral')).hasChatTemplate).toBe(false);
    expect((await tokenizer('qwen3')).hasChatTemplate).toBe(true);
  });

  it('special_tokens_map.json fills the special tokens tokenizer_config.json lacks', async () => {
    const cfg = readJson(join(folderOf('mistral'), 'tokenizer_config.json'));
    delete cfg.eos_token;
    delete cfg.bos_token;
    const d = folder('mistral', {
      'tokenizer_config.json': JSON.stringify(cfg),
      'special_tokens_map.json': JSON.stringify({ bos_token: '<s>', eos_token: { content: '</s>', lstrip: false } }),
    });
    const tok = await Tokenizer.fromFolder(d);
    expect([tok.bosTokenId, tok.eosTokenIds, tok.encode('Hi')[0]]).toEqual([1, [2], 1]);
  });

  it('a folder without tokenizer_config.json still loads', async () => {
    const d = folder('qwen3', { 'tokenizer_config.json': null });
    const tok = await Tokenizer.fromFolder(d);
    expect(tok.encode('Hello world')).toEqual([9707, 1879]);
    expect(tok.bosTokenId).toBe(null);
    expect(tok.hasChatTemplate).toBe(false);
  });

  it('errors name the file and the problem', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    await expect(Tokenizer.fromFolder(empty)).rejects.toThrow(`[models] no tokenizer.json in ${empty}`);
    const bad = folder('mistral', { 'tokenizer.json': '{"model": {"type": "BPE", ' });
    await expect(Tokenizer.fromFolder(bad)).rejects.toThrow(new RegExp(`${join(bad, 'tokenizer.json').replace(/[.\\/]/g, '\\$&')} is not valid JSON: .+`));
    const badCfg = folder('mistral', { 'tokenizer_config.json': '{ nope' });
    await expect(Tokenizer.fromFolder(badCfg)).rejects.toThrow(/tokenizer_config\.json is not valid JSON/);
    const badGen = folder('mistral', { 'generation_config.json': JSON.stringify({ eos_token_id: 'x' }) });
    await expect(Tokenizer.fromFolder(badGen)).rejects.toThrow(
      /generation_config\.json: eos_token_id must be a non-negative integer or a list of them, got "x"/,
    );
    const arr = folder('mistral', { 'tokenizer.json': '[1, 2]' });
    await expect(Tokenizer.fromFolder(arr)).rejects.toThrow(/tokenizer\.json must hold a JSON object, got an array/);
    const noModel = folder('mistral', { 'tokenizer.json': '{"added_tokens": []}' });
    await expect(Tokenizer.fromFolder(noModel)).rejects.toThrow(/tokenizer\.json: no "model" section/);
    const badTmpl = readJson(join(folderOf('mistral'), 'tokenizer_config.json'));
    badTmpl.chat_template = [{ name: 'tool_use', template: 'x' }];
    await expect(Tokenizer.fromFolder(folder('mistral', { 'tokenizer_config.json': JSON.stringify(badTmpl) }))).rejects.toThrow(
      /chat_template lists tool_use but no "default"/,
    );
  });

  it('bad arguments are clear errors', async () => {
    const tok = await tokenizer('mistral');
    expect(() => tok.encode(3 as unknown as string)).toThrow('[models] encode: text must be a string, got number');
    expect(() => tok.decode([1, -2])).toThrow('[models] decode: token ids must be non-negative integers, got -2');
    expect(() => tok.decode([1.5])).toThrow(/got 1.5/);
    expect(tok.decode([])).toBe('');
    expect(tok.encode('')).toEqual([1]);
    expect(() => tok.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow(/has no chat template/);
  });
});
