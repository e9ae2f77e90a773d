// Views (reshape, transpose, slice, broadcastTo, expandDims, squeeze, swapaxes, moveaxis,
// flatten, asStrided) for every dtype, read back through the copy kernel, against the
// reference's strided index math; plus the no-copy guarantee and view errors.
import { describe, expect, it } from 'vitest';
import * as kn from '../../index.js';
import * as R from './reference.js';
import { DTYPES, expectMatches, fromVals, genValues, mulberry32, nbytesOf, poison, runCase, seedOf, type DType } from './util.js';

type ViewCase = [name: string, baseShape: number[], kiln: (x: kn.NDArray) => kn.NDArray, ref: (r: R.RArray) => R.RArray];

const CASES: ViewCase[] = [
  ['reshape (view)', [4, 6], (x) => x.reshape([2, 3, 4]), (r) => R.reshapeRef(r, [2, 3, 4])],
  ['reshape with -1', [4, 6], (x) => x.reshape([-1, 8]), (r) => R.reshapeRef(r, [3, 8])],
  ['reshape to 0-d', [1, 1], (x) => x.reshape([]), (r) => R.reshapeRef(r, [])],
  ['reshape of a transposed array (copies)', [4, 6], (x) => x.T.reshape([3, 8]), (r) => R.reshapeRef(R.transposeRef(r), [3, 8])],
  [
    'reshape of a sliced array (copies)',
    [6, 7],
    (x) => x.slice([{ step: 2 }, { start: 1, step: 3 }]).reshape([6]),
    (r) => R.reshapeRef(R.sliceRef(r, [{ step: 2 }, { start: 1, step: 3 }]), [6]),
  ],
  [
    'reshape merging contiguous dims of a slice (view)',
    [4, 3, 5],
    (x) => x.slice([{ start: 1, step: 2 }]).reshape([2, 15]),
    (r) => R.reshapeRef(R.sliceRef(r, [{ start: 1, step: 2 }]), [2, 15]),
  ],
  ['.T of 2-d', [3, 5], (x) => x.T, (r) => R.transposeRef(r)],
  ['.T of 3-d', [2, 3, 4], (x) => x.T, (r) => R.transposeRef(r)],
  ['transpose [1, 2, 0]', [2, 3, 4], (x) => x.transpose([1, 2, 0]), (r) => R.transposeRef(r, [1, 2, 0])],
  ['transpose with negative axes', [2, 3, 4], (x) => kn.transpose(x, [-1, 0, -2]), (r) => R.transposeRef(r, [2, 0, 1])],
  ['transpose of 1-d and 0-d is the identity', [5], (x) => x.T, (r) => r],
  ['swapaxes', [2, 3, 4], (x) => x.swapaxes(0, 2), (r) => R.transposeRef(r, [2, 1, 0])],
  ['moveaxis', [2, 3, 4], (x) => x.moveaxis(0, -1), (r) => R.transposeRef(r, [1, 2, 0])],
  ['slice start/stop/step', [10], (x) => x.slice([{ start: 1, stop: 8, step: 2 }]), (r) => R.sliceRef(r, [{ start: 1, stop: 8, step: 2 }])],
  ['slice negative start', [10], (x) => x.slice([{ start: -3 }]), (r) => R.sliceRef(r, [{ start: -3 }])],
  ['slice negative stop', [10], (x) => x.slice([{ stop: -2 }]), (r) => R.sliceRef(r, [{ stop: -2 }])],
  ['slice reversed', [10], (x) => x.slice([{ step: -1 }]), (r) => R.sliceRef(r, [{ step: -1 }])],
  ['slice negative step from an offset', [10], (x) => x.slice([{ start: -2, step: -3 }]), (r) => R.sliceRef(r, [{ start: -2, step: -3 }])],
  ['slice bounds clamp', [10], (x) => x.slice([{ start: -100, stop: 100, step: 4 }]), (r) => R.sliceRef(r, [{ start: -100, stop: 100, step: 4 }])],
  ['slice empty (start > stop)', [10], (x) => x.slice([{ start: 6, stop: 2 }]), (r) => R.sliceRef(r, [{ start: 6, stop: 2 }])],
  [
    'slice empty (negative step, start < stop)',
    [10],
    (x) => x.slice([{ start: 2, stop: 6, step: -1 }]),
    (r) => R.sliceRef(r, [{ start: 2, stop: 6, step: -1 }]),
  ],
  [
    'slice 2-d mixed steps',
    [7, 9],
    (x) =>
      x.slice([
        { start: 5, stop: 0, step: -2 },
        { start: 1, step: 3 },
      ]),
    (r) =>
      R.sliceRef(r, [
        { start: 5, stop: 0, step: -2 },
        { start: 1, step: 3 },
      ]),
  ],
  ['slice fewer specs than dims', [4, 3, 2], (x) => x.slice([{ start: 1, stop: 3 }]), (r) => R.sliceRef(r, [{ start: 1, stop: 3 }])],
  [
    'slice of a slice',
    [20],
    (x) => x.slice([{ start: 2, step: 3 }]).slice([{ start: 5, step: -2 }]),
    (r) => R.sliceRef(R.sliceRef(r, [{ start: 2, step: 3 }]), [{ start: 5, step: -2 }]),
  ],
  ['broadcastTo new leading dims', [3], (x) => x.broadcastTo([2, 4, 3]), (r) => R.broadcastToRef(r, [2, 4, 3])],
  ['broadcastTo size-1 dims', [4, 1], (x) => x.broadcastTo([4, 5]), (r) => R.broadcastToRef(r, [4, 5])],
  ['broadcastTo from 0-d', [], (x) => x.broadcastTo([3, 2]), (r) => R.broadcastToRef(r, [3, 2])],
  ['broadcastTo a zero-size dim', [1, 3], (x) => x.broadcastTo([0, 3]), (r) => R.broadcastToRef(r, [0, 3])],
  ['expandDims 0', [3, 4], (x) => x.expandDims(0), (r) => R.reshapeRef(r, [1, 3, 4])],
  ['expandDims -1', [3, 4], (x) => x.expandDims(-1), (r) => R.reshapeRef(r, [3, 4, 1])],
  ['expandDims [0, 2]', [3, 4], (x) => x.expandDims([0, 2]), (r) => R.reshapeRef(r, [1, 3, 1, 4])],
  ['squeeze all', [1, 3, 1, 4], (x) => x.squeeze(), (r) => R.reshapeRef(r, [3, 4])],
  ['squeeze one axis', [1, 3, 1, 4], (x) => x.squeeze(2), (r) => R.reshapeRef(r, [1, 3, 4])],
  ['flatten', [2, 3, 4], (x) => x.flatten(), (r) => R.reshapeRef(r, [24])],
  ['flatten of a transposed array', [2, 3, 4], (x) => x.T.flatten(), (r) => R.reshapeRef(R.transposeRef(r), [24])],
  ['flatten 1..2', [2, 3, 4], (x) => kn.flatten(x, 1, 2), (r) => R.reshapeRef(r, [2, 12])],
  ['asStrided sliding windows', [8], (x) => kn.asStrided(x, [6, 3], [1, 1]), (r) => R.asStridedRef(r, [6, 3], [1, 1])],
  ['asStrided negative stride and offset', [8], (x) => kn.asStrided(x, [4], [-2], 7), (r) => R.asStridedRef(r, [4], [-2], 7)],
  ['asStrided zero stride', [6], (x) => kn.asStrided(x, [3, 2], [0, 2], 1), (r) => R.asStridedRef(r, [3, 2], [0, 2], 1)],
  [
    'asStrided of a transposed array (row-major order)',
    [3, 4],
    (x) => kn.asStrided(x.T, [2, 3], [3, 1], 2),
    (r) => R.asStridedRef(R.transposeRef(r), [2, 3], [3, 1], 2),
  ],
  [
    'asStrided of a slice',
    [10],
    (x) => kn.asStrided(x.slice([{ start: 1, step: 2 }]), [2, 2], [2, 1]),
    (r) => R.asStridedRef(R.sliceRef(r, [{ start: 1, step: 2 }]), [2, 2], [2, 1]),
  ],
  [
    'transpose of a broadcast of a slice',
    [6, 5],
    (x) =>
      x
        .slice([{ start: 1, step: 2 }, { step: -2 }])
        .broadcastTo([2, 3, 3])
        .transpose([2, 0, 1]),
    (r) => R.transposeRef(R.broadcastToRef(R.sliceRef(r, [{ start: 1, step: 2 }, { step: -2 }]), [2, 3, 3]), [2, 0, 1]),
  ],
  [
    'slice of a transposed broadcast',
    [3, 1],
    (x) => x.broadcastTo([3, 5]).T.slice([{ start: 4, step: -2 }, { start: 1 }]),
    (r) => R.sliceRef(R.transposeRef(R.broadcastToRef(r, [3, 5])), [{ start: 4, step: -2 }, { start: 1 }]),
  ],
  [
    'squeeze of an expanded slice',
    [5, 4],
    (x) =>
      x
        .slice([{ start: 2, stop: 3 }])
        .squeeze(0)
        .expandDims(1),
    (r) => R.reshapeRef(R.sliceRef(r, [{ start: 2, stop: 3 }]), [4, 1]),
  ],
];

const ALL = DTYPES.flatMap((d) => CASES.map((c) => [d, c[0]] as [DType, string]));

describe('views read back (copy kernel on strided inputs)', () => {
  it.each(ALL)('%s: %s', (d, name) => {
    const [, base, kf, rf] = CASES.find((c) => c[0] === name)!;
    runCase(() => {
      const rng = mulberry32(seedOf('view', d, name));
      const data = genValues(d, R.sizeOf(base), rng);
      const x = fromVals(d, base, data);
      const exp = rf(R.make(d, base, data));
      const v = kf(x);
      kn.eval(v);
      poison(nbytesOf(d, exp.shape)); // readback of a strided view copies into a fresh buffer
      expectMatches(v, exp, { signedZero: true });
      // tolist agrees with the flat values and the shape
      const nested = v.tolist();
      const flat = exp.shape.length === 0 ? [nested] : (nested as unknown[]).flat(exp.shape.length);
      expect(flat.length).toBe(exp.data.length);
    });
  });
});

describe('views share the buffer (no copy)', () => {
  it.each([
    ['transpose', (x: kn.NDArray) => x.T],
    ['slice', (x: kn.NDArray) => x.slice([{ start: 1, step: 2 }, { step: -1 }])],
    ['broadcastTo', (x: kn.NDArray) => x.expandDims(0).broadcastTo([3, 4, 6])],
    ['reshape', (x: kn.NDArray) => x.reshape([2, 12])],
    ['squeeze/expandDims', (x: kn.NDArray) => x.expandDims([0, 2]).squeeze()],
    ['asStrided', (x: kn.NDArray) => kn.asStrided(x, [3, 3], [1, 2], 2)],
  ] as [string, (x: kn.NDArray) => kn.NDArray][])('%s', (_, f) => {
    runCase(() => {
      const x = kn.arange(24, 'float32').reshape([4, 6]);
      kn.eval(x);
      const before = kn.memory.buffers();
      const v = f(x);
      kn.eval(v);
      expect(kn.memory.buffers()).toBe(before);
    });
  });
  it('views of a disposed base stay valid', () => {
    const x = kn.arange(6).reshape([2, 3]);
    const t = x.T;
    kn.eval(t);
    x.dispose();
    expect(t.tolist()).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    t.dispose();
  });
});

describe('large strided readback (multi-threaded copy)', () => {
  it.each(['float32', 'float16', 'int64', 'uint8'] as DType[])('%s [300, 400] transposed and sliced', (d) => {
    runCase(() => {
      const rng = mulberry32(seedOf('bigview', d));
      const data = genValues(d, 600 * 401, rng, { lo: -100, hi: 100, specials: [] });
      const x = fromVals(d, [600, 401], data);
      const ref = R.make(d, [600, 401], data);
      const v = x.slice([{ start: 599, step: -2 }, { start: 1 }]).T;
      poison(nbytesOf(d, [400, 300]));
      expectMatches(v, R.transposeRef(R.sliceRef(ref, [{ start: 599, step: -2 }, { start: 1 }])));
    });
  });
});

describe('view errors', () => {
  const x = () => kn.arange(6).reshape([2, 3]);
  it('reshape to a different size', () => {
    expect(() => kn.arange(6).reshape([4])).toThrow(/\[reshape\] cannot reshape array of size 6 into shape \[4\]/);
    expect(() => kn.arange(6).reshape([-1, 4])).toThrow(/\[reshape\]/);
    expect(() => kn.arange(6).reshape([-1, -1])).toThrow(/\[reshape\] can only specify one unknown dimension/);
  });
  it('transpose with bad axes', () => {
    expect(() => x().transpose([0])).toThrow(/\[transpose\]/);
    expect(() => x().transpose([0, 0])).toThrow(/\[transpose\].*repeated/);
    expect(() => x().transpose([0, 2])).toThrow(/\[transpose\].*out of bounds/);
  });
  it('broadcastTo an incompatible shape', () => {
    expect(() => x().broadcastTo([2, 4])).toThrow(/\[broadcastTo\].*broadcast/);
    expect(() => x().broadcastTo([3])).toThrow(/\[broadcastTo\]/);
  });
  it('slice with step 0, too many specs or fractional bounds', () => {
    expect(() => x().slice([{ step: 0 }])).toThrow(/\[slice\] slice step must be a non-zero integer/);
    expect(() => x().slice([{}, {}, {}])).toThrow(/\[slice\] too many slices/);
    expect(() => x().slice([{ start: 0.5 }])).toThrow(/\[slice\]/);
  });
  it('squeeze of an axis that is not 1', () => {
    expect(() => x().squeeze(0)).toThrow(/\[squeeze\].*not 1/);
  });
  it('expandDims out of range', () => {
    expect(() => x().expandDims(4)).toThrow(/\[expandDims\].*out of bounds/);
  });
  it('asStrided outside the array', () => {
    expect(() => kn.asStrided(kn.arange(6), [3], [3])).toThrow(/\[asStrided\].*reaches outside/);
    expect(() => kn.asStrided(kn.arange(6), [2], [-1])).toThrow(/\[asStrided\].*reaches outside/);
    expect(() => kn.asStrided(kn.arange(6), [2], [1, 1])).toThrow(/\[asStrided\]/);
  });
  it('a disposed array cannot be used', () => {
    const a = kn.arange(3);
    a.dispose();
    expect(() => a.T).toThrow(/disposed/);
    expect(() => kn.add(a, 1)).toThrow(/disposed/);
  });
});
