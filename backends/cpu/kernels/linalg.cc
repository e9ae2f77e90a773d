// Dense linear algebra on batches of small matrices: every operand is a 3-d view [batch, rows,
// cols] (the op flattens batch dims), float32 or float64, computed in double per matrix.
//   cholesky(A) -> L (params: upper)       inv(A) -> A^-1        solve(A, B) -> X
//   solve_triangular(A, B) -> X (params: upper, unit_diagonal)   qr(A) -> Q, R (reduced)
//   det(A) -> d                           slogdet(A) -> sign, logabsdet
// Failures (singular, not positive definite) throw a kiln::Error naming the batch entry.
#include <cmath>
#include <vector>
#include "kernels.h"
#include "../strided.h"

namespace kiln {
namespace {

struct Mat {  // a 2-d slice of a 3-d view, as doubles
  int64_t r, c;
  std::vector<double> v;
  double& operator()(int64_t i, int64_t j) { return v[(size_t)(i * c + j)]; }
};

template <typename T> Mat load(const View& x, int64_t b) {
  Mat m{x.shape[1], x.shape[2], std::vector<double>((size_t)(x.shape[1] * x.shape[2]))};
  const T* p = reinterpret_cast<const T*>(x.buf->data);
  for (int64_t i = 0; i < m.r; i++)
    for (int64_t j = 0; j < m.c; j++)
      m(i, j) = (double)p[x.offset + b * x.strides[0] + i * x.strides[1] + j * x.strides[2]];
  return m;
}

template <typename T> void store(const View& x, int64_t b, Mat& m) {
  T* p = reinterpret_cast<T*>(x.buf->data);
  for (int64_t i = 0; i < m.r; i++)
    for (int64_t j = 0; j < m.c; j++) p[x.offset + b * x.strides[0] + i * x.strides[1] + j * x.strides[2]] = (T)m(i, j);
}

void expect_float_3d(const Command& c) {
  for (auto& v : c.ops) {
    if (v.ndim != 3) fail("[", kernel_name(c), "] operands must be 3-d views, got ", v.describe());
    if (v.dtype != kFloat32 && v.dtype != kFloat64)
      fail("[", kernel_name(c), "] supports float32 and float64, got ", dtype_name(v.dtype));
    if (v.dtype != c.ops[0].dtype) fail("[", kernel_name(c), "] operand dtypes differ");
    if (v.shape[0] != c.ops[0].shape[0]) fail("[", kernel_name(c), "] batch sizes differ");
  }
}
void expect_square(const Command& c, const View& v) {
  if (v.shape[1] != v.shape[2])
    fail("[", kernel_name(c), "] expects square matrices, got ", v.shape[1], "x", v.shape[2]);
}
void expect_dims(const Command& c, const View& v, int64_t r, int64_t cols, const char* what) {
  if (v.shape[1] != r || v.shape[2] != cols)
    fail("[", kernel_name(c), "] ", what, " must be ", r, "x", cols, ", got ", v.shape[1], "x", v.shape[2]);
}

// LU with partial pivoting in place; returns false when singular. perm sign in *sign.
bool lu(Mat& a, std::vector<int64_t>& piv, int* sign) {
  int64_t n = a.r;
  piv.resize((size_t)n);
  *sign = 1;
  bool ok = true;
  for (int64_t k = 0; k < n; k++) {
    int64_t p = k;
    for (int64_t i = k + 1; i < n; i++)
      if (std::fabs(a(i, k)) > std::fabs(a(p, k))) p = i;
    piv[(size_t)k] = p;
    if (p != k) {
      for (int64_t j = 0; j < n; j++) std::swap(a(k, j), a(p, j));
      *sign = -*sign;
    }
    if (a(k, k) == 0.0) {
      ok = false;
      continue;
    }
    for (int64_t i = k + 1; i < n; i++) {
      double f = a(i, k) /= a(k, k);
      for (int64_t j = k + 1; j < n; j++) a(i, j) -= f * a(k, j);
    }
  }
  return ok;
}

// Solves LU x = P b for each column of b (b overwritten).
void lu_solve(Mat& a, const std::vector<int64_t>& piv, Mat& b) {
  int64_t n = a.r;
  for (int64_t k = 0; k < n; k++)
    if (piv[(size_t)k] != k)
      for (int64_t j = 0; j < b.c; j++) std::swap(b(k, j), b(piv[(size_t)k], j));
  for (int64_t j = 0; j < b.c; j++) {
    for (int64_t i = 0; i < n; i++) {
      double s = b(i, j);
      for (int64_t k = 0; k < i; k++) s -= a(i, k) * b(k, j);
      b(i, j) = s;
    }
    for (int64_t i = n - 1; i >= 0; i--) {
      double s = b(i, j);
      for (int64_t k = i + 1; k < n; k++) s -= a(i, k) * b(k, j);
      b(i, j) = s / a(i, i);
    }
  }
}

template <typename F> void each_batch(const Command& c, F&& f) {
  int64_t nb = c.ops[0].shape[0];
  parallel_for(nb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) f(b);
  });
}

#define KILN_FLOAT_DISPATCH(d, CALL) \
  if ((d) == kFloat32) {             \
    using T = float;                 \
    CALL;                            \
  } else {                           \
    using T = double;                \
    CALL;                            \
  }

}  // namespace

void check_cholesky(const Command& c) {
  expect_float_3d(c);
  expect_square(c, c.in(0));
  expect_same_shape(c, c.in(0), c.out(), "input and output");
}
void run_cholesky(const Command& c) {
  bool upper = c.params[0] != 0;
  KILN_FLOAT_DISPATCH(c.in(0).dtype, each_batch(c, [&](int64_t b) {
                        Mat a = load<T>(c.in(0), b);
                        int64_t n = a.r;
                        Mat l{n, n, std::vector<double>((size_t)(n * n), 0.0)};
                        for (int64_t j = 0; j < n; j++) {
                          double s = a(j, j);
                          for (int64_t k = 0; k < j; k++) s -= l(j, k) * l(j, k);
                          if (!(s > 0)) fail("[cholesky] matrix ", b, " is not positive definite");
                          l(j, j) = std::sqrt(s);
                          for (int64_t i = j + 1; i < n; i++) {
                            double t = a(i, j);
                            for (int64_t k = 0; k < j; k++) t -= l(i, k) * l(j, k);
                            l(i, j) = t / l(j, j);
                          }
                        }
                        if (upper)
                          for (int64_t i = 0; i < n; i++)
                            for (int64_t j = 0; j < i; j++) {
                              l(j, i) = l(i, j);
                              l(i, j) = 0;
                            }
                        store<T>(c.out(), b, l);
                      }))
}

void check_inv(const Command& c) {
  expect_float_3d(c);
  expect_square(c, c.in(0));
  expect_same_shape(c, c.in(0), c.out(), "input and output");
}
void run_inv(const Command& c) {
  KILN_FLOAT_DISPATCH(c.in(0).dtype, each_batch(c, [&](int64_t b) {
                        Mat a = load<T>(c.in(0), b);
                        int64_t n = a.r;
                        std::vector<int64_t> piv;
                        int sign;
                        if (!lu(a, piv, &sign)) fail("[inv] matrix ", b, " is singular");
                        Mat e{n, n, std::vector<double>((size_t)(n * n), 0.0)};
                        for (int64_t i = 0; i < n; i++) e(i, i) = 1;
                        lu_solve(a, piv, e);
                        store<T>(c.out(), b, e);
                      }))
}

void check_solve(const Command& c) {
  expect_float_3d(c);
  expect_square(c, c.in(0));
  expect_dims(c, c.in(1), c.in(0).shape[1], c.in(1).shape[2], "right-hand side");
  expect_same_shape(c, c.in(1), c.out(), "right-hand side and output");
}
void run_solve(const Command& c) {
  KILN_FLOAT_DISPATCH(c.in(0).dtype, each_batch(c, [&](int64_t b) {
                        Mat a = load<T>(c.in(0), b), x = load<T>(c.in(1), b);
                        std::vector<int64_t> piv;
                        int sign;
                        if (!lu(a, piv, &sign)) fail("[solve] matrix ", b, " is singular");
                        lu_solve(a, piv, x);
                        store<T>(c.out(), b, x);
                      }))
}

void check_solve_triangular(const Command& c) { check_solve(c); }
void run_solve_triangular(const Command& c) {
  bool upper = c.params[0] != 0, unit = c.params[1] != 0;
  KILN_FLOAT_DISPATCH(c.in(0).dtype, each_batch(c, [&](int64_t b) {
                        Mat a = load<T>(c.in(0), b), x = load<T>(c.in(1), b);
                        int64_t n = a.r;
                        for (int64_t j = 0; j < x.c; j++) {
                          if (upper) {
                            for (int64_t i = n - 1; i >= 0; i--) {
                              double s = x(i, j);
                              for (int64_t k = i + 1; k < n; k++) s -= a(i, k) * x(k, j);
                              x(i, j) = unit ? s : s / a(i, i);
                            }
                          } else {
                            for (int64_t i = 0; i < n; i++) {
                              double s = x(i, j);
                              for (int64_t k = 0; k < i; k++) s -= a(i, k) * x(k, j);
                              x(i, j) = unit ? s : s / a(i, i);
                            }
                          }
                        }
                        store<T>(c.out(), b, x);
                      }))
}

void check_qr(const Command& c) {
  expect_float_3d(c);
  int64_t m = c.in(0).shape[1], n = c.in(0).shape[2], k = std::min(m, n);
  expect_dims(c, c.out(0), m, k, "Q");
  expect_dims(c, c.out(1), k, n, "R");
}
void run_qr(const Command& c) {
  KILN_FLOAT_DISPATCH(
      c.in(0).dtype, each_batch(c, [&](int64_t b) {
        Mat r = load<T>(c.in(0), b);
        int64_t m = r.r, n = r.c, k = std::min(m, n);
        Mat q{m, m, std::vector<double>((size_t)(m * m), 0.0)};
        for (int64_t i = 0; i < m; i++) q(i, i) = 1;
        std::vector<double> v((size_t)m);
        for (int64_t j = 0; j < k; j++) {  // Householder reflection zeroing r[j+1:, j]
          double norm = 0;
          for (int64_t i = j; i < m; i++) norm += r(i, j) * r(i, j);
          norm = std::sqrt(norm);
          if (norm == 0) continue;
          double alpha = r(j, j) > 0 ? -norm : norm;
          for (int64_t i = 0; i < m; i++) v[(size_t)i] = i < j ? 0 : r(i, j);
          v[(size_t)j] -= alpha;
          double vv = 0;
          for (int64_t i = j; i < m; i++) vv += v[(size_t)i] * v[(size_t)i];
          if (vv == 0) continue;
          for (int64_t col = 0; col < n; col++) {
            double s = 0;
            for (int64_t i = j; i < m; i++) s += v[(size_t)i] * r(i, col);
            s = 2 * s / vv;
            for (int64_t i = j; i < m; i++) r(i, col) -= s * v[(size_t)i];
          }
          for (int64_t row = 0; row < m; row++) {  // Q = Q H
            double s = 0;
            for (int64_t i = j; i < m; i++) s += q(row, i) * v[(size_t)i];
            s = 2 * s / vv;
            for (int64_t i = j; i < m; i++) q(row, i) -= s * v[(size_t)i];
          }
        }
        // sign convention of LAPACK-based numpy is not unique; make R's diagonal non-negative
        for (int64_t j = 0; j < k; j++)
          if (r(j, j) < 0) {
            for (int64_t col = 0; col < n; col++) r(j, col) = -r(j, col);
            for (int64_t row = 0; row < m; row++) q(row, j) = -q(row, j);
          }
        Mat qk{m, k, std::vector<double>((size_t)(m * k))}, rk{k, n, std::vector<double>((size_t)(k * n))};
        for (int64_t i = 0; i < m; i++)
          for (int64_t j = 0; j < k; j++) qk(i, j) = q(i, j);
        for (int64_t i = 0; i < k; i++)
          for (int64_t j = 0; j < n; j++) rk(i, j) = i > j ? 0 : r(i, j);
        store<T>(c.out(0), b, qk);
        store<T>(c.out(1), b, rk);
      }))
}

void check_det(const Command& c) {
  expect_float_3d(c);
  expect_square(c, c.in(0));
  for (int i = 0; i < (int)c.ops.size() - 1; i++) expect_dims(c, c.out(i), 1, 1, "output");
}
template <typename T> static void det_impl(const Command& c, bool logdet) {
  each_batch(c, [&](int64_t b) {
    Mat a = load<T>(c.in(0), b);
    std::vector<int64_t> piv;
    int sign;
    bool ok = lu(a, piv, &sign);
    double s = sign, logabs = 0, d = sign;
    for (int64_t i = 0; i < a.r; i++) {
      double x = a(i, i);
      d *= x;
      if (x < 0) s = -s;
      logabs += std::log(std::fabs(x));
    }
    if (!ok) {
      s = 0;
      d = 0;
      logabs = -INFINITY;
    }
    if (logdet) {
      Mat ms{1, 1, {s}}, ml{1, 1, {logabs}};
      store<T>(c.out(0), b, ms);
      store<T>(c.out(1), b, ml);
    } else {
      Mat md{1, 1, {d}};
      store<T>(c.out(0), b, md);
    }
  });
}
void run_det(const Command& c) { KILN_FLOAT_DISPATCH(c.in(0).dtype, det_impl<T>(c, false)) }
void check_slogdet(const Command& c) { check_det(c); }
void run_slogdet(const Command& c) { KILN_FLOAT_DISPATCH(c.in(0).dtype, det_impl<T>(c, true)) }

}  // namespace kiln
