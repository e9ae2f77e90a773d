// Fusion (DESIGN.md §2 "compile"): the nodes of the simplified graph are grouped into fused
// kernels. A group has an iteration shape S and a set A of reduced trailing axes (empty for an
// elementwise group). Its members are
//   E nodes:   elementwise ops (unary, binary, where, casts) of shape S;
//   reductions over A of an E node or of an input: they absorb the work that feeds them;
//   R nodes:   per-row values (shape S without A, or with A kept as 1): reduction results,
//              elementwise ops and reshapes of them.
// An E node may read an R node broadcast over A, so a reduction also absorbs the elementwise
// work that consumes it: softmax, RMSNorm and layer norm become one kernel with phases.
// Edges are absorbed when they are the identity or such a broadcast; any other input (a view of
// an input, a broadcast array, another kernel's output) is read through its strided view.
// Nodes are visited in topological order and join (or merge) their inputs' groups unless that
// would create a cycle through a node outside the group.
import { ReduceOps } from '../../backends/native.js';
import type { BufferView } from '../node.js';
import { BroadcastTo, Contiguous, Full, Reduce, Reshape, Transpose } from '../primitives.js';
import { itemsize } from '../dtype.js';
import { contiguousStrides } from '../shape.js';
import type { IRGraph, IRNode } from './ir.js';
import type { FusedStep, Operand, Step } from './lower.js';
import { buildProgram, phasesOf, releaseProgram, type Edge, type GroupSpec } from './program.js';

/** Limits on fused kernels: parameters, not constants spread through the code. */
export const fusionLimits = {
  /** false: every node is its own kernel, as in an eager evaluation (for comparisons) */
  enabled: true,
  /** inputs read by one kernel (the native side allows 64 operands with the outputs) */
  maxInputs: 32,
  /** members of one kernel */
  maxOps: 256,
  /** phases of a reduction kernel (each phase passes over a row once) */
  maxPhases: 8,
  /** elementwise groups with fewer ops stay ordinary kernels */
  minOps: 2,
};

/**
 * The native catalog's reductions that fused programs compute: all but the index ones
 * (argmax/argmin give positions, not values). Derived, so a new reduction is fused (and tested
 * fused by tests/conformance/fused.test.ts) as soon as the catalog has it.
 */
export const FUSABLE_REDUCE: ReadonlySet<string> = new Set(Object.keys(ReduceOps).filter((op) => !op.startsWith('arg')));
const isEw = (n: IRNode) => n.kind === 'op' && n.prim.kind === 'elementwise';
const isView = (n: IRNode) => n.kind === 'op' && !!n.prim.view;
const eqShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const kShape = (S: readonly number[], A: readonly number[]) => S.filter((_, i) => !A.includes(i));
const kKeep = (S: readonly number[], A: readonly number[]) => S.map((d, i) => (A.includes(i) ? 1 : d));

type Role = 'E' | 'R' | 'RED';

interface Group {
  id: number;
  S: number[];
  /** reduced axes (sorted), null while the group is elementwise */
  A: number[] | null;
  members: number[];
  /** groups (raw ids) that the members' outside inputs depend on */
  ext: Set<number>;
  /** nodes the members read from outside (bounded by fusionLimits.maxInputs) */
  srcs: Set<number>;
  /** the device every member runs on: a fused kernel never spans devices */
  dev: number;
}

export interface Schedule {
  steps: Step[];
  programs: number[];
}

/** The schedule of `g`: steps in topological order, and the native programs they use. */
export function schedule(g: IRGraph): Schedule {
  if (!fusionLimits.enabled) return { steps: g.nodes.filter((n) => n.kind === 'op').map((n) => ({ kind: 'node', id: n.id })), programs: [] };
  return new Fuser(g).run();
}

class Fuser {
  readonly nodes: IRNode[];
  readonly users: number[][];
  readonly grp: Int32Array;
  readonly role: (Role | null)[];
  readonly parent: number[] = [];
  readonly groups: Group[] = [];
  readonly deps: Set<number>[] = [];
  /** E: the phase its value exists from; reduction: the phase it accumulates in */
  readonly phase: Int32Array;
  /** row values (R, reductions): the phase from which they exist */
  readonly avail: Int32Array;

  constructor(readonly g: IRGraph) {
    this.nodes = g.nodes;
    this.users = g.nodes.map(() => []);
    for (const n of g.nodes) for (const i of n.inputs) this.users[i].push(n.id);
    this.grp = new Int32Array(g.nodes.length).fill(-1);
    this.role = g.nodes.map(() => null);
    this.phase = new Int32Array(g.nodes.length);
    this.avail = new Int32Array(g.nodes.length);
  }

  // ---- groups --------------------------------------------------------------------------------

  find(x: number): number {
    while (this.parent[x] !== x) x = this.parent[x] = this.parent[this.parent[x]];
    return x;
  }
  groupOf(n: number): Group | null {
    return this.grp[n] < 0 ? null : this.groups[this.find(this.grp[n])];
  }
  /** n's group when a node on device `dev` may join it (else null: read it as an outside value) */
  groupOn(n: number, dev: number): Group | null {
    const g = this.groupOf(n);
    return g && g.dev === dev ? g : null;
  }
  /** Groups (representatives) that reading node n's value depends on, its own included. */
  readDeps(n: number): Set<number> {
    const s = new Set<number>();
    for (const d of this.deps[n]) s.add(this.find(d));
    if (this.grp[n] >= 0) s.add(this.find(this.grp[n]));
    return s;
  }
  newGroup(S: readonly number[], A: number[] | null, dev: number): Group {
    const gr: Group = { id: this.groups.length, S: S.slice(), A, members: [], ext: new Set(), srcs: new Set(), dev };
    this.groups.push(gr);
    this.parent.push(gr.id);
    return gr;
  }
  add(gr: Group, n: number, role: Role, extDeps: Iterable<number>, srcs: Iterable<number> = []): void {
    for (const x of srcs) gr.srcs.add(x);
    gr.members.push(n);
    this.grp[n] = gr.id;
    this.role[n] = role;
    for (const d of extDeps) gr.ext.add(d);
  }
  /**
   * Whether reading values with these group dependencies needs `gr` first. Transitive through the
   * groups' outside inputs: a group may have merged with one that reads `gr` after `deps` was taken.
   */
  dependsOn(deps: Iterable<number>, gr: Group): boolean {
    const r = this.find(gr.id);
    const seen = new Set<number>();
    const stack = [...deps];
    while (stack.length) {
      const d = this.find(stack.pop()!);
      if (d === r) return true;
      if (seen.has(d)) continue;
      seen.add(d);
      for (const e of this.groups[d].ext) stack.push(e);
    }
    return false;
  }
  /** Merges b into a when neither depends on the other through outside nodes. */
  merge(a: Group, b: Group): Group | null {
    if (this.find(a.id) === this.find(b.id)) return a;
    if (a.dev !== b.dev) return null;
    if (!eqShape(a.S, b.S) || (a.A && b.A && !eqShape(a.A, b.A))) return null;
    if (a.members.length + b.members.length > fusionLimits.maxOps) return null;
    if (new Set([...a.srcs, ...b.srcs]).size > fusionLimits.maxInputs) return null;
    if (this.dependsOn(b.ext, a) || this.dependsOn(a.ext, b)) return null;
    this.parent[this.find(b.id)] = this.find(a.id);
    a.members.push(...b.members);
    for (const d of b.ext) a.ext.add(d);
    a.A = a.A ?? b.A;
    for (const x of b.srcs) a.srcs.add(x);
    b.members = [];
    return a;
  }

  /** complex64 values run their own kernels (copy casts, where): fused programs are real-only. */
  touchesComplex(n: IRNode): boolean {
    return n.dtype === 'complex64' || n.inputs.some((i) => this.nodes[i].dtype === 'complex64');
  }
  /** The node behind Contiguous views (identity index maps). */
  skipIdentity(id: number): number {
    while (this.nodes[id].prim === Contiguous) id = this.nodes[id].inputs[0];
    return id;
  }
  /** Whether a chain of views ends at a fill (the input is a constant). */
  isConstant(id: number): boolean {
    let n = this.nodes[id];
    // a view that changes the dtype (complex64 <-> float32 pairs) does not read the fill's value
    while (isView(n) && n.inputs.length === 1 && this.nodes[n.inputs[0]].dtype === n.dtype) n = this.nodes[n.inputs[0]];
    return n.kind === 'op' && n.prim === Full;
  }
  isRowValue(j: number, gr: Group): boolean {
    return (this.role[j] === 'R' || this.role[j] === 'RED') && gr.A !== null;
  }

  run(): Schedule {
    for (const n of this.nodes) {
      const d = new Set<number>();
      for (const i of n.inputs) {
        for (const x of this.deps[i]) d.add(x);
        if (this.grp[i] >= 0) d.add(this.grp[i]);
      }
      this.deps[n.id] = d;
      if (n.kind !== 'op') continue;
      if (n.prim === Reduce) this.visitReduce(n);
      else if (isEw(n) && !this.touchesComplex(n)) this.visitElementwise(n);
      else if (n.prim === Reshape) this.visitReshape(n);
    }
    return this.emit();
  }

  visitReduce(n: IRNode): void {
    if (!FUSABLE_REDUCE.has(n.params.op as string)) return;
    let x = n.inputs[0];
    let perm: number[] | null = null;
    if (this.nodes[x].prim === Transpose) {
      perm = this.nodes[x].params.perm as number[];
      x = this.nodes[x].inputs[0];
    }
    const S = this.nodes[x].shape,
      nk = S.length - (n.params.r as number);
    const p = perm ?? S.map((_, i) => i);
    // trailing reductions only: each row is then a contiguous run of the input
    if (!p.slice(0, nk).every((a, i) => a === i)) return;
    const A = p.slice(nk).sort((a, b) => a - b);
    if (A.length === 0 || A.every((a) => S[a] === 1)) return;
    const src = this.skipIdentity(x);
    const gx = this.groupOn(src, n.device);
    if (
      gx &&
      this.role[src] === 'E' &&
      eqShape(gx.S, S) &&
      (!gx.A || eqShape(gx.A, A)) &&
      gx.members.length < fusionLimits.maxOps &&
      this.phase[src] < fusionLimits.maxPhases
    ) {
      gx.A = A;
      this.phase[n.id] = this.phase[src];
      this.avail[n.id] = this.phase[src] + 1;
      this.add(gx, n.id, 'RED', []);
      return;
    }
    this.avail[n.id] = 1;
    this.add(this.newGroup(S, A, n.device), n.id, 'RED', this.isConstant(x) ? [] : this.readDeps(src), this.isConstant(x) ? [] : [src]);
  }

  visitReshape(n: IRNode): void {
    const p = this.skipIdentity(n.inputs[0]);
    const gp = this.groupOn(p, n.device);
    if (!gp || !gp.A || !this.isRowValue(p, gp)) return;
    if ((eqShape(n.shape, kShape(gp.S, gp.A)) || eqShape(n.shape, kKeep(gp.S, gp.A))) && !eqShape(n.shape, gp.S)) {
      this.avail[n.id] = this.avail[p];
      this.add(gp, n.id, 'R', []);
    }
  }

  visitElementwise(n: IRNode): void {
    type Kind = 'E' | 'R' | 'B' | 'ext';
    const edges: { kind: Kind; j: number; gr: Group | null }[] = [];
    for (const i of n.inputs) {
      if (this.isConstant(i)) continue;
      const j = this.skipIdentity(i);
      const gj = this.groupOn(j, n.device);
      if (gj && this.role[j] === 'E' && eqShape(gj.S, n.shape)) {
        edges.push({ kind: 'E', j, gr: gj });
        continue;
      }
      if (gj && gj.A && this.isRowValue(j, gj) && !eqShape(n.shape, gj.S) && (eqShape(n.shape, kShape(gj.S, gj.A)) || eqShape(n.shape, kKeep(gj.S, gj.A)))) {
        edges.push({ kind: 'R', j, gr: gj });
        continue;
      }
      const b = this.nodes[i];
      if (b.prim === BroadcastTo && eqShape(b.shape, n.shape)) {
        const p = this.skipIdentity(b.inputs[0]);
        const gp = this.groupOn(p, n.device);
        if (gp && gp.A && this.isRowValue(p, gp) && eqShape(gp.S, n.shape) && eqShape(this.nodes[p].shape, kKeep(gp.S, gp.A))) {
          edges.push({ kind: 'B', j: p, gr: gp });
          continue;
        }
      }
      edges.push({ kind: 'ext', j, gr: null });
    }
    const depsOf = (es: typeof edges) => {
      const s = new Set<number>();
      for (const e of es) for (const d of this.readDeps(e.j)) s.add(d);
      return s;
    };
    // a row-level op: every non-constant input is a row value
    const rows = edges.filter((e) => e.kind === 'R');
    if (rows.length && rows.length === edges.length) {
      let gr: Group | null = rows[0].gr;
      for (const e of rows.slice(1)) gr = gr && this.merge(gr, e.gr!);
      if (gr && gr.members.length < fusionLimits.maxOps) {
        this.avail[n.id] = Math.max(...rows.map((e) => this.avail[e.j]));
        this.add(gr, n.id, 'R', []);
        return;
      }
    }
    // an elementwise op over S: join (merging them) the groups of its E and broadcast inputs,
    // unless an outside input depends on one of them
    const outside = edges.filter((e) => e.kind === 'ext' || e.kind === 'R');
    const baseDeps = depsOf(outside);
    let gr: Group | null = null;
    for (const e of edges) {
      if ((e.kind !== 'E' && e.kind !== 'B') || this.dependsOn(baseDeps, e.gr!)) continue;
      if (!gr) gr = this.groups[this.find(e.gr!.id)];
      else this.merge(gr, this.groups[this.find(e.gr!.id)]);
    }
    const reads = edges.filter((e) => e.kind === 'ext' || e.kind === 'R' || !gr || this.find(e.gr!.id) !== this.find(gr.id));
    const extDeps = depsOf(reads);
    const srcs = reads.map((e) => e.j);
    // the first phase this op's value exists in (a row value used here exists after its reduction)
    let ph = 0;
    if (gr)
      for (const e of edges)
        if ((e.kind === 'E' || e.kind === 'B') && this.find(e.gr!.id) === this.find(gr.id))
          ph = Math.max(ph, e.kind === 'E' ? this.phase[e.j] : this.avail[e.j]);
    const fits = (g: Group) =>
      g.members.length < fusionLimits.maxOps && new Set([...g.srcs, ...srcs]).size <= fusionLimits.maxInputs && ph < fusionLimits.maxPhases;
    if (gr && !this.dependsOn(extDeps, gr) && fits(gr)) {
      this.phase[n.id] = ph;
      this.add(gr, n.id, 'E', extDeps, srcs);
    } else
      this.add(
        this.newGroup(n.shape, null, n.device),
        n.id,
        'E',
        depsOf(edges),
        edges.map((e) => e.j),
      );
  }

  // ---- schedule ------------------------------------------------------------------------------

  /** Each member's input edges within group `members` (reductions see their source). */
  edgesOf(members: Set<number>): { edges: Map<number, Edge[]>; reads: number[] } {
    const edges = new Map<number, Edge[]>();
    const reads: number[] = [];
    const seen = new Set<number>();
    for (const m of [...members].sort((a, b) => a - b)) {
      const n = this.nodes[m];
      const role = this.role[m];
      let ins = n.inputs;
      if (role === 'RED') {
        const t = this.nodes[n.inputs[0]];
        ins = [t.prim === Transpose ? t.inputs[0] : t.id];
      }
      const es: Edge[] = [];
      for (const i of ins) {
        const j = this.skipIdentity(i);
        if (members.has(j)) es.push({ kind: 'member', src: j });
        else if (this.isConstant(i)) es.push({ kind: 'const', src: i });
        else {
          const b = this.nodes[i];
          const p = b.prim === BroadcastTo ? this.skipIdentity(b.inputs[0]) : -1;
          if (role === 'E' && p >= 0 && members.has(p) && (this.role[p] === 'R' || this.role[p] === 'RED')) es.push({ kind: 'bcast', src: p });
          else {
            es.push({ kind: 'read', src: j });
            if (!seen.has(j)) {
              seen.add(j);
              reads.push(j);
            }
          }
        }
      }
      edges.set(m, es);
    }
    return { edges, reads };
  }

  emit(): Schedule {
    const N = this.nodes.length;
    const live: { gr: Group; members: Set<number>; edges: Map<number, Edge[]>; reads: number[] }[] = [];
    for (const gr of this.groups) {
      if (this.find(gr.id) !== gr.id || gr.members.length === 0) continue;
      const members = new Set(gr.members);
      const { edges, reads } = this.edgesOf(members);
      const roles = new Map(gr.members.map((m) => [m, this.role[m]!] as const));
      const ops = gr.members.filter((m) => this.nodes[m].prim !== Reshape).length;
      const reds = gr.members.some((m) => this.role[m] === 'RED');
      // a lone op is worth a fused kernel when it absorbs a constant (no fill kernel then)
      const absorbsConstant = [...edges.values()].some((es) => es.some((e) => e.kind === 'const'));
      // members that may have to be written (read outside the group): the native side takes 64 operands
      const writable = gr.members.filter((m) => this.g.outputs.includes(m) || this.users[m].some((u) => !members.has(u))).length;
      const keep =
        (reds ? ops >= 2 : ops >= fusionLimits.minOps || absorbsConstant) &&
        reads.length <= fusionLimits.maxInputs &&
        reads.length + writable <= 64 &&
        phasesOf(
          [...members].sort((a, b) => a - b),
          roles,
          edges,
        ).bound <= fusionLimits.maxPhases;
      if (keep) live.push({ gr, members, edges, reads });
      else for (const m of gr.members) this.grp[m] = -1;
    }
    const rep = (n: number) => (this.grp[n] < 0 ? -1 : this.find(this.grp[n]));
    const byRep = new Map(live.map((l) => [l.gr.id, l] as const));

    // Values someone needs: outputs, inputs of needed ordinary nodes, reads of running kernels.
    const needed = new Array<boolean>(N).fill(false);
    for (const o of this.g.outputs) needed[o] = true;
    const runs = new Set<number>();
    for (let changed = true; changed;) {
      changed = false;
      for (let k = N - 1; k >= 0; k--) {
        const r = rep(k);
        if (r >= 0) {
          if (needed[k] && !runs.has(r)) {
            runs.add(r);
            changed = true;
            for (const x of byRep.get(r)!.reads) needed[x] = true;
          }
          continue;
        }
        const n = this.nodes[k];
        if (needed[k] && n.kind === 'op')
          for (const i of n.inputs)
            if (!needed[i]) {
              needed[i] = true;
              changed = true;
            }
      }
    }

    // steps in topological order over ordinary nodes and kernels (Kahn, earliest first)
    const stepKey = (k: number) => (rep(k) >= 0 ? -1 - rep(k) : k);
    const items = new Map<number, { first: number; reads: number[] }>();
    for (let k = 0; k < N; k++) {
      const r = rep(k);
      if (r >= 0) {
        if (runs.has(r) && !items.has(-1 - r)) items.set(-1 - r, { first: k, reads: byRep.get(r)!.reads });
      } else if (this.nodes[k].kind === 'op' && needed[k]) items.set(k, { first: k, reads: this.nodes[k].inputs });
    }
    const indeg = new Map<number, number>();
    const outs = new Map<number, number[]>();
    for (const [key, it] of items) {
      const srcs = new Set<number>();
      for (const x of it.reads) {
        const s = stepKey(x);
        if (s !== key && items.has(s)) srcs.add(s);
      }
      indeg.set(key, srcs.size);
      for (const s of srcs) (outs.get(s) ?? outs.set(s, []).get(s)!).push(key);
    }
    const ready = [...items.keys()].filter((k) => indeg.get(k) === 0);
    const order: number[] = [];
    const mem = new StepMemory(this.g, items, rep, needed);
    while (ready.length) {
      const k = ready.splice(
        mem.pick(ready, (x) => items.get(x)!.first),
        1,
      )[0];
      mem.run(k);
      order.push(k);
      for (const u of outs.get(k) ?? []) {
        indeg.set(u, indeg.get(u)! - 1);
        if (indeg.get(u) === 0) ready.push(u);
      }
    }
    if (order.length !== items.size) throw new Error('[compile] internal: the fused schedule has a cycle');

    const programs: number[] = [];
    const steps: Step[] = [];
    try {
      for (const k of order) {
        if (k >= 0) {
          steps.push({ kind: 'node', id: k });
          continue;
        }
        const l = byRep.get(-1 - k)!;
        const sorted = [...l.members].sort((a, b) => a - b);
        const spec: GroupSpec = {
          id: l.gr.id,
          S: l.gr.S,
          A: l.gr.A ?? [],
          reads: l.reads,
          outputs: sorted.filter((m) => needed[m]),
          members: sorted,
          roles: new Map(sorted.map((m) => [m, this.role[m]!] as const)),
          edges: l.edges,
          nodes: this.nodes,
        };
        const step = makeStep(spec);
        programs.push(step.handle);
        steps.push(step);
      }
    } catch (e) {
      for (const h of programs) releaseProgram(h);
      throw e;
    }
    return { steps, programs };
  }
}

/**
 * The memory a step allocates and frees, for choosing among ready steps. The trace's post order
 * computes a value right before its first user but leaves a gradient's small reduction (a
 * weight's `xᵀ·dy`) for when the walk reaches that output, at the end: every layer's `x` and `dy`
 * then live through the whole backward pass, recomputed (kn.checkpoint) or not. Picking the ready
 * step that frees the most bytes net of what it allocates (ties: the earliest) runs those
 * reductions as soon as they can, and defers allocations (a checkpoint's recomputation) until
 * nothing cheaper is ready. Views allocate nothing and keep their base buffer alive.
 */
class StepMemory {
  /** step key -> buffer holders (roots) it reads, and the bytes it allocates */
  readonly reads = new Map<number, number[]>();
  readonly alloc = new Map<number, number>();
  /** per root: steps that still have to read it (outputs and non-ops are never freed) */
  readonly left: Int32Array;
  readonly bytes: Float64Array;

  constructor(g: IRGraph, items: Map<number, { first: number; reads: number[] }>, rep: (n: number) => number, needed: boolean[]) {
    const N = g.nodes.length;
    const isView = (n: IRNode) => n.kind === 'op' && !!n.prim.view && n.inputs.length > 0;
    const root = new Int32Array(N);
    for (const n of g.nodes) root[n.id] = isView(n) && rep(n.id) < 0 ? root[n.inputs[0]] : n.id;
    this.bytes = new Float64Array(N);
    for (const n of g.nodes) this.bytes[n.id] = n.shape.reduce((a, b) => a * b, 1) * itemsize(n.dtype);
    const pinned = new Uint8Array(N);
    for (const o of g.outputs) pinned[root[o]] = 1;
    for (const n of g.nodes) if (n.kind !== 'op') pinned[n.id] = 1;
    this.left = new Int32Array(N);
    const written = new Map<number, number>();
    for (let m = 0; m < N; m++) if (rep(m) >= 0 && needed[m]) written.set(-1 - rep(m), (written.get(-1 - rep(m)) ?? 0) + this.bytes[m]);
    for (const [key, it] of items) {
      const n = key >= 0 ? g.nodes[key] : null;
      // a view step hands its first input on (its readers read the root); it reads the others
      const own = n && isView(n) ? it.reads.slice(1) : it.reads;
      const rs = [...new Set(own.map((x) => root[x]))].filter((r) => !pinned[r]);
      for (const r of rs) this.left[r]++;
      this.reads.set(key, rs);
      if (n) this.alloc.set(key, isView(n) ? 0 : this.bytes[key]);
      else this.alloc.set(key, written.get(key) ?? 0);
    }
  }
  gain(key: number): number {
    let freed = 0;
    for (const r of this.reads.get(key)!) if (this.left[r] === 1) freed += this.bytes[r];
    return freed - this.alloc.get(key)!;
  }
  /** index in `ready` of the step to run next */
  pick(ready: number[], first: (k: number) => number): number {
    let best = 0,
      bestGain = -Infinity;
    ready.forEach((k, i) => {
      const g = this.gain(k);
      if (g > bestGain || (g === bestGain && first(k) < first(ready[best]))) {
        best = i;
        bestGain = g;
      }
    });
    return best;
  }
  run(key: number): void {
    for (const r of this.reads.get(key)!) this.left[r]--;
  }
}

/** A group's fused step: operands are views in kernel order (kept axes, then reduced ones). */
function makeStep(spec: GroupSpec): FusedStep {
  const built = buildProgram(spec);
  const { S, A, nodes } = spec;
  const perm = [...S.map((_, i) => i).filter((i) => !A.includes(i)), ...A];
  const kshape = perm.map((p) => S[p]);
  const permute = (st: readonly number[]) => perm.map((p) => st[p]);
  // a row value's buffer (shape without A, or with A as 1) seen over S: zero strides on A
  const rowStrides = (shape: readonly number[]) => {
    const own = contiguousStrides(shape);
    const dropped = shape.length !== S.length;
    const st: number[] = [];
    let k = 0;
    for (let d = 0; d < S.length; d++) {
      if (A.includes(d)) {
        st.push(0);
        if (!dropped) k++;
      } else st.push(own[k++]);
    }
    return st;
  };
  return {
    kind: 'fused',
    handle: built.handle,
    reads: spec.reads,
    writes: spec.outputs,
    members: spec.members,
    label: built.label,
    operands(reads: BufferView[], writes: BufferView[]): Operand[] {
      const ops: Operand[] = reads.map((v, k) => ({
        view: { buf: v.buf, offset: v.offset, strides: permute(v.strides) },
        dtype: nodes[spec.reads[k]].dtype,
        shape: kshape,
      }));
      spec.outputs.forEach((id, k) => {
        const n = nodes[id];
        const st = spec.roles.get(id) === 'E' ? contiguousStrides(n.shape) : rowStrides(n.shape);
        ops.push({ view: { buf: writes[k].buf, offset: writes[k].offset, strides: permute(st) }, dtype: n.dtype, shape: kshape });
      });
      return ops;
    },
  };
}
