// Dtype codes shared with TypeScript (core/dtype.ts reads them through info()).
#pragma once
#include <cstdint>
#include <cstring>
#include <cmath>
#include <limits>
#include <type_traits>

namespace kiln {

enum Dtype : int32_t {
  kBool = 0,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFloat16,
  kBfloat16,
  kFloat32,
  kFloat64,
  kComplex64,  // interleaved float32 (re, im) pairs; only the kernels in complex_ok() accept it
  kNumDtypes
};

inline const char* dtype_name(int d) {
  static const char* names[] = {"bool",  "uint8", "uint16",  "uint32",   "uint64",  "int8",    "int16",
                                "int32", "int64", "float16", "bfloat16", "float32", "float64", "complex64"};
  return (d >= 0 && d < kNumDtypes) ? names[d] : "invalid";
}

inline int64_t dtype_size(int d) {
  static const int64_t sizes[] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 2, 4, 8, 8};
  return (d >= 0 && d < kNumDtypes) ? sizes[d] : 0;
}

inline bool is_float(int d) { return d == kFloat16 || d == kBfloat16 || d == kFloat32 || d == kFloat64; }

// 16-bit floats are stored as raw bits; arithmetic happens in float.
struct half_t {
  uint16_t bits;
};
struct bf16_t {
  uint16_t bits;
};

inline float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, f;
  if (exp == 0) {
    if (man == 0) f = sign;
    else {  // subnormal: renormalise
      int e = -1;
      do {
        man <<= 1;
        e++;
      } while (!(man & 0x400));
      f = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) f = sign | 0x7f800000u | (man << 13);
  else f = sign | ((exp + 127 - 15) << 23) | (man << 13);
  float out;
  std::memcpy(&out, &f, 4);
  return out;
}

inline uint16_t float_to_half(float v) {
  uint32_t x;
  std::memcpy(&x, &v, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t ax = x & 0x7fffffff;
  if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0));
  if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);  // rounds to inf
  if (ax < 0x38800000u) {                                   // subnormal or zero in half
    if (ax < 0x33000000u) return (uint16_t)sign;
    uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e;  // 14 + (113 - e) - 1
    uint32_t r = m >> (shift);
    uint32_t rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (r & 1))) r++;
    return (uint16_t)(sign | r);
  }
  uint32_t r = ax + 0xc8000000u;            // rebias exponent (-112 << 23)
  r = (r + 0xfff + ((r >> 13) & 1)) >> 13;  // round to nearest even
  return (uint16_t)(sign | r);
}

// double -> float rounded to odd: a second rounding to a narrower type (half, bfloat16) is then
// exact-once, as if rounding the double directly.
inline float double_to_float_odd(double v) {
  float f = (float)v;
  if (!(f == f) || std::isinf(f) || (double)f == v) return f;
  if (std::fabs((double)f) > std::fabs(v)) f = std::nextafter(f, 0.0f);
  uint32_t x;
  std::memcpy(&x, &f, 4);
  x |= 1;
  std::memcpy(&f, &x, 4);
  return f;
}

inline float bf16_to_float(uint16_t b) {
  uint32_t f = (uint32_t)b << 16;
  float out;
  std::memcpy(&out, &f, 4);
  return out;
}
inline uint16_t float_to_bf16(float v) {
  uint32_t x;
  std::memcpy(&x, &v, 4);
  if ((x & 0x7fffffff) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);  // quiet NaN
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

// Scalar conversion through the storage type: load<T>(p) gives the compute value.
template <typename T> struct Compute { using type = T; };
template <> struct Compute<half_t> { using type = float; };
template <> struct Compute<bf16_t> { using type = float; };
template <> struct Compute<bool> { using type = bool; };

template <typename T> inline typename Compute<T>::type to_compute(T v) { return v; }
template <> inline float to_compute<half_t>(half_t v) { return half_to_float(v.bits); }
template <> inline float to_compute<bf16_t>(bf16_t v) { return bf16_to_float(v.bits); }

// Casting conversion into storage type T from a compute value; float->int truncates toward
// zero (numpy astype); NaN and out-of-range values give a fixed result instead of UB.
template <typename T, typename S> inline T from_value(S v) {
  if constexpr (std::is_same_v<T, half_t>) {
    if constexpr (std::is_same_v<S, double>) return half_t{float_to_half(double_to_float_odd(v))};
    else return half_t{float_to_half((float)v)};
  } else if constexpr (std::is_same_v<T, bf16_t>) {
    if constexpr (std::is_same_v<S, double>) return bf16_t{float_to_bf16(double_to_float_odd(v))};
    else return bf16_t{float_to_bf16((float)v)};
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != S(0);
  } else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<T>) {
    if (!(v == v)) return T(0);
    if constexpr (std::is_signed_v<T>) {
      if (v >= (S)9.2233720368547758e18 || v < (S)-9.2233720368547758e18) return std::numeric_limits<T>::min();
      return (T)(int64_t)v;
    } else {
      if (v >= (S)1.8446744073709552e19 || v <= (S)-9.2233720368547758e18) return T(0);
      if (v < 0) return (T)(uint64_t)(int64_t)v;
      return (T)(uint64_t)v;
    }
  } else {
    return (T)v;
  }
}

// The compute dtype of a dtype: the 16-bit floats compute in float32, the others in themselves.
inline int compute_dtype(int d) { return d == kFloat16 || d == kBfloat16 ? (int)kFloat32 : d; }
inline bool is_compute_dtype(int d) {
  return d >= 0 && d < kNumDtypes && d != kFloat16 && d != kBfloat16 && d != kComplex64;
}

// F(T) for T the C++ type of dtype d: KILN_DISPATCH_ALL over every storage type,
// KILN_DISPATCH_COMPUTE over the compute types (every dtype but float16 and bfloat16).
#define KILN_DISPATCH_COMPUTE_CASES(F) \
  case kBool: F(bool); break;          \
  case kUint8: F(uint8_t); break;      \
  case kUint16: F(uint16_t); break;    \
  case kUint32: F(uint32_t); break;    \
  case kUint64: F(uint64_t); break;    \
  case kInt8: F(int8_t); break;        \
  case kInt16: F(int16_t); break;      \
  case kInt32: F(int32_t); break;      \
  case kInt64: F(int64_t); break;      \
  case kFloat32: F(float); break;      \
  case kFloat64:                       \
    F(double);                         \
    break;
#define KILN_DISPATCH_COMPUTE(d, F) \
  switch (d) {                      \
    KILN_DISPATCH_COMPUTE_CASES(F)  \
    default: break;                 \
  }
#define KILN_DISPATCH_ALL(d, F)       \
  switch (d) {                        \
    KILN_DISPATCH_COMPUTE_CASES(F)    \
    case kFloat16: F(half_t); break;  \
    case kBfloat16: F(bf16_t); break; \
    default: break;                   \
  }

}  // namespace kiln
