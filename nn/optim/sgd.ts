// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay
// (MLX's SGD: v ← μv + (1 − τ)g, w ← w − λv; dampening applies from the first step).
import type { NDArray } from '../../core/array.js';
import { add, multiply, subtract, zerosLike } from '../../ops/index.js';
import { Optimizer, type LearningRate, type SlotState } from './optimizer.js';
import { checkBoolean, checkLearningRate, checkNumber, checkOptions } from './validate.js';

export interface SGDOptions {
  /** momentum strength μ (default 0: plain SGD, no state) */
  momentum?: number;
  /** L2 penalty added to the gradient: g + weightDecay·w (default 0) */
  weightDecay?: number;
  /** dampening τ of the momentum (default 0) */
  dampening?: number;
  /** Nesterov momentum: step along g + μv (needs momentum > 0 and no dampening; default false) */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent.
 * @example
 * const opt = new kn.optim.SGD(0.1, { momentum: 0.9, nesterov: true });
 * opt.applyGradients({ w: kn.array([1], 'float32') }, { w: kn.array([0], 'float32') }).w // [-0.19] (0 - 0.1 · 1.9)
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly dampening: number;
  readonly nesterov: boolean;

  constructor(learningRate: LearningRate, options: SGDOptions = {}) {
    super();
    const o = checkOptions('SGD', options, ['momentum', 'weightDecay', 'dampening', 'nesterov']);
    this.momentum = checkNumber('SGD', 'momentum', o.momentum ?? 0, { min: 0 });
    this.weightDecay = checkNumber('SGD', 'weightDecay', o.weightDecay ?? 0);
    this.dampening = checkNumber('SGD', 'dampening', o.dampening ?? 0);
    this.nesterov = checkBoolean('SGD', 'nesterov', o.nesterov ?? false);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw new Error(`[SGD] Nesterov momentum needs momentum > 0 and dampening 0, got momentum ${this.momentum} and dampening ${this.dampening}`);
    this.setSchedulable('learning_rate', checkLearningRate('SGD', learningRate));
  }

  // Plain SGD keeps no velocity (MLX allocates one it never reads).
  protected initSingle(parameter: NDArray): SlotState {
    return this.momentum > 0 ? { v: zerosLike(parameter) } : {};
  }

  protected applySingle(gradient: NDArray, parameter: NDArray, state: SlotState): NDArray {
    let g = gradient;
    if (this.weightDecay !== 0) g = add(g, multiply(parameter, this.weightDecay));
    const lr = this.lrAs(g.dtype);
    if (this.momentum <= 0) return subtract(parameter, multiply(lr, g));
    let v = multiply(this.slot(state, 'v'), this.momentum);
    v = add(v, this.dampening > 0 ? multiply(g, 1 - this.dampening) : g);
    state.v = v;
    const step = this.nesterov ? add(g, multiply(v, this.momentum)) : v;
    return subtract(parameter, multiply(lr, step));
  }
}
