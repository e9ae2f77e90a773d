// QLoRA: LoRA adapters over a 4-bit base (nn.QuantizedLinear through kn.quantizedMatmul, which is
// differentiable with respect to x): the base stays frozen and quantized, the float32 adapters
// train and the loss falls; fusing quantizes the merged weight again (dense with dequantize).
// Runs once the native addon has the affine quantized kernels (backends/cpu/kernels/quantized.cc).
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const L = kn.models.lora;
const CONFIG = {
  model_type: 'llama',
  hidden_size: 64,
  num_hidden_layers: 2,
  intermediate_size: 128,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 40,
};
const quantizedCount = (m: kn.nn.Module) => m.namedModules().filter(([, x]) => x instanceof kn.nn.QuantizedLinear).length;
function model() {
  const m = kn.models.modelFromConfig(CONFIG, { seed: 3 }) as unknown as kn.nn.Module;
  kn.nn.quantize(m, { bits: 4, groupSize: 32, classPredicate: (_p: string, x: kn.nn.Module) => x instanceof kn.nn.Linear });
  return m;
}
const data = Array.from({ length: 24 }, (_, i) => ({ tokens: Array.from({ length: 6 + (i % 7) }, (_, t) => 3 + ((i * 5 + t) % 37)), offset: 0 }));

describe('QLoRA on a 4-bit base', () => {
  it('trains float32 adapters over frozen quantized layers; the loss falls', async () => {
    const m = model();
    const q = quantizedCount(m);
    expect(L.applyLoRA(m, { numLayers: 2, loraParameters: { rank: 4, scale: 2 }, key: kn.random.key(1) })).toBe(14);
    const trainable = kn.tree.flatten<kn.NDArray>(m.trainableParameters());
    expect(trainable.every(([k, v]) => /lora_[ab]$/.test(k) && v.dtype === 'float32')).toBe(true);
    expect(quantizedCount(m)).toBe(q);
    const val: number[] = [];
    await L.train(m, new kn.optim.Adam(1e-2), data, data, { batchSize: 4, iters: 30, stepsPerEval: 30, adapterPath: null, onEval: (e) => val.push(e.valLoss) });
    expect(val[1]).toBeLessThan(val[0] - 0.2);
    // fusing keeps the base quantized: each merged weight W + scale·Bᵀ·Aᵀ is quantized again, to
    // within one quantization step of its group
    const [path, layer] = L.loraLayers(m)[0];
    const merged = kn.add(L.denseWeight(layer.linear), layer.delta());
    kn.eval(merged);
    expect(L.fuseLoRA(m)).toBe(14);
    expect(quantizedCount(m)).toBe(q);
    let fused: unknown = m;
    for (const k of path.split('.')) fused = (fused as Record<string, unknown>)[k];
    const f = fused as kn.nn.QuantizedLinear;
    expect(f).toBeInstanceOf(kn.nn.QuantizedLinear);
    const err = kn.max(kn.abs(kn.subtract(f.toLinear().weight, merged))).item() as number;
    const step = kn.max(f.scales).item() as number;
    expect(err).toBeLessThanOrEqual(step + 1e-6);
  });
  it('fusing with dequantize gives dense layers with the logits of base + adapter', async () => {
    const m = model();
    L.applyLoRA(m, { numLayers: 1, loraParameters: { rank: 4, scale: 2 }, key: kn.random.key(2) });
    for (const [, l] of L.loraLayers(m)) l.lora_b = kn.fullLike(l.lora_b, 0.05);
    const t = kn.array([[3, 8, 13, 18]], 'int32');
    const fwd = (x: kn.nn.Module) => Array.from((x as unknown as { forward(t: kn.NDArray): kn.NDArray }).forward(t).toTypedArray() as Float32Array);
    const before = fwd(m);
    const q = quantizedCount(m);
    L.fuseLoRA(m, { dequantize: true });
    expect(quantizedCount(m)).toBe(q - 7);
    const after = fwd(m);
    expect(Math.max(...after.map((v, i) => Math.abs(v - before[i])))).toBeLessThan(1e-4);
  });
});
