// AdaDelta (Zeiler 2012) with a learning rate, as MLX: the step is scaled by the ratio of the
// running RMS of past updates to the running RMS of gradients.
import type { NDArray } from '../../core/array.js';
import { add, divide, multiply, sqrt, square, subtract, zerosLike } from '../../ops/index.js';
import { Optimizer, type LearningRate, type SlotState } from './optimizer.js';
import { checkLearningRate, checkNumber, checkOptions } from './validate.js';

export interface AdaDeltaOptions {
  /** decay ρ of both running averages (default 0.9) */
  rho?: number;
  /** added inside both square roots (default 1e-6) */
  eps?: number;
}

/**
 * AdaDelta: v ← ρv + (1 − ρ)g², Δ = √(u + ε)/√(v + ε)·g, u ← ρu + (1 − ρ)Δ², w ← w − λΔ.
 * @example
 * const opt = new kn.optim.AdaDelta(1.0);
 * opt.applyGradients({ w: kn.array([0.5], 'float32') }, { w: kn.array([1], 'float32') }).w // [0.9968]
 */
export class AdaDelta extends Optimizer {
  readonly rho: number;
  readonly eps: number;

  constructor(learningRate: LearningRate, options: AdaDeltaOptions = {}) {
    super();
    const o = checkOptions('AdaDelta', options, ['rho', 'eps']);
    this.rho = checkNumber('AdaDelta', 'rho', o.rho ?? 0.9, { min: 0 });
    this.eps = checkNumber('AdaDelta', 'eps', o.eps ?? 1e-6, { min: 0 });
    this.setSchedulable('learning_rate', checkLearningRate('AdaDelta', learningRate));
  }

  protected initSingle(parameter: NDArray): SlotState {
    return { v: zerosLike(parameter), u: zerosLike(parameter) };
  }

  protected applySingle(gradient: NDArray, parameter: NDArray, state: SlotState): NDArray {
    const lr = this.lrAs(gradient.dtype);
    const rho = this.rho;
    const v = add(multiply(this.slot(state, 'v'), rho), multiply(square(gradient), 1 - rho));
    const u0 = this.slot(state, 'u');
    const d = multiply(divide(sqrt(add(u0, this.eps)), sqrt(add(v, this.eps))), gradient);
    state.v = v;
    state.u = add(multiply(u0, rho), multiply(square(d), 1 - rho));
    return subtract(parameter, multiply(lr, d));
  }
}
