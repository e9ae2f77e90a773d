// Dtypes, their sizes and categories, and type promotion (MLX's table, numpy-like).
import { nativeInfo } from '../backends/native.js';
import { fitsInt, floatDTypeOf, intDTypeOf, isWhole } from './int_range.js';

export const DTYPES = [
  'bool',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'int8',
  'int16',
  'int32',
  'int64',
  'float16',
  'bfloat16',
  'float32',
  'float64',
  'complex64',
] as const;
export type DType = (typeof DTYPES)[number];

const SIZES: Record<DType, number> = {
  bool: 1,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float16: 2,
  bfloat16: 2,
  float32: 4,
  float64: 8,
  complex64: 8,
};

// Native dtype codes, checked against the addon's own table at load time.
export const DTYPE_CODE: Record<DType, number> = Object.fromEntries(DTYPES.map((d, i) => [d, i])) as Record<DType, number>;
// an addon built before complex64 lacks only the last code (complex ops then fail natively)
if (nativeInfo.dtypes.join() !== DTYPES.join() && nativeInfo.dtypes.join() !== DTYPES.slice(0, -1).join()) {
  throw new Error(`[kiln] native dtype table ${nativeInfo.dtypes.join()} does not match ${DTYPES.join()}`);
}

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function toDType(x: unknown, op: string): DType {
  if (isDType(x)) return x;
  throw new TypeError(`[${op}] unknown dtype ${JSON.stringify(x)}; expected one of ${DTYPES.join(', ')}`);
}

export const itemsize = (d: DType): number => SIZES[d];
export const isFloating = (d: DType): boolean => d === 'float16' || d === 'bfloat16' || d === 'float32' || d === 'float64';
export const isUnsigned = (d: DType): boolean => d === 'uint8' || d === 'uint16' || d === 'uint32' || d === 'uint64';
export const isSignedInt = (d: DType): boolean => d === 'int8' || d === 'int16' || d === 'int32' || d === 'int64';
export const isInteger = (d: DType): boolean => isUnsigned(d) || isSignedInt(d);
export const isBool = (d: DType): boolean => d === 'bool';
/** complex64: interleaved float32 (re, im) pairs, as numpy and MLX store them. */
export const isComplex = (d: DType): boolean => d === 'complex64';

const INT_BY_SIZE: Record<number, DType> = { 1: 'int8', 2: 'int16', 4: 'int32', 8: 'int64' };

/** Result dtype of combining two dtypes in a binary op (MLX's promotion table). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'bool') return b;
  if (b === 'bool') return a;
  if (a === 'complex64' || b === 'complex64') return 'complex64'; // MLX: even with float64 (numpy: complex128)
  const fa = isFloating(a),
    fb = isFloating(b);
  if (fa && fb) {
    if (a === 'float64' || b === 'float64') return 'float64';
    if (a === 'float32' || b === 'float32') return 'float32';
    return 'float32'; // float16 with bfloat16
  }
  if (fa) return a; // integer with float keeps the float type
  if (fb) return b;
  const ua = isUnsigned(a),
    ub = isUnsigned(b);
  if (ua === ub) return SIZES[a] >= SIZES[b] ? a : b;
  const [u, s] = ua ? [a, b] : [b, a];
  if (SIZES[s] > SIZES[u]) return s;
  if (SIZES[u] === 8) return 'float32'; // uint64 with a signed int has no integer home
  return INT_BY_SIZE[SIZES[u] * 2];
}

/** numpy's `result_type` over several dtypes. */
export function resultType(...dtypes: DType[]): DType {
  if (dtypes.length === 0) throw new Error('[resultType] needs at least one dtype');
  return dtypes.reduce(promoteTypes);
}

/**
 * Dtype of a JS scalar used alone: bool; whole numbers int32, outside int32 int64 (uint64 from
 * 2^63, float64 beyond); other numbers (and -0, whose sign only a float keeps) float32, float64
 * past float32's range; bigints int64 (uint64 from 2^63).
 */
export function scalarDType(x: number | boolean | bigint): DType {
  if (typeof x === 'boolean') return 'bool';
  if (typeof x === 'bigint') return intDTypeOf(x) ?? 'int64';
  return isWhole(x) ? (intDTypeOf(x) ?? 'float64') : floatDTypeOf(x);
}

/**
 * Dtype when a JS scalar meets an array of dtype `d`: scalars are weakly typed (as in MLX and
 * NEP 50), so `float16Array + 1.5` stays float16 and `int8Array + 1` stays int8. A whole number
 * that an integer `d` cannot hold is not wrapped: it takes its own dtype and the two promote
 * (`int32Array + 3e9` is int64, `uint8Array + 300` int32). As an operand -0 is the number 0.
 */
export function weakScalarPromote(d: DType, x: number | boolean | bigint): DType {
  if (typeof x === 'boolean' || isFloating(d) || d === 'complex64') return d;
  if (typeof x === 'bigint' || Number.isInteger(x)) {
    if (d !== 'bool' && fitsInt(x, d)) return d;
    const own = Object.is(x, -0) ? 'int32' : scalarDType(x);
    return d === 'bool' ? own : promoteTypes(d, own);
  }
  return 'float32';
}

/** Float dtype an op like `exp` or `divide` computes in for input dtype `d`. */
export function floatFor(d: DType): DType {
  return isFloating(d) || d === 'complex64' ? d : 'float32';
}
