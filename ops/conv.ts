// Convolutions in MLX's channels-last layout: input [N, ...spatial, Cin], weight
// [Cout, ...kernel, Cin/groups]. Built from ordinary primitives (pad, strided slices, concatenate,
// matmul) so they differentiate through the rules of those primitives and need no kernel of their own.
import type { NDArray } from '../core/array.js';
import { fmtShape, fmtValue } from '../core/shape.js';
import { asArray } from './convert.js';
import { matmul } from './matmul.js';
import { pad } from './shape.js';
import { asStrided, reshape, swapaxes, transpose } from './views.js';
import type { Scalar } from '../core/host.js';

/** One integer, or one per spatial axis. */
export type SpatialArg = number | readonly number[];

export interface ConvOptions {
  /** step between windows (default 1) */
  stride?: SpatialArg;
  /** zeros added on both sides of each spatial axis (default 0) */
  padding?: SpatialArg;
  /** spacing between kernel taps (default 1) */
  dilation?: SpatialArg;
  /** input and output channels split into this many independent groups (default 1) */
  groups?: number;
}

/** Expands a per-axis argument to `nd` non-negative (or positive) integers. */
export function spatialArg(v: SpatialArg | undefined, nd: number, dflt: number, name: string, op: string, min: number): number[] {
  if (!Array.isArray(v) && typeof v !== 'number' && v !== undefined)
    throw new TypeError(`[${op}] ${name} must be an integer or ${nd} integers, got ${fmtValue(v)}`);
  const list: number[] = v === undefined ? new Array(nd).fill(dflt) : typeof v === 'number' ? new Array(nd).fill(v) : [...v];
  if (list.length !== nd || !list.every((d) => Number.isInteger(d) && d >= min))
    throw new Error(`[${op}] ${name} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer or ${nd} of them, got ${fmtValue(v)}`);
  return list;
}

export interface WindowSpec {
  kernel: readonly number[];
  stride: readonly number[];
  padding: readonly number[];
  dilation: readonly number[];
  /** value of the padded border (0 for convolution and average pooling, -inf for max pooling) */
  padValue?: Scalar;
}

/**
 * Sliding windows of a channels-last array x [N, ...spatial, C] as [N, ...out, ...kernel, C]: one
 * strided view (kn.asStrided) of the padded input, differentiable through asStrided's scatter-add
 * rule. Consumers reshape it, which copies the windows once.
 */
export function slidingWindows(x: NDArray, spec: WindowSpec, op: string): NDArray {
  const nd = spec.kernel.length;
  const spatial = x.shape.slice(1, 1 + nd);
  const out = spatial.map((d, i) => {
    const span = spec.dilation[i] * (spec.kernel[i] - 1) + 1;
    const padded = d + 2 * spec.padding[i];
    if (padded < span)
      throw new Error(`[${op}] the kernel spans ${span} along spatial axis ${i}, more than the padded input size ${padded} (input shape ${fmtShape(x.shape)})`);
    return Math.floor((padded - span) / spec.stride[i]) + 1;
  });
  const xp = spec.padding.some((p) => p > 0)
    ? pad(x, [[0, 0], ...spec.padding.map((p) => [p, p] as [number, number]), [0, 0]], { constantValue: spec.padValue ?? 0 })
    : x;
  const [n, c] = [xp.shape[0], xp.shape[nd + 1]];
  // row-major element strides of xp: [batch, ...spatial, channel]
  const strides = new Array(nd + 2).fill(1);
  for (let i = nd; i >= 0; i--) strides[i] = strides[i + 1] * xp.shape[i + 1];
  const sp = strides.slice(1, 1 + nd);
  return asStrided(xp, [n, ...out, ...spec.kernel, c], [strides[0], ...sp.map((s, i) => s * spec.stride[i]), ...sp.map((s, i) => s * spec.dilation[i]), 1]);
}

function convNd(input: NDArray, weight: NDArray, nd: number, opts: ConvOptions, op: string): NDArray {
  const x = asArray(input, op),
    w = asArray(weight, op);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`[${op}] options must be an object, got ${fmtValue(opts)}`);
  const layout = nd === 1 ? '[N, L, C]' : nd === 2 ? '[N, H, W, C]' : '[N, D, H, W, C]';
  if (x.ndim !== nd + 2) throw new Error(`[${op}] input must be ${nd + 2}-dimensional ${layout} (channels last), got shape ${fmtShape(x.shape)}`);
  if (w.ndim !== nd + 2) throw new Error(`[${op}] weight must be ${nd + 2}-dimensional [Cout, ...kernel, Cin/groups], got shape ${fmtShape(w.shape)}`);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`[${op}] groups must be a positive integer, got ${fmtValue(groups)}`);
  const cin = x.shape[nd + 1],
    cout = w.shape[0],
    cg = w.shape[nd + 1];
  if (cin % groups !== 0) throw new Error(`[${op}] input channels ${cin} are not divisible by groups ${groups}`);
  if (cout % groups !== 0) throw new Error(`[${op}] output channels ${cout} are not divisible by groups ${groups}`);
  if (cg * groups !== cin)
    throw new Error(
      `[${op}] weight shape ${fmtShape(w.shape)} expects ${cg * groups} input channels (${cg} per group × ${groups} groups), the input has ${cin}`,
    );
  const kernel = w.shape.slice(1, 1 + nd);
  if (kernel.some((k) => k === 0)) throw new Error(`[${op}] kernel size must be positive, got weight shape ${fmtShape(w.shape)}`);
  const spec: WindowSpec = {
    kernel,
    stride: spatialArg(opts.stride, nd, 1, 'stride', op, 1),
    padding: spatialArg(opts.padding, nd, 0, 'padding', op, 0),
    dilation: spatialArg(opts.dilation, nd, 1, 'dilation', op, 1),
  };
  const win = slidingWindows(x, spec, op); // [N, ...out, ...kernel, Cin]
  const outShape = win.shape.slice(0, 1 + nd);
  const m = outShape.reduce((a, b) => a * b, 1);
  const k = kernel.reduce((a, b) => a * b, 1);
  if (groups === 1) {
    const y = matmul(reshape(win, [m, k * cin]), swapaxes(reshape(w, [cout, k * cin]), 0, 1));
    return reshape(y, [...outShape, cout]);
  }
  // grouped: one batched matmul over the groups, [G, M, K*Cg] @ [G, K*Cg, Cout/G]
  const og = cout / groups;
  const xg = reshape(transpose(reshape(win, [m, k, groups, cg]), [2, 0, 1, 3]), [groups, m, k * cg]);
  const wg = swapaxes(reshape(w, [groups, og, k * cg]), 1, 2);
  const y = transpose(matmul(xg, wg), [1, 0, 2]); // [M, G, Cout/G]: channel g*og + j
  return reshape(y, [...outShape, cout]);
}

/**
 * 1-D convolution (cross-correlation, as in MLX and PyTorch) in channels-last layout:
 * input [N, L, Cin], weight [Cout, K, Cin/groups] → [N, Lout, Cout].
 * @example kn.conv1d(kn.ones([1, 5, 2]), kn.ones([3, 2, 2]), { padding: 1 }).shape // [1, 6, 3]
 */
export function conv1d(input: NDArray, weight: NDArray, opts: ConvOptions = {}): NDArray {
  return convNd(input, weight, 1, opts, 'conv1d');
}

/**
 * 2-D convolution in channels-last layout: input [N, H, W, Cin], weight [Cout, KH, KW, Cin/groups]
 * → [N, Hout, Wout, Cout]. stride, padding and dilation take one integer or [h, w].
 * @example kn.conv2d(kn.ones([1, 4, 4, 3]), kn.ones([8, 3, 3, 3]), { stride: 2, padding: 1 }).shape // [1, 2, 2, 8]
 */
export function conv2d(input: NDArray, weight: NDArray, opts: ConvOptions = {}): NDArray {
  return convNd(input, weight, 2, opts, 'conv2d');
}

/**
 * 3-D convolution in channels-last layout: input [N, D, H, W, Cin], weight
 * [Cout, KD, KH, KW, Cin/groups] → [N, Dout, Hout, Wout, Cout].
 * @example kn.conv3d(kn.ones([1, 3, 3, 3, 1]), kn.ones([2, 2, 2, 2, 1])).shape // [1, 2, 2, 2, 2]
 */
export function conv3d(input: NDArray, weight: NDArray, opts: ConvOptions = {}): NDArray {
  return convNd(input, weight, 3, opts, 'conv3d');
}
