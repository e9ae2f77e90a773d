// gather / scatter along one axis. The op arranges every operand as a 3-d view [A, N|M, B]:
//   gather:  out[a, m, b] = src[a, idx[a, m, b], b]
//   scatter: out = base; out[a, idx[a, m, b], b] (op)= upd[a, m, b]   (repeated indices apply in order)
// Indices may be negative (counted from the end); any index outside [-N, N) fails the run with
// a clear error before anything is written.
#include <cstring>
#include "kernels.h"
#include "../strided.h"

namespace kiln {

namespace {

bool is_int_dtype(int d) { return d >= kUint8 && d <= kInt64; }

int64_t load_index(const View& v, int64_t off) {
  const char* p = static_cast<const char*>(v.buf->data) + off * dtype_size(v.dtype);
  switch (v.dtype) {
    case kUint8: return *reinterpret_cast<const uint8_t*>(p);
    case kUint16: return *reinterpret_cast<const uint16_t*>(p);
    case kUint32: return *reinterpret_cast<const uint32_t*>(p);
    case kUint64: {
      uint64_t u = *reinterpret_cast<const uint64_t*>(p);
      return u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
    }
    case kInt8: return *reinterpret_cast<const int8_t*>(p);
    case kInt16: return *reinterpret_cast<const int16_t*>(p);
    case kInt32: return *reinterpret_cast<const int32_t*>(p);
    default: return *reinterpret_cast<const int64_t*>(p);
  }
}

void expect_3d(const Command& c, const View& v, const char* what) {
  if (v.ndim != 3) fail("[", kernel_name(c), "] ", what, " must be a 3-d view, got ", v.describe());
}

// Validates and normalises every index; returns them in [A, M, B] row-major order.
std::vector<int64_t> read_indices(const Command& c, const View& idx, int64_t n, const char* op) {
  std::vector<int64_t> out((size_t)idx.size);
  size_t k = 0;
  for (int64_t a = 0; a < idx.shape[0]; a++)
    for (int64_t m = 0; m < idx.shape[1]; m++)
      for (int64_t b = 0; b < idx.shape[2]; b++) {
        int64_t off = idx.offset + a * idx.strides[0] + m * idx.strides[1] + b * idx.strides[2];
        int64_t i = load_index(idx, off);
        if (i < -n || i >= n) fail("[", op, "] index ", i, " is out of bounds for an axis of size ", n);
        out[k++] = i < 0 ? i + n : i;
      }
  (void)c;
  return out;
}

}  // namespace

void check_gather(const Command& c) {
  const View &src = c.in(0), &idx = c.in(1), &out = c.out();
  expect_3d(c, src, "source");
  expect_3d(c, idx, "indices");
  expect_3d(c, out, "output");
  if (!is_int_dtype(idx.dtype)) fail("[gather] indices must be integers, got ", dtype_name(idx.dtype));
  if (src.dtype != out.dtype) fail("[gather] source and output dtypes differ");
  if (idx.shape[1] != out.shape[1] || (idx.shape[0] != out.shape[0] && idx.shape[0] != 1) ||
      (idx.shape[2] != out.shape[2] && idx.shape[2] != 1))
    fail("[gather] indices ", idx.describe(), " do not broadcast to output ", out.describe());
  if (src.shape[0] != out.shape[0] || src.shape[2] != out.shape[2])
    fail("[gather] source ", src.describe(), " does not match output ", out.describe());
}

void run_gather(const Command& c) {
  const View &src = c.in(0), &idx = c.in(1), &out = c.out();
  // indices are checked even when the output is empty, as numpy does
  std::vector<int64_t> ix = read_indices(c, idx, src.shape[1], "take");
  if (out.size == 0) return;
  const int64_t IA = idx.shape[0], IB = idx.shape[2];
  int64_t isz = dtype_size(src.dtype);
  const char* s = static_cast<const char*>(src.buf->data);
  char* o = static_cast<char*>(out.buf->data);
  int64_t M = out.shape[1], B = out.shape[2];
  if (IB == 1 && B > 1 && src.strides[2] == 1 && out.strides[2] == 1) {
    // take of whole rows (an embedding lookup, a paged KV gather): one memcpy per dense row
    parallel_for(out.shape[0] * M, std::max<int64_t>(1, 16384 / B), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        int64_t a = r / M, m = r % M;
        int64_t i = ix[(size_t)((IA == 1 ? 0 : a) * M + m)];
        int64_t so = src.offset + a * src.strides[0] + i * src.strides[1];
        int64_t oo = out.offset + a * out.strides[0] + m * out.strides[1];
        std::memcpy(o + oo * isz, s + so * isz, (size_t)(B * isz));
      }
    });
    return;
  }
  parallel_for(out.shape[0] * M, std::max<int64_t>(1, 4096 / std::max<int64_t>(B, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      int64_t a = r / M, m = r % M;
      for (int64_t b = 0; b < B; b++) {
        int64_t i = ix[(size_t)(((IA == 1 ? 0 : a) * M + m) * IB + (IB == 1 ? 0 : b))];
        int64_t so = src.offset + a * src.strides[0] + i * src.strides[1] + b * src.strides[2];
        int64_t oo = out.offset + a * out.strides[0] + m * out.strides[1] + b * out.strides[2];
        std::memcpy(o + oo * isz, s + so * isz, (size_t)isz);
      }
    }
  });
}

// params[0]: 0 set, 1 add, 2 multiply, 3 maximum, 4 minimum, 5 subtract, 6 divide
void check_scatter(const Command& c) {
  const View &base = c.in(0), &idx = c.in(1), &upd = c.in(2), &out = c.out();
  expect_3d(c, base, "base");
  expect_3d(c, idx, "indices");
  expect_3d(c, upd, "updates");
  expect_3d(c, out, "output");
  double mode = c.params[0];
  if (!(mode >= 0 && mode <= 6 && mode == (int)mode)) fail("[scatter] invalid mode ", mode);
  if (!is_int_dtype(idx.dtype)) fail("[scatter] indices must be integers, got ", dtype_name(idx.dtype));
  if (base.dtype != out.dtype || upd.dtype != out.dtype) fail("[scatter] base, updates and output dtypes must match");
  expect_same_shape(c, base, out, "base and output");
  expect_same_shape(c, idx, upd, "indices and updates");
  if (idx.shape[0] != out.shape[0] || idx.shape[2] != out.shape[2])
    fail("[scatter] indices ", idx.describe(), " do not match output ", out.describe());
  if (mode != 0 && out.dtype == kBool && mode != 3 && mode != 4)
    fail("[scatter] arithmetic on bool arrays is not supported");
  if (out.shape[1] == 0 && idx.size > 0) fail("[scatter] cannot index an empty axis");
  if (mode != 0 && out.dtype == kComplex64) fail("[scatter] only assignment (mode 0) is supported for complex64");
}

template <typename T> static void scatter_typed(const Command& c, const std::vector<int64_t>& ix, int mode) {
  const View &idx = c.in(1), &upd = c.in(2), &out = c.out();
  T* o = reinterpret_cast<T*>(out.buf->data);
  const T* u = reinterpret_cast<const T*>(upd.buf->data);
  int64_t M = idx.shape[1], B = idx.shape[2];
  // rows a are independent; within a row repeated indices apply in order
  parallel_for(idx.shape[0], 1, [&](int64_t a0, int64_t a1) {
    for (int64_t a = a0; a < a1; a++)
      for (int64_t m = 0; m < M; m++)
        for (int64_t b = 0; b < B; b++) {
          int64_t i = ix[(size_t)((a * M + m) * B + b)];
          T* dst = o + out.offset + a * out.strides[0] + i * out.strides[1] + b * out.strides[2];
          T val = u[upd.offset + a * upd.strides[0] + m * upd.strides[1] + b * upd.strides[2]];
          if (mode == 0) {
            *dst = val;
            continue;
          }
          auto x = to_compute(*dst), y = to_compute(val);
          using C = decltype(x);
          C r;
          switch (mode) {
            case 1: r = (C)(x + y); break;
            case 2: r = (C)(x * y); break;
            case 3:
              r = (x != x || x > y) ? x : y;
              if (y != y) r = y;
              break;
            case 4:
              r = (x != x || x < y) ? x : y;
              if (y != y) r = y;
              break;
            case 5: r = (C)(x - y); break;
            default:
              if constexpr (std::is_integral_v<C>) r = y == 0 ? C(0) : (C)(x / y);
              else r = x / y;
          }
          *dst = from_value<T>(r);
        }
  });
}

void run_scatter(const Command& c) {
  const View &base = c.in(0), &idx = c.in(1), &out = c.out();
  // out = base (skipped when the op wrote in place over a dead base)
  if (!(base.buf == out.buf && base.offset == out.offset && std::equal(base.strides, base.strides + 3, out.strides))) {
    Command copy;
    copy.kernel = c.kernel;
    copy.ops = {base, out};
    copy.n_inputs = 1;
    run_copy(copy);
  }
  if (idx.size == 0) return;
  std::vector<int64_t> ix = read_indices(c, idx, out.shape[1], "scatter");
  int mode = (int)c.params[0];
  if (out.dtype == kComplex64) {  // assignment only (check_scatter): a move of 8 bytes
    scatter_typed<uint64_t>(c, ix, 0);
    return;
  }
  if (out.dtype == kBool) {
    // set / maximum (or) / minimum (and) on bytes
    scatter_typed<uint8_t>(c, ix, mode);
    return;
  }
#define KILN_SCATTER(T) scatter_typed<T>(c, ix, mode)
  KILN_DISPATCH_ALL(out.dtype, KILN_SCATTER)
#undef KILN_SCATTER
}

}  // namespace kiln
