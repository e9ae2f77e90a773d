// Shared by the numpy-fixture tests of issue 17 (numpy_funcs, linalg_decomp): decoding
// fixtures/numpy_funcs_cases.json and comparing results with numpy's.
import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as kn from '../../index.js';

type Enc = number | boolean | string | null;
export interface Arr {
  dtype: kn.DType;
  shape: number[];
  values: Enc[];
}
export interface Res extends Arr {
  tol: number;
}
export interface Case {
  name: string;
  op: string;
  args: unknown[];
  expected: Res | Res[];
}
export interface LstsqCase {
  name: string;
  op: 'lstsq';
  a: Arr;
  b: Arr;
  x: Res;
  residuals: Res;
  rank: number;
  s: Res;
}

export interface EigCase {
  name: string;
  op: 'eig' | 'roots';
  a?: Arr;
  p?: Arr;
  /** eigenvalues (or roots) as [re, im], sorted */
  w: [number, number][];
  tol: number;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/numpy_funcs_cases.json', import.meta.url), 'utf8')) as { cases: (Case | LstsqCase | EigCase)[] };
export const eigCases = fixture.cases.filter((c): c is EigCase => c.op === 'eig' || c.op === 'roots');
export const cases = fixture.cases.filter((c): c is Case => !['lstsq', 'eig', 'roots'].includes(c.op));
export const lstsqCases = fixture.cases.filter((c): c is LstsqCase => c.op === 'lstsq');

const SPECIAL = ['nan', 'inf', '-inf'];
const num = (v: Enc): number | boolean | null => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number | boolean | null));
const isArr = (x: unknown): x is Arr => x !== null && typeof x === 'object' && !Array.isArray(x) && 'dtype' in x && 'shape' in x && 'values' in x;

export function decode(x: unknown): unknown {
  if (isArr(x)) return kn.reshape(kn.array(x.values.map(num), x.dtype), x.shape);
  if (Array.isArray(x)) return x.map(decode);
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, decode(v)]));
  if (typeof x === 'string') return SPECIAL.includes(x) ? num(x) : x;
  return x;
}

export function check(got: kn.NDArray, want: Res, name: string) {
  expect(got.dtype, `${name}: dtype`).toBe(want.dtype);
  expect(got.shape, `${name}: shape`).toEqual(want.shape);
  const g = got.size ? (kn.reshape(got, [got.size]).tolist() as (number | boolean)[]) : [];
  const w = want.values.map(num);
  g.forEach((v, i) => {
    const e = w[i] as number | boolean;
    if (typeof e === 'boolean' || typeof v === 'boolean') return expect(v, `${name}[${i}]`).toBe(e);
    if (Number.isNaN(e)) return expect(Number.isNaN(v), `${name}[${i}] = ${v}, want NaN`).toBe(true);
    if (!Number.isFinite(e)) return expect(v, `${name}[${i}]`).toBe(e);
    if (want.tol === 0) return expect(Object.is(v, e) || (v === 0 && e === 0), `${name}[${i}] = ${v}, want ${e}`).toBe(true);
    expect(Math.abs((v as number) - e), `${name}[${i}] = ${v}, want ${e}`).toBeLessThanOrEqual(want.tol * (1 + Math.abs(e)));
  });
}

export function resolve(op: string): (...a: unknown[]) => unknown {
  let f: unknown = kn;
  for (const part of op.split('.')) f = (f as Record<string, unknown>)[part];
  if (typeof f !== 'function') throw new Error(`no kiln op ${op}`);
  return f as (...a: unknown[]) => unknown;
}

/** One test per op over the fixture cases that `pick` selects. */
export function fixtureTests(it: (name: string, fn: () => void) => void, pick: (c: Case) => boolean): void {
  const byOp = new Map<string, Case[]>();
  for (const c of cases.filter(pick)) byOp.set(c.op, [...(byOp.get(c.op) ?? []), c]);
  for (const [op, list] of byOp) {
    it(`${op} (${list.length} cases)`, () => {
      const f = resolve(op);
      for (const c of list) {
        const out = f(...c.args.map(decode)) as kn.NDArray | kn.NDArray[];
        if (Array.isArray(c.expected)) {
          const outs = out as kn.NDArray[];
          expect(outs.length, c.name).toBe(c.expected.length);
          c.expected.forEach((e, i) => check(outs[i], e, `${c.name} #${i}`));
        } else check(out as kn.NDArray, c.expected, c.name);
      }
    });
  }
}

export const f64 = (x: unknown) => kn.array(x as number[], 'float64');
export const close = (a: kn.NDArray, b: kn.NDArray, tol: number) => expect(kn.allclose(a, b, { atol: tol, rtol: tol }), `${a} vs ${b}`).toBe(true);

/** central differences of a scalar function of one float64 array */
export function numeric(f: (x: kn.NDArray) => kn.NDArray, x0: kn.NDArray, eps = 1e-6): kn.NDArray {
  const v = Float64Array.from(x0.toTypedArray() as Float64Array);
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const p = Float64Array.from(v),
      m = Float64Array.from(v);
    p[i] += eps;
    m[i] -= eps;
    out[i] = (Number(f(kn.array(p, 'float64').reshape(x0.shape)).item()) - Number(f(kn.array(m, 'float64').reshape(x0.shape)).item())) / (2 * eps);
  }
  return kn.array(out, 'float64').reshape(x0.shape);
}
