// Shapeless compilation: one trace serves inputs of every size (same ranks and dtypes). Each
// node's shape (and the parameters that follow from shapes) is inferred from its inputs by a
// rule of its primitive. A rule is trusted only after a second trace at other sizes agrees with
// it node for node, so a value that silently depends on sizes (kn.mean's element count, a full
// of a computed shape) is reported with the primitive that cannot be shapeless.
import { broadcastShapes, fmtShape, sizeOf } from '../shape.js';
import {
  Binary, BroadcastTo, Concatenate, Contiguous, Copy, Full, Matmul, Reduce, Reshape, Slice, Transpose, Unary, Where,
} from '../primitives.js';
import { irNode, type IRGraph, type IRNode } from './ir.js';
import { canon } from './simplify.js';

export class ShapelessError extends Error {}

const fail = (n: IRNode, why: string): never => {
  throw new ShapelessError(`[compile] shapeless: ${n.prim.name} cannot be shapeless: ${why}`);
};

const isEw = (n: IRNode) => n.prim === Unary || n.prim === Binary || n.prim === Where || n.prim === Copy;

/**
 * The graph at other input sizes: every node's shape and size-dependent parameters inferred
 * from `inputShapes` (one per input slot). Nodes without a rule keep their traced shape.
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
  // the shape an elementwise node takes: its inputs broadcast (seen before their broadcasts)
  const ewShape = (c: IRNode): number[] => {
    const srcs = c.inputs.map((i) => (g.nodes[i].prim === BroadcastTo ? shape(g.nodes[i].inputs[0]) : shape(i)));
    try {
      return broadcastShapes(c.prim.name, ...srcs);
    } catch {
      return fail(c, `its inputs ${srcs.map(fmtShape).join(', ')} do not broadcast`);
    }
  };
  const infer = (n: IRNode): number[] => {
    const ins = () => n.inputs.map(shape);
    if (n.kind === 'input') return inputShapes[n.slot].slice();
    if (n.kind === 'const') return n.shape.slice();
    if (isEw(n)) return ewShape(n);
    if (n.prim === BroadcastTo) {
      const c = users[n.id].map((u) => g.nodes[u]).find(isEw);
      if (!c) return n.shape.slice(); // an explicit broadcast to a fixed shape
      return ewShape(c);
    }
    if (n.prim === Reduce) return ins()[0].slice(0, ins()[0].length - (n.params.r as number));
    if (n.prim === Transpose) return (n.params.perm as number[]).map((p) => ins()[0][p]);
    if (n.prim === Contiguous || sameAsInput.has(n.prim.name)) return ins()[0].slice();
    if (n.prim === Reshape) return reshapeRule(n, g.nodes[n.inputs[0]].shape, ins()[0], hints.get(n.id));
    if (n.prim === Slice) return sliceRule(n, g.nodes[n.inputs[0]].shape, ins()[0]);
    if (n.prim === Matmul) {
      const [a, b] = ins();
      if (a.length < 2 || b.length < 2) return fail(n, 'needs matrices');
      return [...broadcastShapes('matmul', a.slice(0, -2), b.slice(0, -2)), a[a.length - 2], b[b.length - 1]];
    }
    if (n.prim === Concatenate) {
      const ax = n.params.axis as number;
      const s = ins();
      const out = s[0].slice();
      out[ax] = s.reduce((t, x) => t + x[ax], 0);
      let off = 0;
      params[n.id] = { ...n.params, offsets: s.map((x) => ((off += x[ax]), off - x[ax])) };
      return out;
    }
    // no rule: the traced shape, valid only while the inputs keep their traced shapes
    const same = n.inputs.every((i) => {
      const a = shape(i), b = g.nodes[i].shape;
      return a.length === b.length && a.every((d, k) => d === b[k]);
    });
    if (!same) fail(n, 'it has no shape rule and its inputs change size');
    return n.shape.slice();
  };

  const nodes = g.nodes.map((n) => irNode(n.id, n.kind, n.prim, n.params, n.inputs, shape(n.id), n.dtype, n.slot, n.source));
  nodes.forEach((n, k) => {
    n.params = params[k];
  });
  return { nodes, nInputs: g.nInputs, outputs: g.outputs };
}

const sameAsInput = new Set(['identity', 'stopGradient', 'depends', 'customOutput']);

/** Per reshape node, the output dims that changed between the two traces (which dim of a split varies). */
export type ShapeHints = Map<number, Set<number>>;

/**
 * Reshapes that regroup dims: input and output split into runs with equal products; a run with
 * one output dim takes the run's product, a run with several keeps all but one of them fixed.
 */
function reshapeRule(n: IRNode, tracedIn: readonly number[], inS: readonly number[], vary?: Set<number>): number[] {
  const tracedOut = n.shape;
  const groups: [number[], number[]][] = [];
  let i = 0, o = 0;
  while (i < tracedIn.length || o < tracedOut.length) {
    const gi: number[] = [], go: number[] = [];
    let pi = 1, po = 1;
    // size-1 dims on either side form their own runs
    if (o < tracedOut.length && tracedOut[o] === 1 && (i >= tracedIn.length || tracedIn[i] !== 1)) {
      groups.push([[], [o++]]);
      continue;
    }
    if (i < tracedIn.length && tracedIn[i] === 1 && (o >= tracedOut.length || tracedOut[o] !== 1)) {
      groups.push([[i++], []]);
      continue;
    }
    do {
      if (pi <= po && i < tracedIn.length) pi *= tracedIn[(gi.push(i), i++)];
      else if (o < tracedOut.length) po *= tracedOut[(go.push(o), o++)];
      else break;
    } while (pi !== po || gi.length === 0 || go.length === 0);
    if (pi !== po) fail(n, `cannot split ${fmtShape(tracedIn)} into ${fmtShape(tracedOut)}`);
    groups.push([gi, go]);
  }
  const out = tracedOut.slice();
  for (const [gi, go] of groups) {
    if (go.length === 0) {
      if (gi.some((k) => inS[k] !== 1)) fail(n, `a dropped size-1 dim now has size ${gi.map((k) => inS[k]).join('x')}`);
      continue;
    }
    const p = gi.reduce((t, k) => t * inS[k], 1);
    if (go.length === 1) {
      out[go[0]] = gi.length ? p : 1;
      continue;
    }
    const tracedP = gi.reduce((t, k) => t * tracedIn[k], 1);
    if (p === tracedP) continue; // unchanged run
    // one output dim of the run follows the size (the one the second trace saw change), the others stay
    const moving = go.filter((k) => vary?.has(k));
    if (moving.length > 1) fail(n, `more than one of the dims ${fmtShape(go.map((k) => tracedOut[k]))} split from one input dim changes size`);
    const m = moving[0] ?? go[0];
    const rest = go.filter((k) => k !== m).reduce((t, k) => t * tracedOut[k], 1);
    if (p % rest !== 0) fail(n, `${p} elements do not split into ${fmtShape(go.map((k) => tracedOut[k]))}`);
    out[m] = p / rest;
  }
  if (sizeOf(out) !== sizeOf(inS)) fail(n, `cannot infer the output shape for input ${fmtShape(inS)} (traced ${fmtShape(tracedIn)} -> ${fmtShape(tracedOut)})`);
  return out;
}

/** Slices that keep a whole axis, a fixed count, or all but a fixed count (x[1:], x[:-1]). */
function sliceRule(n: IRNode, tracedIn: readonly number[], inS: readonly number[]): number[] {
  const steps = n.params.steps as number[];
  return n.shape.map((d, k) => {
    if (inS[k] === tracedIn[k]) return d;
    if (d === tracedIn[k] && steps[k] === 1) return inS[k];
    if (steps[k] === 1 && tracedIn[k] - d > 0) return Math.max(0, inS[k] - (tracedIn[k] - d));
    return d;
  });
}

/**
 * Checks that inferring `g1` at the sizes of `g2`'s inputs gives `g2` (the second trace). Throws
 * naming the first node whose shape or parameters the rules do not reproduce.
 */
export function checkShapeless(g1: IRGraph, g2: IRGraph): ShapeHints {
  const where = (n: IRNode) => `${n.prim.name}${n.params.op ? `(${n.params.op})` : ''}`;
  if (g1.nodes.length !== g2.nodes.length || g1.outputs.length !== g2.outputs.length || g1.outputs.some((o, k) => o !== g2.outputs[k]))
    throw new ShapelessError(`[compile] shapeless: the function builds a different graph at other input sizes (${g1.nodes.length} vs ${g2.nodes.length} nodes), so it cannot be shapeless`);
  const inputShapes = new Array<number[]>(g2.nInputs).fill([]);
  for (const n of g2.nodes) if (n.kind === 'input') inputShapes[n.slot] = n.shape;
  for (let k = 0; k < g1.nodes.length; k++) {
    const a = g1.nodes[k], b = g2.nodes[k];
    if (a.prim !== b.prim || a.kind !== b.kind || a.dtype !== b.dtype || a.inputs.length !== b.inputs.length || a.inputs.some((x, i) => x !== b.inputs[i]))
      throw new ShapelessError(`[compile] shapeless: the function builds a different graph at other input sizes (${where(a)} vs ${where(b)}), so it cannot be shapeless`);
  }
  const hints: ShapeHints = new Map();
  for (const n of g1.nodes)
    if (n.prim === Reshape) hints.set(n.id, new Set(n.shape.map((d, i) => (d !== g2.nodes[n.id].shape[i] ? i : -1)).filter((i) => i >= 0)));
  const inferred = inferGraph(g1, inputShapes, hints);
  for (let k = 0; k < g1.nodes.length; k++) {
    const a = inferred.nodes[k], b = g2.nodes[k];
    if (canon(a.params) !== canon(b.params)) {
      const what = a.prim === Full ? `its value ${canon(g1.nodes[k].params.value)} becomes ${canon(b.params.value)} (a number computed from sizes, as kn.mean's count)` : `its parameters ${canon(g1.nodes[k].params)} become ${canon(b.params)}`;
      fail(b, `${what} at input sizes ${inputShapes.map(fmtShape).join(', ')}`);
    }
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
      fail(b, `its shape ${fmtShape(b.shape)} at input sizes ${inputShapes.map(fmtShape).join(', ')} does not follow from its inputs (inferred ${fmtShape(a.shape)})`);
  }
  return hints;
}
