// Matrix-vector products for float16 / bfloat16 operands (M == 1 decode steps): the weights are
// read once in their storage type and widened in registers, instead of being packed into float
// panels first (which made a half-precision decode step slower than float32's). Sums are float:
// 32 partial sums, element k in partial k % 32, the same order on the AVX2 and AVX-512 paths (same
// bits); the portable loop keeps the same partials without FMA.
#pragma once
#include <cstdint>
#include <memory>
#include "../simd.h"
#include "../thread_pool.h"
#include "../../common/dtype.h"

namespace kiln {
namespace gemv_half {

constexpr int kLanes = 32;

inline float finish(const float* p) {
  // pairwise over the 32 partials: a fixed tree
  float t[16];
  for (int i = 0; i < 16; i++) t[i] = p[i] + p[i + 16];
  for (int w = 8; w >= 1; w /= 2)
    for (int i = 0; i < w; i++) t[i] = t[i] + t[i + w];
  return t[0];
}

template <typename S> inline float widen(S v) { return to_compute(v); }

template <typename S> float dot_portable(const float* x, const S* w, int64_t n) {
  float p[kLanes] = {0};
  for (int64_t k = 0; k < n; k++) p[k % kLanes] += x[k] * widen(w[k]);
  return finish(p);
}

#if KILN_SIMD
// 8 (AVX2) or 16 (AVX-512) half values widened to float
KILN_AVX2 inline __m256 load8(const half_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
KILN_AVX2 inline __m256 load8(const bf16_t* p) {
  return _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
}
KILN_AVX512 inline __m512 load16(const half_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
KILN_AVX512 inline __m512 load16(const bf16_t* p) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}

template <typename S> KILN_AVX2 float dot_avx2(const float* x, const S* w, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), load8(w + k), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), load8(w + k + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 16), load8(w + k + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 24), load8(w + k + 24), a3);
  }
  alignas(32) float p[kLanes];
  _mm256_store_ps(p, a0);
  _mm256_store_ps(p + 8, a1);
  _mm256_store_ps(p + 16, a2);
  _mm256_store_ps(p + 24, a3);
  for (int i = 0; k < n; k++, i++) p[i] = __builtin_fmaf(x[k], widen(w[k]), p[i]);
  return finish(p);
}

template <typename S> KILN_AVX512 float dot_avx512(const float* x, const S* w, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0;
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), load16(w + k), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 16), load16(w + k + 16), a1);
  }
  alignas(64) float p[kLanes];
  _mm512_store_ps(p, a0);
  _mm512_store_ps(p + 16, a1);
  for (int i = 0; k < n; k++, i++) p[i] = __builtin_fmaf(x[k], widen(w[k]), p[i]);
  return finish(p);
}
#endif

/**
 * y[j * ys] = sum_k x[k * xs] * B[k + j * bcs] for j < N: B's columns are contiguous (a Linear
 * weight W [N, K] seen as W.T). Returns false (nothing done) for other layouts.
 */
template <typename S>
bool run(int64_t K, int64_t N, const S* x, int64_t xs, const S* B, int64_t brs, int64_t bcs, S* y, int64_t ys,
         bool par) {
  if (brs != 1 && K > 1) return false;
  std::unique_ptr<float[]> xf(new float[(size_t)std::max<int64_t>(K, 1)]);
  for (int64_t k = 0; k < K; k++) xf[k] = widen(x[k * xs]);
  const float* xp = xf.get();
  const Isa level = isa_level();
  auto fn = [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; j++) {
      const S* w = B + j * bcs;
      float s;
#if KILN_SIMD
      if (level == Isa::kAvx512) s = dot_avx512(xp, w, K);
      else if (level == Isa::kAvx2) s = dot_avx2(xp, w, K);
      else s = dot_portable(xp, w, K);
#else
      (void)level;
      s = dot_portable(xp, w, K);
#endif
      y[j * ys] = from_value<S>(s);
    }
  };
  if (par) parallel_for(N, std::max<int64_t>(4, 16384 / std::max<int64_t>(K, 1)), fn);
  else fn(0, N);
  return true;
}

}  // namespace gemv_half
}  // namespace kiln
