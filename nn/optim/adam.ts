// Adam (Kingma & Ba 2015) as MLX has it: no bias correction unless asked for.
import type { NDArray } from '../../core/array.js';
import { add, astype, divide, multiply, power, sqrt, square, subtract, zerosLike } from '../../ops/index.js';
import { Optimizer, type LearningRate, type SlotState } from './optimizer.js';
import { checkBetas, checkBoolean, checkLearningRate, checkNumber, checkOptions } from './validate.js';

export interface AdamOptions {
  /** decay rates (β1, β2) of the gradient and squared-gradient averages (default [0.9, 0.999]) */
  betas?: [number, number];
  /** added to the denominator (default 1e-8) */
  eps?: number;
  /** divide the averages by 1 − β^t (default false, as MLX) */
  biasCorrection?: boolean;
}

/**
 * Adam: m ← β1·m + (1 − β1)g, v ← β2·v + (1 − β2)g², w ← w − λm / (√v + ε); with
 * `biasCorrection`, w ← w − λ/(1 − β1^t)·m / (√v/√(1 − β2^t) + ε).
 * @example
 * const opt = new kn.optim.Adam(1e-3, { biasCorrection: true });
 * opt.applyGradients({ w: kn.array([0.5], 'float32') }, { w: kn.array([1], 'float32') }).w // [0.999]
 */
export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly biasCorrection: boolean;

  constructor(learningRate: LearningRate, options: AdamOptions = {}, extraOptions: readonly string[] = []) {
    super();
    const name = new.target.name;
    const o = checkOptions(name, options, ['betas', 'eps', 'biasCorrection', ...extraOptions]);
    this.betas = checkBetas(name, o.betas ?? [0.9, 0.999]);
    this.eps = checkNumber(name, 'eps', o.eps ?? 1e-8, { min: 0 });
    this.biasCorrection = checkBoolean(name, 'biasCorrection', o.biasCorrection ?? false);
    this.setSchedulable('learning_rate', checkLearningRate(name, learningRate));
  }

  protected initSingle(parameter: NDArray): SlotState {
    return { m: zerosLike(parameter), v: zerosLike(parameter) };
  }

  protected applySingle(gradient: NDArray, parameter: NDArray, state: SlotState): NDArray {
    const lr = this.lrAs(gradient.dtype);
    const [b1, b2] = this.betas;
    const m = add(multiply(this.slot(state, 'm'), b1), multiply(gradient, 1 - b1));
    const v = add(multiply(this.slot(state, 'v'), b2), multiply(square(gradient), 1 - b2));
    state.m = m;
    state.v = v;
    if (this.biasCorrection) {
      // 1 - β^t in float64 from the step count array (stays in the graph under kn.compile)
      const t = this.stepAs('float64');
      const c1 = astype(subtract(1, power(b1, t)), gradient.dtype);
      const c2 = astype(sqrt(subtract(1, power(b2, t))), gradient.dtype);
      const numerator = multiply(divide(lr, c1), m);
      const denominator = add(divide(sqrt(v), c2), this.eps);
      return subtract(parameter, divide(numerator, denominator));
    }
    return subtract(parameter, divide(multiply(lr, m), add(sqrt(v), this.eps)));
  }
}
