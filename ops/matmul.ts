// Matrix product with numpy's matmul rules: batched and broadcast over leading dims,
// 1-d operands promoted to matrices and the added dimension removed afterwards.
import type { NDArray } from '../core/array.js';
import { promoteTypes } from '../core/dtype.js';
import { Matmul } from '../core/primitives.js';
import { broadcastShapes, fmtShape } from '../core/shape.js';
import { asArray } from './convert.js';
import { astype } from './elementwise.js';
import { make } from './make.js';
import { broadcastTo, reshape } from './views.js';
import { hook } from './complex/hooks.js';

/**
 * @example kn.matmul(kn.ones([2, 3]), kn.ones([3, 4])).shape // [2, 4]
 * @example kn.matmul(kn.ones([5, 2, 3]), kn.ones([3])).shape // [5, 2]
 */
export function matmul(a: NDArray, b: NDArray): NDArray {
  let x = asArray(a, 'matmul'),
    y = asArray(b, 'matmul');
  const shapeA = x.shape,
    shapeB = y.shape;
  if (x.ndim === 0 || y.ndim === 0)
    throw new Error(`[matmul] operands must have at least one dimension, got shapes ${fmtShape(x.node.shape)} and ${fmtShape(y.node.shape)}`);
  const dt = promoteTypes(x.dtype, y.dtype);
  if (dt === 'complex64') return hook('matmul', 'matmul')(x, y);
  if (dt === 'bool') throw new TypeError('[matmul] bool arrays are not supported; cast them with astype first');
  x = astype(x, dt);
  y = astype(y, dt);
  const xVec = x.ndim === 1,
    yVec = y.ndim === 1;
  if (xVec) x = reshape(x, [1, x.size]);
  if (yVec) y = reshape(y, [y.size, 1]);
  const xs = x.node.shape,
    ys = y.node.shape;
  const [m, k] = xs.slice(-2),
    [k2, n] = ys.slice(-2);
  if (k !== k2) throw new Error(`[matmul] inner dimensions differ: ${fmtShape(shapeA)} @ ${fmtShape(shapeB)} (${k} vs ${k2})`);
  if (ys.length === 2 && xs.length > 2) {
    // [..., m, k] @ [k, n] is one 2-d product: no broadcast copy of the weight, and its
    // gradient is one matmul instead of a batch of them summed
    const lead = xs.slice(0, -2);
    const rows = lead.reduce((p, d) => p * d, 1) * m;
    const out = make(Matmul, {}, [reshape(x, [rows, k]), y], [rows, n], dt);
    return reshape(out, [...lead, ...(xVec ? [] : [m]), ...(yVec ? [] : [n])]);
  }
  const batch = broadcastShapes('matmul', xs.slice(0, -2), ys.slice(0, -2));
  x = broadcastTo(x, [...batch, m, k]);
  y = broadcastTo(y, [...batch, k, n]);
  let out = make(Matmul, {}, [x, y], [...batch, m, n], dt);
  if (xVec || yVec) out = reshape(out, [...batch, ...(xVec ? [] : [m]), ...(yVec ? [] : [n])]);
  return out;
}
