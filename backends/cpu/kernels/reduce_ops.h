// Reductions written once for the eager kernel (reduce.cc) and fused programs (fused.cc), as
// elementwise_ops.h is for elementwise ops: each op's identity and combining rule (integer sums and
// products wrap, a NaN wins max/min, all/any on truth values), the vector fold of a contiguous run
// for sum/prod/max/min, the float sum of a run (32 float partial sums, the last steps in double)
// and the float product of a run (in double) that both use, so eager and fused reductions agree
// by construction. Every function gives the same bits on every ISA level: the portable loops keep
// the vector lanes' order.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include "accumulate.h"
#include "../../common/ops.h"
#include "../simd.h"

namespace kiln {
namespace red {

#define KILN_RED_INLINE inline __attribute__((always_inline))

template <typename V> constexpr V lowest_of() {
  if constexpr (std::is_floating_point_v<V>) return -std::numeric_limits<V>::infinity();
  else return std::numeric_limits<V>::lowest();
}
template <typename V> constexpr V highest_of() {
  if constexpr (std::is_floating_point_v<V>) return std::numeric_limits<V>::infinity();
  else return std::numeric_limits<V>::max();
}

// Identity and combining step of OP on accumulator values of type A (bool for all/any). The
// step also merges two partial results.
template <ReduceOp OP, typename A> struct Rule {
  static constexpr A identity() {
    if constexpr (OP == ReduceOp::sum) return A(0);
    else if constexpr (OP == ReduceOp::prod) return A(1);
    else if constexpr (OP == ReduceOp::max) return lowest_of<A>();
    else if constexpr (OP == ReduceOp::min) return highest_of<A>();
    else return OP == ReduceOp::all;
  }
  static KILN_RED_INLINE void step(A& a, A x) {
    if constexpr (OP == ReduceOp::sum) a = wrap_add(a, x);
    else if constexpr (OP == ReduceOp::prod) a = wrap_mul(a, x);
    else if constexpr (OP == ReduceOp::max || OP == ReduceOp::min) {
      A m = (OP == ReduceOp::max ? x > a : x < a) ? x : a;  // two selects: || would branch
      a = is_nan(x) ? x : m;                                // NaN propagates
    } else if constexpr (OP == ReduceOp::all) a = a && x;
    else a = a || x;
  }
};

// ---- vector fold of a contiguous run (sum, prod, max, min of plain arithmetic types)

// 32-byte vectors (GCC vector extensions): the auto-vectoriser gives up on NaN-propagating max.
// Without AVX they are split in two halves; with it (the callers' *_avx2 copies) one register.
template <typename A> struct VecOf { typedef A type __attribute__((vector_size(32))); };

template <ReduceOp OP, typename A>
constexpr bool kVecOp = (OP == ReduceOp::sum || OP == ReduceOp::prod || OP == ReduceOp::max || OP == ReduceOp::min) &&
                        std::is_arithmetic_v<A> && !std::is_same_v<A, bool>;

// a = a (op) x, lane by lane with Rule's semantics; by reference: 32-byte vectors by value would
// change the ABI without AVX
template <ReduceOp OP, typename VT> KILN_RED_INLINE void vstep(VT& a, const VT& x) {
  if constexpr (OP == ReduceOp::sum) a = a + x;
  else if constexpr (OP == ReduceOp::prod) a = a * x;
  else {
    VT m = OP == ReduceOp::max ? (x > a ? x : a) : (x < a ? x : a);
    if constexpr (std::is_floating_point_v<decltype(a[0] + 0)>) a = x != x ? x : m;
    else a = m;
  }
}

// Folds q[0:n] into acc: four vectors of lanes, merged lane by lane, then the tail. T has A's
// size (int32 elements fold into uint32 sums: the same bits).
template <ReduceOp OP, typename A, typename T> KILN_RED_INLINE void fold_vec(const T* q, int64_t n, A& acc) {
  static_assert(sizeof(T) == sizeof(A) && kVecOp<OP, A>, "fold_vec: lanes must hold the elements");
  using VT = typename VecOf<A>::type;
  using R = Rule<OP, A>;
  constexpr int L = 32 / sizeof(A);
  VT v[4];
  for (int u = 0; u < 4; u++)
    for (int l = 0; l < L; l++) v[u][l] = R::identity();
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L)
    for (int u = 0; u < 4; u++) {
      VT x;
      std::memcpy(&x, q + i + u * L, sizeof(VT));
      vstep<OP>(v[u], x);
    }
  for (; i + L <= n; i += L) {
    VT x;
    std::memcpy(&x, q + i, sizeof(VT));
    vstep<OP>(v[0], x);
  }
  for (int u = 1; u < 4; u++) vstep<OP>(v[0], v[u]);
  for (int l = 0; l < L; l++) R::step(acc, (A)v[0][l]);
  for (; i < n; i++) R::step(acc, (A)q[i]);
}
template <ReduceOp OP, typename A, typename T> KILN_AVX2 void fold_vec_avx2(const T* q, int64_t n, A& acc) {
  fold_vec<OP, A, T>(q, n, acc);
}
// The fold at the level in use.
template <ReduceOp OP, typename A, typename T> inline void fold_run_vec(const T* q, int64_t n, A& acc) {
  if (use_avx2()) fold_vec_avx2<OP, A, T>(q, n, acc);
  else fold_vec<OP, A, T>(q, n, acc);
}

// ---- float sums

// Sum of q[0:n] (stride s) loaded by Ld::load as P (float, or double for float64): partial sums
// p[j] of the elements at j mod 32 (the last full eights into p[0..7]), folded to eight as
// (p[j] + p[j+8]) + (p[j+16] + p[j+24]), then those and the tail added in double. The eager
// kernel uses it as the leaf (n <= 1024) of its pairwise sum, fused programs once per block.
template <typename Ld, typename T>
using LeafP = std::conditional_t<std::is_same_v<decltype(Ld::load(*(const T*)nullptr)), double>, double, float>;

template <typename Ld, typename T> KILN_RED_INLINE double sum_leaf_body(const T* q, int64_t n, int64_t s) {
  using P = LeafP<Ld, T>;
  P p[32];
  for (int j = 0; j < 32; j++) p[j] = P(0);
  int64_t i = 0;
  if (s == 1) {
    for (; i + 32 <= n; i += 32)
      for (int j = 0; j < 32; j++) p[j] += (P)Ld::load(q[i + j]);
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; j++) p[j] += (P)Ld::load(q[i + j]);
  } else {
    for (; i + 32 <= n; i += 32)
      for (int j = 0; j < 32; j++) p[j] += (P)Ld::load(q[(i + j) * s]);
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; j++) p[j] += (P)Ld::load(q[(i + j) * s]);
  }
  double r = 0;
  for (int j = 0; j < 8; j++) r += (double)((p[j] + p[j + 8]) + (p[j + 16] + p[j + 24]));
  for (; i < n; i++) r += (double)Ld::load(q[i * s]);
  return r;
}
template <typename Ld, typename T> KILN_AVX2 double sum_leaf_avx2(const T* q, int64_t n) {
  return sum_leaf_body<Ld, T>(q, n, 1);
}

#if KILN_SIMD
// The float32 contiguous case with explicit vectors: p[0..31] are four registers (the same bits).
KILN_AVX2 inline double sum_f32_avx2(const float* x, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {  // four accumulators: no add waits on the previous one's latency
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + i + 24));
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
  alignas(32) float t[8];
  _mm256_store_ps(t, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  double r = 0;
  for (int j = 0; j < 8; j++) r += (double)t[j];
  for (; i < n; i++) r += (double)x[i];
  return r;
}
#endif

// Loads a compute value as it is (fused registers, float32/float64 inputs).
struct LoadSame {
  template <typename X> static X load(X x) { return x; }
};

// sum_leaf_body at the level in use.
template <typename Ld, typename T> inline double sum_leaf(const T* q, int64_t n, int64_t s) {
  if (s == 1 && use_avx2()) {
#if KILN_SIMD
    if constexpr (std::is_same_v<T, float> && std::is_same_v<LeafP<Ld, T>, float>) return sum_f32_avx2(q, n);
#endif
    return sum_leaf_avx2<Ld, T>(q, n);
  }
  return sum_leaf_body<Ld, T>(q, n, s);
}

// ---- float products

// a *= the product of q[0:n] (stride s) loaded by Ld::load, in double (float32 products neither
// overflow nor lose bits on the way): 16 partial products of the elements at j mod 16, then
// merged in order, then the tail. Eager runs and fused blocks both fold with it.
template <typename Ld, typename T> KILN_RED_INLINE void prod_run_body(const T* q, int64_t n, int64_t s, double& a) {
  int64_t i = 0;
  if (n >= 32) {
    double p[16];
    for (int j = 0; j < 16; j++) p[j] = 1.0;
    if (s == 1) {
      for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) p[j] *= (double)Ld::load(q[i + j]);
    } else {
      for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) p[j] *= (double)Ld::load(q[(i + j) * s]);
    }
    for (int j = 0; j < 16; j++) a *= p[j];
  }
  for (; i < n; i++) a *= (double)Ld::load(q[i * s]);
}
template <typename Ld, typename T> KILN_AVX2 void prod_run_avx2(const T* q, int64_t n, double& a) {
  prod_run_body<Ld, T>(q, n, 1, a);
}
template <typename Ld, typename T> inline void prod_run(const T* q, int64_t n, int64_t s, double& a) {
  if (s == 1 && use_avx2()) prod_run_avx2<Ld, T>(q, n, a);
  else prod_run_body<Ld, T>(q, n, s, a);
}

#undef KILN_RED_INLINE

}  // namespace red
}  // namespace kiln
