// sort: sort, argsort, partition, argpartition, topk along the last dim of one view, and
// searchsorted of values in a sorted 1-d view. Elements become unsigned keys whose integer order
// is numpy's order (NaN last, float16/bfloat16 ordered as floats), so one LSD radix sort (long
// rows) or std::sort (short rows) serves every dtype. Rows run in parallel in per-thread scratch.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>
#include "kernels.h"
#include "../../common/ops.h"
#include "../strided.h"
#include "../thread_pool.h"

namespace kiln {
namespace {

const char* sort_op_name(int op) {
#define KILN_NAME(n) #n,
  static const char* names[] = {KILN_SORT_OPS(KILN_NAME)};
#undef KILN_NAME
  return (op >= 0 && op < (int)SortOp::kCount) ? names[op] : "invalid";
}

// ---- keys: key() is an order-preserving bijection on non-NaN values (-0 sorts before +0, which
// is a valid ascending order); canon() makes -0 equal +0 and every NaN equal and greatest, for
// stable indices and searches; decode() inverts key().

template <typename U, U kExpMask> struct FloatBits {
  using K = U;
  static constexpr U kSign = U(1) << (sizeof(U) * 8 - 1);
  static bool nan(U b) { return (U)(b & ~kSign) > kExpMask; }
  static K key(U b) { return (b & kSign) ? (U)~b : (U)(b | kSign); }
  static U decode(K k) { return (k & kSign) ? (U)(k & ~kSign) : (U)~k; }
  static K canon(U b) {
    if (nan(b)) return std::numeric_limits<U>::max();
    if (b == kSign) b = 0;
    return key(b);
  }
};

template <typename T, typename = void> struct Keys;

template <typename T> struct Keys<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  using K = std::make_unsigned_t<T>;
  static constexpr K kFlip = std::is_signed_v<T> ? K(K(1) << (sizeof(T) * 8 - 1)) : K(0);
  static bool nan(T) { return false; }
  static K key(T v) { return (K)((K)v ^ kFlip); }
  static K canon(T v) { return key(v); }
  static T decode(K k) { return (T)(K)(k ^ kFlip); }
};

template <> struct Keys<bool> {
  using K = uint8_t;
  static bool nan(bool) { return false; }
  static K key(bool v) { return v ? 1 : 0; }
  static K canon(bool v) { return key(v); }
  static bool decode(K k) { return k != 0; }
};

template <typename T, typename U, U kExp> struct FloatKeys {
  using B = FloatBits<U, kExp>;
  using K = U;
  static U bits(T v) {
    U b;
    std::memcpy(&b, &v, sizeof(U));
    return b;
  }
  static bool nan(T v) { return B::nan(bits(v)); }
  static K key(T v) { return B::key(bits(v)); }
  static K canon(T v) { return B::canon(bits(v)); }
  static T decode(K k) {
    U b = B::decode(k);
    T v;
    std::memcpy(&v, &b, sizeof(U));
    return v;
  }
};
template <> struct Keys<half_t> : FloatKeys<half_t, uint16_t, 0x7c00> {};
template <> struct Keys<bf16_t> : FloatKeys<bf16_t, uint16_t, 0x7f80> {};
template <> struct Keys<float> : FloatKeys<float, uint32_t, 0x7f800000u> {};
template <> struct Keys<double> : FloatKeys<double, uint64_t, 0x7ff0000000000000ull> {};

// ---- radix sort

// LSD radix sort of a[0, n) by the nbytes low bytes of key(e) (stable); t is scratch of n
// elements. Returns the array that holds the result (a or t). Passes whose byte is the same for
// every element are skipped.
template <typename E, typename KeyFn> E* radix_sort(E* a, E* t, int64_t n, int nbytes, KeyFn key) {
  constexpr int kMax = 8;
  int64_t h[kMax][256];
  std::memset(h, 0, sizeof(int64_t) * 256 * nbytes);
  for (int64_t i = 0; i < n; i++) {
    uint64_t k = key(a[i]);
    for (int d = 0; d < nbytes; d++) h[d][(k >> (8 * d)) & 255]++;
  }
  E* src = a;
  E* dst = t;
  for (int d = 0; d < nbytes; d++) {
    int64_t* hd = h[d];
    bool trivial = false;
    for (int b = 0; b < 256; b++)
      if (hd[b] == n) trivial = true;
    if (trivial) continue;
    int64_t off = 0;
    for (int b = 0; b < 256; b++) {
      int64_t c = hd[b];
      hd[b] = off;
      off += c;
    }
    const int sh = 8 * d;
    for (int64_t i = 0; i < n; i++) {
      E e = src[i];
      dst[hd[(key(e) >> sh) & 255]++] = e;
    }
    std::swap(src, dst);
  }
  return src;
}

constexpr int64_t kSmallRow = 256;  // comparison sort below this

// Puts the element of rank kth at a[kth], smaller-or-equal ones before it and greater-or-equal
// ones after (nth_element's contract). Long ranges are first narrowed by radix digits, most
// significant first: a histogram finds the digit of rank kth and one scatter through
// t moves the smaller / equal / greater digits apart; only the equal block is searched further.
template <typename E, typename KeyFn, typename Less>
void radix_select(E* a, E* t, int64_t n, int64_t kth, int nbytes, KeyFn key, Less less) {
  int64_t lo = 0, hi = n;
  for (int d = nbytes - 1; d >= 0 && hi - lo > kSmallRow; d--) {
    const int sh = 8 * d;
    int64_t h[256] = {0};
    for (int64_t i = lo; i < hi; i++) h[(key(a[i]) >> sh) & 255]++;
    int64_t below = 0, b = 0;
    while (below + h[b] <= kth - lo) below += h[b++];
    if (h[b] == hi - lo) continue;  // every element has this digit
    int64_t pl = lo, pe = lo + below, pg = lo + below + h[b];
    const uint64_t db = (uint64_t)b;
    for (int64_t i = lo; i < hi; i++) {
      E e = a[i];
      uint64_t x = (key(e) >> sh) & 255;
      int64_t* p = x < db ? &pl : x == db ? &pe : &pg;
      t[(*p)++] = e;
    }
    std::memcpy(a + lo, t + lo, sizeof(E) * (hi - lo));
    hi = lo + below + h[b];
    lo = lo + below;
  }
  std::nth_element(a + lo, a + kth, a + hi, less);
}

// Scratch memory (64-byte aligned): up to 16 MiB comes from a grow-only per-thread block reused
// across rows and commands; larger requests are allocated for the row and freed after it.
struct Freer {
  void operator()(char* p) const { ::operator delete[](p, std::align_val_t(64)); }
};
using Block = std::unique_ptr<char, Freer>;
inline Block new_block(size_t bytes) {
  return Block(static_cast<char*>(::operator new[](bytes, std::align_val_t(64))));
}
struct Scratch {
  Block own;
  char* p;
  explicit Scratch(size_t bytes) {
    static thread_local Block mem;
    static thread_local size_t size = 0;
    if (bytes > (size_t(16) << 20)) {
      own = new_block(bytes);
      p = own.get();
      return;
    }
    if (bytes > size) {
      mem = new_block(bytes);
      size = bytes;
    }
    p = mem.get();
  }
};
inline size_t align64(size_t b) { return (b + 63) & ~size_t(63); }

// Index keys: the canonical key with the element's index, ordered by (key, index) so std::sort
// and nth_element are stable and deterministic. Keys up to 32 bits pack into one uint64.
template <typename K, bool kPacked = (sizeof(K) <= 4)> struct IdxKey;
template <typename K> struct IdxKey<K, true> {
  using E = uint64_t;
  static E make(K k, uint32_t i) { return ((uint64_t)k << 32) | i; }
  static uint32_t index(E e) { return (uint32_t)e; }
  static K key(E e) { return (K)(e >> 32); }
  static bool less(E a, E b) { return a < b; }
};
struct Pair64 {
  uint64_t k;
  uint32_t i;
};
template <typename K> struct IdxKey<K, false> {
  using E = Pair64;
  static E make(K k, uint32_t i) { return {(uint64_t)k, i}; }
  static uint32_t index(const E& e) { return e.i; }
  static K key(const E& e) { return (K)e.k; }
  static bool less(const E& a, const E& b) { return a.k < b.k || (a.k == b.k && a.i < b.i); }
};

// Long rows (sort, argsort) when there are fewer rows than threads: the same LSD radix sort with
// every pass split over P chunks (per-chunk histograms and offsets keep it stable). Bytes that
// are equal in every key are skipped without a histogram.
constexpr int64_t kLongRow = 1 << 16;

template <typename E, typename KeyFn> E* par_radix_sort(E* a, E* t, int64_t n, int nbytes, int P, KeyFn key) {
  auto cb = [&](int64_t c) { return n * c / P; };
  std::vector<uint64_t> diff(P, 0);
  const uint64_t k0 = key(a[0]);
  parallel_for(P, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; c++) {
      uint64_t x = 0;
      for (int64_t i = cb(c), ie = cb(c + 1); i < ie; i++) x |= key(a[i]) ^ k0;
      diff[c] = x;
    }
  });
  uint64_t x = 0;
  for (uint64_t d : diff) x |= d;
  std::vector<int64_t> h((size_t)P * 256);
  E* src = a;
  E* dst = t;
  for (int d = 0; d < nbytes; d++) {
    const int sh = 8 * d;
    if (((x >> sh) & 255) == 0) continue;
    parallel_for(P, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; c++) {
        int64_t* hc = h.data() + c * 256;
        std::fill(hc, hc + 256, 0);
        for (int64_t i = cb(c), ie = cb(c + 1); i < ie; i++) hc[(key(src[i]) >> sh) & 255]++;
      }
    });
    int64_t off = 0;
    for (int b = 0; b < 256; b++)
      for (int c = 0; c < P; c++) {
        int64_t v = h[c * 256 + b];
        h[c * 256 + b] = off;
        off += v;
      }
    parallel_for(P, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; c++) {
        int64_t* hc = h.data() + c * 256;
        for (int64_t i = cb(c), ie = cb(c + 1); i < ie; i++) {
          E v = src[i];
          dst[hc[(key(v) >> sh) & 255]++] = v;
        }
      }
    });
    std::swap(src, dst);
  }
  return src;
}

template <typename T> struct Row {
  using KT = Keys<T>;
  using K = typename KT::K;

  // sort / argsort of a long row with P-way parallelism.
  static void run_long(SortOp op, const T* src, int64_t is, int64_t n, void* dstv, int64_t os, int P) {
    auto cb = [&](int64_t c) { return n * c / P; };
    if (op == SortOp::argsort) {
      using I = IdxKey<K>;
      using E = typename I::E;
      Scratch sc(2 * align64(sizeof(E) * n));
      char* mem = sc.p;
      E* a = reinterpret_cast<E*>(mem);
      E* t = reinterpret_cast<E*>(mem + align64(sizeof(E) * n));
      parallel_for(P, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = cb(b), ie = cb(e); i < ie; i++) a[i] = I::make(KT::canon(src[i * is]), (uint32_t)i);
      });
      E* r;
      if constexpr (sizeof(K) <= 4) r = par_radix_sort(a, t, n, (int)sizeof(K), P, [](uint64_t e) { return e >> 32; });
      else r = par_radix_sort(a, t, n, 8, P, [](const Pair64& e) { return e.k; });
      int32_t* dst = static_cast<int32_t*>(dstv);
      parallel_for(P, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = cb(b), ie = cb(e); i < ie; i++) dst[i * os] = (int32_t)I::index(r[i]);
      });
      return;
    }
    // values: NaNs get the greatest key (no number has it) and keep their bits aside, in order
    Scratch sc(2 * align64(sizeof(K) * n));
    char* mem = sc.p;
    K* a = reinterpret_cast<K*>(mem);
    K* t = reinterpret_cast<K*>(mem + align64(sizeof(K) * n));
    std::vector<std::vector<T>> nans(P);
    parallel_for(P, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; c++)
        for (int64_t i = cb(c), ie = cb(c + 1); i < ie; i++) {
          T v = src[i * is];
          if (KT::nan(v)) {
            nans[c].push_back(v);
            a[i] = std::numeric_limits<K>::max();
          } else {
            a[i] = KT::key(v);
          }
        }
    });
    int64_t nn = 0;
    for (auto& v : nans) nn += (int64_t)v.size();
    K* r = par_radix_sort(a, t, n, (int)sizeof(K), P, [](K e) { return (uint64_t)e; });
    T* dst = static_cast<T*>(dstv);
    const int64_t m = n - nn;
    parallel_for(P, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = cb(b), ie = std::min(m, cb(e)); i < ie; i++) dst[i * os] = KT::decode(r[i]);
    });
    int64_t j = m;
    for (auto& v : nans)
      for (T x : v) dst[(j++) * os] = x;
  }

  // Values: non-NaN keys first (m of them), NaNs kept aside in input order (numpy: NaN last).
  static int64_t load_values(const T* p, int64_t s, int64_t n, K* keys, T* nans, int64_t& nn) {
    int64_t m = 0;
    nn = 0;
    for (int64_t i = 0; i < n; i++) {
      T v = p[i * s];
      if (KT::nan(v)) nans[nn++] = v;
      else keys[m++] = KT::key(v);
    }
    return m;
  }

  static void run(SortOp op, const T* src, int64_t is, int64_t n, void* dstv, int64_t os, int64_t k, int P) {
    if (P > 1 && (op == SortOp::sort || op == SortOp::argsort)) return run_long(op, src, is, n, dstv, os, P);
    if (op == SortOp::argsort || op == SortOp::argpartition) {
      using I = IdxKey<K>;
      using E = typename I::E;
      Scratch sc(2 * align64(sizeof(E) * n));
      char* mem = sc.p;
      E* a = reinterpret_cast<E*>(mem);
      E* t = reinterpret_cast<E*>(mem + align64(sizeof(E) * n));
      for (int64_t i = 0; i < n; i++) a[i] = I::make(KT::canon(src[i * is]), (uint32_t)i);
      E* r = a;
      if (op == SortOp::argpartition) {
        if constexpr (sizeof(K) <= 4)
          radix_select(
              a, t, n, k, 8, [](uint64_t e) { return e; }, I::less);
        else
          radix_select(
              a, t, n, k, 8, [](const Pair64& e) { return e.k; }, I::less);
      } else if (n <= kSmallRow) {
        std::sort(a, a + n, I::less);
      } else if constexpr (sizeof(K) <= 4) {
        r = radix_sort(a, t, n, (int)sizeof(K), [](uint64_t e) { return e >> 32; });
      } else {
        r = radix_sort(a, t, n, (int)sizeof(K), [](const Pair64& e) { return e.k; });
      }
      int32_t* dst = static_cast<int32_t*>(dstv);
      for (int64_t i = 0; i < n; i++) dst[i * os] = (int32_t)I::index(r[i]);
      return;
    }
    Scratch sc(2 * align64(sizeof(K) * n) + align64(sizeof(T) * n));
    char* mem = sc.p;
    K* keys = reinterpret_cast<K*>(mem);
    K* tmp = reinterpret_cast<K*>(mem + align64(sizeof(K) * n));
    T* nans = reinterpret_cast<T*>(mem + 2 * align64(sizeof(K) * n));
    int64_t nn;
    const int64_t m = load_values(src, is, n, keys, nans, nn);
    T* dst = static_cast<T*>(dstv);
    if (op == SortOp::topk) {  // the k greatest, descending, NaNs first
      int64_t c = std::min(nn, k), r = k - c;
      for (int64_t i = 0; i < c; i++) dst[i * os] = nans[i];
      if (r == 0) return;
      radix_select(
          keys, tmp, m, m - r, (int)sizeof(K), [](K e) { return (uint64_t)e; }, std::less<K>());
      std::sort(keys + (m - r), keys + m, [](K x, K y) { return x > y; });
      for (int64_t i = 0; i < r; i++) dst[(c + i) * os] = KT::decode(keys[m - r + i]);
      return;
    }
    K* r = keys;
    if (op == SortOp::partition) {
      if (k < m)
        radix_select(
            keys, tmp, m, k, (int)sizeof(K), [](K e) { return (uint64_t)e; }, std::less<K>());
    } else if (m <= kSmallRow) {
      std::sort(keys, keys + m);
    } else {
      r = radix_sort(keys, tmp, m, (int)sizeof(K), [](K e) { return (uint64_t)e; });
    }
    for (int64_t i = 0; i < m; i++) dst[i * os] = KT::decode(r[i]);
    for (int64_t i = 0; i < nn; i++) dst[(m + i) * os] = nans[i];
  }
};

template <typename T> void sort_typed(const Command& c) {
  const View& in = c.in(0);
  const View& out = c.out();
  const SortOp op = (SortOp)c.iparam(0);
  const int64_t k = c.iparam(1);
  const int64_t n = in.shape[in.ndim - 1], nout = out.shape[out.ndim - 1];
  const int64_t rows = n == 0 ? 0 : in.size / n;
  if (rows == 0 || nout == 0) return;
  const int64_t is = in.strides[in.ndim - 1], os = out.strides[out.ndim - 1];
  const size_t osz = (size_t)dtype_size(out.dtype);
  const T* base = reinterpret_cast<const T*>(in.buf->data);
  char* obase = static_cast<char*>(out.buf->data);
  const int nt = num_threads();
  if (rows < nt && n >= kLongRow && (op == SortOp::sort || op == SortOp::argsort)) {  // each uses the whole pool
    for (int64_t r = 0; r < rows; r++)
      Row<T>::run(op, base + row_offset(in, r), is, n, obase + row_offset(out, r) * osz, os, k, nt);
    return;
  }
  parallel_for(rows, std::max<int64_t>(1, (1 << 14) / n), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++)
      Row<T>::run(op, base + row_offset(in, r), is, n, obase + row_offset(out, r) * osz, os, k, 1);
  });
}

// ---- topk with indices

// The k greatest of each row (NaN first, then descending; equal values by ascending index) and
// where they came from: a partial sort of the row's indices, O(n log k).
template <typename T> void topk_indexed_typed(const Command& c) {
  using KT = Keys<T>;
  using K = typename KT::K;
  const View& in = c.in(0);
  const View& vo = c.out(0);
  const View& io = c.out(1);
  const int64_t k = c.iparam(0);
  const int64_t n = in.shape[in.ndim - 1];
  const int64_t rows = n == 0 ? 0 : in.size / n;
  if (rows == 0 || k == 0) return;
  const int64_t is = in.strides[in.ndim - 1], vs = vo.strides[vo.ndim - 1], ixs = io.strides[io.ndim - 1];
  const T* base = reinterpret_cast<const T*>(in.buf->data);
  T* vbase = reinterpret_cast<T*>(vo.buf->data);
  int32_t* ibase = reinterpret_cast<int32_t*>(io.buf->data);
  parallel_for(rows, std::max<int64_t>(1, (1 << 14) / n), [&](int64_t b, int64_t e) {
    std::vector<int64_t> ids((size_t)n);
    std::vector<K> keys((size_t)n);
    std::vector<uint8_t> nan((size_t)n);
    for (int64_t r = b; r < e; r++) {
      const T* src = base + row_offset(in, r);
      for (int64_t i = 0; i < n; i++) {
        const T x = src[i * is];
        ids[i] = i;
        nan[i] = KT::nan(x) ? 1 : 0;
        keys[i] = KT::canon(x);
      }
      std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int64_t a, int64_t bb) {
        if (nan[a] != nan[bb]) return nan[a] > nan[bb];
        if (!nan[a] && keys[a] != keys[bb]) return keys[a] > keys[bb];
        return a < bb;
      });
      T* vd = vbase + row_offset(vo, r);
      int32_t* id = ibase + row_offset(io, r);
      for (int64_t i = 0; i < k; i++) {
        vd[i * vs] = src[ids[i] * is];
        id[i * ixs] = (int32_t)ids[i];
      }
    }
  });
}

// ---- searchsorted

template <typename T> void searchsorted_typed(const Command& c) {
  using KT = Keys<T>;
  using K = typename KT::K;
  const View& a = c.in(0);
  const View& v = c.in(1);
  const View& out = c.out();
  const bool right = c.iparam(0) == 1;
  const int64_t m = a.shape[0];
  if (out.size == 0) return;
  std::vector<K> keys((size_t)m);
  const T* ap = a.ptr<T>();
  for (int64_t i = 0; i < m; i++) keys[i] = KT::canon(ap[i * a.strides[0]]);
  const K* kb = keys.data();
  const T* vb = reinterpret_cast<const T*>(v.buf->data);
  int32_t* ob = reinterpret_cast<int32_t*>(out.buf->data);
  Loop<2> L = make_loop<2>({&v, &out});
  for_each_row(L, [&](const int64_t* off, int64_t len, const int64_t* st) {
    const T* vp = vb + off[0];
    int32_t* op = ob + off[1];
    for (int64_t i = 0; i < len; i++) {
      K x = KT::canon(vp[i * st[0]]);
      const K* p = right ? std::upper_bound(kb, kb + m, x) : std::lower_bound(kb, kb + m, x);
      op[i * st[1]] = (int32_t)(p - kb);
    }
  });
}

}  // namespace

void check_sort(const Command& c) {
  const View& in = c.in(0);
  const View& out = c.out();
  double opd = c.params[0], kd = c.params[1];
  if (!(opd == std::floor(opd)) || opd < 0 || opd >= (double)SortOp::kCount)
    fail("[sort] invalid op code ", opd, " (expected an integer in [0, ", (int)SortOp::kCount - 1, "])");
  const SortOp op = (SortOp)(int)opd;
  const char* name = sort_op_name((int)op);
  if (in.ndim < 1) fail("[sort] ", name, ": the input must have at least one dim (got a 0-d view)");
  const int64_t n = in.shape[in.ndim - 1];
  bool lead = out.ndim == in.ndim;
  for (int d = 0; lead && d + 1 < in.ndim; d++) lead = out.shape[d] == in.shape[d];
  const int64_t nout = lead ? out.shape[out.ndim - 1] : -1;
  if (!(kd == std::floor(kd)) || std::fabs(kd) > 9.0e15) fail("[sort] ", name, ": invalid parameter ", kd);
  const int64_t k = (int64_t)kd;
  if (op == SortOp::topk) {
    if (k < 0 || k > n) fail("[sort] topk: k = ", k, " is out of range for an axis of size ", n);
    if (nout != k)
      fail("[sort] topk: output must be the input shape with its last dim ", k, " (input ", in.describe(), ", output ",
           out.describe(), ")");
  } else {
    if (nout != n)
      fail("[sort] ", name, ": output shape must equal the input shape (input ", in.describe(), ", output ",
           out.describe(), ")");
    if ((op == SortOp::partition || op == SortOp::argpartition) && n > 0 && (k < 0 || k >= n))
      fail("[sort] ", name, ": kth = ", k, " is out of bounds for an axis of size ", n);
  }
  if (op == SortOp::argsort || op == SortOp::argpartition) {
    if (out.dtype != kInt32) fail("[sort] ", name, ": output dtype must be int32, got ", dtype_name(out.dtype));
    if (n > std::numeric_limits<int32_t>::max())
      fail("[sort] ", name, " over ", n, " elements: the index does not fit int32");
  } else if (out.dtype != in.dtype) {
    fail("[sort] ", name, ": output dtype must equal the input dtype ", dtype_name(in.dtype), ", got ",
         dtype_name(out.dtype));
  }
}

void run_sort(const Command& c) {
#define KILN_SORT(T) sort_typed<T>(c)
  KILN_DISPATCH_ALL(c.in(0).dtype, KILN_SORT)
#undef KILN_SORT
}

void check_topk_indexed(const Command& c) {
  const View& in = c.in(0);
  const View& vo = c.out(0);
  const View& io = c.out(1);
  const double kd = c.params[0];
  if (in.ndim < 1) fail("[topk_indexed] the input must have at least one dim (got a 0-d view)");
  const int64_t n = in.shape[in.ndim - 1];
  if (!(kd == std::floor(kd)) || kd < 0 || kd > (double)n)
    fail("[topk_indexed] k = ", kd, " is out of range for an axis of size ", n);
  const int64_t k = (int64_t)kd;
  for (const View* o : {&vo, &io}) {
    bool ok = o->ndim == in.ndim && o->shape[o->ndim - 1] == k;
    for (int d = 0; ok && d + 1 < in.ndim; d++) ok = o->shape[d] == in.shape[d];
    if (!ok)
      fail("[topk_indexed] outputs must be the input shape with its last dim ", k, " (input ", in.describe(),
           ", output ", o->describe(), ")");
  }
  if (vo.dtype != in.dtype)
    fail("[topk_indexed] values must have the input dtype ", dtype_name(in.dtype), ", got ", dtype_name(vo.dtype));
  if (io.dtype != kInt32) fail("[topk_indexed] indices must be int32, got ", dtype_name(io.dtype));
  if (n > std::numeric_limits<int32_t>::max())
    fail("[topk_indexed] over ", n, " elements: the index does not fit int32");
}

void run_topk_indexed(const Command& c) {
#define KILN_TOPK(T) topk_indexed_typed<T>(c)
  KILN_DISPATCH_ALL(c.in(0).dtype, KILN_TOPK)
#undef KILN_TOPK
}

void check_searchsorted(const Command& c) {
  const View& a = c.in(0);
  const View& v = c.in(1);
  const View& out = c.out();
  double side = c.params[0];
  if (side != 0 && side != 1) fail("[searchsorted] side must be 0 (left) or 1 (right), got ", side);
  if (a.ndim != 1) fail("[searchsorted] the sorted array must be 1-d, got ", a.describe());
  if (a.dtype != v.dtype)
    fail("[searchsorted] the sorted array and the values must have one dtype, got ", dtype_name(a.dtype), " and ",
         dtype_name(v.dtype));
  expect_same_shape(c, v, out, "values and output");
  expect_dtype(c, out, kInt32, "output");
  if (a.shape[0] > std::numeric_limits<int32_t>::max())
    fail("[searchsorted] a sorted array of ", a.shape[0], " elements: the index does not fit int32");
}

void run_searchsorted(const Command& c) {
#define KILN_SEARCH(T) searchsorted_typed<T>(c)
  KILN_DISPATCH_ALL(c.in(0).dtype, KILN_SEARCH)
#undef KILN_SEARCH
}

}  // namespace kiln
