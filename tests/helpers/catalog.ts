// The public names of the native catalog's elementwise ops (backends/native.ts unaryOps and
// binaryOps use codes such as 'neg' and 'floor_divide'; the library and the conformance reference
// name them 'negative', 'floorDivide'). Read from the graph node each public op builds (never
// evaluated), so no hand-written table can drift from the ops.
import * as kn from '../../index.js';
import { Binary, Unary } from '../../core/primitives.js';
import { BINARY, UNARY } from '../conformance/reference.js';

const ops = kn as unknown as Record<string, (...a: unknown[]) => kn.NDArray>;

/** The native op code the public op `name` records, or undefined when it is not one elementwise node. */
export function codeOf(name: string, arity: 1 | 2): string | undefined {
  for (const d of ['float32', 'int32'] as const) {
    try {
      const node = ops[name](...Array.from({ length: arity }, () => kn.ones([2], d))).node;
      if (node.primitive === (arity === 1 ? Unary : Binary)) return node.params.op as string;
    } catch {
      // this dtype is rejected (bitwise ops on floats): try the next
    }
  }
  return undefined;
}

function byCode(names: string[], arity: 1 | 2): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of names) {
    const c = codeOf(n, arity);
    if (c !== undefined) m.set(c, n);
  }
  return m;
}

/** Native unary op code → public name, over the ops the conformance reference knows. */
export const UNARY_NAMES: ReadonlyMap<string, string> = byCode(Object.keys(UNARY), 1);
/** Native binary op code → public name, over the ops the conformance reference knows. */
export const BINARY_NAMES: ReadonlyMap<string, string> = byCode(Object.keys(BINARY), 2);
