// The launch layouts the harness renders and runs each program in (render.cc, emulate.cc):
// variant 0 every operand contiguous; variant 1 a column-major first input and a second input
// broadcast along dim 0; variant 2 contiguous with short rows (several rows per block, some
// threads past the last row). Row outputs have zero strides on the reduced dims.
constexpr int kHarnessVariants = 3;
#pragma once
#include <cstdint>
#include <vector>
#include "../../backends/cuda/fused_codegen.h"

inline std::vector<int64_t> harness_shape(const kiln::cuda::FzProgram& P, int variant) {
  std::vector<int64_t> shape(P.ndim);
  for (int d = 0; d < P.ndim; d++) shape[d] = variant == 2 ? 3 : 3 + 2 * d + (d == P.ndim - 1 ? 20 : 0);
  return shape;
}

inline std::vector<std::vector<int64_t>> harness_strides(const kiln::cuda::FzProgram& P,
                                                         const std::vector<int64_t>& shape, int variant) {
  const int nops = P.nops(), nk = P.nred ? P.ndim - P.nred : 0;
  std::vector<std::vector<int64_t>> st(nops, std::vector<int64_t>(P.ndim, 0));
  for (int k = 0; k < nops; k++) {
    bool row_out = k >= P.n_in && P.out_kind[k - P.n_in] == 1;
    int64_t s = 1;
    for (int d = P.ndim - 1; d >= 0; d--) {
      if (row_out && d >= nk) continue;
      st[k][d] = s;
      s *= shape[d];
    }
    if (variant == 1 && k == 0 && P.n_in > 0) {
      s = 1;
      for (int d = 0; d < P.ndim; d++) st[k][d] = s, s *= shape[d];
    }
    if (variant == 1 && k == 1 && k < P.n_in && P.ndim > 0) st[k][0] = 0;
  }
  return st;
}
