// The kernel catalog: ids are positions in this table; TypeScript reads them through info().
#include "kernels/kernels.h"
#include "kernels/fused.h"

namespace kiln {

const std::vector<KernelDef>& kernel_catalog() {
  // name, inputs, outputs, min params, max params, check, run
  static const std::vector<KernelDef> cat = {
      {"free", 0, 0, 1, 1, check_free, run_free},
      {"copy", 1, 1, 0, 0, check_copy, run_copy},
      {"fill", 0, 1, 1, 1, check_fill, run_fill},
      {"arange", 0, 1, 2, 2, check_arange, run_arange},
      {"unary", 1, 1, 1, 1, check_unary, run_unary},
      {"binary", 2, 1, 1, 1, check_binary, run_binary},
      {"where", 3, 1, 0, 0, check_where, run_where},
      {"reduce", 1, 1, 2, 2, check_reduce, run_reduce},
      {"matmul", 2, 1, 0, 0, check_matmul, run_matmul},
      {"gather", 2, 1, 0, 0, check_gather, run_gather},
      {"scatter", 3, 1, 1, 1, check_scatter, run_scatter},
      {"cholesky", 1, 1, 1, 1, check_cholesky, run_cholesky},
      {"inv", 1, 1, 0, 0, check_inv, run_inv},
      {"solve", 2, 1, 0, 0, check_solve, run_solve},
      {"solve_triangular", 2, 1, 2, 2, check_solve_triangular, run_solve_triangular},
      {"qr", 1, 2, 0, 0, check_qr, run_qr},
      {"det", 1, 1, 0, 0, check_det, run_det},
      {"slogdet", 1, 2, 0, 0, check_slogdet, run_slogdet},
      {"eigh", 1, 2, 1, 1, check_eigh, run_eigh},
      {"svd", 1, 3, 1, 1, check_svd, run_svd},
      {"sort", 1, 1, 2, 2, check_sort, run_sort},
      {"topk_indexed", 1, 2, 1, 1, check_topk_indexed, run_topk_indexed},
      {"searchsorted", 2, 1, 1, 1, check_searchsorted, run_searchsorted},
      {"scan", 1, 1, 3, 3, check_scan, run_scan},
      {"rms_norm", -1, 1, 1, 1, check_rms_norm, run_rms_norm},
      {"layer_norm", -1, 1, 3, 3, check_layer_norm, run_layer_norm},
      {"rope", -1, 1, 6, 6, check_rope, run_rope},
      {"attention", -1, 1, 2, 2, check_attention, run_attention},
      {"attention_lse", -1, 2, 2, 2, check_attention_lse, run_attention_lse},
      {"fused", -1, 0, 1, 1, check_fused, run_fused},
      {"affine_quantize", 1, 3, 2, 2, check_affine_quantize, run_affine_quantize},
      {"affine_dequantize", 3, 1, 2, 2, check_affine_dequantize, run_affine_dequantize},
      {"quantized_matmul", 4, 1, 3, 3, check_quantized_matmul, run_quantized_matmul},
      {"gguf_matmul", 2, 1, 2, 2, check_gguf_matmul, run_gguf_matmul},
      {"gguf_dequant", 1, 1, 2, 2, check_gguf_dequant, run_gguf_dequant},
      {"fft", 1, 1, 4, 4, check_fft, run_fft},
  };
  return cat;
}

}  // namespace kiln
