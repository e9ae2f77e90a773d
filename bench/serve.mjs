// kiln serve benchmark: aggregate output tokens/s and per-request latency (time to first token,
// inter-token p50/p99) at several concurrencies, against the same requests sent one at a time,
// on the shipped kjv model and a TinyLlama-shape random model; and the prefix cache's speed-up
// on requests that share a 1,000-token system prompt. The server runs in this process on
// loopback (createServer); clients stream SSE with fetch.
//   npx tsc -p tsconfig.json && nice node bench/serve.mjs [--models kjv,tinyllama,<models/configs name>] [-c 1,4,16,64] [-g 32] [--seq-max 8] [--prefix kjv|none]
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kn from '../dist/index.js';

const arg = (name, short, dflt) => {
  const i = process.argv.findIndex((a) => a === `--${name}` || a === `-${short}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const MODELS = arg('models', 'm', 'kjv,tinyllama').split(',');
const CONC = arg('concurrency', 'c', '1,4,16,64').split(',').map(Number);
const GEN = Number(arg('n-gen', 'g', 32));
const PREFIX = arg('prefix', 'x', 'kjv');
// one-at-a-time tokens/s does not depend on how many requests: the baseline sends at most this many
const SEQ_MAX = Number(arg('seq-max', 's', 8));
const KJV = new URL('../examples/models/kjv-llama-5m', import.meta.url).pathname;

const pct = (xs, p) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function start(model, tokenizer, opts = {}) {
  const server = kn.models.createServer({ model, tokenizer, modelId: 'bench', maxConcurrency: 64, maxQueue: 1024, ...opts });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

/** One streamed completion: its first-token time, inter-token gaps and token count. */
async function one(url, body) {
  const t0 = performance.now();
  const r = await fetch(url + '/v1/completions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '',
    last = 0,
    ttft = NaN,
    chunks = 0,
    tokens = 0;
  const gaps = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const c = JSON.parse(ev.slice(6));
      if (c.error) throw new Error(c.error.message);
      if (c.usage) tokens = c.usage.completion_tokens;
      if (!c.choices?.length) continue;
      // a chunk per token (its text may be empty where the detokenizer holds back part of a
      // character, or the random models' ids decode to nothing): time every one
      const now = performance.now();
      if (chunks++ === 0) ttft = now - t0;
      else gaps.push(now - last);
      last = now;
    }
  }
  return { ttft, gaps, tokens };
}

/** `n` requests, `conc` in flight at a time. */
async function wave(url, prompts, conc) {
  const body = (p) => ({ model: 'bench', prompt: p, max_tokens: GEN, temperature: 0 });
  const res = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < prompts.length) res.push(await one(url, body(prompts[next++])));
    }),
  );
  const s = (performance.now() - t0) / 1000;
  const tokens = res.reduce((a, r) => a + r.tokens, 0);
  return { tps: tokens / s, ttft: res.map((r) => r.ttft), gaps: res.flatMap((r) => r.gaps), tokens, s };
}

async function table(name, model, tokenizer) {
  const { server, url } = await start(model, tokenizer, { prefixCache: false });
  const words = [
    'In the beginning',
    'And God said',
    'Blessed are the',
    'And it came to pass',
    'Thus saith the LORD',
    'And Moses said',
    'The LORD is my',
    'Hear, O Israel',
  ];
  const prompts = (n) => Array.from({ length: n }, (_, i) => tokenizer.encode(`${words[i % words.length]} ${'and the '.repeat(i % 5)}`));
  await wave(url, prompts(2), 2); // warm-up
  console.log(`\n${name} (${GEN} new tokens per request, greedy; ISA ${kn.info().isa.level})`);
  console.log('concurrency | requests | agg tok/s | one-at-a-time tok/s | ratio | vs c=1 | TTFT p50 / p99 ms | inter-token p50 / p99 ms');
  let base = null;
  for (const c of CONC) {
    const ps = prompts(Math.max(c, 4));
    const seq = await wave(url, ps.slice(0, SEQ_MAX), 1);
    const par = await wave(url, ps, c);
    if (c === CONC[0]) base = par.tps;
    console.log(
      `${String(c).padStart(11)} | ${String(ps.length).padStart(8)} | ${par.tps.toFixed(1).padStart(9)} | ${seq.tps.toFixed(1).padStart(19)} | ${(par.tps / seq.tps).toFixed(2).padStart(5)} | ${(par.tps / base).toFixed(2).padStart(6)} | ` +
        `${pct(par.ttft, 50).toFixed(0)} / ${pct(par.ttft, 99).toFixed(0)} | ${pct(par.gaps, 50).toFixed(1)} / ${pct(par.gaps, 99).toFixed(1)}`,
    );
  }
  await server.drain(1000);
}

async function prefixBench(model, tokenizer) {
  // a 1,000-token system prompt shared by 8 requests with different questions
  const system = tokenizer.encode('And the LORD spake unto Moses, saying, '.repeat(120)).slice(0, 1000);
  const qs = [
    'Who made the heaven?',
    'What is the law?',
    'Where is Zion?',
    'Who was Moses?',
    'What is good?',
    'Why weep?',
    'When is the feast?',
    'How long, O LORD?',
  ];
  const reqs = qs.map((q) => [...system, ...tokenizer.encode(q, { addSpecialTokens: false })]);
  const out = {};
  for (const cache of [false, true]) {
    const { server, url } = await start(model, tokenizer, { prefixCache: cache });
    await one(url, { model: 'bench', prompt: reqs[0], max_tokens: 1, temperature: 0 }); // fills the cache when on
    const t0 = performance.now();
    const ttft = [];
    for (const r of reqs.slice(1)) ttft.push((await one(url, { model: 'bench', prompt: r, max_tokens: 4, temperature: 0 })).ttft);
    out[cache ? 'on' : 'off'] = { ttft: pct(ttft, 50), s: (performance.now() - t0) / 1000 };
    await server.drain(1000);
  }
  console.log(`\nprefix cache, 1,000-token shared system prompt, 7 requests one at a time (ISA ${kn.info().isa.level})`);
  console.log(
    `  TTFT p50: off ${out.off.ttft.toFixed(0)} ms, on ${out.on.ttft.toFixed(0)} ms: ${(out.off.ttft / out.on.ttft).toFixed(1)}x; wall ${out.off.s.toFixed(2)} s vs ${out.on.s.toFixed(2)} s`,
  );
}

const tmp = mkdtempSync(join(tmpdir(), 'kiln-bench-serve-'));
try {
  for (const m of MODELS) {
    if (m === 'kjv') {
      const { model, tokenizer } = await kn.models.load(KJV);
      await table('kjv-llama-5m (shipped, bfloat16)', model, tokenizer);
    } else {
      // tinyllama, or any config of models/configs (llama-2-7b for the GPU table), random bfloat16 weights
      const name = m === 'tinyllama' ? 'tinyllama-1.1b' : m;
      const file = new URL(`../models/configs/${name}.json`, import.meta.url);
      if (!existsSync(file)) throw new Error(`unknown model ${m}; use kjv, tinyllama or a name in models/configs/`);
      const config = JSON.parse(readFileSync(file, 'utf8'));
      const model = kn.models.modelFromConfig(config, { dtype: 'bfloat16', seed: 0 });
      // the kjv tokenizer (ids < 2048) drives the random model: token ids only matter as ids
      const { tokenizer } = await kn.models.load(KJV);
      await table(`${name} shape, random bfloat16 weights (${kn.defaultDevice()})`, model, tokenizer);
    }
  }
  if (PREFIX === 'kjv') {
    // the kjv weights with a 2,048-token context (RoPE extends; speed is what is measured)
    const dir = join(tmp, 'kjv2k');
    cpSync(KJV, dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, max_position_embeddings: 2048 }));
    const { model, tokenizer } = await kn.models.load(dir);
    await prefixBench(model, tokenizer);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
