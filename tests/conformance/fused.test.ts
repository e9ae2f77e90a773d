// fused kernel family (fused.cc): every unary and binary op, where and every cast, on every dtype
// and layout (contiguous, transposed, broadcast, sliced, negative steps, 0-d, empty), run as
// fused programs through kn.compile and compared bit for bit with the eager kernels (which the
// rest of this suite checks against the reference); reductions fused with elementwise producers
// on every dtype; outputs poisoned before each run; malformed programs and launches rejected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import { native, K } from '../../backends/native.js';
import { FUSABLE_REDUCE, fusionLimits } from '../../core/compile/fuse.js';
import * as R from './reference.js';
import {
  DTYPES,
  LAYOUTS,
  broadcast,
  contiguous,
  genValues,
  mulberry32,
  nbytesOf,
  negstep,
  poison,
  runCase,
  seedOf,
  sliced,
  transposed,
  type DType,
} from './util.js';

const fn = (op: string) => (kn as unknown as Record<string, (...a: unknown[]) => kn.NDArray>)[op];

beforeAll(() => {
  fusionLimits.minOps = 1; // single ops become fused programs too
  kn.compile.clearCache();
});
afterAll(() => {
  fusionLimits.minOps = 2;
  kn.compile.clearCache();
});

/** Elements as numbers or bigints, NaN kept; compared with Object.is (so -0 differs from 0). */
function raw(a: kn.NDArray): unknown[] {
  return Array.from(a.toTypedArray() as ArrayLike<unknown>);
}
function expectBitwise(got: kn.NDArray, want: kn.NDArray, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  expect(got.dtype, what).toBe(want.dtype);
  const a = raw(got),
    b = raw(want);
  for (let i = 0; i < b.length; i++)
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i])))
      expect.fail(`${what}: element ${i} is ${String(a[i])}, eager gives ${String(b[i])}`);
}

/** Runs `f` compiled (expecting one fused kernel) and eagerly, on poisoned memory. */
function check(f: (...a: kn.NDArray[]) => kn.NDArray, args: kn.NDArray[], what: string): void {
  runCase(() => {
    kn.eval(...args);
    const result = f(...args);
    // ops that are the identity on a dtype (floor of an integer) leave nothing to compute
    const fused = args.includes(result) ? 0 : 1;
    const want = result.eval();
    const c = kn.compile(f);
    poison(nbytesOf(want.dtype, want.shape));
    const got = c(...args) as kn.NDArray;
    if (want.size > 0) expect(c.info.fused, `${what}: fused kernels`).toBe(fused);
    expectBitwise(got, want, what);
  });
}

function rejects(thunk: () => unknown): boolean {
  try {
    thunk();
    return false;
  } catch (e) {
    if (e instanceof R.RefTypeError) return true;
    throw e;
  }
}

const UNARY = Object.keys(R.UNARY);
const UNARY_CASES = UNARY.flatMap((op) => DTYPES.filter((d) => !rejects(() => R.unaryDType(op, d))).map((d) => [op, d] as [string, DType]));

describe('fused unary ops on every dtype and layout', () => {
  it.each(UNARY_CASES)('%s %s', (op, d) => {
    for (const layout of LAYOUTS) {
      runCase(() => {
        const rng = mulberry32(seedOf('fused-unary', op, d, layout.name));
        const { x } = layout.build(d, (n) => genValues(d, n, rng));
        check((a) => fn(op)(a), [x], `${op} ${d} ${layout.name}`);
      });
    }
  });
});

const BINARY = Object.keys(R.BINARY);
const BINARY_CASES = BINARY.flatMap((op) => DTYPES.filter((d) => !rejects(() => R.binaryDTypes(op, d))).map((d) => [op, d] as [string, DType]));
// operand layouts: both contiguous, a transposed one with a broadcast one, sliced with negative steps
const PAIRS = [
  [contiguous([3, 4, 5]), contiguous([3, 4, 5])],
  [transposed([5, 6]), broadcast([5, 6], [1, 6])],
  [sliced([4, 7]), negstep([4, 7])],
  [broadcast([2, 3, 5, 4], [3, 1, 4]), transposed([2, 3, 5, 4])],
  [LAYOUTS[6], LAYOUTS[6]],
  [LAYOUTS[7], LAYOUTS[7]],
];

describe('fused binary ops on every dtype and layout pair, and with a constant', () => {
  it.each(BINARY_CASES)('%s %s', (op, d) => {
    const da = d; // operands of dtype d: the op's own casts are fused too
    for (const [la, lb] of PAIRS) {
      runCase(() => {
        const rng = mulberry32(seedOf('fused-binary', op, d, la.name, lb.name));
        const gen = (n: number) => genValues(da, n, rng);
        const a = la.build(da, gen).x,
          b = lb.build(da, gen).x;
        check((x, y) => fn(op)(x, y), [a, b], `${op} ${d} ${la.name} with ${lb.name}`);
      });
    }
    // a scalar operand becomes a constant of the program
    runCase(() => {
      const rng = mulberry32(seedOf('fused-binary-const', op, d));
      const a = contiguous([4, 9]).build(da, (n) => genValues(da, n, rng)).x;
      const c = da === 'bool' ? true : 3;
      check((x) => fn(op)(x, c), [a], `${op} ${d} with a constant`);
    });
  });
});

describe('fused where and casts', () => {
  it.each(DTYPES)('where %s', (d) => {
    for (const [lc, lx, ly] of [
      [contiguous([3, 4, 5]), contiguous([3, 4, 5]), contiguous([3, 4, 5])],
      [broadcast([5, 6], [5, 1]), transposed([5, 6]), broadcast([5, 6], [6])],
    ]) {
      runCase(() => {
        const rng = mulberry32(seedOf('fused-where', d, lc.name));
        const c = lc.build('bool', (n) => genValues('bool', n, rng)).x;
        const x = lx.build(d, (n) => genValues(d, n, rng)).x,
          y = ly.build(d, (n) => genValues(d, n, rng)).x;
        check((p, q, r) => kn.where(p, q, r), [c, x, y], `where ${d} ${lc.name}`);
      });
    }
  });

  it.each(DTYPES)('casts from %s to every dtype', (from) => {
    for (const to of DTYPES) {
      if (to === from) continue;
      for (const layout of [contiguous([3, 4, 5]), transposed([5, 6]), broadcast([2, 3, 5, 4], [3, 1, 4])]) {
        runCase(() => {
          const rng = mulberry32(seedOf('fused-cast', from, to, layout.name));
          const { x } = layout.build(from, (n) => genValues(from, n, rng));
          check((a) => kn.astype(a, to), [x], `${from} -> ${to} ${layout.name}`);
        });
      }
    }
  });
});

describe('fused reductions with elementwise producers on every dtype', () => {
  // the reductions compile fuses, from the native catalog (core/compile/fuse.ts)
  for (const op of [...FUSABLE_REDUCE] as ('sum' | 'prod' | 'max' | 'min' | 'all' | 'any')[]) {
    it.each(DTYPES)(`${op} %s`, (d) => {
      const producer = (a: kn.NDArray) => (d === 'bool' ? kn.logicalNot(a) : kn.abs(a));
      const exact = !(op === 'sum' || op === 'prod') || !['float16', 'bfloat16', 'float32', 'float64'].includes(d);
      for (const [layout, axes] of [
        [contiguous([3, 4, 5]), [-1]],
        [contiguous([3, 4, 5]), [1, 2]],
        [transposed([5, 6]), [-1]],
        [broadcast([2, 3, 5, 4], [3, 1, 4]), [2, 3]],
        [contiguous([6, 200]), [0, 1]],
      ] as const) {
        runCase(() => {
          const rng = mulberry32(seedOf('fused-reduce', op, d, layout.name));
          const dom = op === 'prod' ? { lo: 0.5, hi: 1.5, ilo: 1, ihi: 2 } : undefined;
          const { x } = layout.build(d, (n) => genValues(d, n, rng, dom));
          const f = (a: kn.NDArray) => fn(op)(producer(a), [...axes]);
          kn.eval(x);
          const want = f(x).eval();
          const c = kn.compile(f);
          poison(nbytesOf(want.dtype, want.shape));
          const got = c(x) as kn.NDArray;
          expect(c.info.fused, `${op} ${d} ${layout.name}`).toBe(1);
          if (exact) expectBitwise(got, want, `${op} ${d} ${layout.name}`);
          else {
            const tol = d === 'float16' || d === 'bfloat16' ? 1e-2 : d === 'float32' ? 1e-5 : 1e-12;
            const a = raw(got) as number[],
              b = raw(want) as number[];
            b.forEach((v, i) => {
              if (!(Math.abs(a[i] - v) <= tol * Math.abs(v) + tol) && !(Number.isNaN(a[i]) && Number.isNaN(v)) && a[i] !== v)
                expect.fail(`${op} ${d} ${layout.name}: element ${i} is ${a[i]}, eager gives ${v}`);
            });
          }
        });
      }
    });
  }
});

// ---- malformed programs and launches ------------------------------------------------------------

/** A valid program: out = in0 + 1 over one float32 dim. */
function program(over: Partial<Record<'nIn' | 'nOut' | 'ndim' | 'nred' | 'regType', number>> = {}, body?: number[][]): number[] {
  const b = body ?? [
    [0, 0, 0, 0, 0, 0, 0],
    [5, 0, 0, 0, 1, 0, 0],
    [1, 0, 0, 0, 0, 0, 0],
  ];
  return [
    2,
    over.nIn ?? 1,
    over.nOut ?? 1,
    over.ndim ?? 1,
    over.nred ?? 0,
    2,
    0,
    0,
    1,
    0,
    0,
    11,
    11,
    0,
    over.regType ?? 11,
    11,
    1,
    b.length,
    0,
    2,
    11,
    1,
    0,
    0,
    0,
    1,
    ...b.flat(),
  ];
}

describe('malformed fused programs and launches are errors, never crashes', () => {
  it('rejects bad programs with a message naming the problem', () => {
    const bad: [number[], RegExp][] = [
      [[3, ...program().slice(1)], /version/],
      [program({ regType: 9 }), /not a compute type/],
      [
        program({}, [
          [0, 0, 5, 0, 0, 0, 0],
          [1, 0, 0, 0, 5, 0, 0],
        ]),
        /out of range/,
      ],
      [program({}, [[0, 0, 0, 0, 0, 0, 0]]), /never written/],
      [
        program({}, [
          [0, 0, 0, 3, 0, 0, 0],
          [1, 0, 0, 0, 0, 0, 0],
        ]),
        /input out of range/,
      ],
      [
        program({}, [
          [0, 0, 0, 0, 0, 0, 0],
          [4, 999, 0, 0, 0, 0, 0],
          [1, 0, 0, 0, 0, 0, 0],
        ]),
        /invalid op code/,
      ],
      [
        program({}, [
          [0, 0, 0, 0, 0, 0, 0],
          [4, 33, 0, 0, 0, 0, 0],
          [1, 0, 0, 0, 0, 0, 0],
        ]),
        /wrong type/,
      ], // isnan writes bool
      [
        program({}, [
          [0, 0, 0, 0, 0, 0, 0],
          [8, 0, 0, 0, 0, 0, 0],
          [1, 0, 0, 0, 0, 0, 0],
        ]),
        /accumulator out of range/,
      ],
      [
        program({}, [
          [0, 0, 0, 0, 0, 0, 0],
          [1, 0, 0, 0, 0, 0, 0],
          [1, 0, 0, 0, 0, 0, 0],
        ]),
        /second time/,
      ],
      [program().slice(0, -3), /ends early/],
      [[...program(), 0], /after the end/],
      [program({ nred: 2 }), /reduced dims/],
    ];
    for (const [words, re] of bad) expect(() => native.compileProgram(new Float64Array(words)), re.source).toThrow(re);
    expect(() => native.compileProgram(new Float32Array(4) as unknown as Float64Array)).toThrow(/Float64Array/);
  });

  it('rejects launches whose operands do not fit the program', () => {
    const h = native.compileProgram(new Float64Array(program()));
    const a = native.alloc(64),
      o = native.alloc(64);
    const op = (id: number, dt: number, n: number, st: number) => [id, dt, 0, 1, n, st];
    const launch = (...ops: number[][]) => native.run(new Float64Array([K.fused, 1, h, ops.length, ...ops.flat()]));
    try {
      launch(op(a, 11, 16, 1), op(o, 11, 16, 1));
      const bad: [() => void, RegExp][] = [
        [() => launch(op(a, 11, 16, 1)), /operands/],
        [() => launch(op(a, 12, 8, 1), op(o, 11, 16, 1)), /must be float32/],
        [() => launch(op(a, 11, 16, 1), op(o, 11, 8, 1)), /iteration shape/],
        [() => launch(op(a, 11, 16, 0), op(o, 11, 16, 0)), /zero stride/],
        [() => native.run(new Float64Array([K.fused, 1, 987654, 2, ...op(a, 11, 16, 1), ...op(o, 11, 16, 1)])), /unknown or released program/],
      ];
      for (const [thunk, re] of bad) expect(thunk, re.source).toThrow(re);
    } finally {
      native.releaseProgram(h);
      native.free(a);
      native.free(o);
    }
    expect(() => native.run(new Float64Array([K.fused, 1, h, 2, a, 11, 0, 1, 1, 1, o, 11, 0, 1, 1, 1]))).toThrow();
  });

  it('random words never crash the program parser', () => {
    const rng = mulberry32(1234);
    for (let t = 0; t < 2000; t++) {
      const words = program();
      const k = 1 + Math.floor(rng() * 4);
      for (let j = 0; j < k; j++) words[Math.floor(rng() * words.length)] = Math.floor(rng() * 40) - 8;
      try {
        native.releaseProgram(native.compileProgram(new Float64Array(words)));
      } catch (e) {
        expect((e as Error).message).toMatch(/^\[compileProgram\]/);
      }
    }
  });
});
