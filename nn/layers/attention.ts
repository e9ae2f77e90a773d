// Multi-head attention (MLX semantics): project queries, keys and values, attend per head with
// kn.fast.scaledDotProductAttention, project the heads back.
import type { NDArray } from '../../core/array.js';
import { toDType, type DType } from '../../core/dtype.js';
import { fmtShape } from '../../core/shape.js';
import { arange, full } from '../../ops/creation.js';
import { finfo } from '../../ops/dtype_info.js';
import { asArray } from '../../ops/convert.js';
import { less, where } from '../../ops/elementwise.js';
import { scaledDotProductAttention } from '../../ops/fast/index.js';
import { expandDims, reshape, transpose } from '../../ops/views.js';
import { Module } from '../module.js';
import { initKeys, positiveInt, type InitKeyOptions } from './common.js';
import { Linear } from './linear.js';

export interface MultiHeadAttentionOptions extends InitKeyOptions {
  /** features of the queries (default dims) */
  queryInputDims?: number;
  /** features of the keys (default dims) */
  keyInputDims?: number;
  /** features of the values (default keyInputDims) */
  valueInputDims?: number;
  /** width of the projected values (default dims) */
  valueDims?: number;
  /** width of the output (default dims) */
  valueOutputDims?: number;
  /** biases in the four projections (default false) */
  bias?: boolean;
}

/** The mask argument: bool (true = attend), additive float, or 'causal'. */
export type AttentionMask = NDArray | 'causal' | null;

/**
 * Multi-head attention: queries [B, L, *], keys and values [B, S, *] → [B, L, valueOutputDims].
 * Heads split `dims` (and `valueDims`); scores are scaled by 1/√(dims/numHeads).
 * @example
 * const mha = new kn.nn.MultiHeadAttention(16, 4);
 * const x = kn.random.normal([2, 5, 16]);
 * mha.call(x, x, x, kn.nn.MultiHeadAttention.createAdditiveCausalMask(5)).shape // [2, 5, 16]
 */
export class MultiHeadAttention extends Module {
  queryProj: Linear;
  keyProj: Linear;
  valueProj: Linear;
  outProj: Linear;
  readonly numHeads: number;

  constructor(dims: number, numHeads: number, opts: MultiHeadAttentionOptions = {}) {
    super();
    positiveInt(dims, 'MultiHeadAttention', 'dims');
    this.numHeads = positiveInt(numHeads, 'MultiHeadAttention', 'numHeads');
    if (dims % numHeads !== 0) throw new Error(`[MultiHeadAttention] dims ${dims} are not divisible by numHeads ${numHeads}`);
    const qIn = opts.queryInputDims ?? dims,
      kIn = opts.keyInputDims ?? dims,
      vIn = opts.valueInputDims ?? kIn;
    const vDims = opts.valueDims ?? dims,
      outDims = opts.valueOutputDims ?? dims;
    if (vDims % numHeads !== 0) throw new Error(`[MultiHeadAttention] valueDims ${vDims} are not divisible by numHeads ${numHeads}`);
    const bias = opts.bias ?? false;
    const [k1, k2, k3, k4] = initKeys(opts.key, 4);
    this.queryProj = new Linear(qIn, dims, { bias, key: k1 });
    this.keyProj = new Linear(kIn, dims, { bias, key: k2 });
    this.valueProj = new Linear(vIn, vDims, { bias, key: k3 });
    this.outProj = new Linear(vDims, outDims, { bias, key: k4 });
  }

  forward(queries: NDArray, keys: NDArray, values: NDArray, mask: AttentionMask = null): NDArray {
    const op = 'MultiHeadAttention';
    const q0 = asArray(queries, op),
      k0 = asArray(keys, op),
      v0 = asArray(values, op);
    for (const [a, name] of [
      [q0, 'queries'],
      [k0, 'keys'],
      [v0, 'values'],
    ] as const)
      if (a.ndim !== 3) throw new Error(`[${op}] ${name} must be [batch, length, features], got shape ${fmtShape(a.shape)}`);
    const [B, L] = q0.shape,
      S = k0.shape[1];
    if (v0.shape[1] !== S || k0.shape[0] !== B || v0.shape[0] !== B)
      throw new Error(
        `[${op}] queries ${fmtShape(q0.shape)}, keys ${fmtShape(k0.shape)} and values ${fmtShape(v0.shape)} must share the batch size, and keys and values the length`,
      );
    const h = this.numHeads;
    const heads = (x: NDArray, len: number) => transpose(reshape(x, [B, len, h, -1]), [0, 2, 1, 3]);
    const q = heads(this.queryProj.forward(q0), L);
    const k = heads(this.keyProj.forward(k0), S);
    const v = heads(this.valueProj.forward(v0), S);
    const o = scaledDotProductAttention(q, k, v, { scale: Math.sqrt(1 / q.shape[3]), mask });
    return this.outProj.forward(reshape(transpose(o, [0, 2, 1, 3]), [B, L, -1]));
  }

  /**
   * An [n, n] additive mask: 0 where key j ≤ query i, the dtype's lowest value above the diagonal.
   * @example
   * const m = kn.nn.MultiHeadAttention.createAdditiveCausalMask(3); // 0 on and below the diagonal
   * kn.equal(m, 0) // [[true, false, false], [true, true, false], [true, true, true]]
   * m.min().item() // -3.4028235e+38 (the lowest float32)
   */
  static createAdditiveCausalMask(n: number, dtype: DType = 'float32'): NDArray {
    positiveInt(n, 'MultiHeadAttention.createAdditiveCausalMask', 'n');
    const dt = toDType(dtype, 'MultiHeadAttention.createAdditiveCausalMask');
    const idx = arange(n);
    const future = less(expandDims(idx, 1), expandDims(idx, 0));
    return where(future, full([], finfo(dt).min, dt), full([], 0, dt));
  }

  protected override describe(): string {
    return `numHeads=${this.numHeads}`;
  }
}
