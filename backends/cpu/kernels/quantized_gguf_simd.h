// The vector half of quantized_gguf.cc, included there twice: with QG_VNNI 0 (AVX2: maddubs then
// madd) and QG_VNNI 1 (AVX-512 VNNI on 256-bit registers: vpdpbusd, and vpdpwssd for the scaled
// sub-blocks of the K types). QG_NS names the namespace, QG_TARGET the target attribute.
// Weight blocks are unpacked to unsigned bytes in registers (the offsets -8/-16/-32/-4 and the
// mins come back through the activation sums), so every product is u8 x s8.
// (No include guard: this file is meant to be included once per instruction set.)

namespace kiln {
namespace QG_NS {

QG_TARGET inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
QG_TARGET inline float h16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// sum of u8*s8 products, four adjacent bytes per int32 lane
QG_TARGET inline __m256i dot_us(__m256i u, __m256i s) {
#if QG_VNNI
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}
// acc + u8*s8 products with the low 16 bytes weighted by sc's low int16 lanes, the high 16 by its high ones
QG_TARGET inline __m256i dot_scaled_acc(__m256i acc, __m256i u, __m256i s, __m256i sc) {
#if QG_VNNI
  return _mm256_dpwssd_epi32(acc, _mm256_maddubs_epi16(u, s), sc);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), sc));
#endif
}

// byte i = 0xFF where bit i of the 32 bits at p is set
QG_TARGET inline __m256i bits32(const uint8_t* p) {
  uint32_t x32;
  std::memcpy(&x32, p, 4);
  const __m256i shuf =
      _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x32), shuf);
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}
QG_TARGET inline __m256i nibbles16(const uint8_t* p) {  // 16 bytes -> low nibbles then high nibbles
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
}
QG_TARGET inline __m256i load(const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// ---- activation quantization ----------------------------------------------------------------------

// max |x| over n (a multiple of 8) floats
QG_TARGET inline float amax_of(const float* x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 a = _mm256_setzero_ps();
  for (int j = 0; j < n; j += 8) a = _mm256_max_ps(a, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 32 floats times id -> int8 (nearest even, as the portable round_q), with the sums of the two
// 16-value halves
QG_TARGET inline void quant32_with(const float* x, __m256 id, int8_t* q, int& lo, int& hi) {
  const __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), id));
  const __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), id));
  const __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), id));
  const __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), id));
  // lane 0 of t: the sum of the first 16 values, lane 1: of the last 16
  __m256i h = _mm256_hadd_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
  h = _mm256_hadd_epi32(h, h);
  const __m128i t = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  lo = _mm_cvtsi128_si32(t);
  hi = _mm_extract_epi32(t, 1);
  __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
  p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), p);
}

QG_TARGET void quantize_x32(const float* x, int64_t nb, XB32* y) {
  for (int64_t b = 0; b < nb; b++, x += 32) {
    const float d = amax_of(x, 32) / 127.f;
    int lo, hi;
    quant32_with(x, _mm256_set1_ps(d != 0 ? 1.f / d : 0.f), y[b].q, lo, hi);
    y[b].d = d;
    y[b].s = d * (float)(lo + hi);
  }
}

QG_TARGET void quantize_xk(const float* x, int64_t nb, XBK* y) {
  for (int64_t b = 0; b < nb; b++, x += 256) {
    const float d = amax_of(x, 256) / 127.f;
    const __m256 id = _mm256_set1_ps(d != 0 ? 1.f / d : 0.f);
    for (int g = 0; g < 8; g++) {
      int lo, hi;
      quant32_with(x + g * 32, id, y[b].q + g * 32, lo, hi);
      y[b].bsum[2 * g] = (int16_t)lo;
      y[b].bsum[2 * g + 1] = (int16_t)hi;
    }
    y[b].d = d;
  }
}

// ---- 32-element block types --------------------------------------------------------------------------

// Unpacks block b of type T to bytes u and the weight scale d and offset term m (value = d*u + m for the
// unsigned forms; Q8_0 stays signed).
template <int T> QG_TARGET inline __m256i unpack32(const uint8_t* b, float& d, float& m) {
  d = h16(b);
  if (T == Q4_0) {
    m = -8.f * d;
    return nibbles16(b + 2);
  } else if (T == Q4_1) {
    m = h16(b + 2);
    return nibbles16(b + 4);
  } else if (T == Q5_0) {
    m = -16.f * d;
    return _mm256_or_si256(nibbles16(b + 6), _mm256_and_si256(bits32(b + 2), _mm256_set1_epi8(0x10)));
  } else if (T == Q5_1) {
    m = h16(b + 2);
    return _mm256_or_si256(nibbles16(b + 8), _mm256_and_si256(bits32(b + 4), _mm256_set1_epi8(0x10)));
  } else {
    m = 0;
    return load(b + 2);
  }
}

// One weight row with one activation row (decode), eight blocks per step: each block's integer dot
// stays a vector of partial sums until all eight are reduced together (one horizontal-add tree for
// eight blocks instead of a float multiply-add per block), and the eight weight scales are widened
// by one conversion; the activation scales and sums come from the arrays after the row's blocks
// (XRow32). The per-block float work was what held decode below the memory bandwidth.
template <int T> QG_TARGET void dot32_one(int64_t nb, const uint8_t* w, const char* x, float* out) {
  constexpr int BY = T == Q4_0 ? 18 : T == Q4_1 ? 20 : T == Q5_0 ? 22 : T == Q5_1 ? 24 : 34;
  constexpr bool kMin = T == Q4_1 || T == Q5_1;  // a float offset per block (else a multiple of d)
  constexpr float kOff = T == Q4_0 ? -8.f : T == Q5_0 ? -16.f : 0.f;
  const XB32* xb = reinterpret_cast<const XB32*>(x);
  const float* xd = reinterpret_cast<const float*>(x + nb * (int64_t)sizeof(XB32));
  const float* xs = xd + nb;
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= nb; i += 8) {
    __m256i p[8];
    __m128i dh = _mm_setzero_si128(), mh = _mm_setzero_si128();
    for (int b = 0; b < 8; b++) {
      const uint8_t* bp = w + (i + b) * BY;
      float d, m;
      const __m256i u = unpack32<T>(bp, d, m);  // (d, m unused here: the compiler drops them)
      uint16_t h;
      std::memcpy(&h, bp, 2);
      dh = _mm_insert_epi16(dh, h, b);
      if (kMin) {
        std::memcpy(&h, bp + 2, 2);
        mh = _mm_insert_epi16(mh, h, b);
      }
      const __m256i q = load(xb[i + b].q);
      p[b] = T == Q8_0 ? dot_us(_mm256_sign_epi8(u, u), _mm256_sign_epi8(q, u)) : dot_us(u, q);
    }
    // eight vectors of partial sums -> one vector of the eight block sums
    const __m256i s0 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    const __m256i s1 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]), _mm256_hadd_epi32(p[6], p[7]));
    const __m256i t = _mm256_add_epi32(_mm256_permute2x128_si256(s0, s1, 0x20), _mm256_permute2x128_si256(s0, s1, 0x31));
    const __m256 dw = _mm256_cvtph_ps(dh);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), _mm256_mul_ps(dw, _mm256_loadu_ps(xd + i)), acc);
    if (kMin) accm = _mm256_fmadd_ps(_mm256_cvtph_ps(mh), _mm256_loadu_ps(xs + i), accm);
    else if (T != Q8_0) accm = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(kOff)), _mm256_loadu_ps(xs + i), accm);
  }
  float tail = 0;
  for (; i < nb; i++) {
    float d, m;
    const __m256i u = unpack32<T>(w + i * BY, d, m);
    const __m256i q = load(xb[i].q);
    const __m256i pv = T == Q8_0 ? dot_us(_mm256_sign_epi8(u, u), _mm256_sign_epi8(q, u)) : dot_us(u, q);
    tail += hsum(_mm256_mul_ps(_mm256_cvtepi32_ps(pv), _mm256_set1_ps(d * xb[i].d))) + m * xb[i].s;
  }
  *out = hsum(_mm256_add_ps(acc, accm)) + tail;
}

template <int T, int NR> QG_TARGET void dot32(int64_t nb, const uint8_t* w, const char* x, int64_t xs, float* out) {
  if (NR == 1) return dot32_one<T>(nb, w, x, out);
  constexpr int BY = T == Q4_0 ? 18 : T == Q4_1 ? 20 : T == Q5_0 ? 22 : T == Q5_1 ? 24 : 34;
  __m256 acc[NR];
  float accs[NR];
  for (int r = 0; r < NR; r++) {
    acc[r] = _mm256_setzero_ps();
    accs[r] = 0;
  }
  for (int64_t i = 0; i < nb; i++) {
    float d, m;
    const __m256i u = unpack32<T>(w + i * BY, d, m);
    const __m256i au = T == Q8_0 ? _mm256_sign_epi8(u, u) : u;
    for (int r = 0; r < NR; r++) {
      const XB32* xb = reinterpret_cast<const XB32*>(x + r * xs) + i;
      const __m256i q = load(xb->q);
      const __m256i p = T == Q8_0 ? dot_us(au, _mm256_sign_epi8(q, u)) : dot_us(u, q);
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * xb->d), acc[r]);
      if (T != Q8_0) accs[r] += m * xb->s;
    }
  }
  for (int r = 0; r < NR; r++) out[r] = hsum(acc[r]) + accs[r];
}

// ---- 256-element K types -------------------------------------------------------------------------------

struct KRegs {
  __m256i u[8];   // elements 32c .. 32c+31 as unsigned bytes
  __m256i sc[8];  // their sub-block scales (int16: low lanes for the first 16 bytes, high for the rest)
  __m256i mins;   // 16 int16: what multiplies each 16-sum of the activations (mins, or offset * scale)
  float d, dmin;
};

// Scale vectors from 16-bit scales held in 128-bit halves, by byte shuffles (no scalar work per chunk).
// pair_masks: chunk c of a 16-sub-block type takes int16 lane 2c (low half) and 2c+1 (high half) of
// its 8-lane source; bcast_masks: chunk c of Q4_K/Q5_K takes lane c everywhere.
alignas(32) static const uint8_t kPairMasks[4][32] = {
    {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3},
    {4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7},
    {8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11},
    {12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13,
     14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15}};

// sixteen int16 scales (sub-blocks of 16) -> the 8 chunk scale vectors
QG_TARGET inline void pair_scales(__m128i lo8, __m128i hi8, __m256i* sc) {
  const __m256i lo = _mm256_broadcastsi128_si256(lo8), hi = _mm256_broadcastsi128_si256(hi8);
  for (int c = 0; c < 4; c++) {
    const __m256i m = _mm256_load_si256(reinterpret_cast<const __m256i*>(kPairMasks[c]));
    sc[c] = _mm256_shuffle_epi8(lo, m);
    sc[c + 4] = _mm256_shuffle_epi8(hi, m);
  }
}

template <int T> QG_TARGET inline void unpackk(const uint8_t* b, KRegs& k) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
  if (T == Q4_K || T == Q5_K) {
    k.d = h16(b);
    k.dmin = h16(b + 2);
    uint32_t u[3];
    std::memcpy(u, b + 4, 12);
    const uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
    const uint32_t sc_lo = u[0] & k1, m_lo = u[1] & k1;
    const uint32_t sc_hi = (u[2] & k2) | (((u[0] >> 6) & k3) << 4),
                   m_hi = ((u[2] >> 4) & k2) | (((u[1] >> 6) & k3) << 4);
    const __m128i sc8 = _mm_set_epi32(0, 0, (int)sc_hi, (int)sc_lo), mn8 = _mm_set_epi32(0, 0, (int)m_hi, (int)m_lo);
    const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc8));  // 8 scales in both halves
    for (int c = 0; c < 8; c++) k.sc[c] = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * c)));
    k.mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8));  // each min for both 16-halves of its 32
    const uint8_t* qs = b + (T == Q5_K ? 48 : 16);
    const __m256i qh = T == Q5_K ? load(b + 16) : _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
      const __m256i v = load(qs + 32 * c);
      k.u[2 * c] = _mm256_and_si256(v, m4);
      k.u[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
      if (T == Q5_K) {
        const __m256i one = _mm256_set1_epi8(1);
        const __m256i h0 = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c)), one);
        const __m256i h1 = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c + 1)), one);
        k.u[2 * c] = _mm256_or_si256(k.u[2 * c], _mm256_slli_epi16(h0, 4));
        k.u[2 * c + 1] = _mm256_or_si256(k.u[2 * c + 1], _mm256_slli_epi16(h1, 4));
      }
    }
  } else if (T == Q6_K || T == Q3_K) {
    __m128i s8;
    if (T == Q6_K) {
      k.d = k.dmin = h16(b + 208);
      s8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 192));
    } else {
      k.d = k.dmin = h16(b + 108);
      int8_t s[16];
      q3k_scales(b + 96, s);
      s8 = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)), _mm_set1_epi8(32));
    }
    pair_scales(_mm_cvtepi8_epi16(s8), _mm_cvtepi8_epi16(_mm_srli_si128(s8, 8)), k.sc);
    // the offset (32 or 4) times each scale
    k.mins = _mm256_slli_epi16(_mm256_cvtepi8_epi16(s8), T == Q6_K ? 5 : 2);
    if (T == Q6_K) {
      for (int n = 0; n < 2; n++) {
        const __m256i q0 = load(b + 64 * n), q1 = load(b + 64 * n + 32), h = load(b + 128 + 32 * n);
        k.u[4 * n + 0] = _mm256_or_si256(_mm256_and_si256(q0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m3), 4));
        k.u[4 * n + 1] = _mm256_or_si256(_mm256_and_si256(q1, m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m3), 4));
        k.u[4 * n + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q0, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m3), 4));
        k.u[4 * n + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q1, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m3), 4));
      }
    } else {
      const __m256i hm = load(b), one = _mm256_set1_epi8(1);
      for (int n = 0; n < 2; n++) {
        const __m256i q = load(b + 32 + 32 * n);
        for (int j = 0; j < 4; j++) {
          const __m256i lo = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * j)), m3);
          const __m256i hb = _mm256_and_si256(_mm256_srl_epi16(hm, _mm_cvtsi32_si128(4 * n + j)), one);
          k.u[4 * n + j] = _mm256_or_si256(lo, _mm256_slli_epi16(hb, 2));
        }
      }
    }
  } else {  // Q2_K
    k.d = h16(b + 80);
    k.dmin = h16(b + 82);
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    const __m128i sc = _mm_and_si128(s, _mm_set1_epi8(0x0F));
    pair_scales(_mm_cvtepu8_epi16(sc), _mm_cvtepu8_epi16(_mm_srli_si128(sc, 8)), k.sc);
    k.mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(0x0F)));
    for (int n = 0; n < 2; n++) {
      const __m256i q = load(b + 16 + 32 * n);
      for (int j = 0; j < 4; j++) k.u[4 * n + j] = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * j)), m3);
    }
  }
}

template <int T, int NR> QG_TARGET void dotk(int64_t nb, const uint8_t* w, const char* x, int64_t xs, float* out) {
  constexpr int BY = T == Q2_K ? 84 : T == Q3_K ? 110 : T == Q4_K ? 144 : T == Q5_K ? 176 : 210;
  __m256 acc[NR], accm[NR];
  for (int r = 0; r < NR; r++) acc[r] = accm[r] = _mm256_setzero_ps();
  KRegs k;
  for (int64_t i = 0; i < nb; i++) {
    unpackk<T>(w + i * BY, k);
    for (int r = 0; r < NR; r++) {
      const XBK* xb = reinterpret_cast<const XBK*>(x + r * xs) + i;
      // four independent integer chains (exact: the order of integer adds changes nothing); one
      // chain of eight dependent dot-adds per block was what bound the one-row decode
      __m256i s4[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
      for (int c = 0; c < 8; c++) s4[c & 3] = dot_scaled_acc(s4[c & 3], k.u[c], load(xb->q + 32 * c), k.sc[c]);
      const __m256i s = _mm256_add_epi32(_mm256_add_epi32(s4[0], s4[1]), _mm256_add_epi32(s4[2], s4[3]));
      const __m256i mm = _mm256_madd_epi16(k.mins, load(xb->bsum));
      acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(k.d * xb->d), acc[r]);
      accm[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mm), _mm256_set1_ps(k.dmin * xb->d), accm[r]);
    }
  }
  for (int r = 0; r < NR; r++) out[r] = hsum(_mm256_sub_ps(acc[r], accm[r]));
}

template <int NR> QG_TARGET void dot_nr(int type, int64_t nb, const uint8_t* w, const char* x, int64_t xs, float* out) {
  switch (type) {
    case Q4_0: return dot32<Q4_0, NR>(nb, w, x, xs, out);
    case Q4_1: return dot32<Q4_1, NR>(nb, w, x, xs, out);
    case Q5_0: return dot32<Q5_0, NR>(nb, w, x, xs, out);
    case Q5_1: return dot32<Q5_1, NR>(nb, w, x, xs, out);
    case Q8_0: return dot32<Q8_0, NR>(nb, w, x, xs, out);
    case Q2_K: return dotk<Q2_K, NR>(nb, w, x, xs, out);
    case Q3_K: return dotk<Q3_K, NR>(nb, w, x, xs, out);
    case Q4_K: return dotk<Q4_K, NR>(nb, w, x, xs, out);
    case Q5_K: return dotk<Q5_K, NR>(nb, w, x, xs, out);
    default: return dotk<Q6_K, NR>(nb, w, x, xs, out);
  }
}

QG_TARGET void dot(int type, int64_t nb, const uint8_t* w, const void* xv, int64_t xs, int nr, float* out) {
  const char* x = static_cast<const char*>(xv);
  switch (nr) {
    case 1: return dot_nr<1>(type, nb, w, x, xs, out);
    case 2: return dot_nr<2>(type, nb, w, x, xs, out);
    case 3: return dot_nr<3>(type, nb, w, x, xs, out);
    default: return dot_nr<4>(type, nb, w, x, xs, out);
  }
}

}  // namespace QG_NS
}  // namespace kiln
