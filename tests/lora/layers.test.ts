// LoRA / DoRA layers against hand-computed values, applying adapters to a model (which layers,
// what trains), fusing, and the mlx-lm adapter files (names, round trip, errors).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const L = kn.models.lora;
const tmp = mkdtempSync(join(tmpdir(), 'kiln-lora-layers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tiny = () =>
  kn.models.createModel({
    model_type: 'llama',
    hidden_size: 32,
    num_hidden_layers: 3,
    intermediate_size: 48,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 40,
  }) as unknown as kn.nn.Module;
const fwd = (m: kn.nn.Module, t: kn.NDArray) => (m as unknown as { forward(t: kn.NDArray): kn.NDArray }).forward(t);
const keys = (t: unknown) => kn.tree.flatten(t).map(([k]) => k);
const row = (a: kn.NDArray) => (a.tolist() as number[][])[0];

function base(): kn.nn.Linear {
  const l = new kn.nn.Linear(2, 3, { bias: true });
  l.weight = kn.array(
    [
      [1, 2],
      [0, -1],
      [3, 1],
    ],
    'float32',
  );
  l.bias = kn.array([0.5, 0, -1], 'float32');
  return l;
}

describe('LoRALinear', () => {
  it('adds scale·(x·A)·B to the base layer (hand computed)', () => {
    const l = new L.LoRALinear(base(), { rank: 1, scale: 2 });
    l.lora_a = kn.array([[1], [2]]);
    l.lora_b = kn.array([[1, 0, -1]]);
    // x = [1, 1]: base = [3.5, -1, 3]; x·A = 3; 2·3·B = [6, 0, -6]
    expect(l.call(kn.array([[1, 1]])).tolist()).toEqual([[9.5, -1, -3]]);
    expect((l.fuse() as kn.nn.Linear).call(kn.array([[1, 1]])).tolist()).toEqual([[9.5, -1, -3]]);
  });
  it('starts as the base layer (B = 0) and trains only A and B', () => {
    const b = base();
    const l = new L.LoRALinear(b, { rank: 2, key: kn.random.key(0) });
    expect(l.call(kn.ones([1, 2])).tolist()).toEqual(b.call(kn.ones([1, 2])).tolist());
    expect(keys(l.trainableParameters())).toEqual(['lora_a', 'lora_b']);
    expect(l.lora_a.shape).toEqual([2, 2]);
    expect(l.lora_b.shape).toEqual([2, 3]);
  });
  it('rejects bad options', () => {
    expect(() => new L.LoRALinear(base(), { rank: 0 })).toThrow(/\[LoRALinear\] rank must be a positive integer, got 0/);
    expect(() => new L.LoRALinear(base(), { dropout: 1 })).toThrow(/dropout must be in \[0, 1\), got 1/);
  });
  it('dropout in training needs a key and uses it reproducibly', () => {
    const l = new L.LoRALinear(base(), { rank: 1, scale: 1, dropout: 0.5 });
    l.lora_a = kn.ones([2, 1]);
    l.lora_b = kn.ones([1, 3]);
    const x = kn.ones([4, 2]);
    expect(() => l.call(x)).toThrow(/needs a key: run the forward pass inside kn.models.lora.withDropoutKey/);
    const a = L.withDropoutKey(kn.random.key(3), () => l.call(x)).tolist();
    const b = L.withDropoutKey(kn.random.key(3), () => l.call(x)).tolist();
    expect(a).toEqual(b);
    l.eval();
    expect(row(l.call(x))).toEqual([5.5, 1, 5]);
  });
});

describe('DoRALinear', () => {
  it('scales each output row of the adapted weight to the magnitude m (hand computed)', () => {
    const l = new L.DoRALinear(base(), { rank: 1, scale: 1 });
    l.lora_a = kn.array([[1], [0]]);
    l.lora_b = kn.array([[1, 1, 0]]);
    l.m = kn.array([1, 2, 3], 'float32');
    // W' = W + Bᵀ·Aᵀ = [[2, 2], [1, -1], [3, 1]]; row norms √8, √2, √10; x = [1, 0]
    const y = row(l.call(kn.array([[1, 0]])));
    const want = [2 / Math.sqrt(8) + 0.5, (2 * 1) / Math.sqrt(2), (3 * 3) / Math.sqrt(10) - 1];
    y.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    const f = row((l.fuse() as kn.nn.Linear).call(kn.array([[1, 0]])));
    f.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    expect(keys(l.trainableParameters())).toEqual(['lora_a', 'lora_b', 'm']);
  });
  it('starts equal to the base layer (m = row norms of W)', () => {
    const b = base();
    const l = new L.DoRALinear(b, { rank: 2, key: kn.random.key(1) });
    const x = kn.array([[0.3, -2]]);
    const [y, z] = [row(l.call(x)), row(b.call(x))];
    y.forEach((v, i) => expect(v).toBeCloseTo(z[i], 5));
  });
});

describe('applyLoRA / fuseLoRA', () => {
  it('adapts every Linear of the last N blocks by default, and only the named keys when given', () => {
    const m = tiny();
    expect(L.applyLoRA(m, { numLayers: 2, key: kn.random.key(0) })).toBe(14);
    const t = keys(m.trainableParameters());
    expect(t).toHaveLength(28);
    expect(t.every((k) => /^model\.layers\.[12]\..*\.lora_[ab]$/.test(k))).toBe(true);
    const m2 = tiny();
    expect(L.applyLoRA(m2, { numLayers: -1, loraParameters: { keys: ['self_attn.q_proj', 'v_proj'] } })).toBe(6);
    expect(keys(m2.trainableParameters()).filter((k) => k.endsWith('lora_a'))).toEqual([
      'model.layers.0.self_attn.q_proj.lora_a',
      'model.layers.0.self_attn.v_proj.lora_a',
      'model.layers.1.self_attn.q_proj.lora_a',
      'model.layers.1.self_attn.v_proj.lora_a',
      'model.layers.2.self_attn.q_proj.lora_a',
      'model.layers.2.self_attn.v_proj.lora_a',
    ]);
  });
  it('full fine-tuning unfreezes the last blocks only', () => {
    const m = tiny();
    L.applyLoRA(m, { fineTuneType: 'full', numLayers: 1 });
    const t = keys(m.trainableParameters());
    expect(t.every((k) => k.startsWith('model.layers.2.'))).toBe(true);
    expect(t).toHaveLength(9);
  });
  it('errors name the problem', () => {
    expect(() => L.applyLoRA(tiny(), { numLayers: 4 })).toThrow(/num_layers 4 exceeds the model's 3 blocks/);
    expect(() => L.applyLoRA(tiny(), { numLayers: 0 })).toThrow(/num_layers must be a positive integer or -1/);
    expect(() => L.applyLoRA(tiny(), { loraParameters: { keys: ['nope'] }, numLayers: 1 })).toThrow(
      /no Linear layer of the last 1 blocks matches keys \["nope"\]/,
    );
    expect(() => L.applyLoRA(tiny(), { fineTuneType: 'x' as never })).toThrow(/fine_tune_type must be lora, dora or full/);
  });
  it('fusing gives the logits of base + adapter', () => {
    for (const fineTuneType of ['lora', 'dora'] as const) {
      const m = tiny();
      L.applyLoRA(m, { fineTuneType, numLayers: 2, loraParameters: { rank: 4, scale: 3 }, key: kn.random.key(2) });
      let k = kn.random.key(5);
      for (const [, l] of L.loraLayers(m)) {
        const [a, b] = kn.unstack(kn.random.split(k, 2));
        k = a;
        l.lora_b = kn.multiply(kn.random.normal(l.lora_b.shape, { key: b }), 0.2);
      }
      const toks = kn.array([[1, 5, 9, 2, 30]], 'int32');
      const before = fwd(m, toks).toTypedArray() as Float32Array;
      expect(L.fuseLoRA(m)).toBe(14);
      expect(L.loraLayers(m)).toHaveLength(0);
      const after = fwd(m, toks).toTypedArray() as Float32Array;
      let d = 0;
      before.forEach((v, i) => (d = Math.max(d, Math.abs(v - after[i]))));
      expect(d).toBeLessThan(1e-4);
    }
  });
});

describe('adapter files (mlx-lm layout)', () => {
  it('round trip: saveAdapters then loadAdapters on a fresh model gives the same logits', () => {
    const m = tiny();
    const config = { fine_tune_type: 'lora' as const, num_layers: 2, lora_parameters: { rank: 4, scale: 5, dropout: 0, keys: ['q_proj', 'down_proj'] } };
    L.applyLoRA(m, { numLayers: 2, loraParameters: config.lora_parameters, key: kn.random.key(1) });
    for (const [, l] of L.loraLayers(m)) l.lora_b = kn.fullLike(l.lora_b, 0.01);
    const dir = join(tmp, 'rt');
    L.saveAdapters(m, dir, config);
    const names = Object.keys(kn.loadSafetensors(join(dir, 'adapters.safetensors')).tensors).sort();
    expect(names).toEqual([
      'model.layers.1.mlp.down_proj.lora_a',
      'model.layers.1.mlp.down_proj.lora_b',
      'model.layers.1.self_attn.q_proj.lora_a',
      'model.layers.1.self_attn.q_proj.lora_b',
      'model.layers.2.mlp.down_proj.lora_a',
      'model.layers.2.mlp.down_proj.lora_b',
      'model.layers.2.self_attn.q_proj.lora_a',
      'model.layers.2.self_attn.q_proj.lora_b',
    ]);
    const fresh = tiny();
    fresh.update(m.parameters() as never, { strict: false });
    const m2 = tiny();
    // the same base weights, then the adapter from disk
    m2.loadWeights(
      kn.tree
        .flatten<kn.NDArray>(m.parameters())
        .filter(([k]) => !k.includes('lora_'))
        .map(([k, v]) => [k.replace('.linear.', '.'), v] as const),
    );
    expect(L.loadAdapters(m2, dir).lora_parameters.scale).toBe(5);
    const t = kn.array([[3, 1, 4, 1, 5]], 'int32');
    expect(fwd(m2, t).tolist()).toEqual(fwd(m, t).tolist());
  });
  it('bad adapter folders give errors naming the file and the problem', () => {
    const m = tiny();
    expect(() => L.loadAdapters(m, join(tmp, 'none'))).toThrow(/adapter path .*none does not exist/);
    const d = join(tmp, 'bad');
    L.saveAdapters(tiny(), d, { fine_tune_type: 'lora', num_layers: 1, lora_parameters: { rank: 4, scale: 1, dropout: 0 } });
    // the file holds no adapter tensors (a frozen-free plain model was saved): the adapted model lacks them
    expect(() => L.loadAdapters(tiny(), d)).toThrow(/adapters.safetensors holds \d+ tensor\(s\) the adapted model lacks/);
    writeFileSync(join(d, 'adapter_config.json'), '{"fine_tune_type": "lora", "num_layers": "two"}');
    expect(() => L.loadAdapters(tiny(), d)).toThrow(/adapter_config.json: num_layers must be an integer, got "two"/);
    writeFileSync(join(d, 'adapter_config.json'), '{ nope');
    expect(() => L.loadAdapters(tiny(), d)).toThrow(/adapter_config.json is not valid JSON/);
    const d2 = join(tmp, 'short');
    const m3 = tiny();
    L.applyLoRA(m3, { numLayers: 1, loraParameters: { rank: 2, keys: ['q_proj'] } });
    L.saveAdapters(m3, d2, { fine_tune_type: 'lora', num_layers: 1, lora_parameters: { rank: 2, scale: 20, dropout: 0, keys: ['q_proj', 'k_proj'] } });
    expect(() => L.loadAdapters(tiny(), d2)).toThrow(/lacks 2 adapter tensor\(s\): model.layers.2.self_attn.k_proj.lora_a/);
  });
});
