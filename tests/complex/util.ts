// Shared helpers of the complex64 and fft tests: fixtures as arrays, tolerant comparison.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import * as kn from '../../index.js';

export interface Enc {
  shape: number[];
  re: number[];
  im?: number[];
}

export const FIXTURES = JSON.parse(readFileSync(new URL('../fixtures/fft/cases.json', import.meta.url), 'utf8'));

/** A fixture value as a kiln array (complex64 when it has an imaginary part, else float32). */
export function arr(e: Enc): kn.NDArray {
  const re = kn.array(Float32Array.from(e.re)).reshape(e.shape);
  if (!e.im) return re;
  return kn.complex(re, kn.array(Float32Array.from(e.im)).reshape(e.shape));
}

/** Interleaved (re, im) of a fixture or of an array (real arrays get im = 0). */
export function pairs(x: Enc | kn.NDArray): Float64Array {
  if (x instanceof kn.NDArray) {
    const t = x.dtype === 'complex64' ? (x.toTypedArray() as Float32Array) : null;
    if (t) return Float64Array.from(t);
    const r = Array.from(x.astype('float64').toTypedArray() as Float64Array);
    return Float64Array.from(r.flatMap((v) => [v, 0]));
  }
  return Float64Array.from(x.re.flatMap((v, i) => [v, x.im ? x.im[i] : 0]));
}

/** max |got - want| <= tol * max(1e-30, max |want|), with the shapes and complexness matching. */
export function expectClose(got: kn.NDArray, want: Enc, tol: number, what: string): void {
  expect(got.shape, `${what}: shape`).toEqual(want.shape);
  expect(got.dtype === 'complex64', `${what}: complex result`).toBe(want.im !== undefined);
  const g = pairs(got),
    w = pairs(want);
  let scale = 0,
    worst = 0;
  for (let i = 0; i < w.length; i++) scale = Math.max(scale, Math.abs(w[i]));
  for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i] - w[i]));
  if (!(worst <= tol * Math.max(scale, 1e-30))) expect({ what, worst, scale, relative: worst / scale }).toEqual({ what, tol });
}

/** The float32 storage of an array (complex64: interleaved re, im) as plain numbers. */
export const f32 = (x: kn.NDArray): number[] => Array.from(x.toTypedArray() as Float32Array);
