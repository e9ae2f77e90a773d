// Evaluation: schedule the unevaluated part of the graph, lower it into one command list and run
// it in one native call. Intermediate buffers are freed right after their last use (a `free`
// command inside the list) or donated to a same-sized elementwise output (DESIGN.md §2).
import { native, K } from '../backends/native.js';
import { DTYPE_CODE, itemsize, type DType } from './dtype.js';
import { BufferRef, type BufferView, type Emitter, type Node } from './node.js';
import { contiguousStrides, isRowContiguous, sizeOf } from './shape.js';
import { tracing } from './trace_state.js';

class CommandList implements Emitter {
  words: number[] = [];
  kernel(name: string, params: number[], operands: { view: BufferView; dtype: DType; shape: readonly number[] }[]): void {
    const id = K[name];
    if (id === undefined) throw new Error(`[eval] the native backend has no kernel named ${name}`);
    const w = this.words;
    w.push(id, params.length, ...params, operands.length);
    for (const { view, dtype, shape } of operands) {
      w.push(view.buf.id, DTYPE_CODE[dtype], view.offset, shape.length, ...shape, ...view.strides);
    }
  }
  free(buf: BufferRef): void {
    this.words.push(K.free, 1, buf.id, 0);
  }
}

/** Unevaluated nodes reachable from `targets`, inputs before users (iterative: graphs get deep). */
function schedule(targets: Node[]): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  for (const t of targets) {
    if (t.failure) throw t.failure;
    if (t.data || seen.has(t)) continue;
    const stack: [Node, number][] = [[t, 0]];
    seen.add(t);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [n, i] = top;
      if (i < n.inputs.length) {
        top[1]++;
        const c = n.inputs[i];
        if (c.failure) throw c.failure;
        if (!c.data && !seen.has(c)) {
          seen.add(c);
          stack.push([c, 0]);
        }
      } else {
        stack.pop();
        if (n.primitive.noEval) throw new Error(n.primitive.noEval);
        if (!n.primitive.view && !n.primitive.lower)
          throw new Error(`[eval] node ${n.primitive.name} has no data and cannot be computed (was it disposed?)`);
        order.push(n);
      }
    }
  }
  return order;
}

interface Lowered {
  commands: Float64Array;
  created: BufferRef[];
  results: Map<Node, BufferView>;
}

function lower(targets: Node[], order: Node[]): Lowered {
  const isTarget = new Set(targets);
  const uses = new Map<Node, number>();
  for (const n of order) uses.set(n, 0);
  for (const n of order) for (const i of n.inputs) if (uses.has(i)) uses.set(i, uses.get(i)! + 1);

  const values = new Map<Node, BufferView>();
  const created = new Set<BufferRef>();
  const cmds = new CommandList();
  const valueOf = (n: Node): BufferView => n.data ?? values.get(n)!;

  const releaseValue = (v: BufferView) => {
    v.buf.refs--;
    if (v.buf.refs === 0 && created.has(v.buf)) {
      v.buf.freed = true;
      cmds.free(v.buf);
    }
  };

  // Reuse a dead input's buffer for an elementwise output of the same byte layout.
  const donate = (n: Node, ins: BufferView[], nbytes: number): BufferView | null => {
    for (const j of n.primitive.inPlaceInputs ?? n.inputs.keys()) {
      const src = n.inputs[j], v = ins[j];
      if (isTarget.has(src) || !created.has(v.buf) || v.buf.refs !== 1 || v.offset !== 0) continue;
      if (v.buf.nbytes !== nbytes || itemsize(src.dtype) !== itemsize(n.dtype)) continue;
      if (sizeOf(src.shape) !== sizeOf(n.shape) || src.shape.length !== n.shape.length) continue;
      if (!src.shape.every((d, k) => d === n.shape[k]) || !isRowContiguous(src.shape, v.strides)) continue;
      const occurrences = n.inputs.filter((x) => x === src).length;
      if (uses.get(src) !== occurrences) continue;
      return { buf: v.buf.retain(), offset: 0, strides: contiguousStrides(n.shape) };
    }
    return null;
  };

  for (const n of order) {
    const ins = n.inputs.map(valueOf);
    let v = n.primitive.view ? n.primitive.view(n, ins) : null;
    if (v) {
      v.buf.retain();
    } else {
      if (!n.primitive.lower) throw new Error(`[eval] ${n.primitive.name} cannot be computed`);
      const nbytes = sizeOf(n.shape) * itemsize(n.dtype);
      v = n.primitive.inPlace ? donate(n, ins, nbytes) : null;
      if (!v) {
        const buf = new BufferRef(native.alloc(nbytes), nbytes).retain();
        created.add(buf);
        v = { buf, offset: 0, strides: contiguousStrides(n.shape) };
      }
      n.primitive.lower(n, ins, v, cmds);
    }
    values.set(n, v);
    for (const i of n.inputs) {
      const left = uses.get(i);
      if (left === undefined) continue;
      uses.set(i, left - 1);
      if (left - 1 === 0 && !isTarget.has(i)) releaseValue(values.get(i)!);
    }
  }
  const results = new Map<Node, BufferView>();
  for (const t of isTarget) {
    const v = values.get(t);
    if (v) results.set(t, v);
  }
  return { commands: new Float64Array(cmds.words), created: [...created], results };
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
    native.run(l.commands);
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
    p = native.runAsync(l.commands);
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

/** Raw bytes of an evaluated node in row-major order (copies strided views first). */
export function readNode(node: Node): ArrayBuffer {
  evaluateNodes([node]);
  if (node.failure) throw node.failure;
  const v = node.data!;
  const n = sizeOf(node.shape), isz = itemsize(node.dtype);
  if (n === 0) return new ArrayBuffer(0);
  if (isRowContiguous(node.shape, v.strides)) return native.read(v.buf.id, v.offset * isz, n * isz);
  const tmp = new BufferRef(native.alloc(n * isz), n * isz).retain();
  try {
    const cmds = new CommandList();
    cmds.kernel('copy', [], [
      { view: v, dtype: node.dtype, shape: node.shape },
      { view: { buf: tmp, offset: 0, strides: contiguousStrides(node.shape) }, dtype: node.dtype, shape: node.shape },
    ]);
    native.run(new Float64Array(cmds.words));
    return native.read(tmp.id, 0, n * isz);
  } finally {
    tmp.release();
  }
}
