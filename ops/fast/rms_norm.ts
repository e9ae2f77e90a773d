// kn.fast.rmsNorm: x / sqrt(mean(x², last axis) + eps) * weight, accumulated in float32
// (float64 for float64) whatever the input dtype, as MLX's mx.fast.rms_norm.
import type { NDArray } from '../../core/array.js';
import type { DType } from '../../core/dtype.js';
import { fmtShape } from '../../core/shape.js';
import { add, astype, multiply, rsqrt, square } from '../elementwise.js';
import { mean } from '../reduce.js';
import { defineRules } from '../../core/rules.js';
import { make } from '../make.js';
import { arrayArg, asFloat, computeDType, finiteNumber, floatResult, fusedPrimitive, hasKernel, optionalArrayArg } from './common.js';

/**
 * The composed form (ordinary ops): also the reference the kernel is tested against and what
 * gradients differentiate. The normalised value is rounded to the output dtype before the weight
 * multiplies it, as MLX does.
 */
export function rmsNormComposed(x: NDArray, weight: NDArray | null, eps: number, out: DType): NDArray {
  const xc = astype(x, computeDType(out));
  const r = rsqrt(add(mean(square(xc), -1, { keepdims: true }), eps));
  const y = astype(multiply(xc, r), out);
  return weight ? multiply(y, astype(weight, out)) : y;
}

/** params: eps, hasWeight; inputs x [, weight]. The `rms_norm` kernel (backends/cpu/kernels/norm.cc). */
export const RmsNorm = fusedPrimitive('rmsNorm', 'rms_norm', (node) => [node.params.eps as number]);
defineRules(RmsNorm, {
  fallback: (node, inputs) => rmsNormComposed(inputs[0], node.params.hasWeight ? inputs[1] : null, node.params.eps as number, node.dtype),
});

export interface RmsNormArgs {
  x: NDArray;
  weight: NDArray | null;
  eps: number;
  out: DType;
}

/** Checks the arguments of rmsNorm and casts non-floating operands to the result dtype. */
export function rmsNormArgs(x: unknown, weight: unknown, eps: unknown): RmsNormArgs {
  const op = 'rmsNorm';
  let a = arrayArg(x, op, 'x');
  let w = optionalArrayArg(weight, op, 'weight');
  const e = finiteNumber(eps, op, 'eps', { min: 0 });
  if (a.ndim === 0) throw new Error(`[${op}] x must have at least one dimension, got a scalar`);
  const D = a.shape[a.ndim - 1];
  if (w && (w.ndim !== 1 || w.shape[0] !== D))
    throw new Error(`[${op}] weight must have shape [${D}] (the last axis of x ${fmtShape(a.shape)}), got ${fmtShape(w.shape)}`);
  const out = floatResult(w ? [a, w] : [a]);
  a = asFloat(a, out);
  if (w) w = asFloat(w, out);
  return { x: a, weight: w, eps: e, out };
}

/**
 * Root-mean-square normalisation over the last axis: `x / sqrt(mean(x², -1) + eps) * weight`.
 * Accumulates in float32 for float16/bfloat16 (float64 for float64) and returns the result dtype
 * of x and weight. `weight` has shape [D] (the last axis of x) or is null.
 * @example
 * const x = kn.array([[1, 2, 3, 4]]);
 * // x / sqrt(7.5)
 * kn.fast.rmsNorm(x, kn.ones([4]), 1e-5) // [[0.3651, 0.7303, 1.0954, 1.4606]]
 */
export function rmsNorm(x: NDArray, weight: NDArray | null, eps: number): NDArray {
  const a = rmsNormArgs(x, weight, eps);
  if (!hasKernel('rms_norm')) return rmsNormComposed(a.x, a.weight, a.eps, a.out);
  const inputs = a.weight ? [a.x, a.weight] : [a.x];
  return make(RmsNorm, { eps: a.eps, hasWeight: a.weight !== null }, inputs, a.x.shape, a.out);
}
