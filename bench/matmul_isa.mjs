// Matmul per ISA level: the square case and LLM-like shapes timed under each KILN_ISA level (one
// child process each, so every level runs on the same machine in the same run), next to numpy.
// Times are the best of several calls. Run: `node bench/matmul_isa.mjs` (needs python3 + numpy for
// the peer column; half-precision rows have no numpy peer: compare them with the f32 row). Optional: BENCH_BEFORE=/path/to/old/kiln_cpu.node adds a column for another
// addon at its best level; BENCH_LEVELS=avx2,avx512 picks the levels (portable is slow: add it);
// BENCH_ONLY=f32,bf16 keeps the cases whose name contains one of the words.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as kn from 'kilnjs';
import { bestMs } from './lib/timing.mjs'; // best of reps: this often shares a small machine with other work

// [name, M, K, N, dtype, B transposed (a Linear weight [N, K] used as x @ W.T)]
const allShapes = [
  ['matmul f32 1024', 1024, 1024, 1024, 'float32', false],
  ['matmul f32 2048', 2048, 2048, 2048, 'float32', false],
  ['matmul f32 4096', 4096, 4096, 4096, 'float32', false],
  ['1x2048 @ 2048x8192 f32', 1, 2048, 8192, 'float32', false],
  ['1x2048 @ (8192x2048).T f32', 1, 2048, 8192, 'float32', true],
  ['512x2048 @ 2048x2048 f32', 512, 2048, 2048, 'float32', false],
  ['512x2048 @ (2048x2048).T f32', 512, 2048, 2048, 'float32', true],
  // prefill of a half-precision model: activations @ a Linear weight, float32 accumulation
  ['512x2048 @ (2048x2048).T bf16', 512, 2048, 2048, 'bfloat16', true],
  ['512x2048 @ (2048x2048).T f16', 512, 2048, 2048, 'float16', true],
  ['matmul f64 1024', 1024, 1024, 1024, 'float64', false],
];
const only = process.env.BENCH_ONLY?.split(',');
const shapes = only ? allShapes.filter(([name]) => only.some((o) => name.includes(o))) : allShapes;

function child() {
  const out = { isa: kn.info().isa, ms: {} };
  for (const [name, M, K, N, dt, bt] of shapes) {
    const a = kn
      .arange(M * K)
      .astype(dt)
      .multiply(1 / (M * K))
      .reshape(M, K)
      .eval();
    const w = kn
      .arange(K * N)
      .astype(dt)
      .multiply(2 / (K * N))
      .eval();
    const b = (bt ? w.reshape(N, K).T : w.reshape(K, N)).eval();
    const flops = 2 * M * N * K;
    out.ms[name] = bestMs(
      () =>
        kn.tidy(() => {
          kn.eval(kn.matmul(a, b));
        }),
      flops > 3e10 ? 3 : flops > 1e9 ? 5 : 11,
    );
  }
  process.stdout.write(JSON.stringify(out));
}

function numpyPeer() {
  const code = `
import json, time, numpy as np
def best(fn, reps):
    fn(); t = []
    for _ in range(reps):
        s = time.perf_counter(); fn(); t.append((time.perf_counter() - s) * 1e3)
    return min(t)
rng = np.random.default_rng(0); res = {}
for name, M, K, N, dt, bt in json.loads(${JSON.stringify(JSON.stringify(shapes))}):
    if dt not in ('float32', 'float64'): continue  # numpy has no BLAS for half types
    d = np.float32 if dt == 'float32' else np.float64
    a = rng.random((M, K)).astype(d)
    b = rng.random((N, K)).astype(d).T if bt else rng.random((K, N)).astype(d)
    res[name] = best(lambda: a @ b, 3 if 2 * M * N * K > 3e10 else 5 if 2 * M * N * K > 1e9 else 11)
print(json.dumps({'numpy': np.__version__, 'ms': res}))`;
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be pinned here for old OpenBLAS builds; they slow a
  // current numpy, so the peer runs without them.
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  try {
    return JSON.parse(execFileSync('python3', ['-c', code], { encoding: 'utf8', env }));
  } catch (e) {
    console.log(`(numpy peer unavailable: ${String(e.message).split('\n')[0]})`);
    return null;
  }
}

function main() {
  const self = fileURLToPath(import.meta.url);
  const levels = (process.env.BENCH_LEVELS ?? 'avx2,avx512').split(',');
  const runs = [];
  if (process.env.BENCH_BEFORE) runs.push(['before', { KILN_ADDON: process.env.BENCH_BEFORE, KILN_ISA: '' }]);
  for (const l of levels) runs.push([l, { KILN_ISA: l }]);
  const cols = [];
  for (const [label, extra] of runs) {
    const env = { ...process.env, ...extra, BENCH_CHILD: '1' };
    const r = JSON.parse(execFileSync(process.execPath, [self], { encoding: 'utf8', env }));
    cols.push({ label: `${label} (${r.isa.level ?? 'old'})`, ms: r.ms, isa: r.isa });
  }
  const peer = numpyPeer();
  const isa = cols[cols.length - 1].isa;
  const feats = Object.entries(isa)
    .filter(([, v]) => v === true)
    .map(([k]) => k)
    .join(' ');
  console.log(`kiln ${kn.info().threads} threads; CPU best level ${isa.best} (${feats})${peer ? `; numpy ${peer.numpy}` : ''}`);
  const w = 30;
  console.log(['case'.padEnd(w), ...cols.map((c) => c.label.padStart(18)), ...(peer ? ['numpy'.padStart(9)] : [])].join(' '));
  for (const [name, M, K, N] of shapes) {
    const gf = (ms) => (2 * M * N * K) / ms / 1e6;
    const cells = cols.map((c) => `${c.ms[name].toFixed(2)} ms ${gf(c.ms[name]).toFixed(0).padStart(4)}GF`.padStart(18));
    if (peer) cells.push((peer.ms[name] === undefined ? '-' : `${peer.ms[name].toFixed(2)}`).padStart(9));
    console.log([name.padEnd(w), ...cells].join(' '));
  }
  if (peer) {
    const last = cols[cols.length - 1];
    console.log(`numpy ms / ${last.label} ms (above 1: kiln faster):`);
    for (const [name] of shapes) if (peer.ms[name] !== undefined) console.log(`  ${name.padEnd(w)} ${(peer.ms[name] / last.ms[name]).toFixed(2)}`);
  }
}

if (process.env.BENCH_CHILD) child();
else main();
