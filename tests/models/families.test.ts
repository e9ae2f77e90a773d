// Model families on tiny random configs: the float32 model against an independent float64
// reference (plain kn ops, tests/models/tiny.ts), cached decoding against the full forward, HF
// weight names, sanitize, left-padded batches, and clear errors for bad configs and inputs.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { createModel, registerFamily, supportedModelTypes } from '../../models/registry.js';
import { KVCache, RotatingKVCache, makeCache } from '../../models/cache.js';
import type { LanguageModel } from '../../models/types.js';
import { CONFIGS, randomize, randomTokens, referenceForward, relErr, tok, type Config } from './tiny.js';
import { seedOf } from '../helpers/rng.js';

function build(name: string, extra: Config = {}): LanguageModel & kn.nn.Module {
  const m = createModel({ ...CONFIGS[name], ...extra }) as LanguageModel & kn.nn.Module;
  randomize(m, seedOf('weights', name));
  return m;
}

/** Logits of `tokens` fed in chunks of the given sizes through a fresh cache, concatenated along L. */
function chunked(model: LanguageModel, tokens: number[][], sizes: number[], cache = makeCache(model)): kn.NDArray {
  const outs: kn.NDArray[] = [];
  let at = 0;
  for (const n of sizes) {
    const part = tokens.map((r) => r.slice(at, at + n));
    at += n;
    const logits = model.forward(tok(part), { cache });
    kn.eval(logits, ...cache.flatMap((c) => c.state));
    outs.push(logits);
  }
  return kn.concatenate(outs, 1);
}

describe('families against the float64 reference', () => {
  for (const name of Object.keys(CONFIGS)) {
    it(`${name}: full-sequence logits within 1e-5`, () => {
      const m = build(name);
      const t = randomTokens(2, 12, CONFIGS[name].vocab_size as number, seedOf('tokens', name));
      const out = m.forward(tok(t));
      expect(out.shape).toEqual([2, 12, CONFIGS[name].vocab_size]);
      expect(out.dtype).toBe('float32');
      expect(relErr(out, referenceForward(m, CONFIGS[name], t))).toBeLessThan(1e-5);
    });
  }

  it('the sliding window changes the logits (mistral, window 6 < 12 positions)', () => {
    const m = build('mistral');
    const t = randomTokens(1, 12, 61, 7);
    const full = referenceForward(m, CONFIGS.mistral, t, (_b, i, j) => j <= i);
    const out = m.forward(tok(t));
    expect(relErr(out, full)).toBeGreaterThan(1e-3);
    // positions 0..5 never reach past the window
    expect(relErr(out.index(kn.sliceOf(), kn.sliceOf(0, 6)), full.index(kn.sliceOf(), kn.sliceOf(0, 6)))).toBeLessThan(1e-4);
  });

  it("transformers 5's rope_parameters form means the same as rope_theta + rope_scaling", () => {
    const { rope_theta: theta, rope_scaling: scaling, ...rest } = CONFIGS.llama3;
    const hub = build('llama3');
    const v5 = createModel({ ...rest, rope_parameters: { rope_theta: theta, ...(scaling as object) } }) as LanguageModel & kn.nn.Module;
    v5.loadWeights(kn.tree.flatten<kn.NDArray>(hub.parameters()));
    const t = tok(randomTokens(1, 9, 61, 5));
    expect(v5.args.rope_theta).toBe(500000);
    expect(relErr(v5.forward(t), hub.forward(t))).toBe(0);
    const plain = createModel({ ...rest, rope_parameters: { rope_type: 'default', rope_theta: 500000 } });
    expect(plain.args.rope_scaling).toBe(null);
    expect(plain.args.rope_theta).toBe(500000);
  });

  it('bfloat16 and float16 weights stay close to float32', () => {
    for (const dtype of ['bfloat16', 'float16'] as const) {
      const m = build('llama');
      const t = randomTokens(1, 8, 61, 3);
      const ref = m.forward(tok(t));
      m.setDtype(dtype);
      const out = m.forward(tok(t));
      expect(out.dtype).toBe(dtype);
      expect(relErr(out, ref)).toBeLessThan(dtype === 'bfloat16' ? 0.05 : 0.01);
    }
  });
});

describe('cached decoding equals the full forward', () => {
  // dynamic NTK and longrope past the original length change every position's frequencies with
  // the sequence length, so (as in HF) a cache built at shorter lengths is not the full forward
  const cacheable = Object.keys(CONFIGS).filter((n) => n !== 'llama_dynamic' && n !== 'phi3_longrope');
  for (const name of cacheable) {
    it(`${name}: prefill 5 then one token at a time, and chunks 5 + 4 + 3`, () => {
      const m = build(name);
      const t = randomTokens(2, 12, CONFIGS[name].vocab_size as number, seedOf('cache', name));
      const full = m.forward(tok(t));
      const steps = chunked(m, t, [5, 1, 1, 1, 1, 1, 1, 1]);
      expect(relErr(steps, full)).toBeLessThan(1e-4);
      expect(relErr(chunked(m, t, [5, 4, 3]), full)).toBeLessThan(1e-4);
    });
  }

  it('phi3 longrope within the original length decodes like its full forward', () => {
    const m = build('phi3_longrope');
    const t = randomTokens(1, 8, 61, 11);
    expect(relErr(chunked(m, t, [3, 1, 1, 1, 1, 1]), m.forward(tok(t)))).toBeLessThan(1e-4);
  });

  it('trim then re-forward gives the same logits; a different continuation matches its full forward', () => {
    const m = build('llama');
    const t = randomTokens(1, 13, 61, 5);
    const cache = makeCache(m);
    m.forward(tok([t[0].slice(0, 10)]), { cache });
    const first = m.forward(tok([t[0].slice(10, 13)]), { cache });
    kn.eval(first, ...cache.flatMap((c) => c.state));
    expect(cache.every((c) => c.trim(3) === 3 && c.offset === 10)).toBe(true);
    const again = m.forward(tok([t[0].slice(10, 13)]), { cache });
    expect(relErr(again, first)).toBe(0);
    cache.forEach((c) => c.trim(3));
    const other = [[...t[0].slice(0, 10), 1, 2, 3]];
    const alt = m.forward(tok([[1, 2, 3]]), { cache });
    expect(relErr(alt, m.forward(tok(other)).index(kn.sliceOf(), kn.sliceOf(10, 13)))).toBeLessThan(1e-4);
  });

  it('a left-padded batch gives each row the logits of its unpadded forward', () => {
    for (const name of ['llama', 'qwen3', 'mistral']) {
      const m = build(name);
      const a = randomTokens(1, 9, 61, 21)[0],
        b = randomTokens(1, 5, 61, 22)[0];
      const pad = [0, 4];
      const batch = [a, [0, 0, 0, 0, ...b]];
      const cache = makeCache(m, { leftPadding: pad });
      const pre = m.forward(tok(batch.map((r) => r.slice(0, 7))), { cache });
      const step1 = m.forward(tok(batch.map((r) => r.slice(7, 8))), { cache });
      const step2 = m.forward(tok(batch.map((r) => r.slice(8, 9))), { cache });
      const got = kn.concatenate([pre, step1, step2], 1);
      const ra = m.forward(tok([a]));
      const rb = m.forward(tok([b]));
      expect(relErr(got.index(kn.sliceOf(0, 1)), ra)).toBeLessThan(1e-4);
      expect(relErr(got.index(kn.sliceOf(1, 2), kn.sliceOf(4, 9)), rb)).toBeLessThan(1e-4);
    }
  });
});

describe('weights', () => {
  const names = (m: kn.nn.Module) =>
    kn.tree
      .flatten(m.parameters())
      .map(([k]) => k)
      .sort();

  it('module trees carry Hugging Face names', () => {
    const layer0 = (m: kn.nn.Module) => names(m).filter((k) => !k.startsWith('model.layers.1.'));
    expect(layer0(build('llama'))).toEqual([
      'lm_head.weight',
      'model.embed_tokens.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.mlp.down_proj.weight',
      'model.layers.0.mlp.gate_proj.weight',
      'model.layers.0.mlp.up_proj.weight',
      'model.layers.0.post_attention_layernorm.weight',
      'model.layers.0.self_attn.k_proj.weight',
      'model.layers.0.self_attn.o_proj.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.self_attn.v_proj.weight',
      'model.norm.weight',
    ]);
    const qwen2 = layer0(build('qwen2'));
    expect(qwen2).toContain('model.layers.0.self_attn.q_proj.bias');
    expect(qwen2).toContain('model.layers.0.self_attn.v_proj.bias');
    expect(qwen2).not.toContain('model.layers.0.self_attn.o_proj.bias');
    expect(qwen2).not.toContain('lm_head.weight');
    const qwen3 = layer0(build('qwen3'));
    expect(qwen3).toContain('model.layers.0.self_attn.q_norm.weight');
    expect(qwen3).toContain('model.layers.0.self_attn.k_norm.weight');
    expect(qwen3).not.toContain('model.layers.0.self_attn.q_proj.bias');
    const phi3 = layer0(build('phi3'));
    expect(phi3).toContain('model.layers.0.self_attn.qkv_proj.weight');
    expect(phi3).toContain('model.layers.0.mlp.gate_up_proj.weight');
    expect(phi3).not.toContain('model.layers.0.self_attn.q_proj.weight');
    const shapes = new Map(kn.tree.flatten<kn.NDArray>(build('qwen3').parameters()).map(([k, v]) => [k, v.shape]));
    expect(shapes.get('model.layers.0.self_attn.q_proj.weight')).toEqual([64, 32]); // 4 heads x head_dim 16
    expect(shapes.get('model.layers.0.self_attn.k_norm.weight')).toEqual([16]);
  });

  it('sanitize drops rotary inv_freq and a tied lm_head; a safetensors round trip reloads the model', () => {
    const m = build('qwen2');
    const w = new Map(kn.tree.flatten<kn.NDArray>(m.parameters()));
    w.set('model.layers.0.self_attn.rotary_emb.inv_freq', kn.ones([4]));
    w.set('lm_head.weight', kn.ones([61, 32]));
    const clean = m.sanitize(w);
    expect(clean.has('model.layers.0.self_attn.rotary_emb.inv_freq')).toBe(false);
    expect(clean.has('lm_head.weight')).toBe(false);
    expect(clean.size).toBe(w.size - 2);
    const untied = build('llama');
    expect(untied.sanitize(new Map([['lm_head.weight', kn.ones([2])]])).has('lm_head.weight')).toBe(true);

    const path = `/tmp/kiln-families-${process.pid}.safetensors`;
    m.saveWeights(path);
    const fresh = createModel(CONFIGS.qwen2) as LanguageModel & kn.nn.Module;
    fresh.loadWeights(path);
    const t = tok([[1, 2, 3, 4]]);
    // bit-identical on the CPU; a GPU's matmul may pick another algorithm for weights at other
    // addresses (a mapped file's tensors are views at byte offsets), so a different summation order
    expect(relErr(fresh.forward(t), m.forward(t))).toBeLessThanOrEqual(kn.defaultDevice().type === 'gpu' ? 1e-6 : 0);
  });

  it('a weight of the wrong shape names both shapes', () => {
    const m = build('llama');
    expect(() => m.loadWeights([['model.norm.weight', kn.ones([31])]], { strict: false })).toThrow(/model\.norm\.weight.*\[31\].*\[32\]/);
  });
});

describe('registry and errors', () => {
  it('lists the families and builds each by model_type', () => {
    expect(supportedModelTypes()).toEqual(['llama', 'mistral', 'phi3', 'qwen2', 'qwen3']);
    for (const t of ['llama', 'mistral', 'qwen2', 'qwen3', 'phi3']) {
      const m = createModel({ ...CONFIGS.llama, model_type: t, head_dim: 8 });
      expect(m.modelType).toBe(t);
      expect(m.numLayers).toBe(2);
      expect(m.vocabSize).toBe(61);
    }
  });

  it('an unknown model_type names it and the supported ones', () => {
    expect(() => createModel({ ...CONFIGS.llama, model_type: 'gpt9' })).toThrow(
      '[models] unknown model_type "gpt9"; supported: llama, mistral, phi3, qwen2, qwen3',
    );
    expect(() => createModel({ hidden_size: 3 })).toThrow(/unknown model_type null; supported: llama/);
    expect(() => createModel(null as unknown as Config)).toThrow(/config must be an object/);
  });

  it('registerFamily adds a type', () => {
    registerFamily('llama_alias', { create: (c) => createModel({ ...c, model_type: 'llama' }) });
    expect(createModel({ ...CONFIGS.llama, model_type: 'llama_alias' }).numLayers).toBe(2);
    expect(() =>
      registerFamily('', {
        create: () => {
          throw new Error('x');
        },
      }),
    ).toThrow(/non-empty/);
  });

  it('bad configs name the field and the value', () => {
    const { hidden_size: _h, ...noHidden } = CONFIGS.llama;
    expect(() => createModel(noHidden)).toThrow('[models] llama config: hidden_size must be a positive integer, got nothing (missing)');
    expect(() => createModel({ ...CONFIGS.llama, num_key_value_heads: 3 })).toThrow(
      /num_attention_heads \(4\) must be a multiple of num_key_value_heads \(3\)/,
    );
    expect(() => createModel({ ...CONFIGS.qwen2, vocab_size: 1.5 })).toThrow(/qwen2 config: vocab_size must be a positive integer, got 1\.5/);
    expect(() => createModel({ ...CONFIGS.llama, rope_scaling: { type: 'yarnish', factor: 2 } })).toThrow(
      /unsupported rope_scaling type "yarnish"; supported: default, linear, dynamic, llama3, yarn/,
    );
    expect(() => createModel({ ...CONFIGS.llama, rope_scaling: { rope_type: 'llama3' } })).toThrow(/factor must be a finite number/);
    expect(() => createModel({ ...CONFIGS.phi3, partial_rotary_factor: 2 })).toThrow(/partial_rotary_factor must be in \(0, 1\]/);
    expect(() => createModel({ ...CONFIGS.qwen3, layer_types: ['full_attention'] })).toThrow(/layer_types has 1 entries for 2 layers/);
  });

  it('bad tokens and caches give clear errors', () => {
    const m = build('llama');
    expect(() => m.forward(kn.array([1, 2, 3], 'int32'))).toThrow('[models] llama.forward: tokens must have shape [B, L], got [3]');
    expect(() => m.forward(kn.array([[1, 2]], 'float32'))).toThrow(/tokens must be integers \(int32\), got float32/);
    expect(() => m.forward(tok([[1]]), { cache: [new KVCache()] })).toThrow(/cache must be a list of 2 layer caches/);
    expect(() => m.forward(kn.array([[70]], 'int32')).eval()).toThrow();
  });
});

describe('sliding-window layers', () => {
  it('qwen3 with use_sliding_window: full layer 0, sliding layer 1; makeCache matches per layer', () => {
    const m = build('qwen3_sliding');
    expect(m.args.layer_windows).toEqual([null, 5]);
    const cache = makeCache(m);
    expect(cache.map((c) => c.constructor.name)).toEqual(['KVCache', 'RotatingKVCache']);
    const t = randomTokens(1, 12, 61, 41);
    const full = m.forward(tok(t));
    expect(relErr(chunked(m, t, [4, 1, 1, 1, 1, 1, 1, 1, 1], cache), full)).toBeLessThan(1e-4);
    expect(relErr(chunked(m, t, [7, 5]), full)).toBeLessThan(1e-4);
    // without the window on layer 1 the logits differ
    const noWindow = referenceForward(m, { ...CONFIGS.qwen3_sliding, use_sliding_window: false }, t);
    expect(relErr(full, noWindow)).toBeGreaterThan(1e-3);
  });

  it('phi3 with sliding_window gets rotating caches of the window', () => {
    const m = build('phi3_sliding');
    const cache = makeCache(m);
    expect(cache.every((c) => c instanceof RotatingKVCache && c.maxSize === 7 && c.keep === 0)).toBe(true);
    expect(makeCache(m, { maxKvSize: 4 }).every((c) => c instanceof RotatingKVCache && c.maxSize === 4)).toBe(true);
  });
});
