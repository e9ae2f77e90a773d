// Primitives of the sort and scan kernel families (backends/cpu/kernels/sort.cc, scan.cc). The
// ops put the sorted or scanned axis last (a free view) before building these nodes.
import { ScanOps, SortOps } from '../backends/native.js';
import type { BufferView, Node, Primitive } from './node.js';

const io = (node: Node, ins: BufferView[], out: BufferView) => [
  ...node.inputs.map((i, k) => ({ view: ins[k], dtype: i.dtype, shape: i.shape })),
  { view: out, dtype: node.dtype, shape: node.shape },
];

/**
 * params: op (sort, argsort, partition, argpartition, topk), k (kth for partitions, k for topk).
 * Works along the input's last dim; topk's output last dim is k, the others keep the shape.
 */
export const Sort: Primitive = {
  name: 'sort',
  lower(node, ins, out, emit) {
    emit.kernel('sort', [SortOps[node.params.op as string], (node.params.k as number) ?? 0], io(node, ins, out));
  },
};

/**
 * The k largest along the last dim and their int32 indices: two sibling outputs of one launch
 * (core/siblings.ts). params: k.
 */
export const TopkIndexed: Primitive = {
  name: 'topkIndexed',
  lowerOutputs(nodes, ins, outs, emit) {
    const x = nodes[0].inputs[0];
    emit.kernel(
      'topk_indexed',
      [nodes[0].params.k as number],
      [{ view: ins[0], dtype: x.dtype, shape: x.shape }, ...outs.map((view, i) => ({ view, dtype: nodes[i].dtype, shape: nodes[i].shape }))],
    );
  },
};

/** Inputs: a sorted 1-d array and values of any shape; params: side (0 left, 1 right). */
export const SearchSorted: Primitive = {
  name: 'searchsorted',
  lower(node, ins, out, emit) {
    emit.kernel('searchsorted', [node.params.side as number], io(node, ins, out));
  },
};

/** params: op (cumsum, cumprod, cummax, cummin, logcumsumexp), reverse, inclusive; last dim. */
export const Scan: Primitive = {
  name: 'scan',
  lower(node, ins, out, emit) {
    const p = node.params;
    emit.kernel('scan', [ScanOps[p.op as string], p.reverse ? 1 : 0, p.inclusive ? 1 : 0], io(node, ins, out));
  },
};
