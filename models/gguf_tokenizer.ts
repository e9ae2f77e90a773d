// A GGUF vocabulary (tokenizer.ggml.*) as the tokenizer.json + tokenizer_config.json that Hugging Face
// would have for the same model, so one Tokenizer class serves both:
// - `llama`: SentencePiece BPE. Pieces with scores become a BPE model whose merges are ordered by the
//   score of the merged piece (how transformers converts a tokenizer.model), with byte fallback, the
//   `▁` space rule (a `▁` prefix unless add_space_prefix is false) and the Llama decoder chain.
// - `gpt2`: byte-level BPE with tokenizer.ggml.merges; tokenizer.ggml.pre names the split regex.
// Token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
import { pickChatTemplate } from './chat_template.js';

type Json = Record<string, unknown>;

export interface GgufTokenizerFiles {
  tokenizerJson: Json;
  tokenizerConfig: Json;
  chatTemplate: string | null;
  /** eos plus the end-of-turn / end-of-message ids llama.cpp stops on */
  eosTokenIds: number[];
}

const enum TokenType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

// Split regexes of the pre-tokenizers llama.cpp names in tokenizer.ggml.pre (as their tokenizer.json files have them)
const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

interface PreTokenizerSpec {
  preTokenizer: Json;
  normalizer: Json | null;
  ignoreMerges: boolean;
  /** llama.cpp's add_bos default when the file does not say */
  addBos: boolean;
}

function splitThenBytes(regex: string): Json {
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    ],
  };
}

/** tokenizer.ggml.pre names -> pre-tokenizer; 'default' and 'gpt2' use GPT-2's own regex inside ByteLevel */
function preTokenizerFor(pre: string): PreTokenizerSpec {
  switch (pre) {
    case 'llama-bpe':
    case 'llama3':
    case 'smaug-bpe':
      return { preTokenizer: splitThenBytes(LLAMA3_SPLIT), normalizer: null, ignoreMerges: true, addBos: true };
    case 'qwen2':
    case 'qwen3':
    case 'deepseek-r1-qwen':
      return { preTokenizer: splitThenBytes(QWEN2_SPLIT), normalizer: { type: 'NFC' }, ignoreMerges: false, addBos: false };
    case 'smollm':
      // SmolLM's tokenizer.json: every digit alone, then GPT-2's regex inside ByteLevel
      return {
        preTokenizer: {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Digits', individual_digits: true },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
          ],
        },
        normalizer: null,
        ignoreMerges: false,
        addBos: false,
      };
    case 'default':
    case 'gpt2':
    case 'gpt-2':
      return {
        preTokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
        normalizer: null,
        ignoreMerges: false,
        addBos: false,
      };
    default:
      throw new Error(`[models] GGUF tokenizer.ggml.pre "${pre}" is not supported; supported: llama-bpe, qwen2, smollm, default, gpt2`);
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : undefined);

function stringArray(m: Json, key: string, required: true): string[];
function stringArray(m: Json, key: string, required: false): string[] | undefined;
function stringArray(m: Json, key: string, required: boolean): string[] | undefined {
  const v = m[key];
  if (v === undefined) {
    if (required) throw new Error(`[models] GGUF metadata has no ${key}`);
    return undefined;
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`[models] GGUF ${key} must be an array of strings`);
  return v as string[];
}

function numberArray(m: Json, key: string, n: number): number[] | undefined {
  const v = m[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new Error(`[models] GGUF ${key} must be an array of numbers`);
  const a = Array.from(v as ArrayLike<number | bigint>, (x) => num(x) ?? NaN);
  if (a.length !== n) throw new Error(`[models] GGUF ${key} has ${a.length} entries for ${n} tokens`);
  if (a.some((x) => Number.isNaN(x))) throw new Error(`[models] GGUF ${key} holds a non-number`);
  return a;
}

function tokenId(m: Json, key: string, n: number): number | undefined {
  const v = m[key];
  if (v === undefined) return undefined;
  const id = num(v);
  if (id === undefined || !Number.isInteger(id) || id < 0) throw new Error(`[models] GGUF ${key} must be a token id, got ${String(v)}`);
  if (id === 0xffffffff) return undefined; // some files write uint32 -1 for "none"
  if (id >= n) throw new Error(`[models] GGUF ${key} = ${id} is outside the vocabulary of ${n} tokens`);
  return id;
}

function flag(m: Json, key: string): boolean | undefined {
  const v = m[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new Error(`[models] GGUF ${key} must be a boolean, got ${String(v)}`);
  return v;
}

/**
 * SentencePiece merges from piece scores: every split of a piece into two pieces, ordered by the
 * merged piece's score (highest first), ties by the ids of the two halves.
 */
function mergesFromScores(tokens: string[], scores: number[], types: number[], vocab: Map<string, number>): [string, string][] {
  const out: { l: string; r: string; score: number }[] = [];
  for (let id = 0; id < tokens.length; id++) {
    if (types[id] !== TokenType.Normal && types[id] !== TokenType.UserDefined) continue;
    const piece = tokens[id];
    if (vocab.get(piece) !== id) continue;
    const chars = [...piece];
    const local: { l: string; r: string; li: number; ri: number }[] = [];
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join('');
      const r = chars.slice(k).join('');
      const li = vocab.get(l);
      const ri = vocab.get(r);
      if (li !== undefined && ri !== undefined) local.push({ l, r, li, ri });
    }
    local.sort((a, b) => a.li - b.li || a.ri - b.ri);
    for (const x of local) out.push({ l: x.l, r: x.r, score: scores[id] });
  }
  out.sort((a, b) => b.score - a.score); // stable: ties keep vocabulary order
  return out.map((x) => [x.l, x.r]);
}

/**
 * Turns GGUF tokenizer metadata into tokenizer.json / tokenizer_config.json objects.
 * @example
 * const meta = { 'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.tokens': ['a', 'b', 'ab'], 'tokenizer.ggml.merges': ['a b'] };
 * const { model } = kn.models.ggufToTokenizerFiles(meta).tokenizerJson;
 * [model.type, model.merges] // ['BPE', [['a', 'b']]]
 */
export function ggufToTokenizerFiles(m: Record<string, unknown>): GgufTokenizerFiles {
  if (m === null || typeof m !== 'object') throw new TypeError('[models] GGUF metadata must be an object');
  const kind = m['tokenizer.ggml.model'];
  if (kind === undefined) throw new Error('[models] GGUF metadata has no tokenizer.ggml.model (no tokenizer in this file)');
  if (kind !== 'llama' && kind !== 'gpt2')
    throw new Error(`[models] GGUF tokenizer.ggml.model "${String(kind)}" is not supported; supported: llama (SentencePiece), gpt2 (byte-level BPE)`);
  const tokens = stringArray(m, 'tokenizer.ggml.tokens', true);
  const n = tokens.length;
  if (n === 0) throw new Error('[models] GGUF tokenizer.ggml.tokens is empty');
  const types = numberArray(m, 'tokenizer.ggml.token_type', n) ?? new Array<number>(n).fill(TokenType.Normal);
  const bos = tokenId(m, 'tokenizer.ggml.bos_token_id', n);
  const eos = tokenId(m, 'tokenizer.ggml.eos_token_id', n);
  const unk = tokenId(m, 'tokenizer.ggml.unknown_token_id', n);
  const pad = tokenId(m, 'tokenizer.ggml.padding_token_id', n);
  const eot = tokenId(m, 'tokenizer.ggml.eot_token_id', n);
  const eom = tokenId(m, 'tokenizer.ggml.eom_token_id', n);

  const vocab = new Map<string, number>();
  const added: Json[] = [];
  for (let id = 0; id < n; id++) {
    const t = types[id];
    if (t === TokenType.Unused) continue;
    if (!vocab.has(tokens[id])) vocab.set(tokens[id], id);
    if (t === TokenType.Control || t === TokenType.Unknown || t === TokenType.UserDefined)
      added.push({ id, content: tokens[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: t !== TokenType.UserDefined });
  }
  // the special tokens named by id are special whatever their type says
  for (const id of [bos, eos, unk, pad, eot, eom])
    if (id !== undefined && !added.some((a) => a.id === id))
      added.push({ id, content: tokens[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  added.sort((a, b) => (a.id as number) - (b.id as number));

  let model: Json;
  let normalizer: Json | null = null;
  let preTokenizer: Json | null = null;
  let decoder: Json;
  let addBosDefault: boolean;
  if (kind === 'llama') {
    const scores = numberArray(m, 'tokenizer.ggml.scores', n);
    if (!scores) throw new Error('[models] GGUF tokenizer.ggml.model "llama" needs tokenizer.ggml.scores');
    const spacePrefix = flag(m, 'tokenizer.ggml.add_space_prefix') ?? true;
    model = {
      type: 'BPE',
      dropout: null,
      unk_token: unk !== undefined ? tokens[unk] : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges: mergesFromScores(tokens, scores, types, vocab),
    };
    const rep = { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' };
    normalizer = spacePrefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '\u2581' }, rep] } : rep;
    const steps: Json[] = [{ type: 'Replace', pattern: { String: '\u2581' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }];
    if (spacePrefix) steps.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
    decoder = { type: 'Sequence', decoders: steps };
    addBosDefault = true;
  } else {
    const merges = stringArray(m, 'tokenizer.ggml.merges', true).map((s, i): [string, string] => {
      const at = s.indexOf(' ', 1);
      if (at < 0) throw new Error(`[models] GGUF tokenizer.ggml.merges[${i}] = ${JSON.stringify(s)} is not "left right"`);
      return [s.slice(0, at), s.slice(at + 1)];
    });
    const pre = m['tokenizer.ggml.pre'];
    const spec = preTokenizerFor(typeof pre === 'string' ? pre : 'default');
    model = {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: spec.ignoreMerges,
      vocab: Object.fromEntries(vocab),
      merges,
    };
    normalizer = spec.normalizer;
    preTokenizer = spec.preTokenizer;
    decoder = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
    addBosDefault = spec.addBos;
  }

  const tokenizerJson: Json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer,
    pre_tokenizer: preTokenizer,
    post_processor: null,
    decoder,
    model,
  };
  const tokenizerConfig: Json = {
    add_bos_token: flag(m, 'tokenizer.ggml.add_bos_token') ?? addBosDefault,
    add_eos_token: flag(m, 'tokenizer.ggml.add_eos_token') ?? false,
    clean_up_tokenization_spaces: false,
  };
  if (bos !== undefined) tokenizerConfig.bos_token = tokens[bos];
  if (eos !== undefined) tokenizerConfig.eos_token = tokens[eos];
  if (unk !== undefined) tokenizerConfig.unk_token = tokens[unk];
  if (pad !== undefined) tokenizerConfig.pad_token = tokens[pad];
  const tmpl = m['tokenizer.chat_template'];
  if (tmpl !== undefined && typeof tmpl !== 'string') throw new Error('[models] GGUF tokenizer.chat_template must be a string');
  const eosTokenIds = [eot, eom].filter((x): x is number => x !== undefined);
  return { tokenizerJson, tokenizerConfig, chatTemplate: pickChatTemplate(tmpl, 'GGUF metadata') ?? null, eosTokenIds };
}
