// Shapeless compilation: one trace serves inputs of every size (same ranks and dtypes). Each
// node's shape (and the parameters that follow from shapes) is inferred from its inputs by a
// rule of its primitive. A rule is trusted only after a second trace at other sizes agrees with
// it node for node, so a value that silently depends on sizes (kn.mean's element count, a full
// of a computed shape) is reported with the primitive that cannot be shapeless.
import { fmtShape } from '../shape.js';
import type { ShapeContext } from '../node.js';
import { BroadcastTo, Full, Reshape } from '../primitives.js';
import { elementwiseRule } from '../shape_rules.js';
import { irNode, type IRGraph, type IRNode } from './ir.js';
import { canon } from './simplify.js';

export class ShapelessError extends Error {}

const fail = (n: IRNode, why: string): never => {
  throw new ShapelessError(`[compile] shapeless: ${n.prim.name} cannot be shapeless: ${why}`);
};

const isEw = (n: IRNode) => n.prim.kind === 'elementwise';

/**
 * The graph at other input sizes: every node's shape and size-dependent parameters inferred
 * from `inputShapes` (one per input slot) by its primitive's shape rule. Nodes without a rule
 * keep their traced shape (an error if their inputs change size).
 */
export function inferGraph(g: IRGraph, inputShapes: readonly (readonly number[])[], hints: ShapeHints = new Map()): IRGraph {
  const shapes = new Array<number[] | null>(g.nodes.length).fill(null);
  const params = g.nodes.map((n) => n.params);
  const users = g.nodes.map(() => [] as number[]);
  for (const n of g.nodes) for (const i of n.inputs) users[i].push(n.id);
  const visiting = new Set<number>();

  const shape = (id: number): number[] => {
    const known = shapes[id];
    if (known) return known;
    if (visiting.has(id)) fail(g.nodes[id], 'its shape depends on itself through a broadcast');
    visiting.add(id);
    const s = infer(g.nodes[id]);
    visiting.delete(id);
    shapes[id] = s;
    return s;
  };
  const context = (n: IRNode, inputs: number[][]): ShapeContext => ({
    params: n.params,
    traced: n.shape,
    inputs,
    tracedInputs: n.inputs.map((i) => g.nodes[i].shape),
    vary: hints.get(n.id),
    setParams: (p) => {
      params[n.id] = p;
    },
    fail: (why) => fail(n, why),
  });
  // an elementwise node sees its broadcast inputs before their broadcasts
  const ewShape = (c: IRNode): number[] =>
    elementwiseRule(
      context(
        c,
        c.inputs.map((i) => (g.nodes[i].prim === BroadcastTo ? shape(g.nodes[i].inputs[0]) : shape(i))),
      ),
    );
  const infer = (n: IRNode): number[] => {
    if (n.kind === 'input') return inputShapes[n.slot].slice();
    if (n.kind === 'const') return n.shape.slice();
    if (isEw(n)) return ewShape(n);
    if (n.prim === BroadcastTo) {
      // a broadcast takes the shape of the elementwise op it feeds (or stays an explicit fixed shape)
      const c = users[n.id].map((u) => g.nodes[u]).find(isEw);
      return c ? ewShape(c) : n.shape.slice();
    }
    if (n.prim.shapeRule) return n.prim.shapeRule(context(n, n.inputs.map(shape)));
    // no rule: the traced shape, valid only while the inputs keep their traced shapes
    const same = n.inputs.every((i) => {
      const a = shape(i),
        b = g.nodes[i].shape;
      return a.length === b.length && a.every((d, k) => d === b[k]);
    });
    if (!same) fail(n, 'it has no shape rule and its inputs change size');
    return n.shape.slice();
  };

  const nodes = g.nodes.map((n) => irNode(n.id, n.kind, n.prim, n.params, n.inputs, shape(n.id), n.dtype, n.slot, n.source, n.device));
  nodes.forEach((n, k) => {
    n.params = params[k];
  });
  return { nodes, nInputs: g.nInputs, outputs: g.outputs };
}

/** Per reshape node, the output dims that changed between the two traces (which dim of a split varies). */
export type ShapeHints = Map<number, Set<number>>;

/**
 * Checks that inferring `g1` at the sizes of `g2`'s inputs gives `g2` (the second trace). Throws
 * naming the first node whose shape or parameters the rules do not reproduce.
 */
export function checkShapeless(g1: IRGraph, g2: IRGraph): ShapeHints {
  const where = (n: IRNode) => `${n.prim.name}${n.params.op ? `(${n.params.op})` : ''}`;
  if (g1.nodes.length !== g2.nodes.length || g1.outputs.length !== g2.outputs.length || g1.outputs.some((o, k) => o !== g2.outputs[k]))
    throw new ShapelessError(
      `[compile] shapeless: the function builds a different graph at other input sizes (${g1.nodes.length} vs ${g2.nodes.length} nodes), so it cannot be shapeless`,
    );
  const inputShapes = new Array<number[]>(g2.nInputs).fill([]);
  for (const n of g2.nodes) if (n.kind === 'input') inputShapes[n.slot] = n.shape;
  for (let k = 0; k < g1.nodes.length; k++) {
    const a = g1.nodes[k],
      b = g2.nodes[k];
    if (a.prim !== b.prim || a.kind !== b.kind || a.dtype !== b.dtype || a.inputs.length !== b.inputs.length || a.inputs.some((x, i) => x !== b.inputs[i]))
      throw new ShapelessError(
        `[compile] shapeless: the function builds a different graph at other input sizes (${where(a)} vs ${where(b)}), so it cannot be shapeless`,
      );
  }
  const hints: ShapeHints = new Map();
  for (const n of g1.nodes)
    if (n.prim === Reshape) hints.set(n.id, new Set(n.shape.map((d, i) => (d !== g2.nodes[n.id].shape[i] ? i : -1)).filter((i) => i >= 0)));
  const inferred = inferGraph(g1, inputShapes, hints);
  for (let k = 0; k < g1.nodes.length; k++) {
    const a = inferred.nodes[k],
      b = g2.nodes[k];
    if (canon(a.params) !== canon(b.params)) {
      const what =
        a.prim === Full
          ? `its value ${canon(g1.nodes[k].params.value)} becomes ${canon(b.params.value)} (a number computed from sizes, as kn.mean's count)`
          : `its parameters ${canon(g1.nodes[k].params)} become ${canon(b.params)}`;
      fail(b, `${what} at input sizes ${inputShapes.map(fmtShape).join(', ')}`);
    }
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
      fail(
        b,
        `its shape ${fmtShape(b.shape)} at input sizes ${inputShapes.map(fmtShape).join(', ')} does not follow from its inputs (inferred ${fmtShape(a.shape)})`,
      );
  }
  return hints;
}
