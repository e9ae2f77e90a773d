// kn.random: threefry2x32-20 bit-exactness (Random123 known answers, checked against a BigInt
// reference written here), JAX's key/split/bits layout, determinism, thread-count independence,
// and distribution tests on 1e5 samples with fixed keys (bounds at ~5 standard errors).
import { describe, it, expect } from 'vitest';
import * as kn from '../index.js';
import { mulberry32 } from './helpers/rng.js';

// ---- an independent reference: threefry2x32-20 in BigInt, straight from the Random123 spec ----
const M32 = 0xffffffffn;
function threefryRef(key: [bigint, bigint], ctr: [bigint, bigint]): [bigint, bigint] {
  const R = [13n, 15n, 26n, 6n, 17n, 29n, 16n, 24n];
  const ks = [key[0], key[1], 0x1bd11bdan ^ key[0] ^ key[1]];
  let x0 = (ctr[0] + ks[0]) & M32,
    x1 = (ctr[1] + ks[1]) & M32;
  for (let round = 0; round < 20; round++) {
    x0 = (x0 + x1) & M32;
    const r = R[round % 8];
    x1 = ((x1 << r) | (x1 >> (32n - r))) & M32;
    x1 ^= x0;
    if (round % 4 === 3) {
      const inj = BigInt((round + 1) / 4);
      x0 = (x0 + ks[Number(inj % 3n)]) & M32;
      x1 = (x1 + ks[Number((inj + 1n) % 3n)] + inj) & M32;
    }
  }
  return [x0, x1];
}

/** JAX's threefry_random_bits layout: counters 0..n-1 (padded with one 0 when odd) split in halves. */
function bitsRef(key: [bigint, bigint], n: number): number[] {
  const half = Math.ceil(n / 2);
  const ctr = Array.from({ length: 2 * half }, (_, i) => (i < n ? BigInt(i) : 0n));
  const a: number[] = [],
    b: number[] = [];
  for (let i = 0; i < half; i++) {
    const [y0, y1] = threefryRef(key, [ctr[i], ctr[half + i]]);
    a.push(Number(y0));
    b.push(Number(y1));
  }
  return [...a, ...b].slice(0, n);
}

// uint32 test inputs from the suites' shared PRNG (not under test)
const uint32s = (seed: number): (() => number) => {
  const r = mulberry32(seed);
  return () => Math.floor(r() * 2 ** 32);
};

const u32 = (xs: number[]) => kn.array(Uint32Array.from(xs));
const K = (s: number) => kn.random.key(s);
const vals = (a: kn.NDArray) => Array.from(a.toTypedArray() as ArrayLike<number>, Number);

function moments(x: number[]) {
  const n = x.length;
  const mean = x.reduce((p, v) => p + v, 0) / n;
  const v = x.reduce((p, t) => p + (t - mean) ** 2, 0) / n;
  return { mean, var: v };
}

/** Kolmogorov–Smirnov statistic of samples against a CDF. */
function ks(x: number[], cdf: (v: number) => number): number {
  const s = x.slice().sort((p, q) => p - q);
  const n = s.length;
  let d = 0;
  s.forEach((v, i) => {
    const f = cdf(v);
    d = Math.max(d, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
  });
  return d;
}

// erf for the normal CDF (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7; KS bounds are ~5e-3)
function erfRef(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
const normalCdf = (v: number) => 0.5 * (1 + erfRef(v / Math.SQRT2));

const N = 100_000;
const KS_BOUND = 1.95 / Math.sqrt(N); // alpha = 0.001

describe('threefry2x32-20', () => {
  const KAT: [[number, number], [number, number], [number, number]][] = [
    [
      [0, 0],
      [0, 0],
      [0x6b200159, 0x99ba4efe],
    ],
    [
      [0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      [0x1cb996fc, 0xbb002be7],
    ],
    [
      [0x13198a2e, 0x03707344],
      [0x243f6a88, 0x85a308d3],
      [0xc4923a9c, 0x483df7a0],
    ],
  ];

  it('the BigInt reference reproduces the Random123 known answers', () => {
    for (const [k, c, want] of KAT) {
      const got = threefryRef([BigInt(k[0]), BigInt(k[1])], [BigInt(c[0]), BigInt(c[1])]).map(Number);
      expect(got).toEqual(want);
    }
  });

  it('the lazy uint32 kernels reproduce the known answers (batched keys)', () => {
    const keys = kn.array(Uint32Array.from(KAT.flatMap(([k]) => k))).reshape([3, 2]);
    const [y0, y1] = kn.random.threefry2x32(keys, u32(KAT.map(([, c]) => c[0])), u32(KAT.map(([, c]) => c[1])));
    expect(y0.dtype).toBe('uint32');
    expect(y0.tolist()).toEqual(KAT.map(([, , w]) => w[0]));
    expect(y1.tolist()).toEqual(KAT.map(([, , w]) => w[1]));
  });

  it('matches the reference on 2000 random keys and counters', () => {
    const r = uint32s(11);
    const n = 2000;
    const k = Array.from({ length: 2 * n }, r),
      c0 = Array.from({ length: n }, r),
      c1 = Array.from({ length: n }, r);
    const [y0, y1] = kn.random.threefry2x32(u32(k).reshape([n, 2]), u32(c0), u32(c1));
    const g0 = vals(y0),
      g1 = vals(y1);
    for (let i = 0; i < n; i++) {
      const [w0, w1] = threefryRef([BigInt(k[2 * i]), BigInt(k[2 * i + 1])], [BigInt(c0[i]), BigInt(c1[i])]);
      expect([g0[i], g1[i]]).toEqual([Number(w0), Number(w1)]);
    }
  });

  it('does not depend on the thread count', () => {
    const draw = () => vals(kn.random.bits([50_001], { key: K(5) })).concat(vals(kn.random.normal([20_000], { key: K(6) })));
    kn.setNumThreads(1);
    const one = draw();
    kn.setNumThreads(0);
    const many = draw();
    expect(many).toEqual(one);
  });
});

describe('keys, split, bits', () => {
  it('key(seed) holds the high and low words, as JAX PRNGKey and MLX key', () => {
    expect(K(0).tolist()).toEqual([0, 0]);
    expect(K(42).tolist()).toEqual([0, 42]);
    expect(K(2 ** 32 + 7).tolist()).toEqual([1, 7]);
    expect(kn.random.key(-1n).tolist()).toEqual([0xffffffff, 0xffffffff]);
    expect(K(0).dtype).toBe('uint32');
  });

  it("split and bits follow JAX's counter layout (even and odd counts)", () => {
    for (const n of [0, 1, 2, 3, 7, 10]) expect(kn.random.bits([n], { key: K(3) }).tolist()).toEqual(bitsRef([0n, 3n], n));
    expect(
      kn.random
        .bits([2, 3], { key: K(3) })
        .reshape([6])
        .tolist(),
    ).toEqual(bitsRef([0n, 3n], 6));
    // jax.random.split(jax.random.PRNGKey(0)) with the original (non-partitionable) threefry
    expect(kn.random.split(K(0)).tolist()).toEqual([
      [4146024105, 967050713],
      [2718843009, 1272950319],
    ]);
    const s = kn.random.split(K(9), 3);
    expect(s.shape).toEqual([3, 2]);
    expect(s.reshape([6]).tolist()).toEqual(bitsRef([0n, 9n], 6));
  });

  it('uniform and normal for float32 agree with JAX (PRNGKey(0): 0.41845703, -0.20584226)', () => {
    expect(kn.random.uniform(0, 1, [], { key: K(0) }).item()).toBe(Math.fround(0.41845703125));
    expect(kn.random.normal([], { key: K(0) }).item()).toBeCloseTo(-0.20584226, 6);
  });

  it('bits widths 1 and 2 keep the low bytes', () => {
    const w = vals(kn.random.bits([5], { key: K(1) }));
    expect(kn.random.bits([5], { key: K(1), width: 2 }).dtype).toBe('uint16');
    expect(vals(kn.random.bits([5], { key: K(1), width: 2 }))).toEqual(w.map((v) => v & 0xffff));
    expect(vals(kn.random.bits([5], { key: K(1), width: 1 }))).toEqual(w.map((v) => v & 0xff));
  });

  it('is deterministic for a key, and split keys give different streams', () => {
    const a = vals(kn.random.uniform(0, 1, [1000], { key: K(4) }));
    expect(vals(kn.random.uniform(0, 1, [1000], { key: K(4) }))).toEqual(a);
    const [k1, k2] = kn.unstack(kn.random.split(K(4)));
    const b = vals(kn.random.uniform(0, 1, [N], { key: k1 })),
      c = vals(kn.random.uniform(0, 1, [N], { key: k2 }));
    expect(b.slice(0, 1000)).not.toEqual(a);
    // correlation of independent uniforms: sd 1/sqrt(N)
    const mb = moments(b).mean,
      mc = moments(c).mean;
    let cov = 0;
    for (let i = 0; i < N; i++) cov += (b[i] - mb) * (c[i] - mc);
    expect(Math.abs(cov / N / (1 / 12))).toBeLessThan(5 / Math.sqrt(N));
  });

  it('the global key: seed() makes draws reproducible, successive draws differ', () => {
    kn.random.seed(123);
    const a = vals(kn.random.uniform(0, 1, [8]));
    const b = vals(kn.random.uniform(0, 1, [8]));
    kn.random.seed(123);
    expect(vals(kn.random.uniform(0, 1, [8]))).toEqual(a);
    expect(b).not.toEqual(a);
    // the sequence is MLX's: each draw splits the global key and uses the second half
    const [g1, sub1] = kn.unstack(kn.random.split(K(123)));
    expect(a).toEqual(vals(kn.random.uniform(0, 1, [8], { key: sub1 })));
    const sub2 = kn.unstack(kn.random.split(g1))[1];
    expect(b).toEqual(vals(kn.random.uniform(0, 1, [8], { key: sub2 })));
  });

  it('the global key survives kn.tidy', () => {
    kn.random.seed(1);
    kn.tidy(() => kn.random.normal([4]).sum());
    expect(() => kn.random.normal([4]).tolist()).not.toThrow();
  });
});

describe('distributions (1e5 samples, fixed keys)', () => {
  const se = (sd: number) => (5 * sd) / Math.sqrt(N);

  it('uniform: range, moments and KS against the uniform CDF; bounds and dtypes', () => {
    const x = vals(kn.random.uniform(0, 1, [N], { key: K(10) }));
    expect(Math.min(...x)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...x)).toBeLessThan(1);
    const m = moments(x);
    expect(Math.abs(m.mean - 0.5)).toBeLessThan(se(Math.sqrt(1 / 12)));
    expect(Math.abs(m.var - 1 / 12)).toBeLessThan(se(Math.sqrt(1 / 180)));
    expect(ks(x, (v) => v)).toBeLessThan(KS_BOUND);
    const y = vals(kn.random.uniform(-3, 5, [N], { key: K(11) }));
    expect(Math.min(...y)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...y)).toBeLessThan(5);
    expect(ks(y, (v) => (v + 3) / 8)).toBeLessThan(KS_BOUND);
    for (const dt of ['float16', 'bfloat16', 'float64'] as const) {
      const z = kn.random.uniform(1, 2, [N], { key: K(12), dtype: dt });
      expect(z.dtype).toBe(dt);
      const v = vals(z);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...v), dt).toBeLessThan(2);
      expect(Math.abs(moments(v).mean - 1.5)).toBeLessThan(se(0.3));
    }
  });

  it('uniform with array bounds broadcasts to the shape', () => {
    const lo = kn.array([[0], [10]]),
      hi = kn.array([[1], [20]]);
    const x = kn.random.uniform(lo, hi, [2, 1000], { key: K(13) }).tolist() as number[][];
    expect(x[0].every((v) => v >= 0 && v < 1)).toBe(true);
    expect(x[1].every((v) => v >= 10 && v < 20)).toBe(true);
    expect(() => kn.random.uniform(kn.zeros([3]), 1, [2])).toThrow('[random.uniform] parameters of shapes [3], [] do not broadcast to the sample shape [2]');
  });

  it('normal: moments and KS; loc/scale; other dtypes', () => {
    const x = vals(kn.random.normal([N], { key: K(20) }));
    const m = moments(x);
    expect(Math.abs(m.mean)).toBeLessThan(se(1));
    expect(Math.abs(m.var - 1)).toBeLessThan(se(Math.SQRT2));
    expect(ks(x, normalCdf)).toBeLessThan(KS_BOUND);
    expect(x.every(Number.isFinite)).toBe(true);
    const y = vals(kn.random.normal([N], { key: K(21), loc: 3, scale: 0.5, dtype: 'float64' }));
    expect(Math.abs(moments(y).mean - 3)).toBeLessThan(se(0.5));
    expect(Math.abs(Math.sqrt(moments(y).var) - 0.5)).toBeLessThan(0.01);
    for (const dt of ['float16', 'bfloat16'] as const) {
      const z = kn.random.normal([1000], { key: K(22), dtype: dt });
      expect(z.dtype).toBe(dt);
      expect(Math.abs(moments(vals(z)).mean)).toBeLessThan(0.2);
    }
    expect(kn.random.normal({ key: K(1) }).shape).toEqual([]);
  });

  it('truncatedNormal stays in bounds with the truncated mean', () => {
    const a = -0.5,
      b = 2;
    const x = vals(kn.random.truncatedNormal(a, b, [N], { key: K(30) }));
    expect(Math.min(...x)).toBeGreaterThanOrEqual(a);
    expect(Math.max(...x)).toBeLessThanOrEqual(b);
    const phi = (v: number) => Math.exp((-v * v) / 2) / Math.sqrt(2 * Math.PI);
    const Z = normalCdf(b) - normalCdf(a);
    const mean = (phi(a) - phi(b)) / Z;
    expect(Math.abs(moments(x).mean - mean)).toBeLessThan(se(1));
    const cdf = (v: number) => (normalCdf(v) - normalCdf(a)) / Z;
    expect(ks(x, cdf)).toBeLessThan(KS_BOUND);
    expect(kn.random.truncatedNormal(kn.zeros([3]), 1, null, { key: K(1) }).shape).toEqual([3]);
  });

  it('randint: range, uniform buckets, dtypes and array bounds', () => {
    const x = kn.random.randint(-3, 7, [N], { key: K(40) });
    expect(x.dtype).toBe('int32');
    const v = vals(x);
    const counts = new Array(10).fill(0);
    v.forEach((t) => counts[t + 3]++);
    expect(counts.reduce((p, c) => p + c)).toBe(N); // every value in [-3, 7)
    // chi-square with 9 degrees of freedom: P(> 27.9) = 0.001
    const chi = counts.reduce((p, c) => p + (c - N / 10) ** 2 / (N / 10), 0);
    expect(chi).toBeLessThan(27.9);
    expect(kn.random.randint(0, 2 ** 31 - 1, [10], { key: K(1), dtype: 'int64' }).dtype).toBe('int64');
    const big = vals(kn.random.randint(0, 2 ** 31 - 1, [1000], { key: K(41) }));
    expect(big.every((t) => t >= 0 && t < 2 ** 31 - 1)).toBe(true);
    const y = kn.random.randint(kn.array([0, 100]), kn.array([1, 103]), [1000, 2], { key: K(42), dtype: 'uint8' }).tolist() as number[][];
    expect(y.every(([p, q]) => p === 0 && q >= 100 && q < 103)).toBe(true);
    expect(() => kn.random.randint(0, 1.5)).toThrow('[random.randint] high must be an integer, got 1.5');
    expect(() => kn.random.randint(0, 5, [2], { dtype: 'float32' })).toThrow('[random.randint] dtype must be an integer type, got float32');
  });

  it('bernoulli: mean p, shape from p, edge probabilities', () => {
    const x = kn.random.bernoulli(0.3, [N], { key: K(50) });
    expect(x.dtype).toBe('bool');
    expect(Math.abs(vals(kn.astype(x, 'float32')).reduce((p, v) => p + v, 0) / N - 0.3)).toBeLessThan(se(Math.sqrt(0.21)));
    const p = kn.array([0, 1, 0.5]);
    expect(kn.random.bernoulli(p, null, { key: K(1) }).shape).toEqual([3]);
    const edge = kn.random.bernoulli(kn.broadcastTo(kn.array([[0], [1]]), [2, 1000]), null, { key: K(2) }).tolist() as boolean[][];
    expect(edge[0].some(Boolean)).toBe(false);
    expect(edge[1].every(Boolean)).toBe(true);
    expect(() => kn.random.bernoulli(1.5)).toThrow('[random.bernoulli] p must be in [0, 1], got 1.5');
  });

  it('gumbel and laplace moments', () => {
    const g = vals(kn.random.gumbel([N], { key: K(60) }));
    expect(g.every(Number.isFinite)).toBe(true);
    const gm = moments(g);
    expect(Math.abs(gm.mean - 0.5772156649)).toBeLessThan(se(Math.PI / Math.sqrt(6)));
    expect(Math.abs(gm.var - Math.PI ** 2 / 6)).toBeLessThan(0.05);
    expect(ks(g, (v) => Math.exp(-Math.exp(-v)))).toBeLessThan(KS_BOUND);
    const l = vals(kn.random.laplace([N], { key: K(61), scale: 2, loc: 1 }));
    const lm = moments(l);
    expect(Math.abs(lm.mean - 1)).toBeLessThan(se(Math.sqrt(8)));
    expect(Math.abs(lm.var - 8) / 8).toBeLessThan(0.05);
    expect(ks(l, (v) => (v < 1 ? 0.5 * Math.exp((v - 1) / 2) : 1 - 0.5 * Math.exp(-(v - 1) / 2)))).toBeLessThan(KS_BOUND);
  });

  it('categorical frequencies follow softmax(logits); shapes for numSamples, shape and axis', () => {
    const probs = [0.1, 0.2, 0.3, 0.4];
    const logits = kn.log(kn.array(probs));
    const x = kn.random.categorical(logits, { numSamples: N, key: K(70) });
    expect(x.shape).toEqual([N]);
    expect(x.dtype).toBe('int32');
    const counts = new Array(4).fill(0);
    vals(x).forEach((t) => counts[t]++);
    counts.forEach((c, i) => expect(Math.abs(c / N - probs[i])).toBeLessThan(se(Math.sqrt(probs[i] * (1 - probs[i])))));
    const batch = kn.log(
      kn.array([
        [0.5, 0.5, 0],
        [0, 0, 1],
      ]),
    ); // log(0) = -inf is never drawn
    const y = kn.random.categorical(batch, { numSamples: 200, key: K(71) }).tolist() as number[][];
    expect(y[0].every((t) => t === 0 || t === 1)).toBe(true);
    expect(y[1].every((t) => t === 2)).toBe(true);
    expect(kn.random.categorical(batch, { key: K(1) }).shape).toEqual([2]);
    expect(kn.random.categorical(batch, { shape: [5, 2], key: K(1) }).shape).toEqual([5, 2]);
    const cols = kn.random.categorical(kn.transpose(batch), { axis: 0, numSamples: 50, key: K(72) }).tolist() as number[][];
    expect(cols[1].every((t) => t === 2)).toBe(true);
    expect(() => kn.random.categorical(batch, { shape: [3] })).toThrow('[random.categorical] shape [3] does not broadcast');
  });

  it('permutation: a permutation, deterministic; shuffles arrays along an axis', () => {
    const p = vals(kn.random.permutation(1000, { key: K(80) }));
    expect(p.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(vals(kn.random.permutation(1000, { key: K(80) }))).toEqual(p);
    expect(p).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const a = kn.arange(12).reshape([3, 4]);
    const rows = kn.random.permutation(a, { key: K(81) }).tolist() as number[][];
    expect(rows.map((r) => r[0]).sort((x, y) => x - y)).toEqual([0, 4, 8]);
    rows.forEach((r) => expect(r).toEqual([r[0], r[0] + 1, r[0] + 2, r[0] + 3]));
    const cols = kn.random.permutation(a, { key: K(82), axis: 1 }).tolist() as number[][];
    expect(cols[0].slice().sort((x, y) => x - y)).toEqual([0, 1, 2, 3]);
    expect(kn.random.permutation(0).shape).toEqual([0]);
  });

  it('multivariateNormal: mean and covariance; batch shapes', () => {
    const mean = kn.array([1, -2]),
      cov = kn.array([
        [2, 0.6],
        [0.6, 1],
      ]);
    const x = kn.random.multivariateNormal(mean, cov, [N], { key: K(90) });
    expect(x.shape).toEqual([N, 2]);
    const v = vals(x);
    const c0 = v.filter((_, i) => i % 2 === 0),
      c1 = v.filter((_, i) => i % 2 === 1);
    const m0 = moments(c0),
      m1 = moments(c1);
    expect(Math.abs(m0.mean - 1)).toBeLessThan(se(Math.SQRT2));
    expect(Math.abs(m1.mean + 2)).toBeLessThan(se(1));
    expect(Math.abs(m0.var - 2)).toBeLessThan(0.05);
    expect(Math.abs(m1.var - 1)).toBeLessThan(0.025);
    let cross = 0;
    for (let i = 0; i < N; i++) cross += (c0[i] - m0.mean) * (c1[i] - m1.mean);
    expect(Math.abs(cross / N - 0.6)).toBeLessThan(0.03);
    const batched = kn.random.multivariateNormal(kn.zeros([3, 2]), kn.eye(2), [], { key: K(1) });
    expect(batched.shape).toEqual([3, 2]);
    expect(kn.random.multivariateNormal(kn.zeros([2]), kn.eye(2), [4, 3], { key: K(1), dtype: 'float64' }).dtype).toBe('float64');
    expect(() => kn.random.multivariateNormal(kn.zeros([2]), kn.eye(3))).toThrow('[random.multivariateNormal] cov of shape [3, 3] must be [..., 2, 2]');
  });
});

describe('errors and edge cases', () => {
  it('rejects bad keys, dtypes and shapes with clear messages', () => {
    expect(() => kn.random.uniform(0, 1, [2], { key: kn.array([1, 2]) })).toThrow(
      '[random.uniform] key must be a uint32 array of shape [2] (from kn.random.key), got int32 [2]',
    );
    expect(() => kn.random.normal([2], { key: [1, 2] as unknown as kn.NDArray })).toThrow('[random.normal] key must be a uint32 array');
    expect(() => kn.random.normal([2], { dtype: 'int32' })).toThrow('[random.normal] dtype must be a floating type, got int32');
    expect(() => kn.random.uniform(0, 1, [-1])).toThrow('[random.uniform] shape must contain non-negative integers');
    expect(() => kn.random.key(1.5)).toThrow('[random.key] seed must be a safe integer or a bigint, got 1.5');
    expect(() => kn.random.split(K(0), -1)).toThrow('[random.split] num must be a non-negative integer, got -1');
    expect(() => kn.random.bits([2], { width: 3 as 4 })).toThrow('[random.bits] width must be 1, 2 or 4 bytes, got 3');
    expect(() => kn.random.categorical(kn.array(1))).toThrow('[random.categorical] logits must have at least one dimension');
  });

  it('empty and 0-d shapes', () => {
    expect(kn.random.uniform(0, 1, [0, 3], { key: K(0) }).shape).toEqual([0, 3]);
    expect(kn.random.normal([0], { key: K(0) }).tolist()).toEqual([]);
    expect(kn.random.split(K(0), 0).shape).toEqual([0, 2]);
    expect(kn.random.randint(0, 3, [], { key: K(0) }).ndim).toBe(0);
    expect(kn.random.gumbel([], { key: K(0) }).shape).toEqual([]);
  });
});
