// Continuous batching and the paged KV pool change no result: 16 concurrent greedy requests of
// different lengths give exactly what each gives alone (and what the plain generate path gives),
// and a KV budget far too small for all of them at once still completes every one correctly,
// through preemption and resumption.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { Engine } from '../../models/serve/engine.js';
import type { SamplingParams } from '../../models/serve/sampling.js';
import { loadOnce, KJV, metric, post, reference, startServer } from './helpers.js';

const GREEDY: SamplingParams = {
  temperature: 0,
  topP: 1,
  topK: 0,
  minP: 0,
  seed: null,
  presencePenalty: 0,
  frequencyPenalty: 0,
  logitBias: null,
  logprobs: false,
  topLogprobs: 0,
};

const PHRASES = ['In the beginning', 'And the LORD spake unto Moses, saying', 'Blessed are', 'And it came to pass', 'Thus saith the LORD'];
/** 16 prompts of 3..40 tokens and 4..14 new tokens each. */
const cases = (tok: { encode(s: string): number[] }) =>
  Array.from({ length: 16 }, (_, i) => ({ ids: tok.encode(PHRASES[i % 5] + ' and the'.repeat(i)), max: 4 + (i % 6) * 2 }));

function runSeq(engine: Engine, prompt: number[], maxTokens: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const out: number[] = [];
    engine.submit({ prompt, maxTokens, stop: [], sampling: GREEDY }, (e) => {
      if (e.type === 'token') out.push(e.token);
      else if (e.type === 'done') resolve(out);
      else reject(new Error(e.message));
    });
  });
}

describe('batched equals alone', () => {
  it('16 concurrent greedy requests over HTTP give the texts each gives alone and the plain generate path gives', async () => {
    const s = await startServer({ maxConcurrency: 16 });
    try {
      const cs = cases(s.tokenizer).map((c, i) => ({ ...c, max: 3 + (i % 4) }));
      const ask = (c: { ids: number[]; max: number }) =>
        post(s.url, '/v1/completions', { model: 'test-model', prompt: c.ids, max_tokens: c.max, temperature: 0 });
      const alone = [];
      for (const c of cs) alone.push((await ask(c)).json.choices[0].text);
      const before = metric(await (await fetch(s.url + '/metrics')).text(), 'kiln_steps_total');
      const together = await Promise.all(cs.map(ask));
      const m = await (await fetch(s.url + '/metrics')).text();
      expect(together.map((r) => r.status)).toEqual(cs.map(() => 200));
      expect(together.map((r) => r.json.choices[0].text)).toEqual(alone);
      // they really ran together: far fewer steps than tokens
      const tokens = together.reduce((n, r) => n + r.json.usage.completion_tokens, 0);
      expect(metric(m, 'kiln_steps_total') - before).toBeLessThan(tokens / 2);
      for (const i of [0, 7, 15]) expect(alone[i]).toBe(await reference(s.model, s.tokenizer, cs[i].ids, cs[i].max));
    } finally {
      await s.close();
    }
  });

  it('the exact token ids agree, batched and alone, on the engine (tiny blocks: contexts span many blocks)', async () => {
    const { model, tokenizer } = await loadOnce(KJV);
    const engine = new Engine(model, tokenizer, { blockSize: 4, prefillChunk: 24, kvBudgetBytes: 8 * 2 ** 20 });
    const cs = cases(tokenizer);
    const alone: number[][] = [];
    for (const c of cs) alone.push(await runSeq(engine, c.ids, c.max));
    const together = await Promise.all(cs.map((c) => runSeq(engine, c.ids, c.max)));
    expect(together).toEqual(alone);
    await engine.idle();
    expect(engine.snapshot().blocksUsed).toBe(0);
    engine.dispose();
  });
});

describe('preemption', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  // 14 blocks of 16 tokens: each request needs 2-4 blocks, 10 of them need ~30
  const perBlock = 6 * 2 * 128 * 2 * 16;
  beforeAll(async () => {
    s = await startServer({ kvBudgetBytes: 14 * perBlock, maxConcurrency: 10, prefixCache: false });
  });
  afterAll(() => s.close());

  it('a KV budget too small for all requests still completes all of them, each as alone', async () => {
    const { tokenizer, model } = s;
    const cs = Array.from({ length: 10 }, (_, i) => ({ ids: tokenizer.encode(PHRASES[i % 5] + ' and'.repeat(i * 2)), max: 24 }));
    const rs = await Promise.all(cs.map((c) => post(s.url, '/v1/completions', { model: 'test-model', prompt: c.ids, max_tokens: c.max, temperature: 0 })));
    expect(rs.map((r) => r.status)).toEqual(cs.map(() => 200));
    const m = await (await fetch(s.url + '/metrics')).text();
    expect(metric(m, 'kiln_preemptions_total')).toBeGreaterThan(0);
    for (let i = 0; i < cs.length; i++) expect(rs[i].json.choices[0].text).toBe(await reference(model, tokenizer, cs[i].ids, cs[i].max));
    expect(metric(m, 'kiln_kv_blocks_used')).toBe(0);
  });

  it('a request that can never fit the pool is a 400 naming the sizes', async () => {
    const r = await post(s.url, '/v1/completions', { model: 'test-model', prompt: 'And', max_tokens: 400, temperature: 0 });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/maximum context length is 224 tokens/);
    expect(kn.memory.active()).toBeGreaterThan(0);
  });
});
