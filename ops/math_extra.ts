// numpy elementwise functions written from existing ops: hypot, cbrt, fmod, fmax, fmin, gcd, lcm,
// sinc, heaviside. fmod, fmax, fmin, sinc and heaviside are exact; hypot and cbrt agree with libm to
// about an ulp (hypot scales by the larger magnitude, cbrt refines a power by one Newton step in
// float64); gcd and lcm run Euclid's algorithm for as many steps as the dtype's width needs.
import type { NDArray } from '../core/array.js';
import { floatFor, isFloating, isInteger, resultType, type DType } from '../core/dtype.js';
import { asArray } from './convert.js';
import {
  abs,
  add,
  astype,
  divide,
  equal,
  exp,
  floorDivide,
  greater,
  isfinite,
  isinf,
  isnan,
  less,
  log,
  logicalAnd,
  logicalOr,
  maximum,
  minimum,
  multiply,
  negative,
  remainder,
  sign,
  sin,
  sqrt,
  subtract,
  where,
  type Operand,
} from './elementwise.js';

function pairOf(a: Operand, b: Operand, op: string): [NDArray, NDArray, DType] {
  const x = asArray(a, op),
    y = asArray(b, op);
  return [x, y, resultType(x.dtype, y.dtype)];
}

/**
 * sqrt(a² + b²) without overflow or underflow in the squares (numpy's hypot); inf if either is inf.
 * @example kn.hypot(kn.array([3, 1e200]), kn.array([4, 1e200], 'float64')).tolist() // [5, 1.4142135623730952e200]
 */
export function hypot(a: Operand, b: Operand): NDArray {
  const [x0, y0, dt0] = pairOf(a, b, 'hypot');
  const dt = floatFor(dt0);
  const x = abs(astype(x0, dt)),
    y = abs(astype(y0, dt));
  const m = maximum(x, y),
    n = minimum(x, y);
  const r = multiply(m, sqrt(add(1, multiply(divide(n, where(equal(m, 0), 1, m)), divide(n, where(equal(m, 0), 1, m))))));
  return where(logicalOr(isinf(x), isinf(y)), Infinity, where(equal(m, 0), 0, r));
}

/**
 * Real cube root (numpy's cbrt), negative for negative inputs. Integers compute in float32.
 * @example kn.cbrt(kn.array([27, -8, 2])).tolist() // [3, -2, 1.2599]
 */
export function cbrt(a: Operand): NDArray {
  const x0 = asArray(a, 'cbrt');
  const dt = floatFor(x0.dtype);
  const x = astype(x0, 'float64');
  const ax = abs(x);
  let y = exp(divide(log(ax), 3));
  // one Newton step on y³ = |x| (the power is a few ulps off; this brings it to about one)
  const y2 = multiply(y, y);
  y = where(logicalAnd(greater(ax, 0), isfinite(ax)), subtract(y, divide(subtract(multiply(y2, y), ax), multiply(3, y2))), ax);
  return astype(where(equal(x, 0), x, multiply(sign(x), y)), dt);
}

/** sign bit of a float (true for -0 as well as negatives) */
const signbit = (x: NDArray) => logicalOr(less(x, 0), logicalAnd(equal(x, 0), less(divide(1, x), 0)));

/**
 * C's fmod: the remainder of a / b with the sign of the dividend a (numpy's fmod; `kn.remainder`
 * is Python's %, signed like the divisor). Exact: the remainder of the magnitudes, signed.
 * @example kn.fmod(kn.array([-3, -2, -1, 1, 2, 3]), 2).tolist() // [-1, 0, -1, 1, 0, 1]
 */
export function fmod(a: Operand, b: Operand): NDArray {
  const [x0, y0, dt] = pairOf(a, b, 'fmod');
  const x = astype(x0, dt),
    y = astype(y0, dt);
  if (isInteger(dt) || dt === 'bool') {
    if (dt === 'bool') throw new TypeError('[fmod] is not defined for bool arrays');
    const r = remainder(abs(x), abs(y));
    return where(less(x, 0), negative(r), r);
  }
  const r = remainder(abs(x), abs(y));
  return where(signbit(x), negative(r), r);
}

/**
 * Elementwise maximum that ignores NaN: the other value is returned when one is NaN (numpy's fmax).
 * @example kn.fmax(kn.array([1, NaN, NaN]), kn.array([NaN, 2, NaN])).tolist() // [1, 2, NaN]
 */
export function fmax(a: Operand, b: Operand): NDArray {
  const [x0, y0, dt] = pairOf(a, b, 'fmax');
  const x = astype(x0, dt),
    y = astype(y0, dt);
  if (!isFloating(dt)) return maximum(x, y);
  return where(isnan(x), y, where(isnan(y), x, maximum(x, y)));
}

/**
 * Elementwise minimum that ignores NaN (numpy's fmin).
 * @example kn.fmin(kn.array([1, NaN, 5]), kn.array([NaN, 2, 3])).tolist() // [1, 2, 3]
 */
export function fmin(a: Operand, b: Operand): NDArray {
  const [x0, y0, dt] = pairOf(a, b, 'fmin');
  const x = astype(x0, dt),
    y = astype(y0, dt);
  if (!isFloating(dt)) return minimum(x, y);
  return where(isnan(x), y, where(isnan(y), x, minimum(x, y)));
}

function intPair(a: Operand, b: Operand, op: string): [NDArray, NDArray, DType] {
  const [x0, y0, dt] = pairOf(a, b, op);
  if (!isInteger(dt)) throw new TypeError(`[${op}] is defined for integer arrays only, got ${dt}`);
  return [astype(x0, dt), astype(y0, dt), dt];
}

const STEPS: Partial<Record<DType, number>> = { int8: 12, uint8: 13, int16: 24, uint16: 25, int32: 47, uint32: 48, int64: 93, uint64: 94 };

/**
 * Greatest common divisor of |a| and |b| (numpy's gcd; gcd(0, 0) = 0). Integers only.
 * @example kn.gcd(kn.array([12, 20, 0]), kn.array([20, 15, 0])).tolist() // [4, 5, 0]
 */
export function gcd(a: Operand, b: Operand): NDArray {
  const [x, y, dt] = intPair(a, b, 'gcd');
  let p = abs(x),
    q = abs(y);
  // Euclid: (p, q) -> (q, p mod q); a Fibonacci pair needs the most steps, bounded by the width
  for (let i = 0; i < (STEPS[dt] ?? 94); i++) {
    const zero = equal(q, 0);
    const r = remainder(p, where(zero, 1, q));
    p = where(zero, p, q);
    q = where(zero, q, r);
  }
  return p;
}

/**
 * Least common multiple of |a| and |b| (numpy's lcm; lcm(x, 0) = 0). Integers only.
 * @example kn.lcm(kn.array([4, 6, 0]), kn.array([6, 10, 3])).tolist() // [12, 30, 0]
 */
export function lcm(a: Operand, b: Operand): NDArray {
  const [x, y] = intPair(a, b, 'lcm');
  const g = gcd(x, y);
  return abs(multiply(floorDivide(x, where(equal(g, 0), 1, g)), y));
}

/**
 * Normalised sinc: sin(πx) / (πx), 1 at 0 (numpy's sinc). Integers compute in float32.
 * @example kn.sinc(kn.array([0, 0.5, 1])).tolist() // [1, 0.6366, 0]
 */
export function sinc(x: Operand): NDArray {
  const a0 = asArray(x, 'sinc');
  const a = astype(a0, floatFor(a0.dtype));
  const y = multiply(where(equal(a, 0), 1e-20, a), Math.PI);
  return divide(sin(y), y);
}

/**
 * Heaviside step: 0 for x < 0, h0 at x == 0, 1 for x > 0, NaN for NaN (numpy's heaviside).
 * @example kn.heaviside(kn.array([-1.5, 0, 2]), 0.5).tolist() // [0, 0.5, 1]
 */
export function heaviside(x: Operand, h0: Operand): NDArray {
  const [a0, b0, dt0] = pairOf(x, h0, 'heaviside');
  const dt = floatFor(dt0);
  const a = astype(a0, dt),
    b = astype(b0, dt);
  return where(isnan(a), a, where(less(a, 0), 0, where(greater(a, 0), 1, b)));
}
