// llama.cpp's logits for GGUF files of the tiny parity models (tests/fixtures/models/<family>),
// through node-llama-cpp (this sub-package only; never a kiln dependency). Each model is exported
// with kiln's exporter (F32 and F16, plus a small SentencePiece-style vocabulary llama.cpp insists
// on; ids are fed directly), evaluated on the fixture's token sequence with raw logits at every
// position, and the logits are written to tests/fixtures/models/<family>/llamacpp.safetensors.
//
//   cd bench/llamacpp && npm install --omit=optional && cd ../.. && npx tsx bench/llamacpp/make_gguf_fixtures.ts
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kn from '../../index.js';
import { loadModel } from '../../models/load.js';
import { exportGguf } from '../../models/gguf_export.js';
import { tinyVocabMetadata } from './tiny_vocab.js';

const FIXTURES = new URL('../../tests/fixtures/models/', import.meta.url).pathname;
const FAMILIES = ['llama', 'mistral', 'qwen2', 'qwen3'];
const TYPES = ['F32', 'F16'] as const;

// typed here, imported by a computed name: kiln's own type check must pass where this
// sub-package is not installed
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

const tmp = mkdtempSync(join(tmpdir(), 'kiln-llamacpp-'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const version = JSON.parse(readFileSync(new URL('./node_modules/node-llama-cpp/package.json', import.meta.url), 'utf8')).version as string;
try {
  for (const family of FAMILIES) {
    const dir = join(FIXTURES, family);
    const seq = Array.from(kn.loadSafetensors(join(dir, 'reference.safetensors')).tensors.sequence.toTypedArray() as Int32Array);
    const { model, config } = await loadModel(dir, { progress: false });
    const weights = new Map(kn.tree.flatten<kn.Array>((model as unknown as kn.nn.Module).parameters()));
    const out: Record<string, kn.Array> = { sequence: kn.array(Int32Array.from(seq)) };
    for (const type of TYPES) {
      const file = join(tmp, `${family}-${type}.gguf`);
      const vocab = tinyVocabMetadata(model.vocabSize);
      exportGguf(file, config, weights, { type, metadata: vocab.metadata, metadataTypes: vocab.metadataTypes });
      const m = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
      const ctx = await m.createContext({ contextSize: 256, batchSize: 256, threads: 1 });
      const s = ctx.getSequence();
      const res = await s.controlledEvaluate(seq.map((t) => [t, { generateNext: { logits: true } }]));
      const V = model.vocabSize;
      const logits = new Float32Array(seq.length * V);
      res.forEach((r, p) => {
        const map = r?.next.logits;
        if (!map || map.size !== V) throw new Error(`${family} ${type}: no full logits at position ${p}`);
        for (const [tok, v] of map) logits[p * V + tok] = v;
      });
      out[`logits_${type}`] = kn.array(logits).reshape([seq.length, V]);
      await ctx.dispose();
      await m.dispose();
      console.log(`${family} ${type}: ${seq.length} positions`);
    }
    kn.saveSafetensors(join(dir, 'llamacpp.safetensors'), out, { made_by: 'bench/llamacpp/make_gguf_fixtures.ts', node_llama_cpp: version });
  }
  writeFileSync(
    join(FIXTURES, 'llamacpp.json'),
    `${JSON.stringify({ made_by: 'bench/llamacpp/make_gguf_fixtures.ts', node_llama_cpp: version, families: FAMILIES, types: TYPES }, null, 1)}\n`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
  await llama.dispose();
}
