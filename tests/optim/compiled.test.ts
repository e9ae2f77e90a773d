// A compiled training step follows the optimizer's step count, bias corrections and learning-rate
// schedules: they are computed from the state's step array inside the graph, not from JS numbers
// frozen at trace time.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';

const { nn, optim } = kn;

type MakeOpt = () => kn.optim.Optimizer;
const cases: [string, MakeOpt][] = [
  ['Adam, bias correction, cosine decay', () => new optim.Adam(optim.cosineDecay(0.1, 4), { biasCorrection: true })],
  ['AdamW, warm-up joined to cosine', () => new optim.AdamW(optim.joinSchedules([optim.linearSchedule(0.01, 0.1, 2), optim.cosineDecay(0.1, 10)], [2]))],
  ['SGD, step decay, momentum', () => new optim.SGD(optim.stepDecay(0.1, 0.5, 2), { momentum: 0.9 })],
  ['Adafactor, relative steps', () => new optim.Adafactor()],
  ['Adafactor, warm-up init', () => new optim.Adafactor({ warmupInit: true })],
];

function train(makeOpt: MakeOpt, compiled: boolean, steps: number) {
  const model = new nn.Linear(4, 3, { key: kn.random.key(0) });
  const opt = makeOpt();
  opt.init(model.trainableParameters()); // the state's structure is complete before tracing: one trace
  const lossAndGrad = nn.valueAndGrad(model, (m: kn.nn.Linear, x: kn.NDArray, y: kn.NDArray) => nn.losses.mseLoss(m.call(x), y));
  const plain = (x: kn.NDArray, y: kn.NDArray) => {
    const [loss, g] = lossAndGrad(x, y);
    opt.update(model, g);
    return loss;
  };
  const compiledStep = compiled ? kn.compile(plain, { inputs: [model, opt], outputs: [model, opt] }) : undefined;
  const step = compiledStep ?? plain;
  const x = kn.random.normal([8, 4], { key: kn.random.key(1) }),
    y = kn.random.normal([8, 3], { key: kn.random.key(2) });
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const l = kn.tidy(() => {
      const l = step(x, y);
      kn.eval(l, model.parameters(), opt.state);
      return l;
    });
    losses.push(l.item() as number);
    l.dispose();
  }
  return {
    losses,
    weight: model.weight.toTypedArray() as Float32Array,
    lr: opt instanceof optim.Adafactor ? 0 : (opt.learningRate.item() as number),
    step: opt.step,
    traces: compiledStep?.info.traces ?? 0,
  };
}

describe('compiled optimizer steps', () => {
  for (const [name, make] of cases)
    test(name, () => {
      const eager = train(make, false, 6),
        comp = train(make, true, 6);
      expect(comp.traces).toBe(1);
      expect(comp.step).toBe(6);
      expect(eager.step).toBe(6);
      expect(comp.lr).toBeCloseTo(eager.lr, 7);
      comp.losses.forEach((l, i) => expect(l).toBeCloseTo(eager.losses[i], 5));
      comp.weight.forEach((w, i) => expect(w).toBeCloseTo(eager.weight[i], 5));
    });
});

describe('schedules on array step counts', () => {
  const schedules: [string, kn.optim.Schedule][] = [
    ['linear', optim.linearSchedule(0, 1e-3, 10)],
    ['cosine', optim.cosineDecay(1e-2, 7, 1e-4)],
    ['exponential', optim.exponentialDecay(0.1, 0.9)],
    ['step', optim.stepDecay(0.1, 0.5, 3)],
    ['joined', optim.joinSchedules([optim.linearSchedule(0, 0.1, 3), optim.cosineDecay(0.1, 5), optim.exponentialDecay(0.01, 0.5)], [3, 8])],
  ];
  for (const [name, s] of schedules)
    test(`${name}: the array form equals the number form at every step`, () => {
      for (let t = 0; t < 14; t++) {
        const viaArray = (s as unknown as (x: kn.NDArray) => kn.NDArray)(kn.array(t, 'uint64'));
        expect(viaArray.dtype).toBe('float64');
        expect(viaArray.item()).toBeCloseTo(s(t) as number, 14);
      }
    });
  test('a join with a hand-written piece falls back to numbers', () => {
    const j = optim.joinSchedules([(t: number) => t / 10, optim.cosineDecay(0.1, 5)], [3]);
    expect(j(2)).toBeCloseTo(0.2, 15);
    expect(() => (j as unknown as (x: kn.NDArray) => unknown)(kn.array(1, 'uint64'))).toThrow(/\[joinSchedules\] the step must be a non-negative integer/);
  });
});
