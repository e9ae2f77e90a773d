// Fuzz tests (DESIGN.md §5): "random op sequences never crash: they give the reference answer or
// throw a clear Error". fast-check builds programs of 1..8 steps over a pool of arrays, with random
// and often invalid arguments; the call-level numpy model of tests/conformance/reference_calls.ts
// (built on the conformance suite's reference) says what each step must give. Every step must either match the reference (values for every dtype, with tolerances
// per dtype; elements the reference cannot pin down are skipped) or throw an Error whose message
// starts with "[op]". Every program runs inside kn.tidy and must leave no buffer behind.
// A second test feeds malformed command lists and buffer calls straight to the native addon in a
// child process, which must neither crash nor throw anything but Errors.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as kn from '../index.js';
import { mulberry32 } from './helpers/rng.js';
import { DTYPES, isFloat, isUnsigned, sizeOf } from './conformance/reference.js';
import {
  Invalid,
  MAXN,
  argmaxCall,
  astypeCall,
  big,
  binaryCall,
  broadcastRef,
  broadcastToCall,
  cast,
  close,
  expandDimsCall,
  matmulCall,
  permuteRef,
  reduceCall,
  refAsArray,
  reshapeCall,
  sliceCall,
  squeezeCall,
  tol,
  transposeCall,
  unaryCall,
  whereCall,
  type Operand as ModelOperand,
  type Outcome,
  type Ref,
} from './conformance/reference_calls.js';

type DType = Exclude<kn.DType, 'complex64'>; // the reference has no complex64

const SEED = 7_2024;
const NUM_RUNS = 300;
/** arrays the fuzz creates from data stay this small */
const MAX_INPUT = 256;

const fmt = (s: readonly unknown[]): string => `[${s.join(', ')}]`;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
/** A model operand that also holds the library's array. */
type Operand = ModelOperand & ({ kind: 'arr'; arr: kn.Array } | { kind: 'js' });

// ================================================================================================
// Programs: generators, interpretation against the pool, checks
// ================================================================================================

const BINARY = ['add', 'subtract', 'multiply', 'divide', 'maximum', 'less'] as const;
const UNARY = ['exp', 'log', 'negative', 'abs', 'sqrt'] as const;
const REDUCE = ['sum', 'max', 'mean'] as const;
type OpName =
  | (typeof BINARY)[number]
  | (typeof UNARY)[number]
  | (typeof REDUCE)[number]
  | 'where'
  | 'argmax'
  | 'reshape'
  | 'transpose'
  | 'slice'
  | 'broadcastTo'
  | 'expandDims'
  | 'squeeze'
  | 'astype'
  | 'matmul';

type Layout = 'c' | 'T' | 's2' | 'rev' | 'b' | 'off';
interface ArraySpec {
  shape: number[];
  dtype: DType;
  seed: number;
  layout: Layout;
  ones: number;
}
type Src =
  { t: 'pool'; i: number } | { t: 'js'; v: unknown } | { t: 'fresh'; dtype: DType; seed: number; layout: Layout; drop: number; ones: number; extra: number };
interface Step {
  op: OpName;
  x: Src;
  y: Src;
  z: Src;
  arg: unknown;
  arg2: unknown;
  method: boolean;
}
type Mode = 'eager' | 'lazy' | 'lazyLast';
interface Program {
  inputs: ArraySpec[];
  steps: Step[];
  mode: Mode;
}

// ---- data ---------------------------------------------------------------------------------------

const SPECIAL_F = [NaN, Infinity, -Infinity, -0, 0.5, 1e-3, 300, 1e5, 2.5, -2.5, 65504, 1e-8];
const EXTREMES: Record<string, number[]> = {
  uint8: [0, 255, 254],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  uint64: [0, 2 ** 53 - 1, 2 ** 40],
  int8: [-128, 127, -127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  int64: [-(2 ** 53 - 1), 2 ** 53 - 1, -(2 ** 40)],
};
function genValue(r: () => number, dt: DType): number {
  const u = r();
  if (dt === 'bool') return u < 0.5 ? 0 : 1;
  if (isFloat(dt)) {
    if (u < 0.4) return Math.floor(r() * 11) - 5;
    if (u < 0.85) return Math.fround(r() * 20 - 10);
    return SPECIAL_F[Math.floor(r() * SPECIAL_F.length)];
  }
  if (u < 0.7) return isUnsigned(dt) ? Math.floor(r() * 11) : Math.floor(r() * 11) - 5;
  if (u < 0.9) return cast(isUnsigned(dt) ? Math.floor(r() * 201) : Math.floor(r() * 201) - 100, dt)!;
  const ex = EXTREMES[dt];
  return ex[Math.floor(r() * ex.length)];
}

function nest(data: readonly number[], shape: readonly number[]): unknown {
  if (shape.length === 0) return data[0];
  let pos = 0;
  const build = (d: number): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? data[pos++] : build(d + 1));
    return out;
  };
  return build(0);
}

interface Entry {
  arr: kn.Array;
  ref: Ref;
}

/** An array with the given logical values in one of several memory layouts. */
function makeArray(spec: ArraySpec): Entry {
  const { shape, dtype, layout } = spec;
  const r = mulberry32(spec.seed);
  const nd = shape.length;
  const base = layout === 'b' ? shape.map((d, i) => ((spec.ones >> i) & 1 ? 1 : d)) : shape;
  const vals = range(sizeOf(base)).map(() => cast(genValue(r, dtype), dtype)!);
  let ref: Ref = { shape: base, dtype, data: vals, err: vals.map(() => 0) };
  const build = (x: Ref) => (x.shape.length === 0 ? kn.array(x.data![0], dtype) : kn.array(nest(x.data!, x.shape) as number[], dtype));
  if (sizeOf(shape) === 0) return { arr: kn.zeros(shape, dtype), ref: { shape, dtype, data: [], err: [] } };
  const filler = (n: number) => ({ shape: [n], dtype, data: range(n).map(() => cast(7, dtype)!), err: [] as number[] });
  const rowLen = sizeOf(shape.slice(1));
  switch (nd === 0 ? 'c' : nd < 2 && layout === 'T' ? 'c' : layout) {
    case 'T': {
      const phys = permuteRef(ref, range(nd).reverse());
      return { arr: build(phys).T, ref };
    }
    case 's2': {
      const data: number[] = [];
      for (let i = 0; i < shape[0]; i++) data.push(...vals.slice(i * rowLen, (i + 1) * rowLen), ...filler(rowLen).data);
      return { arr: build({ ...ref, shape: [2 * shape[0], ...shape.slice(1)], data }).slice([{ step: 2 }]), ref };
    }
    case 'rev': {
      const data: number[] = [];
      for (let i = shape[0] - 1; i >= 0; i--) data.push(...vals.slice(i * rowLen, (i + 1) * rowLen));
      return { arr: build({ ...ref, data }).slice([{ step: -1 }]), ref };
    }
    case 'off': {
      const data = [...filler(rowLen).data, ...vals];
      return { arr: build({ ...ref, shape: [shape[0] + 1, ...shape.slice(1)], data }).slice([{ start: 1 }]), ref };
    }
    case 'b': {
      const arr = kn.broadcastTo(build(ref), shape);
      ref = broadcastRef(ref, shape);
      return { arr, ref };
    }
    default:
      return { arr: build(ref), ref };
  }
}

// ---- generators ---------------------------------------------------------------------------------
// Two flavours: `clean` programs pass only well-typed arguments (JS data, scalars, integers —
// still often out of range, repeated, mismatched or the wrong size), so they mostly test values;
// `chaos` programs also pass JS garbage (strings, undefined, null, objects, symbols, functions).

const dtypeArb = fc.constantFrom(...DTYPES);
const layoutArb = fc.constantFrom<Layout>('c', 'c', 'T', 's2', 'rev', 'b', 'off');
const dimArb = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constant(0) });
const inputShapeArb = fc.array(dimArb, { maxLength: 4 }).filter((s) => sizeOf(s) <= MAX_INPUT);
const arraySpecArb: fc.Arbitrary<ArraySpec> = fc.record({
  shape: inputShapeArb,
  dtype: dtypeArb,
  seed: fc.nat(),
  layout: layoutArb,
  ones: fc.nat({ max: 15 }),
});

const scalarArb = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ min: -10, max: 10, noNaN: true }),
  fc.constantFrom<unknown>(NaN, Infinity, -Infinity, -0, 0.5, 2.5, 300, -129, 70000, 2 ** 31, 2 ** 53, true, false, 3n, -2n),
);
const listArb = fc.constantFrom<unknown>(
  [1, 2, 3],
  [[1.5], [2.5]],
  [true, false, true],
  [],
  [[1, 2], [3]],
  [[[]]],
  [1n, 2n],
  [NaN, 1],
  [
    [1, 2, 3],
    [4, 5, 6],
  ],
  new Float64Array([1.5, -2]),
  new Int8Array([-1, 2, 3]),
  new kn.Float16Array([0.5, 2]),
  [[1], [2]],
);
const garbageArb = fc.constantFrom<unknown>(
  'abc',
  'float32',
  '',
  undefined,
  null,
  {},
  { shape: [2] },
  () => 1,
  Symbol('s'),
  new Map(),
  new DataView(new ArrayBuffer(4)),
  [undefined],
  [{}],
  ['a'],
  [null],
);
const smallInt = fc.integer({ min: -5, max: 5 });
const jsArb = (a: fc.Arbitrary<unknown>): fc.Arbitrary<Src> => a.map((v) => ({ t: 'js', v }));
const poolArb: fc.Arbitrary<Src> = fc
  .oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat({ max: 7 }) })
  .map((i) => ({ t: 'pool', i }));
const freshArb: fc.Arbitrary<Src> = fc.record({
  t: fc.constant('fresh' as const),
  dtype: dtypeArb,
  seed: fc.nat(),
  layout: layoutArb,
  drop: fc.nat({ max: 4 }),
  ones: fc.nat({ max: 31 }),
  extra: fc.nat({ max: 11 }),
});
const boundArb = fc.oneof(fc.constant(null), fc.integer({ min: -7, max: 7 }), fc.constantFrom(-1e9, 1e9, 2 ** 53 - 1, -(2 ** 53 - 1)));
const sliceStepArb = fc.oneof(
  fc.constant(null),
  fc.integer({ min: -3, max: 3 }).filter((s) => s !== 0),
  fc.constantFrom(1e9, -1e9),
);

function programArbitrary(chaos: boolean): fc.Arbitrary<Program> {
  /** clean arbitrary, plus (in chaos programs) some garbage */
  const dirty = <T>(clean: fc.Arbitrary<T>, garbage: fc.Arbitrary<unknown>, weight = 1): fc.Arbitrary<unknown> =>
    chaos ? fc.oneof({ weight: 6, arbitrary: clean }, { weight, arbitrary: garbage }) : clean;

  const primaryArb = fc.oneof(
    { weight: 14, arbitrary: poolArb },
    { weight: 1, arbitrary: jsArb(scalarArb) },
    { weight: 1, arbitrary: jsArb(listArb) },
    ...(chaos ? [{ weight: 2, arbitrary: jsArb(garbageArb) }] : []),
  );
  const partnerArb = fc.oneof(
    { weight: 5, arbitrary: poolArb },
    { weight: 6, arbitrary: freshArb },
    { weight: 3, arbitrary: jsArb(scalarArb) },
    { weight: 1, arbitrary: jsArb(listArb) },
    ...(chaos ? [{ weight: 2, arbitrary: jsArb(garbageArb) }] : []),
  );
  const rawDim = dirty(fc.integer({ min: 0, max: 5 }), fc.constantFrom<unknown>(1.5, NaN, Infinity, '2', null, Symbol('d')));
  const rawShapeArb = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.array(fc.oneof({ weight: 8, arbitrary: rawDim }, { weight: 1, arbitrary: fc.constantFrom(-1, -2, 2 ** 31) }), { maxLength: 5 }),
    },
    { weight: 1, arbitrary: fc.integer({ min: -2, max: 8 }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>([-1, -1], Array(33).fill(1), [2 ** 53, 2 ** 53], [0, -1], [-1]) },
    ...(chaos ? [{ weight: 1, arbitrary: garbageArb }] : []),
  );
  const axisGarbage = fc.constantFrom<unknown>('x', 1.5, NaN, true, Infinity, [0.5], [null], () => 0, {});
  const reduceAxisArb = dirty(
    fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom<unknown>(undefined, null) },
      { weight: 3, arbitrary: smallInt },
      { weight: 3, arbitrary: fc.array(smallInt, { maxLength: 4 }) },
      {
        weight: 2,
        arbitrary: fc.record(
          {
            axis: fc.oneof(fc.constant(undefined), smallInt, fc.array(smallInt, { maxLength: 3 })),
            keepdims: fc.constantFrom<unknown>(undefined, true, false),
          },
          { requiredKeys: [] },
        ),
      },
    ),
    fc.oneof(axisGarbage, fc.record({ axis: smallInt, keepdims: fc.constantFrom<unknown>('yes', 1, null) })),
  );
  const optsArb = dirty(
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 3, arbitrary: fc.record({ keepdims: fc.constantFrom<unknown>(true, false, undefined) }) },
    ),
    fc.constantFrom<unknown>({ keepdims: 'yes' }, { keepdims: 1 }),
  );
  const argmaxAxisArb = dirty(
    fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom<unknown>(undefined, null) },
      { weight: 4, arbitrary: smallInt },
      {
        weight: 1,
        arbitrary: fc.record(
          { axis: fc.oneof(fc.constant(undefined), fc.constant(null), smallInt), keepdims: fc.constantFrom<unknown>(undefined, true, false) },
          { requiredKeys: [] },
        ),
      },
    ),
    fc.oneof(axisGarbage, fc.constantFrom<unknown>([0], [], [1, 0])),
  );
  const reshapeArgArb = fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('factor'), picks: fc.array(fc.nat(), { maxLength: 4 }), minusOne: fc.integer({ min: -3, max: 5 }) }) },
    { weight: 2, arbitrary: rawShapeArb.map((v) => ({ t: 'raw', v })) },
  );
  const permArgArb = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('perm'),
        keys: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
        neg: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ t: 'none' }) },
    { weight: 2, arbitrary: dirty(fc.array(smallInt, { maxLength: 5 }), fc.oneof(garbageArb, fc.constant(null))).map((v) => ({ t: 'raw', v })) },
  );
  const specArb = dirty(
    fc.oneof(
      { weight: 8, arbitrary: fc.record({ start: boundArb, stop: boundArb, step: sliceStepArb }, { requiredKeys: [] }) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, { step: 0 }) },
    ),
    fc.constantFrom<unknown>({ start: 1.5 }, { stop: 'x' }, { step: NaN }, { start: Infinity }, { step: 0.5 }, 5, 'a', true, [1, 2]),
  );
  const sliceArgArb = dirty(fc.array(specArb, { maxLength: 5 }), fc.constantFrom<unknown>(5, 'abc', undefined, null, {}));
  const broadcastArgArb = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('grow'),
        lead: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
        expand: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 8, maxLength: 8 }),
        mutate: fc.integer({ min: -4, max: 5 }),
      }),
    },
    { weight: 2, arbitrary: rawShapeArb.map((v) => ({ t: 'raw', v })) },
  );
  const expandArgArb = dirty(fc.oneof(smallInt, fc.array(smallInt, { maxLength: 3 })), fc.constantFrom<unknown>(undefined, null, 'x', 1.5, [1.5], {}));
  const squeezeArgArb = fc.oneof(
    { weight: 2, arbitrary: fc.constant({ t: 'none' }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('ones'), neg: fc.boolean() }) },
    {
      weight: 2,
      arbitrary: dirty(fc.oneof(smallInt, fc.array(smallInt, { maxLength: 3 })), fc.constantFrom<unknown>(null, 'x', 1.5, {})).map((v) => ({ t: 'raw', v })),
    },
  );
  const astypeArgArb = dirty(dtypeArb, fc.constantFrom<unknown>('float', 'int', 'Float32', 'complex128', '', undefined, null, 5, { dtype: 'int32' }));

  const stepOf = (op: OpName, arg: fc.Arbitrary<unknown> = fc.constant(undefined), arg2: fc.Arbitrary<unknown> = fc.constant(undefined)): fc.Arbitrary<Step> =>
    fc.record({ op: fc.constant(op), x: primaryArb, y: partnerArb, z: partnerArb, arg, arg2, method: fc.boolean() });
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    ...BINARY.map((op) => ({ weight: 3, arbitrary: stepOf(op) })),
    { weight: 3, arbitrary: stepOf('where') },
    ...UNARY.map((op) => ({ weight: 2, arbitrary: stepOf(op) })),
    ...REDUCE.map((op) => ({ weight: 3, arbitrary: stepOf(op, reduceAxisArb, optsArb) })),
    { weight: 3, arbitrary: stepOf('argmax', argmaxAxisArb, optsArb) },
    { weight: 4, arbitrary: stepOf('reshape', reshapeArgArb) },
    { weight: 4, arbitrary: stepOf('transpose', permArgArb) },
    { weight: 4, arbitrary: stepOf('slice', sliceArgArb) },
    { weight: 4, arbitrary: stepOf('broadcastTo', broadcastArgArb) },
    { weight: 3, arbitrary: stepOf('expandDims', expandArgArb) },
    { weight: 3, arbitrary: stepOf('squeeze', squeezeArgArb) },
    { weight: 4, arbitrary: stepOf('astype', astypeArgArb) },
    { weight: 4, arbitrary: stepOf('matmul') },
  );
  return fc.record({
    inputs: fc.array(arraySpecArb, { minLength: 1, maxLength: 3 }),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }),
    mode: fc.constantFrom<Mode>('eager', 'eager', 'lazy', 'lazyLast'),
  });
}

// ---- interpretation ------------------------------------------------------------------------------

function shapeOf(o: Operand): number[] | null {
  if (o.kind === 'arr') return o.ref.shape;
  try {
    return refAsArray(o).shape;
  } catch {
    return null;
  }
}

function resolveSrc(src: Src, pool: Entry[], rel: number[] | null, forMatmul: boolean): Operand {
  if (src.t === 'pool') {
    const e = pool[pool.length - 1 - (src.i % pool.length)];
    return { kind: 'arr', arr: e.arr, ref: e.ref };
  }
  if (src.t === 'js') return { kind: 'js', v: src.v };
  // a fresh array whose shape fits the primary operand (broadcast-compatible, or a matmul partner)
  const r = rel ?? [1 + (src.extra % 3)];
  const derive = (s: number[]) => s.slice(src.drop % (s.length + 1)).map((d, i) => ((src.ones >> i) & 1 ? 1 : d));
  let shape: number[];
  if (forMatmul) {
    const k = r.length ? r[r.length - 1] : 1 + (src.extra % 3);
    shape = src.extra % 4 === 0 ? [k] : [...derive(r.slice(0, -2)), k, src.extra % 4];
  } else shape = derive(r);
  if (sizeOf(shape) > MAX_INPUT) shape = [1];
  const e = makeArray({ shape, dtype: src.dtype, seed: src.seed, layout: src.layout, ones: src.ones >> 2 });
  pool.push(e);
  return { kind: 'arr', arr: e.arr, ref: e.ref };
}

/** The concrete argument of a step, built for the primary operand's shape. */
function resolveArg(step: Step, shape: number[] | null): unknown {
  const a = step.arg as { t?: string; [k: string]: unknown } | undefined;
  const nd = shape?.length ?? 0;
  switch (step.op) {
    case 'reshape': {
      if (a!.t === 'raw') return a!.v;
      const n = shape ? sizeOf(shape) : 1;
      const picks = a!.picks as number[];
      if (n === 0) return [...picks.map((p) => (p % 3) + 1), 0];
      const out: number[] = [];
      let rest = n;
      for (const p of picks) {
        const divs = range(rest)
          .map((i) => i + 1)
          .filter((d) => rest % d === 0);
        const d = divs[p % divs.length];
        out.push(d);
        rest /= d;
      }
      out.push(rest);
      const m = a!.minusOne as number;
      if (m >= 0) out[m % out.length] = -1;
      return out;
    }
    case 'transpose': {
      if (a!.t === 'none') return undefined;
      if (a!.t === 'raw') return a!.v;
      const keys = a!.keys as number[],
        neg = a!.neg as boolean[];
      return range(nd)
        .sort((p, q) => keys[p] - keys[q] || p - q)
        .map((p, i) => (neg[i] ? p - nd : p));
    }
    case 'broadcastTo': {
      if (a!.t === 'raw') return a!.v;
      const s = shape ?? [];
      const target = [...(a!.lead as number[]), ...s.map((d, i) => (d === 1 ? (a!.expand as number[])[i] : d))];
      const m = a!.mutate as number;
      if (m >= 0 && target.length) target[m % target.length] = (target[m % target.length] + 1) % 5;
      return target;
    }
    case 'squeeze': {
      if (a!.t === 'none') return undefined;
      if (a!.t === 'raw') return a!.v;
      return range(nd)
        .filter((i) => shape![i] === 1)
        .map((i) => (a!.neg ? i - nd : i));
    }
    default:
      return step.arg;
  }
}

const K = kn as unknown as Record<string, (...args: unknown[]) => unknown>;
const methods = (x: kn.Array) => x as unknown as Record<string, (...args: unknown[]) => unknown>;
/** Calls trimmed of trailing undefined arguments (as a user would write them). */
const trim = (args: unknown[]): unknown[] => {
  const out = args.slice();
  while (out.length && out[out.length - 1] === undefined) out.pop();
  return out;
};

function callLibrary(step: Step, X: Operand, Y: Operand, Z: Operand, arg: unknown): unknown {
  const val = (o: Operand) => (o.kind === 'arr' ? o.arr : o.v);
  const m = step.method && X.kind === 'arr' ? methods(X.arr) : null;
  const op = step.op;
  switch (op) {
    case 'where':
      return kn.where(val(X) as kn.Array, val(Y) as kn.Array, val(Z) as kn.Array);
    case 'add':
    case 'subtract':
    case 'multiply':
    case 'divide':
    case 'maximum':
    case 'less':
    case 'matmul':
      return m ? m[op](val(Y)) : K[op](val(X), val(Y));
    case 'exp':
    case 'log':
    case 'negative':
    case 'abs':
    case 'sqrt':
      return m ? m[op]() : K[op](val(X));
    case 'sum':
    case 'max':
    case 'mean':
    case 'argmax': {
      const rest = trim([arg, step.arg2]);
      return m ? m[op](...rest) : K[op](val(X), ...rest);
    }
    case 'transpose':
      if (arg === undefined) return m ? (X as { arr: kn.Array }).arr.T : kn.transpose(val(X) as kn.Array);
      return m ? m.transpose(arg) : K.transpose(val(X), arg);
    case 'squeeze':
      return m ? m.squeeze(...trim([arg])) : K.squeeze(val(X), ...trim([arg]));
    default:
      return m ? m[op](arg) : K[op](val(X), arg);
  }
}

function reference(step: Step, X: Operand, Y: Operand, Z: Operand, arg: unknown): Outcome {
  const op = step.op;
  const method = step.method && X.kind === 'arr';
  switch (op) {
    case 'add':
    case 'subtract':
    case 'multiply':
    case 'divide':
    case 'maximum':
    case 'less':
      return { ref: binaryCall(op, X, Y) };
    case 'where':
      return { ref: whereCall(X, Y, Z) };
    case 'exp':
    case 'log':
    case 'negative':
    case 'abs':
    case 'sqrt':
      return { ref: unaryCall(op, X) };
    case 'sum':
    case 'max':
    case 'mean':
      return reduceCall(op, X, arg, step.arg2);
    case 'argmax':
      return argmaxCall(X, arg, step.arg2);
    case 'reshape':
      return { ref: reshapeCall(X, arg, method) };
    case 'transpose':
      return transposeCall(X, arg, method);
    case 'slice':
      return { ref: sliceCall(X, arg) };
    case 'broadcastTo':
      return { ref: broadcastToCall(X, arg) };
    case 'expandDims':
      return { ref: expandDimsCall(X, arg) };
    case 'squeeze':
      return { ref: squeezeCall(X, arg) };
    case 'astype':
      return { ref: astypeCall(X, arg) };
    case 'matmul':
      return { ref: matmulCall(X, Y) };
  }
}

// ---- checking ------------------------------------------------------------------------------------

function show(v: unknown, depth = 0): string {
  if (v instanceof kn.Array) return v.disposed ? 'array(<disposed>)' : `array(${fmt(v.shape)}, ${v.dtype})`;
  if (typeof v === 'symbol') return v.toString();
  if (typeof v === 'function') return 'function';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined || v === null || typeof v === 'boolean') return String(v);
  if ((ArrayBuffer.isView(v) && !(v instanceof DataView)) || v instanceof kn.Float16Array)
    return `${(v as object).constructor.name}[${Array.from(v as unknown as ArrayLike<unknown>, (x) => show(x)).join(', ')}]`;
  if (depth > 3) return '…';
  if (Array.isArray(v)) return `[${v.map((x) => show(x, depth + 1)).join(', ')}]`;
  if (v instanceof Map) return 'Map{}';
  if (v instanceof DataView) return 'DataView';
  return `{${Object.entries(v as object)
    .map(([k, x]) => `${k}: ${show(x, depth + 1)}`)
    .join(', ')}}`;
}
function showOperand(o: Operand, pool: Entry[]): string {
  if (o.kind === 'js') return show(o.v);
  const k = pool.findIndex((e) => e.arr === o.arr);
  const vals = o.ref.data && o.ref.data.length <= 24 ? ` = ${show(nest(o.ref.data, o.ref.shape))}` : '';
  return `#${k}:${o.ref.dtype}${fmt(o.ref.shape)}${vals}`;
}

class Failure extends Error {}

/** How much the fuzz exercised, so a generator that drifts into rejecting everything is noticed. */
const stats = { steps: 0, returned: 0, rejected: 0, evaluated: 0, elements: 0, skipped: 0 };

/** Nested list from tolist() → flat numbers, checking the nesting against the shape. */
function flatten(list: unknown, shape: number[], dtype: DType): number[] {
  const out: number[] = [];
  const walk = (x: unknown, d: number) => {
    if (d === shape.length) {
      const want = dtype === 'bool' ? 'boolean' : 'number';
      if (typeof x !== want) throw new Failure(`tolist() gave a ${typeof x} element for a ${dtype} array`);
      out.push(typeof x === 'boolean' ? (x ? 1 : 0) : (x as number));
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d]) throw new Failure(`tolist() nesting does not match shape ${fmt(shape)}`);
    for (const y of x) walk(y, d + 1);
  };
  walk(list, 0);
  return out;
}

/** Reads an array, compares it with its reference, and (adopt) makes the reference exact. */
function checkValues(e: Entry, where: string, adopt: boolean): void {
  const { arr, ref } = e;
  let list: unknown, typed: ArrayLike<number | bigint>;
  try {
    list = arr.tolist();
    typed = arr.toTypedArray() as ArrayLike<number | bigint>;
  } catch (err) {
    throw new Failure(`${where} => evaluating the result threw ${(err as Error)?.message ?? String(err)}`);
  }
  const got = flatten(list, ref.shape, ref.dtype);
  const exact = Array.from(typed, (b) => (typeof b === 'bigint' ? (Number.isSafeInteger(Number(b)) ? Number(b) : null) : null));
  stats.evaluated++;
  if (!ref.data) stats.skipped += got.length;
  if (ref.data) {
    for (let i = 0; i < got.length; i++) {
      if (!Number.isFinite(ref.err![i])) {
        stats.skipped++;
        continue;
      }
      stats.elements++;
      if (!close(got[i], ref.data[i], ref.err![i], ref.dtype)) {
        throw new Failure(
          `${where} => wrong value at flat index ${i} of ${ref.dtype}${fmt(ref.shape)}: got ${show(got[i])}, expected ${show(ref.data[i])}` +
            ` (tolerance ${tol(ref.data[i], ref.err![i], ref.dtype)})\n  got      ${show(got)}\n  expected ${show(ref.data)}`,
        );
      }
    }
  }
  if (adopt) {
    const big64 = ref.dtype === 'int64' || ref.dtype === 'uint64';
    ref.data = big64 ? exact.map((v) => v ?? 0) : got;
    ref.err = big64 ? exact.map((v) => (v === null ? Infinity : 0)) : got.map(() => 0);
  }
}

function runStep(step: Step, pool: Entry[], mode: Mode, log: string[]): void {
  const X = resolveSrc(step.x, pool, null, false);
  const rel = shapeOf(X);
  const needsY = (BINARY as readonly string[]).includes(step.op) || step.op === 'where' || step.op === 'matmul';
  const Y: Operand = needsY ? resolveSrc(step.y, pool, rel, step.op === 'matmul') : { kind: 'js', v: undefined };
  const Z: Operand = step.op === 'where' ? resolveSrc(step.z, pool, rel, false) : { kind: 'js', v: undefined };
  const arg = resolveArg(step, rel);
  const method = step.method && X.kind === 'arr';
  const argsShown = [showOperand(X, pool), ...(needsY ? [showOperand(Y, pool)] : []), ...(step.op === 'where' ? [showOperand(Z, pool)] : [])];
  if (!needsY && arg !== undefined) argsShown.push(show(arg));
  if (step.arg2 !== undefined) argsShown.push(show(step.arg2));
  const desc = method ? `#x.${step.op}(${argsShown.slice(1).join(', ')}) with #x = ${argsShown[0]}` : `kn.${step.op}(${argsShown.join(', ')})`;
  log.push(desc);
  const where = `step ${log.length} ${desc}`;
  stats.steps++;

  let expected: Outcome | Invalid;
  try {
    expected = reference(step, X, Y, Z, arg);
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    expected = e;
  }
  let out: unknown,
    thrown: unknown,
    didThrow = false;
  try {
    out = callLibrary(step, X, Y, Z, arg);
  } catch (e) {
    thrown = e;
    didThrow = true;
  }
  if (didThrow) {
    if (!(thrown instanceof Error)) throw new Failure(`${where} => threw a non-Error ${show(thrown)}`);
    if (!thrown.message.startsWith(`[${step.op}]`))
      throw new Failure(
        `${where} => error message does not start with [${step.op}]: ${thrown.constructor.name}: ${thrown.message}\n${thrown.stack?.split('\n').slice(1, 4).join('\n')}`,
      );
    if (!(expected instanceof Invalid) && !expected.lenient)
      throw new Failure(`${where} => threw for a valid call: ${thrown.message} (expected ${expected.ref.dtype}${fmt(expected.ref.shape)})`);
    stats.rejected++;
    return;
  }
  if (expected instanceof Invalid) throw new Failure(`${where} => accepted an invalid call (${expected.why}) and returned ${show(out)}`);
  if (!(out instanceof kn.Array)) throw new Failure(`${where} => returned ${show(out)}, not an array`);
  const ref = expected.ref;
  if (fmt(out.shape) !== fmt(ref.shape) || out.dtype !== ref.dtype)
    throw new Failure(`${where} => returned ${out.dtype}${fmt(out.shape)}, expected ${ref.dtype}${fmt(ref.shape)}`);
  stats.returned++;
  if (big(ref.shape)) return; // shape and dtype only; never evaluated
  const e: Entry = { arr: out, ref: { ...ref } };
  pool.push(e);
  if (mode === 'eager') checkValues(e, where, true);
}

function runProgram(p: Program): void {
  const pool: Entry[] = [];
  const log: string[] = [];
  for (const spec of p.inputs) {
    const e = makeArray(spec);
    pool.push(e);
    checkValues(e, `input ${show(spec)}`, true);
  }
  try {
    for (const step of p.steps) {
      runStep(step, pool, p.mode, log);
    }
    if (p.mode !== 'eager') {
      try {
        if (p.mode === 'lazy') kn.eval(...pool.map((e) => e.arr));
        else for (const e of [...pool].reverse()) e.arr.eval();
      } catch (err) {
        throw new Failure(`evaluating the program (${p.mode}) threw ${(err as Error)?.message ?? String(err)}`);
      }
      pool.forEach((e, i) => checkValues(e, `pool entry #${i} (${p.mode} evaluation)`, false));
    }
  } catch (err) {
    if (err instanceof Failure) err.message += `\nprogram (${p.mode}):\n  ${log.join('\n  ')}`;
    throw err;
  }
}

// ================================================================================================
// Tests
// ================================================================================================

describe('random op sequences never crash', () => {
  let startBuffers = 0;
  beforeAll(() => {
    // a safety net: a runaway allocation must become an Error, not swap the machine to death
    kn.memory.setLimit(256 * 2 ** 20);
    startBuffers = kn.memory.buffers();
  });
  afterAll(() => {
    kn.memory.setLimit(0);
  });

  const runPrograms = (chaos: boolean, seed: number) =>
    fc.assert(
      fc.property(programArbitrary(chaos), (p) => {
        const before = kn.memory.buffers(),
          active = kn.memory.active();
        try {
          kn.tidy(() => {
            runProgram(p);
            return undefined;
          });
        } finally {
          // every array a program created is tidied away, failing or not
          const after = kn.memory.buffers();
          if (after !== before || kn.memory.active() !== active)
            throw new Failure(`buffers ${before} -> ${after}, active bytes ${active} -> ${kn.memory.active()} after kn.tidy`);
        }
      }),
      { seed, numRuns: NUM_RUNS },
    );

  it(`${NUM_RUNS} programs with well-typed (often invalid) arguments give the reference values or an [op] Error`, () => {
    Object.assign(stats, { steps: 0, returned: 0, rejected: 0, evaluated: 0, elements: 0, skipped: 0 });
    runPrograms(false, SEED);
    // the generator must keep producing mostly runnable programs, with values to compare
    expect(stats.returned).toBeGreaterThan(0.5 * stats.steps);
    expect(stats.rejected).toBeGreaterThan(0.1 * stats.steps);
    expect(stats.elements).toBeGreaterThan(5_000);
    expect(stats.skipped).toBeLessThan(0.1 * stats.elements);
  });

  it(`${NUM_RUNS} programs with JS garbage arguments (strings, undefined, null, objects, symbols) still give the reference or an [op] Error`, () => {
    runPrograms(true, SEED + 1);
  });

  it('leaves the buffer count where it started once every array is disposed', () => {
    expect(kn.memory.buffers()).toBe(startBuffers);
  });
});

// ---- the native addon, fed garbage directly, in a child process ------------------------------------

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const NATIVE = pathToFileURL(join(ROOT, 'backends', 'native.ts')).href;
const RNG = pathToFileURL(join(ROOT, 'tests', 'helpers', 'rng.ts')).href;

/** The child: random calls into the addon; every call must return or throw an Error. */
function childScript(kind: string, seed: number, iterations: number): string {
  return `
import { writeSync } from 'node:fs';
const { native } = await import(${JSON.stringify(NATIVE)});
const KIND = ${JSON.stringify(kind)}, N = ${iterations};
const { mulberry32 } = await import(${JSON.stringify(RNG)});
const r = mulberry32(${seed});
const ri = (n) => Math.floor(r() * n);
const pick = (a) => a[ri(a.length)];
// stdout is a non-blocking pipe that the parent drains slowly on a busy machine: retry EAGAIN, finish partial writes
const say = (m) => {
  const b = Buffer.from(m.length > 600 ? m.slice(0, 600) + '…\\n' : m + '\\n');
  for (let off = 0; off < b.length; ) {
    try { off += writeSync(1, b, off); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
  }
};
const show = (v) => typeof v === 'bigint' ? v + 'n' : ArrayBuffer.isView(v) ? v.constructor.name + '(' + v.length + ')[' + Array.from(v).slice(0, 80).join(',') + ']' : typeof v === 'string' ? JSON.stringify(v) : String(v);
const LIMIT = 256 * 2 ** 20;
native.setLimit(LIMIT);
const info = native.info();
const K = info.kernels, NK = Object.keys(K).length;
const NU = Object.keys(info.unaryOps).length, NB = Object.keys(info.binaryOps).length, NR = Object.keys(info.reduceOps).length;
const WEIRD = [0, -0, 1, 2, 3, -1, -2, 0.5, 1.5, NaN, Infinity, -Infinity, 7, 12, 13, 31, 32, 33, 63, 64, 65, 255,
  2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 1e300, -1e300, -(2 ** 53),
  Number.MAX_VALUE, Number.MIN_VALUE];
const live = [], dead = [], size = new Map();
function alloc(n) {
  const id = native.alloc(n);
  live.push(id); size.set(id, n);
  if (n > 0 && n <= 65536) { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = ri(256); native.write(id, 0, b); }
  return id;
}
for (let i = 0; i < 24; i++) alloc(pick([4096, 4096, 4096, 512, 64, 8, 1, 0]));
const anyId = () => pick([...live, ...live, ...dead, 0, -1, 2 ** 32, 2 ** 32 - 1, NaN, 1.5, 999999]);
const bigBuf = () => pick(live.filter((id) => size.get(id) >= 4096)) ?? alloc(4096);
let calls = 0, ok = 0, threw = 0;
const pending = [];
function bad(m) { say('FAIL ' + m); process.exit(3); }
function attempt(desc, f) {
  calls++; say(desc);
  let v;
  try { v = f(); } catch (e) { if (!(e instanceof Error)) bad('non-Error thrown: ' + show(e)); threw++; return; }
  if (v instanceof Promise) pending.push(v.then(() => { ok++; }, (e) => { if (!(e instanceof Error)) bad('non-Error rejection: ' + show(e)); threw++; }));
  else ok++;
}
const contiguous = (shape) => { const st = []; let acc = 1; for (let d = shape.length - 1; d >= 0; d--) { st[d] = acc; acc *= shape[d]; } return st; };
const opnd = (shape, dtype, id = bigBuf()) => {
  const u = r();
  // contiguous, or reversed / broadcast strides that stay inside the buffer
  let st = contiguous(shape), off = 0;
  if (u < 0.2 && shape.length) { const d = ri(shape.length); st[d] = 0; }
  else if (u < 0.35 && shape.length) { const d = ri(shape.length); off = (shape[d] - 1) * st[d]; st[d] = -st[d]; }
  return [id, dtype, off, shape.length, ...shape, ...st];
};
const randShape = (nd) => Array.from({ length: nd }, () => 1 + ri(4));
const dt = () => ri(13);
function plausible() {
  const name = pick(Object.keys(K));
  const shape = randShape(ri(4));
  switch (name) {
    case 'free': return [K.free, 1, pick([...live, ...dead]), 0];
    case 'copy': return [K.copy, 0, 2, ...opnd(shape, dt()), ...opnd(shape, dt())];
    case 'fill': return [K.fill, 1, pick(WEIRD), 1, ...opnd(shape, dt())];
    case 'arange': return [K.arange, 2, pick(WEIRD), pick(WEIRD), 1, ...opnd([ri(9)], dt())];
    case 'unary': { const d = dt(); return [K.unary, 1, ri(NU + 2), 2, ...opnd(shape, d), ...opnd(shape, r() < 0.7 ? d : dt())]; }
    case 'binary': { const d = dt(); return [K.binary, 1, ri(NB + 2), 3, ...opnd(shape, d), ...opnd(shape, r() < 0.8 ? d : dt()), ...opnd(shape, r() < 0.6 ? d : pick([0, dt()]))]; }
    case 'where': { const d = dt(); return [K.where, 0, 4, ...opnd(shape, r() < 0.8 ? 0 : dt()), ...opnd(shape, d), ...opnd(shape, r() < 0.8 ? d : dt()), ...opnd(shape, r() < 0.8 ? d : dt())]; }
    case 'reduce': {
      const nd = ri(4), sh = randShape(nd), red = ri(nd + 2), op = ri(NR + 1), d = dt();
      const out = sh.slice(0, Math.max(0, nd - red));
      return [K.reduce, 2, op, red, 2, ...opnd(sh, d), ...opnd(out, r() < 0.5 ? d : pick([7, 0, dt()]))];
    }
    case 'matmul': {
      const b = randShape(ri(2)), m = 1 + ri(4), k = ri(5), n = 1 + ri(4), d = dt();
      return [K.matmul, 0, 3, ...opnd([...b, m, k], d), ...opnd([...b, k, n], r() < 0.8 ? d : dt()), ...opnd([...b, m, n], r() < 0.8 ? d : dt())];
    }
    default: return [K[name] ?? 0, 0, 0];
  }
}
function mutate(w) {
  w = w.slice();
  const n = 1 + ri(3);
  for (let i = 0; i < n && w.length; i++) {
    const u = r(), j = ri(w.length);
    if (u < 0.6) w[j] = pick(WEIRD); else if (u < 0.8) w[j] += pick([-1, 1, 2, -2]); else if (u < 0.9) w.splice(j, 1); else w.splice(j, 0, pick(WEIRD));
  }
  return w;
}
const randomWords = () => Array.from({ length: ri(40) }, () => pick([...WEIRD, ri(10), ri(10), ri(NK + 1), anyId()]));
function commandList() {
  const u = r(), w = [];
  for (let i = 1 + ri(3); i > 0; i--) w.push(...plausible());
  return u < 0.3 ? w : u < 0.85 ? mutate(w) : randomWords();
}
// A well-formed list whose operand repeats one element 2**26+ times through a zero stride is
// in bounds, so the kernel really loops that long: a hang, not a crash. Such lists are skipped
// (reported separately); malformed lists never run anything, since parsing checks the whole list.
function endlessWork(w) {
  let pos = 0;
  const int = (lo, hi) => { const v = w[pos++]; return Number.isInteger(v) && v >= lo && v <= hi ? v : null; };
  while (pos < w.length) {
    pos++;
    const np = int(0, 64);
    if (np === null) return false;
    pos += np;
    const nops = int(0, 64);
    if (nops === null) return false;
    for (let k = 0; k < nops; k++) {
      pos += 3;
      const nd = int(0, 32);
      if (nd === null) return false;
      const shape = w.slice(pos, pos + nd), strides = w.slice(pos + nd, pos + 2 * nd);
      pos += 2 * nd;
      const size = shape.reduce((a, b) => a * b, 1);
      if (size > 2 ** 26 && shape.some((d, i) => d > 1 && strides[i] === 0)) return true;
    }
  }
  return false;
}
let skipped = 0;
function refresh(i) {
  if (i % 100 === 0) {
    for (let k = 0; k < 4; k++) alloc(pick([4096, 4096, 512, 64]));
    const j = ri(live.length), id = live[j];
    if (size.get(id) >= 4096 && ri(2)) { native.free(id); live.splice(j, 1); dead.push(id); }
  }
}
const garbage = () => pick([undefined, null, 'abc', {}, [], [1, 2], new Float32Array(4), new Uint8Array(8), 5, NaN, -1, () => 0, Symbol('x'), 3n]);

for (let i = 0; i < N; i++) {
  refresh(i);
  if (KIND === 'commands') {
    if (r() < 0.05) { const g = garbage(); attempt('run ' + show(g), () => native.run(g)); continue; }
    const w = commandList();
    if (endlessWork(w)) { skipped++; continue; }
    attempt('run ' + show(new Float64Array(w)), () => native.run(new Float64Array(w)));
  } else if (KIND === 'async') {
    const w = commandList();
    if (endlessWork(w)) { skipped++; continue; }
    attempt('runAsync ' + show(new Float64Array(w)), () => native.runAsync(new Float64Array(w)));
    if (r() < 0.3) { const id = pick(live); attempt('read ' + id, () => native.read(id, 0, Math.min(size.get(id), 4096))); }
    if (r() < 0.1) { const g = garbage(); attempt('runAsync ' + show(g), () => native.runAsync(g)); }
    if (i % 50 === 49) await Promise.all(pending.splice(0));
  } else {
    const u = r();
    if (u < 0.15) attempt('alloc', () => { const n = pick([...WEIRD, ri(5000)]); say('  n=' + show(n)); const id = native.alloc(n); if (typeof id === 'number') { live.push(id); size.set(id, n); } return id; });
    else if (u < 0.25) { const id = anyId(); attempt('free ' + show(id), () => native.free(id)); }
    else if (u < 0.45) {
      const id = anyId(), off = pick([0, 0, 1, ri(5000), ...WEIRD]);
      const data = r() < 0.8 ? pick([new Uint8Array(ri(5000)), new Float64Array(ri(600)), new Int16Array(3), new Float32Array(0), new BigInt64Array(2)]) : garbage();
      attempt('write ' + show(id) + ' ' + show(off) + ' ' + show(data), () => native.write(id, off, data));
    } else if (u < 0.65) {
      const id = anyId(), off = pick([0, 0, 1, ri(5000), ...WEIRD]), n = pick([0, 1, 8, ri(5000), size.get(id) ?? 8, size.get(id) ?? 8, ...WEIRD]);
      attempt('read ' + show(id) + ' ' + show(off) + ' ' + show(n), () => native.read(id, off, n));
    } else if (u < 0.75) { const id = anyId(); attempt('hostView ' + show(id), () => native.hostView(id).byteLength); }
    else if (u < 0.8) { const n = pick([...WEIRD, garbage()]); attempt('setNumThreads ' + show(n), () => native.setNumThreads(n)); }
    else if (u < 0.85) { const n = pick([...WEIRD, garbage()]); attempt('setCacheLimit ' + show(n), () => native.setCacheLimit(n)); }
    else if (u < 0.9) { const n = pick([...WEIRD, garbage()]); attempt('setLimit ' + show(n), () => native.setLimit(n)); native.setLimit(LIMIT); }
    else if (u < 0.92) {
      // a fresh buffer of any size, read or viewed whole before anything was written to it
      const n = pick([...WEIRD, ri(5000)]);
      attempt('alloc+read ' + show(n), () => { const id = native.alloc(n); live.push(id); size.set(id, n); return r() < 0.5 ? native.read(id, 0, n) : native.hostView(id); });
    }
    else if (u < 0.95) attempt('memory/info/synchronize', () => { native.memory(); native.info(); native.synchronize(); native.resetPeak(); });
    else { const g = garbage(); attempt('alloc/read/free garbage ' + show(g), () => native.read(g, g, g)); }
  }
}
await Promise.all(pending);
native.setNumThreads(0);
say('SUMMARY ' + JSON.stringify({ calls, ok, threw, skipped }));
`;
}

describe('the native addon survives malformed input (child process)', () => {
  const ITERATIONS: Record<string, number> = { commands: 15000, async: 5000, buffers: 8000 };
  it.each(Object.keys(ITERATIONS))('random %s calls return or throw an Error, and the process exits 0', (kind) => {
    const res = spawnSync(process.execPath, ['--import', TSX, '--input-type=module', '-e', childScript(kind, SEED, ITERATIONS[kind])], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000, // a hang (a kernel spinning on a huge zero-stride view) fails as SIGTERM
      maxBuffer: 256 * 2 ** 20,
      env: { ...process.env, KILN_NUM_THREADS: '2' },
    });
    const lines = `${res.stdout ?? ''}${res.stderr ?? ''}`.trimEnd().split('\n');
    const tail = `child ${kind}: status ${res.status}, signal ${res.signal}\nlast lines:\n${lines.slice(-25).join('\n')}`;
    expect(res.error, tail).toBeUndefined();
    expect(res.signal, tail).toBeNull();
    expect(res.status, tail).toBe(0);
    const summary = JSON.parse(lines.find((l) => l.startsWith('SUMMARY '))!.slice(8)) as { calls: number; ok: number; threw: number; skipped: number };
    expect(summary.calls + summary.skipped).toBeGreaterThanOrEqual(ITERATIONS[kind]);
    expect(summary.ok, 'some calls must get through validation and run').toBeGreaterThan(0);
    expect(summary.threw, 'malformed calls must be rejected').toBeGreaterThan(0);
  });
});
