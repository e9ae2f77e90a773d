// Ops whose output shape depends on the data (beyond MLX, like numpy): nonzero, argwhere,
// flatnonzero, unique, boolean-mask selection, one-argument where. Each one EVALUATES its input first: it is a
// synchronisation point, so keep it out of hot loops.
import type { NDArray } from '../core/array.js';
import { fmtShape } from '../core/shape.js';
import type { Scalar } from '../core/host.js';
import { arrayFrom, asArray } from './convert.js';
import { astype, where as select, type Operand } from './elementwise.js';
import { take } from './take_scatter.js';
import { reshape } from './views.js';

function truthy(a: NDArray): Uint8Array {
  const b = astype(a, 'bool');
  const t = b.toTypedArray() as Uint8Array;
  if (b !== a) b.dispose();
  return t;
}

/** Row-major flat positions of the non-zero elements (host side). */
function flatNonzeroHost(a: NDArray): number[] {
  const t = truthy(a);
  const out: number[] = [];
  for (let i = 0; i < t.length; i++) if (t[i]) out.push(i);
  return out;
}

/**
 * Indices of the non-zero elements of the flattened array (int32). Synchronisation point.
 * @example kn.flatnonzero(kn.array([0, 3, 0, 4])).tolist() // [1, 3]
 */
export function flatnonzero(a: NDArray): NDArray {
  const x = asArray(a, 'flatnonzero');
  return arrayFrom(Int32Array.from(flatNonzeroHost(x)), 'int32', 'flatnonzero');
}

/**
 * One int32 index array per dimension for the non-zero elements (numpy's nonzero).
 * Synchronisation point: evaluates `a`.
 * @example kn.nonzero(kn.array([[1, 0], [0, 2]])).map((i) => i.tolist()) // [[0, 1], [0, 1]]
 */
export function nonzero(a: NDArray): NDArray[] {
  const x = asArray(a, 'nonzero');
  if (x.ndim === 0) throw new Error('[nonzero] is not defined for zero-dimensional arrays; use atleast1d first');
  const flat = flatNonzeroHost(x);
  const shape = x.shape;
  return shape.map((_, d) => {
    const stride = shape.slice(d + 1).reduce((p, s) => p * s, 1);
    return arrayFrom(
      Int32Array.from(flat, (f) => Math.floor(f / stride) % shape[d]),
      'int32',
      'nonzero',
    );
  });
}

/**
 * Indices of non-zero elements as an [n, ndim] int32 array. Synchronisation point.
 * @example kn.argwhere(kn.array([0, 5, 6])).tolist() // [[1], [2]]
 */
export function argwhere(a: NDArray): NDArray {
  const x = asArray(a, 'argwhere');
  const flat = flatNonzeroHost(x);
  const shape = x.shape,
    nd = shape.length;
  const out = new Int32Array(flat.length * nd);
  flat.forEach((f, r) => {
    for (let d = nd - 1; d >= 0; d--) {
      out[r * nd + d] = f % shape[d];
      f = Math.floor(f / shape[d]);
    }
  });
  return reshape(arrayFrom(out, 'int32', 'argwhere'), [flat.length, nd]);
}

/**
 * Boolean-mask selection (numpy `a[mask]`): `mask` covers the leading dims of `a`; the result
 * stacks the selected sub-arrays in row-major order. Synchronisation point (evaluates `mask`).
 * @example kn.booleanMask(kn.array([1, 2, 3]), kn.array([true, false, true])).tolist() // [1, 3]
 */
export function booleanMask(a: NDArray, mask: NDArray): NDArray {
  const x = asArray(a, 'booleanMask');
  const m = asArray(mask, 'booleanMask');
  if (m.dtype !== 'bool') throw new TypeError(`[booleanMask] mask must be a bool array, got ${m.dtype}`);
  const ms = m.shape,
    xs = x.shape;
  if (ms.length > xs.length || ms.some((d, i) => d !== xs[i]))
    throw new Error(`[booleanMask] mask of shape ${fmtShape(ms)} does not match the leading dims of an array of shape ${fmtShape(xs)}`);
  const lead = ms.reduce((p, d) => p * d, 1);
  const rows = reshape(x, [lead, ...xs.slice(ms.length)]);
  const idx = flatnonzero(m);
  return take(rows, idx, 0);
}

/**
 * `kn.where`: three arguments pick from `x` where `cond` is true and from `y` elsewhere
 * (elementwise, lazy); one argument is numpy's `where(cond)` = `nonzero(cond)`, a
 * synchronisation point. Kept here, not in elementwise.ts, so that elementwise ops never import
 * the data-dependent ones.
 * @example kn.where(kn.array([true, false]), 1, 2) // [1, 2]
 * @example kn.where(kn.array([0, 2, 3])).map((i) => i.tolist()) // [[1, 2]]
 */
export function where(cond: Operand, x: Operand, y: Operand): NDArray;
export function where(cond: NDArray): NDArray[];
export function where(cond: Operand, x?: Operand, y?: Operand): NDArray | NDArray[] {
  if (x === undefined && y === undefined) return nonzero(asArray(cond, 'where'));
  if (x === undefined || y === undefined) throw new TypeError('[where] expected one argument (cond) or three (cond, x, y)');
  return select(cond, x, y);
}

export interface UniqueOptions {
  returnIndex?: boolean;
  returnInverse?: boolean;
  returnCounts?: boolean;
}
export interface UniqueResult {
  values: NDArray;
  indices?: NDArray;
  inverse?: NDArray;
  counts?: NDArray;
}

/**
 * Sorted unique elements of the flattened array, optionally with first indices, the inverse
 * mapping and counts (numpy's unique; NaNs are collapsed into one, as numpy 2 does).
 * Synchronisation point: evaluates `a`.
 * @example kn.unique(kn.array([3, 1, 3, 2])).values.tolist() // [1, 2, 3]
 */
export function unique(a: NDArray, opts: UniqueOptions = {}): UniqueResult {
  const x = asArray(a, 'unique');
  const flat = reshape(x, [x.size]);
  const host = Array.from(flat.toTypedArray() as ArrayLike<number | bigint>) as (number | bigint)[];
  const key = (v: number | bigint) => v;
  const order = host
    .map((_, i) => i)
    .sort((i, j) => {
      const p = key(host[i]),
        q = key(host[j]);
      const pn = typeof p === 'number' && Number.isNaN(p),
        qn = typeof q === 'number' && Number.isNaN(q);
      if (pn || qn) return pn && qn ? i - j : pn ? 1 : -1;
      return p < q ? -1 : p > q ? 1 : i - j;
    });
  const values: (number | bigint)[] = [],
    first: number[] = [],
    counts: number[] = [];
  const inverse = new Int32Array(host.length);
  const same = (p: number | bigint, q: number | bigint) => p === q || (typeof p === 'number' && typeof q === 'number' && Number.isNaN(p) && Number.isNaN(q));
  for (const i of order) {
    const v = host[i];
    if (values.length === 0 || !same(values[values.length - 1], v)) {
      values.push(v);
      first.push(i);
      counts.push(0);
    }
    counts[counts.length - 1]++;
    inverse[i] = values.length - 1;
  }
  const res: UniqueResult = { values: arrayFrom(values as Scalar[], x.dtype, 'unique') };
  if (x.dtype !== 'bool' && values.length === 0) res.values = reshape(res.values, [0]);
  if (opts.returnIndex) res.indices = arrayFrom(Int32Array.from(first), 'int32', 'unique');
  if (opts.returnInverse) res.inverse = reshape(arrayFrom(inverse, 'int32', 'unique'), x.shape);
  if (opts.returnCounts) res.counts = arrayFrom(Int32Array.from(counts), 'int32', 'unique');
  return res;
}
