// Shared interface of the models/ layer (notes/MODELS_CONTRACT.md): what families, caches, loading
// and generation agree on. Types only, so every models/ file can import it without cycles.
import type { NDArray as Array } from '../core/array.js';

/** A per-layer key/value cache (models/cache.ts implements it). */
export interface KVCacheLike {
  /** Tokens already in the cache. */
  offset: number;
  /** Append keys/values `[B, nKvHeads, L, headDim]`; returns everything attention should see. */
  updateAndFetch(keys: Array, values: Array): [Array, Array];
  /** Drop the last n tokens; returns how many were dropped. */
  trim(n: number): number;
  readonly maxSize?: number;
  /** Arrays to eval / save. */
  state: Array[];
  isTrimmable(): boolean;
  /**
   * Optional: the attention mask of the next update of L tokens (rotating and left-padded caches
   * implement it; models/attention.ts falls back to 'causal' / none / a window mask).
   */
  makeMask?(L: number, opts?: { window?: number | null }): Array | 'causal' | null;
}

/** Options of `LanguageModel.forward`. */
export interface ForwardOptions {
  cache?: KVCacheLike[];
  mask?: Array | 'causal';
}

/** A causal language model (an nn.Module subclass). */
export interface LanguageModel {
  readonly modelType: string;
  /** Parsed ModelArgs. */
  readonly args: Record<string, unknown>;
  readonly vocabSize: number;
  readonly numLayers: number;
  /** int32 tokens [B, L] -> logits [B, L, vocab]. */
  forward(tokens: Array, opts?: ForwardOptions): Array;
  /** Drop rotary inv_freq, tie embeddings, etc. */
  sanitize(weights: Map<string, Array>): Map<string, Array>;
  /** Optional: the model's own per-layer caches (sliding-window families); see models/cache.ts makeCache. */
  makeCache?(opts: { maxKvSize?: number | null; keep?: number; leftPadding?: readonly number[] | null }): KVCacheLike[];
}

/** What a family registers: how to build a model from a parsed config.json. */
export interface ModelFamily {
  create(config: Record<string, unknown>): LanguageModel;
}
