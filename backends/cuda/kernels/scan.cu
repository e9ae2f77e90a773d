// scan on the GPU: cumsum, cumprod, cummax, cummin, logcumsumexp along the last dim, forward or
// reverse (params[1]), inclusive or exclusive (params[2]: the identity first), as
// backends/cpu/kernels/scan.cc. Running values: float16/bfloat16/float32 in float, float64 in
// double (as the CPU); integers in int64/uint64 whose sums and products wrap through uint64 (the
// low bits equal the CPU's wrapping in the output's width, widened outputs included); bool 0/1.
// Strategies: a warp per row (short rows), a block per row, three passes for a few long rows
// (chunk totals, their exclusive prefix, each chunk from its carry), and a thread per row when
// another dim is denser in memory than the scanned one (a scan along a leading axis).
#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include "common.cuh"
#include "../registry.h"
#include "../../common/ops.h"

namespace kiln {
namespace cuda {
namespace {

template <typename T> struct ScanT {
  using V = std::conditional_t<
      std::is_same_v<T, double>, double,
      std::conditional_t<std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, float>,
                         float, std::conditional_t<std::is_signed_v<T> && std::is_integral_v<T>, int64_t, uint64_t>>>;
};

template <typename V, typename T> __device__ __forceinline__ V load_s(T x) {
  if constexpr (std::is_same_v<T, __half>) return __half2float(x);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __bfloat162float(x);
  else if constexpr (std::is_same_v<T, bool>) return x ? V(1) : V(0);
  else return (V)x;
}

template <typename O, typename V> __device__ __forceinline__ O store_s(V v) {
  if constexpr (std::is_same_v<O, __half>) return __float2half_rn(v);
  else if constexpr (std::is_same_v<O, __nv_bfloat16>) return __float2bfloat16_rn(v);
  else if constexpr (std::is_same_v<O, bool>) return v != V(0);
  else return (O)v;  // integers: truncation (wraps)
}

// T: the input dtype (cummax / cummin start from its own extremes: exclusive scans store them).
template <typename T, typename V> __device__ __forceinline__ V identity(int op) {
  switch ((ScanOp)op) {
    case ScanOp::cumsum: return V(0);
    case ScanOp::cumprod: return V(1);
    case ScanOp::cummax:
      if constexpr (std::is_floating_point_v<V>) return -INFINITY;
      else if constexpr (std::is_same_v<T, bool>) return V(0);  // the CPU's !kMax
      else return (V)std::numeric_limits<T>::lowest();
    case ScanOp::cummin:
      if constexpr (std::is_floating_point_v<V>) return INFINITY;
      else if constexpr (std::is_same_v<T, bool>) return V(1);
      else return (V)std::numeric_limits<T>::max();
    default:
      if constexpr (std::is_floating_point_v<V>) return -INFINITY;
      else return V(0);
  }
}

template <typename V> __device__ __forceinline__ V combine(int op, V a, V x) {
  switch ((ScanOp)op) {
    case ScanOp::cumsum:
      if constexpr (std::is_floating_point_v<V>) return a + x;
      else return (V)((uint64_t)a + (uint64_t)x);
    case ScanOp::cumprod:
      if constexpr (std::is_floating_point_v<V>) return a * x;
      else return (V)((uint64_t)a * (uint64_t)x);
    case ScanOp::cummax: {
      V m = x > a ? x : a;
      if constexpr (std::is_floating_point_v<V>) return x != x ? x : m;
      else return m;
    }
    case ScanOp::cummin: {
      V m = x < a ? x : a;
      if constexpr (std::is_floating_point_v<V>) return x != x ? x : m;
      else return m;
    }
    default:
      if constexpr (std::is_floating_point_v<V>) {  // logaddexp: -inf identity, NaN propagates
        if (a != a || x != x) return a + x;
        V mx = a > x ? a : x, mn = a > x ? x : a;
        if (mn == -INFINITY || mx == INFINITY) return mx;
        if constexpr (std::is_same_v<V, float>) return mx + log1pf(expf(mn - mx));
        else return mx + log1p(exp(mn - mx));
      } else {
        return a;
      }
  }
}

// Leading dims (all but the last) of the input and output; rows are numbered over lshape.
struct Rows {
  int nd = 0;
  int64_t shape[kMaxDims], sin[kMaxDims], sout[kMaxDims];
  int64_t n = 0, is = 0, os = 0;        // scanned length and strides (in scan order)
  int64_t first_in = 0, first_out = 0;  // offset of scan position 0 relative to the row start
};

__device__ __forceinline__ void row_offsets(const Rows& R, int64_t r, int64_t& oi, int64_t& oo) {
  oi = R.first_in;
  oo = R.first_out;
  for (int d = R.nd - 1; d >= 0; d--) {
    const int64_t s = R.shape[d], q = r / s, x = r - q * s;
    oi += x * R.sin[d];
    oo += x * R.sout[d];
    r = q;
  }
}

// Inclusive scan of v over the group's x threads (blockDim.x: 32 or a multiple of 32, y groups
// per block when 32); returns the inclusive value, excl gets the exclusive one (identity first),
// total the group total.
template <typename T, typename V> __device__ __forceinline__ V group_scan(int op, V v, V& excl, V& total) {
  const int lane = threadIdx.x & 31;
  V x = v;
#pragma unroll
  for (int d = 1; d < 32; d <<= 1) {
    V y = __shfl_up_sync(0xffffffffu, x, d);
    if (lane >= d) x = combine(op, y, x);
  }
  V up = __shfl_up_sync(0xffffffffu, x, 1);
  V ex = lane == 0 ? identity<T, V>(op) : up;
  if (blockDim.x == 32) {
    excl = ex;
    total = __shfl_sync(0xffffffffu, x, 31);
    return x;
  }
  __shared__ V wsum[32];
  const int w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  __syncthreads();  // wsum of the previous tile is read
  if (lane == 31) wsum[w] = x;
  __syncthreads();
  if (w == 0) {
    V t = lane < nw ? wsum[lane] : identity<T, V>(op);
    V s = t;
#pragma unroll
    for (int d = 1; d < 32; d <<= 1) {
      V y = __shfl_up_sync(0xffffffffu, s, d);
      if (lane >= d) s = combine(op, y, s);
    }
    V e = __shfl_up_sync(0xffffffffu, s, 1);
    if (lane < nw) wsum[lane] = lane == 0 ? identity<T, V>(op) : e;  // exclusive prefix of warp totals
    if (lane == 31) wsum[31] = s;                                    // the total (launches use at most 16 warps)
  }
  __syncthreads();
  const V pre = wsum[w];
  total = wsum[31];
  excl = w == 0 ? ex : combine(op, pre, ex);
  return w == 0 ? x : combine(op, pre, x);
}

// Scans chunk c (of S, length chunk) of row r from its carry: one group per (row, chunk).
// Blocks of up to 512 threads (32 x 8, 512 x 1): ptxas -O3 uses at most 56 registers (sm_90), under
// the 128 a 512-thread block allows (no __launch_bounds__: it makes ptxas aim lower than needed).
template <typename T, typename O>
__global__ void scan_rows_kernel(const T* in, O* out, Rows R, int op, bool inclusive, int64_t S, int64_t chunk,
                                 const typename ScanT<T>::V* carry, int64_t items) {
  using V = typename ScanT<T>::V;
  const int64_t item = (int64_t)blockIdx.x * blockDim.y + threadIdx.y;
  const bool live = item < items;  // whole groups are live or not
  if (!live && blockDim.x == 32) return;
  int64_t oi = 0, oo = 0, b = 0, e = 0;
  V a = identity<T, V>(op);
  if (live) {
    const int64_t r = item / S, c = item - r * S;
    row_offsets(R, r, oi, oo);
    b = c * chunk;
    e = b + chunk < R.n ? b + chunk : R.n;
    if (carry) a = carry[item];
  }
  const int G = blockDim.x;
  // groups wider than a warp are whole blocks: every thread loops the same tiles (barriers)
  for (int64_t t0 = b; t0 < e; t0 += G) {
    const int64_t j = t0 + threadIdx.x;
    const V x = j < e ? load_s<V>(in[oi + j * R.is]) : identity<T, V>(op);
    V ex, tot;
    const V inc = group_scan<T>(op, x, ex, tot);
    if (j < e) out[oo + j * R.os] = store_s<O>(combine(op, a, inclusive ? inc : ex));
    a = combine(op, a, tot);
  }
}

// The total of chunk c of row r (every chunk but the last of each row carries).
template <typename T>
__global__ void scan_totals_kernel(const T* in, Rows R, int op, int64_t S, int64_t chunk, typename ScanT<T>::V* tot) {
  using V = typename ScanT<T>::V;
  const int64_t item = blockIdx.x;
  const int64_t r = item / S, c = item - r * S;
  int64_t oi, oo;
  row_offsets(R, r, oi, oo);
  const int64_t b = c * chunk, e = b + chunk < R.n ? b + chunk : R.n;
  V a = identity<T, V>(op);
  for (int64_t j = b + threadIdx.x; j < e; j += blockDim.x) a = combine(op, a, load_s<V>(in[oi + j * R.is]));
  for (int m = 16; m > 0; m >>= 1) a = combine(op, a, __shfl_xor_sync(0xffffffffu, a, m));
  __shared__ V part[32];
  const int w = threadIdx.x >> 5, l = threadIdx.x & 31;
  if (l == 0) part[w] = a;
  __syncthreads();
  if (threadIdx.x == 0) {
    V t = part[0];
    for (int k = 1; k < (int)(blockDim.x >> 5); k++) t = combine(op, t, part[k]);
    tot[item] = t;
  }
}

// Per row: the chunk totals become each chunk's carry (exclusive prefix, in chunk order).
template <typename T, typename V> __global__ void scan_carry_kernel(V* tot, int64_t rows, int64_t S, int op) {
  for (int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; r < rows; r += (int64_t)gridDim.x * blockDim.x) {
    V a = identity<T, V>(op);
    for (int64_t k = 0; k < S; k++) {
      V t = tot[r * S + k];
      tot[r * S + k] = a;
      a = combine(op, a, t);
    }
  }
}

// A thread per row walking it in order (rows numbered densest dim innermost: coalesced).
template <typename T, typename O>
__global__ void scan_cols_kernel(const T* in, O* out, Rows R, int op, bool inclusive, int64_t rows) {
  using V = typename ScanT<T>::V;
  for (int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; r < rows; r += (int64_t)gridDim.x * blockDim.x) {
    int64_t oi, oo;
    row_offsets(R, r, oi, oo);
    V a = identity<T, V>(op);
    for (int64_t j = 0; j < R.n; j++) {
      const V x = load_s<V>(in[oi + j * R.is]);
      if (inclusive) {
        a = combine(op, a, x);
        out[oo + j * R.os] = store_s<O>(a);
      } else {
        out[oo + j * R.os] = store_s<O>(a);
        a = combine(op, a, x);
      }
    }
  }
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <typename T, typename O> void scan_typed(const Command& c, Context& ctx) {
  using V = typename ScanT<T>::V;
  const View& in = c.in(0);
  const View& out = c.out();
  const int op = (int)c.iparam(0);
  const bool reverse = c.iparam(1) != 0, inclusive = c.iparam(2) != 0;
  const int nd = in.ndim;
  Rows R;
  R.n = in.shape[nd - 1];
  const int64_t rows = R.n == 0 ? 0 : in.size / R.n;
  if (rows == 0) return;
  R.is = reverse ? -in.strides[nd - 1] : in.strides[nd - 1];
  R.os = reverse ? -out.strides[nd - 1] : out.strides[nd - 1];
  R.first_in = reverse ? (R.n - 1) * in.strides[nd - 1] : 0;
  R.first_out = reverse ? (R.n - 1) * out.strides[nd - 1] : 0;
  // leading dims of size > 1, ordered by decreasing |input stride| (rows may run in any order)
  int order[kMaxDims], m = 0;
  for (int d = 0; d + 1 < nd; d++)
    if (in.shape[d] > 1) order[m++] = d;
  for (int i = 1; i < m; i++)
    for (int j = i; j > 0 && std::llabs(in.strides[order[j]]) > std::llabs(in.strides[order[j - 1]]); j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  R.nd = m;
  for (int i = 0; i < m; i++) {
    R.shape[i] = in.shape[order[i]];
    R.sin[i] = in.strides[order[i]];
    R.sout[i] = out.strides[order[i]];
  }
  const T* src = dptr<const T>(in, ctx);
  O* dst = dptr<O>(out, ctx);
  const int64_t sms = ctx.sm_count > 0 ? ctx.sm_count : 132;
  const bool dense_other = m > 0 && R.n >= 2 && std::llabs(R.sin[m - 1]) < std::llabs(R.is);
  if (dense_other && rows >= 32 * sms) {
    scan_cols_kernel<T, O><<<grid_for(rows), 256, 0, ctx.stream>>>(src, dst, R, op, inclusive, rows);
    check_launch(c, "scan columns");
    return;
  }
  if (R.n <= 1024) {  // a warp per row, 8 rows per block
    scan_rows_kernel<T, O><<<(unsigned)ceil_div(rows, 8), dim3(32, 8), 0, ctx.stream>>>(src, dst, R, op, inclusive, 1,
                                                                                        R.n, nullptr, rows);
    check_launch(c, "scan rows");
    return;
  }
  const int threads = 512;  // 16 warps: wsum[31] stays free for the total
  int64_t S = 1;
  if (rows < 2 * sms && R.n >= 65536) S = std::min<int64_t>(ceil_div(8 * sms, rows), ceil_div(R.n, 16384));
  const int64_t chunk = ceil_div(R.n, S);
  S = ceil_div(R.n, chunk);
  V* tot = nullptr;
  if (S > 1) {
    tot = static_cast<V*>(ctx.scratch((int64_t)sizeof(V) * rows * S));
    scan_totals_kernel<T><<<(unsigned)(rows * S), 256, 0, ctx.stream>>>(src, R, op, S, chunk, tot);
    check_launch(c, "scan totals");
    scan_carry_kernel<T, V><<<grid_for(rows), 256, 0, ctx.stream>>>(tot, rows, S, op);
    check_launch(c, "scan carries");
  }
  scan_rows_kernel<T, O>
      <<<(unsigned)(rows * S), dim3(threads, 1), 0, ctx.stream>>>(src, dst, R, op, inclusive, S, chunk, tot, rows * S);
  check_launch(c, "scan rows");
}

bool scan_supports(const Command& c) {
  if (c.in(0).dtype == kComplex64) return false;
  const int64_t n = c.in(0).shape[c.in(0).ndim - 1];
  const int64_t rows = n == 0 ? 0 : c.in(0).size / n;
  return rows < (int64_t(1) << 31) - 1;  // grid.x holds the rows
}

void scan_run(const Command& c, Context& ctx) {
  const int od = c.out().dtype;
  dispatch_dtype(c.in(0).dtype, c, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64>) {
      fail("[scan] complex64 is not supported on the GPU");
    } else {
      if (od == c.in(0).dtype) return scan_typed<T, T>(c, ctx);
      if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int8_t> || std::is_same_v<T, int16_t>) {
        if (od == kInt32) return scan_typed<T, int32_t>(c, ctx);
      }
      if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, uint16_t>) {
        if (od == kUint32) return scan_typed<T, uint32_t>(c, ctx);
      }
      fail("[scan] unsupported output dtype ", dtype_name(od), " on the GPU");
    }
  });
}

}  // namespace

KILN_CUDA_KERNEL("scan", scan_supports, scan_run);

}  // namespace cuda
}  // namespace kiln
