// Gradients and jvps of the elementwise ops against float64 central differences.
import { describe, expect, test } from 'vitest';
import * as kn from '../../index.js';
import { checkGrad, checkJvp, randomArray } from '../helpers/grad_check.js';
import { BINARY_NAMES, UNARY_NAMES } from '../helpers/catalog.js';
import { binaryPartials, unaryDerivative, unaryNoDerivative } from '../../ops/grad/elementwise.js';

type Fn = (...xs: kn.NDArray[]) => kn.NDArray;
const both = (f: Fn, args: kn.NDArray[]) => {
  checkGrad(f, args);
  checkJvp(f, args);
};
const values = (a: kn.NDArray) => Array.from(a.astype('float64').toTypedArray() as Float64Array, (v) => v + 0); // -0 reads as 0
const op = (name: string) => (kn as unknown as Record<string, Fn>)[name];

describe('unary', () => {
  // every unary op of the native catalog with a derivative (ops/grad/elementwise.ts), plus composites
  const names = [...Object.keys(unaryDerivative).map((c) => UNARY_NAMES.get(c)!), 'degrees', 'radians'];
  const range: Record<string, [number, number]> = {
    arcsin: [-0.9, 0.9],
    arccos: [-0.9, 0.9],
    arctanh: [-0.9, 0.9],
    erfinv: [-0.9, 0.9],
    log: [0.5, 2],
    log1p: [0.5, 2],
    log2: [0.5, 2],
    log10: [0.5, 2],
    sqrt: [0.5, 2],
    rsqrt: [0.5, 2],
    reciprocal: [0.5, 2],
    arccosh: [1.5, 3],
  };
  test.each(names)('%s', (name) => both((a) => op(name)(a), [randomArray([3, 4], 1, ...(range[name] ?? [-1, 1]))]));

  const piecewiseConstant = (reasons: Record<string, string>, names: ReadonlyMap<string, string>) =>
    Object.keys(reasons)
      .filter((c) => reasons[c].startsWith('piecewise constant'))
      .map((c) => names.get(c)!);
  test.each(piecewiseConstant(unaryNoDerivative, UNARY_NAMES))('%s has a zero gradient', (name) => {
    const x = randomArray([2, 5], 2, -3, 3);
    both((a) => kn.multiply(op(name)(a), a), [x]); // d(f(a)·a)/da = f(a) where f' = 0
    const g = kn.grad((a: kn.NDArray) => kn.sum(op(name)(a)))(x);
    expect(values(g)).toEqual(new Array(10).fill(0));
  });

  test('round with decimals, nanToNum, clip', () => {
    const x = randomArray([2, 5], 3, -3, 3);
    expect(values(kn.grad((a: kn.NDArray) => kn.sum(kn.round(a, 2)))(x))).toEqual(new Array(10).fill(0));
    both((a) => kn.nanToNum(kn.multiply(a, a)), [x]);
    both((a) => kn.clip(a, -1, 1.5), [x]);
    both((a) => kn.clip(a, null, 0.5), [x]);
    both((a, lo) => kn.clip(a, lo, 2), [x, randomArray([5], 4)]);
  });
});

describe('binary', () => {
  const a = randomArray([3, 4], 5, 0.5, 2),
    b = randomArray([3, 4], 6, -1, 1);
  // every binary op of the native catalog with partials (ops/grad/elementwise.ts)
  test.each(Object.keys(binaryPartials).map((c) => BINARY_NAMES.get(c)!))('%s', (name) => {
    both((p, q) => op(name)(p, q), [a, b]);
    // power of a negative base is real only for integer exponents (tested below)
    both((p, q) => op(name)(q, p), name === 'power' ? [a, randomArray([3, 4], 13, 0.5, 2)] : [a, b]);
  });

  test('broadcasting operands and scalars', () => {
    const col = randomArray([3, 1], 7),
      row = randomArray([1, 4], 8, 0.5, 1.5),
      s = randomArray([], 9);
    for (const name of ['add', 'subtract', 'multiply', 'divide', 'maximum', 'logaddexp']) {
      both((p, q) => op(name)(p, q), [col, row]);
      both((p, q) => op(name)(p, q), [s, row]);
    }
    both((p) => kn.power(p, 3), [b]); // negative base, integer exponent
    both((p) => kn.divide(2, p), [a]);
    both((p) => kn.subtract(1, kn.multiply(p, 2.5)), [b]);
  });

  test('floorDivide has a zero gradient', () => {
    const g = kn.grad((p: kn.NDArray, q: kn.NDArray) => kn.sum(kn.floorDivide(p, q)), { argnums: [0, 1] })(a, kn.add(b, 3)) as kn.NDArray[];
    expect(g.map(values)).toEqual([new Array(12).fill(0), new Array(12).fill(0)]);
  });

  test('maximum and minimum split ties evenly', () => {
    const p = kn.array([1, 2, 3], 'float64'),
      q = kn.array([1, 5, 3], 'float64');
    for (const f of [kn.maximum, kn.minimum]) {
      const [gp, gq] = kn.grad((x: kn.NDArray, y: kn.NDArray) => kn.sum(f(x, y)), { argnums: [0, 1] })(p, q) as kn.NDArray[];
      const win = f === kn.maximum ? [0, 1] : [1, 0];
      expect(values(gp)).toEqual([0.5, win[0], 0.5]);
      expect(values(gq)).toEqual([0.5, win[1], 0.5]);
    }
  });

  test('where routes the gradient to the chosen branch', () => {
    const c = kn.array([[true, false, true, false]]);
    both((p, q) => kn.where(c, p, q), [a, b]);
    both((p, q) => kn.where(kn.greater(p, 1), kn.exp(p), kn.multiply(q, p)), [a, b]);
    both((p) => kn.where(c, p, 0), [a]);
  });
});

describe('casts and dtypes', () => {
  test('astype between float dtypes passes the gradient in the input dtype', () => {
    const x = randomArray([4], 10);
    const w = kn.array([1, 2, 3, 4], 'float64');
    for (const dt of ['float32', 'float16', 'bfloat16'] as const) {
      const g = kn.grad((a: kn.NDArray) => kn.sum(kn.multiply(kn.astype(kn.astype(a, dt), 'float64'), w)))(x);
      expect(g.dtype).toBe('float64');
      expect(values(g)).toEqual([1, 2, 3, 4]);
    }
    const x32 = kn.array([0.5, -1], 'float32');
    const g32 = kn.grad((a: kn.NDArray) => kn.sum(kn.square(kn.astype(a, 'float64'))))(x32);
    expect(g32.dtype).toBe('float32');
    expect(values(g32)).toEqual([1, -2]);
    const [, [t]] = kn.jvp((a) => kn.astype(a, 'float32'), [x], [kn.onesLike(x)]);
    expect(t.dtype).toBe('float32');
    expect(values(t)).toEqual([1, 1, 1, 1]);
  });

  test('gradients of integer inputs are zeros', () => {
    const n = kn.array([1, 2, 3]);
    const g = kn.grad((a: kn.NDArray) => kn.sum(kn.multiply(kn.astype(a, 'float32'), 2)))(n);
    expect(g.dtype).toBe('int32');
    expect(g.tolist()).toEqual([0, 0, 0]);
    const [gi, gf] = kn.grad((a: kn.NDArray, f: kn.NDArray) => kn.sum(kn.multiply(a, f)), { argnums: [0, 1] })(
      n,
      kn.array([1, 1, 1], 'float64'),
    ) as kn.NDArray[];
    expect(gi.tolist()).toEqual([0, 0, 0]);
    expect(gf.tolist()).toEqual([1, 2, 3]);
    const gb = kn.grad((a: kn.NDArray) => kn.sum(kn.astype(a, 'float32')))(kn.array([true, false]));
    expect(gb.tolist()).toEqual([false, false]);
  });

  test('a non-float loss is an error', () => {
    const x = randomArray([3], 11);
    expect(() => kn.grad((a: kn.NDArray) => kn.sum(kn.astype(a, 'int32')))(x)).toThrow(/must be floating point.*int32/);
    expect(() => kn.grad((a: kn.NDArray) => kn.any(kn.greater(a, 0)))(x)).toThrow(/must be floating point.*bool/);
    expect(() => kn.grad((a: kn.NDArray) => kn.square(a))(x)).toThrow(/must return a scalar/);
  });

  test('comparisons and predicates stop the gradient', () => {
    const x = randomArray([5], 12);
    both((a) => kn.multiply(a, kn.astype(kn.greater(a, 0), 'float64')), [x]);
    both((a) => kn.where(kn.isnan(a), 0, kn.square(a)), [x]);
  });
});
