// The trace cache (keys, LRU bound, clearing), turning compile off, state declared through
// inputs/outputs, trees and non-array arguments, and the errors compile reports.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { expectSame, normal } from './helpers.js';

describe('cache keys', () => {
  it('non-array arguments are part of the key', () => {
    let traces = 0;
    const f = kn.compile((x: kn.NDArray, k: number, mode: string, flag: boolean) => {
      traces++;
      const y = mode === 'exp' ? kn.exp(x) : kn.sin(x);
      return flag ? kn.multiply(y, k) : kn.add(y, k);
    });
    const x = normal([6], 1);
    expectSame(f(x, 2, 'exp', true), kn.multiply(kn.exp(x), 2));
    expectSame(f(x, 2, 'exp', true), kn.multiply(kn.exp(x), 2));
    expect(traces).toBe(1);
    expectSame(f(x, 3, 'exp', true), kn.multiply(kn.exp(x), 3));
    expectSame(f(x, 3, 'sin', true), kn.multiply(kn.sin(x), 3));
    expectSame(f(x, 3, 'sin', false), kn.add(kn.sin(x), 3));
    expect(traces).toBe(4);
    expectSame(f(x, 2, 'exp', true), kn.multiply(kn.exp(x), 2));
    expect(traces).toBe(4);
  });

  it('trees of arrays in and out, with constants and repeated arrays', () => {
    const f = kn.compile((p: { a: kn.NDArray; list: kn.NDArray[]; m: Map<string, kn.NDArray>; scale: number }) => ({
      sum: kn.add(p.a, p.list[0]),
      prod: [kn.multiply(p.list[1], p.m.get('w')!), p.scale, 'label'],
      same: p.a,
      t: kn.transpose(kn.multiply(p.a, p.scale)),
    }));
    const a = normal([2, 3], 2),
      b = normal([2, 3], 3),
      w = normal([3], 4);
    const p = { a, list: [b, a], m: new Map([['w', w]]), scale: 1.5 };
    for (let i = 0; i < 2; i++) {
      const out = f(p) as { sum: kn.NDArray; prod: [kn.NDArray, number, string]; same: kn.NDArray; t: kn.NDArray };
      expectSame(out.sum, kn.add(a, b));
      expectSame(out.prod[0], kn.multiply(a, w));
      expect(out.prod.slice(1)).toEqual([1.5, 'label']);
      expectSame(out.same, a);
      expectSame(out.t, kn.transpose(kn.multiply(a, 1.5)));
    }
  });

  it('input layouts are part of the key (a transposed input is read through its strides)', () => {
    let traces = 0;
    const f = kn.compile((x: kn.NDArray) => {
      traces++;
      return kn.exp(x);
    });
    const x = normal([4, 4], 5);
    expectSame(f(x), kn.exp(x));
    expectSame(f(x.T), kn.exp(x.T));
    expectSame(f(x.index('1:3', '::2')), kn.exp(x.index('1:3', '::2')));
    expect(traces).toBe(3);
  });

  it('captured arrays are constants of the compiled function; lazy inputs are evaluated first', () => {
    const c = normal([5], 6);
    const lazy = kn.multiply(c, 3); // captured without being evaluated
    const f = kn.compile((x: kn.NDArray) => kn.add(kn.multiply(x, c), lazy));
    const x = kn.add(normal([5], 7), 1); // a lazy argument
    expectSame(f(x), kn.add(kn.multiply(x, c), kn.multiply(c, 3)));
    expectSame(f(x), kn.add(kn.multiply(x, c), kn.multiply(c, 3)));
  });

  it('arguments that are not arrays, trees or constants are rejected', () => {
    const f = kn.compile((x: unknown) => x as kn.NDArray);
    expect(() => f(new kn.nn.Linear(2, 2))).toThrow(/argument 0 is a Linear/);
    expect(() => f(() => 1)).toThrow(/argument 0 is a function/);
    expect(() => kn.compile(3 as never)).toThrow(TypeError);
    expect(() => kn.compile((x: kn.NDArray) => x, { shapless: true } as never)).toThrow(/unknown option 'shapless'/);
  });
});

describe('LRU bound', () => {
  it('holds while shapes vary, evicting the least recently used traces', () => {
    kn.compile.clearCache();
    kn.compile.setCacheLimit(4);
    try {
      let traces = 0;
      const f = kn.compile((x: kn.NDArray) => {
        traces++;
        return kn.tanh(kn.multiply(x, 2));
      });
      for (let n = 1; n <= 12; n++) {
        const x = normal([n], n);
        expectSame(f(x), kn.tanh(kn.multiply(x, 2)));
        expect(kn.compile.cacheSize()).toBeLessThanOrEqual(4);
      }
      expect(traces).toBe(12);
      f(normal([12], 1)); // recent: cached
      expect(traces).toBe(12);
      f(normal([1], 1)); // evicted long ago: traced again
      expect(traces).toBe(13);
      expect(() => kn.compile.setCacheLimit(-1)).toThrow(TypeError);
      kn.compile.clearCache();
      expect(kn.compile.cacheSize()).toBe(0);
    } finally {
      kn.compile.setCacheLimit(64);
    }
  });

  it('evicting a trace releases its captured constants', () => {
    kn.compile.clearCache();
    const before = kn.memory.buffers();
    kn.tidy(() => {
      const big = kn.ones([1000]).eval();
      const f = kn.compile((x: kn.NDArray) => kn.add(x, big));
      f(kn.ones([1000]));
    });
    // the trace still holds `big`
    expect(kn.memory.buffers()).toBeGreaterThan(before);
    kn.compile.clearCache();
    expect(kn.memory.buffers()).toBe(before);
  });
});

describe('disabling compile', () => {
  it('kn.disableCompile runs the function itself', () => {
    let calls = 0;
    const f = kn.compile((x: kn.NDArray) => {
      calls++;
      return kn.exp(x);
    });
    const x = normal([3], 8);
    kn.disableCompile();
    try {
      expect(kn.isCompileEnabled()).toBe(false);
      f(x);
      f(x);
      expect(calls).toBe(2);
      expect(f.info.traces).toBe(0);
    } finally {
      kn.enableCompile();
    }
    f(x);
    f(x);
    expect(calls).toBe(3);
  });

  it('KILN_DISABLE_COMPILE=1 turns compile off at start', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
    const index = pathToFileURL(`${root}index.ts`).href;
    const script = `
      const kn = await import(${JSON.stringify(index)});
      let calls = 0;
      const f = kn.compile((x) => { calls++; return kn.exp(x); });
      f(kn.ones([2])); f(kn.ones([2]));
      console.log(JSON.stringify({ calls, enabled: kn.isCompileEnabled(), traces: f.info.traces }));`;
    const res = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, KILN_DISABLE_COMPILE: '1' },
    });
    expect(res.status, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout.trim().split('\n').pop()!)).toEqual({ calls: 2, enabled: false, traces: 0 });
  });
});

describe('state declared with inputs and outputs', () => {
  it('reads state arrays at every call and rebinds the outputs (a counter and a random key)', () => {
    const state = { count: kn.array(0, 'float32'), key: kn.random.key(9) };
    let traces = 0;
    const step = kn.compile(
      (x: kn.NDArray) => {
        traces++;
        const [k1, k2] = kn.random.split(state.key);
        state.key = k1;
        state.count = kn.add(state.count, 1);
        return kn.add(x, kn.random.uniform(0, 1, [3], { key: k2 }));
      },
      { inputs: state, outputs: state },
    );
    // the eager twin
    let key = kn.random.key(9);
    const x = normal([3], 10);
    for (let i = 0; i < 4; i++) {
      const [k1, k2] = kn.random.split(key);
      key = k1;
      expectSame(step(x), kn.add(x, kn.random.uniform(0, 1, [3], { key: k2 })));
      expect(state.count.item()).toBe(i + 1);
      expectSame(state.key, key);
    }
    expect(traces).toBe(1);
  });

  it('state handles are updated in place, so a loop frees the previous values at once', () => {
    const w = { v: kn.zeros([4096]) };
    const step = kn.compile(
      () => {
        w.v = kn.add(w.v, 1);
      },
      { inputs: w, outputs: w },
    );
    step();
    const buffers = kn.memory.buffers();
    for (let i = 0; i < 20; i++) step();
    expect(kn.memory.buffers()).toBe(buffers);
    expect(w.v.index(0).item()).toBe(21);
  });

  it('state outputs that change structure between calls are reported', () => {
    const s = { a: kn.ones([2]) };
    const extra: kn.NDArray[] = [];
    const f = kn.compile(
      () => {
        s.a = kn.add(s.a, 1);
      },
      { inputs: s, outputs: () => [s, extra] },
    );
    f();
    extra.push(kn.ones([2]));
    expect(() => f()).toThrow(/outputs state holds 2 arrays, but the traced function produced 1/);
  });

  it('reading a value inside a compiled function gives a clear error', () => {
    const f = kn.compile((x: kn.NDArray) => kn.multiply(x, x.sum().item() as number));
    expect(() => f(kn.ones([3]))).toThrow(/\[compile\].*reads a value/);
  });

  it('a function that throws while tracing leaves its state untouched and caches nothing', () => {
    const s = { w: kn.array([1, 2, 3], 'float32') };
    let fail = true;
    const f = kn.compile(
      () => {
        s.w = kn.multiply(s.w, 2);
        if (fail) throw new Error('boom');
        return kn.sum(s.w);
      },
      { inputs: s, outputs: s },
    );
    const before = s.w;
    expect(() => f()).toThrow('boom');
    s.w = before; // the function replaced the entry before throwing
    expect(s.w.tolist()).toEqual([1, 2, 3]);
    fail = false;
    expect((f() as kn.NDArray).item()).toBe(12);
    expect(s.w.tolist()).toEqual([2, 4, 6]);
  });
});

describe('edge cases', () => {
  it('functions without array arguments, results that are not arrays, inputs returned as is', () => {
    const c = kn.compile(() => kn.add(kn.arange(4), 1));
    expectSame(c(), kn.add(kn.arange(4), 1));
    expectSame(c(), kn.add(kn.arange(4), 1));
    const n = kn.compile((x: kn.NDArray) => x.ndim * 10);
    expect(n(kn.ones([2, 2]))).toBe(20);
    const id = kn.compile((x: kn.NDArray, y: kn.NDArray) => [x, kn.add(y, 0), x.T]);
    const x = normal([2, 3], 20),
      y = normal([2, 3], 21);
    const [a, b, t] = id(x, y) as kn.NDArray[];
    expectSame(a, x);
    expectSame(b, y);
    expectSame(t, x.T);
  });

  it('empty and zero-dimensional arrays', () => {
    const g = (x: kn.NDArray) => ({ e: kn.exp(kn.multiply(x, 2)), s: kn.sum(kn.abs(x)), m: kn.max(kn.negative(x), x.ndim ? -1 : null) });
    const f = kn.compile(g);
    for (const shape of [[3, 0], [0, 4], []]) {
      const x = kn.ones(shape);
      if (shape[1] === 0)
        expect(() => f(x)).toThrow(/\[max\] cannot reduce an empty axis/); // the op's own error, from the trace
      else expectSame(f(x), g(x));
    }
  });
});
