// Lion (Chen et al. 2023): the sign of an interpolated momentum is the step.
import type { NDArray } from '../../core/array.js';
import { add, multiply, sign, subtract, zerosLike } from '../../ops/index.js';
import { Optimizer, type LearningRate, type SlotState } from './optimizer.js';
import { checkBetas, checkLearningRate, checkNumber, checkOptions } from './validate.js';

export interface LionOptions {
  /** (β1, β2): interpolation for the step direction and the momentum decay (default [0.9, 0.99]) */
  betas?: [number, number];
  /** decoupled weight decay λ (default 0) */
  weightDecay?: number;
}

/**
 * Lion: c = β1·m + (1 − β1)g, m ← β2·m + (1 − β2)g, w ← w(1 − ηλ) − η·sign(c).
 * Use a learning rate 3-10x smaller than AdamW's.
 * @example
 * const opt = new kn.optim.Lion(1e-4, { weightDecay: 0.1 });
 * opt.applyGradients({ w: kn.array([0.5], 'float32') }, { w: kn.array([1], 'float32') }).w // [0.9999]
 */
export class Lion extends Optimizer {
  readonly betas: [number, number];
  readonly weightDecay: number;

  constructor(learningRate: LearningRate, options: LionOptions = {}) {
    super();
    const o = checkOptions('Lion', options, ['betas', 'weightDecay']);
    this.betas = checkBetas('Lion', o.betas ?? [0.9, 0.99]);
    this.weightDecay = checkNumber('Lion', 'weightDecay', o.weightDecay ?? 0);
    this.setSchedulable('learning_rate', checkLearningRate('Lion', learningRate));
  }

  protected initSingle(parameter: NDArray): SlotState {
    return { m: zerosLike(parameter) };
  }

  protected applySingle(gradient: NDArray, parameter: NDArray, state: SlotState): NDArray {
    const lr = this.lrAs(gradient.dtype);
    const [b1, b2] = this.betas;
    const m = this.slot(state, 'm');
    const c = add(multiply(m, b1), multiply(gradient, 1 - b1));
    state.m = add(multiply(m, b2), multiply(gradient, 1 - b2));
    let p = parameter;
    if (this.weightDecay > 0) p = multiply(subtract(1, multiply(lr, this.weightDecay)), p);
    return subtract(p, multiply(lr, sign(c)));
  }
}
