// Declarations of every kernel family's check and run functions; catalog.cc lists them.
#pragma once
#include "../../common/command.h"

namespace kiln {

// copy.cc: copy/cast between any views, fill, arange, free
void check_copy(const Command&);
void run_copy(const Command&);
void check_fill(const Command&);
void run_fill(const Command&);
void check_arange(const Command&);
void run_arange(const Command&);
void check_free(const Command&);
void run_free(const Command&);

// unary.cc, binary.cc (binary also holds `where`)
void check_unary(const Command&);
void run_unary(const Command&);
void check_binary(const Command&);
void run_binary(const Command&);
void check_where(const Command&);
void run_where(const Command&);

// reduce.cc
void check_reduce(const Command&);
void run_reduce(const Command&);

// index.cc: gather / scatter along one axis of 3-d views
void check_gather(const Command&);
void run_gather(const Command&);
void check_scatter(const Command&);
void run_scatter(const Command&);

// linalg.cc: batched small dense matrices ([batch, rows, cols] views)
void check_cholesky(const Command&);
void run_cholesky(const Command&);
void check_inv(const Command&);
void run_inv(const Command&);
void check_solve(const Command&);
void run_solve(const Command&);
void check_solve_triangular(const Command&);
void run_solve_triangular(const Command&);
void check_qr(const Command&);
void run_qr(const Command&);
void check_det(const Command&);
void run_det(const Command&);
void check_slogdet(const Command&);
void run_slogdet(const Command&);
// linalg_eig.cc: Jacobi eigh and svd
void check_eigh(const Command&);
void run_eigh(const Command&);
void check_svd(const Command&);
void run_svd(const Command&);

// matmul.cc
void check_matmul(const Command&);
void run_matmul(const Command&);
// The packed GEMM for other kernel families: C[M, N] (float, row stride ldc) = A @ B with
// A[i, k] = A[i * ars + k * acs] and B[k, j] = B[k * brs + j * bcs]; par splits it over the pool.
// bfloat16 operands use AVX-512 BF16 where the CPU has it (float sums either way).
void gemm_f32(int64_t M, int64_t N, int64_t K, const float* A, int64_t ars, int64_t acs, const float* B, int64_t brs,
              int64_t bcs, float* C, int64_t ldc, bool par);
void gemm_bf16(int64_t M, int64_t N, int64_t K, const bf16_t* A, int64_t ars, int64_t acs, const bf16_t* B, int64_t brs,
               int64_t bcs, float* C, int64_t ldc, bool par);

// sort.cc: sort/argsort/partition/argpartition/topk along the last dim; searchsorted (1-d sorted)
void check_sort(const Command&);
void run_sort(const Command&);
void check_searchsorted(const Command&);
void run_searchsorted(const Command&);
void check_topk_indexed(const Command&);
void run_topk_indexed(const Command&);

// scan.cc: cumsum/cumprod/cummax/cummin/logcumsumexp along the last dim
void check_scan(const Command&);
void run_scan(const Command&);

// norm.cc, rope.cc, attention.cc: the fused kernels behind kn.fast (operands in each file's header)
void check_rms_norm(const Command&);
void run_rms_norm(const Command&);
void check_layer_norm(const Command&);
void run_layer_norm(const Command&);
void check_rope(const Command&);
void run_rope(const Command&);
void check_attention(const Command&);
void run_attention(const Command&);
void check_attention_lse(const Command&);
void run_attention_lse(const Command&);

// quantized.cc: MLX's affine quantization (quantize, dequantize, products on packed weights)
void check_affine_quantize(const Command&);
void run_affine_quantize(const Command&);
void check_affine_dequantize(const Command&);
void run_affine_dequantize(const Command&);
void check_quantized_matmul(const Command&);
void run_quantized_matmul(const Command&);

// fft.cc: batched 1-d transforms along the last dim (complex64 / float32 rows)
void check_fft(const Command&);
void run_fft(const Command&);

// quantized_gguf.cc: ggml block types (Q4_0..Q6_K) used in their blocks: matmul and dequantization
void check_gguf_matmul(const Command&);
void run_gguf_matmul(const Command&);
void check_gguf_dequant(const Command&);
void run_gguf_dequant(const Command&);

}  // namespace kiln
