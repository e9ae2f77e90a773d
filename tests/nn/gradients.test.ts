// Finite-difference gradient checks (float64) of every layer's parameters and inputs.
import { describe, it, expect } from 'vitest';
import * as kn from '../../index.js';
import { checkModuleGrads, det } from '../helpers/module_grad.js';
import { checkGrad } from '../helpers/grad_check.js';

const nn = kn.nn;
const f64 = <M extends kn.nn.Module>(m: M): M => m.setDtype('float64');

describe('layer gradients match central differences', () => {
  it('Linear (with and without bias), Bilinear', () => {
    checkModuleGrads(f64(new nn.Linear(3, 4, { key: kn.random.key(0) })), [det([2, 3], 1)]);
    checkModuleGrads(f64(new nn.Linear(3, 2, { bias: false, key: kn.random.key(1) })), [det([2, 2, 3], 2)]);
    checkModuleGrads(f64(new nn.Bilinear(3, 2, 4, { key: kn.random.key(2) })), [det([2, 3], 3), det([2, 2], 4)]);
  });

  it('Embedding (weights; ids are not differentiable) and asLinear', () => {
    const e = f64(new nn.Embedding(5, 3, { key: kn.random.key(3) }));
    checkModuleGrads(
      e,
      [
        kn.array(
          [
            [0, 4, 4],
            [2, 0, 1],
          ],
          'int32',
        ),
      ],
      { wrtInputs: [] },
    );
    checkModuleGrads(e, [det([2, 3], 5)], { call: (m, x) => (m as kn.nn.Embedding).asLinear(x) });
  });

  it('RMSNorm, LayerNorm, GroupNorm (both groupings), InstanceNorm', () => {
    const x = det([2, 3, 4], 6);
    const rms = f64(new nn.RMSNorm(4)).update({ weight: det([4], 7) });
    checkModuleGrads(rms, [x]);
    const ln = f64(new nn.LayerNorm(4)).update({ weight: det([4], 8), bias: det([4], 9) });
    checkModuleGrads(ln, [x]);
    checkModuleGrads(f64(new nn.GroupNorm(2, 4)).update({ weight: det([4], 10) }), [x]);
    checkModuleGrads(f64(new nn.GroupNorm(2, 4, { pytorchCompatible: true })).update({ bias: det([4], 11) }), [x]);
    checkModuleGrads(f64(new nn.InstanceNorm(4, { affine: true })).update({ weight: det([4], 12) }), [x]);
  });

  it('BatchNorm in training and eval mode (running statistics get no gradient)', () => {
    const x = det([5, 3], 13);
    const bn = f64(new nn.BatchNorm(3)).update({ weight: det([3], 14) });
    checkModuleGrads(bn, [x]);
    bn.eval();
    bn.update({ runningMean: det([3], 15), runningVar: kn.add(kn.abs(det([3], 16)), 0.5) });
    checkModuleGrads(bn, [x]);
  });

  it('MultiHeadAttention with and without a mask', () => {
    const m = f64(new nn.MultiHeadAttention(4, 2, { bias: true, key: kn.random.key(4) }));
    const q = det([1, 2, 4], 17),
      kv = det([1, 3, 4], 18);
    checkModuleGrads(m, [q, kv, kv]);
    checkModuleGrads(m, [q, kv, kv], { call: (mm, a, b, c) => (mm as kn.nn.MultiHeadAttention).forward(a, b, c, 'causal') });
  });

  it('RoPE (input gradient), both layouts', () => {
    checkModuleGrads(new nn.RoPE(4), [det([1, 3, 6], 19)]);
    checkModuleGrads(new nn.RoPE(6, { traditional: true }), [det([2, 3, 6], 20)], { call: (m, x) => (m as kn.nn.RoPE).forward(x, 2) });
  });

  it('Conv1d and Conv2d with stride, padding, dilation and groups', () => {
    checkModuleGrads(f64(new nn.Conv1d(4, 2, 3, { stride: 2, padding: 1, groups: 2, key: kn.random.key(5) })).update({ bias: det([2], 21) }), [
      det([1, 6, 4], 22),
    ]);
    checkModuleGrads(f64(new nn.Conv2d(2, 3, [2, 3], { padding: [1, 0], dilation: [1, 2], key: kn.random.key(6) })), [det([1, 4, 5, 2], 23)]);
    checkModuleGrads(f64(new nn.Conv2d(2, 2, 2, { stride: 2, groups: 2, bias: false, key: kn.random.key(7) })), [det([2, 4, 4, 2], 24)]);
  });

  it('kn.conv1d / conv2d / conv3d with respect to input and weight', () => {
    const R1 = det([1, 7, 4], 40),
      R3 = det([1, 2, 2, 1, 2], 41);
    checkGrad((x, w) => kn.multiply(kn.conv1d(x, w, { padding: 2, dilation: 2, groups: 2 }), R1), [det([1, 5, 4], 42), det([4, 2, 2], 43)]);
    checkGrad((x, w) => kn.multiply(kn.conv3d(x, w, { stride: [2, 1, 1], padding: [1, 0, 0] }), R3), [det([1, 3, 3, 2, 2], 44), det([2, 2, 2, 2, 2], 45)]);
  });

  it('pooling', () => {
    checkModuleGrads(new nn.MaxPool1d(2, { stride: 1, padding: 1 }), [det([1, 5, 2], 25)]);
    checkModuleGrads(new nn.AvgPool2d(2, { stride: 1, padding: 1 }), [det([1, 3, 3, 2], 26)]);
    checkModuleGrads(new nn.MaxPool2d([2, 3], { stride: [2, 1] }), [det([1, 4, 5, 1], 27)]);
  });

  it('activations (away from their kinks) and PReLU', () => {
    const x = kn.add(det([3, 4], 28), kn.multiply(kn.sign(det([3, 4], 28)), 0.05)); // |x| ≥ 0.05
    const mods = [
      new nn.ReLU(),
      new nn.ReLU6(),
      new nn.LeakyReLU(0.1),
      new nn.ELU(0.7),
      new nn.SELU(),
      new nn.CELU(1.5),
      new nn.GELU(),
      new nn.GELU({ approx: 'tanh' }),
      new nn.GELU({ approx: 'fast' }),
      new nn.SiLU(),
      new nn.Sigmoid(),
      new nn.Tanh(),
      new nn.Softplus(),
      new nn.Softsign(),
      new nn.Mish(),
      new nn.Hardswish(),
      new nn.HardTanh(),
      new nn.LogSigmoid(),
      new nn.Softmax(),
      new nn.LogSoftmax(),
      new nn.Softmin(),
      new nn.GLU(),
    ];
    for (const m of mods) checkModuleGrads(m, [kn.multiply(x, 3)]);
    checkModuleGrads(f64(new nn.PReLU(4, 0.2)), [x]);
  });

  it('Sequential and Dropout (fixed key)', () => {
    const s = f64(new nn.Sequential(new nn.Linear(3, 4, { key: kn.random.key(8) }), nn.tanh, new nn.Linear(4, 2, { key: kn.random.key(9) })));
    checkModuleGrads(s, [det([2, 3], 29)]);
    const d = new nn.Dropout(0.5);
    checkModuleGrads(d, [det([3, 4], 30)], { call: (m, x) => (m as kn.nn.Dropout).forward(x, { key: kn.random.key(1) }) });
  });

  it('the checker fails on a wrong derivative', () => {
    class Scale extends nn.Module {
      w = kn.array([1.5, -0.5], 'float64');
      forward(x: kn.NDArray) {
        return kn.multiply(this.w, x);
      }
    }
    const m = new Scale(),
      x = det([2], 31);
    expect(checkModuleGrads(m, [x])).toBe(4);
    // same values, but stopGradient hides the dependence from autograd: analytic 0 ≠ numeric
    expect(() => checkModuleGrads(m, [x], { call: (mm, a) => kn.stopGradient((mm as Scale).forward(a)) })).toThrow(/analytic 0/);
  });
});
