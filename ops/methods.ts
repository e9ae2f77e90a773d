// Array methods: every op numpy or MLX offers as a method is also reachable as `a.op(...)`.
import { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import * as ew from './elementwise.js';
import * as red from './reduce.js';
import * as views from './views.js';
import { matmul } from './matmul.js';
import * as idx from './index_expr.js';
import { take } from './take_scatter.js';
import type { Operand } from './elementwise.js';

type Axes = number | readonly number[] | null | undefined | red.ReduceOptions;

declare module '../core/array.js' {
  interface NDArray {
    /** Casts to `dtype` (float→int truncates toward zero). Same as `kn.astype(a, dtype)`. @example kn.array([1.7, -1.7]).astype('int32') // [1, -1] */
    astype(dtype: DType): NDArray;
    /**
     * The same data in a new shape, given as numbers or one list; one dimension may be -1. Same as `kn.reshape(a, shape)`.
     * @example kn.arange(6).reshape(2, 3) // [[0, 1, 2], [3, 4, 5]]
     * @example kn.arange(6).reshape([-1, 2]).shape // [3, 2]
     */
    reshape(...shape: (number | readonly number[])[]): NDArray;
    /**
     * Merges the axes startAxis..endAxis (default all) into one. Same as `kn.flatten(a, startAxis, endAxis)`.
     * @example kn.ones([2, 3, 4]).flatten(1).shape // [2, 12]
     */
    flatten(startAxis?: number, endAxis?: number): NDArray;
    /**
     * Permutes the axes, given as numbers or one list (reverses them when none). Same as `kn.transpose(a, axes)`.
     * @example kn.ones([2, 3, 4]).transpose(2, 0, 1).shape // [4, 2, 3]
     * @example kn.array([[1, 2], [3, 4]]).transpose() // [[1, 3], [2, 4]]
     */
    transpose(...axes: (number | readonly number[])[]): NDArray;
    /** The transpose with the axes reversed (numpy's `a.T`). Same as `kn.transpose(a)`. @example kn.array([[1, 2], [3, 4]]).T // [[1, 3], [2, 4]] */
    readonly T: NDArray;
    /** Swaps two axes. Same as `kn.swapaxes(a, axis1, axis2)`. @example kn.ones([2, 3]).swapaxes(0, 1).shape // [3, 2] */
    swapaxes(a: number, b: number): NDArray;
    /** Moves one axis to a new position. Same as `kn.moveaxis(a, source, destination)`. @example kn.ones([2, 3, 4]).moveaxis(0, -1).shape // [3, 4, 2] */
    moveaxis(source: number, destination: number): NDArray;
    /**
     * Broadcasts to `shape` with numpy's rules (a view). Same as `kn.broadcastTo(a, shape)`.
     * @example kn.array([1, 2]).broadcastTo([2, 2]) // [[1, 2], [1, 2]]
     */
    broadcastTo(shape: readonly number[]): NDArray;
    /** Inserts size-1 axes at `axis`. Same as `kn.expandDims(a, axis)`. @example kn.ones([3]).expandDims(-1).shape // [3, 1] */
    expandDims(axis: number | readonly number[]): NDArray;
    /** Removes size-1 axes (all of them when `axis` is omitted). Same as `kn.squeeze(a, axis)`. @example kn.ones([1, 3, 1]).squeeze(0).shape // [3, 1] */
    squeeze(axis?: number | readonly number[]): NDArray;
    /**
     * A view sliced with one `{ start, stop, step }` per leading axis (numpy `a[1:8:2]`). Same as `kn.slice(a, specs)`.
     * @example kn.arange(10).slice([{ start: 1, stop: 8, step: 2 }]) // [1, 3, 5, 7]
     */
    slice(specs: readonly views.SliceSpec[]): NDArray;

    /**
     * Elementwise a + b, broadcasting (numpy's rules). Same as `kn.add(a, b)`.
     * @example kn.array([1, 2]).add(kn.array([[10], [20]])) // [[11, 12], [21, 22]]
     */
    add(b: Operand): NDArray;
    /** Elementwise a - b. Same as `kn.subtract(a, b)`. @example kn.array([5, 7]).subtract(2) // [3, 5] */
    subtract(b: Operand): NDArray;
    /** Elementwise a * b. Same as `kn.multiply(a, b)`. @example kn.array([1, 2]).multiply(3) // [3, 6] */
    multiply(b: Operand): NDArray;
    /** True division; integers divide in float32. Same as `kn.divide(a, b)`. @example kn.array([1, 3]).divide(2) // [0.5, 1.5] */
    divide(b: Operand): NDArray;
    /** a ** b (integer powers stay integer). Same as `kn.power(a, b)`. @example kn.array([2, 3]).power(2) // [4, 9] */
    power(b: Operand): NDArray;
    /** Elementwise maximum, NaN-propagating. Same as `kn.maximum(a, b)`. @example kn.array([1, 5]).maximum(3) // [3, 5] */
    maximum(b: Operand): NDArray;
    /** Elementwise minimum, NaN-propagating. Same as `kn.minimum(a, b)`. @example kn.array([1, 5]).minimum(3) // [1, 3] */
    minimum(b: Operand): NDArray;
    /** Remainder with the sign of the divisor (numpy `%`). Same as `kn.remainder(a, b)`. @example kn.array([-3, 3]).remainder(2) // [1, 1] */
    remainder(b: Operand): NDArray;
    /** Floor division (numpy `//`). Same as `kn.floorDivide(a, b)`. @example kn.array([-3, 3]).floorDivide(2) // [-2, 1] */
    floorDivide(b: Operand): NDArray;
    /** Elementwise a == b, as bool. Same as `kn.equal(a, b)`. @example kn.array([1, 2]).equal(2) // [false, true] */
    equal(b: Operand): NDArray;
    /** Elementwise a != b, as bool. Same as `kn.notEqual(a, b)`. @example kn.array([1, 2]).notEqual(2) // [true, false] */
    notEqual(b: Operand): NDArray;
    /** Elementwise a < b, as bool. Same as `kn.less(a, b)`. @example kn.array([1, 2, 3]).less(2) // [true, false, false] */
    less(b: Operand): NDArray;
    /** Elementwise a <= b, as bool. Same as `kn.lessEqual(a, b)`. @example kn.array([1, 2, 3]).lessEqual(2) // [true, true, false] */
    lessEqual(b: Operand): NDArray;
    /** Elementwise a > b, as bool. Same as `kn.greater(a, b)`. @example kn.array([1, 2, 3]).greater(2) // [false, false, true] */
    greater(b: Operand): NDArray;
    /** Elementwise a >= b, as bool. Same as `kn.greaterEqual(a, b)`. @example kn.array([1, 2, 3]).greaterEqual(2) // [false, true, true] */
    greaterEqual(b: Operand): NDArray;
    /**
     * Elementwise logical AND (non-zero is true), as bool. Same as `kn.logicalAnd(a, b)`.
     * @example kn.array([true, false]).logicalAnd(true) // [true, false]
     */
    logicalAnd(b: Operand): NDArray;
    /** Elementwise logical OR, as bool. Same as `kn.logicalOr(a, b)`. @example kn.array([true, false]).logicalOr(false) // [true, false] */
    logicalOr(b: Operand): NDArray;
    /** Elementwise logical XOR, as bool. Same as `kn.logicalXor(a, b)`. @example kn.array([true, false]).logicalXor(true) // [false, true] */
    logicalXor(b: Operand): NDArray;
    /** log(e^a + e^b), computed stably. Same as `kn.logaddexp(a, b)`. @example kn.array([0, 1]).logaddexp(0) // [0.6931, 1.3133] */
    logaddexp(b: Operand): NDArray;
    /** Bitwise AND of integers or bools. Same as `kn.bitwiseAnd(a, b)`. @example kn.array([12]).bitwiseAnd(10) // [8] */
    bitwiseAnd(b: Operand): NDArray;
    /** Bitwise OR of integers or bools. Same as `kn.bitwiseOr(a, b)`. @example kn.array([12]).bitwiseOr(10) // [14] */
    bitwiseOr(b: Operand): NDArray;
    /** Bitwise XOR of integers or bools. Same as `kn.bitwiseXor(a, b)`. @example kn.array([12]).bitwiseXor(10) // [6] */
    bitwiseXor(b: Operand): NDArray;
    /** Shifts integer bits left by b (numpy `<<`). Same as `kn.leftShift(a, b)`. @example kn.array([1, 3]).leftShift(2) // [4, 12] */
    leftShift(b: Operand): NDArray;
    /**
     * Shifts integer bits right by b (numpy `>>`, arithmetic for signed types). Same as `kn.rightShift(a, b)`.
     * @example kn.array([16, -16]).rightShift(2) // [4, -4]
     */
    rightShift(b: Operand): NDArray;
    /**
     * Matrix product with numpy's matmul rules (batched, 1-d operands promoted). Same as `kn.matmul(a, b)`.
     * @example kn.array([[1, 2], [3, 4]]).matmul(kn.array([[1], [1]])) // [[3], [7]]
     */
    matmul(b: NDArray): NDArray;
    /**
     * numpy indexing `a[...]`: integers, 'start:stop:step' strings or `kn.slice(...)`, `null` (newaxis), '...', integer
     * arrays (gather) and boolean masks. Basic indices give views. Same as `kn.index(a, ...items)`.
     * @example kn.arange(12).reshape(3, 4).index(1, '::2') // [4, 6]
     * @example kn.arange(12).reshape(3, 4).index('...', -1) // [3, 7, 11]
     */
    index(...items: idx.IndexItem[]): NDArray;
    /**
     * Iterates over the first axis (numpy/MLX): `const [a, b] = kn.random.split(key)`.
     * @example
     * const [row0, row1] = kn.array([[1, 2], [3, 4]]);
     * row1 // [3, 4]
     */
    [Symbol.iterator](): Iterator<NDArray>;
    /**
     * Elements at `indices` along `axis` (of the flattened array when omitted). Same as `kn.take(a, indices, axis)`.
     * @example kn.array([10, 20, 30]).take([2, 0]) // [30, 10]
     * @example kn.array([[1, 2], [3, 4]]).take(1, 1) // [2, 4]
     */
    take(indices: NDArray | number | readonly number[], axis?: number): NDArray;
    /**
     * In-place indexed assignment (numpy `a[index] = values`): rebinds this array to the updated one
     * and returns it; arrays that shared its data keep the old values. Same as `kn.put_(a, items, values)`.
     * @example
     * const a = kn.zeros([3]);
     * a.put_([1], 5);
     * a // [0, 5, 0]
     */
    put_(items: idx.IndexItem | idx.IndexItem[], values: Operand): NDArray;

    /** Elementwise -a. Same as `kn.negative(a)`. @example kn.array([1, -2]).negative() // [-1, 2] */
    negative(): NDArray;
    /** Elementwise |a|. Same as `kn.abs(a)`. @example kn.array([-1.5, 2]).abs() // [1.5, 2] */
    abs(): NDArray;
    /** -1, 0 or 1 by sign (NaN stays NaN). Same as `kn.sign(a)`. @example kn.array([-3, 0, 2]).sign() // [-1, 0, 1] */
    sign(): NDArray;
    /** Elementwise a * a. Same as `kn.square(a)`. @example kn.array([2, -3]).square() // [4, 9] */
    square(): NDArray;
    /** Elementwise square root. Same as `kn.sqrt(a)`. @example kn.array([4, 9]).sqrt() // [2, 3] */
    sqrt(): NDArray;
    /** Elementwise 1/sqrt(a). Same as `kn.rsqrt(a)`. @example kn.array([4, 16]).rsqrt() // [0.5, 0.25] */
    rsqrt(): NDArray;
    /** Elementwise 1/a. Same as `kn.reciprocal(a)`. @example kn.array([0.5, 4]).reciprocal() // [2, 0.25] */
    reciprocal(): NDArray;
    /** Elementwise e^a. Same as `kn.exp(a)`. @example kn.array([0, 1]).exp() // [1, 2.7183] */
    exp(): NDArray;
    /** e^a - 1, accurate near 0. Same as `kn.expm1(a)`. @example kn.array([0, 1]).expm1() // [0, 1.7183] */
    expm1(): NDArray;
    /** Natural logarithm. Same as `kn.log(a)`. @example kn.array([1, 100]).log() // [0, 4.6052] */
    log(): NDArray;
    /** log(1 + a), accurate near 0. Same as `kn.log1p(a)`. @example kn.array([0, 1]).log1p() // [0, 0.6931] */
    log1p(): NDArray;
    /** Base-2 logarithm. Same as `kn.log2(a)`. @example kn.array([1, 8]).log2() // [0, 3] */
    log2(): NDArray;
    /** Base-10 logarithm. Same as `kn.log10(a)`. @example kn.array([1, 1000]).log10() // [0, 3] */
    log10(): NDArray;
    /** Sine (radians). Same as `kn.sin(a)`. @example kn.array([0, Math.PI / 2]).sin() // [0, 1] */
    sin(): NDArray;
    /** Cosine (radians). Same as `kn.cos(a)`. @example kn.array([0, Math.PI]).cos() // [1, -1] */
    cos(): NDArray;
    /** Tangent (radians). Same as `kn.tan(a)`. @example kn.array([0, Math.PI / 4]).tan() // [0, 1] */
    tan(): NDArray;
    /** Hyperbolic tangent. Same as `kn.tanh(a)`. @example kn.array([0, 1]).tanh() // [0, 0.7616] */
    tanh(): NDArray;
    /** Logistic function 1/(1+e^-a). Same as `kn.sigmoid(a)`. @example kn.array([0, 2]).sigmoid() // [0.5, 0.8808] */
    sigmoid(): NDArray;
    /** Gauss error function. Same as `kn.erf(a)`. @example kn.array([0, 0.5]).erf() // [0, 0.5205] */
    erf(): NDArray;
    /** Rounds down. Same as `kn.floor(a)`. @example kn.array([1.5, -1.5]).floor() // [1, -2] */
    floor(): NDArray;
    /** Rounds up. Same as `kn.ceil(a)`. @example kn.array([1.5, -1.5]).ceil() // [2, -1] */
    ceil(): NDArray;
    /** Rounds toward zero. Same as `kn.trunc(a)`. @example kn.array([1.5, -1.5]).trunc() // [1, -1] */
    trunc(): NDArray;
    /**
     * Rounds half to even to `decimals` places (default 0; may be negative). Same as `kn.round(a, decimals)`.
     * @example kn.array([0.5, 1.5, 2.5]).round() // [0, 2, 2]
     * @example kn.array([1.234, 15]).round(1) // [1.2, 15]
     */
    round(decimals?: number): NDArray;
    /** True where a is NaN. Same as `kn.isnan(a)`. @example kn.array([1, NaN]).isnan() // [false, true] */
    isnan(): NDArray;
    /** True where a is +inf or -inf. Same as `kn.isinf(a)`. @example kn.array([1, Infinity, -Infinity]).isinf() // [false, true, true] */
    isinf(): NDArray;
    /** True where a is neither infinite nor NaN. Same as `kn.isfinite(a)`. @example kn.array([1, Infinity, NaN]).isfinite() // [true, false, false] */
    isfinite(): NDArray;
    /** Logical NOT (zero is false), as bool. Same as `kn.logicalNot(a)`. @example kn.array([0, 2]).logicalNot() // [true, false] */
    logicalNot(): NDArray;
    /** Bitwise NOT of integers (logical NOT of bools). Same as `kn.bitwiseInvert(a)`. @example kn.array([0], 'uint8').bitwiseInvert() // [255] */
    bitwiseInvert(): NDArray;

    /**
     * Sum over `axis` (one, a list, or all when omitted); `{ keepdims: true }` keeps reduced axes as size 1. Same as `kn.sum(a, axis, opts)`.
     * @example kn.array([[1, 2], [3, 4]]).sum(0) // [4, 6]
     * @example kn.array([[1, 2], [3, 4]]).sum() // 10
     * @example kn.array([[1, 2], [3, 4]]).sum(1, { keepdims: true }) // [[3], [7]]
     */
    sum(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    /** Product over `axis` (all axes when omitted). Same as `kn.prod(a, axis, opts)`. @example kn.array([[1, 2], [3, 4]]).prod(1) // [2, 12] */
    prod(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    /**
     * Arithmetic mean over `axis` (all axes when omitted); integers average in float32. Same as `kn.mean(a, axis, opts)`.
     * @example kn.array([[1, 2], [3, 4]]).mean(0) // [2, 3]
     */
    mean(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    /** Maximum over `axis` (all axes when omitted; NaN propagates). Same as `kn.max(a, axis, opts)`. @example kn.array([[1, 2], [3, 4]]).max(1) // [2, 4] */
    max(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    /** Minimum over `axis` (all axes when omitted; NaN propagates). Same as `kn.min(a, axis, opts)`. @example kn.array([[1, 2], [3, 4]]).min(0) // [1, 2] */
    min(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    /**
     * True where every element along `axis` is non-zero. Same as `kn.all(a, axis, opts)`.
     * @example kn.array([[true, false], [true, true]]).all(1) // [false, true]
     */
    all(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    /**
     * True where any element along `axis` is non-zero. Same as `kn.any(a, axis, opts)`.
     * @example kn.array([[false, false], [true, false]]).any(1) // [false, true]
     */
    any(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    /**
     * Index (int32) of the first maximum along `axis` (of the flattened array when omitted). Same as `kn.argmax(a, axis, opts)`.
     * @example kn.array([[1, 5], [7, 2]]).argmax(1) // [1, 0]
     * @example kn.array([[1, 5], [7, 2]]).argmax() // 2
     */
    argmax(axis?: number | null, opts?: red.ArgReduceOptions): NDArray;
    /**
     * Index (int32) of the first minimum along `axis` (of the flattened array when omitted). Same as `kn.argmin(a, axis, opts)`.
     * @example kn.array([[1, 5], [7, 2]]).argmin(0) // [0, 1]
     */
    argmin(axis?: number | null, opts?: red.ArgReduceOptions): NDArray;
  }
}

/** `reshape(2, 3)` and `reshape([2, 3])` both work, as in numpy. */
function shapeArgs(args: (number | readonly number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]);
}

const P = NDArray.prototype as unknown as Record<string, unknown>;
const binaryNames = [
  'add',
  'subtract',
  'multiply',
  'divide',
  'power',
  'maximum',
  'minimum',
  'remainder',
  'floorDivide',
  'equal',
  'notEqual',
  'less',
  'lessEqual',
  'greater',
  'greaterEqual',
  'logicalAnd',
  'logicalOr',
  'logicalXor',
  'logaddexp',
  'bitwiseAnd',
  'bitwiseOr',
  'bitwiseXor',
  'leftShift',
  'rightShift',
] as const;
for (const name of binaryNames) {
  const f = ew[name] as (a: Operand, b: Operand) => NDArray;
  P[name] = function (this: NDArray, b: Operand) {
    return f(this, b);
  };
}
const unaryNames = [
  'negative',
  'abs',
  'sign',
  'square',
  'sqrt',
  'rsqrt',
  'reciprocal',
  'exp',
  'expm1',
  'log',
  'log1p',
  'log2',
  'log10',
  'sin',
  'cos',
  'tan',
  'tanh',
  'sigmoid',
  'erf',
  'floor',
  'ceil',
  'trunc',
  'isnan',
  'isinf',
  'isfinite',
  'logicalNot',
  'bitwiseInvert',
] as const;
for (const name of unaryNames) {
  const f = ew[name] as (a: Operand) => NDArray;
  P[name] = function (this: NDArray) {
    return f(this);
  };
}
for (const name of ['sum', 'prod', 'mean', 'max', 'min', 'all', 'any'] as const) {
  const f = red[name];
  P[name] = function (this: NDArray, axis?: Axes, opts?: red.ReduceOptions) {
    return f(this, axis, opts);
  };
}
for (const name of ['argmax', 'argmin'] as const) {
  const f = red[name];
  P[name] = function (this: NDArray, axis?: number | null, opts?: red.ArgReduceOptions) {
    return f(this, axis, opts);
  };
}

Object.assign(P, {
  astype(this: NDArray, dtype: DType) {
    return ew.astype(this, dtype);
  },
  round(this: NDArray, decimals = 0) {
    return ew.round(this, decimals);
  },
  reshape(this: NDArray, ...shape: (number | readonly number[])[]) {
    return views.reshape(this, shapeArgs(shape));
  },
  flatten(this: NDArray, startAxis?: number, endAxis?: number) {
    return views.flatten(this, startAxis, endAxis);
  },
  transpose(this: NDArray, ...axes: (number | readonly number[])[]) {
    return views.transpose(this, axes.length ? shapeArgs(axes) : undefined);
  },
  swapaxes(this: NDArray, a: number, b: number) {
    return views.swapaxes(this, a, b);
  },
  moveaxis(this: NDArray, s: number, d: number) {
    return views.moveaxis(this, s, d);
  },
  broadcastTo(this: NDArray, shape: readonly number[]) {
    return views.broadcastTo(this, shape);
  },
  expandDims(this: NDArray, axis: number | readonly number[]) {
    return views.expandDims(this, axis);
  },
  squeeze(this: NDArray, axis?: number | readonly number[]) {
    return views.squeeze(this, axis);
  },
  slice(this: NDArray, specs: readonly views.SliceSpec[]) {
    return views.slice(this, specs);
  },
  matmul(this: NDArray, b: NDArray) {
    return matmul(this, b);
  },
  index(this: NDArray, ...items: idx.IndexItem[]) {
    return idx.index(this, ...items);
  },
  take(this: NDArray, indices: NDArray | number | readonly number[], axis?: number) {
    return take(this, indices, axis);
  },
  put_(this: NDArray, items: idx.IndexItem | idx.IndexItem[], values: Operand) {
    return idx.put_(this, items, values);
  },
});
Object.defineProperty(NDArray.prototype, Symbol.iterator, {
  value: function* (this: NDArray): Generator<NDArray> {
    if (this.ndim === 0) throw new TypeError('[iter] iteration over a 0-d array');
    const n = this.shape[0];
    for (let i = 0; i < n; i++) yield idx.index(this, i);
  },
});
Object.defineProperty(NDArray.prototype, 'T', {
  get(this: NDArray) {
    return views.transpose(this);
  },
});
