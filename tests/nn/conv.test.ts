// kn.conv1d / conv2d / conv3d and the Conv layers against a direct loop reference (float64).
import { describe, it, expect } from 'vitest';
import * as kn from '../../index.js';
import { close, values } from './util.js';
import { uniformValues } from '../helpers/rng.js';

/** Deterministic pseudo-random float64 data (no dependence on kn.random). */
function data(shape: number[], seed: number): kn.NDArray {
  const n = shape.reduce((a, b) => a * b, 1);
  return kn.reshape(kn.array(Float64Array.from(uniformValues(n, seed))), shape);
}

interface Spec {
  stride: number[];
  padding: number[];
  dilation: number[];
  groups: number;
}

/** out[n, o..., co] = Σ_{k..., c} x[n, o·s + k·d − p, cg·g + c] · w[co, k..., c] (zero outside). */
function convRef(x: kn.NDArray, w: kn.NDArray, s: Spec): { shape: number[]; values: number[] } {
  const xs = x.shape,
    ws = w.shape,
    nd = xs.length - 2;
  const xv = values(x),
    wv = values(w);
  const N = xs[0],
    [Cout, Cg] = [ws[0], ws[nd + 1]];
  const K = ws.slice(1, 1 + nd),
    In = xs.slice(1, 1 + nd);
  const O = In.map((d, i) => Math.floor((d + 2 * s.padding[i] - s.dilation[i] * (K[i] - 1) - 1) / s.stride[i]) + 1);
  const og = Cout / s.groups;
  const strides = (sh: number[]) => sh.map((_, i) => sh.slice(i + 1).reduce((a, b) => a * b, 1));
  const xst = strides(xs),
    wst = strides(ws);
  const iter = (dims: number[]): number[][] => dims.reduce<number[][]>((acc, d) => acc.flatMap((p) => Array.from({ length: d }, (_, i) => [...p, i])), [[]]);
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (const o of iter(O))
      for (let co = 0; co < Cout; co++) {
        const g = Math.floor(co / og);
        let acc = 0;
        for (const k of iter(K)) {
          const pos = o.map((oi, i) => oi * s.stride[i] + k[i] * s.dilation[i] - s.padding[i]);
          if (pos.some((p, i) => p < 0 || p >= In[i])) continue;
          for (let c = 0; c < Cg; c++) {
            const xi = n * xst[0] + pos.reduce((a, p, i) => a + p * xst[i + 1], 0) + (g * Cg + c);
            const wi = co * wst[0] + k.reduce((a, kk, i) => a + kk * wst[i + 1], 0) + c;
            acc += xv[xi] * wv[wi];
          }
        }
        out.push(acc);
      }
  return { shape: [N, ...O, Cout], values: out };
}

const conv = [kn.conv1d, kn.conv2d, kn.conv3d];

describe('kn.conv1d / conv2d / conv3d against a direct loop', () => {
  const cases: { nd: number; x: number[]; w: number[]; s: Partial<Spec> }[] = [
    { nd: 1, x: [2, 9, 3], w: [4, 3, 3], s: {} },
    { nd: 1, x: [2, 9, 4], w: [6, 2, 2], s: { stride: [2], padding: [1], groups: 2 } },
    { nd: 1, x: [1, 11, 2], w: [3, 3, 2], s: { dilation: [3], padding: [2] } },
    { nd: 1, x: [1, 10, 4], w: [4, 3, 1], s: { groups: 4, stride: [3], padding: [1], dilation: [2] } },
    { nd: 2, x: [2, 5, 6, 3], w: [4, 3, 3, 3], s: {} },
    { nd: 2, x: [1, 7, 6, 2], w: [3, 3, 2, 2], s: { stride: [2, 1], padding: [1, 2] } },
    { nd: 2, x: [2, 8, 7, 4], w: [6, 2, 3, 2], s: { stride: [1, 2], padding: [2, 0], dilation: [2, 1], groups: 2 } },
    { nd: 2, x: [1, 6, 6, 3], w: [3, 3, 3, 1], s: { groups: 3, padding: [1, 1] } },
    { nd: 2, x: [1, 4, 4, 2], w: [2, 1, 1, 2], s: { stride: [2, 2] } },
    { nd: 3, x: [1, 4, 5, 4, 2], w: [3, 2, 3, 2, 2], s: { stride: [1, 2, 1], padding: [1, 0, 1], dilation: [1, 1, 2] } },
  ];
  cases.forEach((c, i) =>
    it(`case ${i}: ${c.nd}-d x ${JSON.stringify(c.x)} w ${JSON.stringify(c.w)} ${JSON.stringify(c.s)}`, () => {
      const s: Spec = {
        stride: c.s.stride ?? new Array(c.nd).fill(1),
        padding: c.s.padding ?? new Array(c.nd).fill(0),
        dilation: c.s.dilation ?? new Array(c.nd).fill(1),
        groups: c.s.groups ?? 1,
      };
      const x = data(c.x, 11 + i),
        w = data(c.w, 101 + i);
      const y = conv[c.nd - 1](x, w, { stride: s.stride, padding: s.padding, dilation: s.dilation, groups: s.groups });
      close(y, convRef(x, w, s), 1e-13);
    }),
  );

  it('scalar stride/padding/dilation apply to every axis', () => {
    const x = data([1, 6, 7, 2], 3),
      w = data([2, 3, 2, 2], 4);
    const s: Spec = { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 };
    close(kn.conv2d(x, w, { stride: 2, padding: 1 }), convRef(x, w, s), 1e-13);
  });

  it('float32 in, float32 out', () => {
    const x = kn.astype(data([1, 5, 2], 5), 'float32'),
      w = kn.astype(data([3, 2, 2], 6), 'float32');
    const y = kn.conv1d(x, w);
    expect(y.dtype).toBe('float32');
    close(y, convRef(x, w, { stride: [1], padding: [0], dilation: [1], groups: 1 }), 1e-6);
  });

  it('errors name the op and the values', () => {
    const x = kn.ones([1, 5, 4]);
    expect(() => kn.conv1d(kn.ones([5, 4]), kn.ones([2, 3, 4]))).toThrow(/\[conv1d\] input must be 3-dimensional \[N, L, C\].*\[5, 4\]/);
    expect(() => kn.conv1d(x, kn.ones([2, 3, 3]))).toThrow(/\[conv1d\] weight shape \[2, 3, 3\] expects 3 input channels.*the input has 4/);
    expect(() => kn.conv1d(x, kn.ones([3, 3, 2]), { groups: 2 })).toThrow(/output channels 3 are not divisible by groups 2/);
    expect(() => kn.conv1d(x, kn.ones([2, 3, 4]), { groups: 3 })).toThrow(/input channels 4 are not divisible by groups 3/);
    expect(() => kn.conv1d(x, kn.ones([2, 7, 4]))).toThrow(/kernel spans 7 .* padded input size 5/);
    expect(() => kn.conv1d(x, kn.ones([2, 3, 4]), { stride: 0 })).toThrow(/stride must be a positive integer/);
    expect(() => kn.conv2d(kn.ones([1, 4, 4, 1]), kn.ones([1, 2, 2, 1]), { padding: [1, 1, 1] })).toThrow(/\[conv2d\] padding must be/);
    expect(() => kn.conv2d(kn.ones([1, 4, 4, 1]), kn.ones([1, 2, 2, 1]), { padding: -1 })).toThrow(/non-negative/);
  });
});

describe('Conv layers', () => {
  it('Conv1d/2d/3d: weight layout, MLX init range, zero bias, forward = conv + bias', () => {
    const c1 = new kn.nn.Conv1d(4, 6, 3, { stride: 2, padding: 1, groups: 2, key: kn.random.key(1) });
    expect(c1.weight.shape).toEqual([6, 3, 2]);
    const lim = Math.sqrt(1 / (2 * 3));
    expect(kn.abs(c1.weight).max().item()).toBeLessThanOrEqual(lim);
    expect(c1.bias!.tolist()).toEqual([0, 0, 0, 0, 0, 0]);
    c1.setDtype('float64');
    c1.update({ bias: kn.arange(6, 'float64') });
    const x = data([2, 7, 4], 9);
    const ref = convRef(x, c1.weight, { stride: [2], padding: [1], dilation: [1], groups: 2 });
    const withBias = { shape: ref.shape, values: ref.values.map((v, i) => v + (i % 6)) };
    close(c1.call(x), withBias, 1e-13);

    const c2 = new kn.nn.Conv2d(3, 5, [2, 3], { bias: false, dilation: [2, 1] });
    expect(c2.weight.shape).toEqual([5, 2, 3, 3]);
    expect(kn.tree.flatten(c2.parameters()).map(([k]) => k)).toEqual(['weight']);
    c2.setDtype('float64');
    const x2 = data([1, 6, 5, 3], 10);
    close(c2.call(x2), convRef(x2, c2.weight, { stride: [1, 1], padding: [0, 0], dilation: [2, 1], groups: 1 }), 1e-13);

    const c3 = new kn.nn.Conv3d(1, 2, 2);
    expect(c3.call(kn.ones([1, 3, 3, 3, 1])).shape).toEqual([1, 2, 2, 2, 2]);
  });

  it('same key, same weights', () => {
    const a = new kn.nn.Conv2d(2, 2, 3, { key: kn.random.key(5) }),
      b = new kn.nn.Conv2d(2, 2, 3, { key: kn.random.key(5) });
    expect(a.weight.tolist()).toEqual(b.weight.tolist());
  });

  it('constructor errors', () => {
    expect(() => new kn.nn.Conv1d(3, 4, 3, { groups: 2 })).toThrow(/\[Conv1d\] inChannels 3 and outChannels 4 must both be divisible by groups 2/);
    expect(() => new kn.nn.Conv2d(3, 4, 0)).toThrow(/\[Conv2d\] kernelSize must be a positive integer/);
  });
});
