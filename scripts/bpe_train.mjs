// Byte-level BPE trainer (GPT-2 style) that writes a Hugging Face tokenizer.json.
// Text is split by the GPT-2 pre-tokenizer regex, each piece's UTF-8 bytes are mapped to printable
// characters (bytes_to_unicode), and merges are learnt greedily from pair counts weighted by how often
// each piece occurs. The result loads in @huggingface/tokenizers and in Python `tokenizers`.
//   node scripts/bpe_train.mjs [--vocab-size 2048] [--out DIR] [--check]
// With --check it encodes the corpus with our encoder and with @huggingface/tokenizers, and checks
// the ids agree and decode round-trips.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

/** The GPT-2 pre-tokenizer split (what HF's ByteLevel pre-tokenizer uses with use_regex). */
export const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Special tokens, appended after the learnt vocabulary (ids vocabSize - 6 ... vocabSize - 1). */
export const SPECIAL_TOKENS = ['<|begin_of_text|>', '<|end_of_text|>', '<|system|>', '<|user|>', '<|assistant|>', '<|end|>'];

/**
 * GPT-2's reversible byte -> printable character table: printable Latin-1 bytes map to themselves,
 * the others (controls, space, ...) to U+0100 onwards in byte order.
 * @example byteToUnicode()[32] // 'Ġ'
 */
export function byteToUnicode() {
  const keep = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const table = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return table;
}

const B2U = byteToUnicode();
const U2B = new Map(B2U.map((c, b) => [c, b]));
const encoder = new TextEncoder();

/** Pieces of `text` as byte-level strings ('Ġthe'). */
export function pretokenize(text) {
  return Array.from(text.matchAll(PRETOKENIZE), (m) => Array.from(encoder.encode(m[0]), (b) => B2U[b]).join(''));
}

/**
 * Learns `vocabSize - 256 - SPECIAL_TOKENS.length` merges from `text`.
 * Returns the vocabulary (token string -> id, bytes first in byte order, then merges, then specials)
 * and the merges as [left, right] pairs in rank order.
 * @example trainBpe('aaab aab', 259 + SPECIAL_TOKENS.length).merges // [['a', 'a'], ...]
 */
export function trainBpe(text, vocabSize) {
  const numMerges = vocabSize - 256 - SPECIAL_TOKENS.length;
  if (!Number.isInteger(numMerges) || numMerges < 0)
    throw new Error(`[bpe_train] vocab size must be an integer >= ${256 + SPECIAL_TOKENS.length}, got ${vocabSize}`);
  const symbols = [...B2U]; // id -> string
  const symbolId = new Map(symbols.map((s, i) => [s, i]));
  const counts = new Map();
  for (const p of pretokenize(text)) counts.set(p, (counts.get(p) ?? 0) + 1);
  const words = [...counts.keys()].map((w) => Array.from(w, (c) => symbolId.get(c)));
  const freq = [...counts.values()];
  const merges = [];
  const K = 1 << 16; // pair key a * K + b (ids stay below 65536)
  // pair -> count and pair -> words containing it, updated incrementally after each merge
  const pairCount = new Map();
  const pairWords = new Map();
  const addWord = (wi, sign) => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i] * K + w[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * freq[wi]);
      if (sign > 0) {
        let s = pairWords.get(key);
        if (!s) pairWords.set(key, (s = new Set()));
        s.add(wi);
      }
    }
  };
  words.forEach((_, wi) => addWord(wi, 1));
  for (let m = 0; m < numMerges; m++) {
    let best = -1,
      bestCount = 0,
      bestStr = '';
    for (const [key, c] of pairCount) {
      if (c <= 0 || c < bestCount) continue;
      // ties go to the lexicographically smaller pair, so runs are deterministic
      const str = symbols[Math.floor(key / K)] + ' ' + symbols[key % K];
      if (c > bestCount || str < bestStr) {
        best = key;
        bestCount = c;
        bestStr = str;
      }
    }
    if (best < 0) break; // nothing left to merge
    const a = Math.floor(best / K),
      b = best % K;
    const merged = symbols.length;
    symbols.push(symbols[a] + symbols[b]);
    merges.push([symbols[a], symbols[b]]);
    for (const wi of pairWords.get(best) ?? []) {
      const w = words[wi];
      addWord(wi, -1);
      const out = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(w[i]);
      }
      words[wi] = out;
      addWord(wi, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
  }
  const vocab = new Map(symbols.map((s, i) => [s, i]));
  for (const s of SPECIAL_TOKENS) vocab.set(s, vocab.size);
  return { vocab, merges };
}

/**
 * Our own encoder (plain text, no special-token parsing): each piece's symbols are merged by
 * lowest merge rank until none applies — the rule HF's BPE model follows.
 * @example makeEncoder(trainBpe(corpus, 2048)).encode('And God said') // [ids]
 */
export function makeEncoder({ vocab, merges }) {
  const rank = new Map(merges.map(([l, r], i) => [l + ' ' + r, i]));
  const cache = new Map();
  const encodePiece = (piece) => {
    let hit = cache.get(piece);
    if (hit) return hit;
    let parts = Array.from(piece);
    for (;;) {
      let bestRank = Infinity,
        at = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rank.get(parts[i] + ' ' + parts[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          at = i;
        }
      }
      if (at < 0) break;
      const [l, r] = merges[bestRank];
      const next = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === l && parts[i + 1] === r) {
          next.push(l + r);
          i++;
        } else next.push(parts[i]);
      }
      parts = next;
    }
    hit = parts.map((p) => vocab.get(p));
    cache.set(piece, hit);
    return hit;
  };
  const idToToken = [...vocab.keys()];
  return {
    encode: (text) => pretokenize(text).flatMap(encodePiece),
    decode: (ids) => {
      const bytes = [];
      for (const id of ids) {
        const t = idToToken[id];
        if (SPECIAL_TOKENS.includes(t)) {
          bytes.push(...encoder.encode(t));
          continue;
        }
        for (const c of t) bytes.push(U2B.get(c));
      }
      return new TextDecoder().decode(Uint8Array.from(bytes));
    },
  };
}

/** The tokenizer.json object (BPE model, ByteLevel pre-tokenizer and decoder, BOS added by the post-processor). */
export function tokenizerJson({ vocab, merges }) {
  const bos = SPECIAL_TOKENS[0];
  const bosId = vocab.get(bos);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: vocab.get(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: bos, type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries([...vocab].filter(([t]) => !SPECIAL_TOKENS.includes(t))),
      merges: merges.map(([l, r]) => `${l} ${r}`),
    },
  };
}

/**
 * The chat template: `<|role|>\ncontent<|end|>\n` per message after the BOS, then
 * `<|assistant|>\n` when a generation prompt is asked for.
 */
export const CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

/** tokenizer_config.json: the special tokens, the chat template, no cleanup of spaces. */
export function tokenizerConfig({ vocab }, modelMaxLength) {
  return {
    added_tokens_decoder: Object.fromEntries(
      SPECIAL_TOKENS.map((content) => [
        String(vocab.get(content)),
        {
          content,
          lstrip: false,
          normalized: false,
          rstrip: false,
          single_word: false,
          special: true,
        },
      ]),
    ),
    bos_token: '<|begin_of_text|>',
    eos_token: '<|end_of_text|>',
    pad_token: '<|end_of_text|>',
    chat_template: CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    model_max_length: modelMaxLength,
    model_input_names: ['input_ids', 'attention_mask'],
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}

/** Trains on `text` and writes tokenizer.json and tokenizer_config.json into `dir`. */
export function writeTokenizer(dir, text, { vocabSize = 2048, modelMaxLength = 512 } = {}) {
  const bpe = trainBpe(text, vocabSize);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/tokenizer.json`, JSON.stringify(tokenizerJson(bpe), null, 1) + '\n');
  writeFileSync(`${dir}/tokenizer_config.json`, JSON.stringify(tokenizerConfig(bpe, modelMaxLength), null, 2) + '\n');
  return bpe;
}

export const KJV = new URL('../examples/data/kjv_pentateuch.txt.gz', import.meta.url);
export const loadKjv = () => gunzipSync(readFileSync(KJV)).toString('utf8');

/** Checks our encoder against @huggingface/tokenizers on `text`; throws on the first difference. */
export async function checkAgainstHf(dir, bpe, text) {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const hf = new Tokenizer(JSON.parse(readFileSync(`${dir}/tokenizer.json`, 'utf8')), JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, 'utf8')));
  const ours = makeEncoder(bpe);
  const lines = text.split('\n');
  let tokens = 0;
  for (const line of lines) {
    const a = ours.encode(line);
    const b = hf.encode(line, { add_special_tokens: false }).ids;
    if (a.length !== b.length || a.some((x, i) => x !== b[i]))
      throw new Error(`[bpe_train] ids differ from @huggingface/tokenizers on ${JSON.stringify(line)}:\n ours ${a}\n hf   ${b}`);
    if (ours.decode(a) !== line) throw new Error(`[bpe_train] decode(encode(x)) != x for ${JSON.stringify(line)}`);
    tokens += a.length;
  }
  const withBos = hf.encode('And God said').ids;
  if (withBos[0] !== bpe.vocab.get(SPECIAL_TOKENS[0])) throw new Error(`[bpe_train] HF encode does not start with BOS: ${withBos}`);
  const all = ours.encode(text);
  if (ours.decode(all) !== text) throw new Error('[bpe_train] the corpus does not round-trip');
  const extra = ['Hello, world!  Tabs\tand  spaces\n\n', 'naïve café — ünïcödé 😀 数字 12345', "it's they're we've I'm"];
  for (const s of extra) {
    const a = ours.encode(s),
      b = hf.encode(s, { add_special_tokens: false }).ids;
    if (a.join() !== b.join()) throw new Error(`[bpe_train] ids differ on ${JSON.stringify(s)}: ${a} vs ${b}`);
    if (hf.decode(b) !== s || ours.decode(a) !== s) throw new Error(`[bpe_train] decode differs on ${JSON.stringify(s)}`);
  }
  return { lines: lines.length, tokens, corpusTokens: all.length, charsPerToken: text.length / all.length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      'vocab-size': { type: 'string', default: '2048' },
      out: { type: 'string', default: '/tmp/kjv-bpe' },
      check: { type: 'boolean', default: false },
    },
  });
  const text = loadKjv();
  const t0 = performance.now();
  const bpe = writeTokenizer(values.out, text, { vocabSize: Number(values['vocab-size']) });
  console.log(`trained ${bpe.merges.length} merges, vocab ${bpe.vocab.size} in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${values.out}`);
  if (values.check) console.log('check against @huggingface/tokenizers:', await checkAgainstHf(values.out, bpe, text));
}
