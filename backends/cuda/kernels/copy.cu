// copy, fill and arange on the GPU, as backends/cpu/kernels/copy.cc defines them.
// copy: any two same-shaped strided views (negative and zero input strides too), every dtype pair:
//   same dtype: the bytes move unchanged (cudaMemcpyAsync when both are contiguous);
//   casts: from_value<D>(to_compute(s)) bit for bit (elementwise.cuh): float -> integer truncates,
//   NaN -> 0, out of range -> the CPU's fixed values, 16-bit floats rounded to nearest even (from
//   float64 through round-to-odd float32); real -> complex64 gives (re, 0), complex64 -> real keeps
//   the real part. One small kernel pair per (source, destination) dtype pair.
// fill: the value converted on the host by the CPU's own from_value, written as raw bits.
// arange: out[i] = from_value<T>(start + i * step) in float64 (multiply and add rounded apart).
#include "elementwise.cuh"
#include "../registry.h"

namespace kiln {
namespace cuda {
namespace {

// ---- copy ---------------------------------------------------------------------------------

template <typename S, typename D> struct CastFn {
  using SS = typename DE<S>::S;
  using SD = typename DE<D>::S;
  static constexpr int N = 2, K = vec_width<SS, SD>();
  const SS* in;
  SD* out;
  static __device__ __forceinline__ SD conv(SS x) { return d_from_value<D>(DE<S>::load(x)); }
  __device__ __forceinline__ void at(const int64_t* off) const { out[off[1]] = conv(in[off[0]]); }
  __device__ __forceinline__ void one(int64_t i) const { out[i] = conv(in[i]); }
  __device__ __forceinline__ void vec(int64_t v) const {
    Pack<SS, K> a = load_pack<SS, K>(in, v);
    Pack<SD, K> r;
#pragma unroll
    for (int j = 0; j < K; j++) r.v[j] = conv(a.v[j]);
    store_pack<SD, K>(out, v, r);
  }
};

// Same dtype: elements moved as unsigned integers of their size (strided layouts only).
template <typename U> struct MoveFn {
  static constexpr int N = 2;
  const U* in;
  U* out;
  __device__ __forceinline__ void at(const int64_t* off) const { out[off[1]] = in[off[0]]; }
};

template <typename U> void move_launch(const Command& c, Context& ctx, const Plan<2>& P) {
  MoveFn<U> fn{reinterpret_cast<const U*>(P.base[0]), reinterpret_cast<U*>(P.base[1])};
  launch_strided(fn, P, ctx);
}

template <typename S, typename D> void cast_launch(const Command& c, Context& ctx, const Plan<2>& P) {
  using Fn = CastFn<S, D>;
  Fn fn{reinterpret_cast<const typename Fn::SS*>(P.base[0]), reinterpret_cast<typename Fn::SD*>(P.base[1])};
  if (P.flat && P.unit[0] == 1 && aligned(P, 0, Fn::K * (int)sizeof(typename Fn::SS)) &&
      aligned(P, 1, Fn::K * (int)sizeof(typename Fn::SD)))
    launch_flat(fn, P.n, ctx);
  else launch_strided(fn, P, ctx);
}

void run_copy_gpu(const Command& c, Context& ctx) {
  Plan<2> P = make_plan<2>({&c.in(0), &c.out()}, ctx);
  if (P.n == 0) return;
  const int si = c.in(0).dtype, so = c.out().dtype;
  if (si == so) {
    const int64_t size = dtype_size(si);
    if (P.flat && P.unit[0] == 1) {
      if (P.base[0] != P.base[1])
        check(cudaMemcpyAsync(P.base[1], P.base[0], (size_t)(P.n * size), cudaMemcpyDeviceToDevice, ctx.stream), c,
              "copy");
      return;
    }
    switch (size) {
      case 1: return move_launch<uint8_t>(c, ctx, P);
      case 2: return move_launch<uint16_t>(c, ctx, P);
      case 4: return move_launch<uint32_t>(c, ctx, P);
      default: return move_launch<uint64_t>(c, ctx, P);
    }
  }
  dispatch_dtype(si, c, [&](auto stag) {
    using S = typename decltype(stag)::type;
    dispatch_dtype(so, c, [&](auto dtag) {
      using D = typename decltype(dtag)::type;
      if constexpr (!std::is_same_v<S, D>) cast_launch<S, D>(c, ctx, P);
    });
  });
}

// ---- fill ---------------------------------------------------------------------------------

template <typename U> struct FillFn {
  static constexpr int N = 1, K = vec_width<U>();
  U* out;
  U value;
  __device__ __forceinline__ void at(const int64_t* off) const { out[off[0]] = value; }
  __device__ __forceinline__ void one(int64_t i) const { out[i] = value; }
  __device__ __forceinline__ void vec(int64_t v) const {
    Pack<U, K> r;
#pragma unroll
    for (int j = 0; j < K; j++) r.v[j] = value;
    store_pack<U, K>(out, v, r);
  }
};

template <typename U> void fill_launch(Context& ctx, const Plan<1>& P, uint64_t bits) {
  FillFn<U> fn{reinterpret_cast<U*>(P.base[0]), (U)bits};
  if (P.flat && aligned(P, 0, 16)) launch_flat(fn, P.n, ctx);
  else launch_strided(fn, P, ctx);
}

void run_fill_gpu(const Command& c, Context& ctx) {
  Plan<1> P = make_plan<1>({&c.out()}, ctx);
  if (P.n == 0) return;
  const int dt = c.out().dtype;
  const double value = c.params[0];
  uint64_t bits = 0;
  if (dt == kComplex64) {  // a real fill value: (value, 0)
    float re = (float)value;
    std::memcpy(&bits, &re, 4);
  } else {
#define KILN_FILL_BITS(T)              \
  {                                    \
    T v = from_value<T>(value);        \
    std::memcpy(&bits, &v, sizeof(T)); \
  }
    KILN_DISPATCH_ALL(dt, KILN_FILL_BITS)
#undef KILN_FILL_BITS
  }
  switch (dtype_size(dt)) {
    case 1: return fill_launch<uint8_t>(ctx, P, bits);
    case 2: return fill_launch<uint16_t>(ctx, P, bits);
    case 4: return fill_launch<uint32_t>(ctx, P, bits);
    default: return fill_launch<uint64_t>(ctx, P, bits);
  }
}

// ---- arange -------------------------------------------------------------------------------

template <typename T>
__global__ void __launch_bounds__(256)
    arange_kernel(typename DE<T>::S* out, int64_t stride, int64_t n, double start, double step) {
  const int64_t grid = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += grid)
    out[i * stride] = d_from_value<T>(__dadd_rn(start, __dmul_rn((double)i, step)));  // no FMA: the CPU's roundings
}

void run_arange_gpu(const Command& c, Context& ctx) {
  const View& o = c.out();
  if (o.size == 0) return;
  const double start = c.params[0], step = c.params[1];
  dispatch_dtype(o.dtype, c, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64>) {
      fail("[arange] complex64 is not supported");
    } else {
      arange_kernel<T><<<ew_blocks(o.size, ctx), 256, 0, ctx.stream>>>(dptr<typename DE<T>::S>(o, ctx), o.strides[0],
                                                                       o.size, start, step);
    }
  });
}

}  // namespace

KILN_CUDA_KERNEL("copy", nullptr, run_copy_gpu);
KILN_CUDA_KERNEL("fill", nullptr, run_fill_gpu);
KILN_CUDA_KERNEL("arange", nullptr, run_arange_gpu);

}  // namespace cuda
}  // namespace kiln
