// The device code every rendered fused kernel starts with: dtype traits, conversions, the
// elementwise ops and the reduction rules in CUDA C, mirroring backends/cpu/kernels/
// elementwise_ops.h and reduce_ops.h line by line. No headers: NVRTC gets none at run time.
#include "fused_prelude.h"
#include <cstdio>
#include "../cpu/kernels/elementwise_math.h"

namespace kiln {
namespace cuda {
namespace {

// The device code every fused kernel starts with (no headers: NVRTC gets none at run time).
const char* kPrelude = R"KZ(
// ---- kiln fused-program prelude (no headers: NVRTC gets none) ----
typedef unsigned char kz_u8;
typedef unsigned short kz_u16;
typedef unsigned int kz_u32;
typedef unsigned long long kz_u64;
template <class T> struct kt;
#define KZ_T(T, I, S, F, B, W, U)                                                            \
  template <> struct kt<T> {                                                                 \
    static constexpr bool is_int = I, is_signed = S, is_float = F, is_bool = B;              \
    typedef W wide;                                                                          \
    typedef U uns;                                                                           \
  };
KZ_T(bool, false, false, false, true, bool, bool)
KZ_T(unsigned char, true, false, false, false, kz_u32, unsigned char)
KZ_T(unsigned short, true, false, false, false, kz_u32, unsigned short)
KZ_T(unsigned int, true, false, false, false, kz_u32, unsigned int)
KZ_T(unsigned long long, true, false, false, false, kz_u64, unsigned long long)
KZ_T(signed char, true, true, false, false, kz_u32, unsigned char)
KZ_T(short, true, true, false, false, kz_u32, unsigned short)
KZ_T(int, true, true, false, false, kz_u32, unsigned int)
KZ_T(long long, true, true, false, false, kz_u64, unsigned long long)
KZ_T(float, false, true, true, false, float, float)
KZ_T(double, false, true, true, false, double, double)
#undef KZ_T
#define KZ_D __device__ __forceinline__
#define KZ_M1(n, ff, fd) \
  KZ_D float m_##n(float x) { return ff(x); } \
  KZ_D double m_##n(double x) { return fd(x); }
KZ_M1(exp, expf, exp) KZ_M1(log, logf, log) KZ_M1(sqrt, sqrtf, sqrt) KZ_M1(tanh, tanhf, tanh)
KZ_M1(sin, sinf, sin) KZ_M1(cos, cosf, cos) KZ_M1(tan, tanf, tan) KZ_M1(erfc, erfcf, erfc)
KZ_M1(expm1, expm1f, expm1) KZ_M1(log1p, log1pf, log1p) KZ_M1(log2, log2f, log2) KZ_M1(log10, log10f, log10)
KZ_M1(asin, asinf, asin) KZ_M1(acos, acosf, acos) KZ_M1(atan, atanf, atan) KZ_M1(sinh, sinhf, sinh)
KZ_M1(cosh, coshf, cosh) KZ_M1(asinh, asinhf, asinh) KZ_M1(acosh, acoshf, acosh) KZ_M1(atanh, atanhf, atanh)
KZ_M1(floor, floorf, floor) KZ_M1(ceil, ceilf, ceil) KZ_M1(trunc, truncf, trunc) KZ_M1(rint, rintf, rint)
KZ_M1(fabs, fabsf, fabs)
#undef KZ_M1
#define KZ_M2(n, ff, fd) \
  KZ_D float m_##n(float x, float y) { return ff(x, y); } \
  KZ_D double m_##n(double x, double y) { return fd(x, y); }
KZ_M2(fmod, fmodf, fmod) KZ_M2(copysign, copysignf, copysign) KZ_M2(pow, powf, pow) KZ_M2(atan2, atan2f, atan2)
#undef KZ_M2
KZ_D double m_erf(double x) { return erf(x); }
)KZ"
                       // float32 erf: the eager kernel's pieces (fz_erf_source), then the rest
                       "%ERF_F32%"
                       R"KZ(

// The float arithmetic ops, never contracted into an FMA with a neighbouring op (the eager kernels
// round each op's result; inside an op's own body the module contracts as nvcc does for them)
KZ_D float kz_add(float a, float b) { return __fadd_rn(a, b); }
KZ_D double kz_add(double a, double b) { return __dadd_rn(a, b); }
KZ_D float kz_sub(float a, float b) { return __fsub_rn(a, b); }
KZ_D double kz_sub(double a, double b) { return __dsub_rn(a, b); }
KZ_D float kz_mul(float a, float b) { return __fmul_rn(a, b); }
KZ_D double kz_mul(double a, double b) { return __dmul_rn(a, b); }

// NaN / inf tests on the bits (independent of any fast-math setting)
KZ_D bool kz_isnan(float x) { return (__float_as_uint(x) & 0x7fffffffu) > 0x7f800000u; }
KZ_D bool kz_isnan(double x) { return ((kz_u64)__double_as_longlong(x) & 0x7fffffffffffffffull) > 0x7ff0000000000000ull; }
KZ_D bool kz_isinf(float x) { return (__float_as_uint(x) & 0x7fffffffu) == 0x7f800000u; }
KZ_D bool kz_isinf(double x) { return ((kz_u64)__double_as_longlong(x) & 0x7fffffffffffffffull) == 0x7ff0000000000000ull; }
template <class C> KZ_D bool kz_nan(C x) {
  if constexpr (kt<C>::is_float) return kz_isnan(x);
  else return false;
}

// float16 / bfloat16 bits <-> float32 (round to nearest even), as backends/common/dtype.h
KZ_D float kz_h2f(kz_u16 h) {
  kz_u32 sign = (kz_u32)(h & 0x8000) << 16;
  kz_u32 e = (h >> 10) & 0x1f, man = h & 0x3ff, f;
  if (e == 0) {
    if (man == 0) f = sign;
    else {
      int k = -1;
      do {
        man <<= 1;
        k++;
      } while (!(man & 0x400));
      f = sign | ((kz_u32)(127 - 15 - k) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (e == 31) f = sign | 0x7f800000u | (man << 13);
  else f = sign | ((e + 127 - 15) << 23) | (man << 13);
  return __uint_as_float(f);
}
KZ_D kz_u16 kz_f2h(float v) {
  kz_u32 x = __float_as_uint(v);
  kz_u32 sign = (x >> 16) & 0x8000;
  kz_u32 ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return (kz_u16)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0));
  if (ax >= 0x477ff000u) return (kz_u16)(sign | 0x7c00);
  if (ax < 0x38800000u) {
    if (ax < 0x33000000u) return (kz_u16)sign;
    kz_u32 e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
    kz_u32 shift = 126 - e;
    kz_u32 r = m >> shift;
    kz_u32 rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (r & 1))) r++;
    return (kz_u16)(sign | r);
  }
  kz_u32 r = ax + 0xc8000000u;
  r = (r + 0xfff + ((r >> 13) & 1)) >> 13;
  return (kz_u16)(sign | r);
}
KZ_D float kz_b2f(kz_u16 b) { return __uint_as_float((kz_u32)b << 16); }
KZ_D kz_u16 kz_f2b(float v) {
  kz_u32 x = __float_as_uint(v);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (kz_u16)((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return (kz_u16)(x >> 16);
}
// double -> float rounded to odd, so a second rounding to 16 bits is as if rounding the double once
KZ_D float kz_d2f_odd(double v) {
  float f = (float)v;
  if (kz_isnan(f) || kz_isinf(f) || (double)f == v) return f;
  if (m_fabs((double)f) > m_fabs(v)) f = __uint_as_float(__float_as_uint(f) - 1u);
  return __uint_as_float(__float_as_uint(f) | 1u);
}

// from_value<T>(v) for compute types T (float -> int truncates; NaN and out-of-range fixed)
template <class T, class S> KZ_D T kz_cv(S v) {
  if constexpr (kt<T>::is_bool) return v != S(0);
  else if constexpr (kt<S>::is_float && kt<T>::is_int) {
    if (!(v == v)) return T(0);
    if constexpr (kt<T>::is_signed) {
      if (v >= (S)9.2233720368547758e18 || v < (S)-9.2233720368547758e18)
        return (T)((typename kt<T>::uns)1 << (sizeof(T) * 8 - 1));
      return (T)(long long)v;
    } else {
      if (v >= (S)1.8446744073709552e19 || v <= (S)-9.2233720368547758e18) return T(0);
      if (v < 0) return (T)(kz_u64)(long long)v;
      return (T)(kz_u64)v;
    }
  } else {
    return (T)v;
  }
}
template <class S> KZ_D kz_u16 kz_to_h(S v) {
  if constexpr (sizeof(S) == 8 && kt<S>::is_float) return kz_f2h(kz_d2f_odd(v));
  else return kz_f2h((float)v);
}
template <class S> KZ_D kz_u16 kz_to_b(S v) {
  if constexpr (sizeof(S) == 8 && kt<S>::is_float) return kz_f2b(kz_d2f_odd(v));
  else return kz_f2b((float)v);
}

// ---- unary ops (backends/cpu/kernels/elementwise_ops.h) ----
template <class C> KZ_D C u_neg(C x) {
  if constexpr (kt<C>::is_int) return (C)((typename kt<C>::wide)0 - (typename kt<C>::wide)x);
  else return -x;
}
template <class C> KZ_D C u_abs(C x) {
  if constexpr (kt<C>::is_bool || (kt<C>::is_int && !kt<C>::is_signed)) return x;
  else if constexpr (kt<C>::is_int) return x < 0 ? (C)((typename kt<C>::wide)0 - (typename kt<C>::wide)x) : x;
  else return m_fabs(x);
}
template <class C> KZ_D C u_sign(C x) {
  if constexpr (kt<C>::is_int && !kt<C>::is_signed) return (C)(x > 0);
  else if constexpr (kt<C>::is_int) return (C)((x > 0) - (x < 0));
  else return x != x ? x : (C)((x > 0) - (x < 0));
}
template <class C> KZ_D C u_square(C x) {
  if constexpr (kt<C>::is_int) return (C)((typename kt<C>::wide)x * (typename kt<C>::wide)x);
  else return kz_mul(x, x);
}
template <class C> KZ_D C u_floor(C x) {
  if constexpr (kt<C>::is_float) return m_floor(x);
  else return x;
}
template <class C> KZ_D C u_ceil(C x) {
  if constexpr (kt<C>::is_float) return m_ceil(x);
  else return x;
}
template <class C> KZ_D C u_round(C x) {
  if constexpr (kt<C>::is_float) return m_rint(x);  // half to even
  else return x;
}
template <class C> KZ_D C u_trunc(C x) {
  if constexpr (kt<C>::is_float) return m_trunc(x);
  else return x;
}
template <class C> KZ_D C u_exp(C x) { return m_exp(x); }
template <class C> KZ_D C u_log(C x) { return m_log(x); }
template <class C> KZ_D C u_sqrt(C x) { return m_sqrt(x); }
template <class C> KZ_D C u_rsqrt(C x) { return C(1) / m_sqrt(x); }
template <class C> KZ_D C u_reciprocal(C x) { return C(1) / x; }
template <class C> KZ_D C u_tanh(C x) { return m_tanh(x); }
template <class C> KZ_D C u_sigmoid(C x) {
  return x >= 0 ? C(1) / (C(1) + m_exp(-x)) : m_exp(x) / (C(1) + m_exp(x));
}
template <class C> KZ_D C u_sin(C x) { return m_sin(x); }
template <class C> KZ_D C u_cos(C x) { return m_cos(x); }
template <class C> KZ_D C u_tan(C x) { return m_tan(x); }
template <class C> KZ_D C u_erf(C x) { return m_erf(x); }
template <class C> KZ_D C u_expm1(C x) { return m_expm1(x); }
template <class C> KZ_D C u_log1p(C x) { return m_log1p(x); }
template <class C> KZ_D C u_log2(C x) { return m_log2(x); }
template <class C> KZ_D C u_log10(C x) { return m_log10(x); }
template <class C> KZ_D C u_arcsin(C x) { return m_asin(x); }
template <class C> KZ_D C u_arccos(C x) { return m_acos(x); }
template <class C> KZ_D C u_arctan(C x) { return m_atan(x); }
template <class C> KZ_D C u_sinh(C x) { return m_sinh(x); }
template <class C> KZ_D C u_cosh(C x) { return m_cosh(x); }
template <class C> KZ_D C u_arcsinh(C x) { return m_asinh(x); }
template <class C> KZ_D C u_arccosh(C x) { return m_acosh(x); }
template <class C> KZ_D C u_arctanh(C x) { return m_atanh(x); }
// erfinv in double for every float type (elementwise_math.h erfinv_d)
__device__ double kz_erfinv_d(double y, double tol) {
  if (!(y >= -1.0 && y <= 1.0)) return __longlong_as_double(0x7ff8000000000000ll);
  if (y == 0.0) return y;
  double a = m_fabs(y);
  if (a == 1.0) return m_copysign(__longlong_as_double(0x7ff0000000000000ll), y);
  double w = -m_log((1.0 - a) * (1.0 + a)), p;
  if (w < 5.0) {
    w -= 2.5;
    p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = m_sqrt(w) - 3.0;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  double x = p * a, lq = m_log1p(-a);
  for (int k = 0; k < 8; k++) {
    double d = 1.1283791670955126 * m_exp(-x * x);
    double dx;
    if (a <= 0.5) {
      double u = (m_erf(x) - a) / d;
      dx = -u / (1.0 + x * u);
    } else {
      double e = m_erfc(x);
      dx = (m_log(e) - lq) * e / d;
    }
    x += dx;
    if (!(m_fabs(dx) > tol * x)) break;
  }
  return m_copysign(x, y);
}
template <class C> KZ_D C u_erfinv(C x) { return (C)kz_erfinv_d((double)x, sizeof(C) == 8 ? 1e-15 : 1e-9); }
template <class C> KZ_D bool u_logical_not(C x) { return !(x != C(0)); }
template <class C> KZ_D bool u_isnan(C x) { return kz_nan(x); }
template <class C> KZ_D bool u_isinf(C x) {
  if constexpr (kt<C>::is_float) return kz_isinf(x);
  else return false;
}
template <class C> KZ_D bool u_isfinite(C x) {
  if constexpr (kt<C>::is_float) return !kz_isinf(x) && !kz_isnan(x);
  else return true;
}
template <class C> KZ_D C u_bitwise_invert(C x) {
  if constexpr (kt<C>::is_bool) return !x;
  else return (C)~x;
}

// ---- binary ops ----
template <class C> KZ_D C kz_py_divmod(C a, C b, C* modulus) {
  C mod = m_fmod(a, b);
  if (!b) {
    *modulus = mod;
    return a / b;
  }
  C div = (a - mod) / b;
  if (mod) {
    if ((b < 0) != (mod < 0)) {
      mod += b;
      div -= C(1);
    }
  } else {
    mod = m_copysign(C(0), b);
  }
  C floordiv;
  if (div) {
    floordiv = m_floor(div);
    if (div - floordiv > C(0.5)) floordiv += C(1);
  } else {
    floordiv = m_copysign(C(0), a / b);
  }
  *modulus = mod;
  return floordiv;
}
template <class C> KZ_D C kz_ipow(C a, C b) {
  if constexpr (kt<C>::is_signed) {
    if (b < 0) {
      if (a == 1) return C(1);
      if (a == -1) return (b & 1) ? C(-1) : C(1);
      return C(0);
    }
  }
  typedef typename kt<C>::wide W;
  W r = 1, base = (W)a;
  typename kt<C>::uns e = (typename kt<C>::uns)b;
  while (e) {
    if (e & 1) r *= base;
    e >>= 1;
    if (e) base *= base;
  }
  return (C)r;
}
#define KZ_W(C) typename kt<C>::wide
template <class C> KZ_D C b_add(C a, C b) {
  if constexpr (kt<C>::is_bool) return a || b;
  else if constexpr (kt<C>::is_int) return (C)((KZ_W(C))a + (KZ_W(C))b);
  else return kz_add(a, b);
}
template <class C> KZ_D C b_subtract(C a, C b) {
  if constexpr (kt<C>::is_int) return (C)((KZ_W(C))a - (KZ_W(C))b);
  else return kz_sub(a, b);
}
template <class C> KZ_D C b_multiply(C a, C b) {
  if constexpr (kt<C>::is_bool) return a && b;
  else if constexpr (kt<C>::is_int) return (C)((KZ_W(C))a * (KZ_W(C))b);
  else return kz_mul(a, b);
}
template <class C> KZ_D C b_divide(C a, C b) { return a / b; }
template <class C> KZ_D C b_power(C a, C b) {
  if constexpr (kt<C>::is_int) return kz_ipow(a, b);
  else return m_pow(a, b);
}
template <class C> KZ_D C b_maximum(C a, C b) {
  if constexpr (kt<C>::is_bool) return a || b;
  else if constexpr (kt<C>::is_int) return a > b ? a : b;
  else return (a > b || a != a) ? a : b;
}
template <class C> KZ_D C b_minimum(C a, C b) {
  if constexpr (kt<C>::is_bool) return a && b;
  else if constexpr (kt<C>::is_int) return a < b ? a : b;
  else return (a < b || a != a) ? a : b;
}
template <class C> KZ_D C b_remainder(C a, C b) {
  if constexpr (kt<C>::is_int) {
    if (b == 0) return C(0);
    if constexpr (kt<C>::is_signed) {
      if (b == C(-1)) return C(0);
      C r = (C)(a % b);
      if (r != 0 && ((r < 0) != (b < 0))) r = (C)(r + b);
      return r;
    } else {
      return (C)(a % b);
    }
  } else {
    if (!b) return m_fmod(a, b);
    C m;
    kz_py_divmod(a, b, &m);
    return m;
  }
}
template <class C> KZ_D C b_floor_divide(C a, C b) {
  if constexpr (kt<C>::is_int) {
    if (b == 0) return C(0);
    if constexpr (kt<C>::is_signed) {
      if (b == C(-1)) return (C)((KZ_W(C))0 - (KZ_W(C))a);
      C q = (C)(a / b);
      if ((a % b != 0) && ((a < 0) != (b < 0))) q = (C)(q - 1);
      return q;
    } else {
      return (C)(a / b);
    }
  } else {
    if (!b) return a / b;
    C m;
    return kz_py_divmod(a, b, &m);
  }
}
template <class C> KZ_D bool b_equal(C a, C b) { return a == b; }
template <class C> KZ_D bool b_not_equal(C a, C b) { return a != b; }
template <class C> KZ_D bool b_less(C a, C b) { return a < b; }
template <class C> KZ_D bool b_less_equal(C a, C b) { return a <= b; }
template <class C> KZ_D bool b_greater(C a, C b) { return a > b; }
template <class C> KZ_D bool b_greater_equal(C a, C b) { return a >= b; }
template <class C> KZ_D bool b_logical_and(C a, C b) { return (a != C(0)) && (b != C(0)); }
template <class C> KZ_D bool b_logical_or(C a, C b) { return (a != C(0)) || (b != C(0)); }
template <class C> KZ_D bool b_logical_xor(C a, C b) { return (a != C(0)) != (b != C(0)); }
template <class C> KZ_D C b_logaddexp(C a, C b) {
  if (a == b) return a + C(0.693147180559945309417232121458176568);
  C t = a - b;
  if (t > 0) return a + m_log1p(m_exp(-t));
  if (t <= 0) return b + m_log1p(m_exp(t));
  return t;
}
template <class C> KZ_D C b_arctan2(C a, C b) { return m_atan2(a, b); }
template <class C> KZ_D C b_bitwise_and(C a, C b) {
  if constexpr (kt<C>::is_bool) return a && b;
  else return (C)(a & b);
}
template <class C> KZ_D C b_bitwise_or(C a, C b) {
  if constexpr (kt<C>::is_bool) return a || b;
  else return (C)(a | b);
}
template <class C> KZ_D C b_bitwise_xor(C a, C b) {
  if constexpr (kt<C>::is_bool) return a != b;
  else return (C)(a ^ b);
}
template <class C> KZ_D C b_left_shift(C a, C b) {
  if ((kz_u64)b < sizeof(C) * 8) return (C)((KZ_W(C))a << b);
  return C(0);
}
template <class C> KZ_D C b_right_shift(C a, C b) {
  if ((kz_u64)b < sizeof(C) * 8) return (C)(a >> b);
  if constexpr (kt<C>::is_signed) return a < 0 ? C(-1) : C(0);
  else return C(0);
}
#undef KZ_W

// ---- reductions (backends/cpu/kernels/reduce_ops.h Rule) ----
template <class A> KZ_D A kz_lowest() {
  if constexpr (kt<A>::is_float) return -(A)__int_as_float(0x7f800000);
  else if constexpr (kt<A>::is_bool) return false;
  else if constexpr (kt<A>::is_signed) return (A)((typename kt<A>::uns)1 << (sizeof(A) * 8 - 1));
  else return (A)0;
}
template <class A> KZ_D A kz_highest() {
  if constexpr (kt<A>::is_float) return (A)__int_as_float(0x7f800000);
  else if constexpr (kt<A>::is_bool) return true;
  else if constexpr (kt<A>::is_signed) return (A)(((typename kt<A>::uns)1 << (sizeof(A) * 8 - 1)) - 1);
  else return (A)~(A)0;
}
// OP: 0 sum, 1 prod, 2 max, 3 min, 4 all, 5 any
template <int OP, class A> KZ_D A kz_identity() {
  if constexpr (OP == 0) return A(0);
  else if constexpr (OP == 1) return A(1);
  else if constexpr (OP == 2) return kz_lowest<A>();
  else if constexpr (OP == 3) return kz_highest<A>();
  else return OP == 4;
}
template <int OP, class A> KZ_D void kz_step(A& a, A x) {
  if constexpr (OP == 0) a = a + x;
  else if constexpr (OP == 1) a = a * x;
  else if constexpr (OP == 2 || OP == 3) {
    A m = (OP == 2 ? x > a : x < a) ? x : a;
    a = kz_nan(x) ? x : m;
  } else if constexpr (OP == 4) a = a && x;
  else a = a || x;
}
// Combines the values of the G threads of each row (lanes tid - lane .. + G) in a fixed tree; every
// thread of the block calls it (it synchronises the block).
template <int OP, class A> KZ_D A kz_group_reduce(A v, kz_u64* sh, int tid, int lane, int G) {
  A* s = (A*)sh;
  s[tid] = v;
  __syncthreads();
  for (int st = G >> 1; st > 0; st >>= 1) {
    if (lane < st) {
      A a = s[tid];
      kz_step<OP, A>(a, s[tid + st]);
      s[tid] = a;
    }
    __syncthreads();
  }
  A r = s[tid - lane];
  __syncthreads();
  return r;
}
// ---- end of prelude ----
)KZ";

// float32 erf as the eager kernels compute it (backends/cuda/kernels/unary.cu erf_f32, the CPU's
// AVX2 erf_ps): the same tables (elementwise_math.h, written as exact hex literals) and the same
// FMAs, so a fused erf gives the eager GPU kernel's bits and its 1.09 ulp bound (erff allows 2).
std::string fz_erf_source() {
  auto hex = [](float v) {
    char b[48];
    std::snprintf(b, sizeof b, "%af", (double)v);
    return std::string(b);
  };
  std::string o = "__device__ const float kz_erf_poly[8][8] = {";
  for (int j = 0; j < 8; j++) {
    o += j ? ",\n  {" : "\n  {";
    for (int k = 0; k < 8; k++) o += (k ? ", " : "") + hex(ew::kErfPoly[j][k]);
    o += "}";
  }
  o += "};\n__device__ const float kz_erf_centre[8] = {";
  for (int k = 0; k < 8; k++) o += (k ? ", " : "") + hex(ew::kErfCentre[k]);
  o += "};\n__device__ const float kz_erf_linear[8] = {";
  for (int k = 0; k < 8; k++) o += (k ? ", " : "") + hex(ew::kErfLinear[k]);
  o += "};\n";
  o += R"KZ(KZ_D float m_erf(float x) {
  const float a = __uint_as_float(__float_as_uint(x) & 0x7fffffffu);
  const float ax = 4.0f < a ? 4.0f : a;  // min(4, |x|): NaN stays NaN
  int k = ax == ax ? (int)(ax * 2.0f) : 0;  // truncation; NaN takes piece 0 (the result is NaN)
  k = k < 7 ? k : 7;
  const float t = ax - kz_erf_centre[k];
  float p = kz_erf_poly[7][k];
  for (int j = 6; j >= 1; j--) p = fmaf(p, t, kz_erf_poly[j][k]);
  p = fmaf(p, t, fmaf(t, kz_erf_linear[k], kz_erf_poly[0][k]));
  p = 1.0f < p ? 1.0f : p;  // min(1, p)
  return __uint_as_float(__float_as_uint(p) | (__float_as_uint(x) & 0x80000000u));  // odd, erf(-0) = -0
}
)KZ";
  return o;
}

// The prelude with its generated parts filled in (built once).
}  // namespace

const std::string& fz_prelude() {
  static const std::string p = [] {
    std::string s = kPrelude;
    const std::string mark = "%ERF_F32%";
    s.replace(s.find(mark), mark.size(), fz_erf_source());
    return s;
  }();
  return p;
}

}  // namespace cuda
}  // namespace kiln
