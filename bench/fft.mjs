// kn.fft vs numpy's pocketfft (numpy 2 transforms float32/complex64 in single precision, as
// kiln does), same sizes and the same run, with GFLOP/s-equivalent (5 n log2 n per complex
// transform of n points, half that for real ones). Run: `node bench/fft.mjs` (after `npx tsc`).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as kn from 'kilnjs';
import { bestMs } from './lib/timing.mjs';

const key = kn.random.key(0);
const cplx = (shape) => kn.complex(kn.random.normal(shape, { key }), kn.random.normal(shape, { key: kn.random.key(1) })).eval();
const a = cplx([1 << 20]);
const r = kn.random.normal([1 << 20], { key }).eval();
const m = cplx([1000, 1000]);
const mr = kn.random.normal([1000, 1000], { key }).eval();
const b = cplx([1024, 1024]);
const p = cplx([65537]);
const run = (f) => () => kn.tidy(() => void kn.eval(f()));
const flops = (n, batch = 1, real = false) => (real ? 2.5 : 5) * n * Math.log2(n) * batch;
const cases = [
  ['fft 2^20', () => kn.fft.fft(a), flops(1 << 20)],
  ['rfft 2^20', () => kn.fft.rfft(r), flops(1 << 20, 1, true)],
  ['fft2 1000x1000', () => kn.fft.fft2(m), flops(1e6)],
  ['rfft2 1000x1000', () => kn.fft.rfft2(mr), flops(1e6, 1, true)],
  ['fft 1024 rows of 1024', () => kn.fft.fft(b), flops(1024, 1024)],
  ['fft 65537 (prime)', () => kn.fft.fft(p), flops(65537)],
];

let peer = { ms: {} };
try {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  peer = JSON.parse(execFileSync('python3', [fileURLToPath(new URL('./fft_peer.py', import.meta.url))], { encoding: 'utf8', env }));
} catch (e) {
  console.log(`(numpy peer unavailable: ${String(e.message).split('\n')[0]})`);
}
const info = kn.info();
console.log(`kiln fft, isa ${info.isa.level}, ${info.threads} threads; numpy ${peer.numpy ?? '-'} (result dtype ${peer.dtype ?? '-'})`);
console.log('case'.padEnd(24), 'kiln ms'.padStart(9), 'GFLOP/s'.padStart(8), 'numpy ms'.padStart(9), 'GFLOP/s'.padStart(8), 'ratio'.padStart(7));
for (const [name, f, fl] of cases) {
  const ms = bestMs(run(f), 5);
  const np = peer.ms[name];
  const g = (t) => (fl / (t * 1e6)).toFixed(2);
  console.log(
    name.padEnd(24),
    ms.toFixed(2).padStart(9),
    g(ms).padStart(8),
    (np === undefined ? '-' : np.toFixed(2)).padStart(9),
    (np === undefined ? '-' : g(np)).padStart(8),
    (np === undefined ? '-' : (ms / np).toFixed(2)).padStart(7),
  );
}
console.log('ratio = kiln time / numpy time (lower is better); GFLOP/s-equivalent = 5 n log2 n / time (real: 2.5 n log2 n)');
