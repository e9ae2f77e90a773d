// Activation functions (MLX's definitions, written with ordinary ops so they differentiate) and
// the modules that wrap them.
import type { NDArray } from '../../core/array.js';
import { fmtValue } from '../../core/shape.js';
import { asArray } from '../../ops/convert.js';
import {
  abs,
  add,
  divide,
  erf,
  expm1,
  logaddexp,
  maximum,
  minimum,
  multiply,
  negative,
  sigmoid as sigmoidOp,
  tanh as tanhOp,
  where,
  greater,
} from '../../ops/elementwise.js';
import { softmax as softmaxOp, logSoftmax as logSoftmaxOp } from '../../ops/stats_softmax.js';
import { split } from '../../ops/shape.js';
import { full } from '../../ops/creation.js';
import { Module } from '../module.js';

const arg = (x: NDArray, op: string) => asArray(x, op);

function numberArg(v: unknown, op: string, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`[${op}] ${what} must be a finite number, got ${fmtValue(v)}`);
  return v;
}

/** max(x, 0). @example kn.nn.relu(kn.array([-1, 2])).tolist() // [0, 2] */
export function relu(x: NDArray): NDArray {
  return maximum(arg(x, 'relu'), 0);
}

/** min(max(x, 0), 6). @example kn.nn.relu6(kn.array([-1, 7])).tolist() // [0, 6] */
export function relu6(x: NDArray): NDArray {
  return minimum(maximum(arg(x, 'relu6'), 0), 6);
}

/** max(slope·x, x) (slope default 0.01). @example kn.nn.leakyRelu(kn.array([-1, 2]), 0.1).tolist() // [-0.1, 2] */
export function leakyRelu(x: NDArray, negativeSlope = 0.01): NDArray {
  return maximum(multiply(arg(x, 'leakyRelu'), numberArg(negativeSlope, 'leakyRelu', 'negativeSlope')), x);
}

/** x where x > 0, else alpha·(e^x − 1). @example kn.nn.elu(kn.array([-1, 1])) // [-0.6321, 1] */
export function elu(x: NDArray, alpha = 1): NDArray {
  const a = arg(x, 'elu');
  return where(greater(a, 0), a, multiply(expm1(a), numberArg(alpha, 'elu', 'alpha')));
}

const SELU_ALPHA = 1.6732632423543772,
  SELU_SCALE = 1.0507009873554805;

/** scale·elu(x, alpha) with the self-normalising constants. @example kn.nn.selu(kn.array([-1, 1])) // [-1.1113, 1.0507] */
export function selu(x: NDArray): NDArray {
  return multiply(elu(arg(x, 'selu'), SELU_ALPHA), SELU_SCALE);
}

/** max(x, 0) + alpha·(e^(min(x, 0)/alpha) − 1). @example kn.nn.celu(kn.array([-1, 1]), 2) // [-0.7869, 1] */
export function celu(x: NDArray, alpha = 1): NDArray {
  const a = arg(x, 'celu'),
    al = numberArg(alpha, 'celu', 'alpha');
  return add(maximum(a, 0), multiply(expm1(divide(minimum(a, 0), al)), al));
}

/** Exact GELU: x·Φ(x) = x·(1 + erf(x/√2))/2. @example kn.nn.gelu(kn.array([1])) // [0.8413] */
export function gelu(x: NDArray): NDArray {
  const a = arg(x, 'gelu');
  return multiply(multiply(a, add(erf(multiply(a, Math.SQRT1_2)), 1)), 0.5);
}

/** GELU's tanh approximation: x·(1 + tanh(√(2/π)·(x + 0.044715x³)))/2. @example kn.nn.geluApprox(kn.array([1])) // [0.8412] */
export function geluApprox(x: NDArray): NDArray {
  const a = arg(x, 'geluApprox');
  const inner = multiply(add(a, multiply(multiply(multiply(a, a), a), 0.044715)), Math.sqrt(2 / Math.PI));
  return multiply(multiply(a, add(tanhOp(inner), 1)), 0.5);
}

/** MLX's fast GELU approximation x·σ(1.702x). @example kn.nn.geluFastApprox(kn.array([1])) // [0.8458] */
export function geluFastApprox(x: NDArray): NDArray {
  const a = arg(x, 'geluFastApprox');
  return multiply(a, sigmoidOp(multiply(a, 1.702)));
}

/** x·σ(x) (swish). @example kn.nn.silu(kn.array([1])) // [0.7311] */
export function silu(x: NDArray): NDArray {
  const a = arg(x, 'silu');
  return multiply(a, sigmoidOp(a));
}

/** 1/(1 + e^−x). @example kn.nn.sigmoid(kn.array([0])).tolist() // [0.5] */
export function sigmoid(x: NDArray): NDArray {
  return sigmoidOp(arg(x, 'sigmoid'));
}

/** Hyperbolic tangent. @example kn.nn.tanh(kn.array([0])).tolist() // [0] */
export function tanh(x: NDArray): NDArray {
  return tanhOp(arg(x, 'tanh'));
}

/** log(1 + e^x), computed stably as logaddexp(x, 0). @example kn.nn.softplus(kn.array([0])) // [0.6931] */
export function softplus(x: NDArray): NDArray {
  return logaddexp(arg(x, 'softplus'), 0);
}

/** x/(1 + |x|). @example kn.nn.softsign(kn.array([1])).tolist() // [0.5] */
export function softsign(x: NDArray): NDArray {
  const a = arg(x, 'softsign');
  return divide(a, add(abs(a), 1));
}

/** x·tanh(softplus(x)). @example kn.nn.mish(kn.array([1])) // [0.8651] */
export function mish(x: NDArray): NDArray {
  const a = arg(x, 'mish');
  return multiply(a, tanhOp(softplus(a)));
}

/** x·min(max(x + 3, 0), 6)/6. @example kn.nn.hardswish(kn.array([1])) // [0.6667] */
export function hardswish(x: NDArray): NDArray {
  const a = arg(x, 'hardswish');
  return divide(multiply(a, minimum(maximum(add(a, 3), 0), 6)), 6);
}

/** Clamps to [minVal, maxVal] (default [-1, 1]). @example kn.nn.hardTanh(kn.array([-3, 0.5])).tolist() // [-1, 0.5] */
export function hardTanh(x: NDArray, minVal = -1, maxVal = 1): NDArray {
  return minimum(maximum(arg(x, 'hardTanh'), numberArg(minVal, 'hardTanh', 'minVal')), numberArg(maxVal, 'hardTanh', 'maxVal'));
}

/**
 * Gated linear unit: splits `axis` (default last) in halves a, b and returns a·σ(b).
 * @example kn.nn.glu(kn.array([1, 0])).tolist() // [0.5]
 */
export function glu(x: NDArray, axis = -1): NDArray {
  const a = arg(x, 'glu');
  const ax = axis < 0 ? axis + a.ndim : axis;
  if (!Number.isInteger(axis) || ax < 0 || ax >= a.ndim) throw new Error(`[glu] axis ${axis} is out of range for an array of dimension ${a.ndim}`);
  if (a.shape[ax] % 2 !== 0) throw new Error(`[glu] axis ${axis} has odd size ${a.shape[ax]}; it must split in two halves`);
  const [u, v] = split(a, 2, ax);
  return multiply(u, sigmoidOp(v));
}

/** log σ(x) = −softplus(−x). @example kn.nn.logSigmoid(kn.array([0])) // [-0.6931] */
export function logSigmoid(x: NDArray): NDArray {
  return negative(softplus(negative(arg(x, 'logSigmoid'))));
}

/** Softmax along `axis` (default last). @example kn.nn.softmax(kn.array([0, 0])).tolist() // [0.5, 0.5] */
export function softmax(x: NDArray, axis = -1): NDArray {
  return softmaxOp(arg(x, 'softmax'), axis);
}

/** Log-softmax along `axis` (default last). @example kn.nn.logSoftmax(kn.array([0, 0])) // [-0.6931, -0.6931] */
export function logSoftmax(x: NDArray, axis = -1): NDArray {
  return logSoftmaxOp(arg(x, 'logSoftmax'), axis);
}

/** Softmax of −x. @example kn.nn.softmin(kn.array([0, 0])).tolist() // [0.5, 0.5] */
export function softmin(x: NDArray, axis = -1): NDArray {
  return softmaxOp(negative(arg(x, 'softmin')), axis);
}

/** x·slope where x < 0 with a learned slope per channel (last axis). @example kn.nn.prelu(kn.array([-1, 1]), kn.array([0.25])) // [-0.25, 1] */
export function prelu(x: NDArray, alpha: NDArray): NDArray {
  const a = arg(x, 'prelu');
  return add(maximum(a, 0), multiply(asArray(alpha, 'prelu'), minimum(a, 0)));
}

/** 1 where x > threshold, else 0. @example kn.nn.step(kn.array([-1, 1])).tolist() // [0, 1] */
export function step(x: NDArray, threshold = 0): NDArray {
  const a = arg(x, 'step');
  return where(greater(a, numberArg(threshold, 'step', 'threshold')), 1, 0);
}

// Module forms. Each keeps its settings as fields (numbers are not parameters).

/** @example new kn.nn.ReLU().call(kn.array([-1, 1])) // [0, 1] */
export class ReLU extends Module {
  forward(x: NDArray): NDArray {
    return relu(x);
  }
}
/** @example new kn.nn.ReLU6().call(kn.array([7])) // [6] */
export class ReLU6 extends Module {
  forward(x: NDArray): NDArray {
    return relu6(x);
  }
}
/** @example new kn.nn.LeakyReLU(0.2).call(kn.array([-1])) // [-0.2] */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    numberArg(negativeSlope, 'LeakyReLU', 'negativeSlope');
  }
  forward(x: NDArray): NDArray {
    return leakyRelu(x, this.negativeSlope);
  }
  protected override describe(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}
/** @example new kn.nn.ELU().call(kn.array([-1])) // [-0.6321] */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
    numberArg(alpha, 'ELU', 'alpha');
  }
  forward(x: NDArray): NDArray {
    return elu(x, this.alpha);
  }
  protected override describe(): string {
    return `alpha=${this.alpha}`;
  }
}
/** @example new kn.nn.SELU().call(kn.array([-1])) // [-1.1113] */
export class SELU extends Module {
  forward(x: NDArray): NDArray {
    return selu(x);
  }
}
/** @example new kn.nn.CELU(2).call(kn.array([-1])) // [-0.7869] */
export class CELU extends Module {
  constructor(readonly alpha = 1) {
    super();
    numberArg(alpha, 'CELU', 'alpha');
  }
  forward(x: NDArray): NDArray {
    return celu(x, this.alpha);
  }
  protected override describe(): string {
    return `alpha=${this.alpha}`;
  }
}

export type GeluApprox = 'none' | 'precise' | 'tanh' | 'fast';

/**
 * GELU; `approx`: 'none' (exact, default), 'precise' or 'tanh' (tanh formula), 'fast' (x·σ(1.702x)).
 * @example new kn.nn.GELU({ approx: 'tanh' }).call(kn.array([1])) // [0.8412]
 */
export class GELU extends Module {
  readonly approx: GeluApprox;
  constructor(opts: { approx?: GeluApprox } = {}) {
    super();
    const a = opts.approx ?? 'none';
    if (!['none', 'precise', 'tanh', 'fast'].includes(a)) throw new Error(`[GELU] approx must be 'none', 'precise', 'tanh' or 'fast', got ${fmtValue(a)}`);
    this.approx = a;
  }
  forward(x: NDArray): NDArray {
    return this.approx === 'none' ? gelu(x) : this.approx === 'fast' ? geluFastApprox(x) : geluApprox(x);
  }
  protected override describe(): string {
    return `approx='${this.approx}'`;
  }
}
/** @example new kn.nn.SiLU().call(kn.array([1])) // [0.7311] */
export class SiLU extends Module {
  forward(x: NDArray): NDArray {
    return silu(x);
  }
}
/** @example new kn.nn.Sigmoid().call(kn.array([0])) // [0.5] */
export class Sigmoid extends Module {
  forward(x: NDArray): NDArray {
    return sigmoid(x);
  }
}
/** @example new kn.nn.Tanh().call(kn.array([0])) // [0] */
export class Tanh extends Module {
  forward(x: NDArray): NDArray {
    return tanh(x);
  }
}
/** @example new kn.nn.Softplus().call(kn.array([0])) // [0.6931] */
export class Softplus extends Module {
  forward(x: NDArray): NDArray {
    return softplus(x);
  }
}
/** @example new kn.nn.Softsign().call(kn.array([1])) // [0.5] */
export class Softsign extends Module {
  forward(x: NDArray): NDArray {
    return softsign(x);
  }
}
/** @example new kn.nn.Mish().call(kn.array([1])) // [0.8651] */
export class Mish extends Module {
  forward(x: NDArray): NDArray {
    return mish(x);
  }
}
/** @example new kn.nn.Hardswish().call(kn.array([1])) // [0.6667] */
export class Hardswish extends Module {
  forward(x: NDArray): NDArray {
    return hardswish(x);
  }
}
/** @example new kn.nn.HardTanh().call(kn.array([3])) // [1] */
export class HardTanh extends Module {
  forward(x: NDArray): NDArray {
    return hardTanh(x);
  }
}
/** @example new kn.nn.GLU().call(kn.array([1, 0])) // [0.5] */
export class GLU extends Module {
  constructor(readonly axis = -1) {
    super();
  }
  forward(x: NDArray): NDArray {
    return glu(x, this.axis);
  }
  protected override describe(): string {
    return `axis=${this.axis}`;
  }
}
/** @example new kn.nn.LogSigmoid().call(kn.array([0])) // [-0.6931] */
export class LogSigmoid extends Module {
  forward(x: NDArray): NDArray {
    return logSigmoid(x);
  }
}
/** @example new kn.nn.Softmax().call(kn.array([1, 1])) // [0.5, 0.5] */
export class Softmax extends Module {
  constructor(readonly axis = -1) {
    super();
  }
  forward(x: NDArray): NDArray {
    return softmax(x, this.axis);
  }
}
/** @example new kn.nn.LogSoftmax().call(kn.array([1, 1])) // [-0.6931, -0.6931] */
export class LogSoftmax extends Module {
  constructor(readonly axis = -1) {
    super();
  }
  forward(x: NDArray): NDArray {
    return logSoftmax(x, this.axis);
  }
}
/** @example new kn.nn.Softmin().call(kn.array([1, 1])) // [0.5, 0.5] */
export class Softmin extends Module {
  constructor(readonly axis = -1) {
    super();
  }
  forward(x: NDArray): NDArray {
    return softmin(x, this.axis);
  }
}
/** @example new kn.nn.Step(0.5).call(kn.array([1])) // [1] */
export class Step extends Module {
  constructor(readonly threshold = 0) {
    super();
  }
  forward(x: NDArray): NDArray {
    return step(x, this.threshold);
  }
}

/**
 * PReLU with a learned negative slope `weight` of shape [numParameters] (default 1, shared)
 * initialised to `init` (0.25).
 * @example new kn.nn.PReLU().call(kn.array([-4, 4])).tolist() // [-1, 4]
 */
export class PReLU extends Module {
  weight: NDArray;
  constructor(numParameters = 1, init = 0.25) {
    super();
    if (!Number.isInteger(numParameters) || numParameters < 1)
      throw new Error(`[PReLU] numParameters must be a positive integer, got ${fmtValue(numParameters)}`);
    this.weight = full([numParameters], numberArg(init, 'PReLU', 'init'), 'float32');
  }
  forward(x: NDArray): NDArray {
    return prelu(x, this.weight);
  }
}
