// Elementwise math shared by the eager kernels (unary.cc) and the fused-program interpreter
// (fused.cc): scalar helpers and 8-wide AVX2 float32 polynomials. One definition serves both, so
// a fused exp/tanh/erf/... gives the same bits as the eager kernel on the same CPU path.
#pragma once
#include "elementwise.h"

namespace kiln {
namespace ew {

// Round half to even without depending on the FP environment: adding 2^23 (2^52) to a value below
// it leaves no fraction bits, so the hardware's round-to-nearest-even does the work.
template <typename C> KILN_HD inline C round_even(C x) {
  const C big = sizeof(C) == 4 ? (C)8388608.0 : (C)4503599627370496.0;
  C ax = std::fabs(x);
  if (ax < big) return std::copysign((ax + big) - big, x);
  return x;  // already integral, inf or NaN
}

// erfinv: Giles' single-precision approximation as the first guess, then Halley steps on
// erf(x) - y for |y| <= 0.5, Newton steps on log(erfc(x)) - log(1 - |y|) in the tail (no
// cancellation near |y| = 1, and fast convergence from the rough guess the approximation gives
// beyond float range), until the step is below tol relative to x.
KILN_HD inline double erfinv_d(double y, double tol) {
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

// The erf tables are plain data outside the SIMD block: the CUDA kernels (unary.cu) evaluate the
// same pieces with scalar FMAs, so GPU and AVX2 give the same float32 bits.
// erf: [0, 4) in 8 pieces of width 1/2, each a degree-7 polynomial in t = |x| - centre picked
// lane by lane with a permute (no division, no exp); piece 0 is t + t q(t) with t = |x|, so small
// x keep full relative accuracy; |x| >= 4 gives 1. Coefficients: backends/cpu/tools/fit_erf.py.
// At most 1.09 ulp over every float32 input (checked exhaustively against double erf).
alignas(32) inline constexpr float kErfPoly[8][8] = {
    // [power of t][piece]
    {0.0f, 0.711155653f, 0.92290014f, 0.986671686f, 0.998537302f, 0.999899387f, 0.999995708f, 0.999999881f},
    {0.128379181f, 0.642931044f, 0.236521125f, 0.0527749956f, 0.00714231934f, 0.000586277281f, 2.91890119e-05f,
     8.81428832e-07f},
    {-1.52609175e-06f, -0.482198149f, -0.295651734f, -0.092356205f, -0.0160701573f, -0.00161226746f, -9.48693341e-05f,
     -3.30607099e-06f},
    {-0.376078635f, 0.0267883502f, 0.167535886f, 0.0901573896f, 0.0217245128f, 0.00276038027f, 0.000195812623f,
     7.97032772e-06f},
    {-0.000554451137f, 0.150675625f, -0.00613203505f, -0.048105523f, -0.0190882571f, -0.00325771049f, -0.000286169437f,
     -1.37854095e-05f},
    {0.115838625f, -0.0532170907f, -0.0471865535f, 0.00661847321f, 0.0106600598f, 0.00275629107f, 0.000313628843f,
     1.83300581e-05f},
    {-0.00793613866f, -0.0265828297f, 0.0205977373f, 0.00904949475f, -0.00277956505f, -0.00166785053f, -0.000273758429f,
     -2.06924215e-05f},
    {-0.0180231333f, 0.017885495f, 0.00374511047f, -0.00593309943f, -0.000721526972f, 0.000635815435f, 0.00017359652f,
     1.71447373e-05f},
};
alignas(32) inline constexpr float kErfCentre[8] = {0.0f, 0.75f, 1.25f, 1.75f, 2.25f, 2.75f, 3.25f, 3.75f};
alignas(32) inline constexpr float kErfLinear[8] = {1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};

#if KILN_SIMD
// ---- AVX2 float32 math (Cephes-style polynomials, ~1 ulp) -----------------------------------

KILN_AVX2 inline __m256 v1(float v) { return _mm256_set1_ps(v); }
KILN_AVX2 inline __m256 isnan_ps(__m256 x) { return _mm256_cmp_ps(x, x, _CMP_UNORD_Q); }
KILN_AVX2 inline __m256 abs_ps(__m256 x) { return _mm256_andnot_ps(v1(-0.0f), x); }

// Shared by exp and expm1: x = n ln2 + r with |r| <= ln2/2; returns expm1(r), sets n.
KILN_AVX2 inline __m256 expm1_reduced_ps(__m256 x, __m256* n_out) {
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, v1(expc::kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, v1(expc::kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, v1(expc::kLn2Lo), r);
  __m256 p = v1(expc::c0);
  p = _mm256_fmadd_ps(p, r, v1(expc::c1));
  p = _mm256_fmadd_ps(p, r, v1(expc::c2));
  p = _mm256_fmadd_ps(p, r, v1(expc::c3));
  p = _mm256_fmadd_ps(p, r, v1(expc::c4));
  p = _mm256_fmadd_ps(p, r, v1(expc::c5));
  *n_out = n;
  return _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
}

KILN_AVX2 inline __m256 exp_ps(__m256 x) {
  // Every lane in [-87, 88] (the usual case): 2^n is a normal float, so one scaling rounds once
  // as the two steps below do (the same bits), and there is nothing to clamp and no NaN.
  __m256 in_range = _mm256_and_ps(_mm256_cmp_ps(x, v1(-87.0f), _CMP_GE_OQ), _mm256_cmp_ps(x, v1(88.0f), _CMP_LE_OQ));
  if (_mm256_movemask_ps(in_range) == 0xff) {
    __m256 n;
    __m256 p = _mm256_add_ps(expm1_reduced_ps(x, &n), v1(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }
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
  __m256 normal =
      _mm256_and_ps(_mm256_cmp_ps(x, v1(1.17549435e-38f), _CMP_GE_OQ), _mm256_cmp_ps(x, v1(INFINITY), _CMP_LT_OQ));
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
  __m256 s =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
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

// Lane i gets table[k[i]] (an 8-entry table lookup).
KILN_AVX2 inline __m256 pick_ps(const float* table, __m256i k) {
  return _mm256_permutevar8x32_ps(_mm256_load_ps(table), k);
}

KILN_AVX2 inline __m256 erf_ps(__m256 x) {
  __m256 ax = _mm256_min_ps(v1(4.0f), abs_ps(x));  // NaN stays NaN (min returns its second operand)
  __m256i k = _mm256_min_epi32(_mm256_cvttps_epi32(_mm256_mul_ps(ax, v1(2.0f))), _mm256_set1_epi32(7));
  __m256 t = _mm256_sub_ps(ax, pick_ps(kErfCentre, k));
  __m256 p = pick_ps(kErfPoly[7], k);
  for (int j = 6; j >= 1; j--) p = _mm256_fmadd_ps(p, t, pick_ps(kErfPoly[j], k));
  p = _mm256_fmadd_ps(p, t, _mm256_fmadd_ps(t, pick_ps(kErfLinear, k), pick_ps(kErfPoly[0], k)));
  p = _mm256_min_ps(v1(1.0f), p);
  return _mm256_or_ps(p, _mm256_and_ps(x, v1(-0.0f)));  // erf is odd (and erf(-0) = -0)
}

// sin/cos: quadrant n = round(x 2/pi), Cody-Waite reduction with FMA, Cephes polynomials on
// [-pi/4, pi/4]. Lanes beyond the reduction's accurate range (and inf/NaN) go to libm.
template <bool kCos> KILN_AVX2 inline __m256 sincos_ps(__m256 x) {
  __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, v1(0.636619772367581343f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
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
  __m256 use_cos = _mm256_castsi256_ps(_mm256_slli_epi32(q, 31));                    // odd quadrant
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

#endif  // KILN_SIMD

}  // namespace ew
}  // namespace kiln
