// Products of a few rows with a half-precision weight (decode steps and batched decode of several
// requests: up to kMaxRows rows): y = x [M, K] @ W.T with W [N, K] float16 / bfloat16, K contiguous.
// The packed GEMM repacks the whole weight into panels on every call, which costs more than the
// product at these sizes; here W is read straight from its storage, a tile of NR weight rows at a
// time against blocks of MR activation rows, so each weight comes from memory once and stays in L1
// while every block of rows uses it, and each activation vector loaded serves NR weight rows.
// Every output sums the same way whatever M is, so a row of a batch has the bits of that row alone
// (batched decode changes no result):
//  - bfloat16 on AVX-512 BF16 (from one row): vdpbf16ps on bfloat16 activations, 16 float partials
//    (lane l takes elements 2l and 2l+1 of each 32), reduced by one fixed tree;
//  - otherwise (from 2 rows on AVX-512, 4 on AVX2; fewer go through gemv_half.h): exactly
//    gemv_half's one-row dot (32 float partials, element k in partial k % 32, its tail and tree).
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include "gemv_half.h"

namespace kiln {
namespace skinny_half {

// Up to 32 rows (the server's default concurrency): past that the packed GEMM wins. The float paths
// start where gemv_half's row blocks stop winning (measured on [M, 2048] x [2048, 5632]).
constexpr int64_t kMaxRows = 32;

enum class Path { kNone, kBf16Dot, kAvx512, kAvx2 };
template <typename S> inline Path path_for() {
  if (std::is_same_v<S, bf16_t> && use_avx512bf16()) return Path::kBf16Dot;
  if (isa_level() == Isa::kAvx512) return Path::kAvx512;
  if (isa_level() == Isa::kAvx2) return Path::kAvx2;
  return Path::kNone;
}
inline int64_t min_rows(Path p) { return p == Path::kBf16Dot ? 1 : p == Path::kAvx512 ? 2 : 4; }

#if KILN_SIMD
// AVX-512: MR rows x NR weight rows, two 16-lane accumulators each (dot_avx512's a0, a1)
template <int MR, int NR, typename S>
KILN_AVX512 void tile_avx512(int64_t K, const float* x, int64_t xs, const S* w, int64_t ws, float* out) {
  __m512 a0[MR][NR], a1[MR][NR];
  #pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; j++) a0[i][j] = a1[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + gemv_half::kLanes <= K; k += gemv_half::kLanes) {
    __m512 w0[NR], w1[NR];
    #pragma GCC unroll 8
    for (int j = 0; j < NR; j++) {
      w0[j] = gemv_half::load16(w + j * ws + k);
      w1[j] = gemv_half::load16(w + j * ws + k + 16);
    }
    #pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      const __m512 x0 = _mm512_loadu_ps(x + i * xs + k), x1 = _mm512_loadu_ps(x + i * xs + k + 16);
      #pragma GCC unroll 8
      for (int j = 0; j < NR; j++) {
        a0[i][j] = _mm512_fmadd_ps(x0, w0[j], a0[i][j]);
        a1[i][j] = _mm512_fmadd_ps(x1, w1[j], a1[i][j]);
      }
    }
  }
  #pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; j++)
      out[i * NR + j] = gemv_half::tail512(a0[i][j], a1[i][j], x + i * xs, w + j * ws, k, K);
}

// AVX2 (16 registers): one row x NR weight rows, four 8-lane accumulators each (dot_avx2's)
template <int NR, typename S>
KILN_AVX2 void tile_avx2(int64_t K, const float* x, const S* w, int64_t ws, float* out) {
  __m256 a[NR][4];
  #pragma GCC unroll 8
  for (int j = 0; j < NR; j++)
    #pragma GCC unroll 8
    for (int q = 0; q < 4; q++) a[j][q] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + gemv_half::kLanes <= K; k += gemv_half::kLanes)
    #pragma GCC unroll 8
    for (int q = 0; q < 4; q++) {
      const __m256 xv = _mm256_loadu_ps(x + k + 8 * q);
      #pragma GCC unroll 8
      for (int j = 0; j < NR; j++) a[j][q] = _mm256_fmadd_ps(xv, gemv_half::load8(w + j * ws + k + 8 * q), a[j][q]);
    }
  #pragma GCC unroll 8
  for (int j = 0; j < NR; j++) out[j] = gemv_half::tail256(a[j][0], a[j][1], a[j][2], a[j][3], x, w + j * ws, k, K);
}

// bfloat16 rows (x padded with zeros to whole 32-element steps) against bfloat16 weight rows: the
// last step loads only the weights below K
template <int MR, int NR>
KILN_AVX512BF16 void tile_bf16dot(int64_t K, const bf16_t* x, int64_t xs, const bf16_t* w, int64_t ws, float* out) {
  __m512 acc[MR][NR];
  #pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 32) {
    const __mmask32 m = K - k >= 32 ? ~(__mmask32)0 : (__mmask32)((1u << (K - k)) - 1);
    __m512bh wv[NR];
    #pragma GCC unroll 8
    for (int j = 0; j < NR; j++) wv[j] = (__m512bh)_mm512_maskz_loadu_epi16(m, w + j * ws + k);
    #pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(x + i * xs + k);
      #pragma GCC unroll 8
      for (int j = 0; j < NR; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv, wv[j]);
    }
  }
  #pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; j++) out[i * NR + j] = _mm512_reduce_add_ps(acc[i][j]);
}
template <int MR>
KILN_AVX512BF16 void tile_dot_nr(int nr, int64_t K, const bf16_t* x, int64_t xs, const bf16_t* w, int64_t ws, float* out) {
  switch (nr) {
    case 1: return tile_bf16dot<MR, 1>(K, x, xs, w, ws, out);
    case 2: return tile_bf16dot<MR, 2>(K, x, xs, w, ws, out);
    case 3: return tile_bf16dot<MR, 3>(K, x, xs, w, ws, out);
    default: return tile_bf16dot<MR, 4>(K, x, xs, w, ws, out);
  }
}
KILN_AVX512BF16 inline void tile_dot(int mr, int nr, int64_t K, const bf16_t* x, int64_t xs, const bf16_t* w, int64_t ws,
                                     float* out) {
  switch (mr) {
    case 1: return tile_dot_nr<1>(nr, K, x, xs, w, ws, out);
    case 2: return tile_dot_nr<2>(nr, K, x, xs, w, ws, out);
    case 3: return tile_dot_nr<3>(nr, K, x, xs, w, ws, out);
    default: return tile_dot_nr<4>(nr, K, x, xs, w, ws, out);
  }
}

constexpr int kMR512 = 2, kNR512 = 4, kNR256 = 3, kMRDot = 4, kNRDot = 4;

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
 * y[i * yrs + j * ycs] = sum_k x[i * xrs + k * xcs] * B[k + j * bcs] for min_rows(path) <= M <= kMaxRows
 * (B's columns contiguous: a Linear weight W [N, K] seen as W.T), each row with the bits of
 * gemv_half::run_rows on that row alone. Returns false (nothing done) for other shapes and layouts,
 * and on the portable level (the packed GEMM serves those).
 */
template <typename S>
bool run(int64_t M, int64_t K, int64_t N, const S* x, int64_t xrs, int64_t xcs, const S* B, int64_t brs, int64_t bcs,
         S* y, int64_t yrs, int64_t ycs, bool par) {
#if KILN_SIMD
  const Path path = path_for<S>();
  if (path == Path::kNone || (brs != 1 && K > 1) || M < min_rows(path) || M > kMaxRows || K < 1 || N < 1) return false;
  const bool dot = path == Path::kBf16Dot;
  const int MR = dot ? kMRDot : path == Path::kAvx512 ? kMR512 : 1;
  const int NR = dot ? kNRDot : path == Path::kAvx512 ? kNR512 : kNR256;
  // the activations, contiguous: bfloat16 rows padded with zeros to whole 32-element steps for
  // vdpbf16ps, float rows otherwise
  const int64_t xs = dot ? (K + 31) / 32 * 32 : K;
  std::unique_ptr<S[]> xh;
  std::unique_ptr<float[]> xf;
  if (dot) {
    xh.reset(new S[(size_t)(M * xs)]());
    for (int64_t i = 0; i < M; i++)
      for (int64_t k = 0; k < K; k++) xh[i * xs + k] = x[i * xrs + k * xcs];
  } else {
    xf.reset(new float[(size_t)(M * xs)]);
    for (int64_t i = 0; i < M; i++)
      for (int64_t k = 0; k < K; k++) xf[i * xs + k] = gemv_half::widen(x[i * xrs + k * xcs]);
  }
  const int64_t tiles = (N + NR - 1) / NR;
  auto fn = [&](int64_t t0, int64_t t1) {
    float out[kMRDot * kNRDot];
    for (int64_t t = t0; t < t1; t++) {
      const int64_t n0 = t * NR;
      const int nr = (int)std::min<int64_t>(NR, N - n0);
      const S* w = B + n0 * bcs;
      for (int64_t i0 = 0; i0 < M; i0 += MR) {
        const int mr = (int)std::min<int64_t>(MR, M - i0);
        if constexpr (std::is_same_v<S, bf16_t>) {
          if (dot) tile_dot(mr, nr, K, xh.get() + i0 * xs, xs, w, bcs, out);
        }
        if (path == Path::kAvx512) tile512<S>(mr, nr, K, xf.get() + i0 * xs, xs, w, bcs, out);
        else if (path == Path::kAvx2) tile256<S>(nr, K, xf.get() + i0 * xs, w, bcs, out);
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
