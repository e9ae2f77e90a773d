// Gradients, forward mode, vmap and checkpointing on a tiny linear regression.
// Run: node examples/autograd.mjs
import * as kn from '../dist/index.js';

const params = { w: kn.random.normal([3, 1], { key: kn.random.key(0) }), b: kn.zeros([1]) };
const trueW = kn.array([[2], [-1], [0.5]]);
const x = kn.random.normal([64, 3], { key: kn.random.key(1) });
const y = kn.add(kn.matmul(x, trueW), 0.3);
const loss = (p, x, y) => kn.mean(kn.square(kn.subtract(kn.add(kn.matmul(x, p.w), p.b), y)));
const step = kn.valueAndGrad(loss);

let p = params;
for (let i = 0; i < 200; i++) {
  p = kn.tidy(() => {
    const [l, g] = step(p, x, y);
    const next = kn.tree.map((v, gv) => kn.subtract(v, kn.multiply(gv, 0.1)), p, g);
    kn.eval(next);
    if (i % 50 === 0) console.log(`step ${i}: loss ${l.item().toFixed(5)}`);
    return next;
  });
}
console.log(
  'learned w',
  p.w
    .reshape([3])
    .tolist()
    .map((v) => v.toFixed(3)),
  'b',
  p.b.item().toFixed(3),
);

// second derivative of sin is -sin
const d2 = kn.grad((x) => kn.sum(kn.grad((y) => kn.sum(kn.sin(y)))(x)))(kn.array([0.5]));
console.log('d²/dx² sin(0.5) =', d2.item().toFixed(6), 'expected', (-Math.sin(0.5)).toFixed(6));

// forward mode and per-example gradients
const [[th], [dth]] = kn.jvp((v) => kn.tanh(v), [kn.array([0, 1], 'float32')], [kn.ones([2])]);
console.log('tanh', th.tolist(), 'd tanh', dth.tolist());
const perExample = kn.vmap(
  kn.grad((w, xi, yi) => kn.sum(kn.square(kn.subtract(kn.matmul(xi, w), yi)))),
  [null, 0, 0],
);
console.log('per-example gradient shape', perExample(p.w, x.reshape([64, 1, 3]), y.reshape([64, 1, 1])).shape);
