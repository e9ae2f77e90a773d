// The shipped model (examples/models/kjv-llama-5m, trained by scripts/train_tiny_llama.mjs) against
// transformers: tests/fixtures/shipped_model_logits.json holds LlamaForCausalLM's float32 logits and
// greedy tokens and AutoTokenizer's ids, computed on the GPU machine by scripts/check_shipped_model.py.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import * as kn from '../../index.js';
import { Model } from '../../models/llama.js';
import { load } from '../../models/load.js';

const DIR = new URL('../../examples/models/kjv-llama-5m/', import.meta.url).pathname;
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const ref = readJson(new URL('../fixtures/shipped_model_logits.json', import.meta.url).pathname) as {
  prompts: { text: string; ids: number[]; transformers_ids: number[]; last_logits: number[]; argmax: number[] }[];
  greedy: { ids: number[]; tokens: number[] };
  chat: { rendered: string; ids: number[] };
  bfloat16_last_logits: number[];
  loading_info: Record<string, string[]>;
  problems: string[];
};
const config = readJson(`${DIR}config.json`);

/** The folder's model with its bfloat16 weights cast to `dtype`. */
function loadShipped(dtype: 'float32' | 'bfloat16'): Model {
  const model = new Model(config);
  const weights = new Map(Object.entries(kn.loadSafetensors(`${DIR}model.safetensors`).tensors).map(([k, v]) => [k, v.astype(dtype)]));
  model.loadWeights([...model.sanitize(weights)]);
  kn.eval(model.parameters());
  return model;
}

const lastLogits = (model: Model, ids: number[]) =>
  kn.tidy(() =>
    Array.from(
      model
        .forward(kn.array([ids], 'int32'))
        .index(0, -1)
        .astype('float32')
        .toTypedArray() as Float32Array,
    ),
  );
const maxAbs = (xs: ArrayLike<number>) => Array.from(xs).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const argmax = (xs: ArrayLike<number>) => Array.from(xs).reduce((best, x, i, all) => (x > all[best] ? i : best), 0);

describe('shipped model: the folder', () => {
  it('is a Llama Hugging Face folder of at most 20 MB and 10M parameters, loaded cleanly by transformers', () => {
    const bytes = readdirSync(DIR).reduce((n, f) => n + statSync(`${DIR}${f}`).size, 0);
    expect(bytes).toBeLessThanOrEqual(20 * 1024 * 1024);
    expect(config.model_type).toBe('llama');
    expect(config.architectures).toEqual(['LlamaForCausalLM']);
    const st = kn.loadSafetensors(`${DIR}model.safetensors`);
    const params = Object.values(st.tensors).reduce((n, t) => n + t.size, 0);
    expect(params).toBeLessThanOrEqual(10_000_000);
    expect(new Set(Object.values(st.tensors).map((t) => t.dtype))).toEqual(new Set(['bfloat16']));
    for (const keys of Object.values(ref.loading_info)) expect(keys).toEqual([]);
    expect(ref.problems).toEqual([]);
  });

  it('tokenizer.json gives the ids transformers gave, and round-trips', async () => {
    const hf = new HfTokenizer(readJson(`${DIR}tokenizer.json`), readJson(`${DIR}tokenizer_config.json`));
    for (const p of ref.prompts) {
      expect(hf.encode(p.text).ids).toEqual(p.transformers_ids);
      expect(hf.decode(p.transformers_ids, { skip_special_tokens: true })).toBe(p.text);
    }
    expect(hf.encode(ref.chat.rendered, { add_special_tokens: false }).ids).toEqual(ref.chat.ids);
  });
});

describe('shipped model: logits against transformers', () => {
  const model = loadShipped('float32');

  it('float32 last-position logits within 1e-4 relative, the same argmax at every position', () => {
    for (const p of ref.prompts) {
      const got = lastLogits(model, p.ids);
      expect(maxDiff(got, p.last_logits) / maxAbs(p.last_logits)).toBeLessThan(1e-4);
      const all = kn.tidy(
        () =>
          model
            .forward(kn.array([p.ids], 'int32'))
            .argmax(-1)
            .tolist() as number[][],
      );
      expect(all[0]).toEqual(p.argmax);
    }
  });

  it('greedy continuation of "And God said": the same 32 tokens', () => {
    const seq = [...ref.greedy.ids];
    for (let i = 0; i < 32; i++) seq.push(argmax(lastLogits(model, seq)));
    expect(seq.slice(ref.greedy.ids.length)).toEqual(ref.greedy.tokens);
  });

  it('bfloat16 weights and compute: logits within bfloat16 tolerance, the same top token', () => {
    const bf = loadShipped('bfloat16');
    const got = lastLogits(bf, ref.greedy.ids);
    expect(maxDiff(got, ref.bfloat16_last_logits) / maxAbs(ref.bfloat16_last_logits)).toBeLessThan(0.05);
    expect(argmax(got)).toBe(argmax(ref.bfloat16_last_logits));
  });
});

describe('shipped model: through models/load (what `kiln generate` uses)', () => {
  it("load() gives transformers' ids, chat rendering and float32 logits", async () => {
    const { model, tokenizer } = await load(DIR, { dtype: 'float32' });
    for (const p of ref.prompts) {
      expect(tokenizer.encode(p.text)).toEqual(p.transformers_ids);
      expect(tokenizer.decode(p.transformers_ids, { skipSpecialTokens: true })).toBe(p.text);
    }
    const chat = tokenizer.applyChatTemplate([{ role: 'user', content: 'And God said' }], { addGenerationPrompt: true, tokenize: false });
    expect(chat).toBe(ref.chat.rendered);
    expect(tokenizer.eosTokenIds).toEqual(expect.arrayContaining([config.eos_token_id[0], config.eos_token_id[1]]));
    const p = ref.prompts[1];
    const got = kn.tidy(() =>
      Array.from(
        model
          .forward(kn.array([p.ids], 'int32'))
          .index(0, -1)
          .astype('float32')
          .toTypedArray() as Float32Array,
      ),
    );
    expect(maxDiff(got, p.last_logits) / maxAbs(p.last_logits)).toBeLessThan(1e-4);
  });
});
