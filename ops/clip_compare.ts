// More elementwise ops composed from existing ones: clip, degrees, radians, nanToNum, isposinf,
// isneginf, isclose, allclose, arrayEqual, divmod.
import type { NDArray } from '../core/array.js';
import { floatFor, isFloating, promoteTypes, type DType } from '../core/dtype.js';
import { fmtValue, shapeEqual } from '../core/shape.js';
import { tidy } from '../core/memory.js';
import { asArray } from './convert.js';
import { finfo } from './dtype_info.js';
import {
  abs,
  add,
  astype,
  equal,
  floorDivide,
  greater,
  isfinite,
  isinf,
  isnan,
  less,
  lessEqual,
  logicalAnd,
  logicalOr,
  maximum,
  minimum,
  multiply,
  operandsDType,
  remainder,
  subtract,
  where,
  type Operand,
} from './elementwise.js';
import { full } from './creation.js';
import { all } from './reduce.js';

const isNum = (x: unknown): x is number => typeof x === 'number';

function checkFinite(v: unknown, op: string, name: string): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`[${op}] ${name} must be a number, got ${fmtValue(v)}`);
  return v;
}

/**
 * Limits values to [min, max]; either bound may be null (not both). NaN stays NaN; when
 * min > max every element becomes max (numpy's order: maximum first, then minimum).
 * @example kn.clip(kn.array([-2, 0.5, 3]), 0, 1).tolist() // [0, 0.5, 1]
 * @example kn.clip(kn.array([1, 5]), null, 2).tolist() // [1, 2]
 */
export function clip(a: Operand, min: Operand | null, max: Operand | null): NDArray {
  let x = asArray(a, 'clip');
  if ((min === null || min === undefined) && (max === null || max === undefined)) throw new Error('[clip] at least one of min and max must be given');
  if (min !== null && min !== undefined) x = maximum(x, min);
  if (max !== null && max !== undefined) x = minimum(x, max);
  return x;
}

/** Radians to degrees; integers compute in float32. @example kn.degrees(kn.array([Math.PI])).item() // 180 */
export function degrees(a: Operand): NDArray {
  const x = asArray(a, 'degrees');
  return multiply(astype(x, floatFor(x.dtype)), 180 / Math.PI);
}

/** Degrees to radians; integers compute in float32. @example kn.radians(kn.array([180])).item() // 3.1416 */
export function radians(a: Operand): NDArray {
  const x = asArray(a, 'radians');
  return multiply(astype(x, floatFor(x.dtype)), Math.PI / 180);
}

export interface NanToNumOptions {
  /** replacement for NaN (default 0) */
  nan?: number;
  /** replacement for +inf (default: the dtype's largest finite value) */
  posinf?: number;
  /** replacement for -inf (default: the dtype's most negative finite value) */
  neginf?: number;
}

/**
 * Replaces NaN with 0 and ±inf with the dtype's largest finite values (or the given numbers).
 * Integer and bool arrays come back unchanged.
 * @example kn.nanToNum(kn.array([NaN, Infinity, -1])).tolist() // [0, 3.4028234663852886e38, -1]
 * @example kn.nanToNum(kn.array([NaN, -Infinity]), { nan: -1, neginf: -9 }).tolist() // [-1, -9]
 */
export function nanToNum(a: Operand, opts: NanToNumOptions = {}): NDArray {
  const x = asArray(a, 'nanToNum');
  if (!isFloating(x.dtype)) return x;
  const fi = finfo(x.dtype);
  const nan = opts.nan === undefined ? 0 : checkFinite(opts.nan, 'nanToNum', 'nan');
  const posinf = opts.posinf === undefined ? fi.max : checkFinite(opts.posinf, 'nanToNum', 'posinf');
  const neginf = opts.neginf === undefined ? fi.min : checkFinite(opts.neginf, 'nanToNum', 'neginf');
  // each where meets x, so the JS-number replacements take x's dtype (weak scalars)
  const noInf = where(isposinf(x), posinf, where(isneginf(x), neginf, x));
  return where(isnan(x), nan, noInf);
}

/** True where the element is +inf. @example kn.isposinf(kn.array([Infinity, -Infinity, 1])).tolist() // [true, false, false] */
export function isposinf(a: Operand): NDArray {
  const x = asArray(a, 'isposinf');
  return logicalAnd(isinf(x), greater(x, 0));
}

/** True where the element is -inf. @example kn.isneginf(kn.array([Infinity, -Infinity, 1])).tolist() // [false, true, false] */
export function isneginf(a: Operand): NDArray {
  const x = asArray(a, 'isneginf');
  return logicalAnd(isinf(x), less(x, 0));
}

export interface IscloseOptions {
  /** relative tolerance (default 1e-5) */
  rtol?: number;
  /** absolute tolerance (default 1e-8) */
  atol?: number;
  /** count NaN == NaN as close (default false) */
  equalNan?: boolean;
}

function tolerances(opts: IscloseOptions, op: string): { rtol: number; atol: number; equalNan: boolean } {
  const rtol = opts.rtol ?? 1e-5,
    atol = opts.atol ?? 1e-8,
    equalNan = opts.equalNan ?? false;
  if (!isNum(rtol) || !(rtol >= 0)) throw new RangeError(`[${op}] rtol must be a non-negative number, got ${fmtValue(rtol)}`);
  if (!isNum(atol) || !(atol >= 0)) throw new RangeError(`[${op}] atol must be a non-negative number, got ${fmtValue(atol)}`);
  if (typeof equalNan !== 'boolean') throw new TypeError(`[${op}] equalNan must be a boolean, got ${fmtValue(equalNan)}`);
  return { rtol, atol, equalNan };
}

/**
 * Elementwise |a - b| <= atol + rtol * |b| (numpy's asymmetric rule), with infinities close only
 * to themselves; computed in the float type the operands promote to (integers in float32), with
 * exact equality checked in the operands' own dtype.
 * @example kn.isclose(kn.array([1, 1.1]), 1).tolist() // [true, false]
 * @example kn.isclose(kn.array([NaN]), NaN, { equalNan: true }).tolist() // [true]
 */
export function isclose(a: Operand, b: Operand, opts: IscloseOptions = {}): NDArray {
  const { rtol, atol, equalNan } = tolerances(opts, 'isclose');
  const common: DType = operandsDType(a, b, 'isclose');
  const ft = floatFor(common);
  const x = astype(asArray(a, 'isclose', common), ft),
    y = astype(asArray(b, 'isclose', common), ft);
  const bound = add(multiply(abs(y), rtol), atol);
  const near = logicalAnd(lessEqual(abs(subtract(x, y)), bound), isfinite(y));
  let out = logicalOr(near, equal(a, b)); // equality in the operands' own dtype: exact, and inf == inf
  if (equalNan) out = logicalOr(out, logicalAnd(isnan(x), isnan(y)));
  return out;
}

/** Evaluates a 0-d bool array built inside `fn` to a JS boolean, freeing what `fn` made. */
const decide = (fn: () => NDArray): boolean => tidy(() => fn().item<boolean>());

/**
 * Whether every element is close (see isclose), as a JS boolean (numpy's; it evaluates now, so
 * `if (kn.allclose(a, b))` means what it says). Use `kn.all(kn.isclose(a, b))` for a lazy array.
 * @example kn.allclose(kn.array([1, 2]), kn.array([1, 2 + 1e-9])) // true
 */
export function allclose(a: Operand, b: Operand, opts: IscloseOptions = {}): boolean {
  return decide(() => all(isclose(a, b, opts)));
}

/**
 * Whether both arrays have the same shape and elements (dtypes may differ), as a JS boolean
 * (evaluated now, as numpy's); shapes that differ give false without broadcasting.
 * @example kn.arrayEqual(kn.array([1, 2]), kn.array([1, 2], 'float32')) // true
 * @example kn.arrayEqual(kn.array([NaN]), kn.array([NaN]), { equalNan: true }) // true
 */
export function arrayEqual(a: Operand, b: Operand, opts: { equalNan?: boolean } = {}): boolean {
  const equalNan = opts.equalNan ?? false;
  if (typeof equalNan !== 'boolean') throw new TypeError(`[arrayEqual] equalNan must be a boolean, got ${fmtValue(equalNan)}`);
  return decide(() => {
    const x = asArray(a, 'arrayEqual'),
      y = asArray(b, 'arrayEqual');
    if (!shapeEqual(x.shape, y.shape)) return full([], false, 'bool');
    let eq = equal(x, y);
    if (equalNan && isFloating(promoteTypes(x.dtype, y.dtype))) eq = logicalOr(eq, logicalAnd(isnan(x), isnan(y)));
    return all(eq);
  });
}

/**
 * numpy's divmod: [floorDivide(a, b), remainder(a, b)] (the remainder has the divisor's sign).
 * @example kn.divmod(kn.array([7, -7]), 2).map((t) => t.tolist()) // [[3, -4], [1, 1]]
 */
export function divmod(a: Operand, b: Operand): [NDArray, NDArray] {
  return [floorDivide(a, b), remainder(a, b)];
}
