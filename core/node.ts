// Graph nodes and the buffers they own. A node is immutable once built; evaluation attaches a
// buffer view and drops its inputs. Nodes and buffers are reference counted so memory is freed
// deterministically (DESIGN.md §2, "Evaluation and memory").
import { native } from '../backends/native.js';
import { currentDeviceIndex } from './device.js';
import type { DType } from './dtype.js';
import { SafetyNet } from './safety_net.js';

/** What the safety net needs of a buffer once its BufferRef is collected. */
interface BufferCell {
  readonly id: number;
  freed: boolean;
}

// The safety net is on buffers, not on array handles: a buffer no live node can reach is freed
// when the event loop turns, so an array handle needs no finalizer of its own and a dropped
// unevaluated graph is ordinary garbage (issue 17: registering every handle cost more than the op,
// and kept every dropped graph alive until its finalizer ran).
const buffers = new SafetyNet<BufferRef, BufferCell>(
  (cell) => {
    if (cell.freed) return;
    cell.freed = true;
    native.free(cell.id);
  },
  (b) => b.cell(),
);

/** A native buffer id with a JS-side count of the views (node data) that hold it. */
export class BufferRef {
  refs = 0;
  readonly #cell: BufferCell;
  /** a real native buffer: freed by `release` at its last holder, or by the safety net */
  constructor(
    readonly id: number,
    readonly nbytes: number,
  ) {
    this.#cell = { id, freed: false };
    buffers.add(this);
  }
  get freed(): boolean {
    return this.#cell.freed;
  }
  set freed(v: boolean) {
    this.#cell.freed = v;
  }
  /** @internal the safety net's record of this buffer, or null once it is freed */
  cell(): BufferCell | null {
    return this.#cell.freed ? null : this.#cell;
  }
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0 && !this.freed) {
      this.freed = true;
      native.free(this.id);
    }
  }
}

/** Where an evaluated node's elements live: a buffer, an element offset and element strides. */
export interface BufferView {
  buf: BufferRef;
  offset: number;
  strides: number[];
}

/**
 * A primitive is one kind of graph node. `view` (when present) expresses the output as a view of
 * the input's buffer and may return null when it needs a copy; `lower` emits native kernels.
 */
export interface Primitive {
  readonly name: string;
  view?(node: Node, inputs: BufferView[]): BufferView | null;
  lower?(node: Node, inputs: BufferView[], out: BufferView, emit: Emitter): void;
  /** multi-output primitives: one kernel launch writing every sibling's buffer (core/siblings.ts) */
  lowerOutputs?(nodes: readonly Node[], inputs: BufferView[], outs: BufferView[], emit: Emitter): void;
  /** true when the kernel may write its output over a dead input of the same layout */
  readonly inPlace?: boolean;
  /** the inputs whose buffer an in-place output may take (default: any input) */
  readonly inPlaceInputs?: readonly number[];
  /** why nodes of this primitive can never be evaluated (placeholders of vmap and compile) */
  readonly noEval?: string;
  /** what fusion and shape inference may assume: one output element per input element, etc. */
  readonly kind?: PrimitiveKind;
  /** the output shape at new input sizes (shapeless compile): core/shape_rules.ts */
  readonly shapeRule?: ShapeRule;
  /** when two nodes with the same inputs compute the same value (CSE); default: equal params */
  isEquivalent?(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean;
}

export type PrimitiveKind = 'elementwise' | 'reduce' | 'view' | 'other';

/** What a shape rule sees: the node as traced, its inputs' shapes now and when traced. */
export interface ShapeContext {
  readonly params: Readonly<Record<string, unknown>>;
  /** the node's traced output shape */
  readonly traced: readonly number[];
  readonly inputs: readonly (readonly number[])[];
  readonly tracedInputs: readonly (readonly number[])[];
  /** output dims a second trace saw change (reshape splits), when known */
  readonly vary?: ReadonlySet<number>;
  /** replaces size-dependent parameters (concatenate's offsets) */
  setParams(p: Record<string, unknown>): void;
  fail(why: string): never;
}
export type ShapeRule = (ctx: ShapeContext) => number[];

/** What a primitive's `lower` uses to add commands to the evaluation's command list. */
export interface Emitter {
  kernel(name: string, params: number[], operands: { view: BufferView; dtype: DType; shape: readonly number[] }[]): void;
}

let nextNodeId = 1;

export class Node {
  readonly id = nextNodeId++;
  inputs: Node[];
  data: BufferView | null = null;
  /** error of a failed asynchronous evaluation; using the node rethrows it */
  failure: Error | null = null;
  /** holders: Array handles plus unevaluated nodes that use this one as an input */
  refs = 0;
  /** every output of a multi-output primitive, this node included, in output order (else null) */
  siblings: readonly Node[] | null = null;
  /** evaluations that computed this node as an intermediate (core/eval.ts keeps it the second time) */
  computed = 0;
  constructor(
    readonly primitive: Primitive,
    readonly params: Readonly<Record<string, unknown>>,
    inputs: Node[],
    readonly shape: readonly number[],
    readonly dtype: DType,
    /** the device its kernels run on (core/device.ts): kn.withDevice's or the default when built */
    readonly device: number = currentDeviceIndex(),
  ) {
    this.inputs = inputs;
    for (const i of inputs) i.refs++;
  }
  get size(): number {
    let s = 1;
    for (const d of this.shape) s *= d;
    return s;
  }
  /** Drops the graph behind an evaluated node. */
  dropInputs(): void {
    const inputs = this.inputs;
    this.inputs = [];
    for (const i of inputs) decRef(i);
  }
}

/** Releases one holder of `node`; frees its buffer and its inputs when none is left. */
export function decRef(node: Node): void {
  const stack = [node];
  while (stack.length) {
    const n = stack.pop()!;
    if (--n.refs > 0) continue;
    if (n.data) {
      n.data.buf.release();
      n.data = null;
    }
    for (const i of n.inputs) stack.push(i);
    n.inputs = [];
  }
}

/** A node whose data is already there (created from host data). */
export const Constant: Primitive = { name: 'constant' };
