// GGUF (ggml) quantized weights used in their own blocks: kn.ggufMatmul and kn.ggufDequantize. A
// weight is a uint8 array [N, rowBytes] holding each row's blocks exactly as a GGUF file stores them
// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K), usually a zero-copy view of the mapped
// file. The kernels live in backends/cpu/kernels/quantized_gguf.cc (integer dot products against
// activations quantized to 8 bits per block; dequantization bit for bit ggml's).
import { K } from '../backends/native.js';
import type { NDArray } from '../core/array.js';
import { isFloating, type DType } from '../core/dtype.js';
import type { Node, Primitive } from '../core/node.js';
import { defineRules } from '../core/rules.js';
import { fmtShape, fmtValue } from '../core/shape.js';
import { asArray } from './convert.js';
import { astype } from './elementwise.js';
import { make } from './make.js';
import { matmul } from './matmul.js';
import { reshape } from './views.js';
import { GGML_BY_NAME, type GgmlTypeName } from './io/ggml_quants.js';

/** The ggml types kn.ggufMatmul runs natively. */
export const GGUF_NATIVE_TYPES: readonly GgmlTypeName[] = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

function typeArg(op: string, type: unknown): { id: number; name: GgmlTypeName; blockSize: number; typeSize: number } {
  const t = typeof type === 'string' ? GGML_BY_NAME.get(type as GgmlTypeName) : undefined;
  if (!t || !GGUF_NATIVE_TYPES.includes(t.name)) throw new TypeError(`[${op}] type must be one of ${GGUF_NATIVE_TYPES.join(', ')}, got ${fmtValue(type)}`);
  return t;
}

/** The number of values per row of a [N, rowBytes] block array of `type` (checks the byte count). */
function rowValues(op: string, w: NDArray, t: { name: string; blockSize: number; typeSize: number }): number {
  if (w.dtype !== 'uint8') throw new TypeError(`[${op}] w must be a uint8 array of ${t.name} blocks, got dtype ${w.dtype}`);
  if (w.ndim !== 2) throw new Error(`[${op}] w must be 2-d [rows, rowBytes], got shape ${fmtShape(w.shape)}`);
  const rb = w.shape[1];
  if (rb === 0 || rb % t.typeSize !== 0)
    throw new Error(`[${op}] w rows of ${rb} bytes are not a whole number of ${t.typeSize}-byte ${t.name} blocks (shape ${fmtShape(w.shape)})`);
  return (rb / t.typeSize) * t.blockSize;
}

/**
 * Whether the loaded native addon runs GGUF block types (model loading keeps quantized GGUF weights in
 * their blocks only then; an older addon gets them dequantized).
 * @example typeof kn.ggufNativeAvailable() // 'boolean'
 */
export function ggufNativeAvailable(): boolean {
  return K.gguf_matmul !== undefined && K.gguf_dequant !== undefined;
}

function needKernel(op: string, kernel: string): void {
  if (K[kernel] === undefined) throw new Error(`[${op}] the loaded native addon has no '${kernel}' kernel: rebuild it (npx cmake-js compile)`);
}

const io = (node: Node, ins: unknown[], out: unknown) => [
  ...node.inputs.map((x, i) => ({ view: ins[i] as never, dtype: x.dtype, shape: x.shape })),
  { view: out as never, dtype: node.dtype, shape: node.shape },
];

/** inputs x float32 [..., K] (contiguous rows), w uint8 [N, rowBytes]; params type (ggml id), k */
export const GgufMatmul: Primitive = {
  name: 'ggufMatmul',
  lower(node, ins, out, emit) {
    emit.kernel('gguf_matmul', [node.params.typeId as number, node.params.k as number], io(node, ins, out));
  },
};

/** inputs w uint8 [R, rowBytes]; params type (ggml id), k */
export const GgufDequant: Primitive = {
  name: 'ggufDequantize',
  lower(node, ins, out, emit) {
    emit.kernel('gguf_dequant', [node.params.typeId as number, node.params.k as number], io(node, ins, out));
  },
};

/**
 * The values of GGUF quantized rows: w uint8 [R, rowBytes] of `type` blocks -> float32 [R, K],
 * bit for bit ggml's dequantize_row_*.
 * @example
 * const blocks = kn.array(Array.from(kn.ggmlQuantize('Q8_0', new Float32Array(32).fill(0.5))), 'uint8').reshape([1, 34]);
 * kn.ggufDequantize(blocks, 'Q8_0').shape // [1, 32]
 * kn.ggufDequantize(blocks, 'Q8_0').max().item() // 0.5
 */
export function ggufDequantize(w: NDArray, type: GgmlTypeName): NDArray {
  const op = 'ggufDequantize';
  const t = typeArg(op, type);
  const a = asArray(w, op);
  const k = rowValues(op, a, t);
  needKernel(op, 'gguf_dequant');
  return make(GgufDequant, { typeId: t.id, k, type: t.name }, [a], [a.shape[0], k], 'float32');
}

/**
 * `x @ dequantize(w)ᵀ` for a GGUF quantized weight w uint8 [N, rowBytes] (a Linear's [out, in]
 * layout, each row its blocks as the file stores them), without expanding w: x is quantized to 8-bit
 * blocks per row and the products are integer dot products. x [..., K] of any float dtype; the result
 * [..., N] has x's dtype. Differentiable with respect to x.
 * @example
 * // 127/128 is exact in Q8_0 (scale 1/128 in float16); 0.25 would come back as 0.24997
 * const w = kn.array(Array.from(kn.ggmlQuantize('Q8_0', new Float32Array(64).fill(127 / 128))), 'uint8').reshape([2, 34]);
 * kn.ggufMatmul(kn.ones([1, 32]), w, 'Q8_0') // [[31.75, 31.75]]
 */
export function ggufMatmul(x: NDArray, w: NDArray, type: GgmlTypeName): NDArray {
  const op = 'ggufMatmul';
  const t = typeArg(op, type);
  const a = asArray(x, op);
  const wa = asArray(w, op);
  const k = rowValues(op, wa, t);
  if (!isFloating(a.dtype)) throw new TypeError(`[${op}] x must be a floating array, got dtype ${a.dtype}`);
  if (a.ndim < 1 || a.shape[a.ndim - 1] !== k)
    throw new Error(`[${op}] x must have last dimension ${k} (w ${fmtShape(wa.shape)} holds ${k} ${t.name} values per row), got shape ${fmtShape(a.shape)}`);
  needKernel(op, 'gguf_matmul');
  const out: DType = a.dtype;
  const xf = a.dtype === 'float32' ? a : astype(a, 'float32');
  const y = make(GgufMatmul, { typeId: t.id, k, type: t.name }, [xf, wa], [...a.shape.slice(0, -1), wa.shape[0]], 'float32');
  return out === 'float32' ? y : astype(y, out);
}

defineRules(GgufMatmul, {
  vjp: ({ node, inputs }, cotangent) => {
    const [x, w] = inputs;
    const wd = ggufDequantize(w, node.params.type as GgmlTypeName); // [N, K]
    const g = matmul(reshape(cotangent, [-1, wd.shape[0]]), wd);
    return [reshape(astype(g, x.dtype), x.shape), null];
  },
  jvp: ({ node, inputs }, [tx]) => (tx ? ggufMatmul(tx, inputs[1], node.params.type as GgmlTypeName) : null),
});
defineRules(GgufDequant, { nondifferentiable: 'the input is integer block data (uint8); its values have no derivative' });

export { quantize as ggmlQuantize, dequantize as ggmlDequantize } from './io/ggml_quants.js';
