// llama.cpp's logits for the tiny llama of tests/gguf/tiny_model.ts in every GGUF block type kiln
// runs natively (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K): the same seeded random blocks
// are written here and at test time, so only the logits are committed
// (tests/fixtures/models/gguf_quant/llamacpp.safetensors).
//
//   cd bench/llamacpp && npm install --omit=optional && cd ../.. && npx tsx bench/llamacpp/make_gguf_quant_fixtures.ts
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kn from '../../index.js';
import { TINY_CONFIG, TINY_TOKENS, TINY_TYPES, writeTinyQuantModel } from '../../tests/gguf/tiny_model.js';

interface LcSequence {
  controlledEvaluate(input: unknown[]): Promise<({ next: { logits?: Map<number, number> } } | undefined)[]>;
}
interface LcContext {
  getSequence(): LcSequence;
  dispose(): Promise<void>;
}
interface LcModel {
  createContext(o: object): Promise<LcContext>;
  dispose(): Promise<void>;
}
interface Llama {
  loadModel(o: object): Promise<LcModel>;
  dispose(): Promise<void>;
}
const pkg = 'node-llama-cpp';
const { getLlama } = (await import(pkg)) as { getLlama(o: object): Promise<Llama> };

const OUT = new URL('../../tests/fixtures/models/gguf_quant/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'kiln-llamacpp-q-'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const version = JSON.parse(readFileSync(new URL('./node_modules/node-llama-cpp/package.json', import.meta.url), 'utf8')).version as string;
try {
  const out: Record<string, kn.Array> = { sequence: kn.array(Int32Array.from(TINY_TOKENS)) };
  const V = TINY_CONFIG.vocab_size;
  for (const type of TINY_TYPES) {
    const file = join(tmp, `tiny-${type}.gguf`);
    writeTinyQuantModel(type, file);
    const m = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
    const ctx = await m.createContext({ contextSize: 64, batchSize: 64, threads: 1 });
    const res = await ctx.getSequence().controlledEvaluate(TINY_TOKENS.map((t) => [t, { generateNext: { logits: true } }]));
    const logits = new Float32Array(TINY_TOKENS.length * V);
    res.forEach((r, p) => {
      const map = r?.next.logits;
      if (!map || map.size !== V) throw new Error(`${type}: no full logits at position ${p}`);
      for (const [tok, v] of map) logits[p * V + tok] = v;
    });
    out[`logits_${type}`] = kn.array(logits).reshape([TINY_TOKENS.length, V]);
    await ctx.dispose();
    await m.dispose();
    console.log(`${type}: ${TINY_TOKENS.length} positions, |logits| max ${Math.max(...logits.map(Math.abs)).toFixed(2)}`);
  }
  mkdirSync(OUT, { recursive: true });
  kn.saveSafetensors(join(OUT, 'llamacpp.safetensors'), out, { made_by: 'bench/llamacpp/make_gguf_quant_fixtures.ts', node_llama_cpp: version });
} finally {
  rmSync(tmp, { recursive: true, force: true });
  await llama.dispose();
}
