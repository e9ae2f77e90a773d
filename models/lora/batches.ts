// Batching for fine-tuning: examples sorted by length and cut into batches of similar lengths
// (little padding), padded to a multiple of 32 (so compiled steps see few shapes), truncated to
// maxSeqLength. Training visits the batches in a fresh order each epoch, drawn from (seed, epoch)
// alone, so the k-th batch of a run is a pure function of (seed, k) and a resumed run sees the
// same data in the same order.
import type { Example } from './data.js';

export interface Batch {
  /** tokens [B, T] row-major, padded with 0 */
  tokens: Int32Array;
  shape: [number, number];
  lengths: Int32Array;
  offsets: Int32Array;
}

export interface BatchPlan {
  /** example indices of each batch (sorted by length) */
  batches: number[][];
  /** how many examples are longer than maxSeqLength (truncated) */
  truncated: number;
}

/** A small seeded generator (mulberry32): the shuffles are the same on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A permutation of 0..n-1 from a seed (Fisher–Yates). */
export function permutation(n: number, seed: number): number[] {
  const r = rng(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/**
 * Groups examples into batches of `batchSize` by length (a last partial batch is dropped, as in
 * mlx-lm, unless it is the only one).
 * @example
 * kn.models.lora.planBatches([{ tokens: [1, 2, 3], offset: 0 }, { tokens: [1], offset: 0 }, { tokens: [1, 2], offset: 0 }], 2, 100).batches // [[1, 2]]
 */
export function planBatches(examples: readonly Example[], batchSize: number, maxSeqLength: number, name = 'dataset'): BatchPlan {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`[lora] batch size must be a positive integer, got ${batchSize}`);
  if (examples.length < batchSize)
    throw new Error(`[lora] ${name} has ${examples.length} example(s), fewer than the batch size ${batchSize}: add examples or lower --batch-size`);
  const idx = examples.map((_, i) => i).sort((a, b) => examples[a].tokens.length - examples[b].tokens.length || a - b);
  const batches: number[][] = [];
  for (let i = 0; i + batchSize <= idx.length; i += batchSize) batches.push(idx.slice(i, i + batchSize));
  const truncated = examples.filter((e) => e.tokens.length > maxSeqLength).length;
  return { batches, truncated };
}

/** Pads (and truncates) the examples of one batch into arrays. */
export function makeBatch(examples: readonly Example[], indices: readonly number[], maxSeqLength: number, padTo = 32): Batch {
  const lens = indices.map((i) => Math.min(examples[i].tokens.length, maxSeqLength));
  const longest = Math.max(...lens, 2);
  const T = Math.max(2, Math.min(maxSeqLength, padTo * Math.ceil(longest / padTo)));
  const B = indices.length;
  const tokens = new Int32Array(B * T);
  const lengths = new Int32Array(B),
    offsets = new Int32Array(B);
  indices.forEach((ex, b) => {
    const e = examples[ex];
    const n = lens[b];
    for (let t = 0; t < n; t++) tokens[b * T + t] = e.tokens[t];
    lengths[b] = n;
    offsets[b] = Math.min(e.offset, n);
  });
  return { tokens, shape: [B, T], lengths, offsets };
}

/**
 * The k-th training batch (0-based) of a run: epoch e = ⌊k / nBatches⌋ visits the batches in the
 * order permutation(nBatches, seed, e).
 * @example
 * kn.models.lora.batchIndexAt(5, 3, 0) < 3 // true
 */
export function batchIndexAt(k: number, nBatches: number, seed: number): number {
  const epoch = Math.floor(k / nBatches);
  return permutation(nBatches, (seed * 1000003 + epoch * 7919 + 1) >>> 0)[k % nBatches];
}
