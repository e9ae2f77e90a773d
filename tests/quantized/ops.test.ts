// kn.quantize / kn.dequantize / kn.quantizedMatmul (ops/quantized.ts, backends/cpu/kernels/quantized.cc):
// the packed words, scales and biases are MLX's bit for bit (fixture from numpy following MLX's source:
// tests/fixtures/make_quantized_fixtures.py), round trips stay within half a step of a float64
// reference, products agree with dequantize + matmul for every bits x group x dtype x orientation,
// odd sizes and batch dims, on every ISA level; the gradient with respect to x matches central
// differences; vmap, compile and bad arguments.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { numericGrad } from '../helpers/grad_check.js';
import { mulberry32 } from '../helpers/rng.js';

const BITS = [2, 3, 4, 5, 6, 8];
const GROUPS = [32, 64, 128];
const fx = kn.loadSafetensors(fileURLToPath(new URL('../fixtures/quantized/cases.safetensors', import.meta.url))).tensors;

const f64 = (a: kn.NDArray) => Array.from(a.astype('float64').toTypedArray() as Float64Array);
const u32 = (a: kn.NDArray) => Array.from(a.toTypedArray() as Uint32Array);

/** Independent unpacking: value j of a row is bits j*bits.. of the row's little-endian bit stream. */
function unpackRef(words: number[], bits: number, n: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < n; j++) {
    let v = 0;
    for (let b = 0; b < bits; b++) {
      const p = j * bits + b;
      v |= ((words[p >> 5] >>> (p & 31)) & 1) << b;
    }
    out.push(v);
  }
  return out;
}

function rand(shape: number[], seed: number, scale = 1): kn.NDArray {
  const r = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return kn
    .array(
      Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale),
      'float32',
    )
    .reshape(shape);
}

describe('quantize matches MLX bit for bit', () => {
  for (const bits of BITS)
    for (const gs of GROUPS)
      it(`bits=${bits} groupSize=${gs} (float32)`, () => {
        const { wq, scales, biases } = kn.quantize(fx.w, { groupSize: gs, bits });
        expect(wq.dtype).toBe('uint32');
        expect(wq.shape).toEqual([5, (256 * bits) / 32]);
        expect(scales.shape).toEqual([5, 256 / gs]);
        expect(u32(wq)).toEqual(u32(fx[`b${bits}_g${gs}.wq`]));
        expect(f64(scales)).toEqual(f64(fx[`b${bits}_g${gs}.scales`]));
        expect(f64(biases)).toEqual(f64(fx[`b${bits}_g${gs}.biases`]));
      });
  for (const [bits, gs] of [
    [4, 64],
    [8, 32],
    [3, 128],
  ])
    it(`bits=${bits} groupSize=${gs} (float16: scales and biases stay float16)`, () => {
      const { wq, scales, biases } = kn.quantize(fx.w16, { groupSize: gs, bits });
      expect(scales.dtype).toBe('float16');
      expect(u32(wq)).toEqual(u32(fx[`f16_b${bits}_g${gs}.wq`]));
      expect(f64(scales)).toEqual(f64(fx[`f16_b${bits}_g${gs}.scales`]));
      expect(f64(biases)).toEqual(f64(fx[`f16_b${bits}_g${gs}.biases`]));
    });
});

describe('round trips against a float64 reference', () => {
  const w = f64(fx.w);
  for (const bits of BITS)
    for (const gs of GROUPS)
      it(`bits=${bits} groupSize=${gs}: within half a step, equal to scale*q+bias`, () => {
        const { wq, scales, biases } = kn.quantize(fx.w, { groupSize: gs, bits });
        const d = f64(kn.dequantize(wq, scales, biases, { groupSize: gs, bits }));
        const s = f64(scales),
          b = f64(biases),
          words = u32(wq);
        const wpr = (256 * bits) / 32;
        for (let r = 0; r < 5; r++) {
          const q = unpackRef(words.slice(r * wpr, (r + 1) * wpr), bits, 256);
          for (let k = 0; k < 256; k++) {
            const g = r * (256 / gs) + Math.floor(k / gs);
            const ref = s[g] * q[k] + b[g];
            expect(Math.abs(d[r * 256 + k] - ref)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(ref)));
            // the error bound of affine rounding: half a step inside the representable range
            // b + s*[0, 2^bits - 1], plus the distance to it outside (MLX keeps the larger-magnitude
            // endpoint exact; the other end may be clipped), plus float32 slack
            const lo = Math.min(b[g], b[g] + s[g] * (2 ** bits - 1)),
              hi = Math.max(b[g], b[g] + s[g] * (2 ** bits - 1));
            const v = w[r * 256 + k];
            const outside = v < lo ? lo - v : v > hi ? v - hi : 0;
            expect(Math.abs(d[r * 256 + k] - v)).toBeLessThanOrEqual(outside + Math.abs(s[g]) * 0.5 * (1 + 1e-4) + 1e-6);
          }
        }
      });

  it('the endpoint of larger magnitude is exact; a zero group stays zero', () => {
    const { wq, scales, biases } = kn.quantize(fx.w, { groupSize: 64, bits: 4 });
    const d = f64(kn.dequantize(wq, scales, biases, { groupSize: 64, bits: 4 }));
    for (let r = 0; r < 5; r++)
      for (let g = 0; g < 4; g++) {
        const grp = w.slice(r * 256 + g * 64, r * 256 + g * 64 + 64);
        const edge = grp.reduce((a, v) => (Math.abs(v) > Math.abs(a) ? v : a), 0);
        const i = grp.indexOf(edge);
        expect(d[r * 256 + g * 64 + i]).toBeCloseTo(edge, 5);
      }
    expect(d.slice(3 * 256, 3 * 256 + 64).every((v) => v === 0)).toBe(true);
  });

  it('dequantize keeps leading dims, casts to dtype, and accepts float16 scales', () => {
    const w = rand([2, 3, 64], 3);
    const { wq, scales, biases } = kn.quantize(w, { bits: 8 });
    expect(wq.shape).toEqual([2, 3, 16]);
    const d = kn.dequantize(wq, scales, biases, { bits: 8, dtype: 'bfloat16' });
    expect(d.dtype).toBe('bfloat16');
    expect(d.shape).toEqual([2, 3, 64]);
    expect(kn.allclose(d.astype('float32'), w, { atol: 0.02 })).toBe(true);
  });
});

/** Reference product in float64: x @ W.T (or x @ W) with W dequantized by the reference unpacking. */
function refProduct(x: kn.NDArray, wq: kn.NDArray, scales: kn.NDArray, biases: kn.NDArray, gs: number, bits: number, transpose: boolean): kn.NDArray {
  const [rows, wpr] = wq.shape;
  const n = (wpr * 32) / bits;
  const words = u32(wq),
    s = f64(scales),
    b = f64(biases);
  const W = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const q = unpackRef(words.slice(r * wpr, (r + 1) * wpr), bits, n);
    for (let k = 0; k < n; k++) W[r * n + k] = s[r * (n / gs) + Math.floor(k / gs)] * q[k] + b[r * (n / gs) + Math.floor(k / gs)];
  }
  const Wa = kn.array(W, 'float64').reshape([rows, n]);
  return kn.matmul(x.astype('float64'), transpose ? Wa.T : Wa);
}

describe('quantizedMatmul against dequantize + matmul', () => {
  const dtypes = ['float32', 'float16', 'bfloat16'] as const;
  let seed = 100;
  for (const bits of BITS)
    for (const gs of GROUPS)
      it(`bits=${bits} groupSize=${gs}: float32/float16/bfloat16, both orientations, odd sizes and batch dims`, () => {
        for (const transpose of [true, false]) {
          // transpose: w [N, K] groups along K; else w [K, N] groups along N
          const K = transpose ? 2 * gs : 13,
            N = transpose ? 11 : gs;
          const w = rand(transpose ? [N, K] : [K, N], seed++, 0.5);
          const { wq, scales, biases } = kn.quantize(w, { groupSize: gs, bits });
          for (const dt of dtypes) {
            // (prefill-sized row counts too: 40, 3 x 13, and 70, where bfloat16 x on AVX-512 BF16
            // takes the dequantized-tile GEMM)
            for (const xs of [[1, K], [3, K], [7, K], [2, 5, K], [K], [40, K], [3, 13, K], [70, K]]) {
              const x = rand(xs, seed++).astype(dt);
              const [s, b] = [scales.astype(dt), biases.astype(dt)];
              const y = kn.quantizedMatmul(x, wq, s, b, { groupSize: gs, bits, transpose });
              expect(y.dtype).toBe(dt);
              expect(y.shape).toEqual([...xs.slice(0, -1), N]);
              const ref = f64(refProduct(x, wq, s, b, gs, bits, transpose));
              const got = f64(y);
              const tol = dt === 'float32' ? 2e-5 : dt === 'float16' ? 4e-3 : 3e-2;
              const scale = Math.max(1, ...ref.map(Math.abs));
              const worst = Math.max(...got.map((v, i) => Math.abs(v - ref[i])));
              expect(worst, `${dt} x ${JSON.stringify(xs)} transpose=${transpose}`).toBeLessThanOrEqual(tol * scale);
            }
          }
        }
      });

  it('many rows (the dequantized-tile GEMM: 520 float32 / 70 bfloat16 rows, 300 weight rows) agree with one row at a time', () => {
    const [K, N] = [192, 300];
    const { wq, scales, biases } = kn.quantize(rand([N, K], 91, 0.5), { groupSize: 64, bits: 4 });
    for (const [dt, R] of [['float32', 520], ['bfloat16', 70]] as const) {
      const x = rand([R, K], 92).astype(dt);
      const [s, b] = [scales.astype(dt), biases.astype(dt)];
      const all = f64(kn.quantizedMatmul(x, wq, s, b, { groupSize: 64 }));
      const tol = dt === 'float32' ? 1e-5 : 2e-2;
      for (const r of [0, 17, R - 1]) {
        const one = f64(kn.quantizedMatmul(x.take(r, 0).reshape([1, K]), wq, s, b, { groupSize: 64 }));
        const scale = Math.max(1, ...one.map(Math.abs));
        one.forEach((v, j) => expect(Math.abs(all[r * N + j] - v), `${dt} row ${r} col ${j}`).toBeLessThanOrEqual(tol * scale));
      }
    }
  });

  it('batched weights broadcast against x (one weight per batch entry)', () => {
    const w = rand([3, 8, 64], 7);
    const { wq, scales, biases } = kn.quantize(w, { groupSize: 32, bits: 4 });
    const x = rand([3, 5, 64], 8);
    const y = kn.quantizedMatmul(x, wq, scales, biases, { groupSize: 32, bits: 4 });
    const ref = kn.matmul(x, kn.swapaxes(kn.dequantize(wq, scales, biases, { groupSize: 32, bits: 4 }), -1, -2));
    expect(y.shape).toEqual([3, 5, 8]);
    expect(kn.allclose(y, ref, { atol: 1e-5 })).toBe(true);
    // transpose: false with batched [B, K, N] weights
    const v = rand([3, 5, 64], 9);
    const q2 = kn.quantize(v, { groupSize: 64, bits: 8 });
    const p = rand([3, 2, 5], 10);
    const y2 = kn.quantizedMatmul(p, q2.wq, q2.scales, q2.biases, { groupSize: 64, bits: 8, transpose: false });
    const ref2 = kn.matmul(p, kn.dequantize(q2.wq, q2.scales, q2.biases, { groupSize: 64, bits: 8 }));
    expect(kn.allclose(y2, ref2, { atol: 1e-5 })).toBe(true);
  });

  it('a large decode-shaped product (several row blocks and threads) matches', () => {
    const w = rand([300, 512], 11);
    const { wq, scales, biases } = kn.quantize(w, { groupSize: 64, bits: 4 });
    for (const M of [1, 2, 4, 9, 70]) {
      const x = rand([M, 512], 12 + M);
      const y = f64(kn.quantizedMatmul(x, wq, scales, biases));
      const ref = f64(refProduct(x, wq, scales, biases, 64, 4, true));
      expect(Math.max(...y.map((v, i) => Math.abs(v - ref[i])))).toBeLessThan(1e-4);
    }
  });
});

describe('every ISA level computes the same products (KILN_ISA)', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
  const index = pathToFileURL(`${root}index.ts`).href;
  // one small product per bits x group, both orientations, float32 and bfloat16 x
  const body = `
    const out = [];
    let seed = 1;
    const r = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) { seed = (seed * 1103515245 + 12345) % 2147483648; a[i] = seed / 2147483648 - 0.5; } return a; };
    for (const bits of [2, 3, 4, 5, 6, 8]) for (const gs of [32, 64, 128]) for (const tr of [true, false]) for (const dt of ['float32', 'bfloat16']) {
      const K = tr ? 2 * gs : 9, N = tr ? 7 : gs;
      const w = kn.array(r(K * N)).reshape(tr ? [N, K] : [K, N]);
      const q = kn.quantize(w, { groupSize: gs, bits });
      const x = kn.array(r(5 * K)).reshape([5, K]).astype(dt);
      out.push(Array.from(kn.quantizedMatmul(x, q.wq, q.scales, q.biases, { groupSize: gs, bits, transpose: tr }).astype('float32').toTypedArray()));
    }
    console.log(JSON.stringify({ isa: kn.info().isa.level, out }));`;
  const run = (level: string) => {
    const env: Record<string, string | undefined> = { ...process.env, KILN_ISA: level, KILN_NO_SIMD: undefined };
    delete env.KILN_NO_SIMD;
    const r = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', `const kn = await import(${JSON.stringify(index)}); ${body}`], {
      cwd: root,
      encoding: 'utf8',
      timeout: 180_000,
      env: env as NodeJS.ProcessEnv,
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { isa: string; out: number[][] };
  };
  it('portable, avx2 and avx512 agree within float32 rounding', () => {
    const best = kn.info().isa.best;
    const levels = ['portable', 'avx2', 'avx512'].slice(0, ['portable', 'avx2', 'avx512'].indexOf(best) + 1);
    const results = levels.map(run);
    results.forEach((r, i) => expect(r.isa).toBe(levels[i]));
    for (const r of results.slice(1))
      r.out.forEach((v, i) => {
        const p = results[0].out[i];
        const worst = Math.max(...v.map((a, j) => Math.abs(a - p[j])));
        expect(worst, `case ${i} at ${r.isa}`).toBeLessThan(2e-4);
      });
  }, 400_000);
});

describe('gradients, vmap and compile', () => {
  it('the gradient with respect to x matches central differences (both orientations)', () => {
    for (const [transpose, bits, gs] of [
      [true, 4, 32],
      [false, 8, 64],
      [true, 3, 128],
    ] as const) {
      const w = rand(transpose ? [6, 2 * gs] : [5, gs], 21);
      const { wq, scales, biases } = kn.quantize(w, { groupSize: gs, bits });
      const K = transpose ? 2 * gs : 5;
      const x = rand([3, K], 22);
      const cot = rand([3, transpose ? 6 : gs], 23);
      const o = { groupSize: gs, bits, transpose };
      const loss = (a: kn.NDArray) => kn.sum(kn.multiply(kn.quantizedMatmul(a, wq, scales, biases, o), cot));
      const g = f64(kn.grad(loss)(x) as kn.NDArray);
      // central differences of the float64 composed product (dequantize + matmul)
      const f = (a: kn.NDArray) => kn.quantizedMatmul(a, wq, scales.astype('float64'), biases.astype('float64'), o);
      const n = Array.from(numericGrad(f, [x.astype('float64')], 0, 1e-4, cot.astype('float64')));
      const worst = Math.max(...g.map((v, i) => Math.abs(v - n[i])));
      expect(worst).toBeLessThan(1e-3 * Math.max(1, ...n.map(Math.abs)));
    }
  });

  it('jvp with respect to x; weights have no gradient (clear error)', () => {
    const { wq, scales, biases } = kn.quantize(rand([4, 64], 30), { bits: 8 });
    const x = rand([2, 64], 31),
      t = rand([2, 64], 32);
    const [, [tan]] = kn.jvp((a: kn.NDArray) => kn.quantizedMatmul(a, wq, scales, biases, { bits: 8 }), [x], [t]);
    expect(kn.allclose(tan, kn.quantizedMatmul(t, wq, scales, biases, { bits: 8 }), { atol: 1e-6 })).toBe(true);
    expect(() => kn.grad((s: kn.NDArray) => kn.sum(kn.quantizedMatmul(x, wq, s, biases, { bits: 8 })))(scales)).toThrow(
      /no gradient with respect to wq, scales or biases/,
    );
    expect(() => kn.grad((a: kn.NDArray) => kn.sum(kn.quantize(a).scales))(rand([2, 64], 1))).toThrow(/not differentiable|quantize rounds/);
  });

  it('vmap over x, over the weights, and over quantize', () => {
    const w = rand([3, 4, 64], 40);
    const q = kn.quantize(w, { bits: 4 });
    const xs = rand([3, 2, 64], 41);
    const f = (x: kn.NDArray, a: kn.NDArray, s: kn.NDArray, b: kn.NDArray) => kn.quantizedMatmul(x, a, s, b);
    const y = kn.vmap(f, [0, 0, 0, 0])(xs, q.wq, q.scales, q.biases) as kn.NDArray;
    const ref = kn.stack([0, 1, 2].map((i) => kn.quantizedMatmul(xs.take(i, 0), q.wq.take(i, 0), q.scales.take(i, 0), q.biases.take(i, 0))));
    expect(kn.allclose(y, ref, { atol: 1e-5 })).toBe(true);
    const y2 = kn.vmap(
      (x: kn.NDArray) => kn.quantizedMatmul(x, q.wq.take(0, 0), q.scales.take(0, 0), q.biases.take(0, 0)),
      [1],
    )(kn.swapaxes(xs, 0, 1)) as kn.NDArray;
    expect(y2.shape).toEqual([3, 2, 4]); // batch axis 1 of [2, 3, 64] comes first
    const qv = kn.vmap((a: kn.NDArray) => kn.quantize(a, { bits: 4 }).wq)(w) as kn.NDArray;
    expect(u32(qv)).toEqual(u32(q.wq));
  });

  it('kn.compile traces and replays quantized products', () => {
    const { wq, scales, biases } = kn.quantize(rand([16, 128], 50), { groupSize: 64, bits: 4 });
    const f = kn.compile((x: kn.NDArray) => kn.add(kn.quantizedMatmul(x, wq, scales, biases), 1));
    const x = rand([2, 128], 51);
    const want = kn.add(kn.quantizedMatmul(x, wq, scales, biases), 1);
    expect(kn.allclose(f(x) as kn.NDArray, want, { atol: 1e-6 })).toBe(true);
    expect(kn.allclose(f(rand([2, 128], 52)) as kn.NDArray, kn.add(kn.quantizedMatmul(rand([2, 128], 52), wq, scales, biases), 1), { atol: 1e-6 })).toBe(true);
  });
});

describe('bad arguments are clear errors', () => {
  const w = rand([4, 64], 60);
  const { wq, scales, biases } = kn.quantize(w);
  it('options', () => {
    expect(() => kn.quantize(w, { bits: 7 })).toThrow(/\[quantize\] bits must be one of 2, 3, 4, 5, 6, 8, got 7/);
    expect(() => kn.quantize(w, { groupSize: 48 })).toThrow(/groupSize must be one of 32, 64, 128, got 48/);
    expect(() => kn.quantize(w, { mode: 'mxfp4' as 'affine' })).toThrow(/mode must be 'affine'/);
    expect(() => kn.quantize(w, { bist: 4 } as never)).toThrow(/unknown option 'bist'/);
    expect(() => kn.quantize(rand([4, 48], 1))).toThrow(/multiple of groupSize 64/);
    expect(() => kn.quantize(rand([64], 1))).toThrow(/at least 2 dimensions/);
    expect(() => kn.quantize(kn.ones([2, 64], 'int32'))).toThrow(/floating/);
  });
  it('shapes and dtypes', () => {
    expect(() => kn.dequantize(wq, scales, biases, { bits: 8 })).toThrow(
      /\[dequantize\] wq \[4, 8\] at bits=8, groupSize=64 needs scales and biases of shape \[4, 0\.5\]|needs scales/,
    );
    expect(() => kn.dequantize(wq.astype('int32'), scales, biases)).toThrow(/wq must be uint32/);
    expect(() => kn.dequantize(wq, scales, biases.astype('float16'))).toThrow(/share one floating dtype/);
    expect(() => kn.quantizedMatmul(rand([2, 32], 1), wq, scales, biases)).toThrow(/the last dim of x must be 64/);
    expect(() => kn.quantizedMatmul(rand([2, 64], 1), wq, scales, biases, { transpose: 1 as never })).toThrow(/transpose must be a boolean/);
    expect(() => kn.quantizedMatmul(kn.ones([2, 64], 'int32'), wq, scales.astype('int32' as never), biases)).toThrow();
  });
  it('malformed native commands throw instead of crashing', async () => {
    const { K, native } = await import('../../backends/native.js');
    const { DTYPE_CODE } = await import('../../core/dtype.js');
    const buf = native.alloc(1 << 16);
    type Op = [string, number[]];
    const cmd = (kernel: string, params: number[], ops: Op[]) => () => {
      const w: number[] = [K[kernel], params.length, ...params, ops.length];
      for (const [dt, shape] of ops)
        w.push(buf, DTYPE_CODE[dt as kn.DType], 0, shape.length, ...shape, ...shape.map((_, i) => shape.slice(i + 1).reduce((x, y) => x * y, 1)));
      native.run(new Float64Array(w));
    };
    try {
      const ok: Op[] = [
        ['float32', [2, 64]],
        ['uint32', [4, 8]],
        ['float32', [4, 1]],
        ['float32', [4, 1]],
        ['float32', [2, 4]],
      ];
      expect(cmd('quantized_matmul', [64, 4, 1], ok)).not.toThrow();
      expect(cmd('quantized_matmul', [48, 4, 1], ok)).toThrow(/\[quantized_matmul\] group_size must be 32, 64 or 128, got 48/);
      expect(cmd('quantized_matmul', [64, 7, 1], ok)).toThrow(/bits must be 2, 3, 4, 5, 6 or 8, got 7/);
      expect(cmd('quantized_matmul', [64, 4, 2], ok)).toThrow(/transpose must be 0 or 1/);
      const badW: Op[] = [
        ['float32', [2, 64]],
        ['uint32', [4, 9]],
        ['float32', [4, 1]],
        ['float32', [4, 1]],
        ['float32', [2, 4]],
      ];
      expect(cmd('quantized_matmul', [64, 4, 1], badW)).toThrow(/\[quantized_matmul\] 64 values per row at bits=4, group_size=64 need wq \[\.\.\., 8\]/);
      const intX: Op[] = [['int32', [2, 64]], ...ok.slice(1)];
      expect(cmd('quantized_matmul', [64, 4, 1], intX)).toThrow(/x must be float32, float16 or bfloat16, got int32/);
      expect(
        cmd(
          'affine_quantize',
          [64, 4],
          [
            ['float32', [2, 64]],
            ['uint32', [2, 8]],
            ['float16', [2, 1]],
            ['float16', [2, 1]],
          ],
        ),
      ).toThrow(/scales must have w's dtype float32/);
      expect(
        cmd(
          'affine_quantize',
          [64, 4],
          [
            ['float32', [2, 48]],
            ['uint32', [2, 6]],
            ['float32', [2, 1]],
            ['float32', [2, 1]],
          ],
        ),
      ).toThrow(/must be a multiple of group_size 64/);
      expect(
        cmd(
          'affine_dequantize',
          [64, 4],
          [
            ['int32', [2, 8]],
            ['float32', [2, 1]],
            ['float32', [2, 1]],
            ['float32', [2, 64]],
          ],
        ),
      ).toThrow(/wq must be uint32, got int32/);
    } finally {
      native.free(buf);
    }
  });
});
