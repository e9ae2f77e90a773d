// reduce: sum, prod, max, min, all, any, argmax, argmin over the trailing r dims of one view.
// Two strategies: "rows" reduces runs along the innermost reduced dim one output at a time;
// "columns" keeps a tile of outputs along the most contiguous kept dim and updates it while it
// streams the input, so reducing a leading axis never strides through memory per output.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include "kernels.h"
#include "accumulate.h"
#include "../../common/ops.h"
#include "reduce_ops.h"
#include "../simd.h"
#include "../thread_pool.h"

namespace kiln {
namespace {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Contiguous inner loops get an AVX2 copy (the bodies are inlined into target functions).
#define KILN_INLINE inline __attribute__((always_inline))
// KILN_AVX2 and the level in use come from simd.h (empty / false without SIMD).
inline bool has_avx2() { return use_avx2(); }

const char* reduce_op_name(int op) {
#define KILN_NAME(n) #n,
  static const char* names[] = {KILN_REDUCE_OPS(KILN_NAME)};
#undef KILN_NAME
  return (op >= 0 && op < (int)ReduceOp::kCount) ? names[op] : "invalid";
}

// ---- operations: load (storage -> value), init, step (fold one value at flat index i),
// merge (fold a later partial result), finish (accumulator -> output element). Identities and
// combining rules are red::Rule (reduce_ops.h), shared with fused programs.

template <typename T> struct SumOp {
  using V = typename Wide<T>::type;
  using A = V;
  using Out = T;
  static constexpr bool kPairwise = std::is_floating_point_v<A>;
  static constexpr bool kArg = false;
  static constexpr ReduceOp kOp = ReduceOp::sum;
  using R = red::Rule<kOp, A>;
  static V load(T x) { return (V)to_compute(x); }
  static A init() { return R::identity(); }
  static void step(A& a, V x, int64_t) { R::step(a, x); }
  static void merge(A& a, const A& b) { R::step(a, b); }
  static Out finish(const A& a) { return store_as<T>(a); }
};

// Float products accumulate in double (red::prod_run, as fused programs do).
template <typename T> struct ProdOp {
  using V = typename Wide<T>::type;
  using A = std::conditional_t<std::is_floating_point_v<V>, double, V>;
  using Out = T;
  static constexpr bool kPairwise = false;
  static constexpr bool kArg = false;
  static constexpr ReduceOp kOp = ReduceOp::prod;
  using R = red::Rule<kOp, A>;
  static V load(T x) { return (V)to_compute(x); }
  static A init() { return R::identity(); }
  static void step(A& a, V x, int64_t) { R::step(a, (A)x); }
  static void merge(A& a, const A& b) { R::step(a, b); }
  static Out finish(const A& a) { return store_as<T>(a); }
};

// NaN propagates: once the accumulator is NaN no comparison replaces it.
template <typename T, bool kMax> struct ExtremeOp {
  using V = typename Compute<T>::type;
  using A = V;
  using Out = T;
  static constexpr bool kPairwise = false;
  static constexpr bool kArg = false;
  static constexpr ReduceOp kOp = kMax ? ReduceOp::max : ReduceOp::min;
  using R = red::Rule<kOp, A>;
  static V load(T x) { return to_compute(x); }
  static A init() { return R::identity(); }
  static void step(A& a, V x, int64_t) { R::step(a, x); }
  static void merge(A& a, const A& b) { R::step(a, b); }
  static Out finish(const A& a) { return store_as<T>(a); }
};

template <typename T, bool kAll> struct LogicOp {
  using V = bool;
  using A = bool;
  using Out = bool;
  static constexpr bool kPairwise = false;
  static constexpr bool kArg = false;
  static constexpr ReduceOp kOp = kAll ? ReduceOp::all : ReduceOp::any;
  using R = red::Rule<kOp, A>;
  static V load(T x) { return to_compute(x) != 0; }  // NaN != 0: true
  static A init() { return R::identity(); }
  static void step(A& a, V x, int64_t) { R::step(a, x); }
  static void merge(A& a, const A& b) { R::step(a, b); }
  static Out finish(const A& a) { return a; }
};

template <typename V> struct ArgAcc {
  V v;
  int64_t i;
};

// First occurrence of the extreme in flat order; the first NaN wins (numpy).
template <typename T, bool kMax> struct ArgOp {
  using V = typename Compute<T>::type;
  using A = ArgAcc<V>;
  using Out = int32_t;
  static constexpr bool kPairwise = false;
  static constexpr bool kArg = true;
  static constexpr bool kIsMax = kMax;
  static constexpr ReduceOp kOp = kMax ? ReduceOp::argmax : ReduceOp::argmin;
  static V load(T x) { return to_compute(x); }
  static bool better(V x, V best) {
    if (is_nan(best)) return false;
    if (is_nan(x)) return true;
    return kMax ? x > best : x < best;
  }
  static A init() { return {V(), -1}; }
  static void step(A& a, V x, int64_t i) {
    if (a.i < 0 || better(x, a.v)) a = {x, i};
  }
  static void merge(A& a, const A& b) {
    if (b.i >= 0 && (a.i < 0 || better(b.v, a.v))) a = b;
  }
  static Out finish(const A& a) { return (int32_t)a.i; }
};

// ---- layout

// Multi-index counter over nd dims that tracks two element offsets.
struct Walker {
  int nd;
  const int64_t* shape;
  const int64_t* s0;
  const int64_t* s1;
  int64_t idx[kMaxDims];
  int64_t off0 = 0, off1 = 0;
  Walker(int n, const int64_t* sh, const int64_t* a, const int64_t* b) : nd(n), shape(sh), s0(a), s1(b) {}
  void seek(int64_t flat) {
    off0 = off1 = 0;
    for (int d = nd - 1; d >= 0; d--) {
      idx[d] = flat % shape[d];
      flat /= shape[d];
      off0 += idx[d] * s0[d];
      off1 += idx[d] * s1[d];
    }
  }
  void next() {
    for (int d = nd - 1; d >= 0; d--) {
      off0 += s0[d];
      off1 += s1[d];
      if (++idx[d] < shape[d]) return;
      off0 -= s0[d] * shape[d];
      off1 -= s1[d] * shape[d];
      idx[d] = 0;
    }
  }
};

struct Plan {
  int nk = 0, nr = 0;  // kept dims (input and output strides), reduced dims (input strides)
  int64_t kshape[kMaxDims], kin[kMaxDims], kout[kMaxDims];
  int64_t rshape[kMaxDims], rstr[kMaxDims];
  int64_t n_out = 1, R = 1;
};

// Drops size-1 dims and merges contiguous neighbours. Reduced dims keep their row-major order
// for the arg ops (the flat index is the result); the others are sorted by decreasing stride.
Plan make_plan(const View& in, const View& out, int r, bool keep_order) {
  Plan p;
  int k = in.ndim - r;
  for (int d = 0; d < k; d++) {
    int64_t n = in.shape[d];
    p.n_out *= n;
    if (n == 1) continue;
    int j = p.nk - 1;
    if (j >= 0 && p.kin[j] == in.strides[d] * n && p.kout[j] == out.strides[d] * n) {
      p.kshape[j] *= n;
      p.kin[j] = in.strides[d];
      p.kout[j] = out.strides[d];
    } else {
      p.kshape[p.nk] = n;
      p.kin[p.nk] = in.strides[d];
      p.kout[p.nk] = out.strides[d];
      p.nk++;
    }
  }
  int order[kMaxDims], m = 0;
  for (int d = k; d < in.ndim; d++) {
    p.R *= in.shape[d];
    if (in.shape[d] != 1) order[m++] = d;
  }
  if (!keep_order)
    std::stable_sort(order, order + m,
                     [&](int a, int b) { return std::llabs(in.strides[a]) > std::llabs(in.strides[b]); });
  for (int i = 0; i < m; i++) {
    int d = order[i];
    int64_t n = in.shape[d];
    int j = p.nr - 1;
    if (j >= 0 && p.rstr[j] == in.strides[d] * n) {
      p.rshape[j] *= n;
      p.rstr[j] = in.strides[d];
    } else {
      p.rshape[p.nr] = n;
      p.rstr[p.nr] = in.strides[d];
      p.nr++;
    }
  }
  if (p.nr == 0) {  // reduction of single elements
    p.rshape[0] = 1;
    p.rstr[0] = 0;
    p.nr = 1;
  }
  return p;
}

// ---- rows: one output at a time

// Contiguous runs of sum/prod/max/min over plain arithmetic types fold with red::fold_vec
// (reduce_ops.h: explicit vectors, the auto-vectoriser gives up on NaN-propagating max).
template <typename T, typename Op>
constexpr bool kVectorisable = red::kVecOp<Op::kOp, typename Op::A>&& std::is_same_v<typename Op::V, typename Op::A> &&
                               sizeof(T) == sizeof(typename Op::A) && std::is_arithmetic_v<T>;
using red::VecOf;

// Pairwise sum of a run: error grows like log(n), as numpy's.
template <typename T, typename Op> typename Op::A pairwise(const T* q, int64_t n, int64_t s) {
  if (n > 1024) {
    int64_t h = (n / 2) & ~int64_t(31);
    return pairwise<T, Op>(q, h, s) + pairwise<T, Op>(q + h * s, n - h, s);
  }
  return (typename Op::A)red::sum_leaf<Op, T>(q, n, s);  // shared with fused programs
}

// Folds a run into acc with interleaved accumulators (order-insensitive ops only).
template <typename T, typename Op> KILN_INLINE void fold_multi(const T* q, int64_t n, int64_t s, typename Op::A& acc) {
  using A = typename Op::A;
  constexpr int W = 16;
  A part[W];
  for (int j = 0; j < W; j++) part[j] = Op::init();
  int64_t i = 0;
  if (s == 1) {
    for (; i + W <= n; i += W)
      for (int j = 0; j < W; j++) Op::step(part[j], Op::load(q[i + j]), 0);
  } else {
    for (; i + W <= n; i += W)
      for (int j = 0; j < W; j++) Op::step(part[j], Op::load(q[(i + j) * s]), 0);
  }
  for (int j = 0; j < W; j++) Op::merge(acc, part[j]);
  for (; i < n; i++) Op::step(acc, Op::load(q[i * s]), 0);
}
template <typename T, typename Op> KILN_AVX2 void fold_multi_avx2(const T* q, int64_t n, typename Op::A& acc) {
  fold_multi<T, Op>(q, n, 1, acc);
}

// Index of the first element equal to m (of the first NaN when m is NaN); m occurs in the run.
template <typename T, typename Op> int64_t find_first(const T* q, int64_t n, int64_t s, typename Op::V m) {
  int64_t i = 0;
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    if (s == 1) {  // blocks of 32 with a branch-free test, then the exact position
      constexpr int B = 32;
      const bool nan = is_nan(m);
      for (; i + B <= n; i += B) {
        int hit = 0;
        if (nan)
          for (int l = 0; l < B; l++) hit |= q[i + l] != q[i + l];
        else
          for (int l = 0; l < B; l++) hit |= q[i + l] == m;
        if (hit) break;
      }
    }
  }
  if (is_nan(m)) {
    while (!is_nan(Op::load(q[i * s]))) i++;
  } else {
    while (!(Op::load(q[i * s]) == m)) i++;
  }
  return i;
}

template <typename T, typename Op> void fold_run(const T* q, int64_t n, int64_t s, int64_t idx0, typename Op::A& acc) {
  if constexpr (Op::kArg) {
    if (n >= 32) {  // the extreme with a vectorised pass, then the first index that holds it
      using E = ExtremeOp<T, Op::kIsMax>;
      typename E::A m = E::init();
      fold_run<T, E>(q, n, s, 0, m);
      Op::step(acc, m, idx0 + find_first<T, Op>(q, n, s, m));
      return;
    }
  } else {
    if constexpr (Op::kOp == ReduceOp::prod && std::is_same_v<typename Op::A, double>) {
      return red::prod_run<Op>(q, n, s, acc);  // shared with fused programs
    }
    if constexpr (kVectorisable<T, Op>) {
      if (s == 1 && n >= 16) return red::fold_run_vec<Op::kOp>(q, n, acc);
    }
    if (n >= 64) {
      if (s == 1 && has_avx2()) fold_multi_avx2<T, Op>(q, n, acc);
      else fold_multi<T, Op>(q, n, s, acc);
      return;
    }
  }
  for (int64_t i = 0; i < n; i++) Op::step(acc, Op::load(q[i * s]), idx0 + i);
}

// Binary-counter cascade of partial sums: O(log n) error growth across many runs.
template <typename A> struct Cascade {
  A lv[64];
  uint64_t n = 0;
  void push(A v) {
    uint64_t c = n++;
    int k = 0;
    for (; c & 1; c >>= 1, k++) v = lv[k] + v;
    lv[k] = v;
  }
  A total() const {
    A t = 0;
    for (int k = 0; k < 64; k++)
      if ((n >> k) & 1) t = lv[k] + t;
    return t;
  }
};

// Reduces the flat range [b, e) of the reduced dims of the input starting at p.
template <typename T, typename Op> typename Op::A reduce_range(const T* p, const Plan& P, int64_t b, int64_t e) {
  using A = typename Op::A;
  const int nr = P.nr;
  const int64_t L = P.rshape[nr - 1], s = P.rstr[nr - 1];
  if (nr == 1) {  // a single run
    if constexpr (Op::kPairwise) return pairwise<T, Op>(p + b * s, e - b, s);
    A acc = Op::init();
    fold_run<T, Op>(p + b * s, e - b, s, b, acc);
    return acc;
  }
  Walker w(nr - 1, P.rshape, P.rstr, P.rstr);
  w.seek(b / L);
  int64_t j = b % L, pos = b;
  A acc = Op::init();
  Cascade<A> cas;
  while (pos < e) {
    int64_t n = std::min(L - j, e - pos);
    const T* q = p + w.off0 + j * s;
    if constexpr (Op::kPairwise) cas.push(pairwise<T, Op>(q, n, s));
    else fold_run<T, Op>(q, n, s, pos, acc);
    pos += n;
    j = 0;
    w.next();
  }
  if constexpr (Op::kPairwise) return cas.total();
  else return acc;
}

template <typename T, typename Op> void reduce_rows(const View& in, const View& out, const Plan& P) {
  using A = typename Op::A;
  using Out = typename Op::Out;
  const T* src = in.ptr<T>();
  Out* dst = out.ptr<Out>();
  const int64_t R = P.R, n_out = P.n_out;
  const int nt = num_threads();
  if (n_out >= 2 * nt || R < (1 << 15) || nt == 1) {
    parallel_for(n_out, std::max<int64_t>(1, (1 << 15) / R), [&](int64_t b, int64_t e) {
      Walker w(P.nk, P.kshape, P.kin, P.kout);
      w.seek(b);
      for (int64_t o = b; o < e; o++, w.next()) dst[w.off1] = Op::finish(reduce_range<T, Op>(src + w.off0, P, 0, R));
    });
    return;
  }
  // Few long reductions: split each into S chunks and merge the partials in order.
  int64_t S = std::min<int64_t>(ceil_div(4 * nt, n_out), R >> 14);
  const int64_t chunk = ceil_div(R, S);
  S = ceil_div(R, chunk);
  std::unique_ptr<A[]> part(new A[n_out * S]);
  parallel_for(n_out * S, 1, [&](int64_t b, int64_t e) {
    Walker w(P.nk, P.kshape, P.kin, P.kout);
    for (int64_t t = b; t < e; t++) {
      int64_t o = t / S, c = t % S;
      w.seek(o);
      part[t] = reduce_range<T, Op>(src + w.off0, P, c * chunk, std::min(R, (c + 1) * chunk));
    }
  });
  Walker w(P.nk, P.kshape, P.kin, P.kout);
  w.seek(0);
  for (int64_t o = 0; o < n_out; o++, w.next()) {
    A a = part[o * S];
    for (int64_t c = 1; c < S; c++) Op::merge(a, part[o * S + c]);
    dst[w.off1] = Op::finish(a);
  }
}

// ---- columns: a tile of outputs along the most contiguous kept dim

constexpr int64_t kTile = 16384;  // whole rows up to this width stream contiguously

// Grow-only per-thread scratch for tile accumulators (too large for the stack).
template <typename A> A* tile_scratch(int64_t n) {
  static thread_local std::unique_ptr<A[]> mem;
  static thread_local int64_t size = 0;
  if (n > size) {
    mem.reset(new A[n]);
    size = n;
  }
  return mem.get();
}

template <typename T, typename Op>
KILN_INLINE void fold_row_body(const T* q, int64_t w, int64_t sv, int64_t r, typename Op::A* acc) {
  if constexpr (kVectorisable<T, Op>) {
    if (sv == 1) {
      using A = typename Op::A;
      using VT = typename VecOf<A>::type;
      constexpr int L = 32 / sizeof(A);
      int64_t j = 0;
      for (; j + L <= w; j += L) {
        VT a, x;
        std::memcpy(&a, acc + j, sizeof(VT));
        std::memcpy(&x, q + j, sizeof(VT));
        red::vstep<Op::kOp>(a, x);
        std::memcpy(acc + j, &a, sizeof(VT));
      }
      for (; j < w; j++) Op::step(acc[j], Op::load(q[j]), r);
      return;
    }
  }
  if (sv == 1) {
    for (int64_t j = 0; j < w; j++) Op::step(acc[j], Op::load(q[j]), r);
  } else {
    for (int64_t j = 0; j < w; j++) Op::step(acc[j], Op::load(q[j * sv]), r);
  }
}
template <typename T, typename Op> KILN_AVX2 void fold_row_avx2(const T* q, int64_t w, int64_t r, typename Op::A* acc) {
  fold_row_body<T, Op>(q, w, 1, r, acc);
}
template <typename T, typename Op>
inline void fold_row(const T* q, int64_t w, int64_t sv, int64_t r, typename Op::A* acc) {
  if (sv == 1 && has_avx2() && w >= 16) fold_row_avx2<T, Op>(q, w, r, acc);
  else fold_row_body<T, Op>(q, w, sv, r, acc);
}

// Four consecutive rows into a contiguous tile: one pass over acc instead of four (pays off
// once acc no longer fits L1).
template <typename T, typename Op>
KILN_INLINE void fold_rows4_body(const T* q0, const T* q1, const T* q2, const T* q3, int64_t w, typename Op::A* acc) {
  using A = typename Op::A;
  const T* q[4] = {q0, q1, q2, q3};
  using VT = typename VecOf<A>::type;
  constexpr int L = 32 / sizeof(A);
  int64_t j = 0;
  for (; j + L <= w; j += L) {
    VT a, x;
    std::memcpy(&a, acc + j, sizeof(VT));
    for (int u = 0; u < 4; u++) {
      std::memcpy(&x, q[u] + j, sizeof(VT));
      red::vstep<Op::kOp>(a, x);
    }
    std::memcpy(acc + j, &a, sizeof(VT));
  }
  for (; j < w; j++)
    for (int u = 0; u < 4; u++) Op::step(acc[j], Op::load(q[u][j]), 0);
}
template <typename T, typename Op>
KILN_AVX2 void fold_rows4_avx2(const T* q0, const T* q1, const T* q2, const T* q3, int64_t w, typename Op::A* acc) {
  fold_rows4_body<T, Op>(q0, q1, q2, q3, w, acc);
}

// Folds rows [r, end) (the walker is at row r) into acc; returns with the walker at `end`.
template <typename T, typename Op>
inline void fold_rows(const T* base, int64_t w, int64_t sv, int64_t r, int64_t end, Walker& wr, typename Op::A* acc) {
  if constexpr (kVectorisable<T, Op>) {
    if (sv == 1 && w * (int64_t)sizeof(typename Op::A) > 16384) {
      const T* q[4];
      for (; r + 4 <= end; r += 4) {
        for (int u = 0; u < 4; u++, wr.next()) q[u] = base + wr.off0;
        if (has_avx2()) fold_rows4_avx2<T, Op>(q[0], q[1], q[2], q[3], w, acc);
        else fold_rows4_body<T, Op>(q[0], q[1], q[2], q[3], w, acc);
      }
    }
  }
  for (; r < end; r++, wr.next()) fold_row<T, Op>(base + wr.off0, w, sv, r, acc);
}

// acc[j] = reduction over reduced flat range [rb, re) of the tile element j (at base + j*sv).
template <typename T, typename Op>
void fold_tile(const T* base, int64_t w, int64_t sv, const Plan& P, int64_t rb, int64_t re, typename Op::A* acc,
               typename Op::A* l0, typename Op::A* l1) {
  for (int64_t j = 0; j < w; j++) acc[j] = Op::init();
  if (rb >= re) return;
  Walker wr(P.nr, P.rshape, P.rstr, P.rstr);
  wr.seek(rb);
  if constexpr (Op::kPairwise) {
    // Three levels of blocking (128 rows, 128 blocks): error grows like numpy's pairwise sum.
    for (int64_t j = 0; j < w; j++) l1[j] = 0;
    int64_t r = rb, blocks = 0;
    while (r < re) {
      int64_t end = std::min(re, r + 128);
      for (int64_t j = 0; j < w; j++) l0[j] = 0;
      fold_rows<T, Op>(base, w, sv, r, end, wr, l0);
      r = end;
      for (int64_t j = 0; j < w; j++) l1[j] += l0[j];
      if (++blocks % 128 == 0)
        for (int64_t j = 0; j < w; j++) {
          acc[j] += l1[j];
          l1[j] = 0;
        }
    }
    for (int64_t j = 0; j < w; j++) acc[j] += l1[j];
  } else {
    fold_rows<T, Op>(base, w, sv, rb, re, wr, acc);
  }
}

template <typename T, typename Op> void reduce_cols(const View& in, const View& out, const Plan& P) {
  using A = typename Op::A;
  using Out = typename Op::Out;
  const T* src = in.ptr<T>();
  Out* dst = out.ptr<Out>();
  int v = 0;
  for (int d = 1; d < P.nk; d++)
    if (std::llabs(P.kin[d]) < std::llabs(P.kin[v])) v = d;
  const int64_t Vn = P.kshape[v], sv = P.kin[v], so = P.kout[v], R = P.R;
  int64_t oshape[kMaxDims], oin[kMaxDims], oout[kMaxDims];
  int no = 0;
  for (int d = 0; d < P.nk; d++)
    if (d != v) {
      oshape[no] = P.kshape[d];
      oin[no] = P.kin[d];
      oout[no] = P.kout[d];
      no++;
    }
  const int64_t ntile = ceil_div(Vn, kTile), items = (P.n_out / Vn) * ntile;
  const int64_t tw = std::min(kTile, (ceil_div(Vn, ntile) + 15) & ~int64_t(15));  // balanced tiles
  const int nt = num_threads();
  int64_t S = 1;
  if (nt > 1 && items < 2 * nt && P.n_out * R >= (1 << 16))
    S = std::max<int64_t>(1, std::min<int64_t>(ceil_div(4 * nt, items), R / 64));
  const int64_t chunk = ceil_div(R, S);
  S = ceil_div(R, chunk);
  std::unique_ptr<A[]> part(S > 1 ? new A[items * S * tw] : nullptr);
  const int64_t per_task = std::min(Vn, tw) * chunk;
  parallel_for(items * S, std::max<int64_t>(1, (1 << 15) / per_task), [&](int64_t b, int64_t e) {
    A* acc = tile_scratch<A>(3 * tw);
    Walker wo(no, oshape, oin, oout);
    for (int64_t t = b; t < e; t++) {
      int64_t item = t / S, c = t % S, tile = item % ntile;
      wo.seek(item / ntile);
      int64_t j0 = tile * tw, w = std::min(tw, Vn - j0);
      fold_tile<T, Op>(src + wo.off0 + j0 * sv, w, sv, P, c * chunk, std::min(R, (c + 1) * chunk), acc, acc + tw,
                       acc + 2 * tw);
      if (S == 1) {
        Out* d = dst + wo.off1 + j0 * so;
        for (int64_t j = 0; j < w; j++) d[j * so] = Op::finish(acc[j]);
      } else {
        std::copy(acc, acc + w, part.get() + t * tw);
      }
    }
  });
  if (S == 1) return;
  parallel_for(items * tw, 4096, [&](int64_t b, int64_t e) {  // merge the partials in order
    Walker wo(no, oshape, oin, oout);
    int64_t seen = -1;
    for (int64_t x = b; x < e; x++) {
      const int64_t item = x / tw, j = x % tw, j0 = (item % ntile) * tw;
      if (j0 + j >= Vn) continue;
      if (item != seen) wo.seek(item / ntile), seen = item;
      const A* p0 = part.get() + item * S * tw + j;
      A a = p0[0];
      for (int64_t c = 1; c < S; c++) Op::merge(a, p0[c * tw]);
      dst[wo.off1 + (j0 + j) * so] = Op::finish(a);
    }
  });
}

template <typename T, typename Op> void reduce_typed(const Command& c) {
  using Out = typename Op::Out;
  const View& in = c.in(0);
  const View& out = c.out();
  Plan P = make_plan(in, out, (int)c.iparam(1), Op::kArg);
  if (P.n_out == 0) return;
  if (P.R == 0) {  // empty reductions: the identity (check rejects ops without one)
    Out* dst = out.ptr<Out>();
    Out v = Op::finish(Op::init());
    Walker w(P.nk, P.kshape, P.kin, P.kout);
    w.seek(0);
    for (int64_t o = 0; o < P.n_out; o++, w.next()) dst[w.off1] = v;
    return;
  }
  // Columns when some kept dim is more contiguous than the innermost reduced dim.
  bool cols = false;
  if (P.nk > 0) {
    int64_t kmin = (int64_t)std::llabs(P.kin[0]);
    for (int d = 1; d < P.nk; d++) kmin = std::min<int64_t>(kmin, std::llabs(P.kin[d]));
    int64_t rin = P.R == 1 ? std::numeric_limits<int64_t>::max() : (int64_t)std::llabs(P.rstr[P.nr - 1]);
    cols = kmin < rin;
  }
  if (cols) reduce_cols<T, Op>(in, out, P);
  else reduce_rows<T, Op>(in, out, P);
}

template <typename T> void reduce_dispatch(const Command& c) {
  switch ((ReduceOp)c.iparam(0)) {
    case ReduceOp::sum:
      if constexpr (!std::is_same_v<T, bool>) reduce_typed<T, SumOp<T>>(c);
      break;
    case ReduceOp::prod:
      if constexpr (!std::is_same_v<T, bool>) reduce_typed<T, ProdOp<T>>(c);
      break;
    case ReduceOp::max: reduce_typed<T, ExtremeOp<T, true>>(c); break;
    case ReduceOp::min: reduce_typed<T, ExtremeOp<T, false>>(c); break;
    case ReduceOp::all: reduce_typed<T, LogicOp<T, true>>(c); break;
    case ReduceOp::any: reduce_typed<T, LogicOp<T, false>>(c); break;
    case ReduceOp::argmax: reduce_typed<T, ArgOp<T, true>>(c); break;
    case ReduceOp::argmin: reduce_typed<T, ArgOp<T, false>>(c); break;
    default: break;
  }
}

}  // namespace

void check_reduce(const Command& c) {
  const View& in = c.in(0);
  const View& out = c.out();
  double opd = c.params[0], rd = c.params[1];
  if (!(opd == std::floor(opd)) || opd < 0 || opd >= (double)ReduceOp::kCount)
    fail("[reduce] invalid op code ", opd, " (expected an integer in [0, ", (int)ReduceOp::kCount - 1, "])");
  const int op = (int)opd;
  const char* name = reduce_op_name(op);
  if (!(rd == std::floor(rd)) || rd < 0 || rd > in.ndim)
    fail("[reduce] ", name, ": invalid number of reduced dims ", rd, " for an input of ndim ", in.ndim);
  const int r = (int)rd, k = in.ndim - r;
  bool same = out.ndim == k;
  for (int d = 0; same && d < k; d++) same = out.shape[d] == in.shape[d];
  if (!same)
    fail("[reduce] ", name, ": output shape must be the input shape without its last ", r, " dims (input ",
         in.describe(), ", output ", out.describe(), ")");
  const ReduceOp o = (ReduceOp)op;
  switch (o) {
    case ReduceOp::sum:
    case ReduceOp::prod:
      if (in.dtype == kBool) fail("[reduce] ", name, " of a bool input is not supported (cast it first)");
      [[fallthrough]];
    case ReduceOp::max:
    case ReduceOp::min:
      if (out.dtype != in.dtype)
        fail("[reduce] ", name, ": output dtype must equal the input dtype ", dtype_name(in.dtype), ", got ",
             dtype_name(out.dtype));
      break;
    case ReduceOp::all:
    case ReduceOp::any:
      if (out.dtype != kBool) fail("[reduce] ", name, ": output dtype must be bool, got ", dtype_name(out.dtype));
      break;
    case ReduceOp::argmax:
    case ReduceOp::argmin:
      if (out.dtype != kInt32) fail("[reduce] ", name, ": output dtype must be int32, got ", dtype_name(out.dtype));
      break;
    default: break;
  }
  int64_t R = 1;
  for (int d = k; d < in.ndim; d++) R *= in.shape[d];
  const bool needs_element = o == ReduceOp::max || o == ReduceOp::min || o == ReduceOp::argmax || o == ReduceOp::argmin;
  if (needs_element && R == 0 && out.size > 0) fail("[reduce] ", name, " of an empty axis has no identity");
  if ((o == ReduceOp::argmax || o == ReduceOp::argmin) && R > std::numeric_limits<int32_t>::max())
    fail("[reduce] ", name, " over ", R, " elements: the index does not fit int32");
}

void run_reduce(const Command& c) {
#define KILN_REDUCE(T) reduce_dispatch<T>(c)
  KILN_DISPATCH_ALL(c.in(0).dtype, KILN_REDUCE)
#undef KILN_REDUCE
}

}  // namespace kiln
