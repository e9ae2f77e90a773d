// The graph a compiled function works on: a copy of the traced nodes in topological order, cut at
// the function's inputs (placeholders) and at constants (nodes that already hold data). Building
// our own copy leaves the user's graph untouched and lets simplify/fuse rewrite freely.
import { postOrder } from '../graph.js';
import { currentDeviceIndex } from '../device.js';
import type { DType } from '../dtype.js';
import { Constant, Node, type Primitive } from '../node.js';

/** A compiled function's input: stands for an argument (or state array) while tracing. */
export const Placeholder: Primitive = {
  name: 'compileInput',
  noEval:
    '[compile] an array computed while tracing a compiled function cannot be evaluated: the function reads a value ' +
    '(item, tolist, toTypedArray, printing, kn.eval, boolean masks, nonzero ...), which compile cannot trace, or an array ' +
    'made inside the function was kept outside it (declare state that the function changes in `outputs`)',
};

export type IRKind = 'input' | 'const' | 'op';

export interface IRNode {
  id: number;
  kind: IRKind;
  prim: Primitive;
  params: Readonly<Record<string, unknown>>;
  inputs: number[];
  shape: number[];
  dtype: DType;
  /** input slot for kind 'input', else -1 */
  slot: number;
  /** for kind 'const': the node that holds the data */
  source: Node | null;
  /** the device the node runs on (core/device.ts), from the traced node */
  device: number;
}

export interface IRGraph {
  nodes: IRNode[];
  /** number of input slots (arguments then state) */
  nInputs: number;
  /** node ids of the outputs: returned arrays, then state outputs */
  outputs: number[];
}

export function irNode(
  id: number,
  kind: IRKind,
  prim: Primitive,
  params: Readonly<Record<string, unknown>>,
  inputs: number[],
  shape: readonly number[],
  dtype: DType,
  slot = -1,
  source: Node | null = null,
  device = currentDeviceIndex(),
): IRNode {
  return { id, kind, prim, params, inputs, shape: shape.slice(), dtype, slot, source, device };
}

/**
 * Copies the graph behind `outputs` into an IRGraph. Placeholders become inputs (params.slot),
 * nodes with data become constants. Nodes without data that were made before the trace began are
 * evaluated first (captured lazy arrays are constants of the compiled function).
 */
export function buildIR(outputs: Node[], nInputs: number, firstTracedId: number, evaluate: (nodes: Node[]) => void): IRGraph {
  const stale = new Set<Node>();
  postOrder(outputs, (n) => {
    if (!n.data && n.primitive !== Placeholder && n.id < firstTracedId) {
      stale.add(n);
      return true;
    }
    return n.data !== null || n.primitive === Placeholder;
  });
  if (stale.size) evaluate([...stale]);

  const ids = new Map<Node, number>();
  const nodes: IRNode[] = [];
  const slots = new Map<number, number>();
  for (const n of postOrder(outputs, (n) => n.data !== null || n.primitive === Placeholder)) {
    const id = nodes.length;
    if (n.primitive === Placeholder) {
      const slot = n.params.slot as number;
      nodes.push(irNode(id, 'input', Placeholder, { slot }, [], n.shape, n.dtype, slot, null, n.device));
      slots.set(slot, id);
    } else if (n.data) {
      nodes.push(irNode(id, 'const', Constant, {}, [], n.shape, n.dtype, -1, n, n.device));
    } else {
      nodes.push(
        irNode(
          id,
          'op',
          n.primitive,
          n.params,
          n.inputs.map((i) => ids.get(i)!),
          n.shape,
          n.dtype,
          -1,
          null,
          n.device,
        ),
      );
    }
    ids.set(n, id);
  }
  return { nodes, nInputs, outputs: outputs.map((o) => ids.get(o)!) };
}

/** Number of users of every node (outputs count as users). */
export function useCounts(g: IRGraph): number[] {
  const uses = new Array<number>(g.nodes.length).fill(0);
  for (const n of g.nodes) for (const i of n.inputs) uses[i]++;
  for (const o of g.outputs) uses[o]++;
  return uses;
}
