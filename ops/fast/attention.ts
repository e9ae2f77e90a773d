// kn.fast.scaledDotProductAttention: softmax(q kᵀ * scale + mask) v with grouped-query heads,
// the softmax in float32 (float64 for float64), as MLX's mx.fast.scaled_dot_product_attention.
import type { NDArray } from '../../core/array.js';
import type { Node } from '../../core/node.js';
import { isBool, isFloating, type DType } from '../../core/dtype.js';
import { fmtShape, fmtValue } from '../../core/shape.js';
import { arange } from '../creation.js';
import { finfo } from '../dtype_info.js';
import { add, astype, lessEqual, multiply, subtract, where } from '../elementwise.js';
import { sum } from '../reduce.js';
import { matmul } from '../matmul.js';
import { softmax } from '../stats_softmax.js';
import { broadcastTo, expandDims, reshape, swapaxes } from '../views.js';
import { defineRules } from '../../core/rules.js';
import { make } from '../make.js';
import { arrayArg, asFloat, checkOptions, computeDType, finiteNumber, floatResult, fusedPrimitive, hasKernel } from './common.js';

export interface AttentionOptions {
  /** multiplies q kᵀ (default 1 / sqrt(D)) */
  scale?: number;
  /**
   * 'causal' (query i sees keys j <= i + S - L), or an array broadcastable to [B, Hq, L, S]:
   * bool (true = attend) or floating (added to the scores)
   */
  mask?: 'causal' | NDArray | null;
}

export interface AttentionArgs {
  q: NDArray;
  k: NDArray;
  v: NDArray;
  scale: number;
  /** null, 'causal', or the array mask broadcast to [B, Hq, L, S] */
  mask: null | 'causal' | NDArray;
  out: DType;
}

interface Probabilities {
  /** softmax(q kᵀ * scale + mask) in the compute dtype, [B, Hkv, rep, L, S] */
  p: NDArray;
  /** scale * q grouped under its kv head [B, Hkv, rep, L, D], k and v as [B, Hkv, 1, S, D] */
  q: NDArray;
  k: NDArray;
  v: NDArray;
  /** positions that may attend (bool and causal masks), or null */
  keep: NDArray | null;
}

/** The attention weights and the grouped operands they came from. */
function probabilities(a: AttentionArgs): Probabilities {
  const [B, Hq, L, D] = a.q.shape, [, Hkv, S] = a.k.shape;
  const c = computeDType(a.out);
  const rep = Hkv === 0 ? 1 : Hq / Hkv;
  // q heads grouped under their kv head: [B, Hkv, rep, L, D] against [B, Hkv, 1, S, D]
  const q = reshape(multiply(astype(a.q, c), a.scale), [B, Hkv, rep, L, D]);
  const k = expandDims(astype(a.k, c), 2), v = expandDims(astype(a.v, c), 2);
  let scores = matmul(q, swapaxes(k, -1, -2));
  let keep: NDArray | null = null;
  if (a.mask !== null) {
    const lowest = finfo(c).min;
    if (a.mask === 'causal') {
      keep = lessEqual(expandDims(arange(S), 0), expandDims(arange(L), 1).add(S - L));
      scores = where(keep, scores, lowest);
    } else {
      const m = reshape(a.mask, [B, Hkv, rep, L, S]);
      if (isBool(m.dtype)) {
        keep = m;
        scores = where(m, scores, lowest);
      } else scores = add(scores, astype(m, c));
    }
  }
  return { p: softmax(scores, -1), q, k, v, keep };
}

/**
 * The composed form: reference for the kernel and what vmap and jvp go through. Masked-out
 * scores become the lowest finite value (as MLX), so a query that sees no key averages v evenly.
 */
export function attentionComposed(a: AttentionArgs): NDArray {
  const [B, Hq, L] = a.q.shape, Dv = a.v.shape[3];
  const { p, v } = probabilities(a);
  return astype(reshape(matmul(p, v), [B, Hq, L, Dv]), a.out);
}

/**
 * Gradients in closed form (recomputing the weights P): dV = Pᵀ dO, dS = P ⊙ (dO Vᵀ − rowsum(dO Vᵀ ⊙ P)),
 * dQ = dS K · scale, dK = dSᵀ (scale · Q) — a few passes over the scores instead of the
 * composed softmax's many; grouped heads sum their share into the shared k and v.
 */
function attentionVjp(a: AttentionArgs, g: NDArray, wrt: readonly boolean[]): (NDArray | null)[] {
  const [B, Hq, L, D] = a.q.shape, [, Hkv, S] = a.k.shape, Dv = a.v.shape[3];
  const rep = Hkv === 0 ? 1 : Hq / Hkv;
  const { p, q, k, v, keep } = probabilities(a);
  const dO = reshape(astype(g, p.dtype), [B, Hkv, rep, L, Dv]);
  const dV = wrt[2] ? sum(matmul(swapaxes(p, -1, -2), dO), 2) : null;
  const dP = matmul(dO, swapaxes(v, -1, -2));
  let dS = multiply(p, subtract(dP, sum(multiply(dP, p), -1, { keepdims: true })));
  if (keep) dS = where(keep, dS, 0); // masked scores are constants
  const dQ = wrt[0] ? reshape(multiply(matmul(dS, k), a.scale), [B, Hq, L, D]) : null;
  const dK = wrt[1] ? sum(matmul(swapaxes(dS, -1, -2), q), 2) : null;
  const dMask = wrt[3] && a.mask !== null && a.mask !== 'causal' && !isBool(a.mask.dtype) ? reshape(dS, [B, Hq, L, S]) : null;
  return [dQ, dK, dV, dMask];
}

const MASK_KIND = { none: 0, causal: 1, array: 2 } as const;

/**
 * params: scale, mask ('none' | 'causal' | 'array'); inputs q, k, v [, mask broadcast to
 * [B, Hq, L, S]]. The `attention` kernel (backends/cpu/kernels/attention.cc).
 */
export const Attention = fusedPrimitive('scaledDotProductAttention', 'attention', (node) => [
  node.params.scale as number, MASK_KIND[node.params.mask as keyof typeof MASK_KIND],
]);
const argsOf = (node: Node, [q, k, v, m]: NDArray[]): AttentionArgs => {
  const kind = node.params.mask as keyof typeof MASK_KIND;
  const mask = kind === 'array' ? m : kind === 'causal' ? 'causal' : null;
  return { q, k, v, scale: node.params.scale as number, mask, out: node.dtype };
};
defineRules(Attention, {
  fallback: (node, inputs) => attentionComposed(argsOf(node, inputs)),
  vjp: (ctx, g, wrt) => attentionVjp(argsOf(ctx.node, ctx.inputs), g, wrt),
});

/** Checks the arguments of scaledDotProductAttention. */
export function attentionArgs(q: unknown, k: unknown, v: unknown, opts: unknown): AttentionArgs {
  const op = 'scaledDotProductAttention';
  let qa = arrayArg(q, op, 'q'), ka = arrayArg(k, op, 'k'), va = arrayArg(v, op, 'v');
  const o = checkOptions(opts, op, ['scale', 'mask']);
  for (const [x, name, dims] of [[qa, 'q', '[B, Hq, L, D]'], [ka, 'k', '[B, Hkv, S, D]'], [va, 'v', '[B, Hkv, S, Dv]']] as const)
    if (x.ndim !== 4) throw new Error(`[${op}] ${name} must have 4 dimensions ${dims}, got shape ${fmtShape(x.shape)}`);
  const [B, Hq, L, D] = qa.shape, [Bk, Hkv, S, Dk] = ka.shape, [Bv, Hv, Sv] = va.shape;
  const shapes = `q ${fmtShape(qa.shape)}, k ${fmtShape(ka.shape)}, v ${fmtShape(va.shape)}`;
  if (Bk !== B || Bv !== B) throw new Error(`[${op}] q, k and v must have the same batch size, got ${shapes}`);
  if (Hv !== Hkv || Sv !== S) throw new Error(`[${op}] k and v must have the same heads and length, got ${shapes}`);
  if (Dk !== D) throw new Error(`[${op}] q and k must have the same head dimension, got ${shapes}`);
  if (Hkv === 0 ? Hq !== 0 : Hq % Hkv !== 0)
    throw new Error(`[${op}] the query heads (${Hq}) must be a multiple of the key/value heads (${Hkv}), got ${shapes}`);
  const out = floatResult([qa, ka, va]);
  qa = asFloat(qa, out);
  ka = asFloat(ka, out);
  va = asFloat(va, out);
  const scale = o.scale === undefined ? 1 / Math.sqrt(Math.max(D, 1)) : finiteNumber(o.scale, op, 'scale');
  let mask: AttentionArgs['mask'] = null;
  if (o.mask === 'causal') mask = 'causal';
  else if (typeof o.mask === 'string') throw new Error(`[${op}] mask must be 'causal' or an array, got ${fmtValue(o.mask)}`);
  else if (o.mask !== undefined && o.mask !== null) {
    const m = arrayArg(o.mask, op, 'mask');
    if (!isBool(m.dtype) && !isFloating(m.dtype))
      throw new TypeError(`[${op}] mask must be bool (true = attend) or floating (added to the scores), got ${m.dtype}`);
    const full = [B, Hq, L, S];
    if (m.ndim > 4 || m.shape.some((d, i) => d !== 1 && d !== full[4 - m.ndim + i]))
      throw new Error(`[${op}] mask of shape ${fmtShape(m.shape)} does not broadcast to the scores' shape ${fmtShape(full)}`);
    mask = broadcastTo(m, full);
  }
  return { q: qa, k: ka, v: va, scale, mask, out };
}

/**
 * Attention `softmax(q kᵀ * scale + mask) v` for q [B, Hq, L, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv]
 * with Hq a multiple of Hkv (query head h reads kv head floor(h / (Hq / Hkv))). The softmax runs in
 * float32 (float64 for float64); the result [B, Hq, L, Dv] has the result dtype of q, k and v.
 * Masked-out positions get the lowest finite score, so a fully masked query averages v evenly.
 * @example
 * const q = kn.random.normal([1, 8, 16, 64]), kv = kn.random.normal([1, 2, 16, 64]);
 * const o = kn.fast.scaledDotProductAttention(q, kv, kv, { scale: 0.125, mask: 'causal' });
 */
export function scaledDotProductAttention(q: NDArray, k: NDArray, v: NDArray, opts: AttentionOptions = {}): NDArray {
  const a = attentionArgs(q, k, v, opts);
  if (!hasKernel('attention')) return attentionComposed(a);
  const [B, Hq, L] = a.q.shape, Dv = a.v.shape[3];
  const kind = a.mask === null ? 'none' : a.mask === 'causal' ? 'causal' : 'array';
  const inputs = a.mask !== null && a.mask !== 'causal' ? [a.q, a.k, a.v, a.mask] : [a.q, a.k, a.v];
  return make(Attention, { scale: a.scale, mask: kind }, inputs, [B, Hq, L, Dv], a.out);
}
