// numpy-style indexing front end: `a.index(...)` (integers, slices, newaxis, '...', integer
// arrays, a boolean mask) and functional updates `kn.at(a, index).add(v)`, sliceUpdate, put_.
// Integer-array indexing gathers with one kernel (ops/take_scatter.ts); updates scatter with one.
import { NDArray } from '../core/array.js';
import { isInteger } from '../core/dtype.js';
import { broadcastShapes, fmtValue, normalizeAxis, sizeOf } from '../core/shape.js';
import { arange } from './creation.js';
import { booleanMask } from './datadep.js';
import { asArray } from './convert.js';
import { add, astype, greaterEqual, less, logicalAnd, multiply, where, type Operand } from './elementwise.js';
import { indexArray, scatterFlat, take, type ScatterMode } from './take_scatter.js';
import { broadcastTo, reshape, slice, transpose, type SliceSpec } from './views.js';

/** numpy's `np.newaxis`: inserts a size-1 axis in `a.index(...)`. */
export const newaxis = null;

/** A slice for `a.index(...)`: `kn.sliceOf(1, -1, 2)` is numpy's `1:-1:2`. */
export function sliceOf(start?: number | null, stop?: number | null, step?: number | null): SliceSpec {
  return { start, stop, step };
}

// ---- a.index(...) ---------------------------------------------------------------------------

export type IndexItem = number | string | SliceSpec | null | NDArray | readonly number[];

function parseSliceString(s: string): SliceSpec | '...' {
  if (s === '...') return '...';
  const parts = s.split(':');
  if (parts.length < 2 || parts.length > 3) throw new Error(`[index] invalid slice string ${JSON.stringify(s)}`);
  const num = (t: string) => {
    if (t.trim() === '') return null;
    const v = Number(t);
    if (!Number.isInteger(v)) throw new Error(`[index] invalid slice string ${JSON.stringify(s)}`);
    return v;
  };
  return { start: num(parts[0]), stop: num(parts[1]), step: parts.length === 3 ? num(parts[2]) : null };
}


/**
 * Index arrays that already hold data are checked now, so an out-of-range one is named as
 * given (several advanced axes merge into one flat index, whose out-of-range marker would say
 * nothing about the user's value).
 */
function checkEvaluated(t: NDArray, n: number, axis: number): void {
  if (!t.node.data || t.size > 1 << 16) return;
  for (const raw of Array.from(t.toTypedArray() as ArrayLike<number | bigint>)) {
    const v = Number(raw);
    if (v < -n || v >= n) throw new RangeError(`[index] index ${v} is out of bounds for axis ${axis} with size ${n}`);
  }
}

/**
 * numpy indexing: integers, `kn.sliceOf(...)` or '1:-1:2' strings, `null` (newaxis), '...',
 * a boolean mask alone (a synchronisation point, see booleanMask), and integer arrays (advanced indexing: several arrays broadcast together; their result
 * dimensions go where the first one stood when they are adjacent, else first — numpy's rule).
 * Basic indices give views; integer arrays gather.
 * @example kn.arange(12).reshape(3, 4).index(1, '::2').tolist() // [4, 6]
 * @example kn.arange(5).index(kn.array([4, 0])).tolist() // [4, 0]
 */
export function index(a: NDArray, ...items: IndexItem[]): NDArray {
  const x = asArray(a, 'index');
  if (items.length === 1 && items[0] instanceof NDArray && items[0].dtype === 'bool') return booleanMask(x, items[0]);
  // expand '...' and count the axes items consume
  const parsed = items.map((it) => (typeof it === 'string' ? parseSliceString(it) : it));
  const consumes = (it: unknown) => it !== null && it !== '...';
  const used = parsed.filter(consumes).length;
  if (parsed.filter((p) => p === '...').length > 1) throw new Error('[index] an index can only have a single ellipsis');
  if (used > x.ndim) throw new Error(`[index] too many indices (${used}) for an array of dimension ${x.ndim}`);
  const full: (SliceSpec | number | null | NDArray)[] = [];
  for (const p of parsed) {
    if (p === '...') for (let k = 0; k < x.ndim - used; k++) full.push({});
    else if (Array.isArray(p)) full.push(indexArray(p, 'index'));
    else full.push(p as SliceSpec | number | null | NDArray);
  }
  while (full.filter(consumes).length < x.ndim) full.push({});
  // with an index array present, integers are advanced indices too (numpy's rule)
  if (full.some((it) => it instanceof NDArray)) {
    let ax = 0;
    full.forEach((it, i) => {
      if (it === null) return;
      if (typeof it === 'number') {
        const n = x.shape[ax];
        if (!Number.isInteger(it)) throw new TypeError(`[index] index must be an integer, got ${it}`);
        if (it < -n || it >= n) throw new RangeError(`[index] index ${it} is out of bounds for axis ${ax} with size ${n}`);
        full[i] = asArray(it, 'index', 'int32');
      }
      ax++;
    });
  }

  // basic part: slices (ints as length-1 slices), then a reshape that drops ints / adds newaxis
  const specs: SliceSpec[] = [];
  const advanced: NDArray[] = [];
  let axis = 0;
  const sliceShape = x.shape;
  for (const it of full) {
    if (it === null) continue;
    const n = sliceShape[axis];
    if (typeof it === 'number') {
      if (!Number.isInteger(it)) throw new TypeError(`[index] index must be an integer, got ${it}`);
      if (it < -n || it >= n) throw new RangeError(`[index] index ${it} is out of bounds for axis ${axis} with size ${n}`);
      const i = it < 0 ? it + n : it;
      specs.push({ start: i, stop: i + 1 });
    } else if (it instanceof NDArray) {
      if (it.dtype === 'bool') throw new TypeError('[index] a boolean mask must be the only index: a.index(mask)');
      if (!isInteger(it.dtype)) throw new TypeError(`[index] indices must be integers, got ${it.dtype}`);
      specs.push({});
      advanced.push(it);
    } else if (typeof it === 'object') {
      specs.push(it as SliceSpec);
    } else {
      throw new TypeError(`[index] unsupported index ${fmtValue(it)}`);
    }
    axis++;
  }
  let v = slice(x, specs);
  const vs = v.shape;
  // keep the axes that survive (slices and advanced), in order
  let k = 0;
  const keptShape: number[] = [];
  const keptIsAdv: boolean[] = [];
  const finalShape: number[] = [];
  for (const it of full) {
    if (it === null) {
      finalShape.push(1);
      continue;
    }
    if (typeof it !== 'number') {
      keptShape.push(vs[k]);
      keptIsAdv.push(it instanceof NDArray);
      finalShape.push(vs[k]);
    }
    k++;
  }
  v = reshape(v, keptShape);
  if (advanced.length === 0) return reshape(v, finalShape);

  // advanced part on the kept axes
  const advAxes = keptIsAdv.flatMap((b, i) => (b ? [i] : []));
  const arrs = advanced;
  const bshape = broadcastShapes('index', ...arrs.map((t) => t.shape));
  const dims = advAxes.map((i) => keptShape[i]);
  // flat index into the advanced axes (moved to the front); out-of-range → error in the kernel
  let flat: NDArray | null = null;
  const total = sizeOf(dims);
  let stride = 1;
  for (let j = advAxes.length - 1; j >= 0; j--) {
    const n = dims[j];
    const t = astype(broadcastTo(arrs[j], bshape), 'int64');
    checkEvaluated(arrs[j], n, advAxes[j]);
    // one advanced axis: the gather kernel wraps negatives and names a bad index itself
    if (advAxes.length === 1) {
      flat = t;
      break;
    }
    const wrapped = where(less(t, 0), add(t, n), t);
    const ok = logicalAnd(greaterEqual(wrapped, 0), less(wrapped, n));
    const safe = where(ok, wrapped, total + 1); // pushes the flat index out of range
    const term = multiply(safe, stride);
    flat = flat ? add(flat, term) : term;
    stride *= n;
  }
  const restAxes = keptShape.map((_, i) => i).filter((i) => !advAxes.includes(i));
  const moved = transpose(v, [...advAxes, ...restAxes]);
  const merged = reshape(moved, [total, ...restAxes.map((i) => keptShape[i])]);
  const gathered = take(merged, flat!, 0); // [...bshape, ...rest]
  const adjacent = advAxes.every((p, i) => i === 0 || p === advAxes[i - 1] + 1);
  // positions in the final result: newaxis dims were placed in finalShape order; rebuild it
  const restShape = restAxes.map((i) => keptShape[i]);
  let result = gathered;
  if (adjacent && advAxes[0] > 0) {
    const nb = bshape.length,
      first = advAxes[0];
    const perm = [
      ...Array.from({ length: first }, (_, i) => nb + i),
      ...Array.from({ length: nb }, (_, i) => i),
      ...Array.from({ length: restShape.length - first }, (_, i) => nb + first + i),
    ];
    result = transpose(gathered, perm);
  }
  // newaxis entries: insert size-1 dims where they stood among the kept (non-advanced) axes
  const newaxisCount = full.filter((it) => it === null).length;
  if (newaxisCount) {
    const rs = result.shape;
    const out: number[] = [];
    let r = 0,
      advDone = false;
    const advAt = adjacent ? advAxes[0] : 0;
    let keptPos = 0;
    if (!adjacent) {
      out.push(...bshape);
      r = bshape.length;
      advDone = true;
    }
    for (const it of full) {
      if (it === null) {
        out.push(1);
        continue;
      }
      if (typeof it === 'number') continue;
      if (it instanceof NDArray) {
        if (!advDone && keptPos === advAt) {
          out.push(...bshape);
          r += bshape.length;
          advDone = true;
        }
      } else {
        out.push(rs[r++]);
      }
      keptPos++;
    }
    result = reshape(result, out);
  }
  return result;
}

// ---- functional updates ---------------------------------------------------------------------

/** Linear indices (into `a` flattened) of the elements `index(...items)` selects. */
function selectedPositions(a: NDArray, items: IndexItem[]): NDArray {
  const pos = reshape(arange(a.size), a.shape);
  return index(pos, ...items);
}

export interface AtUpdater {
  set(values: Operand): NDArray;
  add(values: Operand): NDArray;
  subtract(values: Operand): NDArray;
  multiply(values: Operand): NDArray;
  divide(values: Operand): NDArray;
  maximum(values: Operand): NDArray;
  minimum(values: Operand): NDArray;
}

/**
 * Functional indexed updates with scatter semantics (JAX/MLX `.at[]`): repeated indices
 * accumulate for add/subtract/multiply/divide and the last write wins for set.
 * @example kn.at(kn.zeros([3]), kn.array([0, 0, 2])).add(1).tolist() // [2, 0, 1]
 */
export function at(a: NDArray, ...items: IndexItem[]): AtUpdater {
  const x = asArray(a, 'at');
  const upd =
    (mode: ScatterMode) =>
    (values: Operand): NDArray =>
      scatterFlat('at', x, selectedPositions(x, items), values, mode);
  return {
    set: upd('set'),
    add: upd('add'),
    subtract: upd('subtract'),
    multiply: upd('multiply'),
    divide: upd('divide'),
    maximum: upd('maximum'),
    minimum: upd('minimum'),
  };
}

/**
 * MLX's slice_update: a copy of `a` with `update` written at `start` (per axis in `axes`).
 * @example kn.sliceUpdate(kn.zeros([4]), kn.ones([2]), [1]).tolist() // [0, 1, 1, 0]
 */
export function sliceUpdate(a: NDArray, update: Operand, start: readonly number[], axes?: readonly number[]): NDArray {
  const x = asArray(a, 'sliceUpdate');
  const u = typeof update === 'object' ? asArray(update, 'sliceUpdate') : null;
  const ax = axes ? axes.map((i) => normalizeAxis(i, x.ndim, 'sliceUpdate')) : start.map((_, i) => i);
  if (ax.length !== start.length) throw new Error(`[sliceUpdate] ${start.length} starts for ${ax.length} axes`);
  const items: IndexItem[] = x.shape.map(() => ({}) as SliceSpec);
  ax.forEach((axis, k) => {
    const len = u ? (u.shape[u.ndim - x.ndim + axis] ?? 1) : 1;
    items[axis] = { start: start[k], stop: start[k] + len };
  });
  return at(x, ...items).set(update);
}

/**
 * In-place indexed assignment (numpy's `a[index] = values`): rebinds `a` to the updated array.
 * Other arrays that shared `a`'s data keep the old values (copy-on-write).
 * @example
 * const a = kn.zeros([3]);
 * kn.put_(a, [1], 5);
 * a // [0, 5, 0]
 */
export function put_(a: NDArray, items: IndexItem | IndexItem[], values: Operand): NDArray {
  const list = Array.isArray(items) && !items.every((v) => typeof v === 'number') ? (items as IndexItem[]) : [items as IndexItem];
  const updated = at(a, ...list).set(values);
  a.rebind(updated.node);
  updated.dispose();
  return a;
}
