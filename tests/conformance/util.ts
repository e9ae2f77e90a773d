// Shared helpers of the conformance suite: a seeded PRNG, per-dtype value generators, the
// memory layouts every kernel is run on, output poisoning and comparison with the reference.
import { expect } from 'vitest';
import * as kn from '../../index.js';
import {
  DTYPES,
  EPS,
  contiguousStrides,
  gather,
  isFloat,
  isInt,
  sizeOf,
  sliceRef,
  transposeRef,
  broadcastToRef,
  toNum,
  type Accuracy,
  type DType,
  type RArray,
  type SliceSpec,
  type Val,
} from './reference.js';

export { DTYPES };
export type { DType };
export const FLOAT_DTYPES: DType[] = ['float16', 'bfloat16', 'float32', 'float64'];
export const INT_DTYPES: DType[] = ['uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64'];

export * from './values.js';

// ---- building arrays ------------------------------------------------------------------------

/** A kiln array holding `data` (row-major) with `shape`, contiguous. */
export function fromVals(d: DType, shape: readonly number[], data: readonly Val[]): kn.NDArray {
  // through a typed array: exact for every dtype and much faster than nested lists
  const n = data.length;
  let t: ArrayBufferView;
  switch (d) {
    case 'int64':
      t = BigInt64Array.from(data as bigint[]);
      break;
    case 'uint64':
      t = BigUint64Array.from(data as bigint[]);
      break;
    case 'float16':
      t = kn.Float16Array.from(data as number[]);
      break;
    case 'float64':
      t = Float64Array.from(data as number[]);
      break;
    case 'bool':
    case 'uint8':
      t = Uint8Array.from(data as number[]);
      break;
    case 'uint16':
      t = Uint16Array.from(data as number[]);
      break;
    case 'uint32':
      t = Uint32Array.from(data as number[]);
      break;
    case 'int8':
      t = Int8Array.from(data as number[]);
      break;
    case 'int16':
      t = Int16Array.from(data as number[]);
      break;
    case 'int32':
      t = Int32Array.from(data as number[]);
      break;
    default:
      t = Float32Array.from(data as number[]); // float32, and bfloat16 (exact in float32)
  }
  const flat = kn.array(t, d);
  if (flat.shape[0] !== n) throw new Error('fromVals: length mismatch');
  return flat.reshape([...shape]);
}

export function refOf(d: DType, shape: readonly number[], data: Val[]): RArray {
  return { dtype: d, shape: shape.slice(), data };
}

export interface Built {
  x: kn.NDArray;
  ref: RArray;
}
type Gen = (n: number) => Val[];

export interface Layout {
  name: string;
  /** logical shape of the arrays this layout builds */
  shape: number[];
  build(d: DType, gen: Gen): Built;
}

function contiguous(shape: number[]): Layout {
  return {
    name: 'contiguous',
    shape,
    build(d, gen) {
      const data = gen(sizeOf(shape));
      return { x: fromVals(d, shape, data), ref: refOf(d, shape, data) };
    },
  };
}

/** `.T` of a contiguous array of the reversed shape. */
export function transposed(shape: number[], name = `transposed ${shape.length}-d`): Layout {
  const base = shape.slice().reverse();
  return {
    name,
    shape,
    build(d, gen) {
      const data = gen(sizeOf(base));
      return { x: fromVals(d, base, data).T, ref: transposeRef(refOf(d, base, data)) };
    },
  };
}

/** broadcastTo from `base` (stride-0 dims: new leading ones and size-1 ones). */
export function broadcast(shape: number[], base: number[], name = 'broadcast'): Layout {
  return {
    name,
    shape,
    build(d, gen) {
      const data = gen(sizeOf(base));
      return { x: fromVals(d, base, data).broadcastTo(shape), ref: broadcastToRef(refOf(d, base, data), shape) };
    },
  };
}

/** Every axis sliced with start 1 and steps 2, 3, 2, ... (an offset and non-unit strides). */
export function sliced(shape: number[], name = 'sliced (offset, steps 2/3)'): Layout {
  const specs: SliceSpec[] = shape.map((s, i) => {
    const step = i % 2 === 0 ? 2 : 3;
    return { start: 1, stop: 1 + s * step, step };
  });
  const base = shape.map((s, i) => 2 + s * (i % 2 === 0 ? 2 : 3));
  return {
    name,
    shape,
    build(d, gen) {
      const data = gen(sizeOf(base));
      return { x: fromVals(d, base, data).slice(specs), ref: sliceRef(refOf(d, base, data), specs) };
    },
  };
}

/** Negative steps (-1, -2, ...) starting inside the base array. */
export function negstep(shape: number[], name = 'negative steps'): Layout {
  const steps = shape.map((_, i) => (i % 2 === 0 ? -1 : -2));
  const base = shape.map((s, i) => 2 + s * -steps[i]);
  const specs: SliceSpec[] = shape.map((s, i) => ({ start: s * -steps[i], stop: 0, step: steps[i] }));
  return {
    name,
    shape,
    build(d, gen) {
      const data = gen(sizeOf(base));
      return { x: fromVals(d, base, data).slice(specs), ref: sliceRef(refOf(d, base, data), specs) };
    },
  };
}

/** A 0-d view at a non-zero offset: slice [3:4] of 5 elements, reshaped to []. */
export function zeroD(name = '0-d'): Layout {
  return {
    name,
    shape: [],
    build(d, gen) {
      const data = gen(5);
      return {
        x: fromVals(d, [5], data)
          .slice([{ start: 3, stop: 4 }])
          .reshape([]),
        ref: refOf(d, [], [data[3]]),
      };
    },
  };
}

/** An empty array made by slicing: [3, 4, 4] -> [3, 0, 4]. */
export function empty(name = 'empty'): Layout {
  return {
    name,
    shape: [3, 0, 4],
    build(d, gen) {
      const data = gen(48);
      return { x: fromVals(d, [3, 4, 4], data).slice([{}, { start: 2, stop: 2 }]), ref: refOf(d, [3, 0, 4], []) };
    },
  };
}

/** The layouts every elementwise kernel runs on. */
export const LAYOUTS: Layout[] = [
  contiguous([3, 4, 5]),
  transposed([5, 6]),
  transposed([4, 3, 5]),
  broadcast([2, 3, 5, 4], [3, 1, 4]),
  sliced([4, 7]),
  negstep([5, 6]),
  zeroD(),
  empty(),
];
export { contiguous };

// ---- evaluation helpers ---------------------------------------------------------------------

/**
 * Fills the allocator's cache with blocks of `nbytes` holding 0x5A bytes, so an output of that
 * size most likely lands on one and unwritten elements show up (DESIGN.md §5).
 */
export function poison(nbytes: number, copies = 4): void {
  if (nbytes <= 0) return;
  kn.memory.clearCache();
  const ps = Array.from({ length: copies }, () => kn.full([nbytes], 0x5a, 'uint8'));
  kn.eval(ps);
  for (const p of ps) p.dispose();
}

export function nbytesOf(d: DType | 'complex64', shape: readonly number[]): number {
  return sizeOf(shape) * (d === 'complex64' ? 8 : d === 'bool' || d === 'int8' || d === 'uint8' ? 1 : d.endsWith('16') ? 2 : d.endsWith('32') ? 4 : 8);
}

/**
 * The device the suite's kernels run on: the default device (the GPU under KILN_DEVICE=gpu on a
 * machine with one). Tolerances stay the CPU's everywhere except where a GPU kernel may round in
 * another, equally valid, order (scan.test.ts: float cumsum / cumprod).
 */
export function evalDevice(): kn.Device {
  return kn.defaultDevice();
}

/** Runs one case inside kn.tidy so every array it makes is freed. */
export function runCase(fn: () => void): void {
  kn.tidy(() => {
    fn();
  });
}

/** Raw values of an array: bool as its stored bytes, 64-bit ints as bigints. */
export function readVals(a: kn.NDArray): Val[] {
  const t = a.toTypedArray() as ArrayLike<number | bigint>;
  return Array.from(t);
}

// ---- comparison -----------------------------------------------------------------------------

type FloatD = 'float16' | 'bfloat16' | 'float32' | 'float64';
export const TOL: Record<Accuracy, Record<FloatD, [rtol: number, atol: number]>> = {
  exact: { float16: [0, 0], bfloat16: [0, 0], float32: [0, 0], float64: [0, 0] },
  // float16/bfloat16 compute in float32 and round once, as the reference does: a 1-ulp error
  // (e.g. truncating instead of rounding) must fail, so these are below one ulp
  arith: { float16: [4e-4, 0], bfloat16: [3e-3, 0], float32: [2.5e-7, 0], float64: [1e-15, 0] },
  transcendental: { float16: [2e-3, 1e-6], bfloat16: [1.6e-2, 1e-6], float32: [2e-6, 1e-7], float64: [1e-12, 1e-15] },
};

export interface CheckOptions {
  acc?: Accuracy;
  /** -0 and +0 must match (exact ops: casts, negative, abs, rounding) */
  signedZero?: boolean;
  /** a scale on the tolerance (e.g. erfinv near ±1) */
  tolScale?: number;
  /** inputs, broadcast to the output shape, shown next to mismatches */
  inputs?: RArray[];
}

function fmt(v: Val): string {
  if (typeof v === 'bigint') return `${v}n`;
  return Object.is(v, -0) ? '-0' : String(v);
}

function unravel(i: number, shape: readonly number[]): number[] {
  const st = contiguousStrides(shape);
  return shape.map((_, k) => Math.floor(i / st[k]) % shape[k]);
}

/** Mismatches between a kiln result and the reference, as readable strings (at most 10). */
export function mismatches(got: kn.NDArray, exp: RArray, opts: CheckOptions = {}): string[] {
  const vals = readVals(got);
  const out: string[] = [];
  const d = exp.dtype;
  const [rtol, atol] = isFloat(d) ? TOL[opts.acc ?? 'exact'][d as FloatD] : [0, 0];
  const scale = opts.tolScale ?? 1;
  for (let i = 0; i < exp.data.length && out.length < 10; i++) {
    const g = vals[i],
      e = exp.data[i];
    let ok: boolean;
    if (d === 'bool' || isInt(d)) ok = g === e || ((typeof g === 'bigint') !== (typeof e === 'bigint') && BigInt(g) === BigInt(e));
    else {
      const gn = toNum(g),
        en = toNum(e);
      if (Number.isNaN(en)) ok = Number.isNaN(gn);
      else if (!Number.isFinite(en) || !Number.isFinite(gn)) ok = gn === en;
      else if (en === 0 && opts.signedZero && gn === 0) ok = Object.is(gn, en);
      else ok = Math.abs(gn - en) <= scale * (atol + rtol * Math.abs(en)) + (exp.err?.[i] ?? 0);
    }
    if (!ok) {
      const ins = opts.inputs?.map((r) => (r.data.length === exp.data.length ? fmt(r.data[i]) : r.data.length === 1 ? fmt(r.data[0]) : '?'));
      out.push(`[${unravel(i, exp.shape).join(',')}] got ${fmt(g)} expected ${fmt(e)}${ins ? ` (inputs ${ins.join(', ')})` : ''}`);
    }
  }
  return out;
}

/** Asserts dtype, shape and values (see `mismatches`). */
export function expectMatches(got: kn.NDArray, exp: RArray, opts: CheckOptions = {}): void {
  expect(got.dtype, 'dtype').toBe(exp.dtype);
  expect(got.shape, 'shape').toEqual(exp.shape);
  expect(mismatches(got, exp, opts), 'mismatching elements').toEqual([]);
}

/** Broadcasts reference inputs to `shape` for mismatch messages. */
export function showInputs(shape: readonly number[], ...xs: RArray[]): RArray[] {
  return xs.map((x) => {
    try {
      return broadcastToRef(x, shape);
    } catch {
      return x;
    }
  });
}

export { gather, EPS };
