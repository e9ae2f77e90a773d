// rope on the GPU, mirroring backends/cpu/kernels/rope.cc:
//   inputs x [, freqs [dims/2]]   params dims, traditional, base, scale, offset, has_freqs
// Row l (axis -2) rotates its pairs i < dims/2 by theta = (offset + l) * scale * inv[i], inv[i] =
// base^(-2i/dims) (exp(i * -log(base)/half), as the CPU) or 1/freqs[i]; pairs (x[i], x[i + half]),
// or (x[2i], x[2i+1]) when traditional; features from dims on are copied. A first kernel fills
// the cos/sin table [L, half] in double rounded to the compute type (float; double for float64),
// the second writes each output element from its pair (products rounded before the sum, as the
// CPU's loop).
#include <cmath>
#include "nn_util.cuh"
#include "../registry.h"

namespace kiln {
namespace cuda {
namespace {

using nn::Rows;

template <typename F>
__global__ void rope_table(F* cs, F* sn, int64_t L, int64_t half, const void* freqs, int fdt, int64_t fstride, double k,
                           double offset, double scale) {
  const int64_t n = L * half;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t l = e / half, i = e - l * half;
    const double inv = freqs ? 1.0 / nn::ldf<double>(freqs, fdt, i * fstride) : exp((double)i * k);
    const double pos = __dmul_rn(offset + (double)l, scale);
    const double t = __dmul_rn(pos, inv);
    double s, c;
    sincos(t, &s, &c);
    cs[e] = (F)c;
    sn[e] = (F)s;
  }
}

struct RopeArgs {
  const void* x;
  void* o;
  int xdt, odt;
  int64_t rows, L, D, dims, half;
  bool traditional;
};

template <typename F> __global__ void rope_apply(RopeArgs a, Rows xr, Rows orr, const F* cs, const F* sn) {
  const int64_t n = a.rows * a.D, xs = xr.last_stride, os = orr.last_stride;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = e / a.D, p = e - r * a.D;
    const int64_t xo = nn::row_off(xr, r), oo = nn::row_off(orr, r);
    F y;
    if (p < a.dims) {
      int64_t i, p1, p2;
      bool first;
      if (a.traditional) {
        i = p >> 1, p1 = p & ~(int64_t)1, p2 = p1 + 1, first = (p & 1) == 0;
      } else {
        first = p < a.half;
        i = first ? p : p - a.half, p1 = i, p2 = i + a.half;
      }
      const int64_t l = r % a.L;
      const F c = cs[l * a.half + i], s = sn[l * a.half + i];
      const F x1 = nn::ldf<F>(a.x, a.xdt, xo + p1 * xs), x2 = nn::ldf<F>(a.x, a.xdt, xo + p2 * xs);
      y = first ? nn::sub_rn(nn::mul_rn(x1, c), nn::mul_rn(x2, s)) : nn::add_rn(nn::mul_rn(x1, s), nn::mul_rn(x2, c));
    } else {
      y = nn::ldf<F>(a.x, a.xdt, xo + p * xs);
    }
    nn::stf<F>(a.o, a.odt, oo + p * os, y);
  }
}

template <typename F> void rope_typed(const Command& c, Context& ctx) {
  const View &x = c.in(0), &out = c.out();
  const int nd = x.ndim;
  RopeArgs a;
  a.x = dptr<const char>(x, ctx);
  a.o = dptr<char>(out, ctx);
  a.xdt = x.dtype, a.odt = out.dtype;
  a.L = x.shape[nd - 2], a.D = x.shape[nd - 1];
  a.dims = (int64_t)c.params[0];
  a.half = a.dims / 2;
  a.traditional = c.params[1] == 1;
  a.rows = x.size / a.D;
  const bool has_freqs = c.params[5] == 1;
  const double base = c.params[2], scale = c.params[3], offset = c.params[4];
  const void* freqs = nullptr;
  int fdt = kFloat32;
  int64_t fstride = 0;
  if (has_freqs) {
    const View& f = c.in(1);
    freqs = dptr<const char>(f, ctx), fdt = f.dtype, fstride = f.strides[0];
  }
  const double k = has_freqs ? 0.0 : -std::log(base) / (double)a.half;
  const int64_t nt = a.L * a.half;
  F* tab = static_cast<F*>(ctx.scratch(2 * nt * (int64_t)sizeof(F)));
  rope_table<F>
      <<<grid_for(nt), 256, 0, ctx.stream>>>(tab, tab + nt, a.L, a.half, freqs, fdt, fstride, k, offset, scale);
  check_launch(c, "rope table");
  const Rows xr = nn::rows_of(x), orr = nn::rows_of(out);
  rope_apply<F><<<grid_for(a.rows * a.D), 256, 0, ctx.stream>>>(a, xr, orr, tab, tab + nt);
}

void run_rope(const Command& c, Context& ctx) {
  if (c.in(0).size == 0) return;
  if (c.out().dtype == kFloat64) rope_typed<double>(c, ctx);
  else rope_typed<float>(c, ctx);
}

}  // namespace

KILN_CUDA_KERNEL("rope", nullptr, run_rope);

}  // namespace cuda
}  // namespace kiln
