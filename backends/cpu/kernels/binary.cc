// binary: out = op(a, b) elementwise over same-dtype inputs; where: out = cond ? x : y.
// Each binary op is a struct naming the dtype classes it accepts and a scalar f() over compute
// types; add/subtract/multiply/divide/maximum/minimum also have an 8-wide AVX2 v() used for
// float32/float16/bfloat16 when the CPU has it (any layout: strided rows are gathered in blocks).
#include "elementwise.h"

namespace kiln {
namespace ew {
namespace {

// numpy's npy_divmod: Python-style floor division and remainder for floats.
template <typename C> inline C py_divmod(C a, C b, C* modulus) {
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
#define KILN_VEC(expr) \
  static constexpr bool vec = true; \
  KILN_AVX2 static __m256 v(__m256 a, __m256 b) { return expr; }
#else
#define KILN_VEC(expr)
#endif

namespace bop {

// hot = false: ops dominated by division or libm get only the generic strided loop (compile time).
struct Base { static constexpr bool vec = false, pred = false, vcmp = false, hot = true; };
struct Cold : Base { static constexpr bool hot = false; };
struct Pred : Base { static constexpr bool pred = true; static constexpr unsigned dom = kDomAll; };

template <class C> constexpr bool is_int = std::is_integral_v<C> && !std::is_same_v<C, bool>;

// bool: add = or, multiply = and (numpy)
struct add : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a || b;
    else if constexpr (is_int<C>) return (C)((Wide<C>)a + (Wide<C>)b);
    else return a + b;
  }
  KILN_VEC(_mm256_add_ps(a, b))
};
struct subtract : Base {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C a, C b) {
    if constexpr (is_int<C>) return (C)((Wide<C>)a - (Wide<C>)b);
    else return a - b;
  }
  KILN_VEC(_mm256_sub_ps(a, b))
};
struct multiply : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a && b;
    else if constexpr (is_int<C>) return (C)((Wide<C>)a * (Wide<C>)b);
    else return a * b;
  }
  KILN_VEC(_mm256_mul_ps(a, b))
};
struct divide : Base {
  static constexpr unsigned dom = kDomFloat;
  template <class C> static C f(C a, C b) { return a / b; }
  KILN_VEC(_mm256_div_ps(a, b))
};
struct power : Cold {
  static constexpr unsigned dom = kDomNum;
  template <class C> static C f(C a, C b) {
    if constexpr (is_int<C>) return ipow(a, b);
    else return std::pow(a, b);
  }
};
// NaN in either input gives NaN (numpy); equal values give b, like numpy's SIMD loops.
struct maximum : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> static C f(C a, C b) {
    if constexpr (std::is_same_v<C, bool>) return a || b;
    else if constexpr (is_int<C>) return a > b ? a : b;
    else return (a > b || a != a) ? a : b;
  }
  KILN_VEC(_mm256_blendv_ps(_mm256_max_ps(a, b), a, nan_mask(a)))
};
struct minimum : Base {
  static constexpr unsigned dom = kDomAll;
  template <class C> static C f(C a, C b) {
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
struct floor_divide : Cold {
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

// Predicates: bool output. m(a, b) is the AVX2 version as a lane mask.
#if KILN_SIMD
#define KILN_CMP(name, expr, mexpr)                                               \
  struct name : Pred {                                                            \
    template <class C> static bool f(C a, C b) { return expr; }                   \
    static constexpr bool vcmp = true;                                            \
    KILN_AVX2 static __m256 m(__m256 a, __m256 b) { return mexpr; }               \
  };
KILN_AVX2 inline __m256 truthy(__m256 x) { return _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NEQ_UQ); }
#else
#define KILN_CMP(name, expr, mexpr) \
  struct name : Pred { template <class C> static bool f(C a, C b) { return expr; } };
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
  template <class C> static C f(C a, C b) {
    if (a == b) return a + C(0.693147180559945309417232121458176568);  // also inf, inf and -inf, -inf
    C t = a - b;
    if (t > 0) return a + std::log1p(std::exp(-t));
    if (t <= 0) return b + std::log1p(std::exp(t));
    return t;  // NaN
  }
};
struct arctan2 : Cold {
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
// Shift counts that are negative or >= the bit width give 0 (left) or the sign fill (right), as in numpy.
struct left_shift : Cold {
  static constexpr unsigned dom = kDomInt;
  template <class C> static C f(C a, C b) {
    if ((uint64_t)b < sizeof(C) * 8) return (C)((Wide<C>)a << b);
    return C(0);
  }
};
struct right_shift : Cold {
  static constexpr unsigned dom = kDomInt;
  template <class C> static C f(C a, C b) {
    if ((uint64_t)b < sizeof(C) * 8) return (C)(a >> b);  // arithmetic for signed types
    if constexpr (std::is_signed_v<C>) return a < 0 ? C(-1) : C(0);
    else return C(0);
  }
};

}  // namespace bop
#undef KILN_VEC

const char* const kBinaryNames[] = {
#define KILN_NAME(n) #n,
    KILN_BINARY_OPS(KILN_NAME)
#undef KILN_NAME
};

template <class F> void with_binary_op(int op, F&& f) {
  switch ((BinaryOp)op) {
#define KILN_CASE(n) case BinaryOp::n: f(bop::n{}); break;
    KILN_BINARY_OPS(KILN_CASE)
#undef KILN_CASE
    default: break;
  }
}

// ---- loops ----------------------------------------------------------------------------------

#if KILN_SIMD
// SA/SB: 1 = contiguous, 0 = broadcast scalar.
template <typename T, typename Op, int SA, int SB>
KILN_AVX2 void binary_vec_contig(const T* a, const T* b, T* o, int64_t n) {
  __m256 ca = SA ? _mm256_setzero_ps() : vbroadcast(a);
  __m256 cb = SB ? _mm256_setzero_ps() : vbroadcast(b);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 x0 = SA ? vload(a + i) : ca, x1 = SA ? vload(a + i + 8) : ca;
    __m256 y0 = SB ? vload(b + i) : cb, y1 = SB ? vload(b + i + 8) : cb;
    vstore(o + i, Op::v(x0, y0));
    vstore(o + i + 8, Op::v(x1, y1));
  }
  for (; i + 8 <= n; i += 8) vstore(o + i, Op::v(SA ? vload(a + i) : ca, SB ? vload(b + i) : cb));
  if (i < n) {  // tail through zero-padded lane buffers
    T ta[8] = {}, tb[8] = {};
    for (int64_t j = 0; i + j < n; j++) {
      if (SA) ta[j] = a[i + j];
      if (SB) tb[j] = b[i + j];
    }
    vstore(ta, Op::v(SA ? vload(ta) : ca, SB ? vload(tb) : cb));
    for (int64_t j = 0; i + j < n; j++) o[i + j] = ta[j];
  }
}

// Predicates into bool bytes, 32 lanes per step: four lane masks packed to bytes.
template <typename T, typename Op, int SA, int SB>
KILN_AVX2 void compare_vec_contig(const T* a, const T* b, uint8_t* o, int64_t n) {
  __m256 ca = SA ? _mm256_setzero_ps() : vbroadcast(a);
  __m256 cb = SB ? _mm256_setzero_ps() : vbroadcast(b);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7), one = _mm256_set1_epi8(1);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i m[4];
    for (int k = 0; k < 4; k++)
      m[k] = _mm256_castps_si256(Op::m(SA ? vload(a + i + 8 * k) : ca, SB ? vload(b + i + 8 * k) : cb));
    __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(m[0], m[1]), _mm256_packs_epi32(m[2], m[3]));
    bytes = _mm256_and_si256(_mm256_permutevar8x32_epi32(bytes, order), one);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + i), bytes);
  }
  for (; i < n; i++) o[i] = Op::f(to_compute(a[SA ? i : 0]), to_compute(b[SB ? i : 0]));
}

template <typename T, typename Op>
void binary_vec_row(const T* a, int64_t sa, const T* b, int64_t sb, T* o, int64_t so, int64_t n) {
  if (so == 1) {
    if (sa == 1 && sb == 1) return binary_vec_contig<T, Op, 1, 1>(a, b, o, n);
    if (sa == 0 && sb == 1) return binary_vec_contig<T, Op, 0, 1>(a, b, o, n);
    if (sa == 1 && sb == 0) return binary_vec_contig<T, Op, 1, 0>(a, b, o, n);
  }
  T ta[kBlock], tb[kBlock];
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    int64_t m = std::min(kBlock, n - i0);
    for (int64_t j = 0; j < m; j++) ta[j] = a[(i0 + j) * sa];
    for (int64_t j = 0; j < m; j++) tb[j] = b[(i0 + j) * sb];
    binary_vec_contig<T, Op, 1, 1>(ta, tb, ta, m);
    for (int64_t j = 0; j < m; j++) o[(i0 + j) * so] = ta[j];
  }
}
#endif

template <typename E, typename EO, typename Op, int SA, int SB, typename S, typename SO>
inline void binary_contig(const S* a, const S* b, SO* o, int64_t n) {
  // in-place (o == a or o == b) is fine: element i is read before it is written
  if constexpr (SA == 0) {
    auto x = E::load(a[0]);
    KILN_IVDEP
    for (int64_t i = 0; i < n; i++) o[i] = EO::store(Op::f(x, E::load(b[i])));
  } else if constexpr (SB == 0) {
    auto y = E::load(b[0]);
    KILN_IVDEP
    for (int64_t i = 0; i < n; i++) o[i] = EO::store(Op::f(E::load(a[i]), y));
  } else {
    KILN_IVDEP
    for (int64_t i = 0; i < n; i++) o[i] = EO::store(Op::f(E::load(a[i]), E::load(b[i])));
  }
}

// One row of n elements. Kept out of line: for_each_row instantiates its callback twice.
template <typename T, typename TO, typename Op>
__attribute__((noinline)) void binary_row(const typename Elem<T>::S* a, int64_t sa, const typename Elem<T>::S* b,
                                          int64_t sb, typename Elem<TO>::S* o, int64_t so, int64_t n) {
  using E = Elem<T>;
  using EO = Elem<TO>;
#if KILN_SIMD
  if constexpr (Op::vec && std::is_same_v<T, TO> && is_floatlike<T>()) {
    if (has_avx2()) return binary_vec_row<T, Op>(a, sa, b, sb, o, so, n);
  }
  if constexpr (Op::vcmp && is_floatlike<T>()) {
    if (so == 1 && has_avx2()) {
      if (sa == 1 && sb == 1) return compare_vec_contig<T, Op, 1, 1>(a, b, o, n);
      if (sa == 0 && sb == 1) return compare_vec_contig<T, Op, 0, 1>(a, b, o, n);
      if (sa == 1 && sb == 0) return compare_vec_contig<T, Op, 1, 0>(a, b, o, n);
    }
  }
#endif
  // tight loops the compiler vectorizes; the 16-bit floats rely on the AVX2 paths above instead
  if constexpr (Op::hot && !std::is_same_v<T, half_t> && !std::is_same_v<T, bf16_t>) {
    if (so == 1) {
      if (sa == 1 && sb == 1) return binary_contig<E, EO, Op, 1, 1>(a, b, o, n);
      if (sa == 0 && sb == 1) return binary_contig<E, EO, Op, 0, 1>(a, b, o, n);
      if (sa == 1 && sb == 0) return binary_contig<E, EO, Op, 1, 0>(a, b, o, n);
    }
  }
  for (int64_t i = 0; i < n; i++) o[i * so] = EO::store(Op::f(E::load(a[i * sa]), E::load(b[i * sb])));
}

template <typename T, typename TO, typename Op>
void binary_typed(const Command& c) {
  using S = typename Elem<T>::S;
  using SO = typename Elem<TO>::S;
  auto vs = memory_order<3>({&c.in(0), &c.in(1), &c.out()});
  auto L = make_loop<3>({&vs[0], &vs[1], &vs[2]});
  const S* A = reinterpret_cast<const S*>(c.in(0).buf->data);
  const S* B = reinterpret_cast<const S*>(c.in(1).buf->data);
  SO* O = reinterpret_cast<SO*>(c.out().buf->data);
  for_each_row<3>(L, [&](const int64_t* off, int64_t n, const int64_t* st) {
    binary_row<T, TO, Op>(A + off[0], st[0], B + off[1], st[1], O + off[2], st[2], n);
  });
}

template <typename Op> void binary_op(const Command& c) {
#define KILN_BINARY_T(T)                                                       \
  if constexpr ((domain_of_type<T>() & Op::dom) != 0) {                        \
    if constexpr (Op::pred) binary_typed<T, bool, Op>(c);                      \
    else binary_typed<T, T, Op>(c);                                            \
  }
  KILN_DISPATCH_ALL(c.in(0).dtype, KILN_BINARY_T)
#undef KILN_BINARY_T
}

// where: only the element size matters, so x/y/out are moved as unsigned integers of that size.
template <int SC, int SX, int SY, typename U>
inline void where_contig(const uint8_t* c, const U* x, const U* y, U* o, int64_t n) {
  KILN_IVDEP
  for (int64_t i = 0; i < n; i++) {
    U m = (U)(U(0) - (U)(c[i * SC] != 0));  // all ones where cond is true
    o[i] = (U)((x[i * SX] & m) | (y[i * SY] & (U)~m));
  }
}

template <typename U>
__attribute__((noinline)) void where_row(const uint8_t* pc, const U* px, const U* py, U* po, const int64_t* st, int64_t n) {
  auto unit = [](int64_t s) { return s == 0 || s == 1; };
  if (st[3] == 1 && unit(st[0]) && unit(st[1]) && unit(st[2])) {
    switch (st[0] * 4 + st[1] * 2 + st[2]) {
      case 0: return where_contig<0, 0, 0>(pc, px, py, po, n);
      case 1: return where_contig<0, 0, 1>(pc, px, py, po, n);
      case 2: return where_contig<0, 1, 0>(pc, px, py, po, n);
      case 3: return where_contig<0, 1, 1>(pc, px, py, po, n);
      case 4: return where_contig<1, 0, 0>(pc, px, py, po, n);
      case 5: return where_contig<1, 0, 1>(pc, px, py, po, n);
      case 6: return where_contig<1, 1, 0>(pc, px, py, po, n);
      default: return where_contig<1, 1, 1>(pc, px, py, po, n);
    }
  }
  for (int64_t i = 0; i < n; i++) po[i * st[3]] = pc[i * st[0]] ? px[i * st[1]] : py[i * st[2]];
}

template <typename U> void where_typed(const Command& c) {
  auto vs = memory_order<4>({&c.in(0), &c.in(1), &c.in(2), &c.out()});
  auto L = make_loop<4>({&vs[0], &vs[1], &vs[2], &vs[3]});
  const uint8_t* C = reinterpret_cast<const uint8_t*>(c.in(0).buf->data);
  const U* X = reinterpret_cast<const U*>(c.in(1).buf->data);
  const U* Y = reinterpret_cast<const U*>(c.in(2).buf->data);
  U* O = reinterpret_cast<U*>(c.out().buf->data);
  for_each_row<4>(L, [&](const int64_t* off, int64_t n, const int64_t* st) {
    where_row<U>(C + off[0], X + off[1], Y + off[2], O + off[3], st, n);
  });
}

}  // namespace
}  // namespace ew

void check_binary(const Command& c) {
  using namespace ew;
  int op = op_code(c, (int)BinaryOp::kCount, "binary");
  const char* name = kBinaryNames[op];
  same_shape("binary", name, c.in(0), c.in(1), "input");
  same_shape("binary", name, c.in(0), c.out(), "input and output");
  int dt = c.in(0).dtype;
  if (c.in(1).dtype != dt)
    fail("[binary] ", name, ": input dtypes differ (", dtype_name(dt), " vs ", dtype_name(c.in(1).dtype), ")");
  unsigned dom = 0;
  bool pred = false;
  with_binary_op(op, [&](auto tag) {
    using Op = decltype(tag);
    dom = Op::dom;
    pred = Op::pred;
  });
  if (!(domain_of(dt) & dom)) fail("[binary] ", name, " does not support dtype ", dtype_name(dt));
  int want = pred ? (int)kBool : dt;
  if (c.out().dtype != want)
    fail("[binary] ", name, ": output dtype must be ", dtype_name(want), " for input dtype ", dtype_name(dt),
         ", got ", dtype_name(c.out().dtype));
}

void run_binary(const Command& c) {
  ew::with_binary_op(ew::op_code(c, (int)BinaryOp::kCount, "binary"), [&](auto tag) {
    ew::binary_op<decltype(tag)>(c);
  });
}

void check_where(const Command& c) {
  using ew::same_shape;
  same_shape("where", nullptr, c.in(0), c.in(1), "condition and x");
  same_shape("where", nullptr, c.in(0), c.in(2), "condition and y");
  same_shape("where", nullptr, c.in(0), c.out(), "condition and output");
  if (c.in(0).dtype != kBool) fail("[where] condition must be bool, got ", dtype_name(c.in(0).dtype));
  int dt = c.out().dtype;
  if (c.in(1).dtype != dt || c.in(2).dtype != dt)
    fail("[where] x, y and output dtypes must match, got ", dtype_name(c.in(1).dtype), ", ",
         dtype_name(c.in(2).dtype), " and ", dtype_name(dt));
}

void run_where(const Command& c) {
  switch (dtype_size(c.out().dtype)) {
    case 1: ew::where_typed<uint8_t>(c); break;
    case 2: ew::where_typed<uint16_t>(c); break;
    case 4: ew::where_typed<uint32_t>(c); break;
    default: ew::where_typed<uint64_t>(c); break;
  }
}

}  // namespace kiln
