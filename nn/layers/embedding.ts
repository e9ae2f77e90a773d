// Embedding: a lookup table, also usable as the tied output projection of a language model.
import type { NDArray } from '../../core/array.js';
import { fmtShape } from '../../core/shape.js';
import { isFloating, isInteger } from '../../core/dtype.js';
import { asArray } from '../../ops/convert.js';
import { take } from '../../ops/take_scatter.js';
import { matmul } from '../../ops/matmul.js';
import { normal } from '../../ops/random.js';
import { swapaxes } from '../../ops/views.js';
import { Module } from '../module.js';
import { positiveInt, type InitKeyOptions } from './common.js';

/**
 * Maps integer ids to rows of `weight` [numEmbeddings, dims] (initialised normal with std √(1/dims)).
 * @example new kn.nn.Embedding(10, 4).call(kn.array([[1, 2, 3]])).shape // [1, 3, 4]
 */
export class Embedding extends Module {
  weight: NDArray;

  constructor(numEmbeddings: number, dims: number, opts: InitKeyOptions = {}) {
    super();
    positiveInt(numEmbeddings, 'Embedding', 'numEmbeddings');
    positiveInt(dims, 'Embedding', 'dims');
    this.weight = normal([numEmbeddings, dims], { scale: Math.sqrt(1 / dims), key: opts.key });
  }

  forward(ids: NDArray): NDArray {
    const x = asArray(ids, 'Embedding');
    if (!isInteger(x.dtype)) throw new TypeError(`[Embedding] ids must be integers, got dtype ${x.dtype}`);
    return take(this.weight, x, 0);
  }

  /**
   * x·weightᵀ: scores over the vocabulary for hidden states x [..., dims] (tied input/output
   * embeddings).
   * @example new kn.nn.Embedding(10, 4).asLinear(kn.ones([2, 4])).shape // [2, 10]
   */
  asLinear(x: NDArray): NDArray {
    const a = asArray(x, 'Embedding.asLinear');
    if (!isFloating(a.dtype) && !isInteger(a.dtype)) throw new TypeError(`[Embedding.asLinear] x must be numeric, got dtype ${a.dtype}`);
    if (a.ndim < 1 || a.shape[a.ndim - 1] !== this.weight.shape[1])
      throw new Error(`[Embedding.asLinear] expected x with last dimension ${this.weight.shape[1]}, got shape ${fmtShape(a.shape)}`);
    return matmul(a, swapaxes(this.weight, 0, 1));
  }

  protected override describe(): string {
    return `numEmbeddings=${this.weight.shape[0]}, dims=${this.weight.shape[1]}`;
  }
}
