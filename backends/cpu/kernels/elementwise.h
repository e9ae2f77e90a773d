// Shared pieces of the elementwise families (unary.cc, binary.cc): dtype domains, element
// load/store, op-code parsing, CPU feature dispatch and 8-wide AVX2 loads/stores of float-like types.
#pragma once
// The scalar op bodies (elementwise_ops.h, elementwise_math.h) are also compiled as CUDA device
// code by backends/cuda/kernels/*.cu (one definition for both backends); empty for the CPU.
#if defined(__CUDACC__)
#define KILN_HD __host__ __device__
#else
#define KILN_HD
#endif
#include <algorithm>
#include <cmath>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include "kernels.h"
#include "../../common/ops.h"
#include "../simd.h"  // KILN_SIMD, KILN_AVX2, use_avx2()
#include "../strided.h"

// Asserts that a loop has no loop-carried memory dependences, so it vectorizes without runtime
// alias checks. True for our elementwise loops even in place (exact aliasing: element i is read
// before it is written, in the same iteration).
#if defined(__clang__)
#define KILN_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define KILN_IVDEP _Pragma("GCC ivdep")
#else
#define KILN_IVDEP
#endif

namespace kiln {
namespace ew {

// Dtype classes an op accepts.
enum Domain : unsigned {
  kDomBool = 1,
  kDomUint = 2,
  kDomSint = 4,
  kDomFloat = 8,
  kDomInt = kDomUint | kDomSint,
  kDomNum = kDomInt | kDomFloat,
  kDomAll = kDomNum | kDomBool,
  kDomIntBool = kDomInt | kDomBool,
};

inline unsigned domain_of(int dtype) {
  switch (dtype) {
    case kBool: return kDomBool;
    case kUint8:
    case kUint16:
    case kUint32:
    case kUint64: return kDomUint;
    case kInt8:
    case kInt16:
    case kInt32:
    case kInt64: return kDomSint;
    default: return kDomFloat;
  }
}

template <typename T> constexpr unsigned domain_of_type() {
  if constexpr (std::is_same_v<T, bool>) return kDomBool;
  else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) return kDomUint;
  else if constexpr (std::is_integral_v<T>) return kDomSint;
  else return kDomFloat;
}

// Storage and compute types. bool is stored as a byte and normalised on load, so a buffer
// holding bytes other than 0/1 never reaches a bool load (which would be UB).
template <typename T> struct Elem {
  using S = T;
  using C = typename Compute<T>::type;
  static C load(S v) { return to_compute(v); }
  static S store(C v) { return from_value<T>(v); }
};
template <> struct Elem<bool> {
  using S = uint8_t;
  using C = bool;
  static bool load(uint8_t v) { return v != 0; }
  static uint8_t store(bool v) { return (uint8_t)v; }
};

// Integer arithmetic goes through this unsigned type, so overflow wraps without UB (and
// small types are not promoted to a signed int whose products could overflow).
template <typename T> using Wide = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

template <typename T> constexpr bool is_floatlike() {
  return std::is_same_v<T, float> || std::is_same_v<T, half_t> || std::is_same_v<T, bf16_t>;
}

// params[0] must be an integer op code in [0, count).
inline int op_code(const Command& c, int count, const char* kernel) {
  double p = c.params.at(0);
  if (!(p >= 0 && p < (double)count && p == std::floor(p)))
    fail("[", kernel, "] invalid op code ", p, " (expected an integer in [0, ", count - 1, "])");
  return (int)p;
}

inline void same_shape(const char* kernel, const char* op, const View& a, const View& b, const char* what) {
  bool same = a.ndim == b.ndim;
  for (int d = 0; same && d < a.ndim; d++) same = a.shape[d] == b.shape[d];
  if (!same)
    fail("[", kernel, "] ", op ? op : "", op ? ": " : "", what, " shapes differ (", a.describe(), " vs ", b.describe(),
         ")");
}

using ::kiln::memory_order;  // lives in strided.h, shared with copy

// Contiguous runs of float-like types are processed in blocks of this many elements.
constexpr int64_t kBlock = 256;

#if KILN_SIMD
// The avx2 level (simd.h) or above; KILN_NO_SIMD=1 / KILN_ISA=portable force the portable loops.
inline bool has_avx2() { return use_avx2(); }

KILN_AVX2 inline __m256 vload(const float* p) { return _mm256_loadu_ps(p); }
KILN_AVX2 inline __m256 vload(const half_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
KILN_AVX2 inline __m256 vload(const bf16_t* p) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
KILN_AVX2 inline void vstore(float* p, __m256 v) { _mm256_storeu_ps(p, v); }
KILN_AVX2 inline void vstore(half_t* p, __m256 v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
// Round to nearest even like float_to_bf16; NaNs stay quiet NaNs.
KILN_AVX2 inline void vstore(bf16_t* p, __m256 v) {
  __m256i x = _mm256_castps_si256(v);
  __m256i hi = _mm256_srli_epi32(x, 16);
  __m256i r =
      _mm256_add_epi32(x, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), _mm256_and_si256(hi, _mm256_set1_epi32(1))));
  r = _mm256_srli_epi32(r, 16);
  __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  r = _mm256_blendv_epi8(r, _mm256_or_si256(hi, _mm256_set1_epi32(0x40)), nan);
  __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
}
template <typename T> KILN_AVX2 inline __m256 vbroadcast(const T* p) { return _mm256_set1_ps((float)to_compute(*p)); }
#endif

}  // namespace ew
}  // namespace kiln
