// Cumulative ops along one axis: cumsum, cumprod, cummax, cummin, logcumsumexp, each forward or
// reverse, inclusive or exclusive (MLX's options). The axis is moved last with a free view and
// one kernel scans the rows; no axis scans the flattened array (numpy).
import type { NDArray } from '../core/array.js';
import { isFloating, toDType, type DType } from '../core/dtype.js';
import { Scan } from '../core/primitives_sort.js';
import { fmtValue, normalizeAxis } from '../core/shape.js';
import { asArray, checkOptions } from './convert.js';
import { astype } from './elementwise.js';
import { make } from './make.js';
import { moveaxis, reshape } from './views.js';
import { complexUnsupported } from './complex/hooks.js';

export interface ScanOptions {
  /** the axis to scan; undefined or null scans the flattened array (numpy) */
  axis?: number | null;
  /** scan from the end towards the start */
  reverse?: boolean;
  /** include each element in its own result (default true); false shifts by one, the op's identity first */
  inclusive?: boolean;
}
/** cumsum/cumprod also take numpy's `dtype` (the dtype to accumulate and return in). */
export interface AccumulateOptions extends ScanOptions {
  dtype?: DType;
}
type AxisArg<O> = number | null | undefined | O;

function parse<O extends ScanOptions>(axis: AxisArg<O>, opts: O | undefined, op: string): O {
  checkOptions(opts, op, '{ reverse: true }');
  let o: O;
  if (axis !== null && typeof axis === 'object') {
    if (Array.isArray(axis)) throw new TypeError(`[${op}] axis must be a single integer or null, got ${fmtValue(axis)}`);
    if (opts) throw new TypeError(`[${op}] pass either an axis and options, or one options object`);
    o = axis;
  } else o = { ...(opts ?? ({} as O)), axis };
  for (const k of ['reverse', 'inclusive'] as const)
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new TypeError(`[${op}] ${k} must be a boolean, got ${fmtValue(o[k])}`);
  return o;
}

/** dtype cumsum/cumprod accumulate in, as kn.sum: small integers widen to int32/uint32. */
function sumDType(d: DType): DType {
  if (d === 'bool' || d === 'int8' || d === 'int16') return 'int32';
  if (d === 'uint8' || d === 'uint16') return 'uint32';
  return d;
}

function scan(op: string, name: string, a: unknown, o: ScanOptions, input: (x: NDArray) => NDArray, outDType: (d: DType) => DType): NDArray {
  let x = asArray(a, name);
  if (x.dtype === 'complex64') throw complexUnsupported(name);
  let ax: number;
  if (o.axis === undefined || o.axis === null) {
    x = reshape(x, [x.size]);
    ax = 0;
  } else ax = normalizeAxis(o.axis, x.ndim, name);
  x = input(moveaxis(x, ax, -1));
  const out = make(Scan, { op, reverse: o.reverse ?? false, inclusive: o.inclusive ?? true }, [x], x.shape, outDType(x.dtype));
  return moveaxis(out, -1, ax);
}

function accumulate(op: 'cumsum' | 'cumprod') {
  return (a: NDArray, axis?: AxisArg<AccumulateOptions>, opts?: AccumulateOptions): NDArray => {
    const o = parse(axis, opts, op);
    const dt = o.dtype === undefined ? undefined : toDType(o.dtype, op);
    if (dt === 'bool') throw new TypeError(`[${op}] cannot accumulate in dtype bool; pick a numeric dtype`);
    return scan(
      op,
      op,
      a,
      o,
      (x) => (dt ? astype(x, dt) : x),
      (d) => (dt ? d : sumDType(d)),
    );
  };
}

/**
 * Cumulative sum along `axis` (the flattened array when omitted). Small integers accumulate in
 * int32/uint32 like kn.sum (bool, int8, int16 → int32; uint8, uint16 → uint32); integer
 * overflow wraps. float16/bfloat16 carry the running value in float32 and round each output
 * once (numpy rounds the float16 running value at every step). Options: `reverse`,
 * `inclusive` (default true; false starts from 0), `dtype`.
 * @example kn.cumsum(kn.array([1, 2, 3])).tolist() // [1, 3, 6]
 * @example kn.cumsum(kn.array([[1, 2], [3, 4]]), 1, { reverse: true }).tolist() // [[3, 2], [7, 4]]
 * @example kn.cumsum(kn.array([1, 2, 3]), { inclusive: false }).tolist() // [0, 1, 3]
 */
export const cumsum = accumulate('cumsum');

/**
 * Cumulative product along `axis` (dtype rules and options as cumsum; exclusive starts from 1).
 * @example kn.cumprod(kn.array([1, 2, 3, 4])).tolist() // [1, 2, 6, 24]
 */
export const cumprod = accumulate('cumprod');

function extreme(op: 'cummax' | 'cummin') {
  return (a: NDArray, axis?: AxisArg<ScanOptions>, opts?: ScanOptions): NDArray =>
    scan(
      op,
      op,
      a,
      parse(axis, opts, op),
      (x) => x,
      (d) => d,
    );
}

/**
 * Running maximum along `axis` (numpy's maximum.accumulate): NaN propagates once seen. An
 * exclusive scan starts from the dtype's lowest value (-inf for floats, false for bool).
 * @example kn.cummax(kn.array([1, 3, 2, 5])).tolist() // [1, 3, 3, 5]
 */
export const cummax = extreme('cummax');

/**
 * Running minimum along `axis` (numpy's minimum.accumulate): NaN propagates once seen.
 * @example kn.cummin(kn.array([4, 2, 3, 1])).tolist() // [4, 2, 2, 1]
 */
export const cummin = extreme('cummin');

/**
 * log(cumsum(exp(a))) along `axis`, computed stably (a running logaddexp, no overflow). Integer
 * and bool inputs compute in float32; an exclusive scan starts from -inf.
 * @example kn.logcumsumexp(kn.array([0, 0, 0])).tolist() // [0, 0.6931, 1.0986]
 */
export function logcumsumexp(a: NDArray, axis?: AxisArg<ScanOptions>, opts?: ScanOptions): NDArray {
  const o = parse(axis, opts, 'logcumsumexp');
  return scan(
    'logcumsumexp',
    'logcumsumexp',
    a,
    o,
    (x) => (isFloating(x.dtype) ? x : astype(x, 'float32')),
    (d) => d,
  );
}
