// Runs a kiln optimizer and a float64 reference side by side on the same parameter tree and
// gradient sequence, and compares parameters (and optionally state) after every step.
import { expect } from 'vitest';
import * as kn from '../../index.js';
import type { RefOptimizer, Shape, Vec } from './reference.js';
import { uniformValues } from '../helpers/rng.js';

/** Deterministic values in [lo, hi) from the suites' shared PRNG, independent of kiln's random module. */
export const values = (n: number, seed: number, lo = -1, hi = 1): Vec => uniformValues(n, seed * 7919 + 13, lo, hi);

/** Parameter layout: a nested tree with a 2-d, a 1-d and a 3-d parameter. */
export const LAYOUT: [string, Shape][] = [
  ['w', [3, 4]],
  ['layers.0.b', [4]],
  ['layers.1.k', [2, 3, 2]],
];

const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

export function tree(vals: Map<string, Vec>, dtype: kn.DType): Record<string, unknown> {
  const arr = (name: string, shape: Shape) => kn.array(vals.get(name)!, dtype).reshape(shape);
  return { w: arr('w', [3, 4]), layers: [{ b: arr('layers.0.b', [4]) }, { k: arr('layers.1.k', [2, 3, 2]) }] };
}

export function flat(t: unknown): Map<string, Vec> {
  return new Map(kn.tree.flatten<kn.NDArray>(t).map(([k, a]) => [k, Array.from(a.astype('float64').toTypedArray() as Float64Array)]));
}

export function expectClose(got: Vec, want: Vec, tol: number, what: string): void {
  expect(got.length).toBe(want.length);
  let worst = 0,
    at = -1;
  got.forEach((g, i) => {
    const err = Math.abs(g - want[i]) / Math.max(1, Math.abs(want[i]));
    if (!(err <= worst)) [worst, at] = [err, i];
  });
  if (!(worst <= tol)) expect({ what, index: at, got: got[at], want: want[at] }).toEqual({ what, index: at, got: want[at], want: want[at] });
}

export interface RunOptions {
  dtype?: kn.DType;
  steps?: number;
  tol?: number;
  /** kiln state key → reference state key, compared after every step */
  stateKeys?: Record<string, string>;
  /** gradient scale (tiny gradients exercise eps terms) */
  gradScale?: number;
}

/** Steps both optimizers with the same gradients and compares after each step. */
export function compare(opt: kn.optim.Optimizer, ref: RefOptimizer, o: RunOptions = {}): void {
  const dtype = o.dtype ?? 'float64';
  const tol = o.tol ?? (dtype === 'float64' ? 1e-12 : 3e-6);
  let pRef = new Map(LAYOUT.map(([k, s], i) => [k, values(size(s), 100 + i)]));
  if (dtype !== 'float64') pRef = new Map([...pRef].map(([k, v]) => [k, v.map(Math.fround)]));
  let params = tree(pRef, dtype);
  for (let t = 1; t <= (o.steps ?? 2); t++) {
    let gVals = new Map(LAYOUT.map(([k, s], i) => [k, values(size(s), 1000 * t + i).map((v) => v * (o.gradScale ?? 1))]));
    if (dtype !== 'float64') gVals = new Map([...gVals].map(([k, v]) => [k, v.map(Math.fround)]));
    params = opt.applyGradients(tree(gVals, dtype), params);
    ref.begin();
    pRef = new Map(LAYOUT.map(([k, s]) => [k, ref.step(k, pRef.get(k)!, gVals.get(k)!, s)]));
    const got = flat(params);
    for (const [k] of LAYOUT) expectClose(got.get(k)!, pRef.get(k)!, tol, `${opt.constructor.name} step ${t} ${k}`);
    expect(opt.step).toBe(t);
    if (o.stateKeys) {
      const st = flat(opt.state);
      for (const [k] of LAYOUT)
        for (const [mine, theirs] of Object.entries(o.stateKeys)) {
          const want = ref.state.get(k)![theirs];
          if (want) expectClose(st.get(`${k}.${mine}`)!, want, tol, `${opt.constructor.name} step ${t} state ${k}.${mine}`);
        }
    }
  }
}
