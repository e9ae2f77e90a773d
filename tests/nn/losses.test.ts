// kn.nn.losses against numpy references (tests/fixtures/make_losses_fixtures.py), defaults,
// error messages, and gradients against central differences in float64.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { checkGrad, randomArray } from '../helpers/grad_check.js';

const L = kn.nn.losses;

interface Arr {
  dtype: kn.DType;
  shape: number[];
  values: (number | boolean)[];
}
interface Case {
  name: string;
  fn: keyof typeof L;
  args: Arr[];
  options: Record<string, unknown>;
  expected: { shape: number[]; values: number[] };
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/losses_cases.json', import.meta.url), 'utf8')) as { cases: Case[] };
const build = (a: Arr) => kn.array(a.values as number[], a.dtype).reshape(a.shape);
const isArr = (v: unknown): v is Arr => v !== null && typeof v === 'object' && 'values' in (v as object);

describe('losses match numpy', () => {
  test('fixture has cases for every loss', () => {
    const fns = new Set(fixture.cases.map((c) => c.fn));
    for (const f of ['crossEntropy', 'binaryCrossEntropy', 'nllLoss', 'mseLoss', 'l1Loss', 'smoothL1Loss', 'huberLoss', 'klDivLoss', 'cosineSimilarityLoss'])
      expect(fns.has(f as keyof typeof L)).toBe(true);
    expect(fixture.cases.length).toBeGreaterThan(100);
  });

  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const args = c.args.map(build);
    const opts = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [k, isArr(v) ? build(v) : v]));
    const fn = L[c.fn] as (a: kn.NDArray, b: kn.NDArray, o: object) => kn.NDArray;
    const out = fn(args[0], args[1], opts);
    expect(out.shape).toEqual(c.expected.shape);
    expect(out.dtype).toBe(args[0].dtype);
    const got = Array.from(out.astype('float64').toTypedArray() as Float64Array);
    const tol = args[0].dtype === 'float64' ? 1e-11 : 2e-6;
    got.forEach((v, i) => {
      const e = c.expected.values[i];
      expect(Math.abs(v - e)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e)));
    });
  });
});

describe('loss details', () => {
  const logits = kn.array([
    [2, 0.5, -1],
    [0, 1, 0],
  ]);
  test('MLX default reductions', () => {
    const p = kn.array([
        [0.5, -1],
        [2, 0],
      ]),
      t = kn.zeros([2, 2]);
    expect(L.crossEntropy(logits, kn.array([0, 1])).shape).toEqual([2]);
    expect(L.nllLoss(logits, kn.array([0, 1])).shape).toEqual([2]);
    expect(L.klDivLoss(logits, logits).shape).toEqual([2]);
    expect(L.huberLoss(p, t).shape).toEqual([2, 2]);
    expect(L.cosineSimilarityLoss(p, kn.onesLike(p)).shape).toEqual([2]);
    for (const f of [L.mseLoss, L.l1Loss, L.smoothL1Loss]) expect(f(p, t).shape).toEqual([]);
    expect(L.binaryCrossEntropy(p, t).shape).toEqual([]);
  });

  test('cross entropy of uniform logits is log K; label smoothing of a perfect guess', () => {
    const u = L.crossEntropy(kn.zeros([3, 4]), kn.array([0, 1, 3]), { reduction: 'mean' });
    expect(u.item()).toBeCloseTo(Math.log(4), 6);
    // logits [0, -inf-ish]: −(1 − ε)·log 1 − ε/2·(log 1 + log p2)
    const x = kn.array([[0, -30]], 'float64');
    const s = L.crossEntropy(x, kn.array([0]), { labelSmoothing: 0.2 }).item() as number;
    const logp = [-Math.log1p(Math.exp(-30)), -30 - Math.log1p(Math.exp(-30))];
    expect(s).toBeCloseTo(-(0.8 + 0.1) * logp[0] - 0.1 * logp[1], 12);
  });

  test('outputs keep float16 / bfloat16 dtypes', () => {
    for (const dt of ['float16', 'bfloat16'] as const) {
      const x = logits.astype(dt);
      expect(L.crossEntropy(x, kn.array([0, 1])).dtype).toBe(dt);
      expect(L.binaryCrossEntropy(x, kn.onesLike(x)).dtype).toBe(dt);
      expect(L.mseLoss(x, kn.zerosLike(x)).dtype).toBe(dt);
    }
  });

  test('errors name the values', () => {
    const t = kn.array([0, 1]);
    expect(() => L.crossEntropy(logits, kn.array([0, 1, 2]))).toThrow(/\[crossEntropy\] targets shape \[3\] does not match logits shape \[2, 3\]/);
    expect(() => L.crossEntropy(logits, kn.array([0.0, 1.5]))).toThrow(/class-index targets must have an integer dtype, got float32/);
    expect(() =>
      L.crossEntropy(
        logits,
        kn.array([
          [1, 0, 0],
          [0, 1, 0],
        ]),
      ),
    ).toThrow(/probability targets must be floating point, got int32/);
    expect(() => L.crossEntropy(logits, kn.zeros([2, 4]))).toThrow(/probability targets shape \[2, 4\] does not match logits shape \[2, 3\]/);
    expect(() => L.crossEntropy(kn.array([[1, 2]]), kn.array([0]))).toThrow(/logits must have a floating-point dtype, got int32/);
    expect(() => L.crossEntropy(logits, t, { labelSmoothing: 1 })).toThrow(/labelSmoothing must be in \[0, 1\), got 1/);
    expect(() => L.crossEntropy(logits, t, { reduction: 'avg' as 'mean' })).toThrow(/reduction must be 'none', 'mean' or 'sum', got "avg"/);
    expect(() => L.crossEntropy(logits, t, { weights: kn.ones([3]) })).toThrow(/weights shape \[3\] does not match the unreduced loss shape \[2\]/);
    expect(() => L.crossEntropy(logits, t, { axis: 2 })).toThrow(/axis 2 is out of bounds/);
    expect(() => L.crossEntropy(logits, t, { smoothing: 0.1 } as object)).toThrow(/unknown option 'smoothing'/);
    expect(() => L.crossEntropy(logits as unknown as kn.NDArray, [0, 1] as unknown as kn.NDArray)).toThrow(TypeError);
    expect(() => L.binaryCrossEntropy(kn.zeros([2]), kn.zeros([3]))).toThrow(/inputs shape \[2\] does not match targets shape \[3\]/);
    expect(() => L.binaryCrossEntropy(kn.zeros([2]), kn.zeros([2]), { withLogits: 1 as unknown as boolean })).toThrow(/withLogits must be a boolean/);
    expect(() => L.mseLoss(kn.zeros([2, 1]), kn.zeros([2]))).toThrow(/\[mseLoss\] predictions shape \[2, 1\] does not match targets shape \[2\]/);
    expect(() => L.l1Loss(kn.array([1, 2]), kn.array([1, 2]))).toThrow(/\[l1Loss\] predictions must have a floating-point dtype, got int32/);
    expect(() => L.smoothL1Loss(kn.zeros([2]), kn.zeros([2]), { beta: -1 })).toThrow(/beta must be >= 0, got -1/);
    expect(() => L.huberLoss(kn.zeros([2]), kn.zeros([2]), { delta: 0 })).toThrow(/delta must be > 0, got 0/);
    expect(() => L.nllLoss(logits, kn.array([[0], [1]]))).toThrow(/\[nllLoss\] targets shape \[2, 1\] does not match inputs shape \[2, 3\]/);
    expect(() => L.nllLoss(logits, kn.array([0.5, 1]))).toThrow(/targets must be integer class indices, got float32/);
    expect(() => L.klDivLoss(logits, kn.zeros([3, 2]))).toThrow(/\[klDivLoss\] inputs shape \[2, 3\] does not match targets shape \[3, 2\]/);
    expect(() => L.cosineSimilarityLoss(kn.zeros([2, 3]), kn.zeros([2, 3]), { eps: -1 })).toThrow(/eps must be >= 0/);
    expect(() => L.cosineSimilarityLoss(kn.zeros([]), kn.zeros([]))).toThrow(/at least one axis/);
  });
});

describe('loss gradients match central differences (float64)', () => {
  const x = randomArray([3, 4], 1, -2, 2);
  const y = randomArray([3, 4], 2, -2, 2);
  const probs = kn.softmax(randomArray([3, 4], 3), -1);
  const idx = kn.array([0, 3, 1]);
  const w = randomArray([3], 4, 0, 1);
  const bin = randomArray([3, 4], 5, 0.05, 0.95);
  const cases: [string, (a: kn.NDArray) => kn.NDArray, kn.NDArray][] = [
    ['crossEntropy indices', (a) => L.crossEntropy(a, idx, { reduction: 'mean' }), x],
    ['crossEntropy smoothing + weights', (a) => L.crossEntropy(a, idx, { labelSmoothing: 0.1, weights: w, reduction: 'sum' }), x],
    ['crossEntropy probabilities axis 0', (a) => L.crossEntropy(a, probs, { axis: 0 }), x],
    ['binaryCrossEntropy logits', (a) => L.binaryCrossEntropy(a, bin), x],
    ['binaryCrossEntropy probabilities', (a) => L.binaryCrossEntropy(a, bin, { withLogits: false, reduction: 'sum' }), bin.add(0.01)],
    ['nllLoss', (a) => L.nllLoss(a, idx), x],
    ['mseLoss', (a) => L.mseLoss(a, y), x],
    ['l1Loss', (a) => L.l1Loss(a, y, { reduction: 'sum' }), x],
    ['smoothL1Loss', (a) => L.smoothL1Loss(a, y, { beta: 0.7 }), x],
    ['huberLoss', (a) => L.huberLoss(a, y, { delta: 0.8 }), x],
    ['klDivLoss inputs', (a) => L.klDivLoss(a, kn.logSoftmax(y, -1)), kn.logSoftmax(x, -1)],
    ['klDivLoss targets', (a) => L.klDivLoss(kn.logSoftmax(x, -1), a), kn.logSoftmax(y, -1)],
    ['cosineSimilarityLoss', (a) => L.cosineSimilarityLoss(a, y), x],
  ];
  test.each(cases)('%s', (_, f, at) => {
    checkGrad(f, [at], { tol: 1e-6 });
  });

  test('second argument gradients (targets of mse, x2 of cosine similarity)', () => {
    checkGrad((a, b) => L.mseLoss(a, b), [x, y]);
    checkGrad((a, b) => L.cosineSimilarityLoss(a, b, { axis: 0 }), [x, y]);
  });

  test('cross entropy gradient is softmax − onehot and stays finite for huge logits', () => {
    const big = kn.array([[1000, -1000, 999]], 'float64');
    const g = kn.grad((a: kn.NDArray) => L.crossEntropy(a, kn.array([0]), { reduction: 'sum' }))(big);
    const e = Math.exp(-1);
    const sm = [1 / (1 + e), 0, e / (1 + e)];
    (g.tolist() as number[][])[0].forEach((v, i) => expect(v).toBeCloseTo(sm[i] - (i === 0 ? 1 : 0), 12));
    const gb = kn.grad((a: kn.NDArray) => L.binaryCrossEntropy(a, kn.array([1, 0], 'float64'), { reduction: 'sum' }))(kn.array([-800, 800], 'float64'));
    expect(gb.tolist()).toEqual([-1, 1]);
  });
});
