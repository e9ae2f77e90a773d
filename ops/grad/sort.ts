// Gradient and batching rules of Sort (sort, partition, topk values; argsort and argpartition
// indices) and SearchSorted. Sorted values are a selection of the input's elements, so their
// derivative routes each output element back to the input element it came from; indices are
// piecewise constant and carry no gradient.
import type { NDArray } from '../../core/array.js';
import type { Node } from '../../core/node.js';
import { Scatter } from '../../core/primitives.js';
import { SearchSorted, Sort, TopkIndexed } from '../../core/primitives_sort.js';
import { defineRules, type RuleContext } from '../../core/rules.js';
import { zeros } from '../creation.js';
import { astype, isnan, less, logicalAnd, logicalNot, logicalOr } from '../elementwise.js';
import { putAlongAxis, takeAlongAxis } from '../take_scatter.js';
import { make, multi } from '../make.js';
import { sum } from '../reduce.js';
import { argsort } from '../sort.js';
import { expandDims, reshape, slice } from '../views.js';
import { batchFirst, differentiable } from './util.js';

/**
 * Int indices Q along the last axis with output = takeAlongAxis(input, Q, -1): where each output
 * element was read from (ties may pick either of equal elements, which gives the same values).
 */
function sourceIndex(ctx: RuleContext): NDArray {
  const x = ctx.inputs[0],
    n = x.shape[x.ndim - 1];
  const order = argsort(x, -1);
  switch (ctx.node.params.op) {
    case 'sort':
      return order;
    case 'topk': {
      // the k largest in descending order (NaN counts as greatest and sorts last in argsort)
      const k = ctx.node.params.k as number,
        stop = n - 1 - k;
      return slice(order, [...x.shape.slice(0, -1).map(() => ({})), { start: n - 1, stop: stop < 0 ? null : stop, step: -1 }]);
    }
    case 'partition': {
      // the partition's order is the kernel's own: match the r-th smallest output to the r-th smallest input
      const byOutput = argsort(ctx.output, -1);
      return putAlongAxis(zeros(x.shape, 'int32'), byOutput, order, -1);
    }
    default:
      throw new Error(`[grad] internal: no source index for sort op '${ctx.node.params.op}'`);
  }
}

function indicesError(op: string): Error {
  return new Error(
    `[grad] ${op} returns integer indices, which are not differentiable (piecewise constant in the input); ` +
      'a gradient reached them because they were used as values: wrap them in kn.stopGradient to use them as constants',
  );
}

/** g (shaped like the output) added into zeros shaped like x at positions Q of the last axis */
function scatterLast(x: NDArray, q: NDArray, g: NDArray): NDArray {
  const n = x.shape[x.ndim - 1],
    k = q.shape[q.ndim - 1];
  const rows = n === 0 ? 0 : x.size / n;
  const r3 = (a: NDArray, m: number) => reshape(a, [rows, m, 1]);
  const out = make(Scatter, { mode: 1 }, [r3(zeros(x.shape, g.dtype), n), r3(q, k), r3(g, k)], [rows, n, 1], g.dtype);
  return reshape(out, x.shape);
}

const isIndexOp = (n: Node) => n.params.op === 'argsort' || n.params.op === 'argpartition';

defineRules(Sort, {
  vjp: (ctx, g) => {
    if (isIndexOp(ctx.node)) throw indicesError(ctx.node.params.op as string);
    if (!differentiable(ctx.inputs[0])) return [null];
    return [scatterLast(ctx.inputs[0], sourceIndex(ctx), g)];
  },
  jvp: (ctx, [t]) => {
    // indices have a zero tangent: forward mode passes through them when they only index
    if (!t || isIndexOp(ctx.node) || !differentiable(ctx.inputs[0])) return null;
    return takeAlongAxis(t, sourceIndex(ctx), -1);
  },
  // the sorted axis is last; the batch axis goes first
  vmap: (node, [x], [ax]) => {
    const f = batchFirst(x, ax);
    return [make(Sort, node.params as Record<string, unknown>, [f], [f.shape[0], ...node.shape], node.dtype), 0];
  },
});

// topk with indices: the values route back through the indices the kernel returned
defineRules(TopkIndexed, {
  vjpOutputs: (ctx, [g]) => [g && differentiable(ctx.inputs[0]) ? scatterLast(ctx.inputs[0], ctx.outputs[1], g) : null],
  jvpOutputs: (ctx, [t]) => [t && differentiable(ctx.inputs[0]) ? takeAlongAxis(t, ctx.outputs[1], -1) : null, null],
  vmapOutputs: (node, [x], [ax]) => {
    const f = batchFirst(x, ax);
    const [v, i] = node.siblings!;
    const outs = multi(
      TopkIndexed,
      { k: node.params.k },
      [f],
      [
        [f.shape[0], ...v.shape],
        [f.shape[0], ...i.shape],
      ],
      [v.dtype, 'int32'],
    );
    return [outs, [0, 0]];
  },
});

/** a < b in numpy's sort order (NaN greatest) */
const lessNan = (a: NDArray, b: NDArray) => logicalOr(less(a, b), logicalAnd(isnan(b), logicalNot(isnan(a))));

defineRules(SearchSorted, {
  nondifferentiable:
    'searchsorted returns integer insertion indices, which are piecewise constant in its inputs (wrap its result in kn.stopGradient to use it as a constant)',
  jvp: () => null,
  vmap: (node, [s, v], [sa, va]) => {
    if (sa === null) {
      // one sorted array for the whole batch: the kernel takes values of any shape
      return [make(SearchSorted, node.params as Record<string, unknown>, [s, v], v.shape, node.dtype), va];
    }
    // a sorted array per batch element: count, per value, the elements before its insertion point
    const sb = batchFirst(s, sa); // [Bt, n]
    const vb = va === null ? expandDims(v, 0) : batchFirst(v, va); // [Bt | 1, ...vshape]
    const vd = vb.ndim - 1;
    const se = reshape(sb, [sb.shape[0], ...new Array(vd).fill(1), sb.shape[1]]);
    const ve = expandDims(vb, -1);
    const before = node.params.side === 0 ? lessNan(se, ve) : logicalNot(lessNan(ve, se));
    const count = sum(astype(before, 'int32'), -1);
    return [count, 0];
  },
});
