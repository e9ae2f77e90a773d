// The CPU thread pool's fork/join cost (backends/cpu/thread_pool.cc): parallel_for jobs of one
// chunk per thread, each chunk busy for --work µs, after --gap µs of idle time (0: back to back,
// as the kernels of one decode step run; 1000: longer than the workers' spin, so they sleep and
// each job pays a wake-up). Overhead = job time - work. Then one decode step's matrix-vector
// products of a TinyLlama-shaped layer timed at 1 thread and at all threads.
// Run: `node bench/pool.mjs` (--iters 2000 --work 5). KILN_SPIN_US=0 turns the spin off to compare;
// BENCH_BEFORE=/path/to/old/kiln_cpu.node adds the decode column for another addon (no
// measureForkJoin there: only the matvecs).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as kn from 'kilnjs';
import { native } from '../dist/backends/native.js';
import { bestMs, numberArg } from './lib/timing.mjs';

function forkJoin() {
  const iters = numberArg('iters', 2000),
    work = numberArg('work', 5);
  const rows = [];
  for (const gap of [0, 10, 100, 1000]) {
    const t = native.measureForkJoin(gap >= 1000 ? Math.min(iters, 300) : iters, gap, work);
    rows.push({ gap, ...t });
  }
  return rows;
}

// q/k/v/o, gate/up and down projections of one TinyLlama layer (hidden 2048, 256-wide kv, ffn 5632)
// as [1, K] @ W.T, the decode shape; 22 layers' worth per "token".
function decodeMatvecs(dt) {
  const shapes = [
    [2048, 2048],
    [2048, 256],
    [2048, 256],
    [2048, 2048],
    [2048, 5632],
    [2048, 5632],
    [5632, 2048],
  ];
  const ws = shapes.map(([K, N], i) =>
    kn.random
      .normal([N, K], { key: kn.random.key(i) })
      .astype(dt)
      .eval(),
  );
  const xs = shapes.map(([K], i) =>
    kn.random
      .normal([1, K], { key: kn.random.key(100 + i) })
      .astype(dt)
      .eval(),
  );
  const layer = () =>
    kn.tidy(() => {
      const outs = ws.map((w, i) => kn.matmul(xs[i], w.T));
      kn.eval(...outs);
    });
  return bestMs(layer, 15, 2);
}

function child() {
  const res = { isa: kn.info().isa.level, threads: kn.info().threads, fj: native.measureForkJoin ? forkJoin() : null, mv: {} };
  for (const t of [1, 0]) {
    kn.setNumThreads(t);
    for (const dt of ['float32', 'bfloat16']) res.mv[`${dt} ${t === 1 ? 1 : res.threads}T`] = decodeMatvecs(dt);
  }
  process.stdout.write(JSON.stringify(res));
}

function main() {
  const self = fileURLToPath(import.meta.url);
  const runs = [['now', {}]];
  if (process.env.BENCH_BEFORE) runs.unshift(['before', { KILN_ADDON: process.env.BENCH_BEFORE }]);
  const cols = runs.map(([label, extra]) => ({
    label,
    ...JSON.parse(execFileSync(process.execPath, [self, ...process.argv.slice(2)], { encoding: 'utf8', env: { ...process.env, ...extra, BENCH_CHILD: '1' } })),
  }));
  const now = cols[cols.length - 1];
  console.log(`thread pool: ${now.threads} threads, isa ${now.isa}, KILN_SPIN_US=${process.env.KILN_SPIN_US ?? '(default)'}`);
  console.log('fork/join overhead per job (µs), one chunk per thread:');
  console.log(['gap before job'.padEnd(16), 'mean'.padStart(9), 'median'.padStart(9), 'best'.padStart(9)].join(' '));
  for (const r of now.fj)
    console.log([`${r.gap} µs`.padEnd(16), r.meanUs.toFixed(2).padStart(9), r.medianUs.toFixed(2).padStart(9), r.bestUs.toFixed(2).padStart(9)].join(' '));
  console.log('one TinyLlama layer of decode matvecs (7 products, best ms):');
  console.log(['case'.padEnd(16), ...cols.map((c) => c.label.padStart(10))].join(' '));
  for (const key of Object.keys(now.mv)) console.log([key.padEnd(16), ...cols.map((c) => (c.mv[key] ?? NaN).toFixed(3).padStart(10))].join(' '));
}

if (process.env.BENCH_CHILD) child();
else main();
