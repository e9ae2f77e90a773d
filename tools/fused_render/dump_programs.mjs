// Compiles representative functions with kn.compile and writes every fused program the core
// registers (its words, one program per line) to the file named by argv[2]. Runs dist/ (build it
// with `npx tsc -p tsconfig.json`). See tools/fused_render/README.md.
import { writeFileSync } from 'node:fs';
import { native } from '../../dist/backends/native.js';
import * as kn from '../../dist/index.js';

const programs = [];
const compileProgram = native.compileProgram.bind(native);
native.compileProgram = (words) => {
  programs.push(Array.from(words, (w) => (Object.is(w, -0) ? '-0' : String(w))).join(','));
  return compileProgram(words);
};

const r = (shape, seed, dtype = 'float32') => kn.astype(kn.random.normal(shape, { key: kn.random.key(seed) }), dtype);
const ri = (shape, dtype) => kn.astype(kn.multiply(kn.random.normal(shape, { key: kn.random.key(7) }), 20), dtype);
const camel = (n) => (n === 'neg' ? 'negative' : n.replace(/_([a-z])/g, (_, c) => c.toUpperCase()));
const op = (n) => kn[camel(n)];
const run = (fn, ...args) => {
  const f = kn.compile(fn);
  const out = f(...args);
  kn.eval(out);
};

const U = [
  'neg',
  'abs',
  'sign',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'erf',
  'floor',
  'ceil',
  'round',
  'square',
  'reciprocal',
  'expm1',
  'log1p',
  'log2',
  'log10',
  'tan',
  'arcsin',
  'arccos',
  'arctan',
  'sinh',
  'cosh',
  'arcsinh',
  'arccosh',
  'arctanh',
  'erfinv',
  'trunc',
];
for (const dt of ['float32', 'float16', 'bfloat16', 'float64']) run((x) => U.reduce((acc, u) => kn.add(acc, op(u)(kn.multiply(x, 0.5))), x), r([4, 8], 1, dt));
const B = ['add', 'subtract', 'multiply', 'divide', 'power', 'maximum', 'minimum', 'remainder', 'floor_divide', 'logaddexp', 'arctan2'];
for (const dt of ['float32', 'float16', 'float64']) run((x, y) => B.reduce((acc, b) => kn.add(acc, op(b)(x, y)), x), r([4, 8], 2, dt), r([8], 3, dt));
const IB = [
  'add',
  'subtract',
  'multiply',
  'power',
  'maximum',
  'minimum',
  'remainder',
  'floor_divide',
  'bitwise_and',
  'bitwise_or',
  'bitwise_xor',
  'left_shift',
  'right_shift',
];
for (const dt of ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'])
  run(
    (x, y) =>
      kn.add(
        IB.reduce((acc, b) => kn.add(acc, op(b)(x, y)), kn.negative(kn.abs(x))),
        kn.square(kn.sign(y)),
      ),
    ri([4, 8], dt),
    ri([4, 8], dt),
  );
for (const dt of ['int8', 'uint16', 'int32', 'uint64'])
  run((x) => [kn.floor(kn.ceil(kn.round(kn.trunc(x)))), kn.isnan(x), kn.logicalNot(x), kn.prod(x, -1), kn.max(kn.astype(x, 'bool'), -1)], ri([4, 8], dt));
// predicates, where, casts
run(
  (x, y) => {
    const c = kn.logicalXor(kn.logicalOr(kn.less(x, y), kn.isnan(x)), kn.logicalAnd(kn.isinf(y), kn.isfinite(x)));
    const d = kn.logicalNot(kn.equal(kn.greaterEqual(x, y), kn.notEqual(x, y)));
    return kn.where(kn.logicalAnd(c, d), kn.astype(kn.astype(x, 'int32'), 'float32'), kn.astype(kn.astype(y, 'bfloat16'), 'float32'));
  },
  r([16], 4),
  r([16], 5),
);
run((x) => kn.astype(kn.add(kn.astype(x, 'float64'), 1), 'float16'), r([3, 5], 6));
run((x) => kn.add(kn.astype(kn.astype(x, 'uint8'), 'int64'), kn.astype(kn.astype(x, 'bool'), 'int64')), r([3, 5], 6));
run((x) => kn.bitwiseInvert(kn.astype(x, 'int16')), r([3, 5], 6));
run((x) => [kn.astype(x, 'uint32'), kn.astype(x, 'int8'), kn.astype(kn.astype(x, 'float64'), 'bfloat16'), kn.astype(x, 'bool')], r([3, 5], 6));
// reductions: softmax, rms norm, layer norm, logsumexp, argmax-free max/min/all/any, integer sums, mse
run((x) => kn.softmax(x, -1), r([8, 100], 4));
run((x) => kn.softmax(x, -1), r([8, 100], 4, 'bfloat16'));
run((x, w) => kn.multiply(kn.multiply(x, kn.rsqrt(kn.add(kn.mean(kn.square(x), -1, { keepdims: true }), 1e-5))), w), r([4, 32], 5), r([32], 6));
run((x) => kn.divide(kn.subtract(x, kn.mean(x, -1, { keepdims: true })), kn.sqrt(kn.add(kn.var(x, -1, { keepdims: true }), 1e-5))), r([4, 32], 7));
run((x, y) => kn.mean(kn.square(kn.subtract(x, y))), r([100, 10], 8), r([100, 10], 9));
run((x) => kn.logsumexp(x, [0, 2]), r([6, 5, 7], 3));
run((x) => [kn.max(kn.exp(x), 1), kn.min(x, 0), kn.all(kn.greater(x, -3)), kn.any(kn.less(x, -1), [0, 1]), kn.prod(kn.add(x, 1), -1)], r([5, 6, 4], 2));
run((x) => [kn.sum(kn.multiply(x, 3), -1), kn.max(x, 0)], ri([7, 9], 'int32'));
run(
  (x) => {
    const e = kn.exp(x);
    const y = kn.multiply(e, 2);
    return { e, y, s: kn.sum(y, -1) };
  },
  r([5, 9], 10),
);
run((x) => kn.sum(kn.multiply(kn.transpose(x), 2), -1), r([6, 9], 11));
run((x) => kn.sum(x, -1), r([6, 9], 11, 'float64'));

writeFileSync(process.argv[2] ?? 'programs.txt', programs.join('\n') + '\n');
console.log(`dump_programs: ${programs.length} programs -> ${process.argv[2] ?? 'programs.txt'}`);
