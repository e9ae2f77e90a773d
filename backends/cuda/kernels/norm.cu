// rms_norm and layer_norm on the GPU, mirroring backends/cpu/kernels/norm.cc:
//   rms_norm   inputs x [, weight [D]]               params eps
//   layer_norm inputs x [, weight [D]] [, bias [D]]  params eps, has_weight, has_bias
// One block per row (rows over all dims but the last of any strided view). Sums are float (double
// for a float64 output); a row of up to 8 values per thread stays in registers between the passes.
// As on the CPU: r = 1 / sqrt(sum / D + eps); layer_norm subtracts the mean first (two passes); the
// normalised value is rounded to the output dtype before the weight multiplies it and again before
// the bias is added (uncontracted, as the CPU's portable loops).
#include "nn_util.cuh"
#include "../registry.h"

namespace kiln {
namespace cuda {
namespace {

using nn::Rows;

constexpr int kPer = 8;  // values per thread kept in registers

// Sum over the block; every thread gets the total. `sh` holds one value per warp.
template <typename F> __device__ __forceinline__ F block_sum(F v, F* sh) {
  v = nn::warp_sum(v);
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  __syncthreads();  // the previous call's readers are done with sh
  if (lane == 0) sh[w] = v;
  __syncthreads();
  F t = lane < nw ? sh[lane] : F(0);
  return nn::warp_sum(t);
}

struct NormArgs {
  const void* x;
  void* o;
  const void* w;  // null: no weight
  const void* b;  // null: no bias
  int xdt, odt, wdt, bdt;
  int64_t ws, bs;  // element strides of weight and bias
  int64_t rows, D;
  bool layer;  // layer_norm (subtract the mean) vs rms_norm
};

// launched with up to 1024 threads: the bound keeps registers within what such a block may have
template <typename F> __global__ void __launch_bounds__(1024) norm_kernel(NormArgs a, Rows xr, Rows orr, F eps) {
  __shared__ F sh[32];
  const int tid = threadIdx.x, bd = blockDim.x;
  const int64_t D = a.D;
  const bool cached = D <= (int64_t)bd * kPer;
  for (int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const int64_t xo = nn::row_off(xr, r), oo = nn::row_off(orr, r);
    const int64_t xs = xr.last_stride, os = orr.last_stride;
    F v[kPer];
    F mean = 0;
    if (a.layer) {
      F s = 0;
      if (cached) {
#pragma unroll
        for (int k = 0; k < kPer; k++) {
          const int64_t i = tid + (int64_t)k * bd;
          v[k] = i < D ? nn::ldf<F>(a.x, a.xdt, xo + i * xs) : F(0);
          s += v[k];
        }
      } else {
        for (int64_t i = tid; i < D; i += bd) s += nn::ldf<F>(a.x, a.xdt, xo + i * xs);
      }
      mean = block_sum(s, sh) / (F)D;
    }
    // sum of squares (of x - mean for layer_norm)
    F ss = 0;
    if (cached) {
#pragma unroll
      for (int k = 0; k < kPer; k++) {
        const int64_t i = tid + (int64_t)k * bd;
        if (!a.layer) v[k] = i < D ? nn::ldf<F>(a.x, a.xdt, xo + i * xs) : F(0);
        else if (i < D) v[k] = v[k] - mean;
        else v[k] = 0;
        ss += v[k] * v[k];
      }
    } else {
      for (int64_t i = tid; i < D; i += bd) {
        const F t = nn::ldf<F>(a.x, a.xdt, xo + i * xs) - mean;
        ss += t * t;
      }
    }
    const F rinv = F(1) / sqrt(block_sum(ss, sh) / (F)D + eps);
    auto finish = [&](int64_t i, F t) {
      F y = nn::mul_rn(t, rinv);
      if (a.w) y = nn::mul_rn(nn::round_to<F>(a.odt, y), nn::ldf<F>(a.w, a.wdt, i * a.ws));
      if (a.b) y = nn::add_rn(nn::round_to<F>(a.odt, y), nn::ldf<F>(a.b, a.bdt, i * a.bs));
      nn::stf<F>(a.o, a.odt, oo + i * os, y);
    };
    if (cached) {
#pragma unroll
      for (int k = 0; k < kPer; k++) {
        const int64_t i = tid + (int64_t)k * bd;
        if (i < D) finish(i, v[k]);
      }
    } else {
      for (int64_t i = tid; i < D; i += bd) finish(i, nn::ldf<F>(a.x, a.xdt, xo + i * xs) - mean);
    }
  }
}

void launch_norm(const Command& c, Context& ctx, bool layer, bool has_w, bool has_b) {
  const View &x = c.in(0), &out = c.out();
  if (x.size == 0) return;
  NormArgs a;
  a.x = dptr<const char>(x, ctx);
  a.o = dptr<char>(out, ctx);
  a.xdt = x.dtype;
  a.odt = out.dtype;
  a.w = a.b = nullptr;
  a.wdt = a.bdt = kFloat32;
  a.ws = a.bs = 0;
  if (has_w) {
    const View& w = c.in(1);
    a.w = dptr<const char>(w, ctx), a.wdt = w.dtype, a.ws = w.strides[0];
  }
  if (has_b) {
    const View& b = c.in(has_w ? 2 : 1);
    a.b = dptr<const char>(b, ctx), a.bdt = b.dtype, a.bs = b.strides[0];
  }
  a.D = x.shape[x.ndim - 1];
  a.rows = x.size / a.D;
  a.layer = layer;
  int64_t t = (a.D + kPer - 1) / kPer;
  t = (t + 31) / 32 * 32;
  const int threads = (int)std::min<int64_t>(1024, std::max<int64_t>(32, t));
  const unsigned blocks = (unsigned)std::min<int64_t>(a.rows, 1 << 20);
  const Rows xr = nn::rows_of(x), orr = nn::rows_of(out);
  if (out.dtype == kFloat64) norm_kernel<double><<<blocks, threads, 0, ctx.stream>>>(a, xr, orr, (double)c.params[0]);
  else norm_kernel<float><<<blocks, threads, 0, ctx.stream>>>(a, xr, orr, (float)c.params[0]);
}

void run_rms_norm(const Command& c, Context& ctx) { launch_norm(c, ctx, false, c.n_inputs == 2, false); }

void run_layer_norm(const Command& c, Context& ctx) { launch_norm(c, ctx, true, c.params[1] == 1, c.params[2] == 1); }

}  // namespace

KILN_CUDA_KERNEL("rms_norm", nullptr, run_rms_norm);
KILN_CUDA_KERNEL("layer_norm", nullptr, run_layer_norm);

}  // namespace cuda
}  // namespace kiln
