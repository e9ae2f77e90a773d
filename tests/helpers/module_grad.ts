// Finite-difference checks of module gradients in float64: every trainable parameter (through
// nn.valueAndGrad) and every input (through kn.grad) of loss = Σ out·R with a fixed random
// cotangent R (a plain sum would hide errors: the sum of a normalised output is constant).
import { expect } from 'vitest';
import * as kn from '../../index.js';
import { centralDiff, randomArray } from './grad_check.js';

type Call = (m: kn.nn.Module, ...xs: kn.NDArray[]) => kn.NDArray;

/** Fixed pseudo-random float64 values in [-1, 1) (no dependence on kn.random). */
export const det = (shape: number[], seed: number): kn.NDArray => randomArray(shape, seed);

const flat = (a: kn.NDArray) => Array.from(kn.astype(a, 'float64').toTypedArray() as Float64Array);

function compare(what: string, analytic: number[], numeric: number[], tol: number): void {
  const scale = Math.max(1, ...numeric.map(Math.abs));
  let worst = 0,
    at = -1;
  analytic.forEach((a, k) => {
    const e = Math.abs(a - numeric[k]);
    if (!(e <= worst)) [worst, at] = [Number.isNaN(e) ? Infinity : e, k];
  });
  if (!(worst <= tol * scale)) expect.fail(`${what}[${at}]: analytic ${analytic[at]}, numeric ${numeric[at]} (error ${worst} > ${tol}·${scale})`);
}

const numeric = (base: kn.NDArray, f: (x: kn.NDArray) => number, eps: number): number[] => Array.from(centralDiff(base, f, eps));

/**
 * Checks d loss / d parameter for every trainable parameter and d loss / d input for the inputs
 * listed in `wrtInputs` (default all), with loss = Σ call(model, ...inputs)·R.
 * Returns the number of gradient entries compared.
 */
export function checkModuleGrads(
  model: kn.nn.Module,
  inputs: kn.NDArray[],
  opts: { call?: Call; wrtInputs?: number[]; tol?: number; eps?: number; seed?: number } = {},
): number {
  const call: Call = opts.call ?? ((m, ...xs) => m.forward(...xs) as kn.NDArray);
  const tol = opts.tol ?? 1e-6,
    eps = opts.eps ?? 1e-6;
  const out = call(model, ...inputs);
  const R = det(out.shape, opts.seed ?? 3);
  const loss = (m: kn.nn.Module, ...xs: kn.NDArray[]) => kn.sum(kn.multiply(call(m, ...xs), R));
  const value = (...xs: kn.NDArray[]) => Number(loss(model, ...xs).item());
  let count = 0;

  const [, grads] = kn.nn.valueAndGrad(model, loss)(...inputs);
  const gflat = new Map(kn.tree.flatten<kn.NDArray>(grads));
  const params = kn.tree.flatten<kn.NDArray>(model.trainableParameters());
  expect([...gflat.keys()]).toEqual(params.map(([k]) => k));
  for (const [path, p] of params) {
    const g = gflat.get(path)!;
    expect(g.shape).toEqual(p.shape);
    const num = numeric(
      p,
      (x) => {
        model.update(kn.tree.unflatten([[path, x]]) as Record<string, unknown>);
        try {
          return value(...inputs);
        } finally {
          model.update(kn.tree.unflatten([[path, p]]) as Record<string, unknown>);
        }
      },
      eps,
    );
    compare(`parameter ${path}`, flat(g), num, tol);
    count += num.length;
  }

  const wrt = opts.wrtInputs ?? inputs.map((_, i) => i);
  if (wrt.length) {
    const gi = kn.grad((...xs: kn.NDArray[]) => loss(model, ...xs), { argnums: wrt })(...inputs) as kn.NDArray[];
    wrt.forEach((i, j) => {
      expect(gi[j].shape).toEqual(inputs[i].shape);
      const num = numeric(inputs[i], (x) => value(...inputs.map((a, k) => (k === i ? x : a))), eps);
      compare(`input ${i}`, flat(gi[j]), num, tol);
      count += num.length;
    });
  }
  return count;
}
