// More of numpy's random samplers, built on kn.random's threefry keys (uniform and normal draws):
// rand, randn, random, choice, shuffle, exponential, lognormal, gamma, beta, dirichlet, poisson,
// binomial, multinomial, and defaultRng(seed), a Generator with numpy's method names. Every
// sampler takes { key } (else the global key sequence). Rejection samplers (gamma) run a fixed
// number of lazy rounds (a sample still rejected after 12 rounds has probability < 1e-15);
// poisson and binomial invert the CDF over a window of ±12 standard deviations (the mass outside
// is below 1e-30), from a host table for JS-number parameters.
import { onDevice, optionsDevice } from '../core/device.js';
import { NDArray } from '../core/array.js';
import { isFloating, isInteger, type DType } from '../core/dtype.js';
import { broadcastShapes, checkShape, fmtShape, fmtValue, sizeOf } from '../core/shape.js';
import { arrayFrom, asArray, dtypeArg, type ArrayInput } from './convert.js';
import { arange, full } from './creation.js';
import {
  add,
  astype,
  divide,
  equal,
  exp,
  greater,
  less,
  lessEqual,
  log,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  maximum,
  minimum,
  multiply,
  negative,
  power,
  sigmoid,
  sqrt,
  subtract,
  where,
  type Operand,
} from './elementwise.js';
import { logSoftmax } from './stats_softmax.js';
import { cumsum } from './scan.js';
import { max, sum } from './reduce.js';
import { searchsorted, argsort } from './sort.js';
import { take } from './take_scatter.js';
import { stack } from './shape.js';
import { broadcastTo, expandDims, reshape, slice } from './views.js';
import { scatterFlat } from './take_scatter.js';
import { bits, categorical, gumbel, key as makeKey, normal, permutation, randint, split, uniform, type KeyOption } from './random.js';

type Shape = number | readonly number[];
export interface DistOptions extends KeyOption {
  dtype?: DType;
}

/** a key for one sampler call: the given one, else a fresh pair of words of the global sequence */
const keyOf = (k: NDArray | undefined): NDArray => k ?? bits([2]);
/** n independent subkeys of `k` */
const keys = (k: NDArray, n: number): NDArray[] => Array.from(split(k, n));

function floatType(d: unknown, op: string): DType {
  const dt = dtypeArg(d, op) ?? 'float32';
  if (!isFloating(dt)) throw new TypeError(`[${op}] dtype must be a floating type, got ${dt}`);
  return dt;
}
const ct = (dt: DType): DType => (dt === 'float64' ? 'float64' : 'float32');

/** sample shape: given, else the parameters' broadcast shape */
function sampleShape(op: string, size: Shape | null | undefined, ...params: NDArray[]): number[] {
  const b = params.reduce<number[]>((s, p) => broadcastShapes(op, s, p.shape), []);
  if (size === undefined || size === null) return b;
  const s = checkShape(size, op);
  if (b.length > s.length || b.some((d, i) => d !== 1 && d !== s[s.length - b.length + i]))
    throw new Error(`[${op}] parameters of shape ${fmtShape(b)} do not broadcast to the sample shape ${fmtShape(s)}`);
  return s;
}

/** throws unless every value of a (a JS number or an array, read on the host) satisfies ok */
function checkParam(a: Operand | ArrayInput, ok: (v: number) => boolean, op: string, what: string): void {
  const vals = typeof a === 'number' ? [a] : Array.from(asArray(a, op).astype('float64').toTypedArray() as Float64Array);
  const bad = vals.find((v) => !ok(v));
  if (bad !== undefined) throw new RangeError(`[${op}] ${what}, got ${fmtValue(bad)}`);
}

/** uniform in [0, 1) of the compute type */
const unit = (k: NDArray, shape: number[], dt: DType) => uniform(0, 1, shape, { key: k, dtype: ct(dt) });

// ---- legacy-style helpers ---------------------------------------------------------------------

function varShape(args: (number | DistOptions)[], op: string): [number[], DistOptions] {
  const last = args[args.length - 1];
  const opts = typeof last === 'object' && last !== null ? (args.pop() as DistOptions) : {};
  if (!args.every((d) => typeof d === 'number')) throw new TypeError(`[${op}] dimensions must be numbers, got ${fmtValue(args)}`);
  return [checkShape(args as number[], op), opts];
}

/**
 * Uniform samples in [0, 1) with the dimensions as arguments (numpy's rand; float32).
 * @example kn.random.rand(2, 3, { key: kn.random.key(0) }).shape // [2, 3]
 */
export function rand(...args: (number | DistOptions)[]): NDArray {
  return onDevice(optionsDevice(...args), 'random.rand', () => {
    const [s, o] = varShape(args, 'random.rand');
    return uniform(0, 1, s, { key: o.key, dtype: floatType(o.dtype, 'random.rand') });
  });
}

/**
 * Standard normal samples with the dimensions as arguments (numpy's randn; float32).
 * @example kn.random.randn(4, { key: kn.random.key(0) }).shape // [4]
 */
export function randn(...args: (number | DistOptions)[]): NDArray {
  return onDevice(optionsDevice(...args), 'random.randn', () => {
    const [s, o] = varShape(args, 'random.randn');
    return normal(s, { key: o.key, dtype: floatType(o.dtype, 'random.randn') });
  });
}

/**
 * Uniform samples in [0, 1) of `shape` (numpy's random / random_sample).
 * @example kn.random.random([2], { key: kn.random.key(0) }).shape // [2]
 */
export function random(shape: Shape = [], opts: DistOptions = {}): NDArray {
  return onDevice(optionsDevice(shape, opts), 'random.random', () => {
    return uniform(0, 1, shape, { key: opts.key, dtype: floatType(opts.dtype, 'random.random') });
  });
}

export interface ChoiceOptions extends KeyOption {
  /** output shape (default: one sample, a 0-d array) */
  size?: Shape;
  /** sample with replacement (default true) */
  replace?: boolean;
  /** probabilities of the entries (default uniform); they must sum to 1 */
  p?: ArrayInput;
}

/**
 * Random samples from a 1-d array, or from arange(a) for a number (numpy's choice): with or
 * without replacement, optionally weighted by p (without replacement: Gumbel top-k, which draws
 * in the same distribution as numpy's sequential draws).
 * @example kn.random.choice(5, { size: [3], replace: false, key: kn.random.key(0) }).shape // [3]
 */
export function choice(a: number | ArrayInput, opts: ChoiceOptions = {}): NDArray {
  return onDevice(optionsDevice(a, opts), 'random.choice', () => {
    const op = 'random.choice';
    let pool: NDArray | null = null,
      n: number;
    if (typeof a === 'number') {
      if (!Number.isInteger(a) || a <= 0) throw new RangeError(`[${op}] a must be a positive integer or a non-empty 1-d array, got ${fmtValue(a)}`);
      n = a;
    } else {
      pool = asArray(a, op);
      if (pool.ndim !== 1 || pool.size === 0) throw new Error(`[${op}] a must be 1-dimensional and non-empty, got shape ${fmtShape(pool.shape)}`);
      n = pool.size;
    }
    const shape = checkShape(opts.size ?? [], op);
    const k = sizeOf(shape);
    const replace = opts.replace ?? true;
    const key = keyOf(opts.key);
    let p: NDArray | null = null;
    if (opts.p !== undefined) {
      p = Array.isArray(opts.p) ? arrayFrom(opts.p, 'float64', op) : asArray(opts.p, op);
      if (p.ndim !== 1 || p.size !== n) throw new Error(`[${op}] p must be 1-d with ${n} entries (the population), got shape ${fmtShape(p.shape)}`);
      const h = Array.from(p.astype('float64').toTypedArray() as Float64Array);
      if (h.some((v) => !(v >= 0))) throw new RangeError(`[${op}] probabilities are not non-negative: ${fmtValue(h)}`);
      const tot = h.reduce((s, v) => s + v, 0);
      if (Math.abs(tot - 1) > (p.dtype === 'float64' ? 1e-8 : 1e-6) * Math.max(1, n / 1000))
        throw new RangeError(`[${op}] probabilities do not sum to 1 (sum ${tot})`);
      if (!replace && h.filter((v) => v > 0).length < k)
        throw new RangeError(`[${op}] fewer non-zero entries in p (${h.filter((v) => v > 0).length}) than size (${k})`);
    }
    let idx: NDArray;
    if (replace) {
      idx = p ? categorical(log(astype(p, 'float32')), { shape, key }) : randint(0, n, shape, { key });
    } else {
      if (k > n) throw new RangeError(`[${op}] cannot take a larger sample (${k}) than population (${n}) when replace is false`);
      if (p) {
        const g = add(log(astype(p, 'float64')), gumbel([n], { key, dtype: 'float64' }));
        idx = reshape(slice(argsort(negative(g)), [{ stop: k }]), shape);
      } else idx = reshape(slice(permutation(n, { key }), [{ stop: k }]), shape);
    }
    idx = astype(idx, 'int32');
    return pool ? take(pool, idx) : astype(idx, 'int32');
  });
}

/**
 * Shuffles x along its first axis, in place as numpy's shuffle: the handle is rebound to the
 * permuted array (like kn.put_) and returned.
 * @example
 * const x = kn.arange(5);
 * kn.random.shuffle(x, { key: kn.random.key(0) });
 * kn.sort(x).tolist() // [0, 1, 2, 3, 4]
 */
export function shuffle(x: NDArray, opts: KeyOption = {}): NDArray {
  return onDevice(optionsDevice(x, opts), 'random.shuffle', () => {
    if (!(x instanceof NDArray)) throw new TypeError(`[random.shuffle] x must be an NDArray (it is shuffled in place), got ${fmtValue(x)}`);
    if (x.ndim === 0) throw new Error('[random.shuffle] cannot shuffle a 0-d array');
    const y = permutation(x, { key: keyOf(opts.key) });
    x.rebind(y.node);
    return x;
  });
}

// ---- continuous distributions -----------------------------------------------------------------

/**
 * Exponential samples with the given scale (1 / rate; default 1): -scale·log(1 - u).
 * @example kn.random.exponential(2, [3], { key: kn.random.key(0) }).shape // [3]
 */
export function exponential(scale: Operand = 1, size?: Shape | null, opts: DistOptions = {}): NDArray {
  return onDevice(optionsDevice(scale, size, opts), 'random.exponential', () => {
    const op = 'random.exponential';
    checkParam(scale, (v) => v >= 0, op, 'scale must be non-negative');
    const dt = floatType(opts.dtype, op);
    const sc = asArray(scale, op, ct(dt));
    const s = sampleShape(op, size, sc);
    const u = unit(keyOf(opts.key), s, dt);
    return astype(multiply(negative(log1p(negative(u))), astype(sc, ct(dt))), dt);
  });
}

/**
 * Log-normal samples: exp(mean + sigma·z) for standard normal z.
 * @example kn.random.lognormal(0, 1, [3], { key: kn.random.key(0) }).shape // [3]
 */
export function lognormal(mean: Operand = 0, sigma: Operand = 1, size?: Shape | null, opts: DistOptions = {}): NDArray {
  return onDevice(optionsDevice(mean, sigma, size, opts), 'random.lognormal', () => {
    const op = 'random.lognormal';
    checkParam(sigma, (v) => v >= 0, op, 'sigma must be non-negative');
    const dt = floatType(opts.dtype, op);
    const m = asArray(mean, op, ct(dt)),
      sg = asArray(sigma, op, ct(dt));
    const s = sampleShape(op, size, m, sg);
    const z = normal(s, { key: keyOf(opts.key), dtype: ct(dt) });
    return astype(exp(add(astype(m, ct(dt)), multiply(astype(sg, ct(dt)), z))), dt);
  });
}

/**
 * log of Gamma(k, 1) samples by Marsaglia and Tsang's method (k < 1 through Gamma(k + 1)·u^(1/k)),
 * in log space so tiny shapes do not underflow. Exact rejection: the first round is drawn for
 * every element, the accept mask is read (a synchronisation point) and only the rejected ones
 * (about 5%) are drawn again.
 */
function logGamma(k: NDArray, shape: number[], key: NDArray, dt: DType): NDArray {
  const n = sizeOf(shape);
  const kk = reshape(broadcastTo(astype(k, dt), shape), [n]);
  const small = less(kk, 1);
  const a = where(small, add(kk, 1), kk);
  const d = subtract(a, 1 / 3),
    c = divide(1, sqrt(multiply(d, 9)));
  const propose = (dd: NDArray, cc: NDArray, kz: NDArray, ku: NDArray) => {
    const m = dd.size;
    const z = normal([m], { key: kz, dtype: dt });
    const u = unit(ku, [m], dt);
    const v1 = add(1, multiply(cc, z));
    const v = multiply(multiply(v1, v1), v1);
    const lv = log(where(greater(v, 0), v, 1));
    // accept when v > 0 and log(1 - u) < z²/2 + d - d·v + d·log(v) (1 - u is in (0, 1])
    const ok = logicalAnd(greater(v, 0), less(log1p(negative(u)), add(add(multiply(multiply(z, z), 0.5), dd), multiply(dd, subtract(lv, v)))));
    return { ok, cand: add(log(dd), lv) };
  };
  let [kz, ku, kb, next] = keys(key, 4);
  const first = propose(d, c, kz, ku);
  let out = where(first.ok, first.cand, 0);
  kn_eval(out, first.ok);
  let pending = Array.from(flatTrue(logicalNot(first.ok)));
  for (let round = 0; pending.length > 0; round++) {
    if (round > 200) throw new Error('[random.gamma] rejection sampling did not converge');
    [kz, ku, next] = keys(next, 3);
    const idx = arrayFrom(Int32Array.from(pending), 'int32', 'random.gamma');
    const r = propose(take(d, idx), take(c, idx), kz, ku);
    const okHost = r.ok.toTypedArray() as Uint8Array;
    const took = pending.filter((_, i) => okHost[i]);
    if (took.length) {
      const sel = arrayFrom(Int32Array.from(pending.map((_, i) => i).filter((i) => okHost[i])), 'int32', 'random.gamma');
      out = scatterFlat('random.gamma', out, arrayFrom(Int32Array.from(took), 'int32', 'random.gamma'), take(r.cand, sel), 'set');
      out.eval();
    }
    pending = pending.filter((_, i) => !okHost[i]);
  }
  const boost = divide(log1p(negative(unit(kb, [n], dt))), kk);
  return reshape(where(small, add(out, boost), out), shape);
}

const kn_eval = (...xs: NDArray[]) => {
  for (const x of xs) x.eval();
};
/** host positions where a bool array is true */
function flatTrue(m: NDArray): number[] {
  const h = m.toTypedArray() as Uint8Array;
  const out: number[] = [];
  for (let i = 0; i < h.length; i++) if (h[i]) out.push(i);
  return out;
}

/**
 * Gamma samples with shape k and scale θ (default 1): mean kθ.
 * @example kn.random.gamma(2, 1, [3], { key: kn.random.key(0) }).shape // [3]
 */
export function gamma(shape: Operand, scale: Operand = 1, size?: Shape | null, opts: DistOptions = {}): NDArray {
  return onDevice(optionsDevice(shape, scale, size, opts), 'random.gamma', () => {
    const op = 'random.gamma';
    checkParam(shape, (v) => v > 0, op, 'shape must be positive');
    checkParam(scale, (v) => v >= 0, op, 'scale must be non-negative');
    const dt = floatType(opts.dtype, op);
    const k = asArray(shape, op, 'float64'),
      sc = asArray(scale, op, 'float64');
    const s = sampleShape(op, size, k, sc);
    const g = exp(logGamma(k, s, keyOf(opts.key), ct(dt)));
    return astype(multiply(g, astype(sc, ct(dt))), dt);
  });
}

/**
 * Beta(a, b) samples: X / (X + Y) for X ~ Gamma(a), Y ~ Gamma(b) (formed in log space).
 * @example kn.random.beta(2, 3, [3], { key: kn.random.key(0) }).shape // [3]
 */
export function beta(a: Operand, b: Operand, size?: Shape | null, opts: DistOptions = {}): NDArray {
  return onDevice(optionsDevice(a, b, size, opts), 'random.beta', () => {
    const op = 'random.beta';
    checkParam(a, (v) => v > 0, op, 'a must be positive');
    checkParam(b, (v) => v > 0, op, 'b must be positive');
    const dt = floatType(opts.dtype, op);
    const aa = asArray(a, op, 'float64'),
      bb = asArray(b, op, 'float64');
    const s = sampleShape(op, size, aa, bb);
    const [k1, k2] = keys(keyOf(opts.key), 2);
    const lx = logGamma(aa, s, k1, 'float64'),
      ly = logGamma(bb, s, k2, 'float64');
    return astype(sigmoid(subtract(lx, ly)), dt);
  });
}

/**
 * Dirichlet samples for concentrations alpha [k]: shape size + [k], each row summing to 1.
 * @example kn.random.dirichlet([1, 2, 3], [2], { key: kn.random.key(0) }).sum(-1).tolist() // [1, 1]
 */
export function dirichlet(alpha: ArrayInput, size: Shape = [], opts: DistOptions = {}): NDArray {
  return onDevice(optionsDevice(alpha, size, opts), 'random.dirichlet', () => {
    const op = 'random.dirichlet';
    const al = Array.isArray(alpha) ? arrayFrom(alpha, 'float64', op) : asArray(alpha, op);
    if (al.ndim !== 1 || al.size === 0) throw new Error(`[${op}] alpha must be a non-empty 1-d array, got shape ${fmtShape(al.shape)}`);
    checkParam(al, (v) => v > 0, op, 'alpha must be positive');
    const dt = floatType(opts.dtype, op);
    const s = [...checkShape(size, op), al.size];
    const lg = logGamma(astype(al, 'float64'), s, keyOf(opts.key), 'float64');
    return astype(exp(logSoftmax(lg, -1)), dt);
  });
}

// ---- discrete distributions -------------------------------------------------------------------

/** log Γ(x) for x > 0 (Lanczos, g = 7; ~1e-15 relative) */
function lgammaHost(x: number): number {
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgammaHost(1 - x);
  x -= 1;
  let s = c[0];
  for (let i = 1; i < g + 2; i++) s += c[i] / (x + i);
  const t = x + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}

const WINDOW_SD = 12;
const MAX_TABLE = 1 << 22;

/** inverse-CDF sampling from a host table of log-pmf values over lo..lo+len-1 */
function fromTable(logp: Float64Array, lo: number, shape: number[], key: NDArray, dt: DType, op: string): NDArray {
  let m = -Infinity;
  for (const v of logp) m = Math.max(m, v);
  const cdf = new Float64Array(logp.length);
  let acc = 0;
  for (let i = 0; i < logp.length; i++) cdf[i] = acc += Math.exp(logp[i] - m);
  for (let i = 0; i < cdf.length; i++) cdf[i] /= acc;
  const u = uniform(0, 1, shape, { key, dtype: 'float64' });
  const i = minimum(searchsorted(arrayFrom(cdf, 'float64', op), u, { side: 'right' }), logp.length - 1);
  return astype(add(astype(i, 'float64'), lo), dt);
}

/**
 * Inverse-CDF sampling per element over a window of K values starting at lo (arrays): the log
 * pmf relative to lo is the cumulative sum of log ratios `step(j)` (j = 1..K-1).
 */
function fromWindow(lo: NDArray, K: number, step: (k: NDArray) => NDArray, valid: (k: NDArray) => NDArray, shape: number[], key: NDArray): NDArray {
  const j = arange(0, K, 'float64');
  const kk = add(expandDims(lo, -1), j); // [..., K] candidate values
  const ratios = where(greater(j, 0), step(kk), 0);
  const lp = where(valid(kk), cumsum(ratios, -1), -Infinity);
  const p = exp(subtract(lp, max(lp, -1, { keepdims: true })));
  const cdf = divide(cumsum(p, -1), sum(p, -1, { keepdims: true }));
  const u = expandDims(uniform(0, 1, shape, { key, dtype: 'float64' }), -1);
  const idx = minimum(sum(astype(lessEqual(cdf, u), 'float64'), -1), K - 1);
  return add(lo, idx);
}

function intType(d: unknown, op: string): DType {
  const dt = dtypeArg(d, op) ?? 'int32';
  if (!isInteger(dt)) throw new TypeError(`[${op}] dtype must be an integer type, got ${dt}`);
  return dt;
}

/**
 * Poisson samples with rate lam (default 1): int32 counts.
 * @example kn.random.poisson(4, [3], { key: kn.random.key(0) }).dtype // 'int32'
 */
export function poisson(lam: Operand = 1, size?: Shape | null, opts: DistOptions = {}): NDArray {
  return onDevice(optionsDevice(lam, size, opts), 'random.poisson', () => {
    const op = 'random.poisson';
    checkParam(lam, (v) => v >= 0 && v < 1e10, op, 'lam must be non-negative and below 1e10');
    const dt = intType(opts.dtype, op);
    const key = keyOf(opts.key);
    if (typeof lam === 'number') {
      const s = sampleShape(op, size);
      if (lam === 0) return full(s, 0, dt);
      const sd = Math.sqrt(lam);
      const lo = Math.max(0, Math.floor(lam - WINDOW_SD * sd - 10)),
        hi = Math.ceil(lam + WINDOW_SD * sd + 20);
      if (hi - lo > MAX_TABLE) throw new RangeError(`[${op}] lam ${lam} is too large`);
      const logp = Float64Array.from({ length: hi - lo + 1 }, (_, i) => (lo + i) * Math.log(lam) - lam - lgammaHost(lo + i + 1));
      return fromTable(logp, lo, s, key, dt, op);
    }
    const l = astype(asArray(lam, op), 'float64');
    const s = sampleShape(op, size, l);
    const lb = broadcastTo(l, s);
    const K = Math.ceil(2 * WINDOW_SD * Math.sqrt(Number(max(l).item())) + 31);
    const lo = maximum(subtract(lb, add(multiply(sqrt(lb), WINDOW_SD), 10)).floor(), 0);
    const ll = expandDims(log(lb), -1);
    const r = fromWindow(
      lo,
      K,
      (k) => subtract(ll, log(k)),
      () => full([1], true, 'bool'),
      s,
      key,
    );
    return astype(where(equal(lb, 0), 0, r), dt);
  });
}

/**
 * Binomial samples: successes in n trials of probability p (int32).
 * @example kn.random.binomial(10, 0.5, [3], { key: kn.random.key(0) }).dtype // 'int32'
 */
export function binomial(n: Operand, p: Operand, size?: Shape | null, opts: DistOptions = {}): NDArray {
  return onDevice(optionsDevice(n, p, size, opts), 'random.binomial', () => {
    const op = 'random.binomial';
    checkParam(n, (v) => v >= 0 && Number.isInteger(v), op, 'n must be a non-negative integer');
    checkParam(p, (v) => v >= 0 && v <= 1, op, 'p must be in [0, 1]');
    const dt = intType(opts.dtype, op);
    const key = keyOf(opts.key);
    if (typeof n === 'number' && typeof p === 'number') {
      const s = sampleShape(op, size);
      if (p === 0 || n === 0) return full(s, 0, dt);
      if (p === 1) return full(s, n, dt);
      const sd = Math.sqrt(n * p * (1 - p));
      const lo = Math.max(0, Math.floor(n * p - WINDOW_SD * sd - 10)),
        hi = Math.min(n, Math.ceil(n * p + WINDOW_SD * sd + 20));
      if (hi - lo > MAX_TABLE) throw new RangeError(`[${op}] n ${n} is too large`);
      const base = lgammaHost(n + 1);
      const logp = Float64Array.from({ length: hi - lo + 1 }, (_, i) => {
        const k = lo + i;
        return base - lgammaHost(k + 1) - lgammaHost(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
      });
      return fromTable(logp, lo, s, key, dt, op);
    }
    const na = astype(asArray(n, op), 'float64'),
      pa = astype(asArray(p, op), 'float64');
    const s = sampleShape(op, size, na, pa);
    return astype(binomialArrays(broadcastTo(na, s), broadcastTo(pa, s), s, key), dt);
  });
}

function binomialArrays(nb: NDArray, pb: NDArray, s: number[], key: NDArray): NDArray {
  const nmax = Number(max(nb).item());
  const K = Math.min(nmax + 1, Math.ceil(2 * WINDOW_SD * Math.sqrt(nmax / 4) + 31));
  const q = minimum(maximum(pb, 1e-300), 1 - 1e-16);
  const sd = sqrt(multiply(multiply(nb, q), subtract(1, q)));
  const lo = maximum(minimum(subtract(subtract(multiply(nb, q), multiply(sd, WINDOW_SD)), 10).floor(), subtract(nb, K - 1)), 0);
  const nn = expandDims(nb, -1),
    lr = expandDims(subtract(log(q), log1p(negative(q))), -1);
  // p(k) / p(k - 1) = (n - k + 1) / k · p / (1 - p)
  const r = fromWindow(
    lo,
    K,
    (k) => add(subtract(log(maximum(add(subtract(nn, k), 1), 1e-300)), log(k)), lr),
    (k) => lessEqual(k, nn),
    s,
    key,
  );
  return where(logicalOr(equal(pb, 0), equal(nb, 0)), 0, where(equal(pb, 1), nb, r));
}

/**
 * Multinomial samples: counts of n draws over categories of probabilities pvals; shape size + [k]
 * (sequential conditional binomials, as numpy).
 * @example kn.random.multinomial(10, [0.2, 0.3, 0.5], [2], { key: kn.random.key(0) }).sum(-1).tolist() // [10, 10]
 */
export function multinomial(n: number, pvals: ArrayInput, size: Shape = [], opts: DistOptions = {}): NDArray {
  return onDevice(optionsDevice(n, pvals, size, opts), 'random.multinomial', () => {
    const op = 'random.multinomial';
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`[${op}] n must be a non-negative integer, got ${fmtValue(n)}`);
    const pa = Array.isArray(pvals) ? arrayFrom(pvals, 'float64', op) : asArray(pvals, op);
    if (pa.ndim !== 1 || pa.size === 0) throw new Error(`[${op}] pvals must be a non-empty 1-d array, got shape ${fmtShape(pa.shape)}`);
    const ph = Array.from(pa.astype('float64').toTypedArray() as Float64Array);
    if (ph.some((v) => !(v >= 0 && v <= 1))) throw new RangeError(`[${op}] pvals must be in [0, 1], got ${fmtValue(ph)}`);
    const head = ph.slice(0, -1).reduce((s, v) => s + v, 0);
    if (head > 1 + 1e-12) throw new RangeError(`[${op}] sum(pvals[:-1]) = ${head} > 1`);
    const dt = intType(opts.dtype, op);
    const s = checkShape(size, op);
    const ks = keys(keyOf(opts.key), ph.length);
    let left: NDArray = full(s, n, 'float64');
    let rest = 1;
    const counts: NDArray[] = [];
    for (let i = 0; i < ph.length - 1; i++) {
      const pi = rest > 0 ? Math.min(1, Math.max(0, ph[i] / rest)) : 0;
      const x = binomialArrays(left, full(s, pi, 'float64'), s, ks[i]);
      counts.push(x);
      left = subtract(left, x);
      rest -= ph[i];
    }
    counts.push(left);
    return astype(stack(counts, -1), dt);
  });
}

// ---- Generator ----------------------------------------------------------------------------------

/**
 * numpy's Generator (from `kn.random.defaultRng(seed)`): numpy's method names over kiln's threefry
 * keys. Each call splits the generator's key, so a seed gives a reproducible stream (the numbers
 * are kiln's, not numpy's PCG64 ones).
 */
export class Generator {
  private state: NDArray;
  constructor(seed: number | bigint | NDArray) {
    this.state = seed instanceof NDArray ? seed : makeKey(seed);
  }
  /** the next subkey (the state moves on; evaluated so the key chain never grows) */
  nextKey(): NDArray {
    const [next, sub] = Array.from(split(this.state));
    next.eval();
    sub.eval();
    this.state = next;
    return sub;
  }
  random(size: Shape = [], opts: { dtype?: DType } = {}): NDArray {
    return random(size, { ...opts, key: this.nextKey() });
  }
  /** integers in [low, high) (or [0, low) with one bound; `endpoint: true` includes high) */
  integers(low: number, high?: number | null, size: Shape = [], opts: { dtype?: DType; endpoint?: boolean } = {}): NDArray {
    let lo = low,
      hi = high ?? undefined;
    if (hi === undefined) [lo, hi] = [0, low];
    if (opts.endpoint) hi += 1;
    return randint(lo, hi, size, { key: this.nextKey(), dtype: opts.dtype ?? 'int32' });
  }
  uniform(low: Operand = 0, high: Operand = 1, size: Shape = [], opts: { dtype?: DType } = {}): NDArray {
    return uniform(low, high, size, { key: this.nextKey(), dtype: opts.dtype });
  }
  normal(loc: Operand = 0, scale: Operand = 1, size?: Shape | null, opts: { dtype?: DType } = {}): NDArray {
    const dt = floatType(opts.dtype, 'Generator.normal');
    const s = sampleShape('Generator.normal', size, asArray(loc, 'Generator.normal'), asArray(scale, 'Generator.normal'));
    return normal(s, { key: this.nextKey(), loc, scale, dtype: dt });
  }
  standardNormal(size: Shape = [], opts: { dtype?: DType } = {}): NDArray {
    return normal(checkShape(size, 'Generator.standardNormal'), { key: this.nextKey(), dtype: opts.dtype });
  }
  exponential(scale: Operand = 1, size?: Shape | null, opts: { dtype?: DType } = {}): NDArray {
    return exponential(scale, size, { ...opts, key: this.nextKey() });
  }
  standardExponential(size: Shape = [], opts: { dtype?: DType } = {}): NDArray {
    return exponential(1, size, { ...opts, key: this.nextKey() });
  }
  lognormal(mean: Operand = 0, sigma: Operand = 1, size?: Shape | null, opts: { dtype?: DType } = {}): NDArray {
    return lognormal(mean, sigma, size, { ...opts, key: this.nextKey() });
  }
  gamma(shape: Operand, scale: Operand = 1, size?: Shape | null, opts: { dtype?: DType } = {}): NDArray {
    return gamma(shape, scale, size, { ...opts, key: this.nextKey() });
  }
  standardGamma(shape: Operand, size?: Shape | null, opts: { dtype?: DType } = {}): NDArray {
    return gamma(shape, 1, size, { ...opts, key: this.nextKey() });
  }
  beta(a: Operand, b: Operand, size?: Shape | null, opts: { dtype?: DType } = {}): NDArray {
    return beta(a, b, size, { ...opts, key: this.nextKey() });
  }
  dirichlet(alpha: ArrayInput, size: Shape = [], opts: { dtype?: DType } = {}): NDArray {
    return dirichlet(alpha, size, { ...opts, key: this.nextKey() });
  }
  poisson(lam: Operand = 1, size?: Shape | null, opts: { dtype?: DType } = {}): NDArray {
    return poisson(lam, size, { ...opts, key: this.nextKey() });
  }
  binomial(n: Operand, p: Operand, size?: Shape | null, opts: { dtype?: DType } = {}): NDArray {
    return binomial(n, p, size, { ...opts, key: this.nextKey() });
  }
  multinomial(n: number, pvals: ArrayInput, size: Shape = [], opts: { dtype?: DType } = {}): NDArray {
    return multinomial(n, pvals, size, { ...opts, key: this.nextKey() });
  }
  choice(a: number | ArrayInput, opts: Omit<ChoiceOptions, 'key'> = {}): NDArray {
    return choice(a, { ...opts, key: this.nextKey() });
  }
  /** shuffles x along axis 0 in place (the handle is rebound) */
  shuffle(x: NDArray): NDArray {
    return shuffle(x, { key: this.nextKey() });
  }
  permutation(x: number | NDArray, opts: { axis?: number } = {}): NDArray {
    return permutation(x, { ...opts, key: this.nextKey() });
  }
}

/**
 * numpy's default_rng: a Generator seeded from an integer (or a kiln key).
 * @example
 * const rng = kn.random.defaultRng(42);
 * rng.integers(0, 10, [3]).shape // [3]
 * kn.arrayEqual(kn.random.defaultRng(42).random([4]), kn.random.defaultRng(42).random([4])) // true
 */
export function defaultRng(seed: number | bigint | NDArray): Generator {
  if (!(seed instanceof NDArray) && typeof seed !== 'number' && typeof seed !== 'bigint')
    throw new TypeError(`[random.defaultRng] seed must be an integer, a bigint or a key, got ${fmtValue(seed)}`);
  return new Generator(seed);
}
