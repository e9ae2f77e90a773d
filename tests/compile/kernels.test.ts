// How many kernels a compiled function runs, and that a cache hit does not trace.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { liveProgramCount } from '../../core/compile/program.js';
import { fusionLimits } from '../../core/compile/fuse.js';
import { native } from '../../backends/native.js';
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
    const rms = kn.compile((x: kn.NDArray, w: kn.NDArray) =>
      kn.multiply(kn.multiply(x, kn.rsqrt(kn.add(kn.mean(kn.square(x), -1, { keepdims: true }), 1e-5))), w),
    );
    rms(normal([4, 32], 5), normal([32], 6));
    expect(rms.info.kernels).toBe(1);
    const ln = kn.compile((x: kn.NDArray) =>
      kn.divide(kn.subtract(x, kn.mean(x, -1, { keepdims: true })), kn.sqrt(kn.add(kn.var(x, -1, { keepdims: true }), 1e-5))),
    );
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

describe('fusion limits are parameters', () => {
  it('a sum of 80 inputs splits into kernels of at most maxInputs inputs', () => {
    const xs = Array.from({ length: 80 }, (_, i) => kn.full([5], i + 1));
    const f = (...a: kn.NDArray[]) => a.reduce((s, x) => kn.add(s, kn.multiply(x, 2)));
    const c = kn.compile(f);
    expectSame(c(...xs), f(...xs));
    expect(c.info.fused).toBeGreaterThanOrEqual(Math.ceil(80 / fusionLimits.maxInputs));
    for (const s of c.info.schedule) expect(Number(/(\d+) in/.exec(s)![1])).toBeLessThanOrEqual(fusionLimits.maxInputs);
  });

  it('maxPhases bounds how many passes a reduction kernel makes over a row', () => {
    const f = (x: kn.NDArray) => {
      let y = x;
      for (let i = 0; i < 5; i++) y = kn.subtract(y, kn.mean(y, -1, { keepdims: true })); // each mean needs the previous
      return y;
    };
    const x = normal([4, 16], 20);
    const saved = fusionLimits.maxPhases;
    try {
      kn.compile.clearCache();
      fusionLimits.maxPhases = 3;
      const c = kn.compile(f);
      expectSame(c(x), f(x), { rtol: 1e-4, atol: 1e-6 });
      // five chained means need six phases: split into kernels of at most three
      expect(c.info.fused).toBe(2);
      expect(c.info.kernels).toBe(2);
      for (const s of c.info.schedule) expect(Number(/(\d+) phases?/.exec(s)![1])).toBeLessThanOrEqual(3);
    } finally {
      fusionLimits.maxPhases = saved;
      kn.compile.clearCache();
    }
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

  it('a cache hit is one native call: no trace, no graph, no other crossing', () => {
    const f = kn.compile((x: kn.NDArray, w: kn.NDArray) => kn.softmax(kn.matmul(x, w), -1));
    const x = normal([4, 8], 21),
      w = normal([8, 5], 22);
    f(x, w);
    const calls: string[] = [];
    const n = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    const saved = new Map<string, (...a: unknown[]) => unknown>();
    for (const k of ['run', 'runAsync', 'replay', 'alloc', 'free', 'write', 'read', 'compileProgram']) {
      saved.set(k, n[k]);
      n[k] = (...a: unknown[]) => {
        calls.push(k);
        return saved.get(k)!(...a);
      };
    }
    let out: kn.NDArray;
    try {
      out = f(x, w) as kn.NDArray;
    } finally {
      for (const [k, v] of saved) n[k] = v;
    }
    expect(calls).toEqual(['replay']);
    expectSame(out, kn.softmax(kn.matmul(x, w), -1), { rtol: 1e-6, atol: 1e-7 });
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
