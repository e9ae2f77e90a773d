// The parts of a Llama-style decoder (llama, mistral, qwen2, qwen3: separate q/k/v projections,
// pre-norm blocks, SwiGLU, half-split RoPE) that the paths which run their own forward over the
// modules reach into: the paged server step and the compiled decode step. One check of what they
// can run, with an error naming the unsupported feature.
import type { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import * as ops from '../ops/index.js';
import { keep } from '../core/memory.js';
import type { LanguageModel } from './types.js';

export interface Callable {
  call(...args: unknown[]): NDArray;
}
export interface AttnModule {
  q_proj: Callable;
  k_proj: Callable;
  v_proj: Callable;
  o_proj: Callable;
  q_norm?: Callable;
  k_norm?: Callable;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  scale: number;
  _rope: { type: string; dims: number; traditional: boolean; scale: number; freqsFor(n: number): NDArray };
}
export interface Block {
  self_attn: AttnModule;
  mlp: Callable;
  input_layernorm: Callable;
  post_attention_layernorm: Callable;
}
export interface Decoder {
  embed_tokens: Callable & { asLinear(x: NDArray): NDArray; weight?: NDArray };
  layers: Block[];
  norm: Callable;
  windows?: (number | null)[];
}

export interface DecoderParts {
  dec: Decoder;
  lmHead: Callable | null;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** the dtype keys and values are kept in (the projections' compute dtype) */
  dtype: DType;
}

const ROPE_TYPES = new Set(['default', 'linear', 'llama3']);

/**
 * The decoder of `model` if `who` can run it; otherwise an Error naming what it lacks
 * (returned, not thrown, so a caller with a fallback can take it quietly).
 */
export function decoderParts(model: LanguageModel, who: string): DecoderParts | Error {
  const m = model as unknown as { model?: Decoder; lm_head?: Callable };
  const dec = m.model;
  const what = `[${who}] model_type "${model.modelType}"`;
  if (!dec || !Array.isArray(dec.layers) || dec.layers.length === 0) return new Error(`${what} has no decoder layers this path can run`);
  const a0 = dec.layers[0].self_attn;
  if (!a0 || !a0.q_proj || !a0.k_proj || !a0.v_proj || !a0.o_proj || !a0._rope)
    return new Error(`${what}: this path runs models with separate q/k/v projections (llama, mistral, qwen2, qwen3); this family is not supported yet`);
  if (!ROPE_TYPES.has(a0._rope.type))
    return new Error(`${what}: rope_scaling type "${a0._rope.type}" is not supported on this path yet (supported: default, linear, llama3)`);
  if (a0._rope.traditional) return new Error(`${what}: traditional (interleaved) RoPE is not supported on this path yet`);
  const args = model.args as { sliding_window?: number | null; layer_windows?: (number | null)[] };
  if (args.sliding_window != null || (args.layer_windows ?? []).some((w) => w != null))
    return new Error(`${what}: sliding-window attention is not supported on this path yet`);
  // keys and values are stored in the dtype the projections compute in (quantized layers: their activations' dtype)
  const w = (a0.k_proj as unknown as { weight?: NDArray; scales?: NDArray }).weight;
  const probe = w && (w.dtype === 'float16' || w.dtype === 'bfloat16' || w.dtype === 'float32') ? w : (dec.embed_tokens.weight ?? null);
  const dtype: DType = probe && (probe.dtype === 'float16' || probe.dtype === 'bfloat16') ? probe.dtype : 'float32';
  return { dec, lmHead: m.lm_head ?? null, nHeads: a0.nHeads, nKvHeads: a0.nKvHeads, headDim: a0.headDim, dtype };
}

/** RoPE angles of some positions, in the forms rotateHalves uses. */
export interface RopeRotation {
  /** [..., dims/2] float32 */
  cos: NDArray;
  sin: NDArray;
  /** [..., 2, dims/2]: cos for both halves, and -sin then sin (one fused expression rotates) */
  cos2: NDArray;
  sin2: NDArray;
}

/**
 * RoPE angles of `positions` (int32, any shape [...]) as float32 cos and sin [..., dims/2],
 * computed in float64 as kn.fast.rope computes them.
 */
// one [[-1], [1]] column for the whole process: a compiled trace holds it as a constant, and
// every trace (a new cache capacity is a new trace) shares the same buffer
let signs: NDArray | null = null;
const halfSigns = (): NDArray => (signs && !signs.disposed ? signs : (signs = keep(ops.array([[-1], [1]], 'float32'))));

export function ropeAngles(rope: AttnModule['_rope'], positions: NDArray): RopeRotation {
  const p = ops.astype(ops.expandDims(positions, -1), 'float64');
  const angles = ops.divide(ops.multiply(p, rope.scale), rope.freqsFor(1));
  const cos = ops.astype(ops.cos(angles), 'float32'),
    sin = ops.astype(ops.sin(angles), 'float32');
  const c = ops.expandDims(cos, -2),
    s = ops.expandDims(sin, -2);
  // [-sin; sin] as one product with a sign column (fused with the rest, no concatenate)
  return { cos, sin, cos2: c, sin2: ops.multiply(s, halfSigns()) };
}

/**
 * Rotates the first `dims` features of x [..., D] in halves (kn.fast.rope's non-traditional
 * layout) by angles broadcasting against [..., dims/2]; computed in float32, returned in x's
 * dtype. A full rotation is one elementwise expression over x and x with its halves swapped (a
 * reversed view), which kn.compile fuses into one kernel: first half x1 cos - x2 sin, second
 * x2 cos + x1 sin, the same roundings as the two-part form.
 */
export function rotateHalves(x: NDArray, r: RopeRotation, dims: number): NDArray {
  const D = x.shape[x.ndim - 1];
  const lead = x.shape.slice(0, -1).map(() => ({}));
  if (dims === D) {
    // the casts come after the views and before the final reshape, so the kernel reads x and
    // writes the result directly (a view of a fused value would need a buffer of its own)
    const halves = ops.reshape(x, [...x.shape.slice(0, -1), 2, D / 2]);
    const swapped = ops.slice(halves, [...lead, { step: -1 }, {}]);
    const out = ops.add(ops.multiply(ops.astype(halves, 'float32'), r.cos2), ops.multiply(ops.astype(swapped, 'float32'), r.sin2));
    return ops.reshape(ops.astype(out, x.dtype), x.shape);
  }
  const xc = ops.astype(x, 'float32');
  const x1 = ops.slice(xc, [...lead, { start: 0, stop: dims / 2 }]);
  const x2 = ops.slice(xc, [...lead, { start: dims / 2, stop: dims }]);
  const o1 = ops.subtract(ops.multiply(x1, r.cos), ops.multiply(x2, r.sin));
  const o2 = ops.add(ops.multiply(x1, r.sin), ops.multiply(x2, r.cos));
  return ops.astype(ops.concatenate([o1, o2, ops.slice(xc, [...lead, { start: dims, stop: D }])], -1), x.dtype);
}
