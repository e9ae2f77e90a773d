// Optimizer state: trees, init, errors, save → load → resume bit-identical, and memory
// ownership (what survives a kn.tidy, what is disposed when replaced).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { values } from './harness.js';

const O = kn.optim;
const dir = mkdtempSync(join(tmpdir(), 'kiln-optim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (v: number[], shape: number[]) => kn.array(v, 'float32').reshape(shape);
const makeParams = () => ({ w: f32(values(12, 1), [3, 4]), layers: [{ b: f32(values(4, 2), [4]) }, { k: f32(values(12, 3), [2, 3, 2]) }] });
/** gradients that depend on the parameters and the step, like real ones */
const gradsAt = (p: ReturnType<typeof makeParams>, t: number) => kn.tree.map((a: kn.NDArray) => kn.add(kn.multiply(a, 0.5), kn.sin(kn.multiply(a, t + 1))), p);
const bytes = (a: kn.NDArray) => Buffer.from(a.toTypedArray().buffer as ArrayBuffer, a.toTypedArray().byteOffset, a.nbytes);

describe('trees and init', () => {
  test('init gives MLX’s state layout; nested lists and Maps keep their paths', () => {
    const opt = new O.SGD(0.1, { momentum: 0.9 });
    opt.init({ weight: kn.zeros([2, 2]), bias: kn.zeros([2]) });
    expect(Object.keys(opt.state)).toEqual(['step', 'learning_rate', 'weight', 'bias']);
    const adam = new O.Adam(1e-3);
    const params = new Map<string, unknown>([['enc', [kn.ones([2]), { w: kn.ones([1]) }]]]);
    const out = adam.applyGradients(new Map<string, unknown>([['enc', [kn.ones([2]), { w: kn.ones([1]) }]]]), params);
    expect(out).toBeInstanceOf(Map);
    expect(Array.isArray(out.get('enc'))).toBe(true);
    expect(kn.tree.flatten(adam.state).map(([k]) => k)).toEqual(['step', 'learning_rate', 'enc.0.m', 'enc.0.v', 'enc.1.w.m', 'enc.1.w.v']);
    const listOut = new O.SGD(1).applyGradients([kn.ones([1])], [kn.zeros([1])]);
    expect(listOut[0].tolist()).toEqual([-1]);
  });

  test('gradients may cover part of the parameters; the result is shaped like the gradients', () => {
    const opt = new O.SGD(1);
    const out = opt.applyGradients({ a: kn.ones([2]) }, { a: kn.zeros([2]), frozen: kn.zeros([3]) }) as Record<string, kn.NDArray>;
    expect(Object.keys(out)).toEqual(['a']);
    expect(out.a.tolist()).toEqual([-1, -1]);
  });

  test('errors name the parameter', () => {
    const opt = new O.Adam(0.1);
    const p = { w: kn.zeros([2]) };
    expect(() => opt.applyGradients({ v: kn.ones([2]) }, p)).toThrow(/\[Adam.applyGradients\] gradient 'v' has no matching parameter/);
    expect(() => opt.applyGradients({ w: kn.ones([3]) }, p)).toThrow(/gradient 'w' has shape \[3\] but the parameter has shape \[2\]/);
    expect(() => opt.applyGradients({ w: kn.array([1, 2]) }, p)).toThrow(/gradient 'w' has dtype int32; gradients must be floating point/);
    expect(() => opt.applyGradients({ w: null }, p)).toThrow(/gradient 'w' is null, not an array/);
    expect(() => opt.applyGradients(kn.ones([2]), p)).toThrow(/gradients must be a tree/);
    expect(() => opt.applyGradients({ step: kn.ones([2]) }, { step: kn.ones([2]) })).toThrow(/parameter 'step' collides with the optimizer's state key 'step'/);
    expect(() => opt.init({ learning_rate: { w: kn.ones([1]) } })).toThrow(/collides/);
    expect(() => opt.update({} as kn.optim.Trainable, {})).toThrow(/model must have trainableParameters\(\) and update\(tree\) methods/);
    expect(opt.step).toBe(0); // failed updates do not advance the step
  });

  test('a state that does not fit is rejected with a clear error', () => {
    const opt = new O.Adam(0.1);
    expect(() => (opt.state = { learning_rate: kn.array(0.1) })).toThrow(/the state has no 'step' entry/);
    expect(() => (opt.state = { step: kn.array([1, 2]), learning_rate: kn.array(0.1) })).toThrow(/'step' must have one element/);
    expect(() => (opt.state = { step: kn.array(-1) })).toThrow(/'step' must be a non-negative integer/);
    expect(() => (opt.state = { step: kn.array(0, 'uint64') })).toThrow(/the state has no 'learning_rate' entry/);
    opt.state = { step: kn.array(3, 'uint64'), learning_rate: kn.array(0.1), w: { m: kn.zeros([2]) } };
    expect(() => opt.applyGradients({ w: kn.ones([2]) }, { w: kn.ones([2]) })).toThrow(/\[Adam\] the state of parameter 'w' has no 'v' array/);
    opt.state = { step: kn.array(3, 'uint64'), learning_rate: kn.array(0.1), w: { m: kn.zeros([4, 2]), v: kn.zeros([4, 2]) } };
    expect(() => opt.applyGradients({ w: kn.ones([2]) }, { w: kn.ones([2]) })).toThrow(/the update of 'w' has shape \[4, 2\], not the parameter's \[2\]/);
    expect(opt.step).toBe(3);
  });
});

describe('save → load → resume is bit-identical', () => {
  const cases: [string, () => kn.optim.Optimizer][] = [
    ['SGD nesterov + cosine schedule', () => new O.SGD(O.cosineDecay(0.1, 8, 0.01), { momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
    [
      'Adam + warm-up/decay schedule + bias correction',
      () => new O.Adam(O.joinSchedules([O.linearSchedule(0, 1e-2, 2), O.exponentialDecay(1e-2, 0.9)], [2]), { biasCorrection: true }),
    ],
    ['AdamW', () => new O.AdamW(3e-3, { weightDecay: 0.1 })],
    ['Adafactor with first moment', () => new O.Adafactor({ beta1: 0.9, weightDecay: 0.01 })],
    ['Lion', () => new O.Lion(1e-3, { weightDecay: 0.1 })],
    ['RMSprop', () => new O.RMSprop(1e-2)],
    ['Adagrad', () => new O.Adagrad(1e-1)],
  ];
  test.each(cases)('%s', (name, make) => {
    const run = (opt: kn.optim.Optimizer, p: ReturnType<typeof makeParams>, from: number, to: number) => {
      for (let t = from; t < to; t++) {
        p = kn.tidy(() => {
          const next = opt.applyGradients(gradsAt(p, t), p);
          kn.eval(next, opt.state);
          return next;
        });
      }
      return p;
    };
    const a = make();
    const mid = run(a, makeParams(), 0, 3);
    const file = join(dir, `${name.replace(/\W+/g, '_')}.safetensors`);
    a.saveState(file);
    kn.saveSafetensors(join(dir, 'params.safetensors'), Object.fromEntries(kn.tree.flatten<kn.NDArray>(mid)));
    const straight = run(a, mid, 3, 7);

    const b = make();
    b.loadState(file);
    expect(b.step).toBe(3);
    const loaded = kn.tree.unflatten(Object.entries(kn.loadSafetensors(join(dir, 'params.safetensors')).tensors)) as ReturnType<typeof makeParams>;
    const resumed = run(b, loaded, 3, 7);
    expect(b.step).toBe(7);
    const fa = kn.tree.flatten<kn.NDArray>(straight),
      fb = kn.tree.flatten<kn.NDArray>(resumed);
    expect(fb.map(([k]) => k)).toEqual(fa.map(([k]) => k));
    fa.forEach(([k, x], i) => expect(bytes(fb[i][1]).equals(bytes(x)), k).toBe(true));
    const sa = kn.tree.flatten<kn.NDArray>(a.state),
      sb = kn.tree.flatten<kn.NDArray>(b.state);
    expect(sb.map(([k]) => k)).toEqual(sa.map(([k]) => k));
    sa.forEach(([k, x], i) => expect(bytes(sb[i][1]).equals(bytes(x)), k).toBe(true));

    // the same through `opt.state = tree` from the raw file
    const c = make();
    c.state = kn.tree.unflatten(Object.entries(kn.load(file) as Record<string, kn.NDArray>)) as Record<string, unknown>;
    const viaSetter = run(c, loaded, 3, 7);
    kn.tree.flatten<kn.NDArray>(viaSetter).forEach(([k, x], i) => expect(bytes(x).equals(bytes(fa[i][1])), k).toBe(true));
  });

  test('the file has MLX key names and dtypes; loading another optimizer’s state fails', () => {
    const opt = new O.Adam(1e-3);
    opt.applyGradients({ layers: [{ w: kn.ones([2]) }] }, { layers: [{ w: kn.ones([2]) }] });
    const file = join(dir, 'adam.safetensors');
    opt.saveState(file);
    const { tensors, metadata } = kn.loadSafetensors(file);
    expect(Object.keys(tensors).sort()).toEqual(['layers.0.w.m', 'layers.0.w.v', 'learning_rate', 'step']);
    expect(tensors.step.dtype).toBe('uint64');
    expect(tensors.step.item()).toBe(1);
    expect(tensors.learning_rate.dtype).toBe('float32');
    expect(metadata.optimizer).toBe('Adam');
    expect(() => new O.SGD(0.1).loadState(file)).toThrow(/\[SGD.loadState\] .*adam.safetensors holds the state of Adam, not SGD/);
  });

  test('a loaded constant learning rate replaces the constructor’s (MLX: it is part of the state)', () => {
    const a = new O.SGD(0.25);
    a.applyGradients({}, {});
    const file = join(dir, 'sgd.safetensors');
    a.saveState(file);
    const b = new O.SGD(0.5);
    b.loadState(file);
    expect(b.learningRate.item()).toBe(0.25);
    expect(b.step).toBe(1);
  });
});

describe('memory ownership', () => {
  test('state survives a tidy; replaced state arrays are disposed, unchanged ones kept', () => {
    const opt = new O.Adam(0.1);
    let p: Record<string, kn.NDArray> = { w: kn.ones([4]) };
    p = kn.tidy(() => opt.applyGradients({ w: kn.ones([4]) }, p));
    const s1 = opt.state as { w: { m: kn.NDArray; v: kn.NDArray }; learning_rate: kn.NDArray; step: kn.NDArray };
    expect(s1.w.m.disposed).toBe(false);
    expect(s1.w.m.tolist()).toEqual([0.1, 0.1, 0.1, 0.1].map(Math.fround));
    kn.tidy(() => {
      opt.applyGradients({ w: kn.ones([4]) }, p);
    });
    const s2 = opt.state as typeof s1;
    expect(s1.w.m.disposed).toBe(true);
    expect(s1.step.disposed).toBe(true);
    expect(s2.learning_rate === s1.learning_rate).toBe(true);
    expect(s2.learning_rate.disposed).toBe(false);
    expect(s2.w.m.tolist()).toEqual([0.19, 0.19, 0.19, 0.19].map(Math.fround));
    expect(p.w.disposed).toBe(false);
  });

  test('update() keeps new parameters alive past the tidy and disposes the ones it made before', () => {
    const initial = kn.ones([3]);
    const model = {
      params: { w: initial } as Record<string, kn.NDArray>,
      trainableParameters() {
        return this.params;
      },
      update(t: Record<string, kn.NDArray>) {
        this.params = { ...this.params, ...t };
      },
    };
    const opt = new O.SGD(0.5);
    kn.tidy(() => opt.update(model, { w: kn.ones([3]) }));
    const afterFirst = model.params.w;
    expect(afterFirst.tolist()).toEqual([0.5, 0.5, 0.5]);
    expect(initial.disposed).toBe(false); // never the optimizer's
    kn.tidy(() => opt.update(model, { w: kn.ones([3]) }));
    expect(afterFirst.disposed).toBe(true);
    expect(model.params.w.tolist()).toEqual([0, 0, 0]);
    expect(initial.tolist()).toEqual([1, 1, 1]);
  });

  test('update() with an nn.Module', () => {
    const model = new kn.nn.Linear(3, 2);
    const opt = new O.Adam(1e-2);
    const before = model.parameters() as Record<string, kn.NDArray>;
    const grads = { weight: kn.onesLike(before.weight), bias: kn.onesLike(before.bias) };
    kn.tidy(() => {
      opt.update(model, grads);
      kn.eval(model.parameters(), opt.state);
    });
    const after = model.parameters() as Record<string, kn.NDArray>;
    expect(after.weight === before.weight).toBe(false);
    expect(after.weight.disposed).toBe(false);
    const dw = (after.weight.toTypedArray() as Float32Array).map((v, i) => v - (before.weight.toTypedArray() as Float32Array)[i]);
    dw.forEach((d) => expect(d).toBeCloseTo(-1e-2 * (0.1 / (Math.sqrt(0.001) + 1e-8)), 5));
  });

  test('buffers and bytes stay flat over many tidy steps', () => {
    const model = {
      params: makeParams() as Record<string, unknown>,
      trainableParameters() {
        return this.params;
      },
      update(t: Record<string, unknown>) {
        this.params = t;
      },
    };
    const opt = new O.AdamW(1e-3, { biasCorrection: true });
    const counts: [number, number][] = [];
    for (let t = 0; t < 300; t++) {
      kn.tidy(() => {
        const g = gradsAt(model.params as ReturnType<typeof makeParams>, t);
        const [clipped] = O.clipGradNorm(g, 1);
        opt.update(model, clipped);
        kn.eval(model.params, opt.state);
      });
      if (t === 9 || t === 299) counts.push([kn.memory.buffers(), kn.memory.active()]);
    }
    expect(counts[1]).toEqual(counts[0]);
  });
});
