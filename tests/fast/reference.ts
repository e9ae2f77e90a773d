// Float64 references for the fast ops, written directly as loops over row-major values. They
// import nothing from the library, and compute the math in one straightforward way (no
// intermediate roundings, pow instead of exp/log), so they check both the kernels and the
// composed forms.

export interface NormRef {
  x: Float64Array;
  shape: readonly number[];
  weight?: Float64Array | null;
  bias?: Float64Array | null;
  eps: number;
}

export function rmsNormRef({ x, shape, weight, eps }: NormRef): Float64Array {
  const D = shape[shape.length - 1],
    out = new Float64Array(x.length);
  for (let r = 0; r * D < x.length; r++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[r * D + i] ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) out[r * D + i] = x[r * D + i] * inv * (weight ? weight[i] : 1);
  }
  return out;
}

export function layerNormRef({ x, shape, weight, bias, eps }: NormRef): Float64Array {
  const D = shape[shape.length - 1],
    out = new Float64Array(x.length);
  for (let r = 0; r * D < x.length; r++) {
    let mean = 0;
    for (let i = 0; i < D; i++) mean += x[r * D + i];
    mean /= D;
    let variance = 0;
    for (let i = 0; i < D; i++) variance += (x[r * D + i] - mean) ** 2;
    variance /= D;
    for (let i = 0; i < D; i++) out[r * D + i] = ((x[r * D + i] - mean) / Math.sqrt(variance + eps)) * (weight ? weight[i] : 1) + (bias ? bias[i] : 0);
  }
  return out;
}

export interface RopeRef {
  x: Float64Array;
  shape: readonly number[];
  dims: number;
  traditional: boolean;
  base: number;
  scale: number;
  offset: number;
  freqs?: Float64Array | null;
}

export function ropeRef({ x, shape, dims, traditional, base, scale, offset, freqs }: RopeRef): Float64Array {
  const D = shape[shape.length - 1],
    L = shape[shape.length - 2],
    half = dims / 2;
  const out = Float64Array.from(x);
  for (let r = 0; r * D < x.length; r++) {
    const pos = offset + (r % L);
    for (let i = 0; i < half; i++) {
      const theta = freqs ? (pos * scale) / freqs[i] : pos * scale * Math.pow(base, (-2 * i) / dims);
      const [ia, ib] = traditional ? [2 * i, 2 * i + 1] : [i, i + half];
      const a = x[r * D + ia],
        b = x[r * D + ib];
      out[r * D + ia] = a * Math.cos(theta) - b * Math.sin(theta);
      out[r * D + ib] = a * Math.sin(theta) + b * Math.cos(theta);
    }
  }
  return out;
}

export interface AttentionRef {
  q: Float64Array; // [B, Hq, L, D]
  k: Float64Array; // [B, Hkv, S, D]
  v: Float64Array; // [B, Hkv, S, Dv]
  dims: { B: number; Hq: number; Hkv: number; L: number; S: number; D: number; Dv: number };
  scale: number;
  /** null, 'causal', or a full [B, Hq, L, S] mask: booleans (true = attend) or additive numbers */
  mask: null | 'causal' | { bool: boolean; values: ArrayLike<number | boolean> };
}

/** softmax over the visible keys; a query that sees none averages v over all keys. */
export function attentionRef({ q, k, v, dims, scale, mask }: AttentionRef): Float64Array {
  const { B, Hq, Hkv, L, S, D, Dv } = dims;
  const out = new Float64Array(B * Hq * L * Dv);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < L; i++) {
        const scores: number[] = [],
          visible: boolean[] = [];
        for (let j = 0; j < S; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += q[((b * Hq + h) * L + i) * D + d] * k[((b * Hkv + g) * S + j) * D + d];
          s *= scale;
          let see = true;
          if (mask === 'causal') see = j <= i + S - L;
          else if (mask) {
            const m = mask.values[((b * Hq + h) * L + i) * S + j];
            if (mask.bool) see = Boolean(m);
            else s += m as number;
          }
          scores.push(s);
          visible.push(see);
        }
        const anyVisible = visible.some((x) => x);
        const w = new Array<number>(S).fill(0);
        if (!anyVisible) w.fill(1 / S);
        else {
          let mx = -Infinity;
          for (let j = 0; j < S; j++) if (visible[j] && scores[j] > mx) mx = scores[j];
          let sum = 0;
          for (let j = 0; j < S; j++) if (visible[j]) sum += w[j] = Math.exp(scores[j] - mx);
          for (let j = 0; j < S; j++) w[j] /= sum; // all -inf: mx = -inf, exp(NaN) -> NaN, as the ops
        }
        for (let d = 0; d < Dv; d++) {
          let acc = 0;
          for (let j = 0; j < S; j++) acc += w[j] * v[((b * Hkv + g) * S + j) * Dv + d];
          out[((b * Hq + h) * L + i) * Dv + d] = acc;
        }
      }
    }
  return out;
}
