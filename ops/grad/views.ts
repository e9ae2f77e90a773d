// Gradient and batching rules of the view primitives. Every view is linear, so its jvp applies
// the same view to the tangent; its vjp puts the cotangent back where the view read it.
import type { NDArray } from '../../core/array.js';
import type { Node } from '../../core/node.js';
import { AsStrided, BroadcastTo, Contiguous, Reshape, Slice, Transpose } from '../../core/primitives.js';
import { defineRules, type JvpRule } from '../../core/rules.js';
import { arange, zeros } from '../creation.js';
import { at } from '../index_expr.js';
import { make } from '../make.js';
import { sum } from '../reduce.js';
import { pad } from '../shape.js';
import { reshape, transpose } from '../views.js';
import { batchFirst } from './util.js';

const params = (n: Node) => n.params as Record<string, unknown>;
/** the same view of the tangent */
const sameView: JvpRule = (ctx, [t]) => (t ? make(ctx.node.primitive, params(ctx.node), [t], ctx.node.shape, t.dtype) : null);

defineRules(Reshape, {
  vjp: (ctx, g) => [reshape(g, ctx.inputs[0].shape)],
  jvp: (ctx, [t]) => (t ? reshape(t, ctx.node.shape) : null),
  vmap: (node, [x], [ax]) => {
    const f = batchFirst(x, ax);
    return [reshape(f, [f.shape[0], ...node.shape]), 0];
  },
});

defineRules(Transpose, {
  vjp: (ctx, g) => {
    const perm = ctx.node.params.perm as number[];
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(g, inv)];
  },
  jvp: sameView,
  vmap: (node, [x], [ax]) => {
    const perm = node.params.perm as number[];
    return [transpose(batchFirst(x, ax), [0, ...perm.map((p) => p + 1)]), 0];
  },
});

defineRules(Slice, {
  vjp: (ctx, g) => {
    const x = ctx.inputs[0],
      n = ctx.node;
    const starts = n.params.starts as number[],
      steps = n.params.steps as number[];
    if (steps.every((s) => s === 1) || n.shape.every((d, i) => d <= 1 || steps[i] === 1)) {
      // contiguous along every axis: pad the cotangent back out
      return [
        pad(
          g,
          x.shape.map((d, i) => [n.shape[i] === 0 ? 0 : starts[i], d - (n.shape[i] === 0 ? 0 : starts[i]) - n.shape[i]] as [number, number]),
        ),
      ];
    }
    const items = n.shape.map((d, i) => {
      const stop = starts[i] + steps[i] * d;
      return { start: starts[i], stop: stop < 0 ? null : stop, step: steps[i] };
    });
    return [at(zeros(x.shape, g.dtype), ...items).add(g)];
  },
  jvp: sameView,
  vmap: (node, [x], [ax]) => {
    const f = batchFirst(x, ax);
    const starts = [0, ...(node.params.starts as number[])],
      steps = [1, ...(node.params.steps as number[])];
    return [make(Slice, { starts, steps }, [f], [f.shape[0], ...node.shape], node.dtype), 0];
  },
});

defineRules(BroadcastTo, {
  vjp: (ctx, g) => {
    const src = ctx.inputs[0].shape,
      out = ctx.node.shape,
      lead = out.length - src.length;
    const axes: number[] = [];
    out.forEach((d, i) => {
      if (i < lead || (src[i - lead] === 1 && d !== 1)) axes.push(i);
    });
    return [axes.length ? reshape(sum(g, axes), src) : reshape(g, src)];
  },
  jvp: sameView,
  vmap: (node, [x], [ax]) => {
    const f = batchFirst(x, ax),
      B = f.shape[0];
    const src = f.shape.slice(1),
      lead = node.shape.length - src.length;
    const aligned = reshape(f, [B, ...new Array(lead).fill(1), ...src]);
    return [make(BroadcastTo, {}, [aligned], [B, ...node.shape], node.dtype), 0];
  },
});

// AsStrided reads its contiguous 1-d input at computed positions: scatter-add the cotangent there.
function stridedPositions(node: Node, n: number): NDArray {
  const base = arange(n);
  return make(AsStrided, params(node), [base], node.shape, base.dtype);
}
defineRules(AsStrided, {
  vjp: (ctx, g) => {
    const n = ctx.inputs[0].size;
    const pos = reshape(stridedPositions(ctx.node, n), [-1]);
    return [at(zeros([n], g.dtype), pos).add(reshape(g, [-1]))];
  },
  jvp: (ctx, [t]) => (t ? make(AsStrided, params(ctx.node), [make(Contiguous, {}, [t], t.shape, t.dtype)], ctx.node.shape, t.dtype) : null),
  vmap: (node, [x], [ax]) => {
    const f = make(Contiguous, {}, [batchFirst(x, ax)], batchFirst(x, ax).shape, x.dtype);
    const [B, n] = f.shape;
    const p = { strides: [n, ...(node.params.strides as number[])], offset: node.params.offset };
    return [make(AsStrided, p, [f], [B, ...node.shape], node.dtype), 0];
  },
});

defineRules(Contiguous, {
  vjp: (_, g) => [g],
  jvp: (_, [t]) => t,
  vmap: (node, [x], [ax]) => {
    const f = batchFirst(x, ax);
    return [make(Contiguous, {}, [f], f.shape, node.dtype), 0];
  },
});
