// The elementwise operations of fused programs: for every unary and binary op code (ops.h), the
// dtype classes it accepts, a scalar f() over compute types with the exact semantics of the eager
// kernels (unary.cc, binary.cc: wrapping integer arithmetic, numpy's floor division and remainder,
// NaN-propagating maximum ...) and, for float32, an 8-wide AVX2 v() where the eager kernel has one.
#pragma once
#include "fused_math.h"

namespace kiln {
namespace fz {

using ew::Wide;
using ew::kDomAll;
using ew::kDomBool;
using ew::kDomFloat;
using ew::kDomInt;
using ew::kDomIntBool;
using ew::kDomNum;

#if KILN_SIMD
#define KILN_FZ_VEC1(expr) \
  static constexpr bool vec = true; \
  KILN_AVX2 static __m256 v(__m256 x) { return expr; }
#define KILN_FZ_VEC2(expr) \
  static constexpr bool vec = true; \
  KILN_AVX2 static __m256 v(__m256 a, __m256 b) { return expr; }
#else
#define KILN_FZ_VEC1(expr)
#define KILN_FZ_VEC2(expr)
#endif

template <class C> constexpr bool is_int = std::is_integral_v<C> && !std::is_same_v<C, bool>;

namespace uop {

struct Base { static constexpr bool vec = false, pred = false; };
struct Pred : Base { static constexpr bool pred = true; static constexpr unsigned dom = kDomAll; };

struct neg : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C x) {
    if constexpr (std::is_integral_v<C>) return (C)(Wide<C>(0) - (Wide<C>)x);
    else return -x;
  }
  KILN_FZ_VEC1(_mm256_xor_ps(x, v1(-0.0f)))
};
struct abs : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> static C f(C x) {
    if constexpr (std::is_same_v<C, bool> || std::is_unsigned_v<C>) return x;
    else if constexpr (std::is_integral_v<C>) return x < 0 ? (C)(Wide<C>(0) - (Wide<C>)x) : x;
    else return std::fabs(x);
  }
  KILN_FZ_VEC1(abs_ps(x))
};
struct sign : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C x) {
    if constexpr (std::is_unsigned_v<C>) return (C)(x > 0);
    else if constexpr (std::is_integral_v<C>) return (C)((x > 0) - (x < 0));
    else return x != x ? x : (C)((x > 0) - (x < 0));
  }
};
struct square : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C x) {
    if constexpr (std::is_integral_v<C>) return (C)((Wide<C>)x * (Wide<C>)x);
    else return x * x;
  }
  KILN_FZ_VEC1(_mm256_mul_ps(x, x))
};
#define KILN_FZ_ROUNDING(name, expr, mode)                \
  struct name : Base {                                    \
    static constexpr unsigned dom = kDomNum;              \
    template <class C> static C f(C x) {                  \
      if constexpr (std::is_integral_v<C>) return x;      \
      else return expr;                                   \
    }                                                     \
    KILN_FZ_VEC1(_mm256_round_ps(x, mode | _MM_FROUND_NO_EXC)) \
  };
KILN_FZ_ROUNDING(floor, std::floor(x), _MM_FROUND_TO_NEG_INF)
KILN_FZ_ROUNDING(ceil, std::ceil(x), _MM_FROUND_TO_POS_INF)
KILN_FZ_ROUNDING(round, round_even(x), _MM_FROUND_TO_NEAREST_INT)
KILN_FZ_ROUNDING(trunc, std::trunc(x), _MM_FROUND_TO_ZERO)
#undef KILN_FZ_ROUNDING

#define KILN_FZ_FLOAT(name, expr, vexpr)                  \
  struct name : Base {                                    \
    static constexpr unsigned dom = kDomFloat;            \
    template <class C> static C f(C x) { return expr; }   \
    vexpr                                                 \
  };
#define KILN_FZ_NOVEC
KILN_FZ_FLOAT(exp, std::exp(x), KILN_FZ_VEC1(exp_ps(x)))
KILN_FZ_FLOAT(log, std::log(x), KILN_FZ_VEC1(log_ps(x)))
KILN_FZ_FLOAT(sqrt, std::sqrt(x), KILN_FZ_VEC1(_mm256_sqrt_ps(x)))
KILN_FZ_FLOAT(rsqrt, C(1) / std::sqrt(x), KILN_FZ_VEC1(_mm256_div_ps(v1(1.0f), _mm256_sqrt_ps(x))))
KILN_FZ_FLOAT(reciprocal, C(1) / x, KILN_FZ_VEC1(_mm256_div_ps(v1(1.0f), x)))
KILN_FZ_FLOAT(tanh, std::tanh(x), KILN_FZ_VEC1(tanh_ps(x)))
KILN_FZ_FLOAT(sigmoid, x >= 0 ? C(1) / (C(1) + std::exp(-x)) : std::exp(x) / (C(1) + std::exp(x)),
              KILN_FZ_VEC1(sigmoid_ps(x)))
KILN_FZ_FLOAT(sin, std::sin(x), KILN_FZ_VEC1(sincos_ps<false>(x)))
KILN_FZ_FLOAT(cos, std::cos(x), KILN_FZ_VEC1(sincos_ps<true>(x)))
KILN_FZ_FLOAT(tan, std::tan(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(erf, std::erf(x), KILN_FZ_VEC1(erf_ps(x)))
KILN_FZ_FLOAT(expm1, std::expm1(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(log1p, std::log1p(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(log2, std::log2(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(log10, std::log10(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(arcsin, std::asin(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(arccos, std::acos(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(arctan, std::atan(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(sinh, std::sinh(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(cosh, std::cosh(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(arcsinh, std::asinh(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(arccosh, std::acosh(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(arctanh, std::atanh(x), KILN_FZ_NOVEC)
KILN_FZ_FLOAT(erfinv, (C)erfinv_d((double)x, sizeof(C) == 8 ? 1e-15 : 1e-9), KILN_FZ_NOVEC)
#undef KILN_FZ_NOVEC
#undef KILN_FZ_FLOAT

struct logical_not : Pred {
  template <class C> static bool f(C x) { return !(x != C(0)); }
};
struct isnan : Pred {
  template <class C> static bool f(C x) {
    if constexpr (std::is_floating_point_v<C>) return std::isnan(x);
    else return false;
  }
};
struct isinf : Pred {
  template <class C> static bool f(C x) {
    if constexpr (std::is_floating_point_v<C>) return std::isinf(x);
    else return false;
  }
};
struct isfinite : Pred {
  template <class C> static bool f(C x) {
    if constexpr (std::is_floating_point_v<C>) return std::isfinite(x);
    else return true;
  }
};
struct bitwise_invert : Base {
  static constexpr unsigned dom = kDomIntBool;
  template <class C> static C f(C x) {
    if constexpr (std::is_same_v<C, bool>) return !x;
    else return (C)~x;
  }
};

}  // namespace uop

// numpy's npy_divmod for floats (binary.cc).
template <typename C> inline C py_divmod(C a, C b, C* modulus) {
  C mod = std::fmod(a, b);
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
    mod = std::copysign(C(0), b);
  }
  C floordiv;
  if (div) {
    floordiv = std::floor(div);
    if (div - floordiv > C(0.5)) floordiv += C(1);
  } else {
    floordiv = std::copysign(C(0), a / b);
  }
  *modulus = mod;
  return floordiv;
}

// Integer power by squaring with wrapping; negative exponents give the truncated real result.
template <typename C> inline C ipow(C a, C b) {
  if constexpr (std::is_signed_v<C>) {
    if (b < 0) {
      if (a == 1) return C(1);
      if (a == -1) return (b & 1) ? C(-1) : C(1);
      return C(0);
    }
  }
  using W = Wide<C>;
  W r = 1, base = (W)a;
  std::make_unsigned_t<C> e = (std::make_unsigned_t<C>)b;
  while (e) {
    if (e & 1) r *= base;
    e >>= 1;
    if (e) base *= base;
  }
  return (C)r;
}

#if KILN_SIMD
KILN_AVX2 inline __m256 nan_mask(__m256 x) { return _mm256_cmp_ps(x, x, _CMP_UNORD_Q); }
#endif

namespace bop {

struct Base { static constexpr bool vec = false, pred = false; };
struct Pred : Base { static constexpr bool pred = true; static constexpr unsigned dom = kDomAll; };

struct add : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a || b;
    else if constexpr (is_int<C>) return (C)((Wide<C>)a + (Wide<C>)b);
    else return a + b;
  }
  KILN_FZ_VEC2(_mm256_add_ps(a, b))
};
struct subtract : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C a, C b) {
    if constexpr (is_int<C>) return (C)((Wide<C>)a - (Wide<C>)b);
    else return a - b;
  }
  KILN_FZ_VEC2(_mm256_sub_ps(a, b))
};
struct multiply : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a && b;
    else if constexpr (is_int<C>) return (C)((Wide<C>)a * (Wide<C>)b);
    else return a * b;
  }
  KILN_FZ_VEC2(_mm256_mul_ps(a, b))
};
struct divide : Base {
  static constexpr unsigned dom = kDomFloat;
  template <class C> static C f(C a, C b) { return a / b; }
  KILN_FZ_VEC2(_mm256_div_ps(a, b))
};
struct power : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C a, C b) {
    if constexpr (is_int<C>) return ipow(a, b);
    else return std::pow(a, b);
  }
};
struct maximum : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a || b;
    else if constexpr (is_int<C>) return a > b ? a : b;
    else return (a > b || a != a) ? a : b;
  }
  KILN_FZ_VEC2(_mm256_blendv_ps(_mm256_max_ps(a, b), a, nan_mask(a)))
};
struct minimum : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a && b;
    else if constexpr (is_int<C>) return a < b ? a : b;
    else return (a < b || a != a) ? a : b;
  }
  KILN_FZ_VEC2(_mm256_blendv_ps(_mm256_min_ps(a, b), a, nan_mask(a)))
};
struct remainder : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C a, C b) {
    if constexpr (is_int<C>) {
      if (b == 0) return C(0);
      if constexpr (std::is_signed_v<C>) {
        if (b == C(-1)) return C(0);
        C r = (C)(a % b);
        if (r != 0 && ((r < 0) != (b < 0))) r = (C)(r + b);
        return r;
      } else {
        return (C)(a % b);
      }
    } else {
      if (!b) return std::fmod(a, b);
      C m;
      py_divmod(a, b, &m);
      return m;
    }
  }
};
struct floor_divide : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C a, C b) {
    if constexpr (is_int<C>) {
      if (b == 0) return C(0);
      if constexpr (std::is_signed_v<C>) {
        if (b == C(-1)) return (C)(Wide<C>(0) - (Wide<C>)a);
        C q = (C)(a / b);
        if ((a % b != 0) && ((a < 0) != (b < 0))) q = (C)(q - 1);
        return q;
      } else {
        return (C)(a / b);
      }
    } else {
      if (!b) return a / b;
      C m;
      return py_divmod(a, b, &m);
    }
  }
};
#define KILN_FZ_CMP(name, expr) \
  struct name : Pred { template <class C> static bool f(C a, C b) { return expr; } };
KILN_FZ_CMP(equal, a == b)
KILN_FZ_CMP(not_equal, a != b)
KILN_FZ_CMP(less, a < b)
KILN_FZ_CMP(less_equal, a <= b)
KILN_FZ_CMP(greater, a > b)
KILN_FZ_CMP(greater_equal, a >= b)
KILN_FZ_CMP(logical_and, (a != C(0)) && (b != C(0)))
KILN_FZ_CMP(logical_or, (a != C(0)) || (b != C(0)))
KILN_FZ_CMP(logical_xor, (a != C(0)) != (b != C(0)))
#undef KILN_FZ_CMP
struct logaddexp : Base {
  static constexpr unsigned dom = kDomFloat;
  template <class C> static C f(C a, C b) {
    if (a == b) return a + C(0.693147180559945309417232121458176568);
    C t = a - b;
    if (t > 0) return a + std::log1p(std::exp(-t));
    if (t <= 0) return b + std::log1p(std::exp(t));
    return t;
  }
};
struct arctan2 : Base {
  static constexpr unsigned dom = kDomFloat;
  template <class C> static C f(C a, C b) { return std::atan2(a, b); }
};
struct bitwise_and : Base {
  static constexpr unsigned dom = kDomIntBool;
  template <class C> static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a && b;
    else return (C)(a & b);
  }
};
struct bitwise_or : Base {
  static constexpr unsigned dom = kDomIntBool;
  template <class C> static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a || b;
    else return (C)(a | b);
  }
};
struct bitwise_xor : Base {
  static constexpr unsigned dom = kDomIntBool;
  template <class C> static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a != b;
    else return (C)(a ^ b);
  }
};
struct left_shift : Base {
  static constexpr unsigned dom = kDomInt;
  template <class C> static C f(C a, C b) {
    if ((uint64_t)b < sizeof(C) * 8) return (C)((Wide<C>)a << b);
    return C(0);
  }
};
struct right_shift : Base {
  static constexpr unsigned dom = kDomInt;
  template <class C> static C f(C a, C b) {
    if ((uint64_t)b < sizeof(C) * 8) return (C)(a >> b);
    if constexpr (std::is_signed_v<C>) return a < 0 ? C(-1) : C(0);
    else return C(0);
  }
};

}  // namespace bop
#undef KILN_FZ_VEC1
#undef KILN_FZ_VEC2

template <class F> void with_unary(int op, F&& f) {
  switch ((UnaryOp)op) {
#define KILN_CASE(n) case UnaryOp::n: f(uop::n{}); break;
    KILN_UNARY_OPS(KILN_CASE)
#undef KILN_CASE
    default: break;
  }
}
template <class F> void with_binary(int op, F&& f) {
  switch ((BinaryOp)op) {
#define KILN_CASE(n) case BinaryOp::n: f(bop::n{}); break;
    KILN_BINARY_OPS(KILN_CASE)
#undef KILN_CASE
    default: break;
  }
}

}  // namespace fz
}  // namespace kiln
