// Fused programs of kn.compile on the GPU (backends/cuda/fused_codegen.cc rendered to CUDA C,
// compiled by NVRTC in fused_nvrtc.cc) against the same compiled functions on the CPU: elementwise
// chains over every dtype class, broadcast and transposed inputs, large launches (grid-stride
// loops, 256 threads per row), reductions with several phases (softmax, norms, logsumexp), spills,
// NaN propagation, integer wrapping. Integers and bools exactly; floats within the dtype's tolerance
// (CUDA's libm and summation order are not the CPU's). Also: compiled images land in KILN_CACHE_DIR.
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

// this folder runs only on a GPU machine (npm run test:gpu): without a GPU it fails with the reason
if (!kn.gpuAvailable()) throw new Error(`tests/gpu needs a GPU: ${kn.info().gpuUnavailable}`);
const cacheDir = mkdtempSync(join(tmpdir(), 'kiln-fused-cache-'));
process.env.KILN_CACHE_DIR = cacheDir; // read at each NVRTC compile

const TOL: Record<string, number> = { float16: 4e-3, bfloat16: 3e-2, float32: 2e-5, float64: 1e-12 };

const normal = (shape: number[], seed: number, dtype: kn.DType = 'float32') => kn.astype(kn.random.normal(shape, { key: kn.random.key(seed) }), dtype);
const ints = (shape: number[], seed: number, dtype: kn.DType) => kn.astype(kn.multiply(kn.random.normal(shape, { key: kn.random.key(seed) }), 40), dtype);

function flat(a: kn.NDArray): (number | string)[] {
  return Array.from(a.toTypedArray() as ArrayLike<number | bigint | boolean>, (v) => (typeof v === 'number' ? v : String(v)));
}

/** Runs the compiled fn on each device (inputs made there) and compares every output. */
function sameOnBoth(what: string, fn: (...xs: kn.NDArray[]) => kn.NDArray | kn.NDArray[], make: () => kn.NDArray[]) {
  const run = (d: kn.Device) =>
    kn.withDevice(d, () => {
      const f = kn.compile(fn);
      const out = f(...make());
      const list = Array.isArray(out) ? out : [out];
      kn.eval(...list);
      return { list, fused: f.info.fused };
    });
  const c = run(kn.cpu),
    g = run(kn.gpu);
  expect(c.fused, `${what}: something fused`).toBeGreaterThan(0);
  expect(g.fused, `${what}: something fused on the GPU`).toBeGreaterThan(0);
  c.list.forEach((want, k) => {
    const got = g.list[k];
    expect(got.shape, `${what} output ${k}`).toEqual(want.shape);
    expect(got.dtype, `${what} output ${k}`).toBe(want.dtype);
    const a = flat(want),
      b = flat(got);
    const tol = TOL[want.dtype];
    for (let i = 0; i < a.length; i++) {
      const x = a[i],
        y = b[i];
      const msg = `${what} output ${k} [${i}]: cpu ${x} gpu ${y}`;
      if (typeof x === 'number' && typeof y === 'number' && tol !== undefined) {
        if (Number.isNaN(x) || Number.isNaN(y)) expect(Number.isNaN(x) && Number.isNaN(y), msg).toBe(true);
        else if (x !== y) expect(Math.abs(x - y), msg).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(x)));
      } else expect(y, msg).toBe(x);
    }
  });
}

describe('fused programs on the GPU equal the CPU', () => {
  it('elementwise chains: float dtypes, broadcast, transposed, large', () => {
    for (const d of ['float32', 'float16', 'bfloat16', 'float64'] as kn.DType[]) {
      sameOnBoth(
        `gelu ${d}`,
        (x, a, b) => kn.nn.gelu(kn.add(kn.multiply(x, a), b)),
        () => [normal([64, 300], 1, d), normal([300], 2, d), normal([64, 1], 3, d)],
      );
      sameOnBoth(
        `transcendental ${d}`,
        (x) => kn.add(kn.tanh(kn.exp(kn.multiply(x, 0.3))), kn.sigmoid(kn.sin(x))),
        () => [kn.transpose(normal([37, 53], 4, d))],
      );
    }
    sameOnBoth(
      '1M elements',
      (x, y) => kn.maximum(kn.multiply(x, y), kn.subtract(x, 1)),
      () => [normal([1024, 1024], 5), normal([1024], 6)],
    );
  });

  it('integer and bool chains are exact (wrapping, division by zero, shifts)', () => {
    for (const d of ['int8', 'uint8', 'int32', 'uint32', 'int64'] as kn.DType[]) {
      sameOnBoth(
        `ints ${d}`,
        (x, y) => kn.add(kn.multiply(kn.floorDivide(x, y), kn.remainder(x, y)), kn.multiply(x, kn.square(y))),
        () => [ints([50, 41], 7, d), ints([41], 8, d)],
      );
    }
    sameOnBoth(
      'predicates and where',
      (x, y) => kn.where(kn.logicalAnd(kn.greater(x, y), kn.isfinite(x)), kn.astype(kn.astype(x, 'int32'), 'float32'), kn.negative(y)),
      () => [normal([33, 17], 9), normal([17], 10)],
    );
  });

  it('reductions: softmax, rms norm, layer norm, logsumexp, mse, max/min/all/any', () => {
    for (const [rows, cols] of [
      [8, 100],
      [300, 1000],
      [2, 70000],
      [5000, 3],
    ]) {
      sameOnBoth(
        `softmax ${rows}x${cols}`,
        (x) => kn.softmax(x, -1),
        () => [normal([rows, cols], 11)],
      );
    }
    sameOnBoth(
      'softmax bf16',
      (x) => kn.softmax(x, -1),
      () => [normal([64, 257], 12, 'bfloat16')],
    );
    sameOnBoth(
      'rms norm',
      (x, w) => kn.multiply(kn.multiply(x, kn.rsqrt(kn.add(kn.mean(kn.square(x), -1, { keepdims: true }), 1e-5))), w),
      () => [normal([16, 2048], 13), normal([2048], 14)],
    );
    sameOnBoth(
      'layer norm',
      (x) => kn.divide(kn.subtract(x, kn.mean(x, -1, { keepdims: true })), kn.sqrt(kn.add(kn.var(x, -1, { keepdims: true }), 1e-5))),
      () => [normal([7, 513], 15)],
    );
    sameOnBoth(
      'logsumexp over axes 0 and 2',
      (x) => kn.logsumexp(x, [0, 2]),
      () => [normal([6, 5, 7], 16)],
    );
    sameOnBoth(
      'mse of 100k',
      (x, y) => kn.mean(kn.square(kn.subtract(x, y))),
      () => [normal([100, 1000], 17), normal([100, 1000], 18)],
    );
    sameOnBoth(
      'max/min/all/any with NaN',
      (x) => [kn.max(kn.log(x), -1), kn.min(kn.exp(x), 0), kn.all(kn.greater(x, -3)), kn.any(kn.less(x, -1), [0, 1])],
      () => [normal([9, 6, 40], 19)],
    );
    sameOnBoth(
      'integer sums wrap',
      (x) => [kn.sum(kn.multiply(x, 3), -1), kn.max(x, 0)],
      () => [ints([7, 900], 20, 'int32')],
    );
    sameOnBoth(
      'intermediate outputs of a reduction',
      (x) => {
        const e = kn.exp(x);
        const y = kn.multiply(e, 2);
        return [e, y, kn.sum(y, -1)];
      },
      () => [normal([5, 9], 21)],
    );
  });

  it('compiled kernels are cached on disk in KILN_CACHE_DIR', () => {
    sameOnBoth(
      'cache probe',
      (x) => kn.multiply(kn.add(x, 7.25), 3.5),
      () => [normal([3, 4], 22)],
    );
    const files = readdirSync(cacheDir).filter((f) => /^fused-[0-9a-f]{16}\.bin$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(statSync(join(cacheDir, f)).size).toBeGreaterThan(32);
  });
});
