// Readers for config.json fields: each names the family, the field and the bad value.
import type { NDArray } from '../core/array.js';
import { fmtValue } from '../core/shape.js';
import type { KVCacheLike } from './types.js';

export type Config = Record<string, unknown>;

/** A required positive integer field. */
export function posInt(c: Config, key: string, family: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new Error(`[models] ${family} config: ${key} must be a positive integer, got ${v === undefined ? 'nothing (missing)' : fmtValue(v)}`);
  return v;
}

/** A finite number field with a default. */
export function numField(c: Config, key: string, family: string, fallback: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`[models] ${family} config: ${key} must be a finite number, got ${fmtValue(v)}`);
  return v;
}

/** A boolean field with a default. */
export function boolField(c: Config, key: string, family: string, fallback: boolean): boolean {
  const v = c[key] ?? fallback;
  if (typeof v !== 'boolean') throw new Error(`[models] ${family} config: ${key} must be true or false, got ${fmtValue(v)}`);
  return v;
}

/** An optional positive integer (null / absent -> null). */
export function optPosInt(c: Config, key: string, family: string): number | null {
  const v = c[key];
  if (v === undefined || v === null) return null;
  return posInt(c, key, family);
}

/**
 * transformers 5 writes `rope_parameters` ({ rope_type, rope_theta, factor, ... }, or one such
 * object per layer type) instead of rope_theta + rope_scaling; null when the config has none.
 */
export function ropeParameters(c: Config, family: string): Record<string, unknown> | null {
  let v = c.rope_parameters;
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`[models] ${family} config: rope_parameters must be an object, got ${fmtValue(v)}`);
  const o = v as Record<string, unknown>;
  // per layer type: the full-attention layers' settings
  if (!('rope_type' in o) && !('rope_theta' in o) && o.full_attention && typeof o.full_attention === 'object') v = o.full_attention;
  return v as Record<string, unknown>;
}

/** rope_theta, from the config or its rope_parameters. */
export function ropeTheta(c: Config, family: string, fallback = 10000): number {
  const p = ropeParameters(c, family);
  return numField(c, 'rope_theta', family, typeof p?.rope_theta === 'number' ? p.rope_theta : fallback);
}

/** rope_scaling: null or an object (from rope_parameters when the config uses that form). */
export function ropeScaling(c: Config, family: string): Record<string, unknown> | null {
  let v = c.rope_scaling;
  if (v === undefined || v === null) {
    const p = ropeParameters(c, family);
    const type = p?.rope_type ?? p?.type;
    if (!p || type === undefined || type === 'default') return null;
    v = p;
  }
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`[models] ${family} config: rope_scaling must be an object or null, got ${fmtValue(v)}`);
  return v as Record<string, unknown>;
}

/** Query heads must be a multiple of the key/value heads (grouped-query attention). */
export function checkHeads(heads: number, kvHeads: number, family: string): void {
  if (heads % kvHeads !== 0)
    throw new Error(`[models] ${family} config: num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${kvHeads})`);
}

/** The int32 [B, L] tokens a forward takes. */
export function checkTokens(shape: readonly number[], dtype: string, family: string): void {
  if (shape.length !== 2) throw new Error(`[models] ${family}.forward: tokens must have shape [B, L], got [${shape.join(', ')}]`);
  if (!/^u?int/.test(dtype)) throw new TypeError(`[models] ${family}.forward: tokens must be integers (int32), got ${dtype}`);
  if (shape[1] === 0) throw new Error(`[models] ${family}.forward: tokens must hold at least one position, got [${shape.join(', ')}]`);
}

/** Checks a per-layer cache list against the layer count. */
export function checkCache(cache: KVCacheLike[] | undefined, layers: number, family: string): KVCacheLike[] | undefined {
  if (cache === undefined || cache === null) return undefined;
  if (!Array.isArray(cache) || cache.length !== layers)
    throw new Error(
      `[models] ${family}.forward: cache must be a list of ${layers} layer caches (makeCache(model)), got ${Array.isArray(cache) ? cache.length : typeof cache}`,
    );
  return cache;
}

/** Drops rotary inv_freq buffers (some checkpoints store them) and a tied lm_head. */
export function sanitizeCommon(weights: Map<string, NDArray>, tied: boolean): Map<string, NDArray> {
  const out = new Map<string, NDArray>();
  for (const [k, v] of weights) {
    if (k.includes('rotary_emb.inv_freq')) continue;
    if (tied && k === 'lm_head.weight') continue;
    out.set(k, v);
  }
  return out;
}

/**
 * Per-layer sliding windows of the Qwen-style configs: `layer_types` ("sliding_attention" /
 * "full_attention") when present, else use_sliding_window with layers from max_window_layers on.
 */
export function qwenLayerWindows(c: Config, layers: number, family: string): (number | null)[] {
  const window = optPosInt(c, 'sliding_window', family);
  const types = c.layer_types;
  if (Array.isArray(types)) {
    if (types.length !== layers) throw new Error(`[models] ${family} config: layer_types has ${types.length} entries for ${layers} layers`);
    return types.map((t, i) => {
      if (t === 'full_attention') return null;
      if (t === 'sliding_attention') {
        if (window === null) throw new Error(`[models] ${family} config: layer ${i} is sliding_attention but sliding_window is not set`);
        return window;
      }
      throw new Error(`[models] ${family} config: layer_types[${i}] must be "full_attention" or "sliding_attention", got ${fmtValue(t)}`);
    });
  }
  const use = boolField(c, 'use_sliding_window', family, false);
  const from = c.max_window_layers === undefined || c.max_window_layers === null ? 0 : posIntOrZero(c, 'max_window_layers', family);
  return Array.from({ length: layers }, (_, i) => (use && window !== null && i >= from ? window : null));
}

function posIntOrZero(c: Config, key: string, family: string): number {
  const v = c[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new Error(`[models] ${family} config: ${key} must be a non-negative integer, got ${fmtValue(v)}`);
  return v;
}
