// Random elementwise expression trees (fast-check): the compiled function equals the eager one
// bit for bit (fused programs run the eager kernels' operations in the same order), whatever the
// broadcasting, dtype and mix of ops; a reduction on top agrees within float tolerance.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as kn from '../../index.js';
import { expectSame, normal } from './helpers.js';

type Expr =
  | { kind: 'input'; i: number }
  | { kind: 'const'; v: number }
  | { kind: 'unary'; op: string; a: Expr }
  | { kind: 'binary'; op: string; a: Expr; b: Expr }
  | { kind: 'where'; a: Expr; b: Expr; c: Expr; d: Expr };

const UNARY = ['negative', 'abs', 'square', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'sin', 'cos', 'erf', 'floor', 'reciprocal', 'expm1', 'arctan'];
const BINARY = ['add', 'subtract', 'multiply', 'divide', 'maximum', 'minimum', 'power', 'arctan2', 'logaddexp'];

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('input' as const), i: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('const' as const), v: fc.constantFrom(0.5, 2, -1.5, 3) }),
    fc.record({ kind: fc.constant('unary' as const), op: fc.constantFrom(...UNARY), a: tie('e') }),
    fc.record({ kind: fc.constant('binary' as const), op: fc.constantFrom(...BINARY), a: tie('e'), b: tie('e') }),
    fc.record({ kind: fc.constant('where' as const), a: tie('e'), b: tie('e'), c: tie('e'), d: tie('e') }),
  ),
})).e;

const call = (name: string, ...xs: unknown[]): kn.NDArray => (kn as unknown as Record<string, (...a: unknown[]) => kn.NDArray>)[name](...xs);

function build(e: Expr, xs: kn.NDArray[]): kn.NDArray | number {
  switch (e.kind) {
    case 'input':
      return xs[e.i];
    case 'const':
      return e.v;
    case 'unary': {
      const a = build(e.a, xs);
      return call(e.op, typeof a === 'number' ? kn.array(a, xs[0].dtype) : a);
    }
    case 'binary': {
      const a = build(e.a, xs),
        b = build(e.b, xs);
      if (typeof a === 'number' && typeof b === 'number') return call(e.op, kn.array(a, xs[0].dtype), b);
      return call(e.op, a, b);
    }
    case 'where': {
      const a = build(e.a, xs),
        b = build(e.b, xs);
      const cond = typeof a === 'number' && typeof b === 'number' ? kn.greater(kn.array(a, xs[0].dtype), b) : kn.greater(a as kn.NDArray, b);
      return kn.where(cond, build(e.c, xs), build(e.d, xs));
    }
  }
}

const asArray = (v: kn.NDArray | number, like: kn.NDArray) =>
  typeof v === 'number' ? kn.full(like.shape, v, like.dtype) : v.ndim === 0 ? kn.broadcastTo(v, like.shape) : v;

describe('random expression trees', () => {
  const shapes: [number[], number[], number[]][] = [
    [
      [3, 17],
      [3, 17],
      [3, 17],
    ],
    [[4, 1, 9], [5, 1], [9]],
    [[2, 40], [1, 40], []],
  ];
  for (const dtype of ['float32', 'float64', 'float16'] as const) {
    it(`compiled trees equal eager trees exactly (${dtype})`, () => {
      fc.assert(
        fc.property(exprArb, fc.integer({ min: 0, max: shapes.length - 1 }), (e, si) => {
          kn.tidy(() => {
            const xs = shapes[si].map((s, k) => normal(s, 100 + k, dtype));
            const f = (...a: kn.NDArray[]) => asArray(build(e, a), a[0]);
            const c = kn.compile(f);
            const want = f(...xs);
            expectSame(c(...xs), want);
            expectSame(c(...xs), want);
          });
        }),
        { numRuns: 40, seed: 7 },
      );
    });
  }

  it('a sum over the last axis of a random tree agrees within tolerance', () => {
    fc.assert(
      fc.property(exprArb, (e) => {
        kn.tidy(() => {
          const xs = [normal([6, 50], 1), normal([6, 50], 2), normal([50], 3)];
          const f = (...a: kn.NDArray[]) => kn.sum(kn.tanh(asArray(build(e, a), a[0])), -1);
          expectSame(kn.compile(f)(...xs), f(...xs), { rtol: 1e-5, atol: 1e-5 });
        });
      }),
      { numRuns: 40, seed: 11 },
    );
  });
});
