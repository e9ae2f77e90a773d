// Half-precision matrix-vector products (backends/cpu/kernels/gemv_half.h, and gemm_skinny_half.h
// for batches of up to 32 rows): x [.., M, K] @ W.T with W [N, K] float16 / bfloat16, as a decode
// step computes them. Checked against float64 sums of the same rounded inputs, over lengths that
// exercise the 32-wide blocks and their tails, and every row of a batch against the row alone
// (bit for bit), at every ISA level.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { mulberry32 } from '../helpers/rng.js';

function vals(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => r() * 2 - 1);
}

describe('half-precision matrix-vector products', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    for (const [K, N] of [
      [1, 3],
      [31, 5],
      [32, 7],
      [33, 9],
      [100, 64],
      [257, 130],
    ]) {
      it(`${dtype} [1, ${K}] @ W.T, W [${N}, ${K}]`, () => {
        const x = kn.array(vals(K, K), 'float64').reshape([1, K]).astype(dtype);
        const w = kn
          .array(vals(N * K, N + 7 * K), 'float64')
          .reshape([N, K])
          .astype(dtype);
        const got = kn.matmul(x, w.T).astype('float64').toTypedArray() as Float64Array;
        const xr = x.astype('float64').toTypedArray() as Float64Array,
          wr = w.astype('float64').toTypedArray() as Float64Array;
        const eps = dtype === 'float16' ? 2 ** -11 : 2 ** -8;
        for (let j = 0; j < N; j++) {
          let s = 0,
            mag = 0;
          for (let k = 0; k < K; k++) {
            s += xr[k] * wr[j * K + k];
            mag += Math.abs(xr[k] * wr[j * K + k]);
          }
          // one rounding of the float sum to the output dtype, plus float accumulation error
          expect(Math.abs(got[j] - s), `column ${j}`).toBeLessThanOrEqual(eps * Math.abs(s) + 1e-6 * mag + 1e-30);
        }
      });
    }
    it(`${dtype}: M rows at once (batched decode, M <= 32) give each row's own bits, and are right`, () => {
      // N * K above 4096: one row alone takes the matrix-vector path too, not the tiny-product one
      const K = 97,
        N = 50;
      const w = kn
        .array(vals(N * K, 11), 'float64')
        .reshape([N, K])
        .astype(dtype);
      const wr = w.astype('float64').toTypedArray() as Float64Array;
      const eps = dtype === 'float16' ? 2 ** -11 : 2 ** -8;
      // (portable kernels, KILN_NO_SIMD=1: the row-at-a-time loop goes up to 8 rows; past that, the GEMM)
      const rows = kn.info().isa.level === 'portable' ? [2, 3, 5, 8] : [2, 3, 5, 8, 9, 16, 17, 32];
      for (const M of rows) {
        // rows with a row stride of 2K (every other row of a larger array): a strided batch
        const big = kn
          .array(vals(2 * M * K, M), 'float64')
          .reshape([2 * M, K])
          .astype(dtype);
        const x = big.index('::2');
        const got = kn.matmul(x, w.T).astype('float64').toTypedArray() as Float64Array;
        const xr = x.astype('float64').toTypedArray() as Float64Array;
        for (let i = 0; i < M; i++) {
          const alone = kn.matmul(kn.index(x, [i]), w.T).astype('float64').toTypedArray() as Float64Array;
          expect(Array.from(got.subarray(i * N, (i + 1) * N)), `M ${M} row ${i} equals the row alone`).toEqual(Array.from(alone));
          for (let j = 0; j < N; j++) {
            let s = 0,
              mag = 0;
            for (let k = 0; k < K; k++) {
              s += xr[i * K + k] * wr[j * K + k];
              mag += Math.abs(xr[i * K + k] * wr[j * K + k]);
            }
            expect(Math.abs(got[i * N + j] - s), `M ${M} [${i}, ${j}]`).toBeLessThanOrEqual(eps * Math.abs(s) + 1e-6 * mag + 1e-30);
          }
        }
      }
    });
    it(`${dtype}: a strided x and batched rows give the same values as one product each`, () => {
      const K = 70,
        N = 12;
      const xs = kn
        .array(vals(3 * 2 * K, 5), 'float64')
        .reshape([3, 1, 2 * K])
        .astype(dtype)
        .index('...', '::2');
      const w = kn
        .array(vals(N * K, 6), 'float64')
        .reshape([N, K])
        .astype(dtype);
      const all = kn.matmul(xs, w.T).astype('float32').tolist() as number[][][];
      for (let b = 0; b < 3; b++)
        expect(all[b]).toEqual(
          kn
            .matmul(kn.multiply(kn.index(xs, b), 1), w.T)
            .astype('float32')
            .tolist(),
        );
    });
  }
});

describe('a batch row has the bits of the row alone at every ISA level (KILN_ISA)', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
  const best = kn.info().isa.best;
  const levels = ['portable', 'avx2', 'avx512'].filter((l, i) => i <= ['portable', 'avx2', 'avx512'].indexOf(best));
  it.each(levels)('KILN_ISA=%s', (level) => {
    // K = 97: three 32-wide steps and a tail of 1; N = 50: edges of the 4- and 3-row weight tiles.
    // (The portable level keeps the row-at-a-time loop up to 8 rows only; past that, the GEMM.)
    const script = `
      const kn = await import(${JSON.stringify(pathToFileURL(`${root}index.ts`).href)});
      // magnitudes over 2^-4 .. 2^4, so float sums round and the order of the sums shows in the bits
      const val = (n, seed) => Float32Array.from({ length: n }, (_, i) => ((((i * 7919 + seed * 104729) % 1999) - 999) / 999) * 2 ** (((i * 13 + seed) % 9) - 4));
      const bad = [];
      for (const dt of ['float16', 'bfloat16']) {
        const w = kn.array(val(50 * 97, 3)).reshape([50, 97]).astype(dt);
        for (const M of ${JSON.stringify(level === 'portable' ? [2, 3, 4, 7] : [2, 3, 4, 7, 9, 17, 32])}) {
          const x = kn.array(val(M * 97, M)).reshape([M, 97]).astype(dt);
          const all = kn.matmul(x, w.T).astype('float32').toTypedArray();
          for (let i = 0; i < M; i++) {
            const one = kn.matmul(kn.index(x, [i]), w.T).astype('float32').toTypedArray();
            for (let j = 0; j < 50; j++) if (!Object.is(one[j], all[i * 50 + j])) bad.push(dt + ' M=' + M + ' [' + i + ',' + j + ']');
          }
        }
      }
      console.log(JSON.stringify({ isa: kn.info().isa.level, bad: bad.slice(0, 5) }));`;
    const env: NodeJS.ProcessEnv = { ...process.env, KILN_ISA: level };
    delete env.KILN_NO_SIMD;
    const res = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env, timeout: 120_000 });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as { isa: string; bad: string[] };
    expect(out.isa).toBe(level);
    expect(out.bad).toEqual([]);
  });
});
