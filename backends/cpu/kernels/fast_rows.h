// Helpers shared by the fused kernels (norm.cc, rope.cc, attention.cc): rows of any float storage
// dtype loaded into the compute type (float, or double for float64) and stored back, roundings
// that emulate an intermediate of a narrower dtype, row offsets of strided views, and float32
// vector helpers (sums, maxima, exp) with AVX2/FMA/F16C paths chosen at run time.
#pragma once
#include "../simd.h"  // KILN_SIMD, KILN_AVX2, use_avx2(), expc
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include "../../common/command.h"
#include "../scratch.h"
#include "../strided.h"

namespace kiln {
namespace fastk {

inline bool has_avx2() { return use_avx2(); }

using ::kiln::row_offset;  // strided.h

inline bool is_float_dtype(int d) { return d == kFloat16 || d == kBfloat16 || d == kFloat32 || d == kFloat64; }

using ::kiln::Scratch;  // scratch.h

#if KILN_SIMD
KILN_AVX2 inline void load_f16_avx2(float* dst, const uint16_t* p, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(p + i))));
  for (; i < n; i++) dst[i] = half_to_float(p[i]);
}
KILN_AVX2 inline void load_bf16_avx2(float* dst, const uint16_t* p, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(p + i)));
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
  }
  for (; i < n; i++) dst[i] = bf16_to_float(p[i]);
}
KILN_AVX2 inline void store_f16_avx2(uint16_t* p, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i*)(p + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; i++) p[i] = float_to_half(src[i]);
}
// float -> bfloat16 bits rounded to nearest even (NaN stays a quiet NaN), in 32-bit lanes
KILN_AVX2 inline __m256i bf16_bits8(__m256 v) {
  __m256i u = _mm256_castps_si256(v);
  __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
  __m256i nan = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  return _mm256_blendv_epi8(r, nan, _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
}
KILN_AVX2 inline void store_bf16_avx2(uint16_t* p, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i b = bf16_bits8(_mm256_loadu_ps(src + i));
    __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
    _mm_storeu_si128((__m128i*)(p + i), packed);
  }
  for (; i < n; i++) p[i] = float_to_bf16(src[i]);
}
KILN_AVX2 inline void round_f16_avx2(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(
        x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
  for (; i < n; i++) x[i] = half_to_float(float_to_half(x[i]));
}
KILN_AVX2 inline void round_bf16_avx2(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, _mm256_castsi256_ps(_mm256_slli_epi32(bf16_bits8(_mm256_loadu_ps(x + i)), 16)));
  for (; i < n; i++) x[i] = bf16_to_float(float_to_bf16(x[i]));
}
#endif

// dst[i] = element i of a row of dtype dt starting at `base` (element pointer) with `stride`.
template <typename F> void load_row(F* dst, const void* base, int dt, int64_t stride, int64_t n) {
  switch (dt) {
    case kFloat16: {
      const uint16_t* p = static_cast<const uint16_t*>(base);
#if KILN_SIMD
      if constexpr (std::is_same_v<F, float>)
        if (stride == 1 && has_avx2()) {
          load_f16_avx2(dst, p, n);
          return;
        }
#endif
      for (int64_t i = 0; i < n; i++) dst[i] = (F)half_to_float(p[i * stride]);
      return;
    }
    case kBfloat16: {
      const uint16_t* p = static_cast<const uint16_t*>(base);
#if KILN_SIMD
      if constexpr (std::is_same_v<F, float>)
        if (stride == 1 && has_avx2()) {
          load_bf16_avx2(dst, p, n);
          return;
        }
#endif
      for (int64_t i = 0; i < n; i++) dst[i] = (F)bf16_to_float(p[i * stride]);
      return;
    }
    case kFloat32: {
      const float* p = static_cast<const float*>(base);
      if (stride == 1 && std::is_same_v<F, float>) {
        std::memcpy(dst, p, n * sizeof(float));
        return;
      }
      for (int64_t i = 0; i < n; i++) dst[i] = (F)p[i * stride];
      return;
    }
    case kFloat64: {
      const double* p = static_cast<const double*>(base);
      for (int64_t i = 0; i < n; i++) dst[i] = (F)p[i * stride];
      return;
    }
    default: return;  // excluded by every check function
  }
}

// Stores a compute-type row into a row of dtype dt (one rounding, to nearest even).
template <typename F> void store_row(void* base, int dt, int64_t stride, const F* src, int64_t n) {
  switch (dt) {
    case kFloat16: {
#if KILN_SIMD
      if constexpr (std::is_same_v<F, float>)
        if (stride == 1 && has_avx2()) {
          store_f16_avx2(static_cast<uint16_t*>(base), src, n);
          return;
        }
#endif
      half_t* p = static_cast<half_t*>(base);
      for (int64_t i = 0; i < n; i++) p[i * stride] = from_value<half_t>(src[i]);
      return;
    }
    case kBfloat16: {
#if KILN_SIMD
      if constexpr (std::is_same_v<F, float>)
        if (stride == 1 && has_avx2()) {
          store_bf16_avx2(static_cast<uint16_t*>(base), src, n);
          return;
        }
#endif
      bf16_t* p = static_cast<bf16_t*>(base);
      for (int64_t i = 0; i < n; i++) p[i * stride] = from_value<bf16_t>(src[i]);
      return;
    }
    case kFloat32: {
      float* p = static_cast<float*>(base);
      if (stride == 1 && std::is_same_v<F, float>) {
        std::memcpy(p, src, n * sizeof(float));
        return;
      }
      for (int64_t i = 0; i < n; i++) p[i * stride] = (float)src[i];
      return;
    }
    case kFloat64: {
      double* p = static_cast<double*>(base);
      for (int64_t i = 0; i < n; i++) p[i * stride] = (double)src[i];
      return;
    }
    default: return;
  }
}

// v rounded to dtype dt and widened back: the value an intermediate array of dtype dt would hold.
template <typename F> inline F round_to(int dt, F v) {
  switch (dt) {
    case kFloat16: return (F)to_compute(from_value<half_t>(v));
    case kBfloat16: return (F)to_compute(from_value<bf16_t>(v));
    case kFloat32: return (F)(float)v;
    default: return v;
  }
}

// x[i] rounded to dtype dt in place (float16/bfloat16/float32; a no-op for wider types).
template <typename F> inline void round_row(int dt, F* x, int64_t n) {
  if (dt == kFloat64 || (dt == kFloat32 && std::is_same_v<F, float>)) return;
#if KILN_SIMD
  if constexpr (std::is_same_v<F, float>) {
    if (dt == kFloat16 && has_avx2()) {
      round_f16_avx2(x, n);
      return;
    }
    if (dt == kBfloat16 && has_avx2()) {
      round_bf16_avx2(x, n);
      return;
    }
  }
#endif
  for (int64_t i = 0; i < n; i++) x[i] = round_to<F>(dt, x[i]);
}

inline char* element_ptr(const View& v, int64_t off) {
  return static_cast<char*>(v.buf->data) + off * dtype_size(v.dtype);
}

// ---- float32 vector helpers -------------------------------------------------------------------

inline float sum_generic(const float* x, int64_t n, bool squares) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) s[j] += squares ? x[i + j] * x[i + j] : x[i + j];
  float r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; i++) r += squares ? x[i] * x[i] : x[i];
  return r;
}

#if KILN_SIMD
KILN_AVX2 inline float hsum8(__m256 s) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}
KILN_AVX2 inline float hmax8(__m256 s) {
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}
KILN_AVX2 inline float sum_avx2(const float* x, int64_t n, bool squares) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  if (squares) {
    for (; i + 32 <= n; i += 32) {
      __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
      __m256 c = _mm256_loadu_ps(x + i + 16), d = _mm256_loadu_ps(x + i + 24);
      s0 = _mm256_fmadd_ps(a, a, s0), s1 = _mm256_fmadd_ps(b, b, s1);
      s2 = _mm256_fmadd_ps(c, c, s2), s3 = _mm256_fmadd_ps(d, d, s3);
    }
    for (; i + 8 <= n; i += 8) {
      __m256 a = _mm256_loadu_ps(x + i);
      s0 = _mm256_fmadd_ps(a, a, s0);
    }
  } else {
    for (; i + 32 <= n; i += 32) {
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i)), s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
      s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + i + 16)), s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
  }
  float r = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; i++) r += squares ? x[i] * x[i] : x[i];
  return r;
}

// exp(x) for 8 floats: 2^n * p(r) with r = x - n ln2 and a degree-6 polynomial (about 1 ulp);
// below -87.3 (e^x under FLT_MIN) the result is 0, NaN stays NaN. Arguments here are <= 0.
KILN_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.33654f), hi = _mm256_set1_ps(88.37626f);
  __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_min_ps(hi, _mm256_max_ps(lo, x));  // NaN passes through (second operand)
  __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(expc::kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(expc::kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(expc::kLn2Lo), r);
  __m256 p = _mm256_set1_ps(expc::c0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(expc::c1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(expc::c2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(expc::c3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(expc::c4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(expc::c5));
  // e^r = (1 + r) + r^2 p here; exp_ps forms r + r^2 p first (expm1 shares it) and adds 1 last,
  // so the two can differ in the last bit: kept apart on purpose (fused softmax bits stay put)
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  return _mm256_andnot_ps(under, y);
}

// x[i] = exp(x[i] - m); returns the sum.
KILN_AVX2 inline float exp_shift_sum_avx2(float* x, int64_t n, float m) {
  const __m256 vm = _mm256_set1_ps(m);
  __m256 s = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    _mm256_storeu_ps(x + i, e);
    s = _mm256_add_ps(s, e);
  }
  float r = hsum8(s);
  for (; i < n; i++) r += (x[i] = std::exp(x[i] - m));
  return r;
}

KILN_AVX2 inline float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float r = hsum8(_mm256_add_ps(s0, s1));
  for (; i < n; i++) r += a[i] * b[i];
  return r;
}

KILN_AVX2 inline float max_avx2(const float* x, int64_t n, float init) {
  __m256 s = _mm256_set1_ps(init);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) s = _mm256_max_ps(_mm256_loadu_ps(x + i), s);
  float r = hmax8(s);
  for (; i < n; i++) r = x[i] > r ? x[i] : r;
  return r;
}
#endif

inline float sum_f32(const float* x, int64_t n, bool squares) {
#if KILN_SIMD
  if (has_avx2()) return sum_avx2(x, n, squares);
#endif
  return sum_generic(x, n, squares);
}

template <typename F> inline F sum_row(const F* x, int64_t n, bool squares) {
  if constexpr (std::is_same_v<F, float>) return sum_f32(x, n, squares);
  else {
    F s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
      for (int j = 0; j < 4; j++) s[j] += squares ? x[i + j] * x[i + j] : x[i + j];
    F r = (s[0] + s[1]) + (s[2] + s[3]);
    for (; i < n; i++) r += squares ? x[i] * x[i] : x[i];
    return r;
  }
}

template <typename F> inline F dot_row(const F* a, const F* b, int64_t n) {
#if KILN_SIMD
  if constexpr (std::is_same_v<F, float>)
    if (has_avx2()) return dot_avx2(a, b, n);
#endif
  F s[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; j++) s[j] += a[i + j] * b[i + j];
  F r = (s[0] + s[1]) + (s[2] + s[3]);
  for (; i < n; i++) r += a[i] * b[i];
  return r;
}

// Maximum of x[0:n] and init (NaN elements are skipped here; the caller's sum then propagates them).
template <typename F> inline F max_row(const F* x, int64_t n, F init) {
#if KILN_SIMD
  if constexpr (std::is_same_v<F, float>)
    if (has_avx2()) return max_avx2(x, n, init);
#endif
  F r = init;
  for (int64_t i = 0; i < n; i++) r = x[i] > r ? x[i] : r;
  return r;
}

// x[i] = exp(x[i] - m), returns the sum of the new values.
template <typename F> inline F exp_shift_sum(F* x, int64_t n, F m) {
#if KILN_SIMD
  if constexpr (std::is_same_v<F, float>)
    if (has_avx2()) return exp_shift_sum_avx2(x, n, m);
#endif
  F s = 0;
  for (int64_t i = 0; i < n; i++) s += (x[i] = std::exp(x[i] - m));
  return s;
}

}  // namespace fastk
}  // namespace kiln
