// A fused group as a typed SSA program for the native interpreter (backends/cpu/kernels/fused.h):
// phases of block instructions over the group's iteration space, reductions into per-row
// accumulators, row instructions on reduction results. Values are recomputed in every phase that
// needs them (cheap next to a second pass over memory); block registers are reused after their
// last use. Programs are registered once natively and shared by identical groups.
import { BinaryOps, ReduceOps, UnaryOps, native } from '../../backends/native.js';
import { DTYPE_CODE, type DType } from '../dtype.js';
import { Binary, Copy, Reshape, Unary, Where } from '../primitives.js';
import type { IRNode } from './ir.js';
import { debugLevel } from './debug.js';

export type EdgeKind = 'member' | 'const' | 'bcast' | 'read';
export interface Edge {
  kind: EdgeKind;
  src: number;
}

/** A group as fuse.ts hands it over. */
export interface GroupSpec {
  id: number;
  S: number[];
  /** reduced axes (empty: elementwise) */
  A: number[];
  /** nodes read through their views, in operand order */
  reads: number[];
  /** members the kernel writes, in operand order (after the reads) */
  outputs: number[];
  members: number[];
  roles: Map<number, 'E' | 'R' | 'RED'>;
  edges: Map<number, Edge[]>;
  nodes: IRNode[];
}

const C = {
  load: 0,
  store: 1,
  const: 2,
  splat: 3,
  unary: 4,
  binary: 5,
  where: 6,
  cast: 7,
  reduce: 8,
  accget: 9,
  spill: 10,
  fill: 11,
} as const;
const CODE_NAMES = ['load', 'store', 'const', 'splat', 'unary', 'binary', 'where', 'cast', 'reduce', 'accget', 'spill', 'fill'];

/**
 * Unary ops (native catalog codes) cheaper to recompute in a later phase than to keep (a few
 * cycles per vector). A cost fact, not a catalog list: tests/catalog.test.ts checks the names exist.
 */
export const CHEAP_UNARY: ReadonlySet<string> = new Set(['neg', 'abs', 'square', 'floor', 'ceil', 'round', 'trunc', 'sign', 'logical_not', 'bitwise_invert']);
/** Spill slots per row stay within this many bytes (so the kept values stay in cache). */
export const SPILL_BUDGET_BYTES = 512 * 1024;

const computeType = (d: DType): number => (d === 'float16' || d === 'bfloat16' ? DTYPE_CODE.float32 : DTYPE_CODE[d]);
const is16 = (d: DType) => d === 'float16' || d === 'bfloat16';

interface Ins {
  code: number;
  op: number;
  dst: number;
  a: number;
  b: number;
  c: number;
  imm: number;
}

const shared = new Map<string, { handle: number; refs: number }>();
const byHandle = new Map<number, string>();

/** Registers (or reuses) a program; the caller releases it with releaseProgram. */
function register(words: number[]): number {
  // String(-0) is '0': a constant -0 must not share the program of a constant 0
  const key = words.map((w) => (Object.is(w, -0) ? '-0' : String(w))).join(',');
  const hit = shared.get(key);
  if (hit) {
    hit.refs++;
    return hit.handle;
  }
  const handle = native.compileProgram(new Float64Array(words));
  shared.set(key, { handle, refs: 1 });
  byHandle.set(handle, key);
  return handle;
}

export function releaseProgram(handle: number): void {
  const key = byHandle.get(handle);
  if (key === undefined) return;
  const e = shared.get(key)!;
  if (--e.refs > 0) return;
  shared.delete(key);
  byHandle.delete(handle);
  native.releaseProgram(handle);
}

/** Number of distinct native programs alive (for tests of the cache's release path). */
export function liveProgramCount(): number {
  return shared.size;
}

/**
 * Phase of every member: for E nodes the first phase their value exists in, for reductions the
 * phase they accumulate in; `avail` is the phase from which a row value exists.
 */
export function phasesOf(
  members: readonly number[],
  roles: ReadonlyMap<number, string>,
  edges: ReadonlyMap<number, Edge[]>,
): {
  ph: Map<number, number>;
  avail: Map<number, number>;
  bound: number;
} {
  const ph = new Map<number, number>();
  const avail = new Map<number, number>();
  let bound = 1;
  for (const m of members) {
    const es = edges.get(m)!;
    const role = roles.get(m)!;
    if (role === 'E') {
      let p = 0;
      for (const e of es) {
        if (e.kind === 'member') p = Math.max(p, ph.get(e.src)!);
        else if (e.kind === 'bcast') p = Math.max(p, avail.get(e.src)!);
      }
      ph.set(m, p);
    } else if (role === 'RED') {
      const e = es[0];
      const p = e.kind === 'member' ? ph.get(e.src)! : 0;
      ph.set(m, p);
      avail.set(m, p + 1);
    } else {
      let p = 0;
      for (const e of es) if (e.kind === 'member') p = Math.max(p, avail.get(e.src)!);
      avail.set(m, p);
    }
    if (ph.has(m)) bound = Math.max(bound, ph.get(m)! + 1);
  }
  return { ph, avail, bound };
}

export function buildProgram(spec: GroupSpec): { handle: number; label: string; words: number[] } {
  const { nodes, roles, edges, members } = spec;
  const A = spec.A;
  const isRow = (m: number) => roles.get(m) !== 'E';
  const readIndex = new Map(spec.reads.map((r, k) => [r, k] as const));
  const { ph, avail } = phasesOf(members, roles, edges);
  const reds = members.filter((m) => roles.get(m) === 'RED');
  let nPhases = 1;
  for (const m of reds) nPhases = Math.max(nPhases, ph.get(m)! + 1);
  for (const m of spec.outputs) if (!isRow(m)) nPhases = Math.max(nPhases, ph.get(m)! + 1);

  // ---- registers, accumulators, spill plan
  const accs: [number, number][] = [];
  const accOf = new Map<number, number>();
  for (const m of reds) {
    const src = nodes[edges.get(m)![0].src];
    accOf.set(m, accs.length);
    accs.push([ReduceOps[nodes[m].params.op as string], computeType(src.dtype)]);
  }
  const outIndex = new Map(spec.outputs.map((o, k) => [o, k] as const));
  const R = A.reduce((t, a) => t * spec.S[a], 1);

  // First without spills, recording the phases each E value is computed in; values computed in
  // several phases whose recomputation is costly are then kept per row in spill slots.
  let out = emit(new Map());
  const slots = chooseSpills(out.uses, R);
  if (slots.size) out = emit(slots);
  const { phases, blockTypes, rowTypes, init, spillTypes } = out;

  function emit(spills: Map<number, number>) {
    const blockTypes: number[] = []; // physical block registers
    const rowTypes: number[] = [];
    const init: Ins[] = [];
    const spillTypes: number[] = [...spills.keys()].map((m) => computeType(nodes[m].dtype));
    const firstPhase = new Map<number, number>();
    const uses = new Map<number, Set<number>>();
    const rowReg = new Map<number, number>(); // member -> row register
    const rowConst = new Map<string, number>();
    const blockConst = new Map<string, number>(); // constants live in registers set once per task
    const newRow = (t: number) => rowTypes.push(t) - 1;
    const phases: { setup: Ins[]; body: Ins[]; finish: Ins[] }[] = [];
    const ins = (list: Ins[], code: number, op: number, dst: number, a = -1, b = -1, c = -1, imm = 0) => {
      list.push({ code, op, dst, a, b, c, imm });
      return dst;
    };
    for (let p = 0; p < nPhases; p++) {
      // virtual block registers of this phase; `fixed` ones are the constants' physical registers
      const vtype: number[] = [];
      const fixed: number[] = [];
      const setup: Ins[] = [],
        body: Ins[] = [],
        finish: Ins[] = [];
      const memo = new Map<string, number>();
      const vreg = (t: number, phys = -1) => {
        fixed.push(phys);
        return vtype.push(t) - 1;
      };
      const constant = (id: number): number => {
        const n = nodes[id];
        const v = constValue(nodes, id);
        const key = `${n.dtype}:${Object.is(v, -0) ? '-0' : v}`;
        let phys = blockConst.get(key);
        if (phys === undefined) {
          phys = blockTypes.push(computeType(n.dtype)) - 1;
          ins(init, C.const, DTYPE_CODE[n.dtype], phys, -1, -1, -1, v);
          blockConst.set(key, phys);
        }
        let r = memo.get(`c${key}`);
        if (r === undefined) memo.set(`c${key}`, (r = vreg(computeType(n.dtype), phys)));
        return r;
      };
      const edgeValue = (e: Edge): number => {
        switch (e.kind) {
          case 'const':
            return constant(e.src);
          case 'read': {
            const key = `r${e.src}`;
            let r = memo.get(key);
            if (r === undefined) {
              r = ins(body, C.load, 0, vreg(computeType(nodes[e.src].dtype)), readIndex.get(e.src)!);
              memo.set(key, r);
            }
            return r;
          }
          case 'bcast': {
            const key = `b${e.src}`;
            let r = memo.get(key);
            if (r === undefined) {
              const rr = rowReg.get(e.src)!;
              r = ins(setup, C.splat, 0, vreg(rowTypes[rr]), rr);
              memo.set(key, r);
            }
            return r;
          }
          default:
            return value(e.src);
        }
      };
      const value = (m: number): number => {
        const key = `m${m}`;
        const hit = memo.get(key);
        if (hit !== undefined) return hit;
        const slot = spills.get(m);
        let r: number;
        if (slot !== undefined && firstPhase.has(m) && firstPhase.get(m)! < p) {
          r = ins(body, C.fill, 0, vreg(computeType(nodes[m].dtype)), slot);
        } else {
          r = compute(m, edges.get(m)!.map(edgeValue), body, vreg);
          if (slot !== undefined) {
            firstPhase.set(m, p);
            ins(body, C.spill, 0, slot, r);
          }
        }
        (uses.get(m) ?? uses.set(m, new Set()).get(m)!).add(p);
        memo.set(key, r);
        return r;
      };
      // body: reductions of this phase, then the full outputs computed in it
      for (const m of reds) if (ph.get(m) === p) ins(body, C.reduce, 0, accOf.get(m)!, edgeValue(edges.get(m)![0]));
      for (const m of spec.outputs) if (!isRow(m) && ph.get(m) === p) ins(body, C.store, 0, -1, outIndex.get(m)!, value(m));
      // finish: reduction results, then row values that become available
      const rowValue = (e: Edge): number => {
        if (e.kind === 'const') {
          const key = `${e.src}`;
          let r = rowConst.get(key);
          if (r === undefined) {
            const n = nodes[e.src];
            r = ins(finish, C.const, DTYPE_CODE[n.dtype], newRow(computeType(n.dtype)), -1, -1, -1, constValue(nodes, e.src));
            rowConst.set(key, r);
          }
          return r;
        }
        return rowReg.get(e.src)!;
      };
      for (const m of reds) {
        if (ph.get(m) !== p) continue;
        const n = nodes[m];
        const logic = n.params.op === 'all' || n.params.op === 'any';
        let r = ins(finish, C.accget, 0, newRow(logic ? DTYPE_CODE.bool : accs[accOf.get(m)!][1]), accOf.get(m)!);
        if (is16(n.dtype)) r = ins(finish, C.cast, DTYPE_CODE[n.dtype], newRow(DTYPE_CODE.float32), r);
        rowReg.set(m, r);
      }
      for (const m of members) {
        if (roles.get(m) !== 'R' || avail.get(m) !== p + 1) continue;
        if (nodes[m].prim === Reshape) {
          rowReg.set(m, rowReg.get(edges.get(m)![0].src)!);
          continue;
        }
        rowReg.set(m, compute(m, edges.get(m)!.map(rowValue), finish, newRow));
      }
      if (p === nPhases - 1) for (const m of spec.outputs) if (isRow(m)) ins(finish, C.store, 0, -1, outIndex.get(m)!, rowReg.get(m)!);
      const reserved = new Set(blockConst.values());
      phases.push({ setup, body: allocate(setup, body, vtype, fixed, blockTypes, reserved), finish });
    }
    return { phases, blockTypes, rowTypes, init, spillTypes, uses };
  }

  /** Spill slots for E values computed in several phases that cost more than a reload. */
  function chooseSpills(uses: Map<number, Set<number>>, rowLength: number): Map<number, number> {
    const multi = [...uses.entries()].filter(([, ps]) => ps.size > 1).map(([m]) => m);
    const inside = (m: number, root: number): boolean => {
      // is m computed as part of root's value (within the group's E members)?
      const stack = [root];
      const seen = new Set<number>();
      while (stack.length) {
        const x = stack.pop()!;
        for (const e of edges.get(x)!) {
          if (e.kind !== 'member' || seen.has(e.src)) continue;
          if (e.src === m) return true;
          seen.add(e.src);
          stack.push(e.src);
        }
      }
      return false;
    };
    const cost = (root: number): number => {
      let c = 0;
      const stack = [root];
      const seen = new Set<number>([root]);
      while (stack.length) {
        const x = stack.pop()!;
        const n = nodes[x];
        c += n.prim === Unary && !CHEAP_UNARY.has(n.params.op as string) ? 8 : 1;
        for (const e of edges.get(x)!) if (e.kind === 'member' && !seen.has(e.src)) (seen.add(e.src), stack.push(e.src));
      }
      return c;
    };
    const chosen = multi.filter((m) => !multi.some((o) => o !== m && inside(m, o)) && cost(m) >= 3);
    const slots = new Map<number, number>();
    for (const m of chosen) {
      if ((slots.size + 1) * rowLength * 8 > SPILL_BUDGET_BYTES) break;
      slots.set(m, slots.size);
    }
    return slots;
  }

  function compute(m: number, xs: number[], list: Ins[], reg: (t: number) => number): number {
    const n = nodes[m];
    const t = computeType(n.dtype);
    const add = (code: number, op: number, dst: number, a = -1, b = -1, c = -1) => {
      list.push({ code, op, dst, a, b, c, imm: 0 });
      return dst;
    };
    let r: number;
    if (n.prim === Unary) r = add(C.unary, UnaryOps[n.params.op as string], reg(t), xs[0]);
    else if (n.prim === Binary) r = add(C.binary, BinaryOps[n.params.op as string], reg(t), xs[0], xs[1]);
    else if (n.prim === Where) return add(C.where, 0, reg(t), xs[0], xs[1], xs[2]);
    else if (n.prim === Copy) return add(C.cast, DTYPE_CODE[n.dtype], reg(t), xs[0]);
    else throw new Error(`[compile] internal: ${n.prim.name} in a fused program`);
    // a 16-bit float result is rounded as the eager kernel stores it
    if (is16(n.dtype)) r = add(C.cast, DTYPE_CODE[n.dtype], reg(DTYPE_CODE.float32), r);
    return r;
  }

  const words: number[] = [
    2,
    spec.reads.length,
    spec.outputs.length,
    spec.S.length,
    A.length,
    blockTypes.length,
    rowTypes.length,
    accs.length,
    nPhases,
    spillTypes.length,
    init.length,
  ];
  for (const r of spec.reads) words.push(DTYPE_CODE[nodes[r].dtype]);
  for (const o of spec.outputs) words.push(DTYPE_CODE[nodes[o].dtype]);
  for (const o of spec.outputs) words.push(isRow(o) ? 1 : 0);
  words.push(...blockTypes, ...rowTypes);
  for (const [op, t] of accs) words.push(op, t);
  words.push(...spillTypes);
  for (const i of init) words.push(i.code, i.op, i.dst, i.a, i.b, i.c, i.imm);
  for (const ph of phases) {
    words.push(ph.setup.length, ph.body.length, ph.finish.length);
    for (const list of [ph.setup, ph.body, ph.finish]) for (const i of list) words.push(i.code, i.op, i.dst, i.a, i.b, i.c, i.imm);
  }
  const ops = members.filter((m) => nodes[m].prim !== Reshape);
  const nOps = ops.length;
  const outDt = [...new Set(spec.outputs.map((o) => nodes[o].dtype))].join('/');
  // the region's ops in order, for KILN_DEBUG (reductions marked with Σ)
  const opNames = ops.map((m) => {
    const n = nodes[m];
    const name = n.prim === Copy ? `astype(${n.dtype})` : String(n.params.op ?? n.prim.name);
    return roles.get(m) === 'RED' ? `Σ${name}` : name;
  });
  const listed = opNames.length > 14 ? [...opNames.slice(0, 14), '…'] : opNames;
  const spills = spillTypes.length ? `, ${spillTypes.length} kept per row` : '';
  const label = A.length
    ? `fused reduce [${spec.S.join(', ')}] over axes [${A.join(', ')}]: ${reds.length} reductions, ${nOps} ops, ${nPhases} phase${nPhases > 1 ? 's' : ''}${spills}, ${spec.reads.length} in, ${spec.outputs.length} out ${outDt} {${listed.join(' ')}}`
    : `fused elementwise [${spec.S.join(', ')}]: ${nOps} ops, ${spec.reads.length} in, ${spec.outputs.length} out ${outDt} {${listed.join(' ')}}`;
  const handle = register(words);
  // the handle matches the `fused/<handle>` rows of the KILN_DEBUG=2 kernel-time table
  const tagged = `${label} #${handle}`;
  if (debugLevel() >= 4) console.error(`${tagged}\n${programText(words, init, phases)}`);
  return { handle, label: tagged, words };
}

/**
 * Maps a phase's virtual block registers to physical ones: `fixed` ones (constants) have theirs,
 * setup values live all phase, body values until their last use. `reserved` registers (every
 * constant's) are never handed out.
 */
function allocate(setup: Ins[], body: Ins[], vtype: number[], fixed: number[], phys: number[], reserved: Set<number>): Ins[] {
  const map = fixed.slice();
  const free = new Map<number, number[]>();
  // every other physical register is free at the start of a phase (earlier phases' values are dead)
  for (let r = phys.length - 1; r >= 0; r--) if (!reserved.has(r)) (free.get(phys[r]) ?? free.set(phys[r], []).get(phys[r])!).push(r);
  const take = (t: number): number => {
    const list = free.get(t);
    if (list && list.length) return list.pop()!;
    return phys.push(t) - 1;
  };
  for (const i of setup) map[i.dst] = take(vtype[i.dst]);
  const pinned = new Set(setup.map((i) => i.dst));
  for (let v = 0; v < fixed.length; v++) if (fixed[v] >= 0) pinned.add(v);
  const last = new Array<number>(vtype.length).fill(-1);
  const reads = (i: Ins): number[] => {
    switch (i.code) {
      case C.load:
      case C.const:
      case C.fill:
        return [];
      case C.store:
        return [i.b];
      case C.reduce:
      case C.spill:
        return [i.a];
      default:
        return [i.a, i.b, i.c].filter((x) => x >= 0);
    }
  };
  const writes = (i: Ins) => i.code !== C.store && i.code !== C.reduce && i.code !== C.spill;
  body.forEach((i, k) => {
    for (const r of reads(i)) last[r] = k;
  });
  const out: Ins[] = [];
  body.forEach((i, k) => {
    const rs = reads(i);
    const mapped = { ...i };
    if (i.code === C.store) mapped.b = map[i.b];
    else if (i.code === C.reduce || i.code === C.spill) mapped.a = map[i.a];
    else if (i.code !== C.load && i.code !== C.fill) {
      if (i.a >= 0) mapped.a = map[i.a];
      if (i.b >= 0) mapped.b = map[i.b];
      if (i.c >= 0) mapped.c = map[i.c];
    }
    for (const r of new Set(rs)) if (last[r] === k && !pinned.has(r)) (free.get(vtype[r]) ?? free.set(vtype[r], []).get(vtype[r])!).push(map[r]);
    if (writes(i)) mapped.dst = map[i.dst] = take(vtype[i.dst]);
    out.push(mapped);
  });
  for (const i of setup) i.dst = map[i.dst];
  return out;
}

/** The value a constant edge stands for (a Full reached through views). */
function constValue(nodes: IRNode[], id: number): number {
  let n = nodes[id];
  while (n.prim.view && n.inputs.length === 1) n = nodes[n.inputs[0]];
  return n.params.value as number;
}

function programText(words: number[], init: Ins[], phases: { setup: Ins[]; body: Ins[]; finish: Ins[] }[]): string {
  const show = (where: string, i: Ins) =>
    `  ${where}: ${CODE_NAMES[i.code]} op=${i.op} dst=${i.dst} a=${i.a} b=${i.b} c=${i.c}${i.code === C.const ? ` imm=${i.imm}` : ''}`;
  const lines = [`  header ${words.slice(0, 11).join(' ')}`, ...init.map((i) => show('init', i))];
  phases.forEach((ph, p) => {
    for (const [name, list] of [
      ['setup', ph.setup],
      ['body', ph.body],
      ['finish', ph.finish],
    ] as const)
      for (const i of list) lines.push(show(`phase ${p} ${name}`, i));
  });
  return lines.join('\n');
}
