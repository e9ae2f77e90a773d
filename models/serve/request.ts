// Validation of /v1/chat/completions and /v1/completions bodies into what the engine runs. Every
// rule failure is a 400 naming the field and the value; fields OpenAI defines that the server
// does not implement are refused by name rather than ignored, and unknown fields are refused as
// OpenAI does ("Unrecognized request argument supplied").
import type { ChatMessage } from '../chat_template.js';
import { ApiError, badField } from './errors.js';
import type { SamplingParams } from './sampling.js';

export interface ServeTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean; tokenize?: boolean }): number[] | string;
  readonly hasChatTemplate: boolean;
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId: number | null;
  detokenizer(): { add(id: number): string; finalize(): string };
}

/** A validated request: one or more prompts, each generated n times. */
export interface ParsedRequest {
  kind: 'chat' | 'completion';
  model: string;
  prompts: number[][];
  n: number;
  maxTokens: number;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  sampling: SamplingParams;
}

export interface Limits {
  modelId: string;
  contextLength: number;
  /** the server's cap on max_tokens (--max-tokens) */
  maxTokens: number;
  vocabSize: number;
  /** the most KV slots one sequence may use (the pool) */
  capacityTokens: number;
  maxN: number;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s;
};

const COMMON = [
  'model',
  'max_tokens',
  'temperature',
  'top_p',
  'top_k',
  'min_p',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'logprobs',
  'n',
  'stream',
  'stream_options',
  'user',
];
const CHAT = new Set([...COMMON, 'messages', 'max_completion_tokens', 'top_logprobs', 'store', 'metadata', 'parallel_tool_calls', 'service_tier']);
const COMPLETION = new Set([...COMMON, 'prompt', 'echo', 'suffix', 'best_of']);
/** fields OpenAI defines that change the answer and that this server does not implement */
const UNSUPPORTED: Record<string, string> = {
  tools: 'tool calling is not supported',
  tool_choice: 'tool calling is not supported',
  functions: 'function calling is not supported',
  function_call: 'function calling is not supported',
  response_format: 'structured output (response_format) is not supported',
  audio: 'audio output is not supported',
  modalities: 'only text output is supported',
  prediction: 'predicted outputs are not supported',
  web_search_options: 'web search is not supported',
  reasoning_effort: 'reasoning_effort is not supported',
};

function num(b: Record<string, unknown>, k: string, dflt: number, ok: (x: number) => boolean, rule: string): number {
  const v = b[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw badField(k, `${k} must be ${rule}, got ${show(v)}`);
  return v;
}
const int = (x: number) => Number.isInteger(x);

function bool(b: Record<string, unknown>, k: string, dflt: boolean): boolean {
  const v = b[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw badField(k, `${k} must be a boolean, got ${show(v)}`);
  return v;
}

function checkKeys(b: Record<string, unknown>, known: Set<string>): void {
  for (const k of Object.keys(b)) {
    if (UNSUPPORTED[k] !== undefined && b[k] !== null) {
      if (k === 'response_format' && (b[k] as { type?: unknown })?.type === 'text') continue;
      if (k === 'modalities' && Array.isArray(b[k]) && (b[k] as unknown[]).every((m) => m === 'text')) continue;
      if ((k === 'tools' || k === 'functions') && Array.isArray(b[k]) && (b[k] as unknown[]).length === 0) continue;
      if ((k === 'tool_choice' || k === 'function_call') && b[k] === 'none') continue;
      throw badField(k, `${k}: ${UNSUPPORTED[k]} by this server`, 'unsupported_parameter');
    }
    if (!known.has(k) && UNSUPPORTED[k] === undefined) throw badField(k, `Unrecognized request argument supplied: ${k}`, 'unknown_parameter');
  }
}

function stopField(b: Record<string, unknown>): string[] {
  const s = b.stop;
  if (s === undefined || s === null) return [];
  const list = typeof s === 'string' ? [s] : s;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string'))
    throw badField('stop', `stop must be a string or an array of up to 4 strings, got ${show(s)}`);
  if (list.length > 4) throw badField('stop', `stop may hold at most 4 strings, got ${list.length}`);
  return list.filter((x) => x.length > 0);
}

function logitBias(b: Record<string, unknown>, vocab: number): Map<number, number> | null {
  const v = b.logit_bias;
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v))
    throw badField('logit_bias', `logit_bias must be an object mapping token ids to biases in [-100, 100], got ${show(v)}`);
  const m = new Map<number, number>();
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const id = Number(k);
    if (!/^\d+$/.test(k) || id >= vocab) throw badField('logit_bias', `logit_bias key ${show(k)} is not a token id in [0, ${vocab})`);
    if (typeof x !== 'number' || !Number.isFinite(x) || x < -100 || x > 100)
      throw badField('logit_bias', `logit_bias[${k}] must be a number in [-100, 100], got ${show(x)}`);
    m.set(id, x);
  }
  return m.size ? m : null;
}

function sampling(b: Record<string, unknown>, vocab: number, logprobs: boolean, topLogprobs: number): SamplingParams {
  let topK = num(b, 'top_k', 0, (x) => int(x) && x >= -1, 'an integer >= 0 (or -1: off)');
  if (topK === -1) topK = 0;
  const seed = b.seed === undefined || b.seed === null ? null : num(b, 'seed', 0, Number.isSafeInteger, 'an integer');
  return {
    temperature: num(b, 'temperature', 1, (x) => x >= 0 && x <= 2, 'a number in [0, 2]'),
    topP: num(b, 'top_p', 1, (x) => x > 0 && x <= 1, 'a number in (0, 1]'),
    topK,
    minP: num(b, 'min_p', 0, (x) => x >= 0 && x <= 1, 'a number in [0, 1]'),
    seed,
    presencePenalty: num(b, 'presence_penalty', 0, (x) => x >= -2 && x <= 2, 'a number in [-2, 2]'),
    frequencyPenalty: num(b, 'frequency_penalty', 0, (x) => x >= -2 && x <= 2, 'a number in [-2, 2]'),
    logitBias: logitBias(b, vocab),
    logprobs,
    topLogprobs,
  };
}

function messageText(m: Record<string, unknown>, i: number): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) {
    return c
      .map((p, j) => {
        const part = p as { type?: unknown; text?: unknown };
        if (part && part.type === 'text' && typeof part.text === 'string') return part.text;
        throw badField(`messages[${i}].content[${j}]`, `messages[${i}].content[${j}] must be a text part { type: 'text', text }, got ${show(p)}`);
      })
      .join('');
  }
  if ((c === null || c === undefined) && m.role === 'assistant') return '';
  throw badField(`messages[${i}].content`, `messages[${i}].content must be a string or an array of text parts, got ${show(c)}`);
}

function chatPrompt(b: Record<string, unknown>, tok: ServeTokenizer): number[] {
  const msgs = b.messages;
  if (!Array.isArray(msgs)) throw badField('messages', `messages must be an array of { role, content }, got ${show(msgs)}`);
  if (msgs.length === 0) throw badField('messages', 'messages must not be empty');
  const roles = new Set(['system', 'developer', 'user', 'assistant']);
  const rendered: ChatMessage[] = msgs.map((m, i) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m))
      throw badField(`messages[${i}]`, `messages[${i}] must be an object { role, content }, got ${show(m)}`);
    const r = (m as Record<string, unknown>).role;
    if (typeof r !== 'string' || !roles.has(r))
      throw badField(`messages[${i}].role`, `messages[${i}].role must be one of system, developer, user, assistant, got ${show(r)}`);
    return { role: r === 'developer' ? 'system' : r, content: messageText(m as Record<string, unknown>, i) };
  });
  if (tok.hasChatTemplate) return tok.applyChatTemplate(rendered, { addGenerationPrompt: true, tokenize: true }) as number[];
  // no template: a plain transcript with the assistant's turn opened
  return tok.encode(rendered.map((m) => `${m.role}: ${m.content as string}\n`).join('') + 'assistant:');
}

function completionPrompts(b: Record<string, unknown>, tok: ServeTokenizer, vocab: number): number[][] {
  const p = b.prompt;
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => typeof t === 'number');
  let out: number[][];
  if (p === '' || (Array.isArray(p) && p.some((x) => x === ''))) throw badField('prompt', 'prompt must not be empty');
  if (typeof p === 'string') out = [tok.encode(p)];
  else if (isIds(p)) out = [p];
  else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) out = p.map((s: string) => tok.encode(s));
  else if (Array.isArray(p) && p.length > 0 && p.every(isIds)) out = p as number[][];
  else throw badField('prompt', `prompt must be a string, an array of strings, an array of token ids or an array of those, got ${show(p)}`);
  for (const ids of out)
    for (const t of ids) if (!Number.isInteger(t) || t < 0 || t >= vocab) throw badField('prompt', `prompt token id ${show(t)} is not in [0, ${vocab})`);
  if (out.some((ids) => ids.length === 0)) throw badField('prompt', 'prompt must not be empty');
  return out;
}

/** Validates a request body (already parsed JSON) against the server's limits. */
export function parseRequest(kind: 'chat' | 'completion', body: unknown, tok: ServeTokenizer, lim: Limits): ParsedRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, `the request body must be a JSON object, got ${show(body)}`);
  const b = body as Record<string, unknown>;
  checkKeys(b, kind === 'chat' ? CHAT : COMPLETION);
  if (typeof b.model !== 'string') throw badField('model', `model must be a string naming the served model ("${lim.modelId}"), got ${show(b.model)}`);
  if (b.model !== lim.modelId)
    throw new ApiError(404, `The model \`${b.model}\` does not exist; this server serves "${lim.modelId}"`, { param: 'model', code: 'model_not_found' });
  const n = num(b, 'n', 1, (x) => int(x) && x >= 1 && x <= lim.maxN, `an integer in [1, ${lim.maxN}]`);
  const stream = bool(b, 'stream', false);
  const so = b.stream_options;
  let includeUsage = false;
  if (so !== undefined && so !== null) {
    if (typeof so !== 'object' || Array.isArray(so)) throw badField('stream_options', `stream_options must be an object, got ${show(so)}`);
    if (!stream) throw badField('stream_options', 'stream_options is only allowed with stream: true');
    for (const k of Object.keys(so)) if (k !== 'include_usage') throw badField(`stream_options.${k}`, `Unrecognized stream_options field: ${k}`);
    includeUsage = bool(so as Record<string, unknown>, 'include_usage', false);
  }
  let logprobs: boolean, topLogprobs: number;
  let prompts: number[][];
  if (kind === 'chat') {
    logprobs = bool(b, 'logprobs', false);
    topLogprobs = num(b, 'top_logprobs', 0, (x) => int(x) && x >= 0 && x <= 20, 'an integer in [0, 20]');
    if (b.top_logprobs !== undefined && b.top_logprobs !== null && !logprobs) throw badField('top_logprobs', 'top_logprobs needs logprobs: true');
    prompts = [chatPrompt(b, tok)];
  } else {
    const lp = b.logprobs === undefined || b.logprobs === null ? null : num(b, 'logprobs', 0, (x) => int(x) && x >= 0 && x <= 5, 'an integer in [0, 5]');
    logprobs = lp !== null;
    topLogprobs = lp ?? 0;
    if (bool(b, 'echo', false)) throw badField('echo', 'echo is not supported by this server', 'unsupported_parameter');
    if (b.suffix !== undefined && b.suffix !== null && b.suffix !== '')
      throw badField('suffix', 'suffix is not supported by this server', 'unsupported_parameter');
    const bestOf = num(b, 'best_of', n, (x) => int(x) && x >= 1, 'an integer >= 1');
    if (bestOf !== n) throw badField('best_of', `best_of other than n is not supported, got best_of ${bestOf} with n ${n}`, 'unsupported_parameter');
    prompts = completionPrompts(b, tok, lim.vocabSize);
  }
  const key = kind === 'chat' && b.max_completion_tokens !== undefined && b.max_completion_tokens !== null ? 'max_completion_tokens' : 'max_tokens';
  if (kind === 'chat' && b.max_completion_tokens != null && b.max_tokens != null)
    throw badField('max_tokens', 'pass max_tokens or max_completion_tokens, not both');
  const longest = Math.max(...prompts.map((p) => p.length));
  const room = Math.min(lim.contextLength, lim.capacityTokens) - longest;
  if (room < 1)
    throw new ApiError(
      400,
      `This model's maximum context length is ${Math.min(lim.contextLength, lim.capacityTokens)} tokens; the prompt has ${longest} tokens, leaving no room to generate`,
      { param: kind === 'chat' ? 'messages' : 'prompt', code: 'context_length_exceeded' },
    );
  const explicit = b[key] !== undefined && b[key] !== null;
  const maxTokens = num(b, key, Math.min(lim.maxTokens, room), (x) => int(x) && x >= 1, 'an integer >= 1');
  if (explicit && maxTokens > lim.maxTokens) throw badField(key, `${key} is ${maxTokens}, over this server's limit of ${lim.maxTokens} (--max-tokens)`);
  if (explicit && maxTokens > room)
    throw badField(
      key,
      `This model's maximum context length is ${Math.min(lim.contextLength, lim.capacityTokens)} tokens; the prompt (${longest}) plus ${key} (${maxTokens}) is ${longest + maxTokens}`,
      'context_length_exceeded',
    );
  return { kind, model: b.model, prompts, n, maxTokens, stop: stopField(b), stream, includeUsage, sampling: sampling(b, lim.vocabSize, logprobs, topLogprobs) };
}
