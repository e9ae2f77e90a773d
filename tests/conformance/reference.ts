// Plain TypeScript reference for the kernel conformance suite (DESIGN.md §5). It works on flat
// row-major JS values plus a shape and follows numpy's scalar semantics, with kiln's (MLX's)
// dtype rules. It deliberately imports nothing from the library so it can act as an arbiter.
import { f16round } from '@petamoriken/float16';

// ---- dtypes -------------------------------------------------------------------------------

export const DTYPES = ['bool', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64'] as const;
export type DType = (typeof DTYPES)[number];

/** A value: bigint for int64/uint64, 0/1 for bool, a number (exact in the dtype) otherwise. */
export type Val = number | bigint;

export interface RArray {
  dtype: DType;
  shape: number[];
  data: Val[];
  /** optional per-element absolute error allowance (accumulating ops: sum, mean, matmul) */
  err?: number[];
}

const BITS: Record<DType, number> = {
  bool: 8,
  uint8: 8,
  uint16: 16,
  uint32: 32,
  uint64: 64,
  int8: 8,
  int16: 16,
  int32: 32,
  int64: 64,
  float16: 16,
  bfloat16: 16,
  float32: 32,
  float64: 64,
};
export const itemsize = (d: DType): number => BITS[d] / 8;
export const bits = (d: DType): number => BITS[d];
export const isFloat = (d: DType): boolean => d === 'float16' || d === 'bfloat16' || d === 'float32' || d === 'float64';
export const isUnsigned = (d: DType): boolean => d === 'uint8' || d === 'uint16' || d === 'uint32' || d === 'uint64';
export const isSigned = (d: DType): boolean => d === 'int8' || d === 'int16' || d === 'int32' || d === 'int64';
export const isInt = (d: DType): boolean => isUnsigned(d) || isSigned(d);
export const is64 = (d: DType): boolean => d === 'int64' || d === 'uint64';

export function intMin(d: DType): bigint {
  return isSigned(d) ? -(1n << BigInt(bits(d) - 1)) : 0n;
}
export function intMax(d: DType): bigint {
  return isSigned(d) ? (1n << BigInt(bits(d) - 1)) - 1n : (1n << BigInt(bits(d))) - 1n;
}

/** Machine epsilon of a float dtype (spacing of values just above 1). */
export const EPS: Record<'float16' | 'bfloat16' | 'float32' | 'float64', number> = {
  float16: 2 ** -10,
  bfloat16: 2 ** -7,
  float32: 2 ** -23,
  float64: 2 ** -52,
};

// ---- rounding -----------------------------------------------------------------------------

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** Round to bfloat16: round the float32 bit pattern to its top 16 bits, nearest-even. */
export function bf16round(x: number): number {
  f32buf[0] = x;
  const b = u32buf[0];
  if (Number.isNaN(f32buf[0])) return NaN;
  const r = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  u32buf[0] = r << 16;
  return f32buf[0];
}

/** Rounds a double to the nearest value of float dtype `d` (float16 directly, as numpy does). */
export function roundTo(d: DType, x: number): number {
  switch (d) {
    case 'float64':
      return x;
    case 'float32':
      return Math.fround(x);
    case 'float16':
      return f16round(x);
    case 'bfloat16':
      return bf16round(x);
    default:
      throw new Error(`roundTo: ${d} is not a float dtype`);
  }
}

/**
 * Rounds the double result of an operation computed the way numpy/kiln compute `d`: float16 and
 * bfloat16 compute in float32 and round the float32 result (the double rounding is intended).
 */
export function computeRound(d: DType, x: number): number {
  if (d === 'float16' || d === 'bfloat16') return roundTo(d, Math.fround(x));
  return roundTo(d, x);
}

/** Rounding of one step of float arithmetic in the compute type of `d` (float32 for 16-bit). */
const stepRound = (d: DType): ((x: number) => number) => (d === 'float64' ? (x) => x : Math.fround);

export const toBig = (v: Val): bigint => (typeof v === 'bigint' ? v : BigInt(v));
export const toNum = (v: Val): number => (typeof v === 'bigint' ? Number(v) : v);

/** Wraps an exact integer into dtype `d` (two's complement), as a Val of that dtype. */
export function wrapInt(d: DType, v: bigint): Val {
  const r = isSigned(d) ? BigInt.asIntN(bits(d), v) : BigInt.asUintN(bits(d), v);
  return is64(d) ? r : Number(r);
}

/** wrapInt for a dtype of at most 32 bits and an exact integer |x| < 2^53 (fast path). */
export function wrapNum(d: DType, x: number): number {
  const m = 2 ** bits(d);
  let r = x % m;
  if (r < 0) r += m;
  if (isSigned(d) && r >= m / 2) r -= m;
  return r + 0; // no -0
}

const TWO63 = 2 ** 63,
  TWO64 = 2 ** 64;

/**
 * numpy's astype for one value. Float to integer truncates toward zero and wraps like the C
 * cast on x86 (numpy's behaviour for values inside the int64 range; NaN/inf/out of range are
 * undefined in numpy, here they give kiln's documented fixed results).
 */
export function castVal(v: Val, from: DType, to: DType): Val {
  if (to === 'bool') return typeof v === 'bigint' ? (v !== 0n ? 1 : 0) : v !== 0 ? 1 : 0;
  if (isFloat(to)) {
    const x = toNum(v);
    // kiln converts through float32 for the 16-bit types; numpy rounds float64 -> float16 directly
    return roundTo(to, x);
  }
  // integer target
  if (isFloat(from)) {
    const x = v as number;
    if (Number.isNaN(x)) return wrapInt(to, 0n);
    if (isSigned(to)) {
      if (x >= TWO63 || x < -TWO63) return wrapInt(to, intMin(to));
    } else if (x >= TWO64 || x <= -TWO63) return wrapInt(to, 0n);
    return wrapInt(to, BigInt(Math.trunc(x)));
  }
  if (typeof v === 'number' && !is64(to)) return wrapNum(to, v);
  return wrapInt(to, toBig(v));
}

export function castArray(a: RArray, to: DType): RArray {
  if (a.dtype === to) return a;
  return { dtype: to, shape: a.shape.slice(), data: a.data.map((v) => castVal(v, a.dtype, to)) };
}

/** A JS scalar as the 0-d operand kiln makes of it (the fill kernel: a cast from a double). */
export function scalarVal(x: number | boolean, d: DType): Val {
  const v = typeof x === 'boolean' ? (x ? 1 : 0) : x;
  return castVal(v, 'float64', d);
}

// ---- promotion (MLX's table: numpy-like, uint64 with a signed int -> float32, f16+bf16 -> f32)

const KIND_RANK = (d: DType): number => (d === 'bool' ? 0 : isInt(d) ? 1 : 2);

export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  const ka = KIND_RANK(a),
    kb = KIND_RANK(b);
  if (ka !== kb) return ka > kb ? a : b; // bool < int < float; an int meeting a float takes the float
  if (ka === 2) {
    const order: DType[] = ['float16', 'bfloat16', 'float32', 'float64'];
    if ((a === 'float16' && b === 'bfloat16') || (a === 'bfloat16' && b === 'float16')) return 'float32';
    return order.indexOf(a) > order.indexOf(b) ? a : b;
  }
  const sa = isSigned(a),
    sb = isSigned(b);
  if (sa === sb) return bits(a) >= bits(b) ? a : b;
  const [u, s] = sa ? [b, a] : [a, b];
  if (bits(s) > bits(u)) return s;
  const wider: Record<number, DType> = { 8: 'int16', 16: 'int32', 32: 'int64' };
  return wider[bits(u)] ?? 'float32';
}

// a JS whole number (or bigint) an integer dtype holds: [min, max] by dtype, in bigints
const INT_BOUNDS: Partial<Record<DType, [bigint, bigint]>> = {
  int8: [-128n, 127n],
  uint8: [0n, 255n],
  int16: [-32768n, 32767n],
  uint16: [0n, 65535n],
  int32: [-2147483648n, 2147483647n],
  uint32: [0n, 4294967295n],
  int64: [-9223372036854775808n, 9223372036854775807n],
  uint64: [0n, 18446744073709551615n],
};
const holds = (d: DType, x: number | bigint): boolean => {
  const b = INT_BOUNDS[d];
  const v = typeof x === 'bigint' ? x : BigInt(x);
  return b !== undefined && v >= b[0] && v <= b[1];
};

/** Weak JS scalar meeting an array of dtype `d` (MLX / NEP 50): the array's dtype where it holds the value, else both promote. */
export function weakPromote(d: DType, x: number | boolean | bigint): DType {
  if (typeof x === 'boolean' || isFloat(d)) return d;
  if (typeof x === 'bigint' || Number.isInteger(x)) {
    if (d !== 'bool' && holds(d, x)) return d;
    const own = Object.is(x, -0) ? 'int32' : scalarDType(x);
    return d === 'bool' ? own : promote(d, own);
  }
  return 'float32';
}

export const floatFor = (d: DType): DType => (isFloat(d) ? d : 'float32');

// ---- shapes and strided index math ---------------------------------------------------------

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

/** Element `data[offset + sum(i_k * strides[k])]` for every index of `shape`, row-major. */
export function gather<T>(data: readonly T[], shape: readonly number[], strides: readonly number[], offset: number): T[] {
  const n = sizeOf(shape);
  const out = new Array<T>(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let p = offset;
    for (let d = 0; d < shape.length; d++) p += idx[d] * strides[d];
    if (p < 0 || p >= data.length) throw new Error(`gather: index ${p} outside 0..${data.length - 1}`);
    out[k] = data[p];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

export function make(dtype: DType, shape: readonly number[], data: Val[]): RArray {
  if (data.length !== sizeOf(shape)) throw new Error(`make: ${data.length} values for shape [${shape}]`);
  return { dtype, shape: shape.slice(), data };
}

export function reshapeRef(a: RArray, shape: readonly number[]): RArray {
  let s = shape.slice();
  const unknown = s.indexOf(-1);
  if (unknown >= 0) s[unknown] = sizeOf(a.shape) / sizeOf(s.filter((d) => d !== -1));
  if (sizeOf(s) !== sizeOf(a.shape)) throw new Error(`reshapeRef: size mismatch`);
  return { dtype: a.dtype, shape: s, data: a.data.slice() };
}

export function transposeRef(a: RArray, perm?: readonly number[]): RArray {
  const nd = a.shape.length;
  const p = perm ? perm.map((x) => (x < 0 ? x + nd : x)) : Array.from({ length: nd }, (_, i) => nd - 1 - i);
  const st = contiguousStrides(a.shape);
  const shape = p.map((i) => a.shape[i]);
  return {
    dtype: a.dtype,
    shape,
    data: gather(
      a.data,
      shape,
      p.map((i) => st[i]),
      0,
    ),
  };
}

export interface SliceSpec {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/** Python's slice.indices: [start, length, step] for one axis of size `dim`. */
export function sliceIndices(s: SliceSpec, dim: number): [number, number, number] {
  const step = s.step ?? 1;
  if (step === 0) throw new Error('slice step 0');
  const lower = step < 0 ? -1 : 0,
    upper = step < 0 ? dim - 1 : dim;
  const clamp = (v: number | null | undefined, dflt: number): number => {
    if (v === null || v === undefined) return dflt;
    if (v < 0) return Math.max(v + dim, lower);
    return Math.min(v, upper);
  };
  const start = clamp(s.start, step < 0 ? upper : lower);
  const stop = clamp(s.stop, step < 0 ? lower : upper);
  let len = 0;
  if (step > 0 && stop > start) len = Math.floor((stop - start - 1) / step) + 1;
  if (step < 0 && stop < start) len = Math.floor((start - stop - 1) / -step) + 1;
  return [start, len, step];
}

export function sliceRef(a: RArray, specs: readonly SliceSpec[]): RArray {
  const st = contiguousStrides(a.shape);
  let offset = 0;
  const shape: number[] = [],
    strides: number[] = [];
  a.shape.forEach((dim, i) => {
    const [start, len, step] = sliceIndices(specs[i] ?? {}, dim);
    shape.push(len);
    strides.push(st[i] * step);
    if (len > 0) offset += start * st[i];
  });
  if (sizeOf(shape) === 0) return { dtype: a.dtype, shape, data: [] };
  return { dtype: a.dtype, shape, data: gather(a.data, shape, strides, offset) };
}

export function broadcastShapes(...shapes: (readonly number[])[]): number[] | null {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = nd - s.length + i;
      if (s[i] === out[o] || s[i] === 1) continue;
      if (out[o] === 1) out[o] = s[i];
      else return null;
    }
  }
  return out;
}

export function broadcastToRef(a: RArray, shape: readonly number[]): RArray {
  const lead = shape.length - a.shape.length;
  if (lead < 0) throw new Error('broadcastToRef: fewer dims');
  const st = contiguousStrides(a.shape);
  const strides = shape.map((d, i) => {
    if (i < lead) return 0;
    const s = a.shape[i - lead];
    if (s === d) return st[i - lead];
    if (s === 1) return 0;
    throw new Error(`broadcastToRef: cannot broadcast [${a.shape}] to [${shape}]`);
  });
  return { dtype: a.dtype, shape: shape.slice(), data: sizeOf(shape) ? gather(a.data, shape, strides, 0) : [] };
}

/** numpy's as_strided over the row-major elements of `a` (strides and offset in elements). */
export function asStridedRef(a: RArray, shape: readonly number[], strides: readonly number[], offset = 0): RArray {
  return { dtype: a.dtype, shape: shape.slice(), data: sizeOf(shape) ? gather(a.data, shape, strides, offset) : [] };
}

// ---- special functions ----------------------------------------------------------------------

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** erfc for x >= 2 by its continued fraction (modified Lentz), accurate relative to erfc. */
function erfcLarge(x: number): number {
  let f = x,
    C = x,
    D = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    D = x + a * D;
    D = 1 / D;
    C = x + a / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** erf of |x| < 2 by the series 2/√π e^{-x²} Σ 2^n x^{2n+1}/(2n+1)!! (all terms positive). */
function erfSeries(ax: number): number {
  const x2 = ax * ax;
  let term = ax,
    sum = ax;
  for (let n = 1; n < 1000; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-18) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** erf to about an ulp (1 - erfc beyond 2, where erfc is computed directly). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === 0) return x;
  const ax = Math.abs(x);
  if (ax >= 6.5) return Math.sign(x);
  return Math.sign(x) * (ax < 2 ? erfSeries(ax) : 1 - erfcLarge(ax));
}

/** erfc(x) for x >= 0. */
function erfcPos(x: number): number {
  return x < 2 ? 1 - erfSeries(x) : erfcLarge(x);
}

/**
 * Inverse of erf: Giles' single-precision estimate refined by Newton steps on erf(x) - y, or on
 * erfc(x) - (1 - y) for y > 0.5 (1 - y is exact there), which keeps full accuracy near ±1.
 */
export function erfinv(y: number): number {
  if (Number.isNaN(y) || y < -1 || y > 1) return NaN;
  if (y === 1) return Infinity;
  if (y === -1) return -Infinity;
  if (y === 0) return y;
  const a = Math.abs(y);
  let w = -Math.log((1 - a) * (1 + a)),
    p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-8;
    for (const c of [3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]) p = c + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]) p = c + p * w;
  }
  let x = p * a;
  const q = 1 - a;
  for (let i = 0; i < 100; i++) {
    const d = TWO_OVER_SQRT_PI * Math.exp(-x * x);
    if (d === 0) break;
    // near 1, Newton on log(erfc(x)) = log(q) converges from far guesses (erfc is steep there)
    const e = a > 0.5 ? erfcPos(x) : 0;
    const step = a > 0.5 ? ((Math.log(e) - Math.log(q)) * e) / -d : (erfSeries(x) - a) / d;
    x -= step;
    if (Math.abs(step) <= Math.abs(x) * 1e-17) break;
  }
  return Math.sign(y) * x;
}

/** Round half to even, keeping -0 (numpy's rint). */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const f = Math.floor(x),
    d = x - f;
  let r: number;
  if (d > 0.5) r = f + 1;
  else if (d < 0.5) r = f;
  else r = f % 2 === 0 ? f : f + 1;
  return r === 0 && x < 0 ? -0 : r;
}

/** C's pow (numpy's power for floats): unlike Math.pow, pow(1, y) = 1 and pow(-1, ±inf) = 1. */
export function cpow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return Math.pow(x, y);
}

/**
 * numpy's npy_divmod (floor_divide and remainder for floats), each step rounded by `r`
 * (float32 arithmetic for float32, float16 and bfloat16; double for float64).
 */
export function npyDivmod(a: number, b: number, r: (x: number) => number): [number, number] {
  const mod0 = r(a % b); // fmod is exact
  if (b === 0) return [r(a / b), mod0];
  let mod = mod0;
  let div = r(r(a - mod) / b);
  if (mod !== 0) {
    if (b < 0 !== mod < 0) {
      mod = r(mod + b);
      div = r(div - 1);
    }
  } else mod = b < 0 ? -0 : 0;
  let floordiv: number;
  if (div !== 0) {
    floordiv = Math.floor(div);
    if (r(div - floordiv) > 0.5) floordiv = r(floordiv + 1);
  } else {
    const q = a / b;
    floordiv = q < 0 || Object.is(q, -0) ? -0 : 0;
  }
  return [floordiv, mod];
}

/** numpy's logaddexp. */
export function logaddexp(x: number, y: number): number {
  if (x === y) return x + Math.LN2;
  const t = x - y;
  if (t > 0) return x + Math.log1p(Math.exp(-t));
  if (t <= 0) return y + Math.log1p(Math.exp(t));
  return NaN;
}

// ---- unary ----------------------------------------------------------------------------------

export type UnaryKind = 'float' | 'numeric' | 'rounding' | 'predicate' | 'logical' | 'bitwise';
/** how far a correct kernel may be from the reference: exact, correctly-rounded-ish, libm-ish */
export type Accuracy = 'exact' | 'arith' | 'transcendental';

export interface UnaryDef {
  kind: UnaryKind;
  acc: Accuracy;
  f?: (x: number) => number; // float function, in double
}

const F = (f: (x: number) => number, acc: Accuracy = 'transcendental'): UnaryDef => ({ kind: 'float', acc, f });

export const UNARY: Record<string, UnaryDef> = {
  negative: { kind: 'numeric', acc: 'exact' },
  abs: { kind: 'numeric', acc: 'exact' },
  sign: { kind: 'numeric', acc: 'exact' },
  square: { kind: 'numeric', acc: 'arith' },
  exp: F(Math.exp),
  expm1: F(Math.expm1),
  log: F(Math.log),
  log1p: F(Math.log1p),
  log2: F(Math.log2),
  log10: F(Math.log10),
  sqrt: F(Math.sqrt, 'arith'),
  rsqrt: F((x) => 1 / Math.sqrt(x), 'arith'),
  reciprocal: F((x) => 1 / x, 'arith'),
  sin: F(Math.sin),
  cos: F(Math.cos),
  tan: F(Math.tan),
  arcsin: F(Math.asin),
  arccos: F(Math.acos),
  arctan: F(Math.atan),
  sinh: F(Math.sinh),
  cosh: F(Math.cosh),
  tanh: F(Math.tanh),
  arcsinh: F(Math.asinh),
  arccosh: F(Math.acosh),
  arctanh: F(Math.atanh),
  sigmoid: F((x) => 1 / (1 + Math.exp(-x))),
  erf: F(erf),
  erfinv: F(erfinv),
  floor: { kind: 'rounding', acc: 'exact', f: Math.floor },
  ceil: { kind: 'rounding', acc: 'exact', f: Math.ceil },
  trunc: { kind: 'rounding', acc: 'exact', f: Math.trunc },
  round: { kind: 'rounding', acc: 'exact', f: roundHalfEven },
  isnan: { kind: 'predicate', acc: 'exact', f: (x) => (Number.isNaN(x) ? 1 : 0) },
  isinf: { kind: 'predicate', acc: 'exact', f: (x) => (x === Infinity || x === -Infinity ? 1 : 0) },
  isfinite: { kind: 'predicate', acc: 'exact', f: (x) => (Number.isFinite(x) ? 1 : 0) },
  logicalNot: { kind: 'logical', acc: 'exact' },
  bitwiseInvert: { kind: 'bitwise', acc: 'exact' },
};

export class RefTypeError extends Error {}

/** Output dtype of a unary op (or a RefTypeError when kiln rejects the dtype). */
export function unaryDType(op: string, d: DType): DType {
  const def = UNARY[op];
  switch (def.kind) {
    case 'float':
      return floatFor(d);
    case 'rounding':
      return d;
    case 'numeric':
      if (d === 'bool' && op !== 'abs' && op !== 'square') throw new RefTypeError(`${op} of bool`);
      return d;
    case 'predicate':
    case 'logical':
      return 'bool';
    case 'bitwise':
      if (isFloat(d)) throw new RefTypeError(`${op} of ${d}`);
      return d;
  }
}

/** One element of a unary op: `v` of dtype `d` to the output dtype `out` (unaryDType). */
export function unaryVal(op: string, v: Val, d: DType, out: DType): Val {
  const def = UNARY[op];
  if (def.kind === 'float') {
    const x = toNum(castVal(v, d, out));
    return computeRound(out, def.f!(x));
  }
  if (def.kind === 'logical') return (typeof v === 'bigint' ? v === 0n : v === 0) ? 1 : 0;
  if (def.kind === 'predicate') return isFloat(d) ? def.f!(v as number) : op === 'isfinite' ? 1 : 0;
  if (def.kind === 'rounding') return isFloat(d) ? def.f!(v as number) : v;
  if (d === 'bool') {
    if (op === 'bitwiseInvert') return v ? 0 : 1;
    return v; // abs, square of bool: identity
  }
  if (isInt(d)) {
    const b = toBig(v);
    switch (op) {
      case 'negative':
        return wrapInt(d, -b);
      case 'abs':
        return wrapInt(d, b < 0n ? -b : b);
      case 'sign':
        return wrapInt(d, b > 0n ? 1n : b < 0n ? -1n : 0n);
      case 'square':
        return wrapInt(d, b * b);
      case 'bitwiseInvert':
        return wrapInt(d, ~b);
    }
  }
  const x = v as number;
  switch (op) {
    case 'negative':
      return -x;
    case 'abs':
      return Math.abs(x);
    case 'sign':
      return Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0;
    case 'square':
      return computeRound(d, x * x);
  }
  throw new Error(`unaryVal: ${op} on ${d}`);
}

export function unaryRef(op: string, a: RArray): RArray {
  const out = unaryDType(op, a.dtype);
  return { dtype: out, shape: a.shape.slice(), data: a.data.map((v) => unaryVal(op, v, a.dtype, out)) };
}

// ---- binary ---------------------------------------------------------------------------------

export type BinaryKind = 'arith' | 'closed' | 'float' | 'compare' | 'logical' | 'bitwise' | 'shift' | 'intdiv';

export const BINARY: Record<string, { kind: BinaryKind; acc: Accuracy }> = {
  add: { kind: 'closed', acc: 'arith' },
  subtract: { kind: 'arith', acc: 'arith' },
  multiply: { kind: 'closed', acc: 'arith' },
  divide: { kind: 'float', acc: 'arith' },
  power: { kind: 'arith', acc: 'transcendental' },
  maximum: { kind: 'closed', acc: 'exact' },
  minimum: { kind: 'closed', acc: 'exact' },
  remainder: { kind: 'intdiv', acc: 'arith' },
  floorDivide: { kind: 'intdiv', acc: 'arith' },
  equal: { kind: 'compare', acc: 'exact' },
  notEqual: { kind: 'compare', acc: 'exact' },
  less: { kind: 'compare', acc: 'exact' },
  lessEqual: { kind: 'compare', acc: 'exact' },
  greater: { kind: 'compare', acc: 'exact' },
  greaterEqual: { kind: 'compare', acc: 'exact' },
  logicalAnd: { kind: 'logical', acc: 'exact' },
  logicalOr: { kind: 'logical', acc: 'exact' },
  logicalXor: { kind: 'logical', acc: 'exact' },
  logaddexp: { kind: 'float', acc: 'transcendental' },
  arctan2: { kind: 'float', acc: 'transcendental' },
  bitwiseAnd: { kind: 'bitwise', acc: 'exact' },
  bitwiseOr: { kind: 'bitwise', acc: 'exact' },
  bitwiseXor: { kind: 'bitwise', acc: 'exact' },
  leftShift: { kind: 'shift', acc: 'exact' },
  rightShift: { kind: 'shift', acc: 'exact' },
};

/** [compute dtype, output dtype] of a binary op on operands promoted to `dt`. */
export function binaryDTypes(op: string, dt: DType): [DType, DType] {
  switch (BINARY[op].kind) {
    case 'float':
      return [floatFor(dt), floatFor(dt)];
    case 'compare':
    case 'logical':
      return [dt, 'bool'];
    case 'bitwise':
      if (isFloat(dt)) throw new RefTypeError(`${op} of ${dt}`);
      return [dt, dt];
    case 'shift':
      if (!isInt(dt)) throw new RefTypeError(`${op} of ${dt}`);
      return [dt, dt];
    case 'arith':
    case 'intdiv':
      if (dt === 'bool') {
        if (op === 'subtract') throw new RefTypeError('bool subtract');
        return ['int8', 'int8'];
      }
      return [dt, dt];
    case 'closed':
      return [dt, dt];
  }
}

const truthy = (v: Val): boolean => (typeof v === 'bigint' ? v !== 0n : v !== 0);

function intBinary(op: string, d: DType, x: bigint, y: bigint): Val {
  const w = BigInt(bits(d));
  switch (op) {
    case 'add':
      return wrapInt(d, x + y);
    case 'subtract':
      return wrapInt(d, x - y);
    case 'multiply':
      return wrapInt(d, x * y);
    case 'power': {
      if (y < 0n) throw new Error('integer to a negative power is an error in numpy');
      const m = 1n << w;
      let r = 1n,
        b = ((x % m) + m) % m,
        e = y;
      while (e > 0n) {
        if (e & 1n) r = (r * b) % m;
        b = (b * b) % m;
        e >>= 1n;
      }
      return wrapInt(d, r);
    }
    case 'maximum':
      return wrapInt(d, x > y ? x : y);
    case 'minimum':
      return wrapInt(d, x < y ? x : y);
    case 'floorDivide': {
      if (y === 0n) return wrapInt(d, 0n);
      let q = x / y;
      if (x % y !== 0n && x < 0n !== y < 0n) q -= 1n;
      return wrapInt(d, q);
    }
    case 'remainder': {
      if (y === 0n) return wrapInt(d, 0n);
      let r = x % y;
      if (r !== 0n && r < 0n !== y < 0n) r += y;
      return wrapInt(d, r);
    }
    case 'bitwiseAnd':
      return wrapInt(d, x & y);
    case 'bitwiseOr':
      return wrapInt(d, x | y);
    case 'bitwiseXor':
      return wrapInt(d, x ^ y);
    case 'leftShift':
      return y < 0n || y >= w ? wrapInt(d, 0n) : wrapInt(d, x << y);
    case 'rightShift':
      return y < 0n || y >= w ? wrapInt(d, x < 0n ? -1n : 0n) : wrapInt(d, x >> y);
  }
  throw new Error(`intBinary: ${op}`);
}

function floatBinary(op: string, d: DType, x: number, y: number): number {
  const r = stepRound(d);
  switch (op) {
    case 'add':
      return computeRound(d, x + y);
    case 'subtract':
      return computeRound(d, x - y);
    case 'multiply':
      return computeRound(d, x * y);
    case 'divide':
      return computeRound(d, x / y);
    case 'power':
      return computeRound(d, cpow(x, y));
    case 'maximum':
      return Number.isNaN(x) || Number.isNaN(y) ? NaN : x >= y ? x : y;
    case 'minimum':
      return Number.isNaN(x) || Number.isNaN(y) ? NaN : x <= y ? x : y;
    case 'floorDivide':
      return roundTo(d, npyDivmod(x, y, r)[0]);
    case 'remainder':
      return roundTo(d, npyDivmod(x, y, r)[1]);
    case 'logaddexp':
      return computeRound(d, logaddexp(x, y));
    case 'arctan2':
      return computeRound(d, Math.atan2(x, y));
  }
  throw new Error(`floatBinary: ${op}`);
}

function compare(op: string, x: Val, y: Val): boolean {
  switch (op) {
    case 'equal':
      return x === y;
    case 'notEqual':
      return !(x === y);
    case 'less':
      return x < y;
    case 'lessEqual':
      return x <= y;
    case 'greater':
      return x > y;
    case 'greaterEqual':
      return x >= y;
  }
  throw new Error(`compare: ${op}`);
}

/** Integer ops that are exact in doubles for dtypes of up to 32 bits (the common fast path). */
function smallIntBinary(op: string, d: DType, x: number, y: number): number | undefined {
  switch (op) {
    case 'add':
      return wrapNum(d, x + y);
    case 'subtract':
      return wrapNum(d, x - y);
    case 'multiply':
      return bits(d) <= 16 ? wrapNum(d, x * y) : isSigned(d) ? Math.imul(x, y) : Math.imul(x, y) >>> 0;
    case 'maximum':
      return x > y ? x : y;
    case 'minimum':
      return x < y ? x : y;
  }
  return undefined;
}

/** One element of a binary op; x and y are already values of the compute dtype `cd`. */
export function binaryVal(op: string, cd: DType, x: Val, y: Val): Val {
  const kind = BINARY[op].kind;
  if (kind === 'compare') {
    if (cd === 'bool' || isFloat(cd)) return compare(op, x as number, y as number) ? 1 : 0;
    return compare(op, toBig(x), toBig(y)) ? 1 : 0;
  }
  if (kind === 'logical') {
    const a = truthy(x),
      b = truthy(y);
    return (op === 'logicalAnd' ? a && b : op === 'logicalOr' ? a || b : a !== b) ? 1 : 0;
  }
  if (cd === 'bool') {
    const a = truthy(x),
      b = truthy(y);
    switch (op) {
      case 'add':
      case 'maximum':
      case 'bitwiseOr':
        return a || b ? 1 : 0;
      case 'multiply':
      case 'minimum':
      case 'bitwiseAnd':
        return a && b ? 1 : 0;
      case 'bitwiseXor':
        return a !== b ? 1 : 0;
    }
    throw new Error(`binaryVal: ${op} on bool`);
  }
  if (isInt(cd)) {
    if (!is64(cd)) {
      const fast = smallIntBinary(op, cd, x as number, y as number);
      if (fast !== undefined) return fast;
    }
    return intBinary(op, cd, toBig(x), toBig(y));
  }
  return floatBinary(op, cd, x as number, y as number);
}

export type Operand = RArray | number | boolean;
const isScalar = (x: Operand): x is number | boolean => typeof x === 'number' || typeof x === 'boolean';

/** The dtype kiln gives a JS scalar on its own (kn.array(x)). */
export function scalarDType(x: number | boolean | bigint): DType {
  if (typeof x === 'boolean') return 'bool';
  if (typeof x === 'bigint') return holds('int64', x) ? 'int64' : holds('uint64', x) ? 'uint64' : 'int64';
  if (!Number.isInteger(x) || Object.is(x, -0)) return Math.abs(x) > 3.4028234663852886e38 && Number.isFinite(x) ? 'float64' : 'float32';
  for (const d of ['int32', 'int64', 'uint64'] as const) if (holds(d, x)) return d;
  return 'float64';
}

export function operandsDType(a: Operand, b: Operand): DType {
  if (isScalar(a) && isScalar(b)) return promote(scalarDType(a), scalarDType(b));
  if (isScalar(a)) return weakPromote((b as RArray).dtype, a);
  if (isScalar(b)) return weakPromote((a as RArray).dtype, b);
  return promote(a.dtype, b.dtype);
}

function operandAs(x: Operand, d: DType): RArray {
  if (isScalar(x)) return { dtype: d, shape: [], data: [scalarVal(x, d)] };
  return castArray(x, d);
}

export class RefShapeError extends Error {}

/** A binary op with numpy broadcasting, kiln's dtype rules and numpy's element semantics. */
export function binaryRef(op: string, a: Operand, b: Operand): RArray {
  const dt = operandsDType(a, b);
  const [cd, out] = binaryDTypes(op, dt);
  // operands are cast straight to the compute dtype (float ops on ints: float32)
  const x = operandAs(a, cd),
    y = operandAs(b, cd);
  const shape = broadcastShapes(x.shape, y.shape);
  if (!shape) throw new RefShapeError(`cannot broadcast [${x.shape}] and [${y.shape}]`);
  const xb = broadcastToRef(x, shape),
    yb = broadcastToRef(y, shape);
  const data = xb.data.map((v, i) => binaryVal(op, cd, v, yb.data[i]));
  return { dtype: out, shape, data };
}

export function whereRef(c: Operand, a: Operand, b: Operand): RArray {
  const cond = isScalar(c) ? { dtype: 'bool' as DType, shape: [], data: [c ? 1 : 0] } : castArray(c, 'bool');
  const dt = operandsDType(a, b);
  const x = operandAs(a, dt),
    y = operandAs(b, dt);
  const shape = broadcastShapes(cond.shape, x.shape, y.shape);
  if (!shape) throw new RefShapeError('cannot broadcast');
  const cb = broadcastToRef(cond, shape),
    xb = broadcastToRef(x, shape),
    yb = broadcastToRef(y, shape);
  return { dtype: dt, shape, data: cb.data.map((v, i) => (v ? xb.data[i] : yb.data[i])) };
}

// ---- reductions -----------------------------------------------------------------------------

export const REDUCE_OPS = ['sum', 'prod', 'mean', 'max', 'min', 'all', 'any', 'argmax', 'argmin'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

export function sumDType(d: DType): DType {
  if (d === 'bool' || d === 'int8' || d === 'int16') return 'int32';
  if (d === 'uint8' || d === 'uint16') return 'uint32';
  return d;
}

export function reduceDType(op: ReduceOp, d: DType): DType {
  switch (op) {
    case 'sum':
    case 'prod':
      return sumDType(d);
    case 'mean':
      return floatFor(d);
    case 'max':
    case 'min':
      return d;
    case 'all':
    case 'any':
      return 'bool';
    case 'argmax':
    case 'argmin':
      return 'int32';
  }
}

export class RefAxisError extends Error {}

function normAxes(axis: number | readonly number[] | null | undefined, nd: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: nd }, (_, i) => i);
  const list = typeof axis === 'number' ? [axis] : axis;
  const out = list.map((a) => {
    if (a < -nd || a >= nd) throw new RefAxisError(`axis ${a} out of bounds for ${nd} dims`);
    return a < 0 ? a + nd : a;
  });
  if (new Set(out).size !== out.length) throw new RefAxisError('repeated axis');
  return out;
}

/** Floats accumulate in float32 (float64 for float64): the error allowance uses this epsilon. */
const accEps = (d: DType): number => (d === 'float64' ? EPS.float64 : EPS.float32);

/**
 * numpy reduction over `axis` (all when undefined; argmax/argmin take one axis or flatten).
 * `err` carries the allowance of an accumulation in float32 (float64): n·eps·Σ|x|.
 */
export function reduceRef(op: ReduceOp, a: RArray, axis?: number | readonly number[] | null, keepdims = false): RArray {
  let x = a;
  let axes: number[];
  const isArg = op === 'argmax' || op === 'argmin';
  if (isArg && (axis === undefined || axis === null)) {
    x = { ...a, shape: [sizeOf(a.shape)] };
    axes = [0];
  } else {
    if (isArg && typeof axis !== 'number') throw new Error('argmax takes one axis');
    axes = normAxes(axis, a.shape.length);
  }
  const sh = x.shape;
  const kept = sh.map((_, i) => i).filter((i) => !axes.includes(i));
  const outShape = kept.map((i) => sh[i]);
  const n = sizeOf(axes.map((i) => sh[i]));
  const identityless = op === 'max' || op === 'min' || isArg;
  if (identityless && n === 0 && sizeOf(outShape) > 0) throw new RefAxisError(`${op} of an empty axis`);
  const outD = reduceDType(op, a.dtype);
  // move reduced axes last, then each output element reduces a contiguous run of n values
  const st = contiguousStrides(sh);
  const perm = [...kept, ...axes];
  const moved = sizeOf(sh)
    ? gather(
        x.data,
        perm.map((i) => sh[i]),
        perm.map((i) => st[i]),
        0,
      )
    : [];
  const m = sizeOf(outShape);
  const data: Val[] = [],
    err: number[] = [];
  for (let o = 0; o < m; o++) {
    const run = moved.slice(o * n, o * n + n);
    const [v, e] = reduceRun(op, run, x.dtype, outD);
    data.push(v);
    err.push(e);
  }
  let shape = outShape;
  if (keepdims) {
    shape = isArg && (axis === undefined || axis === null) ? a.shape.map(() => 1) : sh.map((d, i) => (axes.includes(i) ? 1 : d));
  }
  const r: RArray = { dtype: outD, shape, data };
  if (isFloat(outD)) r.err = err;
  return r;
}

function reduceRun(op: ReduceOp, run: Val[], d: DType, outD: DType): [Val, number] {
  const n = run.length;
  switch (op) {
    case 'all':
      return [run.every(truthy) ? 1 : 0, 0];
    case 'any':
      return [run.some(truthy) ? 1 : 0, 0];
    case 'argmax':
    case 'argmin': {
      const better = op === 'argmax' ? (p: Val, q: Val) => p > q : (p: Val, q: Val) => p < q;
      let best = 0;
      for (let i = 0; i < n; i++) {
        const v = run[i];
        if (typeof v === 'number' && Number.isNaN(v)) return [i, 0]; // numpy: the first NaN wins
        if (i > 0 && better(v, run[best])) best = i;
      }
      return [best, 0];
    }
    case 'max':
    case 'min': {
      let best = run[0];
      for (const v of run) {
        if (typeof v === 'number' && Number.isNaN(v)) return [NaN, 0];
        if (op === 'max' ? v > best : v < best) best = v;
      }
      return [best, 0];
    }
    case 'sum':
    case 'prod':
    case 'mean': {
      if (!isFloat(outD) && !is64(outD) && op === 'sum') {
        // exact in doubles: at most 2^32 per value and far fewer than 2^21 values
        let s = 0;
        for (const v of run) s += castVal(v, d, outD) as number;
        return [wrapNum(outD, s), 0];
      }
      if (!isFloat(outD)) {
        const vals = run.map((v) => toBig(castVal(v, d, outD)));
        const r = op === 'sum' ? vals.reduce((p, q) => p + q, 0n) : vals.reduce((p, q) => p * q, 1n);
        return [wrapInt(outD, r), 0];
      }
      // float: exact-ish double accumulation of the values cast to the output (mean: float32 for ints)
      const vals = run.map((v) => toNum(castVal(v, d, outD)));
      if (op === 'prod') {
        const p = vals.reduce((s, v) => s * v, 1);
        return [roundTo(outD, p), n * accEps(outD) * Math.abs(p)];
      }
      let s = 0,
        abs = 0;
      for (const v of vals) {
        s += v;
        abs += Math.abs(v);
      }
      if (op === 'mean') return [roundTo(outD, s / n), n ? (n * accEps(outD) * abs) / n : 0];
      return [roundTo(outD, s), n * accEps(outD) * abs];
    }
  }
}

// ---- matmul ---------------------------------------------------------------------------------

export function matmulRef(a: RArray, b: RArray): RArray {
  if (!a.shape.length || !b.shape.length) throw new RefShapeError('matmul of a 0-d array');
  const dt = promote(a.dtype, b.dtype);
  if (dt === 'bool') throw new RefTypeError('matmul of bool');
  let x = castArray(a, dt),
    y = castArray(b, dt);
  const xVec = x.shape.length === 1,
    yVec = y.shape.length === 1;
  if (xVec) x = { ...x, shape: [1, x.shape[0]] };
  if (yVec) y = { ...y, shape: [y.shape[0], 1] };
  const [m, k] = x.shape.slice(-2),
    [k2, n] = y.shape.slice(-2);
  if (k !== k2) throw new RefShapeError(`inner dimensions ${k} vs ${k2}`);
  const batch = broadcastShapes(x.shape.slice(0, -2), y.shape.slice(0, -2));
  if (!batch) throw new RefShapeError('batch dims do not broadcast');
  const xb = broadcastToRef(x, [...batch, m, k]),
    yb = broadcastToRef(y, [...batch, k, n]);
  const nb = sizeOf(batch);
  const data: Val[] = [],
    err: number[] = [];
  for (let bi = 0; bi < nb; bi++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        if (isInt(dt)) {
          let s = 0n;
          for (let p = 0; p < k; p++) s += toBig(xb.data[bi * m * k + i * k + p]) * toBig(yb.data[bi * k * n + p * n + j]);
          data.push(wrapInt(dt, s));
          err.push(0);
        } else {
          let s = 0,
            abs = 0;
          for (let p = 0; p < k; p++) {
            const t = (xb.data[bi * m * k + i * k + p] as number) * (yb.data[bi * k * n + p * n + j] as number);
            s += t;
            abs += Math.abs(t);
          }
          data.push(roundTo(dt, s));
          err.push(2 * k * accEps(dt) * abs);
        }
      }
    }
  }
  const shape = [...batch, ...(xVec ? [] : [m]), ...(yVec ? [] : [n])];
  const r: RArray = { dtype: dt, shape, data };
  if (isFloat(dt)) r.err = err;
  return r;
}
