// kn.fast: fused primitives for normalisation, rotary embeddings and attention (DESIGN.md §2).
// Each has a native kernel and a composed fallback written with ordinary ops.
export { rmsNorm } from './rms_norm.js';
export { layerNorm } from './layer_norm.js';
export { rope } from './rope.js';
export type { RopeOptions } from './rope.js';
export { scaledDotProductAttention } from './attention.js';
export type { AttentionOptions } from './attention.js';
