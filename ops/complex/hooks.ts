// Where the real-dtype ops hand complex64 operands over (ops/complex/ registers these at import):
// the generic ops stay free of complex code and of an import cycle with it.
import type { NDArray } from '../../core/array.js';
import type { Scalar } from '../../core/host.js';

type Operand = NDArray | Scalar;

export interface ComplexHooks {
  unary(op: string, name: string, x: NDArray): NDArray;
  binary(op: string, name: string, a: Operand, b: Operand): NDArray;
  reduce(op: string, name: string, x: NDArray, axes: number[], keepdims: boolean): NDArray;
  mean(x: NDArray, axes: number[], keepdims: boolean): NDArray;
  matmul(a: NDArray, b: NDArray): NDArray;
}

export const complexHooks: Partial<ComplexHooks> = {};

/** The hook, or a clear error when ops/complex was not loaded (never a silent real op). */
export function hook<K extends keyof ComplexHooks>(k: K, name: string): ComplexHooks[K] {
  const h = complexHooks[k];
  if (!h) throw new Error(`[${name}] complex64 support is not loaded (import ops/complex)`);
  return h as ComplexHooks[K];
}

/** The error for an op that has no complex64 version (as numpy/MLX raise). */
export function complexUnsupported(name: string, why = 'is not supported for complex64 arrays'): TypeError {
  return new TypeError(`[${name}] ${why}`);
}

export const isComplexArray = (x: unknown): boolean => typeof x === 'object' && x !== null && (x as NDArray).dtype === 'complex64';
