// Products of a few rows with a half-precision weight (batched decode of several requests:
// min_rows()..kMaxRows rows): y = x [M, K] @ W.T with W [N, K] float16 / bfloat16, K contiguous.
// The packed GEMM repacks the whole weight into float panels on every call, which costs more than
// the product at these sizes; here W is read straight from its storage, a tile of NR weight rows
// at a time against blocks of MR activation rows, so each weight comes from memory once and stays
// in L1 while every block of rows uses it, and each activation vector loaded serves NR weight rows.
// Every output sums exactly as gemv_half's one-row dot does (32 float partials, element k in
// partial k % 32, the same tail and reduction tree), so a row of a batch of 40 has the bits of that
// row alone: batched decode changes no result.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include "gemv_half.h"

namespace kiln {
namespace skinny_half {

// Up to 32 rows (the server's default concurrency): past that the packed bfloat16 GEMM (vdpbf16ps)
// wins; from 2 rows on AVX-512 and 4 on AVX2, where gemv_half's row blocks stop winning (measured
// on [M, 2048] x [2048, 5632]).
constexpr int64_t kMaxRows = 32;
inline int64_t min_rows() { return isa_level() == Isa::kAvx512 ? 2 : 4; }

#if KILN_SIMD
// AVX-512: MR rows x NR weight rows, two 16-lane accumulators each (dot_avx512's a0, a1)
template <int MR, int NR, typename S>
KILN_AVX512 void tile_avx512(int64_t K, const float* x, int64_t xs, const S* w, int64_t ws, float* out) {
  __m512 a0[MR][NR], a1[MR][NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) a0[i][j] = a1[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + gemv_half::kLanes <= K; k += gemv_half::kLanes) {
    __m512 w0[NR], w1[NR];
    for (int j = 0; j < NR; j++) {
      w0[j] = gemv_half::load16(w + j * ws + k);
      w1[j] = gemv_half::load16(w + j * ws + k + 16);
    }
    for (int i = 0; i < MR; i++) {
      const __m512 x0 = _mm512_loadu_ps(x + i * xs + k), x1 = _mm512_loadu_ps(x + i * xs + k + 16);
      for (int j = 0; j < NR; j++) {
        a0[i][j] = _mm512_fmadd_ps(x0, w0[j], a0[i][j]);
        a1[i][j] = _mm512_fmadd_ps(x1, w1[j], a1[i][j]);
      }
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++)
      out[i * NR + j] = gemv_half::tail512(a0[i][j], a1[i][j], x + i * xs, w + j * ws, k, K);
}

// AVX2 (16 registers): one row x NR weight rows, four 8-lane accumulators each (dot_avx2's)
template <int NR, typename S>
KILN_AVX2 void tile_avx2(int64_t K, const float* x, const S* w, int64_t ws, float* out) {
  __m256 a[NR][4];
  for (int j = 0; j < NR; j++)
    for (int q = 0; q < 4; q++) a[j][q] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + gemv_half::kLanes <= K; k += gemv_half::kLanes)
    for (int q = 0; q < 4; q++) {
      const __m256 xv = _mm256_loadu_ps(x + k + 8 * q);
      for (int j = 0; j < NR; j++) a[j][q] = _mm256_fmadd_ps(xv, gemv_half::load8(w + j * ws + k + 8 * q), a[j][q]);
    }
  for (int j = 0; j < NR; j++) out[j] = gemv_half::tail256(a[j][0], a[j][1], a[j][2], a[j][3], x, w + j * ws, k, K);
}

constexpr int kMR512 = 2, kNR512 = 4, kNR256 = 3;

// mr x nr outputs (mr <= kMR512, nr <= kNR512) into out[i * nr + j]
template <typename S>
KILN_AVX512 void tile512(int mr, int nr, int64_t K, const float* x, int64_t xs, const S* w, int64_t ws, float* out) {
  if (mr == 2) {
    switch (nr) {
      case 1: return tile_avx512<2, 1, S>(K, x, xs, w, ws, out);
      case 2: return tile_avx512<2, 2, S>(K, x, xs, w, ws, out);
      case 3: return tile_avx512<2, 3, S>(K, x, xs, w, ws, out);
      default: return tile_avx512<2, 4, S>(K, x, xs, w, ws, out);
    }
  }
  switch (nr) {
    case 1: return tile_avx512<1, 1, S>(K, x, xs, w, ws, out);
    case 2: return tile_avx512<1, 2, S>(K, x, xs, w, ws, out);
    case 3: return tile_avx512<1, 3, S>(K, x, xs, w, ws, out);
    default: return tile_avx512<1, 4, S>(K, x, xs, w, ws, out);
  }
}
template <typename S> KILN_AVX2 void tile256(int nr, int64_t K, const float* x, const S* w, int64_t ws, float* out) {
  switch (nr) {
    case 1: return tile_avx2<1, S>(K, x, w, ws, out);
    case 2: return tile_avx2<2, S>(K, x, w, ws, out);
    default: return tile_avx2<3, S>(K, x, w, ws, out);
  }
}
#endif

/**
 * y[i * yrs + j * ycs] = sum_k x[i * xrs + k * xcs] * B[k + j * bcs] for min_rows() <= M <= kMaxRows
 * (B's columns contiguous: a Linear weight W [N, K] seen as W.T), each row with the bits of
 * gemv_half::run_rows on that row alone. Returns false (nothing done) for other shapes and layouts,
 * and on the portable level (the packed GEMM serves those).
 */
template <typename S>
bool run(int64_t M, int64_t K, int64_t N, const S* x, int64_t xrs, int64_t xcs, const S* B, int64_t brs, int64_t bcs,
         S* y, int64_t yrs, int64_t ycs, bool par) {
#if KILN_SIMD
  const Isa level = isa_level();
  if ((brs != 1 && K > 1) || M < min_rows() || M > kMaxRows || K < 1 || N < 1 || level == Isa::kPortable) return false;
  const bool wide = level == Isa::kAvx512;
  const int MR = wide ? kMR512 : 1, NR = wide ? kNR512 : kNR256;
  std::unique_ptr<float[]> xf(new float[(size_t)(M * K)]);
  for (int64_t i = 0; i < M; i++)
    for (int64_t k = 0; k < K; k++) xf[i * K + k] = gemv_half::widen(x[i * xrs + k * xcs]);
  const int64_t tiles = (N + NR - 1) / NR;
  auto fn = [&](int64_t t0, int64_t t1) {
    float out[kMR512 * kNR512];
    for (int64_t t = t0; t < t1; t++) {
      const int64_t n0 = t * NR;
      const int nr = (int)std::min<int64_t>(NR, N - n0);
      for (int64_t i0 = 0; i0 < M; i0 += MR) {
        const int mr = (int)std::min<int64_t>(MR, M - i0);
        const float* xi = xf.get() + i0 * K;
        if (wide) tile512<S>(mr, nr, K, xi, K, B + n0 * bcs, bcs, out);
        else tile256<S>(nr, K, xi, B + n0 * bcs, bcs, out);
        for (int i = 0; i < mr; i++)
          for (int j = 0; j < nr; j++) y[(i0 + i) * yrs + (n0 + j) * ycs] = from_value<S>(out[i * nr + j]);
      }
    }
  };
  if (par) parallel_for(tiles, std::max<int64_t>(1, 16384 / std::max<int64_t>(M * K, 1)), fn);
  else fn(0, tiles);
  return true;
#else
  (void)M, (void)K, (void)N, (void)x, (void)xrs, (void)xcs, (void)B, (void)brs, (void)bcs, (void)y, (void)yrs, (void)ycs,
      (void)par;
  return false;
#endif
}

}  // namespace skinny_half
}  // namespace kiln
