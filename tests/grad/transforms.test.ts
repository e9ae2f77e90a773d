// The transforms around the rules: stopGradient, second derivatives, jvp/vjp adjointness,
// checkpoint, customFunction, and that every primitive declares its rules.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import * as prims from '../../core/primitives.js';
import * as sortPrims from '../../core/primitives_sort.js';
import { rulesOf } from '../../core/rules.js';
import type { Primitive } from '../../core/node.js';
import { checkGrad, randomArray } from '../helpers/grad_check.js';

type Fn = (...xs: kn.NDArray[]) => kn.NDArray;
const values = (a: kn.NDArray) => Array.from(a.astype('float64').toTypedArray() as Float64Array, (v) => v + 0);
const dot = (a: kn.NDArray, b: kn.NDArray) => Number(kn.sum(kn.multiply(a, b)).item());
const closeTo = (a: number[], b: number[], tol = 1e-10) =>
  a.forEach((v, i) => {
    if (!(Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])))) expect(a).toEqual(b);
  });

describe('every primitive declares its rules', () => {
  const all = { ...prims, ...sortPrims } as Record<string, unknown>;
  const primitives = Object.entries(all).filter(([, v]) => typeof v === 'object' && v !== null && 'name' in v) as [string, Primitive][];
  const noInputs = new Set(['Full', 'Arange']);
  test.each(primitives.filter(([n]) => !noInputs.has(n)))('%s', (_, p) => {
    const r = rulesOf(p);
    if (p.lowerOutputs) {
      // multi-output primitives (core/siblings.ts) carry rules over all their outputs
      expect(typeof r.vmapOutputs).toBe('function');
      expect(typeof r.vjpOutputs === 'function' || typeof r.nondifferentiable === 'string').toBe(true);
      expect(typeof r.jvpOutputs === 'function' || typeof r.nondifferentiable === 'string').toBe(true);
      return;
    }
    expect(typeof r.vmap).toBe('function');
    expect(typeof r.vjp === 'function' || typeof r.nondifferentiable === 'string').toBe(true);
    expect(typeof r.jvp === 'function' || typeof r.vjp === 'function').toBe(true);
  });
});

describe('stopGradient', () => {
  test('blocks reverse and forward derivatives; values pass', () => {
    const x = kn.array([1, 2, 3], 'float64');
    const f = (a: kn.NDArray) => kn.sum(kn.multiply(kn.square(a), kn.stopGradient(a)));
    expect(values(kn.grad(f)(x))).toEqual([2, 8, 18]); // 2a · a, not 3a²
    const [[y], [t]] = kn.jvp((a) => kn.multiply(a, kn.stopGradient(kn.exp(a))), [x], [kn.onesLike(x)]);
    closeTo(values(t), values(kn.exp(x)));
    closeTo(values(y), values(kn.multiply(x, kn.exp(x))));
    expect(values(kn.grad((a: kn.NDArray) => kn.sum(kn.stopGradient(a)))(x))).toEqual([0, 0, 0]);
  });
});

describe('second derivatives', () => {
  /** H·w through grad of ⟨grad f, w⟩ against finite differences of grad f */
  const checkSecond = (f: Fn, x: kn.NDArray, tol = 1e-5) => {
    const w = randomArray(x.shape, 77);
    checkGrad((a) => kn.multiply(kn.grad((b: kn.NDArray) => kn.sum(f(b)))(a), w), [x], { tol });
  };
  const x = randomArray([2, 3], 1, 0.5, 1.5),
    sq = kn.add(randomArray([3, 3], 2), kn.multiply(kn.eye(3, 3, 0, 'float64'), 3));
  const weights = randomArray([2, 3], 3);
  const corpus: [string, Fn, kn.NDArray][] = [
    ['tanh·exp', (a) => kn.multiply(kn.tanh(a), kn.exp(a)), x],
    ['power, divide', (a) => kn.divide(kn.power(a, kn.flip(a)), kn.add(a, 2)), x],
    ['sigmoid, erf, log1p, sqrt', (a) => kn.add(kn.multiply(kn.sigmoid(a), kn.erf(a)), kn.log1p(kn.sqrt(a))), x],
    ['softmax', (a) => kn.multiply(kn.softmax(a, 1), weights), x],
    ['logsumexp, var, prod', (a) => kn.add(kn.add(kn.logsumexp(a), kn.sum(kn.var(a, 1))), kn.sum(kn.prod(a, 0))), x],
    ['matmul', (a) => kn.matmul(a, kn.transpose(kn.square(a))), x],
    ['concat, pad, slice', (a) => kn.multiply(kn.pad(kn.concatenate([a, kn.exp(a)], 1), 1).index('1:', '::-2'), 1.5), x],
    ['take, at.multiply', (a) => kn.at(kn.exp(a), kn.array([0, 0, 1]), kn.array([1, 1, 2])).multiply(kn.take(a, kn.array([4, 0, 4]))), x],
    ['cumprod, logcumsumexp, cummax', (a) => kn.add(kn.multiply(kn.cumprod(a, 1), weights), kn.multiply(kn.logcumsumexp(a, 0), kn.cummax(kn.square(a), 1))), x],
    ['sort, topk', (a) => kn.add(kn.multiply(kn.sort(kn.square(a), 1), weights), kn.sum(kn.exp(kn.topk(a, 2, 1)))), x],
    ['inv, solve, det', (a) => kn.add(kn.sum(kn.linalg.inv(a)), kn.add(kn.sum(kn.linalg.solve(a, kn.sin(a))), kn.linalg.det(a))), sq],
    [
      'cholesky, slogdet, qr',
      (a) => {
        const s = kn.add(kn.matmul(a, kn.transpose(a)), kn.eye(3, 3, 0, 'float64'));
        return kn.add(kn.sum(kn.square(kn.linalg.cholesky(s))), kn.add(kn.linalg.slogdet(a)[1], kn.sum(kn.linalg.qr(a)[1])));
      },
      sq,
    ],
  ];
  test.each(corpus)('%s', (_, f, a) => checkSecond(f, a));

  test('third derivative of x⁴ and mixed partials', () => {
    const d = (f: (a: kn.NDArray) => kn.NDArray) => (a: kn.NDArray) => kn.grad((b: kn.NDArray) => kn.sum(f(b)))(a);
    const x4 = (a: kn.NDArray) => kn.power(a, 4);
    expect(values(d(d(d(x4)))(kn.array([1, 2], 'float64')))).toEqual([24, 48]);
    // ∂²(a²b³)/∂a∂b = 6ab²
    const mixed = kn.grad(
      (a: kn.NDArray, b: kn.NDArray) => kn.sum(kn.grad((p: kn.NDArray, q: kn.NDArray) => kn.sum(kn.multiply(kn.square(p), kn.power(q, 3))))(a, b)),
      { argnums: 1 },
    );
    closeTo(values(mixed(kn.array([2], 'float64'), kn.array([3], 'float64'))), [6 * 2 * 9]);
  });
});

describe('jvp and vjp are adjoint: <u, J v> = <Jᵀ u, v>', () => {
  const corpus: [string, Fn, number[]][] = [
    ['transpose·reshape', (a) => kn.reshape(kn.transpose(a), [4, 3]), [3, 4]],
    ['slices and flips', (a) => a.index('::-1', '1::2'), [3, 4]],
    ['broadcast and sum', (a) => kn.sum(kn.broadcastTo(a, [2, 3, 4]), [0, 2]), [3, 4]],
    ['matmul with a constant', (a) => kn.matmul(a, randomArray([4, 2], 5)), [3, 4]],
    ['gather and scatter-add', (a) => kn.at(kn.take(a, kn.array([0, 2, 2]), 0), kn.array([1, 1])).add(kn.ones([4], 'float64')), [3, 4]],
    ['scatter-set', (a) => kn.at(kn.multiply(a, 2), kn.array([0, 0, 2]), kn.array([1, 1, 3])).set(kn.take(a, kn.array([0, 5, 9]))), [3, 4]],
    [
      'concatenate and pad',
      (a) =>
        kn.pad(kn.concatenate([a, a], 1), [
          [1, 0],
          [0, 2],
        ]),
      [3, 4],
    ],
    ['cumsum reverse exclusive', (a) => kn.cumsum(a, 1, { reverse: true, inclusive: false }), [3, 4]],
    ['asStrided windows', (a) => kn.asStrided(a, [3, 3], [2, 1]), [3, 4]],
    ['nonlinear: softmax · tanh', (a) => kn.multiply(kn.softmax(a, 1), kn.tanh(a)), [3, 4]],
    ['nonlinear: cumprod, sort', (a) => kn.add(kn.cumprod(a, 0), kn.sort(a, 1)), [3, 4]],
    ['nonlinear: linalg', (a) => kn.linalg.inv(kn.add(kn.matmul(a, kn.transpose(a)), kn.eye(3, 3, 0, 'float64'))), [3, 4]],
    ['nonlinear: qr of a wide matrix', (a) => kn.linalg.qr(a)[1], [3, 4]],
  ];
  test.each(corpus)('%s', (_, f, shape) => {
    const x = randomArray(shape, 8),
      v = randomArray(shape, 9);
    const [[y], [jv]] = kn.jvp(f, [x], [v]);
    const u = randomArray(y.shape, 10);
    const [, [jtu]] = kn.vjp(f, [x], [u]);
    const lhs = dot(u, jv),
      rhs = dot(jtu, v);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-10 * Math.max(1, Math.abs(lhs)));
  });
});

describe('checkpoint', () => {
  test('gives the same values and gradients as the plain function (trees and several arguments)', () => {
    const w = randomArray([4, 4], 11),
      x = randomArray([3, 4], 12);
    const block = (p: { w: kn.NDArray; b: kn.NDArray }, h: kn.NDArray) => kn.tanh(kn.add(kn.matmul(h, p.w), p.b));
    const params = { w, b: randomArray([4], 13) };
    const loss = (blk: typeof block) => (p: typeof params, h: kn.NDArray) => kn.sum(kn.square(blk(p, blk(p, h))));
    const [v1, [gp1, gx1]] = kn.valueAndGrad(loss(block), { argnums: [0, 1] })(params, x);
    const [v2, [gp2, gx2]] = kn.valueAndGrad(loss(kn.checkpoint(block)), { argnums: [0, 1] })(params, x);
    closeTo([Number(v2.item())], [Number(v1.item())]);
    closeTo(values(gp2.w), values(gp1.w));
    closeTo(values(gp2.b), values(gp1.b));
    closeTo(values(gx2), values(gx1));
    // second derivatives through a checkpoint
    const hv = (blk: typeof block) => kn.grad((h: kn.NDArray) => kn.sum(kn.grad((q: kn.NDArray) => loss(blk)(params, q))(h)))(x);
    closeTo(values(hv(kn.checkpoint(block))), values(hv(block)));
  });
});

describe('customFunction', () => {
  test('its vjp and jvp are the ones used', () => {
    const calls = { vjp: 0, jvp: 0 };
    const f = kn.customFunction((a: kn.NDArray) => kn.sin(a), {
      vjp: (_p, [g]) => {
        calls.vjp++;
        return [kn.multiply(g, 2)];
      },
      jvp: (_p, [t]) => {
        calls.jvp++;
        return [kn.multiply(t, 3)];
      },
    });
    const x = kn.array([0.1, 0.2], 'float64');
    expect(values(kn.grad((a: kn.NDArray) => kn.sum(f(a)))(x))).toEqual([2, 2]);
    const [[y], [t]] = kn.jvp((a) => f(a), [x], [kn.onesLike(x)]);
    expect(values(t)).toEqual([3, 3]);
    closeTo(values(y), values(kn.sin(x)));
    expect(calls).toEqual({ vjp: 1, jvp: 1 });
  });
  test('several inputs and outputs; a missing rule differentiates the function itself', () => {
    const f = kn.customFunction((a: kn.NDArray, b: kn.NDArray) => [kn.multiply(a, b), kn.add(a, b)], {
      vjp: ([a, b], [g1, g2]) => [kn.add(kn.multiply(g1, b), g2), null],
    });
    const a = kn.array([2, 3], 'float64'),
      b = kn.array([5, 7], 'float64');
    const [ga, gb] = kn.grad(
      (p: kn.NDArray, q: kn.NDArray) => {
        const [m, s] = f(p, q);
        return kn.add(kn.sum(m), kn.sum(kn.multiply(s, 10)));
      },
      { argnums: [0, 1] },
    )(a, b) as kn.NDArray[];
    expect(values(ga)).toEqual([15, 17]);
    expect(values(gb)).toEqual([0, 0]); // the custom rule said null
    const g = kn.customFunction((p: kn.NDArray) => kn.exp(p), {});
    closeTo(values(kn.grad((p: kn.NDArray) => kn.sum(g(p)))(a)), values(kn.exp(a)));
    const [, [t]] = kn.jvp((p) => g(p), [a], [kn.onesLike(a)]);
    closeTo(values(t), values(kn.exp(a)));
  });
});

describe('float32 gradients stay float32', () => {
  /** dtypes of every node in the (unevaluated) gradient graph */
  const graphDtypes = (a: kn.NDArray) => {
    const seen = new Set<unknown>(),
      dts = new Set<string>();
    const stack = [a.node];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      dts.add(n.dtype);
      stack.push(...n.inputs);
    }
    return dts;
  };
  const corpus: [string, Fn, number[]][] = [
    ['scatter modes', (a) => kn.at(kn.at(kn.at(a, kn.array([0, 0])).multiply(kn.exp(a.index(':2'))), kn.array([1, 1])).set(a.index('2:4'))).maximum(a), [6]],
    ['gather, concat, pad', (a) => kn.pad(kn.concatenate([kn.take(a, kn.array([1, 1, 0])), a]), 2), [6]],
    ['scans', (a) => kn.add(kn.add(kn.cumprod(a, 0, { inclusive: false }), kn.cummax(a, 0, { reverse: true })), kn.logcumsumexp(a, 0)), [6]],
    ['sort, topk, partition', (a) => kn.add(kn.sort(a), kn.sum(kn.add(kn.topk(a, 2), kn.partition(a, 1).index(':2')))), [6]],
    [
      'linalg',
      (a) => {
        const m = kn.add(kn.reshape(kn.concatenate([a, a.index(':3')]), [3, 3]), kn.multiply(kn.eye(3, 3, 0, 'float32'), 4));
        const s = kn.add(kn.matmul(m, kn.transpose(m)), kn.eye(3, 3, 0, 'float32'));
        return kn.add(
          kn.add(kn.sum(kn.linalg.inv(m)), kn.linalg.det(m)),
          kn.add(kn.sum(kn.linalg.cholesky(s)), kn.add(kn.sum(kn.linalg.qr(m)[1]), kn.linalg.slogdet(m)[1])),
        );
      },
      [6],
    ],
  ];
  test.each(corpus)('%s', (_, f, shape) => {
    const x64 = randomArray(shape, 40, 0.5, 1.5),
      x32 = kn.array(Float32Array.from(values(x64)), 'float32').reshape(shape);
    const g32 = kn.grad((a: kn.NDArray) => kn.sum(f(a)))(x32) as kn.NDArray;
    expect([...graphDtypes(g32)].filter((d) => d === 'float64')).toEqual([]);
    const g64 = kn.grad((a: kn.NDArray) => kn.sum(f(a)))(x64) as kn.NDArray;
    closeTo(values(g32), values(g64), 1e-3);
  });
});

describe('customFunction under vmap', () => {
  const f = kn.customFunction((x, w) => kn.multiply(kn.sin(x), w), {
    vjp: ([, w], [g]) => [kn.multiply(g, kn.multiply(w, 2)), kn.multiply(g, 3)],
    jvp: ([, w], [tx, tw]) => [kn.add(kn.multiply(tx, kn.multiply(w, 2)), kn.multiply(tw, 3))],
  });
  const x = kn.array(
      [
        [0.1, 0.2],
        [0.3, 0.4],
        [0.5, 0.6],
      ],
      'float64',
    ),
    w = kn.array([1.5, -2], 'float64');

  test('grad of vmap keeps the custom vjp; a shared input sums its cotangent over the batch', () => {
    const [gx, gw] = kn.grad((x: kn.NDArray, w: kn.NDArray) => kn.sum(kn.vmap(f, [0, null])(x, w)), { argnums: [0, 1] })(x, w);
    expect(gx.tolist()).toEqual([
      [3, -4],
      [3, -4],
      [3, -4],
    ]);
    expect(gw.tolist()).toEqual([9, 9]);
  });

  test('vmap of grad and jvp of vmap use the custom rules too', () => {
    const per = kn.vmap(kn.grad((xi: kn.NDArray) => kn.sum(f(xi, w))))(x);
    expect(per.tolist()).toEqual([
      [3, -4],
      [3, -4],
      [3, -4],
    ]);
    const [, [t]] = kn.jvp((x) => kn.vmap(f, [0, null])(x, w), [x], [kn.onesLike(x)]);
    expect(t.tolist()).toEqual([
      [3, -4],
      [3, -4],
      [3, -4],
    ]);
  });

  test('checkpoint inside vmap still recomputes and gives the plain gradients', () => {
    const wm = kn.array(
      [
        [0.5, -1],
        [2, 0.25],
      ],
      'float64',
    );
    const block = (h: kn.NDArray) => kn.tanh(kn.matmul(h, wm));
    const loss = (b: (h: kn.NDArray) => kn.NDArray) => (x: kn.NDArray) => kn.sum(kn.vmap(b)(x));
    const g1 = kn.grad(loss(block))(x),
      g2 = kn.grad(loss(kn.checkpoint(block)))(x);
    expect(kn.allclose(g1, g2, { rtol: 1e-12, atol: 1e-14 })).toBe(true);
  });
});
