// Conversions between JS values and the raw bytes of each dtype on the host.
// float16 goes through @petamoriken/float16; bfloat16 is the top half of a float32 (bit ops).
import { Float16Array } from '@petamoriken/float16';
import type { DType } from './dtype.js';
import { fitsInt } from './int_range.js';

export type Scalar = number | boolean | bigint;
export type HostTypedArray =
  Uint8Array | Uint16Array | Uint32Array | BigUint64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array | Float16Array;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function floatToBfloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bfloat16BitsToFloat(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** An integer dtype never wraps JS data: a value it cannot hold (after truncation) is an error. */
function checkFits(v: Scalar, dtype: DType, op: string): void {
  if (typeof v !== 'boolean' && !fitsInt(v, dtype)) throw new RangeError(`[${op}] ${String(v)} does not fit ${dtype}`);
}

function toBig(v: Scalar, dtype: DType, op: string): bigint {
  checkFits(v, dtype, op);
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return BigInt(Math.trunc(v));
}

function toNum(v: Scalar): number {
  return typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
}

/**
 * Raw storage for `values` in `dtype` (float16/bfloat16 as 16-bit patterns). Integer dtypes
 * raise on values they cannot hold (`[array] 3000000000 does not fit int32`), as numpy 2 does.
 */
export function encode(values: ArrayLike<Scalar>, dtype: DType, op = 'array'): ArrayBufferView {
  const n = values.length;
  switch (dtype) {
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
      return out;
    }
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = toBig(values[i], dtype, op);
      return out;
    }
    case 'uint64': {
      const out = new BigUint64Array(n);
      for (let i = 0; i < n; i++) out[i] = toBig(values[i], dtype, op);
      return out;
    }
    case 'float16': {
      const out = new Float16Array(n);
      for (let i = 0; i < n; i++) out[i] = toNum(values[i]);
      return new Uint16Array(out.buffer);
    }
    case 'complex64': {
      // real values (complex ones go through core/complex_host.ts): im = 0
      const out = new Float32Array(2 * n);
      for (let i = 0; i < n; i++) out[2 * i] = toNum(values[i]);
      return out;
    }
    case 'bfloat16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToBfloat16Bits(toNum(values[i]));
      return out;
    }
    default: {
      const Ctor = {
        uint8: Uint8Array,
        uint16: Uint16Array,
        uint32: Uint32Array,
        int8: Int8Array,
        int16: Int16Array,
        int32: Int32Array,
        float32: Float32Array,
        float64: Float64Array,
      }[dtype];
      const out = new Ctor(n);
      const isInt = dtype !== 'float32' && dtype !== 'float64';
      if (isInt)
        for (let i = 0; i < n; i++) {
          checkFits(values[i], dtype, op);
          out[i] = Math.trunc(toNum(values[i])); // floats truncate toward zero, as numpy's astype
        }
      else for (let i = 0; i < n; i++) out[i] = toNum(values[i]);
      return out;
    }
  }
}

/** A user-facing typed array over raw bytes of `dtype` (bfloat16 widens to Float32Array). */
export function decode(raw: ArrayBuffer, dtype: DType): HostTypedArray {
  switch (dtype) {
    case 'bool':
    case 'uint8':
      return new Uint8Array(raw);
    case 'uint16':
      return new Uint16Array(raw);
    case 'uint32':
      return new Uint32Array(raw);
    case 'uint64':
      return new BigUint64Array(raw);
    case 'int8':
      return new Int8Array(raw);
    case 'int16':
      return new Int16Array(raw);
    case 'int32':
      return new Int32Array(raw);
    case 'int64':
      return new BigInt64Array(raw);
    case 'float16':
      return new Float16Array(raw);
    case 'bfloat16': {
      const bits = new Uint16Array(raw);
      const out = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = bfloat16BitsToFloat(bits[i]);
      return out;
    }
    case 'float32':
      return new Float32Array(raw);
    case 'float64':
      return new Float64Array(raw);
    case 'complex64': // interleaved (re, im) pairs
      return new Float32Array(raw);
  }
}

/** JS values for tolist()/item(): booleans for bool, numbers otherwise (64-bit ints as numbers). */
export function toScalars(t: HostTypedArray, dtype: DType): Scalar[] {
  const out: Scalar[] = new Array(t.length);
  if (dtype === 'bool') for (let i = 0; i < t.length; i++) out[i] = t[i] !== 0;
  else if (dtype === 'int64' || dtype === 'uint64') for (let i = 0; i < t.length; i++) out[i] = Number(t[i]);
  else for (let i = 0; i < t.length; i++) out[i] = t[i] as number;
  return out;
}

export { Float16Array };
