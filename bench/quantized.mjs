// Quantized inference benchmark (MLX affine layout, backends/cpu/kernels/quantized.cc), every row
// against its bfloat16 peer measured in the same run and against the machine's read bandwidth:
//   1. the decode product [1, 2048] x [2048, 8192]: 4- and 8-bit quantizedMatmul vs bfloat16 matmul
//      (bytes read = packed words + scales + biases) in GB/s;
//   2. a random-weight TinyLlama-1.1B (models/configs/) in bfloat16, 8 bits and 4 bits (groups of 64):
//      prompt processing and generation tokens/s and the decode's bandwidth.
// Run after `npm run build:ts`: nice node bench/quantized.mjs [--config tinyllama-1.1b] [--p 128] [--g 32] [--kernel-only]
// (or on the sources: KILN_BENCH_SRC=1 node --import tsx bench/quantized.mjs ...)
import { readFileSync } from 'node:fs';
import { bestMs, hasFlag, numberArg } from './lib/timing.mjs';
// KILN_BENCH_SRC=1 with `node --import tsx` runs the TypeScript sources instead of dist/
const kn = await import(process.env.KILN_BENCH_SRC ? '../index.ts' : '../dist/index.js');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const CONFIG = arg('config', 'tinyllama-1.1b');
const P = numberArg('p', 128),
  G = numberArg('g', 32);
const GB = 1e9;

function readBandwidth() {
  const n = 2 ** 27;
  const a = kn.ones([n]);
  a.eval();
  const ms = bestMs(() => kn.sum(a).eval(), 5);
  a.dispose();
  return (n * 4) / (ms / 1000) / GB;
}

function kernelRows() {
  const K = 2048,
    N = 8192;
  const w = kn.random.normal([N, K], { key: kn.random.key(0), scale: 0.02 });
  const x = kn.random.normal([1, K], { key: kn.random.key(1) });
  const rows = [];
  const wb = w.astype('bfloat16'),
    xb = x.astype('bfloat16'),
    wbt = wb.T;
  kn.eval(wb, xb);
  const msB = bestMs(() => kn.matmul(xb, wbt).eval(), 20, 3);
  rows.push(['bfloat16 matmul', msB, wb.nbytes]);
  for (const bits of [8, 4]) {
    const q = kn.quantize(wb, { bits, groupSize: 64 });
    kn.eval(q.wq, q.scales, q.biases);
    const bytes = q.wq.nbytes + q.scales.nbytes + q.biases.nbytes;
    const ms = bestMs(() => kn.quantizedMatmul(xb, q.wq, q.scales, q.biases, { bits, groupSize: 64 }).eval(), 20, 3);
    rows.push([`${bits}-bit quantizedMatmul`, ms, bytes]);
    kn.dispose([q.wq, q.scales, q.biases]);
  }
  kn.dispose([w, x, wb, xb]);
  return rows;
}

const noTok = { encode: () => [], decode: () => '', eosTokenIds: [], bosTokenId: null, detokenizer: () => ({ add: () => '', finalize: () => '' }) };

async function modelRow(cfg, bits) {
  const model = kn.models.modelFromConfig(cfg, { dtype: 'bfloat16', seed: 0 });
  if (bits) {
    kn.models.quantizeLanguageModel(model, { bits, groupSize: 64 });
    kn.eval(...kn.tree.flatten(model.parameters()).map(([, a]) => a));
  }
  const bytes = kn.tree.flatten(model.parameters()).reduce((s, [, a]) => s + a.nbytes, 0);
  const prompt = Array.from({ length: P }, (_, i) => (i * 7919 + 13) % model.vocabSize);
  let last;
  for await (const r of kn.models.streamGenerate(model, noTok, prompt, { maxTokens: G })) last = r;
  kn.dispose(model.parameters());
  return { label: bits ? `${bits}-bit (g64)` : 'bfloat16', bytes, pp: last.promptTps, tg: last.generationTps, decodeGBs: (bytes * last.generationTps) / GB };
}

const info = kn.info();
console.log(`kiln ${info.backend}, ${info.threads} threads, ISA ${info.isa.level} (best ${info.isa.best})`);
const bw = readBandwidth();
console.log(`machine read bandwidth: ${bw.toFixed(1)} GB/s (sum of 512 MiB float32)\n`);
console.log('decode product [1, 2048] x [2048, 8192]:');
const kr = kernelRows();
for (const [label, ms, bytes] of kr)
  console.log(
    `  ${label.padEnd(24)} ${ms.toFixed(3)} ms  ${(bytes / 1e6).toFixed(1)} MB  ${(bytes / (ms / 1000) / GB).toFixed(1)} GB/s (${((100 * bytes) / (ms / 1000) / GB / bw).toFixed(0)}% of read)  ${(kr[0][1] / ms).toFixed(2)}x bf16`,
  );
if (!hasFlag('kernel-only')) {
  const cfg = JSON.parse(readFileSync(new URL(`../models/configs/${CONFIG}.json`, import.meta.url), 'utf8'));
  console.log(`\n${CONFIG}, prompt ${P}, generation ${G} (random weights):`);
  const rows = [];
  for (const bits of [0, 8, 4]) rows.push(await modelRow(cfg, bits));
  for (const r of rows)
    console.log(
      `  ${r.label.padEnd(14)} weights ${(r.bytes / GB).toFixed(2)} GB  pp ${r.pp.toFixed(1)} tok/s (${(r.pp / rows[0].pp).toFixed(2)}x)  tg ${r.tg.toFixed(2)} tok/s (${(r.tg / rows[0].tg).toFixed(2)}x)  decode ${r.decodeGBs.toFixed(1)} GB/s (${((100 * r.decodeGBs) / bw).toFixed(0)}% of read)`,
    );
}
