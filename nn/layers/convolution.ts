// Convolution layers over channels-last input (kn.conv1d / conv2d / conv3d), MLX initialisation:
// weight uniform in ±√(1/(Cin/groups·prod(kernel))), bias zeros.
import type { NDArray } from '../../core/array.js';
import { fmtShape } from '../../core/shape.js';
import { asArray } from '../../ops/convert.js';
import { conv1d, conv2d, conv3d, spatialArg, type SpatialArg } from '../../ops/conv.js';
import { zeros } from '../../ops/creation.js';
import { add } from '../../ops/elementwise.js';
import { uniform } from '../../ops/random.js';
import { Module } from '../module.js';
import { positiveInt, type InitKeyOptions } from './common.js';

export interface ConvLayerOptions extends InitKeyOptions {
  stride?: SpatialArg;
  padding?: SpatialArg;
  dilation?: SpatialArg;
  groups?: number;
  /** learn an additive bias (default true) */
  bias?: boolean;
}

const OPS = [conv1d, conv2d, conv3d];

abstract class ConvNd extends Module {
  weight: NDArray;
  bias?: NDArray;
  readonly stride: number[];
  readonly padding: number[];
  readonly dilation: number[];
  readonly groups: number;

  constructor(
    readonly nd: number,
    inChannels: number,
    outChannels: number,
    kernelSize: SpatialArg,
    opts: ConvLayerOptions,
  ) {
    super();
    const op = this.constructor.name;
    positiveInt(inChannels, op, 'inChannels');
    positiveInt(outChannels, op, 'outChannels');
    this.groups = positiveInt(opts.groups ?? 1, op, 'groups');
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0)
      throw new Error(`[${op}] inChannels ${inChannels} and outChannels ${outChannels} must both be divisible by groups ${this.groups}`);
    const kernel = spatialArg(kernelSize, nd, 1, 'kernelSize', op, 1);
    this.stride = spatialArg(opts.stride, nd, 1, 'stride', op, 1);
    this.padding = spatialArg(opts.padding, nd, 0, 'padding', op, 0);
    this.dilation = spatialArg(opts.dilation, nd, 1, 'dilation', op, 1);
    const cg = inChannels / this.groups;
    const scale = Math.sqrt(1 / (cg * kernel.reduce((a, b) => a * b, 1)));
    this.weight = uniform(-scale, scale, [outChannels, ...kernel, cg], { key: opts.key });
    if (opts.bias ?? true) this.bias = zeros([outChannels]);
  }

  forward(x: NDArray): NDArray {
    const a = asArray(x, this.constructor.name);
    const y = OPS[this.nd - 1](a, this.weight, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
    return this.bias ? add(y, this.bias) : y;
  }

  protected override describe(): string {
    const s = this.weight.shape;
    return `${s[s.length - 1] * this.groups}, ${s[0]}, kernelSize=${fmtShape(s.slice(1, -1))}, stride=${fmtShape(this.stride)}, padding=${fmtShape(this.padding)}, dilation=${fmtShape(this.dilation)}, groups=${this.groups}, bias=${this.bias !== undefined}`;
  }
}

/**
 * 1-D convolution of [N, L, inChannels] with weight [outChannels, kernelSize, inChannels/groups].
 * @example new kn.nn.Conv1d(2, 4, 3, { padding: 1 }).call(kn.ones([1, 10, 2])).shape // [1, 10, 4]
 */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: ConvLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, opts);
  }
}

/**
 * 2-D convolution of [N, H, W, inChannels] with weight [outChannels, KH, KW, inChannels/groups].
 * @example new kn.nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 }).call(kn.ones([1, 8, 8, 3])).shape // [1, 4, 4, 8]
 */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialArg, opts: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, opts);
  }
}

/**
 * 3-D convolution of [N, D, H, W, inChannels] with weight [outChannels, KD, KH, KW, inChannels/groups].
 * @example new kn.nn.Conv3d(1, 2, 2).call(kn.ones([1, 3, 3, 3, 1])).shape // [1, 2, 2, 2, 2]
 */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialArg, opts: ConvLayerOptions = {}) {
    super(3, inChannels, outChannels, kernelSize, opts);
  }
}
