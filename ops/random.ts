// kn.random: counter-based random numbers (threefry2x32-20, the Random123 / JAX definition) built
// from uint32 array ops, so sampling is lazy, runs in native kernels and gives the same bits for a
// key on any thread count or backend. Keys and splitting follow JAX/MLX: a key is a uint32 [2]
// array; `bits(key, n)` hashes the counters 0..n-1 as JAX's threefry_random_bits does.
import { onDevice, optionsDevice, type DeviceLike } from '../core/device.js';
import { compileTracing } from '../core/compile/trace.js';
import { NDArray } from '../core/array.js';
import { isFloating, isInteger, type DType } from '../core/dtype.js';
import { Float16Array, floatToBfloat16Bits, bfloat16BitsToFloat } from '../core/host.js';
import { broadcastShapes, checkShape, fmtShape, fmtValue, normalizeAxis, sizeOf } from '../core/shape.js';
import { arange } from './creation.js';
import { arrayFrom, asArray, dtypeArg } from './convert.js';
import {
  add,
  astype,
  bitwiseAnd,
  bitwiseOr,
  bitwiseXor,
  erf,
  erfinv,
  floor,
  leftShift,
  less,
  log,
  log1p,
  maximum,
  minimum,
  multiply,
  negative,
  rightShift,
  sign,
  subtract,
  abs,
  type Operand,
} from './elementwise.js';
import { argmax } from './reduce.js';
import { argsort } from './sort.js';
import { concatenate } from './shape.js';
import { take } from './take_scatter.js';
import { cholesky } from './linalg.js';
import { matmul } from './matmul.js';
import { broadcastTo, expandDims, reshape, slice, swapaxes, type SliceSpec } from './views.js';

type ShapeArg = number | readonly number[];

// ---- threefry2x32 -----------------------------------------------------------------------------

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];
const PARITY = 0x1bd11bda;

const rotl = (x: NDArray, r: number): NDArray => bitwiseOr(leftShift(x, r), rightShift(x, 32 - r));

/** The 20-round hash on uint32 arrays (key words and counters broadcast together). */
function hashArrays(k0: NDArray, k1: NDArray, c0: NDArray, c1: NDArray): [NDArray, NDArray] {
  const ks = [k0, k1, bitwiseXor(bitwiseXor(k0, k1), PARITY)];
  let x0 = add(c0, ks[0]),
    x1 = add(c1, ks[1]);
  for (let r = 0; r < 20; r++) {
    x0 = add(x0, x1);
    x1 = bitwiseXor(rotl(x1, ROTATIONS[r % 8]), x0);
    if (r % 4 === 3) {
      const s = (r + 1) / 4; // key injection s adds ks[s], ks[s+1] + s
      x0 = add(x0, ks[s % 3]);
      x1 = add(x1, add(ks[(s + 1) % 3], s));
    }
  }
  return [x0, x1];
}

/** The same hash on JS numbers (used for the global key sequence, which lives on the host). */
function hashHost(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ PARITY) >>> 0];
  let x0 = (c0 + ks[0]) >>> 0,
    x1 = (c1 + ks[1]) >>> 0;
  for (let r = 0; r < 20; r++) {
    x0 = (x0 + x1) >>> 0;
    const rot = ROTATIONS[r % 8];
    x1 = (((x1 << rot) | (x1 >>> (32 - rot))) ^ x0) >>> 0;
    if (r % 4 === 3) {
      const s = (r + 1) / 4;
      x0 = (x0 + ks[s % 3]) >>> 0;
      x1 = (x1 + ks[(s + 1) % 3] + s) >>> 0;
    }
  }
  return [x0, x1];
}

/** The two words of keys of shape [..., 2], each of shape [...]. */
function keyWords(key: NDArray): [NDArray, NDArray] {
  const lead = new Array<SliceSpec>(key.ndim - 1).fill({});
  const w = (i: number) => reshape(slice(key, [...lead, { start: i, stop: i + 1 }]), key.shape.slice(0, -1));
  return [w(0), w(1)];
}

function checkKey(key: unknown, op: string, batched = false): NDArray {
  if (!(key instanceof NDArray)) throw new TypeError(`[${op}] key must be a uint32 array of shape [2] (from kn.random.key), got ${fmtValue(key)}`);
  const ok = key.dtype === 'uint32' && (batched ? key.ndim >= 1 && key.shape[key.ndim - 1] === 2 : key.ndim === 1 && key.shape[0] === 2);
  if (!ok)
    throw new TypeError(
      `[${op}] key must be a uint32 array of shape ${batched ? '[..., 2]' : '[2]'} (from kn.random.key), got ${key.dtype} ${fmtShape(key.shape)}`,
    );
  return key;
}

/**
 * The threefry2x32-20 block cipher of Random123 (as in JAX): hashes counter pairs (c0, c1) under
 * keys of shape [..., 2]; keys and counters broadcast. Returns the two uint32 output words.
 * @example
 * const [y0, y1] = kn.random.threefry2x32(kn.random.key(0), kn.array(new Uint32Array([0])), kn.array(new Uint32Array([0])));
 * [y0.item(), y1.item()] // [0x6b200159, 0x99ba4efe] (the Random123 known answer)
 */
export function threefry2x32(key: NDArray, c0: NDArray, c1: NDArray): [NDArray, NDArray] {
  const k = checkKey(key, 'random.threefry2x32', true);
  const x0 = asArray(c0, 'random.threefry2x32'),
    x1 = asArray(c1, 'random.threefry2x32');
  if (x0.dtype !== 'uint32' || x1.dtype !== 'uint32')
    throw new TypeError(`[random.threefry2x32] counters must be uint32 arrays, got ${x0.dtype} and ${x1.dtype}`);
  const [k0, k1] = keyWords(k);
  const shape = broadcastShapes('random.threefry2x32', k0.shape, x0.shape, x1.shape);
  const b = (a: NDArray) => broadcastTo(a, shape);
  return hashArrays(b(k0), b(k1), b(x0), b(x1));
}

/** n random uint32 words for `key` (JAX's layout: counters 0..n-1 split in two halves). */
function bitsFlat(key: NDArray, n: number): NDArray {
  if (n === 0) return arange(0, 0, 'uint32');
  const half = Math.ceil(n / 2);
  if (half > 2 ** 32) throw new RangeError(`[random] ${n} samples from one key is too many (at most 2^33)`);
  const [k0, k1] = keyWords(key);
  // JAX pads an odd count with a 0 counter: the pairs are (i, half + i), the last one (half - 1, 0)
  const hiCtr = n % 2 ? concatenate([arange(half, n, 'uint32'), arange(0, 1, 'uint32')]) : arange(half, n, 'uint32');
  const [y0, y1] = hashArrays(k0, k1, arange(0, half, 'uint32'), hiCtr);
  const both = concatenate([y0, y1]);
  return both.size === n ? both : slice(both, [{ stop: n }]);
}

function bitsHost(k0: number, k1: number, n: number): number[] {
  const half = Math.ceil(n / 2);
  const a: number[] = [],
    b: number[] = [];
  for (let i = 0; i < half; i++) {
    const [y0, y1] = hashHost(k0, k1, i, i + half < n ? i + half : 0);
    a.push(y0);
    b.push(y1);
  }
  return [...a, ...b].slice(0, n);
}

// ---- keys and the global key sequence --------------------------------------------------------

function seedWords(seed: unknown, op: string): [number, number] {
  let s: bigint;
  if (typeof seed === 'bigint') s = seed;
  else if (typeof seed === 'number' && Number.isSafeInteger(seed)) s = BigInt(seed);
  else throw new TypeError(`[${op}] seed must be a safe integer or a bigint, got ${fmtValue(seed)}`);
  const u = BigInt.asUintN(64, s); // negative seeds wrap like an int64 -> uint64 cast (JAX)
  return [Number(u >> 32n), Number(u & 0xffffffffn)];
}

const keyArray = (w: readonly number[]): NDArray => arrayFrom(Uint32Array.from(w), 'uint32', 'random.key');

/**
 * A PRNG key from an integer seed: uint32 [2] holding the seed's high and low 32 bits (JAX's
 * PRNGKey and MLX's random.key agree on this layout).
 * @example kn.random.key(42).tolist() // [0, 42]
 */
export function key(seed: number | bigint): NDArray {
  return keyArray(seedWords(seed, 'random.key'));
}

/**
 * Splits a key into `num` new keys, shape [num, 2] (JAX's split: the hash of counters 0..2num-1).
 * @example
 * const [k1, k2] = kn.unstack(kn.random.split(kn.random.key(0)));
 * k1 // [4146024105, 967050713]
 */
export function split(key: NDArray, num = 2): NDArray {
  const k = checkKey(key, 'random.split');
  if (!Number.isInteger(num) || num < 0) throw new TypeError(`[random.split] num must be a non-negative integer, got ${fmtValue(num)}`);
  return reshape(bitsFlat(k, 2 * num), [num, 2]);
}

// The global key lives on the host as two words, so drawing a subkey needs no evaluation and no
// array that a kn.tidy scope could dispose. Seeded from the clock at start, as in MLX.
let globalKey: [number, number] = seedWords(BigInt(Date.now()), 'random.seed');

/**
 * Seeds the global key used when no `key` option is given.
 * @example
 * kn.random.seed(0);
 * const a = kn.random.uniform(0, 1, [2]);
 * kn.random.seed(0);
 * kn.arrayEqual(kn.random.uniform(0, 1, [2]), a) // true
 */
export function seed(s: number | bigint): void {
  globalKey = seedWords(s, 'random.seed');
}

/** Next subkey of the global sequence: split(global) → [newGlobal, subkey], as MLX's KeySequence. */
function nextKey(): NDArray {
  const w = bitsHost(globalKey[0], globalKey[1], 4);
  globalKey = [w[0], w[1]];
  return keyArray([w[2], w[3]]);
}

function resolveKey(k: unknown, op: string): NDArray {
  if (k !== undefined && k !== null) return checkKey(k, op);
  // the global sequence lives in JS: a compiled replay would repeat the trace's draws
  if (compileTracing())
    throw new Error(
      `[${op}] inside kn.compile the global key would be fixed at trace time (every call would draw the same numbers): pass { key } and carry the key in the compiled function's inputs/outputs`,
    );
  return nextKey();
}

// ---- argument helpers -------------------------------------------------------------------------

export interface KeyOption {
  /** a key from kn.random.key / split; the global key sequence is used when omitted */
  key?: NDArray;
  /** where the samples are drawn (kn.cpu, kn.gpu, 'gpu:1'); default: kn.withDevice's or the default device */
  device?: DeviceLike;
}
export interface SampleOptions extends KeyOption {
  dtype?: DType;
}

const isPlainObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof NDArray);

/** `f(shape, opts)` where the shape may be left out: `f(opts)`. */
function shapeAndOpts<O extends object>(shape: ShapeArg | O | undefined, opts: O | undefined, op: string): [number[], O] {
  if (isPlainObject(shape)) {
    if (opts !== undefined) throw new TypeError(`[${op}] pass either a shape and options, or one options object`);
    return [[], shape as O];
  }
  return [checkShape(shape ?? [], op), opts ?? ({} as O)];
}

function floatDType(d: unknown, op: string): DType {
  const dt = dtypeArg(d, op) ?? 'float32';
  if (!isFloating(dt)) throw new TypeError(`[${op}] dtype must be a floating type, got ${dt}`);
  return dt;
}

/** The dtype sampling math runs in: float64 stays, the rest compute in float32. */
const computeType = (dt: DType): DType => (dt === 'float64' ? 'float64' : 'float32');

/**
 * Uniform floats of `shape` from fresh bits, in float32 or float64 (float16/bfloat16 get a grid
 * they hold exactly). 'co': [0, 1) as k·2^-p, the mantissa trick of JAX (p = 23 for float32, 52
 * for float64 from two words), so float32/float64 uniform draws equal jax.random.uniform's with
 * the original (non-partitionable) threefry; 'open': (0, 1) as (k + ½)·2^-p, never 0 or 1 and
 * symmetric about ½ (used where a log or erfinv must stay finite).
 */
function unitFloats(key: NDArray, shape: number[], dt: DType, kind: 'co' | 'open'): NDArray {
  const n = sizeOf(shape);
  let k: NDArray, p: number;
  if (dt === 'float64') {
    // JAX's 64-bit words: the first n hashes are the high halves, the next n the low halves
    const b = bitsFlat(key, 2 * n);
    const hi = astype(slice(b, [{ stop: n }]), 'float64'),
      lo = astype(rightShift(slice(b, [{ start: n }]), 12), 'float64');
    k = add(multiply(hi, 2 ** 20), lo);
    p = 52;
  } else {
    p = dt === 'float16' ? 11 : dt === 'bfloat16' ? 8 : 23;
    k = astype(rightShift(bitsFlat(key, n), 32 - p), 'float32');
  }
  const u = kind === 'co' ? multiply(k, 2 ** -p) : multiply(add(k, 0.5), 2 ** -p);
  return reshape(u, shape);
}

/** Largest value of `dt` below `x` (x rounded to dt first), for clamping to [low, high). */
function nextDown(x: number, dt: DType): number {
  if (dt === 'float64') {
    if (x === 0) return -Number.MIN_VALUE;
    const f = new Float64Array([x]),
      u = new BigInt64Array(f.buffer);
    u[0] += x > 0 ? -1n : 1n;
    return f[0];
  }
  if (dt === 'float32') {
    const f = new Float32Array([x]),
      u = new Int32Array(f.buffer);
    if (f[0] === 0) return -(2 ** -149);
    u[0] += f[0] > 0 ? -1 : 1;
    return f[0];
  }
  if (dt === 'float16') {
    const f = new Float16Array([x]),
      u = new Uint16Array(f.buffer);
    if (f[0] === 0) return -(2 ** -24);
    u[0] += f[0] > 0 ? -1 : 1;
    return f[0];
  }
  let b = floatToBfloat16Bits(x);
  const v = bfloat16BitsToFloat(b);
  if (v === 0) return -(2 ** -133);
  b += v > 0 ? -1 : 1;
  return bfloat16BitsToFloat(b);
}

/** Whether `p` broadcasts to exactly `shape`. */
const broadcastsTo = (p: readonly number[], shape: readonly number[]): boolean =>
  p.length <= shape.length && p.every((d, i) => d === 1 || d === shape[shape.length - p.length + i]);

/** Parameters must broadcast to the sample shape (numpy's and MLX's rule for samplers). */
function checkShapeFits(op: string, shape: number[], ...params: NDArray[]): void {
  if (!params.every((p) => broadcastsTo(p.shape, shape)))
    throw new Error(`[${op}] parameters of shapes ${params.map((p) => fmtShape(p.shape)).join(', ')} do not broadcast to the sample shape ${fmtShape(shape)}`);
}

// ---- samplers ---------------------------------------------------------------------------------

/**
 * Raw random bits of `shape`: uint32 words (width 4), or their low 16 / 8 bits (width 2 / 1).
 * @example kn.random.bits([4], { key: kn.random.key(0) }).dtype // 'uint32'
 */
export function bits(shape?: ShapeArg | (KeyOption & { width?: 1 | 2 | 4 }), opts?: KeyOption & { width?: 1 | 2 | 4 }): NDArray {
  return onDevice(optionsDevice(shape, opts), 'random.bits', () => {
    const [s, o] = shapeAndOpts(shape, opts, 'random.bits');
    const width = o.width ?? 4;
    if (width !== 1 && width !== 2 && width !== 4) throw new TypeError(`[random.bits] width must be 1, 2 or 4 bytes, got ${fmtValue(width)}`);
    const b = reshape(bitsFlat(resolveKey(o.key, 'random.bits'), sizeOf(s)), s);
    if (width === 4) return b;
    return astype(bitwiseAnd(b, width === 2 ? 0xffff : 0xff), width === 2 ? 'uint16' : 'uint8');
  });
}

/**
 * Uniform samples in [low, high) (default [0, 1), float32). `low` and `high` may be arrays that
 * broadcast to `shape`. For JS-number bounds, results that round up to `high` are clamped below it.
 * @example kn.random.uniform(0, 1, [2, 3], { key: kn.random.key(0) }).shape // [2, 3]
 * @example kn.random.uniform(-1, 1, [4], { dtype: 'float16', key: kn.random.key(0) }) // [0.9297, -0.5498, 0.2656, -0.4082]
 */
export function uniform(low: Operand = 0, high: Operand = 1, shape: ShapeArg = [], opts: SampleOptions = {}): NDArray {
  return onDevice(optionsDevice(low, high, shape, opts), 'random.uniform', () => {
    const op = 'random.uniform';
    const s = checkShape(shape, op);
    const dt = floatDType(opts.dtype, op);
    const lo = asArray(low, op, dt),
      hi = asArray(high, op, dt);
    checkShapeFits(op, s, lo, hi);
    const u = astype(unitFloats(resolveKey(opts.key, op), s, dt, 'co'), dt);
    const l = astype(lo, dt),
      h = astype(hi, dt);
    let out = maximum(add(multiply(u, subtract(h, l)), l), l);
    if (typeof low === 'number' && typeof high === 'number' && high > low) out = minimum(out, nextDown(high, dt));
    return out;
  });
}

export interface NormalOptions extends SampleOptions {
  /** mean (default 0); an array broadcasts with the samples */
  loc?: Operand;
  /** standard deviation (default 1); an array broadcasts with the samples */
  scale?: Operand;
}

/**
 * Standard normal in the compute dtype: sqrt(2)·erfinv(v) with v uniform in [nextafter(-1, 0), 1),
 * formed exactly as JAX's normal does (so float32/float64 agree with JAX up to erfinv rounding).
 */
function standardNormal(key: NDArray, shape: number[], dt: DType): NDArray {
  const ct = computeType(dt);
  const lo = ct === 'float64' ? -1 + 2 ** -53 : -1 + 2 ** -24;
  const v = maximum(add(multiply(unitFloats(key, shape, ct, 'co'), 1 - lo), lo), lo);
  return multiply(erfinv(v), Math.SQRT2);
}

function locScale(z: NDArray, o: { loc?: Operand; scale?: Operand }, dt: DType, op: string): NDArray {
  let out = z;
  if (o.scale !== undefined) out = multiply(out, asArray(o.scale, op, z.dtype));
  if (o.loc !== undefined) out = add(out, asArray(o.loc, op, z.dtype));
  return astype(out, dt);
}

/**
 * Normal samples (default mean 0, standard deviation 1, float32), by the inverse error function
 * of uniform samples in (-1, 1) as MLX and JAX do (float32 draws equal jax.random.normal's up to
 * erfinv rounding).
 * @example kn.random.normal([1000], { key: kn.random.key(1) }).mean().item() // -0.04851
 * @example kn.random.normal([3], { loc: 10, scale: 2, dtype: 'float64', key: kn.random.key(0) }) // [10.3757, 7.4333, 11.2988]
 */
export function normal(shape?: ShapeArg | NormalOptions, opts?: NormalOptions): NDArray {
  return onDevice(optionsDevice(shape, opts), 'random.normal', () => {
    const op = 'random.normal';
    const [s, o] = shapeAndOpts(shape, opts, op);
    const dt = floatDType(o.dtype, op);
    return locScale(standardNormal(resolveKey(o.key, op), s, dt), o, dt, op);
  });
}

/**
 * Normal samples truncated to [lower, upper] (inverse-CDF method, as JAX and MLX). Without a
 * shape, the shape is that of lower and upper broadcast together.
 * @example kn.random.truncatedNormal(-1, 1, [5], { key: kn.random.key(0) }) // [0.1278, -0.7497, -0.1839, 0.7359, 0.166]
 */
export function truncatedNormal(lower: Operand, upper: Operand, shape?: ShapeArg | null, opts: SampleOptions = {}): NDArray {
  return onDevice(optionsDevice(lower, upper, shape, opts), 'random.truncatedNormal', () => {
    const op = 'random.truncatedNormal';
    const dt = floatDType(opts.dtype, op);
    const ct = computeType(dt);
    const lo = astype(asArray(lower, op, ct), ct),
      hi = astype(asArray(upper, op, ct), ct);
    const s = shape === undefined || shape === null ? broadcastShapes(op, lo.shape, hi.shape) : checkShape(shape, op);
    checkShapeFits(op, s, lo, hi);
    const a = erf(multiply(lo, Math.SQRT1_2)),
      b = erf(multiply(hi, Math.SQRT1_2));
    const v = unitFloats(resolveKey(opts.key, op), s, ct, 'open');
    const u = add(a, multiply(v, subtract(b, a)));
    const z = multiply(erfinv(u), Math.SQRT2);
    return astype(minimum(maximum(z, lo), hi), dt);
  });
}

/**
 * Random integers in [low, high) (default dtype int32). Drawn from 53-bit uniform floats, so the
 * bias is below 2^-53 · (high - low); bounds may be arrays that broadcast to `shape`.
 * @example kn.random.randint(0, 10, [5], { key: kn.random.key(0) }).dtype // 'int32'
 */
export function randint(low: Operand, high: Operand, shape: ShapeArg = [], opts: SampleOptions = {}): NDArray {
  return onDevice(optionsDevice(low, high, shape, opts), 'random.randint', () => {
    const op = 'random.randint';
    const s = checkShape(shape, op);
    const dt = dtypeArg(opts.dtype, op) ?? 'int32';
    if (!isInteger(dt)) throw new TypeError(`[${op}] dtype must be an integer type, got ${dt}`);
    for (const [name, v] of [
      ['low', low],
      ['high', high],
    ] as const)
      if (typeof v === 'number' && !Number.isInteger(v)) throw new TypeError(`[${op}] ${name} must be an integer, got ${v}`);
    const lo = astype(asArray(low, op), 'float64'),
      hi = astype(asArray(high, op), 'float64');
    checkShapeFits(op, s, lo, hi);
    const u = unitFloats(resolveKey(opts.key, op), s, 'float64', 'co');
    const span = subtract(hi, lo);
    // floor(u·span) can round up to span itself; clamp to high - 1 (and to low when high <= low)
    const r = maximum(minimum(add(floor(multiply(u, span)), lo), subtract(hi, 1)), lo);
    return astype(r, dt);
  });
}

/**
 * Bernoulli samples (bool) that are true with probability `p` (default 0.5); without a shape the
 * shape is p's.
 * @example kn.random.bernoulli(0.3, [10], { key: kn.random.key(0) }).dtype // 'bool'
 */
export function bernoulli(p: Operand = 0.5, shape?: ShapeArg | null, opts: KeyOption = {}): NDArray {
  return onDevice(optionsDevice(p, shape, opts), 'random.bernoulli', () => {
    const op = 'random.bernoulli';
    if (typeof p === 'number' && !(p >= 0 && p <= 1)) throw new RangeError(`[${op}] p must be in [0, 1], got ${p}`);
    const pa = asArray(p, op, 'float32');
    const s = shape === undefined || shape === null ? pa.shape : checkShape(shape, op);
    checkShapeFits(op, s, pa);
    const ct = pa.dtype === 'float64' ? 'float64' : 'float32';
    return less(unitFloats(resolveKey(opts.key, op), s, ct, 'co'), astype(pa, ct));
  });
}

/**
 * Gumbel(0, 1) samples: -log(-log(u)) with u in the open interval (0, 1).
 * @example kn.random.gumbel([3], { key: kn.random.key(0) }) // [3.344, -0.1451, 0.7826]
 */
export function gumbel(shape?: ShapeArg | SampleOptions, opts?: SampleOptions): NDArray {
  return onDevice(optionsDevice(shape, opts), 'random.gumbel', () => {
    const op = 'random.gumbel';
    const [s, o] = shapeAndOpts(shape, opts, op);
    const dt = floatDType(o.dtype, op);
    const u = unitFloats(resolveKey(o.key, op), s, computeType(dt), 'open');
    return astype(negative(log(negative(log(u)))), dt);
  });
}

/**
 * Laplace samples (default loc 0, scale 1): -sign(v)·log1p(-|v|) with v uniform in (-1, 1).
 * @example kn.random.laplace([3], { key: kn.random.key(0), scale: 2 }) // [5.337, -0.9261, 0.6187]
 */
export function laplace(shape?: ShapeArg | NormalOptions, opts?: NormalOptions): NDArray {
  return onDevice(optionsDevice(shape, opts), 'random.laplace', () => {
    const op = 'random.laplace';
    const [s, o] = shapeAndOpts(shape, opts, op);
    const dt = floatDType(o.dtype, op);
    const v = subtract(multiply(unitFloats(resolveKey(o.key, op), s, computeType(dt), 'open'), 2), 1);
    return locScale(negative(multiply(sign(v), log1p(negative(abs(v))))), o, dt, op);
  });
}

export interface CategoricalOptions extends KeyOption {
  /** the axis of `logits` that indexes the categories (default -1) */
  axis?: number;
  /** samples per distribution: the result gets a trailing axis of this size */
  numSamples?: number;
  /** result shape; it must broadcast with logits' shape without `axis` */
  shape?: readonly number[];
}

/**
 * Samples category indices (int32) from unnormalised log-probabilities by the Gumbel-max trick.
 * The result has logits' shape without `axis` (or `shape`, or a trailing `numSamples` axis).
 * @example kn.random.categorical(kn.log(kn.array([0.2, 0.8])), { numSamples: 5, key: kn.random.key(0) }).shape // [5]
 */
export function categorical(logits: NDArray, opts: CategoricalOptions = {}): NDArray {
  return onDevice(optionsDevice(logits, opts), 'random.categorical', () => {
    const op = 'random.categorical';
    let x = asArray(logits, op);
    if (x.ndim === 0) throw new Error(`[${op}] logits must have at least one dimension`);
    const ax = normalizeAxis(opts.axis ?? -1, x.ndim, op);
    const rest = x.shape.filter((_, i) => i !== ax);
    const k = x.shape[ax];
    if (k === 0) throw new Error(`[${op}] logits have no categories along axis ${ax}`);
    if (opts.numSamples !== undefined && opts.shape !== undefined) throw new TypeError(`[${op}] pass at most one of shape and numSamples`);
    let outShape = rest;
    if (opts.numSamples !== undefined) {
      const n = opts.numSamples;
      if (!Number.isInteger(n) || n < 0) throw new TypeError(`[${op}] numSamples must be a non-negative integer, got ${fmtValue(n)}`);
      x = expandDims(x, -1);
      outShape = [...rest, n];
    } else if (opts.shape !== undefined) {
      outShape = checkShape(opts.shape, op);
      if (!broadcastsTo(rest, outShape))
        throw new Error(`[${op}] shape ${fmtShape(outShape)} does not broadcast with logits of shape ${fmtShape(x.shape)} without axis ${ax}`);
    }
    // gumbel noise of the sample shape with the category axis inserted where it lines up (from
    // the right, as broadcasting does) with logits' axis
    const pos = outShape.length - (x.ndim - 1 - ax);
    const noiseShape = [...outShape.slice(0, pos), k, ...outShape.slice(pos)];
    const ct = x.dtype === 'float64' ? 'float64' : 'float32';
    const g = gumbel(noiseShape, { key: resolveKey(opts.key, op), dtype: ct });
    return argmax(add(astype(x, ct), g), pos);
  });
}

/**
 * A random permutation of arange(n), or of `x` along `axis` (default 0): a stable argsort of
 * 64 random bits per element, computed lazily like every other sampler.
 * @example kn.random.permutation(5, { key: kn.random.key(0) }).shape // [5]
 */
export function permutation(x: number | NDArray, opts: KeyOption & { axis?: number } = {}): NDArray {
  return onDevice(optionsDevice(x, opts), 'random.permutation', () => {
    const op = 'random.permutation';
    let n: number,
      axis = 0;
    if (typeof x === 'number') {
      if (!Number.isInteger(x) || x < 0) throw new TypeError(`[${op}] n must be a non-negative integer, got ${x}`);
      n = x;
    } else {
      const a = asArray(x, op);
      if (a.ndim === 0) throw new Error(`[${op}] x must have at least one dimension (or be an integer)`);
      axis = normalizeAxis(opts.axis ?? 0, a.ndim, op);
      n = a.shape[axis];
    }
    const k = resolveKey(opts.key, op);
    // lazy: a stable argsort of 64 random bits per element (ties are then vanishingly rare)
    const raw = bitsFlat(k, 2 * n);
    const hi = astype(slice(raw, [{ stop: n }]), 'uint64'),
      lo = astype(slice(raw, [{ start: n }]), 'uint64');
    const perm = astype(argsort(bitwiseOr(leftShift(hi, 32), lo)), 'int32');
    return typeof x === 'number' ? perm : take(x, perm, axis);
  });
}

/**
 * Samples from multivariate normal distributions: mean [..., n], cov [..., n, n] (symmetric
 * positive definite; factored lazily by kn.linalg.cholesky). The result has shape `shape + [n]`,
 * or the batch shapes of mean and cov broadcast together when `shape` is empty.
 * @example kn.random.multivariateNormal(kn.zeros([2]), kn.eye(2), [100], { key: kn.random.key(0) }).shape // [100, 2]
 */
export function multivariateNormal(mean: NDArray, cov: NDArray, shape: ShapeArg = [], opts: SampleOptions = {}): NDArray {
  return onDevice(optionsDevice(mean, cov, shape, opts), 'random.multivariateNormal', () => {
    const op = 'random.multivariateNormal';
    const dt = floatDType(opts.dtype, op);
    const ct = computeType(dt);
    const m = astype(asArray(mean, op), ct),
      c = astype(asArray(cov, op), ct);
    if (m.ndim < 1) throw new Error(`[${op}] mean must have at least one dimension, got shape ${fmtShape(m.shape)}`);
    const n = m.shape[m.ndim - 1];
    if (c.ndim < 2 || c.shape[c.ndim - 1] !== n || c.shape[c.ndim - 2] !== n)
      throw new Error(`[${op}] cov of shape ${fmtShape(c.shape)} must be [..., ${n}, ${n}] for mean of shape ${fmtShape(m.shape)}`);
    const batch = broadcastShapes(op, m.shape.slice(0, -1), c.shape.slice(0, -2));
    let s = checkShape(shape, op);
    if (s.length === 0) s = batch;
    else if (!broadcastsTo(batch, s))
      throw new Error(`[${op}] shape ${fmtShape(s)} does not broadcast with the batch shape ${fmtShape(batch)} of mean and cov`);
    const L = cholesky(c);
    const z = standardNormal(resolveKey(opts.key, op), [...s, n], ct);
    // x = mean + L z, as row vectors: z Lᵀ
    const x = add(reshape(matmul(expandDims(z, -2), swapaxes(L, -1, -2)), [...s, n]), m);
    return astype(x, dt);
  });
}

export {
  rand,
  randn,
  random,
  choice,
  shuffle,
  exponential,
  lognormal,
  gamma,
  beta,
  dirichlet,
  poisson,
  binomial,
  multinomial,
  defaultRng,
  Generator,
} from './random_dists.js';
export type { DistOptions, ChoiceOptions } from './random_dists.js';
