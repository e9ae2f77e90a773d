// kn.fft against numpy (tests/fixtures/make_fft_fixtures.py: float64 references of float32
// inputs): every length kind (powers of two, mixed radices, small and Bluestein primes), n
// padding and cutting, axes, norms, real transforms, n-d; gradients by central differences.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { arr, expectClose, f32, FIXTURES, type Enc } from './util.js';

interface Case {
  fn: string;
  x: Enc;
  kwargs: Record<string, unknown>;
  want: Enc;
  n: number;
}
const CASES: Case[] = FIXTURES.cases;
const fns = kn.fft as unknown as Record<string, (a: kn.NDArray, o?: object) => kn.NDArray>;
// float32 compute: error grows with log n (relative to the largest output)
const tolFor = (n: number) => 2e-6 * Math.max(1, Math.log2(n)) + 1e-6;

describe('kn.fft matches numpy', () => {
  it.each(CASES.map((c, i) => [`${c.fn} ${JSON.stringify(c.kwargs)} [${c.x.shape}] #${i}`, c] as const))('%s', (_name, c) => {
    expectClose(fns[c.fn](arr(c.x), c.kwargs), c.want, tolFor(c.n), c.fn);
  });

  it('round trips at more lengths (small and Bluestein primes, composites)', () => {
    for (const n of [11, 13, 29, 41, 53, 67, 89, 96, 99, 243, 2048]) {
      const x = kn.complex(kn.random.normal([n], { key: kn.random.key(n) }), kn.random.normal([n], { key: kn.random.key(n + 1) }));
      const back = kn.fft.ifft(kn.fft.fft(x));
      const err = kn.max(kn.abs(kn.subtract(back, x))).item() as number;
      expect(err, `n = ${n}`).toBeLessThan(2e-6 * Math.log2(n + 1) * 4);
    }
  });

  it('helpers: fftfreq, rfftfreq, fftshift, ifftshift', () => {
    for (const c of FIXTURES.helpers.fftfreq) expect(kn.fft.fftfreq(c.n, c.d).tolist()).toEqual(c.want.map(Math.fround));
    for (const c of FIXTURES.helpers.rfftfreq) expect(kn.fft.rfftfreq(c.n, c.d).tolist()).toEqual(c.want.map(Math.fround));
    for (const c of FIXTURES.helpers.fftshift) expect(kn.fft.fftshift(kn.array(c.x), c.axes ?? undefined).tolist()).toEqual(c.want);
    for (const c of FIXTURES.helpers.ifftshift) expect(kn.fft.ifftshift(kn.array(c.x), c.axes ?? undefined).tolist()).toEqual(c.want);
  });

  it('batches big transforms over the thread pool the same as one at a time', () => {
    const x = kn.complex(kn.random.normal([64, 1000], { key: kn.random.key(5) }), kn.random.normal([64, 1000], { key: kn.random.key(6) }));
    const all = f32(kn.fft.fft(x));
    const row = f32(kn.fft.fft(x.index(17)));
    expect(all.slice(17 * 2000, 18 * 2000)).toEqual(row);
  });

  it('reads strided and transposed inputs', () => {
    const x = kn.complex(kn.random.normal([6, 8], { key: kn.random.key(7) }), kn.random.normal([6, 8], { key: kn.random.key(8) }));
    const a = kn.fft.fft(kn.transpose(x), { axis: 0 });
    const b = kn.transpose(kn.fft.fft(x, { axis: 1 }));
    expect(f32(a)).toEqual(f32(b));
    const s = kn.fft.fft(
      x.slice([
        { start: 0, stop: 6, step: 2 },
        { start: 7, stop: null, step: -1 },
      ]),
    );
    expect(s.shape).toEqual([3, 8]);
  });
});

describe('kn.fft errors', () => {
  it('names the op and the bad value', () => {
    const x = kn.ones([4]);
    expect(() => kn.fft.fft(x, { n: 0 })).toThrow('[fft] invalid number of data points (0) specified');
    expect(() => kn.fft.irfft(kn.ones([1], 'complex64'))).toThrow('[irfft] invalid number of data points (0) specified');
    expect(() => kn.fft.fft(x, { norm: 'none' as kn.fft.FFTNorm })).toThrow('[fft] invalid norm "none"');
    expect(() => kn.fft.fft(x, { axis: 1 })).toThrow('[fft]');
    expect(() => kn.fft.rfft(kn.ones([4], 'complex64'))).toThrow('[rfft] expects a real array, got complex64');
    expect(() => kn.fft.fft(kn.array(1))).toThrow('[fft] needs an array with at least one dimension');
    expect(() => kn.fft.fftn(kn.ones([2, 2]), { s: [2], axes: [0, 1] })).toThrow('[fftn] s and axes have different lengths (1 vs 2)');
    expect(() => kn.fft.fftfreq(0)).toThrow('[fftfreq] n must be a positive integer, got 0');
    expect(() => kn.fft.fft(x, 3 as unknown as kn.fft.FFTOptions)).toThrow('[fft] options must be an object');
  });

  it('malformed fft kernel commands throw instead of running', async () => {
    const { native, K } = await import('../../backends/native.js');
    const b = native.alloc(64);
    const op = (dtype: number, shape: number[]) => [b, dtype, 0, shape.length, ...shape, ...shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1))];
    const run = (params: number[], a: number[], o: number[]) => native.run(Float64Array.from([K.fft, params.length, ...params, 2, ...a, ...o]));
    expect(() => run([0, 4, 0, 1], op(13, [4]), op(13, [4]))).not.toThrow();
    expect(() => run([3, 4, 0, 1], op(13, [4]), op(13, [4]))).toThrow('[fft] invalid mode 3');
    expect(() => run([0, 0, 0, 1], op(13, [4]), op(13, [4]))).toThrow('[fft] invalid length n = 0');
    expect(() => run([0, 4, 0, 1], op(11, [4]), op(13, [4]))).toThrow('[fft] input must be complex64, got float32');
    expect(() => run([1, 4, 0, 1], op(11, [4]), op(13, [4]))).toThrow('[fft] output rows must hold 3 values for n = 4');
    expect(() => run([0, 4, 2, 1], op(13, [4]), op(13, [4]))).toThrow('[fft] inverse must be 0 or 1');
    expect(() => run([0, 4, 0, Infinity], op(13, [4]), op(13, [4]))).toThrow('[fft] scale must be finite');
    native.free(b);
  });
});

/** Central differences of a real loss of z (in its float32 parts) against kn.grad. */
function checkComplexGrad(f: (z: kn.NDArray) => kn.NDArray, z: kn.NDArray, eps = 1e-2, tol = 2e-3): void {
  const g = (kn.grad(f)(z) as kn.NDArray).toTypedArray() as Float32Array;
  const base = Float64Array.from(f32(z));
  const make = (v: Float64Array) =>
    z.dtype === 'complex64' ? kn.viewAsComplex(kn.array(Float32Array.from(v)).reshape([...z.shape, 2])) : kn.array(Float32Array.from(v)).reshape(z.shape);
  const num = new Float64Array(base.length);
  for (let k = 0; k < base.length; k++) {
    const p = Float64Array.from(base),
      m = Float64Array.from(base);
    p[k] += eps;
    m[k] -= eps;
    num[k] = ((f(make(p)).item() as number) - (f(make(m)).item() as number)) / (2 * eps);
  }
  const scale = Math.max(1, ...Array.from(num, Math.abs));
  const worst = Math.max(...Array.from(num, (v, k) => Math.abs(v - g[k])));
  if (!(worst <= tol * scale)) expect({ analytic: Array.from(g), numeric: Array.from(num) }).toEqual({ worst, scale });
}

describe('kn.fft gradients (central differences)', () => {
  const key = (k: number) => kn.random.key(100 + k);
  const cz = (shape: number[], k: number) => kn.complex(kn.random.normal(shape, { key: key(k) }), kn.random.normal(shape, { key: key(k + 50) }));
  const w = (shape: number[], k: number) => kn.random.normal(shape, { key: key(k + 20) });
  // a real loss that weighs the real and imaginary parts differently
  const loss = (y: kn.NDArray, k: number) => {
    const a = w(y.shape, k),
      b = w(y.shape, k + 1);
    return y.dtype === 'complex64' ? kn.add(kn.sum(kn.multiply(kn.real(y), a)), kn.sum(kn.multiply(kn.imag(y), b))) : kn.sum(kn.multiply(y, a));
  };
  it.each([
    ['fft', (z: kn.NDArray) => kn.fft.fft(z)],
    ['fft n=9 (pad)', (z: kn.NDArray) => kn.fft.fft(z, { n: 9 })],
    ['fft n=4 (cut) ortho', (z: kn.NDArray) => kn.fft.fft(z, { n: 4, norm: 'ortho' })],
    ['ifft', (z: kn.NDArray) => kn.fft.ifft(z)],
    ['ifft forward', (z: kn.NDArray) => kn.fft.ifft(z, { norm: 'forward' })],
    ['irfft', (z: kn.NDArray) => kn.fft.irfft(z)],
    ['irfft n=7', (z: kn.NDArray) => kn.fft.irfft(z, { n: 7 })],
    ['irfft n=12 ortho', (z: kn.NDArray) => kn.fft.irfft(z, { n: 12, norm: 'ortho' })],
    ['fft2', (z: kn.NDArray) => kn.fft.fft2(kn.reshape(z, [2, 3]))],
  ])('%s', (_n, f) => {
    const z = cz([6], 1);
    checkComplexGrad((x) => loss(f(x), 3), z);
  });
  it.each([
    ['rfft', (x: kn.NDArray) => kn.fft.rfft(x)],
    ['rfft n=5 (cut)', (x: kn.NDArray) => kn.fft.rfft(x, { n: 5 })],
    ['rfft n=9 (pad) forward', (x: kn.NDArray) => kn.fft.rfft(x, { n: 9, norm: 'forward' })],
    ['rfft2', (x: kn.NDArray) => kn.fft.rfft2(kn.reshape(x, [2, 3]))],
    ['irfft(rfft)', (x: kn.NDArray) => kn.fft.irfft(kn.fft.rfft(x), { n: 6 })],
  ])('%s', (_n, f) => {
    const x = kn.random.normal([6], { key: key(9) });
    checkComplexGrad((v) => loss(f(v), 5), x);
  });
  it('vmap of fft is the batched fft', () => {
    const z = cz([3, 8], 11);
    const v = kn.vmap((r: kn.NDArray) => kn.fft.fft(r))(z) as kn.NDArray;
    expect(f32(v)).toEqual(f32(kn.fft.fft(z)));
  });
  it('jvp of fft is the fft of the tangent', () => {
    const z = cz([8], 13),
      t = cz([8], 14);
    const [, tan] = kn.jvp((x: kn.NDArray) => kn.fft.fft(x), [z], [t]) as [kn.NDArray[], kn.NDArray[]];
    expect(f32(tan[0] as kn.NDArray)).toEqual(f32(kn.fft.fft(t)));
  });
});
