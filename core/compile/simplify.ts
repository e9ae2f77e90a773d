// Graph simplification before fusion (DESIGN.md §2 "compile"): scalar constants become fills and
// merge when equal, no-ops (identity views of transforms, same-shape reshapes and broadcasts,
// same-dtype casts, identity transposes and slices) disappear, common subexpressions merge through
// each primitive's isEquivalent (parameter equality by default), and unused nodes are dropped.
import { decode } from '../host.js';
import { readNode } from '../eval.js';
import { itemsize, type DType } from '../dtype.js';
import { BroadcastTo, Copy, Full, Reshape, Slice, Transpose } from '../primitives.js';
import { irNode, type IRGraph, type IRNode } from './ir.js';

// Primitives of the transforms that are the identity on values (core/autograd.ts); by name, so
// compile does not depend on autograd's module. `depends` is not among them: it is the identity on
// its first input but orders it after the others (a checkpointed block's recomputation waits for
// its cotangent); dropped, CSE would merge the recomputation back into the forward pass and every
// activation would live until the backward pass again.
const IDENTITY_VIEWS = new Set(['identity', 'stopGradient', 'customOutput']);

export interface SimplifyStats {
  noops: number;
  merged: number;
  constants: number;
  dead: number;
}

export function simplify(g: IRGraph, stats: SimplifyStats = { noops: 0, merged: 0, constants: 0, dead: 0 }): IRGraph {
  const alias = new Array<number>(g.nodes.length).fill(-1);
  const out: IRNode[] = [];
  const table = new Map<string, number[]>();
  for (const n of g.nodes) {
    const ins = n.inputs.map((i) => alias[i]);
    const same = noopInput(n, ins, out);
    if (same >= 0) {
      alias[n.id] = same;
      stats.noops++;
      continue;
    }
    let node = irNode(out.length, n.kind, n.prim, n.params, ins, n.shape, n.dtype, n.slot, n.source, n.device);
    if (n.kind === 'const') {
      const fill = scalarFill(n);
      if (fill) {
        node = irNode(out.length, 'op', Full, { value: fill }, [], n.shape, n.dtype);
        stats.constants++;
      }
    }
    if (node.kind === 'op') {
      const eq = node.prim.isEquivalent?.bind(node.prim);
      const key = `${node.prim.name}|${node.dtype}|${node.shape.join(',')}|${ins.join(',')}${eq ? '' : `|${canon(node.params)}`}`;
      const bucket = table.get(key);
      const hit = bucket?.find((c) => !eq || eq(out[c].params, node.params));
      if (hit !== undefined) {
        alias[n.id] = hit;
        stats.merged++;
        continue;
      }
      if (bucket) bucket.push(node.id);
      else table.set(key, [node.id]);
    }
    alias[n.id] = node.id;
    out.push(node);
  }
  return dropDead({ nodes: out, nInputs: g.nInputs, outputs: g.outputs.map((o) => alias[o]) }, stats);
}

/** The input a node can be replaced by (it computes the same values), or -1. */
function noopInput(n: IRNode, ins: number[], out: IRNode[]): number {
  if (n.kind !== 'op' || ins.length === 0) return -1;
  const src = out[ins[0]];
  if (IDENTITY_VIEWS.has(n.prim.name)) return ins[0];
  const sameShape = src.shape.length === n.shape.length && src.shape.every((d, i) => d === n.shape[i]);
  if (!sameShape || src.dtype !== n.dtype) return -1;
  if (n.prim === Reshape || n.prim === BroadcastTo || n.prim === Copy) return ins[0];
  if (n.prim === Transpose && (n.params.perm as number[]).every((p, i) => p === i || n.shape[i] === 1)) return ins[0];
  if (n.prim === Slice) {
    const starts = n.params.starts as number[],
      steps = n.params.steps as number[];
    if (starts.every((s, i) => (s === 0 && steps[i] === 1) || n.shape[i] <= 1)) return ins[0];
  }
  return -1;
}

/** The value of a one-element constant when a fill reproduces it exactly (else null). */
function scalarFill(n: IRNode): number | null {
  const src = n.source!;
  if (n.shape.reduce((a, b) => a * b, 1) !== 1 || (n.dtype as DType) === 'int64' || n.dtype === 'uint64') return null;
  const raw = decode(readNode(src), n.dtype) as ArrayLike<number>;
  if (raw.length !== 1 || itemsize(n.dtype) > 8) return null;
  const v = Number(raw[0]);
  // a zero fill is written as 0, which loses a negative zero's sign: keep those as data
  return Object.is(v, -0) ? null : v;
}

function dropDead(g: IRGraph, stats: SimplifyStats): IRGraph {
  const live = new Array<boolean>(g.nodes.length).fill(false);
  for (const o of g.outputs) live[o] = true;
  for (let k = g.nodes.length - 1; k >= 0; k--) if (live[k]) for (const i of g.nodes[k].inputs) live[i] = true;
  const remap = new Array<number>(g.nodes.length).fill(-1);
  const nodes: IRNode[] = [];
  for (const n of g.nodes) {
    if (!live[n.id]) {
      stats.dead++;
      continue;
    }
    remap[n.id] = nodes.length;
    nodes.push({ ...n, id: nodes.length, inputs: n.inputs.map((i) => remap[i]) });
  }
  return { nodes, nInputs: g.nInputs, outputs: g.outputs.map((o) => remap[o]) };
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/** A string equal for equal parameter values (numbers compared like Object.is). */
export function canon(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || v === undefined || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon(o[k])}`)
      .join(',')}}`;
  }
  // anything else (functions, records, typed arrays) is equal only to itself
  let id = objectIds.get(v as object);
  if (id === undefined) objectIds.set(v as object, (id = nextObjectId++));
  return `#${id}`;
}
