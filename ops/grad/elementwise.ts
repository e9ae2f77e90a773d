// Gradient and batching rules of the elementwise primitives: casts, unary math, binary arithmetic
// and where. Each derivative is written once and serves both vjp (g * d) and jvp (t * d).
import type { NDArray } from '../../core/array.js';
import type { Node } from '../../core/node.js';
import { Binary, Copy, Unary, Where } from '../../core/primitives.js';
import { defineRules, type RuleContext, type VmapRule } from '../../core/rules.js';
import {
  add,
  subtract,
  multiply,
  divide,
  negative,
  square,
  exp,
  power,
  where,
  greater,
  less,
  log,
  cos,
  sin,
  cosh,
  sinh,
  sign,
  floorDivide,
  reciprocal,
  rsqrt,
  astype,
  logicalOr,
  isnan,
} from '../elementwise.js';
import { isInteger } from '../../core/dtype.js';
import { zeros } from '../creation.js';
import { make } from '../make.js';
import { alignBatched, differentiable } from './util.js';

// d(output)/d(input) of each unary op, from the input x and output y; null = zero almost everywhere.
export const unaryDerivative: Record<string, (x: NDArray, y: NDArray) => NDArray | number | null> = {
  neg: () => -1,
  abs: (x) => sign(x),
  exp: (_, y) => y,
  expm1: (_, y) => add(y, 1),
  log: (x) => reciprocal(x),
  log1p: (x) => reciprocal(add(x, 1)),
  log2: (x) => reciprocal(multiply(x, Math.LN2)),
  log10: (x) => reciprocal(multiply(x, Math.LN10)),
  sqrt: (_, y) => divide(0.5, y),
  rsqrt: (x, y) => multiply(divide(y, x), -0.5),
  square: (x) => multiply(x, 2),
  reciprocal: (_, y) => negative(square(y)),
  sin: (x) => cos(x),
  cos: (x) => negative(sin(x)),
  tan: (_, y) => add(square(y), 1),
  arcsin: (x) => rsqrt(subtract(1, square(x))),
  arccos: (x) => negative(rsqrt(subtract(1, square(x)))),
  arctan: (x) => reciprocal(add(square(x), 1)),
  sinh: (x) => cosh(x),
  cosh: (x) => sinh(x),
  tanh: (_, y) => subtract(1, square(y)),
  arcsinh: (x) => rsqrt(add(square(x), 1)),
  arccosh: (x) => rsqrt(subtract(square(x), 1)),
  arctanh: (x) => reciprocal(subtract(1, square(x))),
  sigmoid: (_, y) => multiply(y, subtract(1, y)),
  erf: (x) => multiply(exp(negative(square(x))), 2 / Math.sqrt(Math.PI)),
  erfinv: (_, y) => multiply(exp(square(y)), Math.sqrt(Math.PI) / 2),
};

/** Why the other unary ops of the native catalog have no derivative table entry (their gradient is zero). */
export const unaryNoDerivative: Record<string, string> = {
  sign: 'piecewise constant: zero almost everywhere',
  floor: 'piecewise constant: zero almost everywhere',
  ceil: 'piecewise constant: zero almost everywhere',
  round: 'piecewise constant: zero almost everywhere',
  trunc: 'piecewise constant: zero almost everywhere',
  isnan: 'a predicate: bool output',
  isinf: 'a predicate: bool output',
  isfinite: 'a predicate: bool output',
  logical_not: 'logical: bool output',
  bitwise_invert: 'integers only',
};

const scale = (v: NDArray, d: NDArray | number | null): NDArray | null => (d === null ? null : d === 1 ? v : multiply(v, d));

function unaryD(ctx: RuleContext): NDArray | number | null {
  const [x] = ctx.inputs;
  if (!differentiable(x) || !differentiable(ctx.output)) return null;
  const d = unaryDerivative[ctx.node.params.op as string];
  return d ? d(x, ctx.output) : null;
}

/** Re-applies an elementwise node to inputs aligned as [B, ...shape]; the batch axis is 0. */
const elementwiseVmap: VmapRule = (node: Node, inputs, axes) => {
  const aligned = alignBatched(inputs, axes, node.shape);
  const shape = [aligned[0].shape[0], ...node.shape];
  return [make(node.primitive, node.params as Record<string, unknown>, aligned, shape, node.dtype), 0];
};

defineRules(Unary, {
  vjp: (ctx, g) => [scale(g, unaryD(ctx))],
  jvp: (ctx, [t]) => (t ? scale(t, unaryD(ctx)) : null),
  vmap: elementwiseVmap,
});

// A cast passes gradients between floating dtypes; integer values carry none. Integers cast on
// (argsort(x).astype('float32')) still send a zero cotangent back, so that the op that made them
// is asked and index ops (argsort, argmax, searchsorted) can say they are not differentiable.
defineRules(Copy, {
  vjp: (ctx, g, wrt) => {
    const [x] = ctx.inputs;
    if (differentiable(x)) return [differentiable(ctx.output) ? astype(g, x.dtype) : null];
    return [wrt[0] && isInteger(x.dtype) && ctx.output.dtype !== 'bool' ? zeros(x.shape, x.dtype) : null];
  },
  jvp: (ctx, [t]) => (t && differentiable(ctx.inputs[0]) && differentiable(ctx.output) ? astype(t, ctx.node.dtype) : null),
  vmap: elementwiseVmap,
});

// Partial derivatives of each binary op with respect to a and b (null = zero).
type Partials = (a: NDArray, b: NDArray, y: NDArray) => [NDArray | number | null, NDArray | number | null];
export const binaryPartials: Record<string, Partials> = {
  add: () => [1, 1],
  subtract: () => [1, -1],
  multiply: (a, b) => [b, a],
  divide: (_, b, y) => [reciprocal(b), negative(divide(y, b))],
  power: (a, b, y) => [multiply(b, power(a, subtract(b, 1))), where(greater(a, 0), multiply(y, log(where(greater(a, 0), a, 1))), 0)],
  // ties split the gradient evenly; a NaN operand takes all of it
  maximum: (a, b) => extremePartials(greater(a, b), less(a, b), a, b),
  minimum: (a, b) => extremePartials(less(a, b), greater(a, b), a, b),
  remainder: (a, b) => [1, negative(floorDivide(a, b))],
  logaddexp: (a, b, y) => [exp(subtract(a, y)), exp(subtract(b, y))],
  arctan2: (a, b) => {
    const r = add(square(a), square(b));
    return [divide(b, r), negative(divide(a, r))];
  },
};

/** Why the other binary ops of the native catalog have no partials (their gradient is zero). */
export const binaryNoDerivative: Record<string, string> = {
  floor_divide: 'piecewise constant: zero almost everywhere',
  ...Object.fromEntries(['equal', 'not_equal', 'less', 'less_equal', 'greater', 'greater_equal'].map((op) => [op, 'a comparison: bool output'])),
  ...Object.fromEntries(['logical_and', 'logical_or', 'logical_xor'].map((op) => [op, 'logical: bool output'])),
  ...Object.fromEntries(['bitwise_and', 'bitwise_or', 'bitwise_xor', 'left_shift', 'right_shift'].map((op) => [op, 'integers only'])),
};

function extremePartials(aWins: NDArray, bWins: NDArray, a: NDArray, b: NDArray): [NDArray, NDArray] {
  const wa = where(logicalOr(aWins, isnan(a)), 1, where(logicalOr(bWins, isnan(b)), 0, 0.5));
  const wb = where(logicalOr(bWins, isnan(b)), 1, where(logicalOr(aWins, isnan(a)), 0, 0.5));
  return [astype(wa, a.dtype), astype(wb, b.dtype)];
}

function binaryD(ctx: RuleContext): [NDArray | number | null, NDArray | number | null] {
  const [a, b] = ctx.inputs;
  if (!differentiable(a) || !differentiable(ctx.output)) return [null, null];
  const p = binaryPartials[ctx.node.params.op as string];
  return p ? p(a, b, ctx.output) : [null, null];
}

defineRules(Binary, {
  vjp: (ctx, g, wrt) => {
    const [da, db] = binaryD(ctx);
    return [wrt[0] ? scale(g, da) : null, wrt[1] ? scale(g, db) : null];
  },
  jvp: (ctx, [ta, tb]) => {
    const [da, db] = binaryD(ctx);
    const pa = ta ? scale(ta, da) : null,
      pb = tb ? scale(tb, db) : null;
    return pa && pb ? add(pa, pb) : (pa ?? pb);
  },
  vmap: elementwiseVmap,
});

defineRules(Where, {
  vjp: (ctx, g, wrt) => {
    const [c] = ctx.inputs;
    if (!differentiable(ctx.output)) return [null, null, null];
    return [null, wrt[1] ? where(c, g, 0) : null, wrt[2] ? where(c, 0, g) : null];
  },
  jvp: (ctx, [, tx, ty]) => {
    if (!differentiable(ctx.output) || (!tx && !ty)) return null;
    return where(ctx.inputs[0], tx ?? 0, ty ?? 0);
  },
  vmap: elementwiseVmap,
});
