// Tiny random-weight configs of every family and an independent float64 reference forward
// written with plain kn ops (no kn.fast, no cache): embedding, RMSNorm, rotate-half RoPE from
// cos/sin tables computed here in float64, attention with explicit repeated k/v heads and a
// visibility predicate, SwiGLU. Shared by the families and cache tests.
import * as kn from '../../index.js';
import { mulberry32 } from '../helpers/rng.js';

export type Config = Record<string, unknown>;

const base = {
  hidden_size: 32,
  num_hidden_layers: 2,
  intermediate_size: 48,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 61,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  max_position_embeddings: 64,
};

/** One tiny config per family and per RoPE variant. */
export const CONFIGS: Record<string, Config> = {
  llama: { ...base, model_type: 'llama' },
  llama_tied_bias: { ...base, model_type: 'llama', tie_word_embeddings: true, attention_bias: true, mlp_bias: true, num_key_value_heads: 1 },
  llama3: {
    ...base,
    model_type: 'llama',
    rope_theta: 500000,
    head_dim: 8,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  },
  llama_linear: { ...base, model_type: 'llama', rope_scaling: { type: 'linear', factor: 2 } },
  llama_dynamic: { ...base, model_type: 'llama', max_position_embeddings: 8, rope_scaling: { type: 'dynamic', factor: 2 } },
  llama_yarn: { ...base, model_type: 'llama', rope_theta: 500, rope_scaling: { rope_type: 'yarn', factor: 8, original_max_position_embeddings: 16 } },
  qwen3_yarn: { ...base, model_type: 'qwen3', head_dim: 16, rope_scaling: { rope_type: 'yarn', factor: 2, beta_fast: 8, mscale: 1, mscale_all_dim: 0.5 } },
  mistral: { ...base, model_type: 'mistral', head_dim: 12, sliding_window: 6 },
  qwen2: { ...base, model_type: 'qwen2', tie_word_embeddings: true },
  qwen3: { ...base, model_type: 'qwen3', head_dim: 16, tie_word_embeddings: true },
  qwen3_sliding: { ...base, model_type: 'qwen3', head_dim: 8, use_sliding_window: true, sliding_window: 5, max_window_layers: 1 },
  phi3_sliding: { ...base, model_type: 'phi3', sliding_window: 7 },
  phi3: { ...base, model_type: 'phi3', partial_rotary_factor: 0.5 },
  phi3_longrope: {
    ...base,
    model_type: 'phi3',
    max_position_embeddings: 64,
    original_max_position_embeddings: 8,
    rope_scaling: { type: 'longrope', short_factor: [1, 1.5, 2, 3], long_factor: [1.2, 2, 4, 8] },
  },
};

/** Deterministic weights: norms near 1, everything else uniform in ±1.5/√fan_in. */
export function randomize(model: kn.nn.Module, seed: number): void {
  const r = mulberry32(seed);
  const flat = kn.tree.flatten<kn.NDArray>(model.parameters());
  const entries: [string, kn.NDArray][] = flat.map(([name, p]) => {
    const n = p.size,
      isNorm = /norm\.weight$/.test(name);
    const a = p.ndim === 2 ? 1.5 / Math.sqrt(p.shape[1]) : 0.3;
    const v = Float32Array.from({ length: n }, () => (isNorm ? 1 + 0.3 * (2 * r() - 1) : a * (2 * r() - 1)));
    return [name, kn.array(v).reshape(p.shape)];
  });
  model.loadWeights(entries);
}

/** Token ids [B][L] in [0, vocab). */
export function randomTokens(B: number, L: number, vocab: number, seed: number): number[][] {
  const r = mulberry32(seed);
  return Array.from({ length: B }, () => Array.from({ length: L }, () => Math.floor(r() * vocab)));
}

export const tok = (t: number[][]): kn.NDArray => kn.array(t, 'int32');

/** max |a - b| / max(1, max |b|): one relative error per comparison. */
export function relErr(a: kn.NDArray, b: kn.NDArray): number {
  const x = a.astype('float64').toTypedArray() as Float64Array,
    y = b.astype('float64').toTypedArray() as Float64Array;
  if (x.length !== y.length) throw new Error(`relErr: sizes ${x.length} vs ${y.length}`);
  let d = 0,
    m = 1;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  return d / m;
}

// ---- the float64 reference ----------------------------------------------------------------

/** Inverse frequencies for one config, from HF's formulas, in float64 (no float32 rounding). */
export function refInvFreq(c: Config, dims: number, seqLen: number): number[] {
  const theta = (c.rope_theta as number) ?? 10000;
  const inv = (b: number) => Array.from({ length: dims / 2 }, (_, i) => 1 / Math.pow(b, (2 * i) / dims));
  const s = c.rope_scaling as Record<string, unknown> | undefined;
  const type = s ? ((s.rope_type ?? s.type) as string) : 'default';
  if (type === 'default' || type === 'linear') return inv(theta);
  if (type === 'dynamic') {
    const maxPos = c.max_position_embeddings as number,
      factor = s!.factor as number;
    if (seqLen <= maxPos) return inv(theta);
    return inv(theta * Math.pow((factor * seqLen) / maxPos - (factor - 1), dims / (dims - 2)));
  }
  if (type === 'llama3') {
    const factor = s!.factor as number,
      lo = s!.low_freq_factor as number,
      hi = s!.high_freq_factor as number;
    const old = s!.original_max_position_embeddings as number;
    return inv(theta).map((f) => {
      const wl = (2 * Math.PI) / f;
      const scaled = wl > old / lo ? f / factor : f;
      const smooth = (old / wl - lo) / (hi - lo);
      const medium = wl >= old / hi && wl <= old / lo;
      return medium ? (1 - smooth) * (scaled / factor) + smooth * scaled : scaled;
    });
  }
  if (type === 'yarn') {
    // HF's formula, restated: ramp r(i) over [low, high] pairs between interpolation and extrapolation
    const maxPos = c.max_position_embeddings as number;
    const orig = (s!.original_max_position_embeddings as number | undefined) ?? maxPos;
    const factor = s!.original_max_position_embeddings !== undefined ? maxPos / orig : (s!.factor as number);
    const d = (rot: number) => (dims * Math.log(orig / (rot * 2 * Math.PI))) / (2 * Math.log(theta));
    const low = Math.max(Math.floor(d((s!.beta_fast as number) ?? 32)), 0);
    const high = Math.min(Math.ceil(d((s!.beta_slow as number) ?? 1)), dims - 1);
    return inv(theta).map((f, i) => {
      const ramp = Math.min(1, Math.max(0, (i - low) / (high === low ? 0.001 : high - low)));
      return ramp * (f / factor) + (1 - ramp) * f;
    });
  }
  if (type === 'longrope') {
    const orig = c.original_max_position_embeddings as number;
    const ext = (seqLen > orig ? s!.long_factor : s!.short_factor) as number[];
    return inv(theta).map((f, i) => f / ext[i]);
  }
  throw new Error(`refInvFreq: ${type}`);
}

export interface RefSpec {
  family: string;
  heads: number;
  kvHeads: number;
  headDim: number;
  rotDims: number;
  eps: number;
  tied: boolean;
  /** positions multiply (linear scaling) and the cos/sin factor (longrope) */
  posScale: number;
  mscale: number;
  /** per layer: the sliding window or null */
  windows: (number | null)[];
}

export function refSpec(c: Config): RefSpec {
  const heads = c.num_attention_heads as number;
  const headDim = (c.head_dim as number | undefined) ?? (c.model_type === 'qwen3' ? 128 : (c.hidden_size as number) / heads);
  const s = c.rope_scaling as Record<string, unknown> | undefined;
  const type = s ? ((s.rope_type ?? s.type) as string) : 'default';
  let mscale = 1;
  if (type === 'yarn') {
    const maxPos = c.max_position_embeddings as number,
      orig = s!.original_max_position_embeddings as number | undefined;
    const factor = orig !== undefined ? maxPos / orig : (s!.factor as number);
    const g = (x: number, m = 1) => (x <= 1 ? 1 : 0.1 * m * Math.log(x) + 1);
    mscale = s!.mscale && s!.mscale_all_dim ? g(factor, s!.mscale as number) / g(factor, s!.mscale_all_dim as number) : g(factor);
  }
  if (type === 'longrope') {
    const f = (c.max_position_embeddings as number) / (c.original_max_position_embeddings as number);
    mscale = Math.sqrt(1 + Math.log(f) / Math.log(c.original_max_position_embeddings as number));
  }
  return {
    family: c.model_type as string,
    heads,
    kvHeads: (c.num_key_value_heads as number) ?? heads,
    headDim,
    rotDims: Math.floor(headDim * ((c.partial_rotary_factor as number) ?? 1)),
    eps: c.rms_norm_eps as number,
    tied: (c.tie_word_embeddings as boolean) ?? false,
    posScale: type === 'linear' ? 1 / (s!.factor as number) : 1,
    mscale,
    windows: Array.from({ length: c.num_hidden_layers as number }, (_, l) => {
      const w = (c.sliding_window as number | undefined) ?? null;
      if (c.model_type === 'qwen2' || c.model_type === 'qwen3') return c.use_sliding_window && l >= ((c.max_window_layers as number) ?? 0) ? w : null;
      return w;
    }),
  };
}

const f64 = (a: kn.NDArray) => a.astype('float64');

function rmsRef(x: kn.NDArray, w: kn.NDArray, eps: number): kn.NDArray {
  const ms = kn.mean(kn.multiply(x, x), -1, { keepdims: true });
  return kn.multiply(kn.divide(x, kn.sqrt(kn.add(ms, eps))), w);
}

/** Rotate-half RoPE of x [B, H, L, D] at positions `pos` (first rotDims features). */
function ropeRef(x: kn.NDArray, pos: number[], inv: number[], s: RefSpec): kn.NDArray {
  const half = s.rotDims / 2,
    L = pos.length;
  const cos = new Float64Array(L * half),
    sin = new Float64Array(L * half);
  pos.forEach((p, l) =>
    inv.forEach((f, i) => {
      cos[l * half + i] = Math.cos(p * s.posScale * f) * s.mscale;
      sin[l * half + i] = Math.sin(p * s.posScale * f) * s.mscale;
    }),
  );
  const c = kn.array(cos).reshape([L, half]),
    sn = kn.array(sin).reshape([L, half]);
  const D = x.shape[3];
  const x1 = x.index('...', kn.sliceOf(0, half)),
    x2 = x.index('...', kn.sliceOf(half, s.rotDims));
  const parts = [kn.subtract(kn.multiply(x1, c), kn.multiply(x2, sn)), kn.add(kn.multiply(x2, c), kn.multiply(x1, sn))];
  if (s.rotDims < D) parts.push(x.index('...', kn.sliceOf(s.rotDims, D)));
  return kn.concatenate(parts, -1);
}

/** Visibility of key j to query i (absolute positions), per batch row b. */
export type Visible = (b: number, i: number, j: number) => boolean;

/**
 * Logits [B, L, vocab] of the whole sequence in float64 from the model's weights.
 * `visible` defaults to causal (and the config's sliding window).
 */
export function referenceForward(model: kn.nn.Module, c: Config, tokens: number[][], visible?: Visible): kn.NDArray {
  const s = refSpec(c);
  const w = new Map(kn.tree.flatten<kn.NDArray>(model.parameters()).map(([k, v]) => [k, f64(v)]));
  const W = (k: string) => {
    const v = w.get(k);
    if (!v) throw new Error(`reference: no weight ${k}`);
    return v;
  };
  const lin = (x: kn.NDArray, name: string) => {
    const y = kn.matmul(x, kn.transpose(W(`${name}.weight`)));
    return w.has(`${name}.bias`) ? kn.add(y, W(`${name}.bias`)) : y;
  };
  const B = tokens.length,
    L = tokens[0].length;
  const pos = Array.from({ length: L }, (_, i) => i);
  const inv = refInvFreq(c, s.rotDims, L);
  const maskOf = (window: number | null) => {
    const vis: Visible = visible ?? ((_b, i, j) => j <= i && (window === null || j > i - window));
    const maskData = new Float64Array(B * L * L);
    for (let b = 0; b < B; b++) for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) maskData[(b * L + i) * L + j] = vis(b, i, j) ? 0 : -Infinity;
    return kn.array(maskData).reshape([B, 1, L, L]);
  };
  const rep = s.heads / s.kvHeads;
  const kvIndex = kn.array(
    Array.from({ length: s.heads }, (_, h) => Math.floor(h / rep)),
    'int32',
  );
  let h = kn.take(W('model.embed_tokens.weight'), kn.array(tokens, 'int32'), 0);
  const layers = c.num_hidden_layers as number;
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    const x = rmsRef(h, W(`${p}.input_layernorm.weight`), s.eps);
    let q: kn.NDArray, k: kn.NDArray, v: kn.NDArray;
    const qs = s.heads * s.headDim,
      ks = s.kvHeads * s.headDim;
    if (s.family === 'phi3') {
      const qkv = lin(x, `${p}.self_attn.qkv_proj`);
      q = qkv.index('...', kn.sliceOf(0, qs));
      k = qkv.index('...', kn.sliceOf(qs, qs + ks));
      v = qkv.index('...', kn.sliceOf(qs + ks, qs + 2 * ks));
    } else {
      q = lin(x, `${p}.self_attn.q_proj`);
      k = lin(x, `${p}.self_attn.k_proj`);
      v = lin(x, `${p}.self_attn.v_proj`);
    }
    q = q.reshape([B, L, s.heads, s.headDim]);
    k = k.reshape([B, L, s.kvHeads, s.headDim]);
    v = v.reshape([B, L, s.kvHeads, s.headDim]);
    if (s.family === 'qwen3') {
      q = rmsRef(q, W(`${p}.self_attn.q_norm.weight`), s.eps);
      k = rmsRef(k, W(`${p}.self_attn.k_norm.weight`), s.eps);
    }
    q = ropeRef(kn.transpose(q, [0, 2, 1, 3]), pos, inv, s);
    k = ropeRef(kn.transpose(k, [0, 2, 1, 3]), pos, inv, s);
    v = kn.transpose(v, [0, 2, 1, 3]);
    // explicit repeat of the kv heads (the model never does this)
    k = kn.take(k, kvIndex, 1);
    v = kn.take(v, kvIndex, 1);
    const scores = kn.add(kn.multiply(kn.matmul(q, kn.transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(s.headDim)), maskOf(s.windows[l]));
    const e = kn.exp(kn.subtract(scores, kn.max(scores, -1, { keepdims: true })));
    const probs = kn.divide(e, kn.sum(e, -1, { keepdims: true }));
    const o = kn.transpose(kn.matmul(probs, v), [0, 2, 1, 3]).reshape([B, L, qs]);
    h = kn.add(h, lin(o, `${p}.self_attn.o_proj`));
    const y = rmsRef(h, W(`${p}.post_attention_layernorm.weight`), s.eps);
    const silu = (t: kn.NDArray) => kn.divide(t, kn.add(kn.exp(kn.negative(t)), 1));
    let act: kn.NDArray;
    if (s.family === 'phi3') {
      const gu = lin(y, `${p}.mlp.gate_up_proj`),
        I = gu.shape[2] / 2;
      act = kn.multiply(silu(gu.index('...', kn.sliceOf(0, I))), gu.index('...', kn.sliceOf(I, 2 * I)));
    } else act = kn.multiply(silu(lin(y, `${p}.mlp.gate_proj`)), lin(y, `${p}.mlp.up_proj`));
    h = kn.add(h, lin(act, `${p}.mlp.down_proj`));
  }
  h = rmsRef(h, W('model.norm.weight'), s.eps);
  return kn.matmul(h, kn.transpose(s.tied ? W('model.embed_tokens.weight') : W('lm_head.weight')));
}
