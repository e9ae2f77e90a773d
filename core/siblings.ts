// Multi-output primitives (MLX's siblings): one primitive application producing several arrays,
// evaluated by one kernel launch. Each output is its own node (own shape and dtype) with
// params.output = its index and params.group = a token shared by the siblings, which lets graph
// copies (kn.compile's IR, constant folding) regroup the siblings they kept.
import type { DType } from './dtype.js';
import { Node, type Primitive } from './node.js';

export interface OutputType {
  shape: readonly number[];
  dtype: DType;
}

/** The token shared by one application's outputs: their types, so missing siblings can be rebuilt. */
export interface SiblingGroup {
  readonly types: readonly OutputType[];
}

/** Builds the output nodes of one application of a multi-output primitive. */
export function makeSiblings(prim: Primitive, params: Record<string, unknown>, inputs: Node[], types: readonly OutputType[]): Node[] {
  if (!prim.lowerOutputs) throw new Error(`[siblings] ${prim.name} is not a multi-output primitive`);
  const group: SiblingGroup = { types: types.map((t) => ({ shape: t.shape.slice(), dtype: t.dtype })) };
  const nodes = types.map((t, output) => new Node(prim, { ...params, group, output }, inputs, t.shape.slice(), t.dtype));
  for (const n of nodes) n.siblings = nodes;
  return nodes;
}

/** The index of a sibling among its group's outputs. */
export function outputIndex(n: Node): number {
  return (n.params.output as number | undefined) ?? 0;
}

/**
 * Restores `siblings` on copies of multi-output nodes (nodes built from params of kept siblings):
 * copies with the same group token and inputs become siblings again, and outputs nobody kept are
 * rebuilt so the kernel has a buffer for each.
 */
export function regroupSiblings(nodes: Iterable<Node>): void {
  const groups = new Map<string, Node[]>();
  const tokens = new Map<SiblingGroup, number>();
  let nextToken = 0;
  for (const n of nodes) {
    const g = n.params.group as SiblingGroup | undefined;
    if (!g || !n.primitive.lowerOutputs || n.siblings) continue;
    if (!tokens.has(g)) tokens.set(g, nextToken++);
    const key = `${tokens.get(g)}|${n.inputs.map((i) => i.id).join(',')}`;
    const list = groups.get(key) ?? new Array<Node>(g.types.length);
    list[outputIndex(n)] = n;
    groups.set(key, list);
  }
  for (const list of groups.values()) {
    const some = list.find((x) => x)!;
    const g = some.params.group as SiblingGroup;
    for (let k = 0; k < g.types.length; k++) {
      if (list[k]) continue;
      // a stand-in that only receives the kernel's output: it holds no reference on its inputs
      list[k] = new Node(some.primitive, { ...some.params, output: k }, some.inputs, g.types[k].shape, g.types[k].dtype, some.device);
      for (const i of some.inputs) i.refs--;
    }
    for (const n of list) n.siblings = list;
  }
}
