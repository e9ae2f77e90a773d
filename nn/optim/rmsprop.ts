// RMSprop (Tieleman & Hinton): a running average of squared gradients scales each step.
import type { NDArray } from '../../core/array.js';
import { add, divide, multiply, sqrt, square, subtract, zerosLike } from '../../ops/index.js';
import { Optimizer, type LearningRate, type SlotState } from './optimizer.js';
import { checkLearningRate, checkNumber, checkOptions } from './validate.js';

export interface RMSpropOptions {
  /** smoothing constant α of the squared-gradient average (default 0.99) */
  alpha?: number;
  /** added to the denominator (default 1e-8) */
  eps?: number;
}

/**
 * RMSprop: v ← αv + (1 − α)g², w ← w − λg / (√v + ε).
 * @example
 * const opt = new kn.optim.RMSprop(1e-2, { alpha: 0.9 });
 * opt.applyGradients({ w: kn.array([0.5], 'float32') }, { w: kn.array([1], 'float32') }).w // [0.9684]
 */
export class RMSprop extends Optimizer {
  readonly alpha: number;
  readonly eps: number;

  constructor(learningRate: LearningRate, options: RMSpropOptions = {}) {
    super();
    const o = checkOptions('RMSprop', options, ['alpha', 'eps']);
    this.alpha = checkNumber('RMSprop', 'alpha', o.alpha ?? 0.99, { min: 0 });
    this.eps = checkNumber('RMSprop', 'eps', o.eps ?? 1e-8, { min: 0 });
    this.setSchedulable('learning_rate', checkLearningRate('RMSprop', learningRate));
  }

  protected initSingle(parameter: NDArray): SlotState {
    return { v: zerosLike(parameter) };
  }

  protected applySingle(gradient: NDArray, parameter: NDArray, state: SlotState): NDArray {
    const lr = this.lrAs(gradient.dtype);
    const v = add(multiply(this.slot(state, 'v'), this.alpha), multiply(square(gradient), 1 - this.alpha));
    state.v = v;
    return subtract(parameter, divide(multiply(lr, gradient), add(sqrt(v), this.eps)));
  }
}
