// Dense linalg on the GPU through cuSOLVER with the CPU kernels' conventions
// (backends/cpu/kernels/linalg.cc): every operand a 3-d view [batch, rows, cols] of float32 or
// float64, each matrix computed in float64 (float32 is widened into the work matrices and rounded
// once on store, as the CPU does), one cuSOLVER call per batch entry on ctx.stream.
//   cholesky (potrf, lower; `upper` stores L^T)   inv (getrf + getrs on I)   solve (getrf + getrs)
//   det / slogdet (getrf, then the CPU's product/sum over the diagonal in kernels/linalg.cu)
//   qr (geqrf + orgqr, R's diagonal made non-negative like the CPU)   solve_triangular (own kernel)
// The CPU throws for a non-positive-definite (cholesky) or singular (inv, solve) matrix, naming the
// batch entry; to raise the same error these three read the factorization status back, which waits
// for ctx.stream. det/slogdet/qr/solve_triangular never wait. Empty operands stay on the CPU.
#include <cusolverDn.h>
#include <cuda_runtime.h>
#include <algorithm>
#include <climits>
#include <map>
#include <mutex>
#include <vector>
#include "backend.h"
#include "registry.h"
#include "kernels/linalg.h"

namespace kiln {
namespace cuda {
namespace {

const char* solver_status_name(cusolverStatus_t s) {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED: return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    default: return "CUSOLVER_STATUS_UNKNOWN";
  }
}

[[noreturn]] void solver_fail(const Command& c, const char* op, const char* call, cusolverStatus_t s) {
  fail("[", op, "] ", call, " failed for ", c.in(0).describe(), ": cuSOLVER status ", solver_status_name(s), " (",
       (int)s, ")");
}

#define KILN_SOLVER(op, call)                                           \
  do {                                                                  \
    cusolverStatus_t st_ = (call);                                      \
    if (st_ != CUSOLVER_STATUS_SUCCESS) solver_fail(c, op, #call, st_); \
  } while (0)

std::mutex handles_mu;
std::map<int, cusolverDnHandle_t>& handles() {
  static auto* m = new std::map<int, cusolverDnHandle_t>();  // one per CUDA device, for the process
  return *m;
}

cusolverDnHandle_t handle(const Command& c, Context& ctx, const char* op) {
  std::lock_guard<std::mutex> g(handles_mu);
  auto it = handles().find(ctx.ordinal);
  cusolverDnHandle_t h;
  if (it == handles().end()) {
    KILN_SOLVER(op, cusolverDnCreate(&h));
    handles()[ctx.ordinal] = h;
  } else {
    h = it->second;
  }
  KILN_SOLVER(op, cusolverDnSetStream(h, ctx.stream));
  return h;
}

template <typename T> T* scratch_of(Context& ctx, int64_t n) {
  return static_cast<T*>(ctx.scratch(std::max<int64_t>(n, 1) * (int64_t)sizeof(T)));
}

// The first batch entry whose factorization reported info > 0, or -1. Waits for ctx.stream.
int64_t first_failure(const Command& c, Context& ctx, const int* dinfo, int64_t nb, const char* op) {
  std::vector<int> h((size_t)nb);
  cudaError_t e = cudaMemcpyAsync(h.data(), dinfo, (size_t)nb * sizeof(int), cudaMemcpyDeviceToHost, ctx.stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(ctx.stream);
  if (e != cudaSuccess) ctx.owner->raise(e, op, "reading the factorization status");
  for (int64_t b = 0; b < nb; b++) {
    if (h[(size_t)b] > 0) return b;
    if (h[(size_t)b] < 0)
      fail("[", op, "] internal error: cuSOLVER rejected parameter ", -h[(size_t)b], " for ", c.in(0).describe());
  }
  return -1;
}

void run_cholesky(const Command& c, Context& ctx) {
  const View& A = c.in(0);
  const int64_t nb = A.shape[0], n = A.shape[1], nn = n * n;
  const bool upper = c.params[0] != 0;
  cusolverDnHandle_t h = handle(c, ctx, "cholesky");
  double* w = scratch_of<double>(ctx, nb * nn);
  int* info = scratch_of<int>(ctx, nb);
  linalg_load(c, A, w, ctx);
  int lwork = 0;
  KILN_SOLVER("cholesky", cusolverDnDpotrf_bufferSize(h, CUBLAS_FILL_MODE_LOWER, (int)n, w, (int)n, &lwork));
  double* work = scratch_of<double>(ctx, lwork);
  for (int64_t b = 0; b < nb; b++)
    KILN_SOLVER("cholesky",
                cusolverDnDpotrf(h, CUBLAS_FILL_MODE_LOWER, (int)n, w + b * nn, (int)n, work, lwork, info + b));
  const int64_t bad = first_failure(c, ctx, info, nb, "cholesky");
  if (bad >= 0) fail("[cholesky] matrix ", bad, " is not positive definite");
  // L is w's lower triangle (its upper one still holds A); `upper` stores L^T
  linalg_store(c, w, n, nn, upper, upper ? kTriUpper : kTriLower, nullptr, nullptr, 0, c.out(), ctx);
}

// LU factors of every batch entry of A in w (column-major), pivots in ipiv, status in info.
void lu_factor(const Command& c, Context& ctx, cusolverDnHandle_t h, const char* op, double* w, int* ipiv, int* info) {
  const View& A = c.in(0);
  const int64_t nb = A.shape[0], n = A.shape[1], nn = n * n;
  linalg_load(c, A, w, ctx);
  int lwork = 0;
  KILN_SOLVER(op, cusolverDnDgetrf_bufferSize(h, (int)n, (int)n, w, (int)n, &lwork));
  double* work = scratch_of<double>(ctx, lwork);
  for (int64_t b = 0; b < nb; b++)
    KILN_SOLVER(op, cusolverDnDgetrf(h, (int)n, (int)n, w + b * nn, (int)n, work, ipiv + b * n, info + b));
}

// X = A^-1 X for every batch entry after lu_factor; x is column-major n x nrhs per entry.
void lu_solve(const Command& c, cusolverDnHandle_t h, const char* op, int64_t nb, int64_t n, const double* w,
              const int* ipiv, double* x, int64_t nrhs, int* info) {
  for (int64_t b = 0; b < nb; b++)
    KILN_SOLVER(op, cusolverDnDgetrs(h, CUBLAS_OP_N, (int)n, (int)nrhs, w + b * n * n, (int)n, ipiv + b * n,
                                     x + b * n * nrhs, (int)n, info));
}

void run_inv(const Command& c, Context& ctx) {
  const int64_t nb = c.in(0).shape[0], n = c.in(0).shape[1], nn = n * n;
  cusolverDnHandle_t h = handle(c, ctx, "inv");
  double* w = scratch_of<double>(ctx, nb * nn);
  int* ipiv = scratch_of<int>(ctx, nb * n);
  int* info = scratch_of<int>(ctx, nb + 1);  // info[nb]: getrs's (parameter errors only)
  lu_factor(c, ctx, h, "inv", w, ipiv, info);
  const int64_t bad = first_failure(c, ctx, info, nb, "inv");
  if (bad >= 0) fail("[inv] matrix ", bad, " is singular");
  double* x = scratch_of<double>(ctx, nb * nn);
  linalg_identity(c, x, nb, n, ctx);
  lu_solve(c, h, "inv", nb, n, w, ipiv, x, n, info + nb);
  linalg_store(c, x, n, nn, false, kTriNone, nullptr, nullptr, 0, c.out(), ctx);
}

void run_solve(const Command& c, Context& ctx) {
  const int64_t nb = c.in(0).shape[0], n = c.in(0).shape[1], nrhs = c.in(1).shape[2];
  cusolverDnHandle_t h = handle(c, ctx, "solve");
  double* w = scratch_of<double>(ctx, nb * n * n);
  int* ipiv = scratch_of<int>(ctx, nb * n);
  int* info = scratch_of<int>(ctx, nb + 1);
  lu_factor(c, ctx, h, "solve", w, ipiv, info);
  const int64_t bad = first_failure(c, ctx, info, nb, "solve");
  if (bad >= 0) fail("[solve] matrix ", bad, " is singular");
  double* x = scratch_of<double>(ctx, nb * n * nrhs);
  linalg_load(c, c.in(1), x, ctx);
  lu_solve(c, h, "solve", nb, n, w, ipiv, x, nrhs, info + nb);
  linalg_store(c, x, n, n * nrhs, false, kTriNone, nullptr, nullptr, 0, c.out(), ctx);
}

void run_solve_triangular(const Command& c, Context& ctx) {
  const int64_t nb = c.in(0).shape[0], n = c.in(0).shape[1], nrhs = c.in(1).shape[2];
  const bool upper = c.params[0] != 0, unit = c.params[1] != 0;
  double* x = scratch_of<double>(ctx, nb * n * nrhs);
  linalg_load(c, c.in(1), x, ctx);
  linalg_trsolve(c, c.in(0), x, nrhs, upper, unit, ctx);
  linalg_store(c, x, n, n * nrhs, false, kTriNone, nullptr, nullptr, 0, c.out(), ctx);
}

void det_common(const Command& c, Context& ctx, bool logdet) {
  const char* op = logdet ? "slogdet" : "det";
  const int64_t nb = c.in(0).shape[0], n = c.in(0).shape[1];
  cusolverDnHandle_t h = handle(c, ctx, op);
  double* w = scratch_of<double>(ctx, nb * n * n);
  int* ipiv = scratch_of<int>(ctx, nb * n);
  int* info = scratch_of<int>(ctx, nb);
  lu_factor(c, ctx, h, op, w, ipiv, info);
  linalg_det(c, w, n, ipiv, info, c.out(0), logdet ? &c.out(1) : nullptr, ctx);
}
void run_det(const Command& c, Context& ctx) { det_common(c, ctx, false); }
void run_slogdet(const Command& c, Context& ctx) { det_common(c, ctx, true); }

void run_qr(const Command& c, Context& ctx) {
  const View& A = c.in(0);
  const int64_t nb = A.shape[0], m = A.shape[1], n = A.shape[2], k = std::min(m, n), mn = m * n;
  cusolverDnHandle_t h = handle(c, ctx, "qr");
  double* w = scratch_of<double>(ctx, nb * mn);
  double* tau = scratch_of<double>(ctx, nb * k);
  double* signs = scratch_of<double>(ctx, nb * k);
  int* info = scratch_of<int>(ctx, 1);  // parameter errors only
  linalg_load(c, A, w, ctx);
  int lw1 = 0, lw2 = 0;
  KILN_SOLVER("qr", cusolverDnDgeqrf_bufferSize(h, (int)m, (int)n, w, (int)m, &lw1));
  KILN_SOLVER("qr", cusolverDnDorgqr_bufferSize(h, (int)m, (int)k, (int)k, w, (int)m, tau, &lw2));
  const int lwork = std::max(lw1, lw2);
  double* work = scratch_of<double>(ctx, lwork);
  for (int64_t b = 0; b < nb; b++)
    KILN_SOLVER("qr", cusolverDnDgeqrf(h, (int)m, (int)n, w + b * mn, (int)m, tau + b * k, work, lwork, info));
  // R: the upper triangle of w's first k rows, each row times the sign of its diagonal
  linalg_diag_signs(c, w, m, mn, k, nb, signs, ctx);
  linalg_store(c, w, m, mn, false, kTriUpper, signs, nullptr, k, c.out(1), ctx);
  // Q: w's first k columns after orgqr, each column times the same sign
  for (int64_t b = 0; b < nb; b++)
    KILN_SOLVER("qr", cusolverDnDorgqr(h, (int)m, (int)k, (int)k, w + b * mn, (int)m, tau + b * k, work, lwork, info));
  linalg_store(c, w, m, mn, false, kTriNone, nullptr, signs, k, c.out(0), ctx);
}

// float32 / float64 (the only dtypes the CPU's checks accept); empty operands and matrices whose
// size passes cuSOLVER's 32-bit arguments run on the CPU.
bool supports_linalg(const Command& c) {
  for (const View& v : c.ops) {
    if (v.dtype != kFloat32 && v.dtype != kFloat64) return false;
    if (v.size == 0 || v.ndim != 3) return false;
    if (v.shape[1] > INT_MAX || v.shape[2] > INT_MAX || v.shape[1] * v.shape[2] > INT_MAX) return false;
  }
  return true;
}

}  // namespace

KILN_CUDA_KERNEL("cholesky", supports_linalg, run_cholesky);
KILN_CUDA_KERNEL("inv", supports_linalg, run_inv);
KILN_CUDA_KERNEL("solve", supports_linalg, run_solve);
KILN_CUDA_KERNEL("solve_triangular", supports_linalg, run_solve_triangular);
KILN_CUDA_KERNEL("det", supports_linalg, run_det);
KILN_CUDA_KERNEL("slogdet", supports_linalg, run_slogdet);
KILN_CUDA_KERNEL("qr", supports_linalg, run_qr);

}  // namespace cuda
}  // namespace kiln
