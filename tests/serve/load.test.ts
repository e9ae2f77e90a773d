// Load and faults on loopback: 64 concurrent client loops for KILN_SERVE_LOAD_SECONDS (default 2;
// the full run is 30: KILN_SERVE_LOAD_SECONDS=30 npx vitest run tests/serve/load.test.ts),
// 10 % malformed requests and 10 % clients that disconnect mid-stream. No crash; every
// well-formed request gets the greedy reference text; KV blocks and kn.memory.active() return to
// their idle values; /metrics agrees with the counts kept by the clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import * as kn from '../../index.js';
import { metric, post, reference, startServer, type Running } from './helpers.js';

const SECONDS = Number(process.env.KILN_SERVE_LOAD_SECONDS ?? 2);
const STREAMS = 64;

let s: Running;
const PROMPTS = [
  'In the beginning',
  'And God said',
  'Blessed are the',
  'And it came to pass',
  'Thus saith the LORD',
  'And Moses said',
  'The LORD is my',
  'Hear, O Israel',
];
const refs = new Map<string, string>();
let idleActive = 0;

beforeAll(async () => {
  s = await startServer({ maxConcurrency: 32 });
  for (const p of PROMPTS) refs.set(p, await reference(s.model, s.tokenizer, s.tokenizer.encode(p), 8));
  // warm up every path once (prefill, decode, sampling with and without logprobs), then measure idle memory
  await post(s.url, '/v1/completions', { model: 'test-model', prompt: PROMPTS[0], max_tokens: 4, temperature: 0.7, seed: 1, logprobs: 2 });
  await s.server.engine.idle();
  idleActive = kn.memory.active();
}, 120_000);
afterAll(() => s.close());

/** A tiny deterministic RNG (mulberry32) so every run mixes the same way. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MALFORMED: [unknown, number][] = [
  ['{"model": "test-model", "prompt": ', 400],
  [{ model: 'nope', prompt: 'x' }, 404],
  [{ model: 'test-model', prompt: 'x', temperature: -1 }, 400],
  [{ model: 'test-model', prompt: 'x', max_tokens: 99999 }, 400],
];

/** Streams a completion and hangs up after the second chunk. */
function disconnectMidStream(port: number, prompt: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/completions', method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let n = 0;
      res.on('data', () => {
        if (++n === 2) {
          req.destroy();
          resolve();
        }
      });
      res.on('end', resolve);
    });
    req.on('error', () => resolve());
    req.end(JSON.stringify({ model: 'test-model', prompt, max_tokens: 200, temperature: 0, stream: true }));
  });
}

async function streamText(url: string, prompt: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url + '/v1/completions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'test-model', prompt, max_tokens: 8, temperature: 0, stream: true }),
  });
  const body = await r.text();
  let text = '';
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    text += JSON.parse(line.slice(6)).choices[0]?.text ?? '';
  }
  return { status: r.status, text };
}

describe(`load: ${STREAMS} concurrent streams for ${SECONDS} s with faults`, () => {
  it(
    'survives, answers every well-formed request correctly and returns to idle',
    async () => {
      const { port } = s.server.address() as { port: number };
      const counts = { ok: 0, wrong: 0, malformed: new Map<number, number>(), disconnects: 0, other: 0 };
      const m0 = await (await fetch(s.url + '/metrics')).text();
      const base = {
        ok: metric(m0, 'kiln_requests_total', 'endpoint="/v1/completions",status="200"'),
        e400: metric(m0, 'kiln_requests_total', 'endpoint="/v1/completions",status="400"'),
        e404: metric(m0, 'kiln_requests_total', 'endpoint="/v1/completions",status="404"'),
        cancelled: metric(m0, 'kiln_requests_cancelled_total'),
      };
      const deadline = Date.now() + SECONDS * 1000;
      const loop = async (i: number) => {
        const r = rng(i + 1);
        while (Date.now() < deadline) {
          const x = r(),
            prompt = PROMPTS[Math.floor(r() * PROMPTS.length)];
          if (x < 0.1) {
            const [body, status] = MALFORMED[Math.floor(r() * MALFORMED.length)];
            const res = await post(s.url, '/v1/completions', body as object);
            counts.malformed.set(status, (counts.malformed.get(status) ?? 0) + 1);
            if (res.status !== status || !res.json.error) counts.other++;
          } else if (x < 0.2) {
            await disconnectMidStream(port, prompt);
            counts.disconnects++;
          } else {
            const res = await streamText(s.url, prompt);
            if (res.status === 200 && res.text === refs.get(prompt)) counts.ok++;
            else counts.wrong++;
          }
        }
      };
      await Promise.all(Array.from({ length: STREAMS }, (_, i) => loop(i)));
      await s.server.engine.idle();
      // a hang-up's close event may still be on its way
      await new Promise((r) => setTimeout(r, 100));

      expect(counts.wrong).toBe(0);
      expect(counts.other).toBe(0);
      expect(counts.ok).toBeGreaterThan(0);
      const snap = s.server.engine.snapshot();
      expect(snap.blocksUsed).toBe(0);
      expect(snap.running + snap.waiting).toBe(0);
      // nothing grew; it may shrink: arrays dropped before the baseline (the references, the warm-up)
      // are freed by the GC's finalizers whenever they run
      expect(kn.memory.active()).toBeLessThanOrEqual(idleActive);

      const m = await (await fetch(s.url + '/metrics')).text();
      expect(metric(m, 'kiln_requests_total', 'endpoint="/v1/completions",status="200"') - base.ok).toBe(counts.ok);
      expect(metric(m, 'kiln_requests_total', 'endpoint="/v1/completions",status="400"') - base.e400).toBe(counts.malformed.get(400) ?? 0);
      expect(metric(m, 'kiln_requests_total', 'endpoint="/v1/completions",status="404"') - base.e404).toBe(counts.malformed.get(404) ?? 0);
      expect(metric(m, 'kiln_requests_cancelled_total') - base.cancelled).toBe(counts.disconnects);
      expect(metric(m, 'kiln_kv_blocks_used')).toBe(0);
      expect(metric(m, 'kiln_queue_depth')).toBe(0);
      console.log(
        `load: ${counts.ok} ok, ${counts.disconnects} disconnects, ${[...counts.malformed.values()].reduce((a, b) => a + b, 0)} malformed in ${SECONDS} s`,
      );
    },
    120_000 + SECONDS * 3000,
  );
});
