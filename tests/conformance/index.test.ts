// gather / scatter kernels (take, takeAlongAxis, at().set/add) on every dtype and layout,
// against a plain TypeScript reference. Gather copies bytes, so results must match exactly.
import { describe, it, expect } from 'vitest';
import * as kn from '../../index.js';
import { DTYPES, LAYOUTS, genValues, mulberry32, seedOf, poison, nbytesOf, readVals, runCase, type DType } from './util.js';

const layouts = LAYOUTS.filter((l) => l.shape.length > 0);

function strides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Reference take along `axis` with 1-d indices (negative ones wrap). */
function refTake<T>(data: T[], shape: number[], idx: number[], axis: number): T[] {
  const st = strides(shape),
    n = shape[axis];
  const outShape = shape.slice();
  outShape[axis] = idx.length;
  const ost = strides(outShape),
    size = outShape.reduce((p, d) => p * d, 1);
  const out: T[] = [];
  for (let f = 0; f < size; f++) {
    let src = 0;
    for (let d = 0; d < shape.length; d++) {
      let i = Math.floor(f / ost[d]) % outShape[d];
      if (d === axis) i = idx[i] < 0 ? idx[i] + n : idx[i];
      src += i * st[d];
    }
    out.push(data[src]);
  }
  return out;
}

describe.each(DTYPES as unknown as DType[])('gather/scatter %s', (d) => {
  it.each(layouts.map((l) => [l.name, l] as const))('take along every axis, %s', (_, layout) => {
    runCase(() => {
      const rng = mulberry32(seedOf('take', d, layout.name));
      const { x, ref } = layout.build(d, (n) => genValues(d, n, rng));
      for (let axis = 0; axis < layout.shape.length; axis++) {
        const n = layout.shape[axis];
        const idx = n === 0 ? [] : [n - 1, 0, -1, Math.floor(n / 2), -n];
        const outShape = layout.shape.slice();
        outShape[axis] = idx.length;
        poison(nbytesOf(d, outShape));
        const got = kn.take(x, kn.array(idx, 'int32'), axis);
        expect(got.shape).toEqual(outShape);
        expect(readVals(got)).toEqual(refTake(ref.data, layout.shape, idx, axis));
      }
    });
  });

  it('at().set and at().add scatter with repeated indices', () => {
    runCase(() => {
      const rng = mulberry32(seedOf('scatter', d));
      const base = genValues(d, 6, rng, { lo: -4, hi: 4, ilo: 0, ihi: 5 });
      const upd = genValues(d, 3, rng, { lo: -4, hi: 4, ilo: 0, ihi: 5 });
      const x = kn.array(base as never[], d);
      const set = kn.at(x, kn.array([4, 1, -2])).set(kn.array(upd as never[], d));
      const expSet = base.slice();
      [4, 1, 4].forEach((i, k) => (expSet[i] = upd[k]));
      expect(readVals(set)).toEqual(readVals(kn.array(expSet as never[], d)));
      if (d !== 'bool') {
        const added = kn.at(x, kn.array([2, 2, 5])).add(kn.array(upd as never[], d));
        // reference arithmetic through kn.add (itself checked against the reference in binary.test.ts),
        // applied in the kernel's order: base[2] + u0 + u1, base[5] + u2
        const expAdd = kn
          .array(base as never[], d)
          .add(kn.array([0, 0, upd[0], 0, 0, 0] as never[], d))
          .add(kn.array([0, 0, upd[1], 0, 0, upd[2]] as never[], d));
        expect(readVals(added)).toEqual(readVals(expAdd));
      }
    });
  });
});
