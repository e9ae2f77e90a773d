// The elementwise ops, one definition for the eager kernels (unary.cc, binary.cc) and the
// fused-program interpreter (fused.cc), so eager and fused results agree bit for bit by
// construction. Each op is a struct naming the dtype classes it accepts (dom), a scalar f() over
// compute types and, where worthwhile, an 8-wide AVX2 v() used for float32 (and, eagerly, for
// float16/bfloat16 through float32). Flags: pred (bool result), hot (worth a tight vectorised
// loop eagerly), vcmp (binary predicates with an AVX2 lane-mask m()).
#pragma once
#include "elementwise_math.h"

namespace kiln {
namespace ew {

// ---- unary ops ------------------------------------------------------------------------------

#if KILN_SIMD
#define KILN_VEC(expr)              \
  static constexpr bool vec = true; \
  KILN_AVX2 static __m256 v(__m256 x) { return expr; }
#else
#define KILN_VEC(expr) static constexpr bool vec = false;
#endif

// f(x) takes the compute type (float for the 16-bit floats) and returns it, or bool for predicates.

namespace uop {

// hot = false: libm-bound ops get only the generic strided loop (compile time).
struct Base {
  static constexpr bool vec = false, pred = false, hot = true;
};
struct Pred : Base {
  static constexpr bool pred = true;
  static constexpr unsigned dom = kDomAll;
};

struct neg : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> KILN_HD static C f(C x) {
    if constexpr (std::is_integral_v<C>) return (C)(Wide<C>(0) - (Wide<C>)x);  // wraps
    else return -x;
  }
  KILN_VEC(_mm256_xor_ps(x, v1(-0.0f)))
};
struct abs : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> KILN_HD static C f(C x) {
    if constexpr (std::is_same_v<C, bool> || std::is_unsigned_v<C>) return x;
    else if constexpr (std::is_integral_v<C>) return x < 0 ? (C)(Wide<C>(0) - (Wide<C>)x) : x;  // abs(MIN) == MIN
    else return std::fabs(x);
  }
  KILN_VEC(abs_ps(x))
};
struct sign : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> KILN_HD static C f(C x) {
    if constexpr (std::is_unsigned_v<C>) return (C)(x > 0);
    else if constexpr (std::is_integral_v<C>) return (C)((x > 0) - (x < 0));
    else return x != x ? x : (C)((x > 0) - (x < 0));  // NaN stays NaN, sign(-0) = 0
  }
};
struct square : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> KILN_HD static C f(C x) {
    if constexpr (std::is_integral_v<C>) return (C)((Wide<C>)x * (Wide<C>)x);
    else return x * x;
  }
  KILN_VEC(_mm256_mul_ps(x, x))
};

// floor/ceil/round/trunc: identity on integers
#define KILN_ROUNDING(name, expr, mode)                    \
  struct name : Base {                                     \
    static constexpr unsigned dom = kDomNum;               \
    template <class C> KILN_HD static C f(C x) {           \
      if constexpr (std::is_integral_v<C>) return x;       \
      else return expr;                                    \
    }                                                      \
    KILN_VEC(_mm256_round_ps(x, mode | _MM_FROUND_NO_EXC)) \
  };
KILN_ROUNDING(floor, std::floor(x), _MM_FROUND_TO_NEG_INF)
KILN_ROUNDING(ceil, std::ceil(x), _MM_FROUND_TO_POS_INF)
KILN_ROUNDING(round, round_even(x), _MM_FROUND_TO_NEAREST_INT)
KILN_ROUNDING(trunc, std::trunc(x), _MM_FROUND_TO_ZERO)
#undef KILN_ROUNDING

// float-only ops
#define KILN_FLOAT_OP(name, expr, vexpr)                        \
  struct name : Base {                                          \
    static constexpr unsigned dom = kDomFloat;                  \
    template <class C> KILN_HD static C f(C x) { return expr; } \
    vexpr static constexpr bool hot = vec;                      \
  };
#define KILN_NOVEC
KILN_FLOAT_OP(exp, std::exp(x), KILN_VEC(exp_ps(x)))
KILN_FLOAT_OP(log, std::log(x), KILN_VEC(log_ps(x)))
KILN_FLOAT_OP(sqrt, std::sqrt(x), KILN_VEC(_mm256_sqrt_ps(x)))
KILN_FLOAT_OP(rsqrt, C(1) / std::sqrt(x), KILN_VEC(_mm256_div_ps(v1(1.0f), _mm256_sqrt_ps(x))))
KILN_FLOAT_OP(reciprocal, C(1) / x, KILN_VEC(_mm256_div_ps(v1(1.0f), x)))
KILN_FLOAT_OP(tanh, std::tanh(x), KILN_VEC(tanh_ps(x)))
KILN_FLOAT_OP(sigmoid, x >= 0 ? C(1) / (C(1) + std::exp(-x)) : std::exp(x) / (C(1) + std::exp(x)),
              KILN_VEC(sigmoid_ps(x)))
KILN_FLOAT_OP(sin, std::sin(x), KILN_VEC(sincos_ps<false>(x)))
KILN_FLOAT_OP(cos, std::cos(x), KILN_VEC(sincos_ps<true>(x)))
KILN_FLOAT_OP(tan, std::tan(x), KILN_NOVEC)
KILN_FLOAT_OP(erf, std::erf(x), KILN_VEC(erf_ps(x)))
KILN_FLOAT_OP(expm1, std::expm1(x), KILN_NOVEC)
KILN_FLOAT_OP(log1p, std::log1p(x), KILN_NOVEC)
KILN_FLOAT_OP(log2, std::log2(x), KILN_NOVEC)
KILN_FLOAT_OP(log10, std::log10(x), KILN_NOVEC)
KILN_FLOAT_OP(arcsin, std::asin(x), KILN_NOVEC)
KILN_FLOAT_OP(arccos, std::acos(x), KILN_NOVEC)
KILN_FLOAT_OP(arctan, std::atan(x), KILN_NOVEC)
KILN_FLOAT_OP(sinh, std::sinh(x), KILN_NOVEC)
KILN_FLOAT_OP(cosh, std::cosh(x), KILN_NOVEC)
KILN_FLOAT_OP(arcsinh, std::asinh(x), KILN_NOVEC)
KILN_FLOAT_OP(arccosh, std::acosh(x), KILN_NOVEC)
KILN_FLOAT_OP(arctanh, std::atanh(x), KILN_NOVEC)
// computed in double for every float type
KILN_FLOAT_OP(erfinv, (C)erfinv_d((double)x, sizeof(C) == 8 ? 1e-15 : 1e-9), KILN_NOVEC)
#undef KILN_NOVEC
#undef KILN_FLOAT_OP

struct logical_not : Pred {
  template <class C> KILN_HD static bool f(C x) { return !(x != C(0)); }  // NaN is truthy
};
struct isnan : Pred {
  template <class C> KILN_HD static bool f(C x) {
    if constexpr (std::is_floating_point_v<C>) return std::isnan(x);
    else return false;
  }
};
struct isinf : Pred {
  template <class C> KILN_HD static bool f(C x) {
    if constexpr (std::is_floating_point_v<C>) return std::isinf(x);
    else return false;
  }
};
struct isfinite : Pred {
  template <class C> KILN_HD static bool f(C x) {
    if constexpr (std::is_floating_point_v<C>) return std::isfinite(x);
    else return true;
  }
};
struct bitwise_invert : Base {
  static constexpr unsigned dom = kDomIntBool;
  template <class C> KILN_HD static C f(C x) {
    if constexpr (std::is_same_v<C, bool>) return !x;
    else return (C)~x;
  }
};

}  // namespace uop
#undef KILN_VEC

inline constexpr const char* kUnaryNames[] = {
#define KILN_NAME(n) #n,
    KILN_UNARY_OPS(KILN_NAME)
#undef KILN_NAME
};

template <class F> void with_unary_op(int op, F&& f) {
  switch ((UnaryOp)op) {
#define KILN_CASE(n) \
  case UnaryOp::n: f(uop::n{}); break;
    KILN_UNARY_OPS(KILN_CASE)
#undef KILN_CASE
    default: break;
  }
}

// ---- binary ops -----------------------------------------------------------------------------

// numpy's npy_divmod: Python-style floor division and remainder for floats.
template <typename C> KILN_HD inline C py_divmod(C a, C b, C* modulus) {
  C mod = std::fmod(a, b);
  if (!b) {  // b == 0: fmod gives NaN, the quotient inf or NaN
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

// Integer power by squaring, wrapping on overflow. numpy raises for negative exponents
// ("Integers to negative integer powers are not allowed"); we return the truncated real
// result instead: 1 for base 1, +-1 for base -1, 0 otherwise (also for base 0).
template <typename C> KILN_HD inline C ipow(C a, C b) {
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
#define KILN_VEC(expr)              \
  static constexpr bool vec = true; \
  KILN_AVX2 static __m256 v(__m256 a, __m256 b) { return expr; }
#else
#define KILN_VEC(expr)
#endif

namespace bop {

// hot = false: ops dominated by division or libm get only the generic strided loop (compile time).
struct Base {
  static constexpr bool vec = false, pred = false, vcmp = false, hot = true;
};
struct Cold : Base {
  static constexpr bool hot = false;
};
struct Pred : Base {
  static constexpr bool pred = true;
  static constexpr unsigned dom = kDomAll;
};

template <class C> constexpr bool is_int = std::is_integral_v<C> && !std::is_same_v<C, bool>;

// bool: add = or, multiply = and (numpy)
struct add : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> KILN_HD static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a || b;
    else if constexpr (is_int<C>) return (C)((Wide<C>)a + (Wide<C>)b);
    else return a + b;
  }
  KILN_VEC(_mm256_add_ps(a, b))
};
struct subtract : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> KILN_HD static C f(C a, C b) {
    if constexpr (is_int<C>) return (C)((Wide<C>)a - (Wide<C>)b);
    else return a - b;
  }
  KILN_VEC(_mm256_sub_ps(a, b))
};
struct multiply : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> KILN_HD static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a && b;
    else if constexpr (is_int<C>) return (C)((Wide<C>)a * (Wide<C>)b);
    else return a * b;
  }
  KILN_VEC(_mm256_mul_ps(a, b))
};
struct divide : Base {
  static constexpr unsigned dom = kDomFloat;
  template <class C> KILN_HD static C f(C a, C b) { return a / b; }
  KILN_VEC(_mm256_div_ps(a, b))
};
struct power : Cold {
  static constexpr unsigned dom = kDomNum;
  template <class C> KILN_HD static C f(C a, C b) {
    if constexpr (is_int<C>) return ipow(a, b);
    else return std::pow(a, b);
  }
};
// NaN in either input gives NaN (numpy); equal values give b, like numpy's SIMD loops.
struct maximum : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> KILN_HD static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a || b;
    else if constexpr (is_int<C>) return a > b ? a : b;
    else return (a > b || a != a) ? a : b;
  }
  KILN_VEC(_mm256_blendv_ps(_mm256_max_ps(a, b), a, nan_mask(a)))
};
struct minimum : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> KILN_HD static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a && b;
    else if constexpr (is_int<C>) return a < b ? a : b;
    else return (a < b || a != a) ? a : b;
  }
  KILN_VEC(_mm256_blendv_ps(_mm256_min_ps(a, b), a, nan_mask(a)))
};
// Python semantics: the remainder has the sign of the divisor. Integer x % 0 and x // 0 give 0
// (numpy warns and gives 0); MIN // -1 wraps to MIN.
struct remainder : Cold {
  static constexpr unsigned dom = kDomNum;
  template <class C> KILN_HD static C f(C a, C b) {
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
struct floor_divide : Cold {
  static constexpr unsigned dom = kDomNum;
  template <class C> KILN_HD static C f(C a, C b) {
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

// Predicates: bool output. m(a, b) is the AVX2 version as a lane mask.
#if KILN_SIMD
#define KILN_CMP(name, expr, mexpr)                                     \
  struct name : Pred {                                                  \
    template <class C> KILN_HD static bool f(C a, C b) { return expr; } \
    static constexpr bool vcmp = true;                                  \
    KILN_AVX2 static __m256 m(__m256 a, __m256 b) { return mexpr; }     \
  };
KILN_AVX2 inline __m256 truthy(__m256 x) { return _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NEQ_UQ); }
#else
#define KILN_CMP(name, expr, mexpr)                                     \
  struct name : Pred {                                                  \
    template <class C> KILN_HD static bool f(C a, C b) { return expr; } \
  };
#endif
KILN_CMP(equal, a == b, _mm256_cmp_ps(a, b, _CMP_EQ_OQ))
KILN_CMP(not_equal, a != b, _mm256_cmp_ps(a, b, _CMP_NEQ_UQ))
KILN_CMP(less, a < b, _mm256_cmp_ps(a, b, _CMP_LT_OQ))
KILN_CMP(less_equal, a <= b, _mm256_cmp_ps(a, b, _CMP_LE_OQ))
KILN_CMP(greater, a > b, _mm256_cmp_ps(a, b, _CMP_GT_OQ))
KILN_CMP(greater_equal, a >= b, _mm256_cmp_ps(a, b, _CMP_GE_OQ))
KILN_CMP(logical_and, (a != C(0)) && (b != C(0)), _mm256_and_ps(truthy(a), truthy(b)))
KILN_CMP(logical_or, (a != C(0)) || (b != C(0)), _mm256_or_ps(truthy(a), truthy(b)))
KILN_CMP(logical_xor, (a != C(0)) != (b != C(0)), _mm256_xor_ps(truthy(a), truthy(b)))
#undef KILN_CMP

// log(exp(a) + exp(b)) without overflow, as numpy computes it
struct logaddexp : Cold {
  static constexpr unsigned dom = kDomFloat;
  template <class C> KILN_HD static C f(C a, C b) {
    if (a == b) return a + C(0.693147180559945309417232121458176568);  // also inf, inf and -inf, -inf
    C t = a - b;
    if (t > 0) return a + std::log1p(std::exp(-t));
    if (t <= 0) return b + std::log1p(std::exp(t));
    return t;  // NaN
  }
};
struct arctan2 : Cold {
  static constexpr unsigned dom = kDomFloat;
  template <class C> KILN_HD static C f(C a, C b) { return std::atan2(a, b); }
};

struct bitwise_and : Base {
  static constexpr unsigned dom = kDomIntBool;
  template <class C> KILN_HD static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a && b;
    else return (C)(a & b);
  }
};
struct bitwise_or : Base {
  static constexpr unsigned dom = kDomIntBool;
  template <class C> KILN_HD static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a || b;
    else return (C)(a | b);
  }
};
struct bitwise_xor : Base {
  static constexpr unsigned dom = kDomIntBool;
  template <class C> KILN_HD static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a != b;
    else return (C)(a ^ b);
  }
};
// Shift counts that are negative or >= the bit width give 0 (left) or the sign fill (right), as in numpy.
struct left_shift : Cold {
  static constexpr unsigned dom = kDomInt;
  template <class C> KILN_HD static C f(C a, C b) {
    if ((uint64_t)b < sizeof(C) * 8) return (C)((Wide<C>)a << b);
    return C(0);
  }
};
struct right_shift : Cold {
  static constexpr unsigned dom = kDomInt;
  template <class C> KILN_HD static C f(C a, C b) {
    if ((uint64_t)b < sizeof(C) * 8) return (C)(a >> b);  // arithmetic for signed types
    if constexpr (std::is_signed_v<C>) return a < 0 ? C(-1) : C(0);
    else return C(0);
  }
};

}  // namespace bop
#undef KILN_VEC

inline constexpr const char* kBinaryNames[] = {
#define KILN_NAME(n) #n,
    KILN_BINARY_OPS(KILN_NAME)
#undef KILN_NAME
};

template <class F> void with_binary_op(int op, F&& f) {
  switch ((BinaryOp)op) {
#define KILN_CASE(n) \
  case BinaryOp::n: f(bop::n{}); break;
    KILN_BINARY_OPS(KILN_CASE)
#undef KILN_CASE
    default: break;
  }
}

}  // namespace ew
}  // namespace kiln
