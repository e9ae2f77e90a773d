// Gradient and batching rules of Concatenate and PadConstant. Both are linear: the jvp applies
// the same node to the tangents, the vjp slices each input's part back out of the cotangent.
import type { NDArray } from '../../core/array.js';
import type { Node } from '../../core/node.js';
import { Concatenate, PadConstant } from '../../core/primitives.js';
import { defineRules } from '../../core/rules.js';
import { zeros } from '../creation.js';
import { make } from '../make.js';
import { broadcastTo, slice, type SliceSpec } from '../views.js';
import { batchFirst, batchSize, differentiable } from './util.js';

/** Slice specs selecting [start, start + size) along `axis` of an array of `ndim` dims. */
const along = (ndim: number, axis: number, start: number, size: number): SliceSpec[] =>
  Array.from({ length: ndim }, (_, i) => (i === axis ? { start, stop: start + size } : {}));

defineRules(Concatenate, {
  vjp: (ctx, g, wrt) => {
    const axis = ctx.node.params.axis as number,
      offsets = ctx.node.params.offsets as number[];
    if (!differentiable(ctx.output)) return ctx.inputs.map(() => null);
    return ctx.inputs.map((x, k) => (wrt[k] ? slice(g, along(g.ndim, axis, offsets[k], x.shape[axis])) : null));
  },
  jvp: (ctx, ts) => {
    if (!differentiable(ctx.output)) return null;
    const full = ts.map((t, k) => t ?? zeros(ctx.inputs[k].shape, ctx.inputs[k].dtype));
    return make(Concatenate, ctx.node.params as Record<string, unknown>, full, ctx.node.shape, ctx.node.dtype);
  },
  // every input gets the batch axis first (unbatched ones broadcast); the joined axis moves by one
  vmap: (node: Node, inputs: NDArray[], axes) => {
    const B = batchSize(inputs, axes);
    const aligned = inputs.map((x, i) => (axes[i] === null ? broadcastTo(x, [B, ...x.shape]) : batchFirst(x, axes[i])));
    const p = { axis: (node.params.axis as number) + 1, offsets: node.params.offsets };
    return [make(Concatenate, p, aligned, [B, ...node.shape], node.dtype), 0];
  },
});

defineRules(PadConstant, {
  vjp: (ctx, g) => {
    if (!differentiable(ctx.output)) return [null];
    const before = ctx.node.params.before as number[],
      x = ctx.inputs[0];
    return [
      slice(
        g,
        x.shape.map((d, i) => ({ start: before[i], stop: before[i] + d })),
      ),
    ];
  },
  jvp: (ctx, [t]) => {
    if (!t || !differentiable(ctx.output)) return null;
    return make(PadConstant, { before: ctx.node.params.before, value: 0 }, [t], ctx.node.shape, t.dtype);
  },
  vmap: (node, [x], [ax]) => {
    const f = batchFirst(x, ax);
    const p = { before: [0, ...(node.params.before as number[])], value: node.params.value };
    return [make(PadConstant, p, [f], [f.shape[0], ...node.shape], node.dtype), 0];
  },
});
