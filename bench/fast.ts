// Fused ops benchmark: the native kernels of kn.fast against their composed fallbacks (the same
// math in ordinary kiln ops) and against numpy, same sizes, same machine, same run.
// Run: `npx tsx bench/fast.ts` (python3 + numpy for the peer column; KILN_ADDON for another build).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as kn from '../index.js';
import { rmsNormArgs, rmsNormComposed } from '../ops/fast/rms_norm.js';
import { layerNormArgs, layerNormComposed } from '../ops/fast/layer_norm.js';
import { ropeArgs, ropeComposed } from '../ops/fast/rope.js';
import { attentionArgs, attentionComposed } from '../ops/fast/attention.js';
import { bestMs } from './lib/timing.mjs'; // best of `reps`: these often share a small machine with other work

const timed = (f: () => kn.NDArray, reps: number) => bestMs(() => kn.tidy(() => void kn.eval(f())), reps);
const randn = (shape: number[], dtype: kn.DType = 'float32') =>
  kn.random
    .normal(shape, { key: kn.random.key(shape.length + shape[0]) })
    .astype(dtype)
    .eval();

interface Case {
  op: 'rmsNorm' | 'layerNorm' | 'rope' | 'attention';
  shape: number[];
  causal?: boolean;
  dtype?: kn.DType;
  reps: number;
  kernel: () => kn.NDArray;
  fallback: () => kn.NDArray;
  /** bytes the kernel must move at least, or flops it must do */
  bytes?: number;
  flops?: number;
}

const cases: Record<string, Case> = {};
for (const dtype of ['float32', 'float16'] as const) {
  const x = randn([4096, 4096], dtype),
    w = randn([4096], dtype),
    b = randn([4096], dtype);
  const sz = 4096 * 4096 * kn.zeros([1], dtype).itemsize * 2;
  const ra = rmsNormArgs(x, w, 1e-5),
    la = layerNormArgs(x, w, b, 1e-5);
  cases[`rmsNorm ${dtype} 4096x4096`] = {
    op: 'rmsNorm',
    shape: [4096, 4096],
    dtype,
    reps: 7,
    bytes: sz,
    kernel: () => kn.fast.rmsNorm(x, w, 1e-5),
    fallback: () => rmsNormComposed(ra.x, ra.weight, ra.eps, ra.out),
  };
  cases[`layerNorm ${dtype} 4096x4096`] = {
    op: 'layerNorm',
    shape: [4096, 4096],
    dtype,
    reps: 7,
    bytes: sz,
    kernel: () => kn.fast.layerNorm(x, w, b, 1e-5),
    fallback: () => layerNormComposed(la.x, la.weight, la.bias, la.eps, la.out),
  };
}
{
  const shape = [1, 32, 1024, 128],
    x = randn(shape),
    a = ropeArgs(x, 128, {});
  cases['rope f32 1x32x1024x128'] = {
    op: 'rope',
    shape,
    reps: 7,
    bytes: 8 * 32 * 1024 * 128,
    kernel: () => kn.fast.rope(x, 128),
    fallback: () => ropeComposed(a),
  };
}
const attn = (B: number, Hq: number, Hkv: number, L: number, S: number, D: number, causal: boolean, reps: number) => {
  const q = randn([B, Hq, L, D]),
    k = randn([B, Hkv, S, D]),
    v = randn([B, Hkv, S, D]);
  const opts = { scale: 1 / Math.sqrt(D), mask: causal ? ('causal' as const) : null };
  const a = attentionArgs(q, k, v, opts);
  const pairs = causal ? (L * (L + 1)) / 2 + (S - L) * L : L * S;
  const name = `attention B${B} H${Hq}/${Hkv} L${L} S${S} D${D}${causal ? ' causal' : ''}`;
  cases[name] = {
    op: 'attention',
    shape: [B, Hq, Hkv, L, S, D],
    causal,
    reps,
    flops: 4 * B * Hq * pairs * D,
    kernel: () => kn.fast.scaledDotProductAttention(q, k, v, opts),
    fallback: () => attentionComposed(a),
  };
};
attn(1, 8, 8, 1024, 1024, 64, false, 5);
attn(1, 8, 8, 1024, 1024, 64, true, 5);
attn(1, 32, 8, 1, 4096, 128, false, 9); // decode step, grouped-query

const ours: Record<string, [number, number]> = {};
for (const [name, c] of Object.entries(cases)) ours[name] = [timed(c.kernel, c.reps), timed(c.fallback, Math.min(c.reps, 3))];

let peer: Record<string, number> = {};
try {
  const script = fileURLToPath(new URL('./fast_peer.py', import.meta.url));
  const spec = Object.fromEntries(
    Object.entries(cases)
      .filter(([, c]) => !c.dtype || c.dtype === 'float32')
      .map(([n, c]) => [n, { op: c.op, shape: c.shape, causal: c.causal, reps: c.reps }]),
  );
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  peer = JSON.parse(execFileSync('python3', [script, JSON.stringify(spec)], { encoding: 'utf8', env }));
} catch (e) {
  console.log(`(numpy peer unavailable: ${String((e as Error).message).split('\n')[0]})`);
}

console.log(`kiln ${kn.info().threads} threads, ISA ${JSON.stringify(kn.info().isa)}`);
console.log('case'.padEnd(44), 'kernel ms'.padStart(10), 'fallback'.padStart(9), 'numpy'.padStart(8), 'k/fb'.padStart(7), 'k/np'.padStart(7), '  rate');
for (const [name, c] of Object.entries(cases)) {
  const [k, f] = ours[name],
    p = peer[name];
  const rate = c.flops ? `${(c.flops / k / 1e6).toFixed(1)} GFLOP/s` : `${((c.bytes ?? 0) / k / 1e6).toFixed(1)} GB/s`;
  console.log(
    name.padEnd(44),
    k.toFixed(2).padStart(10),
    f.toFixed(2).padStart(9),
    (p ? p.toFixed(2) : '-').padStart(8),
    `${(k / f).toFixed(2)}x`.padStart(7),
    (p ? `${(k / p).toFixed(2)}x` : '-').padStart(7),
    ' ',
    rate,
  );
}
console.log('k/fb = kernel time / composed fallback time, k/np = kernel time / numpy time (lower is better)');
