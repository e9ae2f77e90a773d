// MLX's affine quantization on the GPU, mirroring backends/cpu/kernels/quantized.cc:
//   affine_quantize   w [..., K] -> wq uint32 [..., K*bits/32], scales, biases [..., K/group]
//   affine_dequantize wq, scales, biases -> out [..., K]
//   quantized_matmul  x [..., K] with wq [N, K*bits/32] (transpose = 1) or [K, N*bits/32] (transpose
//                     = 0), batched weights as on the CPU; params group_size, bits, transpose
// A row of `bits`-bit values is a little-endian bit stream (value j at bits j*bits.., 3/5/6-bit
// values may straddle two words); every 32 values fill exactly `bits` words (a "pack"), and a group
// (32/64/128 values) is whole packs. Quantize runs one thread per group with the CPU's float
// operations in the CPU's order (bit-exact); dequantize one thread per value (s * q + b,
// uncontracted as the CPU). quantized_matmul first widens x to float rows in scratch; for
// transpose = 1 and at most 8 rows per weight batch a warp per output column reads each packed
// weight row once, a pack per lane (vector loads for 2/4/8 bits), decodes it in registers and serves
// all rows (y += s * sum(q x) + b * sum(x) per pack, float sums); otherwise a 64 x 64 tile kernel
// dequantizes 32-deep weight slices into shared memory (both orientations).
#include "nn_util.cuh"
#include "../registry.h"

namespace kiln {
namespace cuda {
namespace {

using nn::Rows;

// ---- affine_quantize

struct QuantArgs {
  const void* w;
  uint32_t* wq;
  void *s, *b;
  int wdt, sdt;
  int64_t R, G;
  int gs, bits;
};

__global__ void quantize_kernel(QuantArgs a, Rows wr, Rows qr, Rows sr, Rows br) {
  const int64_t n = a.R * a.G;
  const float n_bins = (float)((1 << a.bits) - 1), eps = 1e-7f;
  const int wpg = a.gs * a.bits / 32;
  const uint32_t vmask = (1u << a.bits) - 1;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = e / a.G, g = e - r * a.G;
    const int64_t wo = nn::row_off(wr, r) + g * a.gs * wr.last_stride;
    float mn = INFINITY, mx = -INFINITY;
    for (int j = 0; j < a.gs; j++) {
      const float x = nn::ldf<float>(a.w, a.wdt, wo + j * wr.last_stride);
      mx = mx < x ? x : mx;  // std::max(mx, x)
      mn = x < mn ? x : mn;  // std::min(mn, x)
    }
    const bool neg = fabsf(mn) > fabsf(mx);
    const float t = __fdiv_rn(__fsub_rn(mx, mn), n_bins);
    float scale = t < eps ? eps : t;
    scale = neg ? scale : -scale;
    const float edge = neg ? mn : mx;
    const float q0 = rintf(__fdiv_rn(edge, scale));
    float bias = 0;
    if (q0 != 0) {
      scale = __fdiv_rn(edge, q0);
      bias = edge;
    }
    uint32_t* out = a.wq + nn::row_off(qr, r);
    int64_t wi = g * wpg;
    uint64_t acc = 0;
    int have = 0;
    for (int j = 0; j < a.gs; j++) {
      const float x = nn::ldf<float>(a.w, a.wdt, wo + j * wr.last_stride);
      float q = rintf(__fdiv_rn(__fsub_rn(x, bias), scale));
      q = q < 0.0f ? 0.0f : q;                        // std::max(q, 0)
      q = n_bins < q ? n_bins : q;                    // std::min(q, n_bins)
      const uint32_t qi = q == q ? (uint32_t)q : 0u;  // NaN packs as 0
      acc |= (uint64_t)(qi & vmask) << have;
      have += a.bits;
      if (have >= 32) {
        out[wi * qr.last_stride] = (uint32_t)acc;
        wi++;
        acc >>= 32;
        have -= 32;
      }
    }
    nn::stf<float>(a.s, a.sdt, nn::row_off(sr, r) + g * sr.last_stride, scale);
    nn::stf<float>(a.b, a.sdt, nn::row_off(br, r) + g * br.last_stride, bias);
  }
}

void run_affine_quantize(const Command& c, Context& ctx) {
  const View &w = c.in(0), &wq = c.out(0), &s = c.out(1), &b = c.out(2);
  if (w.size == 0) return;
  QuantArgs a;
  a.gs = (int)c.iparam(0), a.bits = (int)c.iparam(1);
  const int64_t K = w.shape[w.ndim - 1];
  a.R = w.size / K, a.G = K / a.gs;
  a.w = dptr<const char>(w, ctx);
  a.wq = dptr<uint32_t>(wq, ctx);
  a.s = dptr<char>(s, ctx), a.b = dptr<char>(b, ctx);
  a.wdt = w.dtype, a.sdt = s.dtype;
  quantize_kernel<<<grid_for(a.R * a.G, 128), 128, 0, ctx.stream>>>(a, nn::rows_of(w), nn::rows_of(wq), nn::rows_of(s),
                                                                    nn::rows_of(b));
}

// ---- affine_dequantize

// Value `idx` of a packed row starting at `w` (word stride ws).
__device__ __forceinline__ uint32_t unpack_at(const uint32_t* w, int64_t ws, int64_t idx, int bits) {
  const int64_t p = idx * bits, word = p >> 5;
  const int sh = (int)(p & 31);
  uint32_t v = w[word * ws] >> sh;
  if (sh + bits > 32) v |= w[(word + 1) * ws] << (32 - sh);
  return v & ((1u << bits) - 1);
}

struct DequantArgs {
  const uint32_t* wq;
  const void *s, *b;
  void* o;
  int sdt, odt;
  int64_t R, K;
  int gs, bits;
};

__global__ void dequantize_kernel(DequantArgs a, Rows qr, Rows sr, Rows br, Rows orr) {
  const int64_t n = a.R * a.K;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = e / a.K, k = e - r * a.K, g = k / a.gs;
    const uint32_t q = unpack_at(a.wq + nn::row_off(qr, r), qr.last_stride, k, a.bits);
    const float s = nn::ldf<float>(a.s, a.sdt, nn::row_off(sr, r) + g * sr.last_stride);
    const float b = nn::ldf<float>(a.b, a.sdt, nn::row_off(br, r) + g * br.last_stride);
    nn::stf<float>(a.o, a.odt, nn::row_off(orr, r) + k * orr.last_stride, __fadd_rn(__fmul_rn(s, (float)q), b));
  }
}

void run_affine_dequantize(const Command& c, Context& ctx) {
  const View &wq = c.in(0), &s = c.in(1), &b = c.in(2), &out = c.out();
  if (out.size == 0) return;
  DequantArgs a;
  a.gs = (int)c.iparam(0), a.bits = (int)c.iparam(1);
  a.K = out.shape[out.ndim - 1];
  a.R = out.size / a.K;
  a.wq = dptr<const uint32_t>(wq, ctx);
  a.s = dptr<const char>(s, ctx), a.b = dptr<const char>(b, ctx);
  a.o = dptr<char>(out, ctx);
  a.sdt = s.dtype, a.odt = out.dtype;
  dequantize_kernel<<<grid_for(a.R * a.K), 256, 0, ctx.stream>>>(a, nn::rows_of(wq), nn::rows_of(s), nn::rows_of(b),
                                                                 nn::rows_of(out));
}

// ---- quantized_matmul

// x rows widened to contiguous float rows [R, K].
__global__ void widen_rows(const void* x, int xdt, Rows xr, float* xf, int64_t R, int64_t K) {
  const int64_t n = R * K;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = e / K, k = e - r * K;
    xf[e] = nn::ldf<float>(x, xdt, nn::row_off(xr, r) + k * xr.last_stride);
  }
}

__global__ void zero_rows(void* o, int odt, Rows orr, int64_t R, int64_t N) {
  const int64_t n = R * N;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = e / N, k = e - r * N;
    nn::stf<float>(o, odt, nn::row_off(orr, r) + k * orr.last_stride, 0.0f);
  }
}

struct QmmArgs {
  const float* xf;  // [nbat * M, K]
  const uint32_t* wq;
  const void *s, *b;
  void* o;
  int sdt, odt;
  int64_t nbat, M, N, K;
  int gs, bits;
  bool vec;  // packed rows contiguous and 16-byte aligned: vector loads of a pack
};

constexpr int kMvRows = 8;  // x rows served by one pass over the weights
constexpr int kMvWarps = 8;

// The 32 values of one pack (`BITS` words at w, word stride ws) as floats.
template <int BITS> __device__ __forceinline__ void decode_pack(const uint32_t* w, int64_t ws, bool vec, float* q) {
  uint32_t words[BITS];
  if constexpr (BITS == 2 || BITS == 4 || BITS == 8) {
    if (vec) {
      if constexpr (BITS == 2) {
        const uint2 t = *reinterpret_cast<const uint2*>(w);
        words[0] = t.x, words[1] = t.y;
      } else {
#pragma unroll
        for (int h = 0; h < BITS / 4; h++) {
          const uint4 t = reinterpret_cast<const uint4*>(w)[h];
          words[4 * h] = t.x, words[4 * h + 1] = t.y, words[4 * h + 2] = t.z, words[4 * h + 3] = t.w;
        }
      }
    } else {
#pragma unroll
      for (int i = 0; i < BITS; i++) words[i] = w[i * ws];
    }
  } else {
#pragma unroll
    for (int i = 0; i < BITS; i++) words[i] = w[i * ws];
  }
  constexpr uint32_t mask = (1u << BITS) - 1;
#pragma unroll
  for (int v = 0; v < 32; v++) {
    const int p = v * BITS, wi = p >> 5, sh = p & 31;
    uint32_t val = words[wi] >> sh;
    if (sh + BITS > 32) val |= words[wi + 1] << (32 - sh);
    q[v] = (float)(val & mask);
  }
}

template <int BITS>
__device__ __forceinline__ void qmv_lane(const QmmArgs& a, const uint32_t* wrow, int64_t ws, int64_t so, int64_t ss,
                                         int64_t bo, int64_t bs, const float* x0, int mb, float* acc) {
  const int lane = threadIdx.x & 31;
  const int64_t npacks = a.K / 32;
  for (int64_t p = lane; p < npacks; p += 32) {
    float q[32];
    decode_pack<BITS>(wrow + p * BITS * ws, ws, a.vec, q);
    const int64_t g = p * 32 / a.gs;
    const float s = nn::ldf<float>(a.s, a.sdt, so + g * ss), b = nn::ldf<float>(a.b, a.sdt, bo + g * bs);
#pragma unroll
    for (int m = 0; m < kMvRows; m++) {
      if (m < mb) {
        const float4* xv = reinterpret_cast<const float4*>(x0 + m * a.K + p * 32);
        float dot = 0, xs = 0;
#pragma unroll
        for (int c = 0; c < 8; c++) {
          const float4 t = xv[c];
          dot += q[4 * c] * t.x + q[4 * c + 1] * t.y + q[4 * c + 2] * t.z + q[4 * c + 3] * t.w;
          xs += (t.x + t.y) + (t.z + t.w);
        }
        acc[m] += s * dot + b * xs;
      }
    }
  }
}

// y[m, n] = sum_k x[m, k] W[n, k]: a warp per n (blockIdx.x * 8 + warp), rows m0.. of batch bt.
__global__ void __launch_bounds__(32 * kMvWarps) qmv_t_kernel(QmmArgs a, Rows wr, Rows sr, Rows br, Rows orr) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t n = (int64_t)blockIdx.x * kMvWarps + warp;
  if (n >= a.N) return;
  const int64_t mchunks = (a.M + kMvRows - 1) / kMvRows;
  for (int64_t t = blockIdx.y; t < a.nbat * mchunks; t += gridDim.y) {
    const int64_t bt = t / mchunks, m0 = (t - bt * mchunks) * kMvRows;
    const int mb = (int)min((int64_t)kMvRows, a.M - m0);
    const int64_t row = bt * a.N + n;
    const uint32_t* wrow = a.wq + nn::row_off(wr, row);
    const int64_t so = nn::row_off(sr, row), bo = nn::row_off(br, row);
    const float* x0 = a.xf + (bt * a.M + m0) * a.K;
    float acc[kMvRows];
#pragma unroll
    for (int m = 0; m < kMvRows; m++) acc[m] = 0;
    const int64_t ws = wr.last_stride, ss = sr.last_stride, bs = br.last_stride;
    switch (a.bits) {
      case 2: qmv_lane<2>(a, wrow, ws, so, ss, bo, bs, x0, mb, acc); break;
      case 3: qmv_lane<3>(a, wrow, ws, so, ss, bo, bs, x0, mb, acc); break;
      case 4: qmv_lane<4>(a, wrow, ws, so, ss, bo, bs, x0, mb, acc); break;
      case 5: qmv_lane<5>(a, wrow, ws, so, ss, bo, bs, x0, mb, acc); break;
      case 6: qmv_lane<6>(a, wrow, ws, so, ss, bo, bs, x0, mb, acc); break;
      default: qmv_lane<8>(a, wrow, ws, so, ss, bo, bs, x0, mb, acc); break;
    }
#pragma unroll
    for (int m = 0; m < kMvRows; m++) {
      const float v = nn::warp_sum(acc[m]);
      if (lane == 0 && m < mb) nn::stf<float>(a.o, a.odt, nn::row_off(orr, bt * a.M + m0 + m) + n * orr.last_stride, v);
    }
  }
}

constexpr int kTM = 64, kTN = 64, kTK = 32, kTPad = 4;

// The tile kernel: y[m, n] = sum_k x[m, k] W(k, n) with W(k, n) = wq row n value k (transpose) or
// wq row k value n, dequantized (s * q + b) into shared memory 32 values of k at a time.
__global__ void __launch_bounds__(256) qmm_tile_kernel(QmmArgs a, bool transpose, Rows wr, Rows sr, Rows br, Rows orr) {
  __shared__ __align__(16) float Xs[kTK][kTM + kTPad];
  __shared__ __align__(16) float Ws[kTK][kTN + kTPad];
  const int t = threadIdx.x, ty = t / 16, tx = t % 16;
  const int64_t n0 = (int64_t)blockIdx.x * kTN;
  const int64_t mtiles = (a.M + kTM - 1) / kTM;
  for (int64_t job = blockIdx.y; job < a.nbat * mtiles; job += gridDim.y) {
    const int64_t bt = job / mtiles, m0 = (job - bt * mtiles) * kTM;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
      for (int j = 0; j < 4; j++) acc[i][j] = 0;
    for (int64_t k0 = 0; k0 < a.K; k0 += kTK) {
#pragma unroll
      for (int i = 0; i < kTM * kTK / 256; i++) {
        const int e = t + 256 * i, mm = e / kTK, kk = e % kTK;
        const int64_t m = m0 + mm, k = k0 + kk;
        Xs[kk][mm] = m < a.M && k < a.K ? a.xf[(bt * a.M + m) * a.K + k] : 0.0f;
      }
#pragma unroll
      for (int i = 0; i < kTN * kTK / 256; i++) {
        const int e = t + 256 * i;
        int kk, nn_;
        if (transpose) kk = e % kTK, nn_ = e / kTK;
        else kk = e / kTN, nn_ = e % kTN;
        const int64_t n = n0 + nn_, k = k0 + kk;
        float w = 0;
        if (n < a.N && k < a.K) {
          const int64_t row = transpose ? bt * a.N + n : bt * a.K + k;
          const int64_t idx = transpose ? k : n, g = idx / a.gs;
          const uint32_t q = unpack_at(a.wq + nn::row_off(wr, row), wr.last_stride, idx, a.bits);
          const float s = nn::ldf<float>(a.s, a.sdt, nn::row_off(sr, row) + g * sr.last_stride);
          const float b = nn::ldf<float>(a.b, a.sdt, nn::row_off(br, row) + g * br.last_stride);
          w = __fadd_rn(__fmul_rn(s, (float)q), b);
        }
        Ws[kk][nn_] = w;
      }
      __syncthreads();
#pragma unroll 8
      for (int kk = 0; kk < kTK; kk++) {
        const float4 xa = *reinterpret_cast<const float4*>(&Xs[kk][ty * 4]);
        const float4 wb = *reinterpret_cast<const float4*>(&Ws[kk][tx * 4]);
        const float xv[4] = {xa.x, xa.y, xa.z, xa.w}, wv[4] = {wb.x, wb.y, wb.z, wb.w};
#pragma unroll
        for (int i = 0; i < 4; i++)
#pragma unroll
          for (int j = 0; j < 4; j++) acc[i][j] += xv[i] * wv[j];
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const int64_t m = m0 + ty * 4 + i;
      if (m >= a.M) continue;
      const int64_t oo = nn::row_off(orr, bt * a.M + m);
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const int64_t n = n0 + tx * 4 + j;
        if (n < a.N) nn::stf<float>(a.o, a.odt, oo + n * orr.last_stride, acc[i][j]);
      }
    }
  }
}

void run_quantized_matmul(const Command& c, Context& ctx) {
  const View &x = c.in(0), &wq = c.in(1), &s = c.in(2), &b = c.in(3), &out = c.out();
  QmmArgs a;
  a.gs = (int)c.iparam(0), a.bits = (int)c.iparam(1);
  const bool transpose = c.iparam(2) == 1;
  a.K = x.shape[x.ndim - 1], a.N = out.shape[out.ndim - 1];
  const int64_t R = a.K ? x.size / a.K : out.size / std::max<int64_t>(a.N, 1);
  if (R == 0 || a.N == 0) return;
  const Rows orr = nn::rows_of(out);
  a.o = dptr<char>(out, ctx);
  a.odt = out.dtype;
  if (a.K == 0) {  // an empty sum
    zero_rows<<<grid_for(R * a.N), 256, 0, ctx.stream>>>(a.o, a.odt, orr, R, a.N);
    return;
  }
  int64_t wrows = 1;
  for (int d = 0; d + 1 < wq.ndim; d++) wrows *= wq.shape[d];
  a.nbat = std::max<int64_t>(1, wrows / (transpose ? a.N : a.K));
  a.M = R / a.nbat;
  float* xf = static_cast<float*>(ctx.scratch(R * a.K * (int64_t)sizeof(float)));
  widen_rows<<<grid_for(R * a.K), 256, 0, ctx.stream>>>(dptr<const char>(x, ctx), x.dtype, nn::rows_of(x), xf, R, a.K);
  check_launch(c, "widen x");
  a.xf = xf;
  a.wq = dptr<const uint32_t>(wq, ctx);
  a.s = dptr<const char>(s, ctx), a.b = dptr<const char>(b, ctx);
  a.sdt = s.dtype;
  const Rows wr = nn::rows_of(wq), sr = nn::rows_of(s), br = nn::rows_of(b);
  bool vec = wr.last_stride == 1 && reinterpret_cast<uintptr_t>(a.wq) % 16 == 0;
  for (int d = 0; d < wr.ndim; d++) vec = vec && wr.strides[d] % 4 == 0;
  a.vec = vec;
  if (transpose && a.M <= kMvRows) {
    const int64_t jobs = a.nbat * ((a.M + kMvRows - 1) / kMvRows);
    dim3 grid((unsigned)((a.N + kMvWarps - 1) / kMvWarps), (unsigned)std::min<int64_t>(jobs, 65535));
    qmv_t_kernel<<<grid, 32 * kMvWarps, 0, ctx.stream>>>(a, wr, sr, br, orr);
    return;
  }
  const int64_t jobs = a.nbat * ((a.M + kTM - 1) / kTM);
  dim3 grid((unsigned)((a.N + kTN - 1) / kTN), (unsigned)std::min<int64_t>(jobs, 65535));
  qmm_tile_kernel<<<grid, 256, 0, ctx.stream>>>(a, transpose, wr, sr, br, orr);
}

}  // namespace

KILN_CUDA_KERNEL("affine_quantize", nullptr, run_affine_quantize);
KILN_CUDA_KERNEL("affine_dequantize", nullptr, run_affine_dequantize);
KILN_CUDA_KERNEL("quantized_matmul", nullptr, run_quantized_matmul);

}  // namespace cuda
}  // namespace kiln
