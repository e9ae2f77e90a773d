// numpy's dtype utilities: finfo, iinfo, canCast, issubdtype (resultType/promoteTypes live in core).
import { isFloating, isInteger, isSignedInt, isUnsigned, promoteTypes, toDType, type DType } from '../core/dtype.js';

export interface FInfo {
  dtype: DType;
  bits: number;
  eps: number;
  max: number;
  min: number;
  tiny: number;
  smallestSubnormal: number;
  precision: number;
  resolution: number;
}
export interface IInfo {
  dtype: DType;
  bits: number;
  min: number | bigint;
  max: number | bigint;
}

const F: Record<string, Omit<FInfo, 'dtype'>> = {
  float16: { bits: 16, eps: 2 ** -10, max: 65504, min: -65504, tiny: 2 ** -14, smallestSubnormal: 2 ** -24, precision: 3, resolution: 1e-3 },
  bfloat16: {
    bits: 16,
    eps: 2 ** -7,
    max: 3.3895313892515355e38,
    min: -3.3895313892515355e38,
    tiny: 2 ** -126,
    smallestSubnormal: 2 ** -133,
    precision: 2,
    resolution: 1e-2,
  },
  float32: {
    bits: 32,
    eps: 2 ** -23,
    max: 3.4028234663852886e38,
    min: -3.4028234663852886e38,
    tiny: 2 ** -126,
    smallestSubnormal: 2 ** -149,
    precision: 6,
    resolution: 1e-6,
  },
  float64: {
    bits: 64,
    eps: 2 ** -52,
    max: Number.MAX_VALUE,
    min: -Number.MAX_VALUE,
    tiny: 2 ** -1022,
    smallestSubnormal: Number.MIN_VALUE,
    precision: 15,
    resolution: 1e-15,
  },
};

/**
 * Machine limits of a float dtype (numpy's finfo).
 * @example kn.finfo('float16').max // 65504
 */
export function finfo(dtype: DType): FInfo {
  const d = toDType(dtype, 'finfo');
  if (!isFloating(d)) throw new TypeError(`[finfo] ${d} is not a floating dtype (use iinfo)`);
  return { dtype: d, ...F[d] };
}

/**
 * Limits of an integer dtype (numpy's iinfo); 64-bit limits are bigints.
 * @example kn.iinfo('int8').min // -128
 */
export function iinfo(dtype: DType): IInfo {
  const d = toDType(dtype, 'iinfo');
  if (!isInteger(d)) throw new TypeError(`[iinfo] ${d} is not an integer dtype (use finfo)`);
  const bits = { int8: 8, int16: 16, int32: 32, int64: 64, uint8: 8, uint16: 16, uint32: 32, uint64: 64 }[d as string]!;
  if (bits === 64) {
    return isUnsigned(d) ? { dtype: d, bits, min: 0n, max: 2n ** 64n - 1n } : { dtype: d, bits, min: -(2n ** 63n), max: 2n ** 63n - 1n };
  }
  return isUnsigned(d) ? { dtype: d, bits, min: 0, max: 2 ** bits - 1 } : { dtype: d, bits, min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 };
}

/**
 * Whether values of `from` convert to `to` without loss under numpy's 'safe' rule.
 * @example kn.canCast('int8', 'float16') // true
 */
export function canCast(from: DType, to: DType): boolean {
  const f = toDType(from, 'canCast'),
    t = toDType(to, 'canCast');
  if (f === t || f === 'bool') return true;
  if (t === 'bool') return false;
  if (isFloating(f)) {
    if (!isFloating(t)) return false;
    if (f === 'float16') return t !== 'bfloat16';
    if (f === 'bfloat16') return t === 'float32' || t === 'float64';
    return f === 'float32' ? t === 'float64' : false;
  }
  const bits = (d: DType) => ({ int8: 8, int16: 16, int32: 32, int64: 64, uint8: 8, uint16: 16, uint32: 32, uint64: 64 })[d as string]!;
  if (isFloating(t)) {
    // exact integer range of each float: float16 and bfloat16 hold 8-bit ints, float32 16-bit,
    // float64 everything (numpy counts int64 -> float64 as safe)
    const maxBits = { float16: 8, bfloat16: 8, float32: 16, float64: 64 }[t as string]!;
    return bits(f) <= maxBits;
  }
  if (isUnsigned(f)) return isUnsigned(t) ? bits(t) >= bits(f) : bits(t) > bits(f);
  return isSignedInt(t) && bits(t) >= bits(f);
}

export type DTypeCategory = 'generic' | 'number' | 'integer' | 'signedinteger' | 'unsignedinteger' | 'floating' | 'bool';

/**
 * numpy's issubdtype over kiln's dtype categories.
 * @example kn.issubdtype('int8', 'integer') // true
 */
export function issubdtype(dtype: DType, category: DType | DTypeCategory): boolean {
  const d = toDType(dtype, 'issubdtype');
  switch (category) {
    case 'generic':
      return true;
    case 'number':
      return d !== 'bool';
    case 'integer':
      return isInteger(d);
    case 'signedinteger':
      return isSignedInt(d);
    case 'unsignedinteger':
      return isUnsigned(d);
    case 'floating':
      return isFloating(d);
    default:
      return toDType(category, 'issubdtype') === d;
  }
}

export { promoteTypes };
