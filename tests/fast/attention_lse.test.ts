// Attention with its logsumexp (kn.fast.scaledDotProductAttention(..., { returnLogsumexp: true }),
// the `attention_lse` kernel, a two-output primitive): values against a float64 loop reference,
// gradients (also through the logsumexp) against the composed form, vmap against a loop.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { rng, normals } from './helpers.js';

type Mask = 'none' | 'causal' | 'bool' | 'additive';

function inputs(B: number, Hq: number, Hkv: number, L: number, S: number, D: number, seed: number, dtype: kn.DType = 'float32') {
  const r = rng(seed);
  const mk = (shape: number[]) =>
    kn
      .array(
        normals(
          shape.reduce((a, b) => a * b, 1),
          r,
        ),
        'float64',
      )
      .reshape(shape)
      .astype(dtype);
  const boolMask = kn.greater(kn.array(normals(L * S, r), 'float64').reshape([1, 1, L, S]), -0.8);
  const addMask = kn
    .array(normals(L * S, r, 0.5), 'float64')
    .reshape([1, 1, L, S])
    .astype(dtype);
  return { q: mk([B, Hq, L, D]), k: mk([B, Hkv, S, D]), v: mk([B, Hkv, S, D]), boolMask, addMask };
}

/** logsumexp per query row of scale·q kᵀ (+ mask), in float64 JS loops. */
function lseReference(q: kn.NDArray, k: kn.NDArray, scale: number, mask: Mask, m: kn.NDArray | null): number[][][] {
  const Q = q.astype('float64').tolist() as number[][][][],
    Kk = k.astype('float64').tolist() as number[][][][];
  const M = m ? ((m.dtype === 'bool' ? m : m.astype('float64')).tolist() as (number | boolean)[][][][]) : null;
  const [B, Hq, L] = q.shape,
    [, Hkv, S] = k.shape,
    rep = Hq / Hkv;
  const lowest = -3.4028234663852886e38;
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: Hq }, (_, h) =>
      Array.from({ length: L }, (_, i) => {
        const s: number[] = [];
        for (let j = 0; j < S; j++) {
          let x = scale * Q[b][h][i].reduce((t, qd, d) => t + qd * Kk[b][Math.floor(h / rep)][j][d], 0);
          if (mask === 'causal' && j > i + S - L) x = lowest;
          if (mask === 'bool' && !M![0][0][i][j]) x = lowest;
          if (mask === 'additive') x += M![0][0][i][j] as number;
          s.push(x);
        }
        const mx = Math.max(...s);
        return mx + Math.log(s.reduce((t, x) => t + Math.exp(x - mx), 0));
      }),
    ),
  );
}

const maskOf = (kind: Mask, x: ReturnType<typeof inputs>) =>
  kind === 'causal' ? 'causal' : kind === 'bool' ? x.boolMask : kind === 'additive' ? x.addMask : null;

describe('attention with logsumexp', () => {
  for (const kind of ['none', 'causal', 'bool', 'additive'] as Mask[]) {
    it(`values and logsumexp (${kind} mask, grouped heads)`, () => {
      const x = inputs(2, 4, 2, 5, 7, 8, 1);
      const mask = maskOf(kind, x);
      const [o, lse] = kn.fast.scaledDotProductAttention(x.q, x.k, x.v, { mask, returnLogsumexp: true });
      expect(lse.shape).toEqual([2, 4, 5]);
      expect(lse.dtype).toBe('float32');
      const want = lseReference(x.q, x.k, 1 / Math.sqrt(8), kind, kind === 'bool' ? x.boolMask : kind === 'additive' ? x.addMask : null);
      (lse.tolist() as number[][][]).flat(2).forEach((v, i) => expect(v).toBeCloseTo(want.flat(2)[i], 4));
      // the first output is the plain attention
      const plain = kn.fast.scaledDotProductAttention(x.q, x.k, x.v, { mask });
      const a = o.toTypedArray() as Float32Array,
        b = plain.toTypedArray() as Float32Array;
      a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 6));
    });
  }

  it('float64 keeps float64 logsumexp', () => {
    const x = inputs(1, 2, 1, 3, 4, 4, 2, 'float64');
    const [, lse] = kn.fast.scaledDotProductAttention(x.q, x.k, x.v, { returnLogsumexp: true });
    expect(lse.dtype).toBe('float64');
    const want = lseReference(x.q, x.k, 0.5, 'none', null).flat(2);
    (lse.tolist() as number[][][]).flat(2).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-12));
  });

  for (const kind of ['none', 'causal', 'bool', 'additive'] as Mask[]) {
    it(`gradients through the output and the logsumexp match the composed form (${kind})`, () => {
      const x = inputs(1, 4, 2, 6, 6, 8, 3, 'float64');
      const mask = maskOf(kind, x);
      const w = kn.array(normals(6 * 8 * 4, rng(9)), 'float64').reshape([1, 4, 6, 8]);
      const loss = (q: kn.NDArray, k: kn.NDArray, v: kn.NDArray, useKernel: boolean) => {
        const [o, lse] = useKernel ? kn.fast.scaledDotProductAttention(q, k, v, { mask, returnLogsumexp: true }) : composed(q, k, v, mask);
        return kn.add(kn.sum(kn.multiply(o, w)), kn.sum(kn.square(lse)));
      };
      const gk = kn.grad((q: kn.NDArray, k: kn.NDArray, v: kn.NDArray) => loss(q, k, v, true), { argnums: [0, 1, 2] })(x.q, x.k, x.v) as kn.NDArray[];
      const gc = kn.grad((q: kn.NDArray, k: kn.NDArray, v: kn.NDArray) => loss(q, k, v, false), { argnums: [0, 1, 2] })(x.q, x.k, x.v) as kn.NDArray[];
      gk.forEach((g, i) => {
        const a = g.toTypedArray() as Float64Array,
          b = gc[i].toTypedArray() as Float64Array;
        a.forEach((v, j) => expect(Math.abs(v - b[j])).toBeLessThan(1e-9 * Math.max(1, Math.abs(b[j]))));
      });
    });
  }

  it('a plain attention under grad uses the saved logsumexp and gives the composed gradient', () => {
    const x = inputs(1, 2, 2, 4, 5, 4, 4, 'float64');
    const f = (q: kn.NDArray) => kn.sum(kn.sin(kn.fast.scaledDotProductAttention(q, x.k, x.v, { mask: 'causal' })));
    const g = kn.grad(f)(x.q).toTypedArray() as Float64Array;
    const h = kn
      .grad((q: kn.NDArray) => kn.sum(kn.sin(composed(q, x.k, x.v, 'causal')[0])))(x.q)
      .toTypedArray() as Float64Array;
    g.forEach((v, i) => expect(Math.abs(v - h[i])).toBeLessThan(1e-10));
  });

  it('vmap over a leading axis equals a loop; jvp equals the composed jvp', () => {
    const r = rng(5);
    const qs = kn.array(normals(3 * 2 * 4 * 4, r), 'float64').reshape([3, 1, 2, 4, 4]);
    const x = inputs(1, 2, 1, 4, 4, 4, 6, 'float64');
    const f = (q: kn.NDArray) => kn.fast.scaledDotProductAttention(q, x.k, x.v, { returnLogsumexp: true });
    const [vo, vl] = kn.vmap(f)(qs) as kn.NDArray[];
    for (let b = 0; b < 3; b++) {
      const [o, l] = f(kn.take(qs, b, 0));
      const a = kn.take(vo, b, 0).toTypedArray() as Float64Array,
        c = o.toTypedArray() as Float64Array;
      a.forEach((v, i) => expect(Math.abs(v - c[i])).toBeLessThan(1e-12));
      const la = kn.take(vl, b, 0).toTypedArray() as Float64Array,
        lc = l.toTypedArray() as Float64Array;
      la.forEach((v, i) => expect(Math.abs(v - lc[i])).toBeLessThan(1e-12));
    }
    const t = kn.onesLike(x.q);
    const [, [tk]] = kn.jvp((q: kn.NDArray) => f(q)[1], [x.q], [t]);
    const [, [tc]] = kn.jvp((q: kn.NDArray) => composed(q, x.k, x.v, null)[1], [x.q], [t]);
    const a = tk.toTypedArray() as Float64Array,
      c = tc.toTypedArray() as Float64Array;
    a.forEach((v, i) => expect(Math.abs(v - c[i])).toBeLessThan(1e-10));
  });

  it('rejects a non-boolean returnLogsumexp', () => {
    const x = inputs(1, 1, 1, 2, 2, 2, 7);
    expect(() => kn.fast.scaledDotProductAttention(x.q, x.k, x.v, { returnLogsumexp: 1 as unknown as true })).toThrow(/returnLogsumexp must be a boolean/);
  });
});

/** Attention and its logsumexp with plain ops (k and v repeated over the query heads). */
function composed(q: kn.NDArray, k: kn.NDArray, v: kn.NDArray, mask: 'causal' | kn.NDArray | null): [kn.NDArray, kn.NDArray] {
  const rep = q.shape[1] / k.shape[1],
    L = q.shape[2],
    S = k.shape[2];
  const kr = kn.repeat(k, rep, 1),
    vr = kn.repeat(v, rep, 1);
  let s = kn.multiply(kn.matmul(q, kn.swapaxes(kr, -1, -2)), 1 / Math.sqrt(q.shape[3]));
  const lowest = kn.finfo(s.dtype).min;
  if (mask === 'causal') s = kn.where(kn.lessEqual(kn.expandDims(kn.arange(S), 0), kn.add(kn.expandDims(kn.arange(L), 1), S - L)), s, lowest);
  else if (mask && mask.dtype === 'bool') s = kn.where(mask, s, lowest);
  else if (mask) s = kn.add(s, mask);
  const lse = kn.logsumexp(s, -1);
  return [kn.matmul(kn.softmax(s, -1), vr), lse];
}
