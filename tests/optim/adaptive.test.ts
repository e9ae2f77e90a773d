// Adagrad, RMSprop, AdaDelta and Lion: hand-computed first steps and options against the reference.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { compare } from './harness.js';
import { RefAdaDelta, RefAdagrad, RefLion, RefRMSprop } from './reference.js';

const lr = Math.fround(0.1);
const run = (opt: kn.optim.Optimizer, p0: number, grads: number[]) => {
  let p: Record<string, kn.NDArray> = { x: kn.array([p0], 'float64') };
  return grads.map((g) => {
    p = opt.applyGradients({ x: kn.array([g], 'float64') }, p);
    return p.x.item() as number;
  });
};

describe('Adagrad', () => {
  test('hand-computed: v accumulates g²', () => {
    // v1 = 4 → step lr·2/2; v2 = 5 → step lr·1/√5
    const [p1, p2] = run(new kn.optim.Adagrad(0.1), 0, [2, 1]);
    expect(p1).toBeCloseTo(-lr * (2 / (2 + 1e-8)), 14);
    expect(p2).toBeCloseTo(p1 - lr * (1 / (Math.sqrt(5) + 1e-8)), 14);
  });
  test.each([[{}], [{ eps: 0.5 }]])('%j matches the float64 reference', (o) => {
    compare(new kn.optim.Adagrad(0.1, o), new RefAdagrad(() => 0.1, o), { steps: 3, stateKeys: { v: 'v' } });
    compare(new kn.optim.Adagrad(0.1, o), new RefAdagrad(() => 0.1, o), { dtype: 'float32' });
  });
});

describe('RMSprop', () => {
  test('hand-computed with the default α = 0.99', () => {
    // v1 = 0.01·4 = 0.04 → step lr·2/0.2 = 10·lr; v2 = 0.0396 + 0.01 = 0.0496
    const [p1, p2] = run(new kn.optim.RMSprop(0.1), 0, [2, 1]);
    expect(p1).toBeCloseTo(-lr * (2 / (0.2 + 1e-8)), 13);
    expect(p2).toBeCloseTo(p1 - lr * (1 / (Math.sqrt(0.0496) + 1e-8)), 13);
  });
  test.each([[{}], [{ alpha: 0.5, eps: 1e-3 }], [{ alpha: 0 }]])('%j matches the float64 reference', (o) => {
    compare(new kn.optim.RMSprop(0.01, o), new RefRMSprop(() => 0.01, o), { steps: 3, stateKeys: { v: 'v' } });
    compare(new kn.optim.RMSprop(0.01, o), new RefRMSprop(() => 0.01, o), { dtype: 'float32' });
  });
});

describe('AdaDelta', () => {
  test('hand-computed first step', () => {
    // v1 = 0.1·g², Δ = √(1e-6)/√(0.1g² + 1e-6)·g
    const [p1] = run(new kn.optim.AdaDelta(0.1), 0, [2]);
    expect(p1).toBeCloseTo(-lr * (Math.sqrt(1e-6) / Math.sqrt(0.4 + 1e-6)) * 2, 15);
  });
  test.each([[{}], [{ rho: 0.5, eps: 1e-3 }]])('%j matches the float64 reference', (o) => {
    compare(new kn.optim.AdaDelta(1, o), new RefAdaDelta(() => 1, o), { steps: 3, stateKeys: { v: 'v', u: 'u' } });
    compare(new kn.optim.AdaDelta(1, o), new RefAdaDelta(() => 1, o), { dtype: 'float32' });
  });
});

describe('Lion', () => {
  test('hand-computed: the step is lr·sign(c), with decoupled weight decay', () => {
    // c1 = 0.1·g → sign −1 for g = −3: p = 1·(1 − lr·0.5) + lr; m1 = 0.01·(−3)
    // c2 = 0.9·(−0.03) + 0.1·0.2 = −0.007 → sign −1 again
    const [p1, p2] = run(new kn.optim.Lion(0.1, { weightDecay: 0.5 }), 1, [-3, 0.2]);
    expect(p1).toBeCloseTo(1 - lr * 0.5 + lr, 14);
    expect(p2).toBeCloseTo(p1 * (1 - lr * 0.5) + lr, 14);
  });
  test.each([[{}], [{ betas: [0.5, 0.8] as [number, number], weightDecay: 0.1 }]])('%j matches the float64 reference', (o) => {
    compare(new kn.optim.Lion(0.01, o), new RefLion(() => 0.01, o), { steps: 3, stateKeys: { m: 'm' } });
    compare(new kn.optim.Lion(0.01, o), new RefLion(() => 0.01, o), { dtype: 'float32' });
  });
});

test('bad options throw', () => {
  expect(() => new kn.optim.RMSprop(0.1, { alpha: -0.1 })).toThrow(/\[RMSprop\] alpha must be >= 0, got -0.1/);
  expect(() => new kn.optim.Adagrad(0.1, { eps: -1 })).toThrow(/\[Adagrad\] eps must be >= 0/);
  expect(() => new kn.optim.AdaDelta(0.1, { rho: -1 })).toThrow(/\[AdaDelta\] rho must be >= 0/);
  expect(() => new kn.optim.Lion(0.1, { betas: [1.5, 0.9] })).toThrow(/\[Lion\] betas\[0\] must be < 1, got 1.5/);
});
