// Array-op benchmark: kiln vs numpy (same sizes, same machine, same run), plus GB/s and GFLOP/s
// against this machine's limits. Run: `npm run bench` (needs python3 + numpy for the peer column).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as kn from 'kilnjs';
import { medianMs } from './lib/timing.mjs';

// Each case builds a graph, evaluates it and frees the result: the same work numpy does.
const run = (f) => () =>
  kn.tidy(() => {
    kn.eval(f());
  });

const n = 10_000_000;
const x = kn
  .arange(n)
  .astype('float32')
  .multiply(1 / n)
  .eval();
const y = kn
  .arange(n)
  .astype('float32')
  .multiply(0.5 / n)
  .add(0.25)
  .eval();
const m = kn
  .arange(4000 * 2500)
  .astype('float32')
  .multiply(1e-7)
  .reshape(4000, 2500)
  .eval();
const h = x.astype('float16').eval();

const tiny = kn.array([1, 2, 3, 4], 'float32').eval();
const cases = {
  'tiny add+eval (dispatch)': { f: () => tiny.add(1), bytes: 32 },
  'add f32 10M': { f: () => x.add(y), bytes: 12 * n },
  'multiply-add f32 10M': { f: () => x.multiply(y).add(x), bytes: 20 * n },
  'exp f32 10M': { f: () => kn.exp(x), bytes: 8 * n },
  'tanh f32 10M': { f: () => kn.tanh(x), bytes: 8 * n },
  'cast f32->f16 10M': { f: () => x.astype('float16'), bytes: 6 * n },
  'add f16 10M': { f: () => h.add(h), bytes: 6 * n },
  'sum f32 10M': { f: () => x.sum(), bytes: 4 * n },
  'sum rows 4000x2500': { f: () => m.sum(1), bytes: 4 * n },
  'sum cols 4000x2500': { f: () => m.sum(0), bytes: 4 * n },
  'max f32 10M': { f: () => x.max(), bytes: 4 * n },
  'transpose copy 4000x2500': { f: () => kn.reshape(m.T, [n]), bytes: 8 * n },
};
const mats = {};
for (const s of [256, 512, 1024]) {
  const p = kn
    .arange(s * s)
    .astype('float32')
    .multiply(1 / (s * s))
    .reshape(s, s)
    .eval();
  const q = kn
    .arange(s * s)
    .astype('float32')
    .multiply(2 / (s * s))
    .reshape(s, s)
    .T.add(0)
    .eval();
  mats[s] = [p, q];
  cases[`matmul f32 ${s}`] = { f: () => kn.matmul(p, q), flops: 2 * s ** 3 };
}
const p64 = mats[1024][0].astype('float64').eval(),
  q64 = mats[1024][1].astype('float64').eval();
cases['matmul f64 1024'] = { f: () => kn.matmul(p64, q64), flops: 2 * 1024 ** 3 };

// Small arrays (issue 17): the per-call cost of the JS side and one native crossing, as a user
// writes it (no tidy: dropped intermediates, an explicit dispose of the result).
const s100a = kn.arange(100).astype('float32').eval(),
  s100b = kn.ones([100]).eval();
const small = {
  'small op+eval 100 (us/call)': () => {
    const c = s100a.add(s100b);
    kn.eval(c);
    c.dispose();
  },
  'small chain 100 (us/call)': () => s100a.add(s100b).multiply(2).sum().item(),
  // the same inside kn.tidy: every array freed at once, none left to the finalizer safety net
  'small chain tidy (us/call)': () => kn.tidy(() => s100a.add(s100b).multiply(2).sum().item()),
};

// Per-call costs are steady-state: V8 tiers a hot loop up over its first ~50k calls, so these
// cases warm up on 30 windows of 2000 calls before timing 15 more (the median is reported).
const ours = {};
for (const [name, f] of Object.entries(small))
  ours[name] =
    medianMs(
      () => {
        for (let i = 0; i < 2000; i++) f();
      },
      15,
      30,
    ) / 2;
for (const [name, c] of Object.entries(cases)) {
  if (name.includes('dispatch')) {
    // per-op latency: time 2000 dispatches and report the mean
    const f = run(c.f);
    ours[name] =
      medianMs(
        () => {
          for (let i = 0; i < 2000; i++) f();
        },
        15,
        30,
      ) / 2000;
  } else ours[name] = medianMs(run(c.f), name.includes('1024') ? 5 : 9);
}

let peer = {};
try {
  const script = fileURLToPath(new URL('./numpy_peer.py', import.meta.url));
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be pinned on this machine for old OpenBLAS builds;
  // they slow a current numpy, so the peer runs without them.
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  peer = JSON.parse(execFileSync('python3', [script], { encoding: 'utf8', env }));
} catch (e) {
  console.log(`(numpy peer unavailable: ${String(e.message).split('\n')[0]})`);
}

console.log(`kiln ${kn.info().threads} threads, ISA ${JSON.stringify(kn.info().isa)}`);
console.log('case'.padEnd(28), 'kiln ms'.padStart(9), 'numpy ms'.padStart(9), 'ratio'.padStart(7), '  rate');
for (const [name, c] of Object.entries(cases)) {
  const k = ours[name],
    p = peer[name];
  const rate = c.flops ? `${(c.flops / k / 1e6).toFixed(1)} GFLOP/s` : `${(c.bytes / k / 1e6).toFixed(1)} GB/s`;
  const fmt = (v) => (c.bytes === 32 ? (v * 1000).toFixed(2) + 'us' : v.toFixed(2));
  console.log(name.padEnd(28), fmt(k).padStart(9), (p ? fmt(p) : '-').padStart(9), (p ? (k / p).toFixed(2) + 'x' : '-').padStart(7), ' ', rate);
}
for (const name of Object.keys(small)) {
  const k = ours[name],
    p = peer[name];
  console.log(name.padEnd(28), `${k.toFixed(2)}us`.padStart(9), (p ? `${p.toFixed(2)}us` : '-').padStart(9), (p ? (k / p).toFixed(2) + 'x' : '-').padStart(7));
}
console.log('ratio = kiln time / numpy time (lower is better); small cases: a.add(b) then eval, and a.add(b).multiply(2).sum().item(), 100 float32');
