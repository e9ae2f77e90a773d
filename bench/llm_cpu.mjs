// CPU LLM benchmark against llama.cpp on the same GGUF files: random weights in the real shapes of
// TinyLlama-1.1B and Llama-3.2-1B (models/configs/), written here as F16, Q8_0, Q4_0 and Q4_K_M
// (llama.cpp's mix: Q4_K, with Q6_K for the output / tied embedding and for attn_v and ffn_down of
// the first and last eighth of the layers and every third between), then run by kiln and by
// llama.cpp (node-llama-cpp in bench/llamacpp, never a kiln dependency) with the same thread count,
// each in its own child process (so peak RSS is its own): prompt processing (pp) and generation (tg)
// tokens/s, the decode's achieved bandwidth (weight bytes per token x tg) as a fraction of the read
// bandwidth measured in the same run (bench/llm.mjs's sum of 1 GiB), and peak RSS.
//
//   (cd bench/llamacpp && npm install --omit=optional)
//   nice npx tsx bench/llm_cpu.mjs [--configs tinyllama-1.1b,llama-3.2-1b] [--types F16,Q8_0,Q4_0,Q4_K_M] [-p 512] [-g 128] [-t 2] [--dir D]
// (--dir D keeps the GGUF files in D and reuses those already there, e.g. for profiling one later)
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, short, dflt) => {
  const i = process.argv.findIndex((a) => a === `--${name}` || a === `-${short}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const P = Number(arg('n-prompt', 'p', 512)),
  G = Number(arg('n-gen', 'g', 128)),
  THREADS = Number(arg('threads', 't', 2));
const GB = 1e9;
const self = fileURLToPath(import.meta.url);
const prompt = (vocab) => Array.from({ length: P }, (_, i) => 3 + ((i * 7919 + 13) % (vocab - 3)));

// ---- workers (child processes) --------------------------------------------------------------------

async function kilnWorker(file) {
  const kn = await import('../index.ts');
  const t = performance.now();
  const { model } = await kn.models.loadModel(file, { progress: false });
  const loadS = (performance.now() - t) / 1000;
  const rssLoaded = process.memoryUsage().rss;
  const cache = kn.models.makeCache(model);
  let last;
  const tok = { encode: () => [], decode: () => '', eosTokenIds: [], bosTokenId: null, detokenizer: () => ({ add: () => '', finalize: () => '' }) };
  for await (const r of kn.models.streamGenerate(model, tok, prompt(model.vocabSize), { maxTokens: G, promptCache: cache })) last = r;
  return { pp: last.promptTps, tg: last.generationTps, loadS, rssLoaded, isa: kn.info().isa.level, threads: kn.info().threads };
}

async function llamaWorker(file) {
  const dir = new URL('./llamacpp/node_modules/node-llama-cpp/dist/index.js', import.meta.url);
  const { getLlama } = await import(dir.href);
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const t = performance.now();
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const loadS = (performance.now() - t) / 1000;
  const rssLoaded = process.memoryUsage().rss;
  const ctx = await model.createContext({ contextSize: P + G + 16, batchSize: P, threads: { ideal: THREADS, min: THREADS } });
  const seq = ctx.getSequence();
  const toks = prompt(model.tokens.length ?? 32000);
  let t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(toks.slice(0, -1));
  const ppS = (performance.now() - t0) / 1000;
  // generation: the last prompt token, then G tokens (greedy); the first step is part of decode here
  let n = 0;
  t0 = performance.now();
  for await (const _ of seq.evaluate([toks[toks.length - 1]], { temperature: 0 })) {
    if (++n >= G) break;
  }
  const tgS = (performance.now() - t0) / 1000;
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
  return { pp: (P - 1) / ppS, tg: n / tgS, loadS, rssLoaded };
}

// This process's own peak: VmHWM belongs to the address space, made new at exec. (getrusage's
// maxRSS is kept across execve, so every worker reported the driver's peak at spawn time.)
function peakRss() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {}
  return process.resourceUsage().maxRSS * 1024;
}

if (process.argv[2] === '--worker') {
  const [, , , who, file] = process.argv;
  const r = who === 'kiln' ? await kilnWorker(file) : await llamaWorker(file);
  r.maxRss = peakRss();
  console.log(`RESULT ${JSON.stringify(r)}`);
  process.exit(0);
}

// ---- the driver ---------------------------------------------------------------------------------------

const kn = await import('../index.ts');
const { hfToGguf } = await import('../models/gguf_export.ts');
const { tinyVocabMetadata } = await import('./llamacpp/tiny_vocab.ts');
const { f32ToF16, GGML_BY_NAME } = await import('../ops/io/ggml_quants.ts');
const { hfToGgufName } = await import('../models/gguf_load.ts');
const { Float16Array } = await import('@petamoriken/float16');

const CONFIGS = arg('configs', 'c', 'tinyllama-1.1b,llama-3.2-1b').split(',');
const TYPES = arg('types', 'T', 'F16,Q8_0,Q4_0,Q4_K_M').split(',');

/** Read bandwidth: the best of several sums over a 1 GiB float32 array (as bench/llm.mjs). */
function readBandwidth() {
  const n = 2 ** 28;
  const a = kn.ones([n]);
  a.eval();
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const s = kn.sum(a);
    s.eval();
    best = Math.min(best, (performance.now() - t) / 1000);
    s.dispose();
  }
  a.dispose();
  return (n * 4) / best / GB;
}

// f16 bits of N(0, 0.02)-ish values, indexed by a random 16-bit number
const F16_POOL = (() => {
  const t = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) {
    const u = (i + 0.5) / 65536;
    t[i] = f32ToF16(0.02 * Math.sqrt(-2 * Math.log(1 - u)) * (i % 2 ? 1 : -1) * 0.7);
  }
  return t;
})();
const F16_AT = { Q8_0: [0], Q4_0: [0], Q4_K: [0, 2], Q6_K: [208] };

/** random weights of `type` for a [rows, cols] matrix: uint8 blocks, or float16 values */
function randomTensor(type, rows, cols) {
  if (type === 'F16') {
    const u = new Uint16Array(rows * cols);
    randomFillSync(u);
    for (let i = 0; i < u.length; i++) u[i] = F16_POOL[u[i]];
    return kn.array(new Float16Array(u.buffer), 'float16').reshape([rows, cols]);
  }
  const t = GGML_BY_NAME.get(type);
  const nb = (rows * cols) / t.blockSize;
  const b = new Uint8Array(nb * t.typeSize);
  randomFillSync(b);
  const d = f32ToF16(type === 'Q4_0' ? 0.002 : 0.0002),
    dmin = f32ToF16(0.0004);
  for (let i = 0; i < nb; i++)
    F16_AT[type].forEach((o, k) => {
      const h = k === 0 ? d : dmin;
      b[i * t.typeSize + o] = h & 0xff;
      b[i * t.typeSize + o + 1] = h >> 8;
    });
  if (type === 'Q6_K') for (let i = 0; i < nb; i++) for (let j = 0; j < 16; j++) b[i * t.typeSize + 192 + j] = 8 + (b[i * t.typeSize + 192 + j] & 15);
  return kn.array(b, 'uint8').reshape([rows, (cols / t.blockSize) * t.typeSize]);
}

/** the ggml type of each HF weight for a file type (Q4_K_M: llama.cpp's mix) */
function typeOf(fileType, name, nLayers, tied) {
  if (!/\.weight$/.test(name) || /norm/.test(name)) return 'F32';
  if (fileType !== 'Q4_K_M') return fileType;
  if (name === 'lm_head.weight' || (tied && name === 'model.embed_tokens.weight')) return 'Q6_K';
  const m = /layers\.(\d+)\.(self_attn\.v_proj|mlp\.down_proj)/.exec(name);
  if (m) {
    const i = Number(m[1]);
    const more = i < nLayers / 8 || i >= (7 * nLayers) / 8 || (i - Math.floor(nLayers / 8)) % 3 === 2;
    if (more) return 'Q6_K';
  }
  return 'Q4_K';
}

async function writeModel(cfg, fileType, path) {
  const model = kn.models.createModel(cfg);
  const shapes = kn.tree.flatten(model.parameters()).map(([k, a]) => [k, a.shape]);
  kn.dispose(model.parameters());
  const tied = cfg.tie_word_embeddings === true;
  const weights = new Map();
  const types = {};
  for (const [k, shape] of shapes) {
    const ty = typeOf(fileType, k, cfg.num_hidden_layers, tied);
    weights.set(k, ty === 'F32' ? kn.ones(shape) : randomTensor(ty, shape[0], shape[1]));
    types[k] = ty;
    await new Promise((r) => setImmediate(r)); // lets kiln see the event loop turn (gigabytes of weights)
  }
  const vocab = tinyVocabMetadata(cfg.vocab_size);
  const g = hfToGguf(cfg, weights, { type: 'F16', metadata: vocab.metadata, metadataTypes: vocab.metadataTypes });
  // GGUF names back to the HF types chosen above (q/k permutation keeps shapes)
  const byGguf = Object.fromEntries(Object.entries(types).map(([k, t]) => [hfToGgufName(k) ?? k, t]));
  g.metadata['general.file_type'] = { F16: 1, Q8_0: 7, Q4_0: 2, Q4_K_M: 15 }[fileType];
  kn.saveGguf(path, { tensors: g.tensors, metadata: g.metadata, metadataTypes: g.metadataTypes }, { types: (n) => byGguf[n] });
  kn.dispose([...weights.values()]);
  return statSync(path).size;
}

function worker(who, file) {
  const env = { ...process.env, KILN_NUM_THREADS: String(THREADS) };
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--worker', who, file], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${who} worker failed on ${file} (status ${r.status}):\n${r.stderr?.slice(-3000)}`);
  return JSON.parse(line.slice(7));
}

const info = kn.info();
console.log(`kiln ISA ${info.isa.level} (avx512vnni ${info.isa.avx512vnni}), ${THREADS} threads for both peers; pp${P}, tg${G}`);
const bw = readBandwidth();
console.log(`machine read bandwidth (sum of 1 GiB float32, best of 5): ${bw.toFixed(1)} GB/s\n`);
const keep = arg('dir', 'd', null);
const tmp = keep ?? mkdtempSync(join(tmpdir(), 'kiln-llm-cpu-'));
if (keep) mkdirSync(keep, { recursive: true });
const rows = [];
try {
  for (const name of CONFIGS) {
    const cfg = JSON.parse(readFileSync(new URL(`../models/configs/${name}.json`, import.meta.url), 'utf8'));
    for (const type of TYPES) {
      const file = join(tmp, `${name}-${type}.gguf`);
      const size = keep && existsSync(file) ? statSync(file).size : await writeModel(cfg, type, file);
      // bytes a decode step reads: every weight except the embedding rows not looked up
      const k = worker('kiln', file);
      const l = worker('llamacpp', file);
      rows.push({ name, type, size, k, l });
      console.error(`done ${name} ${type}: kiln pp ${k.pp.toFixed(1)} tg ${k.tg.toFixed(2)}; llama.cpp pp ${l.pp.toFixed(1)} tg ${l.tg.toFixed(2)}`);
      if (!keep) rmSync(file, { force: true });
    }
  }
} finally {
  if (!keep) rmSync(tmp, { recursive: true, force: true });
}

const embedBytes = (name) => {
  const c = JSON.parse(readFileSync(new URL(`../models/configs/${name}.json`, import.meta.url), 'utf8'));
  return c.tie_word_embeddings ? 0 : 1; // tied: the embedding is read as the head; untied: its rows are not
};
const head = [
  'model',
  'type',
  'file GB',
  `kiln pp${P}`,
  `llama.cpp pp${P}`,
  'pp ratio',
  `kiln tg${G}`,
  `llama.cpp tg${G}`,
  'tg ratio',
  'kiln decode GB/s (% of read BW)',
  'llama.cpp GB/s (%)',
  'kiln peak RSS GB',
  'llama.cpp peak RSS GB',
];
const table = rows.map(({ name, type, size, k, l }) => {
  // weight bytes per token ~ file size minus the untied embedding table (its rows are looked up, not streamed)
  const cfg = JSON.parse(readFileSync(new URL(`../models/configs/${name}.json`, import.meta.url), 'utf8'));
  const embd = embedBytes(name) ? (size * (cfg.vocab_size * cfg.hidden_size)) / paramsOf(cfg) : 0;
  const step = size - embd;
  const kg = (step * k.tg) / GB,
    lg = (step * l.tg) / GB;
  return [
    name,
    type,
    (size / GB).toFixed(2),
    k.pp.toFixed(1),
    l.pp.toFixed(1),
    (k.pp / l.pp).toFixed(2),
    k.tg.toFixed(2),
    l.tg.toFixed(2),
    (k.tg / l.tg).toFixed(2),
    `${kg.toFixed(1)} (${((100 * kg) / bw).toFixed(0)}%)`,
    `${lg.toFixed(1)} (${((100 * lg) / bw).toFixed(0)}%)`,
    (k.maxRss / GB).toFixed(2),
    (l.maxRss / GB).toFixed(2),
  ];
});
function paramsOf(c) {
  const h = c.hidden_size,
    i = c.intermediate_size,
    L = c.num_hidden_layers,
    hd = c.head_dim ?? h / c.num_attention_heads;
  const kv = c.num_key_value_heads * hd;
  return c.vocab_size * h * (c.tie_word_embeddings ? 1 : 2) + L * (2 * h * h + 2 * h * kv + 3 * h * i);
}
const w = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (c) => `| ${c.map((x, i) => x.padEnd(w[i])).join(' | ')} |`;
console.log([line(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...table.map(line)].join('\n'));
