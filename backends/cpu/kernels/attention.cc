// attention: out = softmax(q kᵀ * scale + mask) v on strided views, with grouped-query heads.
//   inputs q [B, Hq, L, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv] [, mask [B, Hq, L, S]]
//   output [B, Hq, L, Dv]; params scale, mask_kind (0 none, 1 causal, 2 the mask operand)
// Query head h reads kv head h / (Hq / Hkv). A task takes a block of query rows of one kv head
// (the rows of all its query heads, so grouped heads share each converted K/V block) and walks
// the keys in blocks with an online softmax: running maximum m, running sum l and output
// accumulator O are rescaled by exp(m_old - m_new) when the maximum grows, so nothing of size
// L x S is ever stored. Compute is float (double for float64 output); K blocks are packed
// transposed and both products run on a 6x16 AVX2/FMA micro-kernel (portable loops otherwise).
// Masked-out scores (causal, or false in a bool mask) become the lowest finite value, as in the
// composed form, so a query that sees no key averages v evenly; an additive -inf everywhere
// gives NaN there, also as the composed form.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>
#include "kernels.h"
#include "fast_rows.h"
#include "gemm_pack.h"  // transpose8_store
#include "../thread_pool.h"

namespace kiln {
namespace {

constexpr int64_t kBq = 48;      // query rows per task (a multiple of the micro-kernel's 6 rows)
constexpr int64_t kBk = 64;      // keys per block (a multiple of 16: the micro-kernel's width)
constexpr int64_t kFewRows = 4;  // up to this many query rows, q kᵀ is dot products (no K packing)

inline int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

// ---- C[M x N] (+)= A[M x K] B[K x N], N a multiple of 16 -------------------------------------

template <typename F>
void gemm_generic(int64_t M, int64_t N, int64_t K, const F* A, int64_t lda, const F* B, int64_t ldb, F* C, int64_t ldc,
                  bool acc) {
  for (int64_t i = 0; i < M; i++) {
    F* c = C + i * ldc;
    if (!acc) std::fill(c, c + N, F(0));
    for (int64_t k = 0; k < K; k++) {
      const F a = A[i * lda + k];
      const F* b = B + k * ldb;
      for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
    }
  }
}

#if KILN_SIMD
// C[MR x 16] (+)= A[MR x K] B[K x 16]: 2*MR accumulators held in named registers (an array of
// __m256 gets spilled to the stack on every iteration by GCC).
#define KILN_ROW(i)                                        \
  if constexpr (MR > i) {                                  \
    const __m256 a = _mm256_broadcast_ss(A + i * lda + k); \
    c##i##0 = _mm256_fmadd_ps(a, b0, c##i##0);             \
    c##i##1 = _mm256_fmadd_ps(a, b1, c##i##1);             \
  }
#define KILN_INIT(i)                                                        \
  if constexpr (MR > i) {                                                   \
    c##i##0 = acc ? _mm256_loadu_ps(C + i * ldc) : _mm256_setzero_ps();     \
    c##i##1 = acc ? _mm256_loadu_ps(C + i * ldc + 8) : _mm256_setzero_ps(); \
  }
#define KILN_STORE(i)                           \
  if constexpr (MR > i) {                       \
    _mm256_storeu_ps(C + i * ldc, c##i##0);     \
    _mm256_storeu_ps(C + i * ldc + 8, c##i##1); \
  }
template <int MR>
KILN_AVX2 void ukr_6x16(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                        bool acc) {
  __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
  c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
  KILN_INIT(0) KILN_INIT(1) KILN_INIT(2) KILN_INIT(3) KILN_INIT(4) KILN_INIT(5) for (int64_t k = 0; k < K; k++) {
    const __m256 b0 = _mm256_loadu_ps(B + k * ldb), b1 = _mm256_loadu_ps(B + k * ldb + 8);
    KILN_ROW(0) KILN_ROW(1) KILN_ROW(2) KILN_ROW(3) KILN_ROW(4) KILN_ROW(5)
  }
  KILN_STORE(0) KILN_STORE(1) KILN_STORE(2) KILN_STORE(3) KILN_STORE(4) KILN_STORE(5)
}
#undef KILN_ROW
#undef KILN_INIT
#undef KILN_STORE

void gemm_avx2(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
               int64_t ldc, bool acc) {
  for (int64_t i = 0; i < M; i += 6) {
    const int64_t mr = std::min<int64_t>(6, M - i);
    for (int64_t j = 0; j < N; j += 16) {
      const float* a = A + i * lda;
      const float* b = B + j;
      float* c = C + i * ldc + j;
      switch (mr) {
        case 6: ukr_6x16<6>(K, a, lda, b, ldb, c, ldc, acc); break;
        case 5: ukr_6x16<5>(K, a, lda, b, ldb, c, ldc, acc); break;
        case 4: ukr_6x16<4>(K, a, lda, b, ldb, c, ldc, acc); break;
        case 3: ukr_6x16<3>(K, a, lda, b, ldb, c, ldc, acc); break;
        case 2: ukr_6x16<2>(K, a, lda, b, ldb, c, ldc, acc); break;
        default: ukr_6x16<1>(K, a, lda, b, ldb, c, ldc, acc); break;
      }
    }
  }
}

// AVX-512: C[MR x 16*NV] (+)= A B with MR x NV zmm accumulators (arrays indexed by constants only
// stay in registers here). Each element adds its products in k order, as the AVX2 kernel does.
template <int MR, int NV>
KILN_AVX512 void ukr_avx512(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                            bool acc) {
  __m512 c[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) c[i][v] = acc ? _mm512_loadu_ps(C + i * ldc + 16 * v) : _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k++) {
    __m512 b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) b[v] = _mm512_loadu_ps(B + k * ldb + 16 * v);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      const __m512 a = _mm512_set1_ps(A[i * lda + k]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) c[i][v] = _mm512_fmadd_ps(a, b[v], c[i][v]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) _mm512_storeu_ps(C + i * ldc + 16 * v, c[i][v]);
}

template <int NV>
void rows_avx512(int mr, int64_t K, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                 bool acc) {
  switch (mr) {
    case 8: ukr_avx512<8, NV>(K, a, lda, b, ldb, c, ldc, acc); break;
    case 7: ukr_avx512<7, NV>(K, a, lda, b, ldb, c, ldc, acc); break;
    case 6: ukr_avx512<6, NV>(K, a, lda, b, ldb, c, ldc, acc); break;
    case 5: ukr_avx512<5, NV>(K, a, lda, b, ldb, c, ldc, acc); break;
    case 4: ukr_avx512<4, NV>(K, a, lda, b, ldb, c, ldc, acc); break;
    case 3: ukr_avx512<3, NV>(K, a, lda, b, ldb, c, ldc, acc); break;
    case 2: ukr_avx512<2, NV>(K, a, lda, b, ldb, c, ldc, acc); break;
    default: ukr_avx512<1, NV>(K, a, lda, b, ldb, c, ldc, acc); break;
  }
}

// 8 x 32 tiles (a x 16 one for the last 16 columns when N is an odd multiple of 16): the 8
// query heads that share a kv head at decode fill one tile.
void gemm_avx512(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                 int64_t ldc, bool acc) {
  for (int64_t i = 0; i < M; i += 8) {
    const int mr = (int)std::min<int64_t>(8, M - i);
    for (int64_t j = 0; j < N; j += 32) {
      const float* a = A + i * lda;
      const float* b = B + j;
      float* c = C + i * ldc + j;
      if (N - j >= 32) rows_avx512<2>(mr, K, a, lda, b, ldb, c, ldc, acc);
      else rows_avx512<1>(mr, K, a, lda, b, ldb, c, ldc, acc);
    }
  }
}
#endif

#if KILN_SIMD
// 8 rows of 8 floats (src rows lds apart) transposed into 8 rows dst (ldd apart).
KILN_AVX2 void transpose8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m256 r[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * lds);
  gemm_pack::transpose8_store(r, dst, ldd, 8);
}
#endif

// N is a multiple of 16 (kBk, Dv rounded up): the vector kernels' width.
template <typename F>
void gemm(int64_t M, int64_t N, int64_t K, const F* A, int64_t lda, const F* B, int64_t ldb, F* C, int64_t ldc,
          bool acc) {
#if KILN_SIMD
  if constexpr (std::is_same_v<F, float>) {
    if (use_avx512()) return gemm_avx512(M, N, K, A, lda, B, ldb, C, ldc, acc);
    if (fastk::has_avx2()) return gemm_avx2(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
#endif
  gemm_generic<F>(M, N, K, A, lda, B, ldb, C, ldc, acc);
}

// dst[d * ldd + j] = src[j * lds + d] for j < nk, d < D (a K block transposed for q kᵀ).
template <typename F> void transpose_block(const F* src, int64_t lds, int64_t nk, int64_t D, F* dst, int64_t ldd) {
  int64_t j0 = 0;
#if KILN_SIMD
  if constexpr (std::is_same_v<F, float>) {
    if (fastk::has_avx2()) {
      for (; j0 + 8 <= nk; j0 += 8) {
        int64_t d0 = 0;
        for (; d0 + 8 <= D; d0 += 8) transpose8(src + j0 * lds + d0, lds, dst + d0 * ldd + j0, ldd);
        for (; d0 < D; d0++)
          for (int64_t j = j0; j < j0 + 8; j++) dst[d0 * ldd + j] = src[j * lds + d0];
      }
    }
  }
#endif
  for (int64_t j = j0; j < nk; j++)
    for (int64_t d = 0; d < D; d++) dst[d * ldd + j] = src[j * lds + d];
}

// ---- the kernel ---------------------------------------------------------------------------------

struct Attn {
  const View *q, *k, *v, *m, *o;
  const View* lse;  // attention_lse: log of each row's softmax denominator [B, Hq, L], or null
  int64_t B, Hq, Hkv, L, S, D, Dv, rep;
  double scale;
  int mask_kind;
};

// One task: rows [r0, r0 + nr) of kv head g in batch b; row r is query i = r % L of head
// g * rep + r / L.
template <typename F>
void attention_rows(const Attn& a, int64_t b, int64_t g, int64_t r0, int64_t nr, fastk::Scratch* s) {
  const View &q = *a.q, &k = *a.k, &v = *a.v, &o = *a.o;
  const int64_t D = a.D, Dv = a.Dv, Dvp = round_up(std::max<int64_t>(Dv, 1), 16);
  const F lowest = std::numeric_limits<F>::lowest(), ninf = -std::numeric_limits<F>::infinity();
  F* Q = s[0].get<F>(nr * std::max<int64_t>(D, 1));
  F* Kt = s[1].get<F>(std::max<int64_t>(D, 1) * kBk);
  F* Sb = s[2].get<F>(nr * kBk);
  F* V = s[3].get<F>(kBk * Dvp);
  F* O = s[4].get<F>(nr * Dvp);
  F* tmp = s[5].get<F>(std::max({D, Dv, kBk, int64_t(1)}));
  F* m = s[6].get<F>(nr);
  F* l = s[7].get<F>(nr);
  F* Kf = s[8].get<F>(kBk * std::max<int64_t>(D, 1));
  int64_t head[kBq], qi[kBq], lim[kBq];
  int64_t kend = 0;
  bool any_blind = false;  // a causal row that sees no key averages over all of them
  for (int64_t r = 0; r < nr; r++) {
    head[r] = g * a.rep + (r0 + r) / a.L;
    qi[r] = (r0 + r) % a.L;
    lim[r] = a.mask_kind == 1 ? qi[r] + a.S - a.L : a.S - 1;
    kend = std::max(kend, std::min(lim[r] + 1, a.S));
    any_blind |= lim[r] < 0;
  }
  if (any_blind) kend = a.S;
  const F scale = (F)a.scale;
  for (int64_t r = 0; r < nr; r++) {
    const int64_t off = q.offset + b * q.strides[0] + head[r] * q.strides[1] + qi[r] * q.strides[2];
    F* qr = Q + r * D;
    fastk::load_row<F>(qr, fastk::element_ptr(q, off), q.dtype, q.strides[3], D);
    for (int64_t d = 0; d < D; d++) qr[d] *= scale;
    m[r] = ninf;
    l[r] = 0;
  }
  std::fill(O, O + nr * Dvp, F(0));
  std::fill(V, V + kBk * Dvp, F(0));  // the padding columns stay zero
  // rows of F with unit stride are read in place (V also needs whole 16-wide column blocks)
  constexpr int kF = std::is_same_v<F, float> ? kFloat32 : kFloat64;
  const bool direct_k = k.dtype == kF && (k.strides[3] == 1 || D <= 1);
  const bool direct_v = v.dtype == kF && (v.strides[3] == 1 || Dv <= 1) && Dv % 16 == 0;
  const int64_t kbase = k.offset + b * k.strides[0] + g * k.strides[1];
  const int64_t vbase = v.offset + b * v.strides[0] + g * v.strides[1];
  for (int64_t kb = 0; kb < kend; kb += kBk) {
    const int64_t nk = std::min(kBk, kend - kb);
    if (nr <= kFewRows) {
      // few query rows (decoding): dot products straight from the K rows, nothing to pack
      for (int64_t j = 0; j < nk; j++) {
        const char* kp = fastk::element_ptr(k, kbase + (kb + j) * k.strides[2]);
        const F* src = tmp;
        if (direct_k) src = reinterpret_cast<const F*>(kp);
        else fastk::load_row<F>(tmp, kp, k.dtype, k.strides[3], D);
        for (int64_t r = 0; r < nr; r++) Sb[r * kBk + j] = fastk::dot_row<F>(Q + r * D, src, D);
      }
    } else {
      // K block transposed: Kt[d][j]; columns past nk are zero. Rows of another dtype or stride
      // are widened into Kf first (once per block, shared by every query row of the kv head).
      const F* ksrc = Kf;
      int64_t lds = std::max<int64_t>(D, 1);
      if (direct_k) {
        ksrc = reinterpret_cast<const F*>(fastk::element_ptr(k, kbase + kb * k.strides[2]));
        lds = k.strides[2];
      } else {
        for (int64_t j = 0; j < nk; j++)
          fastk::load_row<F>(Kf + j * lds, fastk::element_ptr(k, kbase + (kb + j) * k.strides[2]), k.dtype,
                             k.strides[3], D);
      }
      transpose_block<F>(ksrc, lds, nk, D, Kt, kBk);
      if (nk < kBk)
        for (int64_t d = 0; d < D; d++) std::fill(Kt + d * kBk + nk, Kt + d * kBk + kBk, F(0));
      if (D > 0) gemm<F>(nr, kBk, D, Q, D, Kt, kBk, Sb, kBk, false);
      else std::fill(Sb, Sb + nr * kBk, F(0));
    }
    const F* Vb = V;
    int64_t ldv = Dvp;
    if (direct_v) {
      Vb = reinterpret_cast<const F*>(fastk::element_ptr(v, vbase + kb * v.strides[2]));
      ldv = v.strides[2];
    } else {
      for (int64_t j = 0; j < nk; j++)
        fastk::load_row<F>(V + j * Dvp, fastk::element_ptr(v, vbase + (kb + j) * v.strides[2]), v.dtype, v.strides[3],
                           Dv);
    }
    for (int64_t r = 0; r < nr; r++) {
      F* sr = Sb + r * kBk;
      if (a.mask_kind == 1) {
        for (int64_t j = std::max<int64_t>(0, lim[r] + 1 - kb); j < nk; j++) sr[j] = lowest;
      } else if (a.mask_kind == 2) {
        const View& mk = *a.m;
        const int64_t moff =
            mk.offset + b * mk.strides[0] + head[r] * mk.strides[1] + qi[r] * mk.strides[2] + kb * mk.strides[3];
        if (mk.dtype == kBool) {
          const uint8_t* mp = reinterpret_cast<const uint8_t*>(fastk::element_ptr(mk, moff));
          for (int64_t j = 0; j < nk; j++)
            if (!mp[j * mk.strides[3]]) sr[j] = lowest;
        } else {
          fastk::load_row<F>(tmp, fastk::element_ptr(mk, moff), mk.dtype, mk.strides[3], nk);
          for (int64_t j = 0; j < nk; j++) sr[j] += tmp[j];
        }
      }
      const F mnew = fastk::max_row<F>(sr, nk, m[r]);
      F alpha;
      if (mnew == ninf) {  // every score so far is -inf: nothing to add yet
        std::fill(sr, sr + nk, F(0));
        alpha = 1;
      } else {
        alpha = m[r] == ninf ? F(0) : std::exp(m[r] - mnew);
        l[r] = l[r] * alpha + fastk::exp_shift_sum<F>(sr, nk, mnew);
        m[r] = mnew;
      }
      if (alpha != F(1)) {
        F* orow = O + r * Dvp;
        for (int64_t d = 0; d < Dvp; d++) orow[d] *= alpha;
      }
    }
    gemm<F>(nr, Dvp, nk, Sb, kBk, Vb, ldv, O, Dvp, true);
  }
  for (int64_t r = 0; r < nr; r++) {
    F* orow = O + r * Dvp;
    if (a.S == 0) std::fill(orow, orow + Dv, F(0));  // no keys: an empty sum, as q kᵀ v gives
    else {
      const F inv = F(1) / l[r];
      for (int64_t d = 0; d < Dv; d++) orow[d] *= inv;
    }
    const int64_t off = o.offset + b * o.strides[0] + head[r] * o.strides[1] + qi[r] * o.strides[2];
    fastk::store_row<F>(fastk::element_ptr(o, off), o.dtype, o.strides[3], orow, Dv);
    if (a.lse) {
      // logsumexp of the scaled, masked scores: m + log(l) (-inf for an empty row)
      const View& ls = *a.lse;
      const F val = a.S == 0 || l[r] == F(0) ? ninf : m[r] + std::log(l[r]);
      F* dst = reinterpret_cast<F*>(
          fastk::element_ptr(ls, ls.offset + b * ls.strides[0] + head[r] * ls.strides[1] + qi[r] * ls.strides[2]));
      *dst = val;
    }
  }
}

template <typename F> void attention_typed(const Attn& a) {
  const int64_t rows = a.rep * a.L;  // query rows per kv head
  const int64_t nblocks = (rows + kBq - 1) / kBq, groups = a.B * a.Hkv;
  if (groups == 0 || nblocks == 0 || a.Dv == 0) return;
  // Each worker claims tasks one at a time (cores shared with other work, and causal rows of
  // unequal cost, both balance), ordered by row block, last first: under a causal mask later rows
  // see more keys, so the heavy tasks go first.
  const int64_t total = nblocks * groups;
  std::atomic<int64_t> next{0};
  parallel_for(std::min<int64_t>(total, num_threads()), 1, [&](int64_t, int64_t) {
    fastk::Scratch s[9];
    for (int64_t t; (t = next.fetch_add(1)) < total;) {
      const int64_t blk = nblocks - 1 - t / groups, bg = t % groups;
      const int64_t r0 = blk * kBq;
      attention_rows<F>(a, bg / a.Hkv, bg % a.Hkv, r0, std::min(kBq, rows - r0), s);
    }
  });
}

}  // namespace

namespace {
void check_attention_operands(const Command& c) {
  const double kind = c.params[1];
  if (kind != 0 && kind != 1 && kind != 2)
    fail("[attention] mask_kind must be 0 (none), 1 (causal) or 2 (array), got ", kind);
  if (!std::isfinite(c.params[0])) fail("[attention] scale must be finite, got ", c.params[0]);
  const int want = kind == 2 ? 4 : 3;
  if (c.n_inputs != want) fail("[attention] mask_kind ", kind, " needs ", want, " inputs, got ", c.n_inputs);
  const char* names[] = {"q", "k", "v", "mask"};
  for (int i = 0; i < c.n_inputs; i++)
    if (c.in(i).ndim != 4) fail("[attention] ", names[i], " must have 4 dimensions, got ", c.in(i).describe());
  if (c.out().ndim != 4) fail("[attention] output must have 4 dimensions, got ", c.out().describe());
  for (int i = 0; i < 3; i++)
    if (!fastk::is_float_dtype(c.in(i).dtype))
      fail("[attention] ", names[i], " must be a floating dtype, got ", dtype_name(c.in(i).dtype));
  if (!fastk::is_float_dtype(c.out().dtype))
    fail("[attention] output must be a floating dtype, got ", dtype_name(c.out().dtype));
  const View &q = c.in(0), &k = c.in(1), &v = c.in(2), &o = c.out();
  const int64_t B = q.shape[0], Hq = q.shape[1], L = q.shape[2], D = q.shape[3];
  const int64_t Hkv = k.shape[1], S = k.shape[2], Dv = v.shape[3];
  const bool ok = k.shape[0] == B && k.shape[3] == D && v.shape[0] == B && v.shape[1] == Hkv && v.shape[2] == S &&
                  o.shape[0] == B && o.shape[1] == Hq && o.shape[2] == L && o.shape[3] == Dv;
  if (!ok)
    fail("[attention] inconsistent shapes: q ", q.describe(), ", k ", k.describe(), ", v ", v.describe(), ", output ",
         o.describe());
  if (Hkv == 0 ? Hq != 0 : Hq % Hkv != 0)
    fail("[attention] query heads ", Hq, " must be a multiple of key/value heads ", Hkv);
  if (kind == 2) {
    const View& m = c.in(3);
    if (m.shape[0] != B || m.shape[1] != Hq || m.shape[2] != L || m.shape[3] != S)
      fail("[attention] mask must have shape [", B, ", ", Hq, ", ", L, ", ", S, "], got ", m.describe());
    if (m.dtype != kBool && !fastk::is_float_dtype(m.dtype))
      fail("[attention] mask must be bool or floating, got ", dtype_name(m.dtype));
  }
}

void run(const Command& c, const View* lse) {
  Attn a;
  a.q = &c.in(0), a.k = &c.in(1), a.v = &c.in(2), a.o = &c.out();
  a.lse = lse;
  a.mask_kind = (int)c.params[1];
  a.m = a.mask_kind == 2 ? &c.in(3) : nullptr;
  a.B = a.q->shape[0], a.Hq = a.q->shape[1], a.L = a.q->shape[2], a.D = a.q->shape[3];
  a.Hkv = a.k->shape[1], a.S = a.k->shape[2], a.Dv = a.v->shape[3];
  a.rep = a.Hkv == 0 ? 0 : a.Hq / a.Hkv;
  a.scale = c.params[0];
  if (a.o->dtype == kFloat64) attention_typed<double>(a);
  else attention_typed<float>(a);
}
}  // namespace

void check_attention(const Command& c) { check_attention_operands(c); }
void run_attention(const Command& c) { run(c, nullptr); }

// attention_lse: the same, with a second output [B, Hq, L] holding each row's logsumexp in the
// compute dtype (float32; float64 for float64 output), kept for the backward pass.
void check_attention_lse(const Command& c) {
  check_attention_operands(c);
  const View &o = c.out(0), &ls = c.out(1);
  const int want = o.dtype == kFloat64 ? kFloat64 : kFloat32;
  if (ls.ndim != 3 || ls.shape[0] != o.shape[0] || ls.shape[1] != o.shape[1] || ls.shape[2] != o.shape[2])
    fail("[attention_lse] logsumexp output must have shape [", o.shape[0], ", ", o.shape[1], ", ", o.shape[2],
         "], got ", ls.describe());
  if (ls.dtype != want)
    fail("[attention_lse] logsumexp output must be ", dtype_name(want), ", got ", dtype_name(ls.dtype));
}
void run_attention_lse(const Command& c) { run(c, &c.out(1)); }

}  // namespace kiln
