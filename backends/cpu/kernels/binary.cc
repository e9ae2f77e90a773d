// binary: out = op(a, b) elementwise over same-dtype inputs; where: out = cond ? x : y.
// The ops (elementwise_ops.h, shared with fused programs) give a scalar f() over compute types;
// add/subtract/multiply/divide/maximum/minimum also have an 8-wide AVX2 v() used for
// float32/float16/bfloat16 when the CPU has it (any layout: strided rows are gathered in blocks).
#include "elementwise_ops.h"

namespace kiln {
namespace ew {
namespace {

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

template <typename T, typename TO, typename Op> void binary_typed(const Command& c) {
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
#define KILN_BINARY_T(T)                                  \
  if constexpr ((domain_of_type<T>() & Op::dom) != 0) {   \
    if constexpr (Op::pred) binary_typed<T, bool, Op>(c); \
    else binary_typed<T, T, Op>(c);                       \
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
__attribute__((noinline)) void where_row(const uint8_t* pc, const U* px, const U* py, U* po, const int64_t* st,
                                         int64_t n) {
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
    fail("[binary] ", name, ": output dtype must be ", dtype_name(want), " for input dtype ", dtype_name(dt), ", got ",
         dtype_name(c.out().dtype));
}

void run_binary(const Command& c) {
  ew::with_binary_op(ew::op_code(c, (int)BinaryOp::kCount, "binary"),
                     [&](auto tag) { ew::binary_op<decltype(tag)>(c); });
}

void check_where(const Command& c) {
  using ew::same_shape;
  same_shape("where", nullptr, c.in(0), c.in(1), "condition and x");
  same_shape("where", nullptr, c.in(0), c.in(2), "condition and y");
  same_shape("where", nullptr, c.in(0), c.out(), "condition and output");
  if (c.in(0).dtype != kBool) fail("[where] condition must be bool, got ", dtype_name(c.in(0).dtype));
  int dt = c.out().dtype;
  if (c.in(1).dtype != dt || c.in(2).dtype != dt)
    fail("[where] x, y and output dtypes must match, got ", dtype_name(c.in(1).dtype), ", ", dtype_name(c.in(2).dtype),
         " and ", dtype_name(dt));
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
