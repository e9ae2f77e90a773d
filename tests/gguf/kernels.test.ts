// GGUF block types used natively (backends/cpu/kernels/quantized_gguf.cc through kn.ggufMatmul and
// kn.ggufDequantize): dequantization bit for bit ggml's (fixtures/io/ggml_quant_cases.json, made with
// ggml by fixtures/make_gguf_quant_fixtures.c), the TypeScript dequantizers likewise, and the integer
// matmul (decode M=1, row dots for a few rows and the tiled GEMM from 4 or 8) within the error the 8-bit activation blocks allow of a float64
// product of the dequantized weights -- at every ISA level (KILN_ISA in child processes).
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { dequantize, GGML_BY_NAME, type GgmlTypeName } from '../../ops/io/ggml_quants.js';
import { GGUF_NATIVE_TYPES } from '../../ops/gguf_quantized.js';
import { randomBlocks, rng } from './blocks.js';

const cases = JSON.parse(readFileSync(new URL('../fixtures/io/ggml_quant_cases.json', import.meta.url), 'utf8')) as {
  source: number[];
  types: Record<string, { blocks: string; values: number[]; quantized: string }>;
};
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
/** ||a - b|| / ||b|| */
const relErr = (a: kn.NDArray, b: kn.NDArray) => kn.sqrt(kn.sum(kn.square(kn.subtract(a.astype('float32'), b))).divide(kn.sum(kn.square(b)))).item() as number;
const blocksArray = (b: Uint8Array, rows: number) => kn.array(b, 'uint8').reshape([rows, b.length / rows]);

/** x [M, K] random with a few outliers */
function randomX(M: number, K: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(M * K);
  for (let i = 0; i < x.length; i++) x[i] = (r() * 2 - 1) * (i % 97 === 0 ? 6 : 1);
  return x;
}

/**
 * float64 x @ wᵀ and, per output, the bound on what 8-bit activation blocks of `bs` values (scale
 * amax/127, rounding to nearest) may change: sum_k |w_k| * amax(block of k)/254, plus float32 slack.
 */
function reference(x: Float32Array, w: Float32Array, M: number, N: number, K: number, bs: number) {
  const y = new Float64Array(M * N),
    tol = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    const amax = new Float64Array(K / bs);
    for (let k = 0; k < K; k++) amax[Math.floor(k / bs)] = Math.max(amax[Math.floor(k / bs)], Math.abs(x[m * K + k]));
    for (let n = 0; n < N; n++) {
      let s = 0,
        e = 0,
        mag = 0;
      for (let k = 0; k < K; k++) {
        const a = x[m * K + k],
          b = w[n * K + k];
        s += a * b;
        e += (Math.abs(b) * amax[Math.floor(k / bs)]) / 254;
        mag += Math.abs(a * b);
      }
      y[m * N + n] = s;
      tol[m * N + n] = e * 1.001 + mag * 1e-5 + 1e-6;
    }
  }
  return { y, tol };
}

describe('GGUF block dequantization matches ggml bit for bit', () => {
  it.each(GGUF_NATIVE_TYPES)('%s: TypeScript dequantizer and the gguf_dequant kernel', (type) => {
    const c = cases.types[type];
    const b = hex(c.blocks);
    const want = Float32Array.from(c.values);
    expect(Array.from(dequantize(type, b))).toEqual(Array.from(want));
    const t = GGML_BY_NAME.get(type)!;
    const rows = want.length / 256; // 3 rows of 256 values
    const got = kn.ggufDequantize(blocksArray(b, rows), type);
    expect(got.shape).toEqual([rows, 256]);
    expect(Array.from(got.toTypedArray() as Float32Array)).toEqual(Array.from(want));
    expect(t.blockSize === 32 || t.blockSize === 256).toBe(true);
  });
});

// M = 1 and 3: row dots; from 4 (32-element types) or 8 (K types) rows: the tiled GEMM, here with
// row counts past its 4/6-row passes and weight rows past its 8/32-row tiles.
const SHAPES: [M: number, N: number, K: number][] = [
  [1, 7, 512],
  [3, 9, 768],
  [5, 9, 768],
  [9, 3, 256],
  [27, 45, 512],
  [8, 32, 256],
];

describe('kn.ggufMatmul: integer products within the 8-bit activation error of float64', () => {
  it.each(GGUF_NATIVE_TYPES)('%s', (type) => {
    const bs = GGML_BY_NAME.get(type)!.blockSize === 256 ? 256 : 32;
    for (const [M, N, K] of SHAPES) {
      const b = randomBlocks(type, N, K, 7 + M);
      const wf = dequantize(type, b);
      const x = randomX(M, K, 3 + N);
      const { y, tol } = reference(x, wf, M, N, K, bs);
      const got = kn.ggufMatmul(kn.array(x).reshape([M, K]), blocksArray(b, N), type);
      expect(got.shape).toEqual([M, N]);
      const g = got.toTypedArray() as Float32Array;
      for (let i = 0; i < M * N; i++) expect(Math.abs(g[i] - y[i]), `${type} [${M},${N},${K}] at ${i}: ${g[i]} vs ${y[i]}`).toBeLessThanOrEqual(tol[i]);
    }
  });

  it.each(GGUF_NATIVE_TYPES)(
    '%s: the tiled GEMM (many rows) agrees with the row dots (one row at a time) to float rounding',
    (type) => {
      // both quantize the activations to the same 8-bit values, so their integer sums are equal
      const [M, N, K] = [21, 40, 512];
      const w = blocksArray(randomBlocks(type, N, K, 4), N);
      const x = kn.array(randomX(M, K, 8)).reshape([M, K]);
      const all = kn.ggufMatmul(x, w, type).toTypedArray() as Float32Array;
      for (let m = 0; m < M; m++) {
        const one = kn.ggufMatmul(x.slice([{ start: m, stop: m + 1 }]), w, type).toTypedArray() as Float32Array;
        const scale = Math.max(...Array.from(one, Math.abs));
        for (let n = 0; n < N; n++) expect(Math.abs(all[m * N + n] - one[n]), `${type} row ${m} col ${n}`).toBeLessThanOrEqual(scale * 2e-6);
      }
    },
  );

  it('batch dimensions, float16 and transposed x, and the gradient with respect to x', () => {
    const b = randomBlocks('Q4_K', 6, 256, 5);
    const w = blocksArray(b, 6);
    const wf = kn.array(dequantize('Q4_K', b)).reshape([6, 256]);
    const x = kn.array(randomX(2 * 3, 256, 9)).reshape([2, 3, 256]);
    const y = kn.ggufMatmul(x, w, 'Q4_K');
    expect(y.shape).toEqual([2, 3, 6]);
    const ref = kn.matmul(x, wf.T);
    expect(relErr(y, ref)).toBeLessThan(0.05); // (x has outliers: the bound tests above are the accuracy check)
    const h = kn.ggufMatmul(x.astype('float16'), w, 'Q4_K');
    expect(h.dtype).toBe('float16');
    const xt = kn.array(randomX(256, 4, 2)).reshape([256, 4]).T; // rows of x strided
    expect(relErr(kn.ggufMatmul(xt, w, 'Q4_K'), kn.matmul(xt, wf.T))).toBeLessThan(0.05);
    expect(relErr(h, ref)).toBeLessThan(0.05);
    const g = kn.grad((a: kn.NDArray) => kn.ggufMatmul(a, w, 'Q4_K').sum())(x);
    expect(kn.allclose(g, kn.broadcastTo(wf.sum(0), [2, 3, 256]), { rtol: 1e-5, atol: 1e-5 })).toBe(true);
  });

  it('rejects bad arguments with errors naming the op', () => {
    const w = blocksArray(randomBlocks('Q8_0', 2, 64), 2);
    expect(() => kn.ggufMatmul(kn.ones([1, 32]), w, 'Q8_0')).toThrow(/\[ggufMatmul\] x must have last dimension 64/);
    expect(() => kn.ggufMatmul(kn.ones([1, 64]), w, 'IQ2_XS' as GgmlTypeName)).toThrow(/\[ggufMatmul\] type must be one of/);
    expect(() => kn.ggufMatmul(kn.ones([1, 64]), kn.ones([2, 68]), 'Q8_0')).toThrow(/must be a uint8 array/);
    expect(() => kn.ggufMatmul(kn.ones([1, 64]), kn.zeros([2, 35], 'uint8'), 'Q8_0')).toThrow(/not a whole number of 34-byte Q8_0 blocks/);
    expect(() => kn.ggufDequantize(kn.zeros([2, 35], 'uint8'), 'Q8_0')).toThrow(/\[ggufDequantize\]/);
  });
});

// ---- every ISA level ------------------------------------------------------------------------------

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;

describe('every ISA level (KILN_ISA) gives products within the bound', () => {
  const best = kn.info().isa.best;
  const levels = ['portable', 'avx2', 'avx512'].filter((l, i) => i <= ['portable', 'avx2', 'avx512'].indexOf(best));
  it.each(levels)('KILN_ISA=%s', (level) => {
    const [M, N, K] = [13, 37, 512];
    const script = `
      const kn = await import(${JSON.stringify(pathToFileURL(`${root}index.ts`).href)});
      const { randomBlocks, rng } = await import(${JSON.stringify(pathToFileURL(`${root}tests/gguf/blocks.ts`).href)});
      const out = { isa: kn.info().isa.level, y: {} };
      const r = rng(11); const x = new Float32Array(${M * K}).map(() => r() * 2 - 1);
      for (const t of ${JSON.stringify(GGUF_NATIVE_TYPES)}) {
        const b = randomBlocks(t, ${N}, ${K}, 3);
        for (const m of [1, 5, ${M}]) out.y[t + m] = Array.from(kn.ggufMatmul(kn.array(x.slice(0, m * ${K})).reshape([m, ${K}]), kn.array(b, 'uint8').reshape([${N}, -1]), t).toTypedArray());
      }
      console.log(JSON.stringify(out));`;
    const env: NodeJS.ProcessEnv = { ...process.env, KILN_ISA: level };
    delete env.KILN_NO_SIMD;
    const res = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env, timeout: 120_000 });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as { isa: string; y: Record<string, number[]> };
    expect(out.isa).toBe(level);
    const r = rng(11);
    const x = new Float32Array(M * K).map(() => r() * 2 - 1);
    for (const t of GGUF_NATIVE_TYPES) {
      const wf = dequantize(t, randomBlocks(t, N, K, 3));
      const bs = GGML_BY_NAME.get(t)!.blockSize === 256 ? 256 : 32;
      for (const m of [1, 5, M]) {
        const { y, tol } = reference(x.slice(0, m * K), wf, m, N, K, bs);
        out.y[t + m].forEach((v, i) => expect(Math.abs(v - y[i]), `${level} ${t} m=${m} at ${i}`).toBeLessThanOrEqual(tol[i]));
      }
    }
  });
});
