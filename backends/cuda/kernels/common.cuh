// Device-side helpers shared by the CUDA kernel files: kiln dtypes as device types, dispatch over
// them, strided layouts (any view: offset already applied, negative and zero strides allowed) and
// launch sizes. Everything here needs only the CUDA runtime headers.
#pragma once
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cstdint>
#include "../../common/command.h"
#include "../context.h"

namespace kiln {
namespace cuda {

// complex64 elements: interleaved (re, im) float32 pairs
struct alignas(8) complex64 {
  float re, im;
};

template <typename T> struct TypeTag {
  using type = T;
};

// Calls f(TypeTag<T>{}) with the device type of a kiln dtype; `what` names the kernel in errors.
template <typename F> inline void dispatch_dtype(int dtype, const Command& c, F&& f) {
  switch (dtype) {
    case kBool: return f(TypeTag<bool>{});
    case kUint8: return f(TypeTag<uint8_t>{});
    case kUint16: return f(TypeTag<uint16_t>{});
    case kUint32: return f(TypeTag<uint32_t>{});
    case kUint64: return f(TypeTag<uint64_t>{});
    case kInt8: return f(TypeTag<int8_t>{});
    case kInt16: return f(TypeTag<int16_t>{});
    case kInt32: return f(TypeTag<int32_t>{});
    case kInt64: return f(TypeTag<int64_t>{});
    case kFloat16: return f(TypeTag<__half>{});
    case kBfloat16: return f(TypeTag<__nv_bfloat16>{});
    case kFloat32: return f(TypeTag<float>{});
    case kFloat64: return f(TypeTag<double>{});
    case kComplex64: return f(TypeTag<complex64>{});
    default: fail("[", kernel_name(c), "] unsupported dtype ", dtype_name(dtype), " on the GPU");
  }
}

// A view's shape and element strides, passed by value to kernels.
struct Layout {
  int32_t ndim = 0;
  int64_t shape[kMaxDims];
  int64_t strides[kMaxDims];
};

inline Layout layout_of(const View& v) {
  Layout L;
  L.ndim = v.ndim;
  for (int d = 0; d < v.ndim; d++) {
    L.shape[d] = v.shape[d];
    L.strides[d] = v.strides[d];
  }
  return L;
}

// Element offset of the i-th element in row-major order of L's shape.
__device__ __forceinline__ int64_t element_offset(const Layout& L, int64_t i) {
  int64_t off = 0;
  for (int d = L.ndim - 1; d >= 0; d--) {
    int64_t s = L.shape[d];
    int64_t q = i / s;
    off += (i - q * s) * L.strides[d];
    i = q;
  }
  return off;
}

// Blocks for n elements at `threads` per block, grid-stride loops cover the rest.
inline unsigned grid_for(int64_t n, int threads = 256, int64_t max_blocks = 65535LL * 16) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > max_blocks) b = max_blocks;
  return (unsigned)b;
}

}  // namespace cuda
}  // namespace kiln
