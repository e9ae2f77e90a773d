// Host entry points of kernels/matmul_int.cu, used by the cuBLASLt glue (cuda_blas.cc).
// Everything queues on ctx.stream.
#pragma once
#include "../context.h"

namespace kiln {
namespace cuda {

// Integer matmul (any width, signed or unsigned) with the CPU's wrapping; any strided views.
void matmul_int(const Command& c, Context& ctx);
// Writes zeros through v's strides (matmul with K == 0).
void fill_zero_strided(const Command& c, const View& v, Context& ctx);
// v's elements in row-major order of its shape to dst (contiguous), and back; raw bits.
void copy_to_contiguous(const Command& c, const View& v, void* dst, Context& ctx);
void copy_from_contiguous(const Command& c, const void* src, const View& v, Context& ctx);

}  // namespace cuda
}  // namespace kiln
