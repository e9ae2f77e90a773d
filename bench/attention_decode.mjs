// Decode attention: one query token against a KV cache of S positions with grouped-query heads
// (kn.fast.scaledDotProductAttention, q [1, Hq, 1, D], k/v [1, Hkv, S, D]), timed as GB/s of the
// cache read (K and V once each per token: 2 * Hkv * S * D * bytes). Shapes of TinyLlama-1.1B
// (32 query heads over 4 kv heads) and Llama-3.2-1B (32 over 8), D = 64, float32 and bfloat16.
// Run: `node bench/attention_decode.mjs` (options: --reps 15). BENCH_BEFORE=/path/to/old/kiln_cpu.node
// adds a column for another addon, timed in the same run (child processes, alternating).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as kn from 'kilnjs';
import { bestMs, numberArg } from './lib/timing.mjs';

const cases = [
  // [name, Hq, Hkv, S, D, dtype]
  ['tinyllama S=512 f32', 32, 4, 512, 64, 'float32'],
  ['tinyllama S=2048 f32', 32, 4, 2048, 64, 'float32'],
  ['tinyllama S=2048 bf16', 32, 4, 2048, 64, 'bfloat16'],
  ['llama3.2-1b S=4096 f32', 32, 8, 4096, 64, 'float32'],
  ['llama3.2-1b S=4096 bf16', 32, 8, 4096, 64, 'bfloat16'],
];

function child() {
  const reps = numberArg('reps', 15);
  const ms = {};
  for (const [name, Hq, Hkv, S, D, dt] of cases) {
    const r = (shape, seed) =>
      kn.random
        .normal(shape, { key: kn.random.key(seed) })
        .astype(dt)
        .eval();
    const q = r([1, Hq, 1, D], 1);
    // a cache preallocated longer than S and sliced, as models/cache.ts does
    const k = kn.slice(r([1, Hkv, S + 256, D], 2), [kn.slice(null), kn.slice(null), kn.slice(0, S)]).eval();
    const v = kn.slice(r([1, Hkv, S + 256, D], 3), [kn.slice(null), kn.slice(null), kn.slice(0, S)]).eval();
    const scale = 1 / Math.sqrt(D);
    ms[name] = bestMs(() => kn.tidy(() => kn.eval(kn.fast.scaledDotProductAttention(q, k, v, { scale }))), reps, 2);
  }
  process.stdout.write(JSON.stringify({ isa: kn.info().isa.level, threads: kn.info().threads, ms }));
}

function main() {
  const self = fileURLToPath(import.meta.url);
  const runs = [['now', {}]];
  if (process.env.BENCH_BEFORE) runs.unshift(['before', { KILN_ADDON: process.env.BENCH_BEFORE }]);
  const cols = runs.map(([label, extra]) => {
    const r = JSON.parse(
      execFileSync(process.execPath, [self, ...process.argv.slice(2)], { encoding: 'utf8', env: { ...process.env, ...extra, BENCH_CHILD: '1' } }),
    );
    return { label, ...r };
  });
  console.log(`decode attention, ${cols[0].threads} threads, isa ${cols.map((c) => `${c.label}: ${c.isa}`).join(', ')}`);
  console.log(['case'.padEnd(26), ...cols.map((c) => `${c.label} ms    GB/s`.padStart(20))].join(' '));
  for (const [name, , Hkv, S, D, dt] of cases) {
    const bytes = 2 * Hkv * S * D * (dt === 'float32' ? 4 : 2);
    const cells = cols.map((c) => `${c.ms[name].toFixed(3).padStart(9)} ${(bytes / c.ms[name] / 1e6).toFixed(1).padStart(9)}`.padStart(20));
    console.log([name.padEnd(26), ...cells].join(' '));
  }
}

if (process.env.BENCH_CHILD) child();
else main();
