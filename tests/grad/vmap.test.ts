// kn.vmap against a loop over the batch (stack of per-example results), through every
// primitive's batching rule, nested, composed with grad and jvp, with in/out axes other than 0.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { randomArray } from '../helpers/grad_check.js';

type Fn = (...xs: kn.NDArray[]) => kn.NDArray;
function expectClose(a: kn.NDArray, b: kn.NDArray, tol = 1e-10) {
  expect(a.shape).toEqual(b.shape);
  expect(a.dtype).toBe(b.dtype);
  const x = Array.from(a.astype('float64').toTypedArray() as Float64Array),
    y = Array.from(b.astype('float64').toTypedArray() as Float64Array);
  x.forEach((v, i) => {
    if (!(Math.abs(v - y[i]) <= tol * Math.max(1, Math.abs(y[i])) || (Number.isNaN(v) && Number.isNaN(y[i])))) expect(x).toEqual(y);
  });
}
/** f applied to each slice along the mapped axes, stacked on a new first axis */
function loop(f: Fn, args: kn.NDArray[], axes: (number | null)[]): kn.NDArray {
  const k = axes.findIndex((a) => a !== null);
  const B = args[k].shape[axes[k]!];
  const outs: kn.NDArray[] = [];
  for (let b = 0; b < B; b++) outs.push(f(...args.map((a, i) => (axes[i] === null ? a : kn.take(a, b, axes[i]!)))));
  return kn.stack(outs, 0);
}
const ints = (shape: number[], n: number, seed: number) => kn.astype(kn.multiply(kn.abs(randomArray(shape, seed)), n - 0.01), 'int32');
const eye3 = () => kn.multiply(kn.eye(3, 3, 0, 'float64'), 4);

const corpus: [string, Fn, (number[] | kn.NDArray)[], (number | null)[]][] = [
  ['unary and binary', (a, b) => kn.add(kn.tanh(a), kn.multiply(b, 2)), [[4, 3], [3]], [0, null]],
  ['where and casts', (a) => kn.where(kn.greater(a, 0), kn.astype(a, 'float32'), 0), [[3, 4]], [1]],
  ['reductions', (a) => kn.add(kn.sum(a, 0), kn.max(a, 1, { keepdims: true })), [[2, 3, 4]], [2]],
  ['composites', (a) => kn.add(kn.softmax(a, -1), kn.logsumexp(a, 0, { keepdims: true })), [[3, 4, 2]], [0]],
  ['median', (a) => kn.median(a, 0), [[3, 5, 2]], [1]],
  ['views', (a) => kn.reshape(kn.transpose(a).index('::-1', 1), [-1]), [[3, 2, 4]], [0]],
  ['broadcast, expand, squeeze', (a) => kn.squeeze(kn.broadcastTo(kn.expandDims(a, 0), [2, 1, 3])), [[5, 1, 3]], [0]],
  ['asStrided', (a) => kn.asStrided(a, [2, 2], [1, 1]), [[4, 3]], [0]],
  [
    'matmul',
    (a, b) => kn.matmul(a, b),
    [
      [4, 2, 3],
      [3, 5],
    ],
    [0, null],
  ],
  [
    'matmul both batched',
    (a, b) => kn.matmul(a, b),
    [
      [2, 3, 4],
      [4, 3, 2],
    ],
    [1, 1],
  ],
  [
    'einsum',
    (a, b) => kn.einsum('ij,jk->ki', a, b),
    [
      [3, 2, 4],
      [4, 2],
    ],
    [0, null],
  ],
  [
    'concatenate',
    (a, b) => kn.concatenate([a, b], 1),
    [
      [3, 2, 3],
      [2, 4],
    ],
    [0, null],
  ],
  [
    'stack',
    (a, b) => kn.stack([a, b], 1),
    [
      [2, 3, 4],
      [3, 2, 4],
    ],
    [1, 0],
  ],
  [
    'pad',
    (a) =>
      kn.pad(
        a,
        [
          [1, 2],
          [0, 1],
        ],
        { constantValue: 2 },
      ),
    [[3, 2, 3]],
    [0],
  ],
  ['edge pad, tile, repeat, roll', (a) => kn.roll(kn.repeat(kn.tile(kn.pad(a, 1, { mode: 'edge' }), 2), 2, 0), 3), [[3, 2]], [0]],
  ['take', (a) => kn.take(a, kn.array([2, 0, 2]), 1), [[3, 2, 4]], [0]],
  ['take batched indices', (a, i) => kn.take(a, i, 0), [[4, 3], ints([5, 2], 4, 1)], [null, 0]],
  ['takeAlongAxis both batched', (a, i) => kn.takeAlongAxis(a, i, 1), [[4, 3, 5], ints([4, 3, 2], 5, 2)], [0, 0]],
  ['index with arrays', (a) => a.index(kn.array([1, 0, 1]), ':', kn.array([2, 2, 0])), [[2, 3, 4, 3]], [1]],
  [
    'scatter add',
    (a, u) => kn.at(a, kn.array([1, 1, 0])).add(u),
    [
      [3, 4, 2],
      [3, 2],
    ],
    [0, null],
  ],
  [
    'scatter multiply',
    (a, u) => kn.at(a, kn.array([1, 1, 0])).multiply(u),
    [
      [4, 2],
      [3, 3, 2],
    ],
    [null, 1],
  ],
  ['scatter set, batched indices', (a, i, u) => kn.putAlongAxis(a, i, u, 0), [[3, 4, 2], ints([3, 2, 2], 4, 3), [2, 2]], [0, 0, null]],
  [
    'sliceUpdate',
    (a, u) => kn.sliceUpdate(a, u, [1]),
    [
      [3, 5],
      [3, 2],
    ],
    [0, 0],
  ],
  ['inv', (a) => kn.linalg.inv(kn.add(a, eye3())), [[2, 3, 3]], [0]],
  [
    'solve',
    (a, b) => kn.linalg.solve(kn.add(a, eye3()), b),
    [
      [3, 3],
      [2, 3],
    ],
    [null, 0],
  ],
  [
    'solveTriangular',
    (a, b) => kn.linalg.solveTriangular(kn.add(a, eye3()), b, { upper: true }),
    [
      [2, 3, 3],
      [3, 2, 2],
    ],
    [0, 2],
  ],
  ['cholesky', (a) => kn.linalg.cholesky(kn.add(kn.matmul(a, kn.transpose(a)), eye3())), [[2, 3, 3]], [0]],
  ['qr', (a) => kn.linalg.qr(a)[0], [[2, 4, 3]], [0]],
  ['det', (a) => kn.linalg.det(a), [[3, 3, 2]], [2]],
  ['slogdet', (a) => kn.linalg.slogdet(a)[1], [[3, 3, 2]], [2]],
  ['sort', (a) => kn.sort(a, 0), [[3, 5, 2]], [2]],
  ['argsort', (a) => kn.argsort(a, 0), [[3, 5, 2]], [1]],
  ['topk, partition', (a) => kn.add(kn.topk(a, 2, -1), kn.sum(kn.partition(a, 1, -1), -1, { keepdims: true })), [[3, 5, 4]], [0]],
  ['searchsorted shared', (s, v) => kn.searchsorted(s, v), [kn.sort(randomArray([5], 4)), [3, 4]], [null, 1]],
  [
    'searchsorted batched',
    (s, v) => kn.searchsorted(kn.sort(s), v, { side: 'right' }),
    [
      [3, 5],
      [3, 4],
    ],
    [0, null],
  ],
  [
    'searchsorted both',
    (s, v) => kn.searchsorted(kn.sort(s), v),
    [
      [3, 5],
      [4, 3],
    ],
    [0, 1],
  ],
  ['scans', (a) => kn.add(kn.cumsum(a, 0, { reverse: true }), kn.cumprod(a, 1, { inclusive: false })), [[3, 5, 2]], [1]],
  ['cummax, logcumsumexp', (a) => kn.add(kn.cummax(a, 1), kn.logcumsumexp(a, 0, { reverse: true })), [[3, 5, 2]], [2]],
  ['stopGradient', (a) => kn.multiply(kn.stopGradient(a), a), [[3, 2]], [0]],
];

describe('vmap agrees with a loop', () => {
  test.each(corpus)('%s', (_, f, specs, axes) => {
    const args = specs.map((s, i) => (s instanceof kn.NDArray ? s : randomArray(s, i + 1)));
    expectClose(kn.vmap(f, axes)(...args), loop(f, args, axes));
  });
});

describe('vmap composed', () => {
  const x = randomArray([4, 3], 1),
    y = randomArray([5, 3], 2);
  const dist = (a: kn.NDArray, b: kn.NDArray) => kn.sum(kn.square(kn.subtract(a, b)));
  test('nested vmap: all pairs', () => {
    const pairs = kn.vmap(kn.vmap(dist, [null, 0]), [0, null])(x, y);
    const expected = kn.stack(
      Array.from({ length: 4 }, (_, i) => loop((b) => dist(kn.take(x, i, 0), b), [y], [0])),
      0,
    );
    expectClose(pairs, expected);
    const triple = kn.vmap(
      kn.vmap(
        kn.vmap((a: kn.NDArray) => kn.sort(a), 0),
        1,
      ),
      2,
    )(randomArray([2, 3, 4, 5], 3));
    expectClose(triple, kn.transpose(kn.sort(randomArray([2, 3, 4, 5], 3), -1), [2, 1, 0, 3]));
  });
  test('vmap of grad: per-example gradients', () => {
    const w = randomArray([3], 4);
    const loss = (p: kn.NDArray, a: kn.NDArray) => kn.square(kn.tanh(kn.sum(kn.multiply(p, a))));
    const perExample = kn.vmap(kn.grad(loss), [null, 0])(w, x);
    expectClose(
      perExample,
      loop((a) => kn.grad(loss)(w, a), [x], [0]),
    );
    const perExample2 = kn.vmap(
      kn.grad((a: kn.NDArray) => kn.sum(kn.cumprod(kn.sort(a)))),
      1,
    )(x);
    expectClose(
      perExample2,
      loop((a) => kn.grad((b: kn.NDArray) => kn.sum(kn.cumprod(kn.sort(b))))(a), [x], [1]),
    );
  });
  test('grad of vmap equals the sum of per-example gradients', () => {
    const w = randomArray([3, 2], 5);
    const f = (p: kn.NDArray) => kn.sum(kn.vmap((a: kn.NDArray) => kn.logsumexp(kn.matmul(a, p)))(x));
    const expected = kn.sum(
      loop((a) => kn.grad((p: kn.NDArray) => kn.logsumexp(kn.matmul(a, p)))(w), [x], [0]),
      0,
    );
    expectClose(kn.grad(f)(w), expected);
    const g = kn.grad((a: kn.NDArray) => kn.sum(kn.vmap((r: kn.NDArray) => kn.linalg.det(kn.reshape(kn.concatenate([r, kn.exp(r), kn.flip(r)]), [3, 3])))(a)))(
      x,
    );
    expectClose(
      g,
      loop((r) => kn.grad((q: kn.NDArray) => kn.linalg.det(kn.reshape(kn.concatenate([q, kn.exp(q), kn.flip(q)]), [3, 3])))(r), [x], [0]),
      1e-8,
    );
  });
  test('vmap of jvp', () => {
    const f = (a: kn.NDArray) => kn.cumprod(kn.exp(a));
    const out = kn.vmap((a: kn.NDArray, t: kn.NDArray) => kn.jvp(f, [a], [t])[1][0])(x, y.index(':4'));
    expectClose(
      out,
      loop((a, t) => kn.jvp(f, [a], [t])[1][0], [x, y.index(':4')], [0, 0]),
    );
  });
});

describe('vmap axes', () => {
  const x = randomArray([3, 4, 2], 6);
  test('in axes other than 0, negative, and null', () => {
    const f = (a: kn.NDArray, b: kn.NDArray) => kn.multiply(kn.sum(a, 0), b);
    const b = randomArray([2], 7);
    expectClose(kn.vmap(f, [1, null])(x, b), loop(f, [x, b], [1, null]));
    const c = randomArray([4], 8);
    expectClose(kn.vmap(f, [-1, null])(x, c), loop(f, [x, c], [2, null]));
  });
  test('out axes other than 0 (one for all, one per output, negative)', () => {
    const f = (a: kn.NDArray) => [kn.cumsum(a, 0), kn.sum(a)];
    const [p, q] = kn.vmap(f, 1, [2, 0])(x) as kn.NDArray[];
    expectClose(
      p,
      kn.moveaxis(
        loop((a) => kn.cumsum(a, 0), [x], [1]),
        0,
        2,
      ),
    );
    expectClose(
      q,
      loop((a) => kn.sum(a), [x], [1]),
    );
    const r = kn.vmap((a: kn.NDArray) => kn.sort(a, 0), 2, -1)(x);
    expectClose(
      r,
      kn.moveaxis(
        loop((a) => kn.sort(a, 0), [x], [2]),
        0,
        -1,
      ),
    );
    const s = kn.vmap((a: kn.NDArray) => kn.sort(a, 0), 0, 1)(x);
    expectClose(
      s,
      kn.moveaxis(
        loop((a) => kn.sort(a, 0), [x], [0]),
        0,
        1,
      ),
    );
  });
  test('trees of arguments and results; outputs that do not depend on the batch', () => {
    const params = { w: randomArray([4, 2], 8), b: randomArray([2], 9) };
    const f = (p: typeof params, a: kn.NDArray) => ({ y: kn.add(kn.matmul(a, p.w), p.b), c: kn.sum(p.b) });
    const out = kn.vmap(f, [null, 0])(params, x.index(':', ':', 0));
    expectClose(
      out.y,
      loop((a) => f(params, a).y, [x.index(':', ':', 0)], [0]),
    );
    expectClose(out.c, kn.broadcastTo(kn.sum(params.b), [3]));
  });
});
