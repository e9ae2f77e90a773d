// Running a stored plan: the caller's buffers are bound into the command list (ids and offsets at
// recorded positions), the native replay allocates the list's own buffers and runs it in one
// crossing, and the outputs come back as evaluated nodes.
import { native } from '../../backends/native.js';
import type { DType } from '../dtype.js';
import { BufferRef, Constant, Node, type BufferView } from '../node.js';
import type { Plan } from './lower.js';

export interface OutputType {
  shape: readonly number[];
  dtype: DType;
}

/** Runs `plan` on the input views (one per input slot); returns evaluated output nodes. */
export function runPlan(plan: Plan, inputs: readonly BufferView[], outTypes: readonly OutputType[]): Node[] {
  const w = plan.words,
    p = plan.patches;
  for (let k = 0; k < p.length; k += 4) {
    const v = inputs[p[k]];
    w[p[k + 1]] = v.buf.id;
    w[p[k + 2]] = v.offset + p[k + 3];
  }
  const ids = native.replay(w, plan.allocs, plan.id);
  const refs = new Map<number, BufferRef>();
  return plan.outputs.map((o, i) => {
    let buf: BufferRef, offset: number;
    if (o.kind === 'alloc') {
      buf = refs.get(o.index) ?? new BufferRef(ids[o.index], plan.allocBytes[o.index]);
      refs.set(o.index, buf);
      offset = o.offset;
    } else if (o.kind === 'input') {
      const v = inputs[o.slot];
      buf = v.buf;
      offset = v.offset + o.delta;
    } else {
      buf = o.ref;
      offset = o.offset;
    }
    const node = new Node(Constant, {}, [], outTypes[i].shape, outTypes[i].dtype);
    node.data = { buf: buf.retain(), offset, strides: o.strides.slice() };
    return node;
  });
}
