// binary and where on the GPU. binary: out = op(a, b) for every op of KILN_BINARY_OPS over the
// dtypes the CPU accepts (each op's dom), with the CPU's own scalar bodies (ew::bop::*::f through
// KILN_HD): integer wrapping, x / 0 and x % 0 = 0, MIN // -1 wrapping, shifts past the width,
// NaN-propagating maximum/minimum (equal values give b), Python-style floor_divide/remainder,
// integer power by squaring, bool add/multiply as or/and; float16/bfloat16 through float32,
// stored rounded to nearest even. One kernel pair per (dtype, output) -- (T, T) and (T, bool) --
// with the op switched inside. where: out = cond ? x : y moved as unsigned integers of the
// element size (1/2/4/8 bytes, complex64 included). Broadcast operands arrive with zero strides.
#include "elementwise.cuh"
#include "../registry.h"

namespace kiln {
namespace cuda {
namespace {

// Ops the flat (16-byte vector) kernel compiles; the others (division loops, libm) run one
// element per thread through the strided kernel only.
constexpr bool binary_vec(BinaryOp op) {
  switch (op) {
    case BinaryOp::power:
    case BinaryOp::remainder:
    case BinaryOp::floor_divide:
    case BinaryOp::logaddexp:
    case BinaryOp::arctan2: return false;
    default: return true;
  }
}

template <class Op, typename T, typename TO> constexpr bool binary_fits() {
  if constexpr ((ew::domain_of_type<T>() & Op::dom) == 0) return false;
  else if constexpr (Op::pred) return std::is_same_v<TO, bool>;
  else return std::is_same_v<TO, T>;
}

// out[j] = op(a[j], b[j]) for M elements; the switch is taken once per call.
template <typename T, typename TO, int M, bool kVecOnly>
__device__ __forceinline__ void binary_apply(int op, const typename DE<T>::S* a, const typename DE<T>::S* b,
                                             typename DE<TO>::S* out) {
  using E = DE<T>;
  using EO = DE<TO>;
  switch ((BinaryOp)op) {
#define KILN_CASE(n)                                                                                                 \
  case BinaryOp::n:                                                                                                  \
    if constexpr (binary_fits<ew::bop::n, T, TO>() && (!kVecOnly || binary_vec(BinaryOp::n))) {                      \
      _Pragma("unroll") for (int j = 0; j < M; j++) out[j] = EO::store(ew::bop::n::f(E::load(a[j]), E::load(b[j]))); \
    }                                                                                                                \
    break;
    KILN_BINARY_OPS(KILN_CASE)
#undef KILN_CASE
    default: break;
  }
}

template <typename T, typename TO> struct BinaryFn {
  using SI = typename DE<T>::S;
  using SO = typename DE<TO>::S;
  static constexpr int N = 3, K = vec_width<SI, SO>();
  const SI* a;
  const SI* b;
  SO* out;
  int op;
  int64_t sa, sb;  // flat kernel: 1 contiguous, 0 a broadcast scalar
  __device__ __forceinline__ void at(const int64_t* off) const {
    SI x = a[off[0]], y = b[off[1]];
    SO r;
    binary_apply<T, TO, 1, false>(op, &x, &y, &r);
    out[off[2]] = r;
  }
  __device__ __forceinline__ void one(int64_t i) const {
    SI x = a[i * sa], y = b[i * sb];
    SO r;
    binary_apply<T, TO, 1, true>(op, &x, &y, &r);
    out[i] = r;
  }
  __device__ __forceinline__ void vec(int64_t v) const {
    Pack<SI, K> x, y;
    if (sa) x = load_pack<SI, K>(a, v);
    else {
      const SI s = a[0];
#pragma unroll
      for (int j = 0; j < K; j++) x.v[j] = s;
    }
    if (sb) y = load_pack<SI, K>(b, v);
    else {
      const SI s = b[0];
#pragma unroll
      for (int j = 0; j < K; j++) y.v[j] = s;
    }
    Pack<SO, K> r;
    binary_apply<T, TO, K, true>(op, x.v, y.v, r.v);
    store_pack<SO, K>(out, v, r);
  }
};

template <typename T, typename TO> void binary_launch(const Command& c, Context& ctx, int op) {
  using Fn = BinaryFn<T, TO>;
  using SI = typename Fn::SI;
  using SO = typename Fn::SO;
  Plan<3> P = make_plan<3>({&c.in(0), &c.in(1), &c.out()}, ctx);
  if (P.n == 0) return;
  Fn fn{reinterpret_cast<const SI*>(P.base[0]),
        reinterpret_cast<const SI*>(P.base[1]),
        reinterpret_cast<SO*>(P.base[2]),
        op,
        P.unit[0],
        P.unit[1]};
  const int in_bytes = Fn::K * (int)sizeof(SI), out_bytes = Fn::K * (int)sizeof(SO);
  if (P.flat && binary_vec((BinaryOp)op) && aligned(P, 0, in_bytes) && aligned(P, 1, in_bytes) &&
      aligned(P, 2, out_bytes))
    launch_flat(fn, P.n, ctx);
  else launch_strided(fn, P, ctx);
}

void run_binary_gpu(const Command& c, Context& ctx) {
  const int op = (int)c.iparam(0);
  bool pred = false;
  ew::with_binary_op(op, [&](auto tag) { pred = decltype(tag)::pred; });
  dispatch_dtype(c.in(0).dtype, c, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64>) {
      fail("[binary] complex64 is not supported");
    } else if constexpr (std::is_same_v<T, bool>) {
      binary_launch<bool, bool>(c, ctx, op);  // every bool op, predicate or not, gives bool
    } else {
      if (pred) binary_launch<T, bool>(c, ctx, op);
      else binary_launch<T, T>(c, ctx, op);
    }
  });
}

// ---- where --------------------------------------------------------------------------------

template <typename U> struct WhereFn {
  static constexpr int N = 4, K = vec_width<U>();
  const uint8_t* cond;
  const U* x;
  const U* y;
  U* out;
  int64_t sc, sx, sy;  // flat kernel: 1 contiguous, 0 a broadcast scalar
  __device__ __forceinline__ void at(const int64_t* off) const { out[off[3]] = cond[off[0]] ? x[off[1]] : y[off[2]]; }
  __device__ __forceinline__ void one(int64_t i) const { out[i] = cond[i * sc] ? x[i * sx] : y[i * sy]; }
  __device__ __forceinline__ void vec(int64_t v) const {
    Pack<uint8_t, K> m;
    Pack<U, K> a, b, r;
    if (sc) m = load_pack<uint8_t, K>(cond, v);
    else {
      const uint8_t s = cond[0];
#pragma unroll
      for (int j = 0; j < K; j++) m.v[j] = s;
    }
    if (sx) a = load_pack<U, K>(x, v);
    else {
      const U s = x[0];
#pragma unroll
      for (int j = 0; j < K; j++) a.v[j] = s;
    }
    if (sy) b = load_pack<U, K>(y, v);
    else {
      const U s = y[0];
#pragma unroll
      for (int j = 0; j < K; j++) b.v[j] = s;
    }
#pragma unroll
    for (int j = 0; j < K; j++) r.v[j] = m.v[j] ? a.v[j] : b.v[j];
    store_pack<U, K>(out, v, r);
  }
};

template <typename U> void where_launch(const Command& c, Context& ctx) {
  using Fn = WhereFn<U>;
  Plan<4> P = make_plan<4>({&c.in(0), &c.in(1), &c.in(2), &c.out()}, ctx);
  if (P.n == 0) return;
  Fn fn{reinterpret_cast<const uint8_t*>(P.base[0]),
        reinterpret_cast<const U*>(P.base[1]),
        reinterpret_cast<const U*>(P.base[2]),
        reinterpret_cast<U*>(P.base[3]),
        P.unit[0],
        P.unit[1],
        P.unit[2]};
  if (P.flat && aligned(P, 0, Fn::K) && aligned(P, 1, 16) && aligned(P, 2, 16) && aligned(P, 3, 16))
    launch_flat(fn, P.n, ctx);
  else launch_strided(fn, P, ctx);
}

void run_where_gpu(const Command& c, Context& ctx) {
  switch (dtype_size(c.out().dtype)) {
    case 1: return where_launch<uint8_t>(c, ctx);
    case 2: return where_launch<uint16_t>(c, ctx);
    case 4: return where_launch<uint32_t>(c, ctx);
    case 8: return where_launch<uint64_t>(c, ctx);
    default: fail("[where] unsupported element size ", dtype_size(c.out().dtype), " on the GPU");
  }
}

}  // namespace

KILN_CUDA_KERNEL("binary", nullptr, run_binary_gpu);
KILN_CUDA_KERNEL("where", nullptr, run_where_gpu);

}  // namespace cuda
}  // namespace kiln
