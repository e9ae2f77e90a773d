// Device helpers of the GPU linalg (the cuSOLVER calls are in backends/cuda/cuda_solver.cc): like
// the CPU (backends/cpu/kernels/linalg.cc) every matrix is computed in float64, so float32 views
// are widened into column-major float64 work matrices and rounded once on store. Also the parts
// the CPU computes itself: det/slogdet from the LU factors, the QR sign convention, and the
// triangular solve (one thread per right-hand-side column, the CPU's loop order).
#include <math_constants.h>
#include "common.cuh"
#include "linalg.h"

namespace kiln {
namespace cuda {
namespace {

struct View3 {  // a 3-d view's strides (elements), offset already applied to the pointer
  int64_t nb, rows, cols, s0, s1, s2;
};

View3 view3(const View& v) { return {v.shape[0], v.shape[1], v.shape[2], v.strides[0], v.strides[1], v.strides[2]}; }

template <typename T> __global__ void load_kernel(const T* src, View3 v, double* dst, int64_t n) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
    // t enumerates dst: column-major within each batch entry
    const int64_t per = v.rows * v.cols, b = t / per, r = t - b * per, j = r / v.rows, i = r - j * v.rows;
    dst[t] = (double)src[b * v.s0 + i * v.s1 + j * v.s2];
  }
}

template <typename T>
__global__ void store_kernel(const double* src, int64_t ld, int64_t bs, bool transpose, int tri, const double* row_sign,
                             const double* col_sign, int64_t ns, T* dst, View3 v, int64_t n) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t per = v.rows * v.cols, b = t / per, r = t - b * per, i = r / v.cols, j = r - i * v.cols;
    double x = transpose ? src[b * bs + j + i * ld] : src[b * bs + i + j * ld];
    if (row_sign && row_sign[b * ns + i] < 0) x = -x;
    if (col_sign && col_sign[b * ns + j] < 0) x = -x;
    if ((tri == kTriLower && j > i) || (tri == kTriUpper && i > j)) x = 0.0;
    dst[b * v.s0 + i * v.s1 + j * v.s2] = (T)x;
  }
}

__global__ void identity_kernel(double* dst, int64_t n, int64_t total) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = t % (n * n), j = r / n, i = r - j * n;
    dst[t] = i == j ? 1.0 : 0.0;
  }
}

__global__ void diag_signs_kernel(const double* w, int64_t ld, int64_t bs, int64_t k, double* signs, int64_t total) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = t / k, j = t - b * k;
    signs[t] = w[b * bs + j + j * ld] < 0 ? -1.0 : 1.0;
  }
}

template <typename T>
__global__ void det_kernel(const double* w, int64_t n, const int* ipiv, const int* info, T* o0, int64_t s0, T* o1,
                           int64_t s1, int64_t nb) {
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < nb; b += (int64_t)gridDim.x * blockDim.x) {
    const double* a = w + b * n * n;
    int sign = 1;
    for (int64_t k = 0; k < n; k++)
      if (ipiv[b * n + k] != k + 1) sign = -sign;
    double s = sign, logabs = 0, d = sign;
    for (int64_t i = 0; i < n; i++) {
      const double x = a[i + i * n];
      d *= x;
      if (x < 0) s = -s;
      logabs += log(fabs(x));
    }
    if (info[b] != 0) {
      s = 0;
      d = 0;
      logabs = -CUDART_INF;
    }
    if (o1) {
      o0[b * s0] = (T)s;
      o1[b * s1] = (T)logabs;
    } else {
      o0[b * s0] = (T)d;
    }
  }
}

template <typename T>
__global__ void trsolve_kernel(const T* A, View3 av, double* x, int64_t nrhs, bool upper, bool unit, int64_t total) {
  const int64_t n = av.rows;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t b = t / nrhs, j = t - b * nrhs;
    const T* a = A + b * av.s0;
    double* xj = x + b * n * nrhs + j * n;
    if (upper) {
      for (int64_t i = n - 1; i >= 0; i--) {
        double s = xj[i];
        for (int64_t k = i + 1; k < n; k++) s -= (double)a[i * av.s1 + k * av.s2] * xj[k];
        xj[i] = unit ? s : s / (double)a[i * av.s1 + i * av.s2];
      }
    } else {
      for (int64_t i = 0; i < n; i++) {
        double s = xj[i];
        for (int64_t k = 0; k < i; k++) s -= (double)a[i * av.s1 + k * av.s2] * xj[k];
        xj[i] = unit ? s : s / (double)a[i * av.s1 + i * av.s2];
      }
    }
  }
}

template <typename F> void float_dispatch(const Command& c, int dtype, F&& f) {
  if (dtype == kFloat32) return f(TypeTag<float>{});
  if (dtype == kFloat64) return f(TypeTag<double>{});
  fail("[", kernel_name(c), "] supports float32 and float64 on the GPU, got ", dtype_name(dtype));
}

}  // namespace

void linalg_load(const Command& c, const View& v, double* dst, Context& ctx) {
  if (v.size == 0) return;
  float_dispatch(c, v.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    load_kernel<T><<<grid_for(v.size), 256, 0, ctx.stream>>>(reinterpret_cast<const T*>(v.device_data(ctx.device)),
                                                             view3(v), dst, v.size);
  });
  check_launch(c, "load launch");
}

void linalg_store(const Command& c, const double* src, int64_t ld, int64_t bs, bool transpose, int tri,
                  const double* row_sign, const double* col_sign, int64_t ns, const View& v, Context& ctx) {
  if (v.size == 0) return;
  float_dispatch(c, v.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    store_kernel<T><<<grid_for(v.size), 256, 0, ctx.stream>>>(src, ld, bs, transpose, tri, row_sign, col_sign, ns,
                                                              reinterpret_cast<T*>(v.device_data(ctx.device)), view3(v),
                                                              v.size);
  });
  check_launch(c, "store launch");
}

void linalg_identity(const Command& c, double* dst, int64_t nb, int64_t n, Context& ctx) {
  const int64_t total = nb * n * n;
  if (total == 0) return;
  identity_kernel<<<grid_for(total), 256, 0, ctx.stream>>>(dst, n, total);
  check_launch(c, "identity launch");
}

void linalg_diag_signs(const Command& c, const double* w, int64_t ld, int64_t bs, int64_t k, int64_t nb, double* signs,
                       Context& ctx) {
  const int64_t total = nb * k;
  if (total == 0) return;
  diag_signs_kernel<<<grid_for(total), 256, 0, ctx.stream>>>(w, ld, bs, k, signs, total);
  check_launch(c, "diagonal signs launch");
}

void linalg_det(const Command& c, const double* w, int64_t n, const int* ipiv, const int* info, const View& out0,
                const View* out1, Context& ctx) {
  const int64_t nb = out0.shape[0];
  if (nb == 0) return;
  float_dispatch(c, out0.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    det_kernel<T><<<grid_for(nb, 128), 128, 0, ctx.stream>>>(
        w, n, ipiv, info, reinterpret_cast<T*>(out0.device_data(ctx.device)), out0.strides[0],
        out1 ? reinterpret_cast<T*>(out1->device_data(ctx.device)) : nullptr, out1 ? out1->strides[0] : 0, nb);
  });
  check_launch(c, "determinant launch");
}

void linalg_trsolve(const Command& c, const View& a, double* x, int64_t nrhs, bool upper, bool unit, Context& ctx) {
  const int64_t total = a.shape[0] * nrhs;
  if (total == 0 || a.shape[1] == 0) return;
  float_dispatch(c, a.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    trsolve_kernel<T><<<grid_for(total, 64), 64, 0, ctx.stream>>>(reinterpret_cast<const T*>(a.device_data(ctx.device)),
                                                                  view3(a), x, nrhs, upper, unit, total);
  });
  check_launch(c, "triangular solve launch");
}

}  // namespace cuda
}  // namespace kiln
