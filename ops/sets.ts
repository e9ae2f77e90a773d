// Set operations on 1-d arrays (numpy's isin, intersect1d, union1d, setdiff1d, setxor1d). isin is
// lazy (sort + searchsorted); the others have data-dependent sizes, so like kn.unique they
// evaluate their inputs (synchronisation points) and build the result on the host.
import type { NDArray } from '../core/array.js';
import { resultType, type DType } from '../core/dtype.js';
import type { Scalar } from '../core/host.js';
import { arrayFrom, asArray, checkOptions, type ArrayInput } from './convert.js';
import { full } from './creation.js';
import { astype, equal, logicalNot, maximum, minimum } from './elementwise.js';
import { unique } from './datadep.js';
import { sort, searchsorted } from './sort.js';
import { concatenate } from './shape.js';
import { take } from './take_scatter.js';
import { reshape } from './views.js';

/**
 * Whether each element of `element` is in `testElements` (same shape as `element`, bool); with
 * `invert: true`, whether it is not. NaN is never found (NaN != NaN).
 * @example kn.isin(kn.array([1, 2, 3, 4]), [2, 4]).tolist() // [false, true, false, true]
 */
export function isin(element: ArrayInput, testElements: ArrayInput, opts: { invert?: boolean } = {}): NDArray {
  const op = 'isin';
  checkOptions(opts, op, '{ invert: true }');
  const x = asArray(element, op),
    t0 = asArray(testElements, op);
  const dt = resultType(x.dtype, t0.dtype);
  let found: NDArray;
  if (t0.size === 0) found = full(x.shape, false, 'bool');
  else {
    const s = sort(astype(reshape(t0, [t0.size]), dt));
    const xs = astype(x, dt);
    const i = minimum(maximum(searchsorted(s, xs), 0), t0.size - 1);
    found = equal(take(s, i), xs);
  }
  return opts.invert ? logicalNot(found) : found;
}

type V = number | bigint;
const host = (a: NDArray): V[] => Array.from(a.toTypedArray() as ArrayLike<V>);
const flat = (a: NDArray) => reshape(a, [a.size]);
const uniq = (a: NDArray, op: string): NDArray => unique(flat(asArray(a, op))).values;
const out = (vals: V[], dt: DType, op: string) => arrayFrom(vals as Scalar[], dt, op).reshape([vals.length]);
const isNum = (v: V): v is number => typeof v === 'number';
const lt = (p: V, q: V) => (isNum(p) && Number.isNaN(p) ? false : isNum(q) && Number.isNaN(q) ? true : p < q);
const sorted = (vals: V[]) => vals.slice().sort((p, q) => (lt(p, q) ? -1 : lt(q, p) ? 1 : 0));

function pair(a: ArrayInput, b: ArrayInput, op: string): { x: NDArray; y: NDArray; dt: DType } {
  const x = asArray(a, op),
    y = asArray(b, op);
  const dt = resultType(x.dtype, y.dtype);
  return { x: astype(x, dt), y: astype(y, dt), dt };
}

/**
 * Sorted unique values present in both arrays (numpy's intersect1d). With `returnIndices`, also
 * the indices of their first occurrences in the flattened a and b. Synchronisation point.
 * @example kn.intersect1d(kn.array([1, 3, 4, 3]), kn.array([3, 1, 2, 1])).tolist() // [1, 3]
 */
export function intersect1d(a: ArrayInput, b: ArrayInput, opts: { assumeUnique?: boolean; returnIndices: true }): [NDArray, NDArray, NDArray];
export function intersect1d(a: ArrayInput, b: ArrayInput, opts?: { assumeUnique?: boolean; returnIndices?: false }): NDArray;
export function intersect1d(
  a: ArrayInput,
  b: ArrayInput,
  opts: { assumeUnique?: boolean; returnIndices?: boolean } = {},
): NDArray | [NDArray, NDArray, NDArray] {
  const op = 'intersect1d';
  checkOptions(opts, op, '{ returnIndices: true }');
  const { x, y, dt } = pair(a, b, op);
  const ux = opts.assumeUnique ? host(flat(x)) : host(uniq(x, op)),
    uy = opts.assumeUnique ? host(flat(y)) : host(uniq(y, op));
  const aux = sorted([...ux, ...uy]);
  const common: V[] = [];
  for (let i = 1; i < aux.length; i++) if (aux[i] === aux[i - 1]) common.push(aux[i]);
  const res = out(common, dt, op);
  if (!opts.returnIndices) return res;
  const firstIndex = (arr: V[]) => {
    const m = new Map<V, number>();
    arr.forEach((v, i) => {
      if (!m.has(v)) m.set(v, i);
    });
    return common.map((v) => m.get(v)!);
  };
  return [res, arrayFrom(Int32Array.from(firstIndex(host(flat(x)))), 'int32', op), arrayFrom(Int32Array.from(firstIndex(host(flat(y)))), 'int32', op)];
}

/**
 * Sorted unique values in either array (numpy's union1d). Synchronisation point.
 * @example kn.union1d(kn.array([-1, 0, 1]), kn.array([-2, 0, 2])).tolist() // [-2, -1, 0, 1, 2]
 */
export function union1d(a: ArrayInput, b: ArrayInput): NDArray {
  const { x, y } = pair(a, b, 'union1d');
  return unique(concatenate([flat(x), flat(y)])).values;
}

/**
 * Sorted unique values of a that are not in b (numpy's setdiff1d; with `assumeUnique` a's order is
 * kept). Synchronisation point.
 * @example kn.setdiff1d(kn.array([1, 2, 3, 2, 4, 1]), kn.array([3, 4, 5, 6])).tolist() // [1, 2]
 */
export function setdiff1d(a: ArrayInput, b: ArrayInput, opts: { assumeUnique?: boolean } = {}): NDArray {
  const op = 'setdiff1d';
  checkOptions(opts, op, '{ assumeUnique: true }');
  const { x, y, dt } = pair(a, b, op);
  const ux = opts.assumeUnique ? host(flat(x)) : host(uniq(x, op));
  const inB = new Set<V>(host(flat(y)));
  return out(
    ux.filter((v) => !inB.has(v) || (isNum(v) && Number.isNaN(v))),
    dt,
    op,
  );
}

/**
 * Sorted unique values in exactly one of the arrays (numpy's setxor1d). Synchronisation point.
 * @example kn.setxor1d(kn.array([1, 2, 3, 2, 4]), kn.array([2, 3, 5, 7, 5])).tolist() // [1, 4, 5, 7]
 */
export function setxor1d(a: ArrayInput, b: ArrayInput, opts: { assumeUnique?: boolean } = {}): NDArray {
  const op = 'setxor1d';
  checkOptions(opts, op, '{ assumeUnique: true }');
  const { x, y, dt } = pair(a, b, op);
  const ux = opts.assumeUnique ? host(flat(x)) : host(uniq(x, op)),
    uy = opts.assumeUnique ? host(flat(y)) : host(uniq(y, op));
  const aux = sorted([...ux, ...uy]);
  // numpy's flags: an element equal to neither neighbour (NaN equals nothing)
  const res = aux.filter((v, i) => (i === 0 || aux[i - 1] !== v) && (i === aux.length - 1 || aux[i + 1] !== v));
  return out(res, dt, op);
}
