// Quantized inference benchmark (MLX affine layout, backends/cpu/kernels/quantized.cc), every row
// against its bfloat16 peer measured in the same run and against the machine's read bandwidth:
//   1. decode products [M, K] x [K, N] (--shapes 4096x4096,... as KxN, --m 1, --bits 4,8, --group 64,
//      --threads 1,2): quantizedMatmul vs bfloat16 matmul on the same shape and thread count, in GB/s of
//      weight bytes read (packed words + scales + biases) and as a share of the read bandwidth;
//   2. a random-weight TinyLlama-1.1B (models/configs/) in bfloat16, 8 bits and 4 bits (groups of 64):
//      prompt processing and generation tokens/s and the decode's bandwidth.
// Run after `npm run build:ts`: nice node bench/quantized.mjs [--config tinyllama-1.1b] [--p 128] [--g 32] [--kernel-only] [--shapes 4096x4096] [--flush-mb 96]
// (or on the sources: KILN_BENCH_SRC=1 node --import tsx bench/quantized.mjs ...)
import { readFileSync } from 'node:fs';
import { bestMs, hasFlag, listArg, numberArg } from './lib/timing.mjs';
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

// Decode shapes [K -> N] (x [M, K] @ W[N, K].T): attention, MLP up/gate, TinyLlama's MLP, Llama 3's lm_head.
const SHAPES = (listArg('shapes').length ? listArg('shapes') : ['4096x4096', '4096x11008', '2048x8192', '2048x128256']).map((s) => s.split('x').map(Number));
const BITS = listArg('bits').length ? listArg('bits').map(Number) : [4, 8];
const THREADS = listArg('threads').length ? listArg('threads').map(Number) : [1, 2];
const M = numberArg('m', 1),
  GS = numberArg('group', 64);
// every timed call reads a different copy of its weights until at least this much was streamed, so
// the weights come from memory as in a real decode step (each layer read once per token), not from L3
const FLUSH = numberArg('flush-mb', 96) * 1e6;

// Weight copies of `bytes` each that together exceed FLUSH, and a timer that cycles through them.
const nCopies = (bytes) => Math.max(1, Math.ceil(FLUSH / bytes));
function timeCycling(fns, reps) {
  let i = 0;
  const call = () => fns[i++ % fns.length]();
  return bestMs(call, Math.max(reps, fns.length * 3), fns.length);
}

function kernelRows(K, N) {
  const xb = kn.random.normal([M, K], { key: kn.random.key(1) }).astype('bfloat16');
  xb.eval();
  const bfBytes = N * K * 2;
  const ws = [];
  for (let c = 0; c < nCopies(bfBytes); c++) {
    const w = kn.random.normal([N, K], { key: kn.random.key(10 + c), scale: 0.02 }).astype('bfloat16');
    w.eval();
    ws.push(w);
  }
  const res = [];
  for (const threads of THREADS) {
    kn.setNumThreads(threads);
    const msB = timeCycling(
      ws.map((w) => () => kn.matmul(xb, w.T).eval()),
      12,
    );
    res.push({ threads, label: 'bfloat16 matmul', ms: msB, bytes: bfBytes, ratio: 1 });
  }
  for (const bits of BITS) {
    const qs = [];
    let bytes = 0;
    for (let c = 0; c < nCopies((bfBytes * bits) / 16); c++) {
      const q = kn.quantize(ws[c % ws.length], { bits, groupSize: GS });
      kn.eval(q.wq, q.scales, q.biases);
      bytes = q.wq.nbytes + q.scales.nbytes + q.biases.nbytes;
      qs.push(q);
    }
    for (const threads of THREADS) {
      kn.setNumThreads(threads);
      const ms = timeCycling(
        qs.map((q) => () => kn.quantizedMatmul(xb, q.wq, q.scales, q.biases, { bits, groupSize: GS }).eval()),
        12,
      );
      const msB = res.find((r) => r.threads === threads && r.label.startsWith('bfloat16')).ms;
      res.push({ threads, label: `${bits}-bit g${GS} quantizedMatmul`, ms, bytes, ratio: msB / ms });
    }
    for (const q of qs) kn.dispose([q.wq, q.scales, q.biases]);
  }
  kn.setNumThreads(0);
  kn.dispose([xb, ...ws]);
  return res;
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
const bwAt = {};
for (const t of THREADS) {
  kn.setNumThreads(t);
  bwAt[t] = readBandwidth();
}
kn.setNumThreads(0);
const bw = readBandwidth();
console.log(
  `machine read bandwidth (sum of 512 MiB float32): ${THREADS.map((t) => `${bwAt[t].toFixed(1)} GB/s on ${t}T`).join(', ')}, ${bw.toFixed(1)} GB/s at the default\n`,
);
for (const [K, N] of SHAPES) {
  console.log(`decode product [${M}, ${K}] x [${K}, ${N}] (weights cycled over ${FLUSH / 1e6} MB):`);
  for (const r of kernelRows(K, N)) {
    const gbs = r.bytes / (r.ms / 1000) / GB;
    console.log(
      `  ${r.label.padEnd(28)} ${r.threads}T ${r.ms.toFixed(3).padStart(8)} ms  ${(r.bytes / 1e6).toFixed(1).padStart(6)} MB  ${gbs.toFixed(1).padStart(5)} GB/s (${((100 * gbs) / bwAt[r.threads]).toFixed(0).padStart(3)}% of read)  ${r.ratio.toFixed(2)}x bf16`,
    );
  }
}
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
