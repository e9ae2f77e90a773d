// RoPE variants of Hugging Face configs (rope_scaling): default, linear, dynamic (NTK), llama3, yarn and
// longrope/su. Every variant reduces to per-pair periods handed to kn.fast.rope (its `freqs`
// option) plus a position scale, so all of them run on the one native rope kernel; longrope's and yarn's
// attention factor is a multiply of the rotated output.
import type { NDArray } from '../core/array.js';
import { keep } from '../core/memory.js';
import { array } from '../ops/creation.js';
import { multiply } from '../ops/elementwise.js';
import { rope as fastRope } from '../ops/fast/index.js';
import { concatenate, split } from '../ops/shape.js';

/** The rope settings a family reads off its config. */
export interface RopeConfig {
  /** the rotated features of each head (head_dim, or head_dim * partial_rotary_factor) */
  dims: number;
  /** rope_theta */
  base: number;
  /** rope_scaling from config.json (null or absent: the default RoPE) */
  scaling?: Record<string, unknown> | null;
  /** max_position_embeddings */
  maxPositionEmbeddings?: number;
  /** a top-level original_max_position_embeddings (phi3 keeps it outside rope_scaling) */
  originalMaxPositionEmbeddings?: number;
  /** rotate interleaved pairs (GGUF-style) instead of halves (default false: HF's rotate_half) */
  traditional?: boolean;
}

/** HF's inverse frequencies base^(-2i/dims), rounded through float32 as torch computes them. */
export function defaultInvFreq(dims: number, base: number): number[] {
  const f = Math.fround;
  const out: number[] = [];
  for (let i = 0; i < dims; i += 2) out.push(f(1 / f(Math.pow(base, f(i / dims)))));
  return out;
}

/** Llama 3.1's frequency-dependent scaling (rope_type llama3). */
export function llama3InvFreq(inv: number[], s: Record<string, unknown>, where: string): number[] {
  const factor = num(s.factor, `${where}.factor`);
  const low = num(s.low_freq_factor ?? 1, `${where}.low_freq_factor`);
  const high = num(s.high_freq_factor ?? 4, `${where}.high_freq_factor`);
  const old = num(s.original_max_position_embeddings ?? 8192, `${where}.original_max_position_embeddings`);
  if (!(high > low)) throw new Error(`[models] ${where}: high_freq_factor (${high}) must exceed low_freq_factor (${low})`);
  const lowWavelen = old / low,
    highWavelen = old / high;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f; // high frequencies: unchanged
    if (wavelen > lowWavelen) return f / factor; // low frequencies: interpolated
    const smooth = (old / wavelen - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/**
 * YaRN (rope_type yarn): frequencies below the correction range are interpolated (divided by the
 * factor), those above it kept, a linear ramp in between; cos/sin carry an attention factor. As HF,
 * an original_max_position_embeddings in rope_scaling makes the factor max / original positions.
 */
export function yarnInvFreq(inv: number[], s: Record<string, unknown>, dims: number, base: number, maxPos: number): { inv: number[]; attentionFactor: number } {
  let factor = num(s.factor, 'factor');
  let orig = maxPos;
  if (s.original_max_position_embeddings !== undefined && s.original_max_position_embeddings !== null) {
    orig = num(s.original_max_position_embeddings, 'original_max_position_embeddings');
    factor = maxPos / orig;
  }
  const mscaleOf = (scale: number, m = 1) => (scale <= 1 ? 1 : 0.1 * m * Math.log(scale) + 1);
  const m = typeof s.mscale === 'number' ? s.mscale : 0,
    mAll = typeof s.mscale_all_dim === 'number' ? s.mscale_all_dim : 0;
  const attentionFactor =
    typeof s.attention_factor === 'number' ? s.attention_factor : m && mAll ? mscaleOf(factor, m) / mscaleOf(factor, mAll) : mscaleOf(factor);
  const fast = typeof s.beta_fast === 'number' && s.beta_fast ? s.beta_fast : 32;
  const slow = typeof s.beta_slow === 'number' && s.beta_slow ? s.beta_slow : 1;
  // the pair index whose wavelength fits `rotations` times into the original context
  const pairAt = (rotations: number) => (dims * Math.log(orig / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
  let lo = pairAt(fast),
    hi = pairAt(slow);
  if (s.truncate !== false) {
    lo = Math.floor(lo);
    hi = Math.ceil(hi);
  }
  lo = Math.max(lo, 0);
  hi = Math.min(hi, dims - 1);
  if (lo === hi) hi += 0.001;
  const out = inv.map((f, i) => {
    const keep = 1 - Math.min(1, Math.max(0, (i - lo) / (hi - lo))); // 1: extrapolate (unchanged)
    return (f / factor) * (1 - keep) + f * keep;
  });
  return { inv: out, attentionFactor };
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`[models] rope_scaling: ${what} must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

/** The periods array kn.fast.rope takes (1 / inverse frequency), kept out of any kn.tidy scope. */
function periods(inv: readonly number[]): NDArray {
  return keep(array(Float64Array.from(inv, (f) => 1 / f)));
}

/** The rope_scaling type, whichever key the config uses (`rope_type` in newer configs, `type` in older). */
export function ropeType(scaling: Record<string, unknown> | null | undefined): string {
  if (!scaling) return 'default';
  const t = scaling.rope_type ?? scaling.type ?? 'default';
  if (typeof t !== 'string') throw new Error(`[models] rope_scaling type must be a string, got ${JSON.stringify(t)}`);
  return t;
}

/**
 * Rotary embedding of one model (all its layers share it). `apply(x, offset)` rotates x
 * [B, heads, L, headDim] for positions offset..offset+L-1.
 * Built by each family from its config (rope_theta, rope_scaling, partial_rotary_factor).
 */
export class Rope {
  readonly type: string;
  readonly dims: number;
  readonly traditional: boolean;
  /** positions are multiplied by this (linear scaling: 1 / factor) */
  readonly scale: number;
  #freqs: NDArray | null = null;
  // dynamic / longrope: frequencies depend on the sequence length
  #dynamic: ((seqLen: number) => { key: string; inv: () => number[] }) | null = null;
  #dynKey = '';
  #dynFreqs: NDArray | null = null;
  /** longrope's attention factor, applied to both q and k (1 elsewhere) */
  #mscale = 1;

  constructor(c: RopeConfig) {
    const { dims, base } = c;
    if (!Number.isInteger(dims) || dims < 2 || dims % 2 !== 0) throw new Error(`[models] rope: rotated dims must be an even integer >= 2, got ${dims}`);
    if (!(base > 0) || !Number.isFinite(base)) throw new Error(`[models] rope: rope_theta must be a positive number, got ${base}`);
    this.dims = dims;
    this.traditional = c.traditional ?? false;
    const s = c.scaling ?? null;
    this.type = ropeType(s);
    const inv = defaultInvFreq(dims, base);
    let scale = 1;
    switch (this.type) {
      case 'default':
        this.#freqs = periods(inv);
        break;
      case 'linear':
        scale = 1 / num(s!.factor, 'factor');
        this.#freqs = periods(inv);
        break;
      case 'llama3':
        this.#freqs = periods(llama3InvFreq(inv, s!, 'rope_scaling'));
        break;
      case 'dynamic': {
        // HF's dynamic NTK: past the trained length the base grows with the sequence length
        const factor = num(s!.factor, 'factor');
        const maxPos = num(c.maxPositionEmbeddings ?? s!.original_max_position_embeddings ?? 2048, 'max_position_embeddings');
        this.#freqs = periods(inv);
        this.#dynamic = (seqLen) => {
          if (seqLen <= maxPos) return { key: '', inv: () => inv };
          const b = base * Math.pow((factor * seqLen) / maxPos - (factor - 1), dims / (dims - 2));
          return { key: String(b), inv: () => defaultInvFreq(dims, b) };
        };
        break;
      }
      case 'longrope':
      case 'su': {
        const short = s!.short_factor,
          long = s!.long_factor;
        const ok = (a: unknown): a is number[] => Array.isArray(a) && a.length === dims / 2 && a.every((v) => typeof v === 'number');
        if (!ok(short) || !ok(long)) throw new Error(`[models] rope_scaling longrope: short_factor and long_factor must be lists of ${dims / 2} numbers`);
        const maxPos = c.maxPositionEmbeddings ?? 4096;
        const orig = c.originalMaxPositionEmbeddings ?? (s!.original_max_position_embeddings as number | undefined) ?? maxPos;
        // as HF: a config-level original_max_position_embeddings (Phi-3) sets the factor as a ratio
        const factor = c.originalMaxPositionEmbeddings !== undefined || typeof s!.factor !== 'number' ? maxPos / orig : s!.factor;
        this.#mscale = typeof s!.attention_factor === 'number' ? s!.attention_factor : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(orig));
        const shortInv = inv.map((f, i) => f / short[i]),
          longInv = inv.map((f, i) => f / long[i]);
        this.#freqs = periods(shortInv);
        this.#dynamic = (seqLen) => (seqLen > orig ? { key: 'long', inv: () => longInv } : { key: '', inv: () => shortInv });
        break;
      }
      case 'yarn': {
        const r = yarnInvFreq(inv, s!, dims, base, c.maxPositionEmbeddings ?? 2048);
        this.#freqs = periods(r.inv);
        this.#mscale = r.attentionFactor;
        break;
      }
      default:
        throw new Error(
          `[models] unsupported rope_scaling type ${JSON.stringify(this.type)}; supported: default, linear, dynamic, llama3, yarn, longrope (su)`,
        );
    }
    this.scale = scale;
  }

  /** The periods used for a forward that ends at position seqLen (a cached array; no host sync). */
  freqsFor(seqLen: number): NDArray {
    if (!this.#dynamic) return this.#freqs!;
    const { key, inv } = this.#dynamic(seqLen);
    if (key === '') return this.#freqs!;
    if (key !== this.#dynKey) {
      this.#dynFreqs?.dispose();
      this.#dynFreqs = periods(inv());
      this.#dynKey = key;
    }
    return this.#dynFreqs!;
  }

  /** Rotates x [B, heads, L, headDim] at positions offset..offset+L-1. */
  apply(x: NDArray, offset: number): NDArray {
    const L = x.shape[x.ndim - 2];
    const y = fastRope(x, this.dims, { traditional: this.traditional, scale: this.scale, offset, freqs: this.freqsFor(offset + L) });
    if (this.#mscale === 1) return y;
    const D = x.shape[x.ndim - 1];
    if (this.dims === D) return multiply(y, this.#mscale);
    // only the rotated features carry the attention factor (HF scales cos and sin)
    const [rot, pass] = split(y, [this.dims], -1);
    return concatenate([multiply(rot, this.#mscale), pass], -1);
  }
}
