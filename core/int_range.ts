// Which JS numbers an integer dtype can hold, and the dtype a JS number takes on its own: whole
// numbers outside int32 become int64 (uint64 from 2^63), so nothing wraps silently (issue 17).
import type { DType } from './dtype.js';

const RANGES: Partial<Record<DType, readonly [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  // doubles: the bounds below are exact, and every double < 2^63 (2^64) fits int64 (uint64)
  int64: [-(2 ** 63), 2 ** 63],
  uint64: [0, 2 ** 64],
};
const BIG_RANGES: Partial<Record<DType, readonly [bigint, bigint]>> = {
  int8: [-128n, 127n],
  uint8: [0n, 255n],
  int16: [-32768n, 32767n],
  uint16: [0n, 65535n],
  int32: [-2147483648n, 2147483647n],
  uint32: [0n, 4294967295n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

const FLOAT32_MAX = 3.4028234663852886e38;

/** A whole number that is not -0 (whose sign only a float keeps). */
export const isWhole = (x: number): boolean => Number.isInteger(x) && !Object.is(x, -0);

/**
 * Whether integer dtype `d` holds `x` after truncation toward zero (the cast kiln applies to JS
 * data); NaN and infinities fit no integer dtype.
 */
export function fitsInt(x: number | bigint, d: DType): boolean {
  if (typeof x === 'bigint') {
    const r = BIG_RANGES[d];
    return r !== undefined && x >= r[0] && x <= r[1];
  }
  const r = RANGES[d];
  if (!r || !Number.isFinite(x)) return false;
  const t = Math.trunc(x);
  // 64-bit upper bounds are exclusive (2^63, 2^64 are doubles; the dtype maxima are not)
  return t >= r[0] && (d === 'int64' || d === 'uint64' ? t < r[1] : t <= r[1]);
}

/**
 * The integer dtype a whole JS number takes alone (int32, else int64, else uint64) or a bigint
 * (int64, else uint64); undefined when no integer dtype holds it.
 */
export function intDTypeOf(x: number | bigint): 'int32' | 'int64' | 'uint64' | undefined {
  if (typeof x === 'number' && fitsInt(x, 'int32')) return 'int32';
  if (fitsInt(x, 'int64')) return 'int64';
  if (fitsInt(x, 'uint64')) return 'uint64';
  return undefined;
}

/** float32 unless a finite value would overflow it to infinity (then float64). */
export const floatDTypeOf = (x: number): 'float32' | 'float64' => (Number.isFinite(x) && Math.abs(x) > FLOAT32_MAX ? 'float64' : 'float32');
