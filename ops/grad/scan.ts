// Gradient and batching rules of Scan (cumsum, cumprod, cummax, cummin, logcumsumexp along the
// last axis; forward or reverse, inclusive or exclusive). Every variant is reduced to a forward
// inclusive scan: reverse flips the axis, exclusive shifts the output by one (its first element is
// the op's identity and the input's last element is never used).
import type { NDArray } from '../../core/array.js';
import { Scan } from '../../core/primitives_sort.js';
import { defineRules } from '../../core/rules.js';
import { arange, zerosLike } from '../creation.js';
import {
  add,
  astype,
  divide,
  equal,
  exp,
  greater,
  isnan,
  log,
  logicalAnd,
  logicalNot,
  logicalOr,
  multiply,
  negative,
  subtract,
  where,
} from '../elementwise.js';
import { takeAlongAxis } from '../take_scatter.js';
import { make } from '../make.js';
import { sum } from '../reduce.js';
import { pad } from '../shape.js';
import { slice, type SliceSpec } from '../views.js';
import { batchFirst, differentiable } from './util.js';

const scanOf = (op: string, x: NDArray, reverse = false, inclusive = true) => make(Scan, { op, reverse, inclusive }, [x], x.shape, x.dtype);
const cumsum = (x: NDArray, reverse = false) => scanOf('cumsum', x, reverse);

/** a slice of the last axis only */
const last = (x: NDArray, spec: SliceSpec) => slice(x, [...x.shape.slice(0, -1).map(() => ({})), spec]);
const flip = (x: NDArray) => last(x, { step: -1 });
/** pads the last axis with `before` and `after` copies of `value` */
const padLast = (x: NDArray, before: number, after: number, value: number | boolean = 0) =>
  pad(x, [...x.shape.slice(0, -1).map(() => [0, 0] as [number, number]), [before, after]], { constantValue: value });

/** numpy's equality for scans: NaN equals NaN */
const same = (a: NDArray, b: NDArray) => logicalOr(equal(a, b), logicalAnd(isnan(a), isnan(b)));
/** log of the positive part of a, -inf where a <= 0 */
const logPositive = (a: NDArray) => where(greater(a, 0), log(where(greater(a, 0), a, 1)), -Infinity);

/** How a forward inclusive scan y of x depends on x, from the primal values. */
interface ScanDerivative {
  vjp(g: NDArray): NDArray;
  jvp(t: NDArray): NDArray;
}

function cumprodDerivative(x: NDArray, y: NDArray): ScanDerivative {
  // before the first zero y_j / x_i is the product of the others; the first zero's own
  // derivative is the product with it left out; after it everything has a zero factor
  const isZero = equal(x, 0);
  const zerosSoFar = cumsum(astype(isZero, x.dtype));
  const before = equal(zerosSoFar, 0);
  const first = logicalAnd(isZero, equal(zerosSoFar, 1));
  const safeX = where(before, x, 1);
  const withoutFirst = scanOf('cumprod', where(first, 1, x));
  return {
    vjp: (g) => where(before, divide(cumsum(multiply(g, y), true), safeX), where(first, cumsum(multiply(g, withoutFirst), true), 0)),
    jvp: (t) => {
      const tFirst = sum(where(first, t, 0), -1, { keepdims: true });
      return where(before, multiply(y, cumsum(divide(t, safeX))), multiply(tFirst, withoutFirst));
    },
  };
}

function extremeDerivative(x: NDArray, y: NDArray): ScanDerivative {
  // y is constant on plateaus; x_i reaches y_j (i <= j) exactly when x_i = y_i and both lie in
  // the same plateau. Tied elements of a plateau share each output's derivative evenly.
  const n = x.shape[x.ndim - 1];
  const idx = arange(n, 'int32');
  const hit = astype(same(x, y), x.dtype);
  const changed = logicalNot(same(last(y, { start: 1 }), last(y, { stop: -1 })));
  const start = scanOf('cummax', where(padLast(changed, 1, 0, true), idx, 0));
  const end = scanOf('cummin', where(padLast(changed, 0, 1, true), idx, n - 1), true);
  const hits = cumsum(hit);
  const count = subtract(hits, takeAlongAxis(subtract(hits, hit), start, -1));
  return {
    vjp: (g) => {
      const h = divide(g, count);
      const p = cumsum(h);
      return multiply(hit, add(subtract(takeAlongAxis(p, end, -1), p), h));
    },
    jvp: (t) => {
      const ht = multiply(hit, t);
      const q = cumsum(ht);
      return divide(subtract(q, takeAlongAxis(subtract(q, ht), start, -1)), count);
    },
  };
}

function logcumsumexpDerivative(x: NDArray, y: NDArray): ScanDerivative {
  // dy_j/dx_i = exp(x_i - y_j) for i <= j, summed in log space with positive and negative parts
  const ys = where(equal(y, -Infinity), 0, y);
  const lcse = (a: NDArray, reverse: boolean) => scanOf('logcumsumexp', a, reverse);
  return {
    vjp: (g) => subtract(exp(add(x, lcse(subtract(logPositive(g), ys), true))), exp(add(x, lcse(subtract(logPositive(negative(g)), ys), true)))),
    jvp: (t) => subtract(exp(subtract(lcse(add(logPositive(t), x), false), ys)), exp(subtract(lcse(add(logPositive(negative(t)), x), false), ys))),
  };
}

function derivative(op: string, x: NDArray, y: NDArray): ScanDerivative {
  switch (op) {
    case 'cumprod':
      return cumprodDerivative(x, y);
    case 'cummax':
    case 'cummin':
      return extremeDerivative(x, y);
    case 'logcumsumexp':
      return logcumsumexpDerivative(x, y);
    default:
      throw new Error(`[grad] internal: no derivative for scan op '${op}'`);
  }
}

defineRules(Scan, {
  vjp: (ctx, g) => {
    const x = ctx.inputs[0],
      p = ctx.node.params;
    if (!differentiable(x) || !differentiable(ctx.output)) return [null];
    const reverse = p.reverse as boolean,
      inclusive = p.inclusive as boolean;
    if (p.op === 'cumsum') return [scanOf('cumsum', g, !reverse, inclusive)];
    if (x.shape[x.ndim - 1] === 0) return [zerosLike(x)];
    const xf = reverse ? flip(x) : x,
      gf = reverse ? flip(g) : g;
    const y = inclusive ? (reverse ? flip(ctx.output) : ctx.output) : scanOf(p.op as string, xf);
    // exclusive: output j is the inclusive scan at j - 1
    const gi = inclusive ? gf : padLast(last(gf, { start: 1 }), 0, 1);
    const gx = derivative(p.op as string, xf, y).vjp(gi);
    return [reverse ? flip(gx) : gx];
  },
  jvp: (ctx, [t]) => {
    const x = ctx.inputs[0],
      p = ctx.node.params;
    if (!t || !differentiable(x) || !differentiable(ctx.output)) return null;
    const reverse = p.reverse as boolean,
      inclusive = p.inclusive as boolean;
    if (p.op === 'cumsum') return scanOf('cumsum', t, reverse, inclusive);
    if (x.shape[x.ndim - 1] === 0) return zerosLike(x);
    const xf = reverse ? flip(x) : x,
      tf = reverse ? flip(t) : t;
    const y = inclusive ? (reverse ? flip(ctx.output) : ctx.output) : scanOf(p.op as string, xf);
    const ti = derivative(p.op as string, xf, y).jvp(tf);
    const out = inclusive ? ti : padLast(last(ti, { stop: -1 }), 1, 0);
    return reverse ? flip(out) : out;
  },
  vmap: (node, [x], [ax]) => {
    const f = batchFirst(x, ax);
    return [make(Scan, node.params as Record<string, unknown>, [f], [f.shape[0], ...node.shape], node.dtype), 0];
  },
});
