// Generation on a tiny random-weight Llama with the real Llama-3 tokenizer: stop strings, maxTokens
// and finish reasons, streaming text = decode, speculative decoding = plain greedy with fewer
// target forwards, memory flat over 2,000 tokens, batch rows = single runs, option errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import * as kn from '../../index.js';
import { TINY_CONFIG, writeTinyModel } from './tiny_model.js';

type Loaded = Awaited<ReturnType<typeof kn.models.load>>;
let dir: string;
let model: Loaded['model'], tok: Loaded['tokenizer'];

beforeAll(async () => {
  dir = writeTinyModel({ seed: 1 });
  ({ model, tokenizer: tok } = await kn.models.load(dir));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = 'In the beginning God created';

async function collect(prompt: string | number[], opts: kn.models.GenerateOptions = {}, m = model) {
  const rs: Omit<kn.models.GenerationResponse, 'logprobs'>[] = [];
  for await (const r of kn.models.streamGenerate(m, tok, prompt, opts)) {
    const { logprobs, ...rest } = r;
    expect(logprobs.shape).toEqual([model.vocabSize]);
    rs.push(rest);
  }
  return rs;
}

/** Counts forward passes of a model (the real forward runs). */
function counting(m: kn.models.LanguageModel) {
  const counter = { calls: 0 };
  const orig = m.forward.bind(m);
  (m as { forward: typeof m.forward }).forward = (t, o) => {
    counter.calls++;
    return orig(t, o);
  };
  return counter;
}

describe('streamGenerate', () => {
  it('maxTokens: exactly that many responses, the last with finishReason length', async () => {
    const rs = await collect(PROMPT, { maxTokens: 7 });
    expect(rs.length).toBe(7);
    expect(rs.slice(0, 6).every((r) => r.finishReason === null)).toBe(true);
    expect(rs[6].finishReason).toBe('length');
    expect(rs[6].generationTokens).toBe(7);
    expect(rs[6].promptTokens).toBe(tok.encode(PROMPT).length);
    expect(rs[6].peakMemory).toBeGreaterThan(0);
  });

  it('the streamed text concatenates to the decoded tokens', async () => {
    const rs = await collect(PROMPT, { maxTokens: 40 });
    expect(rs.map((r) => r.text).join('')).toBe(tok.decode(rs.map((r) => r.token)));
    expect(await kn.models.generate(model, tok, PROMPT, { maxTokens: 40 })).toBe(rs.map((r) => r.text).join(''));
  });

  it('a string prompt equals its token ids', async () => {
    const a = await kn.models.generate(model, tok, PROMPT, { maxTokens: 12 });
    expect(await kn.models.generate(model, tok, tok.encode(PROMPT), { maxTokens: 12 })).toBe(a);
  });

  it('greedy decoding follows the argmax of a step-by-step forward without cache', async () => {
    const ids = tok.encode(PROMPT);
    const rs = await collect(ids, { maxTokens: 5 });
    const seq = [...ids];
    for (let i = 0; i < 5; i++) {
      const next = kn.tidy(() => {
        const logits = model.forward(kn.array([seq], 'int32'));
        return kn.argmax(kn.slice(logits, [{}, { start: seq.length - 1 }, {}]), -1).item() as number;
      });
      expect(rs[i].token).toBe(next);
      seq.push(next);
    }
  });

  it('a stop string ends generation before it and is not emitted', async () => {
    const full = await kn.models.generate(model, tok, PROMPT, { maxTokens: 40 });
    expect(full.length).toBeGreaterThan(12);
    const stop = full.slice(8, 11);
    const rs = await collect(PROMPT, { maxTokens: 40, stop: ['never-there', stop] });
    const text = rs.map((r) => r.text).join('');
    expect(text).toBe(full.slice(0, full.indexOf(stop)));
    expect(rs[rs.length - 1].finishReason).toBe('stop');
  });

  it('an EOS token stops with finishReason stop and adds no text', async () => {
    const eos = tok.eosTokenIds[0];
    const rs = await collect(PROMPT, { maxTokens: 10, logitBias: { [eos]: 1e4 } });
    expect(rs.length).toBe(1);
    expect(rs[0]).toMatchObject({ token: eos, text: '', finishReason: 'stop' });
  });

  it('chunked prefill gives the same tokens', async () => {
    const a = (await collect(PROMPT + ' the heaven and the earth', { maxTokens: 8 })).map((r) => r.token);
    const b = (await collect(PROMPT + ' the heaven and the earth', { maxTokens: 8, prefillStepSize: 3 })).map((r) => r.token);
    expect(b).toEqual(a);
  });

  it('a rotating cache that never fills gives the same tokens; one that rotates keeps going', async () => {
    const a = (await collect(PROMPT, { maxTokens: 20 })).map((r) => r.token);
    expect((await collect(PROMPT, { maxTokens: 20, maxKvSize: 512 })).map((r) => r.token)).toEqual(a);
    const long = await collect(PROMPT, { maxTokens: 80, maxKvSize: 16 });
    expect(long.length).toBe(80);
  });

  it('seeded sampling is reproducible; logits processors change the choice', async () => {
    const s1 = await kn.models.generate(model, tok, PROMPT, { maxTokens: 15, temp: 1, seed: 3 });
    expect(await kn.models.generate(model, tok, PROMPT, { maxTokens: 15, temp: 1, seed: 3 })).toBe(s1);
    expect(await kn.models.generate(model, tok, PROMPT, { maxTokens: 15, temp: 1, seed: 4 })).not.toBe(s1);
    const first = (await collect(PROMPT, { maxTokens: 1 }))[0].token;
    const banned = (await collect(PROMPT, { maxTokens: 1, logitBias: { [first]: -1e4 } }))[0].token;
    expect(banned).not.toBe(first);
  });

  it('a caller cache keeps the conversation: continuing from it equals one longer prompt', async () => {
    const ids = tok.encode(PROMPT);
    const cache = kn.models.makeCache(model);
    const first = await collect(ids.slice(0, 4), { maxTokens: 1, promptCache: cache });
    // the cache holds 4 prompt tokens (+1 queued only when more tokens were wanted)
    expect(cache[0].offset).toBe(4);
    void first;
    const rest = await collect(ids.slice(4), { maxTokens: 6, promptCache: cache });
    expect(rest.map((r) => r.token)).toEqual((await collect(ids, { maxTokens: 6 })).map((r) => r.token));
    for (const c of cache) (c as kn.models.KVCache).dispose();
  });
});

describe('speculative decoding', () => {
  it('a perfect draft (same weights) gives plain greedy output with far fewer target forwards', async () => {
    const plain = counting(model);
    const ref = (await collect(PROMPT, { maxTokens: 24 })).map((r) => r.token);
    const plainCalls = plain.calls;
    const target = kn.models.modelFromConfig(TINY_CONFIG, { seed: 1 });
    const draft = kn.models.modelFromConfig(TINY_CONFIG, { seed: 1 });
    const t = counting(target);
    const rs = await collect(PROMPT, { maxTokens: 24, draftModel: draft, numDraftTokens: 3 }, target);
    expect(rs.map((r) => r.token)).toEqual(ref);
    // prefill (all but the last prompt token); the 24 decode steps replay the compiled decode graph
    expect(plainCalls).toBe(process.env.KILN_DISABLE_COMPILE === '1' ? 25 : 1);
    process.env.KILN_DECODE_GRAPH = '0';
    try {
      const eager = counting(model);
      expect((await collect(PROMPT, { maxTokens: 24 })).map((r) => r.token)).toEqual(ref);
      expect(eager.calls).toBe(25); // eager decode: prefill + 24 steps
    } finally {
      delete process.env.KILN_DECODE_GRAPH;
    }
    // prefill + 24 tokens in rounds of 4 (3 accepted + 1)
    expect(t.calls).toBe(1 + 6);
    expect(rs.filter((r) => r.fromDraft).length).toBe(18);
  });

  it('a poor draft (other weights) still gives exactly the plain greedy output', async () => {
    const ref = (await collect(PROMPT, { maxTokens: 30 })).map((r) => r.token);
    const draft = kn.models.modelFromConfig({ ...TINY_CONFIG, num_hidden_layers: 1 }, { seed: 7 });
    const target = kn.models.modelFromConfig(TINY_CONFIG, { seed: 1 });
    const t = counting(target);
    const rs = await collect(PROMPT, { maxTokens: 30, draftModel: draft, numDraftTokens: 4 }, target);
    expect(rs.map((r) => r.token)).toEqual(ref);
    expect(rs[rs.length - 1].finishReason).toBe('length');
    expect(t.calls).toBeLessThanOrEqual(31);
  });
});

describe('memory', () => {
  it('stays flat over 2,000 tokens apart from the cache', async () => {
    const cache = kn.models.makeCache(model);
    const cacheBytes = () => kn.models.cacheState(cache).reduce((s, a) => s + a.nbytes, 0);
    const samples: { active: number; buffers: number; cache: number }[] = [];
    let n = 0;
    for await (const r of kn.models.streamGenerate(model, tok, PROMPT, { maxTokens: 2000, promptCache: cache, logitBias: { [tok.eosTokenIds[0]]: -1e4 } })) {
      void r;
      n++;
      if (n % 250 === 0) {
        // a sequenced read waits for the step queued ahead: its intermediates are freed by then
        const z = kn.zeros([1]);
        z.item();
        z.dispose();
        samples.push({ active: kn.memory.active(), buffers: kn.memory.buffers(), cache: cacheBytes() });
      }
    }
    expect(n).toBe(2000);
    const base = samples[0];
    // never more buffers, nor more bytes besides the cache, than after 250 tokens (fewer can happen:
    // the GC may free garbage of earlier tests meanwhile)
    for (const s of samples) {
      expect(s.buffers).toBeLessThanOrEqual(base.buffers);
      expect(s.active - s.cache).toBeLessThanOrEqual(base.active - base.cache + 1024);
    }
    expect(samples[samples.length - 1].cache).toBeGreaterThan(base.cache);
    for (const c of cache) (c as kn.models.KVCache).dispose();
  });
});

describe('batchGenerate', () => {
  it('each row equals its single generation (left padding masked)', async () => {
    const prompts = [PROMPT, 'And the earth was without form', 'Hi'];
    const { texts, tokens, finishReasons } = await kn.models.batchGenerate(model, tok, prompts, { maxTokens: 12 });
    for (let i = 0; i < prompts.length; i++) {
      const single = await collect(prompts[i], { maxTokens: 12 });
      expect(tokens[i]).toEqual(single.map((r) => r.token));
      expect(texts[i]).toBe(single.map((r) => r.text).join(''));
    }
    expect(finishReasons).toEqual(['length', 'length', 'length']);
  });
});

describe('errors', () => {
  it('empty prompts, bad token ids and bad options are clear errors', async () => {
    const run = (p: string | number[], o: Record<string, unknown> = {}) => kn.models.generate(model, tok, p, o as kn.models.GenerateOptions);
    await expect(run('')).rejects.toThrow('[generate] the prompt is empty');
    await expect(run([])).rejects.toThrow('[generate] the prompt is empty');
    await expect(run([1, 999999])).rejects.toThrow('[generate] prompt token 1 is 999999, not a token id in [0, 128256)');
    await expect(run(PROMPT, { topP: 1.5 })).rejects.toThrow('[generate] topP must be in (0, 1], got 1.5');
    await expect(run(PROMPT, { temp: -0.5 })).rejects.toThrow('[generate] temp must be a finite number >= 0, got -0.5');
    await expect(run(PROMPT, { maxTokens: 2.5 })).rejects.toThrow('[generate] maxTokens must be an integer >= 0, got 2.5');
    await expect(run(PROMPT, { repetitionPenalty: -1 })).rejects.toThrow('[generate] repetitionPenalty must be a finite number > 0, got -1');
    await expect(run(PROMPT, { maxToken: 3 })).rejects.toThrow('[generate] unknown option "maxToken"');
    await expect(run(PROMPT, { stop: 5 })).rejects.toThrow('[generate] stop must be a string or an array of strings');
    const other = kn.models.modelFromConfig({ ...TINY_CONFIG, vocab_size: 1000 });
    await expect(run(PROMPT, { draftModel: other })).rejects.toThrow("[generate] the draft model's vocabulary (1000 tokens) differs from the model's (128256)");
    await expect(run(PROMPT, { draftModel: model, maxKvSize: 64 })).rejects.toThrow('maxKvSize (a rotating cache) cannot be combined with draftModel');
    await expect(kn.models.batchGenerate(model, tok, [])).rejects.toThrow('[batchGenerate] prompts must be a non-empty array');
    await expect(kn.models.batchGenerate(model, tok, ['a', ''])).rejects.toThrow('[batchGenerate] the prompt is empty');
  });
});
