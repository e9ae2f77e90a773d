// ggml tensor types and their block formats (the layouts of ggml-common.h), dequantized to
// float32 in plain TypeScript; Q8_0 and Q4_0 quantize exactly like ggml's reference quantizers.
import { Float16Array } from '@petamoriken/float16';
import type { DType } from '../../core/dtype.js';

export type GgmlTypeName =
  | 'F32'
  | 'F16'
  | 'Q4_0'
  | 'Q4_1'
  | 'Q5_0'
  | 'Q5_1'
  | 'Q8_0'
  | 'Q8_1'
  | 'Q2_K'
  | 'Q3_K'
  | 'Q4_K'
  | 'Q5_K'
  | 'Q6_K'
  | 'Q8_K'
  | 'IQ2_XXS'
  | 'IQ2_XS'
  | 'IQ3_XXS'
  | 'IQ1_S'
  | 'IQ4_NL'
  | 'IQ3_S'
  | 'IQ2_S'
  | 'IQ4_XS'
  | 'I8'
  | 'I16'
  | 'I32'
  | 'I64'
  | 'F64'
  | 'IQ1_M'
  | 'BF16'
  | 'TQ1_0'
  | 'TQ2_0'
  | 'MXFP4';

/** Dequantizes `nblocks` blocks of `src` into `out` starting at `at`. */
type Dequant = (src: Uint8Array, nblocks: number, out: Float32Array, at: number) => void;
/** Quantizes `x` (length a multiple of the block size) into `dst`. */
type Quant = (x: Float32Array, dst: Uint8Array) => void;

export interface GgmlType {
  id: number;
  name: GgmlTypeName;
  /** elements per block */
  blockSize: number;
  /** bytes per block */
  typeSize: number;
  /** for unquantized types: the dtype whose bytes are stored as they are */
  dtype?: DType;
  dequant?: Dequant;
  quant?: Quant;
}

// ---- float16 helpers -------------------------------------------------------------------------

const F16_TABLE = (() => {
  const t = new Float32Array(65536);
  const h = new Float16Array(new Uint16Array(65536).map((_, i) => i).buffer);
  for (let i = 0; i < 65536; i++) t[i] = h[i];
  return t;
})();
const f16Box = new Float16Array(1);
const f16Bits = new Uint16Array(f16Box.buffer);

/**
 * The float value of float16 bits.
 * @example f16ToF32(0x3c00) // 1
 */
export function f16ToF32(bits: number): number {
  return F16_TABLE[bits & 0xffff];
}
/**
 * Round-to-nearest-even float16 bits of `x` (GGML_FP32_TO_FP16).
 * @example f32ToF16(1) // 0x3c00
 */
export function f32ToF16(x: number): number {
  f16Box[0] = x;
  return f16Bits[0];
}
const rd16 = (b: Uint8Array, o: number) => F16_TABLE[b[o] | (b[o + 1] << 8)];
const fr = Math.fround;

// ---- dequantizers (ggml-quants.c dequantize_row_*) --------------------------------------------

const dqQ4_0: Dequant = (b, nb, y, at) => {
  for (let i = 0, o = 0; i < nb; i++, o += 18, at += 32) {
    const d = rd16(b, o);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j];
      y[at + j] = ((q & 0x0f) - 8) * d;
      y[at + j + 16] = ((q >> 4) - 8) * d;
    }
  }
};

const dqQ4_1: Dequant = (b, nb, y, at) => {
  for (let i = 0, o = 0; i < nb; i++, o += 20, at += 32) {
    const d = rd16(b, o),
      m = rd16(b, o + 2);
    for (let j = 0; j < 16; j++) {
      const q = b[o + 4 + j];
      y[at + j] = (q & 0x0f) * d + m;
      y[at + j + 16] = (q >> 4) * d + m;
    }
  }
};

const dqQ8_0: Dequant = (b, nb, y, at) => {
  for (let i = 0, o = 0; i < nb; i++, o += 34, at += 32) {
    const d = rd16(b, o);
    for (let j = 0; j < 32; j++) y[at + j] = ((b[o + 2 + j] << 24) >> 24) * d;
  }
};

/** The 6-bit scale and min of sub-block j from the 12 packed bytes at `s` (get_scale_min_k4). */
function scaleMinK4(b: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [b[s + j] & 63, b[s + j + 4] & 63];
  return [(b[s + j + 4] & 0x0f) | ((b[s + j - 4] >> 6) << 4), (b[s + j + 4] >> 4) | ((b[s + j] >> 6) << 4)];
}

// block_q4_K: f16 d, f16 dmin, u8 scales[12], u8 qs[128] -- 8 sub-blocks of 32
const dqQ4_K: Dequant = (b, nb, y, at) => {
  for (let i = 0, o = 0; i < nb; i++, o += 144) {
    const d = rd16(b, o),
      dmin = rd16(b, o + 2);
    let q = o + 16;
    for (let j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
      const [sc1, m1] = scaleMinK4(b, o + 4, is);
      const [sc2, m2] = scaleMinK4(b, o + 4, is + 1);
      const d1 = fr(d * sc1),
        mm1 = fr(dmin * m1),
        d2 = fr(d * sc2),
        mm2 = fr(dmin * m2);
      for (let l = 0; l < 32; l++) y[at++] = fr(d1 * (b[q + l] & 0x0f)) - mm1;
      for (let l = 0; l < 32; l++) y[at++] = fr(d2 * (b[q + l] >> 4)) - mm2;
    }
  }
};

// block_q6_K: u8 ql[128], u8 qh[64], i8 scales[16], f16 d -- 16 sub-blocks of 16
const dqQ6_K: Dequant = (b, nb, y, at) => {
  for (let i = 0, o = 0; i < nb; i++, o += 210) {
    const d = rd16(b, o + 208);
    let ql = o,
      qh = o + 128,
      sc = o + 192;
    for (let n = 0; n < 256; n += 128, ql += 64, qh += 32, sc += 8, at += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = b[qh + l];
        const q1 = ((b[ql + l] & 0x0f) | ((h & 3) << 4)) - 32;
        const q2 = ((b[ql + l + 32] & 0x0f) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((b[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((b[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        const s = (k: number) => fr(d * ((b[sc + is + k] << 24) >> 24));
        y[at + l] = s(0) * q1;
        y[at + l + 32] = s(2) * q2;
        y[at + l + 64] = s(4) * q3;
        y[at + l + 96] = s(6) * q4;
      }
    }
  }
};

// block_q5_0: f16 d, u8 qh[4], u8 qs[16]; block_q5_1: f16 d, f16 m, u8 qh[4], u8 qs[16]
const dqQ5 =
  (withMin: boolean): Dequant =>
  (b, nb, y, at) => {
    const size = withMin ? 24 : 22,
      h = withMin ? 4 : 2;
    for (let i = 0, o = 0; i < nb; i++, o += size, at += 32) {
      const d = rd16(b, o),
        m = withMin ? rd16(b, o + 2) : 0;
      const qh = (b[o + h] | (b[o + h + 1] << 8) | (b[o + h + 2] << 16) | (b[o + h + 3] << 24)) >>> 0;
      for (let j = 0; j < 16; j++) {
        const q = b[o + h + 4 + j];
        const x0 = (q & 0x0f) | (((qh >>> j) << 4) & 0x10),
          x1 = (q >> 4) | ((qh >>> (j + 12)) & 0x10);
        y[at + j] = withMin ? fr(x0 * d) + m : (x0 - 16) * d;
        y[at + j + 16] = withMin ? fr(x1 * d) + m : (x1 - 16) * d;
      }
    }
  };

// block_q2_K: u8 scales[16] (4-bit scale | 4-bit min << 4), u8 qs[64], f16 d, f16 dmin -- 16 sub-blocks of 16
const dqQ2_K: Dequant = (b, nb, y, at) => {
  for (let i = 0, o = 0; i < nb; i++, o += 84) {
    const d = rd16(b, o + 80),
      dmin = rd16(b, o + 82);
    for (let e = 0; e < 256; e++) {
      const n = e >> 7,
        j = (e & 127) >> 5,
        l = e & 31;
      const sc = b[o + (e >> 4)];
      const q = (b[o + 16 + n * 32 + l] >> (2 * j)) & 3;
      y[at++] = fr(fr(d * (sc & 0x0f)) * q) - fr(dmin * (sc >> 4));
    }
  }
};

// block_q3_K: u8 hmask[32], u8 qs[64], u8 scales[12] (16 6-bit scales biased by 32), f16 d
const dqQ3_K: Dequant = (b, nb, y, at) => {
  const sc = new Int32Array(16);
  for (let i = 0, o = 0; i < nb; i++, o += 110) {
    const d = rd16(b, o + 108);
    const s = o + 96;
    for (let j = 0; j < 16; j++) {
      const lo = j < 8 ? (b[s + (j & 7)] >> 0) & 0x0f : (b[s + (j & 7)] >> 4) & 0x0f;
      const hi = (b[s + 8 + (j & 3)] >> (2 * (j >> 2))) & 3;
      sc[j] = (lo | (hi << 4)) - 32;
    }
    for (let e = 0; e < 256; e++) {
      const n = e >> 7,
        j = (e & 127) >> 5,
        l = e & 31;
      const q = ((b[o + 32 + n * 32 + l] >> (2 * j)) & 3) - ((b[o + l] >> (n * 4 + j)) & 1 ? 0 : 4);
      y[at++] = fr(d * sc[e >> 4]) * q;
    }
  }
};

// block_q5_K: f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128] -- 8 sub-blocks of 32
const dqQ5_K: Dequant = (b, nb, y, at) => {
  for (let i = 0, o = 0; i < nb; i++, o += 176) {
    const d = rd16(b, o),
      dmin = rd16(b, o + 2);
    for (let c = 0; c < 4; c++) {
      const [sc1, m1] = scaleMinK4(b, o + 4, 2 * c);
      const [sc2, m2] = scaleMinK4(b, o + 4, 2 * c + 1);
      const d1 = fr(d * sc1),
        mm1 = fr(dmin * m1),
        d2 = fr(d * sc2),
        mm2 = fr(dmin * m2);
      const q = o + 48 + 32 * c;
      for (let l = 0; l < 32; l++) y[at++] = fr(d1 * ((b[q + l] & 0x0f) + ((b[o + 16 + l] >> (2 * c)) & 1 ? 16 : 0))) - mm1;
      for (let l = 0; l < 32; l++) y[at++] = fr(d2 * ((b[q + l] >> 4) + ((b[o + 16 + l] >> (2 * c + 1)) & 1 ? 16 : 0))) - mm2;
    }
  }
};

// ---- quantizers (ggml-quants.c quantize_row_*_ref, in float32 arithmetic) --------------------

const qQ8_0: Quant = (x, dst) => {
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let i = 0, o = 0; i < x.length; i += 32, o += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[i + j]));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    dv.setUint16(o, f32ToF16(d), true);
    for (let j = 0; j < 32; j++) {
      const v = fr(x[i + j] * id);
      const r = Math.sign(v) * Math.round(Math.abs(v)); // roundf: halves away from zero
      dv.setInt8(o + 2 + j, Math.max(-128, Math.min(127, r || 0)));
    }
  }
};

const qQ4_0: Quant = (x, dst) => {
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (let i = 0, o = 0; i < x.length; i += 32, o += 18) {
    let amax = 0,
      max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[i + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d ? fr(1 / d) : 0;
    dv.setUint16(o, f32ToF16(d), true);
    for (let j = 0; j < 16; j++) {
      const x0 = fr(x[i + j] * id),
        x1 = fr(x[i + 16 + j] * id);
      const q0 = Math.min(15, Math.max(0, Math.trunc(fr(x0 + 8.5)) || 0));
      const q1 = Math.min(15, Math.max(0, Math.trunc(fr(x1 + 8.5)) || 0));
      dv.setUint8(o + 2 + j, q0 | (q1 << 4));
    }
  }
};

// Q4_K and Q6_K: per sub-block scales found by a weighted least-squares search over candidate
// scales (ggml's reference quantizers search the same way), then the sub-block scales themselves
// quantized to 6 bits (Q4_K: scale and min against the block's d and dmin) or int8 (Q6_K: against d).
const nearest = (v: number) => Math.round(v); // ties are immaterial: candidates are compared by error

/** x ~= scale*L - m with L in 0..nmax, m >= 0; weights w. Returns [scale, m] and fills L. */
function fitAffine(x: Float32Array, w: Float32Array, o: number, n: number, nmax: number, L: Uint8Array): [number, number] {
  let mn = x[o],
    mx = x[o];
  for (let i = 1; i < n; i++) {
    mn = Math.min(mn, x[o + i]);
    mx = Math.max(mx, x[o + i]);
  }
  if (mn > 0) mn = 0;
  if (mx === mn) {
    L.fill(0, 0, n);
    return [0, -mn];
  }
  let best = Infinity,
    bs = 0,
    bm = 0;
  const T = new Uint8Array(n);
  for (let step = 0; step <= 20; step++) {
    const iscale = (nmax - 1 + 0.1 * step) / (mx - mn);
    let sw = 0,
      sl = 0,
      sll = 0,
      sx = 0,
      slx = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearest(iscale * (x[o + i] - mn))));
      T[i] = l;
      const wi = w[i];
      sw += wi;
      sl += wi * l;
      sll += wi * l * l;
      sx += wi * x[o + i];
      slx += wi * l * x[o + i];
    }
    // weighted least squares for x ~= a*l + b, with b <= 0
    const det = sw * sll - sl * sl;
    let a = det > 0 ? (sw * slx - sl * sx) / det : 0,
      b = det > 0 ? (sll * sx - sl * slx) / det : 0;
    if (b > 0) {
      b = 0;
      a = sll > 0 ? slx / sll : 0;
    }
    let err = 0;
    for (let i = 0; i < n; i++) {
      const e = a * T[i] + b - x[o + i];
      err += w[i] * e * e;
    }
    if (err < best) {
      best = err;
      bs = a;
      bm = -b;
      L.set(T);
    }
  }
  return [bs, bm];
}

const qQ4_K: Quant = (x, dst) => {
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  const L = new Uint8Array(32),
    w = new Float32Array(32);
  const sc = new Float64Array(8),
    mn = new Float64Array(8);
  for (let i = 0, o = 0; i < x.length; i += 256, o += 144) {
    let s2 = 0;
    for (let j = 0; j < 256; j++) s2 += x[i + j] * x[i + j];
    const av = Math.sqrt(s2 / 256);
    for (let j = 0; j < 8; j++) {
      for (let l = 0; l < 32; l++) w[l] = av + Math.abs(x[i + 32 * j + l]);
      [sc[j], mn[j]] = fitAffine(x, w, i + 32 * j, 32, 15, L);
    }
    const maxS = Math.max(...sc),
      maxM = Math.max(...mn);
    const ls = new Uint8Array(8),
      lm = new Uint8Array(8);
    for (let j = 0; j < 8; j++) {
      ls[j] = maxS > 0 ? Math.min(63, nearest((63 / maxS) * sc[j])) : 0;
      lm[j] = maxM > 0 ? Math.min(63, nearest((63 / maxM) * mn[j])) : 0;
    }
    dv.setUint16(o, f32ToF16(maxS / 63), true);
    dv.setUint16(o + 2, f32ToF16(maxM / 63), true);
    const s = o + 4;
    dst.fill(0, s, s + 12);
    for (let j = 0; j < 8; j++) {
      if (j < 4) {
        dst[s + j] |= ls[j];
        dst[s + j + 4] |= lm[j];
      } else {
        dst[s + j + 4] = (ls[j] & 0x0f) | ((lm[j] & 0x0f) << 4);
        dst[s + j - 4] |= (ls[j] >> 4) << 6;
        dst[s + j] |= (lm[j] >> 4) << 6;
      }
    }
    const d = rd16(dst, o),
      dmin = rd16(dst, o + 2);
    const Q = new Uint8Array(256);
    for (let j = 0; j < 8; j++) {
      const dj = fr(d * ls[j]),
        mj = fr(dmin * lm[j]);
      for (let l = 0; l < 32; l++) Q[32 * j + l] = dj ? Math.max(0, Math.min(15, nearest((x[i + 32 * j + l] + mj) / dj))) : 0;
    }
    for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) dst[o + 16 + 32 * c + l] = Q[64 * c + l] | (Q[64 * c + 32 + l] << 4);
  }
};

/** x ~= scale*L with L in -nmax..nmax-1, weights x^2; returns scale and fills L (unbiased). */
function fitSymmetric(x: Float32Array, o: number, n: number, nmax: number, L: Int8Array): number {
  let amax = 0,
    max = 0;
  for (let i = 0; i < n; i++)
    if (Math.abs(x[o + i]) > amax) {
      amax = Math.abs(x[o + i]);
      max = x[o + i];
    }
  if (amax === 0) {
    L.fill(0, 0, n);
    return 0;
  }
  let best = -1,
    bs = 0;
  const T = new Int8Array(n);
  for (let k = -9; k <= 9; k++) {
    const iscale = -(nmax + 0.1 * k) / max;
    let slx = 0,
      sll = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(-nmax, Math.min(nmax - 1, nearest(iscale * x[o + i])));
      T[i] = l;
      const wi = x[o + i] * x[o + i];
      slx += wi * x[o + i] * l;
      sll += wi * l * l;
    }
    if (sll > 0 && slx * slx > best * sll) {
      best = (slx * slx) / sll;
      bs = slx / sll;
      L.set(T);
    }
  }
  return bs;
}

const qQ6_K: Quant = (x, dst) => {
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  const L = new Int8Array(16);
  const sc = new Float64Array(16);
  for (let i = 0, o = 0; i < x.length; i += 256, o += 210) {
    let amax = 0,
      maxS = 0;
    for (let j = 0; j < 16; j++) {
      sc[j] = fitSymmetric(x, i + 16 * j, 16, 32, L);
      if (Math.abs(sc[j]) > amax) {
        amax = Math.abs(sc[j]);
        maxS = sc[j];
      }
    }
    dst.fill(0, o, o + 210);
    if (amax === 0) continue;
    const iscale = -128 / maxS;
    dv.setUint16(o + 208, f32ToF16(1 / iscale), true);
    const d = rd16(dst, o + 208);
    const Q = new Uint8Array(256);
    for (let j = 0; j < 16; j++) {
      const s8 = Math.max(-128, Math.min(127, nearest(iscale * sc[j])));
      dv.setInt8(o + 192 + j, s8);
      const dj = fr(d * s8);
      for (let l = 0; l < 16; l++) Q[16 * j + l] = dj ? Math.max(-32, Math.min(31, nearest(x[i + 16 * j + l] / dj))) + 32 : 32;
    }
    for (let n = 0; n < 2; n++)
      for (let l = 0; l < 32; l++) {
        const a = Q[128 * n + l],
          b = Q[128 * n + 32 + l],
          c = Q[128 * n + 64 + l],
          e = Q[128 * n + 96 + l];
        dst[o + 64 * n + l] = (a & 0x0f) | ((c & 0x0f) << 4);
        dst[o + 64 * n + 32 + l] = (b & 0x0f) | ((e & 0x0f) << 4);
        dst[o + 128 + 32 * n + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
      }
  }
};

// ---- the type table (ggml.h enum ggml_type) ---------------------------------------------------

const T = (id: number, name: GgmlTypeName, blockSize: number, typeSize: number, extra: Partial<GgmlType> = {}): GgmlType => ({
  id,
  name,
  blockSize,
  typeSize,
  ...extra,
});

/**
 * Every ggml tensor type with its block size and bytes per block (ggml.h order).
 * @example GGML_TYPES.find((t) => t.name === 'Q4_K').typeSize // 144
 */
export const GGML_TYPES: readonly GgmlType[] = [
  T(0, 'F32', 1, 4, { dtype: 'float32' }),
  T(1, 'F16', 1, 2, { dtype: 'float16' }),
  T(2, 'Q4_0', 32, 18, { dequant: dqQ4_0, quant: qQ4_0 }),
  T(3, 'Q4_1', 32, 20, { dequant: dqQ4_1 }),
  T(6, 'Q5_0', 32, 22, { dequant: dqQ5(false) }),
  T(7, 'Q5_1', 32, 24, { dequant: dqQ5(true) }),
  T(8, 'Q8_0', 32, 34, { dequant: dqQ8_0, quant: qQ8_0 }),
  T(9, 'Q8_1', 32, 36),
  T(10, 'Q2_K', 256, 84, { dequant: dqQ2_K }),
  T(11, 'Q3_K', 256, 110, { dequant: dqQ3_K }),
  T(12, 'Q4_K', 256, 144, { dequant: dqQ4_K, quant: qQ4_K }),
  T(13, 'Q5_K', 256, 176, { dequant: dqQ5_K }),
  T(14, 'Q6_K', 256, 210, { dequant: dqQ6_K, quant: qQ6_K }),
  T(15, 'Q8_K', 256, 292),
  T(16, 'IQ2_XXS', 256, 66),
  T(17, 'IQ2_XS', 256, 74),
  T(18, 'IQ3_XXS', 256, 98),
  T(19, 'IQ1_S', 256, 50),
  T(20, 'IQ4_NL', 32, 18),
  T(21, 'IQ3_S', 256, 110),
  T(22, 'IQ2_S', 256, 82),
  T(23, 'IQ4_XS', 256, 136),
  T(24, 'I8', 1, 1, { dtype: 'int8' }),
  T(25, 'I16', 1, 2, { dtype: 'int16' }),
  T(26, 'I32', 1, 4, { dtype: 'int32' }),
  T(27, 'I64', 1, 8, { dtype: 'int64' }),
  T(28, 'F64', 1, 8, { dtype: 'float64' }),
  T(29, 'IQ1_M', 256, 56),
  T(30, 'BF16', 1, 2, { dtype: 'bfloat16' }),
  T(34, 'TQ1_0', 256, 54),
  T(35, 'TQ2_0', 256, 66),
  T(39, 'MXFP4', 32, 17),
];

/**
 * ggml types by their numeric id in files.
 * @example GGML_BY_ID.get(8).name // 'Q8_0'
 */
export const GGML_BY_ID = new Map(GGML_TYPES.map((t) => [t.id, t]));
/**
 * ggml types by name.
 * @example GGML_BY_NAME.get('Q6_K').blockSize // 256
 */
export const GGML_BY_NAME = new Map(GGML_TYPES.map((t) => [t.name, t]));

/**
 * Types kiln can load (as their own dtype, or dequantized to float32).
 * @example READABLE.includes('Q4_K') // true
 */
export const READABLE = GGML_TYPES.filter((t) => t.dtype || t.dequant).map((t) => t.name);
/**
 * Types kiln can write.
 * @example WRITABLE.includes('Q4_0') // true
 */
export const WRITABLE = GGML_TYPES.filter((t) => t.dtype || t.quant).map((t) => t.name);

/**
 * Dequantizes whole blocks of a ggml type into float32.
 * @example
 * const blocks = quantize('Q8_0', new Float32Array(64).fill(0.5)); // 2 blocks of 34 bytes
 * dequantize('Q8_0', blocks).slice(0, 3) // [0.5, 0.5, 0.5]
 */
export function dequantize(type: GgmlTypeName, bytes: Uint8Array): Float32Array {
  const t = GGML_BY_NAME.get(type);
  if (!t?.dequant)
    throw new Error(
      `[dequantize] ggml type ${type} has no dequantizer (supported: ${GGML_TYPES.filter((x) => x.dequant)
        .map((x) => x.name)
        .join(', ')})`,
    );
  if (bytes.length % t.typeSize) throw new Error(`[dequantize] ${bytes.length} bytes is not a whole number of ${t.typeSize}-byte ${type} blocks`);
  const nb = bytes.length / t.typeSize;
  const out = new Float32Array(nb * t.blockSize);
  t.dequant(bytes, nb, out, 0);
  return out;
}

/**
 * Quantizes float32 values (a multiple of the block size: 32, or 256 for the K types) to Q8_0 or Q4_0
 * blocks as ggml's reference does, or to Q4_K / Q6_K blocks by a weighted least-squares scale search
 * (close to ggml's reference: within a few percent of its error).
 * @example quantize('Q8_0', new Float32Array(32)).length // 34
 */
export function quantize(type: GgmlTypeName, x: Float32Array): Uint8Array {
  const t = GGML_BY_NAME.get(type);
  if (!t?.quant) throw new Error(`[quantize] kiln cannot quantize to ${type} (supported: Q8_0, Q4_0, Q4_K, Q6_K)`);
  if (x.length % t.blockSize) throw new Error(`[quantize] ${x.length} values is not a multiple of the ${type} block size ${t.blockSize}`);
  const out = new Uint8Array((x.length / t.blockSize) * t.typeSize);
  t.quant(x, out);
  return out;
}
