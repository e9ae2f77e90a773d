// Streaming detokenization on the real tokenizers: for random id sequences (uniform, biased to byte
// pieces and special tokens) and for texts with emoji, CJK, combining marks and whitespace runs, the
// pieces joined equal decode(allIds), no piece splits a character (no lone surrogate at a piece edge,
// no U+FFFD that decode does not have), and byte-fallback characters come out whole.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tokenizer } from '../../models/tokenizer.js';
import { NAMES, tokenizer } from './tokenizer_fixtures.js';

function stream(tok: Tokenizer, ids: number[], skipSpecialTokens = false): string[] {
  const d = tok.detokenizer({ skipSpecialTokens });
  const parts = ids.map((id) => d.add(id));
  parts.push(d.finalize());
  expect(d.text).toBe(parts.join(''));
  return parts;
}

function checkStream(tok: Tokenizer, ids: number[], skip: boolean): void {
  const parts = stream(tok, ids, skip);
  const full = tok.decode(ids, { skipSpecialTokens: skip });
  expect(parts.join(''), ids.join(',')).toBe(full);
  for (const p of parts) {
    expect(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(p), `piece ${JSON.stringify(p)} splits a surrogate pair`).toBe(false);
  }
  const fffd = (s: string) => (s.match(/\uFFFD/g) ?? []).length;
  expect(parts.reduce((n, p) => n + fffd(p), 0)).toBe(fffd(full));
}

const PIECES = [
  '😀',
  '👍🏽',
  '👨‍👩‍👧‍👦',
  '🇺🇸',
  '日本語',
  '中文',
  '한국어',
  'e\u0301',
  'a\u0308',
  ' ',
  '  ',
  '   ',
  '\n',
  '\n\n',
  '\t',
  'Hello',
  ' world',
  'ça',
  '€',
  '—',
  "'s",
  " n't",
  ' .',
  ' ,',
  ' ?',
  ' !',
  '123',
  '3.14',
  '<|im_end|>',
  '</s>',
  '<s>',
  '▁',
];
const text = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 24 }).map((a) => a.join('')),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
);

describe.each(NAMES)('%s', (name) => {
  it('random id sequences stream to exactly decode(ids)', async () => {
    const tok = await tokenizer(name);
    const V = tok.vocabSize;
    const special = [...tok.specialTokenIds];
    // one-byte tokens: SentencePiece <0xNN> pieces, single byte-level characters
    const byteIds: number[] = [];
    for (let i = 0; i < V; i++) {
      const t = tok.idToToken(i);
      if (t !== undefined && (/^<0x[0-9A-F]{2}>$/.test(t) || [...t].length === 1)) byteIds.push(i);
    }
    const id = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: V - 1 }) },
      { weight: 4, arbitrary: fc.constantFrom(...byteIds) },
      { weight: 1, arbitrary: fc.constantFrom(...special) },
    );
    fc.assert(
      fc.property(fc.array(id, { minLength: 1, maxLength: 40 }), fc.boolean(), (ids, skip) => checkStream(tok, ids, skip)),
      { numRuns: 300, seed: 42 },
    );
  });

  it('texts with emoji, CJK, combining marks and whitespace stream to exactly decode(encode(text))', async () => {
    const tok = await tokenizer(name);
    fc.assert(
      fc.property(text, (s) => {
        const ids = tok.encode(s);
        checkStream(tok, ids, false);
        checkStream(tok, ids, true);
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});

describe('streaming details', () => {
  it('SentencePiece byte fallback: an emoji of four <0xNN> pieces comes out whole, once complete', async () => {
    const tok = await tokenizer('mistral');
    const ids = tok.encode('a🦜b', { addSpecialTokens: false });
    const pieces = ids.map((i) => tok.idToToken(i));
    expect(pieces).toEqual(['▁a', '<0xF0>', '<0x9F>', '<0xA6>', '<0x9C>', 'b']);
    const parts = stream(tok, ids);
    expect(parts).toEqual(['a', '', '', '', '', '🦜b', '']);
  });

  it('byte-level BPE: a character split over tokens waits for its last byte', async () => {
    const tok = await tokenizer('qwen3');
    // 龘 is E9 BE 98: 'é¾' + 'ĺ' in Qwen3; 𝄞 is F0 9D 84 9E: 'ðĿĦ' + 'ŀ'
    const ids = tok.encode('龘 x𝄞', { addSpecialTokens: false });
    expect(ids.map((i) => tok.idToToken(i))).toEqual(['é¾', 'ĺ', 'Ġx', 'ðĿĦ', 'ŀ']);
    expect(stream(tok, ids)).toEqual(['', '龘', ' x', '', '𝄞', '']);
  });

  it('the SentencePiece leading space is dropped once, at the start only', async () => {
    const tok = await tokenizer('mistral');
    const ids = tok.encode('Hello  world', { addSpecialTokens: false });
    expect(stream(tok, ids).join('')).toBe('Hello  world');
    expect(stream(tok, ids)[0]).toBe('Hello');
  });

  it('Llama-3 clean-up of spaces before punctuation holds text back only near spaces', async () => {
    const tok = await tokenizer('llama3');
    const ids = tok.encode('Hello . Wonderful world , yes', { addSpecialTokens: false });
    expect(ids.map((i) => tok.idToToken(i))).toEqual(['Hello', 'Ġ.', 'ĠWonderful', 'Ġworld', 'Ġ,', 'Ġyes']);
    // ' .' waits until a run of four non-space characters shows the clean-up cannot reach back
    expect(stream(tok, ids)).toEqual(['Hello', '', '. Wonderful', ' world', '', '', ', yes']);
  });

  it('bad ids are clear errors; reset starts over', async () => {
    const tok = await tokenizer('qwen3');
    const d = tok.detokenizer();
    expect(() => d.add(-1)).toThrow('[models] detokenizer.add: token id must be a non-negative integer, got -1');
    d.add(9707);
    d.reset();
    expect(d.text).toBe('');
    expect(d.add(9707) + d.finalize()).toBe('Hello');
  });
});
