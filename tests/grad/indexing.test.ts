// Gradients and jvps of indexing, gathers and scatter updates (repeated indices included).
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { checkGrad, checkJvp, randomArray } from '../helpers/grad_check.js';

type Fn = (...xs: kn.NDArray[]) => kn.NDArray;
const both = (f: Fn, args: kn.NDArray[]) => {
  const weighted = (...xs: kn.NDArray[]) => {
    const y = f(...xs);
    return kn.multiply(y, randomArray(y.shape, 99));
  };
  checkGrad(weighted, args);
  checkJvp(weighted, args);
};
const values = (a: kn.NDArray) => Array.from(a.astype('float64').toTypedArray() as Float64Array, (v) => v + 0); // -0 reads as 0

describe('gathers', () => {
  const x = randomArray([4, 3], 1),
    x3 = randomArray([3, 4, 2], 2);
  test('index with integer arrays (repeats, negatives, several arrays)', () => {
    both((a) => a.index(kn.array([0, 2, 0, -1])), [x]);
    both(
      (a) =>
        a.index(
          '...',
          kn.array([
            [2, 2],
            [0, 1],
          ]),
        ),
      [x],
    );
    both((a) => a.index(kn.array([0, 1, 1]), kn.array([2, 0, 2])), [x]);
    both((a) => a.index(kn.array([0, 2]), ':', kn.array([1, 1])), [x3]); // separated: result dims first
    both((a) => a.index(1, kn.array([3, 0, 3])), [x3]);
    both((a) => a.index(kn.slice(null, null, -1), kn.array([1, 3]), null), [x3]);
  });
  test('index with a boolean mask', () => {
    const mask = kn.array([true, false, true, true]);
    both((a) => a.index(mask), [x]);
    both((a) => a.index(kn.greater(a, 0)), [x]); // the mask depends on the input itself
  });
  test('take, takeAlongAxis', () => {
    both((a) => kn.take(a, kn.array([5, 0, 5, 11])), [x]);
    both(
      (a) =>
        kn.take(
          a,
          kn.array([
            [1, 1],
            [0, 2],
          ]),
          1,
        ),
      [x],
    );
    both((a) => kn.take(a, 2, 0), [x]);
    both(
      (a) =>
        kn.takeAlongAxis(
          a,
          kn.array([
            [0, 0],
            [1, 2],
            [2, 2],
            [0, 1],
          ]),
          1,
        ),
      [x],
    );
    both((a) => kn.takeAlongAxis(a, kn.array([[3], [0], [3]]), 0), [x]);
    both((a) => kn.takeAlongAxis(a, kn.array([[[1, 0]], [[3, 3]], [[0, 2]]]), 1), [x3]);
  });
});

describe('scatter updates', () => {
  const x = randomArray([4, 3], 3, 0.5, 1.5),
    u = randomArray([5, 3], 4, 0.5, 1.5);
  const idx = kn.array([0, 2, 0, 3, 0]);
  test.each(['set', 'add', 'subtract', 'multiply', 'divide', 'maximum', 'minimum'])('at(...).%s with repeated indices', (mode) => {
    both((a, v) => (kn.at(a, idx) as unknown as Record<string, Fn>)[mode](v), [x, u]);
    both((a, v) => (kn.at(a, kn.array([1, 1]), kn.array([2, 2])) as unknown as Record<string, Fn>)[mode](v), [x, randomArray([2], 5, 0.5, 1.5)]);
    both((a, v) => (kn.at(a, ':', 1) as unknown as Record<string, Fn>)[mode](v), [x, randomArray([4], 6, 0.5, 1.5)]);
    both((a) => (kn.at(a, idx) as unknown as Record<string, (v: number) => kn.NDArray>)[mode](2), [x]);
  });
  test('multiply with zero factors, including two zeros at one target', () => {
    const base = kn.array([1.5, -2, 3], 'float64');
    const ind = kn.array([0, 0, 1, 1, 2]);
    for (const v of [kn.array([0, 2, 0, 0, 3], 'float64'), kn.array([0, 2, 1, 4, 0], 'float64')]) both((a, w) => kn.at(a, ind).multiply(w), [base, v]);
    const [gb, gv] = kn.grad((a: kn.NDArray, w: kn.NDArray) => kn.sum(kn.at(a, ind).multiply(w)), { argnums: [0, 1] })(
      base,
      kn.array([0, 2, 0, 0, 3], 'float64'),
    ) as kn.NDArray[];
    expect(values(gb)).toEqual([0, 0, 3]);
    expect(values(gv)).toEqual([3, 0, 0, 0, 3]);
  });
  test('set: only the last of repeated writes receives the gradient; maximum shares ties', () => {
    const base = kn.zeros([3], 'float64'),
      v = kn.array([1, 2, 3, 4], 'float64');
    const ind = kn.array([1, 1, 2, 1]);
    const [gb, gv] = kn.grad((a: kn.NDArray, w: kn.NDArray) => kn.sum(kn.multiply(kn.at(a, ind).set(w), kn.array([10, 20, 30], 'float64'))), {
      argnums: [0, 1],
    })(base, v) as kn.NDArray[];
    expect(values(gb)).toEqual([10, 0, 0]);
    expect(values(gv)).toEqual([0, 0, 30, 20]);
    const [mb, mv] = kn.grad((a: kn.NDArray, w: kn.NDArray) => kn.sum(kn.at(a, ind).maximum(w)), { argnums: [0, 1] })(
      kn.array([5, 2, 3], 'float64'),
      kn.array([2, 1, 3, 0], 'float64'),
    ) as kn.NDArray[];
    expect(values(mb)).toEqual([1, 0.5, 0.5]);
    expect(values(mv)).toEqual([0.5, 0, 0.5, 0]);
  });
  test('putAlongAxis, sliceUpdate', () => {
    const ind = kn.array([[1], [0], [2], [2]]);
    both((a, v) => kn.putAlongAxis(a, ind, v, 1), [x, randomArray([4, 1], 7)]);
    both((a) => kn.putAlongAxis(a, ind, 0.5, 1), [x]);
    both((a, v) => kn.sliceUpdate(a, v, [1, 1]), [x, randomArray([2, 2], 8)]);
    both((a, v) => kn.sliceUpdate(a, v, [2], [0]), [x, randomArray([1, 3], 9)]);
  });
});

test('a scatter never writes its output over its updates (only the base may be reused)', () => {
  const base = kn.array([1, 2, 3, 4], 'float64');
  const updates = kn.multiply(kn.array([10, 20, 30, 40], 'float64'), 2); // a fresh buffer of the output's size
  expect(
    kn
      .at(base, kn.array([3, 2, 1, 0]))
      .add(updates)
      .tolist(),
  ).toEqual([81, 62, 43, 24]);
});
