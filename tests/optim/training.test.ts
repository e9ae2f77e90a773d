// End to end: a 2-layer MLP trained with every optimizer on a tiny synthetic problem (the loss
// must fall), and a 1,000-step training loop inside kn.tidy whose memory stays flat.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { values } from './harness.js';

const { nn, optim: O } = kn;

/** 64 points in 4-d with a smooth nonlinear 2-d target. */
function regressionData(): [kn.NDArray, kn.NDArray] {
  const x = kn.array(values(64 * 4, 11), 'float32').reshape([64, 4]);
  const w = kn.array(
    [
      [1, -2],
      [0.5, 1],
      [-1, 0.3],
      [2, 0.7],
    ],
    'float32',
  );
  const y = kn.sin(kn.matmul(x, w));
  kn.eval(x, y);
  return [x, y];
}

const mlp = (seed: number) =>
  new nn.Sequential(new nn.Linear(4, 32, { key: kn.random.key(seed) }), nn.tanh, new nn.Linear(32, 2, { key: kn.random.key(seed + 1) }));

const mse = (m: kn.nn.Sequential, x: kn.NDArray, y: kn.NDArray) => nn.losses.mseLoss(m.call(x), y);

function train(opt: kn.optim.Optimizer, steps: number): number[] {
  const [x, y] = regressionData();
  const model = mlp(3);
  const step = nn.valueAndGrad(model, mse);
  const losses: number[] = [];
  for (let t = 0; t < steps; t++) {
    const loss = kn.tidy(() => {
      const [l, g] = step(x, y);
      opt.update(model, g);
      kn.eval(l, model.parameters(), opt.state);
      return l;
    });
    losses.push(loss.item() as number);
    loss.dispose();
  }
  return losses;
}

describe('a 2-layer MLP learns with every optimizer', () => {
  const cases: [string, () => kn.optim.Optimizer][] = [
    ['SGD', () => new O.SGD(0.1)],
    ['SGD momentum + nesterov + weight decay', () => new O.SGD(0.05, { momentum: 0.9, nesterov: true, weightDecay: 1e-4 })],
    ['Adam', () => new O.Adam(1e-2)],
    [
      'Adam bias correction + schedule',
      () => new O.Adam(O.joinSchedules([O.linearSchedule(0, 2e-2, 10), O.cosineDecay(2e-2, 190)], [10]), { biasCorrection: true }),
    ],
    ['AdamW', () => new O.AdamW(1e-2, { weightDecay: 0.01 })],
    ['Adamax', () => new O.Adamax(2e-2)],
    ['Adagrad', () => new O.Adagrad(5e-2)],
    ['AdaDelta', () => new O.AdaDelta(1)],
    ['RMSprop', () => new O.RMSprop(3e-3)],
    ['Lion', () => new O.Lion(1e-3, { weightDecay: 0.01 })],
    ['Adafactor (relative steps)', () => new O.Adafactor()],
    ['Adafactor (fixed rate, first moment)', () => new O.Adafactor({ learningRate: 1e-2, relativeStep: false, beta1: 0.9 })],
  ];
  test.each(cases)('%s', (_, make) => {
    const losses = train(make(), 200);
    expect(losses.every(Number.isFinite)).toBe(true);
    const first = losses[0],
      last = losses.slice(-10).reduce((a, b) => a + b) / 10;
    expect(last).toBeLessThan(0.5 * first);
  });
});

test('classification with cross entropy and gradient clipping', () => {
  const x = kn.array(values(96 * 4, 21), 'float32').reshape([96, 4]);
  const labels = kn
    .argmax(
      kn.matmul(
        x,
        kn.array(
          [
            [1, -1, 0],
            [0.5, 1, -1],
            [-1, 0.2, 1],
            [0.3, 0.3, 0.3],
          ],
          'float32',
        ),
      ),
      -1,
    )
    .astype('int32');
  const model = new nn.Sequential(new nn.Linear(4, 32, { key: kn.random.key(5) }), nn.relu, new nn.Linear(32, 3, { key: kn.random.key(6) }));
  const step = nn.valueAndGrad(model, (m: kn.nn.Sequential, a: kn.NDArray, t: kn.NDArray) =>
    nn.losses.crossEntropy(m.call(a), t, { reduction: 'mean', labelSmoothing: 0.05 }),
  );
  const opt = new O.AdamW(2e-2);
  const losses: number[] = [];
  for (let t = 0; t < 150; t++) {
    losses.push(
      kn.tidy(() => {
        const [l, g] = step(x, labels);
        const [clipped] = O.clipGradNorm(g, 1);
        opt.update(model, clipped);
        kn.eval(l, model.parameters(), opt.state);
        return l.item() as number;
      }),
    );
  }
  expect(losses[0]).toBeGreaterThan(0.9);
  expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]);
  const accuracy = kn.tidy(() => kn.mean(kn.equal(kn.argmax(model.call(x), -1), labels)).item() as number);
  expect(accuracy).toBeGreaterThan(0.85);
});

test('1,000 training steps inside kn.tidy keep memory flat', () => {
  const [x, y] = regressionData();
  const model = mlp(7);
  const step = nn.valueAndGrad(model, mse);
  const opt = new O.AdamW(O.cosineDecay(1e-2, 1000), { biasCorrection: true });
  const at: Record<number, [number, number]> = {};
  for (let t = 1; t <= 1000; t++) {
    kn.tidy(() => {
      const [l, g] = step(x, y);
      const [clipped] = O.clipGradNorm(g, 10);
      opt.update(model, clipped);
      kn.eval(l, model.parameters(), opt.state);
    });
    if (t === 10 || t === 500 || t === 1000) at[t] = [kn.memory.buffers(), kn.memory.active()];
  }
  expect(at[500]).toEqual(at[10]);
  expect(at[1000]).toEqual(at[10]);
  expect(opt.step).toBe(1000);
});
