// GPU elementwise kernels (backends/cuda/kernels/copy.cu, unary.cu, binary.cu) against the CPU
// kernels: every unary and binary op on every dtype the CPU accepts, where, astype between every
// dtype pair, full and arange, each over contiguous (16-byte vector path plus its tail), offset
// (misaligned), transposed, negative-step and broadcast layouts. Integers, bools and exact float
// ops (arithmetic, rounding, comparisons, casts) must give the same bits; transcendental float ops
// agree within the conformance suite's tolerances (CUDA's libm is not the CPU's).
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import * as R from '../conformance/reference.js';
import { TOL as CONFORMANCE_TOL } from '../conformance/util.js';

// this folder runs only on a GPU machine (npm run test:gpu): without a GPU it fails with the reason
if (!kn.gpuAvailable()) throw new Error(`tests/gpu needs a GPU: ${kn.info().gpuUnavailable}`);

const DTYPES: kn.DType[] = ['bool', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64'];
const FLOATS = new Set<kn.DType>(['float16', 'bfloat16', 'float32', 'float64']);
// [rtol, atol] for transcendental ops: the conformance suite's, against the true value
const TOL: Record<string, [number, number]> = CONFORMANCE_TOL.transcendental;
/**
 * The tolerance of a transcendental op's result, by the RESULT's dtype (exp of uint8 is float32):
 * twice the conformance suite's, since CPU and GPU are each within it of the true value. None for
 * integer / bool results, which must match exactly.
 */
const transcendentalTol = (out: kn.DType): [number, number] | undefined => (FLOATS.has(out) ? [2 * TOL[out][0], 2 * TOL[out][1]] : undefined);

/** A 32-bit LCG: deterministic values without Math.random. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const INT_RANGE: Record<string, [number, number]> = {
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  uint64: [0, 2 ** 53],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  int64: [-(2 ** 53), 2 ** 53],
};

/** 103 values of dtype d: specials and extremes first, then pseudo-random ones (small and wide). */
function values(d: kn.DType, seed: number): number[] {
  const r = lcg(seed);
  const n = 103;
  if (d === 'bool') return Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
  if (FLOATS.has(d)) {
    // specials, then casts' edge cases (wrapping, out of range), then values in [-6, 6]
    const special = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 3, -7.25, 100, 1e-3, 1e-7, 65504, 1e30, -1e30, NaN, Infinity, -Infinity, 0.75, -0.999];
    const out = special.concat([300.7, -129.5, 40000.5, 4294967296.5, 2 ** 31, -(2 ** 63), 1e19, -1e19]);
    while (out.length < n) out.push((r() - 0.5) * 12);
    return out;
  }
  const [lo, hi] = INT_RANGE[d];
  const out = [lo, hi, 0, 1, lo + 1, hi - 1, 2, 3, 7, 8, 31, 32, 63, 64];
  if (lo < 0) out.push(-1, -2, -7, -8);
  while (out.length < n) out.push(out.length % 2 ? Math.floor(lo + r() * (hi - lo)) : Math.floor(r() * 20) - (lo < 0 ? 10 : 0));
  return out;
}

const make = (d: kn.DType, seed: number) => kn.array(values(d, seed), d);

/** Views over 103 elements (or 100 when 2-d): each exercises another kernel path. */
const LAYOUTS: [string, (x: kn.NDArray) => kn.NDArray][] = [
  ['contiguous', (x) => x],
  ['offset', (x) => kn.slice(x, [{ start: 1 }])],
  ['negative step', (x) => kn.flip(x)],
  ['transposed', (x) => kn.transpose(kn.reshape(kn.slice(x, [{ stop: 100 }]), [10, 10]))],
  ['strided 3-d', (x) => kn.transpose(kn.reshape(kn.slice(x, [{ stop: 96 }]), [4, 6, 4]), [2, 0, 1])],
];

/** Each value as a comparable string (bigint and bool too), or the number for inexact floats. */
function flat(a: kn.NDArray): (string | number)[] {
  return Array.from(a.toTypedArray() as ArrayLike<number | bigint | boolean>, (v) => (typeof v === 'number' ? v : String(v)));
}

function cpuGpu(fn: () => kn.NDArray): [kn.NDArray, kn.NDArray] {
  const c = kn.withDevice(kn.cpu, () => {
    const y = fn();
    kn.eval(y);
    return y;
  });
  const g = kn.withDevice(kn.gpu, () => {
    const y = fn();
    kn.eval(y);
    return y;
  });
  return [c, g];
}

function expectSame(what: string, c: kn.NDArray, g: kn.NDArray, tol?: [number, number]) {
  expect(g.dtype, what).toBe(c.dtype);
  expect(g.shape, what).toEqual(c.shape);
  const a = flat(c),
    b = flat(g);
  for (let i = 0; i < a.length; i++) {
    const x = a[i],
      y = b[i];
    if (typeof x === 'number' && typeof y === 'number') {
      if (Number.isNaN(x) || Number.isNaN(y)) expect(Number.isNaN(y) && Number.isNaN(x), `${what} [${i}]: cpu ${x} gpu ${y}`).toBe(true);
      else if (tol && x !== y) expect(Math.abs(x - y), `${what} [${i}]: cpu ${x} gpu ${y}`).toBeLessThanOrEqual(tol[1] + tol[0] * Math.abs(x));
      else expect(Object.is(x, y), `${what} [${i}]: cpu ${x} gpu ${y}`).toBe(true);
    } else expect(y, `${what} [${i}]`).toBe(x);
  }
}

/** Runs fn on the CPU first: a dtype or value the CPU rejects (TypeError, RangeError) is skipped. */
function accepted(fn: () => kn.NDArray): boolean {
  try {
    kn.withDevice(kn.cpu, () => kn.eval(fn()));
    return true;
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) return false;
    throw e;
  }
}

const call = (op: string) => (kn as unknown as Record<string, (...a: unknown[]) => kn.NDArray>)[op];

describe('GPU elementwise kernels equal the CPU', () => {
  it.each(Object.keys(R.UNARY))('unary %s: every accepted dtype and layout', (op) => {
    const tol = R.UNARY[op].acc === 'transcendental';
    let ran = 0;
    for (const d of DTYPES) {
      if (!accepted(() => call(op)(make(d, 1)))) continue;
      for (const [name, view] of LAYOUTS) {
        const [c, g] = cpuGpu(() => call(op)(view(make(d, 7))));
        expectSame(`${op} ${d} ${name}`, c, g, tol ? transcendentalTol(c.dtype) : undefined);
        ran++;
      }
    }
    expect(ran).toBeGreaterThan(0);
  });

  it.each(Object.keys(R.BINARY))('binary %s: every accepted dtype, layout and broadcast', (op) => {
    const tol = R.BINARY[op].acc === 'transcendental';
    let ran = 0;
    for (const d of DTYPES) {
      if (!accepted(() => call(op)(make(d, 1), make(d, 2)))) continue;
      const t = (c: kn.NDArray) => (tol ? transcendentalTol(c.dtype) : undefined);
      for (const [name, view] of LAYOUTS) {
        const [c, g] = cpuGpu(() => call(op)(view(make(d, 3)), view(make(d, 4))));
        expectSame(`${op} ${d} ${name}`, c, g, t(c));
      }
      // a broadcast scalar on either side, a broadcast row, mixed layouts
      const shifts = d === 'bool' ? 1 : 3;
      const scalar = () => kn.reshape(kn.slice(make(d, 5), [{ start: 9, stop: 10 }]), []);
      const cases: [string, () => kn.NDArray][] = [
        ['a op scalar', () => call(op)(make(d, 3), kn.broadcastTo(scalar(), [103]))],
        ['scalar op b', () => call(op)(kn.broadcastTo(scalar(), [103]), make(d, 4))],
        ['shift-sized scalar', () => call(op)(make(d, 3), kn.broadcastTo(kn.astype(kn.array(shifts), d), [103]))],
        [
          'row broadcast',
          () => call(op)(kn.reshape(kn.slice(make(d, 3), [{ stop: 100 }]), [10, 10]), kn.broadcastTo(kn.slice(make(d, 4), [{ stop: 10 }]), [10, 10])),
        ],
        [
          'column broadcast',
          () =>
            call(op)(
              kn.broadcastTo(kn.reshape(kn.slice(make(d, 3), [{ stop: 10 }]), [10, 1]), [10, 10]),
              kn.reshape(kn.slice(make(d, 4), [{ stop: 100 }]), [10, 10]),
            ),
        ],
        ['contiguous op transposed', () => call(op)(kn.reshape(kn.slice(make(d, 3), [{ stop: 100 }]), [10, 10]), LAYOUTS[3][1](make(d, 4)))],
      ];
      for (const [name, f] of cases) {
        const [c, g] = cpuGpu(f);
        expectSame(`${op} ${d} ${name}`, c, g, t(c));
      }
      ran++;
    }
    expect(ran).toBeGreaterThan(0);
  });

  it.each([...DTYPES, 'complex64' as kn.DType])('where %s: layouts and broadcast operands', (d) => {
    const cond = () => kn.astype(make('bool', 11), 'bool');
    const src = (seed: number) => (d === 'complex64' ? kn.astype(make('float32', seed), d) : make(d, seed));
    const re = (z: kn.NDArray) => (d === 'complex64' ? kn.real(z) : z); // read complex64 results through their real part
    for (const [name, view] of LAYOUTS) {
      const [c, g] = cpuGpu(() => re(kn.where(view(cond()), view(src(1)), view(src(2)))));
      expectSame(`where ${d} ${name}`, c, g);
    }
    const [c, g] = cpuGpu(() => re(kn.where(cond(), src(1), kn.broadcastTo(kn.reshape(kn.slice(src(2), [{ stop: 1 }]), []), [103]))));
    expectSame(`where ${d} scalar y`, c, g);
  });

  it.each(DTYPES)('astype from %s to every dtype, every layout', (from) => {
    for (const to of [...DTYPES, 'complex64' as kn.DType]) {
      for (const [name, view] of LAYOUTS) {
        if (to === 'complex64') {
          for (const [part, f] of [
            ['re', kn.real],
            ['im', kn.imag],
          ] as [string, (z: kn.NDArray) => kn.NDArray][]) {
            const [c, g] = cpuGpu(() => f(kn.astype(view(make(from, 13)), to)));
            expectSame(`astype ${from} -> ${to} ${name} (${part})`, c, g);
          }
        } else {
          const [c, g] = cpuGpu(() => kn.astype(view(make(from, 13)), to));
          expectSame(`astype ${from} -> ${to} ${name}`, c, g);
        }
      }
    }
  });

  it.each(DTYPES)('astype from complex64 to %s, and copies of complex64 views', (to) => {
    const z = () => kn.astype(make('float32', 17), 'complex64');
    for (const [name, view] of LAYOUTS) {
      const [c, g] = cpuGpu(() => kn.astype(view(z()), to));
      expectSame(`astype complex64 -> ${to} ${name}`, c, g);
    }
  });

  it.each(DTYPES)('full and arange in %s', (d) => {
    for (const v of [0, 1, -1, 2.5, -3.75, 300, 70000, 1e10, NaN, Infinity]) {
      if (!accepted(() => kn.full([2], v, d))) continue;
      const [c, g] = cpuGpu(() => kn.full([37], v, d));
      expectSame(`full ${v} ${d}`, c, g);
    }
    const ranges: [number, number, number][] = [
      [0, 103, 1],
      [-5, 5, 0.25],
      [3, -40, -1.5],
      [0.1, 10, 0.3],
    ];
    for (const [a, b, s] of ranges) {
      if (!accepted(() => kn.arange(a, b, s, d))) continue;
      const [c, g] = cpuGpu(() => kn.arange(a, b, s, d));
      expectSame(`arange(${a}, ${b}, ${s}) ${d}`, c, g);
    }
  });

  it('large contiguous runs (many blocks, grid-stride loops)', () => {
    const n = 1 << 20;
    const x = () => kn.multiply(kn.arange(0, n, 1, 'float32'), 1e-3);
    for (const f of [
      () => kn.exp(kn.negative(x())),
      () => kn.add(x(), 1),
      () => kn.astype(x(), 'bfloat16'),
      () => kn.astype(kn.astype(x(), 'float16'), 'float32'),
    ]) {
      const [c, g] = cpuGpu(f);
      expectSame('large', c, g, TOL.float32);
    }
  });
});
