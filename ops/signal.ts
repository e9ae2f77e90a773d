// 1-d signal and calculus helpers from numpy: convolve, correlate (modes 'full', 'same',
// 'valid'), interp, gradient, trapezoid, ediff1d. Lazy compositions of pad/asStrided/matmul and
// elementwise ops.
import type { NDArray } from '../core/array.js';
import { isFloating, resultType, type DType } from '../core/dtype.js';
import { fmtShape, fmtValue, normalizeAxis } from '../core/shape.js';
import { asArray, checkOptions, type ArrayInput } from './convert.js';
import { add, astype, divide, equal, greater, isnan, less, logicalAnd, maximum, minimum, multiply, remainder, subtract, where } from './elementwise.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';
import { concatenate, diff, flip, pad } from './shape.js';
import { argsort, searchsorted } from './sort.js';
import { take } from './take_scatter.js';
import { asStrided, reshape, slice, type SliceSpec } from './views.js';

export type ConvolveMode = 'full' | 'same' | 'valid';

function vec(a: ArrayInput, name: string, op: string): NDArray {
  const x = asArray(a, op);
  if (x.ndim > 1) throw new Error(`[${op}] ${name} must be 1-d, got shape ${fmtShape(x.shape)}`);
  const v = reshape(x, [x.size]);
  if (v.size === 0) throw new Error(`[${op}] ${name} cannot be empty`);
  return v;
}

/** numpy's correlate core: long (n1) against short (n2), cut to the mode, reversed when swapped */
function correlateCore(a: NDArray, v: NDArray, mode: ConvolveMode, op: string): NDArray {
  if (mode !== 'full' && mode !== 'same' && mode !== 'valid') throw new TypeError(`[${op}] mode must be 'full', 'same' or 'valid', got ${fmtValue(mode)}`);
  const out: DType = resultType(a.dtype, v.dtype);
  const ct: DType = out === 'float64' || !isFloating(out) ? 'float64' : 'float32';
  let L = astype(a, ct),
    S = astype(v, ct);
  const inverted = L.size < S.size;
  if (inverted) [L, S] = [S, L];
  const n1 = L.size,
    n2 = S.size;
  // full[j] = sum_i L[j - (n2 - 1) + i] S[i], j = 0 .. n1 + n2 - 2
  const lp = pad(L, [[n2 - 1, n2 - 1]]);
  const win = asStrided(lp, [n1 + n2 - 1, n2], [1, 1]);
  const full = reshape(matmul(win, reshape(S, [n2, 1])), [n1 + n2 - 1]);
  let start: number, length: number;
  if (mode === 'valid') [start, length] = [n2 - 1, n1 - n2 + 1];
  else if (mode === 'same') [start, length] = [n2 - 1 - Math.floor(n2 / 2), n1];
  else [start, length] = [0, n1 + n2 - 1];
  let r = slice(full, [{ start, stop: start + length }]);
  if (inverted) r = flip(r);
  return astype(r, out);
}

/**
 * Discrete linear convolution of two 1-d arrays (numpy's convolve; default mode 'full').
 * @example kn.convolve(kn.array([1, 2, 3]), kn.array([0, 1, 0.5])).tolist() // [0, 1, 2.5, 4, 1.5]
 * @example kn.convolve(kn.array([1, 2, 3]), kn.array([0, 1, 0.5]), 'same').tolist() // [1, 2.5, 4]
 */
export function convolve(a: ArrayInput, v: ArrayInput, mode: ConvolveMode = 'full'): NDArray {
  let x = vec(a, 'a', 'convolve'),
    y = vec(v, 'v', 'convolve');
  if (y.size > x.size) [x, y] = [y, x];
  return correlateCore(x, flip(y), mode, 'convolve');
}

/**
 * Cross-correlation of two 1-d arrays, c[k] = sum_n a[n + k] v[n] (numpy's correlate; default mode
 * 'valid').
 * @example kn.correlate(kn.array([1, 2, 3]), kn.array([0, 1, 0.5])).tolist() // [3.5]
 * @example kn.correlate(kn.array([1, 2, 3]), kn.array([0, 1, 0.5]), 'full').tolist() // [0.5, 2, 3.5, 3, 0]
 */
export function correlate(a: ArrayInput, v: ArrayInput, mode: ConvolveMode = 'valid'): NDArray {
  return correlateCore(vec(a, 'a', 'correlate'), vec(v, 'v', 'correlate'), mode, 'correlate');
}

export interface InterpOptions {
  /** value for x < xp[0] (default fp[0]) */
  left?: number;
  /** value for x > xp[-1] (default fp[-1]) */
  right?: number;
  /** period of the x-coordinates: xp is wrapped and sorted, left/right are ignored */
  period?: number;
}

/**
 * One-dimensional linear interpolation at x of the points (xp, fp), xp increasing (numpy's interp).
 * Computed in float64 (the result is float32 unless an input is float64).
 * @example kn.interp(kn.array([0, 1.5, 3]), kn.array([1, 2, 3]), kn.array([3, 2, 0])).tolist() // [3, 2.5, 0]
 */
export function interp(x: ArrayInput, xp: ArrayInput, fp: ArrayInput, opts: InterpOptions = {}): NDArray {
  const op = 'interp';
  checkOptions(opts, op, '{ left: 0 }');
  const xa = asArray(x, op);
  let xpa = vec(xp, 'xp', op),
    fpa = vec(fp, 'fp', op);
  if (xpa.size !== fpa.size) throw new Error(`[${op}] fp and xp are not of the same length (${fpa.size} and ${xpa.size})`);
  const out: DType = [xa, xpa, fpa].some((t) => t.dtype === 'float64') ? 'float64' : 'float32';
  let xf = astype(xa, 'float64');
  xpa = astype(xpa, 'float64');
  fpa = astype(fpa, 'float64');
  let left: NDArray | number = take(fpa, [0]).reshape([]),
    right: NDArray | number = take(fpa, [fpa.size - 1]).reshape([]);
  if (opts.period !== undefined) {
    const p = Math.abs(opts.period);
    if (!(p > 0) || !Number.isFinite(p)) throw new RangeError(`[${op}] period must be a non-zero finite number, got ${fmtValue(opts.period)}`);
    const mod = (t: NDArray) => remainder(t, p);
    xf = mod(xf);
    const order = argsort(mod(xpa));
    const xs = take(mod(xpa), order),
      fs = take(fpa, order);
    const n = xs.size;
    xpa = concatenate([subtract(slice(xs, [{ start: n - 1 }]), p), xs, add(slice(xs, [{ stop: 1 }]), p)]);
    fpa = concatenate([slice(fs, [{ start: n - 1 }]), fs, slice(fs, [{ stop: 1 }])]);
  } else {
    if (opts.left !== undefined) left = opts.left;
    if (opts.right !== undefined) right = opts.right;
  }
  const n = xpa.size;
  if (n === 1)
    return astype(where(less(xf, take(xpa, [0]).reshape([])), left, where(greater(xf, take(xpa, [0]).reshape([])), right, take(fpa, [0]).reshape([]))), out);
  const j = minimum(maximum(subtract(searchsorted(xpa, xf, { side: 'right' }), 1), 0), n - 2);
  const x0 = take(xpa, j),
    x1 = take(xpa, add(j, 1)),
    y0 = take(fpa, j),
    y1 = take(fpa, add(j, 1));
  const slope = divide(subtract(y1, y0), subtract(x1, x0));
  let r = add(multiply(slope, subtract(xf, x0)), y0);
  // numpy's fallback when the slope is infinite: interpolate from the right end, then equal ends
  const alt = add(multiply(slope, subtract(xf, x1)), y1);
  r = where(isnan(r), where(logicalAnd(isnan(alt), equal(y0, y1)), y0, alt), r);
  const last = take(xpa, [n - 1]).reshape([]);
  r = where(equal(xf, last), take(fpa, [n - 1]).reshape([]), r);
  r = where(less(xf, take(xpa, [0]).reshape([])), left, where(greater(xf, last), right, r));
  return astype(r, out);
}

const along = (nd: number, axis: number, spec: SliceSpec): SliceSpec[] => Array.from({ length: nd }, (_, i) => (i === axis ? spec : {}));

/**
 * Gradient by second-order central differences inside and first (default) or second order
 * differences at the ends (numpy's gradient). `spacing`: one number for every axis, or one per
 * axis, each a number or the coordinates along it. Returns one array per axis (or one array when a
 * single axis is asked for, or the input is 1-d).
 * @example kn.gradient(kn.array([1, 2, 4, 7, 11])).tolist() // [1, 1.5, 2.5, 3.5, 4]
 * @example kn.gradient(kn.array([1, 2, 4, 7]), [2]).tolist() // [0.5, 0.75, 1.25, 1.5]
 */
export function gradient(
  f: ArrayInput,
  spacing: readonly (number | ArrayInput)[] = [],
  opts: { axis?: number | readonly number[] | null; edgeOrder?: 1 | 2 } = {},
): NDArray | NDArray[] {
  const op = 'gradient';
  checkOptions(opts, op, '{ axis: 0 }');
  const y0 = asArray(f, op);
  const dt: DType = y0.dtype === 'float64' ? 'float64' : isFloating(y0.dtype) ? y0.dtype : 'float32';
  const y = astype(y0, dt === 'float16' || dt === 'bfloat16' ? 'float32' : dt);
  const axes =
    opts.axis === undefined || opts.axis === null
      ? y.shape.map((_, i) => i)
      : (typeof opts.axis === 'number' ? [opts.axis] : [...opts.axis]).map((a) => normalizeAxis(a, y.ndim, op));
  const edge = opts.edgeOrder ?? 1;
  if (edge !== 1 && edge !== 2) throw new RangeError(`[${op}] edgeOrder must be 1 or 2, got ${fmtValue(edge)}`);
  if (!Array.isArray(spacing)) throw new TypeError(`[${op}] spacing must be a list (one entry, or one per axis), got ${fmtValue(spacing)}`);
  const sp = spacing.length === 0 ? axes.map(() => 1) : spacing.length === 1 ? axes.map(() => spacing[0]) : spacing;
  if (sp.length !== axes.length) throw new TypeError(`[${op}] spacing has ${sp.length} entries for ${axes.length} axes`);
  const outs = axes.map((ax, k) => {
    const n = y.shape[ax];
    if (n < edge + 1)
      throw new Error(
        `[${op}] shape of the array too small to calculate a numerical gradient: at least (edgeOrder + 1) = ${edge + 1} elements are required along axis ${ax}, got ${n}`,
      );
    const sl = (start: number, stop: number) => slice(y, along(y.ndim, ax, { start, stop }));
    const shapeAlong = (v: NDArray) =>
      reshape(
        v,
        y.shape.map((d, i) => (i === ax ? v.size : 1)),
      );
    const h = sp[k];
    let inner: NDArray, first: NDArray, last: NDArray;
    if (typeof h === 'number') {
      inner = divide(subtract(sl(2, n), sl(0, n - 2)), 2 * h);
      if (edge === 1) {
        first = divide(subtract(sl(1, 2), sl(0, 1)), h);
        last = divide(subtract(sl(n - 1, n), sl(n - 2, n - 1)), h);
      } else {
        first = divide(add(add(multiply(sl(0, 1), -1.5), multiply(sl(1, 2), 2)), multiply(sl(2, 3), -0.5)), h);
        last = divide(add(add(multiply(sl(n - 3, n - 2), 0.5), multiply(sl(n - 2, n - 1), -2)), multiply(sl(n - 1, n), 1.5)), h);
      }
    } else {
      const c = astype(vec(h, 'spacing', op), y.dtype);
      if (c.size !== n) throw new Error(`[${op}] coordinates along axis ${ax} have ${c.size} values, the array ${n}`);
      const d = diff(c);
      const part = (v: NDArray, s: number, e: number) => shapeAlong(slice(v, [{ start: s, stop: e }]));
      const d1 = part(d, 0, n - 2),
        d2 = part(d, 1, n - 1);
      const a = divide(negative(d2), multiply(d1, add(d1, d2))),
        b = divide(subtract(d2, d1), multiply(d1, d2)),
        cc = divide(d1, multiply(d2, add(d1, d2)));
      inner = add(add(multiply(a, sl(0, n - 2)), multiply(b, sl(1, n - 1))), multiply(cc, sl(2, n)));
      const dx = (i: number) => part(d, i < 0 ? n - 1 + i : i, (i < 0 ? n - 1 + i : i) + 1);
      if (edge === 1) {
        first = divide(subtract(sl(1, 2), sl(0, 1)), dx(0));
        last = divide(subtract(sl(n - 1, n), sl(n - 2, n - 1)), dx(-1));
      } else {
        let p = dx(0),
          q = dx(1);
        const fa = divide(negative(add(multiply(p, 2), q)), multiply(p, add(p, q))),
          fb = divide(add(p, q), multiply(p, q)),
          fc = divide(negative(p), multiply(q, add(p, q)));
        first = add(add(multiply(fa, sl(0, 1)), multiply(fb, sl(1, 2))), multiply(fc, sl(2, 3)));
        p = dx(-2);
        q = dx(-1);
        const la = divide(q, multiply(p, add(p, q))),
          lb = divide(negative(add(q, p)), multiply(p, q)),
          lc = divide(add(multiply(q, 2), p), multiply(q, add(p, q)));
        last = add(add(multiply(la, sl(n - 3, n - 2)), multiply(lb, sl(n - 2, n - 1))), multiply(lc, sl(n - 1, n)));
      }
    }
    return astype(n === 2 ? concatenate([first, last], ax) : concatenate([first, inner, last], ax), dt);
  });
  return outs.length === 1 ? outs[0] : outs;
}
const negative = (x: NDArray) => multiply(x, -1);

/**
 * Integral by the trapezoidal rule along `axis` (numpy's trapezoid): sample points `x`, or a
 * constant spacing `dx` (default 1).
 * @example kn.trapezoid(kn.array([1, 2, 3])).item() // 4
 * @example kn.trapezoid(kn.array([1, 2, 3]), kn.array([4, 6, 8])).item() // 8
 */
export function trapezoid(y: ArrayInput, x?: ArrayInput | null, opts: { dx?: number; axis?: number } = {}): NDArray {
  const op = 'trapezoid';
  checkOptions(opts, op, '{ dx: 0.5 }');
  const ya0 = asArray(y, op);
  const ya = astype(ya0, isFloating(ya0.dtype) ? ya0.dtype : 'float32');
  const ax = normalizeAxis(opts.axis ?? -1, ya.ndim, op);
  const n = ya.shape[ax];
  let d: NDArray | number;
  if (x === undefined || x === null) d = opts.dx ?? 1;
  else {
    const xa = asArray(x, op);
    if (xa.ndim === 1) {
      if (xa.size !== n) throw new Error(`[${op}] x has ${xa.size} points, y has ${n} along axis ${ax}`);
      d = reshape(
        diff(astype(xa, ya.dtype)),
        ya.shape.map((s, i) => (i === ax ? n - 1 : 1)),
      );
    } else d = diff(astype(xa, ya.dtype), 1, ax);
  }
  const hi = slice(ya, along(ya.ndim, ax, { start: 1 })),
    lo = slice(ya, along(ya.ndim, ax, { stop: n - 1 }));
  return sum(divide(multiply(d, add(hi, lo)), 2), ax);
}

/**
 * Differences between consecutive elements of the flattened array, with optional values before
 * and after (numpy's ediff1d).
 * @example kn.ediff1d(kn.array([1, 2, 4, 7]), { toBegin: [-99], toEnd: [88] }).tolist() // [-99, 1, 2, 3, 88]
 */
export function ediff1d(ary: ArrayInput, opts: { toEnd?: ArrayInput; toBegin?: ArrayInput } = {}): NDArray {
  const op = 'ediff1d';
  checkOptions(opts, op, '{ toEnd: [0] }');
  const x = asArray(ary, op);
  const f = reshape(x, [x.size]);
  const parts = [f.size > 0 ? diff(f) : f];
  const flat = (v: ArrayInput) => {
    const a = asArray(v, op);
    return astype(reshape(a, [a.size]), x.dtype);
  };
  if (opts.toBegin !== undefined) parts.unshift(flat(opts.toBegin));
  if (opts.toEnd !== undefined) parts.push(flat(opts.toEnd));
  return parts.length === 1 ? parts[0] : concatenate(parts);
}
