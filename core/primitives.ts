// The primitives of the graph: views (no kernel), and kernels the native backend runs.
// Each declares its kind, its shape rule (core/shape_rules.ts) and how it lowers.
import { BinaryOps, ReduceOps, UnaryOps } from '../backends/native.js';
import type { BufferView, Node, Primitive } from './node.js';
import { contiguousStrides, isRowContiguous } from './shape.js';
import { concatenateRule, elementwiseRule, matmulRule, reduceRule, reshapeRule, sameAsInput, sliceRule, transposeRule } from './shape_rules.js';

const io = (node: Node, ins: BufferView[], out: BufferView) => [
  ...node.inputs.map((i, k) => ({ view: ins[k], dtype: i.dtype, shape: i.shape })),
  { view: out, dtype: node.dtype, shape: node.shape },
];

// ---- views ----------------------------------------------------------------------------------

/** Strides for viewing `shape` as `newShape` without copying, or null (numpy's no-copy rule). */
export function reshapeStrides(shape: readonly number[], strides: readonly number[], newShape: readonly number[]): number[] | null {
  const size = newShape.reduce((a, b) => a * b, 1);
  if (size === 0) return contiguousStrides(newShape);
  // drop size-1 dims of the source; they carry no layout information
  const os: number[] = [],
    ot: number[] = [];
  shape.forEach((d, i) => {
    if (d !== 1) {
      os.push(d);
      ot.push(strides[i]);
    }
  });
  const out = new Array<number>(newShape.length).fill(0);
  let oi = 0,
    oj = 1,
    ni = 0,
    nj = 1;
  while (ni < newShape.length && oi < os.length) {
    let np = newShape[ni],
      op = os[oi];
    while (np !== op) {
      if (np < op) np *= newShape[nj++];
      else op *= os[oj++];
    }
    for (let k = oi; k < oj - 1; k++) if (ot[k] !== ot[k + 1] * os[k + 1]) return null;
    out[nj - 1] = ot[oj - 1];
    for (let k = nj - 1; k > ni; k--) out[k - 1] = out[k] * newShape[k];
    ni = nj++;
    oi = oj++;
  }
  // trailing size-1 dims of the new shape
  for (let k = ni; k < newShape.length; k++) out[k] = 1;
  for (let k = 0; k < newShape.length; k++) if (newShape[k] === 1) out[k] = out[k] || 1;
  return out;
}

export const Reshape: Primitive = {
  name: 'reshape',
  kind: 'view',
  shapeRule: reshapeRule,
  view(node, [x]) {
    const st = reshapeStrides(node.inputs[0].shape, x.strides, node.shape);
    return st ? { buf: x.buf, offset: x.offset, strides: st } : null;
  },
  lower(node, ins, out, emit) {
    // not viewable: copy into a contiguous buffer of the new shape
    const src = node.inputs[0];
    emit.kernel(
      'copy',
      [],
      [
        { view: ins[0], dtype: src.dtype, shape: src.shape },
        { view: { buf: out.buf, offset: out.offset, strides: contiguousStrides(src.shape) }, dtype: node.dtype, shape: src.shape },
      ],
    );
  },
};

export const Transpose: Primitive = {
  name: 'transpose',
  kind: 'view',
  shapeRule: transposeRule,
  view(node, [x]) {
    const perm = node.params.perm as number[];
    return { buf: x.buf, offset: x.offset, strides: perm.map((p) => x.strides[p]) };
  },
};

/** params: starts, steps (per axis, already normalised; shape holds the result sizes) */
export const Slice: Primitive = {
  name: 'slice',
  kind: 'view',
  shapeRule: sliceRule,
  view(node, [x]) {
    const starts = node.params.starts as number[],
      steps = node.params.steps as number[];
    let offset = x.offset;
    const strides = x.strides.map((s, i) => {
      if (node.shape[i] > 0) offset += starts[i] * s;
      return node.shape[i] > 1 ? s * steps[i] : 0; // a size-1 dim is never stepped over
    });
    return { buf: x.buf, offset, strides };
  },
};

export const BroadcastTo: Primitive = {
  name: 'broadcastTo',
  kind: 'view',
  view(node, [x]) {
    const src = node.inputs[0].shape,
      nd = node.shape.length,
      lead = nd - src.length;
    const strides = node.shape.map((d, i) => (i < lead || (src[i - lead] === 1 && d !== 1) ? 0 : x.strides[i - lead]));
    return { buf: x.buf, offset: x.offset, strides };
  },
};

/** params: strides, offset in elements relative to the input view (checked by the op) */
export const AsStrided: Primitive = {
  name: 'asStrided',
  kind: 'view',
  view(node, [x]) {
    return { buf: x.buf, offset: x.offset + (node.params.offset as number), strides: (node.params.strides as number[]).slice() };
  },
};

/** A row-major view of the input: free when it already is one, else a copy. */
export const Contiguous: Primitive = {
  name: 'contiguous',
  kind: 'view',
  shapeRule: sameAsInput,
  view(node, [x]) {
    const sh = node.inputs[0].shape;
    return isRowContiguous(sh, x.strides) ? { buf: x.buf, offset: x.offset, strides: contiguousStrides(sh) } : null;
  },
  lower(node, ins, out, emit) {
    emit.kernel('copy', [], io(node, ins, out));
  },
};

// ---- kernels --------------------------------------------------------------------------------

export const Full: Primitive = {
  name: 'full',
  kind: 'other',
  lower(node, _ins, out, emit) {
    emit.kernel('fill', [node.params.value as number], [{ view: out, dtype: node.dtype, shape: node.shape }]);
  },
};

export const Arange: Primitive = {
  name: 'arange',
  kind: 'other',
  lower(node, _ins, out, emit) {
    emit.kernel('arange', [node.params.start as number, node.params.step as number], [{ view: out, dtype: node.dtype, shape: node.shape }]);
  },
};

/** Copy with a dtype cast (astype) or into a fresh contiguous buffer (copy). */
export const Copy: Primitive = {
  name: 'copy',
  kind: 'elementwise',
  shapeRule: elementwiseRule,
  inPlace: true,
  lower(node, ins, out, emit) {
    emit.kernel('copy', [], io(node, ins, out));
  },
};

export const Unary: Primitive = {
  name: 'unary',
  kind: 'elementwise',
  shapeRule: elementwiseRule,
  inPlace: true,
  lower(node, ins, out, emit) {
    emit.kernel('unary', [UnaryOps[node.params.op as string]], io(node, ins, out));
  },
};

export const Binary: Primitive = {
  name: 'binary',
  kind: 'elementwise',
  shapeRule: elementwiseRule,
  inPlace: true,
  lower(node, ins, out, emit) {
    emit.kernel('binary', [BinaryOps[node.params.op as string]], io(node, ins, out));
  },
};

export const Where: Primitive = {
  name: 'where',
  kind: 'elementwise',
  shapeRule: elementwiseRule,
  inPlace: true,
  lower(node, ins, out, emit) {
    emit.kernel('where', [], io(node, ins, out));
  },
};

/** params: op, r (the input's last r dims are reduced; the op puts them there) */
export const Reduce: Primitive = {
  name: 'reduce',
  kind: 'reduce',
  shapeRule: reduceRule,
  lower(node, ins, out, emit) {
    emit.kernel('reduce', [ReduceOps[node.params.op as string], node.params.r as number], io(node, ins, out));
  },
};

export const Matmul: Primitive = {
  name: 'matmul',
  kind: 'other',
  shapeRule: matmulRule,
  lower(node, ins, out, emit) {
    emit.kernel('matmul', [], io(node, ins, out));
  },
};

/** params: axis, offsets (start of each input along axis). Copies every input into its slab. */
export const Concatenate: Primitive = {
  name: 'concatenate',
  kind: 'other',
  shapeRule: concatenateRule,
  lower(node, ins, out, emit) {
    const axis = node.params.axis as number,
      offsets = node.params.offsets as number[];
    node.inputs.forEach((x, k) => {
      if (x.size === 0) return;
      emit.kernel(
        'copy',
        [],
        [
          { view: ins[k], dtype: x.dtype, shape: x.shape },
          { view: { buf: out.buf, offset: out.offset + offsets[k] * out.strides[axis], strides: out.strides }, dtype: node.dtype, shape: x.shape },
        ],
      );
    });
  },
};

/** params: before (per axis), value. Fills the output, then copies the input into its interior. */
export const PadConstant: Primitive = {
  name: 'padConstant',
  lower(node, ins, out, emit) {
    const before = node.params.before as number[],
      x = node.inputs[0];
    emit.kernel('fill', [node.params.value as number], [{ view: out, dtype: node.dtype, shape: node.shape }]);
    if (x.size === 0) return;
    const offset = before.reduce((o, b, i) => o + b * out.strides[i], out.offset);
    emit.kernel(
      'copy',
      [],
      [
        { view: ins[0], dtype: x.dtype, shape: x.shape },
        { view: { buf: out.buf, offset, strides: out.strides }, dtype: node.dtype, shape: x.shape },
      ],
    );
  },
};

/** Operands are 3-d views [A, N, B] / [A, M, B] arranged by the op (see kernels/index.cc). */
export const Gather: Primitive = {
  name: 'gather',
  lower(node, ins, out, emit) {
    emit.kernel('gather', [], io(node, ins, out));
  },
};

/** params: mode (0 set, 1 add, 2 multiply, 3 maximum, 4 minimum, 5 subtract, 6 divide) */
export const Scatter: Primitive = {
  name: 'scatter',
  inPlace: true,
  // only the base: the kernel copies the base into the output before reading the updates
  inPlaceInputs: [0],
  lower(node, ins, out, emit) {
    emit.kernel('scatter', [node.params.mode as number], io(node, ins, out));
  },
};

/** Batched dense linear algebra on [batch, rows, cols] views; params.kernel names the kernel. */
export const Linalg: Primitive = {
  name: 'linalg',
  lower(node, ins, out, emit) {
    emit.kernel(node.params.kernel as string, (node.params.args as number[]) ?? [], io(node, ins, out));
  },
};

/**
 * Linear algebra kernels with several outputs (qr: Q and R; slogdet: sign and log|det|), each a
 * [batch, rows, cols] sibling node written by one launch (core/siblings.ts).
 */
export const LinalgMulti: Primitive = {
  name: 'linalgMulti',
  lowerOutputs(nodes, ins, outs, emit) {
    const n = nodes[0];
    const inputs = n.inputs.map((i, k) => ({ view: ins[k], dtype: i.dtype, shape: i.shape }));
    emit.kernel(n.params.kernel as string, [], [...inputs, ...outs.map((view, k) => ({ view, dtype: nodes[k].dtype, shape: nodes[k].shape }))]);
  },
};
