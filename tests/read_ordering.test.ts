// A native read waits for the run that writes what it reads, not for runs queued after it (decode
// queues step n+1 before reading step n's token). These check the values such reads return while
// later runs, which read the same buffers, are still queued or running.
import { describe, expect, it } from 'vitest';
import * as kn from '../index.js';

describe('reads between queued asynchronous runs', () => {
  it('reading step n while step n+1 (which consumes it) is queued gives step n', async () => {
    let x = kn.arange(0, 4096, 1, 'float32');
    kn.eval(x);
    const expected = Float64Array.from({ length: 4096 }, (_, i) => i);
    const pending: Promise<void>[] = [];
    for (let step = 0; step < 12; step++) {
      // y = x * 0.5 + step, with a matmul in between so the run takes a while
      const y = kn.add(kn.multiply(x, 0.5), step);
      const z = kn.matmul(kn.ones([256, 256], 'float32'), kn.ones([256, 256], 'float32')).sum();
      pending.push(kn.evalAsync(y, z));
      const next = kn.add(kn.multiply(y, 1), 0); // queued behind y, reads y
      pending.push(kn.evalAsync(next));
      const got = y.toTypedArray() as Float32Array;
      for (let i = 0; i < expected.length; i++) expected[i] = Math.fround(Math.fround(expected[i] * 0.5) + step);
      expect(Array.from(got.subarray(0, 5))).toEqual(Array.from(expected.subarray(0, 5)));
      expect(got).toEqual(Float32Array.from(expected));
      expect(z.item()).toBe(256 * 256 * 256);
      x = next;
    }
    await Promise.all(pending);
    expect(x.toTypedArray()).toEqual(Float32Array.from(expected));
  });

  it('an array read before its own run is queued still evaluates it first', () => {
    const a = kn.multiply(kn.arange(0, 8, 1, 'int32'), 3);
    const later = kn.evalAsync(kn.add(kn.ones([512, 512]), 1).sum());
    expect(a.tolist()).toEqual([0, 3, 6, 9, 12, 15, 18, 21]);
    return later;
  });

  it('a synchronous evaluation between queued runs leaves both results correct', async () => {
    const ok = kn.add(kn.arange(0, 4, 1, 'float32'), 1);
    const p = kn.evalAsync(ok);
    const b = kn.add(kn.arange(0, 4, 1, 'float32'), 2);
    kn.eval(b);
    await p;
    expect(ok.tolist()).toEqual([1, 2, 3, 4]);
    expect(b.tolist()).toEqual([2, 3, 4, 5]);
  });
});
