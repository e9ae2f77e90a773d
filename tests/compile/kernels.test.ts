// How many kernels a compiled function runs, and that a cache hit does not trace.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { liveProgramCount } from '../../core/compile/program.js';
import { expectSame, normal } from './helpers.js';

describe('kernel counts', () => {
  it('gelu(x * a + b) is one kernel', () => {
    const f = kn.compile((x: kn.NDArray, a: kn.NDArray, b: kn.NDArray) => kn.nn.gelu(kn.add(kn.multiply(x, a), b)));
    f(normal([16, 64], 1), normal([64], 2), normal([64], 3));
    expect(f.info.kernels).toBe(1);
    expect(f.info.fused).toBe(1);
    expect(f.info.buffers).toBe(1);
  });

  it('softmax over the last axis is at most two kernels (one here)', () => {
    const f = kn.compile((x: kn.NDArray) => kn.softmax(x, -1));
    f(normal([8, 100], 4));
    expect(f.info.kernels).toBeLessThanOrEqual(2);
    expect(f.info.kernels).toBe(1);
  });

  it('RMSNorm, layer norm and mean((x - y)^2) are one kernel each', () => {
    const rms = kn.compile((x: kn.NDArray, w: kn.NDArray) => kn.multiply(kn.multiply(x, kn.rsqrt(kn.add(kn.mean(kn.square(x), -1, { keepdims: true }), 1e-5))), w));
    rms(normal([4, 32], 5), normal([32], 6));
    expect(rms.info.kernels).toBe(1);
    const ln = kn.compile((x: kn.NDArray) => kn.divide(kn.subtract(x, kn.mean(x, -1, { keepdims: true })), kn.sqrt(kn.add(kn.var(x, -1, { keepdims: true }), 1e-5))));
    ln(normal([4, 32], 7));
    expect(ln.info.kernels).toBe(1);
    const mse = kn.compile((x: kn.NDArray, y: kn.NDArray) => kn.mean(kn.square(kn.subtract(x, y))));
    mse(normal([100, 10], 8), normal([100, 10], 9));
    expect(mse.info.kernels).toBe(1);
  });

  it('intermediate values that are also outputs are written by the fused kernel', () => {
    const f = kn.compile((x: kn.NDArray) => {
      const e = kn.exp(x);
      const y = kn.multiply(e, 2);
      return { e, y, s: kn.sum(y, -1) };
    });
    const x = normal([5, 9], 10);
    const out = f(x) as { e: kn.NDArray; y: kn.NDArray; s: kn.NDArray };
    expect(f.info.kernels).toBe(1);
    expectSame(out.e, kn.exp(x));
    expectSame(out.y, kn.multiply(kn.exp(x), 2));
    expectSame(out.s, kn.sum(kn.multiply(kn.exp(x), 2), -1), { rtol: 1e-6 });
  });

  it('common subexpressions and equal constants merge, dead work disappears', () => {
    const f = kn.compile((x: kn.NDArray) => {
      kn.exp(kn.sin(x)); // unused
      const a = kn.add(kn.sin(x), 1);
      const b = kn.add(kn.sin(x), 1); // the same as a
      return kn.multiply(a, b);
    });
    const x = normal([3, 4], 11);
    expectSame(f(x), kn.multiply(kn.add(kn.sin(x), 1), kn.add(kn.sin(x), 1)));
    expect(f.info.schedule[0]).toMatch(/3 ops/); // sin, add, multiply
  });

  it('matmuls stay ordinary kernels; the elementwise work around them fuses', () => {
    const f = kn.compile((x: kn.NDArray, w: kn.NDArray, b: kn.NDArray) => kn.nn.silu(kn.add(kn.matmul(kn.multiply(x, 2), w), b)));
    f(normal([8, 16], 12), normal([16, 4], 13), normal([4], 14));
    expect(f.info.schedule.filter((s) => s.startsWith('matmul'))).toHaveLength(1);
    expect(f.info.kernels).toBe(3); // scale, matmul, bias + silu
  });
});

describe('tracing and the cache', () => {
  it('a cache hit performs no trace', () => {
    let traces = 0;
    const f = kn.compile((x: kn.NDArray) => {
      traces++;
      return kn.exp(kn.negative(x));
    });
    const x = normal([10], 15);
    for (let i = 0; i < 5; i++) f(x);
    expect(traces).toBe(1);
    expect(f.info.traces).toBe(1);
    expect(f.info.calls).toBe(5);
    f(normal([10], 16)); // new values, same signature: still no trace
    expect(traces).toBe(1);
    f(normal([11], 17)); // new shape: a trace
    expect(traces).toBe(2);
    f(normal([10], 18, 'float64')); // new dtype: a trace
    expect(traces).toBe(3);
  });

  it('released traces release their native programs', () => {
    kn.compile.clearCache();
    const before = liveProgramCount();
    const f = kn.compile((x: kn.NDArray) => kn.tanh(kn.add(x, 1)));
    f(normal([4], 19));
    expect(liveProgramCount()).toBe(before + 1);
    kn.compile.clearCache();
    expect(liveProgramCount()).toBe(before);
  });
});
