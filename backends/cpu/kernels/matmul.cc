// matmul: batched out[..., M, N] = A[..., M, K] @ B[..., K, N] on any strided views.
// Floats run a packed, cache-blocked GEMM (BLIS-style loops) whose packing absorbs any input
// strides and dtype conversion; float16/bfloat16 are packed as float32 and rounded once on
// store. Micro-kernels: AVX-512 14x32 (float) and 14x16 (double), AVX2/FMA 6x16 and 6x8, picked
// at run time by the ISA level (simd.h), with portable fallbacks. Integers use plain loops that wrap like numpy.
#include "../simd.h"  // KILN_SIMD, KILN_AVX2, KILN_AVX512, isa_level()
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include "kernels.h"
#include "gemm_pack.h"
#include "gemm_skinny_half.h"
#include "gemv_half.h"
#include "../scratch.h"
#include "../thread_pool.h"

namespace kiln {
namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

inline bool has_avx2_fma() { return use_avx2(); }

// c[i*ldc + j] (+)= sum_k a[k*MR + i] * b[k*NR + j] for one full MR x NR tile.
template <typename F> using Ukr = void (*)(int64_t kc, const F* a, const F* b, F* c, int64_t ldc, bool acc);

// Tile and cache blocking per ISA level: 6x16 (float) / 6x8 (double) for AVX2's 16 registers
// (also the portable kernel's shape), 14x32 / 14x16 for AVX-512's 32: 28 accumulators, two B
// vectors and a broadcast. MC is a multiple of MR; a KC x NR panel of B stays in L1.
template <typename F, Isa L> struct Blocking;
template <> struct Blocking<float, Isa::kAvx2> {
  static constexpr int MR = 6, NR = 16;
  static constexpr int64_t MC = 144, KC = 256, NC = 3072;
};
template <> struct Blocking<double, Isa::kAvx2> {
  static constexpr int MR = 6, NR = 8;
  static constexpr int64_t MC = 96, KC = 256, NC = 2048;
};
template <> struct Blocking<float, Isa::kAvx512> {
  static constexpr int MR = 14, NR = 32;
  static constexpr int64_t MC = 168, KC = 256, NC = 3072;
};
template <> struct Blocking<double, Isa::kAvx512> {
  static constexpr int MR = 14, NR = 16;
  static constexpr int64_t MC = 112, KC = 256, NC = 2048;
};

// Portable kernel: 32-byte column chunks keep the accumulators in 12 128-bit registers.
template <typename F, int MR, int NR>
void ukr_generic(int64_t kc, const F* a, const F* b, F* c, int64_t ldc, bool acc) {
  constexpr int CW = (int)(32 / sizeof(F)) < NR ? (int)(32 / sizeof(F)) : NR;
  for (int j0 = 0; j0 < NR; j0 += CW) {
    F t[MR][CW] = {};
    const F* ap = a;
    const F* bp = b + j0;
    for (int64_t k = 0; k < kc; k++, ap += MR, bp += NR)
      for (int i = 0; i < MR; i++) {
        const F ai = ap[i];
        for (int j = 0; j < CW; j++) t[i][j] += ai * bp[j];
      }
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < CW; j++) c[i * ldc + j0 + j] = (acc ? c[i * ldc + j0 + j] : F(0)) + t[i][j];
  }
}

#if KILN_SIMD

#define KILN_ROW(i)                             \
  {                                             \
    __m256 ai = _mm256_broadcast_ss(a + i);     \
    c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0); \
    c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1); \
  }
#define KILN_STORE(i)                                            \
  {                                                              \
    float* ci = c + i * ldc;                                     \
    if (acc) {                                                   \
      c##i##0 = _mm256_add_ps(c##i##0, _mm256_loadu_ps(ci));     \
      c##i##1 = _mm256_add_ps(c##i##1, _mm256_loadu_ps(ci + 8)); \
    }                                                            \
    _mm256_storeu_ps(ci, c##i##0);                               \
    _mm256_storeu_ps(ci + 8, c##i##1);                           \
  }

KILN_AVX2 void ukr_f32_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int i = 0; i < 6; i++) {
    _mm_prefetch((const char*)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char*)(c + i * ldc + 15), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; k++) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    KILN_ROW(0) KILN_ROW(1) KILN_ROW(2) KILN_ROW(3) KILN_ROW(4) KILN_ROW(5) a += 6;
    b += 16;
  }
  KILN_STORE(0) KILN_STORE(1) KILN_STORE(2) KILN_STORE(3) KILN_STORE(4) KILN_STORE(5)
}
#undef KILN_ROW
#undef KILN_STORE

#define KILN_ROW(i)                             \
  {                                             \
    __m256d ai = _mm256_broadcast_sd(a + i);    \
    c##i##0 = _mm256_fmadd_pd(ai, b0, c##i##0); \
    c##i##1 = _mm256_fmadd_pd(ai, b1, c##i##1); \
  }
#define KILN_STORE(i)                                            \
  {                                                              \
    double* ci = c + i * ldc;                                    \
    if (acc) {                                                   \
      c##i##0 = _mm256_add_pd(c##i##0, _mm256_loadu_pd(ci));     \
      c##i##1 = _mm256_add_pd(c##i##1, _mm256_loadu_pd(ci + 4)); \
    }                                                            \
    _mm256_storeu_pd(ci, c##i##0);                               \
    _mm256_storeu_pd(ci + 4, c##i##1);                           \
  }

KILN_AVX2 void ukr_f64_avx2(int64_t kc, const double* a, const double* b, double* c, int64_t ldc, bool acc) {
  __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256d c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int i = 0; i < 6; i++) _mm_prefetch((const char*)(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; k++) {
    __m256d b0 = _mm256_load_pd(b), b1 = _mm256_load_pd(b + 4);
    KILN_ROW(0) KILN_ROW(1) KILN_ROW(2) KILN_ROW(3) KILN_ROW(4) KILN_ROW(5) a += 6;
    b += 8;
  }
  KILN_STORE(0) KILN_STORE(1) KILN_STORE(2) KILN_STORE(3) KILN_STORE(4) KILN_STORE(5)
}
#undef KILN_ROW
#undef KILN_STORE
#endif  // KILN_SIMD

#if KILN_SIMD
// AVX-512: MR rows x two 16-float (8-double) vectors. The accumulator arrays are indexed by
// constants only (fully unrolled), so they live in zmm registers.
template <int MR>
KILN_AVX512 void ukr_f32_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool acc) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    _mm_prefetch((const char*)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char*)(c + i * ldc + 31), _MM_HINT_T0);
  }
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    a += MR;
    b += 32;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    if (acc) {
      c0[i] = _mm512_add_ps(c0[i], _mm512_loadu_ps(ci));
      c1[i] = _mm512_add_ps(c1[i], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, c0[i]);
    _mm512_storeu_ps(ci + 16, c1[i]);
  }
}

template <int MR>
KILN_AVX512 void ukr_f64_avx512(int64_t kc, const double* a, const double* b, double* c, int64_t ldc, bool acc) {
  __m512d c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm512_setzero_pd();
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    _mm_prefetch((const char*)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char*)(c + i * ldc + 15), _MM_HINT_T0);
  }
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++) {
    const __m512d b0 = _mm512_load_pd(b), b1 = _mm512_load_pd(b + 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const __m512d ai = _mm512_set1_pd(a[i]);
      c0[i] = _mm512_fmadd_pd(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_pd(ai, b1, c1[i]);
    }
    a += MR;
    b += 16;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    double* ci = c + i * ldc;
    if (acc) {
      c0[i] = _mm512_add_pd(c0[i], _mm512_loadu_pd(ci));
      c1[i] = _mm512_add_pd(c1[i], _mm512_loadu_pd(ci + 8));
    }
    _mm512_storeu_pd(ci, c0[i]);
    _mm512_storeu_pd(ci + 8, c1[i]);
  }
}
#endif  // KILN_SIMD

// The micro-kernel of a blocking: the level's vector kernel, or the portable one of that shape.
template <typename F, Isa L> Ukr<F> pick_ukr() {
  using Bk = Blocking<F, L>;
#if KILN_SIMD
  if constexpr (L == Isa::kAvx512) {
    if constexpr (std::is_same_v<F, float>) return ukr_f32_avx512<Bk::MR>;
    else return ukr_f64_avx512<Bk::MR>;
  } else if (has_avx2_fma()) {
    if constexpr (std::is_same_v<F, float>) return ukr_f32_avx2;
    else return ukr_f64_avx2;
  }
#endif
  return ukr_generic<F, Bk::MR, Bk::NR>;
}

template <typename F, typename S> inline F cvt(S x) { return (F)to_compute(x); }

#if KILN_SIMD
// bfloat16 x bfloat16 -> float with AVX-512 BF16: each step takes two k (one 32-bit pair per
// element, gemm_pack.h) and `vdpbf16ps` adds both products to the float accumulator (products
// of bfloat16 are exact in float; denormal inputs count as zero). Same MR x 32 tile as float.
template <int MR>
KILN_AVX512BF16 void ukr_bf16dot_avx512(int64_t kp, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc,
                                        bool acc) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    _mm_prefetch((const char*)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char*)(c + i * ldc + 31), _MM_HINT_T0);
  }
#pragma GCC unroll 2
  for (int64_t k = 0; k < kp; k++) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
      c0[i] = _mm512_dpbf16_ps(c0[i], ai, b0);
      c1[i] = _mm512_dpbf16_ps(c1[i], ai, b1);
    }
    a += MR;
    b += 32;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    if (acc) {
      c0[i] = _mm512_add_ps(c0[i], _mm512_loadu_ps(ci));
      c1[i] = _mm512_add_ps(c1[i], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, c0[i]);
    _mm512_storeu_ps(ci + 16, c1[i]);
  }
}
#endif  // KILN_SIMD

// How one GEMM is packed and multiplied: P is the packed element, KU the k values per packed
// element (2 for bfloat16 pairs), and the blocking. Plain: operands widened to F (float or
// double), the level's float micro-kernel.
template <typename F, typename S, Isa L> struct Plain {
  using P = F;
  using Bk = Blocking<F, L>;
  static constexpr int KU = 1;
  static Ukr<F> ukr() { return pick_ukr<F, L>(); }
  // Panels of rows r with element (r, k) at p[r * rstr + k * kstr].
  template <int R> static void panel(const S* p, int64_t rstr, int64_t kstr, int64_t nr, int64_t kc, P* out) {
    gemm_pack::panel<R>(p, rstr, kstr, nr, kc, out, has_avx2_fma());
  }
};

struct Bf16Dot {
  using P = uint32_t;
  struct Bk {
    static constexpr int MR = 14, NR = 32;
    static constexpr int64_t MC = 168, KC = 512, NC = 3072;  // KC in k: 256 pairs, a 32 KiB B panel as float's
  };
  static constexpr int KU = 2;
  using Kernel = void (*)(int64_t, const uint32_t*, const uint32_t*, float*, int64_t, bool);
  static Kernel ukr() {
#if KILN_SIMD
    return ukr_bf16dot_avx512<Bk::MR>;
#else
    return nullptr;
#endif
  }
  template <int R> static void panel(const bf16_t* p, int64_t rstr, int64_t kstr, int64_t nr, int64_t kc, P* out) {
    gemm_pack::panel_pairs<R>(p, rstr, kstr, nr, kc, out, true);
  }
};

// Packs an mc x kc block of A (element (i, k) at a[i*rs + k*cs]) into MR-row panels, zero-padding
// the last panel.
template <typename Sc, typename S>
void pack_a(const S* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, typename Sc::P* out) {
  constexpr int MR = Sc::Bk::MR;
  const int64_t kcu = ceil_div(kc, Sc::KU);
  for (int64_t i0 = 0; i0 < mc; i0 += MR, out += MR * kcu)
    Sc::template panel<MR>(a + i0 * rs, rs, cs, std::min<int64_t>(MR, mc - i0), kc, out);
}

// Packs columns [j_begin, j_end) of a kc x nc block of B (element (k, j) at b[k*rs + j*cs]) into
// NR-column panels.
template <typename Sc, typename S>
void pack_b(const S* b, int64_t rs, int64_t cs, int64_t kc, int64_t j_begin, int64_t j_end, typename Sc::P* out) {
  constexpr int NR = Sc::Bk::NR;
  const int64_t kcu = ceil_div(kc, Sc::KU);
  for (int64_t j0 = j_begin; j0 < j_end; j0 += NR)
    Sc::template panel<NR>(b + j0 * cs, cs, rs, std::min<int64_t>(NR, j_end - j0), kc, out + (j0 / NR) * NR * kcu);
}

// C (row stride ldc, unit column stride) = A @ B with scheme Sc's packing, kernel and blocking.
// `par` allows splitting over the pool.
template <typename F, typename S, typename Sc>
void gemm_scheme(int64_t M, int64_t N, int64_t K, const S* A, int64_t ars, int64_t acs, const S* B, int64_t brs,
                 int64_t bcs, F* C, int64_t ldc, bool par) {
  using Bk = typename Sc::Bk;
  using P = typename Sc::P;
  constexpr int MR = Bk::MR, NR = Bk::NR, KU = Sc::KU;
  const auto ukr = Sc::ukr();
  const int nt = par ? num_threads() : 1;
  const int64_t kb = ceil_div(K, Bk::KC), kc_max = round_up(ceil_div(K, kb), KU);
  const int64_t kcu_max = kc_max / KU;
  // M blocks: a multiple of the thread count when M is large enough, so threads share evenly,
  // each of whole MR-row panels, the panels dealt out evenly (block sizes differ by one panel at
  // most: no short last block left to one thread).
  const int64_t panels = ceil_div(M, MR);
  int64_t mb = ceil_div(M, Bk::MC);
  if (nt > 1 && M >= nt * 4 * MR) mb = round_up(mb, nt);
  mb = std::min(mb, panels);
  const int64_t mc_max = ceil_div(panels, mb) * MR;
  const int64_t nc_max = std::min<int64_t>(Bk::NC, round_up(N, NR));
  static thread_local Scratch bscratch;
  P* Bp = bscratch.get<P>(kcu_max * round_up(nc_max, NR));

  for (int64_t jc = 0; jc < N; jc += nc_max) {
    const int64_t nc = std::min(nc_max, N - jc);
    const int64_t npan = ceil_div(nc, NR);
    // Split N too when there are too few M blocks to share between the threads.
    int64_t nsplit = 1;
    if (nt > 1 && mb % nt != 0) nsplit = std::min<int64_t>(npan, ceil_div(4 * nt, mb));
    const int64_t pan_per = ceil_div(npan, nsplit);
    nsplit = ceil_div(npan, pan_per);
    for (int64_t pc = 0; pc < K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, K - pc), kcu = ceil_div(kc, KU);
      const bool acc = pc > 0;
      const S* bsrc = B + pc * brs + jc * bcs;
      auto pack = [&](int64_t p0, int64_t p1) { pack_b<Sc>(bsrc, brs, bcs, kc, p0 * NR, std::min(nc, p1 * NR), Bp); };
      if (nt > 1) parallel_for(npan, std::max<int64_t>(1, 8192 / kc), pack);
      else pack(0, npan);
      auto compute = [&](int64_t t0, int64_t t1) {
        static thread_local Scratch ascratch;
        P* Ap = ascratch.get<P>(mc_max * kcu);
        int64_t packed = -1;
        for (int64_t t = t0; t < t1; t++) {
          const int64_t ib = t / nsplit, js = t % nsplit;
          const int64_t ic = ib * panels / mb * MR, mc = std::min((ib + 1) * panels / mb * MR, M) - ic;
          if (ib != packed) {
            pack_a<Sc>(A + ic * ars + pc * acs, ars, acs, mc, kc, Ap);
            packed = ib;
          }
          const int64_t jr_begin = js * pan_per * NR, jr_end = std::min(nc, (js + 1) * pan_per * NR);
          for (int64_t jr = jr_begin; jr < jr_end; jr += NR) {
            const int64_t nr = std::min<int64_t>(NR, nc - jr);
            const P* bp = Bp + (jr / NR) * NR * kcu;
            for (int64_t ir = 0; ir < mc; ir += MR) {
              const int64_t mr = std::min<int64_t>(MR, mc - ir);
              const P* ap = Ap + (ir / MR) * MR * kcu;
              F* c = C + (ic + ir) * ldc + jc + jr;
              if (mr == MR && nr == NR) {
                ukr(kcu, ap, bp, c, ldc, acc);
              } else {
                alignas(64) F edge[MR * NR];  // partial tile: compute in full, store the valid part
                ukr(kcu, ap, bp, edge, NR, false);
                for (int64_t i = 0; i < mr; i++)
                  for (int64_t j = 0; j < nr; j++) c[i * ldc + j] = (acc ? c[i * ldc + j] : F(0)) + edge[i * NR + j];
              }
            }
          }
        }
      };
      if (nt > 1) parallel_for(mb * nsplit, 1, compute);
      else compute(0, mb * nsplit);
    }
  }
}

template <typename F, typename S>
void gemm(int64_t M, int64_t N, int64_t K, const S* A, int64_t ars, int64_t acs, const S* B, int64_t brs, int64_t bcs,
          F* C, int64_t ldc, bool par) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; i++) std::fill(C + i * ldc, C + i * ldc + N, F(0));
    return;
  }
  if constexpr (std::is_same_v<S, bf16_t>) {
    if (use_avx512bf16()) return gemm_scheme<F, S, Bf16Dot>(M, N, K, A, ars, acs, B, brs, bcs, C, ldc, par);
  }
  if (use_avx512()) gemm_scheme<F, S, Plain<F, S, Isa::kAvx512>>(M, N, K, A, ars, acs, B, brs, bcs, C, ldc, par);
  else gemm_scheme<F, S, Plain<F, S, Isa::kAvx2>>(M, N, K, A, ars, acs, B, brs, bcs, C, ldc, par);
}
// ---- matrix-vector products (M == 1 or N == 1) for float32: no packing, B read once.

float dot_generic(const float* x, const float* y, int64_t n) {
  float s[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) s[j] += x[i + j] * y[i + j];
  for (int w = 8; w >= 1; w /= 2)
    for (int j = 0; j < w; j++) s[j] += s[j + w];
  for (; i < n; i++) s[0] += x[i] * y[i];
  return s[0];
}

void axpy_generic(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

#if KILN_SIMD
KILN_AVX2 inline float hsum256(__m256 s) __attribute__((always_inline));
inline float hsum256(__m256 s) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

// out[c] = dot(x, b + c*ld) for c < 4: x is loaded once for four columns of B.
KILN_AVX2 void dot4_avx2(const float* x, const float* b, int64_t ld, int64_t n, float* out) {
  const float *b0 = b, *b1 = b + ld, *b2 = b + 2 * ld, *b3 = b + 3 * ld;
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
    s0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b0 + i), s0);
    s1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b1 + i), s1);
    s2 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b2 + i), s2);
    s3 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(b3 + i), s3);
    t0 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(b0 + i + 8), t0);
    t1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(b1 + i + 8), t1);
    t2 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(b2 + i + 8), t2);
    t3 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(b3 + i + 8), t3);
  }
  float r0 = hsum256(_mm256_add_ps(s0, t0)), r1 = hsum256(_mm256_add_ps(s1, t1));
  float r2 = hsum256(_mm256_add_ps(s2, t2)), r3 = hsum256(_mm256_add_ps(s3, t3));
  for (; i < n; i++) {
    r0 += x[i] * b0[i];
    r1 += x[i] * b1[i];
    r2 += x[i] * b2[i];
    r3 += x[i] * b3[i];
  }
  out[0] = r0, out[1] = r1, out[2] = r2, out[3] = r3;
}

KILN_AVX2 float dot_avx2(const float* x, const float* y, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
  float r = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; i++) r += x[i] * y[i];
  return r;
}

// y[0:n] += sum_r a[r] * b[r*ld + 0:n] for r < 4: one pass over y for four rows of B.
KILN_AVX2 void axpy4_avx2(const float* a, const float* b, int64_t ld, float* y, int64_t n) {
  const float *b0 = b, *b1 = b + ld, *b2 = b + 2 * ld, *b3 = b + 3 * ld;
  const __m256 a0 = _mm256_set1_ps(a[0]), a1 = _mm256_set1_ps(a[1]), a2 = _mm256_set1_ps(a[2]),
               a3 = _mm256_set1_ps(a[3]);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(y + i);
    v = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b0 + i), v);
    v = _mm256_fmadd_ps(a1, _mm256_loadu_ps(b1 + i), v);
    v = _mm256_fmadd_ps(a2, _mm256_loadu_ps(b2 + i), v);
    v = _mm256_fmadd_ps(a3, _mm256_loadu_ps(b3 + i), v);
    _mm256_storeu_ps(y + i, v);
  }
  for (; i < n; i++) y[i] += a[0] * b0[i] + a[1] * b1[i] + a[2] * b2[i] + a[3] * b3[i];
}

// The same sums as axpy4_avx2 (an FMA chain per element over the first 8*floor(n/8), the rest
// scalar), sixteen at a time: the same bits.
KILN_AVX512 void axpy4_avx512(const float* a, const float* b, int64_t ld, float* y, int64_t n) {
  const float *b0 = b, *b1 = b + ld, *b2 = b + 2 * ld, *b3 = b + 3 * ld;
  const __m512 a0 = _mm512_set1_ps(a[0]), a1 = _mm512_set1_ps(a[1]), a2 = _mm512_set1_ps(a[2]),
               a3 = _mm512_set1_ps(a[3]);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(y + i);
    v = _mm512_fmadd_ps(a0, _mm512_loadu_ps(b0 + i), v);
    v = _mm512_fmadd_ps(a1, _mm512_loadu_ps(b1 + i), v);
    v = _mm512_fmadd_ps(a2, _mm512_loadu_ps(b2 + i), v);
    v = _mm512_fmadd_ps(a3, _mm512_loadu_ps(b3 + i), v);
    _mm512_storeu_ps(y + i, v);
  }
  if (i < n) axpy4_avx2(a, b + i, ld, y + i, n - i);
}

KILN_AVX2 void axpy_avx2(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; i++) y[i] += a * x[i];
}

#else   // never called (has_avx2_fma() is false); keeps gemv_f32 portable
void dot4_avx2(const float* x, const float* b, int64_t ld, int64_t n, float* out) {
  for (int c = 0; c < 4; c++) out[c] = dot_generic(x, b + c * ld, n);
}
float dot_avx2(const float* x, const float* y, int64_t n) { return dot_generic(x, y, n); }
void axpy4_avx2(const float* a, const float* b, int64_t ld, float* y, int64_t n) {
  for (int r = 0; r < 4; r++) axpy_generic(a[r], b + r * ld, y, n);
}
void axpy4_avx512(const float* a, const float* b, int64_t ld, float* y, int64_t n) { axpy4_avx2(a, b, ld, y, n); }
void axpy_avx2(float a, const float* x, float* y, int64_t n) { axpy_generic(a, x, y, n); }
#endif  // KILN_SIMD

// y[j] (stride ys) = sum_k x[k*xs] * B[k*brs + j*bcs], with brs == 1 or bcs == 1.
void gemv_f32(int64_t K, int64_t N, const float* x, int64_t xs, const float* B, int64_t brs, int64_t bcs, float* y,
              int64_t ys, bool par) {
  const bool avx = has_avx2_fma(), avx512 = use_avx512();
  std::unique_ptr<float[]> xbuf;
  if (xs != 1) {
    xbuf.reset(new float[K]);
    for (int64_t k = 0; k < K; k++) xbuf[k] = x[k * xs];
    x = xbuf.get();
  }
  if (brs == 1 && !(bcs == 1 && N > 1)) {  // columns of B are contiguous: dot products
    auto fn = [&](int64_t b, int64_t e) {
      int64_t j = b;
      if (avx) {
        float r[4];
        for (; j + 4 <= e; j += 4) {
          dot4_avx2(x, B + j * bcs, bcs, K, r);
          for (int c = 0; c < 4; c++) y[(j + c) * ys] = r[c];
        }
      }
      for (; j < e; j++) y[j * ys] = avx ? dot_avx2(x, B + j * bcs, K) : dot_generic(x, B + j * bcs, K);
    };
    if (par) parallel_for(N, std::max<int64_t>(4, 16384 / std::max<int64_t>(K, 1)), fn);
    else fn(0, N);
  } else {  // rows of B are contiguous: accumulate scaled rows into a block of y
    auto fn = [&](int64_t b, int64_t e) {
      // 4096 outputs (16 KiB of accumulators, in L1): long contiguous runs of each row of B
      constexpr int64_t kBlock = 4096;
      alignas(64) float acc[kBlock];
      for (int64_t j0 = b; j0 < e; j0 += kBlock) {
        const int64_t n = std::min(kBlock, e - j0);
        std::fill(acc, acc + n, 0.0f);
        int64_t k = 0;
        if (avx) {
          float a4[4];
          for (; k + 4 <= K; k += 4) {
            for (int r = 0; r < 4; r++) a4[r] = x[k + r];
            if (avx512) axpy4_avx512(a4, B + k * brs + j0, brs, acc, n);
            else axpy4_avx2(a4, B + k * brs + j0, brs, acc, n);
          }
        }
        for (; k < K; k++) {
          if (avx) axpy_avx2(x[k], B + k * brs + j0, acc, n);
          else axpy_generic(x[k], B + k * brs + j0, acc, n);
        }
        for (int64_t j = 0; j < n; j++) y[(j0 + j) * ys] = acc[j];
      }
    };
    if (par) parallel_for(N, std::max<int64_t>(64, 16384 / std::max<int64_t>(K, 1)), fn);
    else fn(0, N);
  }
}

// ---- drivers

struct Problem {
  int64_t M, N, K, nb;
  int64_t ars, acs, brs, bcs, ors, ocs;
  int nbd;
  const int64_t* bshape;
  const int64_t *abs_, *bbs, *obs;  // batch strides
  void offsets(int64_t b, int64_t& oa, int64_t& ob, int64_t& oo) const {
    oa = ob = oo = 0;
    for (int d = nbd - 1; d >= 0; d--) {
      int64_t i = b % bshape[d];
      b /= bshape[d];
      oa += i * abs_[d];
      ob += i * bbs[d];
      oo += i * obs[d];
    }
  }
};

Problem make_problem(const Command& c) {
  const View& A = c.in(0);
  const View& B = c.in(1);
  const View& O = c.out();
  const int nd = O.ndim;
  Problem p;
  p.M = O.shape[nd - 2];
  p.N = O.shape[nd - 1];
  p.K = A.shape[nd - 1];
  p.nbd = nd - 2;
  p.nb = 1;
  for (int d = 0; d < nd - 2; d++) p.nb *= O.shape[d];
  p.bshape = O.shape;
  p.abs_ = A.strides;
  p.bbs = B.strides;
  p.obs = O.strides;
  p.ars = A.strides[nd - 2];
  p.acs = A.strides[nd - 1];
  p.brs = B.strides[nd - 2];
  p.bcs = B.strides[nd - 1];
  p.ors = O.strides[nd - 2];
  p.ocs = O.strides[nd - 1];
  return p;
}

// Runs fn(batch, parallel_inside) for every batch: in parallel over batches when they are
// many or small, otherwise one after another with the pool used inside each product.
template <typename Fn> void for_batches(const Problem& p, Fn&& fn) {
  const int nt = num_threads();
  const double work = (double)p.M * (double)p.N * (double)std::max<int64_t>(p.K, 1);
  const bool outer = p.nb > 1 && (work < (double)(1 << 22) || p.nb % nt == 0 || p.nb >= 4 * nt);
  if (outer) {
    parallel_for(p.nb, std::max<int64_t>(1, (int64_t)((double)(1 << 20) / work)), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; i++) fn(i, false);
    });
  } else {
    for (int64_t i = 0; i < p.nb; i++) fn(i, work >= (double)(1 << 16));
  }
}

// Tiny products: direct loops, no packing (many small batched matmuls).
template <typename F, typename S> void small_product(const Problem& p, const S* a, const S* b, S* o) {
  for (int64_t i = 0; i < p.M; i++)
    for (int64_t j = 0; j < p.N; j++) {
      F s = 0;
      for (int64_t k = 0; k < p.K; k++) s += cvt<F>(a[i * p.ars + k * p.acs]) * cvt<F>(b[k * p.brs + j * p.bcs]);
      o[i * p.ors + j * p.ocs] = from_value<S>(s);
    }
}

template <typename F, typename S> void matmul_float(const Command& c) {
  const Problem p = make_problem(c);
  const S* A = c.in(0).ptr<S>();
  const S* B = c.in(1).ptr<S>();
  S* O = c.out().ptr<S>();
  const int64_t M = p.M, N = p.N, K = p.K;
  // Write straight into the output when it is F with unit column stride and disjoint rows.
  const bool direct = std::is_same_v<F, S> && (N == 1 || p.ocs == 1) && (M == 1 || std::llabs(p.ors) >= N);
  const bool tiny = (double)M * (double)N * (double)K <= 4096.0;  // doubles: broadcast views can be huge
  for_batches(p, [&](int64_t bi, bool par) {
    int64_t oa, ob, oo;
    p.offsets(bi, oa, ob, oo);
    const S* a = A + oa;
    const S* b = B + ob;
    S* o = O + oo;
    if (tiny) return small_product<F, S>(p, a, b, o);
    if constexpr (std::is_same_v<S, float>) {
      // matrix-vector shapes: B (or A for N == 1) read once, in its contiguous direction
      if (M == 1 && (p.brs == 1 || p.bcs == 1)) return gemv_f32(K, N, a, p.acs, b, p.brs, p.bcs, o, p.ocs, par);
      if (N == 1 && (p.ars == 1 || p.acs == 1)) return gemv_f32(K, M, b, p.brs, a, p.acs, p.ars, o, p.ors, par);
    } else if constexpr (std::is_same_v<S, half_t> || std::is_same_v<S, bf16_t>) {
      // half-precision decode steps (one row, or a batch of a few): weights widened in registers,
      // never packed, read once for all rows (gemv_half.h)
      // (up to 32 rows: tiles of weight rows against blocks of rows, gemm_skinny_half.h; every row
      // with the bits it has alone)
      if (M <= skinny_half::kMaxRows && skinny_half::run<S>(M, K, N, a, p.ars, p.acs, b, p.brs, p.bcs, o, p.ors, p.ocs, par))
        return;
      if (M <= gemv_half::kMaxRows && gemv_half::run_rows<S>(M, K, N, a, p.ars, p.acs, b, p.brs, p.bcs, o, p.ors, p.ocs, par))
        return;
    }
    if (direct) {
      gemm<F, S>(M, N, K, a, p.ars, p.acs, b, p.brs, p.bcs, reinterpret_cast<F*>(o), M == 1 ? N : p.ors, par);
      return;
    }
    std::unique_ptr<F[]> tmp(new F[M * N]);
    gemm<F, S>(M, N, K, a, p.ars, p.acs, b, p.brs, p.bcs, tmp.get(), N, par);
    auto store = [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++)
        for (int64_t j = 0; j < N; j++) o[i * p.ors + j * p.ocs] = from_value<S>(tmp[i * N + j]);
    };
    if (par) parallel_for(M, std::max<int64_t>(1, 32768 / N), store);
    else store(0, M);
  });
}

// Integers: exact products modulo 2^64, truncated to the output width (numpy wraps the same).
template <typename T> void matmul_int(const Command& c) {
  const Problem p = make_problem(c);
  const T* A = c.in(0).ptr<T>();
  const T* B = c.in(1).ptr<T>();
  T* O = c.out().ptr<T>();
  const int64_t M = p.M, N = p.N, K = p.K;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, N * std::max<int64_t>(K, 1)));
  parallel_for(p.nb * M, grain, [&](int64_t r0, int64_t r1) {
    std::unique_ptr<uint64_t[]> acc(new uint64_t[N]);
    for (int64_t r = r0; r < r1; r++) {
      const int64_t bi = r / M, i = r % M;
      int64_t oa, ob, oo;
      p.offsets(bi, oa, ob, oo);
      std::fill(acc.get(), acc.get() + N, 0);
      const T* a = A + oa + i * p.ars;
      for (int64_t k = 0; k < K; k++) {
        const uint64_t av = (uint64_t)a[k * p.acs];
        if (av == 0) continue;
        const T* b = B + ob + k * p.brs;
        if (p.bcs == 1)
          for (int64_t j = 0; j < N; j++) acc[j] += av * (uint64_t)b[j];
        else
          for (int64_t j = 0; j < N; j++) acc[j] += av * (uint64_t)b[j * p.bcs];
      }
      T* o = O + oo + i * p.ors;
      for (int64_t j = 0; j < N; j++) o[j * p.ocs] = (T)acc[j];
    }
  });
}

std::string shape_str(const View& v) {
  std::ostringstream os;
  os << "[";
  for (int d = 0; d < v.ndim; d++) os << (d ? ", " : "") << v.shape[d];
  os << "]";
  return os.str();
}

}  // namespace

void gemm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t ars, int64_t acs, const float* B, int64_t brs,
              int64_t bcs, float* C, int64_t ldc, bool par) {
  gemm<float, float>(M, N, K, A, ars, acs, B, brs, bcs, C, ldc, par);
}
void gemm_bf16(int64_t M, int64_t N, int64_t K, const bf16_t* A, int64_t ars, int64_t acs, const bf16_t* B, int64_t brs,
               int64_t bcs, float* C, int64_t ldc, bool par) {
  gemm<float, bf16_t>(M, N, K, A, ars, acs, B, brs, bcs, C, ldc, par);
}

void check_matmul(const Command& c) {
  const View& a = c.in(0);
  const View& b = c.in(1);
  const View& o = c.out();
  if (a.ndim < 2 || b.ndim != a.ndim || o.ndim != a.ndim)
    fail("[matmul] operands must have the same ndim >= 2: A is ", shape_str(a), ", B is ", shape_str(b), ", output is ",
         shape_str(o));
  if (a.dtype != b.dtype || o.dtype != a.dtype)
    fail("[matmul] dtypes differ: A is ", dtype_name(a.dtype), ", B is ", dtype_name(b.dtype), ", output is ",
         dtype_name(o.dtype));
  if (a.dtype == kBool) fail("[matmul] bool operands are not supported (cast to a numeric dtype first)");
  const int nd = a.ndim;
  if (a.shape[nd - 1] != b.shape[nd - 2])
    fail("[matmul] inner dimensions differ: A is ", shape_str(a), ", B is ", shape_str(b));
  for (int d = 0; d < nd - 2; d++)
    if (a.shape[d] != b.shape[d] || o.shape[d] != a.shape[d])
      fail("[matmul] batch dimensions differ: A is ", shape_str(a), ", B is ", shape_str(b), ", output is ",
           shape_str(o));
  if (o.shape[nd - 2] != a.shape[nd - 2] || o.shape[nd - 1] != b.shape[nd - 1])
    fail("[matmul] output shape ", shape_str(o), " does not match A ", shape_str(a), " @ B ", shape_str(b));
}

void run_matmul(const Command& c) {
  if (c.out().size == 0) return;
  switch (c.out().dtype) {
    case kFloat32: matmul_float<float, float>(c); break;
    case kFloat16: matmul_float<float, half_t>(c); break;
    case kBfloat16: matmul_float<float, bf16_t>(c); break;
    case kFloat64: matmul_float<double, double>(c); break;
    case kUint8: matmul_int<uint8_t>(c); break;
    case kUint16: matmul_int<uint16_t>(c); break;
    case kUint32: matmul_int<uint32_t>(c); break;
    case kUint64: matmul_int<uint64_t>(c); break;
    case kInt8: matmul_int<int8_t>(c); break;
    case kInt16: matmul_int<int16_t>(c); break;
    case kInt32: matmul_int<int32_t>(c); break;
    case kInt64: matmul_int<int64_t>(c); break;
    default: break;
  }
}

}  // namespace kiln
