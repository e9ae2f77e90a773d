// The official openai client against a real server on loopback (the shipped kjv model and a tiny
// random Llama with the Llama-3 tokenizer): chat and completions, streaming and not, stop
// strings, usage, seeds, n > 1, logprobs. Greedy answers are checked against the plain
// (unpaged, unbatched) generate path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { writeTinyModel } from '../models/tiny_model.js';
import { reference, startServer, type Running } from './helpers.js';

let s: Running;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.close());

const messages = [{ role: 'user' as const, content: 'Who made the heaven?' }];
const chatIds = () => s.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, tokenize: true }) as number[];

describe('kiln serve with the openai client (kjv model)', () => {
  it('lists the model', async () => {
    const list = await s.client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['test-model']);
  });

  it('chat, not streamed: the greedy text, finish_reason and usage', async () => {
    const r = await s.client.chat.completions.create({ model: 'test-model', messages, max_tokens: 12, temperature: 0 });
    const want = await reference(s.model, s.tokenizer, chatIds(), 12);
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0].message).toMatchObject({ role: 'assistant', content: want });
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.usage).toMatchObject({ prompt_tokens: chatIds().length, completion_tokens: 12, total_tokens: chatIds().length + 12 });
  });

  it('chat, streamed: the deltas join to the same text; include_usage adds a last usage chunk', async () => {
    const stream = await s.client.chat.completions.create({
      model: 'test-model',
      messages,
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '',
      finish = null,
      usage = null,
      role = null;
    for await (const c of stream) {
      if (c.usage) usage = c.usage;
      for (const ch of c.choices) {
        if (ch.delta.role) role = ch.delta.role;
        text += ch.delta.content ?? '';
        if (ch.finish_reason) finish = ch.finish_reason;
      }
    }
    expect(role).toBe('assistant');
    expect(text).toBe(await reference(s.model, s.tokenizer, chatIds(), 12));
    expect(finish).toBe('length');
    expect(usage).toMatchObject({ prompt_tokens: chatIds().length, completion_tokens: 12 });
  });

  it('completions: a string prompt, streamed and not, give the same greedy text', async () => {
    const ids = s.tokenizer.encode('And God said');
    const want = await reference(s.model, s.tokenizer, ids, 10);
    const r = await s.client.completions.create({ model: 'test-model', prompt: 'And God said', max_tokens: 10, temperature: 0 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0].text).toBe(want);
    expect(r.usage?.prompt_tokens).toBe(ids.length);
    const stream = await s.client.completions.create({ model: 'test-model', prompt: 'And God said', max_tokens: 10, temperature: 0, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.text ?? '';
    expect(text).toBe(want);
  });

  it('stop strings end the text before the stop, with finish_reason stop', async () => {
    const ids = s.tokenizer.encode('And God said');
    const full = await reference(s.model, s.tokenizer, ids, 10); // ' unto them, I have given them a'
    const stop = full.slice(6, 10);
    const r = await s.client.completions.create({ model: 'test-model', prompt: 'And God said', max_tokens: 10, temperature: 0, stop: [stop] });
    expect(r.choices[0].text).toBe(full.slice(0, full.indexOf(stop)));
    expect(r.choices[0].finish_reason).toBe('stop');
  });

  it('seeded sampling is reproducible; n > 1 gives n choices that differ', async () => {
    const ask = () => s.client.completions.create({ model: 'test-model', prompt: 'In the beginning', max_tokens: 12, temperature: 1, seed: 7, n: 3 });
    const [a, b] = [await ask(), await ask()];
    expect(a.choices.map((c) => c.text)).toEqual(b.choices.map((c) => c.text));
    expect(a.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(a.choices.map((c) => c.text)).size).toBeGreaterThan(1);
    expect(a.usage?.prompt_tokens).toBe(s.tokenizer.encode('In the beginning').length);
    expect(a.usage!.completion_tokens).toBeGreaterThan(12);
    expect(a.usage!.completion_tokens).toBeLessThanOrEqual(36);
    const other = await s.client.completions.create({ model: 'test-model', prompt: 'In the beginning', max_tokens: 12, temperature: 1, seed: 8 });
    expect(other.choices[0].text).not.toBe(a.choices[0].text);
  });

  it('logprobs: the chosen token is the top alternative under greedy decoding; values are log-probabilities', async () => {
    const r = await s.client.chat.completions.create({ model: 'test-model', messages, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3 });
    const content = r.choices[0].logprobs!.content!;
    expect(content).toHaveLength(5);
    for (const t of content) {
      expect(t.top_logprobs).toHaveLength(3);
      expect(t.token).toBe(t.top_logprobs[0].token);
      expect(t.logprob).toBeCloseTo(t.top_logprobs[0].logprob, 5);
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top_logprobs[1].logprob).toBeLessThanOrEqual(t.top_logprobs[0].logprob);
    }
    expect(content.map((t) => t.token).join('')).toBe(r.choices[0].message.content);
  });

  it('logit_bias bans a token; presence/frequency penalties change the greedy text', async () => {
    const ids = s.tokenizer.encode('And God said');
    const plain = await s.client.completions.create({ model: 'test-model', prompt: ids, max_tokens: 6, temperature: 0, logprobs: 1 });
    const first = s.tokenizer.encode(plain.choices[0].logprobs!.tokens![0], { addSpecialTokens: false });
    const banned = await s.client.completions.create({ model: 'test-model', prompt: ids, max_tokens: 6, temperature: 0, logit_bias: { [first[0]]: -100 } });
    expect(banned.choices[0].text.startsWith(plain.choices[0].logprobs!.tokens![0])).toBe(false);
    const pen = await s.client.completions.create({ model: 'test-model', prompt: ids, max_tokens: 24, temperature: 0, frequency_penalty: 2 });
    const base = await s.client.completions.create({ model: 'test-model', prompt: ids, max_tokens: 24, temperature: 0 });
    expect(pen.choices[0].text).not.toBe(base.choices[0].text);
  });
});

describe('kiln serve with a tiny random model (Llama-3 tokenizer)', () => {
  let t: Running, dir: string;
  beforeAll(async () => {
    dir = writeTinyModel({ seed: 3 });
    t = await startServer({ path: dir });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('chat and completions match the plain generate path', async () => {
    const ids = t.tokenizer.applyChatTemplate([{ role: 'user', content: 'hello there' }], { addGenerationPrompt: true, tokenize: true }) as number[];
    const want = await reference(t.model, t.tokenizer, ids, 8);
    const r = await t.client.chat.completions.create({
      model: 'test-model',
      messages: [{ role: 'user', content: 'hello there' }],
      max_tokens: 8,
      temperature: 0,
    });
    expect(r.choices[0].message.content).toBe(want);
    const c = await t.client.completions.create({ model: 'test-model', prompt: 'The quick brown fox', max_tokens: 8, temperature: 0 });
    expect(c.choices[0].text).toBe(await reference(t.model, t.tokenizer, t.tokenizer.encode('The quick brown fox'), 8));
  });
});
