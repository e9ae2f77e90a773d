// One line per op family on the GPU against the CPU: OK, DIFF (max abs difference) or the error.
// Each case runs in its own process, so a fatal CUDA error in one cannot hide the others.
// Usage (after `npx tsc`, on a machine with the CUDA backend): node scripts/gpu/smoke.mjs [case ...]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cases = {
  copy: (kn) => kn.add(kn.arange(0, 1000, 1, 'float32').reshape([10, 100]).T, 0),
  cast: (kn) => kn.arange(0, 1000, 1, 'float32').astype('float16'),
  fill: (kn) => kn.add(kn.zeros([5, 7]), kn.ones([5, 7])),
  arange: (kn) => kn.multiply(kn.arange(0, 50, 1, 'int32'), 3),
  unary: (kn) => kn.exp(kn.divide(kn.arange(0, 100, 1, 'float32'), 50)),
  binary: (kn) => kn.add(kn.array([[1, 2, 3]], 'float32'), kn.array([[10], [20]], 'float32')),
  where: (kn) => kn.where(kn.greater(kn.arange(0, 10), 4), kn.ones([10]), kn.zeros([10])),
  sum: (kn) => kn.sum(kn.reshape(kn.arange(0, 1200, 1, 'float32'), [30, 40]), 1),
  sumAll: (kn) => kn.sum(kn.arange(0, 100000, 1, 'float32')),
  argmax: (kn) => kn.argmax(kn.reshape(kn.sin(kn.arange(0, 1200, 1, 'float32')), [30, 40]), 1),
  cumsum: (kn) => kn.cumsum(kn.reshape(kn.arange(0, 60, 1, 'float32'), [6, 10]), 1),
  sort: (kn) => kn.sort(kn.sin(kn.arange(0, 100, 1, 'float32'))),
  argsort: (kn) => kn.argsort(kn.sin(kn.arange(0, 100, 1, 'float32'))),
  take: (kn) => kn.take(kn.arange(0, 100, 1, 'float32'), kn.array([3, 1, 4, 1, 5], 'int32')),
  matmulF32: (kn) => kn.matmul(kn.reshape(kn.arange(0, 64 * 32, 1, 'float32'), [64, 32]), kn.ones([32, 16])),
  matmulBf16: (kn) => kn.matmul(kn.ones([64, 32], 'bfloat16'), kn.ones([32, 16], 'bfloat16')),
  rmsNorm: (kn) => kn.fast.rmsNorm(kn.sin(kn.reshape(kn.arange(0, 256, 1, 'float32'), [4, 64])), kn.ones([64]), 1e-5),
  rope: (kn) => kn.fast.rope(kn.sin(kn.reshape(kn.arange(0, 512, 1, 'float32'), [1, 2, 4, 64])), 64, { base: 10000, scale: 1, offset: 0, traditional: false }),
  attention: (kn) => {
    const q = kn.sin(kn.reshape(kn.arange(0, 2 * 8 * 64, 1, 'float32'), [1, 2, 8, 64]));
    return kn.fast.scaledDotProductAttention(q, q, q, { scale: 0.125 });
  },
  random: (kn) => kn.random.normal([1000], { key: kn.random.key(1) }),
  compiled: (kn) => kn.compile((x) => kn.multiply(kn.exp(x), kn.sigmoid(x)))(kn.divide(kn.arange(0, 1000, 1, 'float32'), 100)),
  compiledSoftmax: (kn) => kn.compile((x) => kn.softmax(x, -1))(kn.reshape(kn.sin(kn.arange(0, 4000, 1, 'float32')), [40, 100])),
  inv: (kn) => kn.linalg.inv(kn.add(kn.eye(8), kn.multiply(kn.ones([8, 8]), 0.1))),
  quantized: (kn) => {
    const w = kn.sin(kn.reshape(kn.arange(0, 64 * 128, 1, 'float32'), [64, 128]));
    const { wq, scales, biases } = kn.quantize(w, { groupSize: 64, bits: 4 });
    return kn.quantizedMatmul(kn.ones([2, 128]), wq, scales, biases, { groupSize: 64, bits: 4 });
  },
  add16M: (kn) => kn.sum(kn.add(kn.ones([1 << 24]), 1)),
};

if (process.argv[2] === '--child') {
  const name = process.argv[3];
  const kn = await import(new URL('../../dist/index.js', import.meta.url).href);
  const t0 = performance.now();
  try {
    const cpu = kn.withDevice(kn.cpu, () => cases[name](kn).astype('float64').toTypedArray());
    // SMOKE_CPU_ONLY=1 checks the cases themselves on a machine without a GPU
    const gpu = kn.withDevice(process.env.SMOKE_CPU_ONLY ? kn.cpu : kn.gpu, () => cases[name](kn).astype('float64').toTypedArray());
    let diff = 0;
    for (let i = 0; i < cpu.length; i++) diff = Math.max(diff, Math.abs(cpu[i] - gpu[i]) / Math.max(1, Math.abs(cpu[i])));
    if (cpu.length !== gpu.length) console.log(`${name}: LENGTH ${cpu.length} vs ${gpu.length}`);
    else console.log(`${name}: ${diff <= 1e-3 ? 'OK' : 'DIFF'} ${diff.toExponential(2)} (${cpu.length} values, ${(performance.now() - t0).toFixed(0)} ms)`);
  } catch (e) {
    console.log(
      `${name}: ERROR ${String(e.message ?? e)
        .split('\n')
        .slice(0, 3)
        .join(' | ')}`,
    );
  }
  process.exit(0);
}

const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(cases);
const self = fileURLToPath(import.meta.url);
for (const n of names) {
  const r = spawnSync(process.execPath, [self, '--child', n], { encoding: 'utf8', timeout: 60000, env: { ...process.env, CUDA_LAUNCH_BLOCKING: '1' } });
  const out = (r.stdout || '').trim();
  if (out) console.log(out);
  if (r.status !== 0 || !out) console.log(`${n}: CRASH status ${r.status} signal ${r.signal} ${(r.stderr || '').split('\n').slice(-4).join(' | ')}`);
}
