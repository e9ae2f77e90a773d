// scan: cumsum, cumprod, cummax, cummin, logcumsumexp along the last dim of one view, forward
// or reverse, inclusive or exclusive (the identity first). Rows run in parallel; a few long rows
// are split into chunks scanned in two passes (chunk totals, then each chunk from its carry):
// every op is associative, so only float rounding differs from one sequential pass.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <type_traits>
#include "kernels.h"
#include "accumulate.h"
#include "../../common/ops.h"
#include "../strided.h"
#include "../thread_pool.h"

namespace kiln {
namespace {

const char* scan_op_name(int op) {
#define KILN_NAME(n) #n,
  static const char* names[] = {KILN_SCAN_OPS(KILN_NAME)};
#undef KILN_NAME
  return (op >= 0 && op < (int)ScanOp::kCount) ? names[op] : "invalid";
}

template <typename O> using Acc = Wide<O>;  // accumulation type of output dtype O

// Each op: A (accumulator), init() (identity), load(T) -> A, step(a, x) folds x (a value or a
// partial result) into a, store(A) -> O.
template <typename T, typename O> struct SumOp {
  using A = typename Acc<O>::type;
  static A init() { return A(0); }
  static A load(T x) { return (A)to_compute(x); }
  static void step(A& a, A x) { a = wrap_add(a, x); }
  static O store(A a) { return store_as<O>(a); }
};
template <typename T, typename O> struct ProdOp {
  using A = typename Acc<O>::type;
  static A init() { return A(1); }
  static A load(T x) { return (A)to_compute(x); }
  static void step(A& a, A x) { a = wrap_mul(a, x); }
  static O store(A a) { return store_as<O>(a); }
};
// NaN propagates: once the running value is NaN no comparison replaces it.
template <typename T, bool kMax> struct ExtremeOp {
  using A = typename Compute<T>::type;
  static A init() {
    if constexpr (std::is_same_v<A, bool>) return !kMax;
    else if constexpr (std::is_floating_point_v<A>)
      return kMax ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::infinity();
    else return kMax ? std::numeric_limits<A>::lowest() : std::numeric_limits<A>::max();
  }
  static A load(T x) { return to_compute(x); }
  static void step(A& a, A x) {
    A m = (kMax ? x > a : x < a) ? x : a;
    a = is_nan(x) ? x : m;
  }
  static T store(A a) { return store_as<T>(a); }
};
// log(exp(a) + exp(x)) without overflow; -inf is the identity, NaN propagates.
template <typename T> struct LogAddExpOp {
  using A = typename Compute<T>::type;
  static A init() { return -std::numeric_limits<A>::infinity(); }
  static A load(T x) { return to_compute(x); }
  static void step(A& a, A x) {
    if (a != a || x != x) {
      a = a + x;
      return;
    }
    A mx = a > x ? a : x, mn = a > x ? x : a;
    if (mn == -std::numeric_limits<A>::infinity() || mx == std::numeric_limits<A>::infinity()) {
      a = mx;
      return;
    }
    a = mx + std::log1p(std::exp(mn - mx));
  }
  static T store(A a) { return store_as<T>(a); }
};

// Scans n elements (strides may be negative: reverse scans walk from the end) from carry a.
template <typename T, typename O, typename Op, bool kInclusive>
void scan_run(const T* p, int64_t is, O* q, int64_t os, int64_t n, typename Op::A a) {
  if (is == 1 && os == 1) {
    for (int64_t i = 0; i < n; i++) {
      if constexpr (kInclusive) {
        Op::step(a, Op::load(p[i]));
        q[i] = Op::store(a);
      } else {
        q[i] = Op::store(a);
        Op::step(a, Op::load(p[i]));
      }
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    if constexpr (kInclusive) {
      Op::step(a, Op::load(p[i * is]));
      q[i * os] = Op::store(a);
    } else {
      q[i * os] = Op::store(a);
      Op::step(a, Op::load(p[i * is]));
    }
  }
}

template <typename T, typename Op> typename Op::A fold_run(const T* p, int64_t is, int64_t n) {
  using A = typename Op::A;
  constexpr int W = 8;  // independent accumulators: the total needs no sequential chain
  A part[W];
  for (int j = 0; j < W; j++) part[j] = Op::init();
  int64_t i = 0;
  if (is == 1) {
    for (; i + W <= n; i += W)
      for (int j = 0; j < W; j++) Op::step(part[j], Op::load(p[i + j]));
  }
  A a = Op::init();
  for (int j = 0; j < W; j++) Op::step(a, part[j]);
  for (; i < n; i++) Op::step(a, Op::load(p[i * is]));
  return a;
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Columns: when some other dim is denser in memory than the scanned one (a scan along a leading
// axis), a tile of neighbouring rows advances together, so every step reads a contiguous run
// instead of striding through memory once per row. Returns false when the layout doesn't call
// for it.
template <typename T, typename O, typename Op, bool kInclusive>
bool scan_columns(const View& in, const View& out, const T* ib, O* ob, int64_t n, int64_t is, int64_t os,
                  bool reverse) {
  using A = typename Op::A;
  const int nd = in.ndim;
  int v = -1;
  for (int d = 0; d + 1 < nd; d++)
    if (in.shape[d] > 1 && (v < 0 || std::llabs(in.strides[d]) < std::llabs(in.strides[v]))) v = d;
  if (v < 0 || n < 2 || std::llabs(in.strides[v]) >= std::llabs(is)) return false;
  constexpr int64_t TW = 256;
  const int64_t W = in.shape[v], sv = in.strides[v], so = out.strides[v];
  const int64_t ntile = (W + TW - 1) / TW, groups = in.size / (n * W);
  // the other leading dims, for the offset of each group
  int od[kMaxDims], no = 0;
  for (int d = 0; d + 1 < nd; d++)
    if (d != v) od[no++] = d;
  auto group_offsets = [&](int64_t g, int64_t& pi, int64_t& po) {
    pi = in.offset;
    po = out.offset;
    for (int k = no - 1; k >= 0; k--) {
      const int d = od[k];
      int64_t i = g % in.shape[d];
      g /= in.shape[d];
      pi += i * in.strides[d];
      po += i * out.strides[d];
    }
  };
  parallel_for(groups * ntile, std::max<int64_t>(1, (1 << 15) / (n * TW)), [&](int64_t b, int64_t e) {
    A acc[TW];
    for (int64_t item = b; item < e; item++) {
      int64_t pi, po;
      group_offsets(item / ntile, pi, po);
      const int64_t j0 = (item % ntile) * TW, w = std::min(TW, W - j0);
      const T* p = ib + pi + j0 * sv;
      O* q = ob + po + j0 * so;
      if (reverse) {
        p -= (n - 1) * is;
        q -= (n - 1) * os;
      }
      for (int64_t j = 0; j < w; j++) acc[j] = Op::init();
      for (int64_t i = 0; i < n; i++, p += is, q += os) {
        if (sv == 1 && so == 1) {
          for (int64_t j = 0; j < w; j++) {
            if constexpr (kInclusive) {
              Op::step(acc[j], Op::load(p[j]));
              q[j] = Op::store(acc[j]);
            } else {
              q[j] = Op::store(acc[j]);
              Op::step(acc[j], Op::load(p[j]));
            }
          }
        } else {
          for (int64_t j = 0; j < w; j++) {
            if constexpr (kInclusive) {
              Op::step(acc[j], Op::load(p[j * sv]));
              q[j * so] = Op::store(acc[j]);
            } else {
              q[j * so] = Op::store(acc[j]);
              Op::step(acc[j], Op::load(p[j * sv]));
            }
          }
        }
      }
    }
  });
  return true;
}

template <typename T, typename O, typename Op, bool kInclusive>
void scan_typed(const View& in, const View& out, bool reverse) {
  using A = typename Op::A;
  const int64_t n = in.shape[in.ndim - 1];
  const int64_t rows = n == 0 ? 0 : in.size / n;
  if (rows == 0) return;
  const T* ib = reinterpret_cast<const T*>(in.buf->data);
  O* ob = reinterpret_cast<O*>(out.buf->data);
  // scan-order strides, and each row's first element in scan order (the last when reverse)
  const int64_t is = reverse ? -in.strides[in.ndim - 1] : in.strides[in.ndim - 1];
  const int64_t os = reverse ? -out.strides[out.ndim - 1] : out.strides[out.ndim - 1];
  auto starts = [&](int64_t r, const T*& p, O*& q) {
    p = ib + row_offset(in, r);
    q = ob + row_offset(out, r);
    if (reverse) {
      p -= (n - 1) * is;
      q -= (n - 1) * os;
    }
  };
  if (scan_columns<T, O, Op, kInclusive>(in, out, ib, ob, n, is, os, reverse)) return;
  const int nt = num_threads();
  const int64_t kChunk = 1 << 16;
  if (rows >= 2 * nt || n < 2 * kChunk || nt == 1) {
    parallel_for(rows, std::max<int64_t>(1, (1 << 15) / n), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; r++) {
        const T* p;
        O* q;
        starts(r, p, q);
        scan_run<T, O, Op, kInclusive>(p, is, q, os, n, Op::init());
      }
    });
    return;
  }
  // Few long rows: S chunks per row, totals first, then each chunk from its carry.
  int64_t S = std::min<int64_t>(ceil_div(2 * nt, rows), n / kChunk);
  const int64_t chunk = ceil_div(n, S);
  S = ceil_div(n, chunk);
  std::unique_ptr<A[]> tot(new A[rows * S]);
  parallel_for(rows * S, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; t++) {
      int64_t r = t / S, k = t % S;
      if (k == S - 1) continue;  // the last chunk's total carries nowhere
      const T* p;
      O* q;
      starts(r, p, q);
      tot[t] = fold_run<T, Op>(p + k * chunk * is, is, std::min(chunk, n - k * chunk));
    }
  });
  for (int64_t r = 0; r < rows; r++) {  // exclusive prefix of the chunk totals
    A a = Op::init();
    for (int64_t k = 0; k < S; k++) {
      A t = tot[r * S + k];
      tot[r * S + k] = a;
      if (k + 1 < S) Op::step(a, t);
    }
  }
  parallel_for(rows * S, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; t++) {
      int64_t r = t / S, k = t % S;
      const T* p;
      O* q;
      starts(r, p, q);
      scan_run<T, O, Op, kInclusive>(p + k * chunk * is, is, q + k * chunk * os, os, std::min(chunk, n - k * chunk),
                                     tot[t]);
    }
  });
}

template <typename T, typename O, typename Op> void scan_inc(const Command& c) {
  const bool reverse = c.iparam(1) != 0, inclusive = c.iparam(2) != 0;
  if (inclusive) scan_typed<T, O, Op, true>(c.in(0), c.out(), reverse);
  else scan_typed<T, O, Op, false>(c.in(0), c.out(), reverse);
}

// sum/prod may widen small integers (bool, int8, int16 -> int32; uint8, uint16 -> uint32).
template <typename T, template <typename, typename> class Op> void scan_widening(const Command& c) {
  const int od = c.out().dtype;
  if (od == c.in(0).dtype) scan_inc<T, T, Op<T, T>>(c);
  else if (od == kInt32) scan_inc<T, int32_t, Op<T, int32_t>>(c);
  else if (od == kUint32) scan_inc<T, uint32_t, Op<T, uint32_t>>(c);
}

template <typename T> void scan_dispatch(const Command& c) {
  switch ((ScanOp)c.iparam(0)) {
    case ScanOp::cumsum: scan_widening<T, SumOp>(c); break;
    case ScanOp::cumprod: scan_widening<T, ProdOp>(c); break;
    case ScanOp::cummax: scan_inc<T, T, ExtremeOp<T, true>>(c); break;
    case ScanOp::cummin: scan_inc<T, T, ExtremeOp<T, false>>(c); break;
    case ScanOp::logcumsumexp:
      if constexpr (std::is_same_v<T, half_t> || std::is_same_v<T, bf16_t> || std::is_floating_point_v<T>)
        scan_inc<T, T, LogAddExpOp<T>>(c);
      break;
    default: break;
  }
}

}  // namespace

void check_scan(const Command& c) {
  const View& in = c.in(0);
  const View& out = c.out();
  double opd = c.params[0];
  if (!(opd == std::floor(opd)) || opd < 0 || opd >= (double)ScanOp::kCount)
    fail("[scan] invalid op code ", opd, " (expected an integer in [0, ", (int)ScanOp::kCount - 1, "])");
  const ScanOp op = (ScanOp)(int)opd;
  const char* name = scan_op_name((int)op);
  for (int i = 1; i <= 2; i++)
    if (c.params[i] != 0 && c.params[i] != 1)
      fail("[scan] ", name, ": ", i == 1 ? "reverse" : "inclusive", " must be 0 or 1, got ", c.params[i]);
  if (in.ndim < 1) fail("[scan] ", name, ": the input must have at least one dim (got a 0-d view)");
  expect_same_shape(c, in, out, "input and output");
  const int id = in.dtype, od = out.dtype;
  switch (op) {
    case ScanOp::cumsum:
    case ScanOp::cumprod: {
      bool ok = (od == id && id != kBool) || (od == kInt32 && (id == kBool || id == kInt8 || id == kInt16)) ||
                (od == kUint32 && (id == kUint8 || id == kUint16));
      if (!ok)
        fail("[scan] ", name, ": cannot accumulate ", dtype_name(id), " into ", dtype_name(od),
             " (the output dtype must be the input's, or int32/uint32 for small integers)");
      break;
    }
    case ScanOp::cummax:
    case ScanOp::cummin:
      if (od != id)
        fail("[scan] ", name, ": output dtype must equal the input dtype ", dtype_name(id), ", got ", dtype_name(od));
      break;
    case ScanOp::logcumsumexp:
      if (!is_float(id)) fail("[scan] logcumsumexp needs a floating-point input, got ", dtype_name(id));
      if (od != id)
        fail("[scan] ", name, ": output dtype must equal the input dtype ", dtype_name(id), ", got ", dtype_name(od));
      break;
    default: break;
  }
}

void run_scan(const Command& c) {
#define KILN_SCAN(T) scan_dispatch<T>(c)
  KILN_DISPATCH_ALL(c.in(0).dtype, KILN_SCAN)
#undef KILN_SCAN
}

}  // namespace kiln
