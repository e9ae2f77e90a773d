// Helpers for the compile tests: comparing compiled results with the uncompiled function.
import { expect } from 'vitest';
import * as kn from '../../index.js';

/** Every element as a JS number (bigints converted), NaN kept. */
export function values(a: kn.NDArray): number[] {
  return Array.from(a.toTypedArray() as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * Expects `got` to equal `want`: same shape and dtype, and elements equal bit for bit (NaN equal
 * to NaN, -0 distinct from 0) or, with `rtol`, within rtol·|want| + atol.
 */
export function expectSame(got: unknown, want: unknown, opts: { rtol?: number; atol?: number } = {}, path = 'result'): void {
  if (want instanceof kn.NDArray) {
    expect(got, `${path} is an array`).toBeInstanceOf(kn.NDArray);
    const g = got as kn.NDArray;
    expect(g.shape, `${path} shape`).toEqual(want.shape);
    expect(g.dtype, `${path} dtype`).toBe(want.dtype);
    const a = values(g),
      b = values(want);
    const rtol = opts.rtol ?? 0,
      atol = opts.atol ?? 0;
    for (let i = 0; i < b.length; i++) {
      const x = a[i],
        y = b[i];
      if (Number.isNaN(y)) {
        if (!Number.isNaN(x)) expect.fail(`${path}[${i}]: got ${x}, want NaN`);
        continue;
      }
      if (rtol === 0 && atol === 0) {
        if (!Object.is(x, y)) expect.fail(`${path}[${i}]: got ${x}, want ${y} (exact)`);
      } else if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y)) && x !== y) {
        expect.fail(`${path}[${i}]: got ${x}, want ${y} (rtol ${rtol}, atol ${atol})`);
      }
    }
    return;
  }
  if (Array.isArray(want)) {
    expect(Array.isArray(got), `${path} is a list`).toBe(true);
    expect((got as unknown[]).length).toBe(want.length);
    want.forEach((w, i) => expectSame((got as unknown[])[i], w, opts, `${path}[${i}]`));
    return;
  }
  if (want !== null && typeof want === 'object') {
    expect(Object.keys(got as object).sort()).toEqual(Object.keys(want).sort());
    for (const k of Object.keys(want)) expectSame((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], opts, `${path}.${k}`);
    return;
  }
  expect(got, path).toEqual(want);
}

/** A seeded normal array (float32 unless given). */
export function normal(shape: number[], seed: number, dtype: kn.DType = 'float32'): kn.NDArray {
  return kn.random
    .normal(shape, { key: kn.random.key(seed) })
    .astype(dtype)
    .eval();
}

/** Compiles `fn`, runs both twice (a trace, then a replay) and compares with the eager result. */
export function agree<A extends unknown[]>(fn: (...a: A) => unknown, args: A, opts: { rtol?: number; atol?: number } = {}): kn.CompiledInfo {
  const c = kn.compile(fn);
  const want = fn(...args);
  expectSame(c(...args), want, opts, 'traced call');
  expectSame(c(...args), want, opts, 'replayed call');
  expect(c.info.traces).toBe(1);
  return c.info;
}
