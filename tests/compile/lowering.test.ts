// Eager evaluation and kn.compile share one lowering (core/lowering.ts). These cases once differed:
// compile donated a scatter's *updates* (or its int32 indices) to the output buffer. The property
// runs random graphs mixing scatter, gather, sort, matmul, concatenate, views and elementwise work
// through both and demands the same values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { expectSame, normal } from './helpers.js';

const T = { rtol: 1e-4, atol: 1e-5 };

describe('scatter outputs never take the buffer of their updates or indices', () => {
  const x = kn.array([[1, 2, 3, 4]], 'float32');
  const i = kn.array([[3, 2, 1, 0]], 'int32');

  it('putAlongAxis with computed updates', () => {
    const f = (x: kn.NDArray, i: kn.NDArray) => kn.putAlongAxis(x, i, kn.exp(x), -1);
    const want = [[Math.exp(4), Math.exp(3), Math.exp(2), Math.exp(1)]];
    const got = kn.compile(f)(x, i).tolist() as number[][];
    got[0].forEach((v, k) => expect(v).toBeCloseTo(want[0][k], 4));
    expectSame(kn.compile(f)(x, i), f(x, i));
  });

  it('putAlongAxis with computed int32 indices', () => {
    const g = (x: kn.NDArray) => kn.putAlongAxis(x, kn.argsort(kn.negative(x), -1), x, -1);
    expect(kn.compile(g)(x).tolist()).toEqual([[4, 3, 2, 1]]);
    expect(g(x).tolist()).toEqual([[4, 3, 2, 1]]);
  });

  it('a KV-cache style sliceUpdate of a computed value inside a compiled step', () => {
    const step = (cache: kn.NDArray, x: kn.NDArray, w: kn.NDArray) => {
      const k = kn.matmul(x, w);
      const c = kn.sliceUpdate(cache, k, [0, 2, 0]);
      return [c, kn.sum(c, -1)];
    };
    const cache = kn.zeros([1, 6, 4]),
      x = normal([1, 1, 3], 1),
      w = normal([3, 4], 2);
    const c = kn.compile(step);
    expectSame(c(cache, x, w), step(cache, x, w), T);
    expectSame(c(cache, x, w), step(cache, x, w), T);
  });
});

// ---- random graphs over [4, 4] float32 values ----------------------------------------------

type Op = { op: string; a: number; b: number; c: number };
const N = 4;

/** Applies `prog` to the inputs: each op reads up to three earlier values (indices mod count). */
function run(prog: Op[], inputs: kn.NDArray[]): kn.NDArray[] {
  const vals = inputs.map((v) => kn.tanh(v));
  const pick = (k: number) => vals[k % vals.length];
  for (const { op, a, b, c } of prog) {
    const x = pick(a),
      y = pick(b),
      z = pick(c);
    let r: kn.NDArray;
    switch (op) {
      case 'sin':
        r = kn.sin(kn.multiply(x, 1.5));
        break;
      case 'mix':
        r = kn.multiply(kn.add(x, y), 0.5);
        break;
      case 'mul':
        r = kn.multiply(x, y);
        break;
      case 'matmul':
        r = kn.tanh(kn.matmul(x, y));
        break;
      case 'scatter':
        r = kn.putAlongAxis(x, kn.argsort(y, -1), kn.exp(z), -1);
        break;
      case 'scatterAdd':
        r = kn.at(x, kn.array([0, 2, 0], 'int32')).add(kn.index(y, '0:3'));
        break;
      case 'gather':
        r = kn.takeAlongAxis(x, kn.argsort(y, 0), 0);
        break;
      case 'sort':
        r = kn.sort(kn.add(x, y), -1);
        break;
      case 'concat':
        r = kn.concatenate([x, kn.negative(y)], 0).index('2:6');
        break;
      case 'transpose':
        r = kn.add(x.T, y);
        break;
      case 'flip':
        r = kn.subtract(kn.flip(x, 1), y.index('::-1'));
        break;
      case 'reshape':
        r = kn.reshape(kn.reshape(kn.exp(x), [16]).index('::-1'), [N, N]);
        break;
      case 'reduce':
        r = kn.subtract(x, kn.divide(kn.sum(y, -1, { keepdims: true }), N));
        break;
      case 'cast':
        r = kn.astype(kn.astype(kn.add(x, z), 'float16'), 'float32');
        break;
      default:
        r = kn.where(kn.greater(x, y), x, kn.negative(z));
        break;
    }
    vals.push(r);
  }
  return vals.slice(-2);
}

const OPS = ['sin', 'mix', 'mul', 'matmul', 'scatter', 'scatterAdd', 'gather', 'sort', 'concat', 'transpose', 'flip', 'reshape', 'reduce', 'cast', 'where'];
const opArb = fc.record({ op: fc.constantFrom(...OPS), a: fc.nat(50), b: fc.nat(50), c: fc.nat(50) });

describe('compiled equals eager on random graphs', () => {
  it('mixing scatter, gather, sort, matmul, concatenate, views and elementwise ops', () => {
    const inputs = [normal([N, N], 11), normal([N, N], 12), normal([N, N], 13)];
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 12 }), (prog) => {
        const f = (a: kn.NDArray, b: kn.NDArray, c: kn.NDArray) => run(prog, [a, b, c]);
        const want = kn.tidy(() => f(...(inputs as [kn.NDArray, kn.NDArray, kn.NDArray])).map((v) => v.eval()));
        const c = kn.compile(f);
        expectSame(c(...(inputs as [kn.NDArray, kn.NDArray, kn.NDArray])), want, T, 'traced');
        expectSame(c(...(inputs as [kn.NDArray, kn.NDArray, kn.NDArray])), want, T, 'replayed');
        kn.compile.clearCache();
      }),
      { numRuns: 150, seed: 20261207 },
    );
  });
});
