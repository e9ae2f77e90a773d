// GPU reduce / scan / sort / index kernels (backends/cuda/kernels/reduce.cu, scan.cu, sort.cu,
// index.cu) against the CPU kernels: every op on every dtype the CPU accepts, over layouts that
// take each GPU path (warp and block rows, split long rows, columns, strided views). Integers,
// bools, extremes, arg ops, sorts and index moves must give the same bits; float sums and scans
// agree within tolerances (the GPU adds in another order, in double for reductions).
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';

// this folder runs only on a GPU machine (npm run test:gpu): without a GPU it fails with the reason
if (!kn.gpuAvailable()) throw new Error(`tests/gpu needs a GPU: ${kn.info().gpuUnavailable}`);

const DTYPES: kn.DType[] = ['bool', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64'];
const FLOATS = new Set<kn.DType>(['float16', 'bfloat16', 'float32', 'float64']);
const TOL: Record<string, [number, number]> = { float16: [1e-2, 1e-2], bfloat16: [4e-2, 4e-2], float32: [1e-4, 1e-4], float64: [1e-10, 1e-10] };

/** A 32-bit LCG: deterministic values without Math.random. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** n values of dtype d: small integers with repeats (ties), floats in [-2, 2] with NaN, -0 and inf when `specials`. */
function values(d: kn.DType, n: number, seed: number, specials = true): number[] {
  const r = lcg(seed);
  if (d === 'bool') return Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0));
  if (FLOATS.has(d)) {
    const out = Array.from({ length: n }, () => Math.round((r() - 0.5) * 4 * 64) / 64);
    if (specials && n > 40) {
      out[3] = NaN;
      out[17] = -0;
      out[18] = 0;
      out[29] = Infinity;
      out[n - 2] = NaN;
    }
    return out;
  }
  const signed = d.startsWith('int');
  return Array.from({ length: n }, () => Math.floor(r() * 40) - (signed ? 20 : 0));
}

const make = (d: kn.DType, shape: number[], seed: number, specials = true) =>
  kn.reshape(
    kn.array(
      values(
        d,
        shape.reduce((a, b) => a * b, 1),
        seed,
        specials,
      ),
      d,
    ),
    shape,
  );

function flat(a: kn.NDArray): (string | number)[] {
  return Array.from(a.toTypedArray() as ArrayLike<number | bigint | boolean>, (v) => (typeof v === 'number' ? v : String(v)));
}

function onBoth<T extends kn.NDArray | kn.NDArray[]>(fn: () => T): [T, T] {
  const run = (d: kn.Device) =>
    kn.withDevice(d, () => {
      const y = fn();
      kn.eval(...(Array.isArray(y) ? y : [y]));
      return y;
    });
  return [run(kn.cpu), run(kn.gpu)];
}

/** Equal values (NaN equals NaN; floats within tol when given); reports the first difference. */
function expectSame(what: string, c: kn.NDArray, g: kn.NDArray, tol?: [number, number]) {
  expect(g.dtype, what).toBe(c.dtype);
  expect(g.shape, what).toEqual(c.shape);
  const a = flat(c),
    b = flat(g);
  let bad = '';
  for (let i = 0; i < a.length && !bad; i++) {
    const x = a[i],
      y = b[i];
    let ok: boolean;
    if (typeof x === 'number' && typeof y === 'number') {
      if (Number.isNaN(x) || Number.isNaN(y)) ok = Number.isNaN(x) && Number.isNaN(y);
      else if (tol) ok = x === y || Math.abs(x - y) <= tol[1] + tol[0] * Math.abs(x);
      else ok = x === y;
    } else ok = x === y;
    if (!ok) bad = `${what} [${i}]: cpu ${x} gpu ${y}`;
  }
  expect(bad).toBe('');
}

/** Runs fn on the CPU first: a dtype / op the CPU rejects is skipped. */
function accepted(fn: () => unknown): boolean {
  try {
    kn.withDevice(kn.cpu, () => {
      const y = fn();
      kn.eval(...((Array.isArray(y) ? y : [y]) as kn.NDArray[]));
    });
    return true;
  } catch {
    return false;
  }
}

type Fn = (x: kn.NDArray, ...a: unknown[]) => kn.NDArray;
const call = (op: string) => (kn as unknown as Record<string, Fn>)[op];

// [name, shape, view, axis]: rows (warp / block / split), columns, strided
const REDUCE_CASES: [string, number[], (x: kn.NDArray) => kn.NDArray, number | number[] | undefined][] = [
  ['short rows', [37, 100], (x) => x, 1],
  ['block rows', [9, 3000], (x) => x, 1],
  ['one long row (split)', [70001], (x) => x, undefined],
  ['columns', [300, 70], (x) => x, 0],
  ['few long columns (split)', [20000, 3], (x) => x, 0],
  ['transposed', [40, 60], (x) => kn.transpose(x), 1],
  ['middle and last axes', [6, 7, 8], (x) => x, [0, 2]],
  ['offset', [101], (x) => kn.slice(x, [{ start: 1 }]), 0],
];

describe('GPU reduce / scan / sort / index kernels equal the CPU', () => {
  it.each(['sum', 'prod', 'max', 'min', 'all', 'any', 'argmax', 'argmin'])('reduce %s', (op) => {
    let ran = 0;
    for (const d of DTYPES)
      for (const [name, shape, view, axis] of REDUCE_CASES) {
        // products of many floats over/underflow alike on both; keep them near 1 for meaning
        const src = () => {
          const x = view(make(d, shape, 7, op !== 'prod'));
          return op === 'prod' && FLOATS.has(d) ? kn.add(kn.multiply(x, 0.001), 1).astype(d) : x;
        };
        const f = () => call(op)(src(), axis);
        if (!accepted(f)) continue;
        const [c, g] = onBoth(f);
        const exact = !FLOATS.has(d) || op !== 'sum' ? undefined : TOL[d];
        expectSame(`${op} ${d} ${name}`, c, g, op === 'prod' && FLOATS.has(d) ? TOL[d] : exact);
        ran++;
      }
    expect(ran).toBeGreaterThan(40);
  });

  it('empty reductions give the identities', () => {
    for (const op of ['sum', 'prod', 'all', 'any']) {
      const [c, g] = onBoth(() => call(op)(kn.zeros([3, 0], 'int32'), 1));
      expectSame(`${op} empty`, c, g);
    }
  });

  it.each(['cumsum', 'cumprod', 'cummax', 'cummin', 'logcumsumexp'])('scan %s', (op) => {
    let ran = 0;
    const cases: [string, number[], number][] = [
      ['warp rows', [7, 300], 1],
      ['block rows', [3, 5000], 1],
      ['long row (three passes)', [1, 70001], 1],
      ['leading axis, many rows', [3, 6000], 0],
      ['leading axis, few rows', [500, 4], 0],
    ];
    for (const d of DTYPES)
      for (const [name, shape, axis] of cases)
        for (const opts of shape[axis] > 10000
          ? [{ reverse: true, inclusive: false }]
          : [{}, { reverse: true }, { inclusive: false }, { reverse: true, inclusive: false }]) {
          if (op === 'cumprod' && FLOATS.has(d) && shape[axis] > 1000) continue; // underflows to 0 / NaN alike: no information
          const f = () => call(op)(make(d, shape, 11, op !== 'cumsum' && op !== 'cumprod'), axis, opts);
          if (!accepted(f)) continue;
          const [c, g] = onBoth(f);
          // by the result's dtype: logcumsumexp of bool / integers is float32
          const tol = FLOATS.has(c.dtype) && (op === 'cumsum' || op === 'cumprod' || op === 'logcumsumexp') ? TOL[c.dtype] : undefined;
          // long float sums: the tolerance grows with the partial sums' size
          expectSame(`${op} ${d} ${name} ${JSON.stringify(opts)}`, c, g, tol && shape[axis] > 1000 ? [tol[0] * 10, tol[1] * 100] : tol);
          ran++;
        }
    expect(ran).toBeGreaterThan(10);
  });

  it('sort, argsort, topk and topkWithIndices: NaN placement and ties as the CPU', () => {
    const shapes: [number[], number][] = [
      [[50, 70], 1],
      [[1, 20011], 1],
      [[300, 9], 0],
      [[4, 5, 6], 1],
    ];
    for (const d of DTYPES)
      for (const [shape, axis] of shapes) {
        const x = () => make(d, shape, 5);
        for (const f of [() => kn.sort(x(), axis), () => kn.argsort(x(), axis), () => kn.topk(x(), 5, axis)]) {
          const [c, g] = onBoth(f);
          expectSame(`sort family ${d} ${shape}`, c, g);
        }
        const [[cv, ci], [gv, gi]] = onBoth(() => kn.topkWithIndices(x(), 4, axis));
        expectSame(`topkWithIndices values ${d}`, cv, gv);
        expectSame(`topkWithIndices indices ${d}`, ci, gi);
        // partitions: the kth element and the multiset of each row agree
        const kth = Math.floor(shape[axis] / 3);
        const [cp, gp] = onBoth(() => kn.partition(x(), kth, axis));
        expectSame(`partition ${d} kth`, kn.take(cp, [kth], axis), kn.take(gp, [kth], axis));
        expectSame(`partition ${d} rows`, kn.sort(cp, axis), kn.sort(gp, axis));
        const [ca, ga] = onBoth(() => kn.argpartition(x(), kth, axis));
        expectSame(`argpartition ${d}`, kn.takeAlongAxis(x(), kn.take(ca, [kth], axis), axis), kn.takeAlongAxis(x(), kn.take(ga, [kth], axis), axis));
      }
  });

  it('searchsorted left and right', () => {
    for (const d of DTYPES) {
      const a = () => kn.sort(make(d, [301], 3));
      for (const side of ['left', 'right'] as const) {
        const [c, g] = onBoth(() => kn.searchsorted(a(), make(d, [7, 40], 9), { side }));
        expectSame(`searchsorted ${d} ${side}`, c, g);
      }
    }
  });

  it('gather, putAlongAxis and scatter modes (repeated indices in order)', () => {
    for (const d of DTYPES) {
      const x = () => make(d, [20, 30], 13, false);
      const idx = () =>
        kn.array(
          values('int32', 50, 17).map((v) => v % 20),
          'int32',
        );
      const [c1, g1] = onBoth(() => kn.take(x(), idx(), 0));
      expectSame(`take rows ${d}`, c1, g1);
      const [c2, g2] = onBoth(() => kn.take(x(), kn.array([29, -1, 0, 5, 5], 'int32'), 1));
      expectSame(`take columns ${d}`, c2, g2);
      const ia = () =>
        kn.reshape(
          kn.array(
            values('uint8', 20 * 8, 19).map((v) => v % 30),
            'uint8',
          ),
          [20, 8],
        );
      const [c3, g3] = onBoth(() => kn.takeAlongAxis(x(), ia(), 1));
      expectSame(`takeAlongAxis ${d}`, c3, g3);
      const [c4, g4] = onBoth(() => kn.putAlongAxis(x(), ia(), make(d, [20, 8], 23, false), 1));
      expectSame(`putAlongAxis ${d}`, c4, g4);
      for (const mode of ['add', 'subtract', 'multiply', 'maximum', 'minimum', 'divide'] as const) {
        // 200 updates onto 30 targets of a flat array: the few-columns paths
        const pos = () =>
          kn.array(
            values('uint16', 200, 29).map((v) => v % 30),
            'int32',
          );
        const f = () => (kn.at(make(d, [30], 31, false), pos()) as unknown as Record<string, (v: kn.NDArray) => kn.NDArray>)[mode](make(d, [200], 37, false));
        if (!accepted(f)) continue;
        const [c5, g5] = onBoth(f);
        expectSame(`at ${mode} ${d}`, c5, g5, FLOATS.has(d) && (mode === 'add' || mode === 'subtract' || mode === 'multiply') ? TOL[d] : undefined);
      }
      const [c6, g6] = onBoth(() =>
        kn
          .at(
            make(d, [30], 31, false),
            kn.array(
              values('uint16', 200, 29).map((v) => v % 30),
              'int32',
            ),
          )
          .set(make(d, [200], 41, false)),
      );
      expectSame(`at set ${d}`, c6, g6);
    }
  });

  it('out-of-range indices give the CPU error on the GPU', () => {
    const bad: [string, () => kn.NDArray][] = [
      ['take', () => kn.take(kn.arange(10), kn.array([1, 10], 'int32'))],
      ['takeAlongAxis', () => kn.takeAlongAxis(kn.zeros([3, 4]), kn.array([[0], [-5], [1]], 'int32'), 1)],
      ['putAlongAxis', () => kn.putAlongAxis(kn.zeros([3, 4]), kn.array([[0], [4], [1]], 'int64'), 1, 1)],
    ];
    for (const [what, f] of bad) {
      let message = '';
      try {
        kn.withDevice(kn.cpu, () => kn.eval(f()));
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, what).toMatch(/out of bounds/);
      expect(() => kn.withDevice(kn.gpu, () => kn.eval(f())), what).toThrow(message);
    }
    // the device stays usable
    const [c, g] = onBoth(() => kn.sum(kn.arange(100)));
    expectSame('after an error', c, g);
  });
});
