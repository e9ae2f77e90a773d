// rms_norm and layer_norm over the last axis of any strided view [..., D].
//   rms_norm   inputs x [, weight [D]]          params eps
//   layer_norm inputs x [, weight [D]] [, bias [D]]   params eps, has_weight, has_bias
// Rows accumulate in float (double when the output is float64). The normalised value is rounded
// to the output dtype before the weight multiplies it and again before the bias is added, the
// roundings of MLX's kernels and of the composed form in ops/fast/, so both agree.
#include <algorithm>
#include <cmath>
#include "kernels.h"
#include "fast_rows.h"
#include "../thread_pool.h"

namespace kiln {
namespace {

using fastk::Scratch;

void check_row_operands(const Command& c, int n_affine) {
  const View& x = c.in(0);
  const View& out = c.out();
  const char* name = kernel_name(c);
  if (x.ndim < 1) fail("[", name, "] x must have at least one dimension: ", x.describe());
  expect_same_shape(c, x, out, "x and output");
  for (int i = 0; i < c.n_inputs; i++)
    if (!fastk::is_float_dtype(c.in(i).dtype))
      fail("[", name, "] operand ", i, " must be a floating dtype, got ", dtype_name(c.in(i).dtype));
  if (!fastk::is_float_dtype(out.dtype))
    fail("[", name, "] output must be a floating dtype, got ", dtype_name(out.dtype));
  const int64_t D = x.shape[x.ndim - 1];
  for (int i = 1; i <= n_affine; i++) {
    const View& w = c.in(i);
    if (w.ndim != 1 || w.shape[0] != D)
      fail("[", name, "] operand ", i, " (weight or bias) must have shape [", D, "], got ", w.describe());
  }
}

inline bool flag(const Command& c, size_t i) {
  double v = c.params[i];
  if (v != 0 && v != 1) fail("[", kernel_name(c), "] parameter ", i, " must be 0 or 1, got ", v);
  return v == 1;
}

void check_eps(const Command& c) {
  double eps = c.params[0];
  if (!std::isfinite(eps) || eps < 0) fail("[", kernel_name(c), "] eps must be a finite number >= 0, got ", eps);
}

// Rows of x (and out) processed in parallel; fn(row, x_offset, out_offset) with element offsets.
template <typename Fn> void for_rows(const View& x, const View& out, Fn&& fn) {
  const int64_t D = x.shape[x.ndim - 1];
  if (x.size == 0) return;
  const int64_t rows = x.size / D;
  parallel_for(rows, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    Scratch s;
    for (int64_t r = b; r < e; r++) fn(s, fastk::row_offset(x, r), fastk::row_offset(out, r));
  });
}

// An affine operand (weight or bias) as a compute-type row, converted once.
template <typename F> std::unique_ptr<F[]> load_affine(const View& v) {
  const int64_t D = v.shape[0];
  std::unique_ptr<F[]> w(new F[std::max<int64_t>(D, 1)]);
  fastk::load_row<F>(w.get(), fastk::element_ptr(v, v.offset), v.dtype, v.strides[0], D);
  return w;
}

template <typename F> void rms_norm_typed(const Command& c, bool has_weight) {
  const View &x = c.in(0), &out = c.out();
  const int64_t D = x.shape[x.ndim - 1], xs = x.strides[x.ndim - 1], os = out.strides[out.ndim - 1];
  const F eps = (F)c.params[0];
  const int od = out.dtype;
  std::unique_ptr<F[]> w;
  if (has_weight) w = load_affine<F>(c.in(1));
  for_rows(x, out, [&](Scratch& s, int64_t xo, int64_t oo) {
    F* row = s.get<F>(D);
    fastk::load_row<F>(row, fastk::element_ptr(x, xo), x.dtype, xs, D);
    const F r = F(1) / std::sqrt(fastk::sum_row<F>(row, D, true) / (F)D + eps);
    for (int64_t i = 0; i < D; i++) row[i] *= r;
    if (w) {
      fastk::round_row<F>(od, row, D);
      for (int64_t i = 0; i < D; i++) row[i] *= w[i];
    }
    fastk::store_row<F>(fastk::element_ptr(out, oo), od, os, row, D);
  });
}

template <typename F> void layer_norm_typed(const Command& c, bool has_weight, bool has_bias) {
  const View &x = c.in(0), &out = c.out();
  const int64_t D = x.shape[x.ndim - 1], xs = x.strides[x.ndim - 1], os = out.strides[out.ndim - 1];
  const F eps = (F)c.params[0];
  const int od = out.dtype;
  std::unique_ptr<F[]> w, b;
  if (has_weight) w = load_affine<F>(c.in(1));
  if (has_bias) b = load_affine<F>(c.in(has_weight ? 2 : 1));
  for_rows(x, out, [&](Scratch& s, int64_t xo, int64_t oo) {
    F* row = s.get<F>(D);
    fastk::load_row<F>(row, fastk::element_ptr(x, xo), x.dtype, xs, D);
    const F mean = fastk::sum_row<F>(row, D, false) / (F)D;
    for (int64_t i = 0; i < D; i++) row[i] -= mean;  // two passes: no cancellation in the variance
    const F r = F(1) / std::sqrt(fastk::sum_row<F>(row, D, true) / (F)D + eps);
    for (int64_t i = 0; i < D; i++) row[i] *= r;
    if (w) {
      fastk::round_row<F>(od, row, D);
      for (int64_t i = 0; i < D; i++) row[i] *= w[i];
    }
    if (b) {
      fastk::round_row<F>(od, row, D);
      for (int64_t i = 0; i < D; i++) row[i] += b[i];
    }
    fastk::store_row<F>(fastk::element_ptr(out, oo), od, os, row, D);
  });
}

}  // namespace

void check_rms_norm(const Command& c) {
  if (c.n_inputs != 1 && c.n_inputs != 2)
    fail("[rms_norm] expects x and an optional weight, got ", c.n_inputs, " inputs");
  check_eps(c);
  check_row_operands(c, c.n_inputs - 1);
}

void run_rms_norm(const Command& c) {
  if (c.out().dtype == kFloat64) rms_norm_typed<double>(c, c.n_inputs == 2);
  else rms_norm_typed<float>(c, c.n_inputs == 2);
}

void check_layer_norm(const Command& c) {
  if (c.params.size() != 3) fail("[layer_norm] expects parameters eps, has_weight, has_bias");
  check_eps(c);
  const int want = 1 + flag(c, 1) + flag(c, 2);
  if (c.n_inputs != want)
    fail("[layer_norm] has_weight=", c.params[1], " and has_bias=", c.params[2], " need ", want, " inputs, got ",
         c.n_inputs);
  check_row_operands(c, want - 1);
}

void run_layer_norm(const Command& c) {
  const bool w = c.params[1] == 1, b = c.params[2] == 1;
  if (c.out().dtype == kFloat64) layer_norm_typed<double>(c, w, b);
  else layer_norm_typed<float>(c, w, b);
}

}  // namespace kiln
