// sort, topk_indexed and searchsorted on the GPU, as backends/cpu/kernels/sort.cc. Every row
// becomes (key, index) pairs sorted by CUB's stable sorts (DeviceRadixSort for one row,
// DeviceSegmentedSort::StableSortPairs for many), so equal keys keep ascending index order:
//   sort / partition:      key(v) with NaN as the greatest key; the output gathers the input at
//                          the sorted indices, so NaNs come last in input order with their bits
//                          and -0 sorts before +0, as the CPU's radix sort (partition is a full
//                          sort: a valid partition for every kth);
//   argsort / argpartition: the canonical key (-0 == +0, every NaN equal and greatest): ties by
//                          ascending index, as the CPU's (key, index) order;
//   topk:                  the complemented key(v) (descending, NaNs first in input order);
//   topk_indexed:          the complemented canonical key: NaNs first, then descending, equal
//                          values by ascending index.
// Keys of up to 32 bits sort as uint32, 64-bit dtypes as uint64. searchsorted is libstdc++'s
// lower_bound / upper_bound over the canonical keys, the same probes as the CPU's.
#include <cub/cub.cuh>
#include <cstdint>
#include <type_traits>
#include "common.cuh"
#include "../registry.h"
#include "../../common/ops.h"

namespace kiln {
namespace cuda {
namespace {

// ---- keys (sort.cc's Keys): K the storage-width unsigned type, widened to KK for sorting

template <typename T> struct KeyT {
  using K = std::conditional_t<
      sizeof(T) == 1, uint8_t,
      std::conditional_t<sizeof(T) == 2, uint16_t, std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
  using KK = std::conditional_t<sizeof(T) == 8, uint64_t, uint32_t>;
  static constexpr bool kFloat = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16> ||
                                 std::is_same_v<T, float> || std::is_same_v<T, double>;
  __host__ __device__ static constexpr K sign() { return K(K(1) << (sizeof(K) * 8 - 1)); }
  __host__ __device__ static constexpr K exp_mask() {
    if constexpr (std::is_same_v<T, __half>) return K(0x7c00);
    else if constexpr (std::is_same_v<T, __nv_bfloat16>) return K(0x7f80);
    else if constexpr (std::is_same_v<T, float>) return K(0x7f800000u);
    else return K(0x7ff0000000000000ull);
  }
};

template <typename T> __device__ __forceinline__ typename KeyT<T>::K raw_bits(T v) {
  typename KeyT<T>::K b;
  memcpy(&b, &v, sizeof(b));
  return b;
}

// key(): the order-preserving bijection (floats: -0 before +0); canon: -0 == +0, NaN greatest.
template <typename T> __device__ __forceinline__ typename KeyT<T>::K make_key(T v, bool canon) {
  using KT = KeyT<T>;
  using K = typename KT::K;
  if constexpr (KT::kFloat) {
    K b = raw_bits(v);
    if ((K)(b & (K)~KT::sign()) > KT::exp_mask()) return (K)~K(0);  // NaN (sort values: NaN last too)
    if (canon && b == KT::sign()) b = 0;
    return (b & KT::sign()) ? (K)~b : (K)(b | KT::sign());
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? K(1) : K(0);
  } else {
    constexpr K flip = std::is_signed_v<T> ? KT::sign() : K(0);
    return (K)((K)raw_bits(v) ^ flip);
  }
}

// Leading dims of a view: the offset of row r.
struct RowsL {
  Layout lead;  // all dims but the last
  int64_t stride = 0;
};
RowsL rows_of(const View& v) {
  RowsL R;
  R.lead.ndim = v.ndim - 1;
  for (int d = 0; d + 1 < v.ndim; d++) {
    R.lead.shape[d] = v.shape[d];
    R.lead.strides[d] = v.strides[d];
  }
  R.stride = v.strides[v.ndim - 1];
  return R;
}
__device__ __forceinline__ int64_t row_off(const RowsL& R, int64_t r) {
  return R.lead.ndim ? element_offset(R.lead, r) : 0;
}

template <typename T>
__global__ void make_keys_kernel(const T* in, RowsL L, int64_t n, int64_t total, typename KeyT<T>::KK* keys,
                                 int32_t* vals, bool canon, bool desc) {
  using KT = KeyT<T>;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = t / n, i = t - r * n;
    typename KT::K k = make_key<T>(in[row_off(L, r) + i * L.stride], canon);
    if (desc) k = (typename KT::K) ~k;
    keys[t] = (typename KT::KK)k;
    vals[t] = (int32_t)i;
  }
}

__global__ void offsets_kernel(int64_t* off, int64_t rows, int64_t n) {
  for (int64_t r = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; r <= rows; r += (int64_t)gridDim.x * blockDim.x)
    off[r] = r * n;
}

// Element j < nout of row r: the input at the sorted index (values) and / or the index.
template <typename T>
__global__ void write_kernel(const T* in, RowsL L, int64_t n, int64_t nout, int64_t rows, const int32_t* idx, T* vout,
                             RowsL VL, int32_t* iout, RowsL IL) {
  const int64_t total = rows * nout;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = t / nout, j = t - r * nout;
    const int32_t i = idx[r * n + j];
    if (vout) vout[row_off(VL, r) + j * VL.stride] = in[row_off(L, r) + (int64_t)i * L.stride];
    if (iout) iout[row_off(IL, r) + j * IL.stride] = i;
  }
}

template <typename KK>
void sort_pairs(const Command& c, Context& ctx, const KK* kin, KK* kout, const int32_t* vin, int32_t* vout, int64_t n,
                int64_t rows, int bits) {
  size_t bytes = 0;
  if (rows == 1) {
    check(cub::DeviceRadixSort::SortPairs(nullptr, bytes, kin, kout, vin, vout, n, 0, bits, ctx.stream), c,
          "radix sort (size)");
    void* tmp = ctx.scratch((int64_t)bytes + 16);
    check(cub::DeviceRadixSort::SortPairs(tmp, bytes, kin, kout, vin, vout, n, 0, bits, ctx.stream), c, "radix sort");
    return;
  }
  int64_t* off = static_cast<int64_t*>(ctx.scratch((int64_t)sizeof(int64_t) * (rows + 1)));
  offsets_kernel<<<grid_for(rows + 1), 256, 0, ctx.stream>>>(off, rows, n);
  check_launch(c, "sort offsets");
  const int64_t total = rows * n;
  check(cub::DeviceSegmentedSort::StableSortPairs(nullptr, bytes, kin, kout, vin, vout, total, rows, off, off + 1,
                                                  ctx.stream),
        c, "segmented sort (size)");
  void* tmp = ctx.scratch((int64_t)bytes + 16);
  check(cub::DeviceSegmentedSort::StableSortPairs(tmp, bytes, kin, kout, vin, vout, total, rows, off, off + 1,
                                                  ctx.stream),
        c, "segmented sort");
}

// Sorts every row of `in` into (key, index) order; returns the sorted indices (rows x n).
template <typename T>
const int32_t* sorted_indices(const Command& c, Context& ctx, const View& in, bool canon, bool desc) {
  using KK = typename KeyT<T>::KK;
  const int64_t n = in.shape[in.ndim - 1], rows = in.size / n, total = rows * n;
  KK* kin = static_cast<KK*>(ctx.scratch((int64_t)sizeof(KK) * total));
  KK* kout = static_cast<KK*>(ctx.scratch((int64_t)sizeof(KK) * total));
  int32_t* vin = static_cast<int32_t*>(ctx.scratch((int64_t)sizeof(int32_t) * total));
  int32_t* vout = static_cast<int32_t*>(ctx.scratch((int64_t)sizeof(int32_t) * total));
  make_keys_kernel<T>
      <<<grid_for(total), 256, 0, ctx.stream>>>(dptr<const T>(in, ctx), rows_of(in), n, total, kin, vin, canon, desc);
  check_launch(c, "sort keys");
  sort_pairs<KK>(c, ctx, kin, kout, vin, vout, n, rows, (int)(8 * sizeof(typename KeyT<T>::K)));
  return vout;
}

template <typename T> void sort_typed(const Command& c, Context& ctx) {
  const View& in = c.in(0);
  const View& out = c.out();
  const SortOp op = (SortOp)c.iparam(0);
  const int64_t n = in.shape[in.ndim - 1], nout = out.shape[out.ndim - 1];
  const int64_t rows = n == 0 ? 0 : in.size / n;
  if (rows == 0 || nout == 0) return;
  const bool index_out = op == SortOp::argsort || op == SortOp::argpartition;
  const int32_t* idx = sorted_indices<T>(c, ctx, in, index_out, op == SortOp::topk);
  RowsL none;
  if (index_out)
    write_kernel<T><<<grid_for(rows * nout), 256, 0, ctx.stream>>>(nullptr, rows_of(in), n, nout, rows, idx, nullptr,
                                                                   none, dptr<int32_t>(out, ctx), rows_of(out));
  else
    write_kernel<T><<<grid_for(rows * nout), 256, 0, ctx.stream>>>(dptr<const T>(in, ctx), rows_of(in), n, nout, rows,
                                                                   idx, dptr<T>(out, ctx), rows_of(out), nullptr, none);
  check_launch(c, "sort output");
}

template <typename T> void topk_indexed_typed(const Command& c, Context& ctx) {
  const View& in = c.in(0);
  const View& vo = c.out(0);
  const View& io = c.out(1);
  const int64_t k = c.iparam(0), n = in.shape[in.ndim - 1];
  const int64_t rows = n == 0 ? 0 : in.size / n;
  if (rows == 0 || k == 0) return;
  const int32_t* idx = sorted_indices<T>(c, ctx, in, true, true);
  write_kernel<T><<<grid_for(rows * k), 256, 0, ctx.stream>>>(dptr<const T>(in, ctx), rows_of(in), n, k, rows, idx,
                                                              dptr<T>(vo, ctx), rows_of(vo), dptr<int32_t>(io, ctx),
                                                              rows_of(io));
  check_launch(c, "topk_indexed output");
}

// ---- searchsorted

template <typename T>
__global__ void searchsorted_kernel(const T* a, int64_t m, int64_t sa, const T* v, Layout lv, int32_t* out, Layout lo,
                                    int64_t total, bool right) {
  using KK = typename KeyT<T>::KK;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    const KK x = (KK)make_key<T>(v[element_offset(lv, t)], true);
    int64_t first = 0, len = m;
    while (len > 0) {
      const int64_t half = len >> 1, mid = first + half;
      const KK y = (KK)make_key<T>(a[mid * sa], true);
      const bool go_right = right ? !(x < y) : y < x;
      if (go_right) {
        first = mid + 1;
        len = len - half - 1;
      } else {
        len = half;
      }
    }
    out[element_offset(lo, t)] = (int32_t)first;
  }
}

template <typename T> void searchsorted_typed(const Command& c, Context& ctx) {
  const View& a = c.in(0);
  const View& v = c.in(1);
  const View& out = c.out();
  if (out.size == 0) return;
  searchsorted_kernel<T><<<grid_for(out.size), 256, 0, ctx.stream>>>(
      dptr<const T>(a, ctx), a.shape[0], a.strides[0], dptr<const T>(v, ctx), layout_of(v), dptr<int32_t>(out, ctx),
      layout_of(out), out.size, c.iparam(0) == 1);
  check_launch(c, "searchsorted");
}

// complex64 is not sortable (the core never sends it); indices are int32, so rows fit int32
bool sortable(const Command& c) {
  const View& in = c.in(0);
  return in.dtype != kComplex64 && (in.ndim < 1 || in.shape[in.ndim - 1] <= 0x7fffffffLL);
}
bool searchable(const Command& c) { return c.in(0).dtype != kComplex64; }

void sort_run(const Command& c, Context& ctx) {
  dispatch_dtype(c.in(0).dtype, c, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64>) fail("[sort] complex64 is not supported on the GPU");
    else sort_typed<T>(c, ctx);
  });
}
void topk_indexed_run(const Command& c, Context& ctx) {
  dispatch_dtype(c.in(0).dtype, c, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64>) fail("[topk_indexed] complex64 is not supported on the GPU");
    else topk_indexed_typed<T>(c, ctx);
  });
}
void searchsorted_run(const Command& c, Context& ctx) {
  dispatch_dtype(c.in(0).dtype, c, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, complex64>) fail("[searchsorted] complex64 is not supported on the GPU");
    else searchsorted_typed<T>(c, ctx);
  });
}

}  // namespace

KILN_CUDA_KERNEL("sort", sortable, sort_run);
KILN_CUDA_KERNEL("topk_indexed", sortable, topk_indexed_run);
KILN_CUDA_KERNEL("searchsorted", searchable, searchsorted_run);

}  // namespace cuda
}  // namespace kiln
