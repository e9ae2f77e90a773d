// gather / scatter on the GPU, as backends/cpu/kernels/index.cc. Every operand is a 3-d view
// [A, N|M, B]:
//   gather:  out[a, m, b] = src[a, idx[a, m, b], b]           (idx broadcasts over a and b)
//   scatter: out = base; out[a, idx[a, m, b], b] (op)= upd[a, m, b], repeated indices in order
// Indices may be negative (from the end). As on the CPU, any index outside [-N, N) fails the
// command with "[take] / [scatter] index i is out of bounds for an axis of size N" naming the
// first bad one in [A, M, B] order, before anything is written: a kernel finds it and the host
// waits for that one word (the only synchronisation in these kernels).
// Scatter applies the updates of each (a, b) column in m order in one thread (the CPU's order:
// updates of different columns never meet), so every mode gives the CPU's bits; assignment with
// few columns and many updates instead lets the last m of each target win through atomicMax.
#include <cstdint>
#include <cstring>
#include <type_traits>
#include "common.cuh"
#include "../registry.h"

namespace kiln {
namespace cuda {
namespace {

struct V3 {
  int64_t shape[3], strides[3];
};
V3 v3(const View& v) {
  V3 r;
  for (int d = 0; d < 3; d++) {
    r.shape[d] = v.shape[d];
    r.strides[d] = v.strides[d];
  }
  return r;
}

// The index at element offset off of an integer view (uint64 above INT64_MAX saturates, as the CPU).
__device__ __forceinline__ int64_t load_index(const void* p, int dtype, int64_t off) {
  switch (dtype) {
    case kUint8: return static_cast<const uint8_t*>(p)[off];
    case kUint16: return static_cast<const uint16_t*>(p)[off];
    case kUint32: return static_cast<const uint32_t*>(p)[off];
    case kUint64: {
      const uint64_t u = static_cast<const uint64_t*>(p)[off];
      return u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
    }
    case kInt8: return static_cast<const int8_t*>(p)[off];
    case kInt16: return static_cast<const int16_t*>(p)[off];
    case kInt32: return static_cast<const int32_t*>(p)[off];
    default: return static_cast<const int64_t*>(p)[off];
  }
}

// bad[0] = the smallest flat position (row-major over idx's shape) of an index outside [-n, n).
__global__ void validate_kernel(const void* idx, int dtype, V3 I, int64_t n, unsigned long long* bad) {
  const int64_t total = I.shape[0] * I.shape[1] * I.shape[2];
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = t % I.shape[2], am = t / I.shape[2], m = am % I.shape[1], a = am / I.shape[1];
    const int64_t i = load_index(idx, dtype, a * I.strides[0] + m * I.strides[1] + b * I.strides[2]);
    if (i < -n || i >= n) atomicMin(bad, (unsigned long long)t);
  }
}

// bad[1] = the index at position bad[0] (when there is one).
__global__ void bad_value_kernel(const void* idx, int dtype, V3 I, unsigned long long* bad) {
  const unsigned long long t = bad[0];
  if (t == ~0ull) return;
  const int64_t b = (int64_t)t % I.shape[2], am = (int64_t)t / I.shape[2], m = am % I.shape[1], a = am / I.shape[1];
  bad[1] = (unsigned long long)load_index(idx, dtype, a * I.strides[0] + m * I.strides[1] + b * I.strides[2]);
}

// While a replay is captured: the first failing check of a launch records its index and axis
// size into the host-mapped record (raised at the next synchronize or download).
__global__ void record_kernel(const unsigned long long* bad, int op, int64_t n, DeferredError* rec) {
  if (bad[0] == ~0ull) return;
  if (atomicCAS(&rec->set, 0u, 1u) != 0u) return;
  rec->op = op;
  rec->value = (long long)bad[1];
  rec->n = (long long)n;
  __threadfence_system();
}

// Throws the CPU's error when some index is out of range (waits for the check).
// While the stream is being captured into a CUDA graph (a compiled function's replay) nothing
// may wait: the kernels drop out-of-range indices (a gather writes 0, a scatter skips the update,
// so a bad index never touches memory outside the view) and the check records the error into
// the device's deferred record, raised by the next synchronize or read.
void validate(const Command& c, Context& ctx, const View& idx, int64_t n, const char* op) {
  if (idx.size == 0) return;
  cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
  check(cudaStreamIsCapturing(ctx.stream, &cap), c, "index check");
  const bool deferred = cap != cudaStreamCaptureStatusNone;
  if (deferred && !ctx.deferred) return;
  unsigned long long* bad = static_cast<unsigned long long*>(ctx.scratch(16));
  check(cudaMemsetAsync(bad, 0xff, 16, ctx.stream), c, "index check");
  const V3 I = v3(idx);
  const void* ip = idx.device_data(ctx.device);
  validate_kernel<<<grid_for(idx.size), 256, 0, ctx.stream>>>(ip, idx.dtype, I, n, bad);
  check_launch(c, "index check");
  bad_value_kernel<<<1, 1, 0, ctx.stream>>>(ip, idx.dtype, I, bad);
  check_launch(c, "index check");
  if (deferred) {
    record_kernel<<<1, 1, 0, ctx.stream>>>(bad, std::strcmp(op, "take") == 0 ? 1 : 2, n, ctx.deferred);
    check_launch(c, "index check");
    return;
  }
  unsigned long long h[2] = {0, 0};
  check(cudaMemcpyAsync(h, bad, 16, cudaMemcpyDeviceToHost, ctx.stream), c, "index check");
  check(cudaStreamSynchronize(ctx.stream), c, "index check");
  if (h[0] != ~0ull) fail("[", op, "] index ", (int64_t)h[1], " is out of bounds for an axis of size ", n);
}

template <typename U>
__global__ void gather_kernel(const U* src, V3 S, const void* idx, int dtype, V3 I, U* out, V3 O) {
  const int64_t M = O.shape[1], B = O.shape[2], total = O.shape[0] * M * B, n = S.shape[1];
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = t % B, am = t / B, m = am % M, a = am / M;
    const int64_t ia = I.shape[0] == 1 ? 0 : a, ib = I.shape[2] == 1 ? 0 : b;
    int64_t i = load_index(idx, dtype, ia * I.strides[0] + m * I.strides[1] + ib * I.strides[2]);
    if (i < 0) i += n;
    U* d = out + a * O.strides[0] + m * O.strides[1] + b * O.strides[2];
    if (i < 0 || i >= n) *d = U(0);  // only while capturing (validate)
    else *d = src[a * S.strides[0] + i * S.strides[1] + b * S.strides[2]];
  }
}

template <typename U> __global__ void copy3_kernel(const U* src, V3 S, U* out, V3 O) {
  const int64_t M = O.shape[1], B = O.shape[2], total = O.shape[0] * M * B;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = t % B, am = t / B, m = am % M, a = am / M;
    out[a * O.strides[0] + m * O.strides[1] + b * O.strides[2]] =
        src[a * S.strides[0] + m * S.strides[1] + b * S.strides[2]];
  }
}

// ---- scatter arithmetic (index.cc's scatter_typed): computed in float for float16/bfloat16,
// integers wrap, integer division by zero gives 0.

template <typename T> __device__ __forceinline__ auto to_c(T x) {
  if constexpr (std::is_same_v<T, __half>) return __half2float(x);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __bfloat162float(x);
  else return x;
}
template <typename T, typename C> __device__ __forceinline__ T from_c(C r) {
  if constexpr (std::is_same_v<T, __half>) return __float2half_rn(r);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __float2bfloat16_rn(r);
  else return (T)r;
}

template <typename T> __device__ __forceinline__ T apply(int mode, T dst, T val) {
  if (mode == 0) return val;
  auto x = to_c(dst), y = to_c(val);
  using C = decltype(x);
  C r;
  if constexpr (std::is_integral_v<C>) {
    using W = std::conditional_t<sizeof(C) == 8, uint64_t, uint32_t>;  // wrapping arithmetic
    switch (mode) {
      case 1: r = (C)((W)x + (W)y); break;
      case 2: r = (C)((W)x * (W)y); break;
      case 3: r = x > y ? x : y; break;
      case 4: r = x < y ? x : y; break;
      case 5: r = (C)((W)x - (W)y); break;
      default:
        if (y == 0) r = C(0);
        else if constexpr (std::is_signed_v<C>) r = y == C(-1) ? (C)(W(0) - (W)x) : (C)(x / y);
        else r = (C)(x / y);
    }
  } else {
    switch (mode) {
      case 1: r = x + y; break;
      case 2: r = x * y; break;
      case 3:
        r = (x != x || x > y) ? x : y;
        if (y != y) r = y;
        break;
      case 4:
        r = (x != x || x < y) ? x : y;
        if (y != y) r = y;
        break;
      case 5: r = x - y; break;
      default: r = x / y;
    }
  }
  return from_c<T>(r);
}

// One thread per (a, b) column: its updates in m order.
template <typename T>
__global__ void scatter_cols_kernel(T* out, V3 O, const void* idx, int dtype, V3 I, const T* upd, V3 Up, int mode) {
  const int64_t A = I.shape[0], M = I.shape[1], B = I.shape[2], n = O.shape[1];
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < A * B; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t a = t / B, b = t - a * B;
    T* col = out + a * O.strides[0] + b * O.strides[2];
    const T* u = upd + a * Up.strides[0] + b * Up.strides[2];
    const int64_t io = a * I.strides[0] + b * I.strides[2];
    for (int64_t m = 0; m < M; m++) {
      int64_t i = load_index(idx, dtype, io + m * I.strides[1]);
      if (i < 0) i += n;
      if (i < 0 || i >= n) continue;  // only while capturing (validate)
      T* d = col + i * O.strides[1];
      *d = apply<T>(mode, *d, u[m * Up.strides[1]]);
    }
  }
}

// Assignment with many updates per column: win[(a * N + i) * B + b] = the last m aiming there.
__global__ void winner_kernel(int32_t* win, int64_t n, const void* idx, int dtype, V3 I) {
  const int64_t M = I.shape[1], B = I.shape[2], total = I.shape[0] * M * B;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = t % B, am = t / B, m = am % M, a = am / M;
    int64_t i = load_index(idx, dtype, a * I.strides[0] + m * I.strides[1] + b * I.strides[2]);
    if (i < 0) i += n;
    if (i < 0 || i >= n) continue;
    atomicMax(win + (a * n + i) * B + b, (int32_t)m);
  }
}

template <typename U>
__global__ void assign_winners_kernel(U* out, V3 O, const void* idx, int dtype, V3 I, const U* upd, V3 Up,
                                      const int32_t* win) {
  const int64_t M = I.shape[1], B = I.shape[2], total = I.shape[0] * M * B, n = O.shape[1];
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = t % B, am = t / B, m = am % M, a = am / M;
    int64_t i = load_index(idx, dtype, a * I.strides[0] + m * I.strides[1] + b * I.strides[2]);
    if (i < 0) i += n;
    if (i < 0 || i >= n) continue;
    if (win[(a * n + i) * B + b] == (int32_t)m)
      out[a * O.strides[0] + i * O.strides[1] + b * O.strides[2]] =
          upd[a * Up.strides[0] + m * Up.strides[1] + b * Up.strides[2]];
  }
}

// Add / subtract / maximum / minimum with few columns and many updates: atomics on each target.
// Integers give the CPU's bits (wrapping sums and extremes do not depend on the order); float
// sums may round differently from the CPU's in-order sum.
template <typename T>
__global__ void scatter_atomic_kernel(T* out, V3 O, const void* idx, int dtype, V3 I, const T* upd, V3 Up, int mode) {
  const int64_t M = I.shape[1], B = I.shape[2], total = I.shape[0] * M * B, n = O.shape[1];
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = t % B, am = t / B, m = am % M, a = am / M;
    int64_t i = load_index(idx, dtype, a * I.strides[0] + m * I.strides[1] + b * I.strides[2]);
    if (i < 0) i += n;
    if (i < 0 || i >= n) continue;
    T* d = out + a * O.strides[0] + i * O.strides[1] + b * O.strides[2];
    const T y = upd[a * Up.strides[0] + m * Up.strides[1] + b * Up.strides[2]];
    if constexpr (std::is_floating_point_v<T>) {
      atomicAdd(d, mode == 5 ? -y : y);
    } else {
      using W = std::conditional_t<sizeof(T) == 8, unsigned long long, unsigned int>;
      using S = std::conditional_t<sizeof(T) == 8, long long, int>;
      using X = std::conditional_t<std::is_signed_v<T>, S, W>;
      if (mode == 1) atomicAdd(reinterpret_cast<W*>(d), (W)y);
      else if (mode == 5) atomicAdd(reinterpret_cast<W*>(d), (W)0 - (W)y);
      else if (mode == 3) atomicMax(reinterpret_cast<X*>(d), (X)y);
      else atomicMin(reinterpret_cast<X*>(d), (X)y);
    }
  }
}

template <typename T>
constexpr bool kAtomicType = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t> ||
                             std::is_same_v<T, uint32_t> || std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>;

// Calls f(TypeTag<U>) with the unsigned type of an element's size.
template <typename F> void by_size(int dtype, F&& f) {
  switch (dtype_size(dtype)) {
    case 1: return f(TypeTag<uint8_t>{});
    case 2: return f(TypeTag<uint16_t>{});
    case 4: return f(TypeTag<uint32_t>{});
    default: return f(TypeTag<uint64_t>{});
  }
}

void gather_run(const Command& c, Context& ctx) {
  const View &src = c.in(0), &idx = c.in(1), &out = c.out();
  validate(c, ctx, idx, src.shape[1], "take");  // checked even when the output is empty, as the CPU
  if (out.size == 0) return;
  by_size(out.dtype, [&](auto tag) {
    using U = typename decltype(tag)::type;
    gather_kernel<U><<<grid_for(out.size), 256, 0, ctx.stream>>>(
        dptr<const U>(src, ctx), v3(src), idx.device_data(ctx.device), idx.dtype, v3(idx), dptr<U>(out, ctx), v3(out));
  });
  check_launch(c, "gather");
}

void scatter_run(const Command& c, Context& ctx) {
  const View &base = c.in(0), &idx = c.in(1), &upd = c.in(2), &out = c.out();
  const int mode = (int)c.params[0];
  const int64_t n = out.shape[1];
  validate(c, ctx, idx, n, "scatter");
  const bool in_place = base.buf == out.buf && base.offset == out.offset && base.strides[0] == out.strides[0] &&
                        base.strides[1] == out.strides[1] && base.strides[2] == out.strides[2];
  if (!in_place && out.size > 0) {
    by_size(out.dtype, [&](auto tag) {
      using U = typename decltype(tag)::type;
      copy3_kernel<U>
          <<<grid_for(out.size), 256, 0, ctx.stream>>>(dptr<const U>(base, ctx), v3(base), dptr<U>(out, ctx), v3(out));
    });
    check_launch(c, "scatter copy");
  }
  if (idx.size == 0) return;
  const void* ip = idx.device_data(ctx.device);
  const int64_t cols = idx.shape[0] * idx.shape[2], M = idx.shape[1];
  if (mode == 0 || out.dtype == kComplex64) {
    if (cols < 8192 && M >= 64 && M <= 0x7fffffffLL && out.size <= (int64_t(1) << 28)) {
      int32_t* win = static_cast<int32_t*>(ctx.scratch(4 * out.size));
      check(cudaMemsetAsync(win, 0xff, (size_t)(4 * out.size), ctx.stream), c, "scatter winners");
      winner_kernel<<<grid_for(idx.size), 256, 0, ctx.stream>>>(win, n, ip, idx.dtype, v3(idx));
      check_launch(c, "scatter winners");
      by_size(out.dtype, [&](auto tag) {
        using U = typename decltype(tag)::type;
        assign_winners_kernel<U><<<grid_for(idx.size), 256, 0, ctx.stream>>>(
            dptr<U>(out, ctx), v3(out), ip, idx.dtype, v3(idx), dptr<const U>(upd, ctx), v3(upd), win);
      });
      check_launch(c, "scatter");
      return;
    }
    by_size(out.dtype, [&](auto tag) {
      using U = typename decltype(tag)::type;
      scatter_cols_kernel<U><<<grid_for(cols, 128), 128, 0, ctx.stream>>>(dptr<U>(out, ctx), v3(out), ip, idx.dtype,
                                                                          v3(idx), dptr<const U>(upd, ctx), v3(upd), 0);
    });
    check_launch(c, "scatter");
    return;
  }
  const int dt = out.dtype == kBool ? (int)kUint8 : out.dtype;  // bool: maximum / minimum on bytes
  dispatch_dtype(dt, c, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64> || std::is_same_v<T, bool>) {
      fail("[scatter] mode ", mode, " is not supported for ", dtype_name(out.dtype), " on the GPU");
    } else {
      if constexpr (kAtomicType<T>) {
        const bool ok = mode == 1 || mode == 5 || (!std::is_floating_point_v<T> && (mode == 3 || mode == 4));
        if (ok && cols < 8192 && M >= 64) {
          scatter_atomic_kernel<T><<<grid_for(idx.size), 256, 0, ctx.stream>>>(
              dptr<T>(out, ctx), v3(out), ip, idx.dtype, v3(idx), dptr<const T>(upd, ctx), v3(upd), mode);
          return;
        }
      }
      scatter_cols_kernel<T><<<grid_for(cols, 128), 128, 0, ctx.stream>>>(
          dptr<T>(out, ctx), v3(out), ip, idx.dtype, v3(idx), dptr<const T>(upd, ctx), v3(upd), mode);
    }
  });
  check_launch(c, "scatter");
}

}  // namespace

KILN_CUDA_KERNEL("gather", nullptr, gather_run);
KILN_CUDA_KERNEL("scatter", nullptr, scatter_run);

}  // namespace cuda
}  // namespace kiln
