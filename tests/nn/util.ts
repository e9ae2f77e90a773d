// Shared helpers of the nn tests: numpy fixtures (fixtures/nn_cases.json, made by
// fixtures/make_nn_fixtures.py) and element-wise comparison.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import * as kn from '../../index.js';

type Case = { shape: number[]; values: number[] };
export const fx = JSON.parse(readFileSync(new URL('../fixtures/nn_cases.json', import.meta.url), 'utf8')) as Record<string, Case>;

/** A fixture as an array (float64 unless told). */
export function arr(key: string, dtype: kn.DType = 'float64'): kn.NDArray {
  const c = fx[key];
  if (!c) throw new Error(`no fixture '${key}'`);
  return kn.reshape(kn.array(c.values, dtype), c.shape);
}

/** Flat values of an array as JS numbers. */
export function values(a: kn.NDArray): number[] {
  return Array.from(kn.astype(a, 'float64').toTypedArray() as Float64Array);
}

/** Asserts shape and |got − want| ≤ tol·(1 + |want|) element-wise (want: fixture key, array or numbers). */
export function close(got: kn.NDArray, want: string | kn.NDArray | { shape: number[]; values: number[] }, tol = 1e-12): void {
  const w = typeof want === 'string' ? fx[want] : want instanceof kn.NDArray ? { shape: want.shape, values: values(want) } : want;
  expect(got.shape).toEqual(w.shape);
  const g = values(got);
  let worst = 0,
    at = -1;
  g.forEach((v, i) => {
    const e = Math.abs(v - w.values[i]) / (1 + Math.abs(w.values[i]));
    if (!(e <= worst)) [worst, at] = [Number.isNaN(e) ? Infinity : e, i];
  });
  if (worst > tol) expect.fail(`element ${at}: got ${g[at]}, want ${w.values[at]} (relative error ${worst} > ${tol})`);
}
