// Array creation: array/asarray, zeros, ones, full, *Like, arange. Each takes a dtype or the
// options `{ dtype, device }` in the dtype's place (device: where the array is made and its
// fill kernels run; default kn.withDevice's or the default device).
import { NDArray } from '../core/array.js';
import { isInteger, scalarDType, type DType } from '../core/dtype.js';
import { fitsInt, isWhole } from '../core/int_range.js';
import type { Scalar } from '../core/host.js';
import { Arange, Full } from '../core/primitives.js';
import { checkShape } from '../core/shape.js';
import { onDevice } from '../core/device.js';
import { arrayFrom, asArray, deviceIn, dtypeArg, scalarArray, type CreationDTypeArg as DTypeArg } from './convert.js';
import { astype } from './elementwise.js';
import { make } from './make.js';
import { broadcastTo } from './views.js';

/**
 * Creates an array from nested JS lists, a typed array, a number, a boolean or a bigint.
 * Whole numbers become int32, or int64 when one is outside int32 (exact up to 2^53, as numpy's
 * int64); other numbers float32 (-0 too: its sign survives); booleans bool; typed arrays keep
 * their type. An integer dtype that cannot hold a value raises instead of wrapping.
 * @example kn.array([[1, 2], [3, 4]]) // [[1, 2], [3, 4]]
 * @example kn.array([1, 2], 'float16') // [1, 2]
 * @example kn.array([2 ** 40]).dtype // 'int64'
 * @example kn.array([1, 2], { dtype: 'int8', device: 'cpu' }) // [1, 2]
 */
export function array(data: unknown, dtype?: DTypeArg): NDArray {
  return onDevice(deviceIn(dtype), 'array', () => arrayFrom(data, dtypeArg(dtype, 'array', true), 'array'));
}

/**
 * Like `array`, but returns an existing NDArray unchanged (or cast when a dtype is given).
 * @example
 * const a = kn.array([1, 2]);
 * kn.asarray(a) === a // true
 * kn.asarray([1, 2], 'float16').dtype // 'float16'
 */
export function asarray(data: unknown, dtype?: DTypeArg): NDArray {
  const dt = dtypeArg(dtype, 'asarray', true);
  return onDevice(deviceIn(dtype), 'asarray', () => {
    if (data instanceof NDArray) return dt && dt !== data.dtype ? astype(data, dt) : data;
    return arrayFrom(data, dt, 'asarray');
  });
}

/**
 * An array of `shape` filled with `value` (dtype inferred from the value unless given).
 * @example kn.full([2, 2], 7) // [[7, 7], [7, 7]]
 */
export function full(shape: number | readonly number[], value: Scalar | NDArray, dtype?: DTypeArg): NDArray {
  const device = deviceIn(dtype);
  return device === undefined ? fullOn(shape, value, dtype) : onDevice(device, 'full', () => fullOn(shape, value, dtype));
}

function fullOn(shape: number | readonly number[], value: Scalar | NDArray, dtype: DTypeArg): NDArray {
  const s = checkShape(shape, 'full');
  const dt = dtypeArg(dtype, 'full', true);
  if (value instanceof NDArray) {
    // broadcast an array value, as MLX allows
    return broadcastValue(value, s, dt);
  }
  if (typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'bigint')
    throw new TypeError(`[full] fill value must be a number, boolean or bigint, got ${typeof value}`);
  const d = dt ?? scalarDType(value);
  const v = scalarArray(value, d, 'full'); // raises when an integer dtype cannot hold the value
  if (v.node.primitive !== Full) return broadcastTo(v, s);
  const filled = make(Full, v.node.params, [], s, d);
  v.dispose();
  return filled;
}

function broadcastValue(value: NDArray, shape: number[], dt: DType | undefined): NDArray {
  return broadcastTo(dt && dt !== value.dtype ? astype(value, dt) : value, shape);
}

/** @example kn.zeros([2, 3]) // [[0, 0, 0], [0, 0, 0]] */
export function zeros(shape: number | readonly number[], dtype?: DTypeArg): NDArray {
  return onDevice(deviceIn(dtype), 'zeros', () => full(shape, 0, dtypeArg(dtype, 'zeros', true) ?? 'float32'));
}

/** @example kn.ones([3], 'int32') // [1, 1, 1] */
export function ones(shape: number | readonly number[], dtype?: DTypeArg): NDArray {
  return onDevice(deviceIn(dtype), 'ones', () => full(shape, 1, dtypeArg(dtype, 'ones', true) ?? 'float32'));
}

/** @example kn.zerosLike(kn.array([1.5, 2])) // [0, 0] */
export function zerosLike(a: NDArray, dtype?: DTypeArg): NDArray {
  const x = asArray(a, 'zerosLike');
  return onDevice(deviceIn(dtype), 'zerosLike', () => full(x.shape, 0, dtypeArg(dtype, 'zerosLike', true) ?? x.dtype));
}

/** @example kn.onesLike(kn.array([[1, 2]], 'int8')) // [[1, 1]] */
export function onesLike(a: NDArray, dtype?: DTypeArg): NDArray {
  const x = asArray(a, 'onesLike');
  return onDevice(deviceIn(dtype), 'onesLike', () => full(x.shape, 1, dtypeArg(dtype, 'onesLike', true) ?? x.dtype));
}

/** @example kn.fullLike(kn.zeros([2]), 3) // [3, 3] */
export function fullLike(a: NDArray, value: Scalar, dtype?: DTypeArg): NDArray {
  const x = asArray(a, 'fullLike');
  return onDevice(deviceIn(dtype), 'fullLike', () => full(x.shape, value, dtypeArg(dtype, 'fullLike', true) ?? x.dtype));
}

/**
 * Evenly spaced values in [start, stop) like numpy: `arange(stop)`, `arange(start, stop)`,
 * `arange(start, stop, step)`, with an optional dtype last (int32 when all arguments are
 * integers, else float32).
 * @example kn.arange(5) // [0, 1, 2, 3, 4]
 * @example kn.arange(0, 1, 0.25) // [0, 0.25, 0.5, 0.75]
 */
export function arange(...args: (number | DTypeArg)[]): NDArray {
  let dtype: DType | undefined;
  let device: unknown;
  const last = args[args.length - 1];
  if (args.length && typeof last !== 'number') {
    device = deviceIn(last);
    dtype = dtypeArg(args.pop(), 'arange', true);
  }
  const nums = args as number[];
  if (nums.length < 1 || nums.length > 3 || nums.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
    throw new TypeError(`[arange] expected (stop), (start, stop) or (start, stop, step) as finite numbers, got (${args.map(String).join(', ')})`);
  const [start, stop, step] = nums.length === 1 ? [0, nums[0], 1] : nums.length === 2 ? [nums[0], nums[1], 1] : nums;
  if (step === 0) throw new RangeError('[arange] step must not be zero');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n > Number.MAX_SAFE_INTEGER) throw new RangeError(`[arange] ${n} elements is too many`);
  // whole arguments give integers: int32, or int64 when the values leave int32 (as numpy's int64)
  const end = start + (n - 1) * step;
  const dt = dtype ?? (nums.every(isWhole) ? (n === 0 || [start, end].every((v) => fitsInt(v, 'int32')) ? 'int32' : 'int64') : 'float32');
  if (isInteger(dt) && n > 0) for (const v of [start, end]) if (!fitsInt(v, dt)) throw new RangeError(`[arange] ${String(v)} does not fit ${dt}`);
  return onDevice(device, 'arange', () => make(Arange, { start, step }, [], [n], dt));
}
