// The kiln side of the GPU LLM benchmark (issue 14): the shapes of bench/gpu/llm_torch.py on the
// default device (the GPU where the CUDA backend loaded). Per config (models/configs/ name or a
// config.json path): a random-weight model from kn.models.modelFromConfig (bfloat16, seed 0),
// then batch 1:
//   - a P-token prompt and G greedy tokens through kn.models.streamGenerate (a warm-up run of the same
//     shape first, so compiles and NVRTC are not timed): prompt tok/s (to the first token) and
//     decode tok/s (the G - 1 tokens after the first), peak device memory over the run;
//   - prefill tok/s at 2048 tokens: one forward over a fresh KV cache, the cache and the last
//     position's logits evaluated, then kn.synchronize() (best of 2 after a warm-up);
//   - the decode's achieved bandwidth: (weight bytes + KV bytes of the mean cached length P + G/2)
//     x decode tok/s, and the copy bandwidth of kn.copy over 1 GiB (read + write) in the same run.
// One line `KILN_JSON {...}` per config (a meta line first) on stdout, keys as llm_torch.py's where
// they apply; progress on stderr. bench/gpu/llm.sh runs both sides; bench/gpu/llm_table.mjs joins them.
// Runs dist/ (npx tsc -p tsconfig.json first).
//   node bench/gpu/llm.mjs [--configs llama-3.2-1b,llama-2-7b,llama-2-13b | path.json] [-p 512] [-g 128]
//        [--prefill-long 2048] [--dtype bfloat16] [--eager] [--no-warmup] [--copy-gib 1]
//   --eager: KILN_DECODE_GRAPH=0 (eager decode steps instead of the replayed compiled graph)
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

let opt;
try {
  ({ values: opt } = parseArgs({
    options: {
      configs: { type: 'string', short: 'c', default: 'llama-3.2-1b,llama-2-7b,llama-2-13b' },
      prompt: { type: 'string', short: 'p', default: '512' },
      gen: { type: 'string', short: 'g', default: '128' },
      'prefill-long': { type: 'string', default: '2048' },
      dtype: { type: 'string', default: 'bfloat16' },
      eager: { type: 'boolean', default: false },
      'no-warmup': { type: 'boolean', default: false },
      'copy-gib': { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (e) {
  console.error(`llm.mjs: ${e.message} (see --help)`);
  process.exit(2);
}
if (opt.help) {
  console.log(
    readFileSync(new URL(import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('//'))
      .map((l) => l.slice(3))
      .join('\n'),
  );
  process.exit(0);
}
const int = (name, min) => {
  const v = Number(opt[name]);
  if (!Number.isInteger(v) || v < min) {
    console.error(`llm.mjs: --${name} must be an integer >= ${min}, got ${JSON.stringify(opt[name])}`);
    process.exit(2);
  }
  return v;
};
const P = int('prompt', 1),
  G = int('gen', 2),
  LONG = int('prefill-long', 0);
const copyGiB = Number(opt['copy-gib']);
if (opt.eager) process.env.KILN_DECODE_GRAPH = '0'; // read by DecodeGraph.for at each generation

const kn = await import('../../dist/index.js');
const GB = 1e9;
const emit = (obj) => console.log(`KILN_JSON ${JSON.stringify(obj)}`);
const log = (...a) => console.error('[llm.mjs]', ...a);
const errText = (e) =>
  String(e?.message ?? e)
    .split('\n')[0]
    .slice(0, 400);
const now = () => performance.now();

const device = kn.defaultDevice();
const devStr = `${device} (${device.name})`;
const peakOn = () => kn.memory.peak({ device });
const readConfig = (name) => JSON.parse(readFileSync(name.endsWith('.json') ? name : new URL(`../../models/configs/${name}.json`, import.meta.url), 'utf8'));
const configName = (name) => (name.endsWith('.json') ? basename(name, '.json') : name);
const tokens = (n, vocab) => Array.from({ length: n }, (_, i) => (i * 7919 + 13) % vocab); // the same ids as llm_torch.py
const dummyTokenizer = { encode: () => [], decode: () => '', eosTokenIds: [], bosTokenId: null, detokenizer: () => ({ add: () => '', finalize: () => '' }) };

/** Copy bandwidth: kn.copy of a float32 array of `gib` GiB, (read + write) / best time of 5. */
function copyBandwidth(gib) {
  const n = Math.round((gib * 2 ** 30) / 4);
  const x = kn.ones([n]);
  x.eval();
  const w = kn.copy(x); // warm-up
  w.eval();
  w.dispose();
  kn.synchronize();
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = now();
    const y = kn.copy(x);
    y.eval();
    kn.synchronize();
    best = Math.min(best, (now() - t) / 1000);
    y.dispose();
  }
  x.dispose();
  return (2 * n * 4) / best / GB;
}

/** Prompt and decode tok/s of one streamGenerate run (P prompt tokens, G generated). */
async function generateOnce(model, prompt) {
  const cache = kn.models.makeCache(model);
  const graph = opt.eager
    ? 'off (--eager)'
    : kn.models.DecodeGraph.for(model, cache)
      ? 'on'
      : `off: ${kn.models.DecodeGraph.unsupported(model, cache) ?? 'kn.compile disabled (KILN_DISABLE_COMPILE=1) or KILN_DECODE_GRAPH=0'}`;
  kn.synchronize();
  kn.memory.resetPeak({ device });
  const t0 = now();
  let ttft = 0,
    last = null,
    n = 0;
  for await (const r of kn.models.streamGenerate(model, dummyTokenizer, prompt, { maxTokens: G, promptCache: cache })) {
    if (!ttft) ttft = (now() - t0) / 1000;
    last = r;
    n++;
  }
  const peak = peakOn();
  for (const c of cache) c.dispose();
  if (n !== G) throw new Error(`streamGenerate made ${n} tokens, expected ${G}`);
  return { promptTps: last.promptTps, generationTps: last.generationTps, ttft, peak, graph };
}

/** Tokens/s of one forward over `n` tokens: the KV cache and the last position's logits evaluated. */
function prefillLong(model, n, vocab) {
  const ids = tokens(n, vocab);
  const m = model;
  const once = () => {
    const cache = kn.models.makeCache(model);
    kn.synchronize();
    const t = now();
    kn.tidy(() => {
      const x = kn.array([ids], 'int32');
      let targets;
      if (m.model && typeof m.model.call === 'function') {
        // the decoder's normed hidden states, then the head on the last position only (as
        // transformers' logits_to_keep=1 on the torch side)
        const h = m.model.call(x, { cache });
        const lastH = kn.slice(h, [{}, { start: n - 1, stop: n }, {}]);
        targets = [m.lm_head ? m.lm_head.call(lastH) : m.model.embed_tokens.asLinear(lastH)];
      } else {
        const logits = model.forward(x, { cache });
        targets = [kn.slice(logits, [{}, { start: n - 1, stop: n }, {}])];
      }
      kn.eval(...targets, ...kn.models.cacheState(cache));
    });
    kn.synchronize();
    const s = (now() - t) / 1000;
    for (const c of cache) c.dispose();
    return s;
  };
  kn.memory.resetPeak({ device });
  once(); // warm-up
  const best = Math.min(once(), once());
  return { tps: n / best, peak: peakOn() };
}

const meta = {
  meta: true,
  device: devStr,
  devices: kn.devices().map((d) => `${d} (${d.name})`),
  gpuUnavailable: kn.info().gpuUnavailable,
  isa: kn.info().isa.level,
  node: process.version,
  dtype: opt.dtype,
  decode: opt.eager ? 'eager' : 'graph',
};
if (copyGiB > 0) {
  try {
    meta.kiln_copy_gbs = copyBandwidth(copyGiB);
  } catch (e) {
    meta.copy_error = errText(e);
  }
}
emit(meta);
log(`device ${devStr}${meta.gpuUnavailable ? ` (GPU unavailable: ${meta.gpuUnavailable})` : ''}; copy ${meta.kiln_copy_gbs?.toFixed(0) ?? '?'} GB/s`);

for (const name of opt.configs.split(',').filter(Boolean)) {
  const tCfg = now();
  const row = { config: configName(name), prompt: P, gen: G, prefill_long: LONG, dtype: opt.dtype, device: devStr, kiln_mode: opt.eager ? 'eager' : 'graph' };
  const errors = {};
  let model = null,
    cfg = null;
  try {
    cfg = readConfig(name);
    const t = now();
    model = kn.models.modelFromConfig(cfg, { dtype: opt.dtype, seed: 0 });
    kn.synchronize();
    row.build_s = (now() - t) / 1000;
    const params = kn.tree.flatten(model.parameters()).map(([, a]) => a);
    row.params = params.reduce((s, a) => s + a.size, 0);
    row.weight_bytes = params.reduce((s, a) => s + a.nbytes, 0);
    const heads = cfg.num_attention_heads,
      kvHeads = cfg.num_key_value_heads ?? heads;
    const headDim = cfg.head_dim ?? cfg.hidden_size / heads;
    const kvItem = params.find((a) => a.dtype === 'float16' || a.dtype === 'bfloat16') ? 2 : 4; // the cache keeps the projections' dtype
    row.kv_bytes_per_token = 2 * cfg.num_hidden_layers * kvHeads * headDim * kvItem;
    log(`${row.config}: ${(row.params / 1e9).toFixed(2)} B params, ${(row.weight_bytes / GB).toFixed(2)} GB, built in ${row.build_s.toFixed(1)} s`);
  } catch (e) {
    errors.build = errText(e);
    log(`${row.config}: build failed: ${e?.stack ?? e}`);
  }
  if (model) {
    try {
      const prompt = tokens(P, cfg.vocab_size);
      if (!opt['no-warmup']) await generateOnce(model, prompt);
      const r = await generateOnce(model, prompt);
      row.kiln_decode_tps = r.generationTps;
      row.kiln_prefill512_tps = r.promptTps;
      row.kiln_ttft_s = r.ttft;
      row.peak_bytes = r.peak;
      row.decode_graph = r.graph;
      // a decode step reads every weight once and the cache up to its position (mean P + G/2)
      row.decode_gbs = ((row.weight_bytes + row.kv_bytes_per_token * (P + G / 2)) * r.generationTps) / GB;
      log(
        `${row.config}: decode ${r.generationTps.toFixed(1)} tok/s (${row.decode_gbs.toFixed(0)} GB/s), prompt ${r.promptTps.toFixed(0)} tok/s, graph ${r.graph}`,
      );
    } catch (e) {
      errors.generate = errText(e);
      log(`${row.config}: generate failed: ${e?.stack ?? e}`);
    }
    if (LONG > 0) {
      try {
        const r = prefillLong(model, LONG, cfg.vocab_size);
        row.kiln_prefill2048_tps = r.tps;
        row.peak_bytes_prefill = r.peak;
        log(`${row.config}: prefill${LONG} ${r.tps.toFixed(0)} tok/s`);
      } catch (e) {
        errors.prefill = errText(e);
        log(`${row.config}: prefill${LONG} failed: ${e?.stack ?? e}`);
      }
    }
  }
  if (Object.keys(errors).length) row.errors = errors;
  row.total_s = (now() - tCfg) / 1000;
  emit(row);
  if (model) kn.dispose(model.parameters());
  kn.memory.clearCache();
}
