// Shape algebra: sizes, strides, broadcasting and axis normalisation.

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

export function contiguousStrides(shape: Shape): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

export function isRowContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}

export function shapeEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A value for an error message, safe for symbols, objects and cycles. */
export function fmtValue(v: unknown): string {
  if (typeof v === 'symbol' || typeof v === 'function') return String(v.toString());
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v !== null && typeof v === 'object') return Object.prototype.toString.call(v);
  return String(v);
}

export const fmtShape = (s: unknown): string => (Array.isArray(s) ? `[${s.map(fmtValue).join(', ')}]` : fmtValue(s));

/** numpy broadcasting of several shapes; throws naming the op and the shapes. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = nd - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else throw new Error(`[${op}] shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast together`);
    }
  }
  return out;
}

export function checkShape(shape: unknown, op: string): number[] {
  const arr = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(arr)) throw new TypeError(`[${op}] shape must be an array of non-negative integers, got ${fmtValue(shape)}`);
  for (const d of arr) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) throw new TypeError(`[${op}] shape must contain non-negative integers, got ${fmtShape(arr)}`);
  }
  if (arr.length > 32) throw new RangeError(`[${op}] at most 32 dimensions are supported, got ${arr.length}`);
  if (sizeOf(arr) > Number.MAX_SAFE_INTEGER) throw new RangeError(`[${op}] shape ${fmtShape(arr)} is too large`);
  return arr.slice();
}

/** Normalises a possibly negative axis for an array of `ndim` dims. */
export function normalizeAxis(axis: unknown, ndim: number, op: string): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis)) throw new TypeError(`[${op}] axis must be an integer, got ${fmtValue(axis)}`);
  if (axis < -ndim || axis >= ndim) throw new RangeError(`[${op}] axis ${axis} is out of bounds for array of dimension ${ndim}`);
  return axis < 0 ? axis + ndim : axis;
}

/** Normalises an axis list (undefined/null = all axes), rejecting repeats. */
export function normalizeAxes(axes: unknown, ndim: number, op: string): number[] {
  if (axes === undefined || axes === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  if (!Array.isArray(list)) throw new TypeError(`[${op}] axis must be an integer or an array of integers, got ${fmtValue(axes)}`);
  const out = list.map((a) => normalizeAxis(a, ndim, op));
  if (new Set(out).size !== out.length) throw new Error(`[${op}] repeated axis in ${fmtValue(list)}`);
  return out;
}
