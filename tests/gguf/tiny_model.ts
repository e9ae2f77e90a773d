// A tiny llama GGUF whose matrices are random blocks of one ggml type (seeded, so the same bytes at
// fixture time and test time): llama.cpp's logits on it (bench/llamacpp/make_gguf_quant_fixtures.ts)
// are the reference kiln's native kernels are checked against, type by type.
import * as kn from '../../index.js';
import { hfToGguf } from '../../models/gguf_export.js';
import { hfToGgufName } from '../../models/gguf_load.js';
import type { GgmlTypeName } from '../../ops/io/ggml_quants.js';
import { tinyVocabMetadata } from '../../bench/llamacpp/tiny_vocab.js';
import { randomBlocks } from './blocks.js';

export const TINY_CONFIG = {
  model_type: 'llama',
  hidden_size: 256,
  num_hidden_layers: 1,
  intermediate_size: 256,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  vocab_size: 260,
  rms_norm_eps: 1e-5,
  max_position_embeddings: 64,
  rope_theta: 10000,
  tie_word_embeddings: false,
};
export const TINY_TOKENS = [1, 17, 200, 5, 99, 250, 3, 42, 7, 130];
export const TINY_TYPES: GgmlTypeName[] = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

/** Writes the tiny model with every matrix random `type` blocks (scales kept small) to `path`. */
export function writeTinyQuantModel(type: GgmlTypeName, path: string): void {
  const model = kn.models.createModel(TINY_CONFIG);
  const shapes = kn.tree.flatten<kn.Array>((model as unknown as kn.nn.Module).parameters()).map(([k, a]) => [k, a.shape] as const);
  kn.dispose((model as unknown as kn.nn.Module).parameters());
  const weights = new Map<string, kn.Array>();
  const types: Record<string, GgmlTypeName> = {};
  let seed = 100;
  for (const [k, shape] of shapes) {
    if (shape.length < 2) {
      weights.set(k, kn.ones(shape as number[]));
      continue;
    }
    const b = randomBlocks(type, shape[0], shape[1], seed++, 0.05);
    weights.set(k, kn.array(b, 'uint8').reshape([shape[0], -1]));
    types[hfToGgufName(k)!] = type;
  }
  const vocab = tinyVocabMetadata(TINY_CONFIG.vocab_size);
  const g = hfToGguf(TINY_CONFIG, weights, { type: 'F16', metadata: vocab.metadata, metadataTypes: vocab.metadataTypes });
  kn.saveGguf(path, { tensors: g.tensors, metadata: g.metadata, metadataTypes: g.metadataTypes }, { types: (n, a) => (a.ndim < 2 ? 'F32' : types[n]) });
}
