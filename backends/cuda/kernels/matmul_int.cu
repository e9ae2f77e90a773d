// Device kernels behind the GPU matmul (the cuBLASLt glue is backends/cuda/cuda_blas.cc):
// - integer matmul: a 16x16 shared-memory tiled kernel with the CPU's semantics (exact products
//   modulo 2^64 truncated to the output width: numpy's wrapping). Signed and unsigned types of one
//   width give the same bits modulo 2^width, so one instantiation per width (accumulating in
//   uint32 for widths <= 32, which is the same modulo 2^width as the CPU's uint64).
// - a zero fill of a strided output (K == 0) and strided <-> contiguous copies by element size,
//   for operands cuBLASLt cannot address (negative or zero strides inside a matrix).
#include "common.cuh"
#include "matmul_int.h"

namespace kiln {
namespace cuda {
namespace {

constexpr int kTile = 16;

struct MatmulArgs {
  int64_t M, N, K, nb;
  int64_t ars, acs, brs, bcs, ors, ocs;
  int32_t nbd;
  int64_t bshape[kMaxDims];
  int64_t as[kMaxDims], bs[kMaxDims], os[kMaxDims];
};

template <typename T, typename Acc>
__global__ void matmul_int_kernel(const T* __restrict__ A, const T* __restrict__ B, T* __restrict__ O, MatmulArgs p) {
  __shared__ Acc sa[kTile][kTile + 1];
  __shared__ Acc sb[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t col = (int64_t)blockIdx.x * kTile + tx;
  const int64_t row_tiles = (p.M + kTile - 1) / kTile;
  for (int64_t bi = blockIdx.z; bi < p.nb; bi += gridDim.z) {
    int64_t oa = 0, ob = 0, oo = 0, rest = bi;
    for (int d = p.nbd - 1; d >= 0; d--) {
      const int64_t i = rest % p.bshape[d];
      rest /= p.bshape[d];
      oa += i * p.as[d];
      ob += i * p.bs[d];
      oo += i * p.os[d];
    }
    const T* a = A + oa;
    const T* b = B + ob;
    for (int64_t rt = blockIdx.y; rt < row_tiles; rt += gridDim.y) {
      const int64_t row = rt * kTile + ty;
      Acc acc = 0;
      for (int64_t k0 = 0; k0 < p.K; k0 += kTile) {
        const int64_t ka = k0 + tx, kb = k0 + ty;
        sa[ty][tx] = (row < p.M && ka < p.K) ? (Acc)a[row * p.ars + ka * p.acs] : (Acc)0;
        sb[ty][tx] = (kb < p.K && col < p.N) ? (Acc)b[kb * p.brs + col * p.bcs] : (Acc)0;
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTile; kk++) acc += sa[ty][kk] * sb[kk][tx];
        __syncthreads();
      }
      if (row < p.M && col < p.N) O[oo + row * p.ors + col * p.ocs] = (T)acc;
    }
  }
}

template <typename T, typename Acc> void launch_int(const Command& c, Context& ctx) {
  const View& A = c.in(0);
  const View& B = c.in(1);
  const View& O = c.out();
  const int nd = O.ndim;
  MatmulArgs p;
  p.M = O.shape[nd - 2];
  p.N = O.shape[nd - 1];
  p.K = A.shape[nd - 1];
  p.nbd = nd - 2;
  p.nb = 1;
  for (int d = 0; d < nd - 2; d++) {
    p.bshape[d] = O.shape[d];
    p.as[d] = A.strides[d];
    p.bs[d] = B.strides[d];
    p.os[d] = O.strides[d];
    p.nb *= O.shape[d];
  }
  p.ars = A.strides[nd - 2];
  p.acs = A.strides[nd - 1];
  p.brs = B.strides[nd - 2];
  p.bcs = B.strides[nd - 1];
  p.ors = O.strides[nd - 2];
  p.ocs = O.strides[nd - 1];
  if (O.size == 0) return;
  const int64_t col_tiles = (p.N + kTile - 1) / kTile, row_tiles = (p.M + kTile - 1) / kTile;
  if (col_tiles > 0x7fffffffLL) fail("[matmul] N = ", p.N, " is too large for the GPU integer kernel");
  dim3 block(kTile, kTile);
  dim3 grid((unsigned)col_tiles, (unsigned)(row_tiles < 65535 ? row_tiles : 65535),
            (unsigned)(p.nb < 65535 ? p.nb : 65535));
  matmul_int_kernel<T, Acc><<<grid, block, 0, ctx.stream>>>(reinterpret_cast<const T*>(A.device_data(ctx.device)),
                                                            reinterpret_cast<const T*>(B.device_data(ctx.device)),
                                                            reinterpret_cast<T*>(O.device_data(ctx.device)), p);
  check_launch(c, "integer matmul launch");
}

// Element-size-generic strided kernels (raw bits: no dtype conversion).
template <typename W> __global__ void fill_zero_kernel(W* o, Layout L, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    o[element_offset(L, i)] = W(0);
}
template <typename W> __global__ void gather_kernel(const W* src, Layout L, W* dst, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = src[element_offset(L, i)];
}
template <typename W> __global__ void scatter_kernel(const W* src, Layout L, W* dst, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dst[element_offset(L, i)] = src[i];
}

template <typename F> void by_width(int64_t width, const Command& c, F&& f) {
  switch (width) {
    case 1: return f(TypeTag<uint8_t>{});
    case 2: return f(TypeTag<uint16_t>{});
    case 4: return f(TypeTag<uint32_t>{});
    case 8: return f(TypeTag<uint64_t>{});
    default: fail("[", kernel_name(c), "] unsupported element size ", width, " on the GPU");
  }
}

}  // namespace

void matmul_int(const Command& c, Context& ctx) {
  switch (dtype_size(c.out().dtype)) {
    case 1: return launch_int<uint8_t, uint32_t>(c, ctx);
    case 2: return launch_int<uint16_t, uint32_t>(c, ctx);
    case 4: return launch_int<uint32_t, uint32_t>(c, ctx);
    case 8: return launch_int<uint64_t, uint64_t>(c, ctx);
    default: fail("[matmul] unsupported dtype ", dtype_name(c.out().dtype), " on the GPU");
  }
}

void fill_zero_strided(const Command& c, const View& v, Context& ctx) {
  if (v.size == 0) return;
  by_width(dtype_size(v.dtype), c, [&](auto tag) {
    using W = typename decltype(tag)::type;
    fill_zero_kernel<W><<<grid_for(v.size), 256, 0, ctx.stream>>>(reinterpret_cast<W*>(v.device_data(ctx.device)),
                                                                  layout_of(v), v.size);
  });
  check_launch(c, "zero fill launch");
}

void copy_to_contiguous(const Command& c, const View& v, void* dst, Context& ctx) {
  if (v.size == 0) return;
  by_width(dtype_size(v.dtype), c, [&](auto tag) {
    using W = typename decltype(tag)::type;
    gather_kernel<W><<<grid_for(v.size), 256, 0, ctx.stream>>>(reinterpret_cast<const W*>(v.device_data(ctx.device)),
                                                               layout_of(v), reinterpret_cast<W*>(dst), v.size);
  });
  check_launch(c, "gather launch");
}

void copy_from_contiguous(const Command& c, const void* src, const View& v, Context& ctx) {
  if (v.size == 0) return;
  by_width(dtype_size(v.dtype), c, [&](auto tag) {
    using W = typename decltype(tag)::type;
    scatter_kernel<W><<<grid_for(v.size), 256, 0, ctx.stream>>>(
        reinterpret_cast<const W*>(src), layout_of(v), reinterpret_cast<W*>(v.device_data(ctx.device)), v.size);
  });
  check_launch(c, "scatter launch");
}

}  // namespace cuda
}  // namespace kiln
