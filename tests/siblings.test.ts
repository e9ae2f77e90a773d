// Multi-output primitives (core/siblings.ts): one launch computes every output, evaluating one
// sibling attaches the others that are still held, and graph copies (compile, folding) keep them
// together. qr and slogdet are built on them.
import { describe, expect, it } from 'vitest';
import * as kn from '../index.js';

const A = [
  [4, 1, 2],
  [1, 5, 3],
  [2, 3, 6],
];

describe('siblings', () => {
  it('evaluating Q also gives R, in one kernel launch', () => {
    const [q, r] = kn.linalg.qr(kn.array(A, 'float64'));
    expect(r.node.inputs[0].data).toBeNull();
    q.eval();
    // R (the node under r's reshape view) was computed by the same launch
    expect(r.node.inputs[0].data).not.toBeNull();
    const back = kn.matmul(q, r).tolist() as number[][];
    back.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(A[i][j], 12)));
  });

  it('a dropped sibling is freed right after the launch', () => {
    const x = kn.random
      .normal([200, 200], { key: kn.random.key(1) })
      .astype('float64')
      .eval();
    const before = kn.memory.active();
    const r = kn.tidy(() => {
      const [, r] = kn.linalg.qr(x);
      return kn.keep(r.eval());
    });
    // only R (320,000 bytes, allocator buckets round up by at most 12.5%) outlives the evaluation
    const grown = kn.memory.active() - before;
    expect(grown).toBeGreaterThanOrEqual(r.size * 8);
    expect(grown).toBeLessThanOrEqual(r.size * 8 * 1.125);
    r.dispose();
  });

  it('compiled functions returning one sibling, both, or neither agree with eager', () => {
    const x = kn.array(A, 'float32');
    const fns = [
      (a: kn.NDArray) => kn.linalg.qr(a)[1],
      (a: kn.NDArray) => kn.linalg.qr(a),
      (a: kn.NDArray) => kn.sum(kn.matmul(...kn.linalg.qr(a))),
      (a: kn.NDArray) => kn.linalg.slogdet(a)[1],
    ];
    for (const f of fns) {
      const flat = (t: unknown) => kn.tree.flatten(t as never).flatMap(([, v]) => Array.from((v as kn.NDArray).toTypedArray() as Float32Array));
      const want = flat(f(x)),
        got = flat(kn.compile(f)(x));
      expect(got.length).toBe(want.length);
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
    }
  });

  it('slogdet of a small constant matrix folds at trace time and stays correct', () => {
    const f = (s: kn.NDArray) =>
      kn.multiply(
        kn.linalg.slogdet(
          kn.array(
            [
              [2, 0],
              [0, 3],
            ],
            'float32',
          ),
        )[1],
        s,
      );
    const got = kn.compile(f)(kn.array(2, 'float32')).item() as number;
    expect(got).toBeCloseTo(2 * Math.log(6), 5);
  });

  it('gradients flow from either output and from both', () => {
    const x = kn.array(A, 'float64');
    const viaR = kn.grad((a: kn.NDArray) => kn.sum(kn.linalg.qr(a)[1]))(x);
    const viaBoth = kn.grad((a: kn.NDArray) => {
      const [q, r] = kn.linalg.qr(a);
      return kn.sum(kn.matmul(q, r));
    })(x);
    // Q R = A, so the gradient of sum(Q R) is all ones
    (viaBoth.tolist() as number[][]).flat().forEach((v) => expect(v).toBeCloseTo(1, 10));
    // finite differences for sum(R)
    const h = 1e-6,
      g = viaR.tolist() as number[][];
    for (const [i, j] of [
      [0, 0],
      [1, 2],
      [2, 1],
    ]) {
      const p = A.map((r) => r.slice()),
        m = A.map((r) => r.slice());
      p[i][j] += h;
      m[i][j] -= h;
      const fd =
        ((kn.sum(kn.linalg.qr(kn.array(p, 'float64'))[1]).item() as number) - (kn.sum(kn.linalg.qr(kn.array(m, 'float64'))[1]).item() as number)) / (2 * h);
      expect(g[i][j]).toBeCloseTo(fd, 6);
    }
  });
});
