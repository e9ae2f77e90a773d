// kn.compile benchmark: eager vs compiled vs numpy on the same machine in the same run, and the
// compiled GB/s against this machine's measured memory bandwidth (a multithreaded copy).
// Run: node bench/compile.mjs (after `npm run build:ts`), or from the sources:
//   TSX_TSCONFIG_PATH=<tsconfig mapping kiln to index.ts> npx tsx bench/compile.mjs
// Options: --quick (smaller sizes), --cases name1,name2.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as kn from 'kilnjs';
import { hasFlag, listArg, medianMs } from './lib/timing.mjs';

const quick = hasFlag('quick');
const only = listArg('cases');

// ---- the cases (numpy_peer: bench/compile_peer.py builds the same ones) ----------------------

const normal = (shape, k) => kn.random.normal(shape, { key: kn.random.key(k) }).eval();

const gelu = (x) => kn.divide(kn.multiply(x, kn.add(kn.erf(kn.divide(x, Math.SQRT2)), 1)), 2); // MLX's example
const chain8 = (x) => {
  // 8 elementwise ops: scale, shift, tanh, square, multiply, add, exp-free sigmoid-like, clip
  let y = kn.add(kn.multiply(x, 1.5), 0.25);
  y = kn.tanh(y);
  y = kn.add(kn.multiply(y, y), x);
  y = kn.divide(y, kn.add(kn.abs(y), 1));
  return kn.maximum(y, -0.5);
};
const softmax = (x) => kn.softmax(x, -1);

function block(x, w) {
  const [B, L, D] = x.shape;
  const H = 8,
    Dh = D / H;
  const rms = (a, g) => kn.multiply(kn.multiply(a, kn.rsqrt(kn.add(kn.mean(kn.square(a), -1, { keepdims: true }), 1e-6))), g);
  const heads = (a) => kn.transpose(kn.reshape(a, [B, L, H, Dh]), [0, 2, 1, 3]);
  const h = rms(x, w.n1);
  const q = heads(kn.matmul(h, w.wq)),
    k = heads(kn.matmul(h, w.wk)),
    v = heads(kn.matmul(h, w.wv));
  const s = kn.add(kn.multiply(kn.matmul(q, kn.swapaxes(k, -1, -2)), 1 / Math.sqrt(Dh)), w.mask);
  const o = kn.reshape(kn.transpose(kn.matmul(kn.softmax(s, -1), v), [0, 2, 1, 3]), [B, L, D]);
  const x2 = kn.add(x, kn.matmul(o, w.wo));
  const h2 = rms(x2, w.n2);
  const a = kn.matmul(h2, w.w1),
    g = kn.matmul(h2, w.w3);
  return kn.add(x2, kn.matmul(kn.multiply(kn.multiply(a, kn.sigmoid(a)), g), w.w2));
}

const S = quick
  ? { gelu: [4, 1000, 4096], chain: 1 << 22, sm: 1024, B: 2, L: 128, D: 256, F: 768 }
  : { gelu: [32, 1000, 4096], chain: 1 << 24, sm: 4096, B: 4, L: 256, D: 512, F: 1536 };
const sizeOf = (s) => s.reduce((a, b) => a * b, 1);

const cases = {};
cases[`gelu f32 [${S.gelu}]`] = () => {
  const x = normal(S.gelu, 1);
  return { f: gelu, args: [x], bytes: 8 * sizeOf(S.gelu), reps: quick ? 9 : 5 };
};
cases[`8-op chain f32 ${S.chain >> 20}M`] = () => {
  const x = normal([S.chain], 2);
  return { f: chain8, args: [x], bytes: 8 * S.chain, reps: 9 };
};
// memory-bound: four cheap ops on two inputs (the interpreter's overhead against bandwidth)
cases[`4-op affine f32 ${S.chain >> 20}M`] = () => {
  const x = normal([S.chain], 4),
    y = normal([S.chain], 5);
  return { f: (a, b) => kn.add(kn.multiply(kn.add(kn.multiply(a, 1.5), b), 0.5), 0.25), args: [x, y], bytes: 12 * S.chain, reps: 9 };
};
cases[`softmax f32 [${S.sm}, ${S.sm}]`] = () => {
  const x = normal([S.sm, S.sm], 3);
  return { f: softmax, args: [x], bytes: 8 * S.sm * S.sm, reps: 9 };
};
cases[`transformer block [${S.B}, ${S.L}, ${S.D}]`] = () => {
  const { B, L, D, F } = S;
  const sc = (shape, k, s) => kn.multiply(normal(shape, k), s).eval();
  const w = {
    n1: normal([D], 10),
    n2: normal([D], 11),
    wq: sc([D, D], 12, 1 / Math.sqrt(D)),
    wk: sc([D, D], 13, 1 / Math.sqrt(D)),
    wv: sc([D, D], 14, 1 / Math.sqrt(D)),
    wo: sc([D, D], 15, 1 / Math.sqrt(D)),
    w1: sc([D, F], 16, 1 / Math.sqrt(D)),
    w3: sc([D, F], 17, 1 / Math.sqrt(D)),
    w2: sc([F, D], 18, 1 / Math.sqrt(F)),
    mask: kn.triu(kn.full([L, L], -Infinity), 1).eval(),
  };
  const flops = 2 * B * L * D * D * 4 + 2 * 2 * B * L * L * D + 2 * B * L * D * F * 3;
  return { f: block, args: [normal([B, L, D], 19), w], flops, reps: 9 };
};

// ---- this machine's memory bandwidth: a streaming pass over 1 GiB (read + write), the best of
// kiln's unary kernel and numpy's copy (the peer measures that one)

function bandwidth() {
  const n = quick ? 1 << 26 : 1 << 28;
  const x = kn.ones([n]).eval();
  const ms = medianMs(() => kn.tidy(() => kn.eval(kn.negative(x))), 7);
  x.dispose();
  return (8 * n) / ms / 1e6;
}

// ---- run ------------------------------------------------------------------------------------

const names = Object.keys(cases).filter((n) => !only.length || only.some((o) => n.includes(o)));
const rows = [];
for (const name of names) {
  const c = cases[name]();
  const compiled = kn.compile(c.f);
  const eager = medianMs(() => kn.tidy(() => kn.eval(c.f(...c.args))), c.reps);
  const comp = medianMs(
    () =>
      kn.tidy(() => {
        compiled(...c.args);
      }),
    c.reps,
  );
  // same results (within the tolerance of fused reductions)
  const ok = kn.tidy(() => kn.allclose(compiled(...c.args), c.f(...c.args), { rtol: 1e-4, atol: 1e-5 }));
  rows.push({ name, eager, comp, bytes: c.bytes, flops: c.flops, kernels: compiled.info.kernels, ok });
  kn.dispose(c.args);
}
let bw = bandwidth();

let peer = {};
try {
  const script = fileURLToPath(new URL('./compile_peer.py', import.meta.url));
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  peer = JSON.parse(execFileSync('python3', [script, JSON.stringify({ quick, names })], { encoding: 'utf8', env, maxBuffer: 1 << 20 }));
} catch (e) {
  console.log(`(numpy peer unavailable: ${String(e.message).split('\n')[0]})`);
}

if (peer.bandwidth) bw = Math.max(bw, peer.bandwidth);
console.log(`kiln ${kn.info().threads} threads, ISA ${JSON.stringify(kn.info().isa)}; measured copy bandwidth ${bw.toFixed(1)} GB/s`);
console.log(
  'case'.padEnd(32),
  'eager ms'.padStart(9),
  'compiled'.padStart(9),
  'speedup'.padStart(8),
  'numpy ms'.padStart(9),
  'vs numpy'.padStart(9),
  'kernels'.padStart(8),
  '  compiled rate',
);
for (const r of rows) {
  const p = peer[r.name];
  const rate = r.flops
    ? `${(r.flops / r.comp / 1e6).toFixed(1)} GFLOP/s`
    : `${(r.bytes / r.comp / 1e6).toFixed(1)} GB/s (${((100 * r.bytes) / r.comp / 1e6 / bw).toFixed(0)}% of copy)`;
  console.log(
    r.name.padEnd(32),
    r.eager.toFixed(2).padStart(9),
    r.comp.toFixed(2).padStart(9),
    `${(r.eager / r.comp).toFixed(2)}x`.padStart(8),
    (p === undefined ? '-' : p.toFixed(2)).padStart(9),
    (p === undefined ? '-' : `${(p / r.comp).toFixed(2)}x`).padStart(9),
    String(r.kernels).padStart(8),
    ` ${rate}${r.ok ? '' : '  RESULTS DIFFER'}`,
  );
}
