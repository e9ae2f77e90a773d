// Turning JS values into arrays: nested lists, typed arrays, scalars.
import { NDArray } from '../core/array.js';
import type { DeviceLike } from '../core/device.js';
import { isDType, toDType, scalarDType, type DType } from '../core/dtype.js';
import { encode, Float16Array, type Scalar } from '../core/host.js';
import { native } from '../backends/native.js';
import { BufferRef, Constant, Node } from '../core/node.js';
import { contiguousStrides, fmtValue, sizeOf } from '../core/shape.js';
import { isInteger, itemsize } from '../core/dtype.js';
import { fitsInt, floatDTypeOf, intDTypeOf, isWhole } from '../core/int_range.js';
import { Full } from '../core/primitives.js';
import { isFloat16Array } from '@petamoriken/float16';
import { encodeComplexNested, hasComplexLeaf, isComplexValue } from '../core/complex_host.js';

export type ArrayInput = NDArray | Scalar | NestedInput | ArrayBufferView;
export interface NestedInput extends ReadonlyArray<Scalar | NestedInput> {}
export type DTypeArg = DType | { dtype?: DType } | undefined;
/** The creation ops' dtype argument: a dtype, or `{ dtype, device }` (device: where the array is made, core/device.ts). */
export type CreationDTypeArg = DType | { dtype?: DType; device?: DeviceLike } | undefined;

/** The dtype of a dtype argument; `{ device }` is accepted only where the op handles it (`allowDevice`). */
export function dtypeArg(arg: unknown, op: string, allowDevice = false): DType | undefined {
  if (arg === undefined || arg === null) return undefined;
  if (typeof arg === 'string') return toDType(arg, op);
  if (typeof arg === 'object' && ('dtype' in (arg as object) || 'device' in (arg as object))) {
    if (!allowDevice && 'device' in (arg as object)) throw new TypeError(`[${op}] takes no device option: run it inside kn.withDevice(device, () => ...)`);
    const d = (arg as { dtype?: unknown }).dtype;
    return d === undefined ? undefined : toDType(d, op);
  }
  throw new TypeError(`[${op}] expected a dtype string or { dtype, device }, got ${String(arg)}`);
}

/** The `device` of creation options (undefined for a dtype string or no options). */
export function deviceIn(arg: unknown): DeviceLike | undefined {
  return arg !== null && typeof arg === 'object' && 'device' in (arg as object) ? (arg as { device?: DeviceLike }).device : undefined;
}

function typedArrayDType(t: ArrayBufferView): DType | undefined {
  if (isFloat16Array(t)) return 'float16';
  if (t instanceof Float32Array) return 'float32';
  if (t instanceof Float64Array) return 'float64';
  if (t instanceof Int32Array) return 'int32';
  if (t instanceof Int16Array) return 'int16';
  if (t instanceof Int8Array) return 'int8';
  if (t instanceof Uint8Array || t instanceof Uint8ClampedArray) return 'uint8';
  if (t instanceof Uint16Array) return 'uint16';
  if (t instanceof Uint32Array) return 'uint32';
  if (t instanceof BigInt64Array) return 'int64';
  if (t instanceof BigUint64Array) return 'uint64';
  return undefined;
}

/** Shape and flat values of a nested JS list; throws on ragged or non-numeric input. */
function flattenNested(data: unknown, op: string): { shape: number[]; flat: Scalar[] } {
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const flat: Scalar[] = [];
  const walk = (x: unknown, d: number, path: string) => {
    if (d === shape.length) {
      if (Array.isArray(x)) throw new Error(`[${op}] ragged nested list: element ${path} is a list, expected a scalar`);
      if (typeof x !== 'number' && typeof x !== 'boolean' && typeof x !== 'bigint')
        throw new TypeError(`[${op}] element ${path || '(root)'} is ${x === null ? 'null' : typeof x}, expected a number, boolean or bigint`);
      flat.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d])
      throw new Error(
        `[${op}] ragged nested list: element ${path || '(root)'} has ${Array.isArray(x) ? `length ${x.length}` : 'a scalar'}, expected length ${shape[d]}`,
      );
    for (let i = 0; i < x.length; i++) walk(x[i], d + 1, `${path}[${i}]`);
  };
  walk(data, 0, '');
  return { shape, flat };
}

/**
 * numpy's choice narrowed to kiln's defaults: bool; whole numbers int32, or int64 when one is
 * outside int32 (uint64 when every one is past int64, float64 when such a value meets others:
 * numpy's uint64 + int64); any other number (-0 included: only a float keeps its sign) makes
 * float32, or float64 when a value would overflow float32.
 */
function inferDType(flat: readonly Scalar[]): DType {
  if (flat.length === 0) return 'float32';
  let allBool = true,
    allWhole = true,
    wide = false, // some value outside int32
    huge = 0, // values past int64 (uint64 or nothing)
    ints = 0,
    float64 = false;
  for (const v of flat) {
    if (typeof v === 'boolean') continue;
    allBool = false;
    if (typeof v === 'number') {
      if (floatDTypeOf(v) === 'float64') float64 = true;
      if (!isWhole(v)) {
        allWhole = false;
        continue;
      }
    }
    ints++;
    const d = intDTypeOf(v);
    if (d !== 'int32') wide = true;
    if (d !== 'int32' && d !== 'int64') huge++;
  }
  if (allBool) return 'bool';
  if (!allWhole) return float64 ? 'float64' : 'float32';
  if (!wide) return 'int32';
  if (!huge) return 'int64';
  // a bigint nothing holds raises in encode (int64 names the nearest home)
  if (flat.some((v) => typeof v === 'bigint' && !fitsInt(v, 'uint64'))) return 'int64';
  return huge === ints && flat.every((v) => typeof v === 'boolean' || fitsInt(v, 'uint64')) ? 'uint64' : 'float64';
}

/** An array that owns a fresh buffer holding `raw` (already encoded for `dtype`). */
export function fromRaw(raw: ArrayBufferView, shape: number[], dtype: DType): NDArray {
  const nbytes = sizeOf(shape) * itemsize(dtype);
  const buf = new BufferRef(native.alloc(nbytes), nbytes).retain();
  try {
    native.write(buf.id, 0, raw);
  } catch (e) {
    buf.release();
    throw e;
  }
  const node = new Node(Constant, {}, [], shape, dtype);
  node.data = { buf, offset: 0, strides: contiguousStrides(shape) };
  return new NDArray(node);
}

/** Builds an array from JS data (see `kn.array`). */
export function arrayFrom(data: unknown, dtype: DType | undefined, op = 'array'): NDArray {
  if (data instanceof NDArray) {
    throw new TypeError(`[${op}] expected JS data; use kn.asarray or a.astype() for an existing array`);
  }
  if (isFloat16Array(data) || (ArrayBuffer.isView(data) && !(data instanceof DataView))) {
    const src = typedArrayDType(data as ArrayBufferView);
    if (!src) throw new TypeError(`[${op}] unsupported typed array ${data.constructor.name}`);
    const dt = dtype ?? src;
    const len = (data as unknown as { length: number }).length;
    let raw: ArrayBufferView;
    if (dt === src && src !== 'float16') raw = data as ArrayBufferView;
    else if (src === 'float16' && dt === 'float16') {
      const f = data as unknown as Float16Array;
      raw = new Uint16Array(f.buffer, f.byteOffset, len);
    } else raw = encode(Array.from(data as unknown as ArrayLike<Scalar>), dt, op);
    return fromRaw(raw, [len], dt);
  }
  if (typeof data === 'number' || typeof data === 'boolean' || typeof data === 'bigint') {
    const dt = dtype ?? scalarDType(data);
    return fromRaw(encode([data], dt, op), [], dt);
  }
  const complexData = () => {
    if (dtype !== undefined && dtype !== 'complex64') throw new TypeError(`[${op}] complex values ({ re, im }) need dtype complex64, got ${dtype}`);
    const { shape, raw } = encodeComplexNested(data, op);
    return fromRaw(raw, shape, 'complex64');
  };
  if (dtype === 'complex64' || isComplexValue(data)) return complexData();
  if (!Array.isArray(data)) {
    throw new TypeError(`[${op}] cannot build an array from ${data === null ? 'null' : typeof data}`);
  }
  let nested: ReturnType<typeof flattenNested>;
  try {
    nested = flattenNested(data, op);
  } catch (e) {
    // { re, im } leaves: only looked for once a real list failed, so real lists pay nothing
    if (e instanceof TypeError && hasComplexLeaf(data)) return complexData();
    throw e;
  }
  const { shape, flat } = nested;
  if (shape.length > 32) throw new RangeError(`[${op}] at most 32 dimensions are supported`);
  const dt = dtype ?? inferDType(flat);
  return fromRaw(encode(flat, dt, op), shape, dt);
}

/**
 * A lazily filled 0-d array (no host round trip), used for scalars in ops and kn.full. An integer
 * dtype that cannot hold `value` raises; a bigint a double cannot carry exactly goes through host
 * memory instead of the fill kernel's float64 parameter.
 */
export function scalarArray(value: Scalar, dtype: DType, op = 'array'): NDArray {
  if (typeof value === 'bigint' && BigInt(Number(value)) !== value) return fromRaw(encode([value], dtype, op), [], dtype);
  if (typeof value !== 'boolean' && isInteger(dtype) && !fitsInt(value, dtype)) throw new RangeError(`[${op}] ${String(value)} does not fit ${dtype}`);
  const v = typeof value === 'boolean' ? (value ? 1 : 0) : Number(value);
  return new NDArray(new Node(Full, { value: v }, [], [], dtype));
}

/** Accepts an NDArray or JS data (for op arguments). */
export function asArray(x: unknown, op: string, dtype?: DType): NDArray {
  if (x instanceof NDArray) {
    x.node; // throws if disposed
    return x;
  }
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint') return scalarArray(x, dtype ?? scalarDType(x), op);
  if (isDType(x)) throw new TypeError(`[${op}] expected an array, got the dtype name '${x}'`);
  return arrayFrom(x, dtype, op);
}

/** Options must be an object: `kn.sum(a, -1, true)` would otherwise drop keepdims silently. */
export function checkOptions(opts: unknown, op: string, example: string): void {
  if (opts !== undefined && opts !== null && (typeof opts !== 'object' || Array.isArray(opts)))
    throw new TypeError(`[${op}] options must be an object such as ${example}, got ${fmtValue(opts)}`);
}
