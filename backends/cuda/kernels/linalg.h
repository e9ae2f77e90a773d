// Host entry points of kernels/linalg.cu, used by the cuSOLVER glue (cuda_solver.cc). Every
// operand is a 3-d view [batch, rows, cols] of float32 or float64 (the CPU's check_* guarantee
// it); work matrices are float64, column-major, `ld` rows apart, `bs` elements per batch entry.
// Everything queues on ctx.stream.
#pragma once
#include "../context.h"

namespace kiln {
namespace cuda {

// dst[b*rows*cols + i + j*rows] = v[b, i, j] as double.
void linalg_load(const Command& c, const View& v, double* dst, Context& ctx);

enum LinalgTri { kTriNone = 0, kTriLower = 1, kTriUpper = 2 };
// v[b, i, j] = w(i, j) (or w(j, i) when transpose) times row_sign[b*ns + i] and col_sign[b*ns + j]
// when given, then zeroed outside the triangle `tri`; w(i, j) = src[b*bs + i + j*ld].
void linalg_store(const Command& c, const double* src, int64_t ld, int64_t bs, bool transpose, int tri,
                  const double* row_sign, const double* col_sign, int64_t ns, const View& v, Context& ctx);

// nb identity matrices n x n (column-major, contiguous).
void linalg_identity(const Command& c, double* dst, int64_t nb, int64_t n, Context& ctx);

// signs[b*k + j] = w(j, j) < 0 ? -1 : 1 (the CPU's QR makes R's diagonal non-negative).
void linalg_diag_signs(const Command& c, const double* w, int64_t ld, int64_t bs, int64_t k, int64_t nb, double* signs,
                       Context& ctx);

// det (out1 null) or slogdet (out0 sign, out1 log|det|) from an LU factorization (getrf: w, ipiv
// 1-based, info > 0 when a pivot is exactly zero), as the CPU computes them.
void linalg_det(const Command& c, const double* w, int64_t n, const int* ipiv, const int* info, const View& out0,
                const View* out1, Context& ctx);

// solve_triangular: x (column-major n x nrhs per batch entry, overwritten) = A^-1 x with the CPU's
// loop order; A read through its view. upper / unit_diagonal as the CPU's params.
void linalg_trsolve(const Command& c, const View& a, double* x, int64_t nrhs, bool upper, bool unit, Context& ctx);

}  // namespace cuda
}  // namespace kiln
