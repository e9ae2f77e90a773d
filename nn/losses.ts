// Loss functions (kn.nn.losses), with MLX's semantics and default reductions. Each validates
// shapes and dtypes up front and computes in a numerically stable form (logsumexp, logaddexp).
import { NDArray } from '../core/array.js';
import { isBool, isFloating, isInteger } from '../core/dtype.js';
import { normalizeAxis } from '../core/shape.js';
import {
  abs,
  add,
  astype,
  clip,
  divide,
  exp,
  expandDims,
  log,
  logaddexp,
  logsumexp,
  maximum,
  mean,
  minimum,
  multiply,
  negative,
  sqrt,
  square,
  squeeze,
  subtract,
  sum,
  takeAlongAxis,
  where,
  less,
} from '../ops/index.js';

export type Reduction = 'none' | 'mean' | 'sum';

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function checkArray(op: string, name: string, a: unknown): NDArray {
  if (!(a instanceof NDArray)) throw new TypeError(`[${op}] ${name} must be an array, got ${a === null ? 'null' : typeof a}`);
  return a;
}

function checkFloat(op: string, name: string, a: unknown): NDArray {
  const x = checkArray(op, name, a);
  if (!isFloating(x.dtype)) throw new TypeError(`[${op}] ${name} must have a floating-point dtype, got ${x.dtype}`);
  return x;
}

function checkSameShape(op: string, a: NDArray, b: NDArray, an: string, bn: string): void {
  if (!sameShape(a.shape, b.shape)) throw new Error(`[${op}] ${an} shape ${fmt(a.shape)} does not match ${bn} shape ${fmt(b.shape)}`);
}

function checkOptions<T extends object>(op: string, opts: T | undefined, known: readonly string[]): Partial<T> {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`[${op}] options must be an object`);
  for (const k of Object.keys(opts)) if (!known.includes(k)) throw new Error(`[${op}] unknown option '${k}' (known: ${known.join(', ')})`);
  return opts;
}

function checkScalar(op: string, name: string, v: unknown, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number') throw new TypeError(`[${op}] ${name} must be a number, got ${typeof v}`);
  if (!Number.isFinite(v) || !ok(v)) throw new Error(`[${op}] ${name} must be ${what}, got ${v}`);
  return v;
}

function reduce(op: string, loss: NDArray, reduction: unknown): NDArray {
  switch (reduction) {
    case 'none':
      return loss;
    case 'mean':
      return mean(loss);
    case 'sum':
      return sum(loss);
    default:
      throw new Error(`[${op}] reduction must be 'none', 'mean' or 'sum', got ${JSON.stringify(reduction)}`);
  }
}

/** Multiplies by per-element weights shaped exactly like the unreduced loss (masks are 0/1 weights). */
function applyWeights(op: string, loss: NDArray, weights: unknown): NDArray {
  if (weights === undefined || weights === null) return loss;
  const w = checkArray(op, 'weights', weights);
  if (!sameShape(w.shape, loss.shape)) throw new Error(`[${op}] weights shape ${fmt(w.shape)} does not match the unreduced loss shape ${fmt(loss.shape)}`);
  if (!isFloating(w.dtype) && !isInteger(w.dtype) && !isBool(w.dtype)) throw new TypeError(`[${op}] weights have unsupported dtype ${w.dtype}`);
  return multiply(loss, astype(w, loss.dtype));
}

export interface CrossEntropyOptions {
  /** per-element weights shaped like the unreduced loss; 0/1 weights mask tokens out */
  weights?: NDArray;
  /** the class axis of `logits` (default -1) */
  axis?: number;
  /** ε in [0, 1): the target puts 1 − ε on its class and ε spread evenly over all classes */
  labelSmoothing?: number;
  /** default 'none' */
  reduction?: Reduction;
}

/**
 * Cross entropy between `logits` and `targets`, either class indices (an integer array with the
 * class axis left out) or probabilities (shaped like `logits`): logsumexp(x) − score, computed
 * without forming the softmax. With weights, 'mean' divides by the number of elements (MLX);
 * for a masked mean use 'sum' and divide by the mask's sum.
 * @example
 * const logits = kn.array([[2, 0.5, -1], [0, 1, 0]]);
 * kn.nn.losses.crossEntropy(logits, kn.array([0, 1]), { reduction: 'mean' }) // 0.3964
 * kn.nn.losses.crossEntropy(logits, kn.array([[1, 0, 0], [0, 1, 0]], 'float32'), { labelSmoothing: 0.1 }) // [0.3913, 0.6181]
 */
export function crossEntropy(logits: NDArray, targets: NDArray, options?: CrossEntropyOptions): NDArray {
  const op = 'crossEntropy';
  const o = checkOptions(op, options, ['weights', 'axis', 'labelSmoothing', 'reduction']);
  const x = checkFloat(op, 'logits', logits);
  const t = checkArray(op, 'targets', targets);
  if (x.ndim === 0) throw new Error(`[${op}] logits must have a class axis, got a 0-d array`);
  const axis = normalizeAxis(o.axis ?? -1, x.ndim, op);
  const ls = checkScalar(op, 'labelSmoothing', o.labelSmoothing ?? 0, (v) => v >= 0 && v < 1, 'in [0, 1)');
  const asProbs = t.ndim === x.ndim;
  let score: NDArray;
  if (asProbs) {
    checkSameShape(op, t, x, 'probability targets', 'logits');
    if (!isFloating(t.dtype))
      throw new TypeError(`[${op}] probability targets must be floating point, got ${t.dtype} (class indices leave out the class axis)`);
    score = sum(multiply(x, astype(t, x.dtype)), axis);
  } else {
    const want = x.shape.filter((_, i) => i !== axis);
    if (!sameShape(t.shape, want))
      throw new Error(
        `[${op}] targets shape ${fmt(t.shape)} does not match logits shape ${fmt(x.shape)}: class indices need shape ${fmt(want)}, probabilities ${fmt(x.shape)}`,
      );
    if (!isInteger(t.dtype)) throw new TypeError(`[${op}] class-index targets must have an integer dtype, got ${t.dtype}`);
    score = squeeze(takeAlongAxis(x, expandDims(t, axis), axis), axis);
  }
  const lse = logsumexp(x, axis);
  let loss: NDArray;
  if (ls > 0) {
    // −Σ q log softmax(x) with q = (1 − ε)·target + ε/K: the uniform part contributes ε·mean(x)
    loss = subtract(subtract(lse, multiply(score, 1 - ls)), multiply(mean(x, axis), ls));
  } else {
    loss = subtract(lse, score);
  }
  return reduce(op, applyWeights(op, loss, o.weights), o.reduction ?? 'none');
}

export interface BinaryCrossEntropyOptions {
  /** per-element weights shaped like `inputs` */
  weights?: NDArray;
  /** `inputs` are logits (default true) rather than probabilities */
  withLogits?: boolean;
  /** default 'mean' */
  reduction?: Reduction;
}

/**
 * Binary cross entropy. With logits: log(1 + eˣ) − x·t (via logaddexp, stable for any x); with
 * probabilities: −(t·log p + (1 − t)·log(1 − p)) with each log clipped at −100 (as MLX and
 * PyTorch). Targets may be floats in [0, 1], integers or booleans, shaped like `inputs`.
 * @example kn.nn.losses.binaryCrossEntropy(kn.array([0.2, -3]), kn.array([1, 0])) // 0.3234
 * @example kn.nn.losses.binaryCrossEntropy(kn.array([0.9, 0.1]), kn.array([1, 0]), { withLogits: false }) // 0.1054
 */
export function binaryCrossEntropy(inputs: NDArray, targets: NDArray, options?: BinaryCrossEntropyOptions): NDArray {
  const op = 'binaryCrossEntropy';
  const o = checkOptions(op, options, ['weights', 'withLogits', 'reduction']);
  const x = checkFloat(op, 'inputs', inputs);
  const t0 = checkArray(op, 'targets', targets);
  checkSameShape(op, x, t0, 'inputs', 'targets');
  const withLogits = o.withLogits ?? true;
  if (typeof withLogits !== 'boolean') throw new TypeError(`[${op}] withLogits must be a boolean`);
  const t = astype(t0, x.dtype);
  let loss: NDArray;
  if (withLogits) {
    loss = subtract(logaddexp(0, x), multiply(x, t));
  } else {
    const logP = clip(log(x), -100, null);
    const log1mP = clip(log(subtract(1, x)), -100, null);
    loss = negative(add(multiply(t, logP), multiply(subtract(1, t), log1mP)));
  }
  return reduce(op, applyWeights(op, loss, o.weights), o.reduction ?? 'mean');
}

export interface AxisLossOptions {
  /** the class / distribution axis (default -1) */
  axis?: number;
  /** default 'none' */
  reduction?: Reduction;
}

/**
 * Negative log likelihood: −inputs[target] along `axis`, where `inputs` are log probabilities
 * and `targets` class indices (the class axis left out).
 * @example kn.nn.losses.nllLoss(kn.logSoftmax(kn.array([[2, 0, -1], [0, 1, 0]]), -1), kn.array([0, 1]), { reduction: 'mean' }) // 0.3606
 */
export function nllLoss(inputs: NDArray, targets: NDArray, options?: AxisLossOptions): NDArray {
  const op = 'nllLoss';
  const o = checkOptions(op, options, ['axis', 'reduction']);
  const x = checkFloat(op, 'inputs', inputs);
  const t = checkArray(op, 'targets', targets);
  if (x.ndim === 0) throw new Error(`[${op}] inputs must have a class axis, got a 0-d array`);
  const axis = normalizeAxis(o.axis ?? -1, x.ndim, op);
  const want = x.shape.filter((_, i) => i !== axis);
  if (!sameShape(t.shape, want))
    throw new Error(`[${op}] targets shape ${fmt(t.shape)} does not match inputs shape ${fmt(x.shape)}: class indices need shape ${fmt(want)}`);
  if (!isInteger(t.dtype)) throw new TypeError(`[${op}] targets must be integer class indices, got ${t.dtype}`);
  const loss = negative(squeeze(takeAlongAxis(x, expandDims(t, axis), axis), axis));
  return reduce(op, loss, o.reduction ?? 'none');
}

export interface ReductionOptions {
  reduction?: Reduction;
}

function pairwise(op: string, predictions: NDArray, targets: NDArray): [NDArray, NDArray] {
  const p = checkFloat(op, 'predictions', predictions);
  const t = checkArray(op, 'targets', targets);
  checkSameShape(op, p, t, 'predictions', 'targets');
  if (!isFloating(t.dtype) && !isInteger(t.dtype)) throw new TypeError(`[${op}] targets must be numeric, got ${t.dtype}`);
  return [p, astype(t, p.dtype)];
}

/**
 * Mean squared error: (p − t)², reduced ('mean' by default).
 * @example kn.nn.losses.mseLoss(kn.array([1, 2], 'float32'), kn.array([0, 0], 'float32')) // 2.5
 */
export function mseLoss(predictions: NDArray, targets: NDArray, options?: ReductionOptions): NDArray {
  const o = checkOptions('mseLoss', options, ['reduction']);
  const [p, t] = pairwise('mseLoss', predictions, targets);
  return reduce('mseLoss', square(subtract(p, t)), o.reduction ?? 'mean');
}

/**
 * Mean absolute error: |p − t|, reduced ('mean' by default).
 * @example kn.nn.losses.l1Loss(kn.array([1, -2], 'float32'), kn.array([0, 0], 'float32')) // 1.5
 */
export function l1Loss(predictions: NDArray, targets: NDArray, options?: ReductionOptions): NDArray {
  const o = checkOptions('l1Loss', options, ['reduction']);
  const [p, t] = pairwise('l1Loss', predictions, targets);
  return reduce('l1Loss', abs(subtract(p, t)), o.reduction ?? 'mean');
}

export interface SmoothL1Options extends ReductionOptions {
  /** where the quadratic part ends (default 1; 0 gives the L1 loss) */
  beta?: number;
}

/**
 * Smooth L1: ½d²/β where d = |p − t| < β, else d − ½β ('mean' by default).
 * @example kn.nn.losses.smoothL1Loss(kn.array([0.5, 3]), kn.array([0, 0], 'float32')) // 1.3125 (the mean of 0.125 and 2.5)
 */
export function smoothL1Loss(predictions: NDArray, targets: NDArray, options?: SmoothL1Options): NDArray {
  const op = 'smoothL1Loss';
  const o = checkOptions(op, options, ['beta', 'reduction']);
  const beta = checkScalar(op, 'beta', o.beta ?? 1, (v) => v >= 0, '>= 0');
  const [p, t] = pairwise(op, predictions, targets);
  const d = abs(subtract(p, t));
  const loss = beta === 0 ? d : where(less(d, beta), divide(multiply(square(d), 0.5), beta), subtract(d, 0.5 * beta));
  return reduce(op, loss, o.reduction ?? 'mean');
}

export interface HuberOptions extends ReductionOptions {
  /** where the quadratic part ends (default 1) */
  delta?: number;
}

/**
 * Huber loss: ½d² for |d| ≤ δ, δ(|d| − ½δ) beyond, with d = inputs − targets ('none' by default).
 * @example kn.nn.losses.huberLoss(kn.array([0.5, 3]), kn.array([0, 0])) // [0.125, 2.5]
 */
export function huberLoss(inputs: NDArray, targets: NDArray, options?: HuberOptions): NDArray {
  const op = 'huberLoss';
  const o = checkOptions(op, options, ['delta', 'reduction']);
  const delta = checkScalar(op, 'delta', o.delta ?? 1, (v) => v > 0, '> 0');
  const [p, t] = pairwise(op, inputs, targets);
  const a = abs(subtract(p, t));
  const quadratic = minimum(a, delta);
  const linear = subtract(a, quadratic);
  const loss = add(multiply(square(quadratic), 0.5), multiply(linear, delta));
  return reduce(op, loss, o.reduction ?? 'none');
}

/**
 * Kullback-Leibler divergence KL(q‖p) = Σ eᵗ(t − x) along `axis`, where `inputs` x and `targets`
 * t are both log probabilities ('none' by default).
 * @example kn.nn.losses.klDivLoss(kn.logSoftmax(kn.array([[1, 2, 3]]), -1), kn.logSoftmax(kn.array([[3, 2, 1]]), -1)) // [1.1504]
 */
export function klDivLoss(inputs: NDArray, targets: NDArray, options?: AxisLossOptions): NDArray {
  const op = 'klDivLoss';
  const o = checkOptions(op, options, ['axis', 'reduction']);
  const x = checkFloat(op, 'inputs', inputs);
  const t = checkFloat(op, 'targets', targets);
  checkSameShape(op, x, t, 'inputs', 'targets');
  if (x.ndim === 0) throw new Error(`[${op}] inputs must have a distribution axis, got a 0-d array`);
  const axis = normalizeAxis(o.axis ?? -1, x.ndim, op);
  const tt = astype(t, x.dtype);
  const loss = sum(multiply(exp(tt), subtract(tt, x)), axis);
  return reduce(op, loss, o.reduction ?? 'none');
}

export interface CosineSimilarityOptions extends ReductionOptions {
  /** the axis the vectors lie along (default 1, as MLX) */
  axis?: number;
  /** lower bound of the product of norms (default 1e-8) */
  eps?: number;
}

/**
 * Cosine similarity x1·x2 / max(‖x1‖‖x2‖, ε) along `axis` — as in MLX this is the similarity
 * itself ('none' by default); minimise `1 − loss` or its negative to pull vectors together.
 * @example kn.nn.losses.cosineSimilarityLoss(kn.array([[1, 0]], 'float32'), kn.array([[1, 1]], 'float32')) // [0.7071]
 */
export function cosineSimilarityLoss(x1: NDArray, x2: NDArray, options?: CosineSimilarityOptions): NDArray {
  const op = 'cosineSimilarityLoss';
  const o = checkOptions(op, options, ['axis', 'eps', 'reduction']);
  const a = checkFloat(op, 'x1', x1);
  const b = checkFloat(op, 'x2', x2);
  checkSameShape(op, a, b, 'x1', 'x2');
  if (a.ndim === 0) throw new Error(`[${op}] inputs must have at least one axis, got 0-d arrays`);
  const axis = normalizeAxis(o.axis ?? 1, a.ndim, op);
  const eps = checkScalar(op, 'eps', o.eps ?? 1e-8, (v) => v >= 0, '>= 0');
  const bb = astype(b, a.dtype);
  const n1 = sqrt(sum(square(a), axis));
  const n2 = sqrt(sum(square(bb), axis));
  const loss = divide(sum(multiply(a, bb), axis), maximum(multiply(n1, n2), eps));
  return reduce(op, loss, o.reduction ?? 'none');
}
