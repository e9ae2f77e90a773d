// Adam, AdamW and Adamax: hand-computed first steps and every option against the reference.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { compare } from './harness.js';
import { RefAdam, RefAdamax } from './reference.js';

const lr = Math.fround(0.1);
const run = (opt: kn.optim.Optimizer, p0: number, grads: number[]) => {
  let p: Record<string, kn.NDArray> = { x: kn.array([p0], 'float64') };
  return grads.map((g) => {
    p = opt.applyGradients({ x: kn.array([g], 'float64') }, p);
    return p.x.item() as number;
  });
};

describe('Adam', () => {
  test('hand-computed first two steps', () => {
    // no bias correction (MLX default): m1 = 0.1, v1 = 0.001 → step lr·0.1/√0.001 = lr·√10
    // m2 = 0.19, v2 = 0.001999 → step lr·0.19/√0.001999
    const [p1, p2] = run(new kn.optim.Adam(0.1), 1, [1, 1]);
    expect(p1).toBeCloseTo(1 - (lr * 0.1) / (Math.sqrt(0.001) + 1e-8), 14);
    expect(p2).toBeCloseTo(p1 - (lr * 0.19) / (Math.sqrt(0.001999) + 1e-8), 14);
    // bias correction: m̂ = v̂ = 1 on step 1 → step lr/(1 + 1e-8); the same on step 2 for constant g
    const [q1, q2] = run(new kn.optim.Adam(0.1, { biasCorrection: true }), 1, [1, 1]);
    expect(q1).toBeCloseTo(1 - lr / (1 + 1e-8), 14);
    expect(q2).toBeCloseTo(1 - (2 * lr) / (1 + 1e-8), 14);
  });

  const variants: [string, kn.optim.AdamOptions][] = [
    ['defaults', {}],
    ['bias correction', { biasCorrection: true }],
    ['custom betas and eps', { betas: [0.5, 0.9], eps: 1e-3 }],
  ];
  test.each(variants)('%s matches the float64 reference', (_, o) => {
    compare(new kn.optim.Adam(0.01, o), new RefAdam(() => 0.01, o), { steps: 3, stateKeys: { m: 'm', v: 'v' } });
    compare(new kn.optim.Adam(0.01, o), new RefAdam(() => 0.01, o), { dtype: 'float32', gradScale: 1e-3 });
  });
});

describe('AdamW', () => {
  test('hand-computed: the parameter decays by lr·λ before the Adam step', () => {
    const [p1] = run(new kn.optim.AdamW(0.1, { weightDecay: 0.5 }), 2, [1]);
    expect(p1).toBeCloseTo(2 * (1 - lr * 0.5) - (lr * 0.1) / (Math.sqrt(0.001) + 1e-8), 14);
    expect(new kn.optim.AdamW(0.1).weightDecay).toBe(0.01);
  });
  const variants: [string, kn.optim.AdamWOptions][] = [
    ['default decay 0.01', {}],
    ['decay 0.1 + bias correction', { weightDecay: 0.1, biasCorrection: true }],
    ['no decay equals Adam', { weightDecay: 0 }],
  ];
  test.each(variants)('%s matches the float64 reference', (_, o) => {
    const ref = new RefAdam(() => 0.02, { ...o, weightDecay: o.weightDecay ?? 0.01 });
    compare(new kn.optim.AdamW(0.02, o), ref, { steps: 3, stateKeys: { m: 'm', v: 'v' } });
  });
});

describe('Adamax', () => {
  test('hand-computed: v is the running max of |g|', () => {
    // m1 = 0.1·2 = 0.2, v1 = max(0, 2) = 2 → step lr·0.1; m2 = 0.18 + 0.05 = 0.23, v2 = max(1.998, 0.5)
    const [p1, p2] = run(new kn.optim.Adamax(0.1), 0, [2, 0.5]);
    expect(p1).toBeCloseTo(-(lr * 0.2) / (2 + 1e-8), 14);
    expect(p2).toBeCloseTo(p1 - (lr * 0.23) / (1.998 + 1e-8), 14);
  });
  test.each([[{}], [{ betas: [0.8, 0.9] as [number, number], eps: 1e-4 }]])('%j matches the float64 reference', (o) => {
    compare(new kn.optim.Adamax(0.01, o), new RefAdamax(() => 0.01, o), { steps: 3, stateKeys: { m: 'm', v: 'v' } });
    compare(new kn.optim.Adamax(0.01, o), new RefAdamax(() => 0.01, o), { dtype: 'float32' });
  });
});

test('bad options throw', () => {
  expect(() => new kn.optim.Adam(0.1, { betas: [0.9, 1] })).toThrow(/\[Adam\] betas\[1\] must be < 1, got 1/);
  expect(() => new kn.optim.Adam(0.1, { betas: [0.9] as unknown as [number, number] })).toThrow(/\[Adam\] betas must be a pair/);
  expect(() => new kn.optim.Adam(0.1, { eps: -1 })).toThrow(/\[Adam\] eps must be >= 0/);
  expect(() => new kn.optim.AdamW(0.1, { weightDecay: 'x' as unknown as number })).toThrow(/\[AdamW\] weightDecay must be a number/);
  expect(() => new kn.optim.AdamW(0.1, { wd: 0.1 } as object)).toThrow(/\[AdamW\] unknown option 'wd'/);
  expect(() => new kn.optim.Adamax(0.1, { biasCorrection: true } as object)).toThrow(/\[Adamax\] unknown option 'biasCorrection'/);
  expect(() => new kn.optim.Adam(0.1, { weightDecay: 0.1 } as object)).toThrow(/\[Adam\] unknown option 'weightDecay'/);
});
