// Adafactor (Shazeer & Stern 2018) as MLX has it: second moments factored into row and column
// averages for parameters of two or more dimensions, relative step sizes, update clipping.
import type { NDArray } from '../../core/array.js';
import { add, astype, divide, expandDims, maximum, mean, minimum, multiply, power, rsqrt, sqrt, square, subtract, zeros, zerosLike } from '../../ops/index.js';
import { Optimizer, type LearningRate, type SlotState } from './optimizer.js';
import { checkBoolean, checkLearningRate, checkNumber, checkOptions } from './validate.js';

export interface AdafactorOptions {
  /** fixed learning rate (or schedule); used only when relativeStep is false (default none) */
  learningRate?: LearningRate;
  /** [ε1 added to g², ε2 lower bound of the parameter scale] (default [1e-30, 1e-3]) */
  eps?: [number, number];
  /** the unscaled update's RMS is clipped at this value (default 1) */
  clipThreshold?: number;
  /** exponent c of β2 = 1 − t^c (default −0.8) */
  decayRate?: number;
  /** first-moment decay; null keeps no first moment (default null) */
  beta1?: number | null;
  /** weight decay λ, scaled by the step size (default 0) */
  weightDecay?: number;
  /** scale the step by max(ε2, RMS(w)) (default true) */
  scaleParameter?: boolean;
  /** step size min(1e-2, 1/√t) instead of the learning rate (default true) */
  relativeStep?: boolean;
  /** with relativeStep: min(1e-6·t, 1/√t), a warm-up (default false) */
  warmupInit?: boolean;
}

const rms = (x: NDArray): NDArray => sqrt(mean(square(x)));

/**
 * Adafactor: memory-light adaptive steps. For a parameter of shape [..., R, C] the second moment
 * is kept as row averages [..., R] and column averages [..., C] (`exp_avg_sq_row`,
 * `exp_avg_sq_col`); smaller parameters keep `exp_avg_sq`; with beta1, `exp_avg` too.
 * @example
 * const opt = new kn.optim.Adafactor(); // relative steps
 * opt.applyGradients({ w: kn.full([2, 2], 0.5) }, { w: kn.ones([2, 2]) }).w // [[0.99, 0.99], [0.99, 0.99]]
 * @example
 * const opt = new kn.optim.Adafactor({ learningRate: 1e-3, relativeStep: false });
 * opt.init({ w: kn.ones([4, 4]) }); // a matrix gets factored second moments
 * Object.keys(opt.state.w) // ['exp_avg_sq_row', 'exp_avg_sq_col']
 */
export class Adafactor extends Optimizer {
  readonly eps: [number, number];
  readonly clipThreshold: number;
  readonly decayRate: number;
  readonly beta1: number | null;
  readonly weightDecay: number;
  readonly scaleParameter: boolean;
  readonly relativeStep: boolean;
  readonly warmupInit: boolean;

  constructor(options: AdafactorOptions = {}) {
    super();
    const o = checkOptions('Adafactor', options, [
      'learningRate',
      'eps',
      'clipThreshold',
      'decayRate',
      'beta1',
      'weightDecay',
      'scaleParameter',
      'relativeStep',
      'warmupInit',
    ]);
    const eps = o.eps ?? [1e-30, 1e-3];
    if (!Array.isArray(eps) || eps.length !== 2) throw new TypeError(`[Adafactor] eps must be a pair of numbers, got ${JSON.stringify(eps)}`);
    this.eps = [checkNumber('Adafactor', 'eps[0]', eps[0], { min: 0 }), checkNumber('Adafactor', 'eps[1]', eps[1], { min: 0 })];
    this.clipThreshold = checkNumber('Adafactor', 'clipThreshold', o.clipThreshold ?? 1, { min: Number.MIN_VALUE });
    this.decayRate = checkNumber('Adafactor', 'decayRate', o.decayRate ?? -0.8, { max: 0 });
    this.beta1 = o.beta1 === undefined || o.beta1 === null ? null : checkNumber('Adafactor', 'beta1', o.beta1, { min: 0, max: 1 });
    this.weightDecay = checkNumber('Adafactor', 'weightDecay', o.weightDecay ?? 0);
    this.scaleParameter = checkBoolean('Adafactor', 'scaleParameter', o.scaleParameter ?? true);
    this.relativeStep = checkBoolean('Adafactor', 'relativeStep', o.relativeStep ?? true);
    this.warmupInit = checkBoolean('Adafactor', 'warmupInit', o.warmupInit ?? false);
    if (o.learningRate !== undefined && o.learningRate !== null) this.setSchedulable('learning_rate', checkLearningRate('Adafactor', o.learningRate));
    else if (!this.relativeStep) throw new Error('[Adafactor] relativeStep: false needs a learningRate');
  }

  protected initSingle(parameter: NDArray): SlotState {
    const s: SlotState = {};
    const sh = parameter.shape;
    if (sh.length >= 2) {
      s.exp_avg_sq_row = zeros(sh.slice(0, -1), parameter.dtype);
      s.exp_avg_sq_col = zeros([...sh.slice(0, -2), sh[sh.length - 1]], parameter.dtype);
    } else {
      s.exp_avg_sq = zerosLike(parameter);
    }
    if (this.beta1 !== null) s.exp_avg = zerosLike(parameter);
    return s;
  }

  /** The step size: relative (from the step count) or the learning rate, times the parameter scale. */
  #stepSize(parameterRms: NDArray): NDArray {
    // the relative step follows the step-count array in float64, like JS numbers would
    const t = this.stepAs('float64');
    const size = this.relativeStep ? astype(minimum(this.warmupInit ? multiply(t, 1e-6) : 1e-2, rsqrt(t)), parameterRms.dtype) : this.lrAs(parameterRms.dtype);
    if (!this.scaleParameter) return size;
    return multiply(maximum(parameterRms, this.eps[1]), size);
  }

  protected applySingle(gradient: NDArray, parameter: NDArray, state: SlotState): NDArray {
    const stepSize = this.#stepSize(rms(parameter));
    // β2 = 1 − t^c and 1 − β2 in float64 from the step-count array, then in the gradient's dtype
    const beta2f64 = subtract(1, power(this.stepAs('float64'), this.decayRate));
    const beta2 = astype(beta2f64, gradient.dtype),
      rest = astype(subtract(1, beta2f64), gradient.dtype);
    let update = add(square(gradient), this.eps[0]);
    if (gradient.ndim >= 2) {
      const row = add(multiply(this.slot(state, 'exp_avg_sq_row'), beta2), multiply(mean(update, -1), rest));
      const col = add(multiply(this.slot(state, 'exp_avg_sq_col'), beta2), multiply(mean(update, -2), rest));
      state.exp_avg_sq_row = row;
      state.exp_avg_sq_col = col;
      // V ≈ row ⊗ col / mean(row): the outer product of the two factors' inverse square roots
      const rowFactor = rsqrt(divide(row, mean(row, -1, { keepdims: true })));
      const colFactor = rsqrt(col);
      update = multiply(multiply(expandDims(rowFactor, -1), expandDims(colFactor, -2)), gradient);
    } else {
      const v = add(multiply(this.slot(state, 'exp_avg_sq'), beta2), multiply(update, rest));
      state.exp_avg_sq = v;
      update = multiply(rsqrt(v), gradient);
    }
    update = divide(update, maximum(divide(rms(update), this.clipThreshold), 1));
    update = multiply(stepSize, update);
    if (this.beta1 !== null) {
      const m = add(multiply(this.slot(state, 'exp_avg'), this.beta1), multiply(update, 1 - this.beta1));
      state.exp_avg = m;
      update = m;
    }
    let p = parameter;
    if (this.weightDecay !== 0) p = add(p, multiply(p, multiply(stepSize, -this.weightDecay)));
    return subtract(p, update);
  }
}
