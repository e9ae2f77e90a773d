// Adafactor: factored second moments for ≥2-d parameters, relative steps, clipping, first moment,
// weight decay; against the float64 reference and a hand-computed first step.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { compare, values } from './harness.js';
import { RefAdafactor, type RefAdafactorOptions } from './reference.js';

describe('Adafactor', () => {
  test('state layout: row/column factors for ≥2-d parameters, a full moment for vectors', () => {
    const opt = new kn.optim.Adafactor({ beta1: 0.9 });
    opt.init({ m: kn.zeros([2, 3, 4]), v: kn.zeros([5]) });
    const shapes = Object.fromEntries(kn.tree.flatten<kn.NDArray>(opt.state).map(([k, a]) => [k, a.shape]));
    expect(shapes).toEqual({
      step: [],
      'm.exp_avg_sq_row': [2, 3],
      'm.exp_avg_sq_col': [2, 4],
      'm.exp_avg': [2, 3, 4],
      'v.exp_avg_sq': [5],
      'v.exp_avg': [5],
    });
    expect(() => opt.learningRate).toThrow(/\[Adafactor\] has no learning rate/);
  });

  test('hand-computed first step of a vector', () => {
    // t = 1: β2 = 0, v = g² + 1e-30, u = g/|g| = ±1, RMS(u) = 1 (no clipping),
    // step size min(1e-2, 1)·max(1e-3, RMS(p)); p = [3, 4] → RMS = √12.5
    const p = kn.array([3, 4], 'float64');
    const out = new kn.optim.Adafactor().applyGradients({ p: kn.array([0.5, -2], 'float64') }, { p });
    const alpha = 1e-2 * Math.sqrt(12.5);
    expect(out.p.tolist()).toEqual([3 - alpha, 4 + alpha].map((v) => expect.closeTo(v, 14)));
  });

  test('hand-computed first step of a matrix: the factored moment is exact for rank-1 g²', () => {
    // g = a·bᵀ ⇒ g² = (a²)(b²)ᵀ: row means r_i = a_i²·mean(b²), column means c_j = b_j²·mean(a²),
    // r⊗c/mean(r) = a_i²·b_j², so u = g/|g| = sign(g) and RMS(u) = 1.
    const a = [1, -2],
      b = [0.5, 1, 3];
    const g = kn.array(
      a.map((x) => b.map((y) => x * y)),
      'float64',
    );
    const p = kn.array(
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
      'float64',
    );
    const out = new kn.optim.Adafactor({ eps: [0, 1e-3] }).applyGradients({ p: g }, { p });
    const want = a.map((x) => b.map((y) => 1 - 1e-2 * Math.sign(x * y)));
    (out.p.tolist() as number[][]).forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i][j], 13)));
  });

  const variants: [string, RefAdafactorOptions][] = [
    ['defaults (relative step, parameter scale)', {}],
    ['warm-up init', { warmupInit: true }],
    ['fixed learning rate', { lr: 0.05, relativeStep: false }],
    ['no parameter scale', { scaleParameter: false }],
    ['first moment', { beta1: 0.9 }],
    ['weight decay', { weightDecay: 0.1 }],
    ['tight clipping', { clipThreshold: 0.05 }],
    ['decay rate and eps', { decayRate: -0.5, eps: [1e-20, 1e-2] }],
  ];
  test.each(variants)('%s matches the float64 reference', (_, o) => {
    const make = () => {
      const { lr, ...rest } = o;
      return new kn.optim.Adafactor({ ...rest, ...(lr === undefined ? {} : { learningRate: lr }) });
    };
    const keys = { exp_avg_sq_row: 'row', exp_avg_sq_col: 'col', exp_avg_sq: 'v', exp_avg: 'm' };
    compare(make(), new RefAdafactor(o), { steps: 4, stateKeys: keys });
    compare(make(), new RefAdafactor(o), { dtype: 'float32', tol: 2e-5 });
  });

  test('clipping bounds the unscaled update RMS by clipThreshold', () => {
    const opt = new kn.optim.Adafactor({ clipThreshold: 0.5, scaleParameter: false });
    const p = kn.zeros([4, 4], 'float64');
    const g = kn.array(values(16, 3), 'float64').reshape([4, 4]);
    const out = opt.applyGradients({ p: g }, { p });
    const u = (out.p.toTypedArray() as Float64Array).map((v) => -v / 1e-2);
    const r = Math.sqrt(u.reduce((s, v) => s + v * v, 0) / u.length);
    expect(r).toBeCloseTo(0.5, 12);
  });

  test('bad options throw', () => {
    expect(() => new kn.optim.Adafactor({ relativeStep: false })).toThrow(/\[Adafactor\] relativeStep: false needs a learningRate/);
    expect(() => new kn.optim.Adafactor({ eps: [1e-30] as unknown as [number, number] })).toThrow(/eps must be a pair/);
    expect(() => new kn.optim.Adafactor({ decayRate: 0.5 })).toThrow(/decayRate must be <= 0/);
    expect(() => new kn.optim.Adafactor({ clipThreshold: 0 })).toThrow(/clipThreshold must be >=/);
    expect(() => new kn.optim.Adafactor({ beta_1: 0.9 } as object)).toThrow(/unknown option 'beta_1'/);
  });
});
