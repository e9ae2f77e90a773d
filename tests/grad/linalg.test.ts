// Gradients and jvps of kn.linalg against float64 central differences (finite differences
// perturb every entry, so they also check which entries a kernel reads, e.g. cholesky's triangle).
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { checkGrad, checkJvp, randomArray } from '../helpers/grad_check.js';

type Fn = (...xs: kn.NDArray[]) => kn.NDArray;
const both = (f: Fn, args: kn.NDArray[], tol?: number) => {
  const weighted = (...xs: kn.NDArray[]) => {
    const y = f(...xs);
    return kn.multiply(y, randomArray(y.shape, 99));
  };
  checkGrad(weighted, args, { tol });
  checkJvp(weighted, args, 0, tol);
};
/** well-conditioned square matrices: random plus a multiple of the identity */
const wellConditioned = (shape: number[], seed: number) =>
  kn.add(randomArray(shape, seed), kn.multiply(kn.eye(shape[shape.length - 1], undefined, 0, 'float64'), 3));
const spd = (shape: number[], seed: number) => {
  const a = randomArray(shape, seed);
  return kn.add(kn.matmul(a, kn.swapaxes(a, -1, -2)), kn.eye(shape[shape.length - 1], undefined, 0, 'float64'));
};

describe('linalg', () => {
  test('inv', () => {
    both((a) => kn.linalg.inv(a), [wellConditioned([3, 3], 1)]);
    both((a) => kn.linalg.inv(a), [wellConditioned([2, 2, 2], 2)]);
  });
  test('solve: matrix and vector right-hand sides, broadcast batches', () => {
    both((a, b) => kn.linalg.solve(a, b), [wellConditioned([3, 3], 3), randomArray([3, 2], 4)]);
    both((a, b) => kn.linalg.solve(a, b), [wellConditioned([3, 3], 5), randomArray([3], 6)]);
    both((a, b) => kn.linalg.solve(a, b), [wellConditioned([3, 3], 7), randomArray([2, 3, 2], 8)]);
    both((a, b) => kn.linalg.solve(a, b), [wellConditioned([2, 3, 3], 9), randomArray([3, 1], 10)]);
  });
  test('solveTriangular: lower, upper, unit diagonal', () => {
    for (const upper of [false, true])
      for (const unitDiagonal of [false, true]) {
        both((a, b) => kn.linalg.solveTriangular(a, b, { upper, unitDiagonal }), [wellConditioned([3, 3], 11), randomArray([3, 2], 12)]);
        both((a, b) => kn.linalg.solveTriangular(a, b, { upper, unitDiagonal }), [wellConditioned([2, 3, 3], 13), randomArray([3], 14)]);
      }
  });
  test('cholesky reads the lower triangle (lower and upper factors)', () => {
    for (const upper of [false, true]) {
      both((a) => kn.linalg.cholesky(a, { upper }), [spd([3, 3], 15)]);
      both((a) => kn.linalg.cholesky(a, { upper }), [spd([2, 4, 4], 16)]);
    }
    // along symmetric directions the derivative matches that of a symmetric parametrisation
    const s = spd([3, 3], 17);
    checkGrad((a) => kn.multiply(kn.linalg.cholesky(kn.divide(kn.add(a, kn.transpose(a)), 2)), randomArray([3, 3], 18)), [s]);
  });
  test('qr: square, tall, wide, batched (Q and R)', () => {
    for (const shape of [
      [3, 3],
      [4, 2],
      [2, 4],
      [2, 3, 2],
      [2, 2, 3],
    ]) {
      const a = randomArray(shape, 19 + shape.length + shape[shape.length - 1]);
      both((x) => kn.linalg.qr(x)[0], [a]);
      both((x) => kn.linalg.qr(x)[1], [a]);
      both(
        (x) => {
          const [q, r] = kn.linalg.qr(x);
          return kn.add(kn.sum(q), kn.sum(kn.square(r)));
        },
        [a],
      );
    }
  });
  test('det and slogdet', () => {
    both((a) => kn.linalg.det(a), [randomArray([3, 3], 30)]);
    both((a) => kn.linalg.det(a), [randomArray([2, 2, 2], 31)]);
    both((a) => kn.linalg.slogdet(a)[1], [randomArray([3, 3], 32)]);
    both((a) => kn.linalg.slogdet(a)[1], [randomArray([2, 3, 3], 33)]);
    const g = kn.grad((a: kn.NDArray) => kn.sum(kn.linalg.slogdet(a)[0]))(randomArray([3, 3], 34));
    expect(Array.from(g.toTypedArray() as Float64Array, (v) => v + 0)).toEqual(new Array(9).fill(0));
  });
  test('norm and cross (composed)', () => {
    const x = randomArray([3, 4], 35);
    for (const ord of [undefined, 1, 2, 3, Infinity, -Infinity]) both((a) => kn.linalg.norm(a, ord, 1), [x]);
    for (const ord of [undefined, 'fro', 1, -1, Infinity, -Infinity] as const) both((a) => kn.linalg.norm(a, ord, [0, 1]), [x]);
    both((a) => kn.linalg.norm(a), [x]);
    both((a, b) => kn.linalg.cross(a, b), [randomArray([2, 3], 36), randomArray([2, 3], 37)]);
  });
});
