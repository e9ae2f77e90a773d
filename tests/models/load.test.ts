// models/load: HF folders (single and sharded safetensors), model ids in a fake HF cache laid out
// with real files, dtype conversion, GGUF export/import (metadata mapping, q/k permutation, tied
// embeddings, rope_freqs), and every loading error naming the file / tensor / shapes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kn from '../../index.js';
import { load, loadModel, modelFromConfig, resolveModelPath } from '../../models/load.js';
import { readConfig } from '../../models/config.js';
import { hfCacheDirs, isModelId, resolveHfModel } from '../../models/hf_cache.js';
import { ggufConfig, ggufDefaultDtype, ggufToHfName, hfToGgufName, permuteQK } from '../../models/gguf_load.js';
import { exportGguf } from '../../models/gguf_export.js';
import { ggufToTokenizerFiles } from '../../models/gguf_tokenizer.js';
import type { LanguageModel } from '../../models/types.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CONFIG = {
  model_type: 'llama',
  hidden_size: 32,
  num_hidden_layers: 2,
  intermediate_size: 48,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  max_position_embeddings: 64,
  bos_token_id: 1,
  eos_token_id: 2,
};
const TOKENS = [[1, 5, 9, 33, 2, 60, 17]];

function params(m: LanguageModel): [string, kn.Array][] {
  return kn.tree.flatten<kn.Array>((m as unknown as kn.nn.Module).parameters());
}
function logits(m: LanguageModel, t = TOKENS): Float32Array {
  return m.forward(kn.array(t, 'int32')).astype('float32').toTypedArray() as Float32Array;
}
function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0,
    s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}
/** A folder with config.json + model.safetensors of a seeded random model. */
function writeFolder(dir: string, config: Record<string, unknown>, seed = 0): LanguageModel {
  mkdirSync(dir, { recursive: true });
  const m = modelFromConfig(config, { seed });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  kn.saveSafetensors(join(dir, 'model.safetensors'), Object.fromEntries(params(m)));
  return m;
}
async function rejects(p: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<string> {
  let msg = '';
  try {
    await p;
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg, 'expected an error').not.toBe('');
  for (const s of parts) {
    if (typeof s === 'string') expect(msg).toContain(s);
    else expect(msg).toMatch(s);
  }
  return msg;
}

let base: LanguageModel;
let baseLogits: Float32Array;
const baseDir = join(root, 'tiny');
beforeAll(() => {
  base = writeFolder(baseDir, CONFIG, 7);
  baseLogits = logits(base);
});

describe('Hugging Face folders', () => {
  it('loads a single-file folder to the same logits, keeping the checkpoint dtype', async () => {
    const { model, config } = await loadModel(baseDir);
    expect(config.model_type).toBe('llama');
    expect(model.numLayers).toBe(2);
    for (const [, p] of params(model)) expect(p.dtype).toBe('float32');
    expect(logits(model)).toEqual(baseLogits);
  });

  it('loads a sharded set through model.safetensors.index.json', async () => {
    const dir = join(root, 'sharded');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    const all = params(base);
    const half = Math.ceil(all.length / 2);
    const shards = [all.slice(0, half), all.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((s, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      kn.saveSafetensors(join(dir, file), Object.fromEntries(s));
      for (const [k] of s) weightMap[k] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    const { model } = await loadModel(dir);
    expect(logits(model)).toEqual(baseLogits);
    // a truncated second shard is named; so is a tensor the index places in the wrong shard
    const bad = join(root, 'sharded-bad');
    mkdirSync(bad);
    for (const f of ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'])
      copyFileSync(join(dir, f), join(bad, f));
    const second = join(bad, 'model-00002-of-00002.safetensors');
    truncateSync(second, statSync(second).size - 64);
    await rejects(loadModel(bad), second);
    copyFileSync(join(dir, 'model-00002-of-00002.safetensors'), second);
    const [moved] = shards[1][0];
    writeFileSync(join(bad, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...weightMap, [moved]: 'model-00001-of-00002.safetensors' } }));
    await rejects(loadModel(bad), `lists tensor '${moved}' in ${join(bad, 'model-00001-of-00002.safetensors')}, but it is in ${second}`);
    writeFileSync(join(bad, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...weightMap, [moved]: '../escape.safetensors' } }));
    await rejects(loadModel(bad), 'invalid shard file "../escape.safetensors"');
  });

  it('converts to float16 / bfloat16 on load (floating weights only), logits close to float32', async () => {
    for (const dtype of ['bfloat16', 'float16'] as const) {
      const { model } = await loadModel(baseDir, { dtype });
      for (const [, p] of params(model)) expect(p.dtype).toBe(dtype);
      expect(maxRel(logits(model), baseLogits)).toBeLessThan(dtype === 'float16' ? 5e-3 : 3e-2);
    }
    // a bfloat16 checkpoint stays bfloat16 by default and converts up to float32 when asked
    const dir = join(root, 'bf16');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
    kn.saveSafetensors(join(dir, 'model.safetensors'), Object.fromEntries(params(base).map(([k, v]) => [k, v.astype('bfloat16')])));
    const kept = (await loadModel(dir)).model;
    expect(new Set(params(kept).map(([, p]) => p.dtype))).toEqual(new Set(['bfloat16']));
    const up = (await loadModel(dir, { dtype: 'float32' })).model;
    expect(new Set(params(up).map(([, p]) => p.dtype))).toEqual(new Set(['float32']));
    expect(maxRel(logits(up), logits(kept))).toBeLessThan(3e-2); // the same bf16 values, computed in float32 vs bfloat16
  });

  it('ties lm_head to the embedding when the checkpoint leaves it out', async () => {
    const dir = join(root, 'tied');
    const m = writeFolder(dir, { ...CONFIG, tie_word_embeddings: true }, 3);
    expect(params(m).some(([k]) => k === 'lm_head.weight')).toBe(false);
    const { model } = await loadModel(dir);
    expect(logits(model)).toEqual(logits(m));
  });

  it('modelFromConfig: same seed, same weights; dtype; config path', () => {
    const a = modelFromConfig(CONFIG, { seed: 11 }),
      b = modelFromConfig(CONFIG, { seed: 11 }),
      c = modelFromConfig(CONFIG, { seed: 12 });
    expect(logits(a)).toEqual(logits(b));
    expect(logits(a)).not.toEqual(logits(c));
    const h = modelFromConfig(join(baseDir, 'config.json'), { dtype: 'float16' });
    expect(params(h).every(([, p]) => p.dtype === 'float16')).toBe(true);
    expect(() => modelFromConfig(CONFIG, { dtype: 'int8' as never })).toThrow(/dtype must be one of float32, float16, bfloat16, got "int8"/);
  });
});

describe('model ids in the local Hugging Face cache', () => {
  const hub = join(root, 'hf', 'hub');
  const repo = join(hub, 'models--TinyOrg--Tiny-Llama');
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const k of ['HF_HOME', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'XDG_CACHE_HOME', 'HOME']) saved[k] = process.env[k];
    delete process.env.HF_HUB_CACHE;
    delete process.env.HUGGINGFACE_HUB_CACHE;
    delete process.env.XDG_CACHE_HOME;
    process.env.HF_HOME = join(root, 'hf');
    process.env.HOME = join(root, 'home'); // keep the real ~/.cache out of the search
    // two snapshots: refs/main names the second. As the hub does, snapshot files are relative
    // symlinks into blobs/ (the first snapshot holds plain copies)
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    for (const rev of ['1111111aaaaaaa', '2222222bbbbbbb']) {
      const snap = join(repo, 'snapshots', rev);
      mkdirSync(snap, { recursive: true });
      for (const f of ['config.json', 'model.safetensors']) {
        if (rev.startsWith('1')) copyFileSync(join(baseDir, f), join(snap, f));
        else {
          copyFileSync(join(baseDir, f), join(repo, 'blobs', `blob-${f}`));
          symlinkSync(join('..', '..', 'blobs', `blob-${f}`), join(snap, f));
        }
      }
    }
    mkdirSync(join(repo, 'refs'));
    writeFileSync(join(repo, 'refs', 'main'), '2222222bbbbbbb\n');
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  it('resolves refs/main, an explicit revision, and loads by id', async () => {
    expect(isModelId('TinyOrg/Tiny-Llama')).toBe(true);
    expect(isModelId('./x/y')).toBe(false);
    expect(hfCacheDirs()[0]).toBe(hub);
    expect(resolveModelPath('TinyOrg/Tiny-Llama')).toBe(join(repo, 'snapshots', '2222222bbbbbbb'));
    expect(resolveHfModel('TinyOrg/Tiny-Llama@1111111aaaaaaa')).toBe(join(repo, 'snapshots', '1111111aaaaaaa'));
    const { model } = await loadModel('TinyOrg/Tiny-Llama');
    expect(logits(model)).toEqual(baseLogits);
  });

  it('falls back to the newest usable snapshot without refs/main; HF_HUB_CACHE wins over HF_HOME', () => {
    const other = join(root, 'hub2', 'models--A--B', 'snapshots', 'cafe123');
    mkdirSync(other, { recursive: true });
    copyFileSync(join(baseDir, 'config.json'), join(other, 'config.json'));
    process.env.HF_HUB_CACHE = join(root, 'hub2');
    try {
      expect(resolveModelPath('A/B')).toBe(other);
    } finally {
      delete process.env.HF_HUB_CACHE;
    }
  });

  it('an id not found names every place looked and downloads nothing', () => {
    const msg = (() => {
      try {
        resolveModelPath('Nobody/Missing-7B');
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(msg).toContain("model 'Nobody/Missing-7B'");
    expect(msg).toContain(join(hub, 'models--Nobody--Missing-7B'));
    expect(msg).toContain(join(root, 'home', '.cache', 'huggingface', 'hub', 'models--Nobody--Missing-7B'));
    expect(() => resolveModelPath('/no/such/dir/model')).toThrow(/\/no\/such\/dir\/model does not exist/);
  });
});

describe('errors name the file and the problem', () => {
  function variant(name: string, edit: (dir: string) => void): string {
    const dir = join(root, name);
    mkdirSync(dir);
    copyFileSync(join(baseDir, 'config.json'), join(dir, 'config.json'));
    copyFileSync(join(baseDir, 'model.safetensors'), join(dir, 'model.safetensors'));
    edit(dir);
    return dir;
  }
  const weightsWithout = (drop: string, replace?: [string, kn.Array]) => {
    const w = Object.fromEntries(params(base).filter(([k]) => k !== drop));
    if (replace) w[replace[0]] = replace[1];
    return w;
  };

  it('missing, corrupt or incomplete config.json', async () => {
    const d1 = variant('no-config', (d) => rmSync(join(d, 'config.json')));
    await rejects(loadModel(d1), join(d1, 'config.json'), 'not found');
    const d2 = variant('bad-json', (d) => writeFileSync(join(d, 'config.json'), '{"model_type": "llama", '));
    await rejects(loadModel(d2), join(d2, 'config.json'), 'is not valid JSON');
    const d3 = variant('no-field', (d) => writeFileSync(join(d, 'config.json'), JSON.stringify({ ...CONFIG, hidden_size: undefined })));
    await rejects(loadModel(d3), join(d3, 'config.json'), 'missing the required field hidden_size');
    const d4 = variant('bad-field', (d) => writeFileSync(join(d, 'config.json'), JSON.stringify({ ...CONFIG, num_hidden_layers: -2 })));
    await rejects(loadModel(d4), 'num_hidden_layers must be a positive integer, got -2');
    expect(() => readConfig(join(d2, 'config.json'))).toThrow(/not valid JSON/);
  });

  it('unknown model_type lists the supported ones', async () => {
    const d = variant('unknown-type', (dir) => writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...CONFIG, model_type: 'gpt_neox' })));
    await rejects(loadModel(d), 'unknown model_type "gpt_neox"', /supported: .*llama.*mistral.*phi3.*qwen2.*qwen3/);
  });

  it('a missing weight names the tensor and its shape', async () => {
    const d = variant('missing-weight', (dir) => kn.saveSafetensors(join(dir, 'model.safetensors'), weightsWithout('model.layers.1.mlp.up_proj.weight')));
    await rejects(loadModel(d), d, "'model.layers.1.mlp.up_proj.weight' [48, 32]", 'missing 1 weight');
  });

  it('a weight of the wrong shape names the tensor, both shapes and the file', async () => {
    const d = variant('wrong-shape', (dir) =>
      kn.saveSafetensors(join(dir, 'model.safetensors'), weightsWithout('', ['model.layers.0.self_attn.k_proj.weight', kn.zeros([32, 32])])),
    );
    await rejects(loadModel(d), "'model.layers.0.self_attn.k_proj.weight'", join(d, 'model.safetensors'), 'has shape [32, 32]', 'expects [16, 32]');
  });

  it('an unexpected tensor is named', async () => {
    const d = variant('extra', (dir) =>
      kn.saveSafetensors(join(dir, 'model.safetensors'), weightsWithout('', ['model.layers.0.self_attn.rogue.weight', kn.zeros([2])])),
    );
    await rejects(loadModel(d), 'model.layers.0.self_attn.rogue.weight', 'no place for');
  });

  it('a truncated shard names the file', async () => {
    const d = variant('truncated', (dir) => {
      const f = join(dir, 'model.safetensors');
      truncateSync(f, statSync(f).size - 100);
    });
    await rejects(loadModel(d), join(d, 'model.safetensors'), /data section|truncated/);
  });

  it('no weights, no tokenizer, bad options', async () => {
    const d = variant('no-weights', (dir) => rmSync(join(dir, 'model.safetensors')));
    await rejects(loadModel(d), d, 'has no weights');
    writeFileSync(join(d, 'pytorch_model.bin'), 'not loaded');
    await rejects(loadModel(d), 'pytorch_model.bin is a PyTorch pickle, which kiln never executes');
    await rejects(load(baseDir), baseDir, 'has no tokenizer', 'tokenizer.json not found');
    await rejects(loadModel(baseDir, { dtype: 'float64' as never }), 'dtype must be one of float32, float16, bfloat16, got "float64"');
    await rejects(loadModel(join(root, 'nope')), 'does not exist');
  });
});

describe('GGUF', () => {
  it('maps names both ways and permutes q/k rows like llama.cpp', () => {
    expect(ggufToHfName('token_embd.weight')).toBe('model.embed_tokens.weight');
    expect(ggufToHfName('blk.11.attn_output.weight')).toBe('model.layers.11.self_attn.o_proj.weight');
    expect(ggufToHfName('blk.0.ffn_norm.weight')).toBe('model.layers.0.post_attention_layernorm.weight');
    expect(ggufToHfName('blk.0.attn_k_norm.weight')).toBe('model.layers.0.self_attn.k_norm.weight');
    expect(ggufToHfName('rope_freqs.weight')).toBe(null);
    expect(hfToGgufName('lm_head.weight')).toBe('output.weight');
    expect(hfToGgufName('model.layers.2.self_attn.q_proj.bias')).toBe('blk.2.attn_q.bias');
    // one head of size 8: rows [r0..r3 | r4..r7] (HF halves) become pairs (r0, r4), (r1, r5), ...
    const w = kn.arange(16).reshape([8, 2]);
    const p = permuteQK(w, 1);
    expect(p.tolist()).toEqual([
      [0, 1],
      [8, 9],
      [2, 3],
      [10, 11],
      [4, 5],
      [12, 13],
      [6, 7],
      [14, 15],
    ]);
    expect(permuteQK(p, 1, true).tolist()).toEqual(w.tolist());
    expect(permuteQK(kn.arange(8), 2).tolist()).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });

  it('metadata maps onto an HF config; F32 round trip gives identical logits', async () => {
    const file = join(root, 'tiny-f32.gguf');
    const { model: m, config } = await loadModel(baseDir);
    exportGguf(file, config, new Map(params(m)), { type: 'F32' });
    const g = kn.loadGguf(file);
    expect(g.metadata['general.architecture']).toBe('llama');
    expect(g.metadata['llama.embedding_length']).toBe(32);
    expect(g.metadata['llama.attention.head_count_kv']).toBe(2);
    expect(g.types['blk.0.attn_q.weight']).toBe('F32');
    expect(g.types['output_norm.weight']).toBe('F32');
    const c = ggufConfig(g, file);
    for (const k of [
      'model_type',
      'hidden_size',
      'num_hidden_layers',
      'intermediate_size',
      'num_attention_heads',
      'num_key_value_heads',
      'vocab_size',
      'max_position_embeddings',
    ] as const)
      expect(c[k], k).toBe(CONFIG[k]);
    expect(c.rms_norm_eps).toBeCloseTo(1e-5, 10);
    expect(c.rope_theta).toBe(10000);
    expect(c.tie_word_embeddings).toBe(false);
    // the stored q rows are permuted (not the HF rows), and loading undoes it
    expect(g.tensors['blk.0.attn_q.weight'].tolist()).not.toEqual(
      params(m)
        .find(([k]) => k === 'model.layers.0.self_attn.q_proj.weight')![1]
        .tolist(),
    );
    const { model } = await loadModel(file);
    expect(logits(model)).toEqual(baseLogits);
  });

  it('F16 storage: default dtype float16, float32 on request; qwen3 (q/k norms, no permutation); tied output', async () => {
    const cfg = { ...CONFIG, model_type: 'qwen3', head_dim: 16, tie_word_embeddings: true, rope_theta: 1e6 };
    const dir = join(root, 'qwen3');
    const m = writeFolder(dir, cfg, 5);
    const file = join(root, 'qwen3-f16.gguf');
    exportGguf(file, cfg, new Map(params(m)), { type: 'F16' });
    const g = kn.loadGguf(file);
    expect(g.tensors['output.weight']).toBeUndefined();
    expect(g.metadata['qwen3.attention.key_length']).toBe(16);
    expect(ggufDefaultDtype(g.types, Object.fromEntries(Object.entries(g.tensors).map(([k, v]) => [k, v.shape])))).toBe('float16');
    const c = ggufConfig(g, file);
    expect([c.model_type, c.head_dim, c.tie_word_embeddings]).toEqual(['qwen3', 16, true]);
    const h = (await loadModel(file)).model;
    expect(new Set(params(h).map(([, p]) => p.dtype))).toEqual(new Set(['float16']));
    const f = (await loadModel(file, { dtype: 'float32' })).model;
    expect(maxRel(logits(f), logits(m))).toBeLessThan(2e-3);
  });

  it('llama3 rope scaling travels as rope_freqs; mistral as llama + sliding window; Q8_0', async () => {
    const l3 = { ...CONFIG, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } };
    const m3 = writeFolder(join(root, 'l3'), l3, 9);
    const f3 = join(root, 'l3.gguf');
    exportGguf(f3, l3, new Map(params(m3)), { type: 'F32' });
    const g3 = kn.loadGguf(f3);
    expect(g3.tensors['rope_freqs.weight'].shape).toEqual([4]);
    expect((ggufConfig(g3, f3).rope_scaling as { rope_type: string }).rope_type).toBe('longrope');
    expect(maxRel(logits((await loadModel(f3)).model), logits(m3))).toBeLessThan(1e-5);

    const mc = { ...CONFIG, model_type: 'mistral', sliding_window: 4 };
    const mm = writeFolder(join(root, 'mis'), mc, 10);
    const fm = join(root, 'mis-q8.gguf');
    exportGguf(fm, mc, new Map(params(mm)), { type: 'Q8_0' });
    const gm = kn.loadGguf(fm);
    expect(gm.metadata['general.architecture']).toBe('llama');
    expect(gm.types['blk.0.ffn_up.weight']).toBe('Q8_0');
    const cm = ggufConfig(gm, fm);
    expect([cm.model_type, cm.sliding_window]).toEqual(['mistral', 4]);
    const lm = (await loadModel(fm, { dtype: 'float32' })).model;
    // Q8_0 layers run natively with activations quantized to 8-bit blocks (as llama.cpp does): ~2.6 % here
    expect(maxRel(logits(lm, [TOKENS[0].concat(TOKENS[0])]), logits(mm, [TOKENS[0].concat(TOKENS[0])]))).toBeLessThan(4e-2);
  });

  it('GGUF errors: unknown architecture, vocabulary mismatch, unmapped tensor, no tokenizer', async () => {
    const { model: m, config } = await loadModel(baseDir);
    const w = new Map(params(m));
    const bad = (name: string, meta: Record<string, kn.GgufValue>, extra?: Record<string, kn.Array>) => {
      const f = join(root, name);
      exportGguf(f, config, w, { type: 'F32', metadata: meta });
      if (extra) {
        const g = kn.loadGguf(f);
        kn.saveGguf(f, { tensors: { ...g.tensors, ...extra }, metadata: g.metadata, metadataTypes: g.metadataTypes });
      }
      return f;
    };
    const f1 = bad('arch.gguf', { 'general.architecture': 'gpt2' });
    await rejects(loadModel(f1), f1, 'GGUF architecture "gpt2"', 'llama, mistral, qwen2, qwen3');
    const f2 = bad('vocab.gguf', { 'tokenizer.ggml.tokens': ['a', 'b', 'c'] });
    await rejects(loadModel(f2), f2, 'vocabulary of 3', 'token_embd.weight has 64 rows');
    const f3 = bad('extra.gguf', {}, { 'blk.0.mystery.weight': kn.zeros([4]) });
    await rejects(loadModel(f3), f3, 'blk.0.mystery.weight');
    const f4 = bad('notok.gguf', {});
    await rejects(load(f4), f4, 'has no tokenizer');
  });

  it('load() of a GGUF file builds the tokenizer and chat template from its metadata', async () => {
    const { model: m, config } = await loadModel(baseDir);
    const letters = (a: string, n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(a.charCodeAt(0) + i));
    const tokens = ['<unk>', '<s>', '</s>', ...letters('a', 26), ...letters('A', 26), ...letters('0', 9)];
    const file = join(root, 'with-tokenizer.gguf');
    exportGguf(file, config, new Map(params(m)), {
      type: 'F32',
      metadata: {
        'tokenizer.ggml.model': 'gpt2',
        'tokenizer.ggml.pre': 'default',
        'tokenizer.ggml.tokens': tokens,
        'tokenizer.ggml.token_type': tokens.map((_, i) => (i < 3 ? 3 : 1)),
        'tokenizer.ggml.merges': [],
        'tokenizer.ggml.bos_token_id': 1,
        'tokenizer.ggml.eos_token_id': 2,
        'tokenizer.chat_template': '{% for m in messages %}{{ m.content }}{% endfor %}',
      },
      metadataTypes: {
        'tokenizer.ggml.merges': 'array<string>',
        'tokenizer.ggml.token_type': 'array<int32>',
        'tokenizer.ggml.bos_token_id': 'uint32',
        'tokenizer.ggml.eos_token_id': 'uint32',
      },
    });
    const { model, tokenizer, config: c } = await load(file);
    expect([c.bos_token_id, c.eos_token_id]).toEqual([1, 2]);
    expect(tokenizer.vocabSize).toBe(64);
    expect(tokenizer.eosTokenIds).toContain(2);
    expect(tokenizer.hasChatTemplate).toBe(true);
    const ids = tokenizer.encode('abcXYZ', { addSpecialTokens: false });
    expect(ids).toEqual([3, 4, 5, 52, 53, 54]);
    expect(tokenizer.decode(ids)).toBe('abcXYZ');
    expect(logits(model)).toEqual(baseLogits);
  });

  it('load() of a folder reads tokenizer.json, tokenizer_config.json and generation_config.json', async () => {
    const g = kn.loadGguf(join(root, 'with-tokenizer.gguf'));
    const files = ggufToTokenizerFiles(g.metadata);
    const dir = join(root, 'with-tokenizer');
    mkdirSync(dir);
    copyFileSync(join(baseDir, 'config.json'), join(dir, 'config.json'));
    copyFileSync(join(baseDir, 'model.safetensors'), join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig));
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [2, 0] }));
    const { model, tokenizer } = await load(dir, { dtype: 'bfloat16' });
    expect(tokenizer.encode('abc', { addSpecialTokens: false })).toEqual([3, 4, 5]);
    expect([...tokenizer.eosTokenIds].sort()).toEqual([0, 2]);
    expect(params(model).every(([, p]) => p.dtype === 'bfloat16')).toBe(true);
  });
});
