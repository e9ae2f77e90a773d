// Issue 17's numpy functions against numpy (fixtures/numpy_funcs_cases.json from
// fixtures/make_numpy_funcs_fixtures.py): stacking and editing, quantiles, nan-reductions,
// histograms, cov, sets, signal helpers, polynomials, index helpers and math; random samplers
// by their moments; methods, I/O, error messages and edge cases checked here directly. The
// linalg cases run in linalg_decomp.test.ts.
import { describe, it, expect } from 'vitest';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import * as kn from '../index.js';
import { close, f64, fixtureTests, numeric } from './helpers/numpy_fixture.js';

describe('issue 17 functions match numpy', () => {
  fixtureTests(it, (c) => !c.op.startsWith('linalg.') && c.op !== 'polyfit');
});

describe('random distributions', () => {
  const key = kn.random.key(2024);
  const mean = (a: kn.NDArray) => Number(a.astype('float64').mean().item());
  const variance = (a: kn.NDArray) => Number(kn.var(a.astype('float64')).item());
  const N = 10000;
  // moments within 5 standard errors (the keys are fixed, so these are deterministic)
  const near = (got: number, want: number, sd: number) => expect(Math.abs(got - want), `${got} vs ${want}`).toBeLessThan((5 * sd) / Math.sqrt(N));

  it('continuous samplers have the right mean and variance', () => {
    const e = kn.random.exponential(2, [N], { key });
    near(mean(e), 2, 2);
    near(variance(e), 4, 4 * Math.sqrt(8));
    for (const [k, th] of [
      [0.3, 1],
      [2.5, 2],
      [9, 0.5],
    ]) {
      const g = kn.random.gamma(k, th, [N], { key });
      near(mean(g), k * th, Math.sqrt(k) * th);
      near(variance(g), k * th * th, k * th * th * Math.sqrt(2 + 6 / k));
    }
    const b = kn.random.beta(2, 5, [N], { key });
    near(mean(b), 2 / 7, Math.sqrt(10 / (49 * 8)));
    const tiny = kn.random.beta(0.05, 0.05, [1000], { key });
    expect(Number(kn.sum(kn.isnan(tiny)).item())).toBe(0);
    const ln = kn.random.lognormal(0.5, 0.25, [N], { key });
    near(mean(ln), Math.exp(0.5 + 0.25 ** 2 / 2), 0.5);
    const d = kn.random.dirichlet([1, 2, 3], [N], { key });
    close(kn.sum(d, -1), kn.ones([N]), 1e-5);
    near(mean(d.index('...', 2)), 0.5, 0.2);
  });

  it('discrete samplers: poisson, binomial, multinomial', () => {
    for (const lam of [0.5, 7, 300]) {
      const p = kn.random.poisson(lam, [N], { key });
      expect(p.dtype).toBe('int32');
      near(mean(p), lam, Math.sqrt(lam));
      near(variance(p), lam, lam * Math.sqrt(2 + 1 / lam));
    }
    const pa = kn.random.poisson(kn.array([0, 3, 50]), [N, 3], { key });
    const m = (pa.astype('float64').mean(0).tolist() as number[]).map(Number);
    expect(m[0]).toBe(0);
    near(m[1], 3, Math.sqrt(3));
    near(m[2], 50, Math.sqrt(50));
    const bi = kn.random.binomial(20, 0.3, [N], { key });
    near(mean(bi), 6, Math.sqrt(4.2));
    near(variance(bi), 4.2, 4.2 * 1.5);
    const ba = kn.random.binomial(kn.array([5, 200]), kn.array([0.9, 0.1]), [N, 2], { key });
    const bm = ba.astype('float64').mean(0).tolist() as number[];
    near(bm[0], 4.5, Math.sqrt(0.45));
    near(bm[1], 20, Math.sqrt(18));
    expect(Number(kn.max(ba.index('...', 0)).item())).toBeLessThanOrEqual(5);
    expect(kn.random.binomial(7, 1, [3], { key }).tolist()).toEqual([7, 7, 7]);
    const mu = kn.random.multinomial(12, [0.1, 0.6, 0.3], [N], { key });
    expect(kn.arrayEqual(kn.sum(mu, -1), kn.full([N], 12, 'int32'))).toBe(true);
    near(mean(mu.index('...', 1)), 7.2, Math.sqrt(12 * 0.6 * 0.4));
  });

  it('choice, shuffle, rand/randn/random and defaultRng', () => {
    const c = kn.random.choice(kn.array([10, 20, 30]), { size: [N], p: [0.2, 0.3, 0.5], key });
    near(mean(kn.equal(c, 30)), 0.5, 0.5);
    const nr = kn.random.choice(10, { size: [10], replace: false, key });
    expect(kn.sort(nr).tolist()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const nrp = kn.random.choice(5, { size: [3], replace: false, p: [0.1, 0.2, 0.3, 0.4, 0], key });
    expect(new Set(nrp.tolist() as number[]).size).toBe(3);
    expect(nrp.tolist()).not.toContain(4);
    const x = kn.arange(6).reshape([3, 2]);
    const before = x;
    expect(kn.random.shuffle(x, { key })).toBe(before);
    expect(kn.sort(x.index('...', 0)).tolist()).toEqual([0, 2, 4]);
    expect(kn.random.rand(2, 3, { key }).shape).toEqual([2, 3]);
    expect(kn.random.randn(4).dtype).toBe('float32');
    expect(kn.random.random([5], { key, dtype: 'float64' }).dtype).toBe('float64');
    const r1 = kn.random.defaultRng(5),
      r2 = kn.random.defaultRng(5);
    expect(r1.normal(0, 1, [4]).tolist()).toEqual(r2.normal(0, 1, [4]).tolist());
    expect(r1.integers(0, 10, [4]).tolist()).toEqual(r2.integers(0, 10, [4]).tolist());
    expect(r1.random([3]).tolist()).not.toEqual(r1.random([3]).tolist());
    const ints = r1.integers(3, 5, [1000], { endpoint: true });
    expect(new Set(ints.tolist() as number[])).toEqual(new Set([3, 4, 5]));
    for (const name of [
      'uniform',
      'standardNormal',
      'exponential',
      'gamma',
      'beta',
      'poisson',
      'binomial',
      'choice',
      'shuffle',
      'permutation',
      'lognormal',
      'dirichlet',
      'multinomial',
    ])
      expect(typeof (r1 as unknown as Record<string, unknown>)[name], name).toBe('function');
  });

  it('bad parameters name the sampler and the value', () => {
    expect(() => kn.random.poisson(-1)).toThrow(/\[random\.poisson\] lam must be non-negative.*got -1/);
    expect(() => kn.random.binomial(5.5, 0.5)).toThrow(/\[random\.binomial\] n must be a non-negative integer, got 5\.5/);
    expect(() => kn.random.binomial(5, 1.5)).toThrow(/p must be in \[0, 1\], got 1\.5/);
    expect(() => kn.random.gamma(0)).toThrow(/\[random\.gamma\] shape must be positive, got 0/);
    expect(() => kn.random.choice(3, { size: [5], replace: false })).toThrow(/cannot take a larger sample \(5\) than population \(3\)/);
    expect(() => kn.random.choice(3, { p: [0.5, 0.6, 0.1] })).toThrow(/probabilities do not sum to 1/);
    expect(() => kn.random.dirichlet([1, -1])).toThrow(/alpha must be positive, got -1/);
    expect(() => kn.random.multinomial(3, [0.8, 0.8, 0])).toThrow(/sum\(pvals\[:-1\]\) = 1\.6 > 1/);
    expect(() => kn.random.defaultRng('x' as unknown as number)).toThrow(/\[random\.defaultRng\] seed must be/);
  });
});

describe('methods and edge cases', () => {
  it('methods numpy has: copy, ravel, dot, tobytes, compress, choose', () => {
    const a = kn.arange(6).reshape([2, 3]);
    const c = a.copy();
    expect(c.tolist()).toEqual(a.tolist());
    expect(c.node).not.toBe(a.node);
    expect(a.T.ravel().tolist()).toEqual([0, 3, 1, 4, 2, 5]);
    expect(a.dot(kn.ones([3], 'int32')).tolist()).toEqual([3, 12]);
    expect(Array.from(kn.array([1, 256], 'int16').tobytes())).toEqual([1, 0, 0, 1]);
    expect(Array.from(a.T.astype('uint8').tobytes())).toEqual([0, 3, 1, 4, 2, 5]);
    expect(a.compress([false, true], 0).tolist()).toEqual([[3, 4, 5]]);
    expect(
      kn
        .array([1, 0, 1])
        .choose([[1, 2, 3], 10])
        .tolist(),
    ).toEqual([10, 2, 10]);
  });

  it('frombuffer and tobytes round-trip every numeric dtype', () => {
    for (const dt of ['uint8', 'int16', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64', 'bool'] as const) {
      const x = kn.array([1, 0, 3, 2], dt);
      const y = kn.frombuffer(x.tobytes(), { dtype: dt });
      expect(y.dtype).toBe(dt);
      expect(y.tolist(), dt).toEqual(x.tolist());
    }
    const f = new Float64Array([1.5, -2, 7]);
    expect(kn.frombuffer(f.buffer).tolist()).toEqual([1.5, -2, 7]);
    expect(kn.frombuffer(f, { offset: 8, count: 1 }).tolist()).toEqual([-2]);
    expect(() => kn.frombuffer(new Uint8Array(5), { dtype: 'int32' })).toThrow(/\[frombuffer\] buffer size 5 .* multiple of the element size 4 of int32/);
    expect(() => kn.frombuffer(new Uint8Array(8), { count: 2 })).toThrow(/buffer is smaller than requested size/);
    expect(() => kn.frombuffer('abc' as unknown as ArrayBuffer)).toThrow(/\[frombuffer\] expected an ArrayBuffer/);
  });

  it('loadtxt and savetxt round-trip with numpy formats', () => {
    const p = `/tmp/kiln-numpy-funcs-${process.pid}.txt`;
    const x = f64([
      [1.5, -2, 1e-10],
      [3, 4.25, 6e20],
    ]);
    kn.savetxt(p, x);
    const text = readFileSync(p, 'utf8');
    // numpy.savetxt(p, x) writes exactly this (checked against numpy 2.x by hand)
    expect(text.split('\n')[0]).toBe('1.500000000000000000e+00 -2.000000000000000000e+00 1.000000000000000036e-10');
    expect(kn.loadtxt(p).tolist()).toEqual(x.tolist());
    kn.savetxt(
      p,
      kn.array([
        [1, 2],
        [3, 4],
      ]),
      { fmt: '%d', delimiter: ',', header: 'a,b' },
    );
    expect(readFileSync(p, 'utf8')).toBe('# a,b\n1,2\n3,4\n');
    expect(kn.loadtxt(p, { delimiter: ',', dtype: 'int32' }).tolist()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(kn.loadtxt(p, { delimiter: ',', usecols: 1 }).tolist()).toEqual([2, 4]);
    const [c0, c1] = kn.loadtxt(p, { delimiter: ',', unpack: true });
    expect([c0.tolist(), c1.tolist()]).toEqual([
      [1, 3],
      [2, 4],
    ]);
    kn.savetxt(p, f64([0.5, 1e-5, 123456789]), { fmt: '%.4g' });
    expect(readFileSync(p, 'utf8')).toBe('0.5\n1e-05\n1.235e+08\n');
    kn.savetxt(p, f64([[1, 2]]), { fmt: '%6.2f|%-5.1e' });
    expect(readFileSync(p, 'utf8')).toBe('  1.00|2.0e+00\n');
    expect(() => kn.loadtxt(p.replace('.txt', '-missing.txt'))).toThrow(/\[loadtxt\] cannot read/);
    writeFileSync(p, '1 2\n3 x\n');
    expect(() => kn.loadtxt(p)).toThrow(/\[loadtxt\] .* line 2: could not convert 'x' to float64/);
    writeFileSync(p, '1 2\n3\n');
    expect(() => kn.loadtxt(p)).toThrow(/line 2: the number of columns changed from 2 to 1/);
    writeFileSync(p, '5\n');
    expect(kn.loadtxt(p).shape).toEqual([]);
    expect(kn.loadtxt(p, { ndmin: 2 }).shape).toEqual([1, 1]);
    unlinkSync(p);
  });

  it('bad input names the op and the values', () => {
    expect(() => kn.vstack([])).toThrow(/\[vstack\] expects a non-empty list of arrays/);
    expect(() => kn.arraySplit(kn.arange(3), 0)).toThrow(/\[arraySplit\] number of sections must be a positive integer, got 0/);
    expect(() => kn.insert(kn.arange(3), 5, 1)).toThrow(/\[insert\] index 5 is out of bounds for axis of size 3/);
    expect(() => kn.delete(kn.arange(3), [3])).toThrow(/\[delete\] index 3 is out of bounds/);
    expect(() => kn.rot90(kn.arange(3))).toThrow(/\[rot90\] needs an array of at least 2 dimensions/);
    expect(() => kn.dot(kn.ones([2, 3]), kn.ones([2]))).toThrow(/\[dot\] shapes \[2, 3\] and \[2\] are not aligned/);
    expect(() => kn.quantile(kn.arange(3), 1.5)).toThrow(/\[quantile\] quantiles must be in the range \[0, 1\], got 1\.5/);
    expect(() => kn.percentile(kn.arange(3), 50, { method: 'cubic' as 'linear' })).toThrow(/\[percentile\] method must be one of/);
    expect(() => kn.nanargmax(f64([NaN, NaN]))).toThrow(/\[nanargmax\] All-NaN slice encountered/);
    expect(() => kn.average(f64([1, 2]), null, { weights: [1, -1] })).toThrow(/\[average\] weights sum to zero/);
    expect(() => kn.average(kn.ones([2, 3]), 1, { weights: [1, 2] })).toThrow(/length of weights \(2\) differs from the length of axis 1 \(3\)/);
    expect(() => kn.histogram(f64([1, NaN]))).toThrow(/\[histogram\] autodetected range of \[NaN, NaN\] is not finite/);
    expect(() => kn.histogram(f64([1, 2]), [3, 1])).toThrow(/\[histogram\] bins must increase monotonically/);
    expect(() => kn.bincount(kn.array([1, -1]))).toThrow(/\[bincount\] x must be non-negative, got a minimum of -1/);
    expect(() => kn.bincount(f64([1]))).toThrow(/\[bincount\] x must hold integers, got float64/);
    expect(() => kn.digitize(f64([1]), f64([1, 3, 2]))).toThrow(/\[digitize\] bins must be monotonically increasing or decreasing/);
    expect(() => kn.cov(kn.ones([2, 2, 2]))).toThrow(/\[cov\] m has more than 2 dimensions/);
    expect(() => kn.convolve(kn.ones([0]), kn.ones([2]))).toThrow(/\[convolve\] a cannot be empty/);
    expect(() => kn.convolve(kn.ones([2]), kn.ones([2]), 'half' as 'full')).toThrow(/mode must be 'full', 'same' or 'valid', got "half"/);
    expect(() => kn.interp(f64([1]), f64([1, 2]), f64([1]))).toThrow(/\[interp\] fp and xp are not of the same length \(1 and 2\)/);
    expect(() => kn.gradient(f64([1]))).toThrow(/\[gradient\] shape of the array too small/);
    expect(() => kn.polyfit(f64([1, 2]), f64([1, 2, 3]), 1)).toThrow(/\[polyfit\] expected x and y to have the same length, got 2 and 3/);
    expect(() => kn.unravelIndex(kn.array([42]), [7, 6])).toThrow(/\[unravelIndex\] index 42 is out of bounds for array with size 42/);
    expect(() => kn.ravelMultiIndex([kn.array([7]), kn.array([0])], [7, 6])).toThrow(/\[ravelMultiIndex\] invalid entry in coordinates array: 7/);
    expect(() => kn.choose(kn.array([3]), [[1], [2]])).toThrow(/\[choose\] invalid entry in choice array: 3 for 2 choices/);
    expect(() => kn.select([kn.array([1])], [kn.array([1])])).toThrow(/\[select\] invalid entry 0 in condlist: should be boolean/);
    expect(() => kn.compress([true, false, false, true], kn.arange(3))).toThrow(/\[compress\] index 3 is out of bounds for axis 0 with size 3/);
    expect(() => kn.geomspace(0, 10)).toThrow(/\[geomspace\] geometric sequence cannot include zero/);
    expect(() => kn.gcd(f64([1]), 2)).toThrow(/\[gcd\] is defined for integer arrays only, got float64/);
    expect(() => kn.lexsort([kn.arange(3), kn.arange(4)])).toThrow(/\[lexsort\] all keys need to be 1-d of the same length/);
  });

  it('edge cases: empty inputs, insert into empty, NaN handling of sets', () => {
    expect(kn.insert(kn.zeros([0], 'int32'), 0, [1, 2]).tolist()).toEqual([1, 2]);
    expect(kn.delete(kn.arange(3), []).tolist()).toEqual([0, 1, 2]);
    expect(kn.union1d(f64([NaN, 1]), f64([NaN])).tolist()).toEqual([1, NaN]);
    expect(kn.intersect1d(f64([NaN, 1]), f64([NaN, 1])).tolist()).toEqual([1]);
    expect(kn.setdiff1d(f64([NaN, 1]), f64([NaN])).tolist()).toEqual([1, NaN]);
    expect(kn.isin(kn.arange(3), []).tolist()).toEqual([false, false, false]);
    expect(kn.bincount(kn.zeros([0], 'int32'), { minlength: 2 }).tolist()).toEqual([0, 0]);
    const h = kn.histogram(kn.zeros([0]), 2);
    expect(h[0].tolist()).toEqual([0, 0]);
    const a = kn.arange(4);
    kn.place(a, kn.array([false, true, false, true]), [9]);
    expect(a.tolist()).toEqual([0, 9, 2, 9]);
    expect(kn.empty([2, 3]).shape).toEqual([2, 3]);
    expect(kn.emptyLike(kn.ones([2], 'int16')).dtype).toBe('int16');
  });

  it('gradients flow through the composites (dot, quantile, interp, trapezoid)', () => {
    const x = f64([0.3, -1.2, 2.5, 0.7]);
    const checks: [string, (v: kn.NDArray) => kn.NDArray][] = [
      ['dot', (v) => kn.dot(v, f64([1, 2, 3, 4]))],
      ['quantile', (v) => kn.quantile(v, 0.3)],
      ['trapezoid', (v) => kn.trapezoid(kn.square(v))],
      ['nanmean', (v) => kn.nanmean(kn.square(v))],
      ['hypot', (v) => kn.sum(kn.hypot(v, 1.5))],
      ['cov', (v) => kn.sum(kn.cov(kn.stack([v, kn.square(v)])))],
    ];
    for (const [name, f] of checks) {
      const g = kn.grad((v: kn.NDArray) => kn.sum(f(v)))(x);
      expect(
        kn.allclose(
          g,
          numeric((v) => kn.sum(f(v)), x),
          { atol: 1e-6, rtol: 1e-6 },
        ),
        name,
      ).toBe(true);
    }
  });
});
