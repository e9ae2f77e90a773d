// Gradients of the fast ops flow through their composed fallbacks (core/rules.ts); checked
// against central finite differences in float64, forward mode (jvp) against reverse mode, and
// vmap (also through the fallback) against a loop.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { normals, rng, values } from './helpers.js';
import { numericGrad } from '../helpers/grad_check.js';
import { attentionArgs, attentionComposed, type AttentionOptions } from '../../ops/fast/attention.js';

const f64 = (shape: number[], seed: number, shift = 0) =>
  kn
    .array(
      normals(
        shape.reduce((a, b) => a * b, 1),
        rng(seed),
        1,
        shift,
      ),
      'float64',
    )
    .reshape(shape);

function checkGrads(f: (...a: kn.NDArray[]) => kn.NDArray, args: kn.NDArray[], argnums: number[]) {
  const r = f64(f(...args).shape, 99);
  const grads = kn.grad((...a: kn.NDArray[]) => kn.sum(kn.multiply(f(...a), r)), { argnums })(...args) as kn.NDArray[];
  argnums.forEach((n, i) => {
    const expected = numericGrad(f, args, n, 1e-6, r);
    const got = values(grads[i]);
    expect(got.length).toBe(expected.length);
    for (let j = 0; j < got.length; j++) expect(Math.abs(got[j] - expected[j])).toBeLessThan(1e-6 * (1 + Math.abs(expected[j])));
  });
}

describe('gradients of the fast ops (through the fallback)', () => {
  it('rmsNorm: x and weight', () => {
    checkGrads((x, w) => kn.fast.rmsNorm(x, w, 1e-5), [f64([3, 5], 1), f64([5], 2)], [0, 1]);
  });
  it('layerNorm: x, weight and bias', () => {
    checkGrads((x, w, b) => kn.fast.layerNorm(x, w, b, 1e-5), [f64([3, 5], 3, 2), f64([5], 4), f64([5], 5)], [0, 1, 2]);
    checkGrads((x) => kn.fast.layerNorm(x, null, null, 1e-5), [f64([2, 4], 6)], [0]);
  });
  it('rope: x (both layouts) and freqs', () => {
    checkGrads((x) => kn.fast.rope(x, 4, { offset: 3 }), [f64([2, 3, 6], 7)], [0]);
    checkGrads((x, fr) => kn.fast.rope(x, 4, { traditional: true, freqs: fr }), [f64([1, 3, 4], 8), f64([2], 9, 3)], [0, 1]);
  });
  it('attention: q, k, v and an additive mask, grouped heads, causal', () => {
    const q = f64([1, 2, 3, 4], 10),
      k = f64([1, 1, 5, 4], 11),
      v = f64([1, 1, 5, 3], 12),
      m = f64([3, 5], 13);
    checkGrads((a, b, c, d) => kn.fast.scaledDotProductAttention(a, b, c, { scale: 0.7, mask: d }), [q, k, v, m], [0, 1, 2, 3]);
    checkGrads((a, b, c) => kn.fast.scaledDotProductAttention(a, b, c, { mask: 'causal' }), [q, k, v], [0, 1, 2]);
  });
  it('attention: the closed-form vjp equals differentiating the composed form (bool masks with empty rows, GQA, S > L, f32)', () => {
    const cases: [number[], number[], AttentionOptions | ((m: kn.NDArray) => AttentionOptions), number[] | null, kn.DType][] = [
      [[2, 4, 3, 8], [2, 2, 5, 8], { mask: 'causal' }, null, 'float64'],
      [[1, 3, 4, 4], [1, 1, 4, 4], (m) => ({ mask: m, scale: 0.3 }), [1, 1, 4, 4], 'float64'],
      [[2, 2, 6, 16], [2, 1, 6, 16], { mask: 'causal' }, null, 'float32'],
    ];
    cases.forEach(([qs, ks, opts, maskShape, dt], n) => {
      const q = f64(qs, 20 + n).astype(dt),
        k = f64(ks, 30 + n).astype(dt),
        v = f64(ks, 40 + n).astype(dt);
      // a bool mask whose first query row sees no key at all
      const mask = maskShape ? kn.greater(f64(maskShape, 50 + n), -0.3).put_([0, 0, 0], false) : null;
      const o = typeof opts === 'function' ? opts(mask!) : opts;
      const w = f64([...qs.slice(0, 3), ks[3]], 60 + n).astype(dt);
      const viaKernel = kn.grad((a: kn.NDArray, b: kn.NDArray, c: kn.NDArray) => kn.sum(kn.multiply(kn.fast.scaledDotProductAttention(a, b, c, o), w)), {
        argnums: [0, 1, 2],
      })(q, k, v);
      const viaComposed = kn.grad((a: kn.NDArray, b: kn.NDArray, c: kn.NDArray) => kn.sum(kn.multiply(attentionComposed(attentionArgs(a, b, c, o)), w)), {
        argnums: [0, 1, 2],
      })(q, k, v);
      const tol = dt === 'float64' ? 1e-12 : 2e-5;
      viaKernel.forEach((g: kn.NDArray, i: number) => expect(kn.allclose(g, viaComposed[i], { rtol: tol, atol: tol })).toBe(true));
    });
  });
  it('forward mode agrees with reverse mode', () => {
    const x = f64([2, 6], 14),
      w = f64([6], 15),
      t = f64([2, 6], 16);
    const [, [jv]] = kn.jvp((a: kn.NDArray) => kn.fast.rmsNorm(a, w, 1e-5), [x], [t]);
    const r = f64([2, 6], 17);
    const g = kn.grad((a: kn.NDArray) => kn.sum(kn.multiply(kn.fast.rmsNorm(a, w, 1e-5), r)))(x) as kn.NDArray;
    // <J t, r> = <t, Jᵀ r>
    expect(kn.sum(kn.multiply(jv, r)).item()).toBeCloseTo(kn.sum(kn.multiply(t, g)).item() as number, 10);
  });
  it('vmap over a leading axis equals a loop over it', () => {
    const xs = f64([3, 2, 6], 18),
      w = f64([6], 19);
    const q = f64([3, 1, 2, 4, 8], 20),
      k = f64([3, 1, 1, 5, 8], 21);
    const cases: [string, (x: kn.NDArray) => kn.NDArray, kn.NDArray][] = [
      ['rmsNorm', (x) => kn.fast.rmsNorm(x, w, 1e-5), xs],
      ['layerNorm', (x) => kn.fast.layerNorm(x, w, null, 1e-5), xs],
      ['rope', (x) => kn.fast.rope(x, 4, { offset: 2 }), xs],
      ['attention', (x) => kn.fast.scaledDotProductAttention(x, kn.index(k, 0), kn.index(k, 0), { mask: 'causal' }), q],
    ];
    for (const [name, fn, input] of cases) {
      const batched = values(kn.vmap(fn)(input) as kn.NDArray);
      const looped = values(kn.stack(Array.from({ length: 3 }, (_, i) => fn(kn.index(input, i)))));
      expect(batched.length, name).toBe(looped.length);
      batched.forEach((b, i) => expect(Math.abs(b - looped[i]), name).toBeLessThan(1e-12));
    }
  });
});
