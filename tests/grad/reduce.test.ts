// Gradients and jvps of reductions against float64 central differences, and how ties share.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { checkGrad, checkJvp, randomArray } from '../helpers/grad_check.js';

type Fn = (...xs: kn.NDArray[]) => kn.NDArray;
const both = (f: Fn, args: kn.NDArray[]) => {
  checkGrad(f, args);
  checkJvp(f, args);
};
const values = (a: kn.NDArray) => Array.from(a.astype('float64').toTypedArray() as Float64Array, (v) => v + 0); // -0 reads as 0
const axesCases: [string, number | number[] | null, boolean][] = [
  ['all axes', null, false],
  ['axis 0', 0, false],
  ['axis -1 keepdims', -1, true],
  ['axes [0, 2]', [0, 2], false],
  ['axes [2, 0] keepdims', [2, 0], true],
];

describe('reductions over axes', () => {
  const x = randomArray([2, 3, 4], 1, 0.5, 1.5);
  const w = (f: Fn) => (a: kn.NDArray) => {
    const y = f(a); // weight the outputs so every output element's gradient is checked distinctly
    return kn.multiply(y, randomArray(y.shape, 2));
  };
  for (const [label, axis, keepdims] of axesCases) {
    test(`sum mean prod max min (${label})`, () => {
      for (const f of [kn.sum, kn.mean, kn.prod, kn.max, kn.min])
        both(
          w((a) => f(a, axis, { keepdims })),
          [x],
        );
    });
    test(`var std logsumexp (${label})`, () => {
      both(
        w((a) => kn.var(a, axis, { keepdims })),
        [x],
      );
      both(
        w((a) => kn.var(a, axis, { keepdims, ddof: 1 })),
        [x],
      );
      both(
        w((a) => kn.std(a, axis, { keepdims })),
        [x],
      );
      both(
        w((a) => kn.logsumexp(a, axis, { keepdims })),
        [x],
      );
    });
    test(`median (${label})`, () => {
      both(
        w((a) => kn.median(a, axis, { keepdims })),
        [x],
      );
    });
  }
  test('softmax and logSoftmax over one or several axes', () => {
    for (const axis of [undefined, 0, -1, [1, 2]]) {
      both(
        w((a) => kn.softmax(a, axis)),
        [x],
      );
      both(
        w((a) => kn.logSoftmax(a, axis)),
        [x],
      );
    }
  });
  test('trace, norm, countNonzero-free composites', () => {
    const m = randomArray([3, 3], 3);
    both((a) => kn.trace(a), [m]);
    both((a) => kn.trace(a, 1), [m]);
    both(
      w((a) => kn.trace(a, 0, 0, 2)),
      [x],
    );
  });
});

describe('special cases', () => {
  test('prod with one or two zeros', () => {
    const one = kn.array(
        [
          [2, 0, 3],
          [1, 2, 3],
        ],
        'float64',
      ),
      two = kn.array([0, 2, 0, 3], 'float64');
    both((a) => kn.prod(a, 1), [one]);
    both((a) => kn.prod(a), [two]);
    expect(values(kn.grad((a: kn.NDArray) => kn.prod(a))(two))).toEqual([0, 0, 0, 0]);
    expect(values(kn.grad((a: kn.NDArray) => kn.sum(kn.prod(a, 1)))(one))).toEqual([0, 6, 0, 6, 3, 2]);
  });
  test('max and min split ties evenly', () => {
    const x = kn.array(
      [
        [1, 3, 3, 2],
        [5, 5, 5, 0],
      ],
      'float64',
    );
    expect(values(kn.grad((a: kn.NDArray) => kn.sum(kn.max(a, 1)))(x))).toEqual([0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3, 0]);
    expect(values(kn.grad((a: kn.NDArray) => kn.max(a))(x))).toEqual([0, 0, 0, 0, 1 / 3, 1 / 3, 1 / 3, 0]);
    const y = kn.array(
      [
        [2, 1, 1],
        [0, 4, 0],
      ],
      'float64',
    );
    expect(values(kn.grad((a: kn.NDArray) => kn.sum(kn.min(a, 1, { keepdims: true })))(y))).toEqual([0, 0.5, 0.5, 0.5, 0, 0.5]);
    const [, [t]] = kn.jvp(
      (a) => kn.max(a, 1),
      [x],
      [
        kn.array(
          [
            [1, 2, 4, 8],
            [3, 6, 9, 100],
          ],
          'float64',
        ),
      ],
    );
    expect(values(t)).toEqual([3, 6]);
  });
  test('median of an even count averages the middle pair; integer reductions carry no gradient', () => {
    const x = kn.array([4, 1, 3, 2], 'float64');
    expect(values(kn.grad((a: kn.NDArray) => kn.median(a))(x))).toEqual([0, 0, 0.5, 0.5]);
    const g = kn.grad((a: kn.NDArray) => kn.sum(kn.multiply(a, kn.astype(kn.sum(kn.astype(a, 'int32')), 'float64'))))(x);
    expect(values(g)).toEqual([10, 10, 10, 10]);
  });
});
