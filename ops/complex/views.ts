// complex64 <-> float32 pairs as views (no copy): the complex ops are written over the float32
// view with ordinary ops, so they fuse, batch and differentiate like real code.
import type { NDArray } from '../../core/array.js';
import type { BufferView, Primitive, ShapeRule } from '../../core/node.js';
import { defineRules } from '../../core/rules.js';
import { contiguousStrides } from '../../core/shape.js';
import { asArray } from '../convert.js';
import { astype } from '../elementwise.js';
import { make } from '../make.js';
import { batchFirst } from '../grad/util.js';

const pairRule: ShapeRule = (ctx) => [...ctx.inputs[0], 2];
const unpairRule: ShapeRule = (ctx) => {
  const s = ctx.inputs[0];
  if (s[s.length - 1] !== 2) ctx.fail(`viewAsComplex needs a last axis of 2, got [${s.join(', ')}]`);
  return s.slice(0, -1);
};

/** complex64 [...S] as float32 [...S, 2]: element strides double, the pair is contiguous. */
export const ViewAsReal: Primitive = {
  name: 'view_as_real',
  kind: 'view',
  shapeRule: pairRule,
  view(_node, [x]) {
    return { buf: x.buf, offset: 2 * x.offset, strides: [...x.strides.map((s) => 2 * s), 1] };
  },
};

/** float32 [...S, 2] as complex64 [...S]; a layout the pairs cannot express is copied first. */
export const ViewAsComplex: Primitive = {
  name: 'view_as_complex',
  kind: 'view',
  shapeRule: unpairRule,
  view(node, [x]): BufferView | null {
    const sh = node.inputs[0].shape;
    const n = sh.length;
    if (sh.includes(0)) return { buf: x.buf, offset: 0, strides: contiguousStrides(node.shape) };
    if (x.strides[n - 1] !== 1 || x.offset % 2 !== 0) return null;
    const strides: number[] = [];
    for (let i = 0; i < n - 1; i++) {
      const s = sh[i] === 1 ? 0 : x.strides[i];
      if (s % 2 !== 0) return null;
      strides.push(s / 2);
    }
    return { buf: x.buf, offset: x.offset / 2, strides };
  },
  lower(node, ins, out, emit) {
    const src = node.inputs[0];
    emit.kernel(
      'copy',
      [],
      [
        { view: ins[0], dtype: src.dtype, shape: src.shape },
        { view: { buf: out.buf, offset: 0, strides: contiguousStrides(src.shape) }, dtype: 'float32', shape: src.shape },
      ],
    );
  },
};

/**
 * A complex64 array as float32 pairs `[..., 2]` (re, im) sharing its memory (torch's
 * `view_as_real`); gradients pass through unchanged.
 * @example kn.viewAsReal(kn.complex(kn.array([1, 2]), kn.array([3, 4]))).tolist() // [[1, 3], [2, 4]]
 */
export function viewAsReal(a: NDArray): NDArray {
  const x = asArray(a, 'viewAsReal');
  if (x.dtype !== 'complex64') throw new TypeError(`[viewAsReal] expects a complex64 array, got ${x.dtype}`);
  return make(ViewAsReal, {}, [x], [...x.node.shape, 2], 'float32');
}

/**
 * float pairs `[..., 2]` (re, im) as a complex64 array (cast to float32 first; copied only when
 * the layout needs it).
 * @example kn.viewAsComplex(kn.array([[1, 2], [3, 4]])).tolist() // [{ re: 1, im: 2 }, { re: 3, im: 4 }]
 */
export function viewAsComplex(a: NDArray): NDArray {
  const x = asArray(a, 'viewAsComplex');
  const sh = x.node.shape;
  if (sh.length === 0 || sh[sh.length - 1] !== 2) throw new Error(`[viewAsComplex] needs a last axis of length 2 (re, im), got shape [${sh.join(', ')}]`);
  if (x.dtype === 'complex64') throw new TypeError('[viewAsComplex] the input is already complex64');
  return make(ViewAsComplex, {}, [astype(x, 'float32')], sh.slice(0, -1), 'complex64');
}

defineRules(ViewAsReal, {
  vjp: (_ctx, g) => [viewAsComplex(g)],
  jvp: (_ctx, [t]) => (t ? viewAsReal(t) : null),
  vmap: (_node, [x], [ax]) => [viewAsReal(batchFirst(x, ax)), 0],
});

defineRules(ViewAsComplex, {
  vjp: (_ctx, g) => [viewAsReal(g)],
  jvp: (_ctx, [t]) => (t ? viewAsComplex(t) : null),
  vmap: (_node, [x], [ax]) => {
    if (ax === x.ndim - 1) throw new Error('[vmap] viewAsComplex cannot batch over its (re, im) axis');
    return [viewAsComplex(batchFirst(x, ax)), 0];
  },
});
