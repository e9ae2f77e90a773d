// Gathers and scatters along an axis: take, takeAlongAxis, putAlongAxis, and the flat scatter
// behind `kn.at(...)`. One Gather or Scatter kernel each; the `a.index(...)` front end
// (ops/index_expr.ts) builds on these.
import { NDArray } from '../core/array.js';
import { isInteger, type DType } from '../core/dtype.js';
import { Gather, Scatter } from '../core/primitives.js';
import { broadcastShapes, fmtShape, normalizeAxis, sizeOf } from '../core/shape.js';
import { asArray } from './convert.js';
import { operandAs, type Operand } from './elementwise.js';
import { make } from './make.js';
import { broadcastTo, reshape } from './views.js';

export function indexArray(x: unknown, op: string): NDArray {
  const a = asArray(x, op);
  if (!isInteger(a.dtype)) throw new TypeError(`[${op}] indices must be integers, got ${a.dtype}`);
  return a;
}

/** View `x` as [A, N, B] around `axis`. */
function as3d(x: NDArray, axis: number): NDArray {
  const s = x.shape;
  return reshape(x, [sizeOf(s.slice(0, axis)), s[axis], sizeOf(s.slice(axis + 1))]);
}

/**
 * Elements at `indices` along `axis` (of the flattened array when omitted); negative indices
 * count from the end, out-of-range ones raise when evaluated.
 * @example kn.take(kn.array([10, 20, 30]), kn.array([2, 0])).tolist() // [30, 10]
 */
export function take(a: NDArray, indices: NDArray | number | readonly number[], axis?: number): NDArray {
  let x = asArray(a, 'take');
  const idx = indexArray(indices, 'take');
  let ax: number;
  if (axis === undefined || axis === null) {
    x = reshape(x, [x.size]);
    ax = 0;
  } else ax = normalizeAxis(axis, x.ndim, 'take');
  const s = x.shape;
  const src = as3d(x, ax);
  const [A, , B] = src.shape;
  const m = idx.size;
  // the kernel broadcasts size-1 index dims itself, so indices are checked even for empty outputs
  const out = make(Gather, {}, [src, reshape(idx, [1, m, 1])], [A, m, B], x.dtype);
  return reshape(out, [...s.slice(0, ax), ...idx.shape, ...s.slice(ax + 1)]);
}

/**
 * numpy's take_along_axis: `indices` has the array's rank and broadcasts against it.
 * @example kn.takeAlongAxis(kn.array([[1, 2], [3, 4]]), kn.array([[1], [0]]), 1).tolist() // [[2], [3]]
 */
export function takeAlongAxis(a: NDArray, indices: NDArray, axis: number | null): NDArray {
  let x = asArray(a, 'takeAlongAxis');
  let idx = indexArray(indices, 'takeAlongAxis');
  if (axis === null) {
    x = reshape(x, [x.size]);
    idx = reshape(idx, [idx.size]);
    axis = 0;
  }
  if (idx.ndim !== x.ndim) throw new Error(`[takeAlongAxis] indices of shape ${fmtShape(idx.shape)} must have the array's ${x.ndim} dimensions`);
  const ax = normalizeAxis(axis, x.ndim, 'takeAlongAxis');
  const rest = broadcastShapes(
    'takeAlongAxis',
    x.shape.filter((_, i) => i !== ax),
    idx.shape.filter((_, i) => i !== ax),
  );
  const withAxis = (n: number) => [...rest.slice(0, ax), n, ...rest.slice(ax)];
  const xs = broadcastTo(x, withAxis(x.shape[ax]));
  const is = broadcastTo(idx, withAxis(idx.shape[ax]));
  const outShape = withAxis(idx.shape[ax]);
  const out = make(Gather, {}, [as3d(xs, ax), as3d(is, ax)], as3d(is, ax).shape, x.dtype);
  return reshape(out, outShape);
}

const MODES = { set: 0, add: 1, multiply: 2, maximum: 3, minimum: 4, subtract: 5, divide: 6 } as const;
export type ScatterMode = keyof typeof MODES;

function scatterAlong(op: string, x: NDArray, idx: NDArray, values: Operand, ax: number, mode: ScatterMode): NDArray {
  const dt: DType = x.dtype;
  const v = broadcastTo(operandAs(values, dt, op), idx.shape);
  const out = make(Scatter, { mode: MODES[mode] }, [as3d(x, ax), as3d(idx, ax), as3d(v, ax)], as3d(x, ax).shape, dt);
  return reshape(out, x.shape);
}

/**
 * Functional numpy put_along_axis: a copy of `a` with `values` written at `indices` along `axis`.
 * @example kn.putAlongAxis(kn.zeros([2, 2]), kn.array([[1], [0]]), 5, 1).tolist() // [[0, 5], [5, 0]]
 */
export function putAlongAxis(a: NDArray, indices: NDArray, values: Operand, axis: number): NDArray {
  const x = asArray(a, 'putAlongAxis');
  const idx = indexArray(indices, 'putAlongAxis');
  if (idx.ndim !== x.ndim) throw new Error(`[putAlongAxis] indices of shape ${fmtShape(idx.shape)} must have the array's ${x.ndim} dimensions`);
  const ax = normalizeAxis(axis, x.ndim, 'putAlongAxis');
  const other = (s: number[]) => s.filter((_, i) => i !== ax);
  const rest = broadcastShapes('putAlongAxis', other(x.shape), other(idx.shape));
  if (!rest.every((d, i) => d === other(x.shape)[i]))
    throw new Error(`[putAlongAxis] indices of shape ${fmtShape(idx.shape)} do not fit an array of shape ${fmtShape(x.shape)}`);
  const full = broadcastTo(idx, [...rest.slice(0, ax), idx.shape[ax], ...rest.slice(ax)]);
  return scatterAlong('putAlongAxis', x, full, values, ax, 'set');
}

/** Scatter `values` (broadcast to `positions`) into `x` at flat row-major `positions` of `x`. */
export function scatterFlat(op: string, x: NDArray, positions: NDArray, values: Operand, mode: ScatterMode): NDArray {
  const m = positions.size;
  const v = broadcastTo(operandAs(values, x.dtype, op), positions.shape);
  const base = reshape(x, [1, x.size, 1]),
    pos = reshape(positions, [1, m, 1]),
    upd = reshape(v, [1, m, 1]);
  const out = make(Scatter, { mode: MODES[mode] }, [base, pos, upd], [1, x.size, 1], x.dtype);
  const res = reshape(out, x.shape);
  // drop the intermediate handles now (the graph keeps their nodes): a live handle on the base
  // would stop the evaluator from writing over a dead x in place (put_, sliceUpdate)
  const mine = new Set<NDArray>([x, positions, v, res]);
  if (values instanceof NDArray) mine.add(values);
  for (const t of [base, pos, upd, out]) if (!mine.has(t)) t.dispose();
  return res;
}
