// unary on the GPU: out = op(in) for every op of KILN_UNARY_OPS and every dtype the CPU accepts
// (each op's dom), with the CPU's own scalar bodies (ew::uop::*::f through KILN_HD), so integer
// wrapping, rounding half to even, NaN handling and predicates are the CPU's by construction;
// float16/bfloat16 compute in float32 and store rounded to nearest even (elementwise.cuh).
// Transcendentals use CUDA's libm (within its documented ulps), except float32 erf, which
// evaluates the CPU's AVX2 pieces (elementwise_math.h kErfPoly) with the same FMAs: the same bits
// and its 1.09 ulp bound (CUDA's erff allows 2). One kernel pair per (dtype, output) -- (T, T)
// and (T, bool) -- with the op switched inside.
#include "elementwise.cuh"
#include "../registry.h"

namespace kiln {
namespace cuda {
namespace {

// Ops the flat (16-byte vector) kernel compiles: cheap ones and the common transcendentals. The
// rest (large libm bodies) run one element per thread through the strided kernel only.
constexpr bool unary_vec(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg:
    case UnaryOp::abs:
    case UnaryOp::sign:
    case UnaryOp::exp:
    case UnaryOp::log:
    case UnaryOp::sqrt:
    case UnaryOp::rsqrt:
    case UnaryOp::tanh:
    case UnaryOp::sigmoid:
    case UnaryOp::erf:
    case UnaryOp::floor:
    case UnaryOp::ceil:
    case UnaryOp::round:
    case UnaryOp::square:
    case UnaryOp::reciprocal:
    case UnaryOp::logical_not:
    case UnaryOp::trunc:
    case UnaryOp::isnan:
    case UnaryOp::isinf:
    case UnaryOp::isfinite:
    case UnaryOp::bitwise_invert: return true;
    default: return false;
  }
}

// ---- float32 erf as erf_ps (elementwise_math.h), lane for lane ----------------------------

#define KILN_ERF_ROW(j)                                                                                 \
  {                                                                                                     \
    ew::kErfPoly[j][0], ew::kErfPoly[j][1], ew::kErfPoly[j][2], ew::kErfPoly[j][3], ew::kErfPoly[j][4], \
        ew::kErfPoly[j][5], ew::kErfPoly[j][6], ew::kErfPoly[j][7]                                      \
  }
__device__ const float kErfPolyDev[8][8] = {KILN_ERF_ROW(0), KILN_ERF_ROW(1), KILN_ERF_ROW(2), KILN_ERF_ROW(3),
                                            KILN_ERF_ROW(4), KILN_ERF_ROW(5), KILN_ERF_ROW(6), KILN_ERF_ROW(7)};
#undef KILN_ERF_ROW
__device__ const float kErfCentreDev[8] = {ew::kErfCentre[0], ew::kErfCentre[1], ew::kErfCentre[2], ew::kErfCentre[3],
                                           ew::kErfCentre[4], ew::kErfCentre[5], ew::kErfCentre[6], ew::kErfCentre[7]};
__device__ const float kErfLinearDev[8] = {ew::kErfLinear[0], ew::kErfLinear[1], ew::kErfLinear[2], ew::kErfLinear[3],
                                           ew::kErfLinear[4], ew::kErfLinear[5], ew::kErfLinear[6], ew::kErfLinear[7]};

__device__ __forceinline__ float erf_f32(float x) {
  const float a = __uint_as_float(__float_as_uint(x) & 0x7fffffffu);
  const float ax = 4.0f < a ? 4.0f : a;  // _mm256_min_ps(4, |x|): NaN stays NaN
  int k = __float2int_rz(ax * 2.0f);     // NaN gives 0 (any piece: the result is NaN)
  k = k < 7 ? k : 7;
  const float t = ax - kErfCentreDev[k];
  float p = kErfPolyDev[7][k];
#pragma unroll
  for (int j = 6; j >= 1; j--) p = fmaf(p, t, kErfPolyDev[j][k]);
  p = fmaf(p, t, fmaf(t, kErfLinearDev[k], kErfPolyDev[0][k]));
  p = 1.0f < p ? 1.0f : p;                                                          // _mm256_min_ps(1, p)
  return __uint_as_float(__float_as_uint(p) | (__float_as_uint(x) & 0x80000000u));  // odd, erf(-0) = -0
}

// Op::f, with the GPU's own float32 erf.
template <class Op, typename C> __device__ __forceinline__ auto unary_f(C x) {
  if constexpr (std::is_same_v<Op, ew::uop::erf> && std::is_same_v<C, float>) return erf_f32(x);
  else return Op::f(x);
}

// Whether Op is compiled for input T with output TO (the CPU's dom, pred -> bool output).
template <class Op, typename T, typename TO> constexpr bool unary_fits() {
  if constexpr ((ew::domain_of_type<T>() & Op::dom) == 0) return false;
  else if constexpr (Op::pred) return std::is_same_v<TO, bool>;
  else return std::is_same_v<TO, T>;
}

// out[j] = op(in[j]) for M elements; the switch is taken once per call.
template <typename T, typename TO, int M, bool kVecOnly>
__device__ __forceinline__ void unary_apply(int op, const typename DE<T>::S* in, typename DE<TO>::S* out) {
  using EI = DE<T>;
  using EO = DE<TO>;
  switch ((UnaryOp)op) {
#define KILN_CASE(n)                                                                                          \
  case UnaryOp::n:                                                                                            \
    if constexpr (unary_fits<ew::uop::n, T, TO>() && (!kVecOnly || unary_vec(UnaryOp::n))) {                  \
      _Pragma("unroll") for (int j = 0; j < M; j++) out[j] = EO::store(unary_f<ew::uop::n>(EI::load(in[j]))); \
    }                                                                                                         \
    break;
    KILN_UNARY_OPS(KILN_CASE)
#undef KILN_CASE
    default: break;
  }
}

template <typename T, typename TO> struct UnaryFn {
  using SI = typename DE<T>::S;
  using SO = typename DE<TO>::S;
  static constexpr int N = 2, K = vec_width<SI, SO>();
  const SI* in;
  SO* out;
  int op;
  __device__ __forceinline__ void at(const int64_t* off) const {
    SI x = in[off[0]];
    SO r;
    unary_apply<T, TO, 1, false>(op, &x, &r);
    out[off[1]] = r;
  }
  __device__ __forceinline__ void one(int64_t i) const {
    SI x = in[i];
    SO r;
    unary_apply<T, TO, 1, true>(op, &x, &r);
    out[i] = r;
  }
  __device__ __forceinline__ void vec(int64_t v) const {
    Pack<SI, K> a = load_pack<SI, K>(in, v);
    Pack<SO, K> r;
    unary_apply<T, TO, K, true>(op, a.v, r.v);
    store_pack<SO, K>(out, v, r);
  }
};

template <typename T, typename TO> void unary_launch(const Command& c, Context& ctx, int op) {
  using Fn = UnaryFn<T, TO>;
  Plan<2> P = make_plan<2>({&c.in(0), &c.out()}, ctx);
  if (P.n == 0) return;
  Fn fn{reinterpret_cast<const typename Fn::SI*>(P.base[0]), reinterpret_cast<typename Fn::SO*>(P.base[1]), op};
  if (P.flat && P.unit[0] == 1 && unary_vec((UnaryOp)op) && aligned(P, 0, Fn::K * (int)sizeof(typename Fn::SI)) &&
      aligned(P, 1, Fn::K * (int)sizeof(typename Fn::SO)))
    launch_flat(fn, P.n, ctx);
  else launch_strided(fn, P, ctx);
}

void run_unary_gpu(const Command& c, Context& ctx) {
  const int op = (int)c.iparam(0);
  bool pred = false;
  ew::with_unary_op(op, [&](auto tag) { pred = decltype(tag)::pred; });
  dispatch_dtype(c.in(0).dtype, c, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64>) {
      fail("[unary] complex64 is not supported");
    } else if constexpr (std::is_same_v<T, bool>) {
      unary_launch<bool, bool>(c, ctx, op);  // every bool op, predicate or not, gives bool
    } else {
      if (pred) unary_launch<T, bool>(c, ctx, op);
      else unary_launch<T, T>(c, ctx, op);
    }
  });
}

}  // namespace

KILN_CUDA_KERNEL("unary", nullptr, run_unary_gpu);

}  // namespace cuda
}  // namespace kiln
