// The memory contract of DESIGN.md §2: deterministic freeing, intermediates freed at last use,
// limits that raise errors, and no growth across long loops.
import { describe, it, expect, beforeEach } from 'vitest';
import * as kn from '../index.js';

const MB = 1 << 20;

describe('memory contract', () => {
  beforeEach(() => {
    kn.memory.setLimit(0);
  });

  it('10,000 tidy iterations leave active memory and buffer count unchanged', () => {
    const a = kn.arange(64).astype('float32').eval();
    const active = kn.memory.active(),
      buffers = kn.memory.buffers();
    for (let i = 0; i < 10_000; i++) {
      kn.tidy(() => {
        const y = kn.exp(a.multiply(0.01)).add(a).sum();
        y.eval();
        return undefined;
      });
    }
    expect(kn.memory.active()).toBe(active);
    expect(kn.memory.buffers()).toBe(buffers);
    a.dispose();
  });

  it('10,000 dispose iterations leave active memory unchanged', () => {
    const active = kn.memory.active(),
      buffers = kn.memory.buffers();
    for (let i = 0; i < 10_000; i++) {
      const x = kn.array([1, 2, 3, 4]);
      const y = x.multiply(2);
      const z = y.add(1);
      z.eval();
      kn.dispose([x, y, z]);
    }
    expect(kn.memory.active()).toBe(active);
    expect(kn.memory.buffers()).toBe(buffers);
  });

  it('an evalAsync loop under async tidy leaves active memory unchanged', async () => {
    const active = kn.memory.active(),
      buffers = kn.memory.buffers();
    for (let i = 0; i < 2_000; i++) {
      const v = await kn.tidy(async () => {
        const x = kn.arange(256).astype('float32').multiply(2).sum();
        await kn.evalAsync(x);
        return x.item();
      });
      expect(v).toBe(255 * 256);
    }
    expect(kn.memory.active()).toBe(active);
    expect(kn.memory.buffers()).toBe(buffers);
  });

  it('kn.keep takes arrays out of enclosing tidy scopes', () => {
    let kept: kn.NDArray | null = null;
    let dropped: kn.NDArray | null = null;
    kn.tidy(() => {
      kn.tidy(() => {
        kept = kn.keep({ a: kn.arange(3) }).a;
        dropped = kn.arange(3);
      });
    });
    expect(kept!.disposed).toBe(false);
    expect(dropped!.disposed).toBe(true);
    expect(kept!.tolist()).toEqual([0, 1, 2]);
    kept!.dispose();
  });

  it('tidy keeps returned trees and frees the rest', () => {
    const buffers = kn.memory.buffers();
    const out = kn.tidy(() => {
      const a = kn.ones([8]).eval();
      const b = kn.zeros([8]).eval();
      const c = a.add(b).eval();
      return { kept: [c], n: 3 };
    });
    expect(kn.memory.buffers()).toBe(buffers + 1);
    expect(out.kept[0].tolist()).toEqual(new Array(8).fill(1));
    kn.dispose(out);
    expect(kn.memory.buffers()).toBe(buffers);
  });

  it('nested tidy moves returned arrays to the enclosing scope', () => {
    const buffers = kn.memory.buffers();
    kn.tidy(() => {
      const inner = kn.tidy(() => kn.ones([4]).eval());
      expect(inner.disposed).toBe(false);
      return undefined; // inner now belongs to the outer scope and is freed here
    });
    expect(kn.memory.buffers()).toBe(buffers);
  });

  it('tidy frees arrays when the function throws', () => {
    const buffers = kn.memory.buffers();
    expect(() =>
      kn.tidy(() => {
        kn.ones([4]).eval();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(kn.memory.buffers()).toBe(buffers);
  });

  it('Symbol.dispose frees like dispose()', () => {
    const buffers = kn.memory.buffers();
    const a = kn.ones([16]).eval();
    expect(kn.memory.buffers()).toBe(buffers + 1);
    a[Symbol.dispose]();
    expect(a.disposed).toBe(true);
    expect(kn.memory.buffers()).toBe(buffers);
  });

  it('using a disposed array throws a clear error and leaves others intact', () => {
    const a = kn.array([1, 2, 3]);
    const b = a.add(1);
    a.dispose();
    expect(() => a.add(1)).toThrow(/disposed/);
    expect(() => a.tolist()).toThrow(/disposed/);
    expect(() => a.shape).toThrow(/disposed/);
    // b still depends on a's data, which stays alive through the graph
    expect(b.tolist()).toEqual([2, 3, 4]);
    a.dispose(); // disposing twice is harmless
  });

  it('intermediates are freed at their last use within one evaluation', () => {
    const n = MB; // 4 MiB per float32 array
    const x = kn.ones([n]).eval();
    const base = kn.memory.active();
    kn.memory.resetPeak();
    let y = x;
    const chain: kn.NDArray[] = [];
    for (let i = 0; i < 12; i++) {
      y = kn.exp(y.multiply(0.5)).add(i);
      chain.push(y);
    }
    y.eval();
    // 24 elementwise ops over 4 MiB each: with last-use freeing and donation the peak stays at
    // a few buffers, not 24
    const peakExtra = kn.memory.peak() - base;
    expect(peakExtra).toBeLessThanOrEqual(3 * 4 * MB + 4096);
    expect(peakExtra).toBeGreaterThanOrEqual(4 * MB);
    kn.dispose(chain, x);
  });

  it('donation never overwrites a buffer that is still needed', () => {
    const a = kn.array([1, 2, 3, 4], 'float32');
    const t = a.multiply(2); // intermediate read twice below
    const u = t.add(1);
    const v = t.multiply(t);
    const w = u.add(v);
    kn.eval(w, u);
    expect(a.tolist()).toEqual([1, 2, 3, 4]);
    expect(u.tolist()).toEqual([3, 5, 7, 9]);
    expect(w.tolist()).toEqual([7, 21, 43, 73]);
    // an unevaluated intermediate is computed later from its inputs
    expect(t.tolist()).toEqual([2, 4, 6, 8]);
    kn.dispose([a, t, u, v, w]);
  });

  it('a memory limit raises a clear error, and everything still works afterwards', () => {
    const before = kn.memory.buffers();
    const keep = kn.arange(10).eval();
    kn.memory.setLimit(kn.memory.active() + MB);
    const big = kn.ones([4 * MB]); // 16 MiB
    expect(() => big.eval()).toThrow(/\[memory\].*exceed the memory limit/);
    kn.memory.setLimit(0);
    expect(kn.tidy(() => big.sum().item())).toBe(4 * MB);
    expect(keep.tolist()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    kn.dispose([keep, big]);
    expect(kn.memory.buffers()).toBe(before);
  });

  it('the cache holds freed blocks and clearCache empties it', () => {
    const a = kn.ones([MB]).eval();
    a.dispose();
    expect(kn.memory.cache()).toBeGreaterThanOrEqual(4 * MB);
    kn.memory.clearCache();
    expect(kn.memory.cache()).toBe(0);
    kn.memory.setCacheLimit(0);
    const b = kn.ones([MB]).eval();
    b.dispose();
    expect(kn.memory.cache()).toBe(0);
    kn.memory.setCacheLimit(1 << 30);
  });

  it('evalAsync overlaps with building the next graph and orders later reads', async () => {
    const x = kn.arange(100_000).astype('float32');
    const p = kn.evalAsync(x);
    const y = x.multiply(2).sum(); // uses x before the async run has finished
    // float32 accumulation: the exact sum rounded to float32
    expect(y.item()).toBe(Math.fround(99_999 * 100_000));
    await p;
    kn.dispose([x, y]);
  });

  it('rejects bad arguments to the memory API', () => {
    expect(() => kn.memory.setLimit(-1)).toThrow(/setLimit/);
    expect(() => kn.memory.setCacheLimit(Number.NaN)).toThrow(/setCacheLimit/);
  });
});

describe('FinalizationRegistry safety net', () => {
  it('frees arrays that were dropped without dispose once GC runs and the event loop turns', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath, pathToFileURL } = await import('node:url');
    const root = fileURLToPath(new URL('..', import.meta.url));
    const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
    const index = pathToFileURL(`${root}index.ts`).href;
    const script = `
      const kn = await import(${JSON.stringify(index)});
      const start = kn.memory.buffers();
      for (let i = 0; i < 200; i++) kn.ones([1024]).add(i).eval(); // never disposed
      const leaked = kn.memory.buffers() - start;
      for (let i = 0; i < 10 && kn.memory.buffers() > start; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      console.log(JSON.stringify({ leaked, after: kn.memory.buffers() - start }));`;
    const res = spawnSync(process.execPath, ['--expose-gc', '--import', tsx, '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
    expect(out.leaked).toBeGreaterThanOrEqual(200);
    expect(out.after).toBe(0);
  });
});
