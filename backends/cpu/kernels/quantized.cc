// MLX's affine quantization (kn.quantize / kn.dequantize / kn.quantizedMatmul):
//   affine_quantize   inputs w [..., K]                         outputs wq uint32 [..., K*bits/32],
//                     params group_size, bits                           scales, biases [..., K/group]
//   affine_dequantize inputs wq, scales, biases                 output  [..., K] (scales' dtype or wider)
//                     params group_size, bits
//   quantized_matmul  inputs x [..., K], wq [N, K*bits/32], scales [N, K/g], biases   (transpose = 1)
//                         or x [..., K], wq [K, N*bits/32], scales [K, N/g], biases   (transpose = 0)
//                     output [..., N]; params group_size, bits, transpose
// A row of `bits`-bit values is a little-endian bit stream: value j occupies bits j*bits ..
// j*bits+bits-1 of the row, bit p in word p/32 at position p%32 (3-, 5- and 6-bit values may straddle
// two words). A group of 32/64/128 values always starts on a word boundary. Each group g holds
// w ~= scales[g] * q + biases[g], q in [0, 2^bits - 1], chosen exactly as MLX does (ops.cpp
// affine_quantize): the endpoint with the larger magnitude is represented exactly.
//
// quantized_matmul (x @ W.T) multiplies each weight row with up to four rows of x at once, per group
// y += s * dot(x, q) and once per row y += dot(b, group sums of x); x is converted to float once per
// call and, on the vector paths, laid out so that the lanes of the packed fields meet contiguous x
// values (no shuffles in the inner loop). 4- and 8-bit weights take quantized_qmv.h (the group size a
// template parameter; on AVX-512 64 packed bytes per load, fields masked in place); the other widths
// the generic loops below. Sums are float.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "kernels.h"
#include "fast_rows.h"
#include "quantized_qmv.h"
#include "../thread_pool.h"

namespace kiln {
namespace {

using fastk::Scratch;

int64_t qparam(const Command& c, size_t i, const char* what) {
  double v = c.params[i];
  if (!std::isfinite(v) || v != std::floor(v)) fail("[", kernel_name(c), "] ", what, " must be an integer, got ", v);
  return (int64_t)v;
}

void check_group_bits(const Command& c, int64_t gs, int64_t bits) {
  if (gs != 32 && gs != 64 && gs != 128) fail("[", kernel_name(c), "] group_size must be 32, 64 or 128, got ", gs);
  if (bits != 2 && bits != 3 && bits != 4 && bits != 5 && bits != 6 && bits != 8)
    fail("[", kernel_name(c), "] bits must be 2, 3, 4, 5, 6 or 8, got ", bits);
}

bool is_half_or_float(int d) { return d == kFloat16 || d == kBfloat16 || d == kFloat32; }

inline float load_scalar(const char* base, int dt, int64_t i) {
  switch (dt) {
    case kFloat16: return half_to_float(reinterpret_cast<const uint16_t*>(base)[i]);
    case kBfloat16: return bf16_to_float(reinterpret_cast<const uint16_t*>(base)[i]);
    case kFloat64: return (float)reinterpret_cast<const double*>(base)[i];
    default: return reinterpret_cast<const float*>(base)[i];
  }
}

// n values of a bit stream starting at a word boundary into bytes
inline void unpack_values(const uint32_t* words, int bits, int n, uint8_t* q) {
  const uint64_t mask = (1u << bits) - 1;
  uint64_t buf = 0;
  int have = 0;
  for (int j = 0; j < n; j++) {
    if (have < bits) {
      buf |= (uint64_t)(*words++) << have;
      have += 32;
    }
    q[j] = (uint8_t)(buf & mask);
    buf >>= bits;
    have -= bits;
  }
}

// A 2-d row view of an operand: rows over all dims but the last, element stride along the last.
struct Rows {
  const View* v;
  int64_t n, len, stride;
  explicit Rows(const View& view) : v(&view) {
    len = view.ndim ? view.shape[view.ndim - 1] : 1;
    n = len ? view.size / len : 0;
    stride = view.ndim ? view.strides[view.ndim - 1] : 1;
  }
  char* ptr(int64_t r) const { return fastk::element_ptr(*v, row_offset(*v, r)); }
};

// A packed row as contiguous words: the row itself when its stride is 1, else a copy.
const uint32_t* packed_row(const Rows& w, int64_t r, std::vector<uint32_t>& tmp) {
  const uint32_t* p = reinterpret_cast<const uint32_t*>(w.ptr(r));
  if (w.stride == 1) return p;
  tmp.resize((size_t)w.len);
  for (int64_t i = 0; i < w.len; i++) tmp[i] = p[i * w.stride];
  return tmp.data();
}

// ---- quantize

void check_quant_triplet(const Command& c, const View& wq, const View& s, const View& b, int64_t K, int64_t gs,
                         int64_t bits) {
  const char* name = kernel_name(c);
  if (wq.dtype != kUint32) fail("[", name, "] wq must be uint32, got ", dtype_name(wq.dtype));
  if (!fastk::is_float_dtype(s.dtype) || s.dtype != b.dtype)
    fail("[", name, "] scales and biases must share one floating dtype, got ", dtype_name(s.dtype), " and ",
         dtype_name(b.dtype));
  if (wq.ndim < 1 || s.ndim != wq.ndim || b.ndim != wq.ndim)
    fail("[", name, "] wq, scales and biases must have the same rank: ", wq.describe(), ", ", s.describe(), ", ",
         b.describe());
  for (int d = 0; d + 1 < wq.ndim; d++)
    if (s.shape[d] != wq.shape[d] || b.shape[d] != wq.shape[d])
      fail("[", name, "] wq, scales and biases must agree on their leading dims: ", wq.describe(), ", ", s.describe(),
           ", ", b.describe());
  const int64_t last = wq.ndim - 1;
  if (K % gs != 0 || wq.shape[last] * 32 != K * bits || s.shape[last] * gs != K || b.shape[last] * gs != K)
    fail("[", name, "] ", K, " values per row at bits=", bits, ", group_size=", gs, " need wq [..., ", K * bits / 32,
         "] and scales/biases [..., ", K / gs, "], got ", wq.describe(), ", ", s.describe(), ", ", b.describe());
}

}  // namespace

void check_affine_quantize(const Command& c) {
  const int64_t gs = qparam(c, 0, "group_size"), bits = qparam(c, 1, "bits");
  check_group_bits(c, gs, bits);
  const View& w = c.in(0);
  if (!fastk::is_float_dtype(w.dtype)) fail("[affine_quantize] w must be a floating dtype, got ", dtype_name(w.dtype));
  if (w.ndim < 1) fail("[affine_quantize] w must have at least one dimension: ", w.describe());
  const int64_t K = w.shape[w.ndim - 1];
  if (K % gs != 0) fail("[affine_quantize] the last dim (", K, ") must be a multiple of group_size ", gs);
  check_quant_triplet(c, c.out(0), c.out(1), c.out(2), K, gs, bits);
  if (c.out(1).dtype != w.dtype) fail("[affine_quantize] scales must have w's dtype ", dtype_name(w.dtype));
  for (int d = 0; d + 1 < w.ndim; d++)
    if (c.out(0).shape[d] != w.shape[d]) fail("[affine_quantize] outputs must keep w's leading dims: ", w.describe());
  if (c.out(0).ndim != w.ndim) fail("[affine_quantize] outputs must have w's rank: ", w.describe());
}

void run_affine_quantize(const Command& c) {
  const int gs = (int)c.iparam(0), bits = (int)c.iparam(1);
  const Rows w(c.in(0)), wq(c.out(0)), sc(c.out(1)), bi(c.out(2));
  const int64_t K = w.len, G = K / gs, R = w.n;
  const float n_bins = (float)((1 << bits) - 1), eps = 1e-7f;
  const int wpg = gs * bits / 32;
  parallel_for(R, std::max<int64_t>(1, 4096 / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<float> row((size_t)K), s((size_t)G), b((size_t)G);
    std::vector<uint32_t> words((size_t)wq.len);
    for (int64_t r = r0; r < r1; r++) {
      fastk::load_row<float>(row.data(), w.ptr(r), w.v->dtype, w.stride, K);
      std::fill(words.begin(), words.end(), 0u);
      for (int64_t g = 0; g < G; g++) {
        const float* x = row.data() + g * gs;
        float mn = INFINITY, mx = -INFINITY;
        for (int j = 0; j < gs; j++) {
          mx = std::max(mx, x[j]);
          mn = std::min(mn, x[j]);
        }
        // MLX's choice: the endpoint of larger magnitude ("edge") is hit exactly by q = q0
        const bool neg = std::fabs(mn) > std::fabs(mx);
        float scale = std::max((mx - mn) / n_bins, eps);
        scale = neg ? scale : -scale;
        const float edge = neg ? mn : mx;
        const float q0 = std::nearbyint(edge / scale);
        float bias = 0;
        if (q0 != 0) {
          scale = edge / q0;
          bias = edge;
        }
        uint32_t* out = words.data() + g * wpg;
        uint64_t acc = 0;
        int have = 0;
        for (int j = 0; j < gs; j++) {
          float q = std::nearbyint((x[j] - bias) / scale);
          q = std::min(std::max(q, 0.0f), n_bins);
          const uint32_t qi = q == q ? (uint32_t)q : 0u;  // NaN (a NaN weight) packs as 0
          acc |= (uint64_t)(qi & ((1u << bits) - 1)) << have;
          have += bits;
          if (have >= 32) {
            *out++ = (uint32_t)acc;
            acc >>= 32;
            have -= 32;
          }
        }
        s[g] = scale;
        b[g] = bias;
      }
      uint32_t* dst = reinterpret_cast<uint32_t*>(wq.ptr(r));
      for (int64_t i = 0; i < wq.len; i++) dst[i * wq.stride] = words[i];
      fastk::store_row<float>(sc.ptr(r), sc.v->dtype, sc.stride, s.data(), G);
      fastk::store_row<float>(bi.ptr(r), bi.v->dtype, bi.stride, b.data(), G);
    }
  });
}

void check_affine_dequantize(const Command& c) {
  const int64_t gs = qparam(c, 0, "group_size"), bits = qparam(c, 1, "bits");
  check_group_bits(c, gs, bits);
  const View& out = c.out();
  if (!fastk::is_float_dtype(out.dtype))
    fail("[affine_dequantize] the output must be a floating dtype, got ", dtype_name(out.dtype));
  if (out.ndim != c.in(0).ndim) fail("[affine_dequantize] the output must have wq's rank: ", out.describe());
  for (int d = 0; d + 1 < out.ndim; d++)
    if (out.shape[d] != c.in(0).shape[d]) fail("[affine_dequantize] the output must keep wq's leading dims");
  check_quant_triplet(c, c.in(0), c.in(1), c.in(2), out.shape[out.ndim - 1], gs, bits);
}

void run_affine_dequantize(const Command& c) {
  const int gs = (int)c.iparam(0), bits = (int)c.iparam(1);
  const Rows wq(c.in(0)), sc(c.in(1)), bi(c.in(2)), out(c.out());
  const int64_t K = out.len, G = K / gs;
  const int wpg = gs * bits / 32;
  parallel_for(out.n, std::max<int64_t>(1, 8192 / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<float> row((size_t)K);
    std::vector<uint32_t> tmp;
    uint8_t q[128];
    for (int64_t r = r0; r < r1; r++) {
      const uint32_t* w = packed_row(wq, r, tmp);
      const char *sp = sc.ptr(r), *bp = bi.ptr(r);
      for (int64_t g = 0; g < G; g++) {
        unpack_values(w + g * wpg, bits, gs, q);
        const float s = load_scalar(sp, sc.v->dtype, g * sc.stride), b = load_scalar(bp, bi.v->dtype, g * bi.stride);
        float* o = row.data() + g * gs;
        for (int j = 0; j < gs; j++) o[j] = s * (float)q[j] + b;
      }
      fastk::store_row<float>(out.ptr(r), out.v->dtype, out.stride, row.data(), K);
    }
  });
}

// ---- quantized_matmul

namespace {

// How x is laid out for the vector paths: values per byte of the packed weights (1 for 8-bit and for
// 3/5/6-bit weights, which are first unpacked to bytes; 2 for 4-bit; 4 for 2-bit with groups of at
// least 64). A chunk of 16*vpb values comes from 16 bytes; within it, x value i*vpb + j (byte i,
// field j) sits at position j*16 + i.
int values_per_byte(int bits, int gs) {
  if (bits == 4) return 2;
  if (bits == 2 && gs % 64 == 0) return 4;
  return 1;
}

void permute_x(const float* x, int64_t K, int vpb, float* out) {
  const int C = 16 * vpb;
  for (int64_t c0 = 0; c0 < K; c0 += C)
    for (int i = 0; i < 16; i++)
      for (int j = 0; j < vpb; j++) out[c0 + j * 16 + i] = x[c0 + i * vpb + j];
}

struct WRow {
  const uint32_t* w;  // packed row
  const char* s;      // scales row
  const char* b;      // biases row
};

struct QM {
  int gs, bits, vpb, sdt;
  int64_t K, sstride, bstride;
};

// Bytes of group g of a row for the vector paths: the packed bytes themselves (8, 4, 2 bits) or the
// group unpacked to one byte per value (3, 5, 6 bits, and 2 bits with groups of 32).
inline const uint8_t* group_bytes(const QM& q, const WRow& r, int64_t g, uint8_t* buf) {
  const uint32_t* w = r.w + g * (q.gs * q.bits / 32);
  if (q.bits == 8 || q.vpb > 1) return reinterpret_cast<const uint8_t*>(w);
  unpack_values(w, q.bits, q.gs, buf);
  return buf;
}

// portable: one output at a time, natural x order
void qmv_portable(const QM& q, const WRow& r, const float* const* xs, int mb, float* acc) {
  uint8_t u[128];
  const int64_t G = q.K / q.gs;
  for (int m = 0; m < mb; m++) acc[m] = 0;
  for (int64_t g = 0; g < G; g++) {
    unpack_values(r.w + g * (q.gs * q.bits / 32), q.bits, q.gs, u);
    const float s = load_scalar(r.s, q.sdt, g * q.sstride), b = load_scalar(r.b, q.sdt, g * q.bstride);
    for (int m = 0; m < mb; m++) {
      const float* x = xs[m] + g * q.gs;
      float t = 0;
      for (int j = 0; j < q.gs; j++) t += x[j] * (s * (float)u[j] + b);
      acc[m] += t;
    }
  }
}

#if KILN_SIMD
KILN_AVX512 inline float hsum512(__m512 v) { return _mm512_reduce_add_ps(v); }
KILN_AVX2 inline float hsum256q(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// NB weight rows x MB rows of x; out[n * MB + m] receives the sums. Per group, the packed values
// are dotted with x as integers widened to float (sum q*x), then y += s * that + b * sum(x): one FMA
// per value and row of x, the scale and bias applied once per group.
template <int VPB, int NB, int MB>
KILN_AVX512 void qmv_avx512(const QM& q, const WRow* rows, const float* const* xs, const float* const* xg, float* out) {
  constexpr int C = 16 * VPB, SH = 8 / VPB;
  const __m512i mask = _mm512_set1_epi32(VPB == 1 ? 0xff : (1 << SH) - 1);
  const int64_t G = q.K / q.gs;
  // the rows' scales and biases as float, once (a scalar conversion per group costs as much as its values)
  static thread_local Scratch sb;
  float* sf = sb.get<float>(2 * NB * G);
  for (int n = 0; n < NB; n++) {
    fastk::load_row<float>(sf + (2 * n) * G, rows[n].s, q.sdt, q.sstride, G);
    fastk::load_row<float>(sf + (2 * n + 1) * G, rows[n].b, q.sdt, q.bstride, G);
  }
  __m512 tot[NB][MB];
  float bsum[NB][MB];
  for (int n = 0; n < NB; n++)
    for (int m = 0; m < MB; m++) {
      tot[n][m] = _mm512_setzero_ps();
      bsum[n][m] = 0;
    }
  alignas(64) uint8_t ubuf[NB][128];
  const bool direct = q.bits == 8 || q.vpb > 1;
  const int64_t gbytes = q.gs * q.bits / 8;
  for (int64_t g = 0; g < G; g++) {
    const uint8_t* bytes[NB];
    __m512 acc[NB][MB];
    for (int n = 0; n < NB; n++) {
      bytes[n] =
          direct ? reinterpret_cast<const uint8_t*>(rows[n].w) + g * gbytes : group_bytes(q, rows[n], g, ubuf[n]);
      for (int m = 0; m < MB; m++) acc[n][m] = _mm512_setzero_ps();
    }
    for (int c = 0; c < q.gs / C; c++) {
      const int64_t k0 = g * q.gs + c * C;
      __m512i v[NB];
      for (int n = 0; n < NB; n++)
        v[n] = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes[n] + c * 16)));
      for (int j = 0; j < VPB; j++) {
        __m512 xv[MB];
        for (int m = 0; m < MB; m++) xv[m] = _mm512_loadu_ps(xs[m] + k0 + j * 16);
        for (int n = 0; n < NB; n++) {
          const __m512i f = VPB == 1 ? v[n] : _mm512_and_si512(j ? _mm512_srli_epi32(v[n], j * SH) : v[n], mask);
          const __m512 w = _mm512_cvtepi32_ps(f);
          for (int m = 0; m < MB; m++) acc[n][m] = _mm512_fmadd_ps(w, xv[m], acc[n][m]);
        }
      }
    }
    for (int n = 0; n < NB; n++) {
      const __m512 s = _mm512_set1_ps(sf[(2 * n) * G + g]);
      const float bv = sf[(2 * n + 1) * G + g];
      for (int m = 0; m < MB; m++) {
        tot[n][m] = _mm512_fmadd_ps(s, acc[n][m], tot[n][m]);
        bsum[n][m] += bv * xg[m][g];
      }
    }
  }
  for (int n = 0; n < NB; n++)
    for (int m = 0; m < MB; m++) out[n * MB + m] = hsum512(tot[n][m]) + bsum[n][m];
}

template <int VPB, int NB, int MB>
KILN_AVX2 void qmv_avx2(const QM& q, const WRow* rows, const float* const* xs, const float* const* xg, float* out) {
  constexpr int C = 16 * VPB, SH = 8 / VPB;
  const __m256i mask = _mm256_set1_epi32(VPB == 1 ? 0xff : (1 << SH) - 1);
  const int64_t G = q.K / q.gs;
  static thread_local Scratch sb;
  float* sf = sb.get<float>(2 * NB * G);
  for (int n = 0; n < NB; n++) {
    fastk::load_row<float>(sf + (2 * n) * G, rows[n].s, q.sdt, q.sstride, G);
    fastk::load_row<float>(sf + (2 * n + 1) * G, rows[n].b, q.sdt, q.bstride, G);
  }
  __m256 tot[NB][MB];
  float bsum[NB][MB];
  for (int n = 0; n < NB; n++)
    for (int m = 0; m < MB; m++) {
      tot[n][m] = _mm256_setzero_ps();
      bsum[n][m] = 0;
    }
  alignas(64) uint8_t ubuf[NB][128];
  const bool direct = q.bits == 8 || q.vpb > 1;
  const int64_t gbytes = q.gs * q.bits / 8;
  for (int64_t g = 0; g < G; g++) {
    const uint8_t* bytes[NB];
    __m256 acc[NB][MB];
    for (int n = 0; n < NB; n++) {
      bytes[n] =
          direct ? reinterpret_cast<const uint8_t*>(rows[n].w) + g * gbytes : group_bytes(q, rows[n], g, ubuf[n]);
      for (int m = 0; m < MB; m++) acc[n][m] = _mm256_setzero_ps();
    }
    for (int c = 0; c < q.gs / C; c++) {
      const int64_t k0 = g * q.gs + c * C;
      for (int h = 0; h < 2; h++) {
        __m256i v[NB];
        for (int n = 0; n < NB; n++)
          v[n] = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes[n] + c * 16 + h * 8)));
        for (int j = 0; j < VPB; j++) {
          __m256 xv[MB];
          for (int m = 0; m < MB; m++) xv[m] = _mm256_loadu_ps(xs[m] + k0 + j * 16 + h * 8);
          for (int n = 0; n < NB; n++) {
            const __m256i f = VPB == 1 ? v[n] : _mm256_and_si256(j ? _mm256_srli_epi32(v[n], j * SH) : v[n], mask);
            const __m256 w = _mm256_cvtepi32_ps(f);
            for (int m = 0; m < MB; m++) acc[n][m] = _mm256_fmadd_ps(w, xv[m], acc[n][m]);
          }
        }
      }
    }
    for (int n = 0; n < NB; n++) {
      const __m256 s = _mm256_set1_ps(sf[(2 * n) * G + g]);
      const float bv = sf[(2 * n + 1) * G + g];
      for (int m = 0; m < MB; m++) {
        tot[n][m] = _mm256_fmadd_ps(s, acc[n][m], tot[n][m]);
        bsum[n][m] += bv * xg[m][g];
      }
    }
  }
  for (int n = 0; n < NB; n++)
    for (int m = 0; m < MB; m++) out[n * MB + m] = hsum256q(tot[n][m]) + bsum[n][m];
}
#endif

using QmvFn = void (*)(const QM&, const WRow*, const float* const*, const float* const*, float*);

template <int VPB, int NB, int MB> QmvFn pick_level(Isa level) {
#if KILN_SIMD
  if (level == Isa::kAvx512) return qmv_avx512<VPB, NB, MB>;
  return qmv_avx2<VPB, NB, MB>;
#else
  (void)level;
  return nullptr;
#endif
}

template <int NB, int MB> QmvFn pick_vpb(Isa level, int vpb) {
  if (vpb == 4) return pick_level<4, NB, MB>(level);
  if (vpb == 2) return pick_level<2, NB, MB>(level);
  return pick_level<1, NB, MB>(level);
}

#if KILN_SIMD
// 4- and 8-bit weights: the group size fixed at compile time (quantized_qmv.h); the block's scales
// and biases converted to float once per call.
template <int BITS, int GS, int NB, int MB, int PATH>  // PATH 0 avx2, 1 avx512, 2 avx512 fields
void qmv_fast(const QM& q, const WRow* rows, const float* const* xs, const float* const* xg, float* out) {
  const int64_t G = q.K / GS;
  static thread_local Scratch sb;
  float* sf = sb.get<float>(2 * NB * G + 16);
  const uint8_t* w[NB];
  for (int n = 0; n < NB; n++) {
    fastk::load_row<float>(sf + (2 * n) * G, rows[n].s, q.sdt, q.sstride, G);
    fastk::load_row<float>(sf + (2 * n + 1) * G, rows[n].b, q.sdt, q.bstride, G);
    w[n] = reinterpret_cast<const uint8_t*>(rows[n].w);
  }
  if constexpr (PATH == 2) qmv::dot_avx512_fields<BITS, GS, NB, MB>(w, sf, G, xs, xg, out);
  else if constexpr (PATH == 1) qmv::dot_avx512<BITS, GS, NB, MB>(w, sf, G, xs, xg, out);
  else qmv::dot_avx2<BITS, GS, NB, MB>(w, sf, G, xs, xg, out);
}

template <int BITS, int GS, int WIDE> QmvFn pick_fast_rows(int nb, int mb) {
  if (nb == 1) {
    switch (mb) {
      case 1: return qmv_fast<BITS, GS, 1, 1, WIDE>;
      case 2: return qmv_fast<BITS, GS, 1, 2, WIDE>;
      case 3: return qmv_fast<BITS, GS, 1, 3, WIDE>;
      default: return qmv_fast<BITS, GS, 1, 4, WIDE>;
    }
  }
  switch (mb) {
    case 1: return qmv_fast<BITS, GS, 4, 1, WIDE>;
    case 2: return qmv_fast<BITS, GS, 2, 2, WIDE>;
    case 3: return qmv_fast<BITS, GS, 2, 3, WIDE>;
    default: return qmv_fast<BITS, GS, 2, 4, WIDE>;
  }
}

template <int BITS, int WIDE> QmvFn pick_fast_group(int gs, int nb, int mb) {
  if (gs == 32) return pick_fast_rows<BITS, 32, WIDE>(nb, mb);
  if (gs == 64) return pick_fast_rows<BITS, 64, WIDE>(nb, mb);
  return pick_fast_rows<BITS, 128, WIDE>(nb, mb);
}
#endif

// the kernel for nb weight rows (1 or the block) and mb x rows (1..4)
// (fields: x laid out for dot_avx512_fields)
QmvFn pick_qmv(Isa level, int bits, int gs, int vpb, int nb, int mb, bool fields) {
#if KILN_SIMD
  if (bits == 4 || bits == 8) {
    if (fields) return bits == 4 ? pick_fast_group<4, 2>(gs, nb, mb) : pick_fast_group<8, 2>(gs, nb, mb);
    const bool wide = level == Isa::kAvx512;
    if (bits == 4) return wide ? pick_fast_group<4, 1>(gs, nb, mb) : pick_fast_group<4, 0>(gs, nb, mb);
    return wide ? pick_fast_group<8, 1>(gs, nb, mb) : pick_fast_group<8, 0>(gs, nb, mb);
  }
#else
  (void)bits;
  (void)gs;
  (void)fields;
#endif
  if (nb == 1) {
    switch (mb) {
      case 1: return pick_vpb<1, 1>(level, vpb);
      case 2: return pick_vpb<1, 2>(level, vpb);
      case 3: return pick_vpb<1, 3>(level, vpb);
      default: return pick_vpb<1, 4>(level, vpb);
    }
  }
  switch (mb) {
    case 1: return pick_vpb<4, 1>(level, vpb);
    case 2: return pick_vpb<2, 2>(level, vpb);
    case 3: return pick_vpb<2, 3>(level, vpb);
    default: return pick_vpb<2, 4>(level, vpb);
  }
}
inline int block_rows(int mb) { return mb == 1 ? 4 : 2; }

// One group of gs values of a packed row (starting at a word) as F (float or bf16_t): 4-bit values
// through a 16-entry table of s*q + b per group, 8-bit ones directly, other widths bit by bit.
template <typename F> void dequant_group(const uint32_t* w, int bits, int gs, float s, float b, F* o) {
  if (bits == 4) {
    F t[16];
    for (int q = 0; q < 16; q++) t[q] = from_value<F>(s * (float)q + b);
    const uint8_t* p = reinterpret_cast<const uint8_t*>(w);
    for (int j = 0; j < gs / 2; j++) {
      o[2 * j] = t[p[j] & 15];
      o[2 * j + 1] = t[p[j] >> 4];
    }
  } else if (bits == 8) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(w);
    for (int j = 0; j < gs; j++) o[j] = from_value<F>(s * (float)p[j] + b);
  } else {
    uint8_t q[128];
    unpack_values(w, bits, gs, q);
    for (int j = 0; j < gs; j++) o[j] = from_value<F>(s * (float)q[j] + b);
  }
}

// Rows of x from which qmm_t dequantizes W a tile at a time for the packed GEMM instead of using the
// row kernels (which decode every weight once per 4 rows): bfloat16 x on AVX-512 BF16 (weights
// dequantized to bfloat16, as kn.dequantize gives them, vdpbf16ps), and float otherwise (measured
// on [M, 2048] x [2048, 5632] 4-bit: bf16 M=128 19.5 -> 11.2 ms, M=512 66 -> 27 ms; float32 M=512
// 72 -> 61 ms, a loss at 256).
constexpr int64_t kQmmGemmRowsBf16 = 64, kQmmGemmRowsFloat = 512;

// Many rows (prefill, training): W [N, K] dequantized 256 rows at a time, then the packed GEMM.
template <typename F>
void qmm_t_gemm(const Rows& x, const Rows& wq, const Rows& sc, const Rows& bi, const Rows& out, int gs, int bits) {
  const int64_t K = x.len, N = out.len, R = x.n, G = K / gs;
  const int wpg = gs * bits / 32;
  static thread_local Scratch xscratch, wscratch, cscratch;
  // x as F rows: bfloat16 rows are used where they are (the GEMM packs them), float ones widened
  const F* X;
  int64_t xrs, xcs;
  const View& xv = *x.v;
  if (std::is_same_v<F, bf16_t> && xv.ndim >= 1 && (R == 1 || xv.row_contiguous())) {
    X = reinterpret_cast<const F*>(xv.data());
    xrs = K, xcs = 1;
  } else {
    F* xb = xscratch.get<F>(R * K);
    parallel_for(R, std::max<int64_t>(1, 16384 / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
      std::vector<float> row((size_t)K);
      for (int64_t r = r0; r < r1; r++) {
        fastk::load_row<float>(row.data(), x.ptr(r), xv.dtype, x.stride, K);
        for (int64_t k = 0; k < K; k++) xb[r * K + k] = from_value<F>(row[k]);
      }
    });
    X = xb, xrs = K, xcs = 1;
  }
  const int64_t NT = std::min<int64_t>(N, 256);
  F* W = wscratch.get<F>(NT * K);
  const View& ov = *out.v;
  const bool direct = ov.dtype == kFloat32 && ov.row_contiguous();  // the GEMM writes the output in place
  float* C = direct ? nullptr : cscratch.get<float>(R * NT);
  for (int64_t n0 = 0; n0 < N; n0 += NT) {
    const int64_t nt = std::min(NT, N - n0);
    parallel_for(nt, std::max<int64_t>(1, 8192 / std::max<int64_t>(K, 1)), [&](int64_t a, int64_t b) {
      std::vector<uint32_t> tmp;
      for (int64_t n = a; n < b; n++) {
        const uint32_t* w = packed_row(wq, n0 + n, tmp);
        const char *sp = sc.ptr(n0 + n), *bp = bi.ptr(n0 + n);
        for (int64_t g = 0; g < G; g++)
          dequant_group<F>(w + g * wpg, bits, gs, load_scalar(sp, sc.v->dtype, g * sc.stride),
                           load_scalar(bp, bi.v->dtype, g * bi.stride), W + n * K + g * gs);
      }
    });
    float* Cn = direct ? reinterpret_cast<float*>(ov.data()) + n0 : C;
    const int64_t ldc = direct ? N : nt;
    if constexpr (std::is_same_v<F, bf16_t>) gemm_bf16(R, nt, K, X, xrs, xcs, W, 1, K, Cn, ldc, true);
    else gemm_f32(R, nt, K, X, xrs, xcs, W, 1, K, Cn, ldc, true);
    if (direct) continue;
    const int64_t es = dtype_size(ov.dtype);
    parallel_for(R, std::max<int64_t>(1, 16384 / std::max<int64_t>(nt, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++)
        fastk::store_row<float>(out.ptr(r) + n0 * out.stride * es, ov.dtype, out.stride, C + r * nt, nt);
    });
  }
}

// y = x @ W.T with W [N, K] quantized along K: the decode (few rows) and prefill (many) products.
void qmm_t(const Command& c, int gs, int bits) {
  const Rows x(c.in(0)), wq(c.in(1)), sc(c.in(2)), bi(c.in(3)), out(c.out());
  const int64_t K = x.len, N = out.len, R = x.n;
  if (R == 0 || N == 0) return;
  if (wq.n == N && K > 0 && isa_level() != Isa::kPortable) {
    if (x.v->dtype == kBfloat16 && use_avx512bf16() && R >= kQmmGemmRowsBf16)
      return qmm_t_gemm<bf16_t>(x, wq, sc, bi, out, gs, bits);
    if (R >= kQmmGemmRowsFloat) return qmm_t_gemm<float>(x, wq, sc, bi, out, gs, bits);
  }
  const Isa level = isa_level();
  const bool simd = level != Isa::kPortable;
  QM q{gs, bits, simd ? values_per_byte(bits, gs) : 1, sc.v->dtype, K, sc.stride, bi.stride};
  // x rows as float, in the layout of the path in use, and their group sums (the bias term: b * sum(x)
  // per group). AVX-512 4/8-bit with K a multiple of 64 bytes' values: the masked-fields layout.
  const bool fields = level == Isa::kAvx512 && (bits == 4 || bits == 8) && K % (16 * (32 / bits)) == 0;
  const int64_t G = K / gs;
  static thread_local Scratch xscratch, gscratch;
  float* X = xscratch.get<float>(R * K + 16);
  float* XG = gscratch.get<float>(R * G + 16);
  {
    std::vector<float> tmp((size_t)K);
    for (int64_t r = 0; r < R; r++) {
      float* dst = X + r * K;
      fastk::load_row<float>(tmp.data(), x.ptr(r), x.v->dtype, x.stride, K);
      for (int64_t g = 0; g < G; g++) {
        const float* p = tmp.data() + g * gs;
        float t = 0;
        for (int j = 0; j < gs; j++) t += p[j];
        XG[r * G + g] = t;
      }
      if (fields) qmv::fields_x(tmp.data(), K, bits, dst);
      else if (q.vpb == 1) std::memcpy(dst, tmp.data(), sizeof(float) * K);
      else permute_x(tmp.data(), K, q.vpb, dst);
    }
  }
  // weight rows: contiguous packed words (copied when strided, which Linear weights never are)
  std::vector<uint32_t> wcopy;
  if (wq.stride != 1) {
    wcopy.resize((size_t)(wq.n * wq.len));
    for (int64_t n = 0; n < wq.n; n++) {
      const uint32_t* p = reinterpret_cast<const uint32_t*>(wq.ptr(n));
      for (int64_t i = 0; i < wq.len; i++) wcopy[n * wq.len + i] = p[i * wq.stride];
    }
  }
  auto wrow = [&](int64_t n) {
    const uint32_t* w = wq.stride == 1 ? reinterpret_cast<const uint32_t*>(wq.ptr(n)) : wcopy.data() + n * wq.len;
    return WRow{w, sc.ptr(n), bi.ptr(n)};
  };
  const int out_dt = out.v->dtype;
  auto store = [&](int64_t r, int64_t n, float v) {
    char* p = fastk::element_ptr(*out.v, row_offset(*out.v, r)) + n * out.stride * dtype_size(out_dt);
    fastk::store_row<float>(p, out_dt, 1, &v, 1);
  };
  // batched weights (attention on a quantized cache): x rows [b*M, (b+1)*M) meet weight rows [b*N, (b+1)*N)
  const int64_t nbat = std::max<int64_t>(1, wq.n / N), M = R / nbat;
  for (int64_t bt = 0; bt < nbat; bt++) {
    const int64_t xr0 = bt * M, wr0 = bt * N;
    // rows of x in chunks that stay in cache while all of W streams past them
    const int64_t RC = std::max<int64_t>(4, std::min<int64_t>(64, (256 << 10) / (4 * std::max<int64_t>(K, 1))));
    for (int64_t rc = xr0; rc < xr0 + M; rc += RC) {
      const int64_t rn = std::min(RC, xr0 + M - rc);
      const int64_t NBmax = 4;
      auto body = [&](int64_t b0, int64_t b1) {
        const int64_t n0 = b0 * NBmax, n1 = std::min(N, b1 * NBmax);
        float res[16];
        for (int64_t r = 0; r < rn; r += 4) {
          const int mb = (int)std::min<int64_t>(4, rn - r);
          const float *xs[4], *xg[4];
          for (int m = 0; m < mb; m++) {
            xs[m] = X + (rc + r + m) * K;
            xg[m] = XG + (rc + r + m) * G;
          }
          if (!simd) {
            for (int64_t n = n0; n < n1; n++) {
              qmv_portable(q, wrow(wr0 + n), xs, mb, res);
              for (int m = 0; m < mb; m++) store(rc + r + m, n, res[m]);
            }
            continue;
          }
          const int nbb = block_rows(mb);
          const QmvFn blk = pick_qmv(level, bits, gs, q.vpb, nbb, mb, fields),
                      one = pick_qmv(level, bits, gs, q.vpb, 1, mb, fields);
          int64_t n = n0;
          for (; n + nbb <= n1; n += nbb) {
            WRow rows[4];
            for (int i = 0; i < nbb; i++) rows[i] = wrow(wr0 + n + i);
            blk(q, rows, xs, xg, res);
            for (int i = 0; i < nbb; i++)
              for (int m = 0; m < mb; m++) store(rc + r + m, n + i, res[i * mb + m]);
          }
          for (; n < n1; n++) {
            WRow row = wrow(wr0 + n);
            one(q, &row, xs, xg, res);
            for (int m = 0; m < mb; m++) store(rc + r + m, n, res[m]);
          }
        }
      };
      const int64_t blocks = (N + NBmax - 1) / NBmax;
      const int64_t work = std::max<int64_t>(1, rn * K / 4);
      parallel_for(blocks, std::max<int64_t>(1, 8192 / work), body);
    }
  }
}

#if KILN_SIMD
KILN_AVX2 void axpy_q_avx2(float a, const float* w, float* y, int n) {
  const __m256 av = _mm256_set1_ps(a);
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(w + i), _mm256_loadu_ps(y + i)));
  for (; i < n; i++) y[i] = __builtin_fmaf(a, w[i], y[i]);
}
#endif
void axpy_q_portable(float a, const float* w, float* y, int n) {
  for (int i = 0; i < n; i++) y[i] += a * w[i];
}

// y = x @ W with W [K, N] quantized along N (the backward of x @ W.T): one group of columns at a time.
void qmm_n(const Command& c, int gs, int bits) {
  const Rows x(c.in(0)), wq(c.in(1)), sc(c.in(2)), bi(c.in(3)), out(c.out());
  const int64_t K = x.len, N = out.len, R = x.n, G = N / gs;
  if (R == 0 || N == 0) return;
  if (K == 0) {
    std::vector<float> zero((size_t)N, 0.0f);
    for (int64_t r = 0; r < out.n; r++) fastk::store_row<float>(out.ptr(r), out.v->dtype, out.stride, zero.data(), N);
    return;
  }
  const bool simd = use_avx2();
  static thread_local Scratch xscratch;
  float* X = xscratch.get<float>(R * K + 16);
  for (int64_t r = 0; r < R; r++) fastk::load_row<float>(X + r * K, x.ptr(r), x.v->dtype, x.stride, K);
  const int wpg = gs * bits / 32;
  // batched weights: x rows [b*M, (b+1)*M) meet weight rows [b*K, (b+1)*K)
  const int64_t nbat = std::max<int64_t>(1, wq.n / K), M = R / nbat;
  parallel_for(nbat * G, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> acc((size_t)(M * gs)), w((size_t)gs);
    std::vector<uint32_t> tmp;
    uint8_t u[128];
    for (int64_t t = t0; t < t1; t++) {
      const int64_t bt = t / G, g = t % G;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t k = 0; k < K; k++) {
        const int64_t wr = bt * K + k;
        const uint32_t* row = packed_row(wq, wr, tmp);
        unpack_values(row + g * wpg, bits, gs, u);
        const float s = load_scalar(sc.ptr(wr), sc.v->dtype, g * sc.stride);
        const float b = load_scalar(bi.ptr(wr), bi.v->dtype, g * bi.stride);
        for (int j = 0; j < gs; j++) w[j] = s * (float)u[j] + b;
        for (int64_t r = 0; r < M; r++) {
          const float a = X[(bt * M + r) * K + k];
#if KILN_SIMD
          if (simd) {
            axpy_q_avx2(a, w.data(), acc.data() + r * gs, gs);
            continue;
          }
#endif
          (void)simd;
          axpy_q_portable(a, w.data(), acc.data() + r * gs, gs);
        }
      }
      for (int64_t r = 0; r < M; r++) {
        char* p =
            fastk::element_ptr(*out.v, row_offset(*out.v, bt * M + r)) + g * gs * out.stride * dtype_size(out.v->dtype);
        fastk::store_row<float>(p, out.v->dtype, out.stride, acc.data() + r * gs, gs);
      }
    }
  });
}

}  // namespace

void check_quantized_matmul(const Command& c) {
  const int64_t gs = qparam(c, 0, "group_size"), bits = qparam(c, 1, "bits"), tr = qparam(c, 2, "transpose");
  check_group_bits(c, gs, bits);
  if (tr != 0 && tr != 1) fail("[quantized_matmul] transpose must be 0 or 1, got ", tr);
  const View &x = c.in(0), &wq = c.in(1), &out = c.out();
  if (!is_half_or_float(x.dtype))
    fail("[quantized_matmul] x must be float32, float16 or bfloat16, got ", dtype_name(x.dtype));
  if (!is_half_or_float(out.dtype))
    fail("[quantized_matmul] the output must be float32, float16 or bfloat16, got ", dtype_name(out.dtype));
  if (x.ndim < 1 || out.ndim != x.ndim)
    fail("[quantized_matmul] x and the output must have one rank: ", x.describe(), ", ", out.describe());
  for (int d = 0; d + 1 < x.ndim; d++)
    if (out.shape[d] != x.shape[d])
      fail("[quantized_matmul] the output must keep x's leading dims: ", x.describe(), ", ", out.describe());
  if (wq.ndim < 2) fail("[quantized_matmul] wq must have at least 2 dims, got ", wq.describe());
  if (wq.ndim > 2) {
    // batched weights: x [..., M, K] and wq [..., N|K, *] with the same batch dims
    if (x.ndim != wq.ndim)
      fail("[quantized_matmul] batched wq ", wq.describe(), " needs x of the same rank, got ", x.describe());
    for (int d = 0; d + 2 < wq.ndim; d++)
      if (x.shape[d] != wq.shape[d])
        fail("[quantized_matmul] x ", x.describe(), " and wq ", wq.describe(), " differ in batch dims");
  }
  const int64_t K = x.shape[x.ndim - 1], N = out.shape[out.ndim - 1];
  const int64_t wrows = wq.shape[wq.ndim - 2];
  if (tr) {
    if (wrows != N) fail("[quantized_matmul] wq has ", wrows, " rows, the output ", N, " columns");
    check_quant_triplet(c, wq, c.in(2), c.in(3), K, gs, bits);
  } else {
    if (wrows != K) fail("[quantized_matmul] wq has ", wrows, " rows, x ", K, " columns");
    check_quant_triplet(c, wq, c.in(2), c.in(3), N, gs, bits);
  }
  if (!is_half_or_float(c.in(2).dtype)) fail("[quantized_matmul] scales must be float32, float16 or bfloat16");
}

void run_quantized_matmul(const Command& c) {
  const int gs = (int)c.iparam(0), bits = (int)c.iparam(1);
  if (c.iparam(2)) qmm_t(c, gs, bits);
  else qmm_n(c, gs, bits);
}

}  // namespace kiln
