// Packing of GEMM operands (matmul.cc) into the k-major panels the micro-kernels read: a panel
// holds R rows (MR rows of A, or NR columns of B), element (k, r) at out[k * R + r], widened to
// float from float16 / bfloat16 on the way (F16C, or a shift for bfloat16). A row of the panel
// is either contiguous along k (a row-major A, a Linear weight used as B^T: 8x8 transposes) or
// the rows are contiguous at each k (a row-major B: widened 8 at a time); other strides and the
// last, partial panel take the scalar loop, which zero-fills rows past the end.
//
// bfloat16 pairs (the AVX-512 BF16 `vdpbf16ps` kernel): element pair (k, k + 1) of row r is one
// 32-bit word, low half k, at out[(k / 2) * R + r]; an odd last k pairs with zero.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include "../simd.h"
#include "../../common/dtype.h"

namespace kiln {
namespace gemm_pack {

// float for float32 / float16 / bfloat16, double for float64 (never narrowed)
template <typename S> inline auto widen(S v) { return to_compute(v); }
inline uint32_t bits16(bf16_t v) { return v.bits; }

// Any strides: row r, step k at p[r * rstr + k * kstr]; rows nr..R-1 are zero.
template <int R, typename S, typename F>
void pack_any(const S* p, int64_t rstr, int64_t kstr, int64_t nr, int64_t kc, F* out) {
  for (int64_t k = 0; k < kc; k++) {
    for (int64_t r = 0; r < nr; r++) out[k * R + r] = (F)widen(p[r * rstr + k * kstr]);
    for (int64_t r = nr; r < R; r++) out[k * R + r] = F(0);
  }
}

template <int R>
void pack_pairs_any(const bf16_t* p, int64_t rstr, int64_t kstr, int64_t nr, int64_t kc, uint32_t* out) {
  for (int64_t k = 0; k < kc; k += 2) {
    uint32_t* o = out + (k / 2) * R;
    for (int64_t r = 0; r < nr; r++) {
      const bf16_t* q = p + r * rstr + k * kstr;
      o[r] = bits16(q[0]) | (k + 1 < kc ? bits16(q[kstr]) << 16 : 0u);
    }
    for (int64_t r = nr; r < R; r++) o[r] = 0;
  }
}

#if KILN_SIMD
KILN_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
KILN_AVX2 inline __m256 load8(const half_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
KILN_AVX2 inline __m256 load8(const bf16_t* p) {
  return _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
}

// Transposes r[0..7] (8 rows of 8) and stores row kk of the result at d + kk * ldo; only the
// first g lanes when g < 8 (the last group of a 14-row panel).
KILN_AVX2 inline void transpose8_store(__m256* r, float* d, int64_t ldo, int g) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  __m256 o[8] = {_mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
                 _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
                 _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
                 _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
  if (g == 8) {
    for (int kk = 0; kk < 8; kk++) _mm256_storeu_ps(d + kk * ldo, o[kk]);
  } else {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(g), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int kk = 0; kk < 8; kk++) _mm256_maskstore_ps(d + kk * ldo, mask, o[kk]);
  }
}

// Rows contiguous along k (kstr == 1), R full rows.
template <int R, typename S> KILN_AVX2 void pack_rows_avx2(const S* p, int64_t rstr, int64_t kc, float* out) {
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
#pragma GCC unroll 4
    for (int g0 = 0; g0 < R; g0 += 8) {
      const int g = std::min(8, R - g0);
      __m256 r[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; i++) r[i] = load8(p + (g0 + std::min(i, g - 1)) * rstr + k);
      transpose8_store(r, out + k * R + g0, R, g);
    }
  }
  for (; k < kc; k++)
    for (int r = 0; r < R; r++) out[k * R + r] = widen(p[r * rstr + k]);
}

// Rows contiguous at each k (rstr == 1).
template <int R, typename S> KILN_AVX2 void pack_kmajor_avx2(const S* p, int64_t kstr, int64_t kc, float* out) {
  for (int64_t k = 0; k < kc; k++) {
    const S* q = p + k * kstr;
    float* o = out + k * R;
    int r = 0;
    for (; r + 8 <= R; r += 8) _mm256_storeu_ps(o + r, load8(q + r));
    for (; r < R; r++) o[r] = widen(q[r]);
  }
}

// bfloat16 pairs, rows contiguous along k: a pair is one unaligned 32-bit word, so this is the
// float transpose on words.
template <int R> KILN_AVX2 void pack_pairs_rows_avx2(const bf16_t* p, int64_t rstr, int64_t kc, uint32_t* out) {
  int64_t k = 0;
  float* o = reinterpret_cast<float*>(out);
  for (; k + 16 <= kc; k += 16) {
#pragma GCC unroll 4
    for (int g0 = 0; g0 < R; g0 += 8) {
      const int g = std::min(8, R - g0);
      __m256 r[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; i++)
        r[i] = _mm256_loadu_ps(reinterpret_cast<const float*>(p + (g0 + std::min(i, g - 1)) * rstr + k));
      transpose8_store(r, o + (k / 2) * R + g0, R, g);
    }
  }
  if (k < kc) pack_pairs_any<R>(p + k, rstr, 1, R, kc - k, out + (k / 2) * R);
}

// bfloat16 pairs, rows contiguous at each k: rows k and k + 1 interleaved by 16-bit unpacks.
template <int R> KILN_AVX2 void pack_pairs_kmajor_avx2(const bf16_t* p, int64_t kstr, int64_t kc, uint32_t* out) {
  int64_t k = 0;
  for (; k + 2 <= kc; k += 2) {
    const bf16_t *q0 = p + k * kstr, *q1 = q0 + kstr;
    uint32_t* o = out + (k / 2) * R;
    int r = 0;
    for (; r + 8 <= R; r += 8) {
      const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q0 + r));
      const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q1 + r));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + r), _mm_unpacklo_epi16(x0, x1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + r + 4), _mm_unpackhi_epi16(x0, x1));
    }
    for (; r < R; r++) o[r] = bits16(q0[r]) | bits16(q1[r]) << 16;
  }
  if (k < kc) pack_pairs_any<R>(p + k * kstr, 1, kstr, R, kc - k, out + (k / 2) * R);
}
#endif  // KILN_SIMD

// One panel of R rows (nr of them valid) as float.
template <int R, typename S>
inline void panel(const S* p, int64_t rstr, int64_t kstr, int64_t nr, int64_t kc, float* out, bool vec) {
#if KILN_SIMD
  if (vec && nr == R) {
    if (kstr == 1) return pack_rows_avx2<R>(p, rstr, kc, out);
    if (rstr == 1) return pack_kmajor_avx2<R>(p, kstr, kc, out);
  }
#endif
  (void)vec;
  pack_any<R>(p, rstr, kstr, nr, kc, out);
}

template <int R, typename S>
inline void panel(const S* p, int64_t rstr, int64_t kstr, int64_t nr, int64_t kc, double* out, bool) {
  pack_any<R>(p, rstr, kstr, nr, kc, out);
}

// One panel of R rows (nr valid) as bfloat16 pairs.
template <int R>
inline void panel_pairs(const bf16_t* p, int64_t rstr, int64_t kstr, int64_t nr, int64_t kc, uint32_t* out, bool vec) {
#if KILN_SIMD
  if (vec && nr == R) {
    if (kstr == 1) return pack_pairs_rows_avx2<R>(p, rstr, kc, out);
    if (rstr == 1) return pack_pairs_kmajor_avx2<R>(p, kstr, kc, out);
  }
#endif
  (void)vec;
  pack_pairs_any<R>(p, rstr, kstr, nr, kc, out);
}

}  // namespace gemm_pack
}  // namespace kiln
