// kiln's native GGUF kernels against llama.cpp on the same bytes: the tiny llama of tiny_model.ts in
// every block type, logits at every position vs llama.cpp's (fixtures/models/gguf_quant, made by
// bench/llamacpp/make_gguf_quant_fixtures.ts with node-llama-cpp). Both quantize activations to 8 bits
// (and llama.cpp keeps its KV cache in F16), so they agree to about a percent, not bit for bit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { loadModel } from '../../models/load.js';
import { TINY_TOKENS, TINY_TYPES, writeTinyQuantModel } from './tiny_model.js';

const fixture = kn.loadSafetensors(new URL('../fixtures/models/gguf_quant/llamacpp.safetensors', import.meta.url).pathname).tensors;
const tmp = mkdtempSync(join(tmpdir(), 'kiln-gguf-lc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('GGUF block types: kiln logits vs llama.cpp', () => {
  it.each(TINY_TYPES)('%s', async (type) => {
    const file = join(tmp, `tiny-${type}.gguf`);
    writeTinyQuantModel(type, file);
    const { model } = await loadModel(file, { progress: false });
    expect((model as unknown as { lm_head: kn.nn.Module }).lm_head).toBeInstanceOf(kn.nn.GGUFLinear);
    const got = model.forward(kn.array([TINY_TOKENS], 'int32')).toTypedArray() as Float32Array;
    const want = fixture[`logits_${type}`].toTypedArray() as Float32Array;
    let num = 0,
      den = 0,
      top = 0;
    const V = want.length / TINY_TOKENS.length;
    for (let p = 0; p < TINY_TOKENS.length; p++) {
      let ag = 0,
        aw = 0;
      for (let v = 0; v < V; v++) {
        const i = p * V + v;
        num += (got[i] - want[i]) ** 2;
        den += want[i] ** 2;
        if (got[i] > got[p * V + ag]) ag = v;
        if (want[i] > want[p * V + aw]) aw = v;
      }
      if (ag === aw) top++;
    }
    const rel = Math.sqrt(num / den);
    expect(rel, `${type} relative logits error ${rel}`).toBeLessThan(0.03);
    expect(top).toBeGreaterThanOrEqual(TINY_TOKENS.length - 1);
  });
});
