// Constant folding: small computations that depend on no input (scalar arithmetic on constants,
// an optimizer's 1 - beta, a gradient seed scaled by 1/n) are evaluated once when the function is
// traced, so replays do not run kernels for them. Large ones (masks, tables) stay in the graph:
// holding them would pin memory for as long as the trace is cached.
import { evaluateNodes } from '../eval.js';
import { Constant, Node } from '../node.js';
import { Full } from '../primitives.js';
import { regroupSiblings } from '../siblings.js';
import { irNode, type IRGraph } from './ir.js';

export const FOLD_MAX_ELEMENTS = 256;

export function foldConstants(g: IRGraph, maxElements = FOLD_MAX_ELEMENTS): { graph: IRGraph; folded: number } {
  const constant = g.nodes.map(() => false);
  for (const n of g.nodes) constant[n.id] = n.kind === 'const' || (n.kind === 'op' && n.inputs.every((i) => constant[i]));
  const size = (id: number) => g.nodes[id].shape.reduce((a, b) => a * b, 1);
  // fold the constant nodes that something non-constant (or the output list) reads
  // (below views: a broadcast of a folded scalar stays a free view, not a materialized array)
  const frontier = new Set<number>();
  const below = (id: number) => {
    let n = g.nodes[id];
    while (n.kind === 'op' && n.prim.view && n.inputs.length === 1) n = g.nodes[n.inputs[0]];
    return n.id;
  };
  for (const n of g.nodes) if (!constant[n.id]) for (const i of n.inputs) if (constant[i]) frontier.add(below(i));
  for (const o of g.outputs) if (constant[o]) frontier.add(below(o));
  const fold = [...frontier].filter((id) => {
    const n = g.nodes[id];
    return n.kind === 'op' && n.prim !== Full && n.inputs.length > 0 && size(id) <= maxElements;
  });
  if (fold.length === 0) return { graph: g, folded: 0 };
  const real = new Map<number, Node>();
  const build = (id: number): Node => {
    const hit = real.get(id);
    if (hit) return hit;
    const n = g.nodes[id];
    const node = n.kind === 'const' ? n.source! : new Node(n.prim, n.params, n.inputs.map(build), n.shape, n.dtype, n.device);
    real.set(id, node);
    return node;
  };
  const targets = fold.map(build);
  regroupSiblings(real.values());
  for (const t of targets) t.refs++; // held like captured constants until the graph is replaced
  try {
    evaluateNodes(targets);
  } catch (e) {
    for (const t of targets) t.refs--;
    throw e;
  }
  const nodes = g.nodes.map((n) => {
    const k = fold.indexOf(n.id);
    if (k < 0) return n;
    const t = targets[k];
    t.refs--; // the graph's holder (compile.ts) takes its own reference
    return irNode(n.id, 'const', Constant, {}, [], n.shape, n.dtype, -1, t, n.device);
  });
  return { graph: { nodes, nInputs: g.nInputs, outputs: g.outputs }, folded: fold.length };
}
