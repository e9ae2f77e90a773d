// Quantized GGUF models load with their weights kept in ggml blocks (nn.GGUFLinear/GGUFEmbedding
// over zero-copy views of the mapped file) and compute the same logits as the dequantized float
// model; kiln's exporter writes Q4_K_M (llama.cpp's mix); hostile files with quantized tensors
// (row not whole blocks, data past the end, misaligned offsets) are rejected naming the tensor.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { exportGguf } from '../../models/gguf_export.js';
import { loadModel } from '../../models/load.js';
import { GGML_BY_NAME } from '../../ops/io/ggml_quants.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-gguf-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// a llama with every matrix a multiple of 256 wide, so K types apply everywhere
const CONFIG = {
  model_type: 'llama',
  hidden_size: 256,
  num_hidden_layers: 2,
  intermediate_size: 512,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 300,
  rms_norm_eps: 1e-5,
  max_position_embeddings: 128,
  tie_word_embeddings: false,
};
const TOKENS = [[1, 5, 9, 200, 17, 3, 250, 42]];

function floatModel(seed: number) {
  const m = kn.models.modelFromConfig(CONFIG, { dtype: 'float32', seed });
  return new Map(kn.tree.flatten<kn.Array>((m as unknown as kn.nn.Module).parameters()));
}
const logits = (m: kn.models.LanguageModel) => m.forward(kn.array(TOKENS, 'int32')).astype('float32').toTypedArray() as Float32Array;
const relErr = (a: Float32Array, b: Float32Array) => {
  let n = 0,
    d = 0;
  for (let i = 0; i < a.length; i++) {
    n += (a[i] - b[i]) ** 2;
    d += b[i] ** 2;
  }
  return Math.sqrt(n / d);
};

describe('quantized GGUF models run on their blocks', () => {
  const weights = floatModel(3);
  for (const type of ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K', 'Q4_K_M'] as const) {
    it(`${type}: GGUF layers over mapped blocks, logits = the dequantized model's within the activation-quantization error`, async () => {
      const file = join(root, `m-${type}.gguf`);
      exportGguf(file, CONFIG, weights, { type });
      const g = kn.loadGguf(file);
      const { model } = await loadModel(file, { progress: false });
      const mod = model as unknown as kn.nn.Module;
      const up = (model as unknown as { model: { layers: { mlp: { up_proj: kn.nn.Module } }[] } }).model.layers[0].mlp.up_proj;
      expect(up).toBeInstanceOf(kn.nn.GGUFLinear);
      expect((up as kn.nn.GGUFLinear).ggmlType).toBe(type === 'Q4_K_M' ? 'Q4_K' : type);
      // weights: the file's bytes (blocks) plus float norms, about the file size
      const bytes = kn.tree.flatten<kn.Array>(mod.parameters()).reduce((s, [, a]) => s + a.nbytes, 0);
      expect(bytes).toBeLessThanOrEqual(statSync(file).size);
      expect(bytes).toBeGreaterThan(statSync(file).size * 0.9);
      // reference: the same file dequantized to float32 (ggml's values) in the float model
      const ref = kn.models.createModel(CONFIG);
      const { ggufWeights, ggufConfig } = await import('../../models/gguf_load.js');
      (ref as unknown as kn.nn.Module).loadWeights([...ggufWeights(g, ggufConfig(g, file), file)]);
      const e = relErr(logits(model), logits(ref));
      expect(e).toBeLessThan(type === 'Q8_0' ? 0.01 : 0.03);
      if (type === 'Q4_K_M') {
        expect(g.types['output.weight']).toBe('Q6_K');
        expect(g.types['blk.0.ffn_down.weight']).toBe('Q6_K'); // the first eighth of the layers
        expect(g.types['blk.0.ffn_up.weight']).toBe('Q4_K');
      }
    });
  }

  it('a tied embedding in blocks serves as the output head; blocks save back unchanged', async () => {
    const cfg = { ...CONFIG, tie_word_embeddings: true };
    const w = floatModel(4);
    w.delete('lm_head.weight');
    const file = join(root, 'tied.gguf');
    exportGguf(file, cfg, w, { type: 'Q4_K_M' });
    const { model } = await loadModel(file, { progress: false });
    const emb = (model as unknown as { model: { embed_tokens: kn.nn.Module } }).model.embed_tokens;
    expect(emb).toBeInstanceOf(kn.nn.GGUFEmbedding);
    expect((emb as kn.nn.GGUFEmbedding).ggmlType).toBe('Q6_K');
    expect(logits(model).every(Number.isFinite)).toBe(true);
    const g = kn.loadGguf(file, { quantized: 'blocks' });
    expect(g.tensors['blk.0.ffn_up.weight'].dtype).toBe('uint8');
    const back = join(root, 'back.gguf');
    kn.saveGguf(back, g, { types: g.types });
    expect(readFileSync(back).equals(readFileSync(file))).toBe(true);
  });
});

// ---- hostile files ------------------------------------------------------------------------------

/** a GGUF v3 file with one tensor: name 't', dims (ggml order), type id, data offset, data bytes */
function oneTensor(ne: number[], type: number, offset: number, dataBytes: number): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    parts.push(b);
  };
  const u64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    parts.push(b);
  };
  parts.push(Buffer.from('GGUF'));
  u32(3);
  u64(1);
  u64(0);
  u64(1);
  parts.push(Buffer.from('t'));
  u32(ne.length);
  ne.forEach(u64);
  u32(type);
  u64(offset);
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  return Buffer.concat([head, Buffer.alloc(dataBytes, 0x11)]);
}

describe('hostile GGUF files with quantized tensors', () => {
  const q4k = GGML_BY_NAME.get('Q4_K')!;
  const cases: [string, Buffer, RegExp][] = [
    [
      'a row that is not whole blocks',
      oneTensor([300, 2], q4k.id, 0, 2 * 2 * 144),
      /tensor 't' has 300 elements per row, not a multiple of the Q4_K block size 256/,
    ],
    ['block data past the end', oneTensor([256, 4], q4k.id, 0, 3 * 144), /truncated: tensor 't' \(576 bytes at offset \d+\) runs past the end/],
    ['an offset past the end', oneTensor([256, 1], q4k.id, 1 << 20, 144), /runs past the end/],
    ['a misaligned offset', oneTensor([32, 1], GGML_BY_NAME.get('Q8_0')!.id, 17, 64), /offset 17 is not a multiple of the alignment 32/],
    ['an unknown type', oneTensor([32, 1], 99, 0, 64), /unknown ggml type 99/],
  ];
  it.each(cases)('%s', (_what, bytes, msg) => {
    const f = join(root, `bad-${Math.random().toString(36).slice(2)}.gguf`);
    writeFileSync(f, bytes);
    expect(() => kn.loadGguf(f, { quantized: 'blocks' })).toThrow(msg);
    expect(() => kn.loadGguf(f)).toThrow(msg);
  });

  it('kernels reject block arrays of the wrong size', () => {
    expect(() => kn.ggufMatmul(kn.ones([1, 256]), kn.zeros([2, 143], 'uint8'), 'Q4_K')).toThrow(/not a whole number of 144-byte Q4_K blocks/);
    expect(() => kn.loadGguf(join(root, 'none.gguf'), { quantized: 'raw' as 'blocks' })).toThrow(/quantized must be 'float32' or 'blocks'/);
  });
});
