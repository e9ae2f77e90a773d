// Symmetric eigendecomposition and SVD on batches of small matrices, by Jacobi rotations in
// double per matrix (accurate to a few ulps of the largest eigen/singular value; no LAPACK):
//   eigh(A) -> w [b,1,n] ascending, V [b,n,n] (columns)   params: upper (read A's upper triangle)
//   svd(A)  -> U [b,m,m|k], S [b,1,k] descending, Vt [b,n|k,n]   params: full (complete U and Vt)
// Each eigen/singular vector is signed so that its largest-magnitude component is positive
// (LAPACK's signs are arbitrary; a fixed rule keeps results reproducible).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>
#include "kernels.h"
#include "../strided.h"

namespace kiln {
namespace {

struct M {  // column-major scratch: col(j) is contiguous (Jacobi rotates columns)
  int64_t r, c;
  std::vector<double> v;
  M(int64_t r_, int64_t c_) : r(r_), c(c_), v((size_t)(r_ * c_), 0.0) {}
  double& operator()(int64_t i, int64_t j) { return v[(size_t)(j * r + i)]; }
  double* col(int64_t j) { return &v[(size_t)(j * r)]; }
};

template <typename T> double at(const View& x, int64_t b, int64_t i, int64_t j) {
  return (double)reinterpret_cast<const T*>(
      x.buf->data)[x.offset + b * x.strides[0] + i * x.strides[1] + j * x.strides[2]];
}
template <typename T> void put(const View& x, int64_t b, int64_t i, int64_t j, double v) {
  reinterpret_cast<T*>(x.buf->data)[x.offset + b * x.strides[0] + i * x.strides[1] + j * x.strides[2]] = (T)v;
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
void expect_dims(const Command& c, const View& v, int64_t r, int64_t cols, const char* what) {
  if (v.shape[1] != r || v.shape[2] != cols)
    fail("[", kernel_name(c), "] ", what, " must be ", r, "x", cols, ", got ", v.shape[1], "x", v.shape[2]);
}

void fix_sign(double* v, int64_t n) {
  int64_t p = 0;
  for (int64_t i = 1; i < n; i++)
    if (std::fabs(v[i]) > std::fabs(v[p])) p = i;
  if (n > 0 && v[p] < 0)
    for (int64_t i = 0; i < n; i++) v[i] = -v[i];
}

// Cyclic Jacobi on a symmetric matrix a (overwritten; the diagonal ends as the eigenvalues),
// accumulating the rotations into the columns of v.
void jacobi_eigen(M& a, M& v) {
  int64_t n = a.r;
  for (int64_t i = 0; i < n; i++) v(i, i) = 1;
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0, total = 0;
    for (int64_t j = 0; j < n; j++)
      for (int64_t i = 0; i < n; i++) {
        total += a(i, j) * a(i, j);
        if (i != j) off += a(i, j) * a(i, j);
      }
    if (off <= 1e-300 || off <= total * 1e-32) break;
    for (int64_t p = 0; p < n - 1; p++)
      for (int64_t q = p + 1; q < n; q++) {
        double apq = a(p, q);
        if (apq == 0) continue;
        double theta = (a(q, q) - a(p, p)) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        double cs = 1 / std::sqrt(t * t + 1), sn = t * cs;
        for (int64_t k = 0; k < n; k++) {  // columns p, q
          double akp = a(k, p), akq = a(k, q);
          a(k, p) = cs * akp - sn * akq;
          a(k, q) = sn * akp + cs * akq;
        }
        for (int64_t k = 0; k < n; k++) {  // rows p, q
          double apk = a(p, k), aqk = a(q, k);
          a(p, k) = cs * apk - sn * aqk;
          a(q, k) = sn * apk + cs * aqk;
        }
        a(p, q) = a(q, p) = 0;
        double* vp = v.col(p);
        double* vq = v.col(q);
        for (int64_t k = 0; k < n; k++) {
          double x = vp[k], y = vq[k];
          vp[k] = cs * x - sn * y;
          vq[k] = sn * x + cs * y;
        }
      }
  }
}

// Extends the orthonormal columns 0..k-1 of u (r rows) to columns k..cols-1 by Gram-Schmidt over
// the unit vectors (twice, for orthogonality to rounding).
void complete_basis(M& u, int64_t k, int64_t cols) {
  int64_t r = u.r, have = k;
  for (int64_t e = 0; e < r && have < cols; e++) {
    std::vector<double> w((size_t)r, 0.0);
    w[(size_t)e] = 1;
    for (int pass = 0; pass < 2; pass++)
      for (int64_t j = 0; j < have; j++) {
        double d = 0;
        for (int64_t i = 0; i < r; i++) d += u(i, j) * w[(size_t)i];
        for (int64_t i = 0; i < r; i++) w[(size_t)i] -= d * u(i, j);
      }
    double nrm = 0;
    for (double x : w) nrm += x * x;
    nrm = std::sqrt(nrm);
    if (nrm < 1e-6) continue;
    for (int64_t i = 0; i < r; i++) u(i, have) = w[(size_t)i] / nrm;
    have++;
  }
}

template <typename F> void each_batch(const Command& c, F&& f) {
  int64_t nb = c.ops[0].shape[0];
  parallel_for(nb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) f(b);
  });
}

template <typename T> void eigh_impl(const Command& c) {
  bool upper = c.params[0] != 0;
  const View& x = c.in(0);
  int64_t n = x.shape[1];
  each_batch(c, [&](int64_t b) {
    M a(n, n), v(n, n);
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j <= i; j++) a(i, j) = a(j, i) = upper ? at<T>(x, b, j, i) : at<T>(x, b, i, j);
    for (double e : a.v)
      if (!std::isfinite(e)) fail("[eigh] matrix ", b, " has a non-finite entry");
    jacobi_eigen(a, v);
    std::vector<int64_t> order((size_t)n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return a(p, p) < a(q, q); });
    for (int64_t j = 0; j < n; j++) {
      int64_t s = order[(size_t)j];
      fix_sign(v.col(s), n);
      put<T>(c.out(0), b, 0, j, a(s, s));
      for (int64_t i = 0; i < n; i++) put<T>(c.out(1), b, i, j, v(i, s));
    }
  });
}

// One-sided (Hestenes) Jacobi on the columns of a tall matrix w (r x k, r >= k): on return the
// columns are orthogonal, w = U S, and v accumulates the rotations (A = U S Vᵀ).
void jacobi_svd(M& w, M& v) {
  int64_t r = w.r, k = w.c;
  for (int64_t i = 0; i < k; i++) v(i, i) = 1;
  for (int sweep = 0; sweep < 100; sweep++) {
    bool rotated = false;
    for (int64_t p = 0; p < k - 1; p++)
      for (int64_t q = p + 1; q < k; q++) {
        double* wp = w.col(p);
        double* wq = w.col(q);
        double al = 0, be = 0, ga = 0;
        for (int64_t i = 0; i < r; i++) {
          al += wp[i] * wp[i];
          be += wq[i] * wq[i];
          ga += wp[i] * wq[i];
        }
        if (ga == 0 || std::fabs(ga) <= 1e-15 * std::sqrt(al * be)) continue;
        rotated = true;
        double zeta = (be - al) / (2 * ga);
        double t = (zeta >= 0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::sqrt(1 + zeta * zeta));
        double cs = 1 / std::sqrt(1 + t * t), sn = cs * t;
        for (int64_t i = 0; i < r; i++) {
          double x = wp[i], y = wq[i];
          wp[i] = cs * x - sn * y;
          wq[i] = sn * x + cs * y;
        }
        double* vp = v.col(p);
        double* vq = v.col(q);
        for (int64_t i = 0; i < k; i++) {
          double x = vp[i], y = vq[i];
          vp[i] = cs * x - sn * y;
          vq[i] = sn * x + cs * y;
        }
      }
    if (!rotated) break;
  }
}

template <typename T> void svd_impl(const Command& c) {
  const View& x = c.in(0);
  int64_t m = x.shape[1], n = x.shape[2], k = std::min(m, n);
  bool full = c.params[0] != 0;
  bool tall = m >= n;
  int64_t r = tall ? m : n;  // work on A (tall) or Aᵀ (wide): r x k
  each_batch(c, [&](int64_t b) {
    M w(r, k), v(k, k);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double e = at<T>(x, b, i, j);
        if (!std::isfinite(e)) fail("[svd] matrix ", b, " has a non-finite entry");
        if (tall) w(i, j) = e;
        else w(j, i) = e;
      }
    jacobi_svd(w, v);
    std::vector<double> s((size_t)k);
    for (int64_t j = 0; j < k; j++) {
      double nrm = 0;
      for (int64_t i = 0; i < r; i++) nrm += w(i, j) * w(i, j);
      s[(size_t)j] = std::sqrt(nrm);
    }
    std::vector<int64_t> order((size_t)k);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return s[(size_t)p] > s[(size_t)q]; });
    double smax = k ? s[(size_t)order[0]] : 0;
    // left vectors (of the r-row side) for the nonzero values, completed where a value is ~0
    M lu(r, full ? r : k), rv(k, k);
    int64_t good = 0;
    std::vector<double> sv((size_t)k);
    for (int64_t j = 0; j < k; j++) {
      int64_t p = order[(size_t)j];
      sv[(size_t)j] = s[(size_t)p];
      for (int64_t i = 0; i < k; i++) rv(i, j) = v(i, p);
      if (s[(size_t)p] > smax * 1e-14 && s[(size_t)p] > 0) {
        for (int64_t i = 0; i < r; i++) lu(i, j) = w(i, p) / s[(size_t)p];
        good = j + 1;
      }
    }
    complete_basis(lu, good, lu.c);
    // sign rule on the right vectors (the k-row side); the left ones follow (u_j = A v_j / s_j)
    for (int64_t j = 0; j < lu.c; j++) {
      double* col = j < k ? rv.col(j) : lu.col(j);
      int64_t len = j < k ? k : r;
      int64_t p = 0;
      for (int64_t i = 1; i < len; i++)
        if (std::fabs(col[i]) > std::fabs(col[p])) p = i;
      if (len > 0 && col[p] < 0) {
        for (int64_t i = 0; i < len; i++) col[i] = -col[i];
        if (j < k)
          for (int64_t i = 0; i < r; i++) lu(i, j) = -lu(i, j);
      }
    }
    // tall: U = lu (m x ·), V = rv (n x k). wide: U = rv (m x k), V = lu (n x ·)
    M& um = tall ? lu : rv;
    M& vm = tall ? rv : lu;
    const View& U = c.out(0);
    const View& S = c.out(1);
    const View& Vt = c.out(2);
    for (int64_t j = 0; j < k; j++) put<T>(S, b, 0, j, sv[(size_t)j]);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < U.shape[2]; j++) put<T>(U, b, i, j, um(i, j));
    for (int64_t i = 0; i < Vt.shape[1]; i++)
      for (int64_t j = 0; j < n; j++) put<T>(Vt, b, i, j, vm(j, i));
  });
}

}  // namespace

void check_eigh(const Command& c) {
  expect_float_3d(c);
  int64_t n = c.in(0).shape[1];
  if (c.in(0).shape[2] != n) fail("[eigh] expects square matrices, got ", n, "x", c.in(0).shape[2]);
  expect_dims(c, c.out(0), 1, n, "eigenvalues");
  expect_dims(c, c.out(1), n, n, "eigenvectors");
}
void run_eigh(const Command& c) {
  if (c.in(0).dtype == kFloat32) eigh_impl<float>(c);
  else eigh_impl<double>(c);
}

void check_svd(const Command& c) {
  expect_float_3d(c);
  int64_t m = c.in(0).shape[1], n = c.in(0).shape[2], k = std::min(m, n);
  bool full = c.params[0] != 0;
  expect_dims(c, c.out(0), m, full ? m : k, "U");
  expect_dims(c, c.out(1), 1, k, "S");
  expect_dims(c, c.out(2), full ? n : k, n, "Vt");
}
void run_svd(const Command& c) {
  if (c.in(0).dtype == kFloat32) svd_impl<float>(c);
  else svd_impl<double>(c);
}

}  // namespace kiln
