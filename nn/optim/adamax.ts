// Adamax (Kingma & Ba 2015): Adam with the infinity norm in place of the squared average.
import type { NDArray } from '../../core/array.js';
import { abs, add, divide, maximum, multiply, subtract } from '../../ops/index.js';
import { Adam, type AdamOptions } from './adam.js';
import type { LearningRate, SlotState } from './optimizer.js';

export type AdamaxOptions = Omit<AdamOptions, 'biasCorrection'>;

/**
 * Adamax: m ← β1·m + (1 − β1)g, v ← max(β2·v, |g|), w ← w − λm / (v + ε).
 * @example
 * const opt = new kn.optim.Adamax(2e-3);
 * opt.applyGradients({ w: kn.array([0.5], 'float32') }, { w: kn.array([1], 'float32') }).w // [0.9998]
 */
export class Adamax extends Adam {
  constructor(learningRate: LearningRate, options: AdamaxOptions = {}) {
    if (options && typeof options === 'object' && 'biasCorrection' in options) throw new Error("[Adamax] unknown option 'biasCorrection'");
    super(learningRate, options);
  }

  protected applySingle(gradient: NDArray, parameter: NDArray, state: SlotState): NDArray {
    const lr = this.lrAs(gradient.dtype);
    const [b1, b2] = this.betas;
    const m = add(multiply(this.slot(state, 'm'), b1), multiply(gradient, 1 - b1));
    const v = maximum(multiply(this.slot(state, 'v'), b2), abs(gradient));
    state.m = m;
    state.v = v;
    return subtract(parameter, divide(multiply(lr, m), add(v, this.eps)));
  }
}
