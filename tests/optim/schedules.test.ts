// Learning-rate schedules against their closed forms, MLX's documented values through an
// optimizer, and clipGradNorm.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';

const O = kn.optim;

describe('schedules', () => {
  test('closed forms at several steps', () => {
    const lin = O.linearSchedule(0.1, 0.01, 30);
    for (const t of [0, 1, 7, 29, 30, 31, 1000]) expect(lin(t)).toBeCloseTo(0.1 + (Math.min(t, 30) / 30) * (0.01 - 0.1), 15);
    const cos = O.cosineDecay(0.2, 100, 0.02);
    for (const t of [0, 1, 25, 50, 99, 100, 500]) expect(cos(t)).toBeCloseTo(0.02 + 0.18 * 0.5 * (1 + Math.cos((Math.PI * Math.min(t, 100)) / 100)), 15);
    expect(O.cosineDecay(1, 10)(5)).toBeCloseTo(0.5, 15);
    expect(O.cosineDecay(1, 10)(10)).toBeCloseTo(0, 15);
    const exp = O.exponentialDecay(0.5, 0.9);
    for (const t of [0, 1, 2, 10, 100]) expect(exp(t)).toBeCloseTo(0.5 * 0.9 ** t, 15);
    const stp = O.stepDecay(0.3, 0.5, 4);
    expect([0, 3, 4, 7, 8, 13].map((t) => stp(t))).toEqual([0.3, 0.3, 0.15, 0.15, 0.075, 0.0375]);
  });

  test('joinSchedules: warm-up then decay, later schedules see the steps since their boundary', () => {
    const warm = O.linearSchedule(0, 1e-3, 10);
    const decay = O.cosineDecay(1e-3, 90);
    const tail = O.exponentialDecay(5e-5, 0.5);
    const lr = O.joinSchedules([warm, decay, tail], [10, 100]);
    expect(lr(0)).toBe(0);
    expect(lr(5)).toBeCloseTo(5e-4, 15);
    expect(lr(9)).toBeCloseTo(9e-4, 15);
    expect(lr(10)).toBeCloseTo(1e-3, 15);
    expect(lr(55)).toBeCloseTo(decay(45), 15);
    expect(lr(100)).toBeCloseTo(5e-5, 15);
    expect(lr(102)).toBeCloseTo(5e-5 * 0.25, 15);
  });

  // MLX's docstrings: the optimizer's learning rate after n updates is schedule(n − 1).
  test.each([
    ['exponentialDecay(0.1, 0.9), 5 updates', O.exponentialDecay(0.1, 0.9), 5, 0.06561],
    ['stepDecay(0.1, 0.9, 10), 21 updates', O.stepDecay(0.1, 0.9, 10), 21, 0.081],
    ['cosineDecay(0.1, 1000), 5 updates', O.cosineDecay(0.1, 1000), 5, 0.0999961],
    ['linearSchedule(0, 0.1, 100), 101 updates', O.linearSchedule(0, 0.1, 100), 101, 0.1],
    ['join(linear(0, 0.1, 10), cosine(0.1, 200)), 12 updates', O.joinSchedules([O.linearSchedule(0, 0.1, 10), O.cosineDecay(0.1, 200)], [10]), 12, 0.0999938],
  ] as const)('%s', (_, schedule, n, want) => {
    const opt = new O.SGD(schedule);
    expect(opt.learningRate.item()).toBeCloseTo(Math.fround(Number(schedule(0))), 7);
    for (let i = 0; i < n; i++) opt.applyGradients({}, {});
    expect(opt.step).toBe(n);
    expect(opt.learningRate.item()).toBeCloseTo(want, 6);
    expect(opt.learningRate.dtype).toBe('float32');
  });

  test('a custom schedule may return an array; setting learningRate replaces a schedule', () => {
    const opt = new O.Adam((t) => kn.array(0.5 / (t + 1)));
    opt.applyGradients({}, {});
    opt.applyGradients({}, {});
    expect(opt.learningRate.item()).toBeCloseTo(0.25, 7);
    opt.learningRate = 0.125;
    opt.applyGradients({}, {});
    expect(opt.learningRate.item()).toBe(0.125);
  });

  test('bad arguments throw', () => {
    expect(() => O.linearSchedule(0, 1, 0)).toThrow(/\[linearSchedule\] steps must be >= 1, got 0/);
    expect(() => O.cosineDecay(1, 10.5)).toThrow(/\[cosineDecay\] decaySteps must be an integer, got 10.5/);
    expect(() => O.stepDecay(1, 0.5, 0)).toThrow(/stepSize must be >= 1/);
    expect(() => O.exponentialDecay('1' as unknown as number, 0.5)).toThrow(TypeError);
    expect(() => O.joinSchedules([], [])).toThrow(/needs at least one schedule/);
    expect(() => O.joinSchedules([O.exponentialDecay(1, 1)], [3])).toThrow(/1 schedules need 0 boundaries, got 1/);
    expect(() => O.joinSchedules([O.exponentialDecay(1, 1), O.exponentialDecay(1, 1), O.exponentialDecay(1, 1)], [5, 5])).toThrow(/boundaries must increase/);
    expect(() => O.exponentialDecay(1, 0.5)(-1)).toThrow(/the step must be a non-negative integer, got -1/);
    expect(() => new O.SGD(() => NaN)).toThrow(/learning_rate must be a finite number/);
  });
});

describe('clipGradNorm', () => {
  const f64 = (v: number[]) => kn.array(v, 'float64');
  test('scales every leaf by maxNorm / (norm + 1e-6) when the global norm reaches maxNorm', () => {
    const grads = { a: f64([3, 0]), b: [f64([0, 4]), new Map([['c', f64([12])]])] as const };
    const [clipped, norm] = O.clipGradNorm(grads, 6.5);
    expect(norm.item()).toBe(13);
    const s = 6.5 / (13 + 1e-6);
    expect(clipped.a.tolist()).toEqual([3 * s, 0]);
    expect(clipped.b[0].tolist()).toEqual([0, 4 * s]);
    expect(clipped.b[1].get('c')!.tolist()).toEqual([12 * s]);
    const flatNorm = Math.hypot(...kn.tree.flatten<kn.NDArray>(clipped).flatMap(([, a]) => a.tolist() as number[]));
    expect(flatNorm).toBeCloseTo(6.5, 6);
  });

  test('leaves gradients below the limit untouched', () => {
    const [clipped, norm] = O.clipGradNorm({ a: f64([0.3, 0.4]) }, 1);
    expect(norm.item()).toBeCloseTo(0.5, 15);
    expect(clipped.a.tolist()).toEqual([0.3, 0.4]);
  });

  test('float16 gradients keep their dtype and do not overflow the norm', () => {
    const [clipped, norm] = O.clipGradNorm({ a: kn.full([4], 60000, 'float16') }, 1);
    expect(norm.dtype).toBe('float32');
    expect(norm.item()).toBe(120000);
    expect(clipped.a.dtype).toBe('float16');
    (clipped.a.tolist() as number[]).forEach((v) => expect(v).toBeCloseTo(0.5, 3));
  });

  test('errors', () => {
    expect(() => O.clipGradNorm({ a: kn.array([1, 2]) }, 1)).toThrow(/gradient 'a' has dtype int32/);
    expect(() => O.clipGradNorm({ a: 1 }, 1)).toThrow(/gradient 'a' is not an array/);
    expect(() => O.clipGradNorm({ a: f64([1]) }, -1)).toThrow(/maxNorm must be >= 0/);
    expect(() => O.clipGradNorm(f64([1]), 1)).toThrow(/grads must be a tree/);
  });
});
