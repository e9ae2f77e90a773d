// MLX's affine quantization: kn.quantize, kn.dequantize, kn.quantizedMatmul. Weights are packed
// `bits` at a time into uint32 words as MLX stores them (a little-endian bit stream per row: value j
// at bits j*bits..j*bits+bits-1), with one scale and one bias per group of `groupSize` values along
// the last axis, in the weight's dtype: w ≈ scales * q + biases. The kernels live in
// backends/cpu/kernels/quantized.cc.
import { K } from '../backends/native.js';
import type { NDArray } from '../core/array.js';
import { isFloating, promoteTypes, type DType } from '../core/dtype.js';
import type { Node, Primitive } from '../core/node.js';
import { defineRules } from '../core/rules.js';
import { broadcastShapes, fmtShape, fmtValue } from '../core/shape.js';
import { asArray } from './convert.js';
import { astype } from './elementwise.js';
import { make, multi } from './make.js';
import { matmul } from './matmul.js';
import { broadcastTo, expandDims, moveaxis, reshape, squeeze, swapaxes } from './views.js';

/** The bit widths and group sizes MLX's affine mode supports. */
export const QUANT_BITS: readonly number[] = [2, 3, 4, 5, 6, 8];
export const QUANT_GROUP_SIZES: readonly number[] = [32, 64, 128];

/** Options of quantize / dequantize / quantizedMatmul (MLX's defaults: 64 and 4). */
export interface QuantizeOptions {
  /** values sharing one scale and bias along the last axis: 32, 64 (default) or 128 */
  groupSize?: number;
  /** bits per value: 2, 3, 4 (default), 5, 6 or 8 */
  bits?: number;
  /** only 'affine' (MLX's default mode) */
  mode?: 'affine';
}

export interface DequantizeOptions extends QuantizeOptions {
  /** the output dtype (default: the scales' dtype) */
  dtype?: DType;
}

export interface QuantizedMatmulOptions extends QuantizeOptions {
  /** true (default): x @ dequantize(w).T, w [N, K] as a Linear stores it; false: x @ dequantize(w) */
  transpose?: boolean;
}

/** A quantized matrix: packed uint32 words and per-group scales and biases. */
export interface Quantized {
  wq: NDArray;
  scales: NDArray;
  biases: NDArray;
}

function options(op: string, opts: unknown, extra: readonly string[] = []): { groupSize: number; bits: number; rest: Record<string, unknown> } {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null || Array.isArray(opts)))
    throw new TypeError(`[${op}] options must be an object such as { groupSize: 64, bits: 4 }, got ${fmtValue(opts)}`);
  const o = (opts ?? {}) as Record<string, unknown>;
  const known = ['groupSize', 'bits', 'mode', ...extra];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new TypeError(`[${op}] unknown option '${k}'; expected one of ${known.join(', ')}`);
  const groupSize = o.groupSize ?? 64,
    bits = o.bits ?? 4,
    mode = o.mode ?? 'affine';
  if (mode !== 'affine') throw new Error(`[${op}] mode must be 'affine' (MLX's integer scheme), got ${fmtValue(mode)}`);
  if (!QUANT_GROUP_SIZES.includes(groupSize as number))
    throw new RangeError(`[${op}] groupSize must be one of ${QUANT_GROUP_SIZES.join(', ')}, got ${fmtValue(groupSize)}`);
  if (!QUANT_BITS.includes(bits as number)) throw new RangeError(`[${op}] bits must be one of ${QUANT_BITS.join(', ')}, got ${fmtValue(bits)}`);
  return { groupSize: groupSize as number, bits: bits as number, rest: o };
}

function needKernel(op: string, kernel: string): void {
  if (K[kernel] === undefined) throw new Error(`[${op}] the loaded native addon has no '${kernel}' kernel: rebuild it (npx cmake-js compile)`);
}

// ---- primitives

/** inputs w; outputs wq, scales, biases; params groupSize, bits */
export const AffineQuantize: Primitive = {
  name: 'affineQuantize',
  lowerOutputs(nodes, ins, outs, emit) {
    const w = nodes[0].inputs[0],
      p = nodes[0].params;
    emit.kernel(
      'affine_quantize',
      [p.groupSize as number, p.bits as number],
      [{ view: ins[0], dtype: w.dtype, shape: w.shape }, ...outs.map((view, i) => ({ view, dtype: nodes[i].dtype, shape: nodes[i].shape }))],
    );
  },
};

const io = (node: Node, ins: { buf: unknown }[], out: unknown) => [
  ...node.inputs.map((x, i) => ({ view: ins[i] as never, dtype: x.dtype, shape: x.shape })),
  { view: out as never, dtype: node.dtype, shape: node.shape },
];

/** inputs wq, scales, biases; params groupSize, bits */
export const AffineDequantize: Primitive = {
  name: 'affineDequantize',
  lower(node, ins, out, emit) {
    emit.kernel('affine_dequantize', [node.params.groupSize as number, node.params.bits as number], io(node, ins, out));
  },
};

/** inputs x, wq (2-d), scales, biases; params groupSize, bits, transpose */
export const QuantizedMatmul: Primitive = {
  name: 'quantizedMatmul',
  lower(node, ins, out, emit) {
    const p = node.params;
    emit.kernel('quantized_matmul', [p.groupSize as number, p.bits as number, p.transpose ? 1 : 0], io(node, ins, out));
  },
};

// ---- ops

/**
 * Quantizes `w` along its last axis with MLX's affine scheme: each group of `groupSize` values gets
 * a scale and a bias (in w's dtype) so that the group's endpoint of larger magnitude is represented
 * exactly, and each value becomes an unsigned `bits`-bit integer packed into uint32 words exactly as
 * MLX packs them (`mx.quantize`), so MLX checkpoints and kiln's are interchangeable.
 * @example
 * const w = kn.arange(64, 'float32').reshape([1, 64]);
 * const { wq, scales, biases } = kn.quantize(w, { groupSize: 64, bits: 4 });
 * wq.shape // [1, 8]
 * [scales.item(), biases.item()] // [-4.2, 63]
 * kn.dequantize(wq, scales, biases, { groupSize: 64, bits: 4 }).max().item() // 63
 */
export function quantize(w: NDArray, opts?: QuantizeOptions): Quantized {
  const op = 'quantize';
  const { groupSize, bits } = options(op, opts);
  const a = asArray(w, op);
  if (!isFloating(a.dtype)) throw new TypeError(`[${op}] w must be a floating array, got ${a.dtype}`);
  if (a.ndim < 2) throw new Error(`[${op}] w must have at least 2 dimensions, got shape ${fmtShape(a.shape)}`);
  const Kd = a.shape[a.ndim - 1];
  if (Kd % groupSize !== 0) throw new Error(`[${op}] the last dimension of w (${Kd}, shape ${fmtShape(a.shape)}) must be a multiple of groupSize ${groupSize}`);
  needKernel(op, 'affine_quantize');
  const lead = a.shape.slice(0, -1);
  const [wq, scales, biases] = multi(
    AffineQuantize,
    { groupSize, bits },
    [a],
    [
      [...lead, (Kd * bits) / 32],
      [...lead, Kd / groupSize],
      [...lead, Kd / groupSize],
    ],
    ['uint32', a.dtype, a.dtype],
  );
  return { wq, scales, biases };
}

/** The unpacked length of rows of `wq` and checks that scales/biases fit them. */
function checkTriplet(op: string, wq: NDArray, scales: NDArray, biases: NDArray, groupSize: number, bits: number): number {
  if (wq.dtype !== 'uint32') throw new TypeError(`[${op}] wq must be uint32 (as quantize returns it), got ${wq.dtype}`);
  if (!isFloating(scales.dtype) || scales.dtype !== biases.dtype)
    throw new TypeError(`[${op}] scales and biases must share one floating dtype, got ${scales.dtype} and ${biases.dtype}`);
  if (wq.ndim < 2) throw new Error(`[${op}] wq must have at least 2 dimensions, got shape ${fmtShape(wq.shape)}`);
  const n = (wq.shape[wq.ndim - 1] * 32) / bits;
  const want = [...wq.shape.slice(0, -1), n / groupSize];
  const same = (s: readonly number[]) => s.length === want.length && s.every((d, i) => d === want[i]);
  if (!Number.isInteger(n) || !Number.isInteger(n / groupSize) || !same(scales.shape) || !same(biases.shape))
    throw new Error(
      `[${op}] wq ${fmtShape(wq.shape)} at bits=${bits}, groupSize=${groupSize} needs scales and biases of shape ${fmtShape(want)}, got ${fmtShape(scales.shape)} and ${fmtShape(biases.shape)}`,
    );
  return n;
}

/**
 * The float matrix a quantized one stands for: `scales * q + biases` per group, in the scales'
 * dtype (or `dtype`). Computed in float32 and rounded once.
 * @example
 * const { wq, scales, biases } = kn.quantize(kn.tile(kn.array([[0, 1, 2, 3]], 'float32'), [1, 16]), { groupSize: 32, bits: 2 });
 * kn.dequantize(wq, scales, biases, { groupSize: 32, bits: 2 }).tolist()[0].slice(0, 4) // [0, 1, 2, 3]
 */
export function dequantize(wq: NDArray, scales: NDArray, biases: NDArray, opts?: DequantizeOptions): NDArray {
  const op = 'dequantize';
  const { groupSize, bits, rest } = options(op, opts, ['dtype']);
  const [w, s, b] = [asArray(wq, op), asArray(scales, op), asArray(biases, op)];
  const n = checkTriplet(op, w, s, b, groupSize, bits);
  const dtype = (rest.dtype as DType | undefined) ?? s.dtype;
  if (!isFloating(dtype)) throw new TypeError(`[${op}] dtype must be a floating dtype, got ${fmtValue(dtype)}`);
  needKernel(op, 'affine_dequantize');
  return make(AffineDequantize, { groupSize, bits }, [w, s, b], [...w.shape.slice(0, -1), n], dtype);
}

/** The composed form: dequantize then matmul (float64, batched weights, and the reference). */
export function quantizedMatmulComposed(
  x: NDArray,
  wq: NDArray,
  s: NDArray,
  b: NDArray,
  groupSize: number,
  bits: number,
  transpose: boolean,
  dtype: DType,
): NDArray {
  const W = dequantize(wq, s, b, { groupSize, bits, dtype });
  return matmul(astype(x, dtype), transpose ? swapaxes(W, -1, -2) : W);
}

/**
 * `x @ dequantize(w).T` (or `x @ dequantize(w)` with `transpose: false`) without expanding the
 * weights: the kernels read the packed words (decode reads about bits/16 of a float16 matrix's
 * bytes). The result has the promoted dtype of x and the scales. Differentiable with respect to x.
 * @example
 * const w = kn.random.normal([8, 64], { key: kn.random.key(0) });
 * const { wq, scales, biases } = kn.quantize(w, { bits: 8 });
 * const x = kn.ones([2, 64]);
 * const y = kn.quantizedMatmul(x, wq, scales, biases, { bits: 8 });
 * y.shape // [2, 8]
 * kn.allclose(y, kn.matmul(x, w.T), { atol: 0.5 }) // true
 */
export function quantizedMatmul(x: NDArray, wq: NDArray, scales: NDArray, biases: NDArray, opts?: QuantizedMatmulOptions): NDArray {
  const op = 'quantizedMatmul';
  const { groupSize, bits, rest } = options(op, opts, ['transpose']);
  const transpose = rest.transpose ?? true;
  if (typeof transpose !== 'boolean') throw new TypeError(`[${op}] transpose must be a boolean, got ${fmtValue(transpose)}`);
  let a = asArray(x, op);
  const [w, s, b] = [asArray(wq, op), asArray(scales, op), asArray(biases, op)];
  const n = checkTriplet(op, w, s, b, groupSize, bits);
  if (a.ndim < 1) throw new Error(`[${op}] x must have at least one dimension, got a scalar`);
  const [inner, outer] = transpose ? [n, w.shape[w.ndim - 2]] : [w.shape[w.ndim - 2], n];
  if (a.shape[a.ndim - 1] !== inner)
    throw new Error(
      `[${op}] x ${fmtShape(a.shape)} and w ${fmtShape(w.shape)} (${transpose ? 'transposed, ' : ''}${inner} inputs at bits=${bits}) do not match: the last dim of x must be ${inner}`,
    );
  const dtype = promoteTypes(a.dtype, s.dtype);
  if (!isFloating(dtype)) throw new TypeError(`[${op}] only floating results are supported, got x ${a.dtype} with scales ${s.dtype}`);
  if (dtype === 'float64' || K.quantized_matmul === undefined) return quantizedMatmulComposed(a, w, s, b, groupSize, bits, transpose, dtype);
  if (a.dtype !== dtype) a = astype(a, dtype);
  if (w.ndim === 2) return make(QuantizedMatmul, { groupSize, bits, transpose }, [a, w, s, b], [...a.shape.slice(0, -1), outer], dtype);
  // batched weights (a quantized KV cache): broadcast the batch dims of x and w against each other
  const vec = a.ndim === 1;
  if (vec) a = reshape(a, [1, inner]);
  const batch = broadcastShapes(op, a.shape.slice(0, -2), w.shape.slice(0, -2));
  const xb = broadcastTo(a, [...batch, a.shape[a.ndim - 2], inner]);
  const [wb, sb, bb] = [w, s, b].map((t) => broadcastTo(t, [...batch, ...t.shape.slice(-2)]));
  const y = make(QuantizedMatmul, { groupSize, bits, transpose }, [xb, wb, sb, bb], [...batch, xb.shape[xb.ndim - 2], outer], dtype);
  return vec ? reshape(y, [...batch, outer]) : y;
}

// ---- rules

const params = (node: Node) => ({ groupSize: node.params.groupSize as number, bits: node.params.bits as number });

defineRules(AffineQuantize, {
  nondifferentiable:
    'quantize rounds to integers (piecewise constant); differentiate through dequantize(quantize(w)) with kn.stopGradient, or quantize outside the gradient',
  vmapOutputs: (node, [w], [ax]) => {
    const q = quantize(moveaxis(w, ax!, 0), params(node));
    return [
      [q.wq, q.scales, q.biases],
      [0, 0, 0],
    ];
  },
});

defineRules(AffineDequantize, {
  nondifferentiable:
    'dequantize has no gradient rule for its packed integer weights, scales or biases (kiln trains only the inputs of quantizedMatmul, as QLoRA does)',
  vmap: (node, inputs, axes) => {
    const B = inputs[axes.findIndex((a) => a !== null)].shape[axes.find((a) => a !== null)!];
    const [w, s, b] = inputs.map((x, i) => (axes[i] === null ? broadcastTo(x, [B, ...x.shape]) : moveaxis(x, axes[i]!, 0)));
    return [dequantize(w, s, b, { ...params(node), dtype: node.dtype }), 0];
  },
});

const noWeightGrad =
  '[quantizedMatmul] has no gradient with respect to wq, scales or biases (they are frozen, as in QLoRA); differentiate with respect to x only';

defineRules(QuantizedMatmul, {
  vjp: (ctx, g, wrt) => {
    if (wrt[1] || wrt[2] || wrt[3]) throw new Error(noWeightGrad);
    const [, w, s, b] = ctx.inputs;
    const p = ctx.node.params;
    return [wrt[0] ? quantizedMatmul(g, w, s, b, { ...params(ctx.node), transpose: !p.transpose }) : null, null, null, null];
  },
  jvp: (ctx, t) => {
    if (t[1] || t[2] || t[3]) throw new Error(noWeightGrad);
    const [, w, s, b] = ctx.inputs;
    return t[0] ? quantizedMatmul(t[0], w, s, b, { ...params(ctx.node), transpose: ctx.node.params.transpose as boolean }) : null;
  },
  vmap: (node, inputs, axes) => {
    const [x, w, s, b] = inputs;
    const tr = node.params.transpose as boolean;
    if (axes[1] === null && axes[2] === null && axes[3] === null) {
      return [quantizedMatmul(moveaxis(x, axes[0]!, 0), w, s, b, { ...params(node), transpose: tr }), 0];
    }
    // batched weights: one batched product, batch axes first and aligned (size-1 axes broadcast)
    const B = inputs[axes.findIndex((a) => a !== null)].shape[axes.find((a) => a !== null)!];
    let [wb, sb, bb] = [w, s, b].map((a, i) => (axes[i + 1] === null ? broadcastTo(a, [B, ...a.shape]) : moveaxis(a, axes[i + 1]!, 0)));
    let xb = axes[0] === null ? expandDims(x, 0) : moveaxis(x, axes[0], 0);
    const vec = xb.ndim === 2;
    if (vec) xb = expandDims(xb, 1);
    while (wb.ndim < xb.ndim) [wb, sb, bb] = [wb, sb, bb].map((t) => expandDims(t, 1));
    while (xb.ndim < wb.ndim) xb = expandDims(xb, 1);
    const y = quantizedMatmul(xb, wb, sb, bb, { ...params(node), transpose: tr });
    return [vec ? squeeze(y, -2) : y, 0];
  },
  fallback: (node, [x, w, s, b]) =>
    quantizedMatmulComposed(x, w, s, b, node.params.groupSize as number, node.params.bits as number, node.params.transpose as boolean, node.dtype),
});
