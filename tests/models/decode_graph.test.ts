// The compiled decode step (models/decode_graph.ts) against the eager step it replaces: the same
// greedy tokens and log-probabilities for every family and RoPE variant it runs, one trace for a
// whole generation, capacity growth mid-generation, and the eager fallback (with its reason) for
// the caches and models it does not run.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { CONFIGS } from './tiny.js';

/** The native buffer behind an evaluated array (internal: where the cache's keys live). */
const bufferOf = (a: kn.NDArray): number => (a as unknown as { node: { data: { buf: { id: number } } } }).node.data.buf.id;

const PROMPT = [3, 17, 5, 42, 8, 11, 29];

async function decode(model: kn.models.LanguageModel, compiled: boolean, maxTokens: number, cache = kn.models.makeCache(model)) {
  const tokens: number[] = [];
  const logprobs: Float32Array[] = [];
  const bufs: number[] = [];
  const sampler = kn.models.makeSampler();
  for await (const r of kn.models.generateStep(model, PROMPT, { cache, sampler, maxTokens, compiled })) {
    tokens.push(r.token);
    logprobs.push(r.logprobs.toTypedArray() as Float32Array);
    bufs.push(bufferOf((cache[0] as kn.models.KVCache).keys!));
  }
  return { tokens, logprobs, cache, bufs };
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((x, i) => x.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

describe('compiled decode graph', () => {
  for (const name of ['llama', 'llama_tied_bias', 'llama3', 'llama_linear', 'qwen2', 'qwen3']) {
    it(`${name}: the same tokens and log-probabilities as eager decode, from one trace`, async () => {
      const model = kn.models.modelFromConfig(CONFIGS[name], { seed: 7 });
      expect(kn.models.DecodeGraph.unsupported(model, kn.models.makeCache(model))).toBeNull();
      const eager = await decode(model, false, 12);
      const graph = await decode(model, true, 12);
      expect(graph.tokens).toEqual(eager.tokens);
      expect(maxDiff(graph.logprobs, eager.logprobs)).toBeLessThan(2e-5);
      // the cache ends where eager decode leaves it: prompt + generated tokens (the last one queued)
      expect(graph.cache[0].offset).toBe(eager.cache[0].offset);
      const g = kn.models.DecodeGraph.for(model, graph.cache)!;
      expect(g.info.traces).toBe(1);
      expect(g.info.calls).toBe(12); // every token comes from one replay (the prefill leaves the last prompt token for it)
      expect(graph.bufs.slice(2).every((b) => b === graph.bufs[1])).toBe(true); // each row is written in place
      for (const c of [...eager.cache, ...graph.cache]) (c as kn.models.KVCache).dispose();
    });
  }

  it('bfloat16 weights: tokens equal eager decode while the margin allows', async () => {
    const model = kn.models.modelFromConfig(CONFIGS.llama3, { seed: 3, dtype: 'bfloat16' });
    const eager = await decode(model, false, 8);
    const graph = await decode(model, true, 8);
    expect(graph.tokens).toEqual(eager.tokens);
    expect(maxDiff(graph.logprobs, eager.logprobs)).toBeLessThan(0.05);
  });

  it('grows the cache across its capacity mid-generation (a new trace per capacity), values intact', async () => {
    const model = kn.models.modelFromConfig(CONFIGS.llama, { seed: 2 });
    const g = kn.models.DecodeGraph.for(model, kn.models.makeCache(model))!;
    const cacheA = kn.models.makeCache(model, {}) as kn.models.KVCache[];
    const cacheB = kn.models.makeCache(model, {}) as kn.models.KVCache[];
    // fill both caches to just below a 256 boundary with the same eager prefill
    const prompt = kn.array([Array.from({ length: 254 }, (_, i) => (i * 13) % 61)], 'int32');
    for (const c of [cacheA, cacheB])
      kn.tidy(() => {
        model.forward(prompt, { cache: c });
        kn.eval(kn.models.cacheState(c));
      });
    expect(cacheA[0].capacity).toBe(256);
    const tracesBefore = g.info.traces;
    for (let i = 0; i < 4; i++) {
      const t = kn.array([[(i * 7) % 61]], 'int32');
      const eager = kn.tidy(() => kn.keep(kn.reshape(kn.astype(model.forward(t, { cache: cacheA }), 'float32'), [1, 61])));
      kn.eval(eager, ...kn.models.cacheState(cacheA));
      const compiled = kn.tidy(() => kn.keep(g.step(t, cacheB)));
      expect(kn.max(kn.abs(kn.subtract(eager, compiled))).item()).toBeLessThan(2e-5);
      expect(cacheB[0].offset).toBe(cacheA[0].offset);
      kn.dispose(eager, compiled, t);
    }
    // 254 + 4 positions: the compiled path doubled the capacity once
    expect(cacheB[0].capacity).toBe(512);
    expect(g.info.traces - tracesBefore).toBe(2); // capacity 256, then 512
    const [ka] = cacheA[0].state,
      [kb] = cacheB[0].state;
    const rows = (x: kn.NDArray) => kn.slice(x, [{}, {}, { start: 0, stop: 258 }, {}]);
    expect(kn.max(kn.abs(kn.subtract(rows(ka), rows(kb)))).item()).toBeLessThan(1e-5);
    for (const c of [...cacheA, ...cacheB]) c.dispose();
    prompt.dispose();
  });

  it('falls back to eager decode, naming why, for caches and models it does not run', () => {
    const llama = kn.models.modelFromConfig(CONFIGS.llama, { seed: 1 });
    expect(kn.models.DecodeGraph.unsupported(llama, kn.models.makeCache(llama, { maxKvSize: 16 }))).toMatch(/RotatingKVCache/);
    expect(kn.models.DecodeGraph.unsupported(llama, kn.models.makeCache(llama, { leftPadding: [0] }))).toMatch(/left-padded/);
    const q = Array.from({ length: llama.numLayers }, () => new kn.models.QuantizedKVCache({ bits: 8 }));
    expect(kn.models.DecodeGraph.unsupported(llama, q)).toMatch(/QuantizedKVCache/);
    expect(kn.models.DecodeGraph.unsupported(llama, kn.models.makeCache(llama).slice(1))).toMatch(/1 caches for 2 layers/);
    const mistral = kn.models.modelFromConfig(CONFIGS.mistral, { seed: 1 });
    expect(kn.models.DecodeGraph.unsupported(mistral, kn.models.makeCache(mistral))).toMatch(/sliding-window/);
    const yarn = kn.models.modelFromConfig(CONFIGS.llama_yarn, { seed: 1 });
    expect(kn.models.DecodeGraph.unsupported(yarn, kn.models.makeCache(yarn))).toMatch(/rope_scaling type "yarn"/);
    expect(kn.models.DecodeGraph.for(yarn, kn.models.makeCache(yarn))).toBeNull();
  });

  it('a one-token row only: more tokens per row is an error naming the shape', () => {
    const model = kn.models.modelFromConfig(CONFIGS.llama, { seed: 1 });
    const cache = kn.models.makeCache(model) as kn.models.KVCache[];
    const g = kn.models.DecodeGraph.for(model, cache)!;
    expect(() => g.step(kn.array([[1, 2]], 'int32'), cache)).toThrow(/one token per row, got tokens of shape \[1,2\]/);
    expect(cache[0].offset).toBe(0);
  });
});
