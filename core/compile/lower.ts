// Lowering a simplified (and fused) graph into a stored command list: the same encoding as
// core/eval.ts, but with symbolic buffers. Input slots are patched with the caller's buffer ids
// and offsets at every call, buffers the list creates are allocated by the native replay (their
// ids are written at recorded positions), and intermediates are freed inside the list right after
// their last use (or donated to a same-layout elementwise output), as in an eager evaluation.
import { K } from '../../backends/native.js';
import { DTYPE_CODE, itemsize, type DType } from '../dtype.js';
import { Node, type BufferRef, type BufferView, type Emitter } from '../node.js';
import { contiguousStrides, isRowContiguous, sizeOf } from '../shape.js';
import type { IRGraph } from './ir.js';

/** Where a value's elements live while lowering: an input slot, a constant, or a new buffer. */
export interface SymBuf {
  kind: 'input' | 'const' | 'alloc';
  /** input slot or alloc index */
  index: number;
  /** constants: the real buffer */
  ref: BufferRef | null;
  nbytes: number;
  /** live values that use this buffer (alloc only) */
  refs: number;
}

export interface Operand {
  view: BufferView;
  dtype: DType;
  shape: readonly number[];
}

/** A fused kernel in the schedule (built by fuse.ts). */
export interface FusedStep {
  kind: 'fused';
  /** native program handle */
  handle: number;
  /** IR nodes whose values the kernel reads */
  reads: number[];
  /** IR nodes the kernel writes (each gets a new contiguous buffer) */
  writes: number[];
  /** IR nodes computed inside the kernel (for the schedule printout) */
  members: number[];
  /** operand list (inputs then outputs) from the values of `reads` and the buffers of `writes` */
  operands(reads: BufferView[], writes: BufferView[]): Operand[];
  label: string;
}

export type Step = { kind: 'node'; id: number } | FusedStep;

export type OutputSpec =
  | { kind: 'alloc'; index: number; offset: number; strides: number[] }
  | { kind: 'input'; slot: number; delta: number; strides: number[] }
  | { kind: 'const'; ref: BufferRef; offset: number; strides: number[] };

export interface Plan {
  words: Float64Array;
  /** per patched operand: slot, position of the id word, position of the offset word, offset delta */
  patches: Float64Array;
  /** [count, then per buffer: nbytes, npos, positions...] for the native replay */
  allocs: Float64Array;
  allocBytes: number[];
  outputs: OutputSpec[];
  kernels: number;
  fused: number;
  schedule: string[];
  /** program handles this plan owns (released with it) */
  programs: number[];
}

class Recorder implements Emitter {
  words: number[] = [];
  patches: number[] = [];
  allocPositions: number[][] = [];
  kernels = 0;
  schedule: string[] = [];

  kernel(name: string, params: number[], operands: readonly Operand[]): void {
    const id = K[name];
    if (id === undefined) throw new Error(`[compile] the native backend has no kernel named ${name}`);
    const w = this.words;
    w.push(id, params.length, ...params, operands.length);
    for (const { view, dtype, shape } of operands) {
      const b = view.buf as unknown as SymBuf;
      const idPos = w.length;
      w.push(0, DTYPE_CODE[dtype], view.offset, shape.length, ...shape, ...view.strides);
      this.bind(b, idPos, idPos + 2, view.offset);
    }
    this.kernels++;
  }
  free(b: SymBuf): void {
    this.words.push(K.free, 1, 0, 0);
    this.allocPositions[b.index].push(this.words.length - 2);
  }
  bind(b: SymBuf, idPos: number, offPos: number, offset: number): void {
    if (b.kind === 'const') this.words[idPos] = b.ref!.id;
    else if (b.kind === 'input') this.patches.push(b.index, idPos, offPos, offset);
    else this.allocPositions[b.index].push(idPos);
  }
}

/** Lowers `steps` (a topological schedule of g) into a Plan. */
export function lowerPlan(g: IRGraph, steps: Step[], inputViews: { strides: number[] }[]): Plan {
  const rec = new Recorder();
  const allocBytes: number[] = [];
  const values = new Map<number, BufferView>();
  const shadows: Node[] = [];
  const isOutput = new Set(g.outputs);

  // shadow Nodes let primitives' view/lower functions run unchanged on IR nodes
  for (const n of g.nodes) shadows.push(new Node(n.prim, n.params, n.inputs.map((i) => shadows[i]), n.shape, n.dtype));

  const sym = (kind: SymBuf['kind'], index: number, nbytes: number, ref: BufferRef | null = null): SymBuf => ({ kind, index, ref, nbytes, refs: 0 });
  const view = (buf: SymBuf, offset: number, strides: number[]): BufferView => ({ buf: buf as unknown as BufferRef, offset, strides });
  const newBuffer = (nbytes: number): SymBuf => {
    allocBytes.push(nbytes);
    rec.allocPositions.push([]);
    return sym('alloc', allocBytes.length - 1, nbytes);
  };

  // remaining reads of every value, to free buffers after their last use
  const uses = new Map<number, number>();
  const readsOf = (s: Step): number[] => (s.kind === 'node' ? g.nodes[s.id].inputs : s.reads);
  for (const s of steps) for (const r of readsOf(s)) uses.set(r, (uses.get(r) ?? 0) + 1);

  for (const n of g.nodes) {
    if (n.kind === 'input') values.set(n.id, view(sym('input', n.slot, 0), 0, inputViews[n.slot].strides.slice()));
    else if (n.kind === 'const') {
      const d = n.source!.data!;
      values.set(n.id, view(sym('const', -1, d.buf.nbytes, d.buf), d.offset, d.strides.slice()));
    }
  }
  const hold = (v: BufferView) => {
    const b = v.buf as unknown as SymBuf;
    if (b.kind === 'alloc') b.refs++;
  };
  const release = (id: number) => {
    const v = values.get(id)!;
    const b = v.buf as unknown as SymBuf;
    if (b.kind === 'alloc' && --b.refs === 0) rec.free(b);
  };
  const consume = (ids: number[]) => {
    for (const i of ids) {
      const left = uses.get(i)! - 1;
      uses.set(i, left);
      if (left === 0 && !isOutput.has(i)) release(i);
    }
  };

  // a dead input buffer of the same layout may take an elementwise output (eval.ts does the same)
  const donate = (id: number, ins: BufferView[], nbytes: number): BufferView | null => {
    const n = g.nodes[id];
    for (let j = 0; j < n.inputs.length; j++) {
      const src = g.nodes[n.inputs[j]], v = ins[j], b = v.buf as unknown as SymBuf;
      if (isOutput.has(src.id) || b.kind !== 'alloc' || b.refs !== 1 || v.offset !== 0 || b.nbytes !== nbytes) continue;
      if (itemsize(src.dtype) !== itemsize(n.dtype) || src.shape.length !== n.shape.length) continue;
      if (!src.shape.every((d, k) => d === n.shape[k]) || !isRowContiguous(src.shape, v.strides)) continue;
      if (uses.get(src.id) !== n.inputs.filter((x) => x === src.id).length) continue;
      b.refs++;
      return view(b, 0, contiguousStrides(n.shape));
    }
    return null;
  };

  let fused = 0;
  for (const s of steps) {
    if (s.kind === 'node') {
      const n = g.nodes[s.id];
      const ins = n.inputs.map((i) => values.get(i)!);
      let v = n.prim.view ? n.prim.view(shadows[n.id], ins) : null;
      if (v) hold(v);
      else {
        if (!n.prim.lower) throw new Error(`[compile] ${n.prim.name} cannot be computed`);
        const nbytes = sizeOf(n.shape) * itemsize(n.dtype);
        v = n.prim.inPlace ? donate(n.id, ins, nbytes) : null;
        if (!v) {
          const b = newBuffer(nbytes);
          b.refs++;
          v = view(b, 0, contiguousStrides(n.shape));
        }
        const before = rec.kernels;
        n.prim.lower(shadows[n.id], ins, v, rec);
        if (rec.kernels > before) rec.schedule.push(`${n.prim.name}${n.params.op ? `(${n.params.op})` : ''} [${n.shape.join(', ')}] ${n.dtype}`);
      }
      values.set(n.id, v);
      consume(n.inputs);
    } else {
      const ins = s.reads.map((i) => values.get(i)!);
      const outs = s.writes.map((id) => {
        const n = g.nodes[id];
        const b = newBuffer(sizeOf(n.shape) * itemsize(n.dtype));
        b.refs++;
        const v = view(b, 0, contiguousStrides(n.shape));
        values.set(id, v);
        return v;
      });
      rec.kernel('fused', [s.handle], s.operands(ins, outs));
      rec.schedule.push(s.label);
      fused++;
      consume(s.reads);
      // a written value nobody reads later (and that is not an output) is freed at once
      for (const id of s.writes) if (!uses.get(id) && !isOutput.has(id)) release(id);
    }
  }

  const outputs: OutputSpec[] = g.outputs.map((id) => {
    const v = values.get(id)!;
    const b = v.buf as unknown as SymBuf;
    if (b.kind === 'alloc') return { kind: 'alloc', index: b.index, offset: v.offset, strides: v.strides.slice() };
    if (b.kind === 'input') return { kind: 'input', slot: b.index, delta: v.offset, strides: v.strides.slice() };
    return { kind: 'const', ref: b.ref!, offset: v.offset, strides: v.strides.slice() };
  });

  const alloc: number[] = [allocBytes.length];
  allocBytes.forEach((nb, i) => alloc.push(nb, rec.allocPositions[i].length, ...rec.allocPositions[i]));
  return {
    words: new Float64Array(rec.words),
    patches: new Float64Array(rec.patches),
    allocs: new Float64Array(alloc),
    allocBytes,
    outputs,
    kernels: rec.kernels,
    fused,
    schedule: rec.schedule,
    programs: [],
  };
}
