// Gradients and jvps of scans and sorting ops; indices say clearly that they have no gradient.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { checkGrad, checkJvp, randomArray } from '../helpers/grad_check.js';
import { ScanOps } from '../../backends/native.js';

type Fn = (...xs: kn.NDArray[]) => kn.NDArray;
/** grad and jvp of f with its outputs weighted (the identity of exclusive scans, ±inf, masked) */
const both = (f: Fn, args: kn.NDArray[]) => {
  const weighted = (...xs: kn.NDArray[]) => {
    const y = f(...xs);
    return kn.multiply(kn.where(kn.isfinite(y), y, 0), randomArray(y.shape, 99));
  };
  checkGrad(weighted, args);
  checkJvp(weighted, args);
};
const values = (a: kn.NDArray) => Array.from(a.astype('float64').toTypedArray() as Float64Array, (v) => v + 0);
/** every scan of the native catalog */
const scanOps = Object.keys(ScanOps);
const scan = (op: string) => (kn as unknown as Record<string, (a: kn.NDArray, axis?: unknown, o?: unknown) => kn.NDArray>)[op];

describe('scans', () => {
  const x = randomArray([3, 5], 1, -1.5, 1.5);
  test.each(scanOps)('%s: forward, reverse, inclusive, exclusive, axes', (op) => {
    for (const reverse of [false, true])
      for (const inclusive of [true, false]) {
        both((a) => scan(op)(a, 1, { reverse, inclusive }), [x]);
        both((a) => scan(op)(a, 0, { reverse, inclusive }), [x]);
      }
    both((a) => scan(op)(a), [x]); // flattened
  });

  test('cumprod with zeros (one, several, first and last position)', () => {
    const z = kn.array(
      [
        [2, 0, 3, 0.5, 4],
        [0, 1.5, 2, -1, 3],
        [1.5, 2, -1, 0.5, 0],
        [0, 2, 0, 3, 0.5],
      ],
      'float64',
    );
    for (const reverse of [false, true]) for (const inclusive of [true, false]) both((a) => kn.cumprod(a, 1, { reverse, inclusive }), [z]);
    // d/dx of sum(cumprod([2, 0, 3])) = [1, 2 + 6, 0]
    expect(values(kn.grad((a: kn.NDArray) => kn.sum(kn.cumprod(a)))(kn.array([2, 0, 3], 'float64')))).toEqual([1, 8, 0]);
  });

  test('cummax and cummin share ties evenly', () => {
    const x = kn.array([1, 3, 2, 3, 5, 5], 'float64');
    // running max [1, 3, 3, 3, 5, 5]: output 3 ties x[1] and x[3], output 5 ties x[4] and x[5]
    const g = kn.grad((a: kn.NDArray) => kn.sum(kn.multiply(kn.cummax(a), kn.array([1, 2, 4, 8, 16, 32], 'float64'))))(x);
    expect(values(g)).toEqual([1, 2 + 4 + 8 / 2, 0, 8 / 2, 16 + 32 / 2, 32 / 2]);
    const [, [t]] = kn.jvp((a) => kn.cummax(a), [x], [kn.array([1, 2, 4, 8, 16, 32], 'float64')]);
    expect(values(t)).toEqual([1, 2, 2, 5, 16, 24]);
    const gmin = kn.grad((a: kn.NDArray) => kn.sum(kn.cummin(a)))(kn.array([2, 1, 1, 3], 'float64'));
    expect(values(gmin)).toEqual([1, 2, 1, 0]);
  });

  test('logcumsumexp of large values stays finite', () => {
    const big = kn.array([1000, 999, 1001, -1000], 'float64');
    both((a) => kn.logcumsumexp(a), [big]);
  });

  test('integer scans carry no gradient', () => {
    const g = kn.grad((a: kn.NDArray) => kn.sum(kn.multiply(a, kn.astype(kn.cumsum(kn.astype(a, 'int32')), 'float64'))))(kn.array([1.5, 2.5], 'float64'));
    expect(values(g)).toEqual([1, 3]);
  });
});

describe('sorting', () => {
  const x = randomArray([3, 6], 2);
  test('sort along axes and flattened', () => {
    both((a) => kn.sort(a), [x]);
    both((a) => kn.sort(a, 0), [x]);
    both((a) => kn.sort(a, null), [x]);
  });
  test('topk and partition', () => {
    for (const k of [0, 1, 3, 6]) both((a) => kn.topk(a, k), [x]);
    both((a) => kn.topk(a, 2, 0), [x]);
    for (const kth of [0, 2, 5, -1]) both((a) => kn.partition(a, kth, 1), [x]);
    both((a) => kn.partition(a, [1, 4]), [x]);
    both((a) => kn.partition(a, 1, 0), [x]);
  });
  test('values gathered with argsort indices differentiate; median', () => {
    both((a) => kn.takeAlongAxis(a, kn.argsort(a, 1), 1), [x]);
    both((a) => kn.take(a, kn.argpartition(a, 2, null).index(kn.slice(0, 3))), [x]);
    both((a) => kn.median(a, 1), [x]);
  });
  test('ties: sorted duplicates take the gradient of one of the equal elements each', () => {
    const d = kn.array([2, 1, 2, 0], 'float64');
    const g = kn.grad((a: kn.NDArray) => kn.sum(kn.multiply(kn.sort(a), kn.array([1, 10, 100, 1000], 'float64'))))(d);
    const v = values(g);
    expect([v[1], v[3]]).toEqual([10, 1]);
    expect([v[0], v[2]].sort((p, q) => p - q)).toEqual([100, 1000]);
  });
  test('indices used as values raise a clear error; as indices or constants they are fine', () => {
    const f = (op: Fn) => (a: kn.NDArray) => kn.sum(kn.multiply(a, kn.astype(op(a), 'float64')));
    const msg = /not differentiable.*stopGradient/;
    expect(() => kn.grad(f((a) => kn.argsort(a)))(x)).toThrow(/\[grad\] argsort returns integer indices/);
    expect(() => kn.grad(f((a) => kn.argpartition(a, 1)))(x)).toThrow(msg);
    expect(() => kn.grad(f((a) => kn.reshape(kn.argmax(a, 1), [3, 1])))(x)).toThrow(/argmax.*not differentiable/);
    expect(() => kn.grad(f((a) => kn.argmin(a)))(x)).toThrow(/argmin.*not differentiable/);
    expect(() => kn.grad(f((a) => kn.searchsorted(kn.array([-0.5, 0, 0.5], 'float64'), a)))(x)).toThrow(/'searchsorted' is not differentiable/);
    expect(() => kn.grad(f((a) => kn.searchsorted(kn.sort(kn.reshape(a, [-1])), kn.array([0.1]))))(x)).toThrow(/searchsorted/);
    const g = kn.grad(f((a) => kn.stopGradient(kn.argsort(a))))(x);
    expect(values(g)).toEqual(values(kn.astype(kn.argsort(x), 'float64')));
    // a rank mask built by comparing indices: the comparison's gradient is zero, no error
    const rank = (a: kn.NDArray) => kn.sum(kn.multiply(a, kn.astype(kn.less(kn.argsort(kn.argsort(a)), 2), 'float64')));
    expect(values(kn.grad(rank)(x)).reduce((p, q) => p + q, 0)).toBe(6);
    // forward mode passes through indices with a zero tangent
    const [, [t]] = kn.jvp((a) => kn.astype(kn.argsort(a), 'float64'), [x], [kn.onesLike(x)]);
    expect(values(t)).toEqual(new Array(18).fill(0));
    const [, [ts]] = kn.jvp((a) => kn.searchsorted(kn.array([0, 1], 'float64'), a), [x], [kn.onesLike(x)]);
    expect(ts.dtype).toBe('int32');
  });
});
