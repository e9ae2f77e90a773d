// The reuse rule (DESIGN.md §2, issue 17): an unevaluated array that a second evaluation computes
// again keeps its value from then on (its inside does not), and one warning names kn.tidy when a
// synchronous loop grows native memory past a threshold.
import { describe, expect, it } from 'vitest';
import * as kn from '../index.js';
import { setSyncGrowthWarning } from '../core/growth_warning.js';

const evaluated = (a: kn.NDArray) => a.node.data !== null;

describe('reuse of unevaluated arrays', () => {
  it('keeps an array computed again by a second evaluation, not what it was made from', () => {
    const base = kn.memory.active();
    const inner = kn.add(kn.arange(1000).astype('float32'), 1);
    const x = kn.exp(kn.multiply(inner, 1e-3)); // unevaluated, used by every f(x) below
    const f = (v: kn.NDArray) => kn.tidy(() => kn.sum(kn.multiply(v, 2))); // frees its multiply handle
    const want = 2 * Array.from({ length: 1000 }, (_, i) => Math.exp((i + 1) * 1e-3)).reduce((s, v) => s + v, 0);
    const y1 = f(x);
    expect(y1.item()).toBeCloseTo(want, 1);
    expect(evaluated(x)).toBe(false); // the first computation keeps nothing
    const m1 = kn.memory.active();
    expect(m1 - base).toBeLessThan(1024); // only y1's float32 scalar (the allocator rounds up)
    const y2 = f(x);
    expect(y2.item()).toBeCloseTo(want, 1);
    expect(evaluated(x)).toBe(true); // computed a second time: kept from now on
    expect(evaluated(inner)).toBe(false); // its inside is not
    const m2 = kn.memory.active() - m1;
    expect(m2).toBeGreaterThanOrEqual(4000); // x's 1000 floats, and y2
    expect(m2).toBeLessThan(4000 + 2048);
    const y3 = f(x);
    expect(y3.item()).toBeCloseTo(want, 1);
    kn.dispose([x, y1, y2, y3, inner]);
    expect(kn.memory.active()).toBe(base);
  });

  it('gives the same values with and without the reuse', () => {
    const x = kn.sqrt(kn.arange(10).astype('float32'));
    const r1 = kn.multiply(x, x).tolist(); // computes x
    const r2 = kn.multiply(x, x).tolist(); // computes x again and keeps it
    const r3 = kn.multiply(x, x).tolist(); // reads the kept x
    expect(evaluated(x)).toBe(true);
    expect(r2).toEqual(r1);
    expect(r3).toEqual(r1);
    expect(r1).toEqual(Array.from({ length: 10 }, (_, i) => Math.fround(Math.fround(Math.sqrt(i)) ** 2)));
  });
});

describe('synchronous growth warning', () => {
  it('warns once, naming kn.tidy, when a loop grows memory without the event loop turning', async () => {
    const seen: Error[] = [];
    const onWarning = (w: Error) => {
      if ((w as Error & { code?: string }).code === 'KILN_SYNC_GROWTH') seen.push(w);
    };
    process.on('warning', onWarning);
    try {
      setSyncGrowthWarning(2 ** 18, 100);
      const held: kn.NDArray[] = [];
      for (let i = 0; i < 300; i++) held.push(kn.add(kn.zeros([1024]), i).eval()); // 4 KiB each, never freed
      for (let i = 0; i < 300; i++) held.push(kn.add(kn.zeros([1024]), i).eval());
      await new Promise((r) => setImmediate(r));
      expect(seen.length).toBe(1);
      expect(seen[0].message).toMatch(/kn\.tidy/);
      kn.dispose(held);
      // a loop that frees what it makes does not warn
      setSyncGrowthWarning(2 ** 18, 100);
      for (let i = 0; i < 600; i++)
        kn.tidy(() => {
          kn.add(kn.zeros([1024]), i).eval();
        });
      await new Promise((r) => setImmediate(r));
      expect(seen.length).toBe(1);
    } finally {
      process.off('warning', onWarning);
      setSyncGrowthWarning(2 ** 31);
    }
  });
});
