// The one lowering of a schedule into a command list, shared by eager evaluation (core/eval.ts)
// and kn.compile's recorder (core/compile/lower.ts): use counts, view-or-kernel, donation of a dead
// input's buffer, frees after the last use, and the command encoding. The two differ only in their
// BufferSpace (real native buffers vs. symbolic ones patched at every replay).
import { K } from '../backends/native.js';
import { DEVICE_STRIDE } from './device.js';
import { DTYPE_CODE, itemsize, type DType } from './dtype.js';
import type { BufferRef, BufferView, Emitter, Node } from './node.js';
import { contiguousStrides, isRowContiguous, sizeOf } from './shape.js';

export interface Operand {
  view: BufferView;
  dtype: DType;
  shape: readonly number[];
}

/**
 * Where the buffers of one lowering come from. `allocate` gives a buffer with no holders; `owns`
 * says whether the lowering made it (only those may be freed or donated); `bufferWord` writes an
 * operand's buffer into the command words (eval: the id; compile: records a patch position).
 */
export interface BufferSpace {
  allocate(nbytes: number): BufferRef;
  owns(b: BufferRef): boolean;
  bufferWord(words: number[], b: BufferRef, idPos: number, offPos: number, offset: number): void;
}

/** Encodes kernels and frees into command words (the format backends/cpu/command.cc parses). */
export class CommandEncoder implements Emitter {
  words: number[] = [];
  kernels = 0;
  /** the device the next kernels run on (set per step by lowerSteps): the word is id + 4096 * device */
  device = 0;
  constructor(
    readonly space: BufferSpace,
    readonly op = 'eval',
  ) {}
  kernel(name: string, params: number[], operands: readonly Operand[]): void {
    const id = K[name];
    if (id === undefined) throw new Error(`[${this.op}] the native backend has no kernel named ${name}`);
    // plain indexed pushes: spreads allocate iterators, and this runs for every kernel
    const w = this.words;
    w.push(id + DEVICE_STRIDE * this.device, params.length);
    for (let i = 0; i < params.length; i++) w.push(params[i]);
    w.push(operands.length);
    for (let k = 0; k < operands.length; k++) {
      const { view, dtype, shape } = operands[k];
      const idPos = w.length;
      w.push(0, DTYPE_CODE[dtype], view.offset, shape.length);
      for (let i = 0; i < shape.length; i++) w.push(shape[i]);
      const st = view.strides;
      for (let i = 0; i < st.length; i++) w.push(st[i]);
      this.space.bufferWord(w, view.buf, idPos, idPos + 2, view.offset);
    }
    this.kernels++;
  }
  /** frees are device 0: the core frees every copy of the buffer */
  free(b: BufferRef): void {
    const w = this.words;
    w.push(K.free, 1, 0, 0);
    this.space.bufferWord(w, b, w.length - 2, -1, 0);
  }
}

/** A kernel over several values at once (a fused region of kn.compile). */
export interface GroupStep {
  kind: 'group';
  reads: Node[];
  /** values the kernel writes, each into a new contiguous buffer */
  writes: Node[];
  emit(reads: BufferView[], writes: BufferView[], emitter: Emitter): void;
}

export type LowerStep = { kind: 'node'; node: Node } | GroupStep;

export interface LowerOptions {
  space: BufferSpace;
  encoder: CommandEncoder;
  /** values that exist before the schedule runs (evaluated nodes, compile inputs and constants) */
  preset(n: Node): BufferView | undefined;
  /** values the caller keeps: never freed or donated */
  isOutput(n: Node): boolean;
  /** called after a node step emitted at least one kernel (schedule printouts) */
  onKernel?(n: Node): void;
  /**
   * Let an in-place kernel take over the buffer of an evaluated input nobody can read again
   * (eager evaluation outside transform traces: in-place cache and put_ updates).
   */
  adoptDead?: boolean;
  /**
   * kn.compile: the input whose buffer `b` is, when the caller lets a kernel write over that input
   * once nothing reads it any more (state the call replaces); null otherwise.
   */
  donatableInput?(b: BufferRef): Node | null;
  /** called when a kernel takes over a donatable input's buffer */
  onDonate?(b: BufferRef): void;
}

/** Whether the kernel of `n` may write its output into input `j`'s buffer, given that buffer's view. */
function canDonate(n: Node, j: number, v: BufferView, nbytes: number): boolean {
  const src = n.inputs[j];
  if (v.offset !== 0 || v.buf.nbytes !== nbytes || src.dtype !== n.dtype) return false;
  if (src.shape.length !== n.shape.length || !src.shape.every((d, k) => d === n.shape[k])) return false;
  return isRowContiguous(src.shape, v.strides);
}

/**
 * Lowers `steps` (a topological order) into `opts.encoder`; returns the value of every node the
 * steps produced. Buffers of produced values are freed right after their last read unless the
 * value is an output; an in-place primitive may take over a dead input buffer of the same dtype
 * and layout (only from the inputs its `inPlaceInputs` names).
 */
export function lowerSteps(steps: readonly LowerStep[], opts: LowerOptions): Map<Node, BufferView> {
  const { space, encoder } = opts;
  const values = new Map<Node, BufferView>();
  const uses = new Map<Node, number>();
  const readsOf = (s: LowerStep): readonly Node[] => (s.kind === 'node' ? s.node.inputs : s.reads);
  for (const s of steps) for (const r of readsOf(s)) uses.set(r, (uses.get(r) ?? 0) + 1);

  const valueOf = (n: Node): BufferView => {
    const v = values.get(n) ?? opts.preset(n);
    if (!v) throw new Error(`[lower] ${n.primitive.name} is read before it is computed`);
    return v;
  };
  const release = (n: Node) => {
    const b = values.get(n)!.buf;
    if (--b.refs === 0 && space.owns(b)) {
      b.freed = true;
      encoder.free(b);
    }
  };
  const consume = (reads: readonly Node[]) => {
    for (const i of reads) {
      const left = uses.get(i)! - 1;
      uses.set(i, left);
      if (left === 0 && values.has(i) && !opts.isOutput(i)) release(i);
    }
  };
  const fresh = (shape: readonly number[], dtype: DType): BufferView => {
    const buf = space.allocate(sizeOf(shape) * itemsize(dtype));
    buf.refs++;
    return { buf, offset: 0, strides: contiguousStrides(shape) };
  };
  // Whether n's value can never be computed again after this lowering: n is an output (it keeps
  // its value), or only nodes of this lowering hold it and each of them is covered in turn.
  let users: Map<Node, (Node | null)[]> | null = null;
  let coveredMemo: Map<Node, boolean> | null = null;
  const covered = (n: Node): boolean => {
    if (opts.isOutput(n)) return true;
    coveredMemo ??= new Map();
    const known = coveredMemo.get(n);
    if (known !== undefined) return known;
    if (!users) {
      users = new Map();
      for (const s of steps)
        for (const i of readsOf(s)) {
          // a fused group reads for several writes: count it as a holder that is never covered
          const u = s.kind === 'node' ? s.node : null;
          const list = users.get(i);
          if (list) list.push(u);
          else users.set(i, [u]);
        }
    }
    coveredMemo.set(n, false);
    const us = users.get(n) ?? [];
    const ok = n.refs === us.length && !n.siblings && us.every((u) => u !== null && covered(u));
    coveredMemo.set(n, ok);
    return ok;
  };
  // An evaluated buffer is dead when its node is held only by a chain of single-input views that
  // ends at this reader (no array handle, no other user), no other node shares the buffer, and
  // the reader's value is never recomputed later (which would read the buffer again): nothing can
  // read it after this kernel, so the kernel may write over it.
  const deadEvaluated = (n: Node, src: Node, v: BufferView, reads: number): boolean => {
    let m = src,
      holders = reads,
      views = 0;
    while (values.has(m)) {
      if (m.refs !== holders || opts.isOutput(m) || m.siblings || !m.primitive.view || m.inputs.length !== 1) return false;
      views++;
      holders = 1;
      m = m.inputs[0];
    }
    if (m.refs !== holders || opts.isOutput(m) || m.siblings) return false;
    const d = opts.preset(m);
    // the cheap checks first: covered() walks the users of every step once
    return d !== undefined && d.buf === v.buf && !space.owns(v.buf) && v.buf.refs === 1 + views && covered(n);
  };
  // A donatable input's buffer is dead at `n` when n is the last reader of src (the input or a
  // view of it), nothing still reads the input itself, and no other live view shares the buffer
  // (views hold the input's buffer; the input's own preset value does not).
  const deadInput = (src: Node, v: BufferView, reads: number): boolean => {
    const root = opts.donatableInput?.(v.buf);
    if (!root || opts.isOutput(root) || opts.isOutput(src) || uses.get(src) !== reads) return false;
    if (src === root) return v.buf.refs === 0;
    return values.has(src) && v.buf.refs === 1 && !uses.get(root);
  };
  const donate = (n: Node, ins: BufferView[]): BufferView | null => {
    const nbytes = sizeOf(n.shape) * itemsize(n.dtype);
    for (const j of n.primitive.inPlaceInputs ?? n.inputs.keys()) {
      const src = n.inputs[j],
        v = ins[j];
      if (!canDonate(n, j, v, nbytes)) continue;
      let reads = 0;
      for (const x of n.inputs) if (x === src) reads++;
      if (values.has(src) && !opts.isOutput(src) && space.owns(v.buf) && v.buf.refs === 1) {
        // this node must be the last reader of src (it may read it several times)
        if (uses.get(src) !== reads) continue;
      } else if (deadInput(src, v, reads)) opts.onDonate?.(v.buf);
      else if (!(opts.adoptDead && deadEvaluated(n, src, v, reads))) continue;
      v.buf.refs++;
      return { buf: v.buf, offset: 0, strides: contiguousStrides(n.shape) };
    }
    return null;
  };

  for (const s of steps) {
    if (s.kind === 'group') {
      const ins = s.reads.map(valueOf);
      // a fused kernel runs where its writes were built
      encoder.device = s.writes[0]?.device ?? 0;
      const outs = s.writes.map((n) => {
        const v = fresh(n.shape, n.dtype);
        values.set(n, v);
        return v;
      });
      s.emit(ins, outs, encoder);
      consume(s.reads);
      // a written value nobody reads later (and that is not an output) is freed at once
      for (const n of s.writes) if (!uses.get(n) && !opts.isOutput(n)) release(n);
      continue;
    }
    const n = s.node,
      p = n.primitive;
    encoder.device = n.device;
    if (n.siblings) {
      // one launch writes every sibling; a sibling's own step (compile keeps one per output) only reads
      if (!values.has(n)) {
        const ins = n.inputs.map(valueOf);
        const outs = n.siblings.map((x) => {
          const v = fresh(x.shape, x.dtype);
          values.set(x, v);
          return v;
        });
        const before = encoder.kernels;
        p.lowerOutputs!(n.siblings, ins, outs, encoder);
        if (encoder.kernels > before) opts.onKernel?.(n);
        for (const x of n.siblings) if (!uses.get(x) && !opts.isOutput(x)) release(x);
      }
      consume(n.inputs);
      continue;
    }
    const ins = n.inputs.map(valueOf);
    let v = p.view ? p.view(n, ins) : null;
    if (v) v.buf.refs++;
    else {
      if (!p.lower) throw new Error(`[eval] ${p.name} cannot be computed`);
      v = (p.inPlace ? donate(n, ins) : null) ?? fresh(n.shape, n.dtype);
      const before = encoder.kernels;
      p.lower(n, ins, v, encoder);
      if (encoder.kernels > before) opts.onKernel?.(n);
    }
    values.set(n, v);
    consume(n.inputs);
    if (!uses.get(n) && !opts.isOutput(n)) release(n);
  }
  return values;
}
