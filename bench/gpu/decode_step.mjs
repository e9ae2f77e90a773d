// Where a decode step's time goes on the current default device: the compiled decode step
// (models/decode_graph.ts) against the eager step, on a tiny model with the layer count of a real
// shape (host overhead dominates) and on the real shape (weights dominate). Per step: wall time
// with a synchronize after each step, and the host-only time to queue a step (no synchronize).
//   node bench/gpu/decode_step.mjs [--config llama-3.2-1b] [--dtype bfloat16] [--steps 64]
import { readFileSync } from 'node:fs';
import * as kn from '../../dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const NAME = arg('config', 'llama-3.2-1b'),
  DTYPE = arg('dtype', 'bfloat16'),
  STEPS = Number(arg('steps', 64));
const base = JSON.parse(readFileSync(new URL(`../../models/configs/${NAME}.json`, import.meta.url), 'utf8'));
const tiny = { ...base, hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 16, vocab_size: 256 };

function measure(label, cfg) {
  const model = kn.models.modelFromConfig(cfg, { dtype: DTYPE, seed: 0 });
  kn.eval(model.parameters());
  const rows = [];
  for (const compiled of [false, true]) {
    const cache = kn.models.makeCache(model);
    kn.tidy(() => {
      model.forward(kn.array([Array.from({ length: 128 }, (_, i) => i % cfg.vocab_size)], 'int32'), { cache });
      kn.eval(kn.models.cacheState(cache));
    });
    const g = compiled ? kn.models.DecodeGraph.for(model, cache) : null;
    const tok = kn.array([[1]], 'int32');
    const step = () =>
      kn.tidy(() => {
        const l = g ? g.step(tok, cache, 128 + 3 * STEPS + 8) : model.forward(tok, { cache });
        kn.eval(l, ...kn.models.cacheState(cache));
      });
    for (let i = 0; i < 3; i++) step();
    kn.synchronize();
    let t = performance.now();
    for (let i = 0; i < STEPS; i++) {
      step();
      kn.synchronize();
    }
    const wall = (performance.now() - t) / STEPS;
    t = performance.now();
    for (let i = 0; i < STEPS; i++) step();
    const queue = (performance.now() - t) / STEPS;
    kn.synchronize();
    const drained = (performance.now() - t) / STEPS;
    rows.push({ label, mode: compiled ? 'compiled' : 'eager', wall, queue, drained, kernels: g ? g.info.kernels : '' });
    for (const c of cache) c.dispose();
    tok.dispose();
  }
  kn.dispose(model.parameters());
  return rows;
}

console.log(`device ${kn.defaultDevice()}; ${NAME} ${DTYPE}; ${STEPS} steps after a 128-token prefill`);
const rows = [...measure(`tiny (${base.num_hidden_layers} layers, hidden 64)`, tiny), ...measure(NAME, base)];
console.log('| model | step | ms/step (sync each) | ms/step queued (host only) | ms/step queued + drained | kernels |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.label} | ${r.mode} | ${r.wall.toFixed(3)} | ${r.queue.toFixed(3)} | ${r.drained.toFixed(3)} | ${r.kernels} |`);
