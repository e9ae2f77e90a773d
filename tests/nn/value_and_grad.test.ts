// nn.valueAndGrad on a small model: gradient tree shape, frozen parameters, aux outputs,
// restoring the model, and a few steps of gradient descent.
import { describe, it, expect } from 'vitest';
import * as kn from '../../index.js';
import { det } from '../helpers/module_grad.js';

const nn = kn.nn;
const keys = (t: unknown) => kn.tree.flatten(t).map(([k]) => k);

class MLP extends nn.Module {
  layers = [new nn.Linear(3, 5, { key: kn.random.key(1) }), new nn.Linear(5, 2, { key: kn.random.key(2) })];
  norm = new nn.LayerNorm(5);
  forward(x: kn.NDArray): kn.NDArray {
    return this.layers[1].call(kn.nn.silu(this.norm.call(this.layers[0].call(x))));
  }
}

const mse = (m: MLP, x: kn.NDArray, y: kn.NDArray) => kn.mean(kn.square(kn.subtract(m.call(x), y)));

describe('nn.valueAndGrad', () => {
  it('returns the loss and a gradient tree shaped like trainableParameters(), matching finite differences', () => {
    const m = new MLP().setDtype('float64');
    const x = det([4, 3], 1),
      y = det([4, 2], 2);
    const [loss, grads] = nn.valueAndGrad(m, mse)(x, y);
    expect(loss.item()).toBeCloseTo(mse(m, x, y).item() as number, 12);
    expect(keys(grads)).toEqual(keys(m.trainableParameters()));
    // finite difference on one element of each parameter
    for (const [path, p] of kn.tree.flatten<kn.NDArray>(m.parameters())) {
      const g = kn.tree.flatten<kn.NDArray>(grads).find(([k]) => k === path)![1];
      const v = Float64Array.from(p.toTypedArray() as Float64Array);
      const at = (d: number) => {
        const w = Float64Array.from(v);
        w[0] += d;
        m.update(kn.tree.unflatten([[path, kn.array(w).reshape(p.shape)]]) as Record<string, unknown>);
        const l = mse(m, x, y).item() as number;
        m.update(kn.tree.unflatten([[path, p]]) as Record<string, unknown>);
        return l;
      };
      const num = (at(1e-6) - at(-1e-6)) / 2e-6;
      expect(Math.abs((g.toTypedArray() as Float64Array)[0] - num)).toBeLessThan(1e-7);
    }
  });

  it('frozen parameters get no gradient; the model keeps its original arrays', () => {
    const m = new MLP().setDtype('float64');
    m.freeze({ keys: 'bias' });
    m.norm.freeze();
    const before = kn.tree.flatten<kn.NDArray>(m.parameters());
    const [, grads] = nn.valueAndGrad(m, mse)(det([4, 3], 3), det([4, 2], 4));
    expect(keys(grads)).toEqual(['layers.0.weight', 'layers.1.weight']);
    const after = kn.tree.flatten<kn.NDArray>(m.parameters());
    after.forEach(([k, a], i) => {
      expect(k).toBe(before[i][0]);
      expect(a).toBe(before[i][1]);
    });
  });

  it('aux outputs come back with the loss; extra arguments pass through', () => {
    const m = new MLP().setDtype('float64');
    const fn = (mm: MLP, x: kn.NDArray, scale: number) => {
      const out = mm.call(x);
      return [kn.multiply(kn.sum(out), scale), out] as const;
    };
    const [[loss, out], grads] = nn.valueAndGrad(m, fn)(det([2, 3], 5), 2);
    expect(out.shape).toEqual([2, 2]);
    expect(loss.item()).toBeCloseTo(2 * (kn.sum(out).item() as number), 12);
    const g2 = kn.tree.flatten<kn.NDArray>(grads)[0][1];
    const [, grads1] = nn.valueAndGrad(m, fn)(det([2, 3], 5), 1);
    const g1 = kn.tree.flatten<kn.NDArray>(grads1)[0][1];
    expect(kn.allclose(g2, kn.multiply(g1, 2))).toBe(true);
  });

  it('gradient descent lowers the loss; BatchNorm statistics still update', () => {
    const model = new nn.Sequential(
      new nn.Linear(2, 8, { key: kn.random.key(3) }),
      new nn.BatchNorm(8),
      nn.relu,
      new nn.Linear(8, 1, { key: kn.random.key(4) }),
    );
    const x = det([16, 2], 6);
    const y = kn.sum(kn.multiply(x, kn.array([[1.5, -2]])), 1, { keepdims: true }).astype('float32');
    const xf = x.astype('float32');
    const loss = (m: typeof model, a: kn.NDArray, b: kn.NDArray) => kn.mean(kn.square(kn.subtract(m.call(a), b)));
    const step = nn.valueAndGrad(model, loss);
    const rm0 = (model.layers[1] as kn.nn.BatchNorm).runningMean!.tolist();
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const [l, g] = step(xf, y);
      losses.push(l.item() as number);
      model.update(kn.tree.map((p: kn.NDArray, d: kn.NDArray) => kn.subtract(p, kn.multiply(d, 0.1)), model.trainableParameters(), g));
    }
    expect(losses[29]).toBeLessThan(losses[0] * 0.5);
    expect((model.layers[1] as kn.nn.BatchNorm).runningMean!.tolist()).not.toEqual(rm0);
  });

  it('the model may be passed as the first argument too (MLX style)', () => {
    const m = new MLP().setDtype('float64');
    const x = det([4, 3], 7),
      y = det([4, 2], 8);
    const step = nn.valueAndGrad(m, mse);
    const [l1, g1] = step(x, y);
    const [l2, g2] = step(m, x, y);
    expect(l2.item()).toBe(l1.item());
    const a = kn.tree.flatten<kn.NDArray>(g1),
      b = kn.tree.flatten<kn.NDArray>(g2);
    a.forEach(([k, v], i) => {
      expect(b[i][0]).toBe(k);
      expect(b[i][1].tolist()).toEqual(v.tolist());
    });
  });

  it('layer state made during a step survives kn.tidy (BatchNorm statistics, Dropout key)', () => {
    const model = new nn.Sequential(new nn.Linear(2, 4, { key: kn.random.key(5) }), new nn.BatchNorm(4), new nn.Dropout(0.5, { key: kn.random.key(6) }));
    const loss = (m: typeof model, a: kn.NDArray) => kn.sum(kn.square(m.call(a)));
    const step = nn.valueAndGrad(model, loss);
    const x = det([6, 2], 9).astype('float32');
    // measured after two steps: the initial parameters and statistics are made lazily by the first
    // step and kept, and their size depends on the device (a GPU block is 512 B, a host one 256 B)
    let active = 0;
    for (let i = 0; i < 20; i++) {
      if (i === 2) active = kn.memory.active();
      const old = model.trainableParameters();
      const next = kn.tidy(() => {
        const [, g] = step(x);
        return kn.tree.map((p: kn.NDArray, d: kn.NDArray) => kn.subtract(p, kn.multiply(d, 0.01)), old, g);
      });
      model.update(next);
      kn.eval(model.parameters());
      if (i > 0) kn.dispose(old); // the first ones were made outside the loop
    }
    // replaced statistics and keys are freed: memory does not grow with the steps (not one buffer
    // in 18 steps: every buffer takes at least 256 B)
    expect(kn.memory.active() - active).toBeLessThan(256);
    const bn = model.layers[1] as kn.nn.BatchNorm;
    expect(bn.runningMean!.disposed).toBe(false);
    expect(Number.isFinite(bn.runningVar!.sum().item() as number)).toBe(true);
    expect(() => model.call(x)).not.toThrow(); // the Dropout key is alive
  });

  it('argument errors', () => {
    expect(() => nn.valueAndGrad({} as kn.nn.Module, mse as never)).toThrow(/first argument must be an nn.Module/);
    expect(() => nn.valueAndGrad(new MLP(), 3 as never)).toThrow(/loss function/);
  });
});
