// kn.fast.rmsNorm and kn.fast.layerNorm: the native kernel and the composed fallback against a
// float64 reference, on every float dtype and layout, plus promotion, edge sizes and errors.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { RmsNorm, rmsNormArgs, rmsNormComposed } from '../../ops/fast/rms_norm.js';
import { LayerNorm, layerNormArgs, layerNormComposed } from '../../ops/fast/layer_norm.js';
import { FLOATS, LAYOUTS, expectClose, makeInput, rng, values, type Layout } from './helpers.js';
import { layerNormRef, rmsNormRef } from './reference.js';

const SHAPES = [
  [5, 33],
  [2, 3, 8],
  [4, 1],
  [3, 300],
];

/** weight/bias layouts: contiguous, a stride-0 broadcast of one value, every other element */
function affine(D: number, dtype: kn.DType, kind: 'contiguous' | 'broadcast' | 'sliced', seed: number) {
  const layout: Layout = kind === 'broadcast' ? 'contiguous' : kind;
  const one = makeInput(kind === 'broadcast' ? [1] : [D], dtype, layout, rng(seed), 1, 0.5);
  const arr = kind === 'broadcast' ? kn.broadcastTo(one.arr, [D]) : one.arr;
  return { arr, vals: values(arr) };
}

describe('rmsNorm', () => {
  for (const dtype of FLOATS)
    for (const layout of LAYOUTS)
      it(`${dtype} ${layout}: kernel and fallback match the float64 reference`, () => {
        SHAPES.forEach((shape, s) => {
          const x = makeInput(shape, dtype, layout, rng(s + 1), 2);
          const D = shape[shape.length - 1];
          for (const wk of [null, 'contiguous', 'broadcast', 'sliced'] as const) {
            const w = wk ? affine(D, dtype, wk, 7 + s) : null;
            const expected = rmsNormRef({ x: x.vals, shape, weight: w?.vals, eps: 1e-5 });
            const y = kn.fast.rmsNorm(x.arr, w?.arr ?? null, 1e-5);
            expect(y.node.primitive).toBe(RmsNorm);
            expect(y.dtype).toBe(dtype);
            expect(y.shape).toEqual(shape);
            const what = `${shape} weight ${wk}`;
            expectClose(y, expected, dtype, 4, 1, `kernel ${what}`);
            const a = rmsNormArgs(x.arr, w?.arr ?? null, 1e-5);
            const f = rmsNormComposed(a.x, a.weight, a.eps, a.out);
            expectClose(f, expected, dtype, 4, 1, `fallback ${what}`);
            expectClose(y, values(f), dtype, 2, 1, `kernel vs fallback ${what}`);
          }
        });
      });

  it('eps matters for small rows; rows of zeros give zeros', () => {
    const x = kn.array([
      [1e-3, -1e-3],
      [0, 0],
    ]);
    expectClose(kn.fast.rmsNorm(x, null, 1e-6), rmsNormRef({ x: values(x), shape: [2, 2], eps: 1e-6 }), 'float32');
    expect(kn.fast.rmsNorm(x, null, 1e-6).tolist()).toEqual([
      [expect.closeTo(0.7071, 3), expect.closeTo(-0.7071, 3)],
      [0, 0],
    ]);
  });

  it('result dtype follows x and weight (MLX result_type); integers compute in float32', () => {
    const x16 = kn.ones([2, 4], 'float16');
    expect(kn.fast.rmsNorm(x16, kn.ones([4], 'float32'), 1e-5).dtype).toBe('float32');
    expect(kn.fast.rmsNorm(x16, kn.ones([4], 'bfloat16'), 1e-5).dtype).toBe('float32');
    expect(kn.fast.rmsNorm(kn.ones([2, 4], 'bfloat16'), null, 1e-5).dtype).toBe('bfloat16');
    const xi = kn.array([[3, 4]]);
    const y = kn.fast.rmsNorm(xi, null, 0);
    expect(y.dtype).toBe('float32');
    expectClose(y, [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)], 'float32');
  });

  it('0-size inputs', () => {
    expect(kn.fast.rmsNorm(kn.zeros([0, 8]), kn.ones([8]), 1e-5).shape).toEqual([0, 8]);
    expect(kn.fast.rmsNorm(kn.zeros([3, 0], 'float16'), kn.ones([0], 'float16'), 1e-5).shape).toEqual([3, 0]);
    expect(kn.fast.rmsNorm(kn.zeros([2, 0, 4]), null, 1e-5).tolist()).toEqual([[], []]);
  });

  it('1-d input', () => {
    const x = kn.array([1, 2, 3, 4]);
    expectClose(kn.fast.rmsNorm(x, null, 0), rmsNormRef({ x: values(x), shape: [4], eps: 0 }), 'float32');
  });

  it('errors name the op and the values', () => {
    expect(() => kn.fast.rmsNorm(kn.ones([2, 4]), kn.ones([3]), 1e-5)).toThrow(/\[rmsNorm\] weight must have shape \[4\].*got \[3\]/);
    expect(() => kn.fast.rmsNorm(kn.ones([2, 4]), kn.ones([1, 4]), 1e-5)).toThrow(/\[rmsNorm\] weight must have shape \[4\]/);
    expect(() => kn.fast.rmsNorm(kn.array(1), null, 1e-5)).toThrow(/\[rmsNorm\] x must have at least one dimension/);
    expect(() => kn.fast.rmsNorm(kn.ones([2]), null, NaN)).toThrow(/\[rmsNorm\] eps must be a finite number, got NaN/);
    expect(() => kn.fast.rmsNorm(kn.ones([2]), null, -1)).toThrow(/\[rmsNorm\] eps must be >= 0, got -1/);
    expect(() => kn.fast.rmsNorm(kn.ones([2]), null, '1' as unknown as number)).toThrow(TypeError);
    expect(() => kn.fast.rmsNorm(undefined as unknown as kn.NDArray, null, 1e-5)).toThrow(/\[rmsNorm\] x must be an array/);
  });
});

describe('layerNorm', () => {
  for (const dtype of FLOATS)
    for (const layout of LAYOUTS)
      it(`${dtype} ${layout}: kernel and fallback match the float64 reference`, () => {
        SHAPES.forEach((shape, s) => {
          // a large mean: the variance must not cancel
          const x = makeInput(shape, dtype, layout, rng(s + 11), 1, 30);
          const D = shape[shape.length - 1];
          const combos = [
            [null, null],
            ['contiguous', 'contiguous'],
            ['broadcast', null],
            [null, 'sliced'],
            ['sliced', 'broadcast'],
          ] as const;
          for (const [wk, bk] of combos) {
            const w = wk ? affine(D, dtype, wk, 5 + s) : null;
            const b = bk ? affine(D, dtype, bk, 9 + s) : null;
            const expected = layerNormRef({ x: x.vals, shape, weight: w?.vals, bias: b?.vals, eps: 1e-5 });
            const y = kn.fast.layerNorm(x.arr, w?.arr ?? null, b?.arr ?? null, 1e-5);
            expect(y.node.primitive).toBe(LayerNorm);
            expect(y.dtype).toBe(dtype);
            const what = `${shape} weight ${wk} bias ${bk}`;
            // float32 centring loses |mean| / std ≈ 30 units of roundoff to the rounded mean
            const ulps = dtype === 'float32' ? 64 : 6;
            expectClose(y, expected, dtype, ulps, 1, `kernel ${what}`);
            const a = layerNormArgs(x.arr, w?.arr ?? null, b?.arr ?? null, 1e-5);
            const f = layerNormComposed(a.x, a.weight, a.bias, a.eps, a.out);
            expectClose(f, expected, dtype, ulps, 1, `fallback ${what}`);
            expectClose(y, values(f), dtype, 2 * ulps, 1, `kernel vs fallback ${what}`);
          }
        });
      });

  it('normalises to zero mean and unit variance', () => {
    const y = values(kn.fast.layerNorm(kn.array([[1, 2, 3, 4, 5]], 'float64'), null, null, 0));
    expect(y.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 12);
    expect(y.reduce((a, b) => a + b * b, 0) / 5).toBeCloseTo(1, 12);
  });

  it('result dtype and 0-size inputs', () => {
    expect(kn.fast.layerNorm(kn.ones([2, 4], 'float16'), null, kn.zeros([4], 'float32'), 1e-5).dtype).toBe('float32');
    expect(kn.fast.layerNorm(kn.ones([2, 4], 'bfloat16'), kn.ones([4], 'bfloat16'), null, 1e-5).dtype).toBe('bfloat16');
    expect(kn.fast.layerNorm(kn.zeros([0, 4]), kn.ones([4]), kn.ones([4]), 1e-5).shape).toEqual([0, 4]);
    expect(kn.fast.layerNorm(kn.zeros([2, 0]), null, null, 1e-5).shape).toEqual([2, 0]);
  });

  it('errors name the op and the values', () => {
    expect(() => kn.fast.layerNorm(kn.ones([2, 4]), null, kn.ones([5]), 1e-5)).toThrow(/\[layerNorm\] bias must have shape \[4\].*got \[5\]/);
    expect(() => kn.fast.layerNorm(kn.ones([2, 4]), kn.ones([2, 2]), null, 1e-5)).toThrow(/\[layerNorm\] weight must have shape \[4\]/);
    expect(() => kn.fast.layerNorm(kn.array(2), null, null, 1e-5)).toThrow(/\[layerNorm\] x must have at least one dimension/);
    expect(() => kn.fast.layerNorm(kn.ones([2]), null, null, Infinity)).toThrow(/\[layerNorm\] eps must be a finite number/);
  });
});
