// kn.fft: numpy's discrete Fourier transforms (fft ifft rfft irfft fft2 ifft2 rfft2 irfft2 fftn
// ifftn rfftn irfftn, with n/s, axis/axes and norm) over one native kernel that transforms the
// last axis (backends/cpu/kernels/fft.cc); other axes are moved last as free views, n-d
// transforms are 1-d transforms axis by axis. Results are complex64 (float32 inputs and
// compute, as MLX; numpy computes in float64 and returns complex128).
import type { NDArray } from '../core/array.js';
import type { Node, Primitive, ShapeRule } from '../core/node.js';
import { defineRules } from '../core/rules.js';
import { fmtValue, normalizeAxis } from '../core/shape.js';
import { asArray } from './convert.js';
import { arange } from './creation.js';
import { astype, divide, multiply, where, less, greater, logicalAnd } from './elementwise.js';
import { make } from './make.js';
import { pad, roll } from './shape.js';
import { moveaxis, slice } from './views.js';
import { batchFirst } from './grad/util.js';
import { real } from './complex/ops.js';

export type FFTNorm = 'backward' | 'ortho' | 'forward';
type Mode = 0 | 1 | 2; // complex->complex, real->complex, complex->real

interface FFTParams {
  mode: Mode;
  n: number;
  inverse: boolean;
  scale: number;
}

const outLength = (p: FFTParams): number => (p.mode === 1 ? Math.floor(p.n / 2) + 1 : p.n);

const fftShape: ShapeRule = (ctx) => [...ctx.inputs[0].slice(0, -1), outLength(ctx.params as unknown as FFTParams)];

/** One batched 1-d transform of the last axis (rows cut or zero-padded to n). */
const FFT: Primitive = {
  name: 'fft',
  kind: 'other',
  shapeRule: fftShape,
  lower(node, ins, out, emit) {
    const p = node.params as unknown as FFTParams;
    const x = node.inputs[0];
    emit.kernel(
      'fft',
      [p.mode, p.n, p.inverse ? 1 : 0, p.scale],
      [
        { view: ins[0], dtype: x.dtype, shape: x.shape },
        { view: out, dtype: node.dtype, shape: node.shape },
      ],
    );
  },
};

function fftLast(x: NDArray, p: FFTParams): NDArray {
  const input = astype(x, p.mode === 1 ? 'float32' : 'complex64');
  return make(FFT, { ...p }, [input], [...input.node.shape.slice(0, -1), outLength(p)], p.mode === 2 ? 'float32' : 'complex64');
}

/** `x` cut or zero-padded along its last axis to `m`. */
function fitLast(x: NDArray, m: number): NDArray {
  const k = x.shape[x.ndim - 1];
  if (k === m) return x;
  if (k > m) return slice(x, [...x.shape.slice(0, -1).map(() => ({})), { start: 0, stop: m }]);
  return pad(x, [...x.shape.slice(0, -1).map(() => [0, 0] as [number, number]), [0, m - k]]);
}

defineRules(FFT, {
  // every transform is linear: the vjp is the adjoint transform (the opposite direction, same
  // scale), the jvp the same transform of the tangent
  vjp: (ctx, g) => {
    const p = ctx.node.params as unknown as FFTParams;
    const m = ctx.inputs[0].shape[ctx.inputs[0].ndim - 1];
    if (p.mode === 0) return [fitLast(fftLast(g, { ...p, inverse: !p.inverse }), m)];
    if (p.mode === 1) return [fitLast(real(fftLast(fitLast(g, p.n), { mode: 0, n: p.n, inverse: !p.inverse, scale: p.scale })), m)];
    // complex->real read each bin k in 1..n-h twice (itself and its mirror n-k)
    const u = fftLast(g, { mode: 1, n: p.n, inverse: false, scale: p.scale });
    const h = Math.floor(p.n / 2) + 1;
    const k = arange(h);
    const w = where(logicalAnd(greater(k, 0), less(k, p.n - h + 1)), 2, 1);
    return [fitLast(multiply(u, astype(w, 'float32')), m)];
  },
  jvp: (ctx, [t]) => (t ? fftLast(t, ctx.node.params as unknown as FFTParams) : null),
  vmap: (node: Node, [x], [ax]) => [fftLast(batchFirst(x, ax), node.params as unknown as FFTParams), 0],
});

function checkNorm(norm: unknown, op: string): FFTNorm {
  if (norm === undefined || norm === null) return 'backward';
  if (norm === 'backward' || norm === 'ortho' || norm === 'forward') return norm;
  throw new Error(`[${op}] invalid norm ${fmtValue(norm)}; expected 'backward', 'ortho' or 'forward'`);
}

function scaleOf(norm: FFTNorm, n: number, inverse: boolean): number {
  if (norm === 'ortho') return 1 / Math.sqrt(n);
  return (norm === 'forward') !== inverse ? 1 / n : 1;
}

function checkN(n: unknown, op: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new Error(`[${op}] invalid number of data points (${fmtValue(n)}) specified`);
  return n;
}

export interface FFTOptions {
  /** length of the transformed axis: the input is cut or zero-padded to it */
  n?: number;
  axis?: number;
  norm?: FFTNorm;
}
export interface FFTNOptions {
  /** lengths along `axes` */
  s?: readonly number[];
  axes?: readonly number[];
  norm?: FFTNorm;
}

type Kind = 'c2c' | 'r2c' | 'c2r';

function transform1(a: NDArray, kind: Kind, inverse: boolean, n: number | undefined, axis: number, norm: FFTNorm, op: string): NDArray {
  const x = asArray(a, op);
  if (x.ndim === 0) throw new Error(`[${op}] needs an array with at least one dimension, got a 0-d array`);
  if (kind === 'r2c' && x.dtype === 'complex64') throw new TypeError(`[${op}] expects a real array, got complex64 (use fft)`);
  const ax = normalizeAxis(axis, x.ndim, op);
  const m = x.shape[ax];
  const len = checkN(n ?? (kind === 'c2r' ? 2 * (m - 1) : m), op);
  const mode: Mode = kind === 'c2c' ? 0 : kind === 'r2c' ? 1 : 2;
  const y = fftLast(moveaxis(x, ax, -1), { mode, n: len, inverse, scale: scaleOf(norm, len, inverse) });
  return moveaxis(y, -1, ax);
}

function opts1(o: FFTOptions | undefined, op: string): FFTOptions {
  if (o !== undefined && (typeof o !== 'object' || o === null || Array.isArray(o)))
    throw new TypeError(`[${op}] options must be an object such as { n: 8, axis: -1, norm: 'ortho' }, got ${fmtValue(o)}`);
  return o ?? {};
}

/**
 * The 1-d discrete Fourier transform along `axis` (default -1), numpy's `fft.fft`.
 * @example kn.fft.fft(kn.array([1, 0, 0, 0])).tolist() // [{ re: 1, im: 0 }, { re: 1, im: 0 }, { re: 1, im: 0 }, { re: 1, im: 0 }]
 * @example String(kn.fft.fft(kn.array([0, 1, 0, 0]))) // 'array([ 1.+0.j,  0.-1.j, -1.+0.j,  0.+1.j], dtype=complex64)'
 */
export function fft(a: NDArray, opts?: FFTOptions): NDArray {
  const o = opts1(opts, 'fft');
  return transform1(a, 'c2c', false, o.n, o.axis ?? -1, checkNorm(o.norm, 'fft'), 'fft');
}

/** The inverse of `fft`. @example kn.fft.ifft(kn.fft.fft(kn.array([1, 2, 3]))).tolist().map((z) => Math.round(z.re)) // [1, 2, 3] */
export function ifft(a: NDArray, opts?: FFTOptions): NDArray {
  const o = opts1(opts, 'ifft');
  return transform1(a, 'c2c', true, o.n, o.axis ?? -1, checkNorm(o.norm, 'ifft'), 'ifft');
}

/** The transform of a real signal: the n/2 + 1 non-negative frequencies. @example kn.fft.rfft(kn.array([1, 1, 1, 1])).shape // [3] */
export function rfft(a: NDArray, opts?: FFTOptions): NDArray {
  const o = opts1(opts, 'rfft');
  return transform1(a, 'r2c', false, o.n, o.axis ?? -1, checkNorm(o.norm, 'rfft'), 'rfft');
}

/**
 * The inverse of `rfft`: a real signal of length n (default 2 (m - 1)) from m frequencies.
 * @example kn.fft.irfft(kn.fft.rfft(kn.array([1, 2, 3, 4]))) // [1, 2, 3, 4]
 */
export function irfft(a: NDArray, opts?: FFTOptions): NDArray {
  const o = opts1(opts, 'irfft');
  return transform1(a, 'c2r', true, o.n, o.axis ?? -1, checkNorm(o.norm, 'irfft'), 'irfft');
}

/** numpy's rules for s and axes: axes default to the last len(s) axes, or to all of them. */
function resolveAxes(x: NDArray, o: FFTNOptions, op: string, defaultAxes?: number[]): { axes: number[]; s: (number | undefined)[] } {
  if (o !== undefined && (typeof o !== 'object' || o === null || Array.isArray(o)))
    throw new TypeError(`[${op}] options must be an object such as { s: [8, 8], axes: [0, 1] }, got ${fmtValue(o)}`);
  let axes: number[];
  if (o.axes !== undefined) {
    if (!Array.isArray(o.axes)) throw new TypeError(`[${op}] axes must be an array of integers, got ${fmtValue(o.axes)}`);
    axes = o.axes.map((a) => normalizeAxis(a, x.ndim, op));
  } else if (defaultAxes) axes = defaultAxes.map((a) => normalizeAxis(a, x.ndim, op));
  else if (o.s !== undefined) axes = o.s.map((_, i) => x.ndim - o.s!.length + i);
  else axes = x.shape.map((_, i) => i);
  if (o.s !== undefined) {
    if (!Array.isArray(o.s)) throw new TypeError(`[${op}] s must be an array of lengths, got ${fmtValue(o.s)}`);
    if (o.s.length !== axes.length) throw new Error(`[${op}] s and axes have different lengths (${o.s.length} vs ${axes.length})`);
    if (axes.some((a) => a < 0)) throw new Error(`[${op}] s has more entries (${o.s.length}) than the array has dimensions (${x.ndim})`);
  }
  if (axes.length === 0 && (op.startsWith('rfft') || op.startsWith('irfft'))) throw new Error(`[${op}] needs at least one axis`);
  return { axes, s: o.s ? [...o.s] : axes.map(() => undefined) };
}

function transformN(a: NDArray, kind: Kind, inverse: boolean, o: FFTNOptions | undefined, op: string, defaultAxes?: number[]): NDArray {
  let x = asArray(a, op);
  const opts = o ?? {};
  if (x.ndim === 0) throw new Error(`[${op}] needs an array with at least one dimension, got a 0-d array`);
  const { axes, s } = resolveAxes(x, opts, op, defaultAxes);
  const norm = checkNorm(opts.norm, op);
  const last = axes.length - 1;
  if (kind === 'r2c') {
    x = transform1(x, 'r2c', false, s[last], axes[last], norm, op);
    for (let i = last - 1; i >= 0; i--) x = transform1(x, 'c2c', false, s[i], axes[i], norm, op);
    return x;
  }
  if (kind === 'c2r') {
    for (let i = 0; i < last; i++) x = transform1(x, 'c2c', true, s[i], axes[i], norm, op);
    return transform1(x, 'c2r', true, s[last], axes[last], norm, op);
  }
  for (let i = last; i >= 0; i--) x = transform1(x, 'c2c', inverse, s[i], axes[i], norm, op);
  return axes.length ? x : astype(x, 'complex64');
}

/** The n-d transform over `axes` (default: all). @example kn.fft.fftn(kn.ones([2, 2])).tolist()[0][0] // { re: 4, im: 0 } */
export const fftn = (a: NDArray, opts?: FFTNOptions): NDArray => transformN(a, 'c2c', false, opts, 'fftn');
/** The inverse of `fftn`. @example kn.fft.ifftn(kn.fft.fftn(kn.ones([2, 2]))).tolist()[1][1] // { re: 1, im: 0 } */
export const ifftn = (a: NDArray, opts?: FFTNOptions): NDArray => transformN(a, 'c2c', true, opts, 'ifftn');
/** The n-d transform of a real array (the last axis halved). @example kn.fft.rfftn(kn.ones([4, 6])).shape // [4, 4] */
export const rfftn = (a: NDArray, opts?: FFTNOptions): NDArray => transformN(a, 'r2c', false, opts, 'rfftn');
/** The inverse of `rfftn`. @example kn.fft.irfftn(kn.fft.rfftn(kn.ones([4, 6]))).shape // [4, 6] */
export const irfftn = (a: NDArray, opts?: FFTNOptions): NDArray => transformN(a, 'c2r', true, opts, 'irfftn');
/** The 2-d transform over the last two axes. @example kn.fft.fft2(kn.ones([3, 3])).tolist()[0][0] // { re: 9, im: 0 } */
export const fft2 = (a: NDArray, opts?: FFTNOptions): NDArray => transformN(a, 'c2c', false, opts, 'fft2', [-2, -1]);
/** The inverse of `fft2`. @example kn.fft.ifft2(kn.fft.fft2(kn.ones([3, 3]))).tolist()[2][2] // { re: 1, im: 0 } */
export const ifft2 = (a: NDArray, opts?: FFTNOptions): NDArray => transformN(a, 'c2c', true, opts, 'ifft2', [-2, -1]);
/** The 2-d transform of a real array. @example kn.fft.rfft2(kn.ones([4, 4])).shape // [4, 3] */
export const rfft2 = (a: NDArray, opts?: FFTNOptions): NDArray => transformN(a, 'r2c', false, opts, 'rfft2', [-2, -1]);
/** The inverse of `rfft2`. @example kn.fft.irfft2(kn.fft.rfft2(kn.ones([4, 4]))).shape // [4, 4] */
export const irfft2 = (a: NDArray, opts?: FFTNOptions): NDArray => transformN(a, 'c2r', true, opts, 'irfft2', [-2, -1]);

function shiftAxes(x: NDArray, axes: number | readonly number[] | undefined, op: string): number[] {
  if (axes === undefined || axes === null) return x.shape.map((_, i) => i);
  return (typeof axes === 'number' ? [axes] : [...axes]).map((a) => normalizeAxis(a, x.ndim, op));
}

/**
 * Moves the zero frequency to the middle (numpy's `fftshift`; all axes by default).
 * @example kn.fft.fftshift(kn.array([0, 1, 2, 3, -4, -3, -2, -1])).tolist() // [-4, -3, -2, -1, 0, 1, 2, 3]
 */
export function fftshift(a: NDArray, axes?: number | readonly number[]): NDArray {
  const x = asArray(a, 'fftshift');
  const ax = shiftAxes(x, axes, 'fftshift');
  return ax.length
    ? roll(
        x,
        ax.map((i) => Math.floor(x.shape[i] / 2)),
        ax,
      )
    : x;
}

/** The inverse of `fftshift`. @example kn.fft.ifftshift(kn.array([-2, -1, 0, 1, 2])).tolist() // [0, 1, 2, -2, -1] */
export function ifftshift(a: NDArray, axes?: number | readonly number[]): NDArray {
  const x = asArray(a, 'ifftshift');
  const ax = shiftAxes(x, axes, 'ifftshift');
  return ax.length
    ? roll(
        x,
        ax.map((i) => -Math.floor(x.shape[i] / 2)),
        ax,
      )
    : x;
}

function checkSpacing(n: number, d: number, op: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`[${op}] n must be a positive integer, got ${fmtValue(n)}`);
  if (typeof d !== 'number' || !Number.isFinite(d) || d === 0) throw new Error(`[${op}] d must be a finite non-zero number, got ${fmtValue(d)}`);
}

/**
 * The sample frequencies of an n-point `fft` with sample spacing d (float32; numpy's are float64).
 * @example kn.fft.fftfreq(4).tolist() // [0, 0.25, -0.5, -0.25]
 */
export function fftfreq(n: number, d = 1): NDArray {
  checkSpacing(n, d, 'fftfreq');
  const k = arange(n);
  const wrapped = where(less(k, Math.floor((n - 1) / 2) + 1), k, astype(k, 'int32').subtract(n));
  return divide(astype(wrapped, 'float32'), n * d);
}

/** The sample frequencies of an n-point `rfft`. @example kn.fft.rfftfreq(4).tolist() // [0, 0.25, 0.5] */
export function rfftfreq(n: number, d = 1): NDArray {
  checkSpacing(n, d, 'rfftfreq');
  return divide(astype(arange(Math.floor(n / 2) + 1), 'float32'), n * d);
}
