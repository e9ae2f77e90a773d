// Adagrad (Duchi et al. 2011): the sum of all squared gradients scales each step.
import type { NDArray } from '../../core/array.js';
import { add, divide, multiply, sqrt, square, subtract, zerosLike } from '../../ops/index.js';
import { Optimizer, type LearningRate, type SlotState } from './optimizer.js';
import { checkLearningRate, checkNumber, checkOptions } from './validate.js';

export interface AdagradOptions {
  /** added to the denominator (default 1e-8) */
  eps?: number;
}

/**
 * Adagrad: v ← v + g², w ← w − λg / (√v + ε).
 * @example
 * const opt = new kn.optim.Adagrad(0.1);
 * opt.applyGradients({ w: kn.array([0.5], 'float32') }, { w: kn.array([1], 'float32') }).w // [0.9]
 */
export class Adagrad extends Optimizer {
  readonly eps: number;

  constructor(learningRate: LearningRate, options: AdagradOptions = {}) {
    super();
    const o = checkOptions('Adagrad', options, ['eps']);
    this.eps = checkNumber('Adagrad', 'eps', o.eps ?? 1e-8, { min: 0 });
    this.setSchedulable('learning_rate', checkLearningRate('Adagrad', learningRate));
  }

  protected initSingle(parameter: NDArray): SlotState {
    return { v: zerosLike(parameter) };
  }

  protected applySingle(gradient: NDArray, parameter: NDArray, state: SlotState): NDArray {
    const lr = this.lrAs(gradient.dtype);
    const v = add(this.slot(state, 'v'), square(gradient));
    state.v = v;
    return subtract(parameter, divide(multiply(lr, gradient), add(sqrt(v), this.eps)));
  }
}
