// Property tests (DESIGN.md §5) for the shape algebra: numpy broadcasting and the view ops
// (reshape, transpose, slice, broadcastTo, expandDims, squeeze), each against the conformance
// suite's reference (numpy's and Python's rules, tests/conformance/reference.ts), plus the "views never copy" memory contract.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as kn from '../index.js';
import { broadcastShapes as refBroadcast, broadcastToRef, sliceRef, transposeRef, type RArray } from './conformance/reference.js';

const SEED = 20240611;
const RUNS = 500;
const opts = (numRuns = RUNS) => ({ seed: SEED, numRuns });

type Shape = number[];
type Val = number | boolean;

// ---- reference helpers ----------------------------------------------------------------------

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** A row-major reference array. */
interface Ref {
  shape: Shape;
  data: Val[];
}
interface Spec {
  start: number | null;
  stop: number | null;
  step: number | null;
}
// reference.ts's index maps move the values as they are (bools included)
const viaReference = (a: Ref, f: (r: RArray) => RArray): Ref => {
  const r = f({ dtype: 'float64', shape: a.shape, data: a.data as number[] });
  return { shape: r.shape, data: r.data as Val[] };
};
const refTranspose = (a: Ref, perm: number[]): Ref => viaReference(a, (r) => transposeRef(r, perm));
const refBroadcastTo = (a: Ref, shape: Shape): Ref => viaReference(a, (r) => broadcastToRef(r, shape));
const refSlice = (a: Ref, specs: Spec[]): Ref => viaReference(a, (r) => sliceRef(r, specs));

function nest(r: Ref): unknown {
  if (r.shape.length === 0) return r.data[0];
  let pos = 0;
  const build = (d: number): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < r.shape[d]; i++) out.push(d === r.shape.length - 1 ? r.data[pos++] : build(d + 1));
    return out;
  };
  return build(0);
}

// ---- generators -----------------------------------------------------------------------------

const dim = fc.integer({ min: 0, max: 4 });
const shapeArb = (maxNd = 4, d = dim): fc.Arbitrary<Shape> => fc.array(d, { minLength: 0, maxLength: maxNd });
/** non-empty shapes with at most ~120 elements, for value tests */
const valueShape = (maxNd = 4): fc.Arbitrary<Shape> =>
  fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: maxNd }).filter((s) => sizeOf(s) <= 128);
const anyShape = (maxNd = 4): fc.Arbitrary<Shape> => fc.oneof({ weight: 4, arbitrary: valueShape(maxNd) }, { weight: 1, arbitrary: shapeArb(maxNd) });

const DTYPES = ['float32', 'int32', 'float64', 'int8', 'uint16', 'float16', 'bool', 'int64'] as const;
type VDType = (typeof DTYPES)[number];
const dtypeArb = fc.constantFrom(...DTYPES);

/** Distinct, exactly representable values for index-mapping tests. */
function values(n: number, dtype: VDType): Val[] {
  return Array.from({ length: n }, (_, i) => {
    switch (dtype) {
      case 'bool':
        return i % 3 === 0;
      case 'int8':
        return (i % 200) - 100;
      case 'float32':
        return i + 0.5;
      case 'float64':
        return i * 0.25 - 3;
      case 'float16':
        return i - 7;
      default:
        return i;
    }
  });
}
/** A contiguous kiln array and its reference, built from a nested JS list. */
function make(shape: Shape, dtype: VDType): [kn.Array, Ref] {
  const ref: Ref = { shape, data: values(sizeOf(shape), dtype) };
  const arr = sizeOf(shape) === 0 ? kn.zeros(shape, dtype) : kn.array(nest(ref) as number[], dtype);
  expect(arr.shape).toEqual(shape);
  return [arr, ref];
}

/** A target shape together with a source shape that broadcasts to it (missing and size-1 dims). */
const broadcastPair: fc.Arbitrary<{ src: Shape; dst: Shape }> = valueShape(4).chain((dst) =>
  fc
    .tuple(fc.integer({ min: 0, max: dst.length }), fc.array(fc.boolean(), { minLength: dst.length, maxLength: dst.length }))
    .map(([drop, ones]) => ({ dst, src: dst.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)) })),
);

/** Random shape pairs: many compatible (derived from one shape), some independent. */
const shapePair: fc.Arbitrary<[Shape, Shape]> = fc.oneof(
  fc.tuple(shapeArb(5), shapeArb(5)),
  shapeArb(5).chain((base) => {
    const derive = fc
      .tuple(fc.integer({ min: 0, max: base.length }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: base.length, maxLength: base.length }))
      .map(([drop, how]) => base.slice(drop).map((d, i) => (how[i + drop] === 0 ? 1 : how[i + drop] === 3 ? (d + 1) % 5 : d)));
    return fc.tuple(derive, derive);
  }),
);

/** A permutation of 0..n-1. */
const permOf = (n: number): fc.Arbitrary<number[]> => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });

// ---- broadcasting algebra -------------------------------------------------------------------

describe('broadcasting algebra', () => {
  it('add(a, b).shape follows numpy broadcasting; incompatible shapes throw naming the op and both shapes', () => {
    fc.assert(
      fc.property(shapePair, ([a, b]) =>
        kn.tidy(() => {
          const expected = refBroadcast(a, b);
          const x = kn.zeros(a),
            y = kn.zeros(b, 'int32');
          if (expected === null) {
            let err: unknown;
            try {
              kn.add(x, y);
            } catch (e) {
              err = e;
            }
            expect(err).toBeInstanceOf(Error);
            const msg = (err as Error).message;
            expect(msg.startsWith('[add]')).toBe(true);
            expect(msg).toContain(fmt(a));
            expect(msg).toContain(fmt(b));
          } else {
            const z = kn.add(x, y);
            expect(z.shape).toEqual(expected);
            expect(z.dtype).toBe('float32');
          }
        }),
      ),
      opts(1500),
    );
  });

  it('the broadcast shape is commutative (and so is failing)', () => {
    fc.assert(
      fc.property(shapePair, ([a, b]) =>
        kn.tidy(() => {
          const shapeOf = (p: Shape, q: Shape): Shape | 'error' => {
            try {
              return kn.multiply(kn.zeros(p), kn.zeros(q)).shape;
            } catch (e) {
              expect(e).toBeInstanceOf(Error);
              expect((e as Error).message.startsWith('[multiply]')).toBe(true);
              return 'error';
            }
          };
          expect(shapeOf(a, b)).toEqual(shapeOf(b, a));
        }),
      ),
      opts(300),
    );
  });

  it('where broadcasts its three operands by the same rule', () => {
    fc.assert(
      fc.property(shapePair, shapeArb(3), ([a, b], c) =>
        kn.tidy(() => {
          const expected = refBroadcast(c, a, b);
          if (expected === null) {
            expect(() => kn.where(kn.zeros(c, 'bool'), kn.zeros(a), kn.zeros(b))).toThrowError(/^\[where\]/);
          } else {
            expect(kn.where(kn.zeros(c, 'bool'), kn.zeros(a), kn.zeros(b)).shape).toEqual(expected);
          }
        }),
      ),
      opts(200),
    );
  });

  it('broadcastTo then reading gives the reference values (size-1 and missing dims repeat)', () => {
    fc.assert(
      fc.property(broadcastPair, dtypeArb, ({ src, dst }, dtype) =>
        kn.tidy(() => {
          const [x, ref] = make(src, dtype);
          const y = kn.broadcastTo(x, dst);
          expect(y.shape).toEqual(dst);
          expect(y.tolist()).toEqual(nest(refBroadcastTo(ref, dst)));
          // the method form agrees
          expect(x.broadcastTo(dst).tolist()).toEqual(nest(refBroadcastTo(ref, dst)));
        }),
      ),
      opts(),
    );
  });

  it('broadcastTo an incompatible shape throws [broadcastTo]', () => {
    fc.assert(
      fc.property(shapeArb(4), shapeArb(4), (src, dst) =>
        kn.tidy(() => {
          const b = refBroadcast(src, dst);
          const ok = b !== null && fmt(b) === fmt(dst);
          if (ok) expect(kn.broadcastTo(kn.zeros(src), dst).shape).toEqual(dst);
          else expect(() => kn.broadcastTo(kn.zeros(src), dst)).toThrowError(/^\[broadcastTo\]/);
        }),
      ),
      opts(300),
    );
  });
});

// ---- view algebra ---------------------------------------------------------------------------

/** A random factorisation of n into up to 5 factors (each >= 1), possibly with a -1 in it. */
function factorise(n: number, picks: number[], minusOne: number): number[] {
  if (n === 0) return [...picks.map((p) => (p % 3) + 1), 0];
  const out: number[] = [];
  let rest = n;
  for (const p of picks) {
    const divisors = [...Array(rest).keys()].map((i) => i + 1).filter((d) => rest % d === 0);
    const d = divisors[p % divisors.length];
    out.push(d);
    rest /= d;
  }
  out.push(rest);
  if (minusOne >= 0 && n > 0) out[minusOne % out.length] = -1;
  return out;
}

describe('view algebra', () => {
  it('reshape to a random factorisation and back round-trips (contiguous and transposed inputs)', () => {
    fc.assert(
      fc.property(
        valueShape(4),
        dtypeArb,
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.integer({ min: -3, max: 5 }),
        fc.boolean(),
        (shape, dtype, picks, minusOne, transposed) =>
          kn.tidy(() => {
            let [x, ref] = make(shape, dtype);
            if (transposed) {
              x = x.T;
              ref = refTranspose(ref, [...shape.keys()].reverse());
            }
            const target = factorise(sizeOf(shape), picks, minusOne);
            const y = kn.reshape(x, target);
            const resolved = target.map((d) => (d === -1 ? sizeOf(ref.shape) / -sizeOf(target) : d));
            expect(y.shape).toEqual(resolved);
            // a reshape never reorders elements: row-major data is unchanged
            expect(y.tolist()).toEqual(nest({ shape: resolved, data: ref.data }));
            const back = y.reshape(ref.shape);
            expect(back.tolist()).toEqual(nest(ref));
          }),
      ),
      opts(),
    );
  });

  it('reshape to a wrong size or with two -1 throws [reshape]', () => {
    fc.assert(
      fc.property(shapeArb(3), shapeArb(3), fc.boolean(), (shape, target, twoUnknown) =>
        kn.tidy(() => {
          const t = twoUnknown ? [-1, ...target, -1] : target;
          const x = kn.zeros(shape);
          if (!twoUnknown && sizeOf(t) === sizeOf(shape)) expect(x.reshape(t).shape).toEqual(t);
          else expect(() => kn.reshape(x, t)).toThrowError(/^\[reshape\]/);
        }),
      ),
      opts(),
    );
  });

  it('transpose by a permutation then by its inverse is the identity', () => {
    fc.assert(
      fc.property(
        valueShape(5).chain((s) => fc.tuple(fc.constant(s), permOf(s.length), dtypeArb)),
        ([shape, perm, dtype]) =>
          kn.tidy(() => {
            const [x, ref] = make(shape, dtype);
            const inv = new Array<number>(perm.length);
            perm.forEach((p, i) => (inv[p] = i));
            const y = kn.transpose(x, perm);
            expect(y.shape).toEqual(perm.map((p) => shape[p]));
            const z = kn.transpose(y, inv);
            expect(z.shape).toEqual(shape);
            expect(z.tolist()).toEqual(nest(ref));
          }),
      ),
      opts(),
    );
  });

  it('transpose matches the reference index mapping (also with negative axes)', () => {
    fc.assert(
      fc.property(
        valueShape(5).chain((s) => fc.tuple(fc.constant(s), permOf(s.length), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), dtypeArb)),
        ([shape, perm, negate, dtype]) =>
          kn.tidy(() => {
            const [x, ref] = make(shape, dtype);
            const axes = perm.map((p, i) => (negate[i] ? p - shape.length : p));
            expect(x.transpose(axes).tolist()).toEqual(nest(refTranspose(ref, perm)));
            expect(kn.transpose(x, axes).tolist()).toEqual(nest(refTranspose(ref, perm)));
          }),
      ),
      opts(),
    );
  });

  it('.T reverses the axes and .T.T is the identity', () => {
    fc.assert(
      fc.property(valueShape(5), dtypeArb, (shape, dtype) =>
        kn.tidy(() => {
          const [x, ref] = make(shape, dtype);
          const rev = [...shape.keys()].reverse();
          expect(x.T.shape).toEqual([...shape].reverse());
          expect(x.T.tolist()).toEqual(nest(refTranspose(ref, rev)));
          expect(x.T.T.tolist()).toEqual(nest(ref));
        }),
      ),
      opts(),
    );
  });

  it('transpose with a wrong-length or repeated permutation throws [transpose]', () => {
    fc.assert(
      fc.property(shapeArb(4), fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 5 }), (shape, axes) =>
        kn.tidy(() => {
          const nd = shape.length;
          const norm = axes.map((a) => (a < 0 ? a + nd : a));
          const valid = axes.length === nd && norm.every((a) => a >= 0 && a < nd) && new Set(norm).size === nd;
          if (valid) expect(kn.transpose(kn.zeros(shape), axes).shape).toEqual(norm.map((p) => shape[p]));
          else expect(() => kn.transpose(kn.zeros(shape), axes)).toThrowError(/^\[transpose\]/);
        }),
      ),
      opts(),
    );
  });

  const bound = fc.oneof(fc.constant(null), fc.integer({ min: -9, max: 9 }), fc.constantFrom(-1e9, 1e9, 2 ** 53 - 1));
  const stepArb = fc.oneof(
    fc.constant(null),
    fc.integer({ min: -4, max: 4 }).filter((s) => s !== 0),
    fc.constantFrom(-1e9, 1e9),
  );
  const specArb = fc.record({ start: bound, stop: bound, step: stepArb });

  it('slicing with random start/stop/step matches Python slice semantics (clamping, negative steps)', () => {
    fc.assert(
      fc.property(
        anyShape(4).chain((s) => fc.tuple(fc.constant(s), fc.array(specArb, { maxLength: s.length }), dtypeArb)),
        ([shape, specs, dtype]) =>
          kn.tidy(() => {
            const [x, ref] = make(shape, dtype);
            const expected = refSlice(ref, specs);
            const y = kn.slice(x, specs);
            expect(y.shape).toEqual(expected.shape);
            expect(y.tolist()).toEqual(nest(expected));
            // the same with omitted fields instead of nulls
            const sparse = specs.map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== null)));
            expect(x.slice(sparse).tolist()).toEqual(nest(expected));
          }),
      ),
      opts(1000),
    );
  });

  it('slice with a zero, fractional step or too many specs throws [slice]', () => {
    fc.assert(
      fc.property(valueShape(3), fc.constantFrom(0, 0.5, NaN, -1.5), fc.boolean(), (shape, step, tooMany) =>
        kn.tidy(() => {
          const x = kn.zeros(shape);
          if (tooMany) expect(() => kn.slice(x, Array(shape.length + 1).fill({}))).toThrowError(/^\[slice\]/);
          else if (shape.length > 0) expect(() => kn.slice(x, [{ step }])).toThrowError(/^\[slice\]/);
        }),
      ),
      opts(50),
    );
  });

  it('expandDims then squeeze of the same axes round-trips; squeeze() drops every size-1 axis', () => {
    fc.assert(
      fc.property(
        valueShape(4).chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.integer({ min: 1, max: 3 }).chain((k) => fc.shuffledSubarray([...Array(s.length + k).keys()], { minLength: k, maxLength: k })),
            fc.boolean(),
            dtypeArb,
          ),
        ),
        ([shape, axes, negative, dtype]) =>
          kn.tidy(() => {
            const [x, ref] = make(shape, dtype);
            const nd = shape.length + axes.length;
            const given = axes.map((a) => (negative ? a - nd : a));
            // numpy.expand_dims: the new axes sit at the given positions of the result
            const expected: number[] = [];
            let k = 0;
            for (let i = 0; i < nd; i++) expected.push(axes.includes(i) ? 1 : shape[k++]);
            const y = axes.length === 1 && !negative ? x.expandDims(given[0]) : kn.expandDims(x, given);
            expect(y.shape).toEqual(expected);
            expect(y.tolist()).toEqual(nest({ shape: expected, data: ref.data }));
            const z = kn.squeeze(y, given);
            expect(z.shape).toEqual(shape);
            expect(z.tolist()).toEqual(nest(ref));
            const all = y.squeeze();
            expect(all.shape).toEqual(shape.filter((d) => d !== 1));
            expect(all.tolist()).toEqual(nest({ shape: all.shape, data: ref.data }));
          }),
      ),
      opts(),
    );
  });

  it('views of views: slice of transpose of broadcast gives the reference values', () => {
    fc.assert(
      fc.property(
        broadcastPair.chain(({ src, dst }) =>
          fc.tuple(fc.constant(src), fc.constant(dst), permOf(dst.length), fc.array(specArb, { maxLength: dst.length }), dtypeArb),
        ),
        ([src, dst, perm, specs, dtype]) =>
          kn.tidy(() => {
            const [x, ref] = make(src, dtype);
            const y = kn.slice(kn.transpose(kn.broadcastTo(x, dst), perm), specs);
            const expected = refSlice(refTranspose(refBroadcastTo(ref, dst), perm), specs);
            expect(y.shape).toEqual(expected.shape);
            expect(y.tolist()).toEqual(nest(expected));
            // and the same composed lazily on an evaluated base, then evaluated in steps
            x.eval();
            const b = kn.broadcastTo(x, dst).eval();
            const t = b.transpose(perm).eval();
            expect(t.slice(specs).tolist()).toEqual(nest(expected));
          }),
      ),
      opts(),
    );
  });

  it('reshape of a non-contiguous view copies and gives the reference values', () => {
    fc.assert(
      fc.property(
        valueShape(4).chain((s) =>
          fc.tuple(fc.constant(s), permOf(s.length), fc.array(specArb, { maxLength: s.length }), fc.array(fc.nat(), { maxLength: 3 }), dtypeArb),
        ),
        ([shape, perm, specs, picks, dtype]) =>
          kn.tidy(() => {
            const [x, ref] = make(shape, dtype);
            const v = kn.slice(kn.transpose(x, perm), specs);
            const vref = refSlice(refTranspose(ref, perm), specs);
            const target = factorise(sizeOf(vref.shape), picks, -1);
            const flat = kn.reshape(v, [-1]);
            expect(flat.tolist()).toEqual(vref.data);
            const r = kn.reshape(v, target);
            expect(r.shape).toEqual(target);
            expect(r.tolist()).toEqual(nest({ shape: target, data: vref.data }));
            // reshaping an evaluated strided view leaves the base untouched
            v.eval();
            const r2 = v.reshape(target).eval();
            expect(r2.tolist()).toEqual(nest({ shape: target, data: vref.data }));
            expect(x.tolist()).toEqual(nest(ref));
          }),
      ),
      opts(),
    );
  });

  it('views never copy: evaluating a view of an evaluated array allocates no buffer', () => {
    const viewKind = fc.constantFrom('transpose', 'slice', 'broadcast', 'expandDims', 'squeeze', 'reshape', 'T');
    fc.assert(
      fc.property(
        valueShape(4).chain((s) =>
          fc.tuple(fc.constant(s), viewKind, permOf(s.length), fc.array(specArb, { maxLength: s.length }), fc.integer({ min: 1, max: 3 }), dtypeArb),
        ),
        ([shape, kind, perm, specs, lead, dtype]) =>
          kn.tidy(() => {
            const [x, ref] = make(shape, dtype);
            x.eval();
            const buffers = kn.memory.buffers(),
              active = kn.memory.active();
            let v: kn.Array, expected: Ref;
            switch (kind) {
              case 'transpose':
                v = x.transpose(perm);
                expected = refTranspose(ref, perm);
                break;
              case 'T':
                v = x.T;
                expected = refTranspose(ref, [...shape.keys()].reverse());
                break;
              case 'slice':
                v = x.slice(specs);
                expected = refSlice(ref, specs);
                break;
              case 'broadcast': {
                const dst = [...Array(lead).fill(3), ...shape.map((d) => (d === 1 ? 2 : d))];
                v = x.broadcastTo(dst);
                expected = refBroadcastTo(ref, dst);
                break;
              }
              case 'expandDims':
                v = x.expandDims(shape.length);
                expected = { shape: [...shape, 1], data: ref.data };
                break;
              case 'squeeze': {
                const y = x.reshape([1, ...shape, 1]).eval();
                v = y.squeeze();
                expected = { shape: shape.filter((d) => d !== 1), data: ref.data };
                break;
              }
              case 'reshape':
                v = x.reshape([-1]);
                expected = { shape: [ref.data.length], data: ref.data };
                break;
            }
            v.eval();
            expect(kn.memory.buffers()).toBe(buffers);
            expect(kn.memory.active()).toBe(active);
            // a view of the view is free as well
            const vv = kn.expandDims(v, 0).eval();
            expect(kn.memory.buffers()).toBe(buffers);
            expect(v.shape).toEqual(expected.shape);
            expect(vv.tolist()).toEqual([nest(expected)]);
            expect(v.tolist()).toEqual(nest(expected));
            // reading copied strided views into temporaries; none may stay behind
            expect(kn.memory.buffers()).toBe(buffers);
          }),
      ),
      opts(),
    );
  });

  it('every view property above leaves no buffer behind once tidied', () => {
    const before = kn.memory.buffers();
    fc.assert(
      fc.property(valueShape(3), dtypeArb, (shape, dtype) => {
        kn.tidy(() => {
          const [x] = make(shape, dtype);
          kn.eval(x.T, x.reshape([-1]), x.expandDims(0), x.broadcastTo([2, ...shape]));
          return undefined;
        });
        expect(kn.memory.buffers()).toBe(before);
      }),
      opts(100),
    );
  });
});
