// Fuzz tests (DESIGN.md §5): "random op sequences never crash: they give the reference answer or
// throw a clear Error". fast-check builds programs of 1..8 steps over a pool of arrays, with random
// and often invalid arguments; a small numpy-semantics reference written here says what each step
// must give. Every step must either match the reference (values for every dtype, with tolerances
// per dtype; elements the reference cannot pin down are skipped) or throw an Error whose message
// starts with "[op]". Every program runs inside kn.tidy and must leave no buffer behind.
// A second test feeds malformed command lists and buffer calls straight to the native addon in a
// child process, which must neither crash nor throw anything but Errors.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as kn from '../index.js';
import { refBroadcast } from './helpers/broadcast_ref.js';

type DType = kn.DType;

const SEED = 7_2024;
const NUM_RUNS = 300;
/** results bigger than this are checked for shape and dtype only (and never evaluated) */
const MAXN = 4096;
/** arrays the fuzz creates from data stay this small */
const MAX_INPUT = 256;

// ================================================================================================
// Reference: dtypes, promotion and casts (numpy/MLX rules as DESIGN.md §2 states them)
// ================================================================================================

const DTYPES: DType[] = [
  'bool', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64',
  'float16', 'bfloat16', 'float32', 'float64',
];
const BYTES: Record<DType, number> = {
  bool: 1, uint8: 1, uint16: 2, uint32: 4, uint64: 8, int8: 1, int16: 2, int32: 4, int64: 8,
  float16: 2, bfloat16: 2, float32: 4, float64: 8,
};
const isF = (d: DType): boolean => d === 'float16' || d === 'bfloat16' || d === 'float32' || d === 'float64';
const isU = (d: DType): boolean => d === 'uint8' || d === 'uint16' || d === 'uint32' || d === 'uint64';
const isS = (d: DType): boolean => d === 'int8' || d === 'int16' || d === 'int32' || d === 'int64';
const isInt = (d: DType): boolean => isU(d) || isS(d);
const SIGNED_BY_BYTES: Record<number, DType> = { 1: 'int8', 2: 'int16', 4: 'int32', 8: 'int64' };

/** MLX's promotion table. */
function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'bool') return b;
  if (b === 'bool') return a;
  if (isF(a) && isF(b)) return a === 'float64' || b === 'float64' ? 'float64' : 'float32';
  if (isF(a)) return a;
  if (isF(b)) return b;
  if (isU(a) === isU(b)) return BYTES[a] >= BYTES[b] ? a : b;
  const [u, s] = isU(a) ? [a, b] : [b, a];
  if (BYTES[s] > BYTES[u]) return s;
  return BYTES[u] === 8 ? 'float32' : SIGNED_BY_BYTES[BYTES[u] * 2];
}
const floatFor = (d: DType): DType => (isF(d) ? d : 'float32');
type Scalar = number | boolean | bigint;
const isScalar = (v: unknown): v is Scalar => typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint';
function scalarDType(v: Scalar): DType {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int64';
  return Number.isInteger(v) ? 'int32' : 'float32';
}
/** A JS scalar meeting an array of dtype d is weakly typed (NEP 50 / MLX). */
function weak(d: DType, v: Scalar): DType {
  if (typeof v === 'boolean') return d;
  if (typeof v === 'bigint') return d === 'bool' ? 'int64' : d;
  if (Number.isInteger(v) || !Number.isFinite(v)) {
    if (!Number.isFinite(v) && !isF(d)) return 'float32';
    return d === 'bool' ? 'int32' : d;
  }
  return isF(d) ? d : 'float32';
}
const sumDType = (d: DType): DType =>
  d === 'bool' || d === 'int8' || d === 'int16' ? 'int32' : d === 'uint8' || d === 'uint16' ? 'uint32' : d;

// Rounding into the float dtypes goes through float32 first, as a C cast from double does.
const F16 = new kn.Float16Array(1);
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
function toF16(x: number): number {
  F16[0] = Math.fround(x);
  return F16[0];
}
function toBF16(x: number): number {
  F32[0] = x;
  const b = U32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return NaN;
  const hi = Math.floor((b + 0x7fff + ((b >>> 16) & 1)) / 65536) & 0xffff;
  U32[0] = (hi << 16) >>> 0;
  return F32[0];
}
function wrapBig(b: bigint, to: DType): number | null {
  const bits = BYTES[to] * 8;
  const n = Number(isU(to) ? BigInt.asUintN(bits, b) : BigInt.asIntN(bits, b));
  return Number.isSafeInteger(n) ? n : null;
}
/** The value `v` stored as dtype `to`; null where numpy leaves it undefined (or JS can't hold it). */
function cast(v: number, to: DType): number | null {
  switch (to) {
    case 'bool': return v !== 0 ? 1 : 0;
    case 'float64': return v;
    case 'float32': return Math.fround(v);
    case 'float16': return toF16(v);
    case 'bfloat16': return toBF16(v);
  }
  if (!Number.isFinite(v)) return null;
  const t = Math.trunc(v);
  if (Math.abs(t) >= 2 ** 63) return null;
  return wrapBig(BigInt(t), to);
}

// Tolerances: `err` is a per-element bound on how far an implementation may legitimately be from
// the reference (0 when IEEE rounding pins the result down); Infinity marks an element the
// reference cannot predict (it is skipped, and so is everything computed from it).
const EPS: Record<DType, number> = {
  bool: 0, uint8: 0, uint16: 0, uint32: 0, uint64: 0, int8: 0, int16: 0, int32: 0, int64: 0,
  float16: 2 ** -10, bfloat16: 2 ** -7, float32: 2 ** -23, float64: 2 ** -52,
};
const ATOL: Record<DType, number> = { ...EPS, float16: 2 ** -23, bfloat16: 1e-38, float32: 1e-44, float64: 1e-320 };
const MAXF: Record<DType, number> = { ...EPS, float16: 65504, bfloat16: 3.3895e38, float32: 3.4028234e38, float64: Number.MAX_VALUE };
const tol = (v: number, err: number, d: DType): number => 4 * err + 2 * EPS[d] * Math.abs(v) + ATOL[d];

function close(a: number, e: number, err: number, d: DType): boolean {
  if (!isF(d)) return a === e;
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (a === e) return true;
  if (Number.isNaN(a)) return false;
  // rounding near the top of the range may overflow in one implementation and not the other
  if (!Number.isFinite(a) || !Number.isFinite(e)) {
    const fin = Number.isFinite(a) ? a : e, inf = Number.isFinite(a) ? e : a;
    return Number.isFinite(fin) && Math.sign(fin) === Math.sign(inf) && Math.abs(fin) + tol(fin, err, d) >= MAXF[d] * (1 - 4 * EPS[d]);
  }
  return Math.abs(a - e) <= tol(e, err, d);
}

// ================================================================================================
// Reference arrays and ops
// ================================================================================================

interface Ref {
  shape: number[];
  dtype: DType;
  /** row-major values (bool as 0/1); null when too big to compute */
  data: number[] | null;
  err: number[] | null;
}

/** The reference says the call is invalid: the library must throw `[op] ...`. */
class Invalid {
  constructor(readonly why: string) {}
}
const invalid = (why: string): never => {
  throw new Invalid(why);
};
/** A call numpy rejects but the library may reasonably accept (then the ref value must hold). */
interface Outcome {
  ref: Ref;
  lenient?: string;
}

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const fmt = (s: readonly unknown[]): string => `[${s.join(', ')}]`;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}
function ravel(idx: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d] + idx[d];
  return f;
}
/** Too big to compute here, or to read back: tolist() of [2**31, 0] is 2**31 empty lists. */
function big(shape: readonly number[]): boolean {
  let lists = 0, prefix = 1;
  for (const d of shape) {
    prefix *= d;
    lists += prefix;
  }
  return sizeOf(shape) > MAXN || lists > 4 * MAXN;
}
const unknownRef = (shape: number[], dtype: DType): Ref => ({ shape, dtype, data: null, err: null });

/** out[i] = src[map(index of i)], carrying the errors along. */
function gather(src: Ref, shape: number[], map: (idx: number[]) => number[]): Ref {
  if (big(shape) || !src.data) return unknownRef(shape, src.dtype);
  const n = sizeOf(shape), data = new Array<number>(n), err = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const j = ravel(map(unravel(i, shape)), src.shape);
    data[i] = src.data[j];
    err[i] = src.err![j];
  }
  return { shape, dtype: src.dtype, data, err };
}
function withShape(src: Ref, shape: number[]): Ref {
  return { ...src, shape };
}

const refBroadcastShapes = (shapes: number[][]): number[] | null => refBroadcast(...shapes);
const broadcastRef = (a: Ref, shape: number[]): Ref =>
  gather(a, shape, (idx) => {
    const lead = shape.length - a.shape.length;
    return a.shape.map((d, i) => (d === 1 ? 0 : idx[i + lead]));
  });
const permuteRef = (a: Ref, perm: number[]): Ref =>
  gather(a, perm.map((p) => a.shape[p]), (idx) => {
    const src = new Array<number>(perm.length);
    perm.forEach((p, i) => (src[p] = idx[i]));
    return src;
  });

/** Elementwise cast, marking values numpy leaves undefined (and uncertain inputs near a jump). */
function castRef(a: Ref, to: DType): Ref {
  if (a.dtype === to || !a.data) return { ...a, dtype: to, data: a.dtype === to ? a.data : null, err: a.dtype === to ? a.err : null };
  const data: number[] = [], err: number[] = [];
  a.data.forEach((v, i) => {
    const e = a.err![i];
    const c = cast(v, to);
    data.push(c ?? 0);
    if (c === null || !Number.isFinite(e)) err.push(Infinity);
    else if (e === 0) err.push(0);
    else if (isF(to)) err.push(e + EPS[to] * Math.abs(c));
    else {
      // an uncertain float lands on a definite integer/bool only away from the jumps
      const t = tol(v, e, a.dtype);
      const lo = cast(v - t, to), hi = cast(v + t, to);
      const safe = to === 'bool' ? Math.abs(v) > t : lo !== null && hi !== null && Math.trunc(v - t) === Math.trunc(v + t);
      err.push(safe ? 0 : Infinity);
    }
  });
  return { shape: a.shape, dtype: to, data, err };
}

/** Float results: an uncertain value that is non-finite or near overflow is unpredictable. */
function settle(r: Ref): Ref {
  if (!r.data || !isF(r.dtype)) return r;
  r.data.forEach((v, i) => {
    const e = r.err![i];
    if (e > 0 && (!Number.isFinite(v) || !Number.isFinite(e) || Math.abs(v) + tol(v, e, r.dtype) >= MAXF[r.dtype])) r.err![i] = Infinity;
  });
  return r;
}

// ---- operands ----------------------------------------------------------------------------------

type Operand = { kind: 'arr'; arr: kn.Array; ref: Ref } | { kind: 'js'; v: unknown };

function scalarRef(v: Scalar, dt: DType): Ref {
  const n = typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
  const c = cast(n, dt);
  return { shape: [], dtype: dt, data: [c ?? 0], err: [c === null ? Infinity : 0] };
}

function typedDType(v: ArrayBufferView): DType | undefined {
  if (v instanceof kn.Float16Array) return 'float16';
  const table: [new (...a: never[]) => unknown, DType][] = [
    [Float32Array, 'float32'], [Float64Array, 'float64'], [Int32Array, 'int32'], [Int16Array, 'int16'],
    [Int8Array, 'int8'], [Uint8Array, 'uint8'], [Uint8ClampedArray, 'uint8'], [Uint16Array, 'uint16'],
    [Uint32Array, 'uint32'], [BigInt64Array, 'int64'], [BigUint64Array, 'uint64'],
  ];
  return table.find(([C]) => v instanceof C)?.[1];
}

/** What `asArray(v)` gives (kn.array's inference for JS data), or Invalid. */
function refAsArray(x: Operand): Ref {
  if (x.kind === 'arr') return x.ref;
  const v = x.v;
  if (isScalar(v)) return scalarRef(v, scalarDType(v));
  // @petamoriken's Float16Array is a class of its own, not an ArrayBuffer view
  if ((ArrayBuffer.isView(v) && !(v instanceof DataView)) || v instanceof kn.Float16Array) {
    const dt = typedDType(v as ArrayBufferView) ?? invalid('unsupported typed array');
    const vals = Array.from(v as unknown as ArrayLike<number | bigint>, Number);
    return { shape: [vals.length], dtype: dt, data: vals.map((n) => cast(n, dt) ?? 0), err: vals.map((n) => (cast(n, dt) === null ? Infinity : 0)) };
  }
  if (!Array.isArray(v)) return invalid(`cannot build an array from ${typeof v}`);
  const shape: number[] = [];
  let probe: unknown = v;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const flat: Scalar[] = [];
  const walk = (y: unknown, d: number): void => {
    if (d === shape.length) {
      if (!isScalar(y)) invalid('element is not a scalar');
      flat.push(y as Scalar);
      return;
    }
    if (!Array.isArray(y) || y.length !== shape[d]) invalid('ragged nested list');
    for (const z of y as unknown[]) walk(z, d + 1);
  };
  walk(v, 0);
  if (shape.length > 32) invalid('too many dimensions');
  let dt: DType = 'float32';
  if (flat.length) {
    const allBool = flat.every((s) => typeof s === 'boolean');
    const allInt = flat.every((s) => typeof s !== 'number' || Number.isInteger(s));
    const anyBig = flat.some((s) => typeof s === 'bigint');
    dt = allBool ? 'bool' : anyBig && allInt ? 'int64' : allInt ? 'int32' : 'float32';
  }
  const vals = flat.map((s) => (typeof s === 'boolean' ? (s ? 1 : 0) : Number(s)));
  return { shape, dtype: dt, data: vals.map((n) => cast(n, dt) ?? 0), err: vals.map((n) => (cast(n, dt) === null ? Infinity : 0)) };
}

/** The dtype two operands of a binary op meet at (weak scalars). */
function meetDType(a: Operand, b: Operand): DType {
  const sa = a.kind === 'js' && isScalar(a.v), sb = b.kind === 'js' && isScalar(b.v);
  if (sa && sb) return promote(scalarDType((a as { v: Scalar }).v), scalarDType((b as { v: Scalar }).v));
  if (sa) return weak(refAsArray(b).dtype, (a as { v: Scalar }).v);
  if (sb) return weak(refAsArray(a).dtype, (b as { v: Scalar }).v);
  return promote(refAsArray(a).dtype, refAsArray(b).dtype);
}
const operandAs = (x: Operand, dt: DType): Ref =>
  x.kind === 'js' && isScalar(x.v) ? scalarRef(x.v, dt) : castRef(refAsArray(x), dt);

// ---- elementwise --------------------------------------------------------------------------------

/** Broadcasts `ins` to one shape and maps f over the elements; f returns [value, err]. */
function elementwise(op: string, ins: Ref[], outDType: DType, f: (v: number[], e: number[]) => [number, number]): Ref {
  const shape = refBroadcastShapes(ins.map((r) => r.shape)) ?? invalid(`${op}: shapes do not broadcast`);
  if (big(shape) || ins.some((r) => !r.data)) return unknownRef(shape, outDType);
  const bs = ins.map((r) => broadcastRef(r, shape));
  const n = sizeOf(shape), data: number[] = [], err: number[] = [];
  for (let i = 0; i < n; i++) {
    const ev = bs.map((b) => b.err![i]);
    if (ev.some((e) => !Number.isFinite(e))) {
      data.push(0);
      err.push(Infinity);
      continue;
    }
    const [v, e] = f(bs.map((b) => b.data![i]), ev);
    data.push(v);
    err.push(e);
  }
  return settle({ shape, dtype: outDType, data, err });
}

const intArith = (op: string, x: number, y: number, dt: DType): number | null => {
  const a = BigInt(x), b = BigInt(y);
  const r = op === 'add' ? a + b : op === 'subtract' ? a - b : a * b;
  return wrapBig(r, dt);
};

function binaryRef(op: string, a: Operand, b: Operand): Ref {
  let dt = meetDType(a, b);
  let out = dt;
  if (op === 'subtract' && dt === 'bool') invalid('boolean subtract');
  if (op === 'divide') out = dt = floatFor(dt);
  if (op === 'less') out = 'bool';
  const x = operandAs(a, dt), y = operandAs(b, dt);
  return elementwise(op, [x, y], out, ([p, q], [ep, eq]) => {
    if (op === 'less') {
      if ((ep > 0 || eq > 0) && Math.abs(p - q) <= tol(p, ep, dt) + tol(q, eq, dt)) return [0, Infinity];
      return [p < q ? 1 : 0, 0];
    }
    if (dt === 'bool') {
      const r = op === 'multiply' ? p && q : p || q;
      return [r ? 1 : 0, 0];
    }
    if (isInt(dt)) {
      if (op === 'maximum') return [Math.max(p, q), 0];
      const r = intArith(op, p, q, dt);
      return r === null ? [0, Infinity] : [r, 0];
    }
    let r: number;
    switch (op) {
      case 'add': r = p + q; break;
      case 'subtract': r = p - q; break;
      case 'multiply': r = p * q; break;
      case 'divide': r = p / q; break;
      default: r = Number.isNaN(p) || Number.isNaN(q) ? NaN : Math.max(p, q);
    }
    const v = cast(r, dt)!;
    if (ep === 0 && eq === 0) return [v, 0];
    let e: number;
    switch (op) {
      case 'add':
      case 'subtract': e = ep + eq; break;
      case 'multiply': e = Math.abs(p) * eq + Math.abs(q) * ep + ep * eq; break;
      case 'divide': e = Math.abs(q) > 4 * eq ? (ep + Math.abs(r) * eq) / (Math.abs(q) - eq) : Infinity; break;
      default: e = Math.max(ep, eq);
    }
    return [v, e + EPS[dt] * Math.abs(v)];
  });
}

function whereRef(c: Operand, a: Operand, b: Operand): Ref {
  const cond = castRef(c.kind === 'js' && isScalar(c.v) ? scalarRef(c.v, 'bool') : refAsArray(c), 'bool');
  const dt = meetDType(a, b);
  const x = operandAs(a, dt), y = operandAs(b, dt);
  return elementwise('where', [cond, x, y], dt, ([k, p, q], [, ep, eq]) => (k ? [p, ep] : [q, eq]));
}

function unaryRef(op: string, a: Operand): Ref {
  const x = refAsArray(a);
  const d = x.dtype;
  if (op === 'exp' || op === 'log' || op === 'sqrt') {
    const dt = floatFor(d);
    return elementwise(op, [castRef(x, dt)], dt, ([p], [ep]) => {
      const r = op === 'exp' ? Math.exp(p) : op === 'log' ? Math.log(p) : Math.sqrt(p);
      const v = cast(r, dt)!;
      const ulp = EPS[dt] * Math.abs(v);
      if (op === 'sqrt') return [v, ep === 0 ? 0 : ep / (2 * Math.sqrt(p)) + ulp];
      if (op === 'exp') return [v, Math.abs(v) * ep + 2 * ulp];
      return [v, (ep === 0 ? 0 : ep / Math.abs(p)) + 2 * ulp];
    });
  }
  if (d === 'bool') {
    if (op === 'negative') invalid('negative of bool');
    return x; // abs of bool is the identity
  }
  return elementwise(op, [x], d, ([p], [ep]) => {
    if (isF(d)) return [op === 'negative' ? -p : Math.abs(p), ep];
    const r = wrapBig(BigInt(op === 'negative' ? -p : Math.abs(p)), d);
    return r === null ? [0, Infinity] : [r, 0];
  });
}

// ---- reductions ---------------------------------------------------------------------------------

function normAxis(a: unknown, nd: number): number {
  if (typeof a !== 'number' || !Number.isInteger(a)) invalid('axis must be an integer');
  const n = a as number;
  if (n < -nd || n >= nd) invalid('axis out of bounds');
  return n < 0 ? n + nd : n;
}
function normAxes(axes: unknown, nd: number): number[] {
  if (axes === undefined || axes === null) return range(nd);
  const list = typeof axes === 'number' ? [axes] : axes;
  if (!Array.isArray(list)) return invalid('axis must be an integer or a list');
  const out = list.map((a) => normAxis(a, nd));
  if (new Set(out).size !== out.length) invalid('repeated axis');
  return out;
}
const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
/** keepdims: a boolean; other values are read for their truth (numpy's argmax does) or rejected. */
function keepdimsOf(v: unknown): { keepdims: boolean; lenient?: string } {
  if (v === undefined) return { keepdims: false };
  if (typeof v !== 'boolean') return { keepdims: Boolean(v), lenient: 'non-boolean keepdims' };
  return { keepdims: v };
}
/** sum/max/mean arguments: (axis?, {keepdims}?) or one ({axis, keepdims}) object. */
function reduceArgs(axisArg: unknown, opts: unknown, nd: number): { axes: number[]; keepdims: boolean; lenient?: string } {
  if (isPlainObject(axisArg)) {
    if (opts !== undefined) invalid('axis object and options together');
    return { axes: normAxes(axisArg.axis, nd), ...keepdimsOf(axisArg.keepdims) };
  }
  const kd = keepdimsOf(isPlainObject(opts) ? opts.keepdims : undefined);
  return { axes: normAxes(axisArg, nd), ...kd };
}

/** Groups the input's flat indices by output element (kept dims in order). */
function groups(shape: number[], axes: number[]): { outShape: number[]; members: number[][] } {
  const kept = range(shape.length).filter((i) => !axes.includes(i));
  const outShape = kept.map((i) => shape[i]);
  const members: number[][] = Array.from({ length: sizeOf(outShape) }, () => []);
  const n = sizeOf(shape);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    members[ravel(kept.map((k) => idx[k]), outShape)].push(i);
  }
  return { outShape, members };
}
const keepShape = (shape: number[], axes: number[], keepdims: boolean, outShape: number[]) =>
  keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : outShape;

function reduceRef(op: 'sum' | 'max' | 'mean', a: Operand, axisArg: unknown, opts: unknown): Outcome {
  const x0 = refAsArray(a);
  const { axes, keepdims, lenient: kdLenient } = reduceArgs(axisArg, opts, x0.shape.length);
  const kept = range(x0.shape.length).filter((i) => !axes.includes(i));
  const outShape0 = kept.map((i) => x0.shape[i]);
  const emptyAxis = axes.some((i) => x0.shape[i] === 0);
  let lenient = kdLenient;
  if (op === 'max' && emptyAxis) {
    if (sizeOf(outShape0) > 0) invalid('max of an empty axis');
    lenient = 'numpy rejects max over an empty axis even when the result is empty';
  }
  const outDType = op === 'sum' ? sumDType(x0.dtype) : op === 'max' ? x0.dtype : floatFor(x0.dtype);
  const acc: DType = op === 'sum' ? outDType : op === 'max' ? x0.dtype : outDType === 'float64' ? 'float64' : 'float32';
  const x = castRef(x0, acc);
  const finalShape = keepShape(x0.shape, axes, keepdims, outShape0);
  if (!x.data || big(x0.shape) || big(finalShape)) return { ref: unknownRef(finalShape, outDType), lenient };
  const { members } = groups(x0.shape, axes);
  const data: number[] = [], err: number[] = [];
  for (const m of members) {
    const vs = m.map((i) => x.data![i]), es = m.map((i) => x.err![i]);
    if (es.some((e) => !Number.isFinite(e))) {
      data.push(0);
      err.push(Infinity);
      continue;
    }
    const sumAbs = vs.reduce((s, v) => s + Math.abs(v), 0), sumErr = es.reduce((s, e) => s + e, 0);
    if (op === 'max') {
      if (acc === 'bool') data.push(vs.some((v) => v) ? 1 : 0);
      else data.push(vs.some(Number.isNaN) ? NaN : Math.max(...vs));
      err.push(Math.max(0, ...es));
    } else if (op === 'sum' && !isF(acc)) {
      const r = wrapBig(vs.reduce((s, v) => s + BigInt(v), 0n), acc);
      data.push(r ?? 0);
      err.push(r === null ? Infinity : 0);
    } else {
      const n = vs.length;
      const s = vs.reduce((p, q) => p + q, 0);
      const r = op === 'mean' ? (n === 0 ? NaN : s / n) : s;
      const v = cast(r, outDType)!;
      const scale = op === 'mean' ? Math.max(n, 1) : 1;
      const e = n === 0 ? 0 : ((n + 2) * EPS[acc] * sumAbs + sumErr) / scale + EPS[outDType] * Math.abs(v);
      data.push(v);
      err.push(e);
    }
  }
  return { ref: settle({ shape: finalShape, dtype: outDType, data, err }), lenient };
}

function argmaxRef(a: Operand, axisArg: unknown, opts: unknown): Outcome {
  const x = refAsArray(a);
  let ax: unknown, kd: unknown;
  if (axisArg !== null && typeof axisArg === 'object') {
    if (Array.isArray(axisArg)) invalid('argmax takes one integer axis');
    ax = (axisArg as { axis?: unknown }).axis;
    kd = (axisArg as { keepdims?: unknown }).keepdims;
  } else {
    ax = axisArg;
    kd = isPlainObject(opts) ? opts.keepdims : undefined;
  }
  const { keepdims, lenient: kdLenient } = keepdimsOf(kd);
  const nd = x.shape.length;
  let shape: number[], axes: number[], finalShape: number[];
  let lenient = kdLenient;
  if (ax === undefined || ax === null) {
    if (sizeOf(x.shape) === 0) invalid('argmax of an empty array');
    shape = [sizeOf(x.shape)];
    axes = [0];
    finalShape = keepdims ? x.shape.map(() => 1) : [];
  } else {
    const i = normAxis(ax, nd);
    shape = x.shape;
    axes = [i];
    const outShape = x.shape.filter((_, k) => k !== i);
    if (x.shape[i] === 0) {
      if (sizeOf(outShape) > 0) invalid('argmax of an empty axis');
      lenient = 'numpy rejects argmax over an empty axis even when the result is empty';
    }
    finalShape = keepShape(x.shape, axes, keepdims, outShape);
  }
  if (!x.data || big(shape)) return { ref: unknownRef(finalShape, 'int32'), lenient };
  const { members } = groups(shape, axes);
  const data: number[] = [], err: number[] = [];
  for (const m of members) {
    const vs = m.map((i) => x.data![i]), es = m.map((i) => x.err![i]);
    let best = 0;
    for (let k = 1; k < vs.length; k++) {
      if (Number.isNaN(vs[best])) break;
      if (Number.isNaN(vs[k]) || vs[k] > vs[best]) best = k;
    }
    const uncertain = es.some((e) => !Number.isFinite(e)) ||
      (es.some((e) => e > 0) && vs.some((v, k) => k !== best && (Number.isNaN(v) || Math.abs(v - vs[best]) <= tol(v, es[k], x.dtype) + tol(vs[best], es[best], x.dtype))));
    data.push(best);
    err.push(uncertain ? Infinity : 0);
  }
  return { ref: { shape: finalShape, dtype: 'int32', data, err }, lenient };
}

// ---- views and the rest -------------------------------------------------------------------------

function reshapeRef(a: Operand, arg: unknown, method: boolean): Ref {
  const x = refAsArray(a);
  const req = typeof arg === 'number' || (method && !Array.isArray(arg)) ? [arg] : arg;
  if (!Array.isArray(req)) invalid('shape must be a list');
  const list = req as unknown[];
  if (list.filter((d) => d === -1).length > 1) invalid('two unknown dims');
  for (const d of list) if (typeof d !== 'number' || !Number.isInteger(d) || d < -1) invalid('bad dim');
  const dims = list as number[];
  const size = sizeOf(x.shape);
  let out = dims;
  if (dims.includes(-1)) {
    const known = sizeOf(dims.filter((d) => d !== -1));
    if (known === 0 || size % known !== 0) invalid('cannot infer -1');
    out = dims.map((d) => (d === -1 ? size / known : d));
  }
  if (out.length > 32) invalid('too many dims');
  if (sizeOf(out) !== size) invalid('size mismatch');
  return withShape(x, out);
}

function transposeOpRef(a: Operand, arg: unknown, method: boolean): Outcome {
  const x = refAsArray(a);
  const nd = x.shape.length;
  if (arg === undefined) return { ref: permuteRef(x, range(nd).reverse()) };
  if (method && !Array.isArray(arg)) arg = [arg];
  if (arg === null) return { ref: permuteRef(x, range(nd).reverse()), lenient: 'numpy reads axes=None as reversed' };
  if (!Array.isArray(arg) || arg.length !== nd) invalid('axes do not match the dimensions');
  return { ref: permuteRef(x, normAxes(arg, nd)) };
}

/** Python's slice.indices(len) (CPython's PySlice_AdjustIndices) as the list of indices taken. */
function pySliceIndices(len: number, start: number | null, stop: number | null, step: number): number[] {
  const lower = step < 0 ? -1 : 0, upper = step < 0 ? len - 1 : len;
  const adjust = (v: number | null, dflt: number): number => (v === null ? dflt : v < 0 ? Math.max(v + len, lower) : Math.min(v, upper));
  const b = adjust(start, step < 0 ? upper : lower), e = adjust(stop, step < 0 ? lower : upper);
  const out: number[] = [];
  if (step > 0) for (let i = b; i < e; i += step) out.push(i);
  else for (let i = b; i > e; i += step) out.push(i);
  return out;
}

function sliceRef(a: Operand, specs: unknown): Ref {
  const x = refAsArray(a);
  if (!Array.isArray(specs)) invalid('specs must be a list');
  const list = specs as unknown[];
  if (list.length > x.shape.length) invalid('too many slices');
  const picks = x.shape.map((dim, i) => {
    const s = list[i];
    if (s === undefined || s === null) return range(dim);
    if (!isPlainObject(s)) return invalid('a slice spec must be an object {start, stop, step}');
    const bound = (v: unknown): number | null => {
      if (v === undefined || v === null) return null;
      if (typeof v !== 'number' || !Number.isInteger(v)) invalid('slice bounds must be integers');
      return v as number;
    };
    const step = s.step === undefined || s.step === null ? 1 : s.step;
    if (typeof step !== 'number' || !Number.isInteger(step) || step === 0) invalid('bad step');
    return pySliceIndices(dim, bound(s.start), bound(s.stop), step as number);
  });
  return gather(x, picks.map((p) => p.length), (idx) => idx.map((j, d) => picks[d][j]));
}

function broadcastToRef(a: Operand, arg: unknown): Ref {
  const x = refAsArray(a);
  const s = typeof arg === 'number' ? [arg] : arg;
  if (!Array.isArray(s)) invalid('shape must be a list');
  for (const d of s as unknown[]) if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) invalid('bad dim');
  const shape = s as number[];
  if (shape.length > 32 || sizeOf(shape) > Number.MAX_SAFE_INTEGER) invalid('shape too large');
  const b = refBroadcastShapes([x.shape, shape]);
  if (!b || fmt(b) !== fmt(shape)) invalid('cannot broadcast');
  return broadcastRef(x, shape);
}

function expandDimsRef(a: Operand, arg: unknown): Ref {
  const x = refAsArray(a);
  const list = typeof arg === 'number' ? [arg] : arg;
  if (!Array.isArray(list)) invalid('axis must be an integer or a list');
  const nd = x.shape.length + (list as unknown[]).length;
  const axes = normAxes(list, nd);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < nd; i++) out.push(axes.includes(i) ? 1 : x.shape[k++]);
  return withShape(x, out);
}

function squeezeRef(a: Operand, arg: unknown): Ref {
  const x = refAsArray(a);
  let axes: number[];
  if (arg === undefined || arg === null) axes = range(x.shape.length).filter((i) => x.shape[i] === 1);
  else {
    axes = normAxes(arg, x.shape.length);
    if (axes.some((i) => x.shape[i] !== 1)) invalid('squeezed axis is not of size 1');
  }
  return withShape(x, x.shape.filter((_, i) => !axes.includes(i)));
}

function astypeRef(a: Operand, dt: unknown): Ref {
  const x = refAsArray(a);
  if (typeof dt !== 'string' || !(DTYPES as string[]).includes(dt)) invalid('unknown dtype');
  return castRef(x, dt as DType);
}

function matmulRef(a: Operand, b: Operand): Ref {
  const x0 = refAsArray(a), y0 = refAsArray(b);
  if (x0.shape.length === 0 || y0.shape.length === 0) invalid('0-d operand');
  const dt = promote(x0.dtype, y0.dtype);
  if (dt === 'bool') invalid('bool matmul');
  const xVec = x0.shape.length === 1, yVec = y0.shape.length === 1;
  const xs = xVec ? [1, x0.shape[0]] : x0.shape, ys = yVec ? [y0.shape[0], 1] : y0.shape;
  const [m, k] = xs.slice(-2), [k2, n] = ys.slice(-2);
  if (k !== k2) invalid('inner dimensions differ');
  const batch = refBroadcastShapes([xs.slice(0, -2), ys.slice(0, -2)]) ?? invalid('batch dims do not broadcast');
  const full = [...batch, m, n];
  const final = [...batch, ...(xVec ? [] : [m]), ...(yVec ? [] : [n])];
  const x = castRef(x0, dt), y = castRef(y0, dt);
  if (big(full) || big([...batch, m, k]) || big([...batch, k, n]) || !x.data || !y.data) return unknownRef(final, dt);
  const X = broadcastRef(withShape(x, xs), [...batch, m, k]), Y = broadcastRef(withShape(y, ys), [...batch, k, n]);
  const data: number[] = [], err: number[] = [];
  const nb = sizeOf(batch);
  for (let bi = 0; bi < nb; bi++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, sAbs = 0, sErr = 0, sBig = 0n, unknown = false;
        for (let kk = 0; kk < k; kk++) {
          const ia = (bi * m + i) * k + kk, ib = (bi * k + kk) * n + j;
          const p = X.data![ia], q = Y.data![ib], ep = X.err![ia], eq = Y.err![ib];
          if (!Number.isFinite(ep) || !Number.isFinite(eq)) unknown = true;
          if (isF(dt)) {
            s += p * q;
            sAbs += Math.abs(p * q);
            sErr += Math.abs(p) * eq + ep * Math.abs(q) + ep * eq;
          } else sBig += BigInt(p) * BigInt(q);
        }
        if (isF(dt)) {
          const v = cast(s, dt)!;
          data.push(v);
          err.push(unknown ? Infinity : (k + 2) * EPS[dt] * sAbs + sErr + EPS[dt] * Math.abs(v));
        } else {
          const r = wrapBig(sBig, dt);
          data.push(r ?? 0);
          err.push(unknown || r === null ? Infinity : 0);
        }
      }
    }
  }
  return settle({ shape: final, dtype: dt, data, err });
}

// ================================================================================================
// Programs: generators, interpretation against the pool, checks
// ================================================================================================

const BINARY = ['add', 'subtract', 'multiply', 'divide', 'maximum', 'less'] as const;
const UNARY = ['exp', 'log', 'negative', 'abs', 'sqrt'] as const;
const REDUCE = ['sum', 'max', 'mean'] as const;
type OpName =
  | (typeof BINARY)[number] | (typeof UNARY)[number] | (typeof REDUCE)[number]
  | 'where' | 'argmax' | 'reshape' | 'transpose' | 'slice' | 'broadcastTo' | 'expandDims' | 'squeeze' | 'astype' | 'matmul';

type Layout = 'c' | 'T' | 's2' | 'rev' | 'b' | 'off';
interface ArraySpec {
  shape: number[];
  dtype: DType;
  seed: number;
  layout: Layout;
  ones: number;
}
type Src =
  | { t: 'pool'; i: number }
  | { t: 'js'; v: unknown }
  | { t: 'fresh'; dtype: DType; seed: number; layout: Layout; drop: number; ones: number; extra: number };
interface Step {
  op: OpName;
  x: Src;
  y: Src;
  z: Src;
  arg: unknown;
  arg2: unknown;
  method: boolean;
}
type Mode = 'eager' | 'lazy' | 'lazyLast';
interface Program {
  inputs: ArraySpec[];
  steps: Step[];
  mode: Mode;
}

// ---- data ---------------------------------------------------------------------------------------

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SPECIAL_F = [NaN, Infinity, -Infinity, -0, 0.5, 1e-3, 300, 1e5, 2.5, -2.5, 65504, 1e-8];
const EXTREMES: Record<string, number[]> = {
  uint8: [0, 255, 254], uint16: [0, 65535], uint32: [0, 4294967295], uint64: [0, 2 ** 53 - 1, 2 ** 40],
  int8: [-128, 127, -127], int16: [-32768, 32767], int32: [-2147483648, 2147483647], int64: [-(2 ** 53 - 1), 2 ** 53 - 1, -(2 ** 40)],
};
function genValue(r: () => number, dt: DType): number {
  const u = r();
  if (dt === 'bool') return u < 0.5 ? 0 : 1;
  if (isF(dt)) {
    if (u < 0.4) return Math.floor(r() * 11) - 5;
    if (u < 0.85) return Math.fround(r() * 20 - 10);
    return SPECIAL_F[Math.floor(r() * SPECIAL_F.length)];
  }
  if (u < 0.7) return isU(dt) ? Math.floor(r() * 11) : Math.floor(r() * 11) - 5;
  if (u < 0.9) return cast(isU(dt) ? Math.floor(r() * 201) : Math.floor(r() * 201) - 100, dt)!;
  const ex = EXTREMES[dt];
  return ex[Math.floor(r() * ex.length)];
}

function nest(data: readonly number[], shape: readonly number[]): unknown {
  if (shape.length === 0) return data[0];
  let pos = 0;
  const build = (d: number): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? data[pos++] : build(d + 1));
    return out;
  };
  return build(0);
}

interface Entry {
  arr: kn.Array;
  ref: Ref;
}

/** An array with the given logical values in one of several memory layouts. */
function makeArray(spec: ArraySpec): Entry {
  const { shape, dtype, layout } = spec;
  const r = rng(spec.seed);
  const nd = shape.length;
  const base = layout === 'b' ? shape.map((d, i) => ((spec.ones >> i) & 1 ? 1 : d)) : shape;
  const vals = range(sizeOf(base)).map(() => cast(genValue(r, dtype), dtype)!);
  let ref: Ref = { shape: base, dtype, data: vals, err: vals.map(() => 0) };
  const build = (x: Ref) => (x.shape.length === 0 ? kn.array(x.data![0], dtype) : kn.array(nest(x.data!, x.shape) as number[], dtype));
  if (sizeOf(shape) === 0) return { arr: kn.zeros(shape, dtype), ref: { shape, dtype, data: [], err: [] } };
  const filler = (n: number) => ({ shape: [n], dtype, data: range(n).map(() => cast(7, dtype)!), err: [] as number[] });
  const rowLen = sizeOf(shape.slice(1));
  switch (nd === 0 ? 'c' : nd < 2 && layout === 'T' ? 'c' : layout) {
    case 'T': {
      const phys = permuteRef(ref, range(nd).reverse());
      return { arr: build(phys).T, ref };
    }
    case 's2': {
      const data: number[] = [];
      for (let i = 0; i < shape[0]; i++) data.push(...vals.slice(i * rowLen, (i + 1) * rowLen), ...filler(rowLen).data);
      return { arr: build({ ...ref, shape: [2 * shape[0], ...shape.slice(1)], data }).slice([{ step: 2 }]), ref };
    }
    case 'rev': {
      const data: number[] = [];
      for (let i = shape[0] - 1; i >= 0; i--) data.push(...vals.slice(i * rowLen, (i + 1) * rowLen));
      return { arr: build({ ...ref, data }).slice([{ step: -1 }]), ref };
    }
    case 'off': {
      const data = [...filler(rowLen).data, ...vals];
      return { arr: build({ ...ref, shape: [shape[0] + 1, ...shape.slice(1)], data }).slice([{ start: 1 }]), ref };
    }
    case 'b': {
      const arr = kn.broadcastTo(build(ref), shape);
      ref = broadcastRef(ref, shape);
      return { arr, ref };
    }
    default:
      return { arr: build(ref), ref };
  }
}

// ---- generators ---------------------------------------------------------------------------------
// Two flavours: `clean` programs pass only well-typed arguments (JS data, scalars, integers —
// still often out of range, repeated, mismatched or the wrong size), so they mostly test values;
// `chaos` programs also pass JS garbage (strings, undefined, null, objects, symbols, functions).

const dtypeArb = fc.constantFrom(...DTYPES);
const layoutArb = fc.constantFrom<Layout>('c', 'c', 'T', 's2', 'rev', 'b', 'off');
const dimArb = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constant(0) });
const inputShapeArb = fc.array(dimArb, { maxLength: 4 }).filter((s) => sizeOf(s) <= MAX_INPUT);
const arraySpecArb: fc.Arbitrary<ArraySpec> = fc.record({
  shape: inputShapeArb,
  dtype: dtypeArb,
  seed: fc.nat(),
  layout: layoutArb,
  ones: fc.nat({ max: 15 }),
});

const scalarArb = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ min: -10, max: 10, noNaN: true }),
  fc.constantFrom<unknown>(NaN, Infinity, -Infinity, -0, 0.5, 2.5, 300, -129, 70000, 2 ** 31, 2 ** 53, true, false, 3n, -2n),
);
const listArb = fc.constantFrom<unknown>(
  [1, 2, 3], [[1.5], [2.5]], [true, false, true], [], [[1, 2], [3]], [[[]]], [1n, 2n], [NaN, 1],
  [[1, 2, 3], [4, 5, 6]], new Float64Array([1.5, -2]), new Int8Array([-1, 2, 3]), new kn.Float16Array([0.5, 2]), [[1], [2]],
);
const garbageArb = fc.constantFrom<unknown>(
  'abc', 'float32', '', undefined, null, {}, { shape: [2] }, () => 1, Symbol('s'), new Map(),
  new DataView(new ArrayBuffer(4)), [undefined], [{}], ['a'], [null],
);
const smallInt = fc.integer({ min: -5, max: 5 });
const jsArb = (a: fc.Arbitrary<unknown>): fc.Arbitrary<Src> => a.map((v) => ({ t: 'js', v }));
const poolArb: fc.Arbitrary<Src> = fc
  .oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat({ max: 7 }) })
  .map((i) => ({ t: 'pool', i }));
const freshArb: fc.Arbitrary<Src> = fc.record({
  t: fc.constant('fresh' as const),
  dtype: dtypeArb,
  seed: fc.nat(),
  layout: layoutArb,
  drop: fc.nat({ max: 4 }),
  ones: fc.nat({ max: 31 }),
  extra: fc.nat({ max: 11 }),
});
const boundArb = fc.oneof(fc.constant(null), fc.integer({ min: -7, max: 7 }), fc.constantFrom(-1e9, 1e9, 2 ** 53 - 1, -(2 ** 53 - 1)));
const sliceStepArb = fc.oneof(fc.constant(null), fc.integer({ min: -3, max: 3 }).filter((s) => s !== 0), fc.constantFrom(1e9, -1e9));

function programArbitrary(chaos: boolean): fc.Arbitrary<Program> {
  /** clean arbitrary, plus (in chaos programs) some garbage */
  const dirty = <T>(clean: fc.Arbitrary<T>, garbage: fc.Arbitrary<unknown>, weight = 1): fc.Arbitrary<unknown> =>
    chaos ? fc.oneof({ weight: 6, arbitrary: clean }, { weight, arbitrary: garbage }) : clean;

  const primaryArb = fc.oneof(
    { weight: 14, arbitrary: poolArb },
    { weight: 1, arbitrary: jsArb(scalarArb) },
    { weight: 1, arbitrary: jsArb(listArb) },
    ...(chaos ? [{ weight: 2, arbitrary: jsArb(garbageArb) }] : []),
  );
  const partnerArb = fc.oneof(
    { weight: 5, arbitrary: poolArb },
    { weight: 6, arbitrary: freshArb },
    { weight: 3, arbitrary: jsArb(scalarArb) },
    { weight: 1, arbitrary: jsArb(listArb) },
    ...(chaos ? [{ weight: 2, arbitrary: jsArb(garbageArb) }] : []),
  );
  const rawDim = dirty(fc.integer({ min: 0, max: 5 }), fc.constantFrom<unknown>(1.5, NaN, Infinity, '2', null, Symbol('d')));
  const rawShapeArb = fc.oneof(
    { weight: 5, arbitrary: fc.array(fc.oneof({ weight: 8, arbitrary: rawDim }, { weight: 1, arbitrary: fc.constantFrom(-1, -2, 2 ** 31) }), { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.integer({ min: -2, max: 8 }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>([-1, -1], Array(33).fill(1), [2 ** 53, 2 ** 53], [0, -1], [-1]) },
    ...(chaos ? [{ weight: 1, arbitrary: garbageArb }] : []),
  );
  const axisGarbage = fc.constantFrom<unknown>('x', 1.5, NaN, true, Infinity, [0.5], [null], () => 0, {});
  const reduceAxisArb = dirty(
    fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom<unknown>(undefined, null) },
      { weight: 3, arbitrary: smallInt },
      { weight: 3, arbitrary: fc.array(smallInt, { maxLength: 4 }) },
      {
        weight: 2,
        arbitrary: fc.record(
          { axis: fc.oneof(fc.constant(undefined), smallInt, fc.array(smallInt, { maxLength: 3 })), keepdims: fc.constantFrom<unknown>(undefined, true, false) },
          { requiredKeys: [] },
        ),
      },
    ),
    fc.oneof(axisGarbage, fc.record({ axis: smallInt, keepdims: fc.constantFrom<unknown>('yes', 1, null) })),
  );
  const optsArb = dirty(
    fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: fc.record({ keepdims: fc.constantFrom<unknown>(true, false, undefined) }) }),
    fc.constantFrom<unknown>({ keepdims: 'yes' }, { keepdims: 1 }),
  );
  const argmaxAxisArb = dirty(
    fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom<unknown>(undefined, null) },
      { weight: 4, arbitrary: smallInt },
      { weight: 1, arbitrary: fc.record({ axis: fc.oneof(fc.constant(undefined), fc.constant(null), smallInt), keepdims: fc.constantFrom<unknown>(undefined, true, false) }, { requiredKeys: [] }) },
    ),
    fc.oneof(axisGarbage, fc.constantFrom<unknown>([0], [], [1, 0])),
  );
  const reshapeArgArb = fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('factor'), picks: fc.array(fc.nat(), { maxLength: 4 }), minusOne: fc.integer({ min: -3, max: 5 }) }) },
    { weight: 2, arbitrary: rawShapeArb.map((v) => ({ t: 'raw', v })) },
  );
  const permArgArb = fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('perm'), keys: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }), neg: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'none' }) },
    { weight: 2, arbitrary: dirty(fc.array(smallInt, { maxLength: 5 }), fc.oneof(garbageArb, fc.constant(null))).map((v) => ({ t: 'raw', v })) },
  );
  const specArb = dirty(
    fc.oneof(
      { weight: 8, arbitrary: fc.record({ start: boundArb, stop: boundArb, step: sliceStepArb }, { requiredKeys: [] }) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, { step: 0 }) },
    ),
    fc.constantFrom<unknown>({ start: 1.5 }, { stop: 'x' }, { step: NaN }, { start: Infinity }, { step: 0.5 }, 5, 'a', true, [1, 2]),
  );
  const sliceArgArb = dirty(fc.array(specArb, { maxLength: 5 }), fc.constantFrom<unknown>(5, 'abc', undefined, null, {}));
  const broadcastArgArb = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('grow'),
        lead: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
        expand: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 8, maxLength: 8 }),
        mutate: fc.integer({ min: -4, max: 5 }),
      }),
    },
    { weight: 2, arbitrary: rawShapeArb.map((v) => ({ t: 'raw', v })) },
  );
  const expandArgArb = dirty(fc.oneof(smallInt, fc.array(smallInt, { maxLength: 3 })), fc.constantFrom<unknown>(undefined, null, 'x', 1.5, [1.5], {}));
  const squeezeArgArb = fc.oneof(
    { weight: 2, arbitrary: fc.constant({ t: 'none' }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('ones'), neg: fc.boolean() }) },
    { weight: 2, arbitrary: dirty(fc.oneof(smallInt, fc.array(smallInt, { maxLength: 3 })), fc.constantFrom<unknown>(null, 'x', 1.5, {})).map((v) => ({ t: 'raw', v })) },
  );
  const astypeArgArb = dirty(dtypeArb, fc.constantFrom<unknown>('float', 'int', 'Float32', 'complex64', '', undefined, null, 5, { dtype: 'int32' }));

  const stepOf = (op: OpName, arg: fc.Arbitrary<unknown> = fc.constant(undefined), arg2: fc.Arbitrary<unknown> = fc.constant(undefined)): fc.Arbitrary<Step> =>
    fc.record({ op: fc.constant(op), x: primaryArb, y: partnerArb, z: partnerArb, arg, arg2, method: fc.boolean() });
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    ...BINARY.map((op) => ({ weight: 3, arbitrary: stepOf(op) })),
    { weight: 3, arbitrary: stepOf('where') },
    ...UNARY.map((op) => ({ weight: 2, arbitrary: stepOf(op) })),
    ...REDUCE.map((op) => ({ weight: 3, arbitrary: stepOf(op, reduceAxisArb, optsArb) })),
    { weight: 3, arbitrary: stepOf('argmax', argmaxAxisArb, optsArb) },
    { weight: 4, arbitrary: stepOf('reshape', reshapeArgArb) },
    { weight: 4, arbitrary: stepOf('transpose', permArgArb) },
    { weight: 4, arbitrary: stepOf('slice', sliceArgArb) },
    { weight: 4, arbitrary: stepOf('broadcastTo', broadcastArgArb) },
    { weight: 3, arbitrary: stepOf('expandDims', expandArgArb) },
    { weight: 3, arbitrary: stepOf('squeeze', squeezeArgArb) },
    { weight: 4, arbitrary: stepOf('astype', astypeArgArb) },
    { weight: 4, arbitrary: stepOf('matmul') },
  );
  return fc.record({
    inputs: fc.array(arraySpecArb, { minLength: 1, maxLength: 3 }),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }),
    mode: fc.constantFrom<Mode>('eager', 'eager', 'lazy', 'lazyLast'),
  });
}

// ---- interpretation ------------------------------------------------------------------------------

function shapeOf(o: Operand): number[] | null {
  if (o.kind === 'arr') return o.ref.shape;
  try {
    return refAsArray(o).shape;
  } catch {
    return null;
  }
}

function resolveSrc(src: Src, pool: Entry[], rel: number[] | null, forMatmul: boolean): Operand {
  if (src.t === 'pool') {
    const e = pool[pool.length - 1 - (src.i % pool.length)];
    return { kind: 'arr', arr: e.arr, ref: e.ref };
  }
  if (src.t === 'js') return { kind: 'js', v: src.v };
  // a fresh array whose shape fits the primary operand (broadcast-compatible, or a matmul partner)
  const r = rel ?? [1 + (src.extra % 3)];
  const derive = (s: number[]) => s.slice(src.drop % (s.length + 1)).map((d, i) => ((src.ones >> i) & 1 ? 1 : d));
  let shape: number[];
  if (forMatmul) {
    const k = r.length ? r[r.length - 1] : 1 + (src.extra % 3);
    shape = src.extra % 4 === 0 ? [k] : [...derive(r.slice(0, -2)), k, src.extra % 4];
  } else shape = derive(r);
  if (sizeOf(shape) > MAX_INPUT) shape = [1];
  const e = makeArray({ shape, dtype: src.dtype, seed: src.seed, layout: src.layout, ones: src.ones >> 2 });
  pool.push(e);
  return { kind: 'arr', arr: e.arr, ref: e.ref };
}

/** The concrete argument of a step, built for the primary operand's shape. */
function resolveArg(step: Step, shape: number[] | null): unknown {
  const a = step.arg as { t?: string; [k: string]: unknown } | undefined;
  const nd = shape?.length ?? 0;
  switch (step.op) {
    case 'reshape': {
      if (a!.t === 'raw') return a!.v;
      const n = shape ? sizeOf(shape) : 1;
      const picks = a!.picks as number[];
      if (n === 0) return [...picks.map((p) => (p % 3) + 1), 0];
      const out: number[] = [];
      let rest = n;
      for (const p of picks) {
        const divs = range(rest).map((i) => i + 1).filter((d) => rest % d === 0);
        const d = divs[p % divs.length];
        out.push(d);
        rest /= d;
      }
      out.push(rest);
      const m = a!.minusOne as number;
      if (m >= 0) out[m % out.length] = -1;
      return out;
    }
    case 'transpose': {
      if (a!.t === 'none') return undefined;
      if (a!.t === 'raw') return a!.v;
      const keys = a!.keys as number[], neg = a!.neg as boolean[];
      return range(nd).sort((p, q) => keys[p] - keys[q] || p - q).map((p, i) => (neg[i] ? p - nd : p));
    }
    case 'broadcastTo': {
      if (a!.t === 'raw') return a!.v;
      const s = shape ?? [];
      const target = [...(a!.lead as number[]), ...s.map((d, i) => (d === 1 ? (a!.expand as number[])[i] : d))];
      const m = a!.mutate as number;
      if (m >= 0 && target.length) target[m % target.length] = (target[m % target.length] + 1) % 5;
      return target;
    }
    case 'squeeze': {
      if (a!.t === 'none') return undefined;
      if (a!.t === 'raw') return a!.v;
      return range(nd).filter((i) => shape![i] === 1).map((i) => (a!.neg ? i - nd : i));
    }
    default:
      return step.arg;
  }
}

const K = kn as unknown as Record<string, (...args: unknown[]) => unknown>;
const methods = (x: kn.Array) => x as unknown as Record<string, (...args: unknown[]) => unknown>;
/** Calls trimmed of trailing undefined arguments (as a user would write them). */
const trim = (args: unknown[]): unknown[] => {
  const out = args.slice();
  while (out.length && out[out.length - 1] === undefined) out.pop();
  return out;
};

function callLibrary(step: Step, X: Operand, Y: Operand, Z: Operand, arg: unknown): unknown {
  const val = (o: Operand) => (o.kind === 'arr' ? o.arr : o.v);
  const m = step.method && X.kind === 'arr' ? methods(X.arr) : null;
  const op = step.op;
  switch (op) {
    case 'where':
      return kn.where(val(X) as kn.Array, val(Y) as kn.Array, val(Z) as kn.Array);
    case 'add': case 'subtract': case 'multiply': case 'divide': case 'maximum': case 'less': case 'matmul':
      return m ? m[op](val(Y)) : K[op](val(X), val(Y));
    case 'exp': case 'log': case 'negative': case 'abs': case 'sqrt':
      return m ? m[op]() : K[op](val(X));
    case 'sum': case 'max': case 'mean': case 'argmax': {
      const rest = trim([arg, step.arg2]);
      return m ? m[op](...rest) : K[op](val(X), ...rest);
    }
    case 'transpose':
      if (arg === undefined) return m ? (X as { arr: kn.Array }).arr.T : kn.transpose(val(X) as kn.Array);
      return m ? m.transpose(arg) : K.transpose(val(X), arg);
    case 'squeeze':
      return m ? m.squeeze(...trim([arg])) : K.squeeze(val(X), ...trim([arg]));
    default:
      return m ? m[op](arg) : K[op](val(X), arg);
  }
}

function reference(step: Step, X: Operand, Y: Operand, Z: Operand, arg: unknown): Outcome {
  const op = step.op;
  const method = step.method && X.kind === 'arr';
  switch (op) {
    case 'add': case 'subtract': case 'multiply': case 'divide': case 'maximum': case 'less':
      return { ref: binaryRef(op, X, Y) };
    case 'where': return { ref: whereRef(X, Y, Z) };
    case 'exp': case 'log': case 'negative': case 'abs': case 'sqrt': return { ref: unaryRef(op, X) };
    case 'sum': case 'max': case 'mean': return reduceRef(op, X, arg, step.arg2);
    case 'argmax': return argmaxRef(X, arg, step.arg2);
    case 'reshape': return { ref: reshapeRef(X, arg, method) };
    case 'transpose': return transposeOpRef(X, arg, method);
    case 'slice': return { ref: sliceRef(X, arg) };
    case 'broadcastTo': return { ref: broadcastToRef(X, arg) };
    case 'expandDims': return { ref: expandDimsRef(X, arg) };
    case 'squeeze': return { ref: squeezeRef(X, arg) };
    case 'astype': return { ref: astypeRef(X, arg) };
    case 'matmul': return { ref: matmulRef(X, Y) };
  }
}

// ---- checking ------------------------------------------------------------------------------------

function show(v: unknown, depth = 0): string {
  if (v instanceof kn.Array) return v.disposed ? 'array(<disposed>)' : `array(${fmt(v.shape)}, ${v.dtype})`;
  if (typeof v === 'symbol') return v.toString();
  if (typeof v === 'function') return 'function';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined || v === null || typeof v === 'boolean') return String(v);
  if ((ArrayBuffer.isView(v) && !(v instanceof DataView)) || v instanceof kn.Float16Array) return `${(v as object).constructor.name}[${Array.from(v as unknown as ArrayLike<unknown>, (x) => show(x)).join(', ')}]`;
  if (depth > 3) return '…';
  if (Array.isArray(v)) return `[${v.map((x) => show(x, depth + 1)).join(', ')}]`;
  if (v instanceof Map) return 'Map{}';
  if (v instanceof DataView) return 'DataView';
  return `{${Object.entries(v as object).map(([k, x]) => `${k}: ${show(x, depth + 1)}`).join(', ')}}`;
}
function showOperand(o: Operand, pool: Entry[]): string {
  if (o.kind === 'js') return show(o.v);
  const k = pool.findIndex((e) => e.arr === o.arr);
  const vals = o.ref.data && o.ref.data.length <= 24 ? ` = ${show(nest(o.ref.data, o.ref.shape))}` : '';
  return `#${k}:${o.ref.dtype}${fmt(o.ref.shape)}${vals}`;
}

class Failure extends Error {}

/** How much the fuzz exercised, so a generator that drifts into rejecting everything is noticed. */
const stats = { steps: 0, returned: 0, rejected: 0, evaluated: 0, elements: 0, skipped: 0 };

/** Nested list from tolist() → flat numbers, checking the nesting against the shape. */
function flatten(list: unknown, shape: number[], dtype: DType): number[] {
  const out: number[] = [];
  const walk = (x: unknown, d: number) => {
    if (d === shape.length) {
      const want = dtype === 'bool' ? 'boolean' : 'number';
      if (typeof x !== want) throw new Failure(`tolist() gave a ${typeof x} element for a ${dtype} array`);
      out.push(typeof x === 'boolean' ? (x ? 1 : 0) : (x as number));
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d]) throw new Failure(`tolist() nesting does not match shape ${fmt(shape)}`);
    for (const y of x) walk(y, d + 1);
  };
  walk(list, 0);
  return out;
}

/** Reads an array, compares it with its reference, and (adopt) makes the reference exact. */
function checkValues(e: Entry, where: string, adopt: boolean): void {
  const { arr, ref } = e;
  let list: unknown, typed: ArrayLike<number | bigint>;
  try {
    list = arr.tolist();
    typed = arr.toTypedArray() as ArrayLike<number | bigint>;
  } catch (err) {
    throw new Failure(`${where} => evaluating the result threw ${(err as Error)?.message ?? String(err)}`);
  }
  const got = flatten(list, ref.shape, ref.dtype);
  const exact = Array.from(typed, (b) => (typeof b === 'bigint' ? (Number.isSafeInteger(Number(b)) ? Number(b) : null) : null));
  stats.evaluated++;
  if (!ref.data) stats.skipped += got.length;
  if (ref.data) {
    for (let i = 0; i < got.length; i++) {
      if (!Number.isFinite(ref.err![i])) {
        stats.skipped++;
        continue;
      }
      stats.elements++;
      if (!close(got[i], ref.data[i], ref.err![i], ref.dtype)) {
        throw new Failure(
          `${where} => wrong value at flat index ${i} of ${ref.dtype}${fmt(ref.shape)}: got ${show(got[i])}, expected ${show(ref.data[i])}` +
            ` (tolerance ${tol(ref.data[i], ref.err![i], ref.dtype)})\n  got      ${show(got)}\n  expected ${show(ref.data)}`,
        );
      }
    }
  }
  if (adopt) {
    const big64 = ref.dtype === 'int64' || ref.dtype === 'uint64';
    ref.data = big64 ? exact.map((v) => v ?? 0) : got;
    ref.err = big64 ? exact.map((v) => (v === null ? Infinity : 0)) : got.map(() => 0);
  }
}

function runStep(step: Step, pool: Entry[], mode: Mode, log: string[]): void {
  const X = resolveSrc(step.x, pool, null, false);
  const rel = shapeOf(X);
  const needsY = (BINARY as readonly string[]).includes(step.op) || step.op === 'where' || step.op === 'matmul';
  const Y: Operand = needsY ? resolveSrc(step.y, pool, rel, step.op === 'matmul') : { kind: 'js', v: undefined };
  const Z: Operand = step.op === 'where' ? resolveSrc(step.z, pool, rel, false) : { kind: 'js', v: undefined };
  const arg = resolveArg(step, rel);
  const method = step.method && X.kind === 'arr';
  const argsShown = [showOperand(X, pool), ...(needsY ? [showOperand(Y, pool)] : []), ...(step.op === 'where' ? [showOperand(Z, pool)] : [])];
  if (!needsY && arg !== undefined) argsShown.push(show(arg));
  if (step.arg2 !== undefined) argsShown.push(show(step.arg2));
  const desc = method ? `#x.${step.op}(${argsShown.slice(1).join(', ')}) with #x = ${argsShown[0]}` : `kn.${step.op}(${argsShown.join(', ')})`;
  log.push(desc);
  const where = `step ${log.length} ${desc}`;
  stats.steps++;

  let expected: Outcome | Invalid;
  try {
    expected = reference(step, X, Y, Z, arg);
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    expected = e;
  }
  let out: unknown, thrown: unknown, didThrow = false;
  try {
    out = callLibrary(step, X, Y, Z, arg);
  } catch (e) {
    thrown = e;
    didThrow = true;
  }
  if (didThrow) {
    if (!(thrown instanceof Error)) throw new Failure(`${where} => threw a non-Error ${show(thrown)}`);
    if (!thrown.message.startsWith(`[${step.op}]`))
      throw new Failure(`${where} => error message does not start with [${step.op}]: ${thrown.constructor.name}: ${thrown.message}\n${thrown.stack?.split('\n').slice(1, 4).join('\n')}`);
    if (!(expected instanceof Invalid) && !expected.lenient)
      throw new Failure(`${where} => threw for a valid call: ${thrown.message} (expected ${expected.ref.dtype}${fmt(expected.ref.shape)})`);
    stats.rejected++;
    return;
  }
  if (expected instanceof Invalid)
    throw new Failure(`${where} => accepted an invalid call (${expected.why}) and returned ${show(out)}`);
  if (!(out instanceof kn.Array)) throw new Failure(`${where} => returned ${show(out)}, not an array`);
  const ref = expected.ref;
  if (fmt(out.shape) !== fmt(ref.shape) || out.dtype !== ref.dtype)
    throw new Failure(`${where} => returned ${out.dtype}${fmt(out.shape)}, expected ${ref.dtype}${fmt(ref.shape)}`);
  stats.returned++;
  if (big(ref.shape)) return; // shape and dtype only; never evaluated
  const e: Entry = { arr: out, ref: { ...ref } };
  pool.push(e);
  if (mode === 'eager') checkValues(e, where, true);
}

function runProgram(p: Program): void {
  const pool: Entry[] = [];
  const log: string[] = [];
  for (const spec of p.inputs) {
    const e = makeArray(spec);
    pool.push(e);
    checkValues(e, `input ${show(spec)}`, true);
  }
  try {
    for (const step of p.steps) {
      runStep(step, pool, p.mode, log);
    }
    if (p.mode !== 'eager') {
      try {
        if (p.mode === 'lazy') kn.eval(...pool.map((e) => e.arr));
        else for (const e of [...pool].reverse()) e.arr.eval();
      } catch (err) {
        throw new Failure(`evaluating the program (${p.mode}) threw ${(err as Error)?.message ?? String(err)}`);
      }
      pool.forEach((e, i) => checkValues(e, `pool entry #${i} (${p.mode} evaluation)`, false));
    }
  } catch (err) {
    if (err instanceof Failure) err.message += `\nprogram (${p.mode}):\n  ${log.join('\n  ')}`;
    throw err;
  }
}

// ================================================================================================
// Tests
// ================================================================================================

describe('random op sequences never crash', () => {
  let startBuffers = 0;
  beforeAll(() => {
    // a safety net: a runaway allocation must become an Error, not swap the machine to death
    kn.memory.setLimit(256 * 2 ** 20);
    startBuffers = kn.memory.buffers();
  });
  afterAll(() => {
    kn.memory.setLimit(0);
  });

  const runPrograms = (chaos: boolean, seed: number) =>
    fc.assert(
      fc.property(programArbitrary(chaos), (p) => {
        const before = kn.memory.buffers(), active = kn.memory.active();
        try {
          kn.tidy(() => {
            runProgram(p);
            return undefined;
          });
        } finally {
          // every array a program created is tidied away, failing or not
          const after = kn.memory.buffers();
          if (after !== before || kn.memory.active() !== active)
            throw new Failure(`buffers ${before} -> ${after}, active bytes ${active} -> ${kn.memory.active()} after kn.tidy`);
        }
      }),
      { seed, numRuns: NUM_RUNS },
    );

  it(`${NUM_RUNS} programs with well-typed (often invalid) arguments give the reference values or an [op] Error`, () => {
    Object.assign(stats, { steps: 0, returned: 0, rejected: 0, evaluated: 0, elements: 0, skipped: 0 });
    runPrograms(false, SEED);
    // the generator must keep producing mostly runnable programs, with values to compare
    expect(stats.returned).toBeGreaterThan(0.5 * stats.steps);
    expect(stats.rejected).toBeGreaterThan(0.1 * stats.steps);
    expect(stats.elements).toBeGreaterThan(5_000);
    expect(stats.skipped).toBeLessThan(0.1 * stats.elements);
  });

  it(`${NUM_RUNS} programs with JS garbage arguments (strings, undefined, null, objects, symbols) still give the reference or an [op] Error`, () => {
    runPrograms(true, SEED + 1);
  });

  it('leaves the buffer count where it started once every array is disposed', () => {
    expect(kn.memory.buffers()).toBe(startBuffers);
  });
});

// ---- the native addon, fed garbage directly, in a child process ------------------------------------

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const NATIVE = pathToFileURL(join(ROOT, 'backends', 'native.ts')).href;

/** The child: random calls into the addon; every call must return or throw an Error. */
function childScript(kind: string, seed: number, iterations: number): string {
  return `
import { writeSync } from 'node:fs';
const { native } = await import(${JSON.stringify(NATIVE)});
const KIND = ${JSON.stringify(kind)}, N = ${iterations};
let s = ${seed} >>> 0;
const r = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const ri = (n) => Math.floor(r() * n);
const pick = (a) => a[ri(a.length)];
const say = (m) => writeSync(1, m.length > 600 ? m.slice(0, 600) + '…\\n' : m + '\\n');
const show = (v) => typeof v === 'bigint' ? v + 'n' : ArrayBuffer.isView(v) ? v.constructor.name + '(' + v.length + ')[' + Array.from(v).slice(0, 80).join(',') + ']' : typeof v === 'string' ? JSON.stringify(v) : String(v);
const LIMIT = 256 * 2 ** 20;
native.setLimit(LIMIT);
const info = native.info();
const K = info.kernels, NK = Object.keys(K).length;
const NU = Object.keys(info.unaryOps).length, NB = Object.keys(info.binaryOps).length, NR = Object.keys(info.reduceOps).length;
const WEIRD = [0, -0, 1, 2, 3, -1, -2, 0.5, 1.5, NaN, Infinity, -Infinity, 7, 12, 13, 31, 32, 33, 63, 64, 65, 255,
  2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 1e300, -1e300, -(2 ** 53),
  Number.MAX_VALUE, Number.MIN_VALUE];
const live = [], dead = [], size = new Map();
function alloc(n) {
  const id = native.alloc(n);
  live.push(id); size.set(id, n);
  if (n > 0 && n <= 65536) { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = ri(256); native.write(id, 0, b); }
  return id;
}
for (let i = 0; i < 24; i++) alloc(pick([4096, 4096, 4096, 512, 64, 8, 1, 0]));
const anyId = () => pick([...live, ...live, ...dead, 0, -1, 2 ** 32, 2 ** 32 - 1, NaN, 1.5, 999999]);
const bigBuf = () => pick(live.filter((id) => size.get(id) >= 4096)) ?? alloc(4096);
let calls = 0, ok = 0, threw = 0;
const pending = [];
function bad(m) { say('FAIL ' + m); process.exit(3); }
function attempt(desc, f) {
  calls++; say(desc);
  let v;
  try { v = f(); } catch (e) { if (!(e instanceof Error)) bad('non-Error thrown: ' + show(e)); threw++; return; }
  if (v instanceof Promise) pending.push(v.then(() => { ok++; }, (e) => { if (!(e instanceof Error)) bad('non-Error rejection: ' + show(e)); threw++; }));
  else ok++;
}
const contiguous = (shape) => { const st = []; let acc = 1; for (let d = shape.length - 1; d >= 0; d--) { st[d] = acc; acc *= shape[d]; } return st; };
const opnd = (shape, dtype, id = bigBuf()) => {
  const u = r();
  // contiguous, or reversed / broadcast strides that stay inside the buffer
  let st = contiguous(shape), off = 0;
  if (u < 0.2 && shape.length) { const d = ri(shape.length); st[d] = 0; }
  else if (u < 0.35 && shape.length) { const d = ri(shape.length); off = (shape[d] - 1) * st[d]; st[d] = -st[d]; }
  return [id, dtype, off, shape.length, ...shape, ...st];
};
const randShape = (nd) => Array.from({ length: nd }, () => 1 + ri(4));
const dt = () => ri(13);
function plausible() {
  const name = pick(Object.keys(K));
  const shape = randShape(ri(4));
  switch (name) {
    case 'free': return [K.free, 1, pick([...live, ...dead]), 0];
    case 'copy': return [K.copy, 0, 2, ...opnd(shape, dt()), ...opnd(shape, dt())];
    case 'fill': return [K.fill, 1, pick(WEIRD), 1, ...opnd(shape, dt())];
    case 'arange': return [K.arange, 2, pick(WEIRD), pick(WEIRD), 1, ...opnd([ri(9)], dt())];
    case 'unary': { const d = dt(); return [K.unary, 1, ri(NU + 2), 2, ...opnd(shape, d), ...opnd(shape, r() < 0.7 ? d : dt())]; }
    case 'binary': { const d = dt(); return [K.binary, 1, ri(NB + 2), 3, ...opnd(shape, d), ...opnd(shape, r() < 0.8 ? d : dt()), ...opnd(shape, r() < 0.6 ? d : pick([0, dt()]))]; }
    case 'where': { const d = dt(); return [K.where, 0, 4, ...opnd(shape, r() < 0.8 ? 0 : dt()), ...opnd(shape, d), ...opnd(shape, r() < 0.8 ? d : dt()), ...opnd(shape, r() < 0.8 ? d : dt())]; }
    case 'reduce': {
      const nd = ri(4), sh = randShape(nd), red = ri(nd + 2), op = ri(NR + 1), d = dt();
      const out = sh.slice(0, Math.max(0, nd - red));
      return [K.reduce, 2, op, red, 2, ...opnd(sh, d), ...opnd(out, r() < 0.5 ? d : pick([7, 0, dt()]))];
    }
    case 'matmul': {
      const b = randShape(ri(2)), m = 1 + ri(4), k = ri(5), n = 1 + ri(4), d = dt();
      return [K.matmul, 0, 3, ...opnd([...b, m, k], d), ...opnd([...b, k, n], r() < 0.8 ? d : dt()), ...opnd([...b, m, n], r() < 0.8 ? d : dt())];
    }
    default: return [K[name] ?? 0, 0, 0];
  }
}
function mutate(w) {
  w = w.slice();
  const n = 1 + ri(3);
  for (let i = 0; i < n && w.length; i++) {
    const u = r(), j = ri(w.length);
    if (u < 0.6) w[j] = pick(WEIRD); else if (u < 0.8) w[j] += pick([-1, 1, 2, -2]); else if (u < 0.9) w.splice(j, 1); else w.splice(j, 0, pick(WEIRD));
  }
  return w;
}
const randomWords = () => Array.from({ length: ri(40) }, () => pick([...WEIRD, ri(10), ri(10), ri(NK + 1), anyId()]));
function commandList() {
  const u = r(), w = [];
  for (let i = 1 + ri(3); i > 0; i--) w.push(...plausible());
  return u < 0.3 ? w : u < 0.85 ? mutate(w) : randomWords();
}
// A well-formed list whose operand repeats one element 2**26+ times through a zero stride is
// in bounds, so the kernel really loops that long: a hang, not a crash. Such lists are skipped
// (reported separately); malformed lists never run anything, since parsing checks the whole list.
function endlessWork(w) {
  let pos = 0;
  const int = (lo, hi) => { const v = w[pos++]; return Number.isInteger(v) && v >= lo && v <= hi ? v : null; };
  while (pos < w.length) {
    pos++;
    const np = int(0, 64);
    if (np === null) return false;
    pos += np;
    const nops = int(0, 64);
    if (nops === null) return false;
    for (let k = 0; k < nops; k++) {
      pos += 3;
      const nd = int(0, 32);
      if (nd === null) return false;
      const shape = w.slice(pos, pos + nd), strides = w.slice(pos + nd, pos + 2 * nd);
      pos += 2 * nd;
      const size = shape.reduce((a, b) => a * b, 1);
      if (size > 2 ** 26 && shape.some((d, i) => d > 1 && strides[i] === 0)) return true;
    }
  }
  return false;
}
let skipped = 0;
function refresh(i) {
  if (i % 100 === 0) {
    for (let k = 0; k < 4; k++) alloc(pick([4096, 4096, 512, 64]));
    const j = ri(live.length), id = live[j];
    if (size.get(id) >= 4096 && ri(2)) { native.free(id); live.splice(j, 1); dead.push(id); }
  }
}
const garbage = () => pick([undefined, null, 'abc', {}, [], [1, 2], new Float32Array(4), new Uint8Array(8), 5, NaN, -1, () => 0, Symbol('x'), 3n]);

for (let i = 0; i < N; i++) {
  refresh(i);
  if (KIND === 'commands') {
    if (r() < 0.05) { const g = garbage(); attempt('run ' + show(g), () => native.run(g)); continue; }
    const w = commandList();
    if (endlessWork(w)) { skipped++; continue; }
    attempt('run ' + show(new Float64Array(w)), () => native.run(new Float64Array(w)));
  } else if (KIND === 'async') {
    const w = commandList();
    if (endlessWork(w)) { skipped++; continue; }
    attempt('runAsync ' + show(new Float64Array(w)), () => native.runAsync(new Float64Array(w)));
    if (r() < 0.3) { const id = pick(live); attempt('read ' + id, () => native.read(id, 0, Math.min(size.get(id), 4096))); }
    if (r() < 0.1) { const g = garbage(); attempt('runAsync ' + show(g), () => native.runAsync(g)); }
    if (i % 50 === 49) await Promise.all(pending.splice(0));
  } else {
    const u = r();
    if (u < 0.15) attempt('alloc', () => { const n = pick([...WEIRD, ri(5000)]); say('  n=' + show(n)); const id = native.alloc(n); if (typeof id === 'number') { live.push(id); size.set(id, n); } return id; });
    else if (u < 0.25) { const id = anyId(); attempt('free ' + show(id), () => native.free(id)); }
    else if (u < 0.45) {
      const id = anyId(), off = pick([0, 0, 1, ri(5000), ...WEIRD]);
      const data = r() < 0.8 ? pick([new Uint8Array(ri(5000)), new Float64Array(ri(600)), new Int16Array(3), new Float32Array(0), new BigInt64Array(2)]) : garbage();
      attempt('write ' + show(id) + ' ' + show(off) + ' ' + show(data), () => native.write(id, off, data));
    } else if (u < 0.65) {
      const id = anyId(), off = pick([0, 0, 1, ri(5000), ...WEIRD]), n = pick([0, 1, 8, ri(5000), size.get(id) ?? 8, size.get(id) ?? 8, ...WEIRD]);
      attempt('read ' + show(id) + ' ' + show(off) + ' ' + show(n), () => native.read(id, off, n));
    } else if (u < 0.75) { const id = anyId(); attempt('hostView ' + show(id), () => native.hostView(id).byteLength); }
    else if (u < 0.8) { const n = pick([...WEIRD, garbage()]); attempt('setNumThreads ' + show(n), () => native.setNumThreads(n)); }
    else if (u < 0.85) { const n = pick([...WEIRD, garbage()]); attempt('setCacheLimit ' + show(n), () => native.setCacheLimit(n)); }
    else if (u < 0.9) { const n = pick([...WEIRD, garbage()]); attempt('setLimit ' + show(n), () => native.setLimit(n)); native.setLimit(LIMIT); }
    else if (u < 0.92) {
      // a fresh buffer of any size, read or viewed whole before anything was written to it
      const n = pick([...WEIRD, ri(5000)]);
      attempt('alloc+read ' + show(n), () => { const id = native.alloc(n); live.push(id); size.set(id, n); return r() < 0.5 ? native.read(id, 0, n) : native.hostView(id); });
    }
    else if (u < 0.95) attempt('memory/info/synchronize', () => { native.memory(); native.info(); native.synchronize(); native.resetPeak(); });
    else { const g = garbage(); attempt('alloc/read/free garbage ' + show(g), () => native.read(g, g, g)); }
  }
}
await Promise.all(pending);
native.setNumThreads(0);
say('SUMMARY ' + JSON.stringify({ calls, ok, threw, skipped }));
`;
}

describe('the native addon survives malformed input (child process)', () => {
  const ITERATIONS: Record<string, number> = { commands: 15000, async: 5000, buffers: 8000 };
  it.each(Object.keys(ITERATIONS))('random %s calls return or throw an Error, and the process exits 0', (kind) => {
    const res = spawnSync(process.execPath, ['--import', TSX, '--input-type=module', '-e', childScript(kind, SEED, ITERATIONS[kind])], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000, // a hang (a kernel spinning on a huge zero-stride view) fails as SIGTERM
      maxBuffer: 256 * 2 ** 20,
      env: { ...process.env, KILN_NUM_THREADS: '2' },
    });
    const lines = `${res.stdout ?? ''}${res.stderr ?? ''}`.trimEnd().split('\n');
    const tail = `child ${kind}: status ${res.status}, signal ${res.signal}\nlast lines:\n${lines.slice(-25).join('\n')}`;
    expect(res.error, tail).toBeUndefined();
    expect(res.signal, tail).toBeNull();
    expect(res.status, tail).toBe(0);
    const summary = JSON.parse(lines.find((l) => l.startsWith('SUMMARY '))!.slice(8)) as { calls: number; ok: number; threw: number; skipped: number };
    expect(summary.calls + summary.skipped).toBeGreaterThanOrEqual(ITERATIONS[kind]);
    expect(summary.ok, 'some calls must get through validation and run').toBeGreaterThan(0);
    expect(summary.threw, 'malformed calls must be rejected').toBeGreaterThan(0);
  });
});
