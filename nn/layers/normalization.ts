// Normalisation layers over the last (channel) axis: RMSNorm and LayerNorm (through kn.fast),
// GroupNorm, InstanceNorm and BatchNorm (running statistics in training, used in eval).
import type { NDArray } from '../../core/array.js';
import { fmtShape } from '../../core/shape.js';
import { asArray } from '../../ops/convert.js';
import { ones, zeros } from '../../ops/creation.js';
import { add, multiply, rsqrt, subtract } from '../../ops/elementwise.js';
import { layerNorm, rmsNorm } from '../../ops/fast/index.js';
import { mean } from '../../ops/reduce.js';
import { var as variance } from '../../ops/stats_softmax.js';
import { reshape, transpose } from '../../ops/views.js';
import { stopGradient } from '../../core/autograd.js';
import { Module } from '../module.js';
import { finite, keepState, positiveInt } from './common.js';

function channels(x: NDArray, dims: number, op: string, minNdim = 1): NDArray {
  const a = asArray(x, op);
  if (a.ndim < minNdim || a.shape[a.ndim - 1] !== dims)
    throw new Error(
      `[${op}] expected input with at least ${minNdim} dimension${minNdim > 1 ? 's' : ''} and ${dims} features on the last axis, got shape ${fmtShape(a.shape)}`,
    );
  return a;
}

/**
 * Root-mean-square normalisation of the last axis with a learned scale `weight` [dims] (ones).
 * @example new kn.nn.RMSNorm(4).call(kn.ones([2, 4])).shape // [2, 4]
 */
export class RMSNorm extends Module {
  weight: NDArray;
  readonly eps: number;
  constructor(dims: number, opts: { eps?: number } = {}) {
    super();
    this.weight = ones([positiveInt(dims, 'RMSNorm', 'dims')]);
    this.eps = finite(opts.eps ?? 1e-5, 'RMSNorm', 'eps', { min: 0 });
  }
  forward(x: NDArray): NDArray {
    return rmsNorm(channels(x, this.weight.shape[0], 'RMSNorm'), this.weight, this.eps);
  }
  protected override describe(): string {
    return `${this.weight.shape[0]}, eps=${this.eps}`;
  }
}

export interface LayerNormOptions {
  eps?: number;
  /** learn weight (ones) and bias (zeros) (default true) */
  affine?: boolean;
  /** with affine, learn the bias too (default true) */
  bias?: boolean;
}

/**
 * Layer normalisation of the last axis: (x − mean)/√(var + eps)·weight + bias.
 * @example new kn.nn.LayerNorm(4).call(kn.arange(8).reshape([2, 4])).shape // [2, 4]
 */
export class LayerNorm extends Module {
  weight?: NDArray;
  bias?: NDArray;
  readonly dims: number;
  readonly eps: number;
  constructor(dims: number, opts: LayerNormOptions = {}) {
    super();
    this.dims = positiveInt(dims, 'LayerNorm', 'dims');
    this.eps = finite(opts.eps ?? 1e-5, 'LayerNorm', 'eps', { min: 0 });
    if (opts.affine ?? true) {
      this.weight = ones([dims]);
      if (opts.bias ?? true) this.bias = zeros([dims]);
    }
  }
  forward(x: NDArray): NDArray {
    return layerNorm(channels(x, this.dims, 'LayerNorm'), this.weight ?? null, this.bias ?? null, this.eps);
  }
  protected override describe(): string {
    return `${this.dims}, eps=${this.eps}, affine=${this.weight !== undefined}`;
  }
}

export interface GroupNormOptions {
  eps?: number;
  /** learn weight and bias (default true) */
  affine?: boolean;
  /**
   * group consecutive channels as PyTorch does; the default (MLX's) puts channel c in group
   * c mod numGroups
   */
  pytorchCompatible?: boolean;
}

/**
 * Group normalisation of channels-last input [N, ..., dims]: statistics per sample and group over
 * the spatial axes and the group's channels.
 * @example new kn.nn.GroupNorm(2, 4).call(kn.ones([1, 3, 4])).shape // [1, 3, 4]
 */
export class GroupNorm extends Module {
  weight?: NDArray;
  bias?: NDArray;
  readonly numGroups: number;
  readonly dims: number;
  readonly eps: number;
  readonly pytorchCompatible: boolean;
  constructor(numGroups: number, dims: number, opts: GroupNormOptions = {}) {
    super();
    this.numGroups = positiveInt(numGroups, 'GroupNorm', 'numGroups');
    this.dims = positiveInt(dims, 'GroupNorm', 'dims');
    if (dims % numGroups !== 0) throw new Error(`[GroupNorm] dims ${dims} are not divisible by numGroups ${numGroups}`);
    this.eps = finite(opts.eps ?? 1e-5, 'GroupNorm', 'eps', { min: 0 });
    this.pytorchCompatible = opts.pytorchCompatible ?? false;
    if (opts.affine ?? true) {
      this.weight = ones([dims]);
      this.bias = zeros([dims]);
    }
  }
  forward(x: NDArray): NDArray {
    const a = channels(x, this.dims, 'GroupNorm', 2);
    const shape = a.shape,
      b = shape[0],
      g = this.numGroups,
      gs = this.dims / g;
    let y: NDArray;
    if (this.pytorchCompatible) {
      // [B, S, G, gs] → [B, G, S·gs]: each row one group's values
      const rows = reshape(transpose(reshape(a, [b, -1, g, gs]), [0, 2, 1, 3]), [b, g, -1]);
      const n = layerNorm(rows, null, null, this.eps);
      y = reshape(transpose(reshape(n, [b, g, -1, gs]), [0, 2, 1, 3]), shape);
    } else {
      // flattening [S, C] and folding by G puts channel c in column c mod G
      const cols = reshape(a, [b, -1, g]);
      const mu = mean(cols, 1, { keepdims: true });
      const v = variance(cols, 1, { keepdims: true });
      y = reshape(multiply(subtract(cols, mu), rsqrt(add(v, this.eps))), shape);
    }
    return this.weight && this.bias ? add(multiply(y, this.weight), this.bias) : y;
  }
  protected override describe(): string {
    return `${this.numGroups}, ${this.dims}, eps=${this.eps}, affine=${this.weight !== undefined}, pytorchCompatible=${this.pytorchCompatible}`;
  }
}

/**
 * Instance normalisation of channels-last input [N, ...spatial, dims]: statistics per sample and
 * channel over the spatial axes.
 * @example new kn.nn.InstanceNorm(3).call(kn.random.normal([2, 5, 3])).shape // [2, 5, 3]
 */
export class InstanceNorm extends Module {
  weight?: NDArray;
  bias?: NDArray;
  readonly dims: number;
  readonly eps: number;
  constructor(dims: number, opts: { eps?: number; affine?: boolean } = {}) {
    super();
    this.dims = positiveInt(dims, 'InstanceNorm', 'dims');
    this.eps = finite(opts.eps ?? 1e-5, 'InstanceNorm', 'eps', { min: 0 });
    if (opts.affine ?? false) {
      this.weight = ones([dims]);
      this.bias = zeros([dims]);
    }
  }
  forward(x: NDArray): NDArray {
    const a = channels(x, this.dims, 'InstanceNorm', 3);
    const axes = Array.from({ length: a.ndim - 2 }, (_, i) => i + 1);
    const y = multiply(subtract(a, mean(a, axes, { keepdims: true })), rsqrt(add(variance(a, axes, { keepdims: true }), this.eps)));
    return this.weight && this.bias ? add(multiply(y, this.weight), this.bias) : y;
  }
  protected override describe(): string {
    return `${this.dims}, eps=${this.eps}, affine=${this.weight !== undefined}`;
  }
}

export interface BatchNormOptions {
  eps?: number;
  /** weight of the new batch statistics in the running averages (default 0.1) */
  momentum?: number;
  /** learn weight and bias (default true) */
  affine?: boolean;
  /** keep running mean and variance for eval mode (default true) */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation of channels-last input [N, ..., numFeatures] (2 to 4 dimensions). In
 * training it normalises with the batch's mean and (biased) variance and updates `runningMean` /
 * `runningVar` (running = (1 − momentum)·running + momentum·batch); in eval mode it uses them.
 * The running statistics are saved with the weights but are never trainable; they survive a
 * kn.tidy around the training step, and like any lazy state should be evaluated each step
 * (`kn.eval(model.parameters())`) so their graphs do not grow.
 * @example
 * const bn = new kn.nn.BatchNorm(2);
 * bn.call(kn.array([[1, 10], [3, 30]], 'float32')) // [[-1.000, -1.000], [1.000, 1.000]]
 * bn.runningMean // [0.2, 2] (momentum 0.1)
 * bn.eval(); // from now on the running statistics normalise
 */
export class BatchNorm extends Module {
  weight?: NDArray;
  bias?: NDArray;
  runningMean?: NDArray;
  runningVar?: NDArray;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    this.numFeatures = positiveInt(numFeatures, 'BatchNorm', 'numFeatures');
    this.eps = finite(opts.eps ?? 1e-5, 'BatchNorm', 'eps', { min: 0 });
    this.momentum = finite(opts.momentum ?? 0.1, 'BatchNorm', 'momentum', { min: 0 });
    if (this.momentum > 1) throw new Error(`[BatchNorm] momentum must be in [0, 1], got ${this.momentum}`);
    if (opts.affine ?? true) {
      this.weight = ones([numFeatures]);
      this.bias = zeros([numFeatures]);
    }
    if (opts.trackRunningStats ?? true) {
      this.runningMean = zeros([numFeatures]);
      this.runningVar = ones([numFeatures]);
    }
  }
  /** Running statistics made by this layer (not ones a user loaded or passed to update). */
  #owned = new WeakSet<NDArray>();
  #own(a: NDArray): NDArray {
    this.#owned.add(a);
    return keepState(a);
  }
  protected override stateKeys(): readonly string[] {
    return ['runningMean', 'runningVar'];
  }
  forward(x: NDArray): NDArray {
    const a = channels(x, this.numFeatures, 'BatchNorm', 2);
    if (a.ndim > 4) throw new Error(`[BatchNorm] expected 2 to 4 dimensions [N, ..., ${this.numFeatures}], got shape ${fmtShape(a.shape)}`);
    let mu: NDArray, v: NDArray;
    if (this.training || !this.runningMean || !this.runningVar) {
      const axes = Array.from({ length: a.ndim - 1 }, (_, i) => i);
      mu = mean(a, axes);
      v = variance(a, axes);
      if (this.training && this.runningMean && this.runningVar) {
        const m = this.momentum;
        const [oldMean, oldVar] = [this.runningMean, this.runningVar];
        this.runningMean = this.#own(add(multiply(oldMean, 1 - m), multiply(stopGradient(mu), m)));
        this.runningVar = this.#own(add(multiply(oldVar, 1 - m), multiply(stopGradient(v), m)));
        // statistics this layer made itself are freed once replaced (the new ones' graphs keep what they need)
        for (const o of [oldMean, oldVar]) if (this.#owned.has(o)) o.dispose();
      }
    } else {
      mu = this.runningMean;
      v = this.runningVar;
    }
    const y = multiply(subtract(a, mu), rsqrt(add(v, this.eps)));
    return this.weight && this.bias ? add(multiply(y, this.weight), this.bias) : y;
  }
  protected override describe(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== undefined}, trackRunningStats=${this.runningMean !== undefined}`;
  }
}
