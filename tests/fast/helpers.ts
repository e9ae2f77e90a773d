// Inputs in several memory layouts, with the exact values they hold, and tolerant comparison
// with a float64 reference.
import { expect } from 'vitest';
import * as kn from '../../index.js';

export const FLOATS = ['float32', 'float16', 'bfloat16', 'float64'] as const;
export type FloatDType = (typeof FLOATS)[number];

/** Seeded uniform numbers in [0, 1): the suites' shared PRNG. */
export { mulberry32 as rng } from '../helpers/rng.js';

/** Roughly normal values (sum of uniforms) scaled by `scale`. */
export function normals(n: number, rand: () => number, scale = 1, shift = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() + rand() + rand() - 1.5) * 2 * scale + shift;
  return out;
}

export type Layout = 'contiguous' | 'transposed' | 'sliced' | 'flipped' | 'broadcast';
export const LAYOUTS: Layout[] = ['contiguous', 'transposed', 'sliced', 'flipped', 'broadcast'];

export interface Input {
  arr: kn.NDArray;
  /** the logical values the array holds (after rounding to its dtype), row-major */
  vals: Float64Array;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * An array of `shape` and `dtype` viewed through `layout`: the transpose of a contiguous array
 * (last axis strided), every other element of a larger one (offset and steps), a flip of the last
 * axis (negative stride), or a broadcast of its first axis (stride 0).
 */
export function makeInput(shape: readonly number[], dtype: kn.DType, layout: Layout, rand: () => number, scale = 1, shift = 0): Input {
  const nd = shape.length;
  let arr: kn.NDArray;
  const gen = (s: readonly number[]) =>
    kn
      .array(normals(prod(s), rand, scale, shift), 'float64')
      .reshape([...s])
      .astype(dtype);
  switch (layout) {
    case 'contiguous':
      arr = gen(shape);
      break;
    case 'transposed':
      arr = kn.transpose(gen([...shape].reverse()));
      break;
    case 'sliced': {
      const base = gen(shape.map((d) => 2 * d + 1));
      arr = kn.slice(
        base,
        shape.map((d) => ({ start: 1, stop: 2 * d + 1, step: 2 })),
      );
      break;
    }
    case 'flipped':
      arr = kn.flip(gen(shape), nd - 1);
      break;
    case 'broadcast':
      arr = kn.broadcastTo(gen([1, ...shape.slice(1)]), [...shape]);
      break;
  }
  const vals = arr.astype('float64').toTypedArray() as Float64Array;
  return { arr, vals };
}

/** Unit roundoff of each dtype (half an ulp at 1). */
export const EPS: Record<FloatDType, number> = { float16: 2 ** -11, bfloat16: 2 ** -8, float32: 2 ** -24, float64: 2 ** -53 };

/**
 * |actual - expected| <= tol * (|expected| + floor) elementwise (NaN must match NaN); tol is
 * `ulps` units of roundoff of the dtype (plus float32 compute error for narrow dtypes).
 */
export function expectClose(actual: kn.NDArray, expected: ArrayLike<number>, dtype: kn.DType, ulps = 4, floor = 1, what = ''): void {
  const got = actual.astype('float64').toTypedArray() as Float64Array;
  expect(got.length, `${what} length`).toBe(expected.length);
  const eps = EPS[dtype as FloatDType] ?? EPS.float32;
  const tol = ulps * Math.max(eps, dtype === 'float64' ? eps * 1024 : 2 ** -22);
  let worst = 0,
    at = -1;
  for (let i = 0; i < got.length; i++) {
    const e = expected[i],
      g = got[i];
    if (Number.isNaN(e) || Number.isNaN(g)) {
      if (!(Number.isNaN(e) && Number.isNaN(g))) {
        worst = Infinity;
        at = i;
        break;
      }
      continue;
    }
    const err = Math.abs(g - e) / (Math.abs(e) + floor);
    if (err > worst) {
      worst = err;
      at = i;
    }
  }
  if (worst > tol) expect.fail(`${what}: element ${at} is ${got[at]}, expected ${expected[at]} (relative error ${worst} > ${tol})`);
}

export const values = (a: kn.NDArray): Float64Array => a.astype('float64').toTypedArray() as Float64Array;
