// Building graph nodes from arrays.
import { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import { Node, type Primitive } from '../core/node.js';
import { makeSiblings } from '../core/siblings.js';

export function make(prim: Primitive, params: Record<string, unknown>, inputs: NDArray[], shape: readonly number[], dtype: DType): NDArray {
  return new NDArray(
    new Node(
      prim,
      params,
      inputs.map((a) => a.node),
      shape.slice(),
      dtype,
    ),
  );
}

/** The outputs of one application of a multi-output primitive (one kernel launch computes all). */
export function multi(
  prim: Primitive,
  params: Record<string, unknown>,
  inputs: NDArray[],
  shapes: readonly (readonly number[])[],
  dtype: DType | readonly DType[],
): NDArray[] {
  const types = shapes.map((shape, k) => ({ shape, dtype: typeof dtype === 'string' ? dtype : (dtype as readonly DType[])[k] }));
  return makeSiblings(
    prim,
    params,
    inputs.map((a) => a.node),
    types,
  ).map((n) => new NDArray(n));
}
