// matmul kernel (matmul.cc): every non-bool dtype × operand layouts (transposed, sliced,
// negative steps, broadcast views), batching with broadcast, 1-d operands, empty and k = 0.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import * as R from './reference.js';
import {
  DTYPES,
  broadcast,
  contiguous,
  expectMatches,
  genValues,
  mulberry32,
  nbytesOf,
  negstep,
  poison,
  runCase,
  seedOf,
  sliced,
  transposed,
  type DType,
  type Domain,
  type Layout,
} from './util.js';

const DOM: Domain = { lo: -2, hi: 2, specials: [], extremes: true, specialRate: 0.1, ilo: -9, ihi: 9 };
const MM_DTYPES = DTYPES.filter((d) => d !== 'bool');

/** An operand layout: a builder for the logical shape. */
type Make = (shape: number[]) => Layout;
const C: Make = (s) => contiguous(s);
const T: Make = (s) => transposed(s);
const Sl: Make = (s) => sliced(s);
const N: Make = (s) => negstep(s);

const CONFIGS: [name: string, a: Layout, b: Layout][] = [
  ['[3,4] @ [4,5] contiguous', C([3, 4]), C([4, 5])],
  ['a transposed', T([3, 4]), C([4, 5])],
  ['b transposed', C([3, 4]), T([4, 5])],
  ['both transposed', T([5, 7]), T([7, 6])],
  ['a sliced, b negative steps', Sl([4, 6]), N([6, 3])],
  ['batched [2,3,4] @ [2,4,5]', C([2, 3, 4]), C([2, 4, 5])],
  ['batched, transposed 3-d operands', T([2, 3, 4]), T([2, 4, 5])],
  ['batch broadcast [2,1,3,4] @ [5,4,2]', C([2, 1, 3, 4]), C([5, 4, 2])],
  ['broadcast view operand (stride 0)', broadcast([3, 4, 5], [4, 5]), C([3, 5, 2])],
  ['2-d @ 3-d (batch from b)', Sl([3, 4]), C([2, 4, 6])],
  ['1-d @ 2-d', C([4]), C([4, 5])],
  ['2-d @ 1-d', T([3, 4]), N([4])],
  ['1-d @ 1-d (0-d result)', Sl([7]), C([7])],
  ['1-d @ 3-d', C([4]), C([2, 4, 3])],
  ['k = 0 (zeros)', C([3, 0]), C([0, 5])],
  ['m = 0', C([0, 4]), C([4, 5])],
  ['empty batch', C([2, 0, 3, 4]), C([4, 2])],
  ['odd sizes [17,33] @ [33,9], both transposed', T([17, 33]), T([33, 9])],
  ['tall transposed a [24,6] @ [6,10]', T([24, 6]), C([6, 10])],
  ['sliced tall a [20,5] @ negative-step b [5,19]', Sl([20, 5]), N([5, 19])],
  ['vector-like [1,64] @ [64,40]', C([1, 64]), C([64, 40])],
  ['matrix-vector [40,64] @ [64,1]', T([40, 64]), C([64, 1])],
];

const CASES = MM_DTYPES.flatMap((d) => CONFIGS.map((c) => [d, c[0]] as [DType, string]));

describe('matmul on every dtype and layout', () => {
  it.each(CASES)('%s %s', (d, name) => {
    const [, la, lb] = CONFIGS.find((c) => c[0] === name)!;
    runCase(() => {
      const rng = mulberry32(seedOf('matmul', d, name));
      const A = la.build(d, (n) => genValues(d, n, rng, DOM));
      const B = lb.build(d, (n) => genValues(d, n, rng, DOM));
      const exp = R.matmulRef(A.ref, B.ref);
      kn.eval(A.x, B.x);
      poison(nbytesOf(exp.dtype, exp.shape));
      expectMatches(kn.matmul(A.x, B.x), exp, { acc: 'arith' });
    });
  });
});

describe('matmul on mixed dtypes', () => {
  const pairs: [DType, DType][] = [
    ['int8', 'float16'],
    ['float16', 'bfloat16'],
    ['int32', 'uint8'],
    ['uint64', 'int16'],
    ['float32', 'float64'],
    ['bool', 'int8'],
    ['bfloat16', 'float32'],
    ['uint8', 'int8'],
  ];
  it.each(pairs)('%s @ %s', (da, db) => {
    runCase(() => {
      const rng = mulberry32(seedOf('mmmixed', da, db));
      const A = transposed([3, 4]).build(da, (n) => genValues(da, n, rng, DOM));
      const B = sliced([4, 5]).build(db, (n) => genValues(db, n, rng, DOM));
      const exp = R.matmulRef(A.ref, B.ref);
      kn.eval(A.x, B.x);
      poison(nbytesOf(exp.dtype, exp.shape));
      expectMatches(kn.matmul(A.x, B.x), exp, { acc: 'arith' });
    });
  });
});

describe('matmul: large inputs (blocking, packing and threads)', () => {
  it.each([
    ['float32', [96, 200], [200, 160], false, false],
    ['float32', [130, 67], [67, 129], true, true],
    ['float64', [64, 100], [100, 72], true, false],
    ['float16', [64, 128], [128, 64], false, true],
    ['bfloat16', [48, 96], [96, 40], false, false],
    ['int32', [40, 50], [50, 30], false, true],
    ['float32', [4, 64, 64], [4, 64, 64], false, false],
    ['float32', [1, 512], [512, 300], false, true],
  ] as [DType, number[], number[], boolean, boolean][])('%s %j @ %j (a transposed: %s, b transposed: %s)', (d, sa, sb, ta, tb) => {
    runCase(() => {
      const rng = mulberry32(seedOf('bigmm', d, sa.join(), sb.join(), String(ta), String(tb)));
      const dom: Domain = { lo: -1, hi: 1, specials: [], ilo: -5, ihi: 5 };
      const A = (ta ? transposed(sa) : contiguous(sa)).build(d, (n) => genValues(d, n, rng, dom));
      const B = (tb ? transposed(sb) : contiguous(sb)).build(d, (n) => genValues(d, n, rng, dom));
      const exp = R.matmulRef(A.ref, B.ref);
      kn.eval(A.x, B.x);
      poison(nbytesOf(exp.dtype, exp.shape));
      expectMatches(kn.matmul(A.x, B.x), exp, { acc: 'arith' });
    });
  });
});

describe('matmul: special values and method', () => {
  it('NaN and inf propagate', () => {
    const a = kn.array(
      [
        [NaN, 1],
        [Infinity, 0],
        [1, 1],
      ],
      'float32',
    );
    const b = kn.array(
      [
        [1, 2],
        [3, 4],
      ],
      'float32',
    );
    expect(kn.matmul(a, b).tolist()).toEqual([
      [NaN, NaN],
      [Infinity, Infinity],
      [4, 6],
    ]);
  });
  it('a.matmul(b)', () => {
    expect(
      kn
        .array([[1, 2]], 'int32')
        .matmul(kn.array([[3], [4]], 'int32'))
        .tolist(),
    ).toEqual([[11]]);
  });
  it('integer matmul wraps in the dtype', () => {
    expect(kn.matmul(kn.array([[100, 100]], 'int8'), kn.array([[2], [1]], 'int8')).tolist()).toEqual([[44]]);
  });
});

describe('matmul errors', () => {
  it('inner dimensions differ', () => {
    expect(() => kn.matmul(kn.ones([2, 3]), kn.ones([4, 2]))).toThrow(/\[matmul\] inner dimensions differ: \[2, 3\] @ \[4, 2\]/);
    expect(() => kn.matmul(kn.ones([3]), kn.ones([4]))).toThrow(/\[matmul\] inner dimensions/);
  });
  it('0-d operands', () => {
    expect(() => kn.matmul(kn.array(2), kn.ones([2]))).toThrow(/\[matmul\].*at least one dimension/);
  });
  it('bool operands', () => {
    expect(() => kn.matmul(kn.array([[true]]), kn.array([[false]]))).toThrow(/\[matmul\] bool/);
  });
  it('batch dimensions that do not broadcast', () => {
    expect(() => kn.matmul(kn.ones([2, 3, 4]), kn.ones([3, 4, 5]))).toThrow(/\[matmul\].*broadcast/);
  });
});
