// The MLP digits classifier of examples/mlp_classifier.mjs: model, one training step, evaluation
// and the training loop, as functions the tests can call with few steps.
import * as kn from 'kilnjs';
import { DIGITS_CLASSES, DIGITS_FEATURES, loadDigits, selectRows, splitStratified } from './digits.mjs';
import { startProgress } from './progress.mjs';
import { makeRng, shuffleInPlace } from './rng.mjs';

const { nn, optim } = kn;

/** A multi-layer perceptron: Linear layers with ReLU between them, logits out. */
export class MLP extends nn.Module {
  /**
   * @param {number} inputDim
   * @param {number[]} hiddenDims
   * @param {number} classCount
   * @example new MLP(64, [128], 10).call(kn.zeros([2, 64])).shape // [2, 10]
   */
  constructor(inputDim, hiddenDims, classCount) {
    super();
    const dims = [inputDim, ...hiddenDims, classCount];
    this.layers = dims.slice(1).map((out, i) => new nn.Linear(dims[i], out));
  }

  forward(x) {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = layer.call(h);
      if (i < this.layers.length - 1) h = nn.relu(h);
    });
    return h;
  }
}

/** Mean cross-entropy of the model's logits against integer labels. */
export function classifierLoss(model, x, y) {
  return nn.losses.crossEntropy(model.call(x), y, { reduction: 'mean' });
}

/**
 * Fraction of rows whose arg-max logit is the label.
 * @param {MLP} model
 * @param {kn.NDArray} x [n, 64]
 * @param {kn.NDArray} y [n] int32
 * @example accuracy(model, xTest, yTest) // 0.97
 */
export function accuracy(model, x, y) {
  return kn.tidy(() => model.call(x).argmax(-1).equal(y).astype('float32').mean().item());
}

/** Digits as arrays: the train and test parts of the seeded stratified split. */
export function digitsArrays({ seed = 0, testFraction = 0.2 } = {}) {
  const data = loadDigits();
  const split = splitStratified(data.labels, { testFraction, seed });
  const toArrays = (rows) => {
    const part = selectRows(data, rows);
    return { x: kn.array(part.features).reshape(part.count, DIGITS_FEATURES), y: kn.array(part.labels), count: part.count };
  };
  return { train: toArrays(split.train), test: toArrays(split.test) };
}

/**
 * Trains an MLP on the digits and reports losses, accuracies and speed.
 * @param {{steps?: number, seed?: number, batchSize?: number, hidden?: number[], learningRate?: number,
 *          weightDecay?: number, silent?: boolean, onStep?: (step: number, loss: number) => void}} [options]
 * @example const r = trainMlpClassifier({steps: 20, silent: true}); r.losses.length // 20
 */
export function trainMlpClassifier({
  steps = 600,
  seed = 0,
  batchSize = 128,
  hidden = [128, 64],
  learningRate = 3e-3,
  weightDecay = 1e-4,
  silent = false,
  onStep,
} = {}) {
  kn.random.seed(seed);
  const { train, test } = digitsArrays({ seed });
  const model = new MLP(DIGITS_FEATURES, hidden, DIGITS_CLASSES);
  kn.eval(model.parameters());
  const schedule = optim.joinSchedules(
    [optim.linearSchedule(0, learningRate, Math.max(1, Math.round(steps * 0.05))), optim.cosineDecay(learningRate, steps)],
    [Math.max(1, Math.round(steps * 0.05))],
  );
  const optimizer = new optim.AdamW(schedule, { weightDecay });
  const lossAndGrad = nn.valueAndGrad(model, classifierLoss);

  // epochs over a seeded shuffle of the training rows; the last partial batch of an epoch is dropped
  const rng = makeRng(seed);
  let order = [];
  const nextBatch = () => {
    if (order.length < batchSize)
      order = shuffleInPlace(
        Array.from({ length: train.count }, (_, i) => i),
        rng,
      );
    return kn.array(Int32Array.from(order.splice(0, batchSize)));
  };

  /** @type {number[]} */
  const losses = [];
  const bar = startProgress(steps, { label: 'mlp', silent });
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    const loss = kn.tidy(() => {
      const rows = nextBatch();
      const [value, grads] = lossAndGrad(model, kn.take(train.x, rows, 0), kn.take(train.y, rows, 0));
      optimizer.update(model, grads);
      kn.eval(value, model.parameters(), optimizer.state);
      return value.item();
    });
    losses.push(loss);
    bar.update(step, { loss: loss.toFixed(4) });
    onStep?.(step, loss);
  }
  const seconds = (performance.now() - started) / 1000;
  bar.stop();
  const result = {
    losses,
    finalLoss: losses.at(-1),
    trainAccuracy: accuracy(model, train.x, train.y),
    testAccuracy: accuracy(model, test.x, test.y),
    stepsPerSecond: steps / seconds,
    seconds,
    trainCount: train.count,
    testCount: test.count,
  };
  kn.dispose([train, test]);
  return { ...result, model };
}
