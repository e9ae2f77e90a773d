// GGUF (ggml) quantized weights used in their own blocks, never expanded to float:
//   gguf_matmul   inputs x float32 [..., K] (rows contiguous), w uint8 [N, row_bytes]  -> out float32 [..., N]
//                 params ggml_type, K          out = x @ dequant(w)^T
//                 (from a few activation rows on: the tiled GEMM of quantized_gguf_gemm.h)
//   gguf_dequant  inputs w uint8 [R, row_bytes]  -> out float32 [R, K]   params ggml_type, K
// Types: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 (blocks of 32) and Q2_K Q3_K Q4_K Q5_K Q6_K (blocks of 256), in
// ggml-common.h's byte layouts, read straight from the (mapped) file. The activations are quantized
// per row to 8-bit blocks (32 values with their sum, or 256 values with sums per 16 for the K
// types), so every product is an integer dot: AVX2 maddubs/madd, AVX-512 VNNI vpdpbusd, or plain
// integer loops (portable). Dequantization is bit for bit ggml's dequantize_row_* (float steps in
// the same order), which makes gguf_dequant the oracle the dot kernels are tested against.
#include "../simd.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "kernels.h"
#include "../scratch.h"
#include "../thread_pool.h"

namespace kiln {
namespace {

enum GType : int {
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14
};

struct TypeInfo {
  int id;
  const char* name;
  int block;  // elements per block
  int bytes;  // bytes per block
};

const TypeInfo kTypes[] = {{Q4_0, "Q4_0", 32, 18},   {Q4_1, "Q4_1", 32, 20},   {Q5_0, "Q5_0", 32, 22},
                           {Q5_1, "Q5_1", 32, 24},   {Q8_0, "Q8_0", 32, 34},   {Q2_K, "Q2_K", 256, 84},
                           {Q3_K, "Q3_K", 256, 110}, {Q4_K, "Q4_K", 256, 144}, {Q5_K, "Q5_K", 256, 176},
                           {Q6_K, "Q6_K", 256, 210}};

const TypeInfo* type_info(int id) {
  for (const TypeInfo& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

// ---- float16 ------------------------------------------------------------------------------------

const float* f16_table() {
  static const std::vector<float> t = [] {
    std::vector<float> v(65536);
    for (int i = 0; i < 65536; i++) v[i] = half_to_float((uint16_t)i);
    return v;
  }();
  return t.data();
}
inline float f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_table()[h];
}

// ---- activation blocks ----------------------------------------------------------------------------

// 32 values: x ~= d * q, s = d * sum(q) (the term the offset/min of a weight block multiplies).
struct XB32 {
  float d, s;
  int8_t q[32];
};
// One activation row for the 32-element types (XRow32): nb XB32 blocks, then float d[nb] and
// s[nb] (the same values, contiguous: the one-row decode dot loads eight at a time).
inline int64_t xrow32_bytes(int64_t nb) { return nb * ((int64_t)sizeof(XB32) + 2 * (int64_t)sizeof(float)); }
// 256 values with the sums of q per 16 (the K types' sub-blocks of 16 or 32).
struct XBK {
  float d;
  int16_t bsum[16];
  int8_t q[256];
};
// 32 values for the prefill GEMM (quantized_gguf_gemm.h): s, s0, s1 = d * the sums of all 32 q, of
// the first 16 and of the last 16 (what per-32 or per-16 offsets and mins multiply).
struct XG {
  int8_t q[32];
  float d, s, s0, s1;
};
// Activation rows from which gguf_matmul runs as a tiled GEMM (SIMD levels) instead of row dots
// (measured crossovers on [M, 2048] x [2048, 5632]: the K types' row dots share more work per block).
constexpr int64_t kGemmMinRows32 = 4, kGemmMinRowsK = 8;

inline int8_t round_q(float v) {
  int r = (int)std::nearbyint(v);
  return (int8_t)std::max(-127, std::min(127, r));
}

// Portable quantization (symmetric, amax -> 127); the SIMD versions round the same way (nearest even).
void quantize_x32(const float* x, int64_t nb, XB32* y) {
  for (int64_t b = 0; b < nb; b++, x += 32) {
    float amax = 0;
    for (int j = 0; j < 32; j++) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f, id = d != 0 ? 1.f / d : 0.f;
    int sum = 0;
    for (int j = 0; j < 32; j++) {
      y[b].q[j] = round_q(x[j] * id);
      sum += y[b].q[j];
    }
    y[b].d = d;
    y[b].s = d * (float)sum;
  }
}
void quantize_xk(const float* x, int64_t nb, XBK* y) {
  for (int64_t b = 0; b < nb; b++, x += 256) {
    float amax = 0;
    for (int j = 0; j < 256; j++) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f, id = d != 0 ? 1.f / d : 0.f;
    for (int j = 0; j < 256; j++) y[b].q[j] = round_q(x[j] * id);
    for (int g = 0; g < 16; g++) {
      int s = 0;
      for (int j = 0; j < 16; j++) s += y[b].q[g * 16 + j];
      y[b].bsum[g] = (int16_t)s;
    }
    y[b].d = d;
  }
}

// ---- block decoding shared by the portable dot and dequantization ---------------------------------

// The 6-bit scale and min of sub-block j of Q4_K/Q5_K (12 packed bytes).
inline void scale_min_k4(int j, const uint8_t* s, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q3_K's 16 6-bit scales (stored biased by 32), unpacked.
inline void q3k_scales(const uint8_t* s12, int8_t out[16]) {
  uint32_t aux[4];
  std::memcpy(aux, s12, 12);
  const uint32_t k1 = 0x03030303, k2 = 0x0f0f0f0f, tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & k2) | (((tmp >> 4) & k1) << 4);
  aux[3] = ((aux[1] >> 4) & k2) | (((tmp >> 6) & k1) << 4);
  aux[0] = (aux[0] & k2) | (((tmp >> 0) & k1) << 4);
  aux[1] = (aux[1] & k2) | (((tmp >> 2) & k1) << 4);
  std::memcpy(out, aux, 16);
}

// A 32-element block as integers q (value = d*q + m) -- q signed for the symmetric types.
inline void decode32(int type, const uint8_t* b, int q[32], float& d, float& m) {
  m = 0;
  switch (type) {
    case Q4_0:
    case Q4_1: {
      const uint8_t* qs = b + (type == Q4_0 ? 2 : 4);
      const int off = type == Q4_0 ? 8 : 0;
      for (int j = 0; j < 16; j++) {
        q[j] = (qs[j] & 0xF) - off;
        q[j + 16] = (qs[j] >> 4) - off;
      }
      d = f16(b);
      if (type == Q4_1) m = f16(b + 2);
      break;
    }
    case Q5_0:
    case Q5_1: {
      const int h = type == Q5_0 ? 2 : 4;
      uint32_t qh;
      std::memcpy(&qh, b + h, 4);
      const uint8_t* qs = b + h + 4;
      const int off = type == Q5_0 ? 16 : 0;
      for (int j = 0; j < 16; j++) {
        q[j] = ((qs[j] & 0xF) | (((qh >> j) << 4) & 0x10)) - off;
        q[j + 16] = ((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - off;
      }
      d = f16(b);
      if (type == Q5_1) m = f16(b + 2);
      break;
    }
    default: {  // Q8_0
      for (int j = 0; j < 32; j++) q[j] = (int8_t)b[2 + j];
      d = f16(b);
    }
  }
}

// A 256-element K block as value = d*sc[j]*q - dmin*mn[j] over 16 sub-blocks of 16 (sub-blocks of 32
// appear twice).
struct KBlock {
  int q[256];
  int sc[16], mn[16];
  float d, dmin;
};

void decode_k(int type, const uint8_t* b, KBlock& k) {
  switch (type) {
    case Q2_K: {  // scales[16] qs[64] d dmin
      const uint8_t* qs = b + 16;
      for (int e = 0; e < 256; e++) {
        const int n = e / 128, j = (e % 128) / 32, l = e % 32;
        k.q[e] = (qs[n * 32 + l] >> (2 * j)) & 3;
      }
      for (int s = 0; s < 16; s++) {
        k.sc[s] = b[s] & 0xF;
        k.mn[s] = b[s] >> 4;
      }
      k.d = f16(b + 80);
      k.dmin = f16(b + 82);
      break;
    }
    case Q3_K: {  // hmask[32] qs[64] scales[12] d
      const uint8_t *hm = b, *qs = b + 32;
      for (int e = 0; e < 256; e++) {
        const int n = e / 128, j = (e % 128) / 32, l = e % 32;
        const int lo = (qs[n * 32 + l] >> (2 * j)) & 3;
        k.q[e] = lo - ((hm[l] >> (n * 4 + j)) & 1 ? 0 : 4);
      }
      int8_t s8[16];
      q3k_scales(b + 96, s8);
      for (int s = 0; s < 16; s++) {
        k.sc[s] = s8[s] - 32;
        k.mn[s] = 0;
      }
      k.d = f16(b + 108);
      k.dmin = 0;
      break;
    }
    case Q4_K:
    case Q5_K: {  // d dmin scales[12] [qh[32]] qs[128]
      const uint8_t* qh = b + 16;
      const uint8_t* qs = b + (type == Q5_K ? 48 : 16);
      for (int e = 0; e < 256; e++) {
        const int c = e / 64, hi = (e % 64) / 32, l = e % 32;
        const uint8_t v = qs[c * 32 + l];
        int u = hi ? v >> 4 : v & 0xF;
        if (type == Q5_K) u |= ((qh[l] >> (2 * c + hi)) & 1) << 4;
        k.q[e] = u;
      }
      for (int j = 0; j < 8; j++) {
        int sc, m;
        scale_min_k4(j, b + 4, sc, m);
        k.sc[2 * j] = k.sc[2 * j + 1] = sc;
        k.mn[2 * j] = k.mn[2 * j + 1] = m;
      }
      k.d = f16(b);
      k.dmin = f16(b + 2);
      break;
    }
    default: {  // Q6_K: ql[128] qh[64] scales[16] d
      const uint8_t *ql = b, *qh = b + 128;
      const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
      for (int e = 0; e < 256; e++) {
        const int n = e / 128, g = (e % 128) / 32, l = e % 32;
        const uint8_t lq = ql[n * 64 + l + (g & 1) * 32];
        const int lo = g < 2 ? lq & 0xF : lq >> 4;
        const int hi = (qh[n * 32 + l] >> (2 * g)) & 3;
        k.q[e] = (lo | (hi << 4)) - 32;
      }
      for (int s = 0; s < 16; s++) {
        k.sc[s] = sc[s];
        k.mn[s] = 0;
      }
      k.d = f16(b + 208);
      k.dmin = 0;
    }
  }
}

// ---- dequantization: ggml's dequantize_row_* float arithmetic, step for step ----------------------

void dequant_blocks(int type, const uint8_t* b, int64_t nb, float* y) {
  const TypeInfo* t = type_info(type);
  for (int64_t i = 0; i < nb; i++, b += t->bytes) {
    if (t->block == 32) {
      int q[32];
      float d, m;
      decode32(type, b, q, d, m);
      if (type == Q4_1 || type == Q5_1)
        for (int j = 0; j < 32; j++) {
          const float p = (float)q[j] * d;  // ggml: x*d + m in float
          y[j] = p + m;
        }
      else
        for (int j = 0; j < 32; j++) y[j] = (float)q[j] * d;
      y += 32;
      continue;
    }
    KBlock k;
    decode_k(type, b, k);
    if (type == Q3_K || type == Q6_K) {
      for (int e = 0; e < 256; e++) {
        const float dl = k.d * (float)k.sc[e / 16];
        y[e] = dl * (float)k.q[e];
      }
    } else {
      for (int e = 0; e < 256; e++) {
        const float dl = k.d * (float)k.sc[e / 16], ml = k.dmin * (float)k.mn[e / 16];
        const float p = dl * (float)k.q[e];
        y[e] = p - ml;
      }
    }
    y += 256;
  }
}

// ---- portable dot products -------------------------------------------------------------------------

// out[r] = dot(weight row, activation row r) for nr activation rows (x blocks `xs` apart).
using DotFn = void (*)(int type, int64_t nb, const uint8_t* w, const void* x, int64_t xstride, int nr, float* out);

void dot_portable(int type, int64_t nb, const uint8_t* w, const void* xv, int64_t xstride, int nr, float* out) {
  const TypeInfo* t = type_info(type);
  for (int r = 0; r < nr; r++) out[r] = 0;
  if (t->block == 32) {
    for (int64_t i = 0; i < nb; i++) {
      int q[32];
      float d, m;
      decode32(type, w + i * t->bytes, q, d, m);
      for (int r = 0; r < nr; r++) {
        const XB32& x = reinterpret_cast<const XB32*>(static_cast<const char*>(xv) + r * xstride)[i];
        int s = 0;
        for (int j = 0; j < 32; j++) s += q[j] * x.q[j];
        out[r] += d * x.d * (float)s + m * x.s;
      }
    }
    return;
  }
  KBlock k;
  for (int64_t i = 0; i < nb; i++) {
    decode_k(type, w + i * t->bytes, k);
    for (int r = 0; r < nr; r++) {
      const XBK& x = reinterpret_cast<const XBK*>(static_cast<const char*>(xv) + r * xstride)[i];
      int sum = 0, msum = 0;
      for (int s = 0; s < 16; s++) {
        int p = 0;
        for (int l = 0; l < 16; l++) p += k.q[s * 16 + l] * x.q[s * 16 + l];
        sum += k.sc[s] * p;
        msum += k.mn[s] * x.bsum[s];
      }
      out[r] += k.d * x.d * (float)sum - k.dmin * x.d * (float)msum;
    }
  }
}

}  // namespace
}  // namespace kiln

#if KILN_SIMD
// The vector kernels, compiled twice: AVX2 (maddubs/madd) and AVX-512 VNNI (vpdpbusd on ymm).
#define QG_NS qg_avx2
#define QG_TARGET __attribute__((target("avx2,fma,f16c")))
#define QG_VNNI 0
#include "quantized_gguf_simd.h"
#include "quantized_gguf_gemm.h"
#undef QG_NS
#undef QG_TARGET
#undef QG_VNNI
#define QG_NS qg_avx512
#define QG_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define QG_VNNI 1
#include "quantized_gguf_simd.h"
#include "quantized_gguf_gemm.h"
#endif

namespace kiln {
namespace {

using GemmFn = void (*)(int type, int64_t M, int64_t N, int64_t K, const uint8_t* w, int64_t ws, const XG* x, float* out);

struct Impl {
  DotFn dot;
  void (*qx32)(const float*, int64_t, XB32*);
  void (*qxk)(const float*, int64_t, XBK*);
  GemmFn gemm;  // null: rows of any count go through `dot`
  void (*qxg)(const float*, int64_t, int, XG*);
};

Impl impl() {
#if KILN_SIMD
  if (use_avx512() && isa_state().cpu.avx512vnni)
    return {qg_avx512::dot, qg_avx512::quantize_x32, qg_avx512::quantize_xk, qg_avx512::gemm, qg_avx512::quantize_xg};
  if (use_avx2())
    return {qg_avx2::dot, qg_avx2::quantize_x32, qg_avx2::quantize_xk, qg_avx2::gemm, qg_avx2::quantize_xg};
#endif
  return {dot_portable, quantize_x32, quantize_xk, nullptr, nullptr};
}

const TypeInfo& check_type(const Command& c, int64_t& K) {
  const char* name = kernel_name(c);
  const double tv = c.params[0], kv = c.params[1];
  const TypeInfo* t = tv == std::floor(tv) ? type_info((int)tv) : nullptr;
  if (!t)
    fail("[", name, "] ggml type ", tv,
         " has no native kernel (supported: Q4_0=2 Q4_1=3 Q5_0=6 Q5_1=7 Q8_0=8 Q2_K=10 Q3_K=11 Q4_K=12 Q5_K=13 "
         "Q6_K=14)");
  if (!(kv >= 1) || kv != std::floor(kv) || kv > 1e15) fail("[", name, "] K must be a positive integer, got ", kv);
  K = (int64_t)kv;
  if (K % t->block) fail("[", name, "] K ", K, " is not a multiple of the ", t->name, " block size ", t->block);
  return *t;
}

void check_weight(const Command& c, const View& w, const TypeInfo& t, int64_t K, const char* what) {
  const char* name = kernel_name(c);
  const int64_t rb = K / t.block * t.bytes;
  if (w.dtype != kUint8) fail("[", name, "] ", what, " must be uint8 ", t.name, " blocks, got ", dtype_name(w.dtype));
  if (w.ndim != 2 || w.shape[1] != rb)
    fail("[", name, "] ", what, " must have shape [rows, ", rb, "] (", K / t.block, " ", t.name, " blocks of ", t.bytes,
         " bytes per row of ", K, "), got ", w.describe());
  if (w.strides[1] != 1 && rb > 1) fail("[", name, "] ", what, " rows must be contiguous bytes, got ", w.describe());
}

int64_t rows_of(const View& v) { return v.ndim ? v.size / v.shape[v.ndim - 1] : 1; }

// Element offset of row r of a view whose last axis is contiguous (any strides before it).
int64_t row_off(const View& v, int64_t r) {
  int64_t off = v.offset;
  for (int d = v.ndim - 2; d >= 0; d--) {
    off += (r % v.shape[d]) * v.strides[d];
    r /= v.shape[d];
  }
  return off;
}

}  // namespace

void check_gguf_matmul(const Command& c) {
  int64_t K;
  const TypeInfo& t = check_type(c, K);
  const View &x = c.in(0), &w = c.in(1), &out = c.out();
  if (x.dtype != kFloat32 || out.dtype != kFloat32)
    fail("[gguf_matmul] x and output must be float32, got ", dtype_name(x.dtype), " and ", dtype_name(out.dtype));
  if (x.ndim < 1 || x.shape[x.ndim - 1] != K)
    fail("[gguf_matmul] x must have last dimension K=", K, ", got ", x.describe());
  check_weight(c, w, t, K, "w");
  if (out.ndim != x.ndim || !out.row_contiguous())
    fail("[gguf_matmul] output must be a contiguous [..., N] array, got ", out.describe());
  for (int d = 0; d + 1 < x.ndim; d++)
    if (out.shape[d] != x.shape[d]) fail("[gguf_matmul] output ", out.describe(), " does not match x ", x.describe());
  if (out.shape[out.ndim - 1] != w.shape[0])
    fail("[gguf_matmul] output last dimension must be N=", w.shape[0], ", got ", out.describe());
}

void run_gguf_matmul(const Command& c) {
  int64_t K;
  const TypeInfo& t = check_type(c, K);
  const View &x = c.in(0), &w = c.in(1), &out = c.out();
  const int64_t M = rows_of(x), N = w.shape[0], nb = K / t.block, rb = nb * t.bytes;
  if (M == 0 || N == 0) return;
  const Impl im = impl();
  const bool tiled = im.gemm && M >= (t.block == 256 ? kGemmMinRowsK : kGemmMinRows32);
  const bool kq = t.block == 256 && !tiled;
  // a row of 32-element activation blocks is an XRow32: the blocks, then their d and s as arrays
  const int64_t xsz = tiled ? (int64_t)sizeof(XG) * (K / 32) : kq ? (int64_t)sizeof(XBK) * nb : xrow32_bytes(nb);
  std::unique_ptr<char[]> xq(new char[(size_t)(xsz * M + 64)]);
  char* xqa = reinterpret_cast<char*>(((uintptr_t)xq.get() + 63) & ~(uintptr_t)63);
  const float* xp = x.ptr<float>();
  const int64_t xs = x.strides[x.ndim - 1];
  parallel_for(M, 4, [&](int64_t b, int64_t e) {
    std::vector<float> tmp(xs == 1 ? 0 : K);
    for (int64_t r = b; r < e; r++) {
      const float* row = xp + (row_off(x, r) - x.offset);
      if (xs != 1) {  // a strided row (a transposed view) is gathered first
        for (int64_t k = 0; k < K; k++) tmp[k] = row[k * xs];
        row = tmp.data();
      }
      char* dst = xqa + r * xsz;
      if (tiled) im.qxg(row, K / 32, t.block, reinterpret_cast<XG*>(dst));
      else if (kq) im.qxk(row, nb, reinterpret_cast<XBK*>(dst));
      else {
        XB32* blocks = reinterpret_cast<XB32*>(dst);
        im.qx32(row, nb, blocks);
        float* d = reinterpret_cast<float*>(dst + nb * (int64_t)sizeof(XB32));
        for (int64_t b = 0; b < nb; b++) {
          d[b] = blocks[b].d;
          d[nb + b] = blocks[b].s;
        }
      }
    }
  });
  const uint8_t* wp = w.ptr<uint8_t>();
  const int64_t ws = w.strides[0];
  float* op = out.ptr<float>();
  if (tiled) return im.gemm(t.id, M, N, K, wp, ws, reinterpret_cast<const XG*>(xqa), op);
  // Weight rows split across threads; each weight row meets up to 4 activation rows per pass.
  const int64_t grain = std::max<int64_t>(1, (int64_t)16384 / std::max<int64_t>(rb, 1));
  parallel_for(N, M > 1 ? std::max<int64_t>(grain, 8) : grain, [&](int64_t nb0, int64_t nb1) {
    constexpr int64_t NT = 16;
    for (int64_t n0 = nb0; n0 < nb1; n0 += NT) {
      const int64_t n1 = std::min(nb1, n0 + NT);
      for (int64_t m = 0; m < M; m += 4) {
        const int nr = (int)std::min<int64_t>(4, M - m);
        for (int64_t n = n0; n < n1; n++) {
          float r4[4];
          im.dot(t.id, nb, wp + n * ws, xqa + m * xsz, xsz, nr, r4);
          for (int r = 0; r < nr; r++) op[(m + r) * N + n] = r4[r];
        }
      }
    }
  });
}

void check_gguf_dequant(const Command& c) {
  int64_t K;
  const TypeInfo& t = check_type(c, K);
  const View &w = c.in(0), &out = c.out();
  check_weight(c, w, t, K, "w");
  if (out.dtype != kFloat32 || out.ndim != 2 || out.shape[0] != w.shape[0] || out.shape[1] != K ||
      !out.row_contiguous())
    fail("[gguf_dequant] output must be a contiguous float32 [", w.shape[0], ", ", K, "] array, got ", out.describe());
}

void run_gguf_dequant(const Command& c) {
  int64_t K;
  const TypeInfo& t = check_type(c, K);
  const View &w = c.in(0), &out = c.out();
  const int64_t R = w.shape[0], nb = K / t.block;
  const uint8_t* wp = w.ptr<uint8_t>();
  float* op = out.ptr<float>();
  parallel_for(R, std::max<int64_t>(1, 65536 / K), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) dequant_blocks(t.id, wp + r * w.strides[0], nb, op + r * K);
  });
}

}  // namespace kiln
