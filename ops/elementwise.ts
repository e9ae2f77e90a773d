// Elementwise ops: casts, unary math, binary arithmetic/comparison/logic with broadcasting and
// weak scalar promotion (MLX / NEP 50: a JS number adopts the array's dtype where it fits).
import { NDArray } from '../core/array.js';
import { floatFor, isBool, isFloating, isInteger, promoteTypes, scalarDType, toDType, weakScalarPromote, type DType } from '../core/dtype.js';
import type { Scalar } from '../core/host.js';
import { Binary, Copy, Unary, Where } from '../core/primitives.js';
import { broadcastShapes, shapeEqual } from '../core/shape.js';
import { asArray, scalarArray } from './convert.js';
import { make } from './make.js';
import { broadcastTo } from './views.js';
import { hook } from './complex/hooks.js';

export type Operand = NDArray | Scalar;

const isScalar = (x: unknown): x is Scalar => typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint';

/**
 * Casts to another dtype (float→int truncates toward zero, like numpy's astype).
 * @example kn.array([1.7, -1.7]).astype('int32') // [1, -1]
 */
export function astype(a: NDArray, dtype: DType): NDArray {
  const x = asArray(a, 'astype');
  const d = toDType(dtype, 'astype');
  if (d === x.dtype) return x;
  // numpy: a complex value is true when either part is nonzero (the copy kernel keeps the real part)
  if (x.dtype === 'complex64' && d === 'bool') return notEqual(x, 0);
  return make(Copy, {}, [x], x.node.shape, d);
}

/** Dtype two operands meet at, honouring weak scalars. */
export function operandsDType(a: Operand, b: Operand, op: string): DType {
  if (isScalar(a) && isScalar(b)) return promoteTypes(scalarDType(a), scalarDType(b));
  if (isScalar(a)) return weakScalarPromote(asArray(b, op).dtype, a);
  if (isScalar(b)) return weakScalarPromote(asArray(a, op).dtype, b);
  return promoteTypes(asArray(a, op).dtype, asArray(b, op).dtype);
}

/** An operand as an array of `dtype` (scalars become lazily filled 0-d arrays). */
export function operandAs(x: Operand, dtype: DType, op: string): NDArray {
  if (isScalar(x)) return scalarArray(x, dtype, op);
  return astype(asArray(x, op), dtype);
}

// ---- unary --------------------------------------------------------------------------------

type UnaryKind = 'float' | 'numeric' | 'rounding' | 'predicate' | 'logical' | 'bitwise';

function unary(op: string, name: string, kind: UnaryKind, a: Operand): NDArray {
  let x = asArray(a, name);
  const d = x.dtype;
  if (d === 'complex64') return hook('unary', name)(op, name, x);
  switch (kind) {
    case 'float':
      x = astype(x, floatFor(d));
      return make(Unary, { op }, [x], x.node.shape, x.dtype);
    case 'rounding':
      if (!isFloating(d)) return x; // exact on integers and booleans
      return make(Unary, { op }, [x], x.node.shape, d);
    case 'numeric':
      if (isBool(d)) {
        if (op === 'abs' || op === 'square') return x;
        throw new TypeError(`[${name}] is not supported for bool arrays (use logicalNot)`);
      }
      return make(Unary, { op }, [x], x.node.shape, d);
    case 'predicate':
    case 'logical':
      return make(Unary, { op }, [x], x.node.shape, 'bool');
    case 'bitwise':
      if (isFloating(d)) throw new TypeError(`[${name}] is only defined for integer and bool arrays, got ${d}`);
      return make(Unary, { op }, [x], x.node.shape, d);
  }
}

/** Elementwise -a. @example kn.negative(kn.array([1, -2])) // [-1, 2] */
export const negative = (a: Operand): NDArray => unary('neg', 'negative', 'numeric', a);
/** @example kn.abs(kn.array([-1.5, 2])) // [1.5, 2] */
export const abs = (a: Operand): NDArray => unary('abs', 'abs', 'numeric', a);
/** -1, 0 or 1 by sign (NaN stays NaN). @example kn.sign(kn.array([-3, 0, 2])) // [-1, 0, 1] */
export const sign = (a: Operand): NDArray => unary('sign', 'sign', 'numeric', a);
/** @example kn.square(kn.array([3])) // [9] */
export const square = (a: Operand): NDArray => unary('square', 'square', 'numeric', a);
/** e^x; integers compute in float32. @example kn.exp(kn.array([0, 1])) // [1, 2.7183] */
export const exp = (a: Operand): NDArray => unary('exp', 'exp', 'float', a);
/** @example kn.expm1(kn.array([1e-10])) // [1e-10] */
export const expm1 = (a: Operand): NDArray => unary('expm1', 'expm1', 'float', a);
/** Natural logarithm. @example kn.log(kn.array([1, Math.E])) // [0, 1] */
export const log = (a: Operand): NDArray => unary('log', 'log', 'float', a);
/** @example kn.log1p(kn.array([1e-10])) // [1e-10] */
export const log1p = (a: Operand): NDArray => unary('log1p', 'log1p', 'float', a);
/** @example kn.log2(kn.array([8])) // [3] */
export const log2 = (a: Operand): NDArray => unary('log2', 'log2', 'float', a);
/** @example kn.log10(kn.array([100])) // [2] */
export const log10 = (a: Operand): NDArray => unary('log10', 'log10', 'float', a);
/** @example kn.sqrt(kn.array([4, 9])) // [2, 3] */
export const sqrt = (a: Operand): NDArray => unary('sqrt', 'sqrt', 'float', a);
/** 1/sqrt(x). @example kn.rsqrt(kn.array([4])) // [0.5] */
export const rsqrt = (a: Operand): NDArray => unary('rsqrt', 'rsqrt', 'float', a);
/** 1/x in floating point. @example kn.reciprocal(kn.array([4])) // [0.25] */
export const reciprocal = (a: Operand): NDArray => unary('reciprocal', 'reciprocal', 'float', a);
/** @example kn.sin(kn.array([0])) // [0] */
export const sin = (a: Operand): NDArray => unary('sin', 'sin', 'float', a);
/** @example kn.cos(kn.array([0])) // [1] */
export const cos = (a: Operand): NDArray => unary('cos', 'cos', 'float', a);
/** @example kn.tan(kn.array([0])) // [0] */
export const tan = (a: Operand): NDArray => unary('tan', 'tan', 'float', a);
/** @example kn.arcsin(kn.array([1])) // [1.5708] */
export const arcsin = (a: Operand): NDArray => unary('arcsin', 'arcsin', 'float', a);
/** @example kn.arccos(kn.array([1])) // [0] */
export const arccos = (a: Operand): NDArray => unary('arccos', 'arccos', 'float', a);
/** @example kn.arctan(kn.array([1])) // [0.7854] */
export const arctan = (a: Operand): NDArray => unary('arctan', 'arctan', 'float', a);
/** @example kn.sinh(kn.array([1])) // [1.1752] */
export const sinh = (a: Operand): NDArray => unary('sinh', 'sinh', 'float', a);
/** @example kn.cosh(kn.array([1])) // [1.5431] */
export const cosh = (a: Operand): NDArray => unary('cosh', 'cosh', 'float', a);
/** @example kn.tanh(kn.array([0.5])) // [0.4621] */
export const tanh = (a: Operand): NDArray => unary('tanh', 'tanh', 'float', a);
/** @example kn.arcsinh(kn.array([1])) // [0.8814] */
export const arcsinh = (a: Operand): NDArray => unary('arcsinh', 'arcsinh', 'float', a);
/** @example kn.arccosh(kn.array([2])) // [1.317] */
export const arccosh = (a: Operand): NDArray => unary('arccosh', 'arccosh', 'float', a);
/** @example kn.arctanh(kn.array([0.5])) // [0.5493] */
export const arctanh = (a: Operand): NDArray => unary('arctanh', 'arctanh', 'float', a);
/** Logistic function 1/(1+e^-x), stable for large |x|. @example kn.sigmoid(kn.array([0])) // [0.5] */
export const sigmoid = (a: Operand): NDArray => unary('sigmoid', 'sigmoid', 'float', a);
/** Gauss error function. @example kn.erf(kn.array([0.5])) // [0.5205] */
export const erf = (a: Operand): NDArray => unary('erf', 'erf', 'float', a);
/** Inverse error function. @example kn.erfinv(kn.array([0.5])) // [0.4769] */
export const erfinv = (a: Operand): NDArray => unary('erfinv', 'erfinv', 'float', a);
/** @example kn.floor(kn.array([1.5, -1.5])) // [1, -2] */
export const floor = (a: Operand): NDArray => unary('floor', 'floor', 'rounding', a);
/** @example kn.ceil(kn.array([1.5, -1.5])) // [2, -1] */
export const ceil = (a: Operand): NDArray => unary('ceil', 'ceil', 'rounding', a);
/** Rounds toward zero. @example kn.trunc(kn.array([1.5, -1.5])) // [1, -1] */
export const trunc = (a: Operand): NDArray => unary('trunc', 'trunc', 'rounding', a);
/** @example kn.isnan(kn.array([NaN, 1])) // [true, false] */
export const isnan = (a: Operand): NDArray => unary('isnan', 'isnan', 'predicate', a);
/** @example kn.isinf(kn.array([Infinity, 1])) // [true, false] */
export const isinf = (a: Operand): NDArray => unary('isinf', 'isinf', 'predicate', a);
/** @example kn.isfinite(kn.array([Infinity, 1])) // [false, true] */
export const isfinite = (a: Operand): NDArray => unary('isfinite', 'isfinite', 'predicate', a);
/** @example kn.logicalNot(kn.array([true, false])) // [false, true] */
export const logicalNot = (a: Operand): NDArray => unary('logical_not', 'logicalNot', 'logical', a);
/** Bitwise NOT of integers (logical NOT of bools). @example kn.bitwiseInvert(kn.array([0], 'uint8')) // [255] */
export const bitwiseInvert = (a: Operand): NDArray => unary('bitwise_invert', 'bitwiseInvert', 'bitwise', a);

/**
 * Rounds half to even (numpy's `round`); `decimals` may be negative.
 * @example kn.round(kn.array([0.5, 1.5, 2.5])) // [0, 2, 2]
 */
export function round(a: Operand, decimals = 0): NDArray {
  if (!Number.isInteger(decimals)) throw new TypeError(`[round] decimals must be an integer, got ${decimals}`);
  const x = asArray(a, 'round');
  if (decimals === 0) return unary('round', 'round', 'rounding', x);
  if (!isFloating(x.dtype)) {
    if (decimals > 0) return x;
    // integer rounding to a power of ten, half to even, exactly (no float round trip)
    const f = 10 ** -decimals;
    const q = floorDivide(x, f),
      r = subtract(x, multiply(q, f));
    const half = f / 2; // f is a power of ten >= 10, so this is an integer
    const up = logicalOr(greater(r, half), logicalAnd(equal(r, half), notEqual(remainder(q, 2), 0)));
    return multiply(add(q, astype(up, x.dtype)), f);
  }
  const f = 10 ** decimals;
  return divide(unary('round', 'round', 'rounding', multiply(x, f)), f);
}

// ---- binary -------------------------------------------------------------------------------

/** An operand at the broadcast shape already computed for it (no re-check when it is already there). */
const expandTo = (x: NDArray, shape: readonly number[]): NDArray => (shapeEqual(x.node.shape, shape) ? x : broadcastTo(x, shape));

type BinaryKind = 'arith' | 'closed' | 'float' | 'compare' | 'logical' | 'bitwise' | 'shift' | 'intdiv';

function binary(op: string, name: string, kind: BinaryKind, a: Operand, b: Operand): NDArray {
  let dt = operandsDType(a, b, name);
  if (dt === 'complex64') return hook('binary', name)(op, name, a, b);
  let out: DType;
  switch (kind) {
    case 'float':
      dt = floatFor(dt);
      out = dt;
      break;
    case 'compare':
    case 'logical':
      out = 'bool';
      break;
    case 'bitwise':
      if (isFloating(dt)) throw new TypeError(`[${name}] is only defined for integer and bool arrays, got ${dt}`);
      out = dt;
      break;
    case 'shift':
      if (!isInteger(dt)) throw new TypeError(`[${name}] is only defined for integer arrays, got ${dt}`);
      out = dt;
      break;
    case 'arith':
    case 'intdiv':
      if (isBool(dt)) {
        if (op === 'subtract') throw new TypeError(`[${name}] boolean subtract is not supported; use logicalXor`);
        dt = kind === 'intdiv' || op === 'power' ? 'int8' : dt;
      }
      out = dt;
      break;
    case 'closed':
      out = dt;
      break;
  }
  const x = operandAs(a, dt, name),
    y = operandAs(b, dt, name);
  const shape = broadcastShapes(name, x.node.shape, y.node.shape);
  return make(Binary, { op }, [expandTo(x, shape), expandTo(y, shape)], shape, out);
}

/** @example kn.add(kn.array([1, 2]), 1) // [2, 3] */
export const add = (a: Operand, b: Operand): NDArray => binary('add', 'add', 'closed', a, b);
/** @example kn.subtract(kn.array([3]), 1) // [2] */
export const subtract = (a: Operand, b: Operand): NDArray => binary('subtract', 'subtract', 'arith', a, b);
/** @example kn.multiply(kn.array([2]), 3) // [6] */
export const multiply = (a: Operand, b: Operand): NDArray => binary('multiply', 'multiply', 'closed', a, b);
/** True division; integers divide in float32. @example kn.divide(kn.array([1]), 2) // [0.5] */
export const divide = (a: Operand, b: Operand): NDArray => binary('divide', 'divide', 'float', a, b);
/** a ** b (integer powers stay integer). @example kn.power(kn.array([2]), 10) // [1024] */
export const power = (a: Operand, b: Operand): NDArray => binary('power', 'power', 'arith', a, b);
/** Elementwise maximum, NaN-propagating. @example kn.maximum(kn.array([1, 5]), 3) // [3, 5] */
export const maximum = (a: Operand, b: Operand): NDArray => binary('maximum', 'maximum', 'closed', a, b);
/** Elementwise minimum, NaN-propagating. @example kn.minimum(kn.array([1, 5]), 3) // [1, 3] */
export const minimum = (a: Operand, b: Operand): NDArray => binary('minimum', 'minimum', 'closed', a, b);
/** Remainder with the sign of the divisor (Python/numpy `%`). @example kn.remainder(kn.array([-3]), 2) // [1] */
export const remainder = (a: Operand, b: Operand): NDArray => binary('remainder', 'remainder', 'intdiv', a, b);
/** Floor division (numpy `//`). @example kn.floorDivide(kn.array([-3]), 2) // [-2] */
export const floorDivide = (a: Operand, b: Operand): NDArray => binary('floor_divide', 'floorDivide', 'intdiv', a, b);
/** @example kn.equal(kn.array([1, 2]), 2) // [false, true] */
export const equal = (a: Operand, b: Operand): NDArray => binary('equal', 'equal', 'compare', a, b);
/** @example kn.notEqual(kn.array([1, 2]), 2) // [true, false] */
export const notEqual = (a: Operand, b: Operand): NDArray => binary('not_equal', 'notEqual', 'compare', a, b);
/** @example kn.less(kn.array([1, 2]), 2) // [true, false] */
export const less = (a: Operand, b: Operand): NDArray => binary('less', 'less', 'compare', a, b);
/** @example kn.lessEqual(kn.array([1, 2]), 2) // [true, true] */
export const lessEqual = (a: Operand, b: Operand): NDArray => binary('less_equal', 'lessEqual', 'compare', a, b);
/** @example kn.greater(kn.array([1, 2]), 1) // [false, true] */
export const greater = (a: Operand, b: Operand): NDArray => binary('greater', 'greater', 'compare', a, b);
/** @example kn.greaterEqual(kn.array([1, 2]), 2) // [false, true] */
export const greaterEqual = (a: Operand, b: Operand): NDArray => binary('greater_equal', 'greaterEqual', 'compare', a, b);
/** @example kn.logicalAnd(kn.array([true, false]), true) // [true, false] */
export const logicalAnd = (a: Operand, b: Operand): NDArray => binary('logical_and', 'logicalAnd', 'logical', a, b);
/** @example kn.logicalOr(kn.array([true, false]), false) // [true, false] */
export const logicalOr = (a: Operand, b: Operand): NDArray => binary('logical_or', 'logicalOr', 'logical', a, b);
/** @example kn.logicalXor(kn.array([true, false]), true) // [false, true] */
export const logicalXor = (a: Operand, b: Operand): NDArray => binary('logical_xor', 'logicalXor', 'logical', a, b);
/** log(e^a + e^b), computed stably. @example kn.logaddexp(kn.array([0]), 0) // [0.6931] */
export const logaddexp = (a: Operand, b: Operand): NDArray => binary('logaddexp', 'logaddexp', 'float', a, b);
/** Quadrant-aware arctan(a / b). @example kn.arctan2(kn.array([1]), -1) // [2.3562] */
export const arctan2 = (a: Operand, b: Operand): NDArray => binary('arctan2', 'arctan2', 'float', a, b);
/** @example kn.bitwiseAnd(kn.array([12]), 10) // [8] */
export const bitwiseAnd = (a: Operand, b: Operand): NDArray => binary('bitwise_and', 'bitwiseAnd', 'bitwise', a, b);
/** @example kn.bitwiseOr(kn.array([12]), 10) // [14] */
export const bitwiseOr = (a: Operand, b: Operand): NDArray => binary('bitwise_or', 'bitwiseOr', 'bitwise', a, b);
/** @example kn.bitwiseXor(kn.array([12]), 10) // [6] */
export const bitwiseXor = (a: Operand, b: Operand): NDArray => binary('bitwise_xor', 'bitwiseXor', 'bitwise', a, b);
/** @example kn.leftShift(kn.array([1]), 4) // [16] */
export const leftShift = (a: Operand, b: Operand): NDArray => binary('left_shift', 'leftShift', 'shift', a, b);
/** @example kn.rightShift(kn.array([16]), 4) // [1] */
export const rightShift = (a: Operand, b: Operand): NDArray => binary('right_shift', 'rightShift', 'shift', a, b);

/**
 * Picks from `x` where `cond` is true and from `y` elsewhere, broadcasting all three.
 * (`kn.where(cond)` with one argument is numpy's nonzero: see ops/datadep.ts.)
 * @example kn.where(kn.array([true, false]), 1, 2) // [1, 2]
 */
export function where(cond: Operand, x: Operand, y: Operand): NDArray {
  if (x === undefined || y === undefined) throw new TypeError('[where] expected one argument (cond) or three (cond, x, y)');
  const c = astype(isScalar(cond) ? scalarArray(cond, 'bool') : asArray(cond, 'where'), 'bool');
  const dt = operandsDType(x, y, 'where');
  const xa = operandAs(x, dt, 'where'),
    ya = operandAs(y, dt, 'where');
  const shape = broadcastShapes('where', c.node.shape, xa.node.shape, ya.node.shape);
  return make(Where, {}, [expandTo(c, shape), expandTo(xa, shape), expandTo(ya, shape)], shape, dt);
}
