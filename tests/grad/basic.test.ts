import { test } from 'vitest';
import * as kn from '../../index.js';
import { checkGrad, checkJvp, randomArray } from '../helpers/grad_check.js';
test('fd', () => {
  const x = randomArray([3, 4], 1),
    y = randomArray([3, 4], 2, 0.5, 2);
  for (const op of ['exp', 'sin', 'tanh', 'sigmoid', 'erf', 'square', 'abs', 'arctan', 'sinh', 'log1p'] as const) {
    checkGrad((a) => (kn as any)[op](a), [x]);
    checkJvp((a) => (kn as any)[op](a), [x]);
  }
  for (const op of ['log', 'sqrt', 'rsqrt', 'reciprocal', 'log2', 'log10'] as const) {
    checkGrad((a) => (kn as any)[op](a), [y]);
    checkJvp((a) => (kn as any)[op](a), [y]);
  }
  for (const op of ['add', 'subtract', 'multiply', 'divide', 'power', 'maximum', 'minimum', 'logaddexp', 'arctan2'] as const) {
    checkGrad((a, b) => (kn as any)[op](a, b), [y, x]);
    checkJvp((a, b) => (kn as any)[op](a, b), [y, x]);
  }
  checkGrad((a, b) => kn.matmul(a, b), [x, randomArray([4, 2], 3)]);
  checkGrad((a, b) => kn.matmul(a, b), [randomArray([2, 3, 4], 4), randomArray([4, 2], 3)]);
  checkGrad((a, b) => kn.matmul(a, b), [randomArray([2, 3, 4], 4), randomArray([1, 4, 2], 3)]);
  checkJvp((a, b) => kn.matmul(a, b), [randomArray([2, 3, 4], 4), randomArray([1, 4, 2], 3)]);
  checkGrad((a) => kn.prod(a, 1), [x]);
  checkGrad((a) => kn.prod(kn.where(kn.greater(a, 0.5), 0, a), 0), [x]);
  checkGrad((a) => kn.max(a, 0, { keepdims: true }), [x]);
  checkGrad((a) => kn.mean(a, [0, 1]), [x]);
  checkGrad((a) => kn.logsumexp(a, 1), [x]);
  checkGrad((a) => kn.softmax(a, 0), [x]);
  checkGrad((a) => kn.var(a, 0), [x]);
  checkJvp((a) => kn.softmax(a, 0), [x]);
  checkGrad((a) => a.index(kn.slice(null, null, -2), kn.slice(1, 3)), [x]);
  checkGrad((a) => kn.transpose(a).reshape([2, 6]), [x]);
  checkGrad((a) => kn.asStrided(a, [3, 2], [1, 2], 1), [x]);
  checkGrad((a, b) => kn.where(kn.greater(a, 0), a, b), [x, y]);
  checkGrad((a) => kn.broadcastTo(kn.expandDims(a, 1), [3, 2, 4]), [x]);
});
