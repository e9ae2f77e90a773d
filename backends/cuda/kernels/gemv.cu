// Decode matmul (matrix-vector for 1..8 rows): out[m, n] = sum_k x[m, k] * W[n, k], the Linear
// layer x @ W^T as it reaches the matmul command (A = x [M, K], B = W^T [K, N] with strides (1, K)).
// A token reads every weight once, so the kernel is a stream of W at memory bandwidth:
// - a warp owns kRows = 4 weight rows (output columns) and one K slice; each lane reads 16 bytes
//   of each of the 4 rows per step (8 bf16/f16 or 4 float), software-pipelined over two steps:
//   4 to 8 independent 128-bit loads (64-128 bytes) in flight per lane, whole 512-byte runs of a
//   row per warp load;
// - those weights are used for all M rows of x before the next load (each weight is read once per
//   call), x (at most 8 rows) is read through the read-only cache and reused by the 4 rows;
// - float32 accumulators per (m, row), a warp-shuffle sum, then the K slices of a row (the warps of
//   a block, then split-K blocks) summed in a fixed order: results do not depend on timing;
// - small N would leave SMs idle, so a row group is shared by up to 8 warps of a block (S slices)
//   and, past that, by P blocks along grid.y writing float32 partials to scratch, summed by a
//   second small kernel. The host picks S, P to fill one wave (2 blocks of 8 warps per SM).
// Outputs round to nearest even as the CPU (elementwise.cuh's conversions); NaN and inf propagate
// through the plain float sums. One kernel per storage dtype; 16-byte or scalar loads is a
// uniform run-time branch (aligned operands and K a multiple of the vector width take the vector
// loop; anything else, any K, the scalar one).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include "elementwise.cuh"
#include "gemv.h"

namespace kiln {
namespace cuda {
namespace {

constexpr int kWarps = 8, kThreads = kWarps * 32;
constexpr int kRows = 4;  // weight rows per warp: each x load feeds 4 rows
constexpr int kMaxM = 8;  // rows of x (registers: kMaxM * kRows accumulators)

struct GemvArgs {
  const void* x;  // row m at x + m * xs (elements), contiguous in K
  const void* w;  // weight row n at w + n * ws, contiguous in K
  void* o;        // row m at o + m * os, contiguous in N
  float* part;    // split-K partials [P][M][N], or null (write o directly)
  int64_t xs, ws, os, N, K;
  int64_t chunk;  // units (vectors or elements) of K per grid.y block
  int M, slices, vec;
};

// Storage traits: raw bits, 16-byte vector width, widening to float, rounding to storage.
template <typename T> struct St;
template <> struct St<__nv_bfloat16> {
  using B = uint16_t;
  static constexpr int V = 8;
  static __device__ __forceinline__ float f(B b) { return d_bf16_to_float(b); }
  static __device__ __forceinline__ void cvt(const uint4& q, float* v) {
    const uint32_t w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
      v[2 * i] = __uint_as_float(w[i] << 16);  // the low half is the lower address
      v[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
  }
  static __device__ __forceinline__ B store(float v) { return d_float_to_bf16(v); }
};
template <> struct St<__half> {
  using B = uint16_t;
  static constexpr int V = 8;
  static __device__ __forceinline__ float f(B b) { return __half2float(__ushort_as_half(b)); }
  static __device__ __forceinline__ void cvt(const uint4& q, float* v) {
    const uint32_t w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const float2 p = __half22float2(*reinterpret_cast<const __half2*>(&w[i]));  // exact widening
      v[2 * i] = p.x;                                                             // the low half is the lower address
      v[2 * i + 1] = p.y;
    }
  }
  static __device__ __forceinline__ B store(float v) { return d_float_to_half(v); }
};
template <> struct St<float> {
  using B = float;
  static constexpr int V = 4;
  static __device__ __forceinline__ float f(B b) { return b; }
  static __device__ __forceinline__ void cvt(const uint4& q, float* v) {
    v[0] = __uint_as_float(q.x);
    v[1] = __uint_as_float(q.y);
    v[2] = __uint_as_float(q.z);
    v[3] = __uint_as_float(q.w);
  }
  static __device__ __forceinline__ B store(float v) { return v; }
};

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// One halving step of warp_sum_all: lanes with bit O keep values [O, 2O) of the current set, their
// partner [0, O); each sends the half it drops (one shuffle per value kept).
template <int O> __device__ __forceinline__ void halve(float (&v)[32], bool upper) {
#pragma unroll
  for (int i = 0; i < O; i++) {
    const float send = upper ? v[i] : v[i + O];
    const float keep = upper ? v[i + O] : v[i];
    v[i] = keep + __shfl_xor_sync(0xffffffffu, send, O);
  }
}

// The 32 accumulators of every lane summed over the warp, sum number i ending in lane i:
// 16 + 8 + 4 + 2 + 1 = 31 shuffles instead of 5 per value.
__device__ __forceinline__ float warp_sum_all(const float (&acc)[kMaxM][kRows]) {
  static_assert(kMaxM * kRows == 32, "one value per lane");
  const int lane = threadIdx.x & 31;
  float v[32];
#pragma unroll
  for (int i = 0; i < 32; i++) v[i] = acc[i / kRows][i % kRows];
  halve<16>(v, lane & 16);
  halve<8>(v, lane & 8);
  halve<4>(v, lane & 4);
  halve<2>(v, lane & 2);
  halve<1>(v, lane & 1);
  return v[0];
}

// One 16-byte unit u of the 4 weight rows (already loaded) times unit u of every x row.
template <typename T>
__device__ __forceinline__ void fma_unit(const GemvArgs& a, const uint4 (&q)[kRows], int u,
                                         float (&acc)[kMaxM][kRows]) {
  using S = St<T>;
  float wf[kRows][S::V];
#pragma unroll
  for (int r = 0; r < kRows; r++) S::cvt(q[r], wf[r]);
  const typename S::B* x = static_cast<const typename S::B*>(a.x);
#pragma unroll
  for (int m = 0; m < kMaxM; m++) {
    if (m < a.M) {
      float xf[S::V];
      S::cvt(__ldg(reinterpret_cast<const uint4*>(x + m * a.xs) + u), xf);
#pragma unroll
      for (int r = 0; r < kRows; r++)
#pragma unroll
        for (int i = 0; i < S::V; i++) acc[m][r] = fmaf(xf[i], wf[r][i], acc[m][r]);
    }
  }
}

template <typename T> __global__ void __launch_bounds__(kThreads, 2) gemv_kernel(GemvArgs a) {
  using S = St<T>;
  using B = typename S::B;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int groups = kWarps / a.slices;                // row groups per block
  const int g = warp / a.slices, s = warp % a.slices;  // this warp's row group and K slice
  const int64_t n0 = ((int64_t)blockIdx.x * groups + g) * kRows;
  const int64_t nr = a.N - n0;  // rows of the group that exist (<= 0 past the end)
  float acc[kMaxM][kRows];
#pragma unroll
  for (int m = 0; m < kMaxM; m++)
#pragma unroll
    for (int r = 0; r < kRows; r++) acc[m][r] = 0.0f;

  if (nr > 0) {
    // rows past N read the last real row again (no branch in the loop); their sums are dropped
    const B* wr[kRows];
#pragma unroll
    for (int r = 0; r < kRows; r++) wr[r] = static_cast<const B*>(a.w) + (n0 + (r < nr ? r : nr - 1)) * a.ws;
    // K < 2^31 (the host checks): 32-bit unit indices
    const int units = (int)(a.vec ? a.K / S::V : a.K);
    const int ub = (int)(blockIdx.y * a.chunk);
    const int ue = a.chunk < units - ub ? ub + (int)a.chunk : units;
    const int step = 32 * a.slices;  // the slices of a row interleave in 32-unit runs
    int u = ub + s * 32 + lane;
    if (a.vec) {
      // software pipeline over two register sets: the next step's 4 loads are issued before this
      // step's math, so 4 to 8 loads per lane stay in flight the whole time
      const uint4* wv[kRows];
#pragma unroll
      for (int r = 0; r < kRows; r++) wv[r] = reinterpret_cast<const uint4*>(wr[r]);
      uint4 qa[kRows], qb[kRows];
      if (u < ue) {
#pragma unroll
        for (int r = 0; r < kRows; r++) qa[r] = __ldcs(wv[r] + u);
      }
      while (u < ue) {
        const int u2 = u + step;
        if (u2 < ue) {
#pragma unroll
          for (int r = 0; r < kRows; r++) qb[r] = __ldcs(wv[r] + u2);
        }
        fma_unit<T>(a, qa, u, acc);
        if (u2 >= ue) break;
        const int u3 = u2 + step;
        if (u3 < ue) {
#pragma unroll
          for (int r = 0; r < kRows; r++) qa[r] = __ldcs(wv[r] + u3);
        }
        fma_unit<T>(a, qb, u2, acc);
        u = u3;
      }
    } else {  // any alignment, any K: one element per lane per step
      const B* x = static_cast<const B*>(a.x);
      for (; u < ue; u += step) {
        float wf[kRows];
#pragma unroll
        for (int r = 0; r < kRows; r++) wf[r] = S::f(__ldcs(wr[r] + u));
#pragma unroll
        for (int m = 0; m < kMaxM; m++) {
          if (m < a.M) {
            const float xv = S::f(__ldg(x + m * a.xs + u));
#pragma unroll
            for (int r = 0; r < kRows; r++) acc[m][r] = fmaf(xv, wf[r], acc[m][r]);
          }
        }
      }
    }
  }

  // warp sums, then the slices of each row group in slice order (deterministic)
  __shared__ float red[kWarps][kMaxM * kRows];
  if (a.M <= 1) {  // 4 sums: plain butterflies (20 shuffles)
#pragma unroll
    for (int r = 0; r < kRows; r++) {
      const float v = warp_sum(acc[0][r]);
      if (lane == 0) red[warp][r] = v;
    }
  } else {  // all 32 sums at once (31 shuffles): lane l ends with sum number l = m * kRows + r
    const float v = warp_sum_all(acc);
    if (lane < a.M * kRows) red[warp][lane] = v;
  }
  __syncthreads();
  const int per = a.M * kRows;  // one thread per (row group, m, row): at most 8 * 32 = 256
  const int t = threadIdx.x;
  if (t < groups * per) {
    const int gg = t / per, idx = t % per, m = idx / kRows, r = idx % kRows;
    const int64_t n = ((int64_t)blockIdx.x * groups + gg) * kRows + r;
    if (n < a.N) {
      float v = 0.0f;
      for (int ss = 0; ss < a.slices; ss++) v += red[gg * a.slices + ss][idx];
      if (a.part) a.part[((int64_t)blockIdx.y * a.M + m) * a.N + n] = v;
      else static_cast<B*>(a.o)[m * a.os + n] = S::store(v);
    }
  }
}

// Split-K: out[m, n] = sum over p (in order) of part[p][m][n], rounded to the output dtype.
__global__ void gemv_reduce(const float* __restrict__ part, void* o, int64_t os, int M, int64_t N, int P, int dt) {
  const int64_t total = (int64_t)M * N;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t m = i / N, n = i - m * N;
    float v = 0.0f;
    for (int p = 0; p < P; p++) v += part[(int64_t)p * total + i];
    const int64_t at = m * os + n;
    if (dt == kBfloat16) static_cast<uint16_t*>(o)[at] = d_float_to_bf16(v);
    else if (dt == kFloat16) static_cast<uint16_t*>(o)[at] = d_float_to_half(v);
    else static_cast<float*>(o)[at] = v;
  }
}

bool enabled() {
  static const bool on = [] {
    const char* e = std::getenv("KILN_CUDA_GEMV");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

bool aligned16(const void* p) { return ((uintptr_t)p & 15) == 0; }

}  // namespace

// Takes the command when (else false, nothing queued):
// - dtype float16, bfloat16 or float32, the same for A, B and O;
// - B's K axis has stride 1 (each weight row n contiguous in K; W^T of a row-major W);
// - A's last axis and O's last axis have stride 1 (or size 1);
// - every batch dim of size > 1 broadcasts B (stride 0) and, together with the M dim, collapses
//   to one row stride in A and in O, giving at most 8 rows (x [2, 4, K] @ W^T broadcast to
//   [2, K, N]; matmul itself flattens x [..., K] @ a 2-d W^T into rows);
// - K < 2^31 - 4096 (32-bit indices along K).
bool gemv_matmul(const Command& c, Context& ctx) {
  const View& A = c.in(0);
  const View& Bv = c.in(1);
  const View& O = c.out();
  const int dt = O.dtype;
  if (dt != kBfloat16 && dt != kFloat16 && dt != kFloat32) return false;
  if (A.dtype != dt || Bv.dtype != dt || !enabled()) return false;
  const int nd = O.ndim;
  const int64_t N = O.shape[nd - 1], K = A.shape[nd - 1];
  if (K < 1 || N < 1 || K > 0x7fffffffLL - 4096) return false;  // 32-bit K indices in the kernel
  if (K > 1 && (A.strides[nd - 1] != 1 || Bv.strides[nd - 2] != 1)) return false;
  if (N > 1 && O.strides[nd - 1] != 1) return false;
  // rows of x / out: the batch dims and M, size-1 dims dropped, as one (count, A stride, O stride)
  int64_t M = 1, xs = 0, os = 0;
  bool first = true;
  for (int d = 0; d <= nd - 2; d++) {
    const int64_t n = O.shape[d];
    if (n == 1) continue;
    if (d < nd - 2 && Bv.strides[d] != 0) return false;  // a different weight per batch: cuBLASLt
    if (first) {
      M = n, xs = A.strides[d], os = O.strides[d];
      first = false;
    } else if (xs == A.strides[d] * n && os == O.strides[d] * n) {
      M *= n, xs = A.strides[d], os = O.strides[d];
    } else {
      return false;
    }
  }
  if (M > kMaxM) return false;
  if (M > 1 && (os < 0 ? -os : os) < N) return false;  // output rows that overlap: not ours to order

  using Fn = void (*)(GemvArgs);
  Fn fn = dt == kBfloat16 ? gemv_kernel<__nv_bfloat16> : dt == kFloat16 ? gemv_kernel<__half> : gemv_kernel<float>;
  const int64_t es = dtype_size(dt), V = 16 / es;
  GemvArgs a;
  a.x = A.device_data(ctx.device);
  a.w = Bv.device_data(ctx.device);
  a.o = O.device_data(ctx.device);
  a.part = nullptr;
  a.xs = xs, a.ws = Bv.strides[nd - 1], a.os = os, a.N = N, a.K = K, a.M = (int)M;
  a.vec = K % V == 0 && aligned16(a.x) && aligned16(a.w) && (M == 1 || (xs * es) % 16 == 0) &&
          (N == 1 || (a.ws * es) % 16 == 0);
  const int64_t units = a.vec ? K / V : K;

  // Parallelism: one wave of resident warps, 2 blocks of 8 warps per SM (the launch bounds keep
  // registers <= 128 so they fit), each lane with up to 8 128-bit loads in flight (64 KB per SM,
  // well past what covers DRAM latency). Up to 8 warps share a row group while the grid stays
  // within the wave and each warp still gets >= 32 units (one per lane) of K; then, if under half
  // the wave, K is split across blocks with >= 2 units per lane per split.
  const int64_t target = (int64_t)(ctx.sm_count > 0 ? ctx.sm_count : 132) * 2 * kWarps;
  const int64_t row_groups = (N + kRows - 1) / kRows;
  int S = 1;
  while (S < kWarps && row_groups * S * 2 <= target && units >= 64LL * S) S *= 2;
  int64_t P = 1;
  if (row_groups * S * 2 <= target) {
    P = std::min<int64_t>((target + row_groups * S - 1) / (row_groups * S), units / (64LL * S));
    P = std::max<int64_t>(1, std::min<int64_t>(P, 64));
  }
  a.chunk = (units + P - 1) / P;
  P = (units + a.chunk - 1) / a.chunk;  // no empty split
  a.slices = S;
  if (P > 1) a.part = static_cast<float*>(ctx.scratch(P * M * N * (int64_t)sizeof(float)));

  const int64_t per_block = (int64_t)kRows * (kWarps / S);
  const dim3 grid((unsigned)((N + per_block - 1) / per_block), (unsigned)P);
  fn<<<grid, kThreads, 0, ctx.stream>>>(a);
  check_launch(c, "gemv launch");
  if (P > 1) {
    gemv_reduce<<<grid_for(M * N), 256, 0, ctx.stream>>>(a.part, a.o, os, (int)M, N, (int)P, dt);
    check_launch(c, "gemv split-K reduce launch");
  }
  return true;
}

}  // namespace cuda
}  // namespace kiln
