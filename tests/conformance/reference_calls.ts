// The numpy model at the level of a user's call (what tests/fuzz.test.ts checks random programs
// against): which arguments are valid, what a call returns, and how far each element of the result
// may legitimately be from the reference value. Element values come from reference.ts (one
// definition of every op's semantics); this file adds the argument rules (an invalid call must
// throw `[op] ...`) and per-element uncertainty: `err` bounds how far an implementation may be from
// the value (0 where IEEE rounding pins it down), Infinity marks an element the model cannot
// predict (skipped, and so is everything computed from it). Like reference.ts it imports nothing
// from the library.
import { Float16Array } from '@petamoriken/float16';
import {
  DTYPES,
  EPS as FLOAT_EPS,
  RefTypeError,
  binaryDTypes,
  binaryVal,
  broadcastShapes,
  broadcastToRef,
  computeRound,
  floatFor,
  is64,
  isFloat,
  matmulRef,
  promote,
  reduceRef,
  scalarDType,
  sizeOf,
  sliceIndices,
  sliceRef,
  sumDType,
  transposeRef,
  unaryDType,
  unaryVal,
  weakPromote,
  wrapInt,
  type DType,
  type RArray,
  type Val,
} from './reference.js';

/** Results bigger than this are checked for shape and dtype only (and never evaluated). */
export const MAXN = 4096;

// ---- casts and tolerances ------------------------------------------------------------------

const ulp = (d: DType): number => (isFloat(d) ? FLOAT_EPS[d as keyof typeof FLOAT_EPS] : 0);
const ATOL: Partial<Record<DType, number>> = { float16: 2 ** -23, bfloat16: 1e-38, float32: 1e-44, float64: 1e-320 };
const MAXF: Partial<Record<DType, number>> = { float16: 65504, bfloat16: 3.3895e38, float32: 3.4028234e38, float64: Number.MAX_VALUE };

/** A Val as a JS number, or null where JS cannot hold it exactly (a 64-bit integer past 2^53). */
function numOrNull(v: Val): number | null {
  const n = Number(v);
  return typeof v === 'bigint' && !Number.isSafeInteger(n) ? null : n;
}
const toVal = (v: number, d: DType): Val => (is64(d) ? BigInt(v) : v);

/**
 * The value `v` stored as dtype `to` (floats rounded through float32, as a C cast from double
 * is); null where numpy leaves it undefined (NaN/inf/out of range to an integer) or JS can't hold it.
 */
export function cast(v: number, to: DType): number | null {
  if (to === 'bool') return v !== 0 ? 1 : 0;
  if (isFloat(to)) return computeRound(to, v);
  if (!Number.isFinite(v)) return null;
  const t = Math.trunc(v);
  if (Math.abs(t) >= 2 ** 63) return null;
  return numOrNull(wrapInt(to, BigInt(t)));
}

/** The distance allowed between a result and a reference value `v` carrying the error `err`. */
export const tol = (v: number, err: number, d: DType): number => 4 * err + 2 * ulp(d) * Math.abs(v) + (ATOL[d] ?? 0);

/** Whether `a` (the library's element) matches the reference value `e` with error `err`. */
export function close(a: number, e: number, err: number, d: DType): boolean {
  if (!isFloat(d)) return a === e;
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (a === e) return true;
  if (Number.isNaN(a)) return false;
  // rounding near the top of the range may overflow in one implementation and not the other
  if (!Number.isFinite(a) || !Number.isFinite(e)) {
    const fin = Number.isFinite(a) ? a : e,
      inf = Number.isFinite(a) ? e : a;
    return Number.isFinite(fin) && Math.sign(fin) === Math.sign(inf) && Math.abs(fin) + tol(fin, err, d) >= MAXF[d]! * (1 - 4 * ulp(d));
  }
  return Math.abs(a - e) <= tol(e, err, d);
}

// ---- arrays with uncertainty -----------------------------------------------------------------

export interface Ref {
  shape: number[];
  dtype: DType;
  /** row-major values (bool as 0/1); null when too big to compute */
  data: number[] | null;
  err: number[] | null;
}

/** The model says the call is invalid: the library must throw `[op] ...`. */
export class Invalid {
  constructor(readonly why: string) {}
}
const invalid = (why: string): never => {
  throw new Invalid(why);
};
/** A call numpy rejects but the library may reasonably accept (then the ref value must hold). */
export interface Outcome {
  ref: Ref;
  lenient?: string;
}

const fmt = (s: readonly unknown[]): string => `[${s.join(', ')}]`;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Too big to compute here, or to read back: tolist() of [2**31, 0] is 2**31 empty lists. */
export function big(shape: readonly number[]): boolean {
  let lists = 0,
    prefix = 1;
  for (const d of shape) {
    prefix *= d;
    lists += prefix;
  }
  return sizeOf(shape) > MAXN || lists > 4 * MAXN;
}
const unknownRef = (shape: number[], dtype: DType): Ref => ({ shape, dtype, data: null, err: null });
const withShape = (src: Ref, shape: number[]): Ref => ({ ...src, shape });

/** Moves values and errors alike through one of reference.ts's index maps (views, broadcasts). */
function viewRef(a: Ref, shape: number[], f: (x: RArray) => RArray): Ref {
  if (big(shape) || !a.data) return unknownRef(shape, a.dtype);
  const d = f({ dtype: a.dtype, shape: a.shape, data: a.data });
  const e = f({ dtype: 'float64', shape: a.shape, data: a.err! });
  return { shape: d.shape, dtype: a.dtype, data: d.data as number[], err: e.data as number[] };
}
export const broadcastRef = (a: Ref, shape: number[]): Ref => viewRef(a, shape, (x) => broadcastToRef(x, shape));
export const permuteRef = (a: Ref, perm: number[]): Ref =>
  viewRef(
    a,
    perm.map((p) => a.shape[p]),
    (x) => transposeRef(x, perm),
  );

/** A Ref's values as reference.ts's array (64-bit integers as bigint). */
const asRArray = (a: Ref): RArray => ({ dtype: a.dtype, shape: a.shape, data: a.data!.map((v) => toVal(v, a.dtype)) });

/** Elementwise cast, marking values numpy leaves undefined (and uncertain inputs near a jump). */
function castRef(a: Ref, to: DType): Ref {
  if (a.dtype === to || !a.data) return { ...a, dtype: to, data: a.dtype === to ? a.data : null, err: a.dtype === to ? a.err : null };
  const data: number[] = [],
    err: number[] = [];
  a.data.forEach((v, i) => {
    const e = a.err![i];
    const c = cast(v, to);
    data.push(c ?? 0);
    if (c === null || !Number.isFinite(e)) err.push(Infinity);
    else if (e === 0) err.push(0);
    else if (isFloat(to)) err.push(e + ulp(to) * Math.abs(c));
    else {
      // an uncertain float lands on a definite integer/bool only away from the jumps
      const t = tol(v, e, a.dtype);
      const lo = cast(v - t, to),
        hi = cast(v + t, to);
      const safe = to === 'bool' ? Math.abs(v) > t : lo !== null && hi !== null && Math.trunc(v - t) === Math.trunc(v + t);
      err.push(safe ? 0 : Infinity);
    }
  });
  return { shape: a.shape, dtype: to, data, err };
}

/** Float results: an uncertain value that is non-finite or near overflow is unpredictable. */
function settle(r: Ref): Ref {
  if (!r.data || !isFloat(r.dtype)) return r;
  r.data.forEach((v, i) => {
    const e = r.err![i];
    if (e > 0 && (!Number.isFinite(v) || !Number.isFinite(e) || Math.abs(v) + tol(v, e, r.dtype) >= MAXF[r.dtype]!)) r.err![i] = Infinity;
  });
  return r;
}

// ---- operands ----------------------------------------------------------------------------------

type Scalar = number | boolean | bigint;
export const isScalar = (v: unknown): v is Scalar => typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint';

/** An operand of a call: an array the model already knows, or any JS value passed as is. */
export type Operand = { kind: 'arr'; ref: Ref } | { kind: 'js'; v: unknown };

function scalarRef(v: Scalar, dt: DType): Ref {
  const n = typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
  const c = cast(n, dt);
  return { shape: [], dtype: dt, data: [c ?? 0], err: [c === null ? Infinity : 0] };
}

function typedDType(v: ArrayBufferView): DType | undefined {
  if (v instanceof Float16Array) return 'float16';
  const table: [new (...a: never[]) => unknown, DType][] = [
    [Float32Array, 'float32'],
    [Float64Array, 'float64'],
    [Int32Array, 'int32'],
    [Int16Array, 'int16'],
    [Int8Array, 'int8'],
    [Uint8Array, 'uint8'],
    [Uint8ClampedArray, 'uint8'],
    [Uint16Array, 'uint16'],
    [Uint32Array, 'uint32'],
    [BigInt64Array, 'int64'],
    [BigUint64Array, 'uint64'],
  ];
  return table.find(([C]) => v instanceof C)?.[1];
}

/** What `asArray(v)` gives (kn.array's inference for JS data), or Invalid. */
export function refAsArray(x: Operand): Ref {
  if (x.kind === 'arr') return x.ref;
  const v = x.v;
  if (isScalar(v)) return scalarRef(v, scalarDType(v));
  // @petamoriken's Float16Array is a class of its own, not an ArrayBuffer view
  if ((ArrayBuffer.isView(v) && !(v instanceof DataView)) || v instanceof Float16Array) {
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
  const sa = a.kind === 'js' && isScalar(a.v),
    sb = b.kind === 'js' && isScalar(b.v);
  if (sa && sb) return promote(scalarDType((a as { v: Scalar }).v), scalarDType((b as { v: Scalar }).v));
  if (sa) return weakPromote(refAsArray(b).dtype, (a as { v: Scalar }).v);
  if (sb) return weakPromote(refAsArray(a).dtype, (b as { v: Scalar }).v);
  return promote(refAsArray(a).dtype, refAsArray(b).dtype);
}
const operandAs = (x: Operand, dt: DType): Ref => (x.kind === 'js' && isScalar(x.v) ? scalarRef(x.v, dt) : castRef(refAsArray(x), dt));

/** reference.ts's dtype rules reject the call: an invalid call at this level. */
function dtypesOrInvalid<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RefTypeError) invalid(e.message);
    throw e;
  }
}

// ---- elementwise --------------------------------------------------------------------------------

/** Broadcasts `ins` to one shape and maps f over the elements; f returns [value, err]. */
function elementwise(op: string, ins: Ref[], outDType: DType, f: (v: number[], e: number[]) => [number, number]): Ref {
  const shape = broadcastShapes(...ins.map((r) => r.shape)) ?? invalid(`${op}: shapes do not broadcast`);
  if (big(shape) || ins.some((r) => !r.data)) return unknownRef(shape, outDType);
  const bs = ins.map((r) => broadcastRef(r, shape));
  const n = sizeOf(shape),
    data: number[] = [],
    err: number[] = [];
  for (let i = 0; i < n; i++) {
    const ev = bs.map((b) => b.err![i]);
    if (ev.some((e) => !Number.isFinite(e))) {
      data.push(0);
      err.push(Infinity);
      continue;
    }
    const [v, e] = f(
      bs.map((b) => b.data![i]),
      ev,
    );
    data.push(v);
    err.push(e);
  }
  return settle({ shape, dtype: outDType, data, err });
}

/** kn.add / subtract / multiply / divide / maximum / less (any binary op of reference.ts). */
export function binaryCall(op: string, a: Operand, b: Operand): Ref {
  const dt = meetDType(a, b);
  const [cd, out] = dtypesOrInvalid(() => binaryDTypes(op, dt));
  const x = operandAs(a, cd),
    y = operandAs(b, cd);
  return elementwise(op, [x, y], out, ([p, q], [ep, eq]) => {
    const v = numOrNull(binaryVal(op, cd, toVal(p, cd), toVal(q, cd)));
    if (v === null) return [0, Infinity];
    if ((ep === 0 && eq === 0) || !isFloat(out)) {
      // a comparison of uncertain values is unpredictable only near equality
      if (out === 'bool' && isFloat(cd) && (ep > 0 || eq > 0) && Math.abs(p - q) <= tol(p, ep, cd) + tol(q, eq, cd)) return [0, Infinity];
      return [v, 0];
    }
    let e: number;
    switch (op) {
      case 'add':
      case 'subtract':
        e = ep + eq;
        break;
      case 'multiply':
        e = Math.abs(p) * eq + Math.abs(q) * ep + ep * eq;
        break;
      case 'divide':
        e = Math.abs(q) > 4 * eq ? (ep + Math.abs(v) * eq) / (Math.abs(q) - eq) : Infinity;
        break;
      case 'maximum':
      case 'minimum':
        e = Math.max(ep, eq);
        break;
      default:
        e = Infinity; // no error model for this op yet
    }
    return [v, e + ulp(out) * Math.abs(v)];
  });
}

/** kn.where(cond, x, y). */
export function whereCall(c: Operand, a: Operand, b: Operand): Ref {
  const cond = castRef(c.kind === 'js' && isScalar(c.v) ? scalarRef(c.v, 'bool') : refAsArray(c), 'bool');
  const dt = meetDType(a, b);
  const x = operandAs(a, dt),
    y = operandAs(b, dt);
  return elementwise('where', [cond, x, y], dt, ([k, p, q], [, ep, eq]) => (k ? [p, ep] : [q, eq]));
}

/** How an input error grows through exp, log and sqrt (other unary ops carry it unchanged). */
const UNARY_ERR: Record<string, (v: number, p: number, ep: number, u: number) => number> = {
  exp: (v, _p, ep, u) => Math.abs(v) * ep + 2 * u,
  log: (_v, p, ep, u) => (ep === 0 ? 0 : ep / Math.abs(p)) + 2 * u,
  sqrt: (_v, p, ep, u) => (ep === 0 ? 0 : ep / (2 * Math.sqrt(p)) + u),
};

/** kn.exp / log / sqrt / negative / abs. */
export function unaryCall(op: string, a: Operand): Ref {
  const x = refAsArray(a);
  const d = x.dtype;
  const out = dtypesOrInvalid(() => unaryDType(op, d));
  if (d === out && d === 'bool') return x; // abs of bool is the identity
  const xc = castRef(x, out);
  return elementwise(op, [xc], out, ([p], [ep]) => {
    const v = numOrNull(unaryVal(op, toVal(p, out), out, out));
    if (v === null) return [0, Infinity];
    const grow = UNARY_ERR[op];
    return [v, grow ? grow(v, p, ep, ulp(out) * Math.abs(v)) : ep];
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
export const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
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

/** Per output element, the values and errors it reduces (the reduced axes moved last). */
function runs(x: Ref, axes: number[]): { vals: number[][]; errs: number[][] } {
  const kept = range(x.shape.length).filter((i) => !axes.includes(i));
  const moved = permuteRef(x, [...kept, ...axes]);
  const n = sizeOf(axes.map((i) => x.shape[i])),
    m = sizeOf(kept.map((i) => x.shape[i]));
  const vals = range(m).map((o) => moved.data!.slice(o * n, o * n + n));
  const errs = range(m).map((o) => moved.err!.slice(o * n, o * n + n));
  return { vals, errs };
}

/** kn.sum / max / mean: values from reference.ts's reduceRef, errors from the inputs'. */
export function reduceCall(op: 'sum' | 'max' | 'mean', a: Operand, axisArg: unknown, opts: unknown): Outcome {
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
  const finalShape = keepdims ? x0.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : outShape0;
  if (!x.data || big(x0.shape) || big(finalShape)) return { ref: unknownRef(finalShape, outDType), lenient };
  const value = reduceRef(op, asRArray(x), axes, false).data;
  const { vals, errs } = runs(x, axes);
  const data: number[] = [],
    err: number[] = [];
  vals.forEach((vs, o) => {
    const es = errs[o];
    const r = numOrNull(value[o]);
    if (r === null || es.some((e) => !Number.isFinite(e))) {
      data.push(0);
      err.push(Infinity);
    } else if (op === 'max' || !isFloat(acc)) {
      data.push(r);
      err.push(Math.max(0, ...es));
    } else {
      const n = vs.length;
      const sumAbs = vs.reduce((s, v) => s + Math.abs(v), 0),
        sumErr = es.reduce((s, e) => s + e, 0);
      const v = cast(r, outDType)!;
      const scale = op === 'mean' ? Math.max(n, 1) : 1;
      data.push(v);
      err.push(n === 0 ? 0 : ((n + 2) * ulp(acc) * sumAbs + sumErr) / scale + ulp(outDType) * Math.abs(v));
    }
  });
  return { ref: settle({ shape: finalShape, dtype: outDType, data, err }), lenient };
}

/** kn.argmax: the index from reduceRef; unknown where an uncertain value could tie the best. */
export function argmaxCall(a: Operand, axisArg: unknown, opts: unknown): Outcome {
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
  let flat: Ref, axis: number, finalShape: number[];
  let lenient = kdLenient;
  if (ax === undefined || ax === null) {
    if (sizeOf(x.shape) === 0) invalid('argmax of an empty array');
    flat = withShape(x, [sizeOf(x.shape)]);
    axis = 0;
    finalShape = keepdims ? x.shape.map(() => 1) : [];
  } else {
    axis = normAxis(ax, nd);
    flat = x;
    const outShape = x.shape.filter((_, k) => k !== axis);
    if (x.shape[axis] === 0) {
      if (sizeOf(outShape) > 0) invalid('argmax of an empty axis');
      lenient = 'numpy rejects argmax over an empty axis even when the result is empty';
    }
    finalShape = keepdims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : outShape;
  }
  if (!x.data || big(flat.shape)) return { ref: unknownRef(finalShape, 'int32'), lenient };
  const best = reduceRef('argmax', asRArray(flat), axis, false).data as number[];
  const { vals, errs } = runs(flat, [axis]);
  const err = vals.map((vs, o) => {
    const es = errs[o],
      b = best[o];
    const uncertain =
      es.some((e) => !Number.isFinite(e)) ||
      (es.some((e) => e > 0) && vs.some((v, k) => k !== b && (Number.isNaN(v) || Math.abs(v - vs[b]) <= tol(v, es[k], x.dtype) + tol(vs[b], es[b], x.dtype))));
    return uncertain ? Infinity : 0;
  });
  return { ref: { shape: finalShape, dtype: 'int32', data: best, err }, lenient };
}

// ---- views and the rest -------------------------------------------------------------------------

/** kn.reshape(a, shape) / a.reshape(...dims). */
export function reshapeCall(a: Operand, arg: unknown, method: boolean): Ref {
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

/** kn.transpose(a, axes?) / a.transpose(...axes). */
export function transposeCall(a: Operand, arg: unknown, method: boolean): Outcome {
  const x = refAsArray(a);
  const nd = x.shape.length;
  if (arg === undefined) return { ref: permuteRef(x, range(nd).reverse()) };
  if (method && !Array.isArray(arg)) arg = [arg];
  if (arg === null) return { ref: permuteRef(x, range(nd).reverse()), lenient: 'numpy reads axes=None as reversed' };
  if (!Array.isArray(arg) || arg.length !== nd) invalid('axes do not match the dimensions');
  return { ref: permuteRef(x, normAxes(arg, nd)) };
}

/** kn.slice(a, [{start, stop, step}, ...]) with Python's slice rules. */
export function sliceCall(a: Operand, specs: unknown): Ref {
  const x = refAsArray(a);
  if (!Array.isArray(specs)) invalid('specs must be a list');
  const list = specs as unknown[];
  if (list.length > x.shape.length) invalid('too many slices');
  const checked = x.shape.map((_, i) => {
    const s = list[i];
    if (s === undefined || s === null) return {};
    if (!isPlainObject(s)) return invalid('a slice spec must be an object {start, stop, step}');
    const bound = (v: unknown): number | null => {
      if (v === undefined || v === null) return null;
      if (typeof v !== 'number' || !Number.isInteger(v)) invalid('slice bounds must be integers');
      return v as number;
    };
    const step = s.step === undefined || s.step === null ? 1 : s.step;
    if (typeof step !== 'number' || !Number.isInteger(step) || step === 0) invalid('bad step');
    return { start: bound(s.start), stop: bound(s.stop), step: step as number };
  });
  const shape = x.shape.map((dim, i) => sliceIndices(checked[i], dim)[1]);
  return viewRef(x, shape, (r) => sliceRef(r, checked));
}

/** kn.broadcastTo(a, shape). */
export function broadcastToCall(a: Operand, arg: unknown): Ref {
  const x = refAsArray(a);
  const s = typeof arg === 'number' ? [arg] : arg;
  if (!Array.isArray(s)) invalid('shape must be a list');
  for (const d of s as unknown[]) if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) invalid('bad dim');
  const shape = s as number[];
  if (shape.length > 32 || sizeOf(shape) > Number.MAX_SAFE_INTEGER) invalid('shape too large');
  const b = broadcastShapes(x.shape, shape);
  if (!b || fmt(b) !== fmt(shape)) invalid('cannot broadcast');
  return broadcastRef(x, shape);
}

/** kn.expandDims(a, axis | axes). */
export function expandDimsCall(a: Operand, arg: unknown): Ref {
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

/** kn.squeeze(a, axis?). */
export function squeezeCall(a: Operand, arg: unknown): Ref {
  const x = refAsArray(a);
  let axes: number[];
  if (arg === undefined || arg === null) axes = range(x.shape.length).filter((i) => x.shape[i] === 1);
  else {
    axes = normAxes(arg, x.shape.length);
    if (axes.some((i) => x.shape[i] !== 1)) invalid('squeezed axis is not of size 1');
  }
  return withShape(
    x,
    x.shape.filter((_, i) => !axes.includes(i)),
  );
}

/** kn.astype(a, dtype). */
export function astypeCall(a: Operand, dt: unknown): Ref {
  const x = refAsArray(a);
  if (typeof dt !== 'string' || !(DTYPES as readonly string[]).includes(dt)) invalid('unknown dtype');
  return castRef(x, dt as DType);
}

/** kn.matmul: values from reference.ts's matmulRef; errors by the same products of |x|, |y| and errors. */
export function matmulCall(a: Operand, b: Operand): Ref {
  const x0 = refAsArray(a),
    y0 = refAsArray(b);
  if (x0.shape.length === 0 || y0.shape.length === 0) invalid('0-d operand');
  const dt = promote(x0.dtype, y0.dtype);
  if (dt === 'bool') invalid('bool matmul');
  const xVec = x0.shape.length === 1,
    yVec = y0.shape.length === 1;
  const xs = xVec ? [1, x0.shape[0]] : x0.shape,
    ys = yVec ? [y0.shape[0], 1] : y0.shape;
  const [m, k] = xs.slice(-2),
    [k2, n] = ys.slice(-2);
  if (k !== k2) invalid('inner dimensions differ');
  const batch = broadcastShapes(xs.slice(0, -2), ys.slice(0, -2)) ?? invalid('batch dims do not broadcast');
  const final = [...batch, ...(xVec ? [] : [m]), ...(yVec ? [] : [n])];
  const x = castRef(x0, dt),
    y = castRef(y0, dt);
  if (big([...batch, m, n]) || big([...batch, m, k]) || big([...batch, k, n]) || !x.data || !y.data) return unknownRef(final, dt);
  const value = matmulRef(asRArray(x), asRArray(y)).data;
  // error terms as float64 matmuls: sum|p q| and sum(|p| eq + ep |q| + ep eq); an unknown input gives a non-finite sum
  const f64 = (r: Ref, data: number[]): RArray => ({ dtype: 'float64', shape: r.shape, data });
  const mm = (p: RArray, q: RArray) => matmulRef(p, q).data as number[];
  const ax = f64(x, x.data.map(Math.abs)),
    ay = f64(y, y.data.map(Math.abs)),
    ex = f64(x, x.err!),
    ey = f64(y, y.err!);
  const sAbs = mm(ax, ay),
    e1 = mm(ax, ey),
    e2 = mm(ex, ay),
    e3 = mm(ex, ey);
  const data: number[] = [],
    err: number[] = [];
  value.forEach((val, i) => {
    const r = numOrNull(val);
    const sErr = e1[i] + e2[i] + e3[i];
    if (r === null || !Number.isFinite(sErr)) {
      data.push(r ?? 0);
      err.push(Infinity);
    } else if (isFloat(dt)) {
      const v = cast(r, dt)!;
      data.push(v);
      err.push((k + 2) * ulp(dt) * sAbs[i] + sErr + ulp(dt) * Math.abs(v));
    } else {
      data.push(r);
      err.push(0);
    }
  });
  return settle({ shape: final, dtype: dt, data, err });
}
