// Gradient and batching rules of reductions and matmul. A Reduce node reduces the last `r` dims
// of its input (the op moved them there), so the cotangent is expanded back by a reshape to
// [...kept, 1, ..., 1] and a broadcast.
import type { NDArray } from '../../core/array.js';
import type { Node } from '../../core/node.js';
import { Matmul, Reduce } from '../../core/primitives.js';
import { defineRules, type RuleContext } from '../../core/rules.js';
import { add, astype, divide, equal, multiply, logicalOr, isnan } from '../elementwise.js';
import { make } from '../make.js';
import { matmul } from '../matmul.js';
import { sum } from '../reduce.js';
import { cumprod } from '../scan.js';
import { broadcastTo, reshape, swapaxes } from '../views.js';
import { batchFirst, differentiable } from './util.js';

/** The reduced output reshaped so it broadcasts against the input: [...kept, 1 x r]. */
function expand(y: NDArray, node: Node): NDArray {
  const r = node.params.r as number;
  return reshape(y, [...node.shape, ...new Array(r).fill(1)]);
}
const reducedAxes = (node: Node) => {
  const nd = node.inputs[0].shape.length,
    r = node.params.r as number;
  return Array.from({ length: r }, (_, i) => nd - r + i);
};

/** product of every other element along the reduced dims (no division, so zeros are fine) */
function productOfOthers(x: NDArray, node: Node): NDArray {
  const r = node.params.r as number,
    sh = x.shape;
  const flat = reshape(x, [...sh.slice(0, sh.length - r), -1]);
  const before = cumprod(flat, -1, { inclusive: false });
  const after = cumprod(flat, -1, { inclusive: false, reverse: true });
  return reshape(multiply(before, after), sh);
}

/** weights that split the gradient of max/min evenly between tied extremes (NaN wins) */
function extremeWeights(ctx: RuleContext): NDArray {
  const x = ctx.inputs[0];
  const y = broadcastTo(expand(ctx.output, ctx.node), x.shape);
  const hit = astype(logicalOr(equal(x, y), isnan(x)), x.dtype);
  return divide(hit, expand(sum(hit, reducedAxes(ctx.node)), ctx.node));
}

/** d(out)/d(x) per input element, or null when the reduction has no gradient */
function reduceWeights(ctx: RuleContext): NDArray | 'ones' | null {
  if (!differentiable(ctx.inputs[0]) || !differentiable(ctx.output)) return null;
  switch (ctx.node.params.op) {
    case 'sum':
      return 'ones';
    case 'prod':
      return productOfOthers(ctx.inputs[0], ctx.node);
    case 'max':
    case 'min':
      return extremeWeights(ctx);
    default:
      return null; // all, any, argmax, argmin
  }
}

defineRules(Reduce, {
  vjp: (ctx, g) => {
    const op = ctx.node.params.op as string;
    if (op === 'argmax' || op === 'argmin')
      throw new Error(
        `[grad] ${op} returns integer indices, which are not differentiable (piecewise constant in the input); ` +
          'a gradient reached them because they were used as values: wrap them in kn.stopGradient to use them as constants',
      );
    const w = reduceWeights(ctx);
    if (w === null) return [null];
    const gb = broadcastTo(expand(g, ctx.node), ctx.inputs[0].shape);
    return [w === 'ones' ? gb : multiply(gb, w)];
  },
  jvp: (ctx, [t]) => {
    const w = reduceWeights(ctx);
    if (w === null || !t) return null;
    return sum(w === 'ones' ? t : multiply(t, w), reducedAxes(ctx.node));
  },
  // the batch axis goes first; the reduced dims stay last
  vmap: (node, [x], [ax]) => {
    const f = batchFirst(x, ax);
    return [make(Reduce, node.params as Record<string, unknown>, [f], [f.shape[0], ...node.shape], node.dtype), 0];
  },
});

defineRules(Matmul, {
  vjp: (ctx, g, wrt) => {
    const [a, b] = ctx.inputs;
    if (!differentiable(ctx.output)) return [null, null];
    return [wrt[0] ? matmul(g, swapaxes(b, -1, -2)) : null, wrt[1] ? matmul(swapaxes(a, -1, -2), g) : null];
  },
  jvp: (ctx, [ta, tb]) => {
    const [a, b] = ctx.inputs;
    const pa = ta ? matmul(ta, b) : null,
      pb = tb ? matmul(a, tb) : null;
    return pa && pb ? add(pa, pb) : (pa ?? pb);
  },
  // an unbatched operand broadcasts against the batched one through matmul's own rules
  vmap: (_, inputs, axes) => {
    const [a, b] = inputs.map((x, i) => (axes[i] === null ? x : batchFirst(x, axes[i])));
    return [matmul(a, b), 0];
  },
});
