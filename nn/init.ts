// kn.nn.init: MLX-style initializer factories. Each returns `(a) => new array` shaped like `a`.
// Randomness comes from the `key` given to the factory or to the returned function (that one wins),
// else from the global key sequence.
import type { NDArray } from '../core/array.js';
import { toDType, type DType } from '../core/dtype.js';
import { fmtShape, fmtValue } from '../core/shape.js';
import { full } from '../ops/creation.js';
import { eye } from '../ops/grids_diagonals.js';
import { asArray } from '../ops/convert.js';
import * as random from '../ops/random.js';

export interface InitOptions {
  /** dtype of the new array (default float32) */
  dtype?: DType;
  /** random key (kn.random.key); the global key sequence is used when omitted */
  key?: NDArray;
}

/** Options of a returned initializer call. */
export interface InitCallOptions {
  key?: NDArray;
}

export type Initializer = (a: NDArray, opts?: InitCallOptions) => NDArray;
export type ScaledInitializer = (a: NDArray, gain?: number, opts?: InitCallOptions) => NDArray;
export type FanMode = 'fanIn' | 'fanOut';
export type FanInitializer = (a: NDArray, mode?: FanMode, gain?: number, opts?: InitCallOptions) => NDArray;

function dtypeOf(o: InitOptions, op: string): DType {
  if (o === null || typeof o !== 'object') throw new TypeError(`[${op}] options must be an object, got ${fmtValue(o)}`);
  return toDType(o.dtype ?? 'float32', op);
}

function num(v: unknown, op: string, what: string, positive = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0))
    throw new TypeError(`[${op}] ${what} must be a ${positive ? 'positive' : 'finite'} number, got ${fmtValue(v)}`);
  return v;
}

/**
 * fan_in and fan_out of a weight in MLX's layout [out, ...receptive field, in]
 * (a 2-D [out, in] weight has fan_in = in, fan_out = out).
 * @example kn.nn.init.fans(kn.zeros([8, 3, 3, 4])) // [36, 72]
 */
export function fans(a: NDArray, op = 'init'): [number, number] {
  const s = asArray(a, op).shape;
  if (s.length < 2) throw new Error(`[${op}] needs an array of at least 2 dimensions to compute fan in and fan out, got shape ${fmtShape(s)}`);
  const receptive = s.slice(1, -1).reduce((x, y) => x * y, 1);
  return [s[s.length - 1] * receptive, s[0] * receptive];
}

/**
 * Fills with a constant.
 * @example kn.nn.init.constant(0.5)(kn.zeros([2])).tolist() // [0.5, 0.5]
 */
export function constant(value: number, opts: InitOptions = {}): Initializer {
  const dt = dtypeOf(opts, 'init.constant');
  num(value, 'init.constant', 'value');
  return (a) => full(asArray(a, 'init.constant').shape, value, dt);
}

/**
 * Normal samples with the given mean and standard deviation.
 * @example kn.nn.init.normal(0, 0.02, { key: kn.random.key(0) })(kn.zeros([3])) // [0.03632, -0.009652, 0.006798]
 */
export function normal(mean = 0, std = 1, opts: InitOptions = {}): Initializer {
  const dt = dtypeOf(opts, 'init.normal');
  num(mean, 'init.normal', 'mean');
  num(std, 'init.normal', 'std');
  return (a, o = {}) => random.normal(asArray(a, 'init.normal').shape, { loc: mean, scale: std, dtype: dt, key: o.key ?? opts.key });
}

/**
 * Uniform samples in [low, high).
 * @example kn.nn.init.uniform(-1, 1, { key: kn.random.key(0) })(kn.zeros([3])) // [0.9306, -0.3706, 0.2661]
 */
export function uniform(low = 0, high = 1, opts: InitOptions = {}): Initializer {
  const dt = dtypeOf(opts, 'init.uniform');
  num(low, 'init.uniform', 'low');
  num(high, 'init.uniform', 'high');
  if (!(low < high)) throw new Error(`[init.uniform] low (${low}) must be below high (${high})`);
  return (a, o = {}) => random.uniform(low, high, asArray(a, 'init.uniform').shape, { dtype: dt, key: o.key ?? opts.key });
}

/**
 * The identity matrix (the array must be square and 2-D).
 * @example kn.nn.init.identity()(kn.zeros([2, 2])).tolist() // [[1, 0], [0, 1]]
 */
export function identity(opts: InitOptions = {}): Initializer {
  const dt = dtypeOf(opts, 'init.identity');
  return (a) => {
    const s = asArray(a, 'init.identity').shape;
    if (s.length !== 2 || s[0] !== s[1]) throw new Error(`[init.identity] needs a square 2-D array, got shape ${fmtShape(s)}`);
    return eye(s[0], null, 0, dt);
  };
}

/**
 * Glorot (Xavier) normal: std = gain·√(2/(fan_in + fan_out)).
 * @example
 * const w = kn.nn.init.glorotNormal({ key: kn.random.key(0) })(kn.zeros([64, 32])); // std sqrt(2 / (32 + 64))
 * kn.std(w).item() // 0.1412
 */
export function glorotNormal(opts: InitOptions = {}): ScaledInitializer {
  const dt = dtypeOf(opts, 'init.glorotNormal');
  return (a, gain = 1, o = {}) => {
    const [fi, fo] = fans(a, 'init.glorotNormal');
    const std = num(gain, 'init.glorotNormal', 'gain') * Math.sqrt(2 / (fi + fo));
    return random.normal(a.shape, { scale: std, dtype: dt, key: o.key ?? opts.key });
  };
}

/**
 * Glorot (Xavier) uniform in ±gain·√(6/(fan_in + fan_out)).
 * @example
 * const w = kn.nn.init.glorotUniform({ key: kn.random.key(0) })(kn.zeros([64, 32])); // within ±sqrt(6 / 96) = ±0.25
 * kn.max(kn.abs(w)).item() <= 0.25 // true
 */
export function glorotUniform(opts: InitOptions = {}): ScaledInitializer {
  const dt = dtypeOf(opts, 'init.glorotUniform');
  return (a, gain = 1, o = {}) => {
    const [fi, fo] = fans(a, 'init.glorotUniform');
    const limit = num(gain, 'init.glorotUniform', 'gain') * Math.sqrt(6 / (fi + fo));
    return random.uniform(-limit, limit, a.shape, { dtype: dt, key: o.key ?? opts.key });
  };
}

function fanOf(a: NDArray, mode: FanMode, op: string): number {
  const [fi, fo] = fans(a, op);
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new Error(`[${op}] mode must be 'fanIn' or 'fanOut', got ${fmtValue(mode)}`);
  return mode === 'fanIn' ? fi : fo;
}

/**
 * He (Kaiming) normal: std = gain/√fan (fan_in by default).
 * @example
 * const w = kn.nn.init.heNormal({ key: kn.random.key(0) })(kn.zeros([64, 32]), 'fanOut'); // std sqrt(2 / 64)
 * kn.std(w).item() // 0.1223
 */
export function heNormal(opts: InitOptions = {}): FanInitializer {
  const dt = dtypeOf(opts, 'init.heNormal');
  return (a, mode = 'fanIn', gain = 1, o = {}) => {
    const std = num(gain, 'init.heNormal', 'gain') / Math.sqrt(fanOf(a, mode, 'init.heNormal'));
    return random.normal(a.shape, { scale: std, dtype: dt, key: o.key ?? opts.key });
  };
}

/**
 * He (Kaiming) uniform in ±gain·√(3/fan) (fan_in by default).
 * @example
 * const w = kn.nn.init.heUniform({ key: kn.random.key(0) })(kn.zeros([64, 32])); // within ±sqrt(6 / 32)
 * kn.max(kn.abs(w)).item() <= Math.sqrt(6 / 32) // true
 */
export function heUniform(opts: InitOptions = {}): FanInitializer {
  const dt = dtypeOf(opts, 'init.heUniform');
  return (a, mode = 'fanIn', gain = 1, o = {}) => {
    const limit = num(gain, 'init.heUniform', 'gain') * Math.sqrt(3 / fanOf(a, mode, 'init.heUniform'));
    return random.uniform(-limit, limit, a.shape, { dtype: dt, key: o.key ?? opts.key });
  };
}
