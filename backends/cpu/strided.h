// Iteration over N same-shaped strided views: dimensions that are contiguous for every operand
// are merged, and the innermost dimension becomes a tight loop with per-operand strides.
#pragma once
#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstdint>
#include "../common/command.h"
#include "thread_pool.h"

namespace kiln {

template <int N> struct Loop {
  int ndim = 0;  // after collapsing; the last dim is the inner loop
  int64_t shape[kMaxDims];
  int64_t strides[N][kMaxDims];
  int64_t base[N];  // element offsets of each view's first element
  int64_t inner() const { return ndim ? shape[ndim - 1] : 1; }
  int64_t rows() const {
    int64_t r = 1;
    for (int i = 0; i + 1 < ndim; i++) r *= shape[i];
    return r;
  }
  // element offsets of row `row` (a flat index over all dims but the last)
  void row_offsets(int64_t row, int64_t* off) const {
    for (int k = 0; k < N; k++) off[k] = base[k];
    for (int d = ndim - 2; d >= 0; d--) {
      int64_t i = row % shape[d];
      row /= shape[d];
      for (int k = 0; k < N; k++) off[k] += i * strides[k][d];
    }
  }
};

// Element offset of row `r` of a view (a flat index over all dims but the last, row-major).
inline int64_t row_offset(const View& v, int64_t r) {
  int64_t off = v.offset;
  for (int d = v.ndim - 2; d >= 0; d--) {
    int64_t i = r % v.shape[d];
    r /= v.shape[d];
    off += i * v.strides[d];
  }
  return off;
}

// Copies of same-shaped views (the output last) with their dims put in memory order, as numpy
// iterates: dims where the output steps backwards are flipped, then dims are sorted by
// decreasing |stride| of the output (ties by the inputs'), so make_loop can merge them and the
// inner loop is the densest one. Elementwise results don't depend on the visiting order, and
// views that alias exactly stay exactly aliased.
template <int N> std::array<View, N> memory_order(const std::array<const View*, N>& in) {
  std::array<View, N> v;
  for (int k = 0; k < N; k++) v[k] = *in[k];
  int nd = v[0].ndim;
  for (int d = 0; d < nd; d++) {
    if (v[N - 1].strides[d] >= 0 || v[0].shape[d] <= 1) continue;
    for (int k = 0; k < N; k++) {
      v[k].offset += (v[k].shape[d] - 1) * v[k].strides[d];
      v[k].strides[d] = -v[k].strides[d];
    }
  }
  int perm[kMaxDims];
  for (int d = 0; d < nd; d++) perm[d] = d;
  auto before = [&](int x, int y) {  // should dim x be outside dim y?
    for (int k = N - 1; k >= 0; k--) {
      int64_t sx = std::abs(v[k].strides[x]), sy = std::abs(v[k].strides[y]);
      if (sx != sy) return sx > sy;
    }
    return false;
  };
  std::stable_sort(perm, perm + nd, before);
  for (int k = 0; k < N; k++) {
    View t = v[k];
    for (int d = 0; d < nd; d++) {
      v[k].shape[d] = t.shape[perm[d]];
      v[k].strides[d] = t.strides[perm[d]];
    }
  }
  return v;
}

// views must all have the shape of views[0].
template <int N> Loop<N> make_loop(const std::array<const View*, N>& views) {
  Loop<N> L;
  const View& v0 = *views[0];
  for (int k = 0; k < N; k++) L.base[k] = views[k]->offset;
  for (int d = 0; d < v0.ndim; d++) {
    if (v0.shape[d] == 1) continue;
    bool merge = L.ndim > 0;
    for (int k = 0; k < N && merge; k++) merge = L.strides[k][L.ndim - 1] == views[k]->strides[d] * v0.shape[d];
    if (merge) {
      L.shape[L.ndim - 1] *= v0.shape[d];
      for (int k = 0; k < N; k++) L.strides[k][L.ndim - 1] = views[k]->strides[d];
    } else {
      L.shape[L.ndim] = v0.shape[d];
      for (int k = 0; k < N; k++) L.strides[k][L.ndim] = views[k]->strides[d];
      L.ndim++;
    }
  }
  if (L.ndim == 0) {  // scalar (or all size-1 dims)
    L.ndim = 1;
    L.shape[0] = 1;
    for (int k = 0; k < N; k++) L.strides[k][0] = 1;
  }
  return L;
}

// Runs fn(ptr offsets[N] (elements), inner length, inner strides[N]) for every row in parallel.
// Work per task is at least ~32K elements.
template <int N, typename F> void for_each_row(const Loop<N>& L, F&& fn) {
  int64_t rows = L.rows(), inner = L.inner();
  if (rows * inner == 0) return;
  int64_t istr[N];
  for (int k = 0; k < N; k++) istr[k] = L.strides[k][L.ndim - 1];
  if (rows == 1) {
    // split a long single row across threads
    int64_t grain = 1 << 15;
    parallel_for(inner, grain, [&](int64_t b, int64_t e) {
      int64_t off[N];
      for (int k = 0; k < N; k++) off[k] = L.base[k] + b * istr[k];
      fn(off, e - b, istr);
    });
    return;
  }
  int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(inner, 1));
  parallel_for(rows, grain, [&](int64_t b, int64_t e) {
    int64_t off[N];
    for (int64_t r = b; r < e; r++) {
      L.row_offsets(r, off);
      fn(off, inner, istr);
    }
  });
}

}  // namespace kiln
