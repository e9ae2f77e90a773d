// Finite-difference gradient checks in float64: central differences of a scalar function of
// array arguments, compared with kn.grad; and jvp against the same differences.
import { expect } from 'vitest';
import * as kn from '../../index.js';
import { mulberry32 } from './rng.js';

type Fn = (...xs: kn.NDArray[]) => kn.NDArray;

/**
 * Central differences of a scalar function of one float64 array, at every element of `base`:
 * the one finite-difference rule behind every gradient check (ops, fast ops, modules).
 */
export function centralDiff(base: kn.NDArray, f: (x: kn.NDArray) => number, eps = 1e-6): Float64Array {
  const v = Float64Array.from(base.astype('float64').toTypedArray() as Float64Array);
  const shape = base.shape;
  const out = new Float64Array(v.length);
  for (let k = 0; k < v.length; k++) {
    const p = Float64Array.from(v),
      m = Float64Array.from(v);
    p[k] += eps;
    m[k] -= eps;
    out[k] = (f(kn.array(p, 'float64').reshape(shape)) - f(kn.array(m, 'float64').reshape(shape))) / (2 * eps);
  }
  return out;
}

/**
 * Central-difference gradient of sum(fn(...args)) — or of sum(fn(...args) · cotangent) — with
 * respect to argument `i` (float64 args).
 */
export function numericGrad(fn: Fn, args: kn.NDArray[], i: number, eps = 1e-6, cotangent?: kn.NDArray): Float64Array {
  return centralDiff(
    args[i],
    (x) => {
      const xs = args.slice();
      xs[i] = x;
      const y = fn(...xs);
      return Number(kn.sum(cotangent ? kn.multiply(y, cotangent) : y).item());
    },
    eps,
  );
}

/**
 * Asserts kn.grad of sum(fn) matches central differences for every float64 argument listed in
 * `wrt` (default: all), within `tol` relative to the gradient's scale.
 */
export function checkGrad(fn: Fn, args: kn.NDArray[], opts: { wrt?: number[]; tol?: number; eps?: number } = {}): void {
  const wrt = opts.wrt ?? args.map((_, i) => i);
  const tol = opts.tol ?? 1e-6;
  const grads = kn.grad((...xs: kn.NDArray[]) => kn.sum(fn(...xs)), { argnums: wrt })(...args) as kn.NDArray[];
  wrt.forEach((i, j) => {
    const g = grads[j];
    expect(g.shape).toEqual(args[i].shape);
    const analytic = Array.from(g.astype('float64').toTypedArray() as Float64Array);
    const numeric = Array.from(numericGrad(fn, args, i, opts.eps));
    const scale = Math.max(1, ...numeric.map(Math.abs));
    const worst = Math.max(0, ...analytic.map((a, k) => Math.abs(a - numeric[k])));
    if (!(worst <= tol * scale)) expect({ arg: i, analytic, numeric }).toEqual({ arg: i, analytic: numeric, numeric });
  });
}

/** Asserts kn.jvp along a random direction matches the central difference along it. */
export function checkJvp(fn: Fn, args: kn.NDArray[], seed = 0, tol = 1e-6, eps = 1e-6): void {
  const r = mulberry32(seed + 1);
  const dirs = args.map((a) =>
    kn
      .array(
        Float64Array.from({ length: a.size }, () => r() * 2 - 1),
        'float64',
      )
      .reshape(a.shape),
  );
  const [, [t]] = kn.jvp((...xs) => fn(...xs), args, dirs);
  const shift = (h: number) => fn(...args.map((a, i) => kn.add(a, kn.multiply(dirs[i], h))));
  const numeric = kn.divide(kn.subtract(shift(eps), shift(-eps)), 2 * eps);
  const a = Array.from(t.astype('float64').toTypedArray() as Float64Array),
    n = Array.from(numeric.toTypedArray() as Float64Array);
  const scale = Math.max(1, ...n.map(Math.abs));
  const worst = Math.max(0, ...a.map((v, k) => Math.abs(v - n[k])));
  if (!(worst <= tol * scale)) expect(a).toEqual(n);
}

/** A float64 array of the shape with seeded uniform values in [lo, hi) (tests/helpers/rng.ts). */
export function randomArray(shape: number[], seed = 0, lo = -1, hi = 1): kn.NDArray {
  const r = mulberry32(seed * 7919 + 17);
  const n = shape.reduce((a, b) => a * b, 1);
  return kn
    .array(
      Float64Array.from({ length: n }, () => lo + r() * (hi - lo)),
      'float64',
    )
    .reshape(shape);
}
