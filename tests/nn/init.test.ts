// kn.nn.init: shapes, dtypes, keys, and the moments each initializer promises.
import { describe, it, expect } from 'vitest';
import * as kn from '../../index.js';

const init = kn.nn.init;
const stats = (a: kn.NDArray) => {
  const v = Array.from(kn.astype(a, 'float64').toTypedArray() as Float64Array);
  const m = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / v.length);
  return { m, sd, min: Math.min(...v), max: Math.max(...v) };
};

describe('kn.nn.init', () => {
  it('fans follow the [out, ...receptive, in] layout', () => {
    expect(init.fans(kn.zeros([8, 3]))).toEqual([3, 8]);
    expect(init.fans(kn.zeros([8, 3, 3, 4]))).toEqual([36, 72]);
    expect(() => init.fans(kn.zeros([5]))).toThrow(/at least 2 dimensions/);
  });

  it('constant and identity', () => {
    expect(
      init
        .constant(0.5)(kn.zeros([2, 2]))
        .tolist(),
    ).toEqual([
      [0.5, 0.5],
      [0.5, 0.5],
    ]);
    expect(init.constant(3, { dtype: 'int32' })(kn.zeros([2])).dtype).toBe('int32');
    expect(
      init
        .identity()(kn.zeros([3, 3]))
        .tolist(),
    ).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(() => init.identity()(kn.zeros([2, 3]))).toThrow(/\[init.identity\] needs a square 2-D array, got shape \[2, 3\]/);
  });

  it('normal and uniform: moments, range, dtype, keys', () => {
    const n = init.normal(2, 0.5, { dtype: 'float64' })(kn.zeros([200, 100]), { key: kn.random.key(0) });
    expect(n.dtype).toBe('float64');
    const s = stats(n);
    expect(Math.abs(s.m - 2)).toBeLessThan(0.02);
    expect(Math.abs(s.sd - 0.5)).toBeLessThan(0.02);
    const u = init.uniform(-3, 1)(kn.zeros([20000]), { key: kn.random.key(1) });
    const su = stats(u);
    expect(su.min).toBeGreaterThanOrEqual(-3);
    expect(su.max).toBeLessThan(1);
    expect(Math.abs(su.m + 1)).toBeLessThan(0.05);
    expect(Math.abs(su.sd - 4 / Math.sqrt(12))).toBeLessThan(0.03);
    expect(() => init.uniform(1, 1)).toThrow(/low \(1\) must be below high \(1\)/);
  });

  it('the same key gives the same array; the factory key is the default, the call key wins', () => {
    const f = init.normal(0, 1, { key: kn.random.key(5) });
    const a = f(kn.zeros([4])).tolist(),
      b = f(kn.zeros([4])).tolist();
    expect(a).toEqual(b);
    expect(f(kn.zeros([4]), { key: kn.random.key(6) }).tolist()).not.toEqual(a);
    expect(
      init
        .normal()(kn.zeros([4]), { key: kn.random.key(5) })
        .tolist(),
    ).toEqual(a);
  });

  it('glorot and he scales', () => {
    const w = kn.zeros([300, 200]);
    const gn = stats(init.glorotNormal()(w, 1, { key: kn.random.key(2) }));
    expect(Math.abs(gn.sd / Math.sqrt(2 / 500) - 1)).toBeLessThan(0.02);
    const gu = stats(init.glorotUniform()(w, 2, { key: kn.random.key(3) }));
    const lim = 2 * Math.sqrt(6 / 500);
    expect(gu.max).toBeLessThanOrEqual(lim);
    expect(gu.min).toBeGreaterThanOrEqual(-lim);
    expect(gu.max).toBeGreaterThan(0.99 * lim);
    const hn = stats(init.heNormal()(w, 'fanIn', 1, { key: kn.random.key(4) }));
    expect(Math.abs(hn.sd / Math.sqrt(1 / 200) - 1)).toBeLessThan(0.02);
    const hno = stats(init.heNormal()(w, 'fanOut', 2, { key: kn.random.key(5) }));
    expect(Math.abs(hno.sd / (2 / Math.sqrt(300)) - 1)).toBeLessThan(0.02);
    const hu = stats(init.heUniform()(w, 'fanIn', 1, { key: kn.random.key(6) }));
    expect(hu.max).toBeLessThanOrEqual(Math.sqrt(3 / 200));
    expect(Math.abs(hu.sd / Math.sqrt(1 / 200) - 1)).toBeLessThan(0.02);
    expect(() => init.heNormal()(w, 'fan' as 'fanIn')).toThrow(/mode must be 'fanIn' or 'fanOut'/);
  });

  it('initializers plug into Module.apply', () => {
    const l = new kn.nn.Linear(3, 2);
    const f = init.constant(0.25);
    l.apply((p) => f(p));
    expect(l.weight.tolist()).toEqual([
      [0.25, 0.25, 0.25],
      [0.25, 0.25, 0.25],
    ]);
  });
});
