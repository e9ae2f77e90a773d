// Building graph nodes from arrays.
import { NDArray } from '../core/array.js';
import type { DType } from '../core/dtype.js';
import { Node, type Primitive } from '../core/node.js';

export function make(prim: Primitive, params: Record<string, unknown>, inputs: NDArray[], shape: readonly number[], dtype: DType): NDArray {
  return new NDArray(new Node(prim, params, inputs.map((a) => a.node), shape.slice(), dtype));
}
