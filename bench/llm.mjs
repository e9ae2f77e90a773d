// LLM inference benchmark on random-weight models of real shapes (models/configs/: Llama-3.2-1B,
// TinyLlama-1.1B) in float32 and bfloat16: load time (from a safetensors folder written here),
// prompt processing and generation tokens/s, time to first token, peak memory, and the decode's
// achieved read bandwidth against this machine's read bandwidth measured in the same run.
// The machine's bandwidth is measured two ways (a sum: read only; a copy: read + write traffic);
// the sum kernel can fall short of the memory system, so both ratios are printed.
// Heavy (1B float32 = 5 GB): run after `npm run build:ts` with
//   nice node bench/llm.mjs [--configs llama-3.2-1b,tinyllama-1.1b] [--dtypes float32,bfloat16] [-p 512] [-g 128]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kn from '../dist/index.js';

const arg = (name, short, dflt) => {
  const i = process.argv.findIndex((a) => a === `--${name}` || a === `-${short}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const CONFIGS = arg('configs', 'c', 'llama-3.2-1b,tinyllama-1.1b').split(',');
const DTYPES = arg('dtypes', 'd', 'float32,bfloat16').split(',');
const P = Number(arg('n-prompt', 'p', 512)),
  G = Number(arg('n-gen', 'g', 128));
const GB = 1e9;

/** Read bandwidth: the best of several sums over a 1 GiB float32 array (a read-only pass). */
function readBandwidth() {
  const n = 2 ** 28;
  const a = kn.ones([n]);
  a.eval();
  kn.synchronize();
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const s = kn.sum(a);
    s.eval();
    kn.synchronize(); // a GPU's eval only queues the kernels
    best = Math.min(best, (performance.now() - t) / 1000);
    s.dispose();
  }
  let bestCopy = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const c = kn.add(a, 1);
    c.eval();
    kn.synchronize();
    bestCopy = Math.min(bestCopy, (performance.now() - t) / 1000);
    c.dispose();
  }
  a.dispose();
  return { read: (n * 4) / best / GB, copy: (2 * n * 4) / bestCopy / GB };
}

const config = (name) => JSON.parse(readFileSync(name.endsWith('.json') ? name : new URL(`../models/configs/${name}.json`, import.meta.url), 'utf8'));
const paramBytes = (m) => kn.tree.flatten(m.parameters()).reduce((s, [, a]) => s + a.nbytes, 0);
const paramCount = (m) => kn.tree.flatten(m.parameters()).reduce((s, [, a]) => s + a.size, 0);

async function run(name, dtype) {
  const cfg = config(name);
  let t = performance.now();
  const random = kn.models.modelFromConfig(cfg, { dtype, seed: 0 });
  const buildS = (performance.now() - t) / 1000;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-llm-bench-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  random.saveWeights(join(dir, 'model.safetensors'));
  kn.dispose(random.parameters());
  t = performance.now();
  const { model } = await kn.models.loadModel(dir);
  const loadS = (performance.now() - t) / 1000;
  const bytes = paramBytes(model),
    count = paramCount(model);
  const prompt = Array.from({ length: P }, (_, i) => (i * 7919 + 13) % model.vocabSize);
  const cache = kn.models.makeCache(model);
  kn.memory.resetPeak();
  const t0 = performance.now();
  let ttft = 0,
    last;
  for await (const r of kn.models.streamGenerate(
    model,
    { encode: () => [], decode: () => '', eosTokenIds: [], bosTokenId: null, detokenizer: () => ({ add: () => '', finalize: () => '' }) },
    prompt,
    { maxTokens: G, promptCache: cache },
  )) {
    if (!ttft) ttft = (performance.now() - t0) / 1000;
    last = r;
  }
  const kvBytes = kn.models.cacheState(cache).reduce((s, a) => s + a.nbytes, 0);
  const kvPerPos = kvBytes / cache[0].state[0].shape[2];
  // a decode step reads every weight once and the cache up to its position (mean P + G/2)
  const stepBytes = bytes + kvPerPos * (P + G / 2);
  for (const c of cache) c.dispose();
  kn.dispose(model.parameters());
  rmSync(dir, { recursive: true, force: true });
  return {
    name,
    dtype,
    count,
    bytes,
    buildS,
    loadS,
    pp: last.promptTps,
    ttft,
    tg: last.generationTps,
    decodeGBs: (stepBytes * last.generationTps) / GB,
    peak: last.peakMemory,
  };
}

const info = kn.info();
const isa = info.isa;
console.log(`kiln ${info.backend}, ${info.threads} threads, ISA ${JSON.stringify(isa)}`);
const bw = readBandwidth();
console.log(`machine: read ${bw.read.toFixed(1)} GB/s (sum of 1 GiB float32), copy ${bw.copy.toFixed(1)} GB/s (read + write)\n`);
const rows = [];
for (const name of CONFIGS)
  for (const dtype of DTYPES) {
    const r = await run(name, dtype);
    rows.push(r);
    console.error(`done ${name} ${dtype}: pp ${r.pp.toFixed(2)} tg ${r.tg.toFixed(2)} tok/s`);
  }
const head = [
  'model',
  'dtype',
  'params',
  'weights',
  `pp${P} tok/s`,
  'TTFT s',
  `tg${G} tok/s`,
  'decode GB/s',
  '% of sum / copy BW',
  'load s',
  'random init s',
  'peak GB',
];
const table = rows.map((r) => [
  r.name,
  r.dtype,
  `${(r.count / 1e9).toFixed(2)} B`,
  `${(r.bytes / GB).toFixed(2)} GB`,
  r.pp.toFixed(2),
  r.ttft.toFixed(2),
  r.tg.toFixed(2),
  r.decodeGBs.toFixed(2),
  `${((100 * r.decodeGBs) / bw.read).toFixed(0)}% / ${((100 * r.decodeGBs) / bw.copy).toFixed(0)}%`,
  r.loadS.toFixed(2),
  r.buildS.toFixed(1),
  (r.peak / GB).toFixed(2),
]);
const w = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (c) => `| ${c.map((x, i) => x.padEnd(w[i])).join(' | ')} |`;
console.log([line(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...table.map(line)].join('\n'));
