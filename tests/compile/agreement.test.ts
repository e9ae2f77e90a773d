// Compiled functions give what the uncompiled function gives: exactly where the fused kernel runs
// the same operations in the same order (elementwise chains), within float tolerance where a
// fused reduction sums in another order.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { fusionLimits } from '../../core/compile/fuse.js';
import { agree, expectSame, normal } from './helpers.js';

const T32 = { rtol: 2e-5, atol: 1e-6 };

describe('elementwise chains and broadcasts', () => {
  it('a chain of unary and binary ops is exact', () => {
    const x = normal([37, 53], 1),
      y = normal([37, 53], 2);
    const info = agree((a: kn.NDArray, b: kn.NDArray) => kn.subtract(kn.add(kn.multiply(kn.exp(a), kn.sin(b)), kn.sqrt(kn.abs(a))), 1), [x, y]);
    expect(info.fused).toBe(1);
  });

  it('broadcasting of several ranks, constants and casts', () => {
    const x = normal([4, 1, 6], 3),
      y = normal([5, 1], 4),
      z = normal([6], 5, 'float64');
    agree((a: kn.NDArray, b: kn.NDArray, c: kn.NDArray) => kn.multiply(kn.add(a, kn.multiply(b, 2.5)), kn.astype(c, 'float32')).astype('float64'), [x, y, z]);
  });

  it('gelu (erf and tanh forms), silu and sigmoid chains', () => {
    const x = normal([8, 300], 6),
      a = normal([300], 7),
      b = normal([300], 8);
    agree((v: kn.NDArray, w: kn.NDArray, c: kn.NDArray) => kn.nn.gelu(kn.add(kn.multiply(v, w), c)), [x, a, b]);
    agree((v: kn.NDArray) => kn.nn.geluApprox(v), [x]);
    agree((v: kn.NDArray, w: kn.NDArray) => kn.multiply(kn.nn.silu(v), kn.sigmoid(w)), [x, normal([8, 300], 9)]);
  });

  it('integer, bool and comparison chains are exact', () => {
    const i = kn.arange(-40, 40).reshape([8, 10]).astype('int32');
    const j = kn.array([3, -2, 7, 1, -5, 4, 9, -1, 2, 6], 'int32');
    agree((a: kn.NDArray, b: kn.NDArray) => kn.remainder(kn.add(kn.multiply(a, 3), b), 7), [i, j]);
    agree((a: kn.NDArray, b: kn.NDArray) => kn.where(kn.logicalAnd(kn.greater(a, 0), kn.less(b, 5)), kn.floorDivide(a, b), kn.bitwiseXor(a, b)), [i, j]);
    const u = kn.arange(0, 200).astype('uint8');
    agree((a: kn.NDArray) => kn.add(kn.multiply(a, 7), 13), [u]); // wraps like uint8
    const s = kn.arange(-100, 100).astype('int8');
    agree((a: kn.NDArray) => kn.leftShift(kn.negative(a), kn.astype(kn.remainder(a, 9), 'int8')), [s]);
  });

  it('float16, bfloat16 and float64 chains round like the eager kernels', () => {
    for (const d of ['float16', 'bfloat16', 'float64'] as const) {
      const x = normal([9, 70], 10, d),
        y = normal([70], 11, d);
      agree((a: kn.NDArray, b: kn.NDArray) => kn.tanh(kn.add(kn.multiply(a, b), kn.exp(kn.multiply(b, 0.3)))), [x, y]);
    }
  });

  it('strided, sliced and broadcast views as inputs', () => {
    const base = normal([12, 20], 12);
    const t = base.T; // transposed
    const s = base.index('1:11:2', '::3'); // offset and steps
    const bc = kn.broadcastTo(normal([1, 7], 13), [5, 7]);
    agree((a: kn.NDArray) => kn.exp(kn.multiply(a, 0.5)), [t]);
    agree((a: kn.NDArray) => kn.add(kn.square(a), 1), [s]);
    agree((a: kn.NDArray, b: kn.NDArray) => kn.subtract(kn.multiply(a, a), b), [bc, normal([5, 7], 14)]);
  });

  it('special values flow through fused ops like eager', () => {
    const x = kn.array([NaN, Infinity, -Infinity, -0, 0, 1e-40, 88.5, -104, 3.5], 'float32');
    agree((a: kn.NDArray) => kn.maximum(kn.exp(a), kn.log(kn.abs(a))), [x]);
    agree((a: kn.NDArray) => kn.minimum(kn.sigmoid(a), kn.tanh(kn.negative(a))), [x]);
  });
});

describe('reductions fed by and feeding elementwise work', () => {
  it('sums, means, maxima and products of elementwise expressions', () => {
    const x = normal([16, 40], 20),
      y = normal([16, 40], 21);
    agree((a: kn.NDArray, b: kn.NDArray) => kn.sum(kn.multiply(kn.exp(a), b), -1), [x, y], T32);
    agree((a: kn.NDArray) => kn.max(kn.abs(a), -1, { keepdims: true }), [x]);
    agree((a: kn.NDArray) => kn.min(kn.subtract(a, 1), [0, 1]), [x]);
    agree((a: kn.NDArray) => kn.prod(kn.add(kn.multiply(a, 0.01), 1), -1), [x], T32);
    agree((a: kn.NDArray) => kn.all(kn.greater(a, -3), -1), [x]);
    agree((a: kn.NDArray) => kn.any(kn.greater(a, 2), [0, 1]), [x]);
    agree((a: kn.NDArray) => kn.sum(kn.astype(kn.greater(a, 0), 'int32'), -1), [x]);
  });

  it('mean((x - y)^2) over everything is one kernel', () => {
    const x = normal([64, 513], 22),
      y = normal([64, 513], 23);
    const info = agree((a: kn.NDArray, b: kn.NDArray) => kn.mean(kn.power(kn.subtract(a, b), 2)), [x, y], T32);
    expect(info.kernels).toBe(1);
  });

  it('normalising by a reduction over the trailing axes', () => {
    const x = normal([6, 5, 32], 24);
    agree((a: kn.NDArray) => kn.divide(a, kn.max(kn.abs(a), [1, 2], { keepdims: true })), [x], T32);
    agree((a: kn.NDArray) => kn.subtract(a, kn.mean(a, -1, { keepdims: true })), [x], T32);
  });

  it('softmax, logSoftmax and logsumexp', () => {
    const x = normal([33, 129], 25);
    agree((a: kn.NDArray) => kn.softmax(a, -1), [x], T32);
    agree((a: kn.NDArray) => kn.logSoftmax(a, -1), [x], T32);
    agree((a: kn.NDArray) => kn.logsumexp(a, -1), [x], T32);
    agree((a: kn.NDArray) => kn.softmax(a, 0), [x], T32); // a leading axis: fused producers, unfused reduce
    const inf = kn.array(
      [
        [-Infinity, -Infinity, 0],
        [1, 2, 3],
        [NaN, 1, 2],
      ],
      'float32',
    );
    agree((a: kn.NDArray) => kn.softmax(a, -1), [inf], T32);
  });

  it('layer norm and RMS norm written with ops, and the fast ops', () => {
    const x = normal([10, 64], 26),
      w = normal([64], 27),
      b = normal([64], 28);
    const layerNorm = (a: kn.NDArray, g: kn.NDArray, c: kn.NDArray) => {
      const m = kn.mean(a, -1, { keepdims: true });
      const v = kn.var(a, -1, { keepdims: true });
      return kn.add(kn.multiply(kn.divide(kn.subtract(a, m), kn.sqrt(kn.add(v, 1e-5))), g), c);
    };
    agree(layerNorm, [x, w, b], T32);
    const rms = (a: kn.NDArray, g: kn.NDArray) => kn.multiply(kn.multiply(a, kn.rsqrt(kn.add(kn.mean(kn.square(a), -1, { keepdims: true }), 1e-6))), g);
    const info = agree(rms, [x, w], T32);
    expect(info.kernels).toBe(1);
    agree((a: kn.NDArray, g: kn.NDArray) => kn.fast.rmsNorm(a, g, 1e-6), [x, w], T32);
    agree((a: kn.NDArray, g: kn.NDArray, c: kn.NDArray) => kn.fast.layerNorm(a, g, c, 1e-5), [x, w, b], T32);
  });

  it('reductions of float16 data accumulate like eager within float16 precision', () => {
    const x = normal([12, 100], 29, 'float16');
    agree((a: kn.NDArray) => kn.softmax(a, -1), [x], { rtol: 2e-3, atol: 1e-4 });
    agree((a: kn.NDArray) => kn.sum(kn.square(a), -1), [x], { rtol: 2e-3, atol: 1e-3 });
  });
});

describe('whole models', () => {
  it('a transformer block (RMSNorm, attention with a causal mask, SwiGLU MLP)', () => {
    const [B, L, D, H, F] = [2, 12, 32, 4, 64];
    const p = {
      n1: normal([D], 30),
      n2: normal([D], 31),
      wq: normal([D, D], 32).multiply(0.2),
      wk: normal([D, D], 33).multiply(0.2),
      wv: normal([D, D], 34).multiply(0.2),
      wo: normal([D, D], 35).multiply(0.2),
      w1: normal([D, F], 36).multiply(0.2),
      w3: normal([D, F], 37).multiply(0.2),
      w2: normal([F, D], 38).multiply(0.2),
    };
    const rms = (a: kn.NDArray, g: kn.NDArray) => kn.multiply(kn.multiply(a, kn.rsqrt(kn.add(kn.mean(kn.square(a), -1, { keepdims: true }), 1e-6))), g);
    const heads = (a: kn.NDArray) => kn.transpose(kn.reshape(a, [B, L, H, D / H]), [0, 2, 1, 3]);
    const block = (x: kn.NDArray, w: typeof p) => {
      const h = rms(x, w.n1);
      const q = heads(kn.matmul(h, w.wq)),
        k = heads(kn.matmul(h, w.wk)),
        v = heads(kn.matmul(h, w.wv));
      const mask = kn.triu(kn.full([L, L], -Infinity), 1);
      const s = kn.add(kn.multiply(kn.matmul(q, kn.swapaxes(k, -1, -2)), 1 / Math.sqrt(D / H)), mask);
      const o = kn.reshape(kn.transpose(kn.matmul(kn.softmax(s, -1), v), [0, 2, 1, 3]), [B, L, D]);
      const x2 = kn.add(x, kn.matmul(o, w.wo));
      const h2 = rms(x2, w.n2);
      return kn.add(x2, kn.matmul(kn.multiply(kn.nn.silu(kn.matmul(h2, w.w1)), kn.matmul(h2, w.w3)), w.w2));
    };
    const x = normal([B, L, D], 39);
    const fused = agree(block, [x, p], { rtol: 1e-4, atol: 1e-5 });
    const unfused = withoutFusion(() => agree(block, [x, p], { rtol: 1e-4, atol: 1e-5 }));
    expect(fused.kernels).toBeLessThan(unfused.kernels - 10);
  });

  it('a training step with optimizer state declared as inputs and outputs', () => {
    for (const make of [() => new kn.optim.SGD(0.1, { momentum: 0.9 }), () => new kn.optim.Adam(0.01)]) {
      const twin = () => {
        const m = new kn.nn.Linear(6, 3, { key: kn.random.key(40) });
        const o = make();
        o.init(m.trainableParameters());
        return { m, o };
      };
      const a = twin(),
        b = twin();
      const lossFn = (m: kn.nn.Linear, x: kn.NDArray, y: kn.NDArray) => kn.mean(kn.square(kn.subtract(m.forward(x) as kn.NDArray, y)));
      const vgA = kn.nn.valueAndGrad(a.m, lossFn),
        vgB = kn.nn.valueAndGrad(b.m, lossFn);
      let traced = 0;
      const step = kn.compile(
        (x: kn.NDArray, y: kn.NDArray) => {
          traced++;
          const [loss, grads] = vgA(x, y);
          a.o.update(a.m, grads);
          return loss;
        },
        { inputs: [a.m, a.o], outputs: [a.m, a.o] },
      );
      const x = normal([16, 6], 41),
        y = normal([16, 3], 42);
      for (let i = 0; i < 6; i++) {
        const l1 = kn.tidy(() => (step(x, y) as kn.NDArray).item() as number);
        const l2 = kn.tidy(() => {
          const [loss, grads] = vgB(x, y);
          b.o.update(b.m, grads);
          return loss.item() as number;
        });
        expect(Math.abs(l1 - l2)).toBeLessThanOrEqual(1e-5 * Math.abs(l2) + 1e-7);
      }
      expect(traced).toBe(1);
      expectSame(a.m.parameters(), b.m.parameters(), { rtol: 1e-5, atol: 1e-7 });
    }
  });
});

/** Runs `fn` with fusion off (each node its own kernel, as an eager evaluation). */
function withoutFusion<T>(fn: () => T): T {
  kn.compile.clearCache();
  fusionLimits.enabled = false;
  try {
    return fn();
  } finally {
    fusionLimits.enabled = true;
    kn.compile.clearCache();
  }
}
