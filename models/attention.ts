// Attention masks and the sdpa dispatch shared by the families. A mask is only built when the
// fast kernel's own 'causal' option cannot express it (sliding windows, left padding, rotating
// caches); a single decode step over a plain cache needs none.
import type { NDArray } from '../core/array.js';
import { arange, array } from '../ops/creation.js';
import { greater, greaterEqual, less, lessEqual, logicalAnd, logicalOr, subtract } from '../ops/elementwise.js';
import { scaledDotProductAttention } from '../ops/fast/index.js';
import { expandDims, reshape } from '../ops/views.js';
import type { KVCacheLike } from './types.js';
import { packedKV, quantizedAttention } from './quantized_cache.js';

/** What attention takes as a mask: an array (bool: true = attend), the kernel's causal rule, or none. */
export type MaskSpec = NDArray | 'causal' | null;

export interface MaskOptions {
  /** sliding window: a query at position p sees keys p - window + 1 .. p */
  window?: number | null;
  /** per batch row, the number of padding keys at the start of the row (left padding) */
  leftPadding?: readonly number[] | null;
  /** absolute positions of the S keys (default 0..S-1); tokens below `keep` are always visible */
  keyPositions?: readonly number[] | null;
  keep?: number;
}

/**
 * The bool mask [L, S] (or [B, 1, L, S] with left padding) for L queries at positions
 * offset..offset+L-1 over S keys (positions 0..S-1 unless `keyPositions` says otherwise).
 * For L = 2 at offset 1: [[true, true, false], [true, true, true]].
 */
export function causalMask(L: number, offset: number, opts: MaskOptions = {}): NDArray {
  const kp = opts.keyPositions ? expandDims(array(Int32Array.from(opts.keyPositions)), 0) : expandDims(arange(offset + L), 0);
  const qp = expandDims(arange(offset, offset + L), 1);
  let m = lessEqual(kp, qp);
  if (opts.window != null) {
    let inWindow = greater(kp, subtract(qp, opts.window));
    if (opts.keep) inWindow = logicalOr(inWindow, less(kp, opts.keep));
    m = logicalAnd(m, inWindow);
  }
  if (opts.leftPadding) {
    const pad = reshape(array(Int32Array.from(opts.leftPadding)), [opts.leftPadding.length, 1, 1, 1]);
    m = logicalAnd(m, greaterEqual(kp, pad));
  }
  return m;
}

/** A cache that knows the mask for its next update (rotating and batched caches). */
export interface MaskingCache extends KVCacheLike {
  makeMask(L: number, opts?: { window?: number | null }): MaskSpec;
}

function masking(c: KVCacheLike | undefined): c is MaskingCache {
  return !!c && typeof (c as Partial<MaskingCache>).makeMask === 'function';
}

/**
 * The mask a forward of L new tokens needs, given the first layer's cache before its update.
 * Without a cache, 5 tokens get 'causal'; one decode step over a plain cache gets null (a single
 * query sees every cached key).
 */
export function createAttentionMask(L: number, cache?: KVCacheLike, opts: { window?: number | null } = {}): MaskSpec {
  if (masking(cache)) return cache.makeMask(L, opts);
  const offset = cache?.offset ?? 0;
  const window = opts.window ?? null;
  if (window !== null && offset + L > window) return causalMask(L, offset, { window });
  return L > 1 ? 'causal' : null;
}

/**
 * softmax(q kᵀ · scale + mask) v through kn.fast.scaledDotProductAttention; GQA is native (k and v
 * keep their nKvHeads, never repeated).
 */
export function attend(q: NDArray, k: NDArray, v: NDArray, scale: number, mask: MaskSpec): NDArray {
  // keys/values from a QuantizedKVCache: attention on the packed cache
  const pk = packedKV(k),
    pv = packedKV(v);
  if (pk && pv) return quantizedAttention(q, pk, pv, scale, mask);
  return scaledDotProductAttention(q, k, v, mask === null ? { scale } : { scale, mask });
}

/**
 * One mask per distinct layer window, each from the first cache of a layer with that window
 * (layers sharing a window have caches in the same state). A mask given by the caller wins.
 */
export function layerMasks(L: number, windows: readonly (number | null)[], cache: readonly KVCacheLike[] | undefined, given?: NDArray | 'causal'): MaskSpec[] {
  if (given !== undefined && given !== null) return windows.map(() => given);
  const byWindow = new Map<number | null, MaskSpec>();
  return windows.map((w, i) => {
    if (!byWindow.has(w)) byWindow.set(w, createAttentionMask(L, cache?.[i], { window: w }));
    return byWindow.get(w)!;
  });
}
