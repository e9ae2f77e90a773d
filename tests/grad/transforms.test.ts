// The transform API: argument trees, argnums, auxiliary outputs, evaluation inside a trace,
// stopGradient, checkpoint, customFunction and the errors users see.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { checkGrad, randomArray } from '../helpers/grad_check.js';

const f64 = (v: number[] | number[][]) => kn.array(v, 'float64');
const list = (a: kn.NDArray) => a.tolist();

describe('valueAndGrad', () => {
  test('trees of objects, arrays and Maps give gradients of the same shape', () => {
    const params = { w: f64([1, 2]), layers: [{ b: f64([3]) }, { b: f64([4]) }], m: new Map([['s', f64([5])]]), name: 'net' };
    const loss = (p: typeof params) =>
      kn.add(kn.add(kn.sum(kn.square(p.w)), kn.sum(kn.multiply(p.layers[0].b, p.layers[1].b))), kn.sum(kn.multiply(p.m.get('s')!, 3)));
    const [v, g] = kn.valueAndGrad(loss)(params);
    expect(v.item()).toBe(1 + 4 + 12 + 15);
    expect(list(g.w)).toEqual([2, 4]);
    expect(list(g.layers[0].b)).toEqual([4]);
    expect(list(g.layers[1].b)).toEqual([3]);
    expect(g.m).toBeInstanceOf(Map);
    expect(list(g.m.get('s'))).toEqual([3]);
    expect(g.name).toBe('net');
  });

  test('argnums picks arguments; negative argnums count from the end', () => {
    const f = (a: kn.NDArray, b: kn.NDArray, c: kn.NDArray) => kn.sum(kn.multiply(kn.multiply(a, b), c));
    const a = f64([2]), b = f64([3]), c = f64([5]);
    const [ga, gc] = kn.grad(f, { argnums: [0, -1] })(a, b, c);
    expect([ga.item(), gc.item()]).toEqual([15, 6]);
    expect(kn.grad(f, 1)(a, b, c).item()).toBe(10);
    expect(() => kn.grad(f, 3)(a, b, c)).toThrow(/\[valueAndGrad\] argnums 3 is out of range/);
    expect(() => kn.grad(f, [0, 0])(a, b, c)).toThrow(/repeats/);
  });

  test('auxiliary outputs come back with the loss', () => {
    const f = (x: kn.NDArray) => [kn.sum(kn.square(x)), kn.multiply(x, 10)] as const;
    const [[loss, aux], g] = kn.valueAndGrad(f)(f64([1, 2]));
    expect(loss.item()).toBe(5);
    expect(list(aux)).toEqual([10, 20]);
    expect(list(g)).toEqual([2, 4]);
  });

  test('errors name the problem', () => {
    expect(() => kn.grad((x: kn.NDArray) => kn.square(x))(f64([1, 2]))).toThrow(/must return a scalar \(one element\), got shape \[2\]/);
    expect(() => kn.grad((x: kn.NDArray) => kn.sum(kn.astype(x, 'int32')))(f64([1]))).toThrow(/floating point .* got int32/);
    expect(() => kn.grad((x: number) => kn.array(x))(3 as never)).toThrow(/argument 0 must be an array or a tree of arrays/);
    expect(() => kn.grad((x: kn.NDArray) => 'no' as never)(f64([1]))).toThrow(/must return a scalar array or \[loss, \.\.\.aux\]/);
  });

  test('integer inputs get zero gradients of their dtype', () => {
    const [gx, gi] = kn.grad((x: kn.NDArray, i: kn.NDArray) => kn.sum(kn.multiply(x, i)), { argnums: [0, 1] })(f64([1, 2]), kn.array([3, 4]));
    expect(list(gx)).toEqual([3, 4]);
    expect(gi.dtype).toBe('int32');
    expect(list(gi)).toEqual([0, 0]);
  });

  test('evaluating inside the traced function keeps the graph for the backward pass', () => {
    let seen = 0;
    const g = kn.grad((x: kn.NDArray) => {
      const y = kn.exp(x);
      seen = Number(kn.sum(y).item()); // forces evaluation mid-trace
      return kn.sum(kn.multiply(y, x));
    })(f64([0, 1]));
    expect(seen).toBeCloseTo(1 + Math.E, 12);
    // d/dx x e^x = (1 + x) e^x
    expect(list(g)).toEqual([1, 2 * Math.E]);
  });

  test('gradients of gradients (third derivative of x^4 is 24x)', () => {
    const d = (f: (x: kn.NDArray) => kn.NDArray) => (x: kn.NDArray) => kn.sum(kn.grad((y: kn.NDArray) => kn.sum(f(y)))(x));
    const x4 = (x: kn.NDArray) => kn.power(x, 4);
    expect(list(kn.grad(d(d(x4)))(f64([1, 2])))).toEqual([24, 48]);
  });

  test('a cotangent that never reaches an argument gives zeros', () => {
    const [, g] = kn.valueAndGrad((x: kn.NDArray, y: kn.NDArray) => kn.sum(y), { argnums: [0, 1] })(f64([1, 2]), f64([3]));
    expect(list(g[0])).toEqual([0, 0]);
    expect(list(g[1])).toEqual([1]);
  });
});

describe('stopGradient', () => {
  test('blocks gradients but keeps values', () => {
    const x = f64([3]);
    const g = kn.grad((x: kn.NDArray) => kn.sum(kn.multiply(x, kn.stopGradient(x))))(x);
    expect(g.item()).toBe(3);
    expect(kn.stopGradient(x).item()).toBe(3);
  });
});

describe('vjp and jvp', () => {
  test('vjp pulls back cotangents of several outputs', () => {
    const [outs, [gx]] = kn.vjp((x) => [kn.square(x), kn.sin(x)], [f64([1, 2])], [f64([1, 0]), f64([0, 1])]);
    expect(outs.length).toBe(2);
    expect(list(gx)).toEqual([2, Math.cos(2)]);
    expect(() => kn.vjp((x) => kn.square(x), [f64([1, 2])], [f64([1])])).toThrow(/cotangents 0 has shape \[1\] but must match \[2\]/);
  });

  test('jvp matches the transposed vjp on a linear map: <u, J v> = <J^T u, v>', () => {
    const w = randomArray([4, 3], 1);
    const lin = (x: kn.NDArray) => kn.matmul(w, kn.cumsum(x, 0));
    const x = randomArray([3, 2], 2), v = randomArray([3, 2], 3), u = randomArray([4, 2], 4);
    const [, [jv]] = kn.jvp(lin, [x], [v]);
    const [, [jtu]] = kn.vjp(lin, [x], [u]);
    expect(kn.sum(kn.multiply(u, jv)).item()).toBeCloseTo(kn.sum(kn.multiply(jtu, v)).item() as number, 12);
  });
});

describe('checkpoint', () => {
  test('same values and gradients as the plain function', () => {
    const w = randomArray([4, 4], 5);
    const block = (x: kn.NDArray) => kn.tanh(kn.matmul(x, w));
    const plain = (x: kn.NDArray) => kn.sum(block(block(x)));
    const ck = kn.checkpoint(block);
    const withCk = (x: kn.NDArray) => kn.sum(ck(ck(x)));
    const x = randomArray([2, 4], 6);
    const [v1, g1] = kn.valueAndGrad(plain)(x);
    const [v2, g2] = kn.valueAndGrad(withCk)(x);
    expect(v2.item()).toBe(v1.item());
    expect(kn.allclose(g1, g2, { rtol: 1e-12, atol: 1e-14 }).item()).toBe(true);
    checkGrad((x) => ck(ck(x)), [x]);
  });

  test('the backward pass recomputes instead of keeping every intermediate: lower peak memory', () => {
    const x = kn.random.normal([512, 1024], { key: kn.random.key(0) });
    kn.eval(x);
    const block = (h: kn.NDArray) => kn.tanh(kn.sin(kn.cos(kn.tanh(kn.sin(kn.cos(h))))));
    const peakOf = (b: (h: kn.NDArray) => kn.NDArray) => {
      const f = (h: kn.NDArray) => {
        for (let i = 0; i < 8; i++) h = b(h);
        return kn.sum(h);
      };
      kn.memory.resetPeak();
      const base = kn.memory.active();
      const [v, g] = kn.valueAndGrad(f)(x);
      kn.eval(v, g);
      const peak = kn.memory.peak() - base, value = v.item();
      kn.dispose(v, g);
      return { peak, value };
    };
    const plain = peakOf(block), ck = peakOf(kn.checkpoint(block));
    expect(ck.value).toBe(plain.value);
    // 8 blocks x 6 saved intermediates of 2 MiB without; block inputs + one block's work with
    expect(ck.peak).toBeLessThan(plain.peak * 0.5);
  });

  test('trees in and out', () => {
    const ck = kn.checkpoint((p: { a: kn.NDArray; b: kn.NDArray }) => ({ s: kn.multiply(p.a, p.b) }));
    const g = kn.grad((p: { a: kn.NDArray; b: kn.NDArray }) => kn.sum(ck(p).s))({ a: f64([2]), b: f64([7]) });
    expect([g.a.item(), g.b.item()]).toEqual([7, 2]);
  });
});

describe('customFunction', () => {
  test('a custom vjp replaces the function derivative', () => {
    const clipped = kn.customFunction((x) => kn.multiply(x, 1), { vjp: (_p, [g]) => [kn.clip(g, -1, 1)] });
    const g = kn.grad((x: kn.NDArray) => kn.sum(kn.multiply(clipped(x), 5)))(f64([1, 2]));
    expect(list(g)).toEqual([1, 1]);
  });

  test('a custom jvp is used by jvp; without one jvp goes through the function', () => {
    const f = kn.customFunction((x) => kn.exp(x), { jvp: (_p, [t]) => [kn.multiply(t, 100)] });
    expect(list(kn.jvp((x) => f(x), [f64([0])], [f64([1])])[1][0])).toEqual([100]);
    const h = kn.customFunction((x) => kn.exp(x), { vjp: (_p, [g]) => [g] });
    expect(list(kn.jvp((x) => h(x), [f64([0])], [f64([1])])[1][0])).toEqual([1]);
  });

  test('several outputs: the vjp sees every cotangent at once', () => {
    let calls = 0;
    const f = kn.customFunction((x, y) => [kn.multiply(x, y), kn.add(x, y)], {
      vjp: ([x, y], [g1, g2]) => {
        calls++;
        return [kn.add(kn.multiply(g1, y), g2), kn.add(kn.multiply(g1, x), g2)];
      },
    });
    const g = kn.grad((x: kn.NDArray, y: kn.NDArray) => {
      const [p, s] = f(x, y);
      return kn.sum(kn.add(kn.multiply(p, 2), kn.exp(s)));
    }, { argnums: [0, 1] })(f64([1]), f64([2]));
    expect(calls).toBe(1);
    expect(g[0].item()).toBeCloseTo(2 * 2 + Math.exp(3), 12);
    expect(g[1].item()).toBeCloseTo(2 * 1 + Math.exp(3), 12);
    expect(() => kn.customFunction((x) => x, { vjp: () => [] })).not.toThrow();
    const bad = kn.customFunction((x) => kn.exp(x), { vjp: () => [] });
    expect(() => kn.grad((x: kn.NDArray) => kn.sum(bad(x)))(f64([1]))).toThrow(/one cotangent \(or null\) per input: expected 1/);
  });
});

describe('vmap', () => {
  test('errors', () => {
    expect(() => kn.vmap((x: kn.NDArray) => x, null)(f64([1]))).toThrow(/at least one argument must be mapped/);
    expect(() => kn.vmap((x: kn.NDArray, y: kn.NDArray) => kn.add(x, y))(f64([1, 2]), f64([1, 2, 3]))).toThrow(/different sizes/);
    expect(() => kn.vmap((x: kn.NDArray) => kn.array(kn.sum(x).item()))(f64([[1, 2]]))).toThrow(/\[vmap\] cannot evaluate/);
  });
  test('unmapped outputs are broadcast along the batch', () => {
    const [a, b] = kn.vmap((x: kn.NDArray) => [kn.multiply(x, 2), f64([7])])(f64([1, 2, 3]));
    expect(list(a)).toEqual([2, 4, 6]);
    expect(list(b)).toEqual([[7], [7], [7]]);
  });
});
