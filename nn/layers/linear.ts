// Affine layers: Identity, Linear, Bilinear (MLX semantics and initialisation).
import type { NDArray } from '../../core/array.js';
import { fmtShape } from '../../core/shape.js';
import { asArray } from '../../ops/convert.js';
import { add } from '../../ops/elementwise.js';
import { matmul } from '../../ops/matmul.js';
import { uniform } from '../../ops/random.js';
import { reshape, swapaxes } from '../../ops/views.js';
import { Module } from '../module.js';
import { initKeys, positiveInt, type InitKeyOptions } from './common.js';

/** Returns its input unchanged (a placeholder layer). @example new kn.nn.Identity().call(kn.ones([2])).shape // [2] */
export class Identity extends Module {
  forward(x: NDArray): NDArray {
    return x;
  }
}

export interface LinearOptions extends InitKeyOptions {
  /** learn an additive bias (default true) */
  bias?: boolean;
}

function lastDim(x: NDArray, want: number, op: string, what = 'input'): void {
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== want) throw new Error(`[${op}] expected ${what} with last dimension ${want}, got shape ${fmtShape(x.shape)}`);
}

/**
 * y = x·Wᵀ + b with weight [outputDims, inputDims]; weight and bias start uniform in ±√(1/inputDims).
 * @example new kn.nn.Linear(4, 2, { bias: false }).call(kn.ones([3, 4])).shape // [3, 2]
 */
export class Linear extends Module {
  weight: NDArray;
  bias?: NDArray;

  constructor(inputDims: number, outputDims: number, opts: LinearOptions = {}) {
    super();
    positiveInt(inputDims, 'Linear', 'inputDims');
    positiveInt(outputDims, 'Linear', 'outputDims');
    const scale = Math.sqrt(1 / inputDims);
    const [kw, kb] = initKeys(opts.key, 2);
    this.weight = uniform(-scale, scale, [outputDims, inputDims], { key: kw });
    if (opts.bias ?? true) this.bias = uniform(-scale, scale, [outputDims], { key: kb });
  }

  forward(x: NDArray): NDArray {
    const a = asArray(x, 'Linear');
    lastDim(a, this.weight.shape[1], 'Linear');
    const y = matmul(a, swapaxes(this.weight, 0, 1));
    return this.bias ? add(y, this.bias) : y;
  }

  protected override describe(): string {
    return `inputDims=${this.weight.shape[1]}, outputDims=${this.weight.shape[0]}, bias=${this.bias !== undefined}`;
  }
}

/**
 * y[o] = Σᵢⱼ x1[i]·W[o, j, i]·x2[j] + b[o] with weight [outputDims, inputDims2, inputDims1]
 * (MLX's layout); parameters start uniform in ±√(1/inputDims1).
 * @example new kn.nn.Bilinear(3, 4, 2).call(kn.ones([5, 3]), kn.ones([5, 4])).shape // [5, 2]
 */
export class Bilinear extends Module {
  weight: NDArray;
  bias?: NDArray;

  constructor(inputDims1: number, inputDims2: number, outputDims: number, opts: LinearOptions = {}) {
    super();
    positiveInt(inputDims1, 'Bilinear', 'inputDims1');
    positiveInt(inputDims2, 'Bilinear', 'inputDims2');
    positiveInt(outputDims, 'Bilinear', 'outputDims');
    const scale = Math.sqrt(1 / inputDims1);
    const [kw, kb] = initKeys(opts.key, 2);
    this.weight = uniform(-scale, scale, [outputDims, inputDims2, inputDims1], { key: kw });
    if (opts.bias ?? true) this.bias = uniform(-scale, scale, [outputDims], { key: kb });
  }

  forward(x1: NDArray, x2: NDArray): NDArray {
    const a = asArray(x1, 'Bilinear'),
      b = asArray(x2, 'Bilinear');
    const [out, in2, in1] = this.weight.shape;
    lastDim(a, in1, 'Bilinear', 'x1');
    lastDim(b, in2, 'Bilinear', 'x2');
    const lead = a.shape.slice(0, -1);
    if (fmtShape(lead) !== fmtShape(b.shape.slice(0, -1)))
      throw new Error(`[Bilinear] x1 ${fmtShape(a.shape)} and x2 ${fmtShape(b.shape)} must agree on every axis but the last`);
    // (x1 · W^T) as [B, out, in2], then contract in2 with x2 as a batched [1, in2] @ [in2, out]
    const t = reshape(matmul(reshape(a, [-1, in1]), swapaxes(reshape(this.weight, [out * in2, in1]), 0, 1)), [-1, out, in2]);
    let y = reshape(matmul(reshape(b, [-1, 1, in2]), swapaxes(t, 1, 2)), [-1, out]);
    if (this.bias) y = add(y, this.bias);
    return reshape(y, [...lead, out]);
  }

  protected override describe(): string {
    const [out, in2, in1] = this.weight.shape;
    return `inputDims1=${in1}, inputDims2=${in2}, outputDims=${out}, bias=${this.bias !== undefined}`;
  }
}
