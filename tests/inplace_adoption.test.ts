// Eager evaluation lets an in-place kernel write over an evaluated input nobody can read again
// (core/lowering.ts adoptDead): the KV cache's row writes. Every case checks values; the ones
// that must not adopt check that the old data survives.
import { describe, expect, it } from 'vitest';
import * as kn from '../index.js';

const N = 1 << 16; // 256 KiB of float32

/** x with element 0 set to v, through a scatter whose base is a view of x (what the KV cache does). */
function setFirst(x: kn.NDArray, v: number): kn.NDArray {
  return kn.tidy(() => kn.sliceUpdate(x, kn.full([1], v), [0]));
}

describe('in-place adoption of dead evaluated buffers', () => {
  it('an elementwise op over a buffer whose only handle is gone writes in place (no second buffer)', () => {
    let x = kn.zeros([N]).eval();
    kn.memory.resetPeak();
    const before = kn.memory.active();
    for (let i = 0; i < 20; i++) {
      // built inside tidy, the old handle disposed before evaluation: nothing else holds x
      x = kn.tidy(() => {
        const y = kn.add(x, 1);
        x.dispose();
        return kn.keep(y.eval());
      });
    }
    expect(kn.memory.peak() - before).toBeLessThan(N * 4);
    expect(x.index(7).item()).toBe(20);
  });

  it('put_ writes in place when nothing else holds the array', () => {
    const x = kn.zeros([N]);
    kn.put_(x, [kn.sliceOf(0, 1)], 0);
    x.eval();
    const start = kn.memory.active();
    kn.memory.resetPeak();
    for (let i = 0; i < 10; i++)
      kn.tidy(() => {
        kn.put_(x, [kn.sliceOf(i, i + 1)], i + 1);
        x.eval();
      });
    // the int32 positions put_ builds take N * 4 bytes; a copy of x would take another N * 4
    expect(kn.memory.peak() - start).toBeLessThan(1.5 * N * 4);
    expect(x.index(kn.sliceOf(0, 11)).tolist()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0]);
  });

  it('a live view of the old buffer keeps its values (copy on write)', () => {
    const x = kn.arange(8, 'float32').eval();
    const view = x.index(kn.sliceOf(0, 4));
    const y = setFirst(x, 100).eval();
    expect(y.tolist()).toEqual([100, 1, 2, 3, 4, 5, 6, 7]);
    expect(view.tolist()).toEqual([0, 1, 2, 3]);
    expect(x.tolist()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('an intermediate that a handle still holds is recomputed later from intact inputs', () => {
    // v1 = v0 * 0.9 is evaluated only as part of p; reading v1 later recomputes it from v0
    let v0: kn.NDArray | null = kn.full([4], 1, 'float64').eval();
    const v1 = kn.multiply(v0, 0.9);
    const p = kn.subtract(kn.full([4], 5, 'float64'), v1);
    v0.dispose();
    v0 = null;
    expect(p.tolist()).toEqual([4.1, 4.1, 4.1, 4.1]);
    expect(v1.tolist()).toEqual([0.9, 0.9, 0.9, 0.9]);
  });

  it('no adoption inside a gradient trace (the trace reads its inputs again)', () => {
    const f = (a: kn.NDArray) => {
      const b = kn.multiply(a, a).eval();
      return kn.sum(kn.multiply(b, 3));
    };
    const g = kn.grad(f)(kn.array([1, 2, 3], 'float32'));
    expect(g.tolist()).toEqual([6, 12, 18]); // d(3a²)/da
  });

  it('a memory-mapped array is never written (its buffer is the whole file)', () => {
    const path = `/tmp/kiln-adopt-${process.pid}.safetensors`;
    kn.saveSafetensors(path, { w: kn.arange(4, 'float32') });
    let w: kn.NDArray | null = kn.loadSafetensors(path).tensors.w;
    const y = kn.tidy(() => {
      const r = kn.add(w!, 1);
      w!.dispose();
      return r.eval();
    });
    w = null;
    expect(y.tolist()).toEqual([1, 2, 3, 4]);
    expect(kn.loadSafetensors(path).tensors.w.tolist()).toEqual([0, 1, 2, 3]);
  });
});
