// SGD: hand-computed first steps and every option against the float64 reference.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { compare } from './harness.js';
import { RefSGD } from './reference.js';

const scalarRun = (opt: kn.optim.Optimizer, p0: number, grads: number[]) => {
  let p: Record<string, kn.NDArray> = { x: kn.array([p0], 'float64') };
  return grads.map((g) => {
    p = opt.applyGradients({ x: kn.array([g], 'float64') }, p);
    return p.x.item() as number;
  });
};
const lr = Math.fround(0.1);

describe('SGD', () => {
  test('hand-computed: plain, momentum, nesterov, dampening, weight decay', () => {
    // plain: 1 − 0.1·1 = 0.9, then 0.9 − 0.1·2 = 0.7
    const plain = scalarRun(new kn.optim.SGD(0.1), 1, [1, 2]);
    expect(plain[0]).toBeCloseTo(1 - lr, 15);
    expect(plain[1]).toBeCloseTo(1 - 3 * lr, 15);
    // momentum 0.9: v1 = 1, p = 0.9; v2 = 0.9 + 1 = 1.9, p = 0.9 − 0.19 = 0.71
    const mom = scalarRun(new kn.optim.SGD(0.1, { momentum: 0.9 }), 1, [1, 1]);
    expect(mom[0]).toBeCloseTo(1 - lr, 15);
    expect(mom[1]).toBeCloseTo(1 - lr - 1.9 * lr, 15);
    // nesterov: v1 = 1, step g + μv = 1.9 → 0.81; v2 = 1.9, step 1 + 1.71 = 2.71 → 0.539
    const nes = scalarRun(new kn.optim.SGD(0.1, { momentum: 0.9, nesterov: true }), 1, [1, 1]);
    expect(nes[0]).toBeCloseTo(1 - 1.9 * lr, 15);
    expect(nes[1]).toBeCloseTo(1 - 1.9 * lr - 2.71 * lr, 15);
    // dampening 0.5 applies from the first step (MLX): v1 = 0.5, v2 = 0.45 + 0.5 = 0.95
    const damp = scalarRun(new kn.optim.SGD(0.1, { momentum: 0.9, dampening: 0.5 }), 1, [1, 1]);
    expect(damp[0]).toBeCloseTo(1 - 0.5 * lr, 15);
    expect(damp[1]).toBeCloseTo(1 - 0.5 * lr - 0.95 * lr, 15);
    // weight decay 0.1 adds 0.1·p to the gradient: g = 1 + 0.2 = 1.2 at p = 2
    const wd = scalarRun(new kn.optim.SGD(0.1, { weightDecay: 0.1 }), 2, [1]);
    expect(wd[0]).toBeCloseTo(2 - 1.2 * lr, 15);
  });

  const variants: [string, ConstructorParameters<typeof kn.optim.SGD>[1]][] = [
    ['plain', {}],
    ['momentum', { momentum: 0.9 }],
    ['momentum + dampening', { momentum: 0.8, dampening: 0.3 }],
    ['nesterov', { momentum: 0.9, nesterov: true }],
    ['weight decay', { weightDecay: 0.05 }],
    ['everything', { momentum: 0.7, weightDecay: 0.01, nesterov: true }],
  ];
  test.each(variants)('%s matches the float64 reference (float64 and float32)', (_, o) => {
    compare(new kn.optim.SGD(0.05, o), new RefSGD(() => 0.05, o), { steps: 3, stateKeys: o?.momentum ? { v: 'v' } : undefined });
    compare(new kn.optim.SGD(0.05, o), new RefSGD(() => 0.05, o), { dtype: 'float32' });
  });

  test('plain SGD keeps no per-parameter state', () => {
    const opt = new kn.optim.SGD(0.1);
    opt.applyGradients({ w: kn.ones([2]) }, { w: kn.ones([2]) });
    expect(kn.tree.flatten(opt.state).map(([k]) => k)).toEqual(['step', 'learning_rate']);
  });

  test('a schedule sets the rate of update t to schedule(t − 1)', () => {
    const sched = kn.optim.exponentialDecay(0.2, 0.5);
    compare(new kn.optim.SGD(sched, { momentum: 0.5 }), new RefSGD((t) => sched(t - 1), { momentum: 0.5 }), { steps: 4 });
  });

  test('bad options throw', () => {
    expect(() => new kn.optim.SGD(0.1, { nesterov: true })).toThrow(
      /\[SGD\] Nesterov momentum needs momentum > 0 and dampening 0, got momentum 0 and dampening 0/,
    );
    expect(() => new kn.optim.SGD(0.1, { momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new kn.optim.SGD(0.1, { momentum: -1 })).toThrow(/\[SGD\] momentum must be >= 0, got -1/);
    expect(() => new kn.optim.SGD(0.1, { momentun: 0.9 } as object)).toThrow(/\[SGD\] unknown option 'momentun'/);
    expect(() => new kn.optim.SGD('0.1' as unknown as number)).toThrow(TypeError);
    expect(() => new kn.optim.SGD(NaN)).toThrow(/learningRate must be finite/);
    expect(() => new kn.optim.SGD(kn.ones([2]))).toThrow(/learningRate array must have one element/);
  });
});
