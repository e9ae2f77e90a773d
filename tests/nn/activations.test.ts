// Activation functions and modules against float64 references (python math / numpy fixtures).
import { describe, it, expect } from 'vitest';
import * as kn from '../../index.js';
import { arr, close } from './util.js';

const nn = kn.nn;
const x = () => arr('act_x');

describe('activation functions match float64 references', () => {
  const cases: [string, (a: kn.NDArray) => kn.NDArray][] = [
    ['relu', nn.relu],
    ['relu6', nn.relu6],
    ['leakyRelu', (a) => nn.leakyRelu(a)],
    ['leakyRelu_0.2', (a) => nn.leakyRelu(a, 0.2)],
    ['elu', (a) => nn.elu(a)],
    ['elu_0.5', (a) => nn.elu(a, 0.5)],
    ['selu', nn.selu],
    ['celu', (a) => nn.celu(a)],
    ['celu_2', (a) => nn.celu(a, 2)],
    ['gelu', nn.gelu],
    ['geluApprox', nn.geluApprox],
    ['geluFastApprox', nn.geluFastApprox],
    ['silu', nn.silu],
    ['sigmoid', nn.sigmoid],
    ['tanh', nn.tanh],
    ['softplus', nn.softplus],
    ['softsign', nn.softsign],
    ['mish', nn.mish],
    ['hardswish', nn.hardswish],
    ['hardTanh', (a) => nn.hardTanh(a)],
    ['logSigmoid', nn.logSigmoid],
    ['step', (a) => nn.step(a)],
  ];
  for (const [name, f] of cases)
    it(name, () => {
      close(f(x()), `act_${name}`, 1e-12);
    });

  it('float32 input stays float32 within float32 accuracy', () => {
    for (const [name, f] of cases.filter(([n]) => n !== 'step')) {
      const y = f(arr('act_x', 'float32'));
      expect(y.dtype).toBe('float32');
      close(y, `act_${name}`, 2e-6);
    }
  });

  it('softmax, logSoftmax, softmin along an axis', () => {
    close(nn.softmax(arr('soft_x')), 'softmax');
    close(nn.logSoftmax(arr('soft_x')), 'logSoftmax');
    close(nn.softmax(arr('soft_x'), 0), 'softmax_axis0');
    close(nn.softmin(arr('soft_x')), 'softmin');
  });

  it('glu splits the axis in halves a, b and returns a·σ(b)', () => {
    close(nn.glu(arr('glu_x')), 'glu');
    close(nn.glu(arr('glu2_x'), 1), 'glu2_axis1');
    expect(() => nn.glu(kn.ones([2, 3]))).toThrow(/odd size 3/);
    expect(() => nn.glu(kn.ones([2, 4]), 2)).toThrow(/out of range/);
  });

  it('prelu uses the slope on negatives only', () => {
    expect(nn.prelu(kn.array([-4, 0, 4]), kn.array([0.5])).tolist()).toEqual([-2, 0, 4]);
  });

  it('bad hyperparameters throw clear errors', () => {
    expect(() => nn.leakyRelu(kn.ones([2]), NaN)).toThrow(/\[leakyRelu\] negativeSlope must be a finite number/);
    expect(() => nn.elu(kn.ones([2]), 'a' as unknown as number)).toThrow(TypeError);
  });
});

describe('activation modules', () => {
  it('each module computes its function', () => {
    const pairs: [kn.nn.Module, string][] = [
      [new nn.ReLU(), 'relu'],
      [new nn.ReLU6(), 'relu6'],
      [new nn.LeakyReLU(0.2), 'leakyRelu_0.2'],
      [new nn.ELU(0.5), 'elu_0.5'],
      [new nn.SELU(), 'selu'],
      [new nn.CELU(2), 'celu_2'],
      [new nn.GELU(), 'gelu'],
      [new nn.GELU({ approx: 'precise' }), 'geluApprox'],
      [new nn.GELU({ approx: 'tanh' }), 'geluApprox'],
      [new nn.GELU({ approx: 'fast' }), 'geluFastApprox'],
      [new nn.SiLU(), 'silu'],
      [new nn.Sigmoid(), 'sigmoid'],
      [new nn.Tanh(), 'tanh'],
      [new nn.Softplus(), 'softplus'],
      [new nn.Softsign(), 'softsign'],
      [new nn.Mish(), 'mish'],
      [new nn.Hardswish(), 'hardswish'],
      [new nn.HardTanh(), 'hardTanh'],
      [new nn.LogSigmoid(), 'logSigmoid'],
      [new nn.Step(), 'step'],
    ];
    for (const [m, key] of pairs) close(m.call(x()) as kn.NDArray, `act_${key}`);
    close(new nn.Softmax().call(arr('soft_x')), 'softmax');
    close(new nn.LogSoftmax().call(arr('soft_x')), 'logSoftmax');
    close(new nn.Softmin().call(arr('soft_x')), 'softmin');
    close(new nn.GLU(1).call(arr('glu2_x')), 'glu2_axis1');
  });

  it('activation modules hold no parameters; PReLU holds one', () => {
    expect(new nn.GELU().parameters()).toEqual({});
    const p = new nn.PReLU(3, 0.1);
    expect(kn.tree.flatten(p.parameters()).map(([k]) => k)).toEqual(['weight']);
    close(p.weight, { shape: [3], values: [0.1, 0.1, 0.1] }, 1e-7);
    expect(p.call(kn.array([[-1, 2, -3]])).tolist()).toEqual([[-0.10000000149011612, 2, -0.30000001192092896]]);
  });

  it('GELU rejects unknown approximations', () => {
    expect(() => new nn.GELU({ approx: 'erf' as 'none' })).toThrow(/approx must be/);
  });
});
