// Host entry of kernels/gemv.cu, used by the cuBLASLt glue (cuda_blas.cc run_matmul) ahead of
// cuBLASLt. Everything queues on ctx.stream.
#pragma once
#include "../context.h"

namespace kiln {
namespace cuda {

// The decode matmul out[m, n] = sum_k x[m, k] * W[n, k] for 1..8 rows of x and a Linear weight
// W [N, K] seen as B = W^T (K-axis stride 1). Queues it and returns true when the command
// qualifies (float16 / bfloat16 / float32, see gemv.cu for the exact conditions; K > 0 and a
// non-empty output are the caller's); returns false, having queued nothing, otherwise.
// KILN_CUDA_GEMV=0 turns it off (every matmul goes to cuBLASLt).
bool gemv_matmul(const Command& c, Context& ctx);

}  // namespace cuda
}  // namespace kiln
