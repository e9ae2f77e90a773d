// rope: rotary position embedding of x [..., L, D] (any strided view) into out of the same shape.
//   inputs x [, freqs [dims/2]]   params dims, traditional, base, scale, offset, has_freqs
// Row l (axis -2) rotates its feature pairs i < dims/2 by theta = (offset + l) * scale * inv[i],
// inv[i] = base^(-2i/dims) or 1/freqs[i]; pairs are (x[i], x[i + dims/2]), or (x[2i], x[2i+1])
// when traditional; features from dims on are copied. The cos/sin table [L, dims/2] is computed
// once in double (long positions stay accurate in float32), the rotation in float (double for
// float64).
#include <algorithm>
#include <cmath>
#include <vector>
#include "kernels.h"
#include "fast_rows.h"
#include "../thread_pool.h"

namespace kiln {
namespace {

constexpr double kMaxExact = 9007199254740992.0;  // 2^53

struct RopeParams {
  int64_t dims;
  bool traditional, has_freqs;
  double base, scale, offset;
};

RopeParams rope_params(const Command& c) {
  RopeParams p;
  const double dims = c.params[0];
  p.traditional = c.params[1] == 1;
  p.base = c.params[2];
  p.scale = c.params[3];
  p.offset = c.params[4];
  p.has_freqs = c.params[5] == 1;
  p.dims = (int64_t)dims;
  return p;
}

template <typename F> void rope_typed(const Command& c, const RopeParams& p) {
  const View &x = c.in(0), &out = c.out();
  const int nd = x.ndim;
  const int64_t L = x.shape[nd - 2], D = x.shape[nd - 1], half = p.dims / 2;
  if (x.size == 0) return;
  // inverse frequencies, then the table of cos/sin per (position, pair)
  std::vector<double> inv(half);
  if (p.has_freqs) {
    const View& f = c.in(1);
    fastk::load_row<double>(inv.data(), fastk::element_ptr(f, f.offset), f.dtype, f.strides[0], half);
    for (auto& v : inv) v = 1.0 / v;
  } else {
    const double k = -std::log(p.base) / (double)half;
    for (int64_t i = 0; i < half; i++) inv[i] = std::exp((double)i * k);
  }
  std::vector<F> cs(L * half), sn(L * half);
  parallel_for(L, std::max<int64_t>(1, 4096 / std::max<int64_t>(half, 1)), [&](int64_t b, int64_t e) {
    for (int64_t l = b; l < e; l++) {
      const double pos = (p.offset + (double)l) * p.scale;
      for (int64_t i = 0; i < half; i++) {
        const double t = pos * inv[i];
        cs[l * half + i] = (F)std::cos(t);
        sn[l * half + i] = (F)std::sin(t);
      }
    }
  });
  const int64_t rows = x.size / D, xs = x.strides[nd - 1], os = out.strides[nd - 1];
  const int64_t step = p.traditional ? 2 : 1, gap = p.traditional ? 1 : half;  // pair i: (i*step, i*step + gap)
  parallel_for(rows, std::max<int64_t>(1, (1 << 14) / D), [&](int64_t b, int64_t e) {
    fastk::Scratch s;
    F* row = s.get<F>(D);
    for (int64_t r = b; r < e; r++) {
      const int64_t l = r % L;
      const F* cr = cs.data() + l * half;
      const F* sr = sn.data() + l * half;
      fastk::load_row<F>(row, fastk::element_ptr(x, fastk::row_offset(x, r)), x.dtype, xs, D);
      for (int64_t i = 0; i < half; i++) {
        F& a = row[i * step];
        F& bb = row[i * step + gap];
        const F x1 = a, x2 = bb;
        a = x1 * cr[i] - x2 * sr[i];
        bb = x1 * sr[i] + x2 * cr[i];
      }
      fastk::store_row<F>(fastk::element_ptr(out, fastk::row_offset(out, r)), out.dtype, os, row, D);
    }
  });
}

}  // namespace

void check_rope(const Command& c) {
  const View &x = c.in(0), &out = c.out();
  if (x.ndim < 2) fail("[rope] x must have shape [..., L, D], got ", x.describe());
  expect_same_shape(c, x, out, "x and output");
  if (!fastk::is_float_dtype(x.dtype) || !fastk::is_float_dtype(out.dtype))
    fail("[rope] x and output must be floating dtypes, got ", dtype_name(x.dtype), " and ", dtype_name(out.dtype));
  const double dims = c.params[0];
  const int64_t D = x.shape[x.ndim - 1];
  if (!(dims == std::floor(dims)) || dims < 2 || dims > (double)D || std::fmod(dims, 2.0) != 0)
    fail("[rope] dims must be an even integer in [2, ", D, "], got ", dims);
  for (int i : {1, 5})
    if (c.params[i] != 0 && c.params[i] != 1) fail("[rope] parameter ", i, " must be 0 or 1, got ", c.params[i]);
  const RopeParams p = rope_params(c);
  if (c.n_inputs != 1 + (int)p.has_freqs)
    fail("[rope] has_freqs=", c.params[5], " needs ", 1 + (int)p.has_freqs, " inputs, got ", c.n_inputs);
  if (!p.has_freqs && !(std::isfinite(p.base) && p.base > 0))
    fail("[rope] base must be a finite positive number, got ", p.base);
  if (!std::isfinite(p.scale)) fail("[rope] scale must be finite, got ", p.scale);
  if (!(p.offset == std::floor(p.offset)) || std::fabs(p.offset) > kMaxExact)
    fail("[rope] offset must be an integer, got ", p.offset);
  if (p.has_freqs) {
    const View& f = c.in(1);
    if (f.ndim != 1 || f.shape[0] != p.dims / 2)
      fail("[rope] freqs must have shape [", p.dims / 2, "], got ", f.describe());
    if (!fastk::is_float_dtype(f.dtype)) fail("[rope] freqs must be a floating dtype, got ", dtype_name(f.dtype));
  }
}

void run_rope(const Command& c) {
  const RopeParams p = rope_params(c);
  if (c.out().dtype == kFloat64) rope_typed<double>(c, p);
  else rope_typed<float>(c, p);
}

}  // namespace kiln
