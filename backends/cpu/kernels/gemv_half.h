// Matrix-vector products for float16 / bfloat16 operands (decode steps, M <= kMaxRows rows): the weights are
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
// (the zero-masked conversion: the same values; GCC 12 warns about the plain form's undefined passthrough)
KILN_AVX512 inline __m512 load16(const half_t* p) {
  return _mm512_maskz_cvtph_ps(0xFFFF, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
KILN_AVX512 inline __m512 load16(const bf16_t* p) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))), 16));
}

// The 32 partial sums of a dot product: stored, the tail (k < n) added one by one, then reduced.
template <typename S>
KILN_AVX2 float tail256(__m256 a0, __m256 a1, __m256 a2, __m256 a3, const float* x, const S* w, int64_t k, int64_t n) {
  alignas(32) float p[kLanes];
  _mm256_store_ps(p, a0);
  _mm256_store_ps(p + 8, a1);
  _mm256_store_ps(p + 16, a2);
  _mm256_store_ps(p + 24, a3);
  for (int i = 0; k < n; k++, i++) p[i] = __builtin_fmaf(x[k], widen(w[k]), p[i]);
  return finish(p);
}
template <typename S> KILN_AVX512 float tail512(__m512 a0, __m512 a1, const float* x, const S* w, int64_t k, int64_t n) {
  alignas(64) float p[kLanes];
  _mm512_store_ps(p, a0);
  _mm512_store_ps(p + 16, a1);
  for (int i = 0; k < n; k++, i++) p[i] = __builtin_fmaf(x[k], widen(w[k]), p[i]);
  return finish(p);
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
  return tail256(a0, a1, a2, a3, x, w, k, n);
}

template <typename S> KILN_AVX512 float dot_avx512(const float* x, const S* w, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0;
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), load16(w + k), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 16), load16(w + k + 16), a1);
  }
  return tail512(a0, a1, x, w, k, n);
}

// Several rows against one weight column: each block of 32 weights is widened once and used by
// every row; each row's accumulators and tail are exactly dot_avx512's / dot_avx2's (same bits).
// Named registers, not arrays: arrays of vectors were spilled to the stack.
template <typename S> KILN_AVX512 void dots4_avx512(const float* x, int64_t xs, const S* w, int64_t n, float* out) {
  const float *x0 = x, *x1 = x + xs, *x2 = x + 2 * xs, *x3 = x + 3 * xs;
  __m512 a00 = _mm512_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    const __m512 w0 = load16(w + k), w1 = load16(w + k + 16);
    a00 = _mm512_fmadd_ps(_mm512_loadu_ps(x0 + k), w0, a00);
    a01 = _mm512_fmadd_ps(_mm512_loadu_ps(x0 + k + 16), w1, a01);
    a10 = _mm512_fmadd_ps(_mm512_loadu_ps(x1 + k), w0, a10);
    a11 = _mm512_fmadd_ps(_mm512_loadu_ps(x1 + k + 16), w1, a11);
    a20 = _mm512_fmadd_ps(_mm512_loadu_ps(x2 + k), w0, a20);
    a21 = _mm512_fmadd_ps(_mm512_loadu_ps(x2 + k + 16), w1, a21);
    a30 = _mm512_fmadd_ps(_mm512_loadu_ps(x3 + k), w0, a30);
    a31 = _mm512_fmadd_ps(_mm512_loadu_ps(x3 + k + 16), w1, a31);
  }
  out[0] = tail512(a00, a01, x0, w, k, n);
  out[1] = tail512(a10, a11, x1, w, k, n);
  out[2] = tail512(a20, a21, x2, w, k, n);
  out[3] = tail512(a30, a31, x3, w, k, n);
}
template <typename S> KILN_AVX2 void dots2_avx2(const float* x, int64_t xs, const S* w, int64_t n, float* out) {
  const float *x0 = x, *x1 = x + xs;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    const __m256 w0 = load8(w + k), w1 = load8(w + k + 8), w2 = load8(w + k + 16), w3 = load8(w + k + 24);
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x0 + k), w0, a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x0 + k + 8), w1, a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x0 + k + 16), w2, a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x0 + k + 24), w3, a3);
    b0 = _mm256_fmadd_ps(_mm256_loadu_ps(x1 + k), w0, b0);
    b1 = _mm256_fmadd_ps(_mm256_loadu_ps(x1 + k + 8), w1, b1);
    b2 = _mm256_fmadd_ps(_mm256_loadu_ps(x1 + k + 16), w2, b2);
    b3 = _mm256_fmadd_ps(_mm256_loadu_ps(x1 + k + 24), w3, b3);
  }
  out[0] = tail256(a0, a1, a2, a3, x0, w, k, n);
  out[1] = tail256(b0, b1, b2, b3, x1, w, k, n);
}
#endif

/** Rows at most this many take the row-at-a-time path (batched decode, speculative drafts). */
constexpr int64_t kMaxRows = 8;

/**
 * y[i * yrs + j * ycs] = sum_k x[i * xrs + k * xcs] * B[k + j * bcs] for i < M, j < N: B's columns
 * are contiguous (a Linear weight W [N, K] seen as W.T). Each column of B is read from memory once
 * for all M rows (it stays in L1 while the rows use it), and every row sums in the M == 1 order,
 * so a row of a batch gets the same bits as that row alone. Returns false (nothing done) for other
 * layouts or more than kMaxRows rows.
 */
template <typename S>
bool run_rows(int64_t M, int64_t K, int64_t N, const S* x, int64_t xrs, int64_t xcs, const S* B, int64_t brs,
              int64_t bcs, S* y, int64_t yrs, int64_t ycs, bool par) {
  if ((brs != 1 && K > 1) || M < 1 || M > kMaxRows) return false;
  const int64_t Kp = std::max<int64_t>(K, 1);
  std::unique_ptr<float[]> xf(new float[(size_t)(M * Kp)]);
  for (int64_t i = 0; i < M; i++)
    for (int64_t k = 0; k < K; k++) xf[i * Kp + k] = widen(x[i * xrs + k * xcs]);
  const float* xp = xf.get();
  const Isa level = isa_level();
  auto fn = [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; j++) {
      const S* w = B + j * bcs;
      int64_t i = 0;
#if KILN_SIMD
      // blocks of rows share each widened weight vector (4 on AVX-512's 32 registers, 2 on AVX2's 16)
      float s4[4];
      if (level == Isa::kAvx512)
        for (; i + 4 <= M; i += 4) {
          dots4_avx512<S>(xp + i * Kp, Kp, w, K, s4);
          for (int r = 0; r < 4; r++) y[(i + r) * yrs + j * ycs] = from_value<S>(s4[r]);
        }
      else if (level == Isa::kAvx2)
        for (; i + 2 <= M; i += 2) {
          dots2_avx2<S>(xp + i * Kp, Kp, w, K, s4);
          for (int r = 0; r < 2; r++) y[(i + r) * yrs + j * ycs] = from_value<S>(s4[r]);
        }
#endif
      for (; i < M; i++) {
        const float* xi = xp + i * Kp;
        float s;
#if KILN_SIMD
        if (level == Isa::kAvx512) s = dot_avx512(xi, w, K);
        else if (level == Isa::kAvx2) s = dot_avx2(xi, w, K);
        else s = dot_portable(xi, w, K);
#else
        (void)level;
        s = dot_portable(xi, w, K);
#endif
        y[i * yrs + j * ycs] = from_value<S>(s);
      }
    }
  };
  if (par) parallel_for(N, std::max<int64_t>(4, 16384 / std::max<int64_t>(M * K, 1)), fn);
  else fn(0, N);
  return true;
}

/** One row: y[j * ys] = sum_k x[k * xs] * B[k + j * bcs] (run_rows with M == 1). */
template <typename S>
bool run(int64_t K, int64_t N, const S* x, int64_t xs, const S* B, int64_t brs, int64_t bcs, S* y, int64_t ys,
         bool par) {
  return run_rows<S>(1, K, N, x, 0, xs, B, brs, bcs, y, 0, ys, par);
}

}  // namespace gemv_half
}  // namespace kiln
