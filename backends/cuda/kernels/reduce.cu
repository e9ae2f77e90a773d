// reduce on the GPU: sum, prod, max, min, all, any, argmax, argmin over the trailing r dims of
// one view, as backends/cpu/kernels/reduce.cc defines them. One kernel template per storage
// dtype; the op is a runtime switch. Values accumulate in a 64-bit type per dtype: floats
// (float16/bfloat16/float32/float64) in double, signed integers in int64 whose sums and products
// wrap through uint64 (the low bits equal the CPU's same-width wrapping), unsigned in uint64,
// bool as 0/1. NaN propagates through max/min; argmax/argmin give the first index of the
// extreme (the first NaN when there is one), int32. Layouts as the CPU plans them (size-1 dims
// dropped, contiguous neighbours merged); three strategies:
//   rows:    one warp (short rows) or one block per output, contiguous rows with 16-byte loads;
//   split:   few long outputs: each output's range cut into chunks, partials merged by a 2nd pass;
//   columns: a kept dim denser than the innermost reduced dim: one thread per output, adjacent
//            threads on adjacent outputs (coalesced), split over the reduced range when few.
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

// ---- values and accumulators

template <typename T> struct RedT {
  using V =
      std::conditional_t<std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, float> ||
                             std::is_same_v<T, double>,
                         double, std::conditional_t<std::is_signed_v<T> && std::is_integral_v<T>, int64_t, uint64_t>>;
};

template <typename T> __device__ __forceinline__ typename RedT<T>::V load_v(T x) {
  using V = typename RedT<T>::V;
  if constexpr (std::is_same_v<T, __half>) return (double)__half2float(x);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return (double)__bfloat162float(x);
  else if constexpr (std::is_same_v<T, bool>) return x ? 1 : 0;
  else return (V)x;
}

template <typename T> __device__ __forceinline__ T store_v(typename RedT<T>::V v) {
  if constexpr (std::is_same_v<T, __half>) return __double2half(v);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __double2bfloat16(v);
  else if constexpr (std::is_same_v<T, bool>) return v != 0;
  else return (T)v;  // integers: truncation to the storage width (wraps)
}

template <typename V> struct Acc {
  V v;
  int64_t i;  // arg ops: the flat index of v (-1: none yet)
};

template <typename V> __device__ __forceinline__ bool isnan_v(V v) {
  if constexpr (std::is_floating_point_v<V>) return v != v;
  else return false;
}

template <typename V> __device__ __forceinline__ Acc<V> identity(int op) {
  Acc<V> a;
  a.i = -1;
  switch ((ReduceOp)op) {
    case ReduceOp::sum: a.v = V(0); break;
    case ReduceOp::prod: a.v = V(1); break;
    case ReduceOp::max:
      if constexpr (std::is_floating_point_v<V>) a.v = -INFINITY;
      else a.v = std::numeric_limits<V>::lowest();
      break;
    case ReduceOp::min:
      if constexpr (std::is_floating_point_v<V>) a.v = INFINITY;
      else a.v = std::numeric_limits<V>::max();
      break;
    case ReduceOp::all: a.v = V(1); break;
    default: a.v = V(0); break;  // any; arg ops (i = -1 marks empty)
  }
  return a;
}

// a = a (op) b. Commutative (the arg ops break ties by the smaller index, a NaN beats any number
// and the first NaN wins), so partial results merge in any order.
template <int OP, typename V> __device__ __forceinline__ void combine_t(Acc<V>& a, const Acc<V>& b) {
  constexpr ReduceOp o = (ReduceOp)OP;
  if constexpr (o == ReduceOp::sum) {
    if constexpr (std::is_floating_point_v<V>) a.v = a.v + b.v;
    else a.v = (V)((uint64_t)a.v + (uint64_t)b.v);
  } else if constexpr (o == ReduceOp::prod) {
    if constexpr (std::is_floating_point_v<V>) a.v = a.v * b.v;
    else a.v = (V)((uint64_t)a.v * (uint64_t)b.v);
  } else if constexpr (o == ReduceOp::max) {
    V m = b.v > a.v ? b.v : a.v;
    a.v = isnan_v(b.v) ? b.v : m;
  } else if constexpr (o == ReduceOp::min) {
    V m = b.v < a.v ? b.v : a.v;
    a.v = isnan_v(b.v) ? b.v : m;
  } else if constexpr (o == ReduceOp::all) {
    a.v = (a.v != V(0) && b.v != V(0)) ? V(1) : V(0);
  } else if constexpr (o == ReduceOp::any) {
    a.v = (a.v != V(0) || b.v != V(0)) ? V(1) : V(0);
  } else {  // argmax / argmin
    if (b.i < 0) return;
    if (a.i < 0) {
      a = b;
      return;
    }
    const bool an = isnan_v(a.v), bn = isnan_v(b.v);
    bool take;
    if (an || bn) take = an && bn ? b.i < a.i : bn;
    else if (a.v == b.v) take = b.i < a.i;
    else take = o == ReduceOp::argmax ? b.v > a.v : b.v < a.v;
    if (take) a = b;
  }
}

// The op as a runtime value (merges of partials: off the hot loops).
template <typename V> __device__ __forceinline__ void combine(int op, Acc<V>& a, const Acc<V>& b) {
  switch ((ReduceOp)op) {
    case ReduceOp::sum: return combine_t<(int)ReduceOp::sum>(a, b);
    case ReduceOp::prod: return combine_t<(int)ReduceOp::prod>(a, b);
    case ReduceOp::max: return combine_t<(int)ReduceOp::max>(a, b);
    case ReduceOp::min: return combine_t<(int)ReduceOp::min>(a, b);
    case ReduceOp::all: return combine_t<(int)ReduceOp::all>(a, b);
    case ReduceOp::any: return combine_t<(int)ReduceOp::any>(a, b);
    case ReduceOp::argmax: return combine_t<(int)ReduceOp::argmax>(a, b);
    default: return combine_t<(int)ReduceOp::argmin>(a, b);
  }
}

template <int OP, typename V> __device__ __forceinline__ void step(Acc<V>& a, V x, int64_t i) {
  Acc<V> b;
  b.v = x;
  b.i = i;
  combine_t<OP>(a, b);
}

template <typename V> __device__ __forceinline__ Acc<V> shfl_xor(const Acc<V>& a, int m) {
  Acc<V> r;
  r.v = __shfl_xor_sync(0xffffffffu, a.v, m);
  r.i = __shfl_xor_sync(0xffffffffu, a.i, m);
  return r;
}

template <typename V> __device__ __forceinline__ void warp_reduce(int op, Acc<V>& a) {
  for (int m = 16; m > 0; m >>= 1) combine(op, a, shfl_xor(a, m));
}

// The reduction of a over the block's x threads (blockDim.y == 1), valid in thread 0.
template <typename V> __device__ __forceinline__ void block_reduce(int op, Acc<V>& a) {
  __shared__ Acc<V> part[32];
  warp_reduce(op, a);
  const int w = threadIdx.x >> 5, l = threadIdx.x & 31, nw = (blockDim.x + 31) >> 5;
  if (l == 0) part[w] = a;
  __syncthreads();
  if (w == 0) {
    a = l < nw ? part[l] : identity<V>(op);
    warp_reduce(op, a);
  }
}

template <typename T>
__device__ __forceinline__ void finish(int op, const Acc<typename RedT<T>::V>& a, void* out, int64_t off) {
  switch ((ReduceOp)op) {
    case ReduceOp::all:
    case ReduceOp::any: static_cast<bool*>(out)[off] = a.v != 0; break;
    case ReduceOp::argmax:
    case ReduceOp::argmin: static_cast<int32_t*>(out)[off] = (int32_t)a.i; break;
    default: static_cast<T*>(out)[off] = store_v<T>(a.v);
  }
}

// ---- plan (as the CPU's make_plan)

struct Plan {
  int nk = 0, nr = 0;
  int64_t kshape[kMaxDims], kin[kMaxDims], kout[kMaxDims];
  int64_t rshape[kMaxDims], rstr[kMaxDims];
  int64_t n_out = 1, R = 1;
};

Plan make_plan(const View& in, const View& out, int r, bool keep_order) {
  Plan p;
  const int k = in.ndim - r;
  for (int d = 0; d < k; d++) {
    const int64_t n = in.shape[d];
    p.n_out *= n;
    if (n == 1) continue;
    const int j = p.nk - 1;
    if (j >= 0 && p.kin[j] == in.strides[d] * n && p.kout[j] == out.strides[d] * n) {
      p.kshape[j] *= n;
      p.kin[j] = in.strides[d];
      p.kout[j] = out.strides[d];
    } else {
      p.kshape[p.nk] = n;
      p.kin[p.nk] = in.strides[d];
      p.kout[p.nk] = out.strides[d];
      p.nk++;
    }
  }
  int order[kMaxDims], m = 0;
  for (int d = k; d < in.ndim; d++) {
    p.R *= in.shape[d];
    if (in.shape[d] != 1) order[m++] = d;
  }
  if (!keep_order)  // insertion sort by decreasing |stride| (stable)
    for (int i = 1; i < m; i++)
      for (int j = i; j > 0 && std::llabs(in.strides[order[j]]) > std::llabs(in.strides[order[j - 1]]); j--) {
        int t = order[j];
        order[j] = order[j - 1];
        order[j - 1] = t;
      }
  for (int i = 0; i < m; i++) {
    const int d = order[i];
    const int64_t n = in.shape[d];
    const int j = p.nr - 1;
    if (j >= 0 && p.rstr[j] == in.strides[d] * n) {
      p.rshape[j] *= n;
      p.rstr[j] = in.strides[d];
    } else {
      p.rshape[p.nr] = n;
      p.rstr[p.nr] = in.strides[d];
      p.nr++;
    }
  }
  if (p.nr == 0) {
    p.rshape[0] = 1;
    p.rstr[0] = 0;
    p.nr = 1;
  }
  return p;
}

// Offsets of kept flat index o (row-major over kshape) in the input and the output.
__device__ __forceinline__ void kept_offsets(const Plan& P, int64_t o, int64_t& oi, int64_t& oo) {
  oi = 0;
  oo = 0;
  for (int d = P.nk - 1; d >= 0; d--) {
    const int64_t s = P.kshape[d], q = o / s, x = o - q * s;
    oi += x * P.kin[d];
    oo += x * P.kout[d];
    o = q;
  }
}

__device__ __forceinline__ int64_t reduced_offset(const Plan& P, int64_t j) {
  int64_t off = 0;
  for (int d = P.nr - 1; d >= 0; d--) {
    const int64_t s = P.rshape[d], q = j / s;
    off += (j - q * s) * P.rstr[d];
    j = q;
  }
  return off;
}

template <typename T>
constexpr bool kSmallFloat = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, float>;

template <typename T> __device__ __forceinline__ float to_f(T x) {
  if constexpr (std::is_same_v<T, __half>) return __half2float(x);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __bfloat162float(x);
  else return (float)x;
}

// This thread's share (threads t, t + G, ...) of the reduced range [b, e) of the input at p.
// Contiguous single runs read 16 bytes at a time once aligned; extremes of 16- and 32-bit floats
// fold each vector in float first (exact for max/min).
template <typename T, int OP>
__device__ __forceinline__ void fold_range_t(const T* p, const Plan& P, int64_t b, int64_t e, int t, int G,
                                             Acc<typename RedT<T>::V>& a) {
  constexpr ReduceOp o = (ReduceOp)OP;
  if (P.nr == 1 && P.rstr[0] == 1) {
    constexpr int W = 16 / sizeof(T);
    const T* q = p + b;
    const int64_t n = e - b;
    const uintptr_t mis = reinterpret_cast<uintptr_t>(q) & 15;
    int64_t head = mis % sizeof(T) ? n : (int64_t)(((16 - mis) & 15) / sizeof(T));
    if (head > n) head = n;
    for (int64_t j = t; j < head; j += G) step<OP>(a, load_v(q[j]), b + j);
    const int64_t nv = (n - head) / W;
    const uint4* qv = reinterpret_cast<const uint4*>(q + head);
#pragma unroll 4
    for (int64_t v = t; v < nv; v += G) {
      uint4 raw = __ldg(qv + v);
      const T* x = reinterpret_cast<const T*>(&raw);
      // extremes fold in float (exact); sums add every element to the double accumulator, so eager
      // and fused (kn.compile) reductions, which both sum in double, round to the same float
      if constexpr (kSmallFloat<T> && (o == ReduceOp::max || o == ReduceOp::min)) {
        float f = to_f(x[0]);
#pragma unroll
        for (int u = 1; u < W; u++) {
          const float y = to_f(x[u]);
          const float m = o == ReduceOp::max ? (y > f ? y : f) : (y < f ? y : f);
          f = y != y ? y : m;
        }
        step<OP>(a, (double)f, 0);
      } else {
        const int64_t j0 = b + head + v * W;
#pragma unroll
        for (int u = 0; u < W; u++) step<OP>(a, load_v(x[u]), j0 + u);
      }
    }
    for (int64_t j = head + nv * W + t; j < n; j += G) step<OP>(a, load_v(q[j]), b + j);
    return;
  }
  if (P.nr == 1) {
    const int64_t s = P.rstr[0];
    for (int64_t j = b + t; j < e; j += G) step<OP>(a, load_v(p[j * s]), j);
    return;
  }
  for (int64_t j = b + t; j < e; j += G) step<OP>(a, load_v(p[reduced_offset(P, j)]), j);
}

// The same along a strided run, one thread (columns).
template <typename T, int OP>
__device__ __forceinline__ void fold_column_t(const T* p, const Plan& P, int64_t b, int64_t e,
                                              Acc<typename RedT<T>::V>& a) {
  if (P.nr == 1) {
    const int64_t s = P.rstr[0];
#pragma unroll 4
    for (int64_t j = b; j < e; j++) step<OP>(a, load_v(p[j * s]), j);  // independent loads in flight
  } else {
    for (int64_t j = b; j < e; j++) step<OP>(a, load_v(p[reduced_offset(P, j)]), j);
  }
}

// Calls f(std::integral_constant<int, op>) for a runtime op (bool has no sum / prod).
template <typename T, typename F> __device__ __forceinline__ void with_op(int op, F&& f) {
  switch ((ReduceOp)op) {
    case ReduceOp::sum:
      if constexpr (!std::is_same_v<T, bool>) f(std::integral_constant<int, (int)ReduceOp::sum>{});
      break;
    case ReduceOp::prod:
      if constexpr (!std::is_same_v<T, bool>) f(std::integral_constant<int, (int)ReduceOp::prod>{});
      break;
    case ReduceOp::max: f(std::integral_constant<int, (int)ReduceOp::max>{}); break;
    case ReduceOp::min: f(std::integral_constant<int, (int)ReduceOp::min>{}); break;
    case ReduceOp::all: f(std::integral_constant<int, (int)ReduceOp::all>{}); break;
    case ReduceOp::any: f(std::integral_constant<int, (int)ReduceOp::any>{}); break;
    case ReduceOp::argmax: f(std::integral_constant<int, (int)ReduceOp::argmax>{}); break;
    default: f(std::integral_constant<int, (int)ReduceOp::argmin>{}); break;
  }
}

template <typename T>
__device__ __forceinline__ void fold_range(int op, const T* p, const Plan& P, int64_t b, int64_t e, int t, int G,
                                           Acc<typename RedT<T>::V>& a) {
  with_op<T>(op, [&](auto k) { fold_range_t<T, decltype(k)::value>(p, P, b, e, t, G, a); });
}

// rows: blockDim = (G, rows per block); group (blockIdx.x * blockDim.y + threadIdx.y) reduces
// chunk c of output o (item = o * S + c). S == 1: the result is stored; else the partial.
// Blocks of up to 512 threads (32 x 8, 256 or 512 x 1): ptxas -O3 uses at most 78 registers (sm_90;
// 72 on sm_80), under the 128 a 512-thread block allows. No __launch_bounds__(512): with it ptxas
// caps the kernel at 64 registers and spills. Past 128 a 512-thread launch would fail.
template <typename T>
__global__ void reduce_rows_kernel(const T* in, void* out, Plan P, int op, int64_t S, int64_t chunk,
                                   Acc<typename RedT<T>::V>* part) {
  using V = typename RedT<T>::V;
  const int64_t item = (int64_t)blockIdx.x * blockDim.y + threadIdx.y;
  const bool live = item < P.n_out * S;
  Acc<V> a = identity<V>(op);
  int64_t oo = 0;
  if (live) {
    const int64_t o = item / S, c = item - o * S;
    int64_t oi;
    kept_offsets(P, o, oi, oo);
    const int64_t b = c * chunk, e = b + chunk < P.R ? b + chunk : P.R;
    fold_range<T>(op, in + oi, P, b, e, threadIdx.x, blockDim.x, a);
  }
  if (blockDim.x == 32) warp_reduce(op, a);
  else block_reduce(op, a);
  if (live && threadIdx.x == 0) {
    if (S == 1) finish<T>(op, a, out, oo);
    else part[item] = a;
  }
}

// columns: thread per output (kept dims reordered so the densest is innermost), reduced chunk
// blockIdx.y of S.
template <typename T>
__global__ void reduce_cols_kernel(const T* in, void* out, Plan P, int op, int64_t S, int64_t chunk,
                                   Acc<typename RedT<T>::V>* part) {
  using V = typename RedT<T>::V;
  const int64_t c = blockIdx.y;
  const int64_t b = c * chunk, e = b + chunk < P.R ? b + chunk : P.R;
  for (int64_t o = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; o < P.n_out; o += (int64_t)gridDim.x * blockDim.x) {
    int64_t oi, oo;
    kept_offsets(P, o, oi, oo);
    Acc<V> a = identity<V>(op);
    const T* p = in + oi;
    with_op<T>(op, [&](auto k) { fold_column_t<T, decltype(k)::value>(p, P, b, e, a); });
    if (S == 1) finish<T>(op, a, out, oo);
    else part[o * S + c] = a;
  }
}

// Merges the S partials of each output in order and stores the result.
template <typename T>
__global__ void merge_kernel(void* out, Plan P, int op, int64_t S, const Acc<typename RedT<T>::V>* part) {
  using V = typename RedT<T>::V;
  for (int64_t o = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; o < P.n_out; o += (int64_t)gridDim.x * blockDim.x) {
    Acc<V> a = part[o * S];
    for (int64_t c = 1; c < S; c++) combine(op, a, part[o * S + c]);
    int64_t oi, oo;
    kept_offsets(P, o, oi, oo);
    finish<T>(op, a, out, oo);
  }
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <typename T> void reduce_typed(const Command& c, Context& ctx) {
  using V = typename RedT<T>::V;
  using A = Acc<V>;
  const View& in = c.in(0);
  const View& out = c.out();
  const int op = (int)c.iparam(0);
  const bool arg = op == (int)ReduceOp::argmax || op == (int)ReduceOp::argmin;
  Plan P = make_plan(in, out, (int)c.iparam(1), arg);
  if (P.n_out == 0) return;
  const T* src = dptr<const T>(in, ctx);
  void* dst = out.device_data(ctx.device);
  const int64_t sms = ctx.sm_count > 0 ? ctx.sm_count : 132;
  bool cols = false;
  int v = 0;
  if (P.nk > 0 && P.R > 1) {
    for (int d = 1; d < P.nk; d++)
      if (std::llabs(P.kin[d]) < std::llabs(P.kin[v])) v = d;
    cols = std::llabs(P.kin[v]) < std::llabs(P.rstr[P.nr - 1]);
  }
  if (cols) {
    // the densest kept dim innermost: adjacent threads read adjacent elements
    Plan Q = P;
    int j = 0;
    for (int d = 0; d < P.nk; d++)
      if (d != v) {
        Q.kshape[j] = P.kshape[d];
        Q.kin[j] = P.kin[d];
        Q.kout[j] = P.kout[d];
        j++;
      }
    Q.kshape[j] = P.kshape[v];
    Q.kin[j] = P.kin[v];
    Q.kout[j] = P.kout[v];
    const int threads = 256;
    const int64_t blocks = ceil_div(P.n_out, threads);
    int64_t S = 1;
    if (blocks < 4 * sms && P.R >= 64) S = std::min<int64_t>(ceil_div(8 * sms, blocks), ceil_div(P.R, 32));
    if (S > 65535) S = 65535;
    const int64_t chunk = ceil_div(P.R, S);
    S = ceil_div(P.R, chunk);
    A* part = S > 1 ? static_cast<A*>(ctx.scratch((int64_t)sizeof(A) * P.n_out * S)) : nullptr;
    dim3 grid((unsigned)std::min<int64_t>(blocks, 1 << 20), (unsigned)S);
    reduce_cols_kernel<T><<<grid, threads, 0, ctx.stream>>>(src, dst, Q, op, S, chunk, part);
    check_launch(c, "reduce columns");
    if (S > 1) {
      merge_kernel<T><<<grid_for(P.n_out), 256, 0, ctx.stream>>>(dst, Q, op, S, part);
      check_launch(c, "reduce merge");
    }
    return;
  }
  if (P.R <= 512) {  // a warp per output, 8 per block
    dim3 block(32, 8);
    reduce_rows_kernel<T><<<(unsigned)ceil_div(P.n_out, 8), block, 0, ctx.stream>>>(src, dst, P, op, 1, P.R, nullptr);
    check_launch(c, "reduce rows");
    return;
  }
  const int threads = P.R >= 8192 ? 512 : 256;
  int64_t S = 1;
  if (P.n_out < 2 * sms && P.R >= 65536) S = std::min<int64_t>(ceil_div(8 * sms, P.n_out), ceil_div(P.R, 16384));
  int64_t chunk = ceil_div(P.R, S);
  chunk = (chunk + 63) & ~int64_t(63);  // chunks start 16-byte aligned when the row does
  S = ceil_div(P.R, chunk);
  A* part = S > 1 ? static_cast<A*>(ctx.scratch((int64_t)sizeof(A) * P.n_out * S)) : nullptr;
  reduce_rows_kernel<T><<<(unsigned)(P.n_out * S), dim3(threads, 1), 0, ctx.stream>>>(src, dst, P, op, S, chunk, part);
  check_launch(c, "reduce rows");
  if (S > 1) {
    merge_kernel<T><<<grid_for(P.n_out), 256, 0, ctx.stream>>>(dst, P, op, S, part);
    check_launch(c, "reduce merge");
  }
}

bool reduce_supports(const Command& c) {
  const int d = c.in(0).dtype;
  if (d == kComplex64) return false;
  // grid.x of the rows kernels holds every output (times its chunks)
  return c.out().size < (int64_t(1) << 31) - 1;
}

void reduce_run(const Command& c, Context& ctx) {
  dispatch_dtype(c.in(0).dtype, c, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64>) fail("[reduce] complex64 is not supported on the GPU");
    else reduce_typed<T>(c, ctx);
  });
}

}  // namespace

KILN_CUDA_KERNEL("reduce", reduce_supports, reduce_run);

}  // namespace cuda
}  // namespace kiln
