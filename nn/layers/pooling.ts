// Max and average pooling over channels-last input ([N, L, C] or [N, H, W, C]), MLX semantics:
// stride defaults to the kernel size; padding adds -inf (max) or 0 (average) on both sides, and
// an average always divides by the full kernel size.
import type { NDArray } from '../../core/array.js';
import { fmtShape } from '../../core/shape.js';
import { asArray } from '../../ops/convert.js';
import { slidingWindows, spatialArg, type SpatialArg } from '../../ops/conv.js';
import { max, mean } from '../../ops/reduce.js';
import { Module } from '../module.js';
import { isFloating, type DType } from '../../core/dtype.js';
import { iinfo } from '../../ops/dtype_info.js';

/** The padding value of max pooling: below every element of the dtype. */
const lowest = (d: DType): number => (isFloating(d) ? -Infinity : d === 'bool' ? 0 : Number(iinfo(d).min));

export interface PoolOptions {
  /** step between windows (default: the kernel size) */
  stride?: SpatialArg;
  /** added on both sides of each spatial axis (default 0) */
  padding?: SpatialArg;
}

abstract class Pool extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];

  constructor(
    readonly nd: number,
    kernelSize: SpatialArg,
    opts: PoolOptions,
    readonly kind: 'max' | 'avg',
  ) {
    super();
    const op = this.constructor.name;
    this.kernelSize = spatialArg(kernelSize, nd, 1, 'kernelSize', op, 1);
    this.stride = spatialArg(opts.stride ?? this.kernelSize, nd, 1, 'stride', op, 1);
    this.padding = spatialArg(opts.padding, nd, 0, 'padding', op, 0);
    this.padding.forEach((p, i) => {
      // a window made only of padding would have no input in it
      if (p * 2 > this.kernelSize[i]) throw new Error(`[${op}] padding ${p} must be at most half the kernel size ${this.kernelSize[i]}`);
    });
  }

  forward(x: NDArray): NDArray {
    const op = this.constructor.name;
    const a = asArray(x, op);
    const layout = this.nd === 1 ? '[N, L, C]' : '[N, H, W, C]';
    if (a.ndim !== this.nd + 2) throw new Error(`[${op}] expected ${layout} (channels last), got shape ${fmtShape(a.shape)}`);
    const win = slidingWindows(
      a,
      {
        kernel: this.kernelSize,
        stride: this.stride,
        padding: this.padding,
        dilation: new Array(this.nd).fill(1),
        padValue: this.kind === 'max' ? lowest(a.dtype) : 0,
      },
      op,
    );
    const axes = Array.from({ length: this.nd }, (_, i) => this.nd + 1 + i); // the kernel axes
    return this.kind === 'max' ? max(win, axes) : mean(win, axes);
  }

  protected override describe(): string {
    return `kernelSize=${this.kernelSize}, stride=${this.stride}, padding=${this.padding}`;
  }
}

/**
 * Max over windows of length kernelSize of [N, L, C].
 * @example new kn.nn.MaxPool1d(2).call(kn.arange(8, 'float32').reshape([1, 4, 2])).tolist() // [[[2, 3], [6, 7]]]
 */
export class MaxPool1d extends Pool {
  constructor(kernelSize: SpatialArg, opts: PoolOptions = {}) {
    super(1, kernelSize, opts, 'max');
  }
}

/**
 * Max over kernelSize windows of [N, H, W, C].
 * @example new kn.nn.MaxPool2d(2).call(kn.ones([1, 4, 4, 3])).shape // [1, 2, 2, 3]
 */
export class MaxPool2d extends Pool {
  constructor(kernelSize: SpatialArg, opts: PoolOptions = {}) {
    super(2, kernelSize, opts, 'max');
  }
}

/**
 * Mean over windows of length kernelSize of [N, L, C].
 * @example new kn.nn.AvgPool1d(2).call(kn.arange(8, 'float32').reshape([1, 4, 2])).tolist() // [[[1, 2], [5, 6]]]
 */
export class AvgPool1d extends Pool {
  constructor(kernelSize: SpatialArg, opts: PoolOptions = {}) {
    super(1, kernelSize, opts, 'avg');
  }
}

/**
 * Mean over kernelSize windows of [N, H, W, C].
 * @example new kn.nn.AvgPool2d([2, 2], { stride: 1 }).call(kn.ones([1, 3, 3, 1])).shape // [1, 2, 2, 1]
 */
export class AvgPool2d extends Pool {
  constructor(kernelSize: SpatialArg, opts: PoolOptions = {}) {
    super(2, kernelSize, opts, 'avg');
  }
}
