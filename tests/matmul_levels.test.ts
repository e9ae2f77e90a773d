// The packed GEMM (matmul.cc, gemm_pack.h) for float32, float16 and bfloat16 at every ISA level
// (KILN_ISA=portable|avx2|avx512, one child process each): sizes that leave partial tiles in both
// directions and split K over several cache blocks (odd block lengths for the bfloat16 pairs of
// the AVX-512 BF16 kernel), Linear-style transposed B, transposed A, strided slices and a batch,
// each checked against a plain float64 triple loop in the child. Inputs are multiples of 1/16 in
// [-1.875, 1.875], exact in every dtype, so the only errors are float32 summation and the final
// rounding to the output dtype. Also: float16 gives the same bits on avx2 and avx512 (both widen
// to float32 and share the float32 kernels' sums), and results do not depend on the thread count.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as kn from '../index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
const index = pathToFileURL(`${root}index.ts`).href;
const levels = ['portable', 'avx2', 'avx512'] as const;

function child(env: Record<string, string | undefined>, body: string) {
  const script = `const kn = await import(${JSON.stringify(index)}); ${body}`;
  const e: Record<string, string | undefined> = { ...process.env, KILN_ISA: undefined, KILN_NO_SIMD: undefined, ...env };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  const r = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
    env: e as NodeJS.ProcessEnv,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// [M, K, N]: partial tiles of 14 x 32 and 6 x 16; K = 1100 is three bfloat16 blocks of 367 (odd)
// and five float blocks; M = 2 takes the GEMM (not the matrix-vector) path.
const SHAPES = [
  [15, 1100, 33],
  [33, 70, 65],
  [100, 37, 31],
  [2, 257, 40],
  [29, 513, 47],
];
const LAYOUTS = ['nn', 'nt', 'tn', 'strided', 'batch'];

// Runs in the child: every dtype x layout x shape, the worst |error| / bound and a digest of the
// result bits. bound = 2^-p |ref| (the output rounding, p = 8 / 11 / 24) + 2^-20 sum |a b|.
const body = `
  const SHAPES = ${JSON.stringify(SHAPES)}, LAYOUTS = ${JSON.stringify(LAYOUTS)};
  const val = (i, seed) => (((i * 7919 + seed * 104729) % 61) - 30) / 16;
  const fill = (n, seed) => Float64Array.from({ length: n }, (_, i) => val(i, seed));
  const out = { worst: {}, digest: {} };
  const threads = Number(process.env.T ?? '0');
  if (threads) kn.setNumThreads(threads);
  for (const dt of ['float32', 'float16', 'bfloat16']) {
    const p = { float32: 24, float16: 11, bfloat16: 8 }[dt];
    for (const lay of LAYOUTS) for (const [M, K, N] of SHAPES) {
      const nb = lay === 'batch' ? 2 : 1;
      const ad = fill(nb * M * K, 1), bd = fill(nb * K * N, 2); // logical A [nb, M, K], B [nb, K, N]
      const arr = (data, shape) => kn.array(Float32Array.from(data)).reshape(shape).astype(dt);
      const T = (x) => kn.swapaxes(x, -1, -2);
      let a, b;
      if (lay === 'nn' || lay === 'batch') { a = arr(ad, [nb, M, K]); b = arr(bd, [nb, K, N]); }
      if (lay === 'nt') { // B as a Linear weight W [N, K] used as W.T
        const w = new Float64Array(N * K); for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) w[j * K + k] = bd[k * N + j];
        a = arr(ad, [1, M, K]); b = T(arr(w, [1, N, K]));
      }
      if (lay === 'tn') {
        const at = new Float64Array(K * M); for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) at[k * M + i] = ad[i * K + k];
        a = T(arr(at, [1, K, M])); b = arr(bd, [1, K, N]);
      }
      if (lay === 'strided') { // every other column of A [M, 2K], every other row of B [2K, N]
        const a2 = new Float64Array(M * 2 * K).fill(99), b2 = new Float64Array(2 * K * N).fill(99);
        for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) a2[i * 2 * K + 2 * k] = ad[i * K + k];
        for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) b2[2 * k * N + j] = bd[k * N + j];
        a = kn.slice(arr(a2, [1, M, 2 * K]), [kn.slice(null), kn.slice(null), kn.slice(0, null, 2)]);
        b = kn.slice(arr(b2, [1, 2 * K, N]), [kn.slice(null), kn.slice(0, null, 2)]);
      }
      const c = kn.matmul(a, b);
      const got = c.astype('float64').toTypedArray();
      const bits = new Uint16Array(c.astype(dt === 'float32' ? 'float32' : dt).toTypedArray().buffer);
      let h = 2166136261; for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i], 16777619) >>> 0;
      let worst = 0;
      for (let z = 0; z < nb; z++) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let s = 0, sa = 0;
        for (let k = 0; k < K; k++) { const t = ad[z * M * K + i * K + k] * bd[z * K * N + k * N + j]; s += t; sa += Math.abs(t); }
        const bound = Math.abs(s) * 2 ** -p + sa * 2 ** -20 + 1e-30;
        worst = Math.max(worst, Math.abs(got[z * M * N + i * N + j] - s) / bound);
      }
      const key = dt + ' ' + lay + ' ' + M + 'x' + K + 'x' + N;
      out.worst[key] = worst; out.digest[key] = h;
    }
  }
  console.log(JSON.stringify({ isa: kn.info().isa.level, ...out }));`;

describe('packed GEMM at every ISA level', () => {
  const best: string = kn.info().isa.best;
  const runs = new Map<string, { isa: string; worst: Record<string, number>; digest: Record<string, number> }>();
  const at = (l: string) => {
    if (!runs.has(l)) runs.set(l, child({ KILN_ISA: l }, body));
    return runs.get(l)!;
  };

  for (const l of levels)
    it(`KILN_ISA=${l}: float32, float16 and bfloat16 products within their rounding of the float64 result`, () => {
      const r = at(l);
      expect(levels.indexOf(r.isa as (typeof levels)[number])).toBeLessThanOrEqual(levels.indexOf(l));
      const bad = Object.entries(r.worst).filter(([, w]) => !(w <= 1));
      expect(bad, `worst error / bound at ${r.isa}`).toEqual([]);
      expect(Object.keys(r.worst).length).toBe(3 * LAYOUTS.length * SHAPES.length);
    }, 300_000);

  it('float32 and float16 give the same bits on avx2 and avx512', () => {
    if (best !== 'avx512') return; // one level only on this CPU
    const a = at('avx2'),
      b = at('avx512');
    for (const key of Object.keys(a.digest)) if (!key.startsWith('bfloat16')) expect(b.digest[key], key).toBe(a.digest[key]);
  }, 300_000);

  it('the thread count changes no bits (the pool splits M and N blocks, never K)', () => {
    const one = child({ T: '1' }, body),
      three = child({ T: '3' }, body);
    expect(three.digest).toEqual(one.digest);
  }, 300_000);
});
