// The decode-shaped products (x [M <= 4, K] @ W.T, W [N, K]) for 4- and 8-bit affine weights on the
// vector paths: NB weight rows x MB rows of x per call, the group size a template parameter so a
// group's loop is fully unrolled and nothing but loads, nibble extraction, FMAs and one scale FMA per
// group runs in it. Per group g of row n: y += s[g] * dot(x_g, q_g), then once per row
// y += dot(b, sum_g(x)) (the biases times the group sums of x, precomputed once per call).
// 4-bit: a 16-byte piece (32 values) is widened to 16 dwords; the low nibble of each is turned into
// a float by a 16-entry table lookup (vpermps reads only the index's low 4 bits, so no mask), the
// high nibble by a shift then the same lookup; x is permuted by the caller so that byte i's low and
// high values meet x positions i and 16 + i of the piece. 8-bit: bytes widened and converted.
// The rows of a block are streamed side by side; x stays in L1 (K floats per row of x).
#pragma once
#include <cmath>
#include <cstdint>
#include "../simd.h"

namespace kiln {
namespace qmv {

#if KILN_SIMD
KILN_AVX2 inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
// (not _mm512_reduce_add_ps: g++ 12's header warns about it)
KILN_AVX512 inline float hsum16(__m512 v) {
  return hsum8(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

KILN_AVX512 inline __m512 q4_lut() { return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }

// out[n * MB + m] = sum_g s[n][g] * dot(x_m, q_n) over group g + dot(b[n], xg_m). sf holds the
// block's scales as float, row n at sf + 2 n G, its biases at sf + (2 n + 1) G.
template <int BITS, int GS, int NB, int MB>
KILN_AVX512 void dot_avx512(const uint8_t* const* w, const float* sf, int64_t G, const float* const* xs,
                            const float* const* xg, float* out) {
  static_assert(BITS == 4 || BITS == 8, "4- and 8-bit only");
  constexpr int GB = GS * BITS / 8;  // bytes per group
  const __m512 lut = q4_lut();
  const uint8_t* p[NB];
  for (int n = 0; n < NB; n++) p[n] = w[n];
  const float* xp[MB];
  for (int m = 0; m < MB; m++) xp[m] = xs[m];
  __m512 tot[NB][MB];
  for (int n = 0; n < NB; n++)
    for (int m = 0; m < MB; m++) tot[n][m] = _mm512_setzero_ps();
  for (int64_t g = 0; g < G; g++) {
    __m512 acc[NB][MB];
    for (int n = 0; n < NB; n++)
      for (int m = 0; m < MB; m++) acc[n][m] = _mm512_setzero_ps();
    if constexpr (BITS == 4) {
      for (int c = 0; c < GS / 32; c++) {
        __m512 x0[MB], x1[MB];
        for (int m = 0; m < MB; m++) {
          x0[m] = _mm512_loadu_ps(xp[m] + c * 32);
          x1[m] = _mm512_loadu_ps(xp[m] + c * 32 + 16);
        }
        for (int n = 0; n < NB; n++) {
          const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p[n] + c * 16)));
          const __m512 lo = _mm512_permutexvar_ps(v, lut);
          const __m512 hi = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), lut);
          for (int m = 0; m < MB; m++) {
            acc[n][m] = _mm512_fmadd_ps(lo, x0[m], acc[n][m]);
            acc[n][m] = _mm512_fmadd_ps(hi, x1[m], acc[n][m]);
          }
        }
      }
    } else {
      for (int c = 0; c < GS / 16; c++) {
        __m512 x0[MB];
        for (int m = 0; m < MB; m++) x0[m] = _mm512_loadu_ps(xp[m] + c * 16);
        for (int n = 0; n < NB; n++) {
          const __m512 q = _mm512_cvtepi32_ps(
              _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p[n] + c * 16))));
          for (int m = 0; m < MB; m++) acc[n][m] = _mm512_fmadd_ps(q, x0[m], acc[n][m]);
        }
      }
    }
    for (int n = 0; n < NB; n++) {
      const __m512 s = _mm512_set1_ps(sf[2 * n * G + g]);
      for (int m = 0; m < MB; m++) tot[n][m] = _mm512_fmadd_ps(s, acc[n][m], tot[n][m]);
      p[n] += GB;
    }
    for (int m = 0; m < MB; m++) xp[m] += GS;
  }
  // the bias term: dot(b, group sums of x), 16 groups at a time
  for (int n = 0; n < NB; n++) {
    const float* b = sf + (2 * n + 1) * G;
    for (int64_t g = 0; g < G; g += 16) {
      const __mmask16 k = G - g >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (G - g)) - 1);
      const __m512 bv = _mm512_maskz_loadu_ps(k, b + g);
      for (int m = 0; m < MB; m++) tot[n][m] = _mm512_fmadd_ps(bv, _mm512_maskz_loadu_ps(k, xg[m] + g), tot[n][m]);
    }
    for (int m = 0; m < MB; m++) out[n * MB + m] = hsum16(tot[n][m]);
  }
}

// AVX-512, K a multiple of 64 bytes' worth of values (128 at 4 bits, 64 at 8): 64 packed bytes are
// loaded as 16 dwords and field j of every dword is masked in place (value q * 2^(bits j), exact)
// and converted, with no shuffle in the loop; the caller scales x's field j by 2^-(bits j) in the
// layout (blocks of 16 * VPL values, x[VPL i + j] at j * 16 + i; the top field is shifted down
// instead, its x unscaled), so every product is the plain q * x. A block holds 1, 2 or 4 groups
// (lanes of one group side by side) or a group spans several blocks.
template <int BITS> constexpr int fields() { return 32 / BITS; }

// one block of 64 bytes per weight row into acc
template <int BITS, int NB, int MB>
KILN_AVX512 inline void fields_block(const uint8_t* const* p, const float* const* xs, int64_t blk, const __m512i* mask,
                                     __m512 (&acc)[NB][MB]) {
  constexpr int VPL = fields<BITS>(), BV = 16 * VPL;
  __m512i v[NB];
  for (int n = 0; n < NB; n++) v[n] = _mm512_loadu_si512(p[n] + blk * 64);
  for (int j = 0; j < VPL; j++) {
    __m512 xv[MB];
    for (int m = 0; m < MB; m++) xv[m] = _mm512_loadu_ps(xs[m] + blk * BV + j * 16);
    for (int n = 0; n < NB; n++) {
      const __m512i f = j == VPL - 1 ? _mm512_srli_epi32(v[n], BITS * j) : _mm512_and_si512(v[n], mask[j]);
      const __m512 q = _mm512_cvtepi32_ps(f);
      for (int m = 0; m < MB; m++) acc[n][m] = _mm512_fmadd_ps(q, xv[m], acc[n][m]);
    }
  }
}

template <int BITS, int GS, int NB, int MB>
KILN_AVX512 void dot_avx512_fields(const uint8_t* const* w, const float* sf, int64_t G, const float* const* xs,
                                   const float* const* xg, float* out) {
  static_assert(BITS == 4 || BITS == 8, "4- and 8-bit only");
  constexpr int VPL = fields<BITS>(), BV = 16 * VPL;
  constexpr uint32_t FM = (1u << BITS) - 1;
  const int64_t K = G * GS, nblk = K / BV;
  __m512i mask[VPL];
  for (int j = 0; j < VPL; j++) mask[j] = _mm512_set1_epi32((int)(FM << (BITS * j)));
  const uint8_t* p[NB];
  for (int n = 0; n < NB; n++) p[n] = w[n];
  __m512 tot[NB][MB];
  for (int n = 0; n < NB; n++)
    for (int m = 0; m < MB; m++) tot[n][m] = _mm512_setzero_ps();
  if constexpr (GS >= BV) {
    for (int64_t g = 0; g < G; g++) {
      __m512 acc[NB][MB];
      for (int n = 0; n < NB; n++)
        for (int m = 0; m < MB; m++) acc[n][m] = _mm512_setzero_ps();
      for (int c = 0; c < GS / BV; c++) fields_block<BITS, NB, MB>(p, xs, g * (GS / BV) + c, mask, acc);
      for (int n = 0; n < NB; n++) {
        const __m512 s = _mm512_set1_ps(sf[2 * n * G + g]);
        for (int m = 0; m < MB; m++) tot[n][m] = _mm512_fmadd_ps(s, acc[n][m], tot[n][m]);
      }
    }
  } else {
    constexpr int GPB = BV / GS, LPG = 16 / GPB;  // groups per block, lanes per group
    const __m512i idx = _mm512_setr_epi32(0 / LPG, 1 / LPG, 2 / LPG, 3 / LPG, 4 / LPG, 5 / LPG, 6 / LPG, 7 / LPG,
                                          8 / LPG, 9 / LPG, 10 / LPG, 11 / LPG, 12 / LPG, 13 / LPG, 14 / LPG, 15 / LPG);
    for (int64_t blk = 0; blk < nblk; blk++) {
      __m512 acc[NB][MB];
      for (int n = 0; n < NB; n++)
        for (int m = 0; m < MB; m++) acc[n][m] = _mm512_setzero_ps();
      fields_block<BITS, NB, MB>(p, xs, blk, mask, acc);
      for (int n = 0; n < NB; n++) {
        // the block's GPB scales spread over their lanes (sf is padded: the 4-float load stays inside)
        const __m512 s = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_loadu_ps(sf + 2 * n * G + blk * GPB)));
        for (int m = 0; m < MB; m++) tot[n][m] = _mm512_fmadd_ps(s, acc[n][m], tot[n][m]);
      }
    }
  }
  for (int n = 0; n < NB; n++) {
    const float* b = sf + (2 * n + 1) * G;
    for (int64_t g = 0; g < G; g += 16) {
      const __mmask16 k = G - g >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (G - g)) - 1);
      const __m512 bv = _mm512_maskz_loadu_ps(k, b + g);
      for (int m = 0; m < MB; m++) tot[n][m] = _mm512_fmadd_ps(bv, _mm512_maskz_loadu_ps(k, xg[m] + g), tot[n][m]);
    }
    for (int m = 0; m < MB; m++) out[n * MB + m] = hsum16(tot[n][m]);
  }
}

// The same on 8 lanes: a 16-byte piece of 4-bit values is two 8-byte halves (x positions h*8 ..
// and 16 + h*8 ..), the nibbles masked / shifted and converted (AVX2 has no 16-entry lookup).
template <int BITS, int GS, int NB, int MB>
KILN_AVX2 void dot_avx2(const uint8_t* const* w, const float* sf, int64_t G, const float* const* xs,
                        const float* const* xg, float* out) {
  static_assert(BITS == 4 || BITS == 8, "4- and 8-bit only");
  constexpr int GB = GS * BITS / 8;
  const __m256i low4 = _mm256_set1_epi32(15);
  const uint8_t* p[NB];
  for (int n = 0; n < NB; n++) p[n] = w[n];
  const float* xp[MB];
  for (int m = 0; m < MB; m++) xp[m] = xs[m];
  __m256 tot[NB][MB];
  for (int n = 0; n < NB; n++)
    for (int m = 0; m < MB; m++) tot[n][m] = _mm256_setzero_ps();
  for (int64_t g = 0; g < G; g++) {
    __m256 acc[NB][MB];
    for (int n = 0; n < NB; n++)
      for (int m = 0; m < MB; m++) acc[n][m] = _mm256_setzero_ps();
    if constexpr (BITS == 4) {
      for (int c = 0; c < GS / 16; c++) {  // 8 bytes, 16 values
        const int h = c & 1, base = (c >> 1) * 32 + h * 8;
        __m256 x0[MB], x1[MB];
        for (int m = 0; m < MB; m++) {
          x0[m] = _mm256_loadu_ps(xp[m] + base);
          x1[m] = _mm256_loadu_ps(xp[m] + base + 16);
        }
        for (int n = 0; n < NB; n++) {
          const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p[n] + c * 8)));
          const __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(v, low4));
          const __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4));
          for (int m = 0; m < MB; m++) {
            acc[n][m] = _mm256_fmadd_ps(lo, x0[m], acc[n][m]);
            acc[n][m] = _mm256_fmadd_ps(hi, x1[m], acc[n][m]);
          }
        }
      }
    } else {
      for (int c = 0; c < GS / 8; c++) {
        __m256 x0[MB];
        for (int m = 0; m < MB; m++) x0[m] = _mm256_loadu_ps(xp[m] + c * 8);
        for (int n = 0; n < NB; n++) {
          const __m256 q =
              _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p[n] + c * 8))));
          for (int m = 0; m < MB; m++) acc[n][m] = _mm256_fmadd_ps(q, x0[m], acc[n][m]);
        }
      }
    }
    for (int n = 0; n < NB; n++) {
      const __m256 s = _mm256_set1_ps(sf[2 * n * G + g]);
      for (int m = 0; m < MB; m++) tot[n][m] = _mm256_fmadd_ps(s, acc[n][m], tot[n][m]);
      p[n] += GB;
    }
    for (int m = 0; m < MB; m++) xp[m] += GS;
  }
  for (int n = 0; n < NB; n++) {
    const float* b = sf + (2 * n + 1) * G;
    int64_t g = 0;
    for (; g + 8 <= G; g += 8) {
      const __m256 bv = _mm256_loadu_ps(b + g);
      for (int m = 0; m < MB; m++) tot[n][m] = _mm256_fmadd_ps(bv, _mm256_loadu_ps(xg[m] + g), tot[n][m]);
    }
    for (int m = 0; m < MB; m++) {
      float t = hsum8(tot[n][m]);
      for (int64_t r = g; r < G; r++) t = __builtin_fmaf(b[r], xg[m][r], t);
      out[n * MB + m] = t;
    }
  }
}
#endif

// x for dot_avx512_fields: per block of 16 * VPL values, x[VPL i + j] at j * 16 + i, scaled by
// 2^-(bits j) except the top field (exact: a power of two).
inline void fields_x(const float* x, int64_t K, int bits, float* out) {
  const int vpl = 32 / bits, bv = 16 * vpl;
  for (int64_t b0 = 0; b0 < K; b0 += bv)
    for (int j = 0; j < vpl; j++) {
      const float sc = j == vpl - 1 ? 1.0f : std::ldexp(1.0f, -bits * j);
      for (int i = 0; i < 16; i++) out[b0 + j * 16 + i] = x[b0 + vpl * i + j] * sc;
    }
}

}  // namespace qmv
}  // namespace kiln
