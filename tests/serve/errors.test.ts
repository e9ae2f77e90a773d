// Bad input and faults: every malformed request is a 4xx in OpenAI's error shape and the server
// keeps serving; a wrong or missing API key is 401; a client that goes away mid-stream frees its
// KV blocks at once; past --max-queue new requests get 429 with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { metric, post, startServer, type Running } from './helpers.js';

let s: Running;
beforeAll(async () => {
  s = await startServer({ maxBodyBytes: 4096, maxTokens: 64 });
});
afterAll(() => s.close());

const chat = (extra: Record<string, unknown>) => ({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }], ...extra });
const shape = (j: Record<string, any>) => {
  expect(Object.keys(j)).toEqual(['error']);
  expect(typeof j.error.message).toBe('string');
  expect(typeof j.error.type).toBe('string');
  expect('param' in j.error && 'code' in j.error).toBe(true);
};

describe('bad input gives a 4xx in OpenAI error shape', () => {
  const cases: [string, string, unknown, number, RegExp][] = [
    ['malformed JSON', '/v1/chat/completions', '{"model": "test-model", "messages": [', 400, /not valid JSON/],
    ['a body that is not an object', '/v1/chat/completions', '[1, 2]', 400, /must be a JSON object/],
    ['messages of the wrong type', '/v1/chat/completions', { model: 'test-model', messages: 'hi' }, 400, /messages must be an array/],
    ['an empty messages', '/v1/chat/completions', { model: 'test-model', messages: [] }, 400, /messages must not be empty/],
    ['a message without content', '/v1/chat/completions', { model: 'test-model', messages: [{ role: 'user' }] }, 400, /messages\[0\]\.content must be/],
    ['a bad role', '/v1/chat/completions', { model: 'test-model', messages: [{ role: 'wizard', content: 'x' }] }, 400, /role must be one of/],
    ['temperature of the wrong type', '/v1/chat/completions', chat({ temperature: 'hot' }), 400, /temperature must be a number in \[0, 2\], got "hot"/],
    ['top_p out of range', '/v1/chat/completions', chat({ top_p: 1.5 }), 400, /top_p must be a number in \(0, 1\]/],
    ['max_tokens over the context', '/v1/chat/completions', chat({ max_tokens: 60000 }), 400, /max_tokens is 60000, over this server's limit/],
    ['max_tokens not an integer', '/v1/chat/completions', chat({ max_tokens: 2.5 }), 400, /max_tokens must be an integer >= 1/],
    ['n of the wrong type', '/v1/chat/completions', chat({ n: '2' }), 400, /n must be an integer/],
    ['an unknown field', '/v1/chat/completions', chat({ temprature: 0.5 }), 400, /Unrecognized request argument supplied: temprature/],
    ['a field that matters and is not implemented', '/v1/chat/completions', chat({ tools: [{ type: 'function' }] }), 400, /tool calling is not supported/],
    ['a bad logit_bias key', '/v1/chat/completions', chat({ logit_bias: { abc: 1 } }), 400, /logit_bias key "abc" is not a token id/],
    ['a logit_bias out of range', '/v1/chat/completions', chat({ logit_bias: { 5: 1000 } }), 400, /logit_bias\[5\] must be a number in \[-100, 100\]/],
    ['top_logprobs without logprobs', '/v1/chat/completions', chat({ top_logprobs: 2 }), 400, /top_logprobs needs logprobs: true/],
    ['stream_options without stream', '/v1/chat/completions', chat({ stream_options: { include_usage: true } }), 400, /only allowed with stream: true/],
    ['too many stop strings', '/v1/chat/completions', chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 400, /at most 4 strings/],
    ['a wrong model name', '/v1/chat/completions', { ...chat({}), model: 'gpt-5' }, 404, /The model `gpt-5` does not exist/],
    ['a missing model', '/v1/completions', { prompt: 'x' }, 400, /model must be a string/],
    [
      'a prompt over the context length',
      '/v1/completions',
      { model: 'test-model', prompt: 'And the '.repeat(400) },
      400,
      /maximum context length is 512 tokens; the prompt has \d+ tokens/,
    ],
    [
      'prompt + max_tokens over the context',
      '/v1/completions',
      { model: 'test-model', prompt: 'And the '.repeat(230), max_tokens: 60 },
      400,
      /plus max_tokens \(60\)/,
    ],
    [
      'prompt token ids out of the vocabulary',
      '/v1/completions',
      { model: 'test-model', prompt: [1, 99999] },
      400,
      /prompt token id 99999 is not in \[0, 2048\)/,
    ],
    ['an empty prompt', '/v1/completions', { model: 'test-model', prompt: '' }, 400, /prompt must not be empty/],
    ['echo (not implemented)', '/v1/completions', { model: 'test-model', prompt: 'x', echo: true }, 400, /echo is not supported/],
    ['a body over the size limit', '/v1/completions', { model: 'test-model', prompt: 'x'.repeat(5000) }, 413, /over the limit of 4096 bytes/],
    ['an unknown route', '/v1/embeddings', { model: 'test-model', input: 'x' }, 404, /no route POST \/v1\/embeddings/],
  ];
  it.each(cases)('%s', async (_name, path, body, status, msg) => {
    const r = await post(s.url, path, body);
    expect(r.status).toBe(status);
    shape(r.json);
    expect(r.json.error.message).toMatch(msg);
  });

  it('a wrong method is 405 and an unsupported content type 415', async () => {
    const r = await fetch(s.url + '/v1/chat/completions');
    expect(r.status).toBe(405);
    shape((await r.json()) as Record<string, unknown>);
    const t = await post(s.url, '/v1/chat/completions', 'x', { 'Content-Type': 'text/plain' });
    expect(t.status).toBe(415);
  });

  it('the server keeps serving after all of them, and /metrics counts them', async () => {
    const r = await s.client.chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, temperature: 0 });
    expect(r.choices[0].message.content!.length).toBeGreaterThan(0);
    const m = await (await fetch(s.url + '/metrics')).text();
    expect(metric(m, 'kiln_requests_total', 'endpoint="/v1/chat/completions",status="400"')).toBeGreaterThanOrEqual(15);
    expect(metric(m, 'kiln_requests_total', 'endpoint="/v1/chat/completions",status="200"')).toBeGreaterThanOrEqual(1);
    expect((await fetch(s.url + '/health')).status).toBe(200);
  });
});

describe('authentication and origins', () => {
  let a: Running;
  beforeAll(async () => {
    a = await startServer({ apiKey: 'sekret', allowedOrigins: ['http://localhost:3000'] });
  });
  afterAll(() => a.close());

  it('a missing or wrong key is 401; the right key works; /health needs none', async () => {
    const none = await post(a.url, '/v1/completions', { model: 'test-model', prompt: 'x', max_tokens: 1 });
    expect(none.status).toBe(401);
    expect(none.json.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    const wrong = await post(a.url, '/v1/completions', { model: 'test-model', prompt: 'x', max_tokens: 1 }, { Authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect((await fetch(a.url + '/metrics')).status).toBe(401);
    const ok = await a.client.completions.create({ model: 'test-model', prompt: 'And', max_tokens: 2 });
    expect(ok.choices).toHaveLength(1);
    expect((await fetch(a.url + '/health')).status).toBe(200);
  });

  it('an allowed origin gets CORS headers, another origin 403', async () => {
    const pre = await fetch(a.url + '/v1/completions', { method: 'OPTIONS', headers: { Origin: 'http://localhost:3000' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    const bad = await post(a.url, '/v1/completions', { model: 'test-model', prompt: 'x' }, { Origin: 'http://evil.example', Authorization: 'Bearer sekret' });
    expect(bad.status).toBe(403);
    expect(bad.json.error.code).toBe('origin_not_allowed');
  });
});

describe('faults', () => {
  it('a client that disconnects mid-stream cancels its request and frees its KV blocks at once', async () => {
    const engine = s.server.engine;
    const freeBefore = engine.snapshot().blocksUsed;
    const body = JSON.stringify({ model: 'test-model', prompt: 'And God said', max_tokens: 60, temperature: 0, stream: true });
    const { port } = s.server.address() as { port: number };
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/v1/completions', method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
        let chunks = 0;
        res.on('data', () => {
          if (++chunks === 3) {
            expect(engine.snapshot().blocksUsed).toBeGreaterThan(freeBefore);
            req.destroy();
            // the close event reaches the server on its next turn of the event loop
            setTimeout(resolve, 50);
          }
        });
      });
      req.on('error', () => {});
      req.end(body);
      setTimeout(() => reject(new Error('no chunks')), 30_000);
    });
    const snap = engine.snapshot();
    expect(snap.blocksUsed).toBe(freeBefore);
    expect(snap.running).toBe(0);
    const m = await (await fetch(s.url + '/metrics')).text();
    expect(metric(m, 'kiln_requests_cancelled_total')).toBeGreaterThanOrEqual(1);
  });

  it('past --max-queue, 429 with Retry-After in OpenAI shape; the queued ones still complete', async () => {
    const q = await startServer({ maxQueue: 2, maxConcurrency: 1 });
    try {
      const mk = () => post(q.url, '/v1/completions', { model: 'test-model', prompt: 'And God said', max_tokens: 6, temperature: 0 });
      const rs = await Promise.all([mk(), mk(), mk(), mk(), mk(), mk()]);
      const limited = rs.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      for (const r of limited) {
        expect(r.headers.get('retry-after')).toBe('1');
        expect(r.json.error).toMatchObject({ type: 'rate_limit_error', code: 'queue_full' });
      }
      const ok = rs.filter((r) => r.status === 200);
      expect(ok.length).toBeGreaterThanOrEqual(3);
      expect(new Set(ok.map((r) => r.json.choices[0].text)).size).toBe(1);
    } finally {
      await q.close();
    }
  });
});
