// The fused-program interpreter (program format in fused.h). A program runs over blocks of
// elements that stay in L1: each instruction is one tight loop over a block of registers (AVX2
// for float32 where the eager kernels have it, chosen at run time; portable loops otherwise),
// blocks are spread over the thread pool, and inputs are read through per-operand index maps
// (contiguous, broadcast or general strided). Reductions fold blocks into per-row accumulators,
// so a reduction absorbs the elementwise work before it and after it (later phases).
#include "fused.h"
#include <memory>
#include <mutex>
#include <unordered_map>
#include "accumulate.h"
#include "elementwise_ops.h"
#include "reduce_ops.h"
#include "../sequencer.h"
#include "../thread_pool.h"

namespace kiln {
namespace fz {
namespace {

// Elements per block: 512 keeps a few registers and the lines a block reads and writes in L1
// (measured: 1024 and 2048 run memory-bound elementwise programs 25-40% slower on a 32 KiB L1);
// programs that write no full output (reductions alone) take longer blocks, fewer folds.
inline int64_t block_for(int n_block_regs, bool full_outputs) {
  if (!full_outputs) return n_block_regs <= 4 ? 2048 : 1024;
  return n_block_regs <= 16 ? 512 : 256;
}
// Launches whose outputs are at least this large write them with non-temporal stores: the
// outputs cannot stay in cache for the next kernel anyway, and streaming skips reading each line
// before writing it (a third of the memory traffic of a copy).
constexpr int64_t kStreamBytes = (int64_t)16 << 20;
constexpr int64_t kPrefetchRowBytes = 4096;  // rows at least this long fetch the next row ahead
constexpr int64_t kRowBytes = 64;            // a row register is one vector wide (lane 0 holds the value)
constexpr int kMaxRegs = 4096, kMaxInstrs = 1 << 16, kMaxPhases = 256, kMaxAccs = 1024;

struct Frame;
struct Ins;
using InsFn = void (*)(const Ins&, Frame&, int64_t);

struct Ins {
  InsFn fn = nullptr;
  int32_t code = 0, op = 0, dst = 0, a = 0, b = 0, c = 0;
  double imm = 0;
  bool row = false;                        // runs on the row register file
  int64_t od = 0, oa = 0, ob = 0, oc = 0;  // byte offsets of dst, a, b, c in their files
  int32_t bind = -1;                       // operand whose memory this (last) writer of a stored value may write
  int32_t bind_size = 0;                   // element size of that output
  bool streams = false;                    // fn can write its block with non-temporal stores
  bool stream_ok = false;                  // ... and no later instruction reads that block back
  float scalar = 0;                        // the constant operand of a float32 binary op (see use_scalars)
  int32_t scalar_row = -1;                 // ... or the row register (byte offset) holding it this row
  int8_t row_operand = -1;                 // which operand that is (0: a, 1: b): its block register is not read
  int32_t spill_bind = -1;                 // spill slot this (last) writer of a spilled value writes directly
  int32_t spill_size = 0;                  // element size of that slot
};

struct AccDef {
  int op = 0, type = 0;
  void (*init)(uint64_t*) = nullptr;
  void (*merge)(uint64_t*, const uint64_t*) = nullptr;
};

struct Phase {
  std::vector<Ins> setup, body, finish;
};

struct Program {
  int n_in = 0, n_out = 0, ndim = 0, nred = 0;
  std::vector<int> in_dtype, out_dtype, out_kind, breg, rreg, spill;
  std::vector<Ins> init;  // once per task: constants
  int64_t block = 512;    // elements per block
  std::vector<int64_t> boff;
  int64_t bbytes = 0, rbytes = 0;
  std::vector<AccDef> accs;
  std::vector<Phase> phases;
};

// ---- launch geometry -------------------------------------------------------------------------

struct OpGeom {
  char* base = nullptr;
  int64_t ostr[kMaxDims] = {0};  // strides of the merged kept (outer) dims
  int64_t istr[kMaxDims] = {0};  // strides of the merged reduced (inner) dims
  int kind = 0;                  // 0: inner offset = flat index, 1: inner strides all zero, 2: general
};

struct Geom {
  int no = 0, ni = 0;
  int64_t oshape[kMaxDims] = {0}, ishape[kMaxDims] = {0};
  int64_t rows = 1, inner = 1;
  bool need_idx = false;
  bool stream = false;                        // full outputs are written with non-temporal stores (see kStreamBytes)
  std::vector<std::pair<int, int>> prefetch;  // (operand, element size): contiguous inputs of rows fetched ahead
  std::vector<OpGeom> op;
};

struct Frame {
  const Geom* g = nullptr;
  char** bp = nullptr;    // where each block register's values are now (its scratch, or an input)
  char** bfix = nullptr;  // where each block register's next values go (its scratch, or an output)
  char** bscr = nullptr;  // each block register's scratch
  char* row = nullptr;
  uint64_t* acc = nullptr;
  char* spill = nullptr;              // spill slots of the current row
  int64_t spill_stride = 0;           // bytes per slot
  int64_t f0 = 0;                     // flat inner index of the block's first element
  int64_t rowoff[64] = {0};           // element offset of the current row, per operand
  const int64_t* next_row = nullptr;  // element offsets of the next row, whose inputs the blocks prefetch
  int64_t idx[kMaxDims] = {0};        // inner multi-index of f0 (when some operand is general)
  const char* stream_to = nullptr;    // the output block the running instruction may stream into
};

// Operands are fetched before the destination: a destination may reuse an operand's register.
template <class C> inline const C* rd(const Frame& F, const Ins& I, int32_t r, int64_t off) {
  return reinterpret_cast<const C*>(I.row ? F.row + off : F.bp[r]);
}
template <class C> inline C* wr(Frame& F, const Ins& I, int32_t r, int64_t off) {
  if (I.row) return reinterpret_cast<C*>(F.row + off);
  return reinterpret_cast<C*>(F.bp[r] = F.bfix[r]);
}

// Contiguous copies of whole blocks (a library memcpy per block costs more than the copy).
inline void copy_bytes(char* d, const char* s, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t t[4];
    std::memcpy(t, s + i, 32);
    std::memcpy(d + i, t, 32);
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t t;
    std::memcpy(&t, s + i, 8);
    std::memcpy(d + i, &t, 8);
  }
  for (; i < n; i++) d[i] = s[i];
}

#if KILN_SIMD
// Non-temporal copy into a 32-byte aligned destination (the tail, if any, goes through the cache).
KILN_AVX2 inline void copy_bytes_stream(char* d, const char* s, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i)));
  copy_bytes(d + i, s + i, n - i);
}
#endif

// ---- loads and stores ------------------------------------------------------------------------

#if KILN_SIMD
template <class T> KILN_AVX2 void load16_avx2(const T* s, float* d, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, ew::vload(s + i));
  for (; i < n; i++) d[i] = to_compute(s[i]);
}
template <class T> KILN_AVX2 void store16_avx2(const float* s, T* d, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) ew::vstore(d + i, _mm256_loadu_ps(s + i));
  for (; i < n; i++) d[i] = from_value<T>(s[i]);
}
#endif

// n elements at s with stride st (in elements) into compute values
template <class T>
inline void load_run(const typename ew::Elem<T>::S* s, int64_t st, typename ew::Elem<T>::C* d, int64_t n) {
  using E = ew::Elem<T>;
  using C = typename E::C;
  if (st == 0) {
    C v = E::load(s[0]);
    for (int64_t i = 0; i < n; i++) d[i] = v;
  } else if (st == 1) {
    if constexpr (std::is_same_v<typename E::S, C>) {
      copy_bytes(reinterpret_cast<char*>(d), reinterpret_cast<const char*>(s), n * (int64_t)sizeof(C));
    } else {
#if KILN_SIMD
      if constexpr (std::is_same_v<T, half_t> || std::is_same_v<T, bf16_t>)
        if (ew::has_avx2()) return load16_avx2<T>(s, d, n);
#endif
      for (int64_t i = 0; i < n; i++) d[i] = E::load(s[i]);
    }
  } else {
    for (int64_t i = 0; i < n; i++) d[i] = E::load(s[i * st]);
  }
}

template <class T>
inline void store_run(const typename ew::Elem<T>::C* s, typename ew::Elem<T>::S* d, int64_t st, int64_t n,
                      bool stream = false) {
  using E = ew::Elem<T>;
  if (st == 1) {
    if constexpr (std::is_same_v<typename E::S, typename E::C>) {
#if KILN_SIMD
      if (stream && (reinterpret_cast<uintptr_t>(d) & 31) == 0 && ew::has_avx2())
        return copy_bytes_stream(reinterpret_cast<char*>(d), reinterpret_cast<const char*>(s),
                                 n * (int64_t)sizeof(typename E::S));
#endif
      copy_bytes(reinterpret_cast<char*>(d), reinterpret_cast<const char*>(s), n * (int64_t)sizeof(typename E::S));
      return;
    } else {
#if KILN_SIMD
      if constexpr (std::is_same_v<T, half_t> || std::is_same_v<T, bf16_t>)
        if (ew::has_avx2()) return store16_avx2<T>(s, d, n);
#endif
      for (int64_t i = 0; i < n; i++) d[i] = E::store(s[i]);
    }
  } else {
    for (int64_t i = 0; i < n; i++) d[i * st] = E::store(s[i]);
  }
}

// Visits the block [f0, f0 + n) of the inner dims in runs along the innermost dim:
// fn(element offset, run start in the block, run length, innermost stride).
template <class Fn> inline void for_runs(const Frame& F, const int64_t* istr, int64_t n, Fn&& fn) {
  const Geom& g = *F.g;
  const int last = g.ni - 1;
  int64_t idx[kMaxDims];
  int64_t off = 0;
  for (int k = 0; k <= last; k++) {
    idx[k] = F.idx[k];
    off += idx[k] * istr[k];
  }
  const int64_t L = g.ishape[last], s = istr[last];
  int64_t i = 0;
  while (i < n) {
    int64_t seg = std::min(n - i, L - idx[last]);
    fn(off, i, seg, s);
    i += seg;
    if (i >= n) break;
    off += (L - idx[last]) * s - L * s;
    idx[last] = 0;
    for (int k = last - 1; k >= 0; k--) {
      off += istr[k];
      if (++idx[k] < g.ishape[k]) break;
      off -= g.ishape[k] * istr[k];
      idx[k] = 0;
    }
  }
}

template <class T> void ins_load(const Ins& I, Frame& F, int64_t n) {
  using E = ew::Elem<T>;
  using S = typename E::S;
  using C = typename E::C;
  const OpGeom& o = F.g->op[I.a];
  const S* s = reinterpret_cast<const S*>(o.base) + F.rowoff[I.a];
  if constexpr (std::is_same_v<S, C>) {
    // a contiguous run of the compute type is used where it lies (whole vectors only: vector
    // ops may read up to the next multiple of 8)
    if (o.kind == 0 && n % 8 == 0) {
      F.bp[I.dst] = const_cast<char*>(reinterpret_cast<const char*>(s + F.f0));
      return;
    }
  }
  C* d = wr<C>(F, I, I.dst, 0);
  if (o.kind == 0) load_run<T>(s + F.f0, 1, d, n);
  else if (o.kind == 1) load_run<T>(s, 0, d, n);
  else
    for_runs(F, o.istr, n, [&](int64_t off, int64_t i, int64_t m, int64_t st) { load_run<T>(s + off, st, d + i, m); });
}

template <class T> void ins_store(const Ins& I, Frame& F, int64_t n) {
  using E = ew::Elem<T>;
  using S = typename E::S;
  using C = typename E::C;
  const OpGeom& o = F.g->op[I.a];
  S* d = reinterpret_cast<S*>(o.base) + F.rowoff[I.a];
  const C* s = rd<C>(F, I, I.b, 0);
  F.bfix[I.b] = F.bscr[I.b];  // (a bound register writes its scratch again)
  if (o.kind == 0) {
    if (reinterpret_cast<const void*>(s) != reinterpret_cast<const void*>(d + F.f0))
      store_run<T>(s, d + F.f0, 1, n, F.g->stream);
  } else {
    for_runs(F, o.istr, n, [&](int64_t off, int64_t i, int64_t m, int64_t st) { store_run<T>(s + i, d + off, st, m); });
  }
}

template <class T> void ins_store_row(const Ins& I, Frame& F, int64_t) {
  using E = ew::Elem<T>;
  using S = typename E::S;
  const OpGeom& o = F.g->op[I.a];
  S* d = reinterpret_cast<S*>(o.base) + F.rowoff[I.a];
  *d = E::store(*reinterpret_cast<const typename E::C*>(F.row + I.ob));
}

template <class T> void ins_const(const Ins& I, Frame& F, int64_t n) {
  using C = typename ew::Elem<T>::C;
  C v = to_compute(from_value<T>(I.imm));
  C* d = wr<C>(F, I, I.dst, I.od);
  for (int64_t i = 0; i < n; i++) d[i] = v;
}

template <class C> void ins_splat(const Ins& I, Frame& F, int64_t n) {
  C v = *reinterpret_cast<const C*>(F.row + I.oa);
  C* d = wr<C>(F, I, I.dst, 0);
  for (int64_t i = 0; i < n; i++) d[i] = v;
}

// A row's values of an intermediate, kept in a spill slot for later phases (cheaper than
// recomputing an exp); a fill reads them where they lie.
template <class C> void ins_spill(const Ins& I, Frame& F, int64_t n) {
  const C* a = rd<C>(F, I, I.a, 0);
  char* d = F.spill + I.dst * F.spill_stride + F.f0 * (int64_t)sizeof(C);
  F.bfix[I.a] = F.bscr[I.a];  // (a register bound to the slot writes its scratch again)
  if (reinterpret_cast<const char*>(a) != d) copy_bytes(d, reinterpret_cast<const char*>(a), n * (int64_t)sizeof(C));
}
template <class C> void ins_fill(const Ins& I, Frame& F, int64_t) {
  F.bp[I.dst] = F.spill + I.a * F.spill_stride + F.f0 * (int64_t)sizeof(C);
}

// ---- arithmetic ------------------------------------------------------------------------------

#define KILN_FZ_INLINE inline __attribute__((always_inline))

template <class Op, class C> KILN_FZ_INLINE void unary_body(const Ins& I, Frame& F, int64_t n) {
  using R = std::conditional_t<Op::pred, bool, C>;
  const C* a = rd<C>(F, I, I.a, I.oa);
  R* d = wr<R>(F, I, I.dst, I.od);
  for (int64_t i = 0; i < n; i++) d[i] = Op::f(a[i]);
}
template <class Op, class C> void ins_unary(const Ins& I, Frame& F, int64_t n) { unary_body<Op, C>(I, F, n); }

template <class Op, class C> KILN_FZ_INLINE void binary_body(const Ins& I, Frame& F, int64_t n) {
  using R = std::conditional_t<Op::pred, bool, C>;
  const C* a = rd<C>(F, I, I.a, I.oa);
  const C* b = rd<C>(F, I, I.b, I.ob);
  R* d = wr<R>(F, I, I.dst, I.od);
  for (int64_t i = 0; i < n; i++) d[i] = Op::f(a[i], b[i]);
}
template <class Op, class C> void ins_binary(const Ins& I, Frame& F, int64_t n) { binary_body<Op, C>(I, F, n); }

template <class C> KILN_FZ_INLINE void where_body(const Ins& I, Frame& F, int64_t n) {
  const bool* c = rd<bool>(F, I, I.a, I.oa);
  const C* x = rd<C>(F, I, I.b, I.ob);
  const C* y = rd<C>(F, I, I.c, I.oc);
  C* d = wr<C>(F, I, I.dst, I.od);
  for (int64_t i = 0; i < n; i++) d[i] = c[i] ? x[i] : y[i];
}
template <class C> void ins_where(const Ins& I, Frame& F, int64_t n) { where_body<C>(I, F, n); }

template <class CF, class T> KILN_FZ_INLINE void cast_body(const Ins& I, Frame& F, int64_t n) {
  using CT = typename ew::Elem<T>::C;
  const CF* a = rd<CF>(F, I, I.a, I.oa);
  CT* d = wr<CT>(F, I, I.dst, I.od);
  for (int64_t i = 0; i < n; i++) d[i] = to_compute(from_value<T>(a[i]));
}
template <class CF, class T> void ins_cast(const Ins& I, Frame& F, int64_t n) { cast_body<CF, T>(I, F, n); }

#if KILN_SIMD
// Same loops compiled for AVX2 (the compiler vectorises them 8 or 4 wide).
template <class Op, class C> KILN_AVX2 void ins_unary_avx2(const Ins& I, Frame& F, int64_t n) {
  unary_body<Op, C>(I, F, n);
}
template <class Op, class C> KILN_AVX2 void ins_binary_avx2(const Ins& I, Frame& F, int64_t n) {
  binary_body<Op, C>(I, F, n);
}
template <class C> KILN_AVX2 void ins_where_avx2(const Ins& I, Frame& F, int64_t n) { where_body<C>(I, F, n); }
template <class CF, class T> KILN_AVX2 void ins_cast_avx2(const Ins& I, Frame& F, int64_t n) {
  cast_body<CF, T>(I, F, n);
}

// float32 ops with explicit vector math, eight lanes at a time over whole vectors (registers
// are padded to a vector, so a partial block computes a few unused lanes).
// Stores of a vector op: non-temporal into a large output (32-byte aligned, see run_body).
template <bool kStream> KILN_AVX2 inline void put(float* d, __m256 v) {
  if (kStream) _mm256_stream_ps(d, v);
  else _mm256_storeu_ps(d, v);
}
template <class Op, bool kStream> KILN_AVX2 inline void unary_vec_loop(const float* a, float* d, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {  // two independent vectors per step for more ILP
    __m256 x0 = _mm256_loadu_ps(a + i), x1 = _mm256_loadu_ps(a + i + 8);
    put<kStream>(d + i, Op::v(x0));
    put<kStream>(d + i + 8, Op::v(x1));
  }
  for (; i < n; i += 8) put<kStream>(d + i, Op::v(_mm256_loadu_ps(a + i)));
}
template <class Op> KILN_AVX2 void ins_unary_vec(const Ins& I, Frame& F, int64_t n) {
  const float* a = rd<float>(F, I, I.a, I.oa);
  float* d = wr<float>(F, I, I.dst, I.od);
  if (F.stream_to == reinterpret_cast<const char*>(d)) unary_vec_loop<Op, true>(a, d, n);
  else unary_vec_loop<Op, false>(a, d, n);
}
template <class Op, bool kStream>
KILN_AVX2 inline void binary_vec_loop(const float* a, const float* b, float* d, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 x0 = _mm256_loadu_ps(a + i), x1 = _mm256_loadu_ps(a + i + 8);
    __m256 y0 = _mm256_loadu_ps(b + i), y1 = _mm256_loadu_ps(b + i + 8);
    put<kStream>(d + i, Op::v(x0, y0));
    put<kStream>(d + i + 8, Op::v(x1, y1));
  }
  for (; i < n; i += 8) put<kStream>(d + i, Op::v(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
}
template <class Op> KILN_AVX2 void ins_binary_vec(const Ins& I, Frame& F, int64_t n) {
  const float* a = rd<float>(F, I, I.a, I.oa);
  const float* b = rd<float>(F, I, I.b, I.ob);
  float* d = wr<float>(F, I, I.dst, I.od);
  if (F.stream_to == reinterpret_cast<const char*>(d)) binary_vec_loop<Op, true>(a, b, d, n);
  else binary_vec_loop<Op, false>(a, b, d, n);
}
// One operand a constant (kConstA: the first), broadcast from I.scalar instead of loaded.
template <class Op, bool kConstA> KILN_AVX2 inline __m256 with_const(__m256 v, __m256 c) {
  return kConstA ? Op::v(c, v) : Op::v(v, c);
}
template <class Op, bool kConstA, bool kStream>
KILN_AVX2 inline void scalar_vec_loop(const float* x, __m256 c, float* d, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
    put<kStream>(d + i, with_const<Op, kConstA>(x0, c));
    put<kStream>(d + i + 8, with_const<Op, kConstA>(x1, c));
  }
  for (; i < n; i += 8) put<kStream>(d + i, with_const<Op, kConstA>(_mm256_loadu_ps(x + i), c));
}
template <class Op, bool kConstA> KILN_AVX2 void ins_scalar_vec(const Ins& I, Frame& F, int64_t n) {
  const float* x = kConstA ? rd<float>(F, I, I.b, I.ob) : rd<float>(F, I, I.a, I.oa);
  float* d = wr<float>(F, I, I.dst, I.od);
  const __m256 c = _mm256_set1_ps(I.scalar_row >= 0 ? *reinterpret_cast<const float*>(F.row + I.scalar_row) : I.scalar);
  if (F.stream_to == reinterpret_cast<const char*>(d)) scalar_vec_loop<Op, kConstA, true>(x, c, d, n);
  else scalar_vec_loop<Op, kConstA, false>(x, c, d, n);
}
// float32 -> float16/bfloat16 -> float32 (the rounding a 16-bit intermediate gets eagerly)
template <class T> KILN_AVX2 void ins_round16_vec(const Ins& I, Frame& F, int64_t n) {
  const float* a = rd<float>(F, I, I.a, I.oa);
  float* d = wr<float>(F, I, I.dst, I.od);
  T t[8];
  for (int64_t i = 0; i < n; i += 8) {
    ew::vstore(t, _mm256_loadu_ps(a + i));
    _mm256_storeu_ps(d + i, ew::vload(t));
  }
}
#endif

// ---- reductions ------------------------------------------------------------------------------

// Identities, combining rules, the vector fold, the float sum and product are reduce_ops.h's,
// shared with the eager reduce kernel. Sums add a block's float leaf sum into a double; integer
// sums and products accumulate in uint64 (wrapping to the narrow type as the eager kernel's do).
template <class C, ReduceOp OP> struct Acc {
  static constexpr bool kSumProd = OP == ReduceOp::sum || OP == ReduceOp::prod;
  static constexpr bool kLogic = OP == ReduceOp::all || OP == ReduceOp::any;
  using A = std::conditional_t<kSumProd, std::conditional_t<std::is_floating_point_v<C>, double, uint64_t>,
                               std::conditional_t<kLogic, bool, C>>;
  using Out = std::conditional_t<kLogic, bool, C>;

  static A get_slot(const uint64_t* s) {
    A a;
    std::memcpy(&a, s, sizeof(A));
    return a;
  }
  static void set_slot(uint64_t* s, A a) { std::memcpy(s, &a, sizeof(A)); }

  using R = red::Rule<OP, A>;
  static A init_value() { return R::identity(); }
  static void step(A& a, A x) { R::step(a, x); }
  static A widen(C x) {
    if constexpr (kLogic) return x != C(0);
    else if constexpr (kSumProd && !std::is_floating_point_v<C>) return (uint64_t)x;  // wraps like the narrow type
    else return (A)x;
  }
  static void fold(A& a, const C* x, int64_t n) {
    if constexpr (OP == ReduceOp::sum && std::is_floating_point_v<C>) {
      a += red::sum_leaf<red::LoadSame>(x, n, 1);  // the eager kernel's leaf sum, added in double
    } else if constexpr (OP == ReduceOp::prod && std::is_floating_point_v<C>) {
      red::prod_run<red::LoadSame>(x, n, 1, a);  // the eager kernel's product, in double
    } else if constexpr ((OP == ReduceOp::max || OP == ReduceOp::min) && red::kVecOp<OP, C>) {
      red::fold_run_vec<OP>(x, n, a);  // the eager kernel's vector fold
    } else {
      for (int64_t i = 0; i < n; i++) step(a, widen(x[i]));
    }
  }
  static Out get(A a) {
    if constexpr (kSumProd) return (C)a;
    else return a;
  }
  static void init(uint64_t* s) { set_slot(s, init_value()); }
  static void merge(uint64_t* s, const uint64_t* t) {
    A a = get_slot(s);
    step(a, get_slot(t));
    set_slot(s, a);
  }
};

template <class C, ReduceOp OP> void ins_reduce(const Ins& I, Frame& F, int64_t n) {
  using K = Acc<C, OP>;
  typename K::A a = K::get_slot(F.acc + I.dst);
  K::fold(a, rd<C>(F, I, I.a, 0), n);
  K::set_slot(F.acc + I.dst, a);
}
template <class C, ReduceOp OP> void ins_accget(const Ins& I, Frame& F, int64_t) {
  using K = Acc<C, OP>;
  *reinterpret_cast<typename K::Out*>(F.row + I.od) = K::get(K::get_slot(F.acc + I.a));
}

template <class Fn> void with_reduce(int op, Fn&& f) {
  switch ((ReduceOp)op) {
    case ReduceOp::sum: f(std::integral_constant<ReduceOp, ReduceOp::sum>{}); break;
    case ReduceOp::prod: f(std::integral_constant<ReduceOp, ReduceOp::prod>{}); break;
    case ReduceOp::max: f(std::integral_constant<ReduceOp, ReduceOp::max>{}); break;
    case ReduceOp::min: f(std::integral_constant<ReduceOp, ReduceOp::min>{}); break;
    case ReduceOp::all: f(std::integral_constant<ReduceOp, ReduceOp::all>{}); break;
    case ReduceOp::any: f(std::integral_constant<ReduceOp, ReduceOp::any>{}); break;
    default: break;
  }
}

// ---- instruction tables ----------------------------------------------------------------------

bool avx2() {
#if KILN_SIMD
  return ew::has_avx2();
#else
  return false;
#endif
}

InsFn unary_fn(int op, int t, bool* pred, bool* streams) {
  InsFn fn = nullptr;
  ew::with_unary_op(op, [&](auto tag) {
    using Op = decltype(tag);
    *pred = Op::pred;
#define KILN_FZ_U(C)                                        \
  if constexpr ((ew::domain_of_type<C>() & Op::dom) != 0) { \
    fn = &ins_unary<Op, C>;                                 \
    KILN_FZ_U_AVX(C)                                        \
  }
#if KILN_SIMD
#define KILN_FZ_U_AVX(C)                                                                         \
  if (avx2()) {                                                                                  \
    fn = &ins_unary_avx2<Op, C>;                                                                 \
    if constexpr (Op::vec && std::is_same_v<C, float>) fn = &ins_unary_vec<Op>, *streams = true; \
  }
#else
#define KILN_FZ_U_AVX(C)
#endif
    KILN_DISPATCH_COMPUTE(t, KILN_FZ_U)
#undef KILN_FZ_U
#undef KILN_FZ_U_AVX
  });
  return fn;
}

InsFn binary_fn(int op, int t, bool* pred, bool* streams) {
  InsFn fn = nullptr;
  ew::with_binary_op(op, [&](auto tag) {
    using Op = decltype(tag);
    *pred = Op::pred;
#define KILN_FZ_B(C)                                        \
  if constexpr ((ew::domain_of_type<C>() & Op::dom) != 0) { \
    fn = &ins_binary<Op, C>;                                \
    KILN_FZ_B_AVX(C)                                        \
  }
#if KILN_SIMD
#define KILN_FZ_B_AVX(C)                                                                          \
  if (avx2()) {                                                                                   \
    fn = &ins_binary_avx2<Op, C>;                                                                 \
    if constexpr (Op::vec && std::is_same_v<C, float>) fn = &ins_binary_vec<Op>, *streams = true; \
  }
#else
#define KILN_FZ_B_AVX(C)
#endif
    KILN_DISPATCH_COMPUTE(t, KILN_FZ_B)
#undef KILN_FZ_B
#undef KILN_FZ_B_AVX
  });
  return fn;
}

// The float32 vector kernel of binary op `op` with a constant first (const_a) or second operand;
// null where the op has no vector form.
InsFn scalar_fn(int op, bool const_a) {
  InsFn fn = nullptr;
#if KILN_SIMD
  ew::with_binary_op(op, [&](auto tag) {
    using Op = decltype(tag);
    if constexpr (Op::vec) fn = const_a ? &ins_scalar_vec<Op, true> : &ins_scalar_vec<Op, false>;
  });
#else
  (void)op;
  (void)const_a;
#endif
  return fn;
}

InsFn where_fn(int t) {
  InsFn fn = nullptr;
#if KILN_SIMD
#define KILN_FZ_W(C) fn = avx2() ? &ins_where_avx2<C> : &ins_where<C>;
#else
#define KILN_FZ_W(C) fn = &ins_where<C>;
#endif
  KILN_DISPATCH_COMPUTE(t, KILN_FZ_W)
#undef KILN_FZ_W
  return fn;
}

template <class CF> InsFn cast_from(int to) {
  InsFn fn = nullptr;
#if KILN_SIMD
#define KILN_FZ_C(T) fn = avx2() ? &ins_cast_avx2<CF, T> : &ins_cast<CF, T>;
#else
#define KILN_FZ_C(T) fn = &ins_cast<CF, T>;
#endif
  KILN_DISPATCH_ALL(to, KILN_FZ_C)
#undef KILN_FZ_C
#if KILN_SIMD
  if constexpr (std::is_same_v<CF, float>) {
    if (avx2() && to == kFloat16) fn = &ins_round16_vec<half_t>;
    if (avx2() && to == kBfloat16) fn = &ins_round16_vec<bf16_t>;
  }
#endif
  return fn;
}

InsFn cast_fn(int from, int to) {
  InsFn fn = nullptr;
#define KILN_FZ_CF(C) fn = cast_from<C>(to);
  KILN_DISPATCH_COMPUTE(from, KILN_FZ_CF)
#undef KILN_FZ_CF
  return fn;
}

InsFn load_fn(int dtype) {
  InsFn fn = nullptr;
#define KILN_FZ_L(T) fn = &ins_load<T>;
  KILN_DISPATCH_ALL(dtype, KILN_FZ_L)
#undef KILN_FZ_L
  return fn;
}
InsFn store_fn(int dtype, bool row) {
  InsFn fn = nullptr;
#define KILN_FZ_S(T) fn = row ? &ins_store_row<T> : &ins_store<T>;
  KILN_DISPATCH_ALL(dtype, KILN_FZ_S)
#undef KILN_FZ_S
  return fn;
}
InsFn const_fn(int dtype) {
  InsFn fn = nullptr;
#define KILN_FZ_K(T) fn = &ins_const<T>;
  KILN_DISPATCH_ALL(dtype, KILN_FZ_K)
#undef KILN_FZ_K
  return fn;
}
InsFn splat_fn(int t) {
  InsFn fn = nullptr;
#define KILN_FZ_P(C) fn = &ins_splat<C>;
  KILN_DISPATCH_COMPUTE(t, KILN_FZ_P)
#undef KILN_FZ_P
  return fn;
}

InsFn spill_fn(int t) {
  InsFn fn = nullptr;
#define KILN_FZ_SP(C) fn = &ins_spill<C>;
  KILN_DISPATCH_COMPUTE(t, KILN_FZ_SP)
#undef KILN_FZ_SP
  return fn;
}
InsFn fill_fn(int t) {
  InsFn fn = nullptr;
#define KILN_FZ_FI(C) fn = &ins_fill<C>;
  KILN_DISPATCH_COMPUTE(t, KILN_FZ_FI)
#undef KILN_FZ_FI
  return fn;
}

void acc_fns(AccDef& a, InsFn* reduce, InsFn* get) {
  *reduce = *get = nullptr;
  with_reduce(a.op, [&](auto opc) {
    constexpr ReduceOp OP = decltype(opc)::value;
#define KILN_FZ_A(C)                                                                           \
  if constexpr (!((OP == ReduceOp::sum || OP == ReduceOp::prod) && std::is_same_v<C, bool>)) { \
    *reduce = &ins_reduce<C, OP>;                                                              \
    *get = &ins_accget<C, OP>;                                                                 \
    a.init = &Acc<C, OP>::init;                                                                \
    a.merge = &Acc<C, OP>::merge;                                                              \
  }
    KILN_DISPATCH_COMPUTE(a.type, KILN_FZ_A)
#undef KILN_FZ_A
  });
}

// ---- program parsing and validation ----------------------------------------------------------

struct Reader {
  const double* w;
  size_t n, pos = 0;
  int64_t integer(const char* what, int64_t lo, int64_t hi) {
    if (pos >= n) fail("[compileProgram] program ends early while reading ", what, " at word ", pos);
    double v = w[pos++];
    if (!(v == std::floor(v)) || v < (double)lo || v > (double)hi)
      fail("[compileProgram] invalid ", what, " ", v, " at word ", pos - 1, " (expected an integer in [", lo, ", ", hi,
           "])");
    return (int64_t)v;
  }
  double number(const char* what) {
    if (pos >= n) fail("[compileProgram] program ends early while reading ", what, " at word ", pos);
    return w[pos++];
  }
};

const char* code_name(int c) {
  static const char* names[] = {"load",  "store", "const",  "splat",  "unary", "binary",
                                "where", "cast",  "reduce", "accget", "spill", "fill"};
  return c >= 0 && c < kFzCodes ? names[c] : "invalid";
}

enum Section { kSetup, kBody, kFinish, kInit };

// Whether a body instruction reads block register r.
bool reads_reg(const Ins& I, int32_t r) {
  switch (I.code) {
    case kFzStore: return I.b == r;
    case kFzUnary:
    case kFzCast:
    case kFzReduce:
    case kFzSpill: return I.a == r;
    case kFzBinary: return (I.a == r && I.row_operand != 0) || (I.b == r && I.row_operand != 1);
    case kFzWhere: return I.a == r || I.b == r || I.c == r;
    default: return false;
  }
}

// The value an init constant instruction puts in its register's lanes.
double const_value(const Ins& I) {
  double v = 0;
#define KILN_FZ_CV(T) v = (double)to_compute(from_value<T>(I.imm));
  KILN_DISPATCH_ALL(I.op, KILN_FZ_CV)
#undef KILN_FZ_CV
  return v;
}

// Whether an instruction of a setup or body writes block register dst.
bool writes_block(const Ins& I) {
  switch (I.code) {
    case kFzLoad:
    case kFzConst:
    case kFzSplat:
    case kFzUnary:
    case kFzBinary:
    case kFzWhere:
    case kFzCast:
    case kFzFill: return !I.row;
    default: return false;
  }
}

// Float32 binary ops of a body with one operand an init constant (a block register nothing else
// writes) broadcast it instead of loading a block of it, and a division by a power of two becomes
// the multiplication by its reciprocal (exact: the same bits). Likewise an operand splatted from a
// row value in the phase's setup is read from the row register (which the body does not change),
// and a splat nothing reads any more is dropped.
void use_scalars(Program& P) {
  if (!avx2()) return;
  const size_t nb = P.breg.size();
  std::vector<int> writers(nb, 0);
  std::vector<double> value(nb, 0);
  std::vector<char> from_init(nb, 0);
  for (const Ins& I : P.init) {
    from_init[I.dst] = 1;
    value[I.dst] = const_value(I);
    writers[I.dst]++;
  }
  for (const Phase& ph : P.phases)
    for (const std::vector<Ins>* list : {&ph.setup, &ph.body})
      for (const Ins& I : *list)
        if (writes_block(I)) writers[I.dst]++;
  auto is_const = [&](int32_t r) { return from_init[r] && writers[r] == 1 && P.breg[r] == kFloat32; };
  for (Phase& ph : P.phases) {
    for (Ins& I : ph.body) {
      if (I.code != kFzBinary || P.breg[I.a] != kFloat32) continue;
      const bool ca = is_const(I.a), cb = is_const(I.b);
      if (ca == cb) continue;
      int op = I.op;
      float c = (float)value[ca ? I.a : I.b];
      int e = 0;
      if (op == (int)BinaryOp::divide && cb && std::isfinite(c) && std::fabs(std::frexp(c, &e)) == 0.5f && e >= -125) {
        op = (int)BinaryOp::multiply;  // c = ±2^(e-1), so 1/c is exact
        c = 1.0f / c;
      }
      if (InsFn fn = scalar_fn(op, ca)) {
        I.fn = fn;
        I.scalar = c;
      }
    }
  }
  for (Phase& ph : P.phases) {
    // block register -> row register it is splatted from, where the splat is its phase's only writer
    std::vector<int> phase_writers(nb, 0);
    for (const std::vector<Ins>* list : {&ph.setup, &ph.body})
      for (const Ins& I : *list)
        if (writes_block(I)) phase_writers[I.dst]++;
    std::vector<int32_t> row_of(nb, -1);
    for (const Ins& I : ph.setup)
      if (I.code == kFzSplat && phase_writers[I.dst] == 1 && P.breg[I.dst] == kFloat32) row_of[I.dst] = I.a;
    for (Ins& I : ph.body) {
      if (I.code != kFzBinary || P.breg[I.a] != kFloat32 || I.fn == nullptr) continue;
      const bool ra = row_of[I.a] >= 0, rb = row_of[I.b] >= 0;
      if (ra == rb || is_const(I.a) || is_const(I.b)) continue;
      if (InsFn fn = scalar_fn(I.op, ra)) {
        I.fn = fn;
        I.scalar_row = (int32_t)((int64_t)row_of[ra ? I.a : I.b] * kRowBytes);
        I.row_operand = ra ? 0 : 1;
      }
    }
  }
  // a splat is dropped when neither its phase nor a later one reads its register
  std::vector<int> readers(nb, 0);
  for (size_t p = P.phases.size(); p-- > 0;) {
    Phase& ph = P.phases[p];
    for (const std::vector<Ins>* list : {&ph.setup, &ph.body})
      for (const Ins& I : *list)
        for (int32_t r : {I.a, I.b, I.c})
          if (r >= 0 && r < (int32_t)nb && reads_reg(I, r)) readers[r]++;
    ph.setup.erase(std::remove_if(ph.setup.begin(), ph.setup.end(),
                                  [&](const Ins& I) { return I.code == kFzSplat && readers[I.dst] == 0; }),
                   ph.setup.end());
  }
}

std::shared_ptr<Program> parse_program(const double* words, size_t n) {
  Reader r{words, n};
  auto P = std::make_shared<Program>();
  if (r.integer("version", 2, 2) != 2) fail("[compileProgram] unsupported program version");
  P->n_in = (int)r.integer("input count", 0, 63);
  P->n_out = (int)r.integer("output count", 1, 64 - P->n_in);
  P->ndim = (int)r.integer("ndim", 0, kMaxDims);
  P->nred = (int)r.integer("reduced dims", 0, P->ndim);
  int nb = (int)r.integer("block register count", 0, kMaxRegs);
  int nr = (int)r.integer("row register count", 0, kMaxRegs);
  int na = (int)r.integer("accumulator count", 0, kMaxAccs);
  int np = (int)r.integer("phase count", 1, kMaxPhases);
  int ns = (int)r.integer("spill slot count", 0, kMaxRegs);
  int ni = (int)r.integer("init instruction count", 0, kMaxInstrs);
  if (P->nred == 0 && (np != 1 || na != 0 || ns != 0))
    fail("[compileProgram] an elementwise program (no reduced dims) has one phase, no accumulators and no spill slots");
  for (int i = 0; i < P->n_in; i++) P->in_dtype.push_back((int)r.integer("input dtype", 0, kNumDtypes - 1));
  for (int i = 0; i < P->n_out; i++) P->out_dtype.push_back((int)r.integer("output dtype", 0, kNumDtypes - 1));
  for (int i = 0; i < P->n_out; i++) {
    P->out_kind.push_back((int)r.integer("output kind", 0, 1));
    if (P->out_kind.back() == 1 && P->nred == 0)
      fail("[compileProgram] output ", i, " is a row output but the program reduces nothing");
  }
  auto reg_type = [&](const char* what) {
    int t = (int)r.integer(what, 0, kNumDtypes - 1);
    if (!is_compute_dtype(t))
      fail("[compileProgram] ", what, " ", dtype_name(t), " is not a compute type (16-bit floats compute in float32)");
    return t;
  };
  for (int i = 0; i < nb; i++) P->breg.push_back(reg_type("block register type"));
  for (int i = 0; i < nr; i++) P->rreg.push_back(reg_type("row register type"));
  P->block = block_for(nb, std::count(P->out_kind.begin(), P->out_kind.end(), 0) > 0);
  int64_t off = 0;
  for (int t : P->breg) {
    P->boff.push_back(off);
    off += (P->block * dtype_size(t) + 63) / 64 * 64;
  }
  P->bbytes = off;
  P->rbytes = (int64_t)nr * kRowBytes;
  std::vector<InsFn> acc_reduce(na), acc_get(na);
  for (int i = 0; i < na; i++) {
    AccDef a;
    a.op = (int)r.integer("accumulator op", 0, (int)ReduceOp::kCount - 1);
    a.type = reg_type("accumulator type");
    acc_fns(a, &acc_reduce[i], &acc_get[i]);
    if (!acc_reduce[i])
      fail("[compileProgram] accumulator ", i, ": reduce op ", a.op, " does not support ", dtype_name(a.type));
    P->accs.push_back(a);
  }
  for (int i = 0; i < ns; i++) P->spill.push_back(reg_type("spill slot type"));
  std::vector<int> stored(P->n_out, 0);
  int total = ni;
  // one instruction of section s (phase p), validated against the registers it names
  auto read_ins = [&](int s, int p) -> Ins {
    Ins I;
    I.code = (int)r.integer("instruction code", 0, kFzCodes - 1);
    double opd = r.number("instruction op"), dd = r.number("dst"), ad = r.number("a"), bd = r.number("b"),
           cd = r.number("c");
    I.imm = r.number("immediate");
    auto as_int = [&](double v, const char* what) {
      if (!(v == std::floor(v)) || v < -1 || v > 1e9)
        fail("[compileProgram] ", code_name(I.code), ": invalid ", what, " ", v);
      return (int32_t)v;
    };
    I.op = as_int(opd, "op");
    I.dst = as_int(dd, "dst");
    I.a = as_int(ad, "a");
    I.b = as_int(bd, "b");
    I.c = as_int(cd, "c");
    const bool row = s == kFinish;
    if (s == kInit && I.code != kFzConst)
      fail("[compileProgram] init instructions are constants, got ", code_name(I.code));
    I.row = row;
    const char* cn = code_name(I.code);
    // register index checks; returns the register's type
    auto breg = [&](int32_t i, const char* what) {
      if (i < 0 || i >= nb)
        fail("[compileProgram] ", cn, ": ", what, " block register ", i, " out of range (", nb, ")");
      return P->breg[i];
    };
    auto rreg = [&](int32_t i, const char* what) {
      if (i < 0 || i >= nr) fail("[compileProgram] ", cn, ": ", what, " row register ", i, " out of range (", nr, ")");
      return P->rreg[i];
    };
    auto any_reg = [&](int32_t i, const char* what) { return row ? rreg(i, what) : breg(i, what); };
    auto off_of = [&](int32_t i) { return row ? (int64_t)i * kRowBytes : P->boff[i]; };
    auto need = [&](bool ok, const char* why) {
      if (!ok) fail("[compileProgram] phase ", p, ": ", cn, " ", why);
    };
    switch (I.code) {
      case kFzLoad: {
        need(s == kBody, "is only allowed in a body");
        need(I.a >= 0 && I.a < P->n_in, "reads an input out of range");
        int dt = P->in_dtype[I.a];
        need(breg(I.dst, "dst") == compute_dtype(dt), "register type does not match the input dtype");
        I.fn = load_fn(dt);
        I.od = off_of(I.dst);
        break;
      }
      case kFzStore: {
        need(s != kSetup, "is not allowed in a setup");
        need(I.a >= 0 && I.a < P->n_out, "writes an output out of range");
        int dt = P->out_dtype[I.a];
        need(P->out_kind[I.a] == (row ? 1 : 0),
             row ? "in a finish must write a row output" : "in a body must write a full output");
        need(any_reg(I.b, "source") == compute_dtype(dt), "register type does not match the output dtype");
        need(++stored[I.a] == 1, "writes an output a second time");
        I.fn = store_fn(dt, row);
        I.ob = off_of(I.b);
        I.a += P->n_in;  // operand index: outputs follow the inputs
        break;
      }
      case kFzConst: {
        need(s != kBody, "belongs in an init, setup or finish");
        need(I.op >= 0 && I.op < kNumDtypes, "has an invalid dtype");
        need(any_reg(I.dst, "dst") == compute_dtype(I.op), "register type does not match its dtype");
        I.fn = const_fn(I.op);
        I.od = off_of(I.dst);
        break;
      }
      case kFzSplat: {
        need(s == kSetup, "is only allowed in a setup");
        int t = rreg(I.a, "source");
        need(breg(I.dst, "dst") == t, "copies between registers of different types");
        I.fn = splat_fn(t);
        I.od = off_of(I.dst);
        I.oa = (int64_t)I.a * kRowBytes;
        break;
      }
      case kFzUnary: {
        need(I.op >= 0 && I.op < (int)UnaryOp::kCount, "has an invalid op code");
        int t = any_reg(I.a, "source");
        bool pred = false;
        I.fn = unary_fn(I.op, t, &pred, &I.streams);
        if (!I.fn) fail("[compileProgram] unary op ", I.op, " does not support ", dtype_name(t));
        need(any_reg(I.dst, "dst") == (pred ? (int)kBool : t), "has a dst register of the wrong type");
        I.od = off_of(I.dst);
        I.oa = off_of(I.a);
        break;
      }
      case kFzBinary: {
        need(I.op >= 0 && I.op < (int)BinaryOp::kCount, "has an invalid op code");
        int t = any_reg(I.a, "first operand");
        need(any_reg(I.b, "second operand") == t, "operands differ in type");
        bool pred = false;
        I.fn = binary_fn(I.op, t, &pred, &I.streams);
        if (!I.fn) fail("[compileProgram] binary op ", I.op, " does not support ", dtype_name(t));
        need(any_reg(I.dst, "dst") == (pred ? (int)kBool : t), "has a dst register of the wrong type");
        I.od = off_of(I.dst);
        I.oa = off_of(I.a);
        I.ob = off_of(I.b);
        break;
      }
      case kFzWhere: {
        need(any_reg(I.a, "condition") == kBool, "needs a bool condition");
        int t = any_reg(I.b, "x");
        need(any_reg(I.c, "y") == t && any_reg(I.dst, "dst") == t, "mixes register types");
        I.fn = where_fn(t);
        I.od = off_of(I.dst);
        I.oa = off_of(I.a);
        I.ob = off_of(I.b);
        I.oc = off_of(I.c);
        break;
      }
      case kFzCast: {
        need(I.op >= 0 && I.op < kNumDtypes, "has an invalid dtype");
        int t = any_reg(I.a, "source");
        need(any_reg(I.dst, "dst") == compute_dtype(I.op), "has a dst register that does not match its dtype");
        I.fn = cast_fn(t, I.op);
        I.od = off_of(I.dst);
        I.oa = off_of(I.a);
        break;
      }
      case kFzReduce: {
        need(s == kBody, "is only allowed in a body");
        need(I.dst >= 0 && I.dst < na, "names an accumulator out of range");
        need(breg(I.a, "source") == P->accs[I.dst].type, "register type differs from the accumulator's");
        I.fn = acc_reduce[I.dst];
        I.oa = off_of(I.a);
        break;
      }
      case kFzAccGet: {
        need(s == kFinish, "is only allowed in a finish");
        need(I.a >= 0 && I.a < na, "names an accumulator out of range");
        const AccDef& a = P->accs[I.a];
        bool logic = a.op == (int)ReduceOp::all || a.op == (int)ReduceOp::any;
        need(rreg(I.dst, "dst") == (logic ? (int)kBool : a.type), "has a dst register of the wrong type");
        I.fn = acc_get[I.a];
        I.od = off_of(I.dst);
        break;
      }
      case kFzSpill: {
        need(s == kBody, "is only allowed in a body");
        need(I.dst >= 0 && I.dst < ns, "names a spill slot out of range");
        need(breg(I.a, "source") == P->spill[I.dst], "register type differs from the slot's");
        I.fn = spill_fn(P->spill[I.dst]);
        break;
      }
      case kFzFill: {
        need(s == kBody, "is only allowed in a body");
        need(I.a >= 0 && I.a < ns, "names a spill slot out of range");
        need(breg(I.dst, "dst") == P->spill[I.a], "register type differs from the slot's");
        I.fn = fill_fn(P->spill[I.a]);
        break;
      }
      default: break;
    }
    return I;
  };
  for (int k = 0; k < ni; k++) P->init.push_back(read_ins(kInit, -1));
  for (int p = 0; p < np; p++) {
    Phase ph;
    int64_t counts[3];
    for (int s = 0; s < 3; s++) counts[s] = r.integer("instruction count", 0, kMaxInstrs);
    total += (int)(counts[0] + counts[1] + counts[2]);
    if (total > kMaxInstrs) fail("[compileProgram] too many instructions (", total, ")");
    if (P->nred == 0 && counts[2] != 0) fail("[compileProgram] an elementwise program has no finish instructions");
    for (int s = 0; s < 3; s++) {
      std::vector<Ins>& list = s == kSetup ? ph.setup : s == kBody ? ph.body : ph.finish;
      for (int64_t k = 0; k < counts[s]; k++) list.push_back(read_ins(s, p));
    }
    // bind each full store's value to its output (see run_body): the last writer of the stored
    // register, when it is an arithmetic instruction and the output's storage is the compute type
    for (size_t k = 0; k < ph.body.size(); k++) {
      const Ins& st = ph.body[k];
      if (st.code != kFzStore) continue;
      int dt = P->out_dtype[st.a - P->n_in];
      if (dt == kFloat16 || dt == kBfloat16 || dt == kBool) continue;
      for (size_t j = k; j-- > 0;) {
        Ins& w = ph.body[j];
        bool writes = w.code != kFzStore && w.code != kFzReduce && w.code != kFzSpill && w.dst == st.b;
        if (!writes) continue;
        if (w.code == kFzUnary || w.code == kFzBinary || w.code == kFzWhere || w.code == kFzCast) {
          w.bind = st.a;
          w.bind_size = (int32_t)dtype_size(dt);
          w.stream_ok = w.streams;
          for (size_t q = j + 1; q < ph.body.size() && w.stream_ok; q++)
            w.stream_ok = q == k || !reads_reg(ph.body[q], st.b);
        }
        break;
      }
    }
    // likewise each spilled value goes straight into its slot (slots are padded past the row's
    // end, so whole vectors fit), unless its writer already writes an output
    for (size_t k = 0; k < ph.body.size(); k++) {
      const Ins& sp = ph.body[k];
      if (sp.code != kFzSpill) continue;
      for (size_t j = k; j-- > 0;) {
        Ins& w = ph.body[j];
        if (!writes_block(w) || w.dst != sp.a) continue;
        if ((w.code == kFzUnary || w.code == kFzBinary || w.code == kFzWhere || w.code == kFzCast) && w.bind < 0) {
          w.spill_bind = sp.dst;
          w.spill_size = (int32_t)dtype_size(P->spill[sp.dst]);
        }
        break;
      }
    }
    P->phases.push_back(std::move(ph));
  }
  if (r.pos != n) fail("[compileProgram] ", n - r.pos, " words after the end of the program");
  for (int i = 0; i < P->n_out; i++)
    if (stored[i] != 1) fail("[compileProgram] output ", i, " is never written");
  use_scalars(*P);
  return P;
}

// ---- registry --------------------------------------------------------------------------------

std::mutex registry_mu;
std::unordered_map<int64_t, std::shared_ptr<const Program>>& registry() {
  static auto* m = new std::unordered_map<int64_t, std::shared_ptr<const Program>>();
  return *m;
}
int64_t next_handle = 1;

std::shared_ptr<const Program> find_program(const Command& c) {
  double h = c.params.at(0);
  std::lock_guard<std::mutex> g(registry_mu);
  auto it = registry().find((int64_t)h);
  if (!(h == std::floor(h)) || it == registry().end()) fail("[fused] unknown or released program handle ", h);
  return it->second;
}

// ---- execution -------------------------------------------------------------------------------

// Per-thread register files (grow-only, zeroed when grown so unused lanes hold finite values).
char* scratch(int64_t bytes, int which) {
  static thread_local std::unique_ptr<char[]> mem[3];
  static thread_local int64_t size[3] = {0, 0, 0};
  if (bytes + 64 > size[which]) {
    size[which] = bytes + 64;
    mem[which].reset(new char[size[which]]());
  }
  return reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(mem[which].get()) + 63) & ~uintptr_t(63));
}

// Merges dims [d0, d1) of the operands (skipping size-1 dims) where every operand is contiguous
// across the pair; writes the merged shape and per-operand strides.
int merge_dims(const Command& c, int d0, int d1, int64_t* shape, int64_t (OpGeom::*strides)[kMaxDims],
               std::vector<OpGeom>& ops) {
  int m = 0;
  const View& v0 = c.ops[0];
  for (int d = d0; d < d1; d++) {
    int64_t n = v0.shape[d];
    if (n == 1) continue;
    bool merge = m > 0;
    for (size_t k = 0; k < ops.size() && merge; k++) merge = (ops[k].*strides)[m - 1] == c.ops[k].strides[d] * n;
    if (merge) {
      shape[m - 1] *= n;
      for (size_t k = 0; k < ops.size(); k++) (ops[k].*strides)[m - 1] = c.ops[k].strides[d];
    } else {
      shape[m] = n;
      for (size_t k = 0; k < ops.size(); k++) (ops[k].*strides)[m] = c.ops[k].strides[d];
      m++;
    }
  }
  return m;
}

Geom make_geom(const Command& c, const Program& P) {
  Geom g;
  g.op.resize(c.ops.size());
  const int nk = P.nred == 0 ? 0 : P.ndim - P.nred;  // elementwise: one row over every dim
  g.no = merge_dims(c, 0, nk, g.oshape, &OpGeom::ostr, g.op);
  g.ni = merge_dims(c, nk, P.ndim, g.ishape, &OpGeom::istr, g.op);
  for (int d = 0; d < g.no; d++) g.rows *= g.oshape[d];
  for (int d = 0; d < g.ni; d++) g.inner *= g.ishape[d];
  for (size_t k = 0; k < c.ops.size(); k++) {
    OpGeom& o = g.op[k];
    o.base = c.ops[k].data();
    bool flat = true, zero = true;
    int64_t expect = 1;
    for (int d = g.ni - 1; d >= 0; d--) {
      flat = flat && o.istr[d] == expect;
      zero = zero && o.istr[d] == 0;
      expect *= g.ishape[d];
    }
    o.kind = flat ? 0 : zero ? 1 : 2;
    if (o.kind == 2) g.need_idx = true;
  }
  return g;
}

// Points a frame's block registers at this thread's scratch.
void bind_block(Frame& F, const Program& P, std::vector<char*>& ptrs) {
  char* blk = scratch(P.bbytes, 0);
  const size_t nb = P.boff.size();
  ptrs.assign(3 * nb + 1, nullptr);
  for (size_t r = 0; r < nb; r++) ptrs[r] = ptrs[nb + r] = ptrs[2 * nb + r] = blk + P.boff[r];
  F.bp = ptrs.data();
  F.bfix = ptrs.data() + nb;
  F.bscr = ptrs.data() + 2 * nb;
}

// The last instruction that computes a stored value writes straight into a contiguous output of
// the same element type (whole vectors only), and the store then has nothing to copy. Into large
// outputs (Geom::stream) that write is non-temporal where the instruction can do it; otherwise it
// writes its scratch and the store streams the copy.
inline void run_body(const std::vector<Ins>& list, Frame& F, int64_t n) {
  for (const Ins& I : list) {
    if (I.spill_bind >= 0) F.bfix[I.dst] = F.spill + I.spill_bind * F.spill_stride + F.f0 * I.spill_size;
    if (I.bind >= 0 && (n & 7) == 0 && (!F.g->stream || I.stream_ok)) {
      const OpGeom& o = F.g->op[I.bind];
      if (o.kind == 0) {
        char* d = o.base + (F.rowoff[I.bind] + F.f0) * I.bind_size;
        F.bfix[I.dst] = d;
        if (F.g->stream && (reinterpret_cast<uintptr_t>(d) & 31) == 0) {
          F.stream_to = d;
          I.fn(I, F, n);
          F.stream_to = nullptr;
          continue;
        }
      }
    }
    I.fn(I, F, n);
  }
}

// Non-temporal stores are weakly ordered: each task fences its own before it reports done.
inline void stream_fence(const Geom& g) {
#if KILN_SIMD
  if (g.stream) _mm_sfence();
#else
  (void)g;
#endif
}

// Element offsets of row r, per operand.
inline void row_offsets(const Geom& g, int64_t r, int64_t* off) {
  const size_t nops = g.op.size();
  for (size_t k = 0; k < nops; k++) off[k] = 0;
  for (int d = g.no - 1; d >= 0; d--) {
    int64_t i = r % g.oshape[d];
    r /= g.oshape[d];
    if (i)
      for (size_t k = 0; k < nops; k++) off[k] += i * g.op[k].ostr[d];
  }
}
inline void seek_row(Frame& F, int64_t r) { row_offsets(*F.g, r, F.rowoff); }

// While a block of this row's last phase runs, the same block of the next row's contiguous
// inputs is fetched: rows of multi-phase programs are read in bursts the hardware prefetcher
// does not anticipate, so the first phase of each row would otherwise wait on memory.
inline void prefetch_next(const Frame& F, int64_t n) {
#if KILN_SIMD
  for (const auto& [k, size] : F.g->prefetch) {
    const char* p = F.g->op[k].base + (F.next_row[k] + F.f0) * size;
    for (int64_t off = 0; off < n * size; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
  }
#else
  (void)F;
  (void)n;
#endif
}

inline void seek_inner(Frame& F, int64_t f) {
  const Geom& g = *F.g;
  for (int d = g.ni - 1; d >= 0; d--) {
    F.idx[d] = f % g.ishape[d];
    f /= g.ishape[d];
  }
}

inline void run_list(const std::vector<Ins>& list, Frame& F, int64_t n) {
  for (const Ins& I : list) I.fn(I, F, n);
}

// Runs the body over inner blocks [b0, b1) of the current row.
inline void run_blocks(const Phase& ph, Frame& F, int64_t b0, int64_t b1, int64_t B) {
  const int64_t inner = F.g->inner;
  for (int64_t b = b0; b < b1; b++) {
    F.f0 = b * B;
    const int64_t n = std::min(B, inner - F.f0);
    if (F.g->need_idx) seek_inner(F, F.f0);
    run_body(ph.body, F, n);
    if (F.next_row) prefetch_next(F, n);
  }
}

void run_program(const Program& P, const Geom& g) {
  const int64_t inner = g.inner, rows = g.rows;
  if (rows == 0) return;
  const int64_t B = P.block;
  const int64_t nblocks = (inner + B - 1) / B;
  const size_t na = P.accs.size();
  if (P.nred == 0) {
    if (inner == 0) return;
    parallel_for(nblocks, std::max<int64_t>(1, (1 << 15) / B), [&](int64_t b, int64_t e) {
      Frame F;
      F.g = &g;
      std::vector<char*> ptrs;
      bind_block(F, P, ptrs);
      F.row = scratch(P.rbytes, 1);
      run_list(P.init, F, B);
      run_list(P.phases[0].setup, F, B);
      run_blocks(P.phases[0], F, b, e, B);
      stream_fence(g);
    });
    return;
  }
  // setups fill only as many lanes as a row's blocks use
  const int64_t sn = std::max<int64_t>(8, std::min<int64_t>(B, (inner + 7) & ~int64_t(7)));
  const int64_t stride = ((inner + B) * 8 + 63) / 64 * 64;
  const int64_t spill_bytes = (int64_t)P.spill.size() * stride;
  const int nt = num_threads();
  if (rows >= 2 * nt || inner < (1 << 15) || nt == 1) {
    // whole rows per task: every phase of a row runs on one thread while the row is in cache
    parallel_for(rows, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
      Frame F;
      F.g = &g;
      std::vector<char*> ptrs;
      bind_block(F, P, ptrs);
      F.row = scratch(P.rbytes, 1);
      F.spill = scratch(spill_bytes, 2);
      F.spill_stride = stride;
      std::vector<uint64_t> acc(na + 1);
      F.acc = acc.data();
      run_list(P.init, F, B);
      int64_t next[64];
      for (int64_t r = b; r < e; r++) {
        seek_row(F, r);
        const bool ahead = !g.prefetch.empty() && r + 1 < e;
        if (ahead) row_offsets(g, r + 1, next);
        for (size_t a = 0; a < na; a++) P.accs[a].init(F.acc + a);
        for (const Phase& ph : P.phases) {
          run_list(ph.setup, F, sn);
          F.next_row = ahead && &ph == &P.phases.back() ? next : nullptr;
          run_blocks(ph, F, 0, nblocks, B);
          F.next_row = nullptr;
          run_list(ph.finish, F, 1);
        }
      }
      stream_fence(g);
    });
    return;
  }
  // few long rows: each phase of a row is split into chunks of blocks with partial accumulators,
  // merged in chunk order (deterministic) before the phase's finish
  Frame F;
  F.g = &g;
  std::unique_ptr<char[]> rowfile(new char[P.rbytes + 64]());
  F.row = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(rowfile.get()) + 63) & ~uintptr_t(63));
  std::unique_ptr<char[]> spills(new char[spill_bytes + 64]());
  F.spill = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(spills.get()) + 63) & ~uintptr_t(63));
  F.spill_stride = stride;
  std::vector<uint64_t> acc(na + 1);
  F.acc = acc.data();
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(4 * nt, nblocks / 16));
  const int64_t per = (nblocks + chunks - 1) / chunks;
  std::vector<uint64_t> part(chunks * (na + 1));
  for (int64_t r = 0; r < rows; r++) {
    seek_row(F, r);
    for (size_t a = 0; a < na; a++) P.accs[a].init(F.acc + a);
    for (const Phase& ph : P.phases) {
      for (int64_t ch = 0; ch < chunks; ch++)
        for (size_t a = 0; a < na; a++) P.accs[a].init(part.data() + ch * (na + 1) + a);
      parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
        Frame T = F;
        std::vector<char*> ptrs;
        bind_block(T, P, ptrs);
        run_list(P.init, T, B);
        for (int64_t ch = cb; ch < ce; ch++) {
          T.acc = part.data() + ch * (na + 1);
          run_list(ph.setup, T, sn);
          run_blocks(ph, T, ch * per, std::min(nblocks, (ch + 1) * per), B);
        }
        stream_fence(g);
      });
      for (int64_t ch = 0; ch < chunks; ch++)
        for (size_t a = 0; a < na; a++) P.accs[a].merge(F.acc + a, part.data() + ch * (na + 1) + a);
      run_list(ph.finish, F, 1);
    }
  }
}

}  // namespace
}  // namespace fz

int64_t fused_compile(const double* words, size_t n) {
  auto P = fz::parse_program(words, n);
  std::lock_guard<std::mutex> g(fz::registry_mu);
  int64_t h = fz::next_handle++;
  fz::registry()[h] = std::move(P);
  return h;
}

void fused_release(int64_t handle) {
  std::lock_guard<std::mutex> g(fz::registry_mu);
  fz::registry().erase(handle);
}

void check_fused(const Command& c) {
  auto P = fz::find_program(c);
  const int nops = (int)c.ops.size();
  if (nops != P->n_in + P->n_out)
    fail("[fused] the program has ", P->n_in, " inputs and ", P->n_out, " outputs, got ", nops, " operands");
  const View& v0 = c.ops[0];
  const int nk = P->ndim - P->nred;
  for (int k = 0; k < nops; k++) {
    const View& v = c.ops[k];
    bool out = k >= P->n_in;
    int want = out ? P->out_dtype[k - P->n_in] : P->in_dtype[k];
    if (v.dtype != want) fail("[fused] operand ", k, " must be ", dtype_name(want), ", got ", v.describe());
    bool same = v.ndim == P->ndim;
    for (int d = 0; same && d < v.ndim; d++) same = v.shape[d] == v0.shape[d];
    if (!same)
      fail("[fused] every operand has the iteration shape: operand ", k, " is ", v.describe(), ", operand 0 is ",
           v0.describe());
    if (!out || v.size == 0) continue;
    bool row = P->out_kind[k - P->n_in] == 1;
    for (int d = 0; d < v.ndim; d++) {
      if (v.shape[d] <= 1) continue;
      bool reduced = d >= nk;
      if (!row || !reduced) {
        if (v.strides[d] == 0) fail("[fused] output ", v.describe(), " has a zero stride");
      } else if (v.strides[d] != 0) {
        fail("[fused] row output ", v.describe(), " must have zero strides on the reduced dims");
      }
    }
  }
}

int32_t fused_input_count(const Command& c) { return fz::find_program(c)->n_in; }

void run_fused(const Command& c) {
  auto P = fz::find_program(c);
  fz::Geom g = fz::make_geom(c, *P);
  int64_t out_bytes = 0;
  for (size_t k = P->n_in; k < c.ops.size(); k++) out_bytes += c.ops[k].size * dtype_size(c.ops[k].dtype);
  g.stream = out_bytes >= fz::kStreamBytes && fz::avx2();
  // rows of multi-phase programs (long enough to be worth it) fetch the next row's inputs ahead
  if (P->phases.size() >= 2 && g.inner * 4 >= fz::kPrefetchRowBytes)
    for (int k = 0; k < P->n_in; k++)
      if (g.op[k].kind == 0) g.prefetch.emplace_back(k, (int)dtype_size(P->in_dtype[k]));
  fz::run_program(*P, g);
}

}  // namespace kiln
