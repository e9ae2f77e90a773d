// kn.fast.layerNorm: (x - mean) / sqrt(var + eps) * weight + bias over the last axis, accumulated
// in float32 (float64 for float64), as MLX's mx.fast.layer_norm.
import type { NDArray } from '../../core/array.js';
import type { DType } from '../../core/dtype.js';
import { fmtShape } from '../../core/shape.js';
import { add, astype, multiply, rsqrt, square, subtract } from '../elementwise.js';
import { mean } from '../reduce.js';
import { defineRules } from '../../core/rules.js';
import { make } from '../make.js';
import { arrayArg, asFloat, computeDType, finiteNumber, floatResult, fusedPrimitive, hasKernel, optionalArrayArg } from './common.js';

/**
 * The composed form: reference for the kernel and what gradients differentiate. The normalised
 * value is rounded to the output dtype, then multiplied by weight and bias added in that dtype.
 */
export function layerNormComposed(x: NDArray, weight: NDArray | null, bias: NDArray | null, eps: number, out: DType): NDArray {
  const xc = astype(x, computeDType(out));
  const centred = subtract(xc, mean(xc, -1, { keepdims: true }));
  const variance = mean(square(centred), -1, { keepdims: true });
  let y = astype(multiply(centred, rsqrt(add(variance, eps))), out);
  if (weight) y = multiply(y, astype(weight, out));
  if (bias) y = add(y, astype(bias, out));
  return y;
}

/**
 * params: eps, hasWeight, hasBias; inputs x [, weight] [, bias]. The `layer_norm` kernel
 * (backends/cpu/kernels/norm.cc).
 */
export const LayerNorm = fusedPrimitive('layerNorm', 'layer_norm', (node) => [
  node.params.eps as number,
  node.params.hasWeight ? 1 : 0,
  node.params.hasBias ? 1 : 0,
]);
defineRules(LayerNorm, {
  fallback: (node, inputs) => {
    const w = node.params.hasWeight ? inputs[1] : null;
    const b = node.params.hasBias ? inputs[node.params.hasWeight ? 2 : 1] : null;
    return layerNormComposed(inputs[0], w, b, node.params.eps as number, node.dtype);
  },
});

export interface LayerNormArgs {
  x: NDArray;
  weight: NDArray | null;
  bias: NDArray | null;
  eps: number;
  out: DType;
}

/** Checks the arguments of layerNorm and casts non-floating operands to the result dtype. */
export function layerNormArgs(x: unknown, weight: unknown, bias: unknown, eps: unknown): LayerNormArgs {
  const op = 'layerNorm';
  const a = arrayArg(x, op, 'x');
  const w = optionalArrayArg(weight, op, 'weight');
  const b = optionalArrayArg(bias, op, 'bias');
  const e = finiteNumber(eps, op, 'eps', { min: 0 });
  if (a.ndim === 0) throw new Error(`[${op}] x must have at least one dimension, got a scalar`);
  const D = a.shape[a.ndim - 1];
  for (const [v, name] of [
    [w, 'weight'],
    [b, 'bias'],
  ] as const)
    if (v && (v.ndim !== 1 || v.shape[0] !== D))
      throw new Error(`[${op}] ${name} must have shape [${D}] (the last axis of x ${fmtShape(a.shape)}), got ${fmtShape(v.shape)}`);
  const present = [a, w, b].filter((v): v is NDArray => v !== null);
  const out = floatResult(present);
  return { x: asFloat(a, out), weight: w && asFloat(w, out), bias: b && asFloat(b, out), eps: e, out };
}

/**
 * Layer normalisation over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias`
 * (weight and bias of shape [D], either may be null). Accumulates in float32 for 16-bit floats
 * (float64 for float64) and returns the result dtype of the operands.
 * @example
 * const x = kn.array([[1, 2, 3]]);
 * kn.fast.layerNorm(x, null, null, 1e-5) // [[-1.2247, 0, 1.2247]]
 */
export function layerNorm(x: NDArray, weight: NDArray | null, bias: NDArray | null, eps: number): NDArray {
  const a = layerNormArgs(x, weight, bias, eps);
  if (!hasKernel('layer_norm')) return layerNormComposed(a.x, a.weight, a.bias, a.eps, a.out);
  const inputs = [a.x, a.weight, a.bias].filter((v): v is NDArray => v !== null);
  const params = { eps: a.eps, hasWeight: a.weight !== null, hasBias: a.bias !== null };
  return make(LayerNorm, params, inputs, a.x.shape, a.out);
}
