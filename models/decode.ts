// tokenizer.json decoders with the Rust `tokenizers` semantics (what transformers runs), where the JS
// port differs: added tokens go through the decoder like any token, an invalid run of byte-fallback
// pieces becomes one U+FFFD per byte, and a byte-level token holding an unmapped character keeps its
// own UTF-8 bytes.
type Json = Record<string, unknown>;

/** One decoder step: a list of token strings to a new list (Rust's `decode_chain`). */
type Step = (tokens: string[]) => string[];

export interface DecodePipeline {
  steps: Step[];
  /** ids of added tokens */
  added: ReadonlySet<number>;
  /** whether the chain holds a ByteFallback step (its `<0xNN>` pieces group across tokens) */
  byteFallback: boolean;
}

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

// GPT-2's byte <-> unicode table: printable bytes map to themselves, the rest to U+0100 upwards.
const CHAR_TO_BYTE: Map<string, number> = (() => {
  const m = new Map<string, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    m.set(String.fromCodePoint(printable ? b : 256 + n++), b);
  }
  return m;
})();

/** The GPT-2 byte-level alphabet as [byte, char] pairs (used to build byte-level vocabularies). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out: string[] = [];
  for (const [c, b] of CHAR_TO_BYTE) out[b] = c;
  return out;
})();

const utf8 = new TextEncoder();
const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function byteLevel(tokens: string[]): string[] {
  const bytes: number[] = [];
  for (const t of tokens) {
    const mark = bytes.length;
    let ok = true;
    for (const c of t) {
      const b = CHAR_TO_BYTE.get(c);
      if (b === undefined) {
        ok = false;
        break;
      }
      bytes.push(b);
    }
    if (!ok) {
      bytes.length = mark;
      for (const b of utf8.encode(t)) bytes.push(b);
    }
  }
  return [lossy.decode(Uint8Array.from(bytes))];
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (!run.length) return;
    try {
      out.push(strict.decode(Uint8Array.from(run)));
    } catch {
      for (let i = 0; i < run.length; i++) out.push('\uFFFD');
    }
    run = [];
  };
  for (const t of tokens) {
    const m = t.length === 6 ? BYTE_PIECE.exec(t) : null;
    if (m) run.push(parseInt(m[1], 16));
    else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
}

function pattern(p: unknown, where: string): RegExp | string {
  if (isObj(p) && typeof p.String === 'string') return p.String;
  if (isObj(p) && typeof p.Regex === 'string') return new RegExp(p.Regex, 'gu');
  throw new Error(`[models] tokenizer.json decoder ${where}: unsupported pattern ${JSON.stringify(p)}`);
}

function makeStep(d: Json): Step | null {
  switch (d.type) {
    case 'ByteLevel':
      return byteLevel;
    case 'ByteFallback':
      return byteFallback;
    case 'Fuse':
      return (ts) => [ts.join('')];
    case 'Replace': {
      const p = pattern(d.pattern, 'Replace');
      const content = typeof d.content === 'string' ? d.content : '';
      return (ts) => ts.map((t) => (typeof p === 'string' ? t.replaceAll(p, content) : t.replace(p, content)));
    }
    case 'Strip': {
      const c = typeof d.content === 'string' ? d.content : ' ';
      const start = typeof d.start === 'number' ? d.start : 0;
      const stop = typeof d.stop === 'number' ? d.stop : 0;
      return (ts) =>
        ts.map((t) => {
          const cs = [...t];
          let a = 0;
          while (a < start && a < cs.length && cs[a] === c) a++;
          let b = cs.length;
          while (cs.length - b < stop && b > a && cs[b - 1] === c) b--;
          return cs.slice(a, b).join('');
        });
    }
    case 'Metaspace': {
      const rep = typeof d.replacement === 'string' ? d.replacement : '\u2581';
      // older files say add_prefix_space, newer ones prepend_scheme; 'never' keeps the first space
      const strip = d.prepend_scheme !== undefined ? d.prepend_scheme !== 'never' : d.add_prefix_space !== false;
      return (ts) =>
        ts.map((t, i) => {
          const s = t.replaceAll(rep, ' ');
          return i === 0 && strip && s.startsWith(' ') ? s.slice(1) : s;
        });
    }
    case 'Sequence':
      return null; // flattened by the caller
    default:
      return null;
  }
}

/**
 * The decoder chain of a tokenizer.json, or a `null` step list when it holds a decoder we do not
 * reimplement (WordPiece, CTC...): the caller then uses the JS library's decoder.
 */
export function makeDecodePipeline(decoder: unknown, added: ReadonlySet<number>, fallback?: (tokens: string[]) => string): DecodePipeline {
  const steps: Step[] = [];
  let byteFallbackOn = false;
  let supported = true;
  const walk = (d: unknown) => {
    if (d === null || d === undefined) return;
    if (!isObj(d)) throw new Error(`[models] tokenizer.json: decoder must be an object, got ${JSON.stringify(d)}`);
    if (d.type === 'Sequence') {
      if (!Array.isArray(d.decoders)) throw new Error('[models] tokenizer.json: Sequence decoder without "decoders"');
      for (const x of d.decoders) walk(x);
      return;
    }
    const s = makeStep(d);
    if (!s) supported = false;
    else steps.push(s);
    if (d.type === 'ByteFallback') byteFallbackOn = true;
  };
  walk(decoder);
  if (!supported) {
    if (!fallback) throw new Error(`[models] tokenizer.json: unsupported decoder ${JSON.stringify(decoder).slice(0, 200)}`);
    return { steps: [(ts) => [fallback(ts)]], added, byteFallback: false };
  }
  // no decoder: Rust joins the tokens with spaces
  if (decoder === null || decoder === undefined) steps.push((ts) => [ts.join(' ')]);
  return { steps, added, byteFallback: byteFallbackOn };
}

/** Runs the chain over token strings and joins the result. */
export function decodeTokens(p: DecodePipeline, tokens: string[]): string {
  let ts = tokens;
  for (const s of p.steps) ts = s(ts);
  return ts.join('');
}
