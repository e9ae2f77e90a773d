// kn.fast.scaledDotProductAttention: softmax(q kᵀ * scale + mask) v with grouped-query heads,
// the softmax in float32 (float64 for float64), as MLX's mx.fast.scaled_dot_product_attention.
import type { NDArray } from '../../core/array.js';
import type { Node, Primitive } from '../../core/node.js';
import { jvpCore } from '../../core/autograd.js';
import { tracing } from '../../core/trace_state.js';
import { isBool, isFloating, type DType } from '../../core/dtype.js';
import { fmtShape, fmtValue } from '../../core/shape.js';
import { arange, zerosLike } from '../creation.js';
import { finfo } from '../dtype_info.js';
import { add, astype, exp, lessEqual, multiply, subtract, where } from '../elementwise.js';
import { batchFirst, batchSize } from '../grad/util.js';
import { any, sum } from '../reduce.js';
import { matmul } from '../matmul.js';
import { logsumexp, softmax } from '../stats_softmax.js';
import { broadcastTo, expandDims, reshape, swapaxes } from '../views.js';
import { defineRules, type MultiRuleContext } from '../../core/rules.js';
import { make, multi } from '../make.js';
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

/** With `returnLogsumexp: true` the op also returns each query row's logsumexp of the scaled, masked scores, [B, Hq, L] (float32; float64 for float64). */
export interface AttentionLseOptions extends AttentionOptions {
  returnLogsumexp: true;
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

/** The scaled, masked scores [B, Hkv, rep, L, S] and the grouped operands they came from. */
function scores(a: AttentionArgs): Omit<Probabilities, 'p'> & { s: NDArray } {
  const [B, Hq, L, D] = a.q.shape,
    [, Hkv, S] = a.k.shape;
  const c = computeDType(a.out);
  const rep = Hkv === 0 ? 1 : Hq / Hkv;
  // q heads grouped under their kv head: [B, Hkv, rep, L, D] against [B, Hkv, 1, S, D]
  const q = reshape(multiply(astype(a.q, c), a.scale), [B, Hkv, rep, L, D]);
  const k = expandDims(astype(a.k, c), 2),
    v = expandDims(astype(a.v, c), 2);
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
  return { s: scores, q, k, v, keep };
}

/** The attention weights and the grouped operands they came from. */
function probabilities(a: AttentionArgs): Probabilities {
  const { s, ...rest } = scores(a);
  return { p: softmax(s, -1), ...rest };
}

/** The composed form with each row's logsumexp [B, Hq, L] (compute dtype) as a second output. */
export function attentionComposedLse(a: AttentionArgs): [NDArray, NDArray] {
  const [B, Hq, L] = a.q.shape,
    Dv = a.v.shape[3];
  const { s, v } = scores(a);
  const lse = logsumexp(s, -1, { keepdims: true });
  const p = exp(subtract(s, lse));
  return [astype(reshape(matmul(p, v), [B, Hq, L, Dv]), a.out), reshape(lse, [B, Hq, L])];
}

/**
 * The composed form: reference for the kernel and what vmap and jvp go through. Masked-out
 * scores become the lowest finite value (as MLX), so a query that sees no key averages v evenly.
 */
export function attentionComposed(a: AttentionArgs): NDArray {
  const [B, Hq, L] = a.q.shape,
    Dv = a.v.shape[3];
  const { p, v } = probabilities(a);
  return astype(reshape(matmul(p, v), [B, Hq, L, Dv]), a.out);
}

/**
 * Gradients in closed form (recomputing the weights P): dV = Pᵀ dO, dS = P ⊙ (dO Vᵀ − rowsum(dO Vᵀ ⊙ P)),
 * dQ = dS K · scale, dK = dSᵀ (scale · Q) — a few passes over the scores instead of the
 * composed softmax's many; grouped heads sum their share into the shared k and v.
 */
function attentionVjp(a: AttentionArgs, g: NDArray, wrt: readonly boolean[]): (NDArray | null)[] {
  const [B, Hq, L, D] = a.q.shape,
    [, Hkv, S] = a.k.shape,
    Dv = a.v.shape[3];
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
  node.params.scale as number,
  MASK_KIND[node.params.mask as keyof typeof MASK_KIND],
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

/**
 * Attention that also writes each row's logsumexp (a second sibling output, core/siblings.ts):
 * what differentiated attention uses, so the backward pass rebuilds P = exp(S - lse) without
 * another softmax reduction. The `attention_lse` kernel.
 */
export const AttentionLse: Primitive = {
  name: 'scaledDotProductAttentionLse',
  lowerOutputs(nodes, ins, outs, emit) {
    const n = nodes[0];
    emit.kernel(
      'attention_lse',
      [n.params.scale as number, MASK_KIND[n.params.mask as keyof typeof MASK_KIND]],
      [
        ...n.inputs.map((x, i) => ({ view: ins[i], dtype: x.dtype, shape: x.shape })),
        ...outs.map((view, k) => ({ view, dtype: nodes[k].dtype, shape: nodes[k].shape })),
      ],
    );
  },
};

/** Gradients from the saved logsumexp: P = exp(S − lse); dS = P ⊙ (dP − rowsum(dO ⊙ O) + dlse). */
function attentionLseVjp(ctx: MultiRuleContext, cts: readonly (NDArray | null)[], wrt: readonly boolean[]): (NDArray | null)[] {
  const a = argsOf(ctx.node, ctx.inputs);
  const [o, lse] = ctx.outputs;
  const [B, Hq, L, D] = a.q.shape,
    [, Hkv, S] = a.k.shape,
    Dv = a.v.shape[3];
  const rep = Hkv === 0 ? 1 : Hq / Hkv;
  const { s, q, k, v, keep } = scores(a);
  const c = s.dtype;
  let p = exp(subtract(s, reshape(lse, [B, Hkv, rep, L, 1])));
  // a row that sees no key averages v evenly; its lse (lowest + log S) rounds to the lowest score
  if (keep) p = where(any(keep, -1, { keepdims: true }), p, 1 / Math.max(S, 1));
  let dS: NDArray | null = null;
  let dV: NDArray | null = null;
  if (cts[0]) {
    const dO = reshape(astype(cts[0], c), [B, Hkv, rep, L, Dv]);
    if (wrt[2]) dV = sum(matmul(swapaxes(p, -1, -2), dO), 2);
    const dP = matmul(dO, swapaxes(v, -1, -2));
    // rowsum(dP ⊙ P) = rowsum(dO ⊙ O) when O is stored in the compute dtype
    const delta = o.dtype === c ? sum(multiply(dO, reshape(o, [B, Hkv, rep, L, Dv])), -1, { keepdims: true }) : sum(multiply(dP, p), -1, { keepdims: true });
    dS = multiply(p, subtract(dP, delta));
  }
  if (cts[1]) {
    const g = multiply(p, reshape(astype(cts[1], c), [B, Hkv, rep, L, 1]));
    dS = dS ? add(dS, g) : g;
  }
  if (!dS) return [null, null, null, null];
  if (keep) dS = where(keep, dS, 0); // masked scores are constants
  const dQ = wrt[0] ? reshape(multiply(matmul(dS, k), a.scale), [B, Hq, L, D]) : null;
  const dK = wrt[1] ? sum(matmul(swapaxes(dS, -1, -2), q), 2) : null;
  const dMask = wrt[3] && a.mask !== null && a.mask !== 'causal' && !isBool(a.mask.dtype) ? reshape(dS, [B, Hq, L, S]) : null;
  return [dQ, dK, dV, dMask];
}

defineRules(AttentionLse, {
  vjpOutputs: attentionLseVjp,
  jvpOutputs: (ctx, ts) => {
    const full = ts.map((t, i) => t ?? zerosLike(ctx.inputs[i]));
    return jvpCore((...xs) => attentionComposedLse(argsOf(ctx.node, xs)), ctx.inputs, full)[1];
  },
  // the mapped axis folds into the batch dim B of every operand
  vmapOutputs: (node, inputs, axes) => {
    const Bt = batchSize(inputs, axes);
    const ins = inputs.map((x, i) => {
      const s = node.inputs[i].shape;
      const x5 = axes[i] === null ? broadcastTo(x, [Bt, ...s]) : batchFirst(x, axes[i]);
      return reshape(x5, [Bt * s[0], ...s.slice(1)]);
    });
    const [o, l] = node.siblings!;
    const outs = multi(
      AttentionLse,
      { scale: node.params.scale, mask: node.params.mask },
      ins,
      [
        [Bt * o.shape[0], ...o.shape.slice(1)],
        [Bt * l.shape[0], ...l.shape.slice(1)],
      ],
      [o.dtype, l.dtype],
    );
    return [
      [reshape(outs[0], [Bt, ...o.shape]), reshape(outs[1], [Bt, ...l.shape])],
      [0, 0],
    ];
  },
});

/** Checks the arguments of scaledDotProductAttention. */
export function attentionArgs(q: unknown, k: unknown, v: unknown, opts: unknown): AttentionArgs {
  const op = 'scaledDotProductAttention';
  let qa = arrayArg(q, op, 'q'),
    ka = arrayArg(k, op, 'k'),
    va = arrayArg(v, op, 'v');
  const o = checkOptions(opts, op, ['scale', 'mask', 'returnLogsumexp']);
  for (const [x, name, dims] of [
    [qa, 'q', '[B, Hq, L, D]'],
    [ka, 'k', '[B, Hkv, S, D]'],
    [va, 'v', '[B, Hkv, S, Dv]'],
  ] as const)
    if (x.ndim !== 4) throw new Error(`[${op}] ${name} must have 4 dimensions ${dims}, got shape ${fmtShape(x.shape)}`);
  const [B, Hq, L, D] = qa.shape,
    [Bk, Hkv, S, Dk] = ka.shape,
    [Bv, Hv, Sv] = va.shape;
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
 * With `returnLogsumexp: true` it returns `[out, lse]`, lse [B, Hq, L] being each row's logsumexp
 * of the scaled, masked scores (what a backward pass needs; kiln keeps it itself under kn.grad).
 * @example
 * const q = kn.random.normal([1, 8, 16, 64], { key: kn.random.key(0) });
 * const kv = kn.random.normal([1, 2, 16, 64], { key: kn.random.key(1) });
 * const o = kn.fast.scaledDotProductAttention(q, kv, kv, { scale: 0.125, mask: 'causal' });
 * o.shape // [1, 8, 16, 64]
 * kn.fast.scaledDotProductAttention(q, kv, kv, { returnLogsumexp: true })[1].shape // [1, 8, 16]
 */
export function scaledDotProductAttention(q: NDArray, k: NDArray, v: NDArray, opts?: AttentionOptions & { returnLogsumexp?: false }): NDArray;
export function scaledDotProductAttention(q: NDArray, k: NDArray, v: NDArray, opts: AttentionLseOptions): [NDArray, NDArray];
export function scaledDotProductAttention(
  q: NDArray,
  k: NDArray,
  v: NDArray,
  opts: AttentionOptions & { returnLogsumexp?: boolean } = {},
): NDArray | [NDArray, NDArray] {
  const a = attentionArgs(q, k, v, opts);
  const withLse = opts?.returnLogsumexp ?? false;
  if (typeof withLse !== 'boolean') throw new TypeError(`[scaledDotProductAttention] returnLogsumexp must be a boolean, got ${fmtValue(withLse)}`);
  const [B, Hq, L] = a.q.shape,
    Dv = a.v.shape[3];
  const kind = a.mask === null ? 'none' : a.mask === 'causal' ? 'causal' : 'array';
  const inputs = a.mask !== null && a.mask !== 'causal' ? [a.q, a.k, a.v, a.mask] : [a.q, a.k, a.v];
  // under a transform the forward keeps its logsumexp for the backward pass
  if (withLse || tracing()) {
    if (!hasKernel('attention_lse')) {
      const r = attentionComposedLse(a);
      return withLse ? r : r[0];
    }
    const [o, lse] = multi(
      AttentionLse,
      { scale: a.scale, mask: kind },
      inputs,
      [
        [B, Hq, L, Dv],
        [B, Hq, L],
      ],
      [a.out, computeDType(a.out)],
    );
    return withLse ? [o, lse] : o;
  }
  if (!hasKernel('attention')) return attentionComposed(a);
  return make(Attention, { scale: a.scale, mask: kind }, inputs, [B, Hq, L, Dv], a.out);
}
