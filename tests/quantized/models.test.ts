// Quantized models end to end: an MLX-layout folder (tests/fixtures/models/mlx_q4, written by
// tests/fixtures/make_quantized_fixtures.py with MLX's packing: 4-bit groups of 32, a per-layer
// 8-bit override, a layer left float16, the tied embedding quantized) loads through
// kn.models.load and matches its dequantized float model; kiln's quantize reproduces its packed
// words; kn.models.save writes it back loadable; the shipped kjv model quantized to 8 bits decodes
// the same greedy tokens, 4 bits stays close, and a quantized KV cache (kvBits) keeps the tokens.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const MLX = fileURLToPath(new URL('../fixtures/models/mlx_q4', import.meta.url));
const KJV = fileURLToPath(new URL('../../examples/models/kjv-llama-5m', import.meta.url));
const tokens = kn.array([[1, 17, 99, 203, 4, 58, 300, 7]]);

/** The fixture's float twin: the same config without quantization and the dequantized weights. */
function floatTwin(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-mlx-float-'));
  const cfg = JSON.parse(readFileSync(join(MLX, 'config.json'), 'utf8'));
  delete cfg.quantization;
  delete cfg.quantization_config;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  copyFileSync(join(MLX, 'dequantized.safetensors'), join(dir, 'model.safetensors'));
  return dir;
}

const maxDiff = (a: kn.NDArray, b: kn.NDArray) => kn.max(kn.abs(kn.subtract(a.astype('float32'), b.astype('float32')))).item() as number;

describe('an MLX-layout quantized folder', () => {
  it('loads with its per-layer settings and matches its dequantized float model', async () => {
    const { model, config } = await kn.models.loadModel(MLX);
    const m = model as unknown as {
      model: { layers: { self_attn: Record<string, kn.nn.Module>; mlp: Record<string, kn.nn.Module> }[]; embed_tokens: kn.nn.Module };
    };
    const q = m.model.layers[0].self_attn.q_proj as kn.nn.QuantizedLinear;
    expect(q).toBeInstanceOf(kn.nn.QuantizedLinear);
    expect([q.groupSize, q.bits]).toEqual([32, 4]);
    const down = m.model.layers[1].mlp.down_proj as kn.nn.QuantizedLinear;
    expect([down.groupSize, down.bits]).toEqual([64, 8]);
    expect(m.model.layers[0].self_attn.v_proj).toBeInstanceOf(kn.nn.Linear);
    expect(m.model.embed_tokens).toBeInstanceOf(kn.nn.QuantizedEmbedding);
    expect(kn.models.quantizationOf(config)?.bits).toBe(4);
    const { model: f } = await kn.models.loadModel(floatTwin());
    const a = model.forward(tokens),
      b = f.forward(tokens);
    expect(a.shape).toEqual([1, 8, 512]);
    // same float16 weights, same float32 math: only the order of the sums differs
    expect(maxDiff(a, b)).toBeLessThan(2e-2);
    expect(kn.argmax(a, -1).tolist()).toEqual(kn.argmax(b, -1).tolist());
  });

  it('kiln quantize reproduces the packed words MLX wrote', () => {
    const src = kn.loadSafetensors(fileURLToPath(new URL('../fixtures/models/llama/model.safetensors', import.meta.url))).tensors;
    const mlx = kn.loadSafetensors(join(MLX, 'model.safetensors')).tensors;
    for (const [name, gs, bits] of [
      ['model.layers.0.self_attn.q_proj', 32, 4],
      ['model.layers.1.mlp.down_proj', 64, 8],
      ['model.embed_tokens', 32, 4],
    ] as const) {
      const { wq, scales, biases } = kn.quantize(src[`${name}.weight`].astype('float16'), { groupSize: gs, bits });
      expect(Array.from(wq.toTypedArray() as Uint32Array)).toEqual(Array.from(mlx[`${name}.weight`].toTypedArray() as Uint32Array));
      expect(kn.arrayEqual(scales, mlx[`${name}.scales`])).toBe(true);
      expect(kn.arrayEqual(biases, mlx[`${name}.biases`])).toBe(true);
    }
  });

  it('saves back in the same layout and loads again to the same logits', async () => {
    const { model, config } = await kn.models.loadModel(MLX);
    const out = mkdtempSync(join(tmpdir(), 'kiln-mlx-save-'));
    const { files } = kn.models.save(model, out, { config });
    expect(files).toContain('model.safetensors');
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(saved.quantization).toMatchObject({ group_size: 32, bits: 4, 'model.layers.1.mlp.down_proj': { group_size: 64, bits: 8 } });
    const st = kn.loadSafetensors(join(out, 'model.safetensors'));
    expect(st.tensors['model.layers.0.self_attn.q_proj.scales'].dtype).toBe('float16');
    expect(st.tensors['model.layers.0.self_attn.v_proj.scales']).toBeUndefined();
    const { model: again } = await kn.models.loadModel(out);
    expect(maxDiff(again.forward(tokens), model.forward(tokens))).toBe(0);
  });

  it('rejects other quantization schemes and bad settings by name', async () => {
    expect(() => kn.models.quantizationOf({ quantization_config: { quant_method: 'gptq', bits: 4 } })).toThrow(/quantized with "gptq"/);
    expect(() => kn.models.quantizationOf({ quantization: { group_size: 48, bits: 4 } })).toThrow(/group_size must be one of 32, 64, 128, got 48/);
    expect(() => kn.models.quantizationOf({ quantization: { group_size: 64, bits: 4, 'model.x': 3 } })).toThrow(/quantization\["model.x"\] must be false or/);
  });
});

describe('the shipped kjv model quantized', () => {
  const prompt = 'And God said';
  const greedy = async (model: kn.models.LanguageModel, tokenizer: kn.models.Tokenizer, extra: Record<string, unknown> = {}) => {
    const out: number[] = [];
    for await (const r of kn.models.streamGenerate(model, tokenizer, prompt, { maxTokens: 24, ...extra })) out.push(r.token);
    return out;
  };

  it('8 bits decodes the float model greedy tokens; 4 bits stays close; kvBits 8 keeps them', async () => {
    const { model, tokenizer, config } = await kn.models.load(KJV);
    const ref = await greedy(model, tokenizer);
    const q8 = (await kn.models.load(KJV)).model;
    kn.nn.quantize(q8 as unknown as kn.nn.Module, { bits: 8, groupSize: 64 });
    const t8 = await greedy(q8, tokenizer);
    expect(t8.slice(0, 16)).toEqual(ref.slice(0, 16));
    const q4 = (await kn.models.load(KJV)).model;
    kn.models.quantizeLanguageModel(q4, { bits: 4, groupSize: 64 });
    const t4 = await greedy(q4, tokenizer);
    expect(t4.slice(0, 3)).toEqual(ref.slice(0, 3));
    const text4 = tokenizer.decode(t4);
    expect(text4).toMatch(/^[\w ,.;:'"!?\n-]+$/); // still words of the book, no byte soup
    // a quantized KV cache with float weights
    const tk = await greedy(model, tokenizer, { kvBits: 8 });
    expect(tk.slice(0, 16)).toEqual(ref.slice(0, 16));
    // and through save + load as an MLX folder
    const out = mkdtempSync(join(tmpdir(), 'kiln-kjv-q8-'));
    kn.models.save(q8, out, { config, tokenizerFrom: KJV });
    const re = await kn.models.load(out);
    expect(await greedy(re.model, re.tokenizer)).toEqual(t8);
  }, 120_000);

  it('kvBits is checked', async () => {
    const { model, tokenizer } = await kn.models.load(KJV);
    await expect(kn.models.generate(model, tokenizer, prompt, { kvBits: 7 })).rejects.toThrow(/kvBits must be one of 2, 3, 4, 5, 6, 8/);
    await expect(kn.models.generate(model, tokenizer, prompt, { kvBits: 8, maxKvSize: 64 })).rejects.toThrow(/cannot be combined with maxKvSize/);
  });
});
