// Lowering a simplified (and fused) graph into a stored command list with core/lowering.ts, the
// same lowering as eager evaluation, over symbolic buffers: input slots are patched with the
// caller's buffer ids and offsets at every call, and buffers the list creates are allocated by the
// native replay (their ids are written at recorded positions).
import { nodeLabel } from '../debug.js';
import { CommandEncoder, lowerSteps, type BufferSpace, type LowerStep, type Operand } from '../lowering.js';
import { Node, type BufferRef, type BufferView } from '../node.js';
import { regroupSiblings } from '../siblings.js';
import type { IRGraph } from './ir.js';

export type { Operand };

/** Where a value's elements live while lowering: an input slot, a constant, or a new buffer. */
export interface SymBuf {
  kind: 'input' | 'const' | 'alloc';
  /** input slot or alloc index */
  index: number;
  /** constants: the real buffer */
  ref: BufferRef | null;
  nbytes: number;
  /** live values that use this buffer */
  refs: number;
  freed: boolean;
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
  /** names this list for the native replay (never reused: a GPU may keep a captured graph per id) */
  id: number;
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
  /**
   * input slots whose buffer a kernel writes over (state the call replaces, e.g. a cache row
   * update in place): the caller passes a private copy when anything else could read the buffer
   */
  donated: number[];
}

/** An input slot's layout at lowering time; `nbytes` (whole-buffer views only) allows donation. */
export interface InputLayout {
  strides: number[];
  /** the buffer's size when the slot may be donated (a contiguous view of its whole buffer), else 0 */
  donateBytes: number;
}

/** Symbolic buffers: ids are patched in at every replay (inputs) or allocated by the replay. */
class SymbolicSpace implements BufferSpace {
  readonly allocBytes: number[] = [];
  readonly allocPositions: number[][] = [];
  readonly patches: number[] = [];
  allocate(nbytes: number): BufferRef {
    this.allocBytes.push(nbytes);
    this.allocPositions.push([]);
    return symbolic('alloc', this.allocBytes.length - 1, nbytes);
  }
  owns(b: BufferRef): boolean {
    return (b as unknown as SymBuf).kind === 'alloc';
  }
  bufferWord(words: number[], buf: BufferRef, idPos: number, offPos: number, offset: number): void {
    const b = buf as unknown as SymBuf;
    if (b.kind === 'const') words[idPos] = b.ref!.id;
    else if (b.kind === 'input') this.patches.push(b.index, idPos, offPos, offset);
    else this.allocPositions[b.index].push(idPos);
  }
}

const symbolic = (kind: SymBuf['kind'], index: number, nbytes: number, ref: BufferRef | null = null): BufferRef =>
  ({ kind, index, ref, nbytes, refs: 0, freed: false }) as unknown as BufferRef;

let nextPlanId = 1;

/** Lowers `steps` (a topological schedule of g) into a Plan, through the lowering eval uses. */
export function lowerPlan(g: IRGraph, steps: Step[], inputViews: InputLayout[]): Plan {
  const space = new SymbolicSpace();
  const encoder = new CommandEncoder(space, 'compile');
  const schedule: string[] = [];
  // shadow Nodes let primitives' view/lower functions and the shared lowering run on IR nodes
  const shadows: Node[] = [];
  for (const n of g.nodes)
    shadows.push(
      new Node(
        n.prim,
        n.params,
        n.inputs.map((i) => shadows[i]),
        n.shape,
        n.dtype,
        n.device,
      ),
    );
  regroupSiblings(shadows);
  const preset = new Map<Node, BufferView>();
  const donatable = new Map<BufferRef, Node>();
  const donated = new Set<number>();
  for (const n of g.nodes) {
    if (n.kind === 'input') {
      const { strides, donateBytes } = inputViews[n.slot];
      const buf = symbolic('input', n.slot, donateBytes);
      if (donateBytes > 0) donatable.set(buf, shadows[n.id]);
      preset.set(shadows[n.id], { buf, offset: 0, strides: strides.slice() });
    } else if (n.kind === 'const') {
      const d = n.source!.data!;
      preset.set(shadows[n.id], { buf: symbolic('const', -1, d.buf.nbytes, d.buf), offset: d.offset, strides: d.strides.slice() });
    }
  }
  const outputs = new Set(g.outputs.map((id) => shadows[id]));

  let fused = 0;
  const lsteps: LowerStep[] = steps.map((s) => {
    if (s.kind === 'node') return { kind: 'node', node: shadows[s.id] };
    return {
      kind: 'group',
      reads: s.reads.map((i) => shadows[i]),
      writes: s.writes.map((i) => shadows[i]),
      emit(reads, writes, emitter) {
        emitter.kernel('fused', [s.handle], s.operands(reads, writes));
        schedule.push(s.label);
        fused++;
      },
    };
  });
  const values = lowerSteps(lsteps, {
    space,
    encoder,
    preset: (n) => preset.get(n),
    isOutput: (n) => outputs.has(n),
    onKernel: (n) => schedule.push(nodeLabel(n)),
    donatableInput: (b) => donatable.get(b) ?? null,
    onDonate: (b) => donated.add((b as unknown as SymBuf).index),
  });

  const outSpecs: OutputSpec[] = g.outputs.map((id) => {
    const v = values.get(shadows[id]) ?? preset.get(shadows[id])!;
    const b = v.buf as unknown as SymBuf;
    if (b.kind === 'alloc') return { kind: 'alloc', index: b.index, offset: v.offset, strides: v.strides.slice() };
    if (b.kind === 'input') return { kind: 'input', slot: b.index, delta: v.offset, strides: v.strides.slice() };
    return { kind: 'const', ref: b.ref!, offset: v.offset, strides: v.strides.slice() };
  });

  const alloc: number[] = [space.allocBytes.length];
  space.allocBytes.forEach((nb, i) => alloc.push(nb, space.allocPositions[i].length, ...space.allocPositions[i]));
  return {
    id: nextPlanId++,
    words: new Float64Array(encoder.words),
    patches: new Float64Array(space.patches),
    allocs: new Float64Array(alloc),
    allocBytes: space.allocBytes,
    outputs: outSpecs,
    kernels: encoder.kernels,
    fused,
    schedule,
    programs: [],
    donated: [...donated].sort((a, b) => a - b),
  };
}
