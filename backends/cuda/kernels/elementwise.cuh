// The elementwise engine of the CUDA kernels copy.cu, unary.cu and binary.cu: dtype conversions
// bit for bit as the CPU's (backends/common/dtype.h), the scalar op bodies shared with the CPU
// (backends/cpu/kernels/elementwise_ops.h, compiled here as __host__ __device__ through KILN_HD),
// and the launch plan. The host puts the operands in memory order and merges the dims that are
// contiguous for all of them exactly as the CPU does (strided.h: memory_order + make_loop), then
// picks one of two kernels per functor:
//   flat:    one dim, the output contiguous, every input contiguous or a broadcast scalar, all
//            pointers aligned: each thread moves 16 bytes per operand (a vector of K elements);
//   strided: any layout, one element per thread, per-dim index split by multiply-shift
//            division (32-bit) or plain 64-bit division past 2^31 elements.
// A functor (unary, binary, where, cast, fill) holds the base pointers and the op code; the op is
// a switch inside the kernel (uniform branch), so there is one kernel pair per storage dtype.
#pragma once
#include <cstring>
#include <type_traits>
#include "common.cuh"
#include "../../cpu/kernels/elementwise_ops.h"  // ew::uop / ew::bop: one definition for CPU and GPU

namespace kiln {
namespace cuda {

// ---- conversions (the CPU's algorithms on the bits) -----------------------------------------

__device__ __forceinline__ float d_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0) return __uint_as_float(sign | __float_as_uint((float)man * 5.9604644775390625e-08f));  // man 2^-24
  if (exp == 31) return __uint_as_float(sign | 0x7f800000u | (man << 13));
  return __uint_as_float(sign | ((exp + 127 - 15) << 23) | (man << 13));
}

__device__ __forceinline__ uint16_t d_float_to_half(float v) {
  uint32_t x = __float_as_uint(v);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t ax = x & 0x7fffffff;
  if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 | ((ax >> 13) & 0x3ff) : 0));
  if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);  // rounds to inf
  if (ax < 0x38800000u) {                                   // subnormal or zero in half
    if (ax < 0x33000000u) return (uint16_t)sign;
    uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e;
    uint32_t r = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (r & 1))) r++;
    return (uint16_t)(sign | r);
  }
  uint32_t r = ax + 0xc8000000u;            // rebias exponent (-112 << 23)
  r = (r + 0xfff + ((r >> 13) & 1)) >> 13;  // round to nearest even
  return (uint16_t)(sign | r);
}

__device__ __forceinline__ float d_bf16_to_float(uint16_t b) { return __uint_as_float((uint32_t)b << 16); }

__device__ __forceinline__ uint16_t d_float_to_bf16(float v) {
  uint32_t x = __float_as_uint(v);
  if ((x & 0x7fffffff) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);  // quiet NaN
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

// double -> float rounded to odd (then one more rounding to half/bfloat16 is exact-once)
__device__ __forceinline__ float d_double_to_float_odd(double v) {
  float f = __double2float_rn(v);
  if (!(f == f) || isinf(f) || (double)f == v) return f;
  uint32_t x = __float_as_uint(f);
  if (fabs((double)f) > fabs(v)) x -= 1;  // nextafter(f, 0): f is finite and not 0 here
  return __uint_as_float(x | 1u);
}

// Storage (S) and compute (C) types of a device dtype tag (common.cuh's dispatch_dtype):
// bool is a byte normalised on load; the 16-bit floats are raw bits computing in float;
// complex64 loads its real part and stores (v, 0), as the CPU's copy/fill do.
template <typename T> struct DE;

template <typename T, typename V> __device__ __forceinline__ typename DE<T>::S d_from_value(V v);

template <typename T> struct DE {
  using S = T;
  using C = T;
  static __device__ __forceinline__ C load(S v) { return v; }
  static __device__ __forceinline__ S store(C v) { return v; }
};
template <> struct DE<bool> {
  using S = uint8_t;
  using C = bool;
  static __device__ __forceinline__ bool load(uint8_t v) { return v != 0; }
  static __device__ __forceinline__ uint8_t store(bool v) { return (uint8_t)v; }
};
template <> struct DE<__half> {
  using S = uint16_t;
  using C = float;
  static __device__ __forceinline__ float load(uint16_t v) { return d_half_to_float(v); }
  static __device__ __forceinline__ uint16_t store(float v) { return d_float_to_half(v); }
};
template <> struct DE<__nv_bfloat16> {
  using S = uint16_t;
  using C = float;
  static __device__ __forceinline__ float load(uint16_t v) { return d_bf16_to_float(v); }
  static __device__ __forceinline__ uint16_t store(float v) { return d_float_to_bf16(v); }
};
template <> struct DE<complex64> {
  using S = complex64;
  using C = float;
  static __device__ __forceinline__ float load(complex64 v) { return v.re; }
  static __device__ __forceinline__ complex64 store(float v) { return complex64{v, 0.0f}; }
};

// from_value<T>(v) of dtype.h: float -> integer truncates toward zero; NaN and out-of-range
// values give the CPU's fixed results; 16-bit floats from double round through float-to-odd.
template <typename T, typename V> __device__ __forceinline__ typename DE<T>::S d_from_value(V v) {
  if constexpr (std::is_same_v<T, __half>) {
    if constexpr (std::is_same_v<V, double>) return d_float_to_half(d_double_to_float_odd(v));
    else return d_float_to_half((float)v);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    if constexpr (std::is_same_v<V, double>) return d_float_to_bf16(d_double_to_float_odd(v));
    else return d_float_to_bf16((float)v);
  } else if constexpr (std::is_same_v<T, complex64>) {
    return complex64{d_from_value<float>(v), 0.0f};
  } else if constexpr (std::is_same_v<T, bool>) {
    return (uint8_t)(v != V(0));
  } else if constexpr (std::is_floating_point_v<V> && std::is_integral_v<T>) {
    if (!(v == v)) return T(0);
    if constexpr (std::is_signed_v<T>) {
      if (v >= (V)9.2233720368547758e18 || v < (V)-9.2233720368547758e18) return std::numeric_limits<T>::min();
      return (T)(int64_t)v;
    } else {
      if (v >= (V)1.8446744073709552e19 || v <= (V)-9.2233720368547758e18) return T(0);
      if (v < 0) return (T)(uint64_t)(int64_t)v;
      return (T)(uint64_t)v;
    }
  } else {
    return (T)v;
  }
}

// ---- vectors of K elements moved as one 1/2/4/8/16-byte access -------------------------------

template <int B> struct RawOf;
template <> struct RawOf<1> { using type = uint8_t; };
template <> struct RawOf<2> { using type = uint16_t; };
template <> struct RawOf<4> { using type = uint32_t; };
template <> struct RawOf<8> { using type = uint2; };
template <> struct RawOf<16> { using type = uint4; };

template <typename S, int K> union Pack {
  typename RawOf<sizeof(S) * K>::type raw;
  S v[K];
  __device__ __forceinline__ Pack() {}
};

template <typename S, int K> __device__ __forceinline__ Pack<S, K> load_pack(const S* p, int64_t vi) {
  Pack<S, K> r;
  r.raw = reinterpret_cast<const typename RawOf<sizeof(S) * K>::type*>(p)[vi];
  return r;
}
template <typename S, int K> __device__ __forceinline__ void store_pack(S* p, int64_t vi, const Pack<S, K>& r) {
  reinterpret_cast<typename RawOf<sizeof(S) * K>::type*>(p)[vi] = r.raw;
}

// Elements per thread in the flat kernel: 16 bytes of the widest operand.
template <typename A, typename B = A> constexpr int vec_width() {
  return 16 / (int)(sizeof(A) > sizeof(B) ? sizeof(A) : sizeof(B));
}

// ---- strided layouts -------------------------------------------------------------------------

// n / d for n < 2^31 as (umulhi(n, m) + n) >> s (Granlund-Montgomery, l = ceil(log2 d)).
struct Div32 {
  uint32_t m, s;
};
inline Div32 make_div32(uint32_t d) {
  uint32_t l = 0;
  while (l < 32 && (1ull << l) < d) l++;
  return Div32{(uint32_t)(((1ull << 32) * ((1ull << l) - d)) / d + 1), l};
}

template <int N> struct StridedArgs {
  int32_t ndim = 0;
  int32_t wide = 0;  // 64-bit index arithmetic (more than 2^31 - 1 elements)
  int64_t n = 0;
  int64_t shape[kMaxDims];
  Div32 div[kMaxDims];
  int64_t strides[N][kMaxDims];
};

// Element offsets of each operand for the i-th element in row-major order of the (collapsed) shape.
template <int N> __device__ __forceinline__ void strided_offsets(const StridedArgs<N>& A, int64_t i, int64_t* off) {
#pragma unroll
  for (int k = 0; k < N; k++) off[k] = 0;
  if (!A.wide) {
    uint32_t u = (uint32_t)i;
    for (int d = A.ndim - 1; d > 0; d--) {
      uint32_t q = (__umulhi(u, A.div[d].m) + u) >> A.div[d].s;
      uint32_t r = u - q * (uint32_t)A.shape[d];
#pragma unroll
      for (int k = 0; k < N; k++) off[k] += (int64_t)r * A.strides[k][d];
      u = q;
    }
    i = u;
  } else {
    for (int d = A.ndim - 1; d > 0; d--) {
      int64_t q = i / A.shape[d];
      int64_t r = i - q * A.shape[d];
#pragma unroll
      for (int k = 0; k < N; k++) off[k] += r * A.strides[k][d];
      i = q;
    }
  }
#pragma unroll
  for (int k = 0; k < N; k++) off[k] += i * A.strides[k][0];
}

// ---- kernels ---------------------------------------------------------------------------------

// fn.vec(v): elements [v K, v K + K) of contiguous operands; fn.one(i): element i (the tail).
template <class Fn> __global__ void __launch_bounds__(256) ew_flat_kernel(Fn fn, int64_t nvec, int64_t n) {
  const int64_t tid = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t v = tid; v < nvec; v += step) fn.vec(v);
  const int64_t t = nvec * Fn::K + tid;
  if (t < n) fn.one(t);
}

// fn.at(off): the element at per-operand element offsets off[0..N).
template <class Fn> __global__ void __launch_bounds__(256) ew_strided_kernel(Fn fn, StridedArgs<Fn::N> A) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < A.n; i += step) {
    int64_t off[Fn::N];
    strided_offsets<Fn::N>(A, i, off);
    fn.at(off);
  }
}

// ---- host plan -------------------------------------------------------------------------------

// Operands (inputs then the output) in memory order with their mergeable dims merged, as the CPU
// iterates them; base[k] is operand k's device address of its first element in that order.
template <int N> struct Plan {
  Loop<N> L;
  char* base[N];
  int64_t n = 0;
  // One dim, output stride 1, each input stride 0 (broadcast scalar) or 1.
  bool flat = false;
  int64_t unit[N];  // the flat strides (0 or 1)
};

template <int N> Plan<N> make_plan(const std::array<const View*, N>& views, const Context& ctx) {
  std::array<View, N> ord = memory_order<N>(views);
  std::array<const View*, N> p;
  for (int k = 0; k < N; k++) p[k] = &ord[k];
  Plan<N> P;
  P.L = make_loop<N>(p);
  P.n = views[N - 1]->size;
  for (int k = 0; k < N; k++)
    P.base[k] = static_cast<char*>(views[k]->buf->dev[ctx.device]) + P.L.base[k] * dtype_size(views[k]->dtype);
  P.flat = P.L.ndim == 1 && P.L.strides[N - 1][0] == 1;
  for (int k = 0; k < N; k++) {
    P.unit[k] = P.L.strides[k][0];
    if (P.unit[k] != 0 && P.unit[k] != 1) P.flat = false;
  }
  return P;
}

template <int N> StridedArgs<N> strided_args(const Plan<N>& P) {
  StridedArgs<N> A;
  A.ndim = P.L.ndim;
  A.n = P.n;
  A.wide = P.n > 0x7fffffffLL;
  for (int d = 0; d < A.ndim; d++) {
    A.shape[d] = P.L.shape[d];
    A.div[d] = A.wide ? Div32{0, 0} : make_div32((uint32_t)P.L.shape[d]);
    for (int k = 0; k < N; k++) A.strides[k][d] = P.L.strides[k][d];
  }
  return A;
}

// Whether a flat-plan operand may be read as vectors of `bytes` (broadcast scalars always may).
template <int N> inline bool aligned(const Plan<N>& P, int k, int bytes) {
  return P.unit[k] == 0 || (reinterpret_cast<uintptr_t>(P.base[k]) % (uintptr_t)bytes) == 0;
}

inline unsigned ew_blocks(int64_t items, const Context& ctx) {
  int64_t b = (items + 255) / 256;
  int64_t cap = 32 * (int64_t)(ctx.sm_count > 0 ? ctx.sm_count : 132);
  if (b > cap) b = cap;
  if (b < 1) b = 1;
  return (unsigned)b;
}

template <class Fn> void launch_flat(const Fn& fn, int64_t n, const Context& ctx) {
  if (n <= 0) return;
  const int64_t nvec = n / Fn::K;
  ew_flat_kernel<Fn><<<ew_blocks(nvec > 0 ? nvec : 1, ctx), 256, 0, ctx.stream>>>(fn, nvec, n);
}

template <class Fn> void launch_strided(const Fn& fn, const Plan<Fn::N>& P, const Context& ctx) {
  if (P.n <= 0) return;
  ew_strided_kernel<Fn><<<ew_blocks(P.n, ctx), 256, 0, ctx.stream>>>(fn, strided_args<Fn::N>(P));
}

}  // namespace cuda
}  // namespace kiln
