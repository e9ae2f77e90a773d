// Transforms compose with compile: compiled gradients, compiled functions inside grad/vmap and
// inside other compiled functions.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { expectSame, normal } from './helpers.js';

const T = { rtol: 1e-5, atol: 1e-6 };
const loss = (w: kn.NDArray, x: kn.NDArray) => kn.mean(kn.square(kn.subtract(kn.tanh(kn.matmul(x, w)), 0.5)));

describe('compile and transforms', () => {
  it('kn.compile(kn.grad(f)) equals kn.grad(f)', () => {
    const w = normal([5, 3], 1),
      x = normal([8, 5], 2);
    const g = kn.grad(loss);
    const cg = kn.compile(g);
    expectSame(cg(w, x), g(w, x), T);
    expectSame(cg(w, x), g(w, x), T);
    expect(cg.info.traces).toBe(1);
    expect(cg.info.fused).toBeGreaterThan(0);
  });

  it('kn.compile(kn.valueAndGrad(f)) with a tree argument and argnums', () => {
    const f = (p: { w: kn.NDArray; b: kn.NDArray }, x: kn.NDArray) => kn.sum(kn.nn.gelu(kn.add(kn.matmul(x, p.w), p.b)));
    const p = { w: normal([4, 2], 3), b: normal([2], 4) },
      x = normal([6, 4], 5);
    const vg = kn.valueAndGrad(f, { argnums: [0, 1] });
    const cvg = kn.compile(vg);
    for (let i = 0; i < 2; i++) expectSame(cvg(p, x), vg(p, x), T);
  });

  it('a compiled function inside grad runs uncompiled, so gradients flow through it', () => {
    const inner = kn.compile((x: kn.NDArray) => kn.sin(kn.multiply(x, x)));
    const x = normal([5], 6);
    const g = kn.grad((v: kn.NDArray) => kn.sum(inner(v)))(x);
    expectSame(g, kn.multiply(kn.cos(kn.multiply(x, x)), kn.multiply(x, 2)), T);
    expect(inner.info.traces).toBe(0);
  });

  it('compiled functions called while tracing another inline into its trace', () => {
    const inner = kn.compile((x: kn.NDArray) => kn.exp(kn.negative(x)));
    const outer = kn.compile((x: kn.NDArray) => kn.add(inner(x), 1));
    const x = normal([7], 7);
    expectSame(outer(x), kn.add(kn.exp(kn.negative(x)), 1));
    expect(outer.info.kernels).toBe(1);
    expect(inner.info.traces).toBe(0);
    expectSame(inner(x), kn.exp(kn.negative(x))); // on its own it compiles
    expect(inner.info.traces).toBe(1);
  });

  it('vmap of a function inside compile', () => {
    const f = kn.compile((xs: kn.NDArray) => kn.vmap((r: kn.NDArray) => kn.softmax(kn.multiply(r, 3), -1))(xs));
    const xs = normal([4, 10], 8);
    expectSame(f(xs), kn.softmax(kn.multiply(xs, 3), -1), T);
  });

  it('stopGradient and identity views vanish from the compiled graph', () => {
    const f = kn.compile((x: kn.NDArray) => kn.multiply(kn.stopGradient(kn.exp(x)), kn.stopGradient(x)));
    const x = normal([6], 9);
    expectSame(f(x), kn.multiply(kn.exp(x), x));
    expect(f.info.kernels).toBe(1);
  });
});

describe('random numbers inside compiled functions', () => {
  it('the global key is refused (its draws would repeat); an explicit key in the state works', () => {
    const bad = kn.compile((x: kn.NDArray) => kn.add(x, kn.random.normal([2])));
    expect(() => bad(kn.zeros([2]))).toThrow(/\[random.normal\] inside kn.compile the global key would be fixed at trace time/);
    const state = { key: kn.random.key(3) };
    const noisy = kn.compile(
      (x: kn.NDArray) => {
        const [k, sub] = kn.random.split(state.key);
        state.key = k;
        return kn.add(x, kn.random.normal([2], { key: sub }));
      },
      { inputs: state, outputs: state },
    );
    const a = noisy(kn.zeros([2])).tolist(),
      b = noisy(kn.zeros([2])).tolist();
    expect(a).not.toEqual(b);
    // the same draws as the uncompiled sequence
    let k = kn.random.key(3);
    const expected = [0, 1].map(() => {
      const [next, sub] = kn.random.split(k);
      k = next;
      return kn.random.normal([2], { key: sub }).tolist();
    });
    expect([a, b]).toEqual(expected);
  });

  it('Dropout asks for a per-call key inside kn.compile', () => {
    const d = new kn.nn.Dropout(0.5, { key: kn.random.key(0) });
    const f = kn.compile((x: kn.NDArray) => d.call(x));
    expect(() => f(kn.ones([4]))).toThrow(/\[Dropout\] inside kn.compile pass the mask key to each call/);
  });
  it('kn.checkpoint inside a compiled gradient recomputes each block: lower peak, same gradients', () => {
    // 6 blocks of a matmul and elementwise work; a block's intermediates are 4 arrays of its width
    const ws = Array.from({ length: 6 }, (_, i) => kn.multiply(normal([128, 128], 10 + i), 0.05));
    const x = normal([512, 128], 20);
    kn.eval(...ws, x);
    const block = (h: kn.NDArray, w: kn.NDArray) => {
      let a = kn.matmul(h, w);
      for (let j = 0; j < 4; j++) a = kn.add(kn.tanh(kn.multiply(a, 1.1)), kn.multiply(a, 0.5));
      return a;
    };
    const ckBlock = kn.checkpoint(block);
    const grads = (ck: boolean) =>
      kn.grad((w: kn.NDArray[]) => {
        let h = x;
        for (const wi of w) h = ck ? ckBlock(h, wi) : block(h, wi);
        return kn.sum(kn.square(h));
      });
    const peakOf = (ck: boolean) => {
      const f = kn.compile((...w: kn.NDArray[]) => grads(ck)(w));
      kn.dispose(f(...ws));
      kn.memory.resetPeak();
      const before = kn.memory.active();
      const g = f(...ws) as kn.NDArray[];
      kn.eval(...g);
      return { peak: kn.memory.peak() - before, g };
    };
    const plain = peakOf(false),
      ck = peakOf(true);
    // the plain step keeps 6 blocks x 5 arrays of 256 KiB (7 MiB measured); the checkpointed one
    // each block's input and one block's recomputation at a time (3 MiB)
    expect(ck.peak).toBeLessThan(plain.peak * 0.6);
    const want = grads(false)(ws) as kn.NDArray[];
    ck.g.forEach((g, i) => expectSame(g, want[i], T));
    plain.g.forEach((g, i) => expectSame(g, want[i], T));
  });
});
