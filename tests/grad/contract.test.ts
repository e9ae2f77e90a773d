// Gradients and jvps of matmul and the contractions built on it.
import { test } from 'vitest';
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
const r = (shape: number[], seed: number) => randomArray(shape, seed);

test('matmul: matrices, vectors, batches and broadcasting', () => {
  const cases: [number[], number[]][] = [
    [
      [3, 4],
      [4, 2],
    ],
    [[4], [4, 2]],
    [[3, 4], [4]],
    [[4], [4]],
    [
      [2, 3, 4],
      [4, 2],
    ],
    [
      [2, 1, 3, 4],
      [3, 4, 5],
    ],
    [[4], [2, 4, 3]],
    [[2, 3, 4], [4]],
  ];
  cases.forEach(([sa, sb], i) => both((a, b) => kn.matmul(a, b), [r(sa, i), r(sb, i + 10)]));
  both((a) => kn.matmul(a, a), [r([3, 3], 20)]);
  both((a) => kn.matmul(kn.transpose(a), a), [r([3, 2], 21)]);
});

test('einsum', () => {
  const specs: [string, number[][]][] = [
    [
      'ij,jk->ik',
      [
        [2, 3],
        [3, 4],
      ],
    ],
    ['ij->ji', [[2, 3]]],
    ['ii->', [[3, 3]]],
    ['ii->i', [[3, 3]]],
    ['i,i->', [[4], [4]]],
    ['i,j->ij', [[2], [3]]],
    [
      'ij,ij->i',
      [
        [2, 3],
        [2, 3],
      ],
    ],
    [
      'bij,bjk->bik',
      [
        [2, 2, 3],
        [2, 3, 2],
      ],
    ],
    [
      '...ij,jk->...ik',
      [
        [2, 2, 3],
        [3, 2],
      ],
    ],
    ['ijk->k', [[2, 3, 2]]],
    [
      'ij,jk,kl->il',
      [
        [2, 3],
        [3, 2],
        [2, 2],
      ],
    ],
  ];
  specs.forEach(([s, shapes], i) =>
    both(
      (...xs) => kn.einsum(s, ...xs),
      shapes.map((sh, k) => r(sh, 30 + i * 3 + k)),
    ),
  );
});

test('tensordot, inner, outer, addmm', () => {
  both((a, b) => kn.tensordot(a, b), [r([2, 3, 4], 50), r([3, 4, 2], 51)]);
  both((a, b) => kn.tensordot(a, b, 1), [r([2, 3], 52), r([3, 4], 53)]);
  both(
    (a, b) =>
      kn.tensordot(a, b, [
        [0, 2],
        [2, 0],
      ]),
    [r([2, 3, 4], 54), r([4, 2, 2], 55)],
  );
  both((a, b) => kn.inner(a, b), [r([2, 3], 56), r([4, 3], 57)]);
  both((a, b) => kn.inner(a, b), [r([3], 58), r([3], 59)]);
  both((a, b) => kn.outer(a, b), [r([3], 60), r([2, 2], 61)]);
  both((c, a, b) => kn.addmm(c, a, b, { alpha: 2, beta: 0.5 }), [r([2, 2], 62), r([2, 3], 63), r([3, 2], 64)]);
});
