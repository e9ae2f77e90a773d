// copy (strided gather + dtype cast between any views), fill, arange, free.
#include <cstring>
#include "kernels.h"
#include "../strided.h"

namespace kiln {

void check_copy(const Command& c) { expect_same_shape(c, c.in(0), c.out(), "input and output"); }

template <typename S, typename D> static void copy_typed(const Command& c) {
  auto ord = memory_order<2>({&c.in(0), &c.out()});  // the densest dim innermost
  auto L = make_loop<2>({&ord[0], &ord[1]});
  const S* src = reinterpret_cast<const S*>(c.in(0).buf->data);
  D* dst = reinterpret_cast<D*>(c.out().buf->data);
  for_each_row<2>(L, [&](const int64_t* off, int64_t n, const int64_t* st) {
    const S* s = src + off[0];
    D* d = dst + off[1];
    if constexpr (std::is_same_v<S, D>) {
      if (st[0] == 1 && st[1] == 1) {
        std::memcpy(d, s, n * sizeof(S));
        return;
      }
      for (int64_t i = 0; i < n; i++) d[i * st[1]] = s[i * st[0]];
    } else {
      for (int64_t i = 0; i < n; i++) d[i * st[1]] = from_value<D>(to_compute(s[i * st[0]]));
    }
  });
}

template <typename S> static void copy_from(const Command& c) {
#define KILN_COPY_TO(D) copy_typed<S, D>(c)
  KILN_DISPATCH_ALL(c.out().dtype, KILN_COPY_TO)
#undef KILN_COPY_TO
}

// complex64 is a pair of floats: complex->complex moves 8 bytes, real->complex sets im = 0,
// complex->real keeps the real part (numpy's astype, which warns; MLX's astype).
struct cfloat_pair {
  float re, im;
};

template <typename S> static void copy_to_complex(const Command& c) {
  auto ord = memory_order<2>({&c.in(0), &c.out()});
  auto L = make_loop<2>({&ord[0], &ord[1]});
  const S* src = reinterpret_cast<const S*>(c.in(0).buf->data);
  cfloat_pair* dst = reinterpret_cast<cfloat_pair*>(c.out().buf->data);
  for_each_row<2>(L, [&](const int64_t* off, int64_t n, const int64_t* st) {
    for (int64_t i = 0; i < n; i++)
      dst[off[1] + i * st[1]] = cfloat_pair{from_value<float>(to_compute(src[off[0] + i * st[0]])), 0.0f};
  });
}

template <typename D> static void copy_from_complex(const Command& c) {
  auto ord = memory_order<2>({&c.in(0), &c.out()});
  auto L = make_loop<2>({&ord[0], &ord[1]});
  const cfloat_pair* src = reinterpret_cast<const cfloat_pair*>(c.in(0).buf->data);
  D* dst = reinterpret_cast<D*>(c.out().buf->data);
  for_each_row<2>(L, [&](const int64_t* off, int64_t n, const int64_t* st) {
    for (int64_t i = 0; i < n; i++) dst[off[1] + i * st[1]] = from_value<D>(src[off[0] + i * st[0]].re);
  });
}

void run_copy(const Command& c) {
  const int si = c.in(0).dtype, so = c.out().dtype;
  if (si == kComplex64 && so == kComplex64) {
    copy_typed<uint64_t, uint64_t>(c);
    return;
  }
  if (so == kComplex64) {
#define KILN_COPY_C(S) copy_to_complex<S>(c)
    KILN_DISPATCH_ALL(si, KILN_COPY_C)
#undef KILN_COPY_C
    return;
  }
  if (si == kComplex64) {
#define KILN_COPY_R(D) copy_from_complex<D>(c)
    KILN_DISPATCH_ALL(so, KILN_COPY_R)
#undef KILN_COPY_R
    return;
  }
#define KILN_COPY_FROM(S) copy_from<S>(c)
  KILN_DISPATCH_ALL(c.in(0).dtype, KILN_COPY_FROM)
#undef KILN_COPY_FROM
}

void check_fill(const Command&) {}

template <typename T> static void fill_typed(const Command& c, double value) {
  T v = from_value<T>(value);
  auto L = make_loop<1>({&c.out()});
  T* dst = reinterpret_cast<T*>(c.out().buf->data);
  for_each_row<1>(L, [&](const int64_t* off, int64_t n, const int64_t* st) {
    T* d = dst + off[0];
    for (int64_t i = 0; i < n; i++) d[i * st[0]] = v;
  });
}

void run_fill(const Command& c) {
  if (c.out().dtype == kComplex64) {  // a real fill value: (value, 0)
    float v = (float)c.params[0];
    auto L = make_loop<1>({&c.out()});
    cfloat_pair* dst = reinterpret_cast<cfloat_pair*>(c.out().buf->data);
    for_each_row<1>(L, [&](const int64_t* off, int64_t n, const int64_t* st) {
      for (int64_t i = 0; i < n; i++) dst[off[0] + i * st[0]] = cfloat_pair{v, 0.0f};
    });
    return;
  }
#define KILN_FILL(T) fill_typed<T>(c, c.params[0])
  KILN_DISPATCH_ALL(c.out().dtype, KILN_FILL)
#undef KILN_FILL
}

void check_arange(const Command& c) {
  if (c.out().ndim != 1) fail("[arange] output must be 1-d, got ", c.out().describe());
}

template <typename T> static void arange_typed(const Command& c) {
  double start = c.params[0], step = c.params[1];
  const View& o = c.out();
  T* dst = o.ptr<T>();
  int64_t st = o.strides[0];
  parallel_for(o.size, 1 << 15, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) dst[i * st] = from_value<T>(start + (double)i * step);
  });
}

void run_arange(const Command& c) {
#define KILN_ARANGE(T) arange_typed<T>(c)
  KILN_DISPATCH_ALL(c.out().dtype, KILN_ARANGE)
#undef KILN_ARANGE
}

void check_free(const Command& c) {
  double id = c.params[0];
  if (!(id >= 1 && id <= 4294967295.0 && id == (double)(uint32_t)id)) fail("[free] invalid buffer id ", id);
}

void run_free(const Command& c) { Allocator::get().release((uint32_t)c.params[0]); }

}  // namespace kiln
