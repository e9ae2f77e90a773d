// The OpenAI-compatible HTTP front of the engine (node:http): routing, authentication, origin
// checks, body limits, JSON and SSE responses, cancellation on client disconnect, 429 over the
// queue bound, and a drain that finishes running streams before the server closes.
import { createServer as httpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { memory } from '../../core/memory.js';
import type { LanguageModel } from '../types.js';
import { Engine, type EngineOptions, type SeqHandle } from './engine.js';
import { ApiError } from './errors.js';
import { RequestCounters, renderMetrics } from './metrics.js';
import { parseRequest, type Limits, type ParsedRequest, type ServeTokenizer } from './request.js';
import type { SeqEvent } from './sequence.js';

export interface ServerOptions extends EngineOptions {
  model: LanguageModel;
  tokenizer: ServeTokenizer;
  /** the name clients pass as `model` (default "kiln") */
  modelId?: string;
  /** every request except GET /health needs `Authorization: Bearer <apiKey>` */
  apiKey?: string | null;
  /** browser origins allowed (CORS); a request with another Origin header gets 403. '*' allows any */
  allowedOrigins?: readonly string[];
  /** sequences allowed to wait for a batch slot before new requests get 429 (default 256) */
  maxQueue?: number;
  /** the largest max_tokens a request may ask for, and the default (default 512) */
  maxTokens?: number;
  /** request bodies over this many bytes get 413 (default 4 MiB) */
  maxBodyBytes?: number;
  /** the most choices (n) per request (default 16) */
  maxN?: number;
}

/** The node:http server with the engine behind it. */
export interface KilnServer extends Server {
  readonly engine: Engine;
  readonly counters: RequestCounters;
  /** Stops accepting, lets running streams finish for up to `deadlineMs` (default 30 s), aborts the rest, closes. */
  drain(deadlineMs?: number): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
};

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new ApiError(413, `the request body (${declared} bytes) is over the limit of ${limit} bytes`, { code: 'request_too_large' }));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0,
      over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        reject(new ApiError(413, `the request body is over the limit of ${limit} bytes`, { code: 'request_too_large' }));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (e) => reject(e));
  });
}

function sameKey(given: string, key: string): boolean {
  const a = Buffer.from(given),
    b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

interface ChoiceState {
  index: number;
  text: string;
  finish: 'stop' | 'length' | null;
  completionTokens: number;
  lp: { token: number; logprob: number; top: { token: number; logprob: number }[] }[];
}

/**
 * An OpenAI-compatible server over a loaded model: POST /v1/chat/completions, POST
 * /v1/completions, GET /v1/models, GET /health, GET /metrics. It is not listening yet: call
 * `listen(port, host)` (loopback: '127.0.0.1').
 * @example
 * const { model, tokenizer } = await kn.models.load('examples/models/kjv-llama-5m');
 * const server = kn.models.createServer({ model, tokenizer, modelId: 'kjv' });
 * server.listen(0, '127.0.0.1'); // then POST http://127.0.0.1:<port>/v1/completions
 * await server.drain();
 * server.listening // false
 */
export function createServer(opts: ServerOptions): KilnServer {
  if (opts === null || typeof opts !== 'object') throw new TypeError('[createServer] options must be an object { model, tokenizer, ... }');
  if (!opts.model || typeof opts.model.forward !== 'function') throw new TypeError('[createServer] options.model must be a loaded model (kn.models.load)');
  if (!opts.tokenizer || typeof opts.tokenizer.encode !== 'function') throw new TypeError('[createServer] options.tokenizer must be a Tokenizer');
  const posInt = (name: string, v: number | undefined, d: number): number => {
    if (v === undefined) return d;
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`[createServer] ${name} must be an integer >= 0, got ${v}`);
    return v;
  };
  const maxQueue = posInt('maxQueue', opts.maxQueue, 256);
  const maxTokens = posInt('maxTokens', opts.maxTokens, 512);
  const maxBody = posInt('maxBodyBytes', opts.maxBodyBytes, 4 * 2 ** 20);
  const maxN = posInt('maxN', opts.maxN, 16);
  const modelId = opts.modelId ?? 'kiln';
  const apiKey = opts.apiKey ?? null;
  const origins = opts.allowedOrigins ?? [];
  const engine = new Engine(opts.model, opts.tokenizer, opts);
  const tok = opts.tokenizer;
  const counters = new RequestCounters();
  const created = Math.floor(Date.now() / 1000);
  const limits: Limits = {
    modelId,
    contextLength: engine.contextLength,
    maxTokens,
    vocabSize: opts.model.vocabSize,
    capacityTokens: engine.capacityTokens,
    maxN,
  };
  let draining = false;

  const tokenText = (id: number) => tok.decode([id]);
  const bytes = (s: string) => Array.from(Buffer.from(s, 'utf8'));

  function chatLogprobs(c: ChoiceState['lp']) {
    return {
      content: c.map((e) => {
        const t = tokenText(e.token);
        return {
          token: t,
          logprob: e.logprob,
          bytes: bytes(t),
          top_logprobs: e.top.map((x) => ({ token: tokenText(x.token), logprob: x.logprob, bytes: bytes(tokenText(x.token)) })),
        };
      }),
    };
  }
  function completionLogprobs(c: ChoiceState['lp'], offset0: number) {
    let off = offset0;
    const text_offset: number[] = [];
    const tokens = c.map((e) => {
      const t = tokenText(e.token);
      text_offset.push(off);
      off += t.length;
      return t;
    });
    return {
      tokens,
      token_logprobs: c.map((e) => e.logprob),
      top_logprobs: c.map((e) => Object.fromEntries(e.top.map((x) => [tokenText(x.token), x.logprob]))),
      text_offset,
    };
  }

  async function generate(req: IncomingMessage, res: ServerResponse, p: ParsedRequest, endpoint: string): Promise<number> {
    const total = p.prompts.length * p.n;
    if (engine.waitingCount + total > maxQueue) {
      counters.rejectedQueueFull++;
      throw new ApiError(429, `the server is busy: ${engine.waitingCount} sequences are queued (--max-queue ${maxQueue}); retry shortly`, {
        code: 'queue_full',
        headers: { 'Retry-After': '1' },
      });
    }
    const id = (p.kind === 'chat' ? 'chatcmpl-' : 'cmpl-') + randomUUID().replace(/-/g, '');
    const now = Math.floor(Date.now() / 1000);
    const object = p.kind === 'chat' ? 'chat.completion' : 'text_completion';
    const chunkObject = p.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const choices: ChoiceState[] = [];
    const handles: SeqHandle[] = [];
    let promptTokens = 0,
      cachedTokens = 0,
      finished = false,
      remaining = total;
    const fail = { message: null as string | null };
    const usage = () => {
      const completion = choices.reduce((s, c) => s + c.completionTokens, 0);
      return {
        prompt_tokens: promptTokens,
        completion_tokens: completion,
        total_tokens: promptTokens + completion,
        prompt_tokens_details: { cached_tokens: cachedTokens },
      };
    };
    const sse = (data: unknown) => {
      if (!res.writableEnded) res.write(`data: ${JSON.stringify(data)}\n\n`);
    };
    const chunk = (c: ChoiceState, piece: string, lp: ChoiceState['lp'] | null, finish: string | null, first = false) => {
      const lpOut = lp && lp.length ? (p.kind === 'chat' ? chatLogprobs(lp) : completionLogprobs(lp, c.text.length - piece.length)) : null;
      const choice =
        p.kind === 'chat'
          ? { index: c.index, delta: first ? { role: 'assistant', content: '' } : finish ? {} : { content: piece }, logprobs: lpOut, finish_reason: finish }
          : { index: c.index, text: piece, logprobs: lpOut, finish_reason: finish };
      sse({ id, object: chunkObject, created: now, model: modelId, choices: [choice], ...(p.includeUsage ? { usage: null } : {}) });
    };

    let resolveDone!: () => void;
    const allDone = new Promise<void>((r) => (resolveDone = r));
    const onClose = () => {
      if (finished) return;
      finished = true;
      counters.cancelled++;
      for (const h of handles) h.cancel();
      resolveDone();
    };
    res.on('close', onClose);

    if (p.stream) {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
      res.flushHeaders();
    }
    let index = 0;
    for (const prompt of p.prompts) {
      promptTokens += prompt.length;
      for (let j = 0; j < p.n; j++) {
        const c: ChoiceState = { index: index++, text: '', finish: null, completionTokens: 0, lp: [] };
        choices.push(c);
        // n > 1 with a seed: each choice draws from its own seed so the choices differ and stay reproducible
        const sampling = { ...p.sampling, seed: p.sampling.seed === null ? null : p.sampling.seed + j };
        if (p.stream && p.kind === 'chat') chunk(c, '', null, null, true);
        let countedCached = false;
        const sink = (e: SeqEvent) => {
          if (finished) return;
          if (e.type === 'token') {
            c.text += e.text;
            c.completionTokens++;
            const entry = e.logprob !== null ? [{ token: e.token, logprob: e.logprob, top: e.top ?? [] }] : null;
            if (entry) c.lp.push(entry[0]);
            if (p.stream && (e.text || entry)) chunk(c, e.text, entry, null);
            return;
          }
          if (e.type === 'error') fail.message = e.message;
          else {
            if (e.text) {
              c.text += e.text;
              if (p.stream) chunk(c, e.text, null, null);
            }
            c.finish = e.finishReason;
            c.completionTokens = e.completionTokens;
            if (!countedCached && j === 0) {
              cachedTokens += e.cachedTokens;
              countedCached = true;
            }
            counters.completedSequences++;
            if (p.stream) chunk(c, '', null, e.finishReason);
          }
          if (--remaining === 0 || fail.message) {
            finished = true;
            if (fail.message) for (const h of handles) h.cancel();
            resolveDone();
          }
        };
        try {
          handles.push(engine.submit({ prompt, maxTokens: p.maxTokens, stop: p.stop, sampling }, sink));
        } catch (e) {
          for (const h of handles) h.cancel();
          res.off('close', onClose);
          if (p.stream) {
            sse(new ApiError(400, (e as Error).message).body());
            res.end();
            return 400;
          }
          throw new ApiError(400, (e as Error).message.replace(/^\[serve\] /, ''));
        }
      }
    }
    await allDone;
    res.off('close', onClose);
    if (res.destroyed || (res.writableEnded && !p.stream)) return 499;
    if (fail.message) {
      const err = new ApiError(500, fail.message.replace(/^\[serve\] /, ''), { code: 'generation_failed' });
      if (p.stream) {
        sse(err.body());
        res.end();
      } else json(res, 500, err.body());
      return 500;
    }
    if (p.stream) {
      if (p.includeUsage) sse({ id, object: chunkObject, created: now, model: modelId, choices: [], usage: usage() });
      res.end('data: [DONE]\n\n');
      return 200;
    }
    const out = choices.map((c) =>
      p.kind === 'chat'
        ? {
            index: c.index,
            message: { role: 'assistant', content: c.text, refusal: null },
            logprobs: p.sampling.logprobs ? chatLogprobs(c.lp) : null,
            finish_reason: c.finish,
          }
        : { index: c.index, text: c.text, logprobs: p.sampling.logprobs ? completionLogprobs(c.lp, 0) : null, finish_reason: c.finish },
    );
    json(res, 200, { id, object, created: now, model: modelId, choices: out, usage: usage(), system_fingerprint: null });
    void endpoint;
    void req;
    return 200;
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<number> {
    const method = req.method ?? 'GET';
    if (path === '/health') {
      if (method !== 'GET') throw new ApiError(405, `${method} ${path} is not allowed; use GET`);
      if (draining) {
        json(res, 503, { status: 'draining' });
        return 503;
      }
      json(res, 200, { status: 'ok', model: modelId, running: engine.runningCount, waiting: engine.waitingCount });
      return 200;
    }
    if (apiKey !== null) {
      const h = req.headers.authorization ?? '';
      const m = /^Bearer (.+)$/.exec(h);
      if (!m) throw new ApiError(401, 'Missing API key: send Authorization: Bearer <key>', { code: 'invalid_api_key' });
      if (!sameKey(m[1], apiKey)) throw new ApiError(401, 'Incorrect API key provided', { code: 'invalid_api_key' });
    }
    if (path === '/metrics') {
      if (method !== 'GET') throw new ApiError(405, `${method} ${path} is not allowed; use GET`);
      const text = renderMetrics(counters, engine.snapshot(), memory.active());
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(text);
      return 200;
    }
    if (path === '/v1/models' || path.startsWith('/v1/models/')) {
      if (method !== 'GET') throw new ApiError(405, `${method} ${path} is not allowed; use GET`);
      const card = { id: modelId, object: 'model', created, owned_by: 'kiln' };
      if (path === '/v1/models') json(res, 200, { object: 'list', data: [card] });
      else {
        const name = decodeURIComponent(path.slice('/v1/models/'.length));
        if (name !== modelId) throw new ApiError(404, `The model \`${name}\` does not exist`, { code: 'model_not_found', param: 'model' });
        json(res, 200, card);
      }
      return 200;
    }
    const kind = path === '/v1/chat/completions' ? 'chat' : path === '/v1/completions' ? 'completion' : null;
    if (!kind)
      throw new ApiError(
        404,
        `no route ${method} ${path}; endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, GET /metrics`,
        { code: 'not_found' },
      );
    if (method !== 'POST') throw new ApiError(405, `${method} ${path} is not allowed; use POST`);
    if (draining || engine.closed) throw new ApiError(503, 'the server is shutting down', { code: 'shutting_down' });
    const ct = req.headers['content-type'] ?? '';
    if (ct && !/^application\/json\b/i.test(ct)) throw new ApiError(415, `Content-Type must be application/json, got ${JSON.stringify(ct)}`);
    const text = await readBody(req, maxBody);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new ApiError(400, `the request body is not valid JSON: ${(e as Error).message}`, { code: 'invalid_json' });
    }
    const parsed = parseRequest(kind, body, tok, limits);
    return generate(req, res, parsed, path);
  }

  const server = httpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const endpoint = ['/v1/chat/completions', '/v1/completions', '/v1/models', '/health', '/metrics'].includes(path)
      ? path
      : path.startsWith('/v1/models/')
        ? '/v1/models'
        : 'other';
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.includes('*') && !origins.includes(origin)) {
        counters.count(endpoint, 403);
        json(res, 403, new ApiError(403, `origin ${JSON.stringify(origin)} is not allowed (--allowed-origins)`, { code: 'origin_not_allowed' }).body());
        return;
      }
      res.setHeader('Access-Control-Allow-Origin', origins.includes('*') ? '*' : origin);
      res.setHeader('Vary', 'Origin');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type',
          'Access-Control-Max-Age': '600',
        });
        res.end();
        counters.count(endpoint, 204);
        return;
      }
    }
    route(req, res, path).then(
      (status) => counters.count(endpoint, status),
      (e: unknown) => {
        const err = e instanceof ApiError ? e : new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)}`);
        counters.count(endpoint, err.status);
        if (res.headersSent) {
          if (!res.writableEnded) res.end(`data: ${JSON.stringify(err.body())}\n\n`);
          return;
        }
        if (!res.destroyed) json(res, err.status, err.body(), err.headers);
      },
    );
  }) as KilnServer;

  Object.defineProperty(server, 'engine', { value: engine });
  Object.defineProperty(server, 'counters', { value: counters });
  server.drain = async (deadlineMs = 30_000) => {
    if (!draining) {
      draining = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      engine.close();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((r) => (timer = setTimeout(r, deadlineMs)));
      await Promise.race([engine.idle(), deadline]);
      clearTimeout(timer);
      engine.close(true);
      await engine.idle();
      engine.dispose();
      // answers are written; connections kept alive by clients close now
      setImmediate(() => server.closeAllConnections());
      await closed;
    }
  };
  return server;
}
