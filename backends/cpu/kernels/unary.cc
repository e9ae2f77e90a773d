// unary: out = op(in) elementwise. The ops (elementwise_ops.h, shared with fused programs) give a
// scalar f() for every accepted compute type and, where worthwhile, an 8-wide AVX2 v() used here
// for float32/float16/bfloat16 (chosen at run time; any layout goes through it, gathered in blocks).
#include "elementwise_ops.h"

namespace kiln {
namespace ew {
namespace {

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
__attribute__((noinline)) void unary_row(const typename Elem<TI>::S* s, int64_t ss, typename Elem<TO>::S* d, int64_t ds,
                                         int64_t n) {
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

template <typename TI, typename TO, typename Op> void unary_typed(const Command& c) {
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
#define KILN_UNARY_T(T)                                  \
  if constexpr ((domain_of_type<T>() & Op::dom) != 0) {  \
    if constexpr (Op::pred) unary_typed<T, bool, Op>(c); \
    else unary_typed<T, T, Op>(c);                       \
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
    fail("[unary] ", name, ": output dtype must be ", dtype_name(want), " for input dtype ", dtype_name(dt), ", got ",
         dtype_name(c.out().dtype));
}

void run_unary(const Command& c) {
  ew::with_unary_op(ew::op_code(c, (int)UnaryOp::kCount, "unary"), [&](auto tag) { ew::unary_op<decltype(tag)>(c); });
}

}  // namespace kiln
