// kn.compile's machinery (DESIGN.md §2 "compile"): trace on a cache miss, simplify, fuse, lower to
// a stored command list; on every call bind the inputs into that list and replay it in one native
// crossing. State declared in `inputs`/`outputs` is read before the call and rebound after it.
import { NDArray } from '../array.js';
import { evaluateNodes } from '../eval.js';
import { currentDeviceIndex } from '../device.js';
import { decRef, Node, type BufferView } from '../node.js';
import { Copy } from '../primitives.js';
import { itemsize } from '../dtype.js';
import { isRowContiguous, sizeOf } from '../shape.js';
import { tracing } from '../trace_state.js';
import { arrayKey, fillResult, flattenArgs, layoutKey, stateArrays } from './args.js';
import { LRU } from './cache.js';
import type { IRGraph } from './ir.js';
import { lowerPlan, type Plan } from './lower.js';
import { runPlan, type OutputType } from './replay.js';
import { simplify, type SimplifyStats } from './simplify.js';
import { compileTracing, traceFunction } from './trace.js';
import { schedule } from './fuse.js';
import { foldConstants } from './fold.js';
import { releaseProgram } from './program.js';
import { debugLevel, printPlan } from './debug.js';
import { checkShapeless, inferGraph, ShapelessError, type ShapeHints } from './shapeless.js';

export interface CompileOptions {
  /** reuse one trace when only the sizes of the inputs change (ranks and dtypes stay) */
  shapeless?: boolean;
  /** state the function reads besides its arguments (arrays, trees, modules, optimizers, or a function returning them) */
  inputs?: unknown;
  /** state the function replaces; its arrays are rebound to the new values after each call */
  outputs?: unknown;
}

/** What the last call of a compiled function ran. */
export interface CompiledInfo {
  /** traces of this compiled function so far (cache misses) */
  traces: number;
  calls: number;
  /** kernels in the replayed command list (fused kernels count once) */
  kernels: number;
  fused: number;
  /** buffers the list allocates (outputs and intermediates) */
  buffers: number;
  schedule: string[];
}

interface PlanEntry {
  plan: Plan;
  outTypes: OutputType[];
}

interface Entry {
  graph: IRGraph;
  skeleton: unknown;
  nReturned: number;
  nStateOut: number;
  consts: Node[];
  plans: LRU<PlanEntry>;
  /** shapeless: input shapes of the first trace, whether a second trace confirmed the rules */
  traceShapes: number[][];
  validated: boolean;
  hints: ShapeHints;
  shapelessError: Error | null;
}

export const PLANS_PER_TRACE = 8;
let enabled = process.env.KILN_DISABLE_COMPILE !== '1';

function releasePlan(p: PlanEntry): void {
  for (const h of p.plan.programs) releaseProgram(h);
}

function releaseEntry(e: Entry): void {
  e.plans.clear();
  for (const c of e.consts) decRef(c);
}

export const traceCache = new LRU<Entry>(64, releaseEntry);

export function setCompileEnabled(on: boolean): void {
  enabled = on;
}
export function compileEnabled(): boolean {
  return enabled;
}

const ids = new WeakMap<object, number>();
let nextId = 1;
const idOf = (o: unknown): number => {
  if (o === undefined || o === null || (typeof o !== 'object' && typeof o !== 'function')) return 0;
  let id = ids.get(o as object);
  if (id === undefined) ids.set(o as object, (id = nextId++));
  return id;
};

export type Compiled<F> = F & { readonly info: CompiledInfo };

export function compileFunction<F extends (...args: any[]) => any>(fn: F, opts: CompileOptions = {}): Compiled<F> {
  if (typeof fn !== 'function') throw new TypeError('[compile] expected a function');
  if (opts === null || typeof opts !== 'object') throw new TypeError('[compile] options must be an object');
  for (const k of Object.keys(opts))
    if (!['shapeless', 'inputs', 'outputs'].includes(k)) throw new TypeError(`[compile] unknown option '${k}' (expected shapeless, inputs, outputs)`);
  if (opts.shapeless !== undefined && typeof opts.shapeless !== 'boolean') throw new TypeError('[compile] shapeless must be a boolean');
  const shapeless = opts.shapeless ?? false;
  const prefix = `${idOf(fn)}|${shapeless ? 's' : ''}|${idOf(opts.inputs)}|${idOf(opts.outputs)}|`;
  const info: CompiledInfo = { traces: 0, calls: 0, kernels: 0, fused: 0, buffers: 0, schedule: [] };

  const compiled = (...args: unknown[]): unknown => {
    if (!enabled || compileTracing() || tracing()) return fn(...args);
    const flat = flattenArgs(args);
    const stateIn = opts.inputs === undefined ? [] : stateArrays(opts.inputs);
    const inputs = [...flat.arrays, ...stateIn];
    const lazy = inputs.map((a) => a.node).filter((n) => !n.data);
    if (lazy.length) evaluateNodes(lazy);
    // a trace records the device its ops run on (kn.withDevice's or the default at call time)
    const key = prefix + currentDeviceIndex() + '|' + flat.key + '|' + inputs.map((a) => arrayKey(a, shapeless)).join(';');
    // the input values stay alive through the call even if the function disposes their handles
    // (an optimizer releases the state it replaces)
    const ins = inputs.map((a) => a.node);
    for (const n of ins) n.refs++;
    try {
      return call(key, flat, inputs, ins);
    } finally {
      for (const n of ins) decRef(n);
    }
  };

  const call = (key: string, flat: ReturnType<typeof flattenArgs>, inputs: NDArray[], ins: Node[]): unknown => {
    const name = fn.name || 'anonymous function';
    const trace = () => {
      const t = traceFunction(fn as (...a: unknown[]) => unknown, flat.rebuild, flat.arrays.length, inputs, opts.outputs);
      info.traces++;
      const stats: SimplifyStats = { noops: 0, merged: 0, constants: 0, dead: 0 };
      let graph: IRGraph;
      let nFolded = 0;
      try {
        graph = simplify(t.graph, stats);
        const f = foldConstants(graph);
        nFolded = f.folded;
        if (nFolded) graph = simplify(f.graph, stats);
      } catch (e) {
        for (const c of t.consts) decRef(c);
        throw e;
      }
      if (debugLevel() >= 1)
        console.error(
          `[compile] traced ${name}: ${t.graph.nodes.length} nodes, simplified to ${graph.nodes.length} (${stats.noops} no-ops, ${stats.merged} merged, ${nFolded} subgraphs and ${stats.constants} scalars folded, ${stats.dead} dead)`,
        );
      return { t, graph };
    };
    const holdConsts = (e: Entry, g: IRGraph) => {
      for (const n of g.nodes)
        if (n.kind === 'const') {
          n.source!.refs++;
          e.consts.push(n.source!);
        }
    };

    let entry = traceCache.get(key);
    const pkey = shapeless ? layoutKey(ins) : '';
    // the state this call replaces, as named before the function runs (a trace may reassign it)
    const replacedBefore = entry?.plans.get(pkey) || opts.outputs === undefined ? null : stateArrays(opts.outputs);
    let stateOut: NDArray[] | null = null;
    let graph: IRGraph | null = null;
    let pending: Error | null = null;
    if (!entry) {
      const { t, graph: g } = trace();
      entry = {
        graph: g,
        skeleton: t.skeleton,
        nReturned: t.nReturned,
        nStateOut: t.stateOut.length,
        consts: [],
        plans: new LRU<PlanEntry>(PLANS_PER_TRACE, releasePlan),
        traceShapes: ins.map((n) => n.shape.slice()),
        validated: false,
        hints: new Map(),
        shapelessError: null,
      };
      holdConsts(entry, g);
      for (const c of t.consts) decRef(c);
      traceCache.set(key, entry);
      stateOut = t.stateOut;
      graph = g;
    }
    let pe = entry.plans.get(pkey);
    stateOut ??= opts.outputs === undefined ? [] : stateArrays(opts.outputs);
    if (!pe) {
      if (!graph) {
        const same = ins.every((n, k) => n.shape.every((d, i) => d === entry!.traceShapes[k][i]));
        if (same) graph = entry.graph;
        else if (entry.shapelessError) throw entry.shapelessError;
        else if (!entry.validated) {
          // a second trace at these sizes confirms (or refutes) the shape rules
          const { t, graph: g2 } = trace();
          stateOut = t.stateOut;
          graph = g2;
          holdConsts(entry, g2);
          for (const c of t.consts) decRef(c);
          try {
            entry.hints = checkShapeless(entry.graph, g2);
            entry.validated = true;
          } catch (e) {
            if (!(e instanceof ShapelessError)) throw e;
            entry.shapelessError = pending = e;
          }
        } else
          graph = inferGraph(
            entry.graph,
            ins.map((n) => n.shape),
            entry.hints,
          );
      }
      // state the call replaces: its old value is unreachable afterwards, so kernels may write over it
      const before = new Set(replacedBefore ?? []);
      const replacedSlots = new Set<number>();
      for (let k = flat.arrays.length; k < inputs.length; k++) if (before.has(inputs[k])) replacedSlots.add(k);
      pe = buildPlan(graph, ins, replacedSlots);
      if (!pending) entry.plans.set(pkey, pe);
      if (debugLevel() >= 1) printPlan(name, pe.plan, graph);
    }
    if (stateOut.length !== entry.nStateOut)
      throw new Error(
        `[compile] the outputs state holds ${stateOut.length} arrays, but the traced function produced ${entry.nStateOut}; its structure must not change between calls`,
      );
    let nodes: Node[];
    const views = ins.map((n) => n.data!);
    const copies = pe.plan.donated.length ? privateCopies(pe.plan.donated, inputs, ins, views, stateOut, name) : null;
    try {
      nodes = runPlan(pe.plan, views, pe.outTypes);
    } finally {
      if (copies) for (const c of copies) decRef(c);
      if (pending) releasePlan(pe);
    }
    info.calls++;
    info.kernels = pe.plan.kernels;
    info.fused = pe.plan.fused;
    info.buffers = pe.plan.allocBytes.length;
    info.schedule = pe.plan.schedule;
    stateOut.forEach((h, k) => h.rebind(nodes[entry!.nReturned + k]));
    const arrays = nodes.slice(0, entry.nReturned).map((n) => new NDArray(n));
    if (pending) {
      // the call ran (its state is updated), but later calls at new sizes would be wrong
      for (const a of arrays) a.dispose();
      throw pending;
    }
    return fillResult(entry.skeleton, arrays);
  };
  Object.defineProperty(compiled, 'info', { get: () => ({ ...info, schedule: info.schedule.slice() }) });
  Object.defineProperty(compiled, 'name', { value: fn.name ? `compiled ${fn.name}` : 'compiled' });
  return compiled as unknown as Compiled<F>;
}

/** Bytes of `n`'s buffer when its value is a contiguous view of all of it (else 0). */
function wholeBuffer(n: Node): number {
  const v = n.data!;
  const nbytes = sizeOf(n.shape) * itemsize(n.dtype);
  return v.offset === 0 && v.buf.nbytes === nbytes && nbytes > 0 && isRowContiguous(n.shape, v.strides) ? nbytes : 0;
}

/**
 * A plan writes over the buffers of its `donated` slots. A slot's buffer is handed over only when
 * nothing but the state handle the call rebinds (or nothing at all) holds its value and no other
 * slot shares the buffer; otherwise the slot gets a private copy (returned, to be released after
 * the call), so no value the caller can still read changes.
 */
function privateCopies(
  donated: readonly number[],
  inputs: readonly NDArray[],
  ins: readonly Node[],
  views: BufferView[],
  replaced: readonly NDArray[],
  name: string,
): Node[] | null {
  let copies: Node[] | null = null;
  for (const slot of donated) {
    const n = ins[slot],
      h = inputs[slot];
    const holders = n.refs - 1; // this call holds every input once
    const why =
      wholeBuffer(n) === 0
        ? 'it is a view of a larger buffer'
        : // one holder of the buffer is one node; the same node in two slots counts twice in holders
          n.data!.buf.refs !== 1
          ? 'another array shares its buffer'
          : holders > 1 || (holders === 1 && !(!h.disposed && h.node === n && replaced.includes(h)))
            ? 'another array or graph still holds it'
            : null;
    if (why === null) continue;
    if (debugLevel() >= 1) console.error(`[compile] ${name}: state input ${slot} is copied before the call (${why})`);
    const c = new Node(Copy, {}, [n], n.shape, n.dtype, n.device);
    c.refs++;
    evaluateNodes([c]);
    views[slot] = c.data!;
    (copies ??= []).push(c);
  }
  return copies;
}

function buildPlan(graph: IRGraph, inputs: readonly Node[], replacedSlots: ReadonlySet<number>): PlanEntry {
  const views = inputs.map((n, k) => ({ strides: n.data!.strides, donateBytes: replacedSlots.has(k) ? wholeBuffer(n) : 0 }));
  const { steps, programs } = schedule(graph);
  let plan: Plan;
  try {
    plan = lowerPlan(graph, steps, views);
  } catch (e) {
    for (const h of programs) releaseProgram(h);
    throw e;
  }
  plan.programs = programs;
  return { plan, outTypes: graph.outputs.map((id) => ({ shape: graph.nodes[id].shape, dtype: graph.nodes[id].dtype })) };
}
