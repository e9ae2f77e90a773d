// unary: out = op(in) elementwise. Each op is a struct naming the dtype classes it accepts, a
// scalar f() for every accepted compute type and, where worthwhile, an 8-wide AVX2 v() used for
// float32/float16/bfloat16 (chosen at run time; any layout goes through it, gathered in blocks).
#include "elementwise.h"

namespace kiln {
namespace ew {
namespace {

// ---- scalar helpers -------------------------------------------------------------------------

// Round half to even without depending on the FP environment: adding 2^23 (2^52) to a value below
// it leaves no fraction bits, so the hardware's round-to-nearest-even does the work.
template <typename C> inline C round_even(C x) {
  const C big = sizeof(C) == 4 ? (C)8388608.0 : (C)4503599627370496.0;
  C ax = std::fabs(x);
  if (ax < big) return std::copysign((ax + big) - big, x);
  return x;  // already integral, inf or NaN
}

// erfinv: Giles' single-precision approximation as the first guess, then Halley steps on
// erf(x) - y for |y| <= 0.5, Newton steps on log(erfc(x)) - log(1 - |y|) in the tail (no
// cancellation near |y| = 1, and fast convergence from the rough guess the approximation gives
// beyond float range), until the step is below tol relative to x.
inline double erfinv_d(double y, double tol) {
  if (!(y >= -1.0 && y <= 1.0)) return std::numeric_limits<double>::quiet_NaN();
  if (y == 0.0) return y;
  double a = std::fabs(y);
  if (a == 1.0) return std::copysign(std::numeric_limits<double>::infinity(), y);
  double w = -std::log((1.0 - a) * (1.0 + a)), p;
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
    w = std::sqrt(w) - 3.0;
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
  double x = p * a, lq = std::log1p(-a);
  for (int k = 0; k < 8; k++) {
    double d = 1.1283791670955126 * std::exp(-x * x);  // erf'(x)
    double dx;
    if (a <= 0.5) {
      double u = (std::erf(x) - a) / d;
      dx = -u / (1.0 + x * u);  // Halley: erf'' = -2x erf'
    } else {
      double e = std::erfc(x);
      dx = (std::log(e) - lq) * e / d;
    }
    x += dx;
    if (!(std::fabs(dx) > tol * x)) break;
  }
  return std::copysign(x, y);
}

#if KILN_SIMD
// ---- AVX2 float32 math (Cephes-style polynomials, ~1 ulp) -----------------------------------

KILN_AVX2 inline __m256 v1(float v) { return _mm256_set1_ps(v); }
KILN_AVX2 inline __m256 isnan_ps(__m256 x) { return _mm256_cmp_ps(x, x, _CMP_UNORD_Q); }
KILN_AVX2 inline __m256 abs_ps(__m256 x) { return _mm256_andnot_ps(v1(-0.0f), x); }

// Shared by exp and expm1: x = n ln2 + r with |r| <= ln2/2; returns expm1(r), sets n.
KILN_AVX2 inline __m256 expm1_reduced_ps(__m256 x, __m256* n_out) {
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, v1(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, v1(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, v1(-2.12194440e-4f), r);
  __m256 p = v1(1.9875691500E-4f);
  p = _mm256_fmadd_ps(p, r, v1(1.3981999507E-3f));
  p = _mm256_fmadd_ps(p, r, v1(8.3334519073E-3f));
  p = _mm256_fmadd_ps(p, r, v1(4.1665795894E-2f));
  p = _mm256_fmadd_ps(p, r, v1(1.6666665459E-1f));
  p = _mm256_fmadd_ps(p, r, v1(5.0000001201E-1f));
  *n_out = n;
  return _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
}

KILN_AVX2 inline __m256 exp_ps(__m256 x) {
  __m256 xc = _mm256_max_ps(_mm256_min_ps(x, v1(89.0f)), v1(-104.0f));
  __m256 n;
  __m256 p = _mm256_add_ps(expm1_reduced_ps(xc, &n), v1(1.0f));
  // scale by 2^n in two steps so results in the subnormal range round once, and overflow gives inf
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
  __m256 res = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  return _mm256_blendv_ps(res, x, isnan_ps(x));
}

KILN_AVX2 inline __m256 log_ps(__m256 x) {
  // lanes that are not positive normal finite numbers take the fix-ups below (rare)
  __m256 normal = _mm256_and_ps(_mm256_cmp_ps(x, v1(1.17549435e-38f), _CMP_GE_OQ), _mm256_cmp_ps(x, v1(INFINITY), _CMP_LT_OQ));
  bool all_normal = _mm256_movemask_ps(normal) == 0xff;
  __m256 xs = x, ebias = v1(0.0f);
  if (!all_normal) {  // subnormals: scale into the normal range first
    __m256 tiny = _mm256_cmp_ps(x, v1(1.17549435e-38f), _CMP_LT_OQ);
    xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, v1(8388608.0f)), tiny);
    ebias = _mm256_and_ps(tiny, v1(23.0f));
  }
  __m256i bits = _mm256_castps_si256(xs);
  __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
  e = _mm256_sub_ps(e, ebias);
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                                 _mm256_set1_epi32(0x3f000000)));  // [0.5, 1)
  __m256 lo = _mm256_cmp_ps(m, v1(0.707106781186547524f), _CMP_LT_OQ);
  e = _mm256_sub_ps(e, _mm256_and_ps(lo, v1(1.0f)));
  __m256 t = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(lo, m)), v1(1.0f));
  __m256 z = _mm256_mul_ps(t, t);
  __m256 y = v1(7.0376836292E-2f);
  y = _mm256_fmadd_ps(y, t, v1(-1.1514610310E-1f));
  y = _mm256_fmadd_ps(y, t, v1(1.1676998740E-1f));
  y = _mm256_fmadd_ps(y, t, v1(-1.2420140846E-1f));
  y = _mm256_fmadd_ps(y, t, v1(1.4249322787E-1f));
  y = _mm256_fmadd_ps(y, t, v1(-1.6668057665E-1f));
  y = _mm256_fmadd_ps(y, t, v1(2.0000714765E-1f));
  y = _mm256_fmadd_ps(y, t, v1(-2.4999993993E-1f));
  y = _mm256_fmadd_ps(y, t, v1(3.3333331174E-1f));
  y = _mm256_mul_ps(_mm256_mul_ps(y, t), z);
  y = _mm256_fmadd_ps(e, v1(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(z, v1(0.5f), y);
  __m256 r = _mm256_add_ps(t, y);
  r = _mm256_fmadd_ps(e, v1(0.693359375f), r);
  if (!all_normal) {  // x < 0 or NaN -> NaN, 0 -> -inf, inf -> inf
    r = _mm256_blendv_ps(r, v1(-INFINITY), _mm256_cmp_ps(x, v1(0.0f), _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, v1(INFINITY), _CMP_EQ_OQ));
    r = _mm256_blendv_ps(r, v1(NAN), _mm256_cmp_ps(x, v1(0.0f), _CMP_NGE_UQ));
  }
  return r;
}

// expm1(a) for a in [-40, 0] (NaN lanes give garbage: callers blend them): the exp_ps reduction,
// then 2^n expm1(r) + (2^n - 1), which keeps full relative accuracy near 0.
KILN_AVX2 inline __m256 expm1_nonpos_ps(__m256 a) {
  __m256 n;
  __m256 em1 = expm1_reduced_ps(a, &n);
  __m256 s = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  return _mm256_fmadd_ps(s, em1, _mm256_sub_ps(s, v1(1.0f)));
}

// tanh|x| = -t / (t + 2) with t = expm1(-2|x|): one branch-free formula, no overflow.
KILN_AVX2 inline __m256 tanh_ps(__m256 x) {
  __m256 a = _mm256_max_ps(_mm256_mul_ps(abs_ps(x), v1(-2.0f)), v1(-40.0f));
  __m256 t = expm1_nonpos_ps(a);
  __m256 r = _mm256_div_ps(_mm256_xor_ps(t, v1(-0.0f)), _mm256_add_ps(t, v1(2.0f)));
  // -t/(t+2) is -0 at x = 0: take the magnitude, then x's sign (tanh(+0) = +0)
  r = _mm256_or_ps(_mm256_andnot_ps(v1(-0.0f), r), _mm256_and_ps(x, v1(-0.0f)));
  return _mm256_blendv_ps(r, x, isnan_ps(x));
}

// 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: never overflows, keeps tiny results.
KILN_AVX2 inline __m256 sigmoid_ps(__m256 x) {
  __m256 e = exp_ps(_mm256_sub_ps(v1(0.0f), abs_ps(x)));
  __m256 num = _mm256_blendv_ps(e, v1(1.0f), _mm256_cmp_ps(x, v1(0.0f), _CMP_GE_OQ));
  return _mm256_div_ps(num, _mm256_add_ps(v1(1.0f), e));
}

// erf: x P(x^2) below 1; 1 - exp(-x^2) Q(1/x) up to 3.92, where float erf reaches 1
// (least-squares fits, ~2 ulp). x^2 is split into hi + lo so exp(-x^2) keeps its accuracy.
KILN_AVX2 inline __m256 erf_ps(__m256 x) {
  __m256 ax = abs_ps(x);
  __m256 u = _mm256_mul_ps(x, x);
  __m256 p = v1(7.970350998220965e-05f);
  p = _mm256_fmadd_ps(p, u, v1(-0.0008043185225687921f));
  p = _mm256_fmadd_ps(p, u, v1(0.00519181415438652f));
  p = _mm256_fmadd_ps(p, u, v1(-0.026855500414967537f));
  p = _mm256_fmadd_ps(p, u, v1(0.11283621937036514f));
  p = _mm256_fmadd_ps(p, u, v1(-0.3761262893676758f));
  p = _mm256_fmadd_ps(p, u, v1(1.1283791065216064f));
  __m256 small = _mm256_mul_ps(x, p);
  __m256 xc = _mm256_min_ps(_mm256_max_ps(ax, v1(1.0f)), v1(3.92f));
  __m256 t = _mm256_div_ps(v1(1.0f), xc);
  __m256 q = v1(-0.01233369018882513f);
  q = _mm256_fmadd_ps(q, t, v1(0.04195426031947136f));
  q = _mm256_fmadd_ps(q, t, v1(-0.0026097185909748077f));
  q = _mm256_fmadd_ps(q, t, v1(-0.21332916617393494f));
  q = _mm256_fmadd_ps(q, t, v1(0.47833359241485596f));
  q = _mm256_fmadd_ps(q, t, v1(-0.46417832374572754f));
  q = _mm256_fmadd_ps(q, t, v1(0.040207263082265854f));
  q = _mm256_fmadd_ps(q, t, v1(0.5592824220657349f));
  q = _mm256_fmadd_ps(q, t, v1(0.0002568127238191664f));
  __m256 hi = _mm256_mul_ps(xc, xc);
  __m256 lo = _mm256_fmsub_ps(xc, xc, hi);
  __m256 e = exp_ps(_mm256_sub_ps(v1(0.0f), hi));
  e = _mm256_fnmadd_ps(e, lo, e);  // exp(-hi - lo) ~ exp(-hi) (1 - lo)
  __m256 big = _mm256_fnmadd_ps(e, q, v1(1.0f));
  big = _mm256_blendv_ps(big, v1(1.0f), _mm256_cmp_ps(ax, v1(3.92f), _CMP_GE_OQ));
  big = _mm256_or_ps(big, _mm256_and_ps(x, v1(-0.0f)));
  __m256 r = _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, v1(1.0f), _CMP_LT_OQ));
  return _mm256_blendv_ps(r, x, isnan_ps(x));
}

// sin/cos: quadrant n = round(x 2/pi), Cody-Waite reduction with FMA, Cephes polynomials on
// [-pi/4, pi/4]. Lanes beyond the reduction's accurate range (and inf/NaN) go to libm.
template <bool kCos> KILN_AVX2 inline __m256 sincos_ps(__m256 x) {
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, v1(0.636619772367581343f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, v1(1.57079637050628662109375f), x);
  r = _mm256_fnmadd_ps(n, v1(-4.371138828673793e-08f), r);
  r = _mm256_fnmadd_ps(n, v1(-1.7151245100058819e-15f), r);
  __m256i q = _mm256_cvtps_epi32(n);
  if (kCos) q = _mm256_add_epi32(q, _mm256_set1_epi32(1));
  __m256 z = _mm256_mul_ps(r, r);
  __m256 s = v1(-1.9515295891E-4f);
  s = _mm256_fmadd_ps(s, z, v1(8.3321608736E-3f));
  s = _mm256_fmadd_ps(s, z, v1(-1.6666654611E-1f));
  s = _mm256_fmadd_ps(_mm256_mul_ps(s, z), r, r);
  __m256 c = v1(2.443315711809948E-005f);
  c = _mm256_fmadd_ps(c, z, v1(-1.388731625493765E-003f));
  c = _mm256_fmadd_ps(c, z, v1(4.166664568298827E-002f));
  c = _mm256_fmadd_ps(_mm256_mul_ps(c, z), z, _mm256_fnmadd_ps(z, v1(0.5f), v1(1.0f)));
  __m256 use_cos = _mm256_castsi256_ps(_mm256_slli_epi32(q, 31));            // odd quadrant
  __m256 neg = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(q, 1), 31));  // quadrants 2, 3
  __m256 res = _mm256_xor_ps(_mm256_blendv_ps(s, c, use_cos), neg);
  // sin x rounds to x below 2^-12; this also keeps sin(-0) = -0, which the reduction loses
  if (!kCos) res = _mm256_blendv_ps(res, x, _mm256_cmp_ps(abs_ps(x), v1(2.44140625e-4f), _CMP_LT_OQ));
  __m256 far = _mm256_cmp_ps(abs_ps(x), v1(32768.0f), _CMP_NLE_UQ);
  if (_mm256_movemask_ps(far)) {
    alignas(32) float xs[8], rs[8];
    _mm256_store_ps(xs, x);
    _mm256_store_ps(rs, res);
    int m = _mm256_movemask_ps(far);
    for (int i = 0; i < 8; i++)
      if (m & (1 << i)) rs[i] = kCos ? std::cos(xs[i]) : std::sin(xs[i]);
    res = _mm256_load_ps(rs);
  }
  return res;
}

#define KILN_VEC(expr) \
  static constexpr bool vec = true; \
  KILN_AVX2 static __m256 v(__m256 x) { return expr; }
#else
#define KILN_VEC(expr) static constexpr bool vec = false;
#endif

// ---- ops ------------------------------------------------------------------------------------
// f(x) takes the compute type (float for the 16-bit floats) and returns it, or bool for predicates.

namespace uop {

// hot = false: libm-bound ops get only the generic strided loop (compile time).
struct Base { static constexpr bool vec = false, pred = false, hot = true; };
struct Pred : Base { static constexpr bool pred = true; static constexpr unsigned dom = kDomAll; };

struct neg : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C x) {
    if constexpr (std::is_integral_v<C>) return (C)(Wide<C>(0) - (Wide<C>)x);  // wraps
    else return -x;
  }
  KILN_VEC(_mm256_xor_ps(x, v1(-0.0f)))
};
struct abs : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> static C f(C x) {
    if constexpr (std::is_same_v<C, bool> || std::is_unsigned_v<C>) return x;
    else if constexpr (std::is_integral_v<C>) return x < 0 ? (C)(Wide<C>(0) - (Wide<C>)x) : x;  // abs(MIN) == MIN
    else return std::fabs(x);
  }
  KILN_VEC(abs_ps(x))
};
struct sign : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C x) {
    if constexpr (std::is_unsigned_v<C>) return (C)(x > 0);
    else if constexpr (std::is_integral_v<C>) return (C)((x > 0) - (x < 0));
    else return x != x ? x : (C)((x > 0) - (x < 0));  // NaN stays NaN, sign(-0) = 0
  }
};
struct square : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C x) {
    if constexpr (std::is_integral_v<C>) return (C)((Wide<C>)x * (Wide<C>)x);
    else return x * x;
  }
  KILN_VEC(_mm256_mul_ps(x, x))
};

// floor/ceil/round/trunc: identity on integers
#define KILN_ROUNDING(name, expr, mode)                                                   \
  struct name : Base {                                                                    \
    static constexpr unsigned dom = kDomNum;                                              \
    template <class C> static C f(C x) {                                                  \
      if constexpr (std::is_integral_v<C>) return x;                                      \
      else return expr;                                                                   \
    }                                                                                     \
    KILN_VEC(_mm256_round_ps(x, mode | _MM_FROUND_NO_EXC))                                \
  };
KILN_ROUNDING(floor, std::floor(x), _MM_FROUND_TO_NEG_INF)
KILN_ROUNDING(ceil, std::ceil(x), _MM_FROUND_TO_POS_INF)
KILN_ROUNDING(round, round_even(x), _MM_FROUND_TO_NEAREST_INT)
KILN_ROUNDING(trunc, std::trunc(x), _MM_FROUND_TO_ZERO)
#undef KILN_ROUNDING

// float-only ops
#define KILN_FLOAT_OP(name, expr, vexpr)                  \
  struct name : Base {                                    \
    static constexpr unsigned dom = kDomFloat;            \
    template <class C> static C f(C x) { return expr; }   \
    vexpr                                                 \
    static constexpr bool hot = vec;                      \
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
  template <class C> static bool f(C x) { return !(x != C(0)); }  // NaN is truthy
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
#undef KILN_VEC

const char* const kUnaryNames[] = {
#define KILN_NAME(n) #n,
    KILN_UNARY_OPS(KILN_NAME)
#undef KILN_NAME
};

template <class F> void with_unary_op(int op, F&& f) {
  switch ((UnaryOp)op) {
#define KILN_CASE(n) case UnaryOp::n: f(uop::n{}); break;
    KILN_UNARY_OPS(KILN_CASE)
#undef KILN_CASE
    default: break;
  }
}

// ---- loops ----------------------------------------------------------------------------------

#if KILN_SIMD
template <typename T, typename Op> KILN_AVX2 void unary_vec_contig(const T* s, T* d, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {  // two independent vectors per step for more ILP
    __m256 x0 = vload(s + i), x1 = vload(s + i + 8);
    vstore(d + i, Op::v(x0));
    vstore(d + i + 8, Op::v(x1));
  }
  for (; i + 8 <= n; i += 8) vstore(d + i, Op::v(vload(s + i)));
  if (i < n) {  // tail through a zero-padded lane buffer
    T t[8] = {};
    for (int64_t j = 0; i + j < n; j++) t[j] = s[i + j];
    vstore(t, Op::v(vload(t)));
    for (int64_t j = 0; i + j < n; j++) d[i + j] = t[j];
  }
}

template <typename T, typename Op> void unary_vec_row(const T* s, int64_t ss, T* d, int64_t ds, int64_t n) {
  if (ss == 1 && ds == 1) return unary_vec_contig<T, Op>(s, d, n);
  T buf[kBlock];
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    int64_t m = std::min(kBlock, n - i0);
    for (int64_t j = 0; j < m; j++) buf[j] = s[(i0 + j) * ss];
    unary_vec_contig<T, Op>(buf, buf, m);
    for (int64_t j = 0; j < m; j++) d[(i0 + j) * ds] = buf[j];
  }
}
#endif

// One row of n elements. Kept out of line: for_each_row instantiates its callback twice.
template <typename TI, typename TO, typename Op>
__attribute__((noinline)) void unary_row(const typename Elem<TI>::S* s, int64_t ss, typename Elem<TO>::S* d,
                                         int64_t ds, int64_t n) {
  using EI = Elem<TI>;
  using EO = Elem<TO>;
#if KILN_SIMD
  if constexpr (Op::vec && std::is_same_v<TI, TO> && is_floatlike<TI>()) {
    if (has_avx2()) return unary_vec_row<TI, Op>(s, ss, d, ds, n);
  }
#endif
  // tight loops the compiler vectorizes; not for libm-bound ops nor the 16-bit floats (whose
  // fast paths are the AVX2 ones above)
  if constexpr (Op::hot && !std::is_same_v<TI, half_t> && !std::is_same_v<TI, bf16_t>) {
    if (ss == 1 && ds == 1) {
      // in-place (d == s) is fine: element i is read before it is written
      KILN_IVDEP
      for (int64_t i = 0; i < n; i++) d[i] = EO::store(Op::f(EI::load(s[i])));
      return;
    }
  }
  if (ss == 0) {
    auto v = EO::store(Op::f(EI::load(s[0])));
    for (int64_t i = 0; i < n; i++) d[i * ds] = v;
    return;
  }
  for (int64_t i = 0; i < n; i++) d[i * ds] = EO::store(Op::f(EI::load(s[i * ss])));
}

template <typename TI, typename TO, typename Op>
void unary_typed(const Command& c) {
  using SI = typename Elem<TI>::S;
  using SO = typename Elem<TO>::S;
  auto vs = memory_order<2>({&c.in(0), &c.out()});
  auto L = make_loop<2>({&vs[0], &vs[1]});
  const SI* src = reinterpret_cast<const SI*>(c.in(0).buf->data);
  SO* dst = reinterpret_cast<SO*>(c.out().buf->data);
  for_each_row<2>(L, [&](const int64_t* off, int64_t n, const int64_t* st) {
    unary_row<TI, TO, Op>(src + off[0], st[0], dst + off[1], st[1], n);
  });
}

template <typename Op> void unary_op(const Command& c) {
#define KILN_UNARY_T(T)                                                        \
  if constexpr ((domain_of_type<T>() & Op::dom) != 0) {                        \
    if constexpr (Op::pred) unary_typed<T, bool, Op>(c);                       \
    else unary_typed<T, T, Op>(c);                                             \
  }
  KILN_DISPATCH_ALL(c.in(0).dtype, KILN_UNARY_T)
#undef KILN_UNARY_T
}

}  // namespace
}  // namespace ew

void check_unary(const Command& c) {
  using namespace ew;
  int op = op_code(c, (int)UnaryOp::kCount, "unary");
  const char* name = kUnaryNames[op];
  same_shape("unary", name, c.in(0), c.out(), "input and output");
  unsigned dom = 0;
  bool pred = false;
  with_unary_op(op, [&](auto tag) {
    using Op = decltype(tag);
    dom = Op::dom;
    pred = Op::pred;
  });
  int dt = c.in(0).dtype;
  if (!(domain_of(dt) & dom)) fail("[unary] ", name, " does not support dtype ", dtype_name(dt));
  int want = pred ? (int)kBool : dt;
  if (c.out().dtype != want)
    fail("[unary] ", name, ": output dtype must be ", dtype_name(want), " for input dtype ", dtype_name(dt),
         ", got ", dtype_name(c.out().dtype));
}

void run_unary(const Command& c) {
  ew::with_unary_op(ew::op_code(c, (int)UnaryOp::kCount, "unary"), [&](auto tag) {
    ew::unary_op<decltype(tag)>(c);
  });
}

}  // namespace kiln
