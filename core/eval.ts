// Evaluation: schedule the unevaluated part of the graph, lower it into one command list and run
// it in one native call. Intermediate buffers are freed right after their last use (a `free`
// command inside the list) or donated to a same-layout elementwise output: core/lowering.ts.
import { native } from '../backends/native.js';
import { itemsize, type DType } from './dtype.js';
import { decode, type HostTypedArray } from './host.js';
import { debugLevel, nodeLabel, printEagerSchedule } from './debug.js';
import { CommandEncoder, lowerSteps, type BufferSpace } from './lowering.js';
import { BufferRef, type BufferView, type Node } from './node.js';
import { contiguousStrides, isRowContiguous, sizeOf } from './shape.js';
import { tracing } from './trace_state.js';
import { noteEvaluation } from './growth_warning.js';

/** Real native buffers: allocated now, ids written straight into the command words. */
class NativeSpace implements BufferSpace {
  readonly created = new Set<BufferRef>();
  bytes = 0;
  allocate(nbytes: number): BufferRef {
    this.bytes += nbytes;
    const b = new BufferRef(native.alloc(nbytes), nbytes);
    this.created.add(b);
    return b;
  }
  owns(b: BufferRef): boolean {
    return this.created.has(b);
  }
  bufferWord(words: number[], b: BufferRef, idPos: number): void {
    words[idPos] = b.id;
  }
}

/** Unevaluated nodes reachable from `targets`, inputs before users (iterative: graphs get deep). */
function schedule(targets: Node[]): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  for (const t of targets) {
    if (t.failure) throw t.failure;
    if (t.data || seen.has(t)) continue;
    // a node stack and, beside it, the next input to visit of each (no tuple per node)
    const stack: Node[] = [t],
      next: number[] = [0];
    seen.add(t);
    while (stack.length) {
      const top = stack.length - 1;
      const n = stack[top],
        i = next[top];
      if (i < n.inputs.length) {
        next[top] = i + 1;
        const c = n.inputs[i];
        if (c.failure) throw c.failure;
        if (!c.data && !seen.has(c)) {
          seen.add(c);
          stack.push(c);
          next.push(0);
        }
      } else {
        stack.pop();
        next.pop();
        if (n.primitive.noEval) throw new Error(n.primitive.noEval);
        // one step computes every sibling of a multi-output node
        if (n.siblings) for (const x of n.siblings) seen.add(x);
        if (!n.primitive.view && !n.primitive.lower && !n.siblings)
          throw new Error(`[eval] node ${n.primitive.name} has no data and cannot be computed (was it disposed?)`);
        order.push(n);
      }
    }
  }
  return order;
}

/**
 * The command words of eager runs go through one reused Float64Array (a fresh one per run cost
 * an ArrayBuffer allocation and its background free: most of a small op's time, issue 17).
 * Native code parses them before run/runAsync returns, so the next run may overwrite them.
 */
let wordScratch = new Float64Array(4096);
const SCRATCH_MAX = 1 << 20;
function packWords(words: readonly number[]): Float64Array {
  if (words.length > wordScratch.length) {
    if (words.length > SCRATCH_MAX) return new Float64Array(words);
    let n = wordScratch.length;
    while (n < words.length) n *= 2;
    wordScratch = new Float64Array(n);
  }
  for (let i = 0; i < words.length; i++) wordScratch[i] = words[i];
  return wordScratch;
}

/** Runs encoded command words synchronously (one native crossing). */
export function runWords(words: readonly number[]): void {
  native.run(packWords(words), words.length);
}

interface Lowered {
  words: number[];
  created: ReadonlySet<BufferRef>;
  results: Map<Node, BufferView>;
  bytes: number;
}

/**
 * The reuse rule (DESIGN.md §2): an intermediate that an earlier evaluation already computed is
 * demonstrably reused. When an evaluation computes it again, still held from outside (an array
 * handle, or a node evaluated later), and read by a node new to this evaluation, it keeps its
 * value from then on: the boundary of the recomputed part is kept, not its inside (those nodes
 * are read only by recomputed ones and die once the boundary drops its inputs). The first
 * computation keeps nothing.
 */
function reused(order: readonly Node[], isTarget: Set<Node>): void {
  let again: Set<Node> | null = null;
  for (const n of order) if (n.computed++ > 0 && !isTarget.has(n)) (again ??= new Set()).add(n);
  if (!again || tracing()) return;
  const uses = new Map<Node, number>();
  const boundary = new Set<Node>();
  for (const n of order)
    for (const i of n.inputs) {
      uses.set(i, (uses.get(i) ?? 0) + 1);
      if (again.has(i) && (!again.has(n) || isTarget.has(n))) boundary.add(i);
    }
  for (const n of boundary) if (n.refs > (uses.get(n) ?? 0)) isTarget.add(n);
}

function lower(targets: Node[], order: Node[]): Lowered {
  const isTarget = new Set(targets);
  // siblings somebody still holds keep their value (computed anyway) instead of a later recompute
  for (const n of order) if (n.siblings) for (const x of n.siblings) if (x.refs > 0 && !x.data) isTarget.add(x);
  reused(order, isTarget);
  const space = new NativeSpace();
  const encoder = new CommandEncoder(space);
  const labels: string[] | null = debugLevel() >= 1 ? [] : null;
  const values = lowerSteps(
    order.map((node) => ({ kind: 'node', node })),
    {
      space,
      encoder,
      preset: (n) => n.data ?? undefined,
      isOutput: (n) => isTarget.has(n),
      onKernel: labels ? (n) => labels.push(nodeLabel(n)) : undefined,
      // a trace keeps inputs reachable after evaluation, so their buffers must survive it
      adoptDead: !tracing(),
    },
  );
  const results = new Map<Node, BufferView>();
  for (const t of isTarget) {
    const v = values.get(t);
    if (v) results.set(t, v);
  }
  if (labels) printEagerSchedule(labels, encoder.kernels, space.created.size);
  return { words: encoder.words, created: space.created, results, bytes: space.bytes };
}

// After a failed run the in-list `free` commands may not have run: free every buffer this
// evaluation created (native free of an already freed id is a no-op).
function abandon(l: Lowered): void {
  for (const b of l.created) {
    b.freed = true;
    native.free(b.id);
  }
}

function commit(l: Lowered): void {
  noteEvaluation(l.bytes);
  for (const [node, v] of l.results) {
    node.data = v;
    if (!tracing()) node.dropInputs();
  }
}

/** Evaluates `targets` synchronously (DESIGN.md §2). */
export function evaluateNodes(targets: Node[]): void {
  const order = schedule(targets);
  if (order.length === 0) return;
  const l = lower(targets, order);
  try {
    runWords(l.words);
  } catch (e) {
    abandon(l);
    throw e;
  }
  commit(l);
}

/**
 * Evaluates on a native worker thread. Results are attached at once (later runs, reads and
 * writes are ordered after this one natively), so JS can keep building graphs meanwhile.
 */
export function evaluateNodesAsync(targets: Node[]): Promise<void> {
  const order = schedule(targets);
  if (order.length === 0) return Promise.resolve();
  const l = lower(targets, order);
  let p: Promise<void>;
  try {
    p = native.runAsync(packWords(l.words), l.words.length);
  } catch (e) {
    abandon(l);
    return Promise.reject(e);
  }
  commit(l);
  return p.catch((e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    for (const node of l.results.keys()) node.failure = err;
    throw err;
  });
}

// Small reads copy into a JS-owned buffer: an external ArrayBuffer (native.read) carries a
// finalizer whose cost dominated item() (issue 17).
const SMALL_READ = 1 << 16;
function readBytes(id: number, offset: number, nbytes: number): ArrayBuffer {
  if (nbytes > SMALL_READ || !native.readInto) return native.read(id, offset, nbytes);
  const out = new Uint8Array(nbytes);
  native.readInto(id, offset, out);
  return out.buffer;
}

// item(): one persistent destination, so a read makes no ArrayBuffer (a fresh small typed array
// passed to native code gets a backing store allocated and later swept: issue 17).
const scalarBytes = new Uint8Array(8);
const scalarDest = [1, 2, 4, 8].map((n) => scalarBytes.subarray(0, n));
const scalarViews = new Map<DType, HostTypedArray>();

/** The only element of a size-1 node, as its typed array holds it (bigint for 64-bit ints). */
export function readScalar(node: Node): number | bigint {
  if (!native.readInto || node.dtype === 'complex64') return decode(readNode(node), node.dtype)[0] as number | bigint;
  evaluateNodes([node]);
  if (node.failure) throw node.failure;
  const v = node.data!,
    isz = itemsize(node.dtype);
  native.readInto(v.buf.id, v.offset * isz, scalarDest[Math.log2(isz)]);
  // bfloat16 decodes into a new array (widened); every other dtype is a view of the bytes
  if (node.dtype === 'bfloat16') return decode(scalarBytes.slice(0, 2).buffer, 'bfloat16')[0] as number;
  let view = scalarViews.get(node.dtype);
  if (!view) scalarViews.set(node.dtype, (view = decode(scalarBytes.buffer, node.dtype)));
  return view[0] as number | bigint;
}

/** Raw bytes of an evaluated node in row-major order (copies strided views first). */
export function readNode(node: Node): ArrayBuffer {
  evaluateNodes([node]);
  if (node.failure) throw node.failure;
  const v = node.data!;
  const n = sizeOf(node.shape),
    isz = itemsize(node.dtype);
  if (n === 0) return new ArrayBuffer(0);
  if (isRowContiguous(node.shape, v.strides)) return readBytes(v.buf.id, v.offset * isz, n * isz);
  const tmp = new BufferRef(native.alloc(n * isz), n * isz).retain();
  try {
    const cmds = new CommandEncoder(new NativeSpace());
    cmds.device = node.device; // compact where it was computed: only the elements move
    cmds.kernel(
      'copy',
      [],
      [
        { view: v, dtype: node.dtype, shape: node.shape },
        { view: { buf: tmp, offset: 0, strides: contiguousStrides(node.shape) }, dtype: node.dtype, shape: node.shape },
      ],
    );
    runWords(cmds.words);
    return readBytes(tmp.id, 0, n * isz);
  } finally {
    tmp.release();
  }
}
