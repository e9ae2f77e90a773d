// Argument checks and dtype rules shared by the fast ops (rmsNorm, layerNorm, rope, attention).
import { K } from '../../backends/native.js';
import { NDArray } from '../../core/array.js';
import type { Node, Primitive } from '../../core/node.js';
import { floatFor, isFloating, resultType, type DType } from '../../core/dtype.js';
import { fmtValue } from '../../core/shape.js';
import { asArray } from '../convert.js';
import { astype } from '../elementwise.js';

/** The dtype a fast op accumulates in: float64 stays float64, everything else uses float32. */
export function computeDType(out: DType): DType {
  return out === 'float64' ? 'float64' : 'float32';
}

/** An array argument (NDArray or nested JS data), with `what` naming it in errors. */
export function arrayArg(x: unknown, op: string, what: string): NDArray {
  if (x === undefined || x === null) throw new TypeError(`[${op}] ${what} must be an array, got ${String(x)}`);
  return asArray(x, op);
}

/** An optional array argument: null/undefined mean absent. */
export function optionalArrayArg(x: unknown, op: string, what: string): NDArray | null {
  return x === undefined || x === null ? null : arrayArg(x, op, what);
}

/**
 * The result dtype of the operands (MLX's result_type); integers and bool compute in float32, as
 * `kn.mean` does.
 */
export function floatResult(arrays: readonly NDArray[]): DType {
  return floatFor(resultType(...arrays.map((a) => a.dtype)));
}

/** Non-floating operands are cast to `to` so kernels only ever see floating dtypes. */
export function asFloat(a: NDArray, to: DType): NDArray {
  return isFloating(a.dtype) ? a : astype(a, to);
}

/** A finite number option (eps, scale, base ...). */
export function finiteNumber(v: unknown, op: string, what: string, opts: { min?: number; positive?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`[${op}] ${what} must be a finite number, got ${fmtValue(v)}`);
  if (opts.min !== undefined && v < opts.min) throw new RangeError(`[${op}] ${what} must be >= ${opts.min}, got ${v}`);
  if (opts.positive && !(v > 0)) throw new RangeError(`[${op}] ${what} must be positive, got ${v}`);
  return v;
}

/** Rejects option keys the op does not know (catches typos such as `{ causal: true }`). */
export function checkOptions(opts: unknown, op: string, known: readonly string[]): Record<string, unknown> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts) || opts instanceof NDArray)
    throw new TypeError(`[${op}] options must be an object, got ${fmtValue(opts)}`);
  for (const k of Object.keys(opts)) if (!known.includes(k)) throw new TypeError(`[${op}] unknown option '${k}'; expected one of ${known.join(', ')}`);
  return opts as Record<string, unknown>;
}

/** Whether the loaded native backend has `kernel` (an older build falls back to the composed form). */
export function hasKernel(kernel: string): boolean {
  return K[kernel] !== undefined;
}

/**
 * A fused primitive lowered to one native kernel whose operands are the node's inputs in order,
 * then its output; `params` gives the kernel's parameters from the node's.
 */
export function fusedPrimitive(name: string, kernel: string, params: (node: Node) => number[]): Primitive {
  return {
    name,
    lower(node, ins, out, emit) {
      emit.kernel(kernel, params(node), [
        ...node.inputs.map((x, i) => ({ view: ins[i], dtype: x.dtype, shape: x.shape })),
        { view: out, dtype: node.dtype, shape: node.shape },
      ]);
    },
  };
}
