// GPU kernels of the "nn" families (backends/cuda/kernels/norm.cu, rope.cu, attention.cu,
// quantized.cu) against the CPU kernels on the same inputs: rms_norm / layer_norm, rope, attention
// (masks, grouped heads, split-K decode, rows that see no key, the logsumexp output) and MLX's affine
// quantization (quantize and dequantize bit for bit; quantized_matmul in both orientations, matvec
// and tiled paths, batched weights). Float results agree within a few ulps of their dtype (sums run
// in another order on the GPU).
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

// this folder runs only on a GPU machine (npm run test:gpu): without a GPU it fails with the reason
if (!kn.gpuAvailable()) throw new Error(`tests/gpu needs a GPU: ${kn.info().gpuUnavailable}`);
const FLOATS: kn.DType[] = ['float32', 'float16', 'bfloat16', 'float64'];
/** relative tolerance per dtype: a few ulps */
const TOL: Record<string, number> = { float32: 2e-5, float16: 3e-3, bfloat16: 2e-2, float64: 1e-12 };

/** Deterministic values in [-1, 1) (a 32-bit LCG). */
function vals(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(s / 2 ** 31 - 1);
  }
  return out;
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const arr = (shape: number[], dtype: kn.DType, seed: number, scale = 1) =>
  kn
    .reshape(
      kn.array(
        vals(size(shape), seed).map((v) => v * scale),
        'float64',
      ),
      shape,
    )
    .astype(dtype);

/** fn's results on the CPU and on the GPU, each as a flat list of numbers. */
function both(fn: () => kn.NDArray | kn.NDArray[]): [number[][], number[][]] {
  const run = (d: kn.Device) =>
    kn.withDevice(d, () => {
      const r = fn();
      return (Array.isArray(r) ? r : [r]).map((x) => Array.from(x.astype(x.dtype === 'uint32' ? 'uint32' : 'float64').toTypedArray() as ArrayLike<number>));
    });
  return [run(kn.cpu), run(kn.gpu)];
}

function expectClose(fn: () => kn.NDArray | kn.NDArray[], tol: number, what: string) {
  const [c, g] = both(fn);
  expect(g.length).toBe(c.length);
  c.forEach((ci, o) => {
    expect(g[o].length, what).toBe(ci.length);
    // the first mismatch (one expect per output: per-element expects are slow)
    let bad = '';
    for (let i = 0; i < ci.length && !bad; i++) {
      const x = ci[i],
        y = g[o][i];
      const ok = Number.isFinite(x) ? Math.abs(y - x) <= tol * (1 + Math.abs(x)) : Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
      if (!ok) bad = `${what} output ${o} [${i}]: gpu ${y} cpu ${x}`;
    }
    expect(bad).toBe('');
  });
}

function expectEqual(fn: () => kn.NDArray | kn.NDArray[], what: string) {
  const [c, g] = both(fn);
  expect(g, what).toEqual(c);
}

describe('nn kernels on the GPU agree with the CPU', () => {
  it.each(FLOATS)('%s: rms_norm and layer_norm (weights, bias, strided rows, long rows)', (dt) => {
    for (const [R, D] of [
      [5, 40],
      [3, 2100],
      [2, 9000], // more than 8 values per thread: rows re-read
    ]) {
      const x = arr([R, D], dt, 1, 3),
        w = arr([D], dt, 2),
        b = arr([D], dt, 3);
      const xt = kn.transpose(arr([D, R], dt, 4, 3)); // strided rows
      const t = TOL[dt];
      expectClose(() => kn.fast.rmsNorm(x, w, 1e-5), t, `rms ${R}x${D}`);
      expectClose(() => kn.fast.rmsNorm(xt, null, 1e-6), t, `rms strided ${R}x${D}`);
      expectClose(() => kn.fast.layerNorm(x, w, b, 1e-5), t, `ln ${R}x${D}`);
      expectClose(() => kn.fast.layerNorm(xt, null, b, 1e-5), t, `ln bias ${R}x${D}`);
      expectClose(() => kn.fast.layerNorm(x, w, null, 1e-5), t, `ln weight ${R}x${D}`);
      expectClose(() => kn.fast.layerNorm(xt, null, null, 0), t, `ln plain ${R}x${D}`);
    }
  });

  it.each(FLOATS)('%s: rope (both pair layouts, offset, scale, base, freqs, partial dims, strided)', (dt) => {
    const x = arr([2, 3, 7, 16], dt, 5, 2);
    const xt = kn.swapaxes(arr([2, 7, 3, 16], dt, 6, 2), 1, 2);
    const freqs = kn.add(kn.multiply(kn.abs(arr([6], 'float32', 7)), 3), 0.5);
    const t = TOL[dt];
    for (const traditional of [false, true]) {
      expectClose(() => kn.fast.rope(x, 16, { traditional }), t, `rope full ${traditional}`);
      expectClose(() => kn.fast.rope(x, 12, { traditional, offset: 1000, scale: 0.5, base: 500000 }), t, `rope partial ${traditional}`);
      expectClose(() => kn.fast.rope(xt, 12, { traditional, offset: 3, freqs }), t, `rope freqs ${traditional}`);
    }
  });

  it.each(FLOATS)('%s: attention (masks, grouped heads, decode split over keys, logsumexp)', (dt) => {
    const t = TOL[dt] * 4;
    const cases: [B: number, Hq: number, Hkv: number, L: number, S: number, D: number][] = [
      [2, 4, 2, 5, 7, 8],
      [1, 8, 2, 40, 70, 64], // several row tiles and key blocks
      [1, 8, 2, 1, 1500, 64], // decode: split-K and the combine kernel
      [1, 6, 6, 3, 600, 40],
    ];
    for (const [B, Hq, Hkv, L, S, D] of cases) {
      const q = arr([B, Hq, L, D], dt, 11),
        k = arr([B, Hkv, S, D], dt, 12),
        v = arr([B, Hkv, S, D], dt, 13);
      const boolMask = kn.greater(arr([B, Hq, L, S], 'float32', 14), -0.6);
      const addMask = arr([B, Hq, L, S], dt, 15, 2);
      const name = `${B}x${Hq}/${Hkv}x${L}x${S}x${D}`;
      expectClose(() => kn.fast.scaledDotProductAttention(q, k, v, {}), t, `none ${name}`);
      expectClose(() => kn.fast.scaledDotProductAttention(q, k, v, { mask: 'causal', scale: 0.3 }), t, `causal ${name}`);
      expectClose(() => kn.fast.scaledDotProductAttention(q, k, v, { mask: boolMask }), t, `bool ${name}`);
      expectClose(() => kn.fast.scaledDotProductAttention(q, k, v, { mask: addMask }), t, `additive ${name}`);
      expectClose(() => kn.fast.scaledDotProductAttention(q, k, v, { mask: 'causal', returnLogsumexp: true }), t, `lse ${name}`);
      expectClose(() => kn.fast.scaledDotProductAttention(q, k, v, { mask: boolMask, returnLogsumexp: true }), t, `lse bool ${name}`);
    }
  });

  it('attention edge rows: causal rows that see no key, fully masked bool rows, -inf additive rows, strided q', () => {
    const q = arr([1, 2, 6, 8], 'float32', 21),
      k = arr([1, 2, 4, 8], 'float32', 22),
      v = arr([1, 2, 4, 8], 'float32', 23);
    // L = 6 > S = 4: causal rows 0 and 1 see no key (they average v evenly)
    expectClose(() => kn.fast.scaledDotProductAttention(q, k, v, { mask: 'causal', returnLogsumexp: true }), 1e-5, 'blind causal');
    const none = kn.zeros([1, 2, 6, 4], 'bool');
    expectClose(() => kn.fast.scaledDotProductAttention(q, k, v, { mask: none, returnLogsumexp: true }), 1e-5, 'all false');
    const ninf = kn.full([1, 2, 6, 4], -Infinity, 'float32');
    expectClose(() => kn.fast.scaledDotProductAttention(q, k, v, { mask: ninf, returnLogsumexp: true }), 1e-5, 'all -inf');
    const qt = kn.swapaxes(arr([1, 6, 2, 8], 'float32', 24), 1, 2);
    expectClose(() => kn.fast.scaledDotProductAttention(qt, k, v, { mask: 'causal' }), 1e-5, 'strided q');
    // K and V with a column stride of 2 (element loads instead of 16-byte vectors)
    const ks = kn.slice(arr([1, 2, 4, 16], 'bfloat16', 25), [{}, {}, {}, { step: 2 }]),
      vs = kn.slice(arr([1, 2, 4, 16], 'float32', 26), [{}, {}, {}, { step: 2 }]);
    expectClose(() => kn.fast.scaledDotProductAttention(q, ks, vs, { returnLogsumexp: true }), 1e-5, 'strided k, v');
  });

  const BITS = [2, 3, 4, 5, 6, 8];
  const GROUPS = [32, 64, 128];
  // every bits value at group 64, every group size with some bits (straddling and whole words)
  const QMM_CASES: [number, number][] = [...BITS.map((b): [number, number] => [b, 64]), [4, 32], [4, 128], [3, 32], [5, 128], [6, 32], [2, 128], [8, 32]];

  it.each(['float32', 'float16', 'bfloat16'] as kn.DType[])('%s: quantize and dequantize bit for bit', (dt) => {
    for (const bits of BITS)
      for (const groupSize of GROUPS) {
        const w = arr([6, 256], dt, bits * 100 + groupSize, 2);
        expectEqual(() => {
          const { wq, scales, biases } = kn.quantize(w, { groupSize, bits });
          return [wq, scales, biases, kn.dequantize(wq, scales, biases, { groupSize, bits })];
        }, `bits ${bits} group ${groupSize}`);
      }
  });

  it.each(['float32', 'float16', 'bfloat16'] as kn.DType[])('%s: quantized_matmul (matvec and tiled, both orientations, batched)', (dt) => {
    const t = dt === 'float32' ? 1e-4 : TOL[dt] * 2;
    for (const [bits, groupSize] of QMM_CASES) {
      const K = 384,
        N = 256;
      // quantized once on the CPU: both devices multiply the same packed weights
      const qt = kn.withDevice(kn.cpu, () => kn.quantize(arr([N, K], dt, bits + groupSize, 1), { groupSize, bits }));
      const qn = kn.withDevice(kn.cpu, () => kn.quantize(arr([K, N], dt, bits * 7 + groupSize, 1), { groupSize, bits }));
      for (const M of [1, 3, 9, 70]) {
        const x = arr([M, K], dt, M + bits);
        const o = { groupSize, bits };
        expectClose(() => kn.quantizedMatmul(x, qt.wq, qt.scales, qt.biases, { ...o, transpose: true }), t, `t bits ${bits} g ${groupSize} M ${M}`);
        expectClose(() => kn.quantizedMatmul(x, qn.wq, qn.scales, qn.biases, { ...o, transpose: false }), t, `n bits ${bits} g ${groupSize} M ${M}`);
      }
    }
    // batched weights (attention on a quantized cache): [2, N, K/pack] with x [2, M, K]
    const qb = kn.withDevice(kn.cpu, () => kn.quantize(arr([2, 64, 128], dt, 99, 1), { groupSize: 64, bits: 4 }));
    for (const M of [1, 5, 80]) {
      const x = arr([2, M, 128], dt, 98 + M);
      expectClose(() => kn.quantizedMatmul(x, qb.wq, qb.scales, qb.biases, { groupSize: 64, bits: 4 }), t, `batched M ${M}`);
    }
  });
});
