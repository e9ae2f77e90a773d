// binary kernel family (binary.cc): every op × every dtype × every layout (both operands in it,
// mixed layouts, numpy broadcasting, 0-d operands, weak JS scalars on either side).
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import * as R from './reference.js';
import {
  DTYPES,
  LAYOUTS,
  contiguous,
  expectMatches,
  fromVals,
  genValues,
  mulberry32,
  nbytesOf,
  negstep,
  poison,
  runCase,
  seedOf,
  showInputs,
  sliced,
  transposed,
  zeroD,
  type DType,
  type Domain,
  type Layout,
} from './util.js';
import { domainsOf } from './domains.js';

/** A JS scalar operand suitable for op on dtype d (and the side it goes on). */
function scalarFor(op: string, d: DType, side: 'left' | 'right', float: boolean): number | boolean {
  if (d === 'bool' && !float) return true;
  const kind = R.BINARY[op].kind;
  if (kind === 'shift') return side === 'right' ? 3 : 5;
  if (op === 'power') return side === 'right' ? (float ? 1.5 : 2) : float ? 1.5 : 2;
  if (float) return side === 'right' ? 1.5 : -2.5;
  return side === 'right' ? 3 : -3;
}

const fn = (op: string) => (kn as unknown as Record<string, (a: kn.Operand, b: kn.Operand) => kn.NDArray>)[op];
const OPS = Object.keys(R.BINARY);

function rejects(op: string, d: DType): boolean {
  try {
    R.binaryDTypes(op, d);
    return false;
  } catch (e) {
    if (e instanceof R.RefTypeError) return true;
    throw e;
  }
}

/** Pairs of layouts: same layout on both sides, then mixed and broadcasting pairs. */
interface Pair {
  name: string;
  a: Layout | 'scalar';
  b: Layout | 'scalar';
  /** for scalar pairs: a float scalar rather than an integer one */
  floatScalar?: boolean;
}
const PAIRS: Pair[] = [
  ...LAYOUTS.map((l) => ({ name: `${l.name} (both)`, a: l, b: l })),
  { name: 'transposed with negative steps', a: transposed([5, 6]), b: negstep([5, 6]) },
  { name: 'broadcast [4,1,6] with sliced [5,1]', a: contiguous([4, 1, 6]), b: sliced([5, 1]) },
  { name: '0-d with transposed', a: zeroD(), b: transposed([5, 6]) },
  { name: 'array op int scalar', a: contiguous([3, 4, 5]), b: 'scalar' },
  { name: 'int scalar op array', a: 'scalar', b: transposed([5, 6]) },
  { name: 'array op float scalar', a: sliced([4, 7]), b: 'scalar', floatScalar: true },
];

// power of signed integers to negative exponents is an error in numpy; those domains exclude it
const CASES = OPS.flatMap((op) => DTYPES.filter((d) => !rejects(op, d)).flatMap((d) => PAIRS.map((p) => [op, d, p.name] as [string, DType, string])));
const REJECTED = OPS.flatMap((op) => DTYPES.filter((d) => rejects(op, d)).map((d) => [op, d] as [string, DType]));

function buildOperand(l: Layout | 'scalar', op: string, d: DType, side: 'left' | 'right', rng: () => number, dom: Domain, float: boolean, copyFrom?: R.RArray) {
  if (l === 'scalar') {
    const s = scalarFor(op, d, side, float);
    return { x: s, ref: s };
  }
  return l.build(d, (n) => {
    const v = genValues(d, n, rng, dom);
    // equal values make comparisons, maximum/minimum ties and x op x cases interesting
    if (copyFrom && copyFrom.data.length === n && !(op === 'power' || R.BINARY[op].kind === 'shift')) for (let i = 0; i < n; i += 4) v[i] = copyFrom.data[i];
    return v;
  });
}

describe('binary ops on every dtype and layout', () => {
  it.each(CASES)('%s %s %s', (op, d, pairName) => {
    const pair = PAIRS.find((p) => p.name === pairName)!;
    runCase(() => {
      const rng = mulberry32(seedOf('binary', op, d, pairName));
      const [da, db] = domainsOf(op);
      const fl = pair.floatScalar ?? false;
      const A = buildOperand(pair.a, op, d, 'left', rng, da, fl);
      const B = buildOperand(pair.b, op, d, 'right', rng, db, fl, typeof A.ref === 'object' ? A.ref : undefined);
      let exp: R.RArray;
      try {
        exp = R.binaryRef(op, A.ref, B.ref);
      } catch (e) {
        // e.g. a float scalar meeting a bitwise op: kiln must reject it too
        if (!(e instanceof R.RefTypeError)) throw e;
        expect(() => fn(op)(A.x, B.x)).toThrow(new RegExp(`\\[${op}\\]`));
        return;
      }
      kn.eval([A.x, B.x].filter((v): v is kn.NDArray => typeof v === 'object'));
      poison(nbytesOf(exp.dtype, exp.shape));
      const y = fn(op)(A.x, B.x);
      const refs = [A.ref, B.ref].map((r) => (typeof r === 'object' ? r : R.make(R.scalarDType(r), [], [typeof r === 'boolean' ? (r ? 1 : 0) : r])));
      expectMatches(y, exp, { acc: R.BINARY[op].acc, inputs: showInputs(exp.shape, ...refs) });
    });
  });
});

describe('binary ops reject unsupported dtypes with a clear error', () => {
  it.each(REJECTED)('%s %s', (op, d) => {
    runCase(() => {
      const x = kn.array([1, 0], d);
      expect(() => fn(op)(x, x)).toThrow(TypeError);
      expect(() => fn(op)(x, x)).toThrow(new RegExp(`\\[${op}\\]`));
    });
  });
});

describe('binary ops on mixed dtypes (promotion, then the kernel)', () => {
  const pairs: [DType, DType][] = [
    ['int8', 'uint8'],
    ['uint16', 'int16'],
    ['uint32', 'int8'],
    ['uint64', 'int32'],
    ['float16', 'bfloat16'],
    ['bool', 'int8'],
    ['int32', 'float16'],
    ['uint8', 'float32'],
    ['int64', 'float64'],
    ['bfloat16', 'float32'],
    ['bool', 'float16'],
    ['int16', 'int64'],
  ];
  const ops = ['add', 'subtract', 'multiply', 'divide', 'maximum', 'less', 'equal', 'floorDivide', 'remainder', 'power', 'bitwiseXor', 'leftShift'];
  const cases = ops.flatMap((op) => pairs.map(([a, b]) => [op, a, b] as [string, DType, DType]));
  it.each(cases)('%s %s %s', (op, da, db) => {
    runCase(() => {
      const rng = mulberry32(seedOf('mixed', op, da, db));
      const [doma, domb] = domainsOf(op);
      const noNeg = op === 'power' || op === 'leftShift';
      const A = transposed([4, 5]).build(da, (n) => genValues(da, n, rng, doma));
      const B = sliced([4, 5]).build(db, (n) => genValues(db, n, rng, noNeg ? { ...domb, lo: 0, ilo: 0, extremes: false } : domb));
      let exp: R.RArray;
      try {
        exp = R.binaryRef(op, A.ref, B.ref);
      } catch (e) {
        if (!(e instanceof R.RefTypeError)) throw e;
        expect(() => fn(op)(A.x, B.x)).toThrow(new RegExp(`\\[${op}\\]`));
        return;
      }
      kn.eval(A.x, B.x);
      poison(nbytesOf(exp.dtype, exp.shape));
      expectMatches(fn(op)(A.x, B.x), exp, { acc: R.BINARY[op].acc, inputs: showInputs(exp.shape, A.ref, B.ref) });
    });
  });
});

describe('binary: numpy edge semantics', () => {
  const v = (a: kn.NDArray) => a.tolist();
  it('integer division and remainder by zero give 0; MIN // -1 wraps', () => {
    expect(v(kn.floorDivide(kn.array([5, -5, 0], 'int32'), kn.array([0, 0, 0], 'int32')))).toEqual([0, 0, 0]);
    expect(v(kn.remainder(kn.array([5, -5, 0], 'int8'), kn.array([0, 0, 0], 'int8')))).toEqual([0, 0, 0]);
    expect(v(kn.floorDivide(kn.array([-128], 'int8'), kn.array([-1], 'int8')))).toEqual([-128]);
    expect(v(kn.remainder(kn.array([-128], 'int8'), kn.array([-1], 'int8')))).toEqual([0]);
    expect(v(kn.floorDivide(kn.array([-(2 ** 31)], 'int32'), kn.array([-1], 'int32')))).toEqual([-(2 ** 31)]);
    expect(kn.floorDivide(kn.array([-(2n ** 63n)], 'int64'), kn.array([-1n], 'int64')).toTypedArray()).toEqual(new BigInt64Array([-(2n ** 63n)]));
  });
  it('floor division and remainder signs follow the divisor (Python)', () => {
    expect(v(kn.floorDivide(kn.array([7, -7, 7, -7], 'int16'), kn.array([2, 2, -2, -2], 'int16')))).toEqual([3, -4, -4, 3]);
    expect(v(kn.remainder(kn.array([7, -7, 7, -7], 'int16'), kn.array([2, 2, -2, -2], 'int16')))).toEqual([1, 1, -1, -1]);
    expect(v(kn.remainder(kn.array([7.5, -7.5, 7.5, -7.5], 'float32'), kn.array([2, 2, -2, -2], 'float32')))).toEqual([1.5, 0.5, -0.5, -1.5]);
  });
  it('float floor division uses fmod (numpy: 1 // 0.1 == 9)', () => {
    expect(v(kn.floorDivide(kn.array([1], 'float64'), kn.array([0.1], 'float64')))).toEqual([9]);
    expect((v(kn.remainder(kn.array([1], 'float64'), kn.array([0.1], 'float64'))) as number[])[0]).toBeCloseTo(0.09999999999999995, 15);
  });
  it('float remainder and floor division with zeros and infinities', () => {
    const a = kn.array([1, -1, 1, -1, Infinity, 0, -0], 'float64');
    const b = kn.array([0, Infinity, -Infinity, -Infinity, 2, -2, 2], 'float64');
    const r = kn.remainder(a, b).toTypedArray() as Float64Array;
    expect(Array.from(r)).toEqual([NaN, Infinity, -Infinity, -1, NaN, -0, 0]);
    expect(Object.is(r[5], -0)).toBe(true);
    const q = kn.floorDivide(a, b).toTypedArray() as Float64Array;
    expect(Array.from(q)).toEqual([Infinity, -1, -1, 0, NaN, -0, -0]);
  });
  it('shifts by >= the width give 0 (right shift of a negative: -1)', () => {
    expect(v(kn.leftShift(kn.array([1, 1, 3], 'int8'), kn.array([7, 8, 100], 'int8')))).toEqual([-128, 0, 0]);
    expect(v(kn.rightShift(kn.array([-5, 5, -128], 'int8'), kn.array([8, 8, 7], 'int8')))).toEqual([-1, 0, -1]);
    expect(v(kn.leftShift(kn.array([1], 'uint32'), kn.array([32], 'uint32')))).toEqual([0]);
    expect(v(kn.rightShift(kn.array([2 ** 32 - 1], 'uint32'), kn.array([32], 'uint32')))).toEqual([0]);
    expect(kn.leftShift(kn.array([1n], 'int64'), kn.array([64n], 'int64')).toTypedArray()).toEqual(new BigInt64Array([0n]));
    expect(kn.rightShift(kn.array([-1n], 'int64'), kn.array([64n], 'int64')).toTypedArray()).toEqual(new BigInt64Array([-1n]));
  });
  it('shifts by a negative amount (numpy: left -> 0, right -> 0 or -1)', () => {
    expect(v(kn.leftShift(kn.array([1, -3], 'int32'), kn.array([-1, -1], 'int32')))).toEqual([0, 0]);
    expect(v(kn.rightShift(kn.array([16, -16], 'int32'), kn.array([-1, -1], 'int32')))).toEqual([0, -1]);
  });
  it('integer power wraps; 0 ** 0 == 1', () => {
    expect(v(kn.power(kn.array([3, 0, -2, 2], 'int32'), kn.array([21, 0, 3, 31], 'int32')))).toEqual([1870418611, 1, -8, -2147483648]);
    expect(v(kn.power(kn.array([3], 'uint8'), kn.array([5], 'uint8')))).toEqual([243]);
    expect(v(kn.power(kn.array([3], 'int8'), kn.array([5], 'int8')))).toEqual([-13]);
  });
  it('float power follows C pow: pow(1, NaN) = 1, pow(NaN, 0) = 1, pow(-1, inf) = 1', () => {
    expect(v(kn.power(kn.array([1, NaN, -1, -8, 0, 0], 'float64'), kn.array([NaN, 0, Infinity, 1 / 3, -1, 0], 'float64')))).toEqual([
      1,
      1,
      1,
      NaN,
      Infinity,
      1,
    ]);
    expect(v(kn.power(kn.array([1, NaN, -1], 'float32'), kn.array([NaN, 0, -Infinity], 'float32')))).toEqual([1, 1, 1]);
  });
  it('maximum and minimum propagate NaN from either side', () => {
    expect(v(kn.maximum(kn.array([NaN, 1, 2], 'float32'), kn.array([1, NaN, 1], 'float32')))).toEqual([NaN, NaN, 2]);
    expect(v(kn.minimum(kn.array([NaN, 1, 2], 'float16'), kn.array([1, NaN, 1], 'float16')))).toEqual([NaN, NaN, 1]);
  });
  it('logaddexp of infinities', () => {
    expect(v(kn.logaddexp(kn.array([-Infinity, Infinity, Infinity, NaN], 'float64'), kn.array([-Infinity, -Infinity, Infinity, 1], 'float64')))).toEqual([
      -Infinity,
      Infinity,
      Infinity,
      NaN,
    ]);
  });
  it('arctan2 of signed zeros and infinities', () => {
    const r = kn.arctan2(kn.array([0, -0, 0, -0, Infinity, -Infinity], 'float64'), kn.array([0, 0, -0, -0, Infinity, -Infinity], 'float64'));
    const exp = [Math.atan2(0, 0), Math.atan2(-0, 0), Math.atan2(0, -0), Math.atan2(-0, -0), Math.atan2(Infinity, Infinity), Math.atan2(-Infinity, -Infinity)];
    Array.from(r.toTypedArray() as Float64Array).forEach((g, i) => expect(Object.is(g, exp[i]) || Math.abs(g - exp[i]) < 1e-15).toBe(true));
  });
  it('comparisons with NaN', () => {
    const a = kn.array([NaN, NaN, 1], 'float32'),
      b = kn.array([NaN, 1, NaN], 'float32');
    expect(v(kn.equal(a, b))).toEqual([false, false, false]);
    expect(v(kn.notEqual(a, b))).toEqual([true, true, true]);
    expect(v(kn.less(a, b))).toEqual([false, false, false]);
    expect(v(kn.greaterEqual(a, b))).toEqual([false, false, false]);
  });
  it('logical ops treat NaN as true', () => {
    expect(v(kn.logicalAnd(kn.array([NaN, 0, -0], 'float32'), kn.array([1, 1, 1], 'float32')))).toEqual([true, false, false]);
  });
  it('bool arithmetic: add is or, multiply is and, power/floorDivide compute in int8', () => {
    const a = kn.array([true, true, false, false]),
      b = kn.array([true, false, true, false]);
    expect(v(kn.add(a, b))).toEqual([true, true, true, false]);
    expect(v(kn.multiply(a, b))).toEqual([true, false, false, false]);
    expect(kn.power(a, b).dtype).toBe('int8');
    expect(v(kn.power(a, b))).toEqual([1, 1, 0, 1]);
    expect(v(kn.floorDivide(a, b))).toEqual([1, 0, 0, 0]);
  });
});

describe('binary: large inputs (multi-threaded paths)', () => {
  it.each([
    ['add', 'float32'],
    ['multiply', 'float16'],
    ['subtract', 'int32'],
    ['maximum', 'bfloat16'],
    ['less', 'float64'],
    ['floorDivide', 'int16'],
  ] as [string, DType][])('%s %s: [400, 250] contiguous, transposed, broadcast row/column', (op, d) => {
    runCase(() => {
      const rng = mulberry32(seedOf('bigbinary', op, d));
      const [da, db] = domainsOf(op);
      const g = (dom: Domain) => (n: number) => genValues(d, n, rng, { ...dom, specialRate: 0.01 });
      const configs: [Layout, Layout][] = [
        [contiguous([400, 250]), contiguous([400, 250])],
        [contiguous([400, 250]), contiguous([250])],
        [transposed([400, 250]), contiguous([400, 1])],
      ];
      for (const [la, lb] of configs) {
        const A = la.build(d, g(da)),
          B = lb.build(d, g(db));
        const exp = R.binaryRef(op, A.ref, B.ref);
        kn.eval(A.x, B.x);
        poison(nbytesOf(exp.dtype, exp.shape));
        expectMatches(fn(op)(A.x, B.x), exp, { acc: R.BINARY[op].acc, inputs: showInputs(exp.shape, A.ref, B.ref) });
      }
    });
  });
});

describe('binary: evaluation modes give the same result', () => {
  it('evalAsync (worker thread) matches eval', async () => {
    const rng = mulberry32(11);
    const A = transposed([40, 30]).build('float32', (n) => genValues('float32', n, rng));
    const B = contiguous([30]).build('float32', (n) => genValues('float32', n, rng));
    const exp = R.binaryRef('multiply', A.ref, B.ref);
    const y = kn.multiply(A.x, B.x);
    await kn.evalAsync(y);
    expectMatches(y, exp, { acc: 'arith' });
    kn.dispose(A.x, B.x, y);
  });
  it('one thread and all threads agree (large broadcast add)', () => {
    runCase(() => {
      const rng = mulberry32(12);
      const A = transposed([300, 200]).build('float32', (n) => genValues('float32', n, rng));
      const B = contiguous([300, 1]).build('float32', (n) => genValues('float32', n, rng));
      const exp = R.binaryRef('add', A.ref, B.ref);
      kn.setNumThreads(1);
      try {
        expectMatches(kn.add(A.x, B.x), exp, { acc: 'arith' });
      } finally {
        kn.setNumThreads(0);
      }
      expectMatches(kn.add(A.x, B.x), exp, { acc: 'arith' });
    });
  });
});

describe('binary: methods exist', () => {
  // numpy has no arctan2 method (DESIGN.md §6: methods only where numpy has them)
  const names = OPS.filter((m) => m !== 'arctan2');
  it.each(names)('a.%s(b)', (m) => {
    runCase(() => {
      const a = kn.array([6, 3, 4], 'int32'),
        b = kn.array([1, 2, 3], 'int32');
      const method = (a as unknown as Record<string, (b: kn.Operand) => kn.NDArray>)[m];
      expect(typeof method).toBe('function');
      expect(method.call(a, b).tolist()).toEqual(fn(m)(a, b).tolist());
    });
  });
  it('fromVals round-trips', () => {
    expect(fromVals('int8', [2], [1, -1]).tolist()).toEqual([1, -1]);
  });
});
