// Fine-tuning data: a folder of JSONL files (train.jsonl, valid.jsonl, test.jsonl), one example a
// line, in one of three formats detected from the first record (mlx-lm's):
//   chat         {"messages": [{"role", "content"}, ...], "tools"?: [...]} through the chat template
//   completions  {"prompt", "completion"} as a user/assistant exchange
//   text         {"text"}
// With maskPrompt, the loss covers only the completion / the last assistant message: the offset is
// the length of the conversation before it rendered with the generation prompt.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type DataFormat = 'chat' | 'completions' | 'text';

/** One tokenized example: the loss covers tokens[offset..] (targets at positions >= offset). */
export interface Example {
  tokens: number[];
  offset: number;
}

export interface Dataset {
  /** the file it came from */
  file: string;
  format: DataFormat;
  examples: Example[];
}

/** What data loading needs of a tokenizer (kn.models.Tokenizer has it). */
export interface DataTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  applyChatTemplate(
    messages: { role: string; content: string }[],
    opts?: { addGenerationPrompt?: boolean; tools?: object[] | null; tokenize?: true },
  ): number[];
  readonly hasChatTemplate: boolean;
  readonly eosTokenIds?: readonly number[];
  readonly eosTokenId?: number | null;
}

export interface DataOptions {
  /** loss only on completions / the last assistant message (default false) */
  maskPrompt?: boolean;
}

function fail(file: string, line: number, msg: string): never {
  throw new Error(`[lora.data] ${file} line ${line}: ${msg}`);
}

const formatOf = (r: Record<string, unknown>): DataFormat | null =>
  'messages' in r ? 'chat' : 'prompt' in r || 'completion' in r ? 'completions' : 'text' in r ? 'text' : null;

function eosOf(tok: DataTokenizer): number | null {
  const ids = tok.eosTokenIds;
  if (ids && ids.length) return ids[0];
  return tok.eosTokenId ?? null;
}

function checkMessages(file: string, line: number, r: Record<string, unknown>, maskPrompt: boolean): { role: string; content: string }[] {
  const m = r.messages;
  if (!Array.isArray(m) || m.length === 0) fail(file, line, `"messages" must be a non-empty list, got ${JSON.stringify(m)?.slice(0, 60)}`);
  m.forEach((x, i) => {
    if (x === null || typeof x !== 'object' || typeof x.role !== 'string' || typeof x.content !== 'string')
      fail(file, line, `messages[${i}] must be an object with string "role" and "content", got ${JSON.stringify(x)?.slice(0, 80)}`);
  });
  if (r.tools !== undefined && r.tools !== null && !Array.isArray(r.tools)) fail(file, line, `"tools" must be a list`);
  if (maskPrompt && m[m.length - 1].role !== 'assistant')
    fail(file, line, `with --mask-prompt the last message must be the assistant's, got role "${m[m.length - 1].role}"`);
  return m as { role: string; content: string }[];
}

/**
 * Tokenizes one record of the given format (the line number is for errors).
 * @example
 * const tok = await kn.models.Tokenizer.fromFolder('examples/models/kjv-llama-5m');
 * kn.models.lora.tokenizeRecord(tok, { prompt: 'Who?', completion: 'Moses.' }, 'completions', { maskPrompt: true }).offset // 10
 */
export function tokenizeRecord(
  tok: DataTokenizer,
  r: Record<string, unknown>,
  format: DataFormat,
  opts: DataOptions = {},
  file = '<record>',
  line = 1,
): Example {
  const maskPrompt = opts.maskPrompt ?? false;
  const got = formatOf(r);
  if (got !== format) fail(file, line, `expected a ${format} record (${want(format)}) like line 1, got keys ${JSON.stringify(Object.keys(r))}`);
  if (format === 'text') {
    if (typeof r.text !== 'string') fail(file, line, `"text" must be a string, got ${typeof r.text}`);
    if (maskPrompt) fail(file, line, '--mask-prompt needs chat or completions data (text records have no prompt)');
    const tokens = tok.encode(r.text);
    const eos = eosOf(tok);
    if (eos !== null && tokens[tokens.length - 1] !== eos) tokens.push(eos);
    return { tokens, offset: 0 };
  }
  let messages: { role: string; content: string }[];
  let tools: object[] | null = null;
  if (format === 'completions') {
    if (typeof r.prompt !== 'string') fail(file, line, `"prompt" must be a string, got ${JSON.stringify(r.prompt)?.slice(0, 40)}`);
    if (typeof r.completion !== 'string') fail(file, line, `"completion" must be a string, got ${JSON.stringify(r.completion)?.slice(0, 40)}`);
    messages = [
      { role: 'user', content: r.prompt },
      { role: 'assistant', content: r.completion },
    ];
  } else {
    messages = checkMessages(file, line, r, maskPrompt);
    tools = (r.tools as object[] | undefined) ?? null;
  }
  if (!tok.hasChatTemplate) {
    if (format === 'chat') fail(file, line, 'chat data needs a tokenizer with a chat template');
    const prompt = tok.encode(messages[0].content);
    const tokens = [...prompt, ...tok.encode(messages[1].content, { addSpecialTokens: false })];
    const eos = eosOf(tok);
    if (eos !== null) tokens.push(eos);
    return { tokens, offset: maskPrompt ? prompt.length : 0 };
  }
  const tokens = tok.applyChatTemplate(messages, { tools });
  const offset = maskPrompt ? tok.applyChatTemplate(messages.slice(0, -1), { tools, addGenerationPrompt: true }).length : 0;
  if (maskPrompt && tokens.slice(0, offset).some((t, i) => t !== tokens[i]))
    fail(file, line, 'the chat template renders the prompt differently with and without the final message, so --mask-prompt cannot find its end');
  return { tokens, offset };
}

const want = (f: DataFormat) => (f === 'chat' ? '"messages"' : f === 'completions' ? '"prompt" and "completion"' : '"text"');

/**
 * Reads and tokenizes a JSONL file; every line must be a JSON object of the first line's format.
 * @example
 * const tok = await kn.models.Tokenizer.fromFolder('examples/models/kjv-llama-5m');
 * kn.models.lora.loadJsonl('tests/fixtures/lora/data_text/train.jsonl', tok).examples[0].tokens // [2042, 286, 387, 376, 2043]
 */
export function loadJsonl(file: string, tok: DataTokenizer, opts: DataOptions = {}): Dataset {
  if (!existsSync(file)) throw new Error(`[lora.data] ${file} does not exist`);
  const lines = readFileSync(file, 'utf8').split('\n');
  const examples: Example[] = [];
  let format: DataFormat | null = null;
  lines.forEach((text, i) => {
    const line = i + 1;
    if (text.trim() === '') return;
    let r: unknown;
    try {
      r = JSON.parse(text);
    } catch (e) {
      fail(file, line, `not valid JSON (${(e as Error).message})`);
    }
    if (r === null || typeof r !== 'object' || Array.isArray(r)) fail(file, line, `expected a JSON object, got ${JSON.stringify(r)?.slice(0, 40)}`);
    const rec = r as Record<string, unknown>;
    if (format === null) {
      format = formatOf(rec);
      if (format === null)
        fail(
          file,
          line,
          `unknown format: expected "messages" (chat), "prompt" and "completion" (completions) or "text", got keys ${JSON.stringify(Object.keys(rec))}`,
        );
    }
    examples.push(tokenizeRecord(tok, rec, format, opts, file, line));
  });
  if (format === null) throw new Error(`[lora.data] ${file} has no examples`);
  return { file, format, examples };
}

/**
 * The splits of a data folder: train.jsonl (required when `train`), valid.jsonl, test.jsonl.
 * @example
 * const tok = await kn.models.Tokenizer.fromFolder('examples/models/kjv-llama-5m');
 * const { train, valid } = kn.models.lora.loadDatasets('tests/fixtures/lora/data_completions', tok, { train: true });
 * [train.format, valid] // ['completions', null]
 */
export function loadDatasets(
  dir: string,
  tok: DataTokenizer,
  opts: DataOptions & { train?: boolean; test?: boolean } = {},
): Record<'train' | 'valid' | 'test', Dataset | null> {
  if (!existsSync(dir)) throw new Error(`[lora.data] data folder ${dir} does not exist`);
  const one = (name: string, required: boolean): Dataset | null => {
    const f = join(dir, `${name}.jsonl`);
    if (!existsSync(f)) {
      if (required) throw new Error(`[lora.data] ${dir} has no ${name}.jsonl`);
      return null;
    }
    return loadJsonl(f, tok, opts);
  };
  return { train: one('train', opts.train ?? false), valid: one('valid', false), test: one('test', opts.test ?? false) };
}
