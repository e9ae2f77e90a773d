// Layers over GGUF quantized weights kept in their ggml blocks (a uint8 [rows, rowBytes] weight, as
// the file stores it): GGUFLinear runs kn.ggufMatmul, GGUFEmbedding dequantizes only the rows it
// looks up (and, tied, serves as the output projection). Model loading swaps them in for Linear and
// Embedding where a GGUF tensor is quantized (models/gguf_layers.ts).
import type { NDArray } from '../../core/array.js';
import { isInteger, type DType } from '../../core/dtype.js';
import { fmtShape } from '../../core/shape.js';
import { asArray } from '../../ops/convert.js';
import { add, astype } from '../../ops/elementwise.js';
import { zeros } from '../../ops/creation.js';
import { ggufDequantize, ggufMatmul, GGUF_NATIVE_TYPES } from '../../ops/gguf_quantized.js';
import { GGML_BY_NAME, type GgmlTypeName } from '../../ops/io/ggml_quants.js';
import { take } from '../../ops/take_scatter.js';
import { reshape } from '../../ops/views.js';
import { Module } from '../module.js';
import { positiveInt } from './common.js';

/** Bytes per row of `dims` values of a ggml block type (throws when dims is not whole blocks). */
export function ggufRowBytes(type: GgmlTypeName, dims: number, op: string): number {
  const t = GGML_BY_NAME.get(type);
  if (!t || !GGUF_NATIVE_TYPES.includes(type)) throw new TypeError(`[${op}] type must be one of ${GGUF_NATIVE_TYPES.join(', ')}, got ${String(type)}`);
  if (dims % t.blockSize !== 0) throw new Error(`[${op}] ${dims} values per row is not a multiple of the ${type} block size ${t.blockSize}`);
  return (dims / t.blockSize) * t.typeSize;
}

export interface GGUFLayerOptions {
  /** an additive bias [outputDims] (GGUFLinear; default false) */
  bias?: boolean;
  /** the dtype GGUFEmbedding returns (default float32) */
  dtype?: DType;
}

/**
 * y = x·dequantize(W)ᵀ + b with W kept as ggml `type` blocks, weight uint8 [outputDims, rowBytes]
 * (zeros until weights are loaded).
 * @example
 * const l = new kn.nn.GGUFLinear(32, 2, 'Q8_0');
 * l.weight.shape // [2, 34]
 * l.call(kn.ones([1, 32])).shape // [1, 2]
 */
export class GGUFLinear extends Module {
  weight: NDArray;
  bias?: NDArray;
  readonly ggmlType: GgmlTypeName;
  readonly inputDims: number;

  constructor(inputDims: number, outputDims: number, type: GgmlTypeName, opts: GGUFLayerOptions = {}) {
    super();
    positiveInt(inputDims, 'GGUFLinear', 'inputDims');
    positiveInt(outputDims, 'GGUFLinear', 'outputDims');
    this.ggmlType = type;
    this.inputDims = inputDims;
    this.weight = zeros([outputDims, ggufRowBytes(type, inputDims, 'GGUFLinear')], 'uint8');
    if (opts.bias) this.bias = zeros([outputDims], opts.dtype ?? 'float32');
  }

  forward(x: NDArray): NDArray {
    const y = ggufMatmul(asArray(x, 'GGUFLinear'), this.weight, this.ggmlType);
    return this.bias ? add(y, astype(this.bias, y.dtype)) : y;
  }

  protected override describe(): string {
    return `inputDims=${this.inputDims}, outputDims=${this.weight.shape[0]}, type=${this.ggmlType}, bias=${this.bias !== undefined}`;
  }
}

/**
 * A lookup table kept as ggml `type` blocks, weight uint8 [numEmbeddings, rowBytes]: looked-up rows
 * are dequantized (bit for bit ggml's values) to `dtype`.
 * @example
 * const e = new kn.nn.GGUFEmbedding(10, 256, 'Q4_K');
 * e.call(kn.array([[1, 2]], 'int32')).shape // [1, 2, 256]
 * e.asLinear(kn.ones([1, 256])).shape // [1, 10]
 */
export class GGUFEmbedding extends Module {
  weight: NDArray;
  readonly ggmlType: GgmlTypeName;
  readonly dims: number;
  dtype: DType;

  constructor(numEmbeddings: number, dims: number, type: GgmlTypeName, opts: GGUFLayerOptions = {}) {
    super();
    positiveInt(numEmbeddings, 'GGUFEmbedding', 'numEmbeddings');
    positiveInt(dims, 'GGUFEmbedding', 'dims');
    this.ggmlType = type;
    this.dims = dims;
    this.dtype = opts.dtype ?? 'float32';
    this.weight = zeros([numEmbeddings, ggufRowBytes(type, dims, 'GGUFEmbedding')], 'uint8');
  }

  forward(ids: NDArray): NDArray {
    const x = asArray(ids, 'GGUFEmbedding');
    if (!isInteger(x.dtype)) throw new TypeError(`[GGUFEmbedding] ids must be integers, got dtype ${x.dtype}`);
    const rows = reshape(take(this.weight, reshape(x, [-1]), 0), [-1, this.weight.shape[1]]);
    const v = reshape(ggufDequantize(rows, this.ggmlType), [...x.shape, this.dims]);
    return this.dtype === 'float32' ? v : astype(v, this.dtype);
  }

  /** x·dequantize(W)ᵀ: scores over the vocabulary (tied input/output embeddings). */
  asLinear(x: NDArray): NDArray {
    const a = asArray(x, 'GGUFEmbedding.asLinear');
    if (a.ndim < 1 || a.shape[a.ndim - 1] !== this.dims)
      throw new Error(`[GGUFEmbedding.asLinear] expected x with last dimension ${this.dims}, got shape ${fmtShape(a.shape)}`);
    return ggufMatmul(a, this.weight, this.ggmlType);
  }

  protected override describe(): string {
    return `numEmbeddings=${this.weight.shape[0]}, dims=${this.dims}, type=${this.ggmlType}`;
  }
}
