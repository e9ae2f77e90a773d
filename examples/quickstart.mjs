// A small worked example: run with `node examples/quickstart.mjs` after `npm install`.
import * as kn from 'kilnjs';

const a = kn.array([
  [1, 2],
  [3, 4],
]);
console.log('a =', a);
console.log('a.T @ a =', kn.matmul(a.T, a));

const x = kn.arange(0, 1, 0.25);
console.log('x =', x, 'exp(x) =', kn.exp(x));

// Broadcasting and weak scalars: float16 stays float16
const h = kn.ones([2, 3], 'float16').multiply(kn.arange(3)).add(0.5);
console.log('h =', h);

// Reductions over any axes
const m = kn.arange(24).reshape(2, 3, 4);
console.log('sum over axes [0, 2] =', m.sum([0, 2]).tolist());
console.log('argmax along last axis =', m.argmax(-1).tolist());

// Deterministic memory: intermediates inside tidy are freed, the result is kept
const before = kn.memory.active();
const total = kn.tidy(() => kn.exp(kn.ones([1000, 1000])).mean());
console.log('mean(exp(1)) =', total.item());
total.dispose();
console.log('native bytes before/after:', before, kn.memory.active());
