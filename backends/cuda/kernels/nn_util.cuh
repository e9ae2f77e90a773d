// Helpers of the "nn" kernel files (norm.cu, rope.cu, attention.cu, quantized.cu): float operands of
// any float storage dtype read into the compute type (float, or double for float64 outputs) with the
// dtype a run-time switch (one kernel instantiation per compute type, not per dtype combination),
// stores rounded to nearest even as the CPU's store_row, roundings that emulate an intermediate of a
// narrower dtype (fast_rows.h round_to), products and sums that nvcc must not contract into an FMA
// where the CPU's portable code rounds twice, and warp reductions.
#pragma once
#include "common.cuh"

namespace kiln {
namespace cuda {
namespace nn {

// Element i of a float row of dtype dt at `p`, in the compute type F.
template <typename F> __device__ __forceinline__ F ldf(const void* p, int dt, int64_t i) {
  switch (dt) {
    case kFloat16: return (F)__half2float(static_cast<const __half*>(p)[i]);
    case kBfloat16: return (F)__bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case kFloat32: return (F) static_cast<const float*>(p)[i];
    default: return (F) static_cast<const double*>(p)[i];
  }
}

// Stores v into element i of a float row of dtype dt (one rounding to nearest even). A double value
// only ever goes to a float64 output here (double compute is chosen by a float64 output).
template <typename F> __device__ __forceinline__ void stf(void* p, int dt, int64_t i, F v) {
  switch (dt) {
    case kFloat16: static_cast<__half*>(p)[i] = __float2half_rn((float)v); return;
    case kBfloat16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn((float)v); return;
    case kFloat32: static_cast<float*>(p)[i] = (float)v; return;
    default: static_cast<double*>(p)[i] = (double)v; return;
  }
}

// v rounded to dtype dt and widened back (the value an intermediate array of dtype dt holds).
template <typename F> __device__ __forceinline__ F round_to(int dt, F v) {
  switch (dt) {
    case kFloat16: return (F)__half2float(__float2half_rn((float)v));
    case kBfloat16: return (F)__bfloat162float(__float2bfloat16_rn((float)v));
    case kFloat32: return (F)(float)v;
    default: return v;
  }
}

// Uncontracted arithmetic (the CPU's portable loops round the product before the sum).
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float sub_rn(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double sub_rn(double a, double b) { return __dsub_rn(a, b); }

template <typename F> __device__ __forceinline__ F warp_sum(F v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
// Maximum over the warp; NaN lanes are skipped as the CPU's max_row skips them (fmax).
template <typename F> __device__ __forceinline__ F warp_max(F v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// The leading dims of a view (all but the last): row r's element offset, row-major as row_offset.
struct Rows {
  int32_t ndim = 0;  // leading dims
  int64_t shape[kMaxDims];
  int64_t strides[kMaxDims];
  int64_t last_stride = 1;
};

inline Rows rows_of(const View& v) {
  Rows R;
  R.ndim = v.ndim > 0 ? v.ndim - 1 : 0;
  for (int d = 0; d < R.ndim; d++) {
    R.shape[d] = v.shape[d];
    R.strides[d] = v.strides[d];
  }
  R.last_stride = v.ndim > 0 ? v.strides[v.ndim - 1] : 1;
  return R;
}

__device__ __forceinline__ int64_t row_off(const Rows& R, int64_t r) {
  int64_t off = 0;
  for (int d = R.ndim - 1; d >= 0; d--) {
    const int64_t s = R.shape[d];
    const int64_t q = r / s;
    off += (r - q * s) * R.strides[d];
    r = q;
  }
  return off;
}

inline bool is_float_dt(int d) { return d == kFloat16 || d == kBfloat16 || d == kFloat32 || d == kFloat64; }

}  // namespace nn
}  // namespace cuda
}  // namespace kiln
