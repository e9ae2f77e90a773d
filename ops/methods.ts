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
    astype(dtype: DType): NDArray;
    reshape(...shape: (number | readonly number[])[]): NDArray;
    flatten(startAxis?: number, endAxis?: number): NDArray;
    transpose(...axes: (number | readonly number[])[]): NDArray;
    readonly T: NDArray;
    swapaxes(a: number, b: number): NDArray;
    moveaxis(source: number, destination: number): NDArray;
    broadcastTo(shape: readonly number[]): NDArray;
    expandDims(axis: number | readonly number[]): NDArray;
    squeeze(axis?: number | readonly number[]): NDArray;
    slice(specs: readonly views.SliceSpec[]): NDArray;

    add(b: Operand): NDArray;
    subtract(b: Operand): NDArray;
    multiply(b: Operand): NDArray;
    divide(b: Operand): NDArray;
    power(b: Operand): NDArray;
    maximum(b: Operand): NDArray;
    minimum(b: Operand): NDArray;
    remainder(b: Operand): NDArray;
    floorDivide(b: Operand): NDArray;
    equal(b: Operand): NDArray;
    notEqual(b: Operand): NDArray;
    less(b: Operand): NDArray;
    lessEqual(b: Operand): NDArray;
    greater(b: Operand): NDArray;
    greaterEqual(b: Operand): NDArray;
    logicalAnd(b: Operand): NDArray;
    logicalOr(b: Operand): NDArray;
    logicalXor(b: Operand): NDArray;
    logaddexp(b: Operand): NDArray;
    bitwiseAnd(b: Operand): NDArray;
    bitwiseOr(b: Operand): NDArray;
    bitwiseXor(b: Operand): NDArray;
    leftShift(b: Operand): NDArray;
    rightShift(b: Operand): NDArray;
    matmul(b: NDArray): NDArray;
    index(...items: idx.IndexItem[]): NDArray;
    /** Iterates over the first axis (numpy/MLX): `const [a, b] = kn.random.split(key)`. */
    [Symbol.iterator](): Iterator<NDArray>;
    take(indices: NDArray | number | readonly number[], axis?: number): NDArray;
    put_(items: idx.IndexItem | idx.IndexItem[], values: Operand): NDArray;

    negative(): NDArray;
    abs(): NDArray;
    sign(): NDArray;
    square(): NDArray;
    sqrt(): NDArray;
    rsqrt(): NDArray;
    reciprocal(): NDArray;
    exp(): NDArray;
    expm1(): NDArray;
    log(): NDArray;
    log1p(): NDArray;
    log2(): NDArray;
    log10(): NDArray;
    sin(): NDArray;
    cos(): NDArray;
    tan(): NDArray;
    tanh(): NDArray;
    sigmoid(): NDArray;
    erf(): NDArray;
    floor(): NDArray;
    ceil(): NDArray;
    trunc(): NDArray;
    round(decimals?: number): NDArray;
    isnan(): NDArray;
    isinf(): NDArray;
    isfinite(): NDArray;
    logicalNot(): NDArray;
    bitwiseInvert(): NDArray;

    sum(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    prod(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    mean(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    max(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    min(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    all(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    any(axis?: Axes, opts?: red.ReduceOptions): NDArray;
    argmax(axis?: number | null, opts?: red.ArgReduceOptions): NDArray;
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
