// Odd functions keep the sign of zero, as numpy's do: f(+0) = +0 and f(-0) = -0, on the SIMD
// paths (long arrays) and the scalar tails alike.
import { expect, test } from 'vitest';
import * as kn from '../index.js';

const odd = [
  'tanh',
  'sin',
  'sinh',
  'tan',
  'arcsin',
  'arctan',
  'arcsinh',
  'arctanh',
  'erf',
  'erfinv',
  'expm1',
  'log1p',
  'sqrt',
  'negative',
  'trunc',
  'round',
  'floor',
  'ceil',
] as const;

for (const dtype of ['float32', 'float64'] as const)
  test(`signed zeros survive odd functions (${dtype})`, () => {
    const n = 37; // a SIMD body and a scalar tail
    const vals = Float64Array.from({ length: n }, (_, i) => (i % 2 ? -0 : 0));
    const x = kn.array(vals, dtype);
    for (const op of odd) {
      const out = Array.from((kn as unknown as Record<string, (a: kn.NDArray) => kn.NDArray>)[op](x).toTypedArray() as Float64Array);
      const sign = (v: number) => (Object.is(v, -0) ? '-0' : Object.is(v, 0) ? '+0' : String(v));
      const expected = Array.from(vals, (v) => {
        if (op === 'negative') return sign(-v);
        if (op === 'sqrt') return sign(Math.sqrt(v)); // IEEE: sqrt(-0) = -0
        return sign(v);
      });
      expect({ op, got: out.map(sign) }).toEqual({ op, got: expected });
    }
  });
