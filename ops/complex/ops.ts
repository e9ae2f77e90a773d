// complex64 ops, written over the float32 (re, im) view with real ops: arithmetic, exp/log/sqrt/
// power, comparisons for equality, reductions and matmul. The real ops hand complex operands
// here through ops/complex/hooks.ts. Gradients follow MLX's (and PyTorch's) convention: the
// gradient of a real loss L with respect to z = x + iy is dL/dx + i dL/dy (the conjugate
// Wirtinger derivative times 2), which the float32 view yields by itself.
import type { NDArray } from '../../core/array.js';
import { isFloating, type DType } from '../../core/dtype.js';
import type { Scalar } from '../../core/host.js';
import { broadcastShapes } from '../../core/shape.js';
import { asArray } from '../convert.js';
import * as E from '../elementwise.js';
import { concatenate, stack } from '../shape.js';
import { broadcastTo, expandDims, reshape, slice, squeeze, transpose } from '../views.js';
import * as R from '../reduce.js';
import { matmul as realMatmul } from '../matmul.js';
import { complexHooks, complexUnsupported } from './hooks.js';
import { viewAsComplex, viewAsReal } from './views.js';

type Operand = NDArray | Scalar;
const isScalar = (x: unknown): x is Scalar => typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint';

/** +0 everywhere (x * 0 would give -0 for negatives and NaN for infinities). */
const zerosOf = (x: NDArray): NDArray => broadcastTo(asArray(0, 'zeros', x.dtype), x.shape);

/** The (re, im) parts of a complex array as float32 views. */
function parts(z: NDArray): [NDArray, NDArray] {
  const v = viewAsReal(z);
  const n = v.ndim - 1;
  const pick = (k: number) => squeeze(slice(v, [...Array.from({ length: n }, () => ({})), { start: k, stop: k + 1 }]), n);
  return [pick(0), pick(1)];
}

/** A complex64 array from float32 parts (one stack, then a free view). */
function join(re: NDArray, im: NDArray): NDArray {
  const shape = broadcastShapes('complex', re.node.shape, im.node.shape);
  return viewAsComplex(stack([broadcastTo(E.astype(re, 'float32'), shape), broadcastTo(E.astype(im, 'float32'), shape)], -1));
}

const toComplex = (x: Operand, op: string): NDArray => (isScalar(x) ? asArray(Number(x), op, 'complex64') : E.astype(asArray(x, op), 'complex64'));
const isRealOperand = (x: Operand): boolean => isScalar(x) || (x as NDArray).dtype !== 'complex64';
/** A real operand as float32, for the cheap complex-times-real paths. */
const realPart32 = (x: Operand, op: string): NDArray => (isScalar(x) ? asArray(Number(x), op, 'float32') : E.astype(asArray(x, op), 'float32'));

/**
 * A complex64 array from real and imaginary parts (broadcast together; numpy's `re + 1j * im`).
 * @example String(kn.complex(kn.array([1, 2]), kn.array([3, -4]))) // 'array([1.+3.j, 2.-4.j], dtype=complex64)'
 */
export function complex(re: Operand, im: Operand = 0): NDArray {
  const r = asArray(re, 'complex'),
    i = asArray(im, 'complex');
  for (const [x, what] of [
    [r, 're'],
    [i, 'im'],
  ] as const)
    if (x.dtype === 'complex64') throw new TypeError(`[complex] ${what} must be real, got complex64`);
  return join(r, i);
}

/**
 * The real part (numpy's `real`: a real array is returned as it is). A complex array's real
 * part is a float32 view of its memory.
 * @example kn.real(kn.complex(kn.array([1, 2]), kn.array([3, 4]))).tolist() // [1, 2]
 */
export function real(a: Operand): NDArray {
  const x = asArray(a, 'real');
  return x.dtype === 'complex64' ? parts(x)[0] : x;
}

/**
 * The imaginary part (zeros of the same dtype for a real array, as numpy).
 * @example kn.imag(kn.complex(kn.array([1, 2]), kn.array([3, 4]))).tolist() // [3, 4]
 */
export function imag(a: Operand): NDArray {
  const x = asArray(a, 'imag');
  return x.dtype === 'complex64' ? parts(x)[1] : zerosOf(x);
}

/**
 * Complex conjugate (the identity on real arrays).
 * @example String(kn.conj(kn.complex(kn.array([1]), kn.array([2])))) // 'array([1.-2.j], dtype=complex64)'
 */
export function conj(a: Operand): NDArray {
  const x = asArray(a, 'conj');
  if (x.dtype !== 'complex64') return x;
  return viewAsComplex(E.multiply(viewAsReal(x), asArray([1, -1], 'conj', 'float32')));
}
/** numpy's alias of `conj`. @example kn.conjugate(kn.complex(kn.array([0]), kn.array([1]))).tolist() // [{ re: 0, im: -1 }] */
export const conjugate = conj;

/**
 * The angle (argument) in radians, in (-pi, pi]; for real arrays 0 or pi (numpy's `angle`).
 * `{ deg: true }` gives degrees.
 * @example kn.angle(kn.complex(kn.array([0, -1]), kn.array([1, 0]))) // [1.5708, 3.1416]
 */
export function angle(a: Operand, opts: { deg?: boolean } = {}): NDArray {
  const x = asArray(a, 'angle');
  const [re, im] = x.dtype === 'complex64' ? parts(x) : [E.astype(x, isFloating(x.dtype) ? x.dtype : 'float32'), null];
  const t = E.arctan2(im ?? zerosOf(re), re);
  return opts.deg ? E.multiply(t, 180 / Math.PI) : t;
}

/** |z| of a complex array (float32). */
function absComplex(z: NDArray): NDArray {
  return E.sqrt(R.sum(E.square(viewAsReal(z)), -1));
}

function multiplyComplex(a: NDArray, b: NDArray): NDArray {
  const [ar, ai] = parts(a),
    [br, bi] = parts(b);
  return join(E.subtract(E.multiply(ar, br), E.multiply(ai, bi)), E.add(E.multiply(ar, bi), E.multiply(ai, br)));
}

function divideComplex(a: NDArray, b: NDArray): NDArray {
  const [ar, ai] = parts(a),
    [br, bi] = parts(b);
  const d = E.add(E.square(br), E.square(bi));
  return join(E.divide(E.add(E.multiply(ar, br), E.multiply(ai, bi)), d), E.divide(E.subtract(E.multiply(ai, br), E.multiply(ar, bi)), d));
}

function expComplex(z: NDArray): NDArray {
  const [re, im] = parts(z);
  const m = E.exp(re);
  return join(E.multiply(m, E.cos(im)), E.multiply(m, E.sin(im)));
}

function logComplex(z: NDArray): NDArray {
  const [re, im] = parts(z);
  return join(E.log(absComplex(z)), E.arctan2(im, re));
}

/** The principal square root: re >= 0, the imaginary part takes the sign of z's. */
function sqrtComplex(z: NDArray): NDArray {
  const [re, im] = parts(z);
  const r = absComplex(z);
  const u = E.sqrt(E.maximum(E.multiply(E.add(r, re), 0.5), 0));
  const v = E.sqrt(E.maximum(E.multiply(E.subtract(r, re), 0.5), 0));
  return join(u, E.where(E.less(im, 0), E.negative(v), v));
}

function powerComplex(a: NDArray, b: Operand): NDArray {
  if (typeof b === 'number' && Number.isInteger(b) && Math.abs(b) <= 1024) {
    // repeated squaring: exact for small powers and defined at 0 (exp(b log 0) is not)
    let e = Math.abs(b);
    let acc: NDArray | null = null,
      sq = a;
    while (e > 0) {
      if (e & 1) acc = acc ? multiplyComplex(acc, sq) : sq;
      e >>= 1;
      if (e) sq = multiplyComplex(sq, sq);
    }
    const one = toComplex(1, 'power');
    const p = acc ?? broadcastTo(one, a.shape);
    return b < 0 ? divideComplex(broadcastTo(one, a.shape), p) : p;
  }
  const bb = toComplex(b, 'power');
  const shape = broadcastShapes('power', a.node.shape, bb.node.shape);
  return expComplex(multiplyComplex(broadcastTo(bb, shape), logComplex(broadcastTo(a, shape))));
}

/** Complex versions of the unary ops; every other unary op raises naming itself. */
function unaryComplex(op: string, name: string, x: NDArray): NDArray {
  switch (op) {
    case 'neg':
      return viewAsComplex(E.negative(viewAsReal(x)));
    case 'abs':
      return absComplex(x);
    case 'square':
      return multiplyComplex(x, x);
    case 'exp':
      return expComplex(x);
    case 'log':
      return logComplex(x);
    case 'sqrt':
      return sqrtComplex(x);
    case 'reciprocal':
      return divideComplex(broadcastTo(toComplex(1, name), x.shape), x);
    case 'isnan':
      return R.any(E.isnan(viewAsReal(x)), -1);
    case 'isinf':
      return R.any(E.isinf(viewAsReal(x)), -1);
    case 'isfinite':
      return R.all(E.isfinite(viewAsReal(x)), -1);
  }
  throw complexUnsupported(name);
}

function binaryComplex(op: string, name: string, a: Operand, b: Operand): NDArray {
  const shapeOf = (x: Operand) => (isScalar(x) ? [] : asArray(x, name).node.shape);
  const shape = broadcastShapes(name, shapeOf(a), shapeOf(b));
  const c = (x: Operand) => broadcastTo(toComplex(x, name), shape);
  const pairwise = (f: (x: NDArray, y: NDArray) => NDArray) => viewAsComplex(f(viewAsReal(c(a)), viewAsReal(c(b))));
  // complex with real: scale both parts by the real operand
  const scaled = (z: Operand, r: Operand, f: (x: NDArray, y: NDArray) => NDArray) =>
    viewAsComplex(f(viewAsReal(c(z)), expandDims(broadcastTo(realPart32(r, name), shape), -1)));
  switch (op) {
    case 'add':
      return pairwise(E.add);
    case 'subtract':
      return pairwise(E.subtract);
    case 'multiply':
      if (isRealOperand(b)) return scaled(a, b, E.multiply);
      if (isRealOperand(a)) return scaled(b, a, E.multiply);
      return multiplyComplex(c(a), c(b));
    case 'divide':
      if (isRealOperand(b)) return scaled(a, b, E.divide);
      return divideComplex(c(a), c(b));
    case 'power':
      return isScalar(b) ? powerComplex(c(a), b) : powerComplex(c(a), c(b));
    case 'equal':
      return R.all(E.equal(viewAsReal(c(a)), viewAsReal(c(b))), -1);
    case 'not_equal':
      return R.any(E.notEqual(viewAsReal(c(a)), viewAsReal(c(b))), -1);
  }
  if (op === 'less' || op === 'less_equal' || op === 'greater' || op === 'greater_equal' || op === 'maximum' || op === 'minimum')
    throw complexUnsupported(name, 'complex64 arrays have no order (compare kn.abs or kn.real instead)');
  throw complexUnsupported(name);
}

/** The product over the last axis of [..., n] complex rows, halving the axis each step. */
function prodLast(z: NDArray): NDArray {
  let x = z;
  const one = toComplex(1, 'prod');
  if (x.shape[x.ndim - 1] === 0) return broadcastTo(one, x.shape.slice(0, -1));
  while (x.shape[x.ndim - 1] > 1) {
    const lead = x.shape.slice(0, -1);
    if (x.shape[x.ndim - 1] % 2) x = concatenate([x, broadcastTo(one, [...lead, 1])], -1);
    const half = x.shape[x.ndim - 1] / 2;
    const all = lead.map(() => ({}));
    x = multiplyComplex(slice(x, [...all, { start: 0, stop: half }]), slice(x, [...all, { start: half, stop: 2 * half }]));
  }
  return squeeze(x, x.ndim - 1);
}

function reduceComplex(op: string, name: string, x: NDArray, axes: number[], keepdims: boolean): NDArray {
  const keepShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  let out: NDArray;
  switch (op) {
    case 'sum':
      out = viewAsComplex(R.sum(viewAsReal(x), axes));
      break;
    case 'prod': {
      const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
      const moved = transpose(x, [...kept, ...axes]);
      const rows = reshape(moved, [...kept.map((i) => x.shape[i]), axes.reduce((n, i) => n * x.shape[i], 1)]);
      out = prodLast(rows);
      break;
    }
    case 'all':
      out = R.all(R.any(E.notEqual(viewAsReal(x), 0), -1), axes);
      break;
    case 'any':
      out = R.any(E.notEqual(viewAsReal(x), 0), [...axes, x.ndim]);
      break;
    default:
      throw complexUnsupported(name, 'complex64 arrays have no order (reduce kn.abs or kn.real instead)');
  }
  return keepdims ? reshape(out, keepShape) : out;
}

function meanComplex(x: NDArray, axes: number[], keepdims: boolean): NDArray {
  const count = axes.reduce((n, i) => n * x.shape[i], 1);
  return E.divide(reduceComplex('sum', 'mean', x, axes, keepdims), count);
}

/** (A + iB)(C + iD) = (AC - BD) + i(AD + BC) with the real GEMM; a real operand needs 2 products. */
function matmulComplex(a: NDArray, b: NDArray): NDArray {
  if (a.dtype !== 'complex64') {
    const [c, d] = parts(b);
    const ar = E.astype(a, 'float32');
    return join(realMatmul(ar, c), realMatmul(ar, d));
  }
  if (b.dtype !== 'complex64') {
    const [ar, ai] = parts(a);
    const br = E.astype(b, 'float32');
    return join(realMatmul(ar, br), realMatmul(ai, br));
  }
  const [ar, ai] = parts(a),
    [br, bi] = parts(b);
  return join(E.subtract(realMatmul(ar, br), realMatmul(ai, bi)), E.add(realMatmul(ar, bi), realMatmul(ai, br)));
}

/** The dtype of a complex result (always complex64: kiln has no complex128, as MLX). */
export const COMPLEX_DTYPE: DType = 'complex64';

complexHooks.unary = unaryComplex;
complexHooks.binary = binaryComplex;
complexHooks.reduce = reduceComplex;
complexHooks.mean = meanComplex;
complexHooks.matmul = matmulComplex;
