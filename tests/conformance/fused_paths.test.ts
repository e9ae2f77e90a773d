// Fast paths of the fused-program interpreter (fused.cc) that ordinary sizes and operands don't
// reach, each checked bit for bit against the eager kernels:
// - float32 binary ops with a constant operand on either side (broadcast instead of loaded), and
//   division by a power of two (run as the multiplication by its exact reciprocal), on specials,
//   subnormals and huge values, with constants that are and are not powers of two;
// - binary ops with a row value (a reduction's result) on either side, read from the row register;
// - outputs of 16 MiB or more, written with non-temporal stores: elementwise programs, a stored
//   value that later instructions read again, and row reductions whose rows are not 32-byte aligned.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { mulberry32, runCase } from './util.js';

/** Elements as numbers, compared with Object.is (so -0 differs from 0); NaN equals NaN. */
function expectBitwise(got: kn.NDArray, want: kn.NDArray, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  expect(got.dtype, what).toBe(want.dtype);
  const a = got.toTypedArray() as ArrayLike<number>,
    b = want.toTypedArray() as ArrayLike<number>;
  for (let i = 0; i < b.length; i++)
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) expect.fail(`${what}: element ${i} is ${a[i]}, eager gives ${b[i]}`);
}

/** float32 specials, subnormals, extremes and random values over every exponent (odd length: tails). */
function values(n: number, seed: number): Float32Array {
  const specials = [
    0,
    -0,
    1,
    -1,
    2,
    0.5,
    3,
    Infinity,
    -Infinity,
    NaN,
    1e-45,
    -1e-45,
    6e-39,
    -1.1754944e-38,
    1.1754944e-38,
    3.4028235e38,
    -3.4028235e38,
    1.7e38,
    8.5e37,
    2 ** -126,
    2 ** -127,
    2 ** 127,
  ];
  const rng = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (i < specials.length) out[i] = specials[i];
    else out[i] = (rng() < 0.5 ? -1 : 1) * (1 + rng()) * 2 ** Math.floor(rng() * 277 - 149);
  }
  return out;
}

const fn = (op: string) => (kn as unknown as Record<string, (...a: unknown[]) => kn.NDArray>)[op];

describe('fused binary ops with a constant operand', () => {
  const OPS = ['add', 'subtract', 'multiply', 'divide', 'maximum', 'minimum'];
  const CONSTS = [2, 0.5, -4, 1, 2 ** -125, 2 ** -126, 2 ** -127, 2 ** -149, 2 ** 127, 3, -0.1, 0, -0, Infinity, -Infinity, NaN];
  it.each(['float32', 'float16', 'bfloat16'] as const)('%s, constant on either side', (dtype) => {
    for (const op of OPS) {
      for (const c of CONSTS) {
        runCase(() => {
          const x = kn.array(values(1037, 7), 'float32').astype(dtype).eval();
          for (const [side, f] of [
            ['right', (a: kn.NDArray) => fn(op)(a, c)],
            ['left', (a: kn.NDArray) => fn(op)(c, a)],
          ] as const) {
            const want = f(x).eval();
            const compiled = kn.compile(f);
            const got = compiled(x) as kn.NDArray;
            expect(compiled.info.fused, `${op} ${c} ${side}`).toBe(1);
            expectBitwise(got, want, `${dtype} ${op}(${side === 'left' ? `${c}, x` : `x, ${c}`})`);
          }
        });
      }
    }
  });
});

describe('fused binary ops with a row value operand', () => {
  it.each(['float32', 'float16', 'bfloat16'] as const)('%s, row value on either side', (dtype) => {
    runCase(() => {
      // moderate values (so the row value matters), specials and extremes in the first rows only
      const v = values(13 * 301, 9),
        rng = mulberry32(10);
      for (let i = 301; i < v.length; i++) v[i] = (rng() - 0.5) * 2 ** (i % 9);
      v[700] = 1e-40;
      v[1000] = -0;
      const x = kn.array(v, 'float32').reshape([13, 301]).astype(dtype).eval();
      const m = (a: kn.NDArray) => kn.max(kn.abs(a), -1, { keepdims: true }); // exact: any order gives the same bits
      for (const op of ['add', 'subtract', 'multiply', 'divide', 'maximum', 'minimum']) {
        for (const [side, f] of [
          ['right', (a: kn.NDArray) => fn(op)(a, m(a))],
          ['left', (a: kn.NDArray) => fn(op)(m(a), a)],
        ] as const) {
          const want = f(x).eval();
          const compiled = kn.compile(f);
          const got = compiled(x) as kn.NDArray;
          expect(compiled.info.fused, `${op} ${side}`).toBe(1);
          expectBitwise(got, want, `${dtype} ${op} with the row max on the ${side}`);
        }
      }
    });
  });
});

describe('fused programs with large (streamed) outputs', () => {
  it('elementwise: gelu and a chain with a constant divisor, 5M float32 elements', () => {
    runCase(() => {
      const x = kn.array(values(5_000_003, 11), 'float32').eval();
      const gelu = (a: kn.NDArray) => kn.divide(kn.multiply(a, kn.add(kn.erf(kn.divide(a, Math.SQRT2)), 1)), 2);
      const chain = (a: kn.NDArray) => kn.maximum(kn.divide(kn.tanh(kn.add(kn.multiply(a, 1.5), 0.25)), 4), -0.5);
      for (const [name, f] of [
        ['gelu', gelu],
        ['chain', chain],
      ] as const) {
        const compiled = kn.compile(f);
        expectBitwise(compiled(x) as kn.NDArray, f(x).eval(), name);
        expect(compiled.info.fused, name).toBe(1);
      }
    });
  });

  it('a stored value that later instructions read again', () => {
    runCase(() => {
      const x = kn.array(values(4_500_001, 12), 'float32').eval();
      const f = (a: kn.NDArray) => {
        const y = kn.add(kn.multiply(a, 3), 1);
        return [y, kn.exp(kn.negative(kn.abs(y))), kn.multiply(y, y)];
      };
      const compiled = kn.compile(f);
      const got = compiled(x) as kn.NDArray[];
      const want = f(x).map((a) => a.eval());
      expect(compiled.info.fused).toBe(1);
      want.forEach((w, i) => expectBitwise(got[i], w, `output ${i}`));
    });
  });

  it('row reductions over rows that are not 32-byte aligned match the same program on a few rows', () => {
    runCase(() => {
      const rows = 1030,
        cols = 4101; // 16.9 MB of float32 per output; odd row length
      const rng = mulberry32(13);
      const data = new Float32Array(rows * cols);
      for (let i = 0; i < data.length; i++) data[i] = (rng() - 0.5) * 20;
      const x = kn.array(data, 'float32').reshape([rows, cols]).eval();
      const f = (a: kn.NDArray) => {
        const y = kn.multiply(a, 0.5);
        return [kn.softmax(y, -1), y, kn.sum(kn.square(y), -1)];
      };
      const compiled = kn.compile(f);
      const big = compiled(x) as kn.NDArray[];
      for (const r0 of [0, 1, 517, rows - 3]) {
        const part = compiled(x.index(kn.slice(r0, r0 + 3))) as kn.NDArray[];
        for (let k = 0; k < 3; k++) expectBitwise(big[k].index(kn.slice(r0, r0 + 3)), part[k], `output ${k} rows ${r0}..${r0 + 2}`);
      }
      expectBitwise(big[1], kn.multiply(x, 0.5).eval(), 'y');
    });
  });
});
