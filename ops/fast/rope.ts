// kn.fast.rope: rotary position embedding (MLX's mx.fast.rope). Feature pairs of the last axis
// are rotated by angle position * scale * invFreq[i]; positions run along axis -2 from `offset`.
import type { NDArray } from '../../core/array.js';
import { floatFor, isFloating, type DType } from '../../core/dtype.js';
import { fmtShape, fmtValue } from '../../core/shape.js';
import { arange } from '../creation.js';
import { add, astype, cos, exp, multiply, reciprocal, sin, subtract } from '../elementwise.js';
import { concatenate, stack } from '../shape.js';
import { expandDims, reshape, slice } from '../views.js';
import { defineRules } from '../../core/rules.js';
import { make } from '../make.js';
import { arrayArg, asFloat, checkOptions, computeDType, finiteNumber, fusedPrimitive, hasKernel } from './common.js';

export interface RopeOptions {
  /** rotate interleaved pairs (x0, x1), (x2, x3) ... instead of the two halves (default false) */
  traditional?: boolean;
  /** base of the default frequencies base^(-2i/dims) (default 10000; not with `freqs`) */
  base?: number;
  /** multiplies the positions (default 1) */
  scale?: number;
  /** position of the first row along axis -2 (default 0) */
  offset?: number;
  /** per-pair periods of shape [dims / 2]: the angle is position * scale / freqs[i] */
  freqs?: NDArray | null;
}

export interface RopeArgs {
  x: NDArray;
  dims: number;
  traditional: boolean;
  base: number;
  scale: number;
  offset: number;
  freqs: NDArray | null;
}

/** Last-axis slice start:stop:step of x (a view). */
function lastAxis(x: NDArray, start: number, stop: number, step = 1): NDArray {
  const specs = x.shape.map(() => ({}));
  specs[specs.length - 1] = { start, stop, step };
  return slice(x, specs);
}

/**
 * cos and sin of the angles [L, dims/2], computed in float64 and rounded to `c` (the kernel
 * computes its angles in double too, so both agree even for long sequences in float32).
 */
function angles(a: RopeArgs, L: number, c: DType): [NDArray, NDArray] {
  const half = a.dims / 2;
  const pos = multiply(add(arange(L, 'float64'), a.offset), a.scale);
  const inv = a.freqs ? reciprocal(astype(a.freqs, 'float64')) : exp(multiply(arange(half, 'float64'), -Math.log(a.base) / half));
  const theta = multiply(expandDims(pos, 1), expandDims(inv, 0));
  return [astype(cos(theta), c), astype(sin(theta), c)];
}

/** The composed form: reference for the kernel and what gradients differentiate. */
export function ropeComposed(a: RopeArgs): NDArray {
  const x = a.x,
    D = x.shape[x.ndim - 1],
    L = x.shape[x.ndim - 2];
  const c = computeDType(x.dtype);
  const [cs, sn] = angles(a, L, c);
  const xc = astype(x, c);
  const [x1, x2] = a.traditional ? [lastAxis(xc, 0, a.dims, 2), lastAxis(xc, 1, a.dims, 2)] : [lastAxis(xc, 0, a.dims / 2), lastAxis(xc, a.dims / 2, a.dims)];
  const o1 = astype(subtract(multiply(x1, cs), multiply(x2, sn)), x.dtype);
  const o2 = astype(add(multiply(x1, sn), multiply(x2, cs)), x.dtype);
  const rotated = a.traditional ? reshape(stack([o1, o2], -1), [...x.shape.slice(0, -1), a.dims]) : concatenate([o1, o2], -1);
  return a.dims < D ? concatenate([rotated, lastAxis(x, a.dims, D)], -1) : rotated;
}

type RopeParams = Omit<RopeArgs, 'x' | 'freqs'> & { hasFreqs: boolean };

/** params: RopeParams; inputs x [, freqs]. The `rope` kernel (backends/cpu/kernels/rope.cc). */
export const Rope = fusedPrimitive('rope', 'rope', (node) => {
  const p = node.params as unknown as RopeParams;
  return [p.dims, p.traditional ? 1 : 0, p.base, p.scale, p.offset, p.hasFreqs ? 1 : 0];
});
defineRules(Rope, {
  fallback: (node, inputs) => {
    const p = node.params as unknown as RopeParams;
    return ropeComposed({ ...p, x: inputs[0], freqs: p.hasFreqs ? inputs[1] : null });
  },
});

/** Checks rope's arguments and fills in the defaults. */
export function ropeArgs(x: unknown, dims: unknown, opts: unknown): RopeArgs {
  const op = 'rope';
  const x0 = arrayArg(x, op, 'x');
  const a = asFloat(x0, floatFor(x0.dtype));
  const o = checkOptions(opts, op, ['traditional', 'base', 'scale', 'offset', 'freqs']);
  if (a.ndim < 2) throw new Error(`[${op}] x must have shape [..., L, D] (at least 2 dimensions), got ${fmtShape(a.shape)}`);
  const D = a.shape[a.ndim - 1];
  if (typeof dims !== 'number' || !Number.isInteger(dims)) throw new TypeError(`[${op}] dims must be an integer, got ${fmtValue(dims)}`);
  if (dims < 2 || dims % 2 !== 0 || dims > D)
    throw new RangeError(`[${op}] dims must be an even integer in [2, ${D}] (the last axis of x ${fmtShape(a.shape)}), got ${dims}`);
  const traditional = o.traditional ?? false;
  if (typeof traditional !== 'boolean') throw new TypeError(`[${op}] traditional must be a boolean, got ${fmtValue(traditional)}`);
  const scale = o.scale === undefined ? 1 : finiteNumber(o.scale, op, 'scale');
  const offset = o.offset ?? 0;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) throw new TypeError(`[${op}] offset must be an integer, got ${fmtValue(offset)}`);
  let freqs: NDArray | null = null;
  if (o.freqs !== undefined && o.freqs !== null) {
    if (o.base !== undefined && o.base !== null) throw new Error(`[${op}] pass either base or freqs, not both`);
    freqs = arrayArg(o.freqs, op, 'freqs');
    if (!isFloating(freqs.dtype)) throw new TypeError(`[${op}] freqs must be a floating-point array, got ${freqs.dtype}`);
    if (freqs.ndim !== 1 || freqs.shape[0] !== dims / 2)
      throw new Error(`[${op}] freqs must have shape [${dims / 2}] (dims / 2), got ${fmtShape(freqs.shape)}`);
  }
  const base = o.base === undefined || o.base === null ? 10000 : finiteNumber(o.base, op, 'base', { positive: true });
  return { x: a, dims, traditional, base, scale, offset, freqs };
}

/**
 * Rotary position embedding of x [..., L, D]: the first `dims` features of row l (axis -2) are
 * rotated in pairs by the angle (offset + l) * scale * base^(-2i/dims) (or (offset + l) * scale /
 * freqs[i] when `freqs` is given). Pairs are the two halves (x[i], x[i + dims/2]), or with
 * `traditional` the neighbours (x[2i], x[2i+1]); features past `dims` pass through. Angles are
 * computed in float64, the rotation in float32 (float64 for float64); the dtype of x is kept
 * (integer x gives float32).
 * @example
 * const q = kn.random.normal([1, 8, 16, 64], { key: kn.random.key(0) }); // [B, heads, L, D]
 * const r = kn.fast.rope(q, 64, { base: 10000, offset: 5 }); // positions 5..20
 * r.shape // [1, 8, 16, 64]
 * // position 0 is not rotated; position 1 turns the first pair by 1 radian
 * kn.fast.rope(kn.array([[[1, 0], [1, 0]]]), 2) // [[[1, 0], [0.5403, 0.8415]]]
 */
export function rope(x: NDArray, dims: number, opts: RopeOptions = {}): NDArray {
  const a = ropeArgs(x, dims, opts);
  if (!hasKernel('rope')) return ropeComposed(a);
  const { x: input, freqs, ...rest } = a;
  const params: RopeParams = { ...rest, hasFreqs: freqs !== null };
  return make(Rope, { ...params }, freqs ? [input, freqs] : [input], input.shape, input.dtype);
}
