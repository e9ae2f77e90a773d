// AdamW (Loshchilov & Hutter 2019): Adam with weight decay decoupled from the gradient.
import type { NDArray } from '../../core/array.js';
import { multiply, subtract } from '../../ops/index.js';
import { Adam, type AdamOptions } from './adam.js';
import type { LearningRate, SlotState } from './optimizer.js';
import { checkNumber } from './validate.js';

export interface AdamWOptions extends AdamOptions {
  /** decoupled weight decay λ: w ← w(1 − lr·λ) before the Adam step (default 0.01) */
  weightDecay?: number;
}

/**
 * AdamW: the Adam update applied to w·(1 − lr·weightDecay).
 * @example
 * const opt = new kn.optim.AdamW(1e-3, { weightDecay: 0.1 });
 * opt.applyGradients({ w: kn.array([0.5], 'float32') }, { w: kn.array([1], 'float32') }).w // [0.9967]
 */
export class AdamW extends Adam {
  readonly weightDecay: number;

  constructor(learningRate: LearningRate, options: AdamWOptions = {}) {
    super(learningRate, options, ['weightDecay']);
    this.weightDecay = checkNumber('AdamW', 'weightDecay', options.weightDecay ?? 0.01);
  }

  protected applySingle(gradient: NDArray, parameter: NDArray, state: SlotState): NDArray {
    const lr = this.lrAs(gradient.dtype);
    const decayed = multiply(parameter, subtract(1, multiply(lr, this.weightDecay)));
    return super.applySingle(gradient, decayed, state);
  }
}
