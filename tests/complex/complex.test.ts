// complex64 arrays against numpy (tests/fixtures/make_fft_fixtures.py): creation and the JS
// forms, promotion, elementwise ops, reductions, matmul, views and copies, printing, npy and
// safetensors files, gradients, and the error of every op without a complex version.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { arr, expectClose, f32, FIXTURES, type Enc } from './util.js';

const C = FIXTURES.complex as Record<string, Enc>;
const a = () => arr(C.a),
  b = () => arr(C.b),
  r = () => arr(C.r);
const dir = mkdtempSync(join(tmpdir(), 'kiln-complex-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixture = (name: string) => new URL(`../fixtures/fft/${name}`, import.meta.url).pathname;

describe('complex64 creation and JS forms', () => {
  it('builds from { re, im } objects and real numbers, and gives them back', () => {
    const z = kn.array([{ re: 1, im: 2 }, 3, { re: -0.5, im: 0 }]);
    expect(z.dtype).toBe('complex64');
    expect(z.shape).toEqual([3]);
    expect(z.tolist()).toEqual([
      { re: 1, im: 2 },
      { re: 3, im: 0 },
      { re: -0.5, im: 0 },
    ]);
    expect(f32(z)).toEqual([1, 2, 3, 0, -0.5, 0]);
    expect(kn.array({ re: 1, im: -1 }).item()).toEqual({ re: 1, im: -1 });
    expect(kn.array([[1, 2]], 'complex64').tolist()).toEqual([
      [
        { re: 1, im: 0 },
        { re: 2, im: 0 },
      ],
    ]);
    expect(kn.array(Float32Array.from([1, 2]), 'complex64').tolist()).toEqual([
      { re: 1, im: 0 },
      { re: 2, im: 0 },
    ]);
    expect(z.itemsize).toBe(8);
    expect(z.nbytes).toBe(24);
  });
  it('zeros, ones, full, astype from and to real', () => {
    expect(kn.zeros([2], 'complex64').tolist()).toEqual([
      { re: 0, im: 0 },
      { re: 0, im: 0 },
    ]);
    expect(kn.ones([1], 'complex64').tolist()).toEqual([{ re: 1, im: 0 }]);
    expect(kn.full([1], 2.5, 'complex64').tolist()).toEqual([{ re: 2.5, im: 0 }]);
    expect(kn.array([1, 2], 'int32').astype('complex64').tolist()).toEqual([
      { re: 1, im: 0 },
      { re: 2, im: 0 },
    ]);
    // to a real dtype keeps the real part (numpy's astype, which warns; MLX's)
    expect(
      kn
        .complex(kn.array([1.5, -2.5]), kn.array([3, 4]))
        .astype('float64')
        .tolist(),
    ).toEqual([1.5, -2.5]);
    expect(
      kn
        .complex(kn.array([7.9]), kn.array([3]))
        .astype('int32')
        .tolist(),
    ).toEqual([7]);
  });
  it('rejects complex values with a real dtype and bad leaves', () => {
    expect(() => kn.array([{ re: 1, im: 2 }], 'float32')).toThrow('[array] complex values ({ re, im }) need dtype complex64, got float32');
    expect(() => kn.array([{ re: 1, im: 2 }, 'x'])).toThrow('[array] element [1] is string, expected a number or { re, im }');
    expect(() => kn.array([[{ re: 1, im: 2 }], [1, 2]])).toThrow('[array] ragged nested list');
    expect(() => kn.complex(kn.ones([2], 'complex64'), 1)).toThrow('[complex] re must be real, got complex64');
  });
  it('promotes as MLX: complex beats every real dtype, float64 included', () => {
    for (const d of ['bool', 'int8', 'uint64', 'int64', 'float16', 'bfloat16', 'float32', 'float64'] as const) {
      expect(kn.promoteTypes('complex64', d)).toBe('complex64');
      expect(kn.add(kn.ones([1], d), kn.ones([1], 'complex64')).dtype).toBe('complex64');
    }
    expect(kn.add(kn.ones([1], 'complex64'), 2.5).dtype).toBe('complex64');
    expect(kn.add(kn.ones([1], 'complex64'), 3e9).tolist()).toEqual([{ re: 3e9 + 1, im: 0 }].map((z) => ({ re: Math.fround(z.re), im: 0 })));
  });
});

describe('complex64 ops match numpy', () => {
  const tol = 2e-6;
  it.each([
    ['add', () => kn.add(a(), b())],
    ['subtract', () => kn.subtract(a(), b())],
    ['multiply', () => kn.multiply(a(), b())],
    ['divide', () => kn.divide(a(), b())],
    ['multiply_real', () => kn.multiply(a(), r())],
    ['divide_real', () => kn.divide(a(), r())],
    ['real_minus_complex', () => kn.subtract(r(), a())],
    ['negative', () => kn.negative(a())],
    ['square', () => kn.square(a())],
    ['exp', () => kn.exp(a())],
    ['log', () => kn.log(a())],
    ['sqrt', () => kn.sqrt(a())],
    ['power3', () => kn.power(a(), 3)],
    ['power_m2', () => kn.power(a(), -2)],
    ['power_half', () => kn.power(a(), 0.5)],
    ['power_b', () => kn.power(a(), b())],
    ['abs', () => kn.abs(a())],
    ['angle', () => kn.angle(a())],
    ['conj', () => kn.conj(a())],
    ['reciprocal', () => kn.reciprocal(a())],
    ['sum', () => kn.sum(a())],
    ['sum0', () => kn.sum(a(), 0)],
    ['mean1', () => kn.mean(a(), 1)],
    ['prod', () => kn.prod(a())],
    ['prod1', () => kn.prod(a(), 1)],
    ['matmul', () => kn.matmul(a(), kn.transpose(b()))],
    ['matmul_real', () => kn.matmul(a(), kn.transpose(r()))],
    ['real_matmul', () => kn.matmul(r(), kn.transpose(b()))],
    ['mm', () => kn.matmul(arr(C.ma), arr(C.mb))],
  ])('%s', (name, f) => {
    expectClose(f(), C[name], name.startsWith('power') || name.startsWith('prod') ? 2e-5 : name === 'mm' ? 1e-5 : tol, name);
  });
  it('real, imag, methods, equality', () => {
    const z = kn.complex(kn.array([1, 2]), kn.array([3, 4]));
    expect(kn.real(z).tolist()).toEqual([1, 2]);
    expect(kn.imag(z).tolist()).toEqual([3, 4]);
    expect(kn.real(kn.array([5])).tolist()).toEqual([5]);
    expect(kn.imag(kn.array([5.5])).tolist()).toEqual([0]);
    expect(kn.angle(kn.array([-2, 3])).tolist()).toEqual([Math.fround(Math.PI), 0]);
    expect(kn.angle(kn.array([{ re: 0, im: 1 }]), { deg: true }).tolist()).toEqual([90]);
    expect(
      kn
        .equal(
          z,
          kn.array([
            { re: 1, im: 3 },
            { re: 2, im: 5 },
          ]),
        )
        .tolist(),
    ).toEqual([true, false]);
    expect(
      kn
        .notEqual(
          z,
          kn.array([
            { re: 1, im: 3 },
            { re: 2, im: 5 },
          ]),
        )
        .tolist(),
    ).toEqual([false, true]);
    expect(kn.equal(kn.array([{ re: 2, im: 0 }]), 2).tolist()).toEqual([true]);
    expect(kn.isnan(kn.array([{ re: 0, im: NaN }, 1])).tolist()).toEqual([true, false]);
    expect(kn.sum(kn.zeros([0], 'complex64')).item()).toEqual({ re: 0, im: 0 });
    expect(kn.prod(kn.zeros([0], 'complex64')).item()).toEqual({ re: 1, im: 0 });
    expect(kn.all(kn.array([{ re: 0, im: 1 }, 1])).item()).toBe(true);
    expect(kn.any(kn.zeros([3], 'complex64')).item()).toBe(false);
  });
  it('views, copies, concatenation, indexing keep the pairs together', () => {
    const z = kn.complex(kn.arange(6).reshape([2, 3]), kn.multiply(kn.arange(6), -1).reshape([2, 3]));
    const pairsOf = (x: kn.NDArray) => (x.tolist() as unknown as { re: number; im: number }[][]).flat().map((c) => [c.re, c.im]);
    expect(pairsOf(kn.transpose(z))).toEqual([
      [0, 0],
      [3, -3],
      [1, -1],
      [4, -4],
      [2, -2],
      [5, -5],
    ]);
    expect(kn.transpose(z).reshape([6]).tolist()).toEqual((kn.transpose(z).tolist() as unknown[][]).flat());
    expect(kn.concatenate([z, z], 1).shape).toEqual([2, 6]);
    expect(pairsOf(kn.concatenate([z, z], 0)).slice(6, 8)).toEqual([
      [0, 0],
      [1, -1],
    ]);
    expect(z.slice([{}, { start: 2, stop: null, step: -1 }]).tolist()).toEqual([
      [
        { re: 2, im: -2 },
        { re: 1, im: -1 },
        { re: 0, im: 0 },
      ],
      [
        { re: 5, im: -5 },
        { re: 4, im: -4 },
        { re: 3, im: -3 },
      ],
    ]);
    expect(
      kn
        .take(z, kn.array([1, 0]), 0)
        .index(0)
        .tolist(),
    ).toEqual(z.index(1).tolist());
    expect(kn.where(kn.array([true, false, true]), z.index(0), z.index(1)).tolist()).toEqual([
      { re: 0, im: 0 },
      { re: 4, im: -4 },
      { re: 2, im: -2 },
    ]);
    expect(kn.stack([z.index(0), z.index(1)]).tolist()).toEqual(z.tolist());
    expect(kn.broadcastTo(z.index(0), [2, 3]).tolist()).toEqual([z.index(0).tolist(), z.index(0).tolist()]);
    expect(kn.viewAsReal(z).shape).toEqual([2, 3, 2]);
    expect(kn.viewAsComplex(kn.transpose(kn.viewAsReal(z), [1, 0, 2])).tolist()).toEqual(kn.transpose(z).tolist());
  });
  it('compile fuses the float32 view ops and gives the eager result', () => {
    const f = (x: kn.NDArray, y: kn.NDArray) => kn.add(kn.multiply(x, y), kn.exp(x));
    const want = f32(f(a(), b()));
    const got = f32(kn.compile(f)(a(), b()) as kn.NDArray);
    const err = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
    expect(err).toBeLessThan(1e-5);
    const g = kn.compile((x: kn.NDArray) => kn.add(x, kn.ones(x.shape, 'complex64')));
    expect((g(kn.array([{ re: 1, im: 2 }])) as kn.NDArray).tolist()).toEqual([{ re: 2, im: 2 }]);
  });
});

describe('complex64 printing (numpy repr)', () => {
  it.each(Object.entries(FIXTURES.reprs as Record<string, { x: Enc; repr: string }>))('%s', (_name, c) => {
    const x = c.x.im ? arr(c.x) : kn.zeros(c.x.shape, 'complex64');
    expect(x.toString()).toBe(c.repr);
  });
});

describe('complex64 files', () => {
  it('loads numpy .npy files (<c8, fortran order, 0-d, <c16 into complex64) and saves the same bytes', () => {
    const z = kn.load(fixture('c8.npy')) as kn.NDArray;
    expect(z.dtype).toBe('complex64');
    expect(z.index(0).tolist()).toEqual([
      { re: 1, im: 2 },
      { re: -3.5, im: 0.25 },
      { re: 0, im: -1 },
    ]);
    kn.save(join(dir, 'z.npy'), z);
    expect(readFileSync(join(dir, 'z.npy')).equals(readFileSync(fixture('c8.npy')))).toBe(true);
    expect((kn.load(fixture('c8_fortran.npy')) as kn.NDArray).tolist()).toEqual(z.tolist());
    const s = kn.load(fixture('c8_0d.npy')) as kn.NDArray;
    expect(s.item()).toEqual({ re: 2.5, im: -1 });
    kn.save(join(dir, 's.npy'), s);
    expect(readFileSync(join(dir, 's.npy')).equals(readFileSync(fixture('c8_0d.npy')))).toBe(true);
    const w = kn.load(fixture('c16.npy')) as kn.NDArray;
    expect(w.dtype).toBe('complex64');
    expect(w.tolist()).toEqual(kn.add(z, 1e-9).tolist());
  });
  it('round-trips safetensors (C64)', () => {
    const z = kn.complex(kn.array([1, 2]), kn.array([-3, 4]));
    kn.saveSafetensors(join(dir, 'z.safetensors'), { z });
    const buf = readFileSync(join(dir, 'z.safetensors'));
    const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString());
    expect(header.z.dtype).toBe('C64');
    expect(kn.loadSafetensors(join(dir, 'z.safetensors')).tensors.z.tolist()).toEqual(z.tolist());
  });
});

/** Central differences of a real loss of z in its float32 parts, against kn.grad. */
function checkComplexGrad(f: (z: kn.NDArray) => kn.NDArray, z: kn.NDArray, eps = 1e-2, tol = 3e-3): void {
  const g = (kn.grad(f)(z) as kn.NDArray).toTypedArray() as Float32Array;
  const base = Float64Array.from(z.toTypedArray() as Float32Array);
  const num = base.map((_, k) => {
    const p = Float32Array.from(base),
      m = Float32Array.from(base);
    p[k] += eps;
    m[k] -= eps;
    const at = (v: Float32Array) => f(kn.viewAsComplex(kn.array(v).reshape([...z.shape, 2]))).item() as number;
    return (at(p) - at(m)) / (2 * eps);
  });
  const scale = Math.max(1, ...Array.from(num, Math.abs));
  const worst = Math.max(...Array.from(num, (v, k) => Math.abs(v - g[k])));
  if (!(worst <= tol * scale)) expect({ analytic: Array.from(g), numeric: Array.from(num) }).toEqual({ worst, scale });
}

describe('complex64 gradients (conjugate Wirtinger, as MLX: dL/dre + i dL/dim)', () => {
  const z = () => kn.complex(kn.array([0.7, -1.2, 0.4]), kn.array([0.3, 0.9, -1.1]));
  const w = kn.complex(kn.array([0.5, 1.5, -0.8]), kn.array([-0.4, 0.2, 1.3]));
  const lossOf = (y: kn.NDArray) => kn.add(kn.sum(kn.multiply(kn.real(y), kn.array([1, -2, 0.5]))), kn.sum(kn.multiply(kn.imag(y), kn.array([0.3, 1, -1]))));
  it.each([
    ['multiply', (x: kn.NDArray) => kn.multiply(x, w)],
    ['divide', (x: kn.NDArray) => kn.divide(w, x)],
    ['add', (x: kn.NDArray) => kn.add(x, w)],
    ['subtract', (x: kn.NDArray) => kn.subtract(w, x)],
    ['exp', (x: kn.NDArray) => kn.exp(x)],
    ['log', (x: kn.NDArray) => kn.log(x)],
    ['sqrt', (x: kn.NDArray) => kn.sqrt(x)],
    ['square', (x: kn.NDArray) => kn.square(x)],
    ['power 3', (x: kn.NDArray) => kn.power(x, 3)],
    ['conj', (x: kn.NDArray) => kn.conj(x)],
    ['negative', (x: kn.NDArray) => kn.negative(x)],
    ['sum', (x: kn.NDArray) => kn.sum(x, 0, { keepdims: true })],
    ['prod', (x: kn.NDArray) => kn.prod(x, 0, { keepdims: true })],
    ['matmul', (x: kn.NDArray) => kn.matmul(kn.reshape(x, [3, 1]), kn.reshape(w, [1, 3]))],
  ])('%s', (_n, f) => checkComplexGrad((x) => lossOf(kn.reshape(f(x), [-1]).slice([{ start: 0, stop: 3 }])), z()));
  it.each([
    ['abs', (x: kn.NDArray) => kn.sum(kn.abs(x))],
    ['angle', (x: kn.NDArray) => kn.sum(kn.angle(x))],
    ['real', (x: kn.NDArray) => kn.sum(kn.multiply(kn.real(x), kn.array([1, 2, 3])))],
    ['imag', (x: kn.NDArray) => kn.sum(kn.multiply(kn.imag(x), kn.array([1, 2, 3])))],
  ])('%s', (_n, f) => checkComplexGrad(f, z()));
  it('the gradient of |z|^2 is 2z, as MLX gives', () => {
    const g = kn.grad((x: kn.NDArray) => kn.sum(kn.square(kn.abs(x))))(z()) as kn.NDArray;
    const want = kn.multiply(z(), 2).tolist() as unknown as { re: number; im: number }[];
    (g.tolist() as unknown as { re: number; im: number }[]).forEach((c, i) => {
      expect(c.re).toBeCloseTo(want[i].re, 5);
      expect(c.im).toBeCloseTo(want[i].im, 5);
    });
  });
});

describe('ops without a complex64 version raise naming the op', () => {
  const z = () => kn.array([{ re: 1, im: 2 }, 3]);
  it.each([
    ['less', () => kn.less(z(), z()), '[less] complex64 arrays have no order'],
    ['greater', () => kn.greater(z(), 1), '[greater] complex64 arrays have no order'],
    ['lessEqual', () => kn.lessEqual(z(), z()), '[lessEqual] complex64 arrays have no order'],
    ['greaterEqual', () => kn.greaterEqual(z(), z()), '[greaterEqual] complex64 arrays have no order'],
    ['maximum', () => kn.maximum(z(), z()), '[maximum] complex64 arrays have no order'],
    ['minimum', () => kn.minimum(z(), z()), '[minimum] complex64 arrays have no order'],
    ['max', () => kn.max(z()), '[max] complex64 arrays have no order'],
    ['min', () => kn.min(z()), '[min] complex64 arrays have no order'],
    ['argmax', () => kn.argmax(z()), '[argmax] complex64 arrays have no order'],
    ['argmin', () => kn.argmin(z()), '[argmin] complex64 arrays have no order'],
    ['sin', () => kn.sin(z()), '[sin] is not supported for complex64 arrays'],
    ['tanh', () => kn.tanh(z()), '[tanh] is not supported for complex64 arrays'],
    ['floor', () => kn.floor(z()), '[floor] is not supported for complex64 arrays'],
    ['sign', () => kn.sign(z()), '[sign] is not supported for complex64 arrays'],
    ['remainder', () => kn.remainder(z(), 2), '[remainder] is not supported for complex64 arrays'],
    ['arctan2', () => kn.arctan2(z(), z()), '[arctan2] is not supported for complex64 arrays'],
    ['bitwiseAnd', () => kn.bitwiseAnd(z(), 1), '[bitwiseAnd] is not supported for complex64 arrays'],
    ['sort', () => kn.sort(z()), '[sort] complex64 arrays have no order'],
    ['argsort', () => kn.argsort(z()), '[argsort] complex64 arrays have no order'],
    ['topk', () => kn.topk(z(), 1), '[topk] complex64 arrays have no order'],
    ['cumsum', () => kn.cumsum(z()), '[cumsum] is not supported for complex64 arrays'],
    [
      'scatter-add',
      () =>
        kn
          .at(z(), kn.array([0]))
          .add(z().index(kn.array([1])))
          .eval(),
      '[scatter] only assignment (mode 0) is supported for complex64',
    ],
    ['softmax', () => kn.softmax(z()).eval(), '[max] complex64 arrays have no order'],
    ['viewAsReal of a real array', () => kn.viewAsReal(kn.ones([2])), '[viewAsReal] expects a complex64 array, got float32'],
    ['viewAsComplex without pairs', () => kn.viewAsComplex(kn.ones([3])), '[viewAsComplex] needs a last axis of length 2'],
  ])('%s', (_n, f, msg) => {
    expect(f).toThrow(msg);
  });
});
