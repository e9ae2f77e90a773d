// The decode products (x [M <= 4, K] @ W.T) of 4- and 8-bit weights on every ISA level (KILN_ISA):
// each level runs in a child process and its results are checked here against a float64 product of
// independently unpacked weights (the bit stream read bit by bit, scale * q + bias). The shapes reach
// every path of backends/cpu/kernels/quantized_qmv.h: K a multiple of 64 packed bytes (AVX-512's
// masked-fields loop, groups inside a block or spanning blocks) and not (the 16-byte loop), row
// blocks of 4 or 2 weight rows and their tails, M = 1..4 and 5 (4 + 1), float32 and bfloat16 x.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
const index = pathToFileURL(`${root}index.ts`).href;

// [bits, groupSize, K, N, M]
const CASES: [number, number, number, number, number][] = [];
for (const bits of [4, 8])
  for (const gs of [32, 64, 128]) {
    CASES.push([bits, gs, 384, 13, 1], [bits, gs, 256, 9, 2], [bits, gs, 3 * gs, 7, 3], [bits, gs, 512, 6, 4], [bits, gs, gs, 5, 5]);
  }

// deterministic inputs, the same in the child and here
const lcg = `(seed) => (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) % 2147483648; a[i] = seed / 2147483648 - 0.5; } return a; }`;
const body = `
  const gen = ${lcg};
  const out = [];
  for (const [bits, gs, K, N, M] of ${JSON.stringify(CASES)}) for (const dt of ['float32', 'bfloat16']) {
    const r = gen(bits * 1000 + gs * 10 + M);
    const w = kn.array(r(N * K)).reshape([N, K]);
    const x = kn.array(r(M * K)).reshape([M, K]).astype(dt);
    const q = kn.quantize(w, { groupSize: gs, bits });
    const y = kn.quantizedMatmul(x, q.wq, q.scales, q.biases, { groupSize: gs, bits });
    out.push({ y: Array.from(y.astype('float32').toTypedArray()), wq: Array.from(q.wq.toTypedArray()), s: Array.from(q.scales.toTypedArray()), b: Array.from(q.biases.toTypedArray()), x: Array.from(x.astype('float32').toTypedArray()) });
  }
  console.log(JSON.stringify({ isa: kn.info().isa.level, out }));`;

type Result = { y: number[]; wq: number[]; s: number[]; b: number[]; x: number[] };

function runAt(level: string): { isa: string; out: Result[] } {
  const env: Record<string, string | undefined> = { ...process.env, KILN_ISA: level };
  delete env.KILN_NO_SIMD;
  const r = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', `const kn = await import(${JSON.stringify(index)}); ${body}`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 180_000,
    maxBuffer: 256 << 20,
    env: env as NodeJS.ProcessEnv,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** float64 x @ W.T with W unpacked bit by bit from the little-endian stream of each row. */
function reference(res: Result, bits: number, gs: number, K: number, N: number, M: number): number[] {
  const wpr = (K * bits) / 32,
    G = K / gs;
  const y: number[] = [];
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let t = 0;
      for (let k = 0; k < K; k++) {
        let q = 0;
        for (let bit = 0; bit < bits; bit++) {
          const p = k * bits + bit;
          q |= ((res.wq[n * wpr + (p >> 5)] >>> (p & 31)) & 1) << bit;
        }
        const g = n * G + Math.floor(k / gs);
        t += res.x[m * K + k] * (res.s[g] * q + res.b[g]);
      }
      y.push(t);
    }
  return y;
}

describe('4- and 8-bit decode products on every ISA level', () => {
  it('portable, avx2 and avx512 each match a float64 product of the unpacked weights', () => {
    const best = kn.info().isa.best;
    const levels = ['portable', 'avx2', 'avx512'].slice(0, ['portable', 'avx2', 'avx512'].indexOf(best) + 1);
    for (const level of levels) {
      const got = runAt(level);
      expect(got.isa).toBe(level);
      let i = 0;
      for (const [bits, gs, K, N, M] of CASES)
        for (const dt of ['float32', 'bfloat16']) {
          const res = got.out[i++];
          const ref = reference(res, bits, gs, K, N, M);
          expect(res.y.length).toBe(M * N);
          const scale = Math.max(1, ...ref.map(Math.abs));
          // float32 sums of K products (the output itself is float32); bfloat16 x rounds the output to bfloat16
          const tol = (dt === 'float32' ? 2e-5 : 8e-3) * scale;
          const worst = Math.max(...res.y.map((v, j) => Math.abs(v - ref[j])));
          expect(worst, `${level} bits=${bits} gs=${gs} K=${K} N=${N} M=${M} ${dt}`).toBeLessThanOrEqual(tol);
        }
    }
  }, 600_000);
});
