// attention and attention_lse on the GPU, mirroring backends/cpu/kernels/attention.cc:
//   inputs q [B, Hq, L, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv] [, mask [B, Hq, L, S]]
//   output [B, Hq, L, Dv] (attention_lse: and the logsumexp [B, Hq, L] in the compute dtype);
//   params scale, mask_kind (0 none, 1 causal, 2 the mask operand: bool keeps where true, a float
//   mask is added to the scores)
// Flash style: a block takes a tile of up to 16 query rows of one kv head (the rows r of its query
// heads h = g * rep + r / L, query r % L, so grouped heads share every K/V block it loads) and walks
// the keys in blocks of 32 (one per lane) with the CPU's online softmax: running maximum m, sum l
// and accumulator O, rescaled by exp(m_old - m_new); a block whose maximum is still -inf adds
// nothing. Compute is float (double for a float64 output) whatever the storage dtypes. Masked
// scores (causal, or false in a bool mask) become the lowest finite value, so a row that sees no
// key averages v evenly; an additive -inf everywhere gives NaN there, both as on the CPU. When the
// tiles alone cannot fill the GPU (decoding: one query row per head), the keys are split over
// blocks (split-K), each writes its (m, l, O) and a second kernel combines them.
#include <cmath>
#include "nn_util.cuh"
#include "../registry.h"

namespace kiln {
namespace cuda {
namespace {

constexpr int kBK = 32;        // keys per step: one per lane
constexpr int kThreads = 128;  // 4 warps
constexpr int kWarps = kThreads / 32;
constexpr int kMaxBQ = 16;                // query rows per tile
constexpr int64_t kSafeSmem = 96 * 1024;  // under what every sm_80+ part lets a block opt into (99 KiB)
constexpr int64_t kStaticSmem = 512;      // the kernel's static shared arrays, with room

struct AttnArgs {
  const void *q, *k, *v, *m;
  void* o;
  void* lse;  // compute-type [B, Hq, L] or null
  int qdt, kdt, vdt, mdt, odt;
  int64_t qs[4], ks[4], vs[4], ms[4], os[4], ls[3];
  int64_t B, Hq, Hkv, L, S, D, Dv, rep;
  int mask_kind;
  int64_t rows_g;                  // query rows per kv head: rep * L
  int64_t ntiles;                  // tiles per kv head
  int kvec, vvec;                  // K / V rows as 16-byte vectors of this many elements (0: element loads)
  int bq;                          // rows per tile (a multiple of 4, at most kMaxBQ)
  int nsplit;                      // key splits (1: the tile writes the output itself)
  int64_t split_len;               // keys per split, a multiple of kBK
  int64_t total_rows;              // B * Hkv * rows_g
  void *part_o, *part_m, *part_l;  // split partials [nsplit, total_rows, (Dv | 1)] in the compute type
};

inline int64_t smem_elems(int bq, int64_t D, int64_t Dv) {
  return bq * D + kBK * (D + 1) + kBK * Dv + bq * kBK + bq * Dv + 3 * bq;
}

template <typename F> __device__ __forceinline__ F lowest_of();
template <> __device__ __forceinline__ float lowest_of<float>() { return -3.402823466e38f; }
template <> __device__ __forceinline__ double lowest_of<double>() { return -1.7976931348623157e308; }

// Rows [0, nk) x columns [0, n) of an operand block (element offset off0, row stride rs, column
// stride cs) into dst (row pitch ld), in the compute type. ev > 0: rows are unit-stride and 16-byte
// aligned 16-bit (ev 8) or float32 (ev 4) values, read as one 16-byte vector per thread.
template <typename F>
__device__ __forceinline__ void load_block(F* dst, int ld, const void* base, int dt, int64_t off0, int64_t rs,
                                           int64_t cs, int nk, int n, int ev) {
  if (ev) {
    const int nv = n / ev;
    for (int e = threadIdx.x; e < nk * nv; e += kThreads) {
      const int j = e / nv, c = e - j * nv;
      const int64_t off = off0 + j * rs + (int64_t)c * ev;
      F* o = dst + j * ld + c * ev;
      if (ev == 4) {
        const float4 t = *reinterpret_cast<const float4*>(static_cast<const float*>(base) + off);
        o[0] = (F)t.x, o[1] = (F)t.y, o[2] = (F)t.z, o[3] = (F)t.w;
      } else {
        const uint4 t = *reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(base) + off);
        const uint32_t w[4] = {t.x, t.y, t.z, t.w};
#pragma unroll
        for (int u = 0; u < 4; u++) {  // little-endian: element 2u is the low half of word u
          if (dt == kBfloat16) {
            o[2 * u] = (F)__uint_as_float(w[u] << 16);
            o[2 * u + 1] = (F)__uint_as_float(w[u] & 0xffff0000u);
          } else {
            o[2 * u] = (F)__half2float(__ushort_as_half((unsigned short)(w[u] & 0xffffu)));
            o[2 * u + 1] = (F)__half2float(__ushort_as_half((unsigned short)(w[u] >> 16)));
          }
        }
      }
    }
  } else {
    for (int e = threadIdx.x; e < nk * n; e += kThreads) {
      const int j = e / n, d = e - j * n;
      dst[j * ld + d] = nn::ldf<F>(base, dt, off0 + j * rs + d * cs);
    }
  }
}

template <typename F> __global__ void __launch_bounds__(kThreads) attn_kernel(AttnArgs a, F scale) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  __shared__ int64_t head_s[kMaxBQ], qi_s[kMaxBQ], lim_s[kMaxBQ];
  F* sm = reinterpret_cast<F*>(smem_raw);
  const int BQ = a.bq;
  const int D = (int)a.D, Dv = (int)a.Dv, Dp = D + 1;  // small: they fit shared memory
  F* Qs = sm;
  F* Ks = Qs + BQ * D;
  F* Vs = Ks + kBK * Dp;
  F* Ps = Vs + kBK * Dv;
  F* Os = Ps + BQ * kBK;
  F* Ms = Os + BQ * Dv;
  F* Ls = Ms + BQ;
  F* As = Ls + BQ;
  const F ninf = (F)(-INFINITY), lowest = lowest_of<F>();

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t grp = blockIdx.x / a.ntiles, tile = blockIdx.x - grp * a.ntiles;
  const int64_t b = grp / a.Hkv, g = grp - b * a.Hkv;
  const int64_t r0 = tile * BQ;
  const int nr = (int)min((int64_t)BQ, a.rows_g - r0);
  const int split = blockIdx.y;

  if (tid < nr) {
    const int64_t r = r0 + tid;
    const int64_t hl = r / a.L;
    head_s[tid] = g * a.rep + hl;
    qi_s[tid] = r - hl * a.L;
    lim_s[tid] = a.mask_kind == 1 ? qi_s[tid] + a.S - a.L : a.S - 1;
  }
  __syncthreads();
  // keys this tile needs: up to the last row's limit; a row that sees no key reads them all
  int64_t kend = 0;
  bool blind = false;
  for (int i = 0; i < nr; i++) {
    kend = max(kend, min(lim_s[i] + 1, a.S));
    blind |= lim_s[i] < 0;
  }
  if (blind) kend = a.S;
  const int64_t k_lo = (int64_t)split * a.split_len, k_hi = min(k_lo + a.split_len, kend);

  for (int e = tid; e < nr * D; e += kThreads) {
    const int i = e / D, d = e - i * D;
    const int64_t off = b * a.qs[0] + head_s[i] * a.qs[1] + qi_s[i] * a.qs[2] + d * a.qs[3];
    Qs[e] = nn::ldf<F>(a.q, a.qdt, off) * scale;
  }
  for (int e = tid; e < BQ * Dv; e += kThreads) Os[e] = 0;
  if (tid < BQ) {
    Ms[tid] = ninf;
    Ls[tid] = 0;
  }
  const int64_t kbase = b * a.ks[0] + g * a.ks[1], vbase = b * a.vs[0] + g * a.vs[1];
  __syncthreads();

  for (int64_t kb = k_lo; kb < k_hi; kb += kBK) {
    const int nk = (int)min((int64_t)kBK, k_hi - kb);
    load_block<F>(Ks, Dp, a.k, a.kdt, kbase + kb * a.ks[2], a.ks[2], a.ks[3], nk, D, a.kvec);
    load_block<F>(Vs, Dv, a.v, a.vdt, vbase + kb * a.vs[2], a.vs[2], a.vs[3], nk, Dv, a.vvec);
    __syncthreads();
    // scores and the online softmax: warp w owns rows w, w + 4, ...; lane j owns key kb + j
    for (int i = warp; i < nr; i += kWarps) {
      const int j = lane;
      const bool valid = j < nk;
      F s = ninf;
      if (valid) {
        F acc = 0;
        const F* qr = Qs + i * D;
        const F* kr = Ks + j * Dp;
        for (int d = 0; d < D; d++) acc += qr[d] * kr[d];
        s = acc;
        if (a.mask_kind == 1) {
          if (kb + j > lim_s[i]) s = lowest;
        } else if (a.mask_kind == 2) {
          const int64_t moff = b * a.ms[0] + head_s[i] * a.ms[1] + qi_s[i] * a.ms[2] + (kb + j) * a.ms[3];
          if (a.mdt == kBool) {
            if (!static_cast<const uint8_t*>(a.m)[moff]) s = lowest;
          } else {
            s += nn::ldf<F>(a.m, a.mdt, moff);
          }
        }
      }
      const F mold = Ms[i];
      const F mnew = fmax(nn::warp_max(s), mold);
      F p, alpha;
      if (mnew == ninf) {  // every score so far is -inf: nothing to add yet
        p = 0;
        alpha = 1;
      } else {
        alpha = mold == ninf ? F(0) : exp(mold - mnew);
        p = valid ? exp(s - mnew) : F(0);
        const F sum = nn::warp_sum(p);
        __syncwarp();
        if (lane == 0) {
          Ls[i] = Ls[i] * alpha + sum;
          Ms[i] = mnew;
        }
      }
      Ps[i * kBK + j] = p;
      if (lane == 0) As[i] = alpha;
    }
    __syncthreads();
    for (int e = tid; e < nr * Dv; e += kThreads) {
      const int i = e / Dv, d = e - i * Dv;
      F o = Os[e];
      const F alpha = As[i];
      if (alpha != F(1)) o *= alpha;
      const F* pr = Ps + i * kBK;
      for (int j = 0; j < nk; j++) o += pr[j] * Vs[j * Dv + d];
      Os[e] = o;
    }
    __syncthreads();
  }

  const int64_t row0 = grp * a.rows_g + r0;  // the tile's first row in [0, total_rows)
  if (a.nsplit == 1) {
    for (int e = tid; e < nr * Dv; e += kThreads) {
      const int i = e / Dv, d = e - i * Dv;
      const F val = a.S == 0 ? F(0) : Os[e] * (F(1) / Ls[i]);
      nn::stf<F>(a.o, a.odt, b * a.os[0] + head_s[i] * a.os[1] + qi_s[i] * a.os[2] + d * a.os[3], val);
    }
    if (a.lse && tid < nr) {
      const F l = Ls[tid];
      const F val = a.S == 0 || l == F(0) ? ninf : Ms[tid] + log(l);
      static_cast<F*>(a.lse)[b * a.ls[0] + head_s[tid] * a.ls[1] + qi_s[tid] * a.ls[2]] = val;
    }
  } else {
    F* po = static_cast<F*>(a.part_o) + ((int64_t)split * a.total_rows + row0) * Dv;
    for (int e = tid; e < nr * Dv; e += kThreads) po[e] = Os[e];
    if (tid < nr) {
      static_cast<F*>(a.part_m)[(int64_t)split * a.total_rows + row0 + tid] = Ms[tid];
      static_cast<F*>(a.part_l)[(int64_t)split * a.total_rows + row0 + tid] = Ls[tid];
    }
  }
}

// Merges the splits of each row: O = sum_s w_s O_s / sum_s w_s l_s with w_s = exp(m_s - max m).
template <typename F> __global__ void attn_combine(AttnArgs a) {
  const int64_t W = a.Dv > 0 ? a.Dv : 1;
  const int64_t n = a.total_rows * W;
  const F ninf = (F)(-INFINITY);
  const F* pm = static_cast<const F*>(a.part_m);
  const F* pl = static_cast<const F*>(a.part_l);
  const F* po = static_cast<const F*>(a.part_o);
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t row = e / W, d = e - row * W;
    F M = ninf;
    for (int s = 0; s < a.nsplit; s++) M = fmax(M, pm[(int64_t)s * a.total_rows + row]);
    F l = 0, o = 0;
    for (int s = 0; s < a.nsplit; s++) {
      const int64_t pi = (int64_t)s * a.total_rows + row;
      const F ms = pm[pi];
      const F w = ms == ninf ? F(0) : exp(ms - M);
      l += pl[pi] * w;
      if (d < a.Dv) o += po[pi * a.Dv + d] * w;
    }
    const int64_t grp = row / a.rows_g, r = row - grp * a.rows_g;
    const int64_t b = grp / a.Hkv, g = grp - b * a.Hkv;
    const int64_t hl = r / a.L, head = g * a.rep + hl, qi = r - hl * a.L;
    if (d < a.Dv) {
      const F val = a.S == 0 ? F(0) : o * (F(1) / l);
      nn::stf<F>(a.o, a.odt, b * a.os[0] + head * a.os[1] + qi * a.os[2] + d * a.os[3], val);
    }
    if (a.lse && d == 0) {
      const F val = a.S == 0 || l == F(0) ? ninf : M + log(l);
      static_cast<F*>(a.lse)[b * a.ls[0] + head * a.ls[1] + qi * a.ls[2]] = val;
    }
  }
}

// Elements per 16-byte vector when every row of v (shape [B, H, S, n]) can be read that way, else 0.
inline int vec_width(const View& v, const void* p) {
  const int ev = v.dtype == kFloat16 || v.dtype == kBfloat16 ? 8 : v.dtype == kFloat32 ? 4 : 0;
  if (!ev || v.shape[3] % ev != 0 || (v.strides[3] != 1 && v.shape[3] > 1)) return 0;
  if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return 0;
  for (int d = 0; d < 3; d++)
    if (v.shape[d] > 1 && v.strides[d] % ev != 0) return 0;
  return ev;
}

inline int pick_bq(int64_t rows_g) { return rows_g >= kMaxBQ ? kMaxBQ : (int)((rows_g + 3) / 4 * 4); }

bool supports_attention(const Command& c) {
  const int64_t D = c.in(0).shape[3], Dv = c.in(2).shape[3];
  const int64_t fsize = c.out().dtype == kFloat64 ? 8 : 4;
  return smem_elems(4, D, Dv) * fsize + kStaticSmem <= kSafeSmem;
}

template <typename F> void attention_typed(const Command& c, Context& ctx, AttnArgs& a) {
  int64_t bytes = 0;
  int bq = pick_bq(a.rows_g);
  for (;; bq -= 4) {
    bytes = smem_elems(bq, a.D, a.Dv) * (int64_t)sizeof(F);
    if (bytes + kStaticSmem <= ctx.smem_per_block_optin || bq <= 4) break;
  }
  a.bq = bq;
  a.ntiles = (a.rows_g + bq - 1) / bq;
  const int64_t groups = a.B * a.Hkv;
  const int64_t blocks = groups * a.ntiles;
  // split-K when the tiles cannot fill the GPU and there are enough keys to share out
  const int64_t target = 4 * (int64_t)std::max(ctx.sm_count, 1);
  int64_t nsplit = 1;
  if (blocks < target && a.S > 4 * kBK) {
    nsplit = std::min<int64_t>((target + blocks - 1) / blocks, (a.S + 4 * kBK - 1) / (4 * kBK));
    nsplit = std::min<int64_t>(nsplit, 128);
  }
  int64_t split_len = (a.S + nsplit - 1) / nsplit;
  split_len = std::max<int64_t>(kBK, (split_len + kBK - 1) / kBK * kBK);
  nsplit = std::max<int64_t>(1, (a.S + split_len - 1) / split_len);
  a.nsplit = (int)nsplit;
  a.split_len = nsplit == 1 ? std::max<int64_t>(a.S, 1) : split_len;
  a.total_rows = groups * a.rows_g;
  a.part_o = a.part_m = a.part_l = nullptr;
  if (nsplit > 1) {
    const int64_t W = std::max<int64_t>(a.Dv, 1);
    char* p = static_cast<char*>(ctx.scratch(nsplit * a.total_rows * (W + 2) * (int64_t)sizeof(F)));
    a.part_o = p;
    a.part_m = p + nsplit * a.total_rows * W * (int64_t)sizeof(F);
    a.part_l = p + nsplit * a.total_rows * (W + 1) * (int64_t)sizeof(F);
  }
  if (bytes > 48 * 1024)
    check(cudaFuncSetAttribute(attn_kernel<F>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes), c,
          "shared memory");
  dim3 grid((unsigned)blocks, (unsigned)nsplit);
  attn_kernel<F><<<grid, kThreads, bytes, ctx.stream>>>(a, (F)c.params[0]);
  if (nsplit > 1) {
    check_launch(c, "attention blocks");
    attn_combine<F><<<grid_for(a.total_rows * std::max<int64_t>(a.Dv, 1)), 256, 0, ctx.stream>>>(a);
  }
}

void run_common(const Command& c, Context& ctx, const View* lse) {
  const View &q = c.in(0), &k = c.in(1), &v = c.in(2), &o = c.out(0);
  AttnArgs a;
  a.mask_kind = (int)c.params[1];
  a.q = dptr<const char>(q, ctx), a.k = dptr<const char>(k, ctx), a.v = dptr<const char>(v, ctx);
  a.o = dptr<char>(o, ctx);
  a.m = nullptr;
  a.mdt = kBool;
  a.qdt = q.dtype, a.kdt = k.dtype, a.vdt = v.dtype, a.odt = o.dtype;
  for (int d = 0; d < 4; d++) {
    a.qs[d] = q.strides[d], a.ks[d] = k.strides[d], a.vs[d] = v.strides[d], a.os[d] = o.strides[d];
    a.ms[d] = 0;
  }
  if (a.mask_kind == 2) {
    const View& m = c.in(3);
    a.m = dptr<const char>(m, ctx), a.mdt = m.dtype;
    for (int d = 0; d < 4; d++) a.ms[d] = m.strides[d];
  }
  a.lse = nullptr;
  for (int d = 0; d < 3; d++) a.ls[d] = 0;
  if (lse) {
    a.lse = dptr<char>(*lse, ctx);
    for (int d = 0; d < 3; d++) a.ls[d] = lse->strides[d];
  }
  a.B = q.shape[0], a.Hq = q.shape[1], a.L = q.shape[2], a.D = q.shape[3];
  a.Hkv = k.shape[1], a.S = k.shape[2], a.Dv = v.shape[3];
  a.rep = a.Hkv == 0 ? 0 : a.Hq / a.Hkv;
  a.kvec = vec_width(k, a.k);
  a.vvec = vec_width(v, a.v);
  a.rows_g = a.rep * a.L;
  if (a.B == 0 || a.Hkv == 0 || a.rows_g == 0) return;
  if (o.dtype == kFloat64) attention_typed<double>(c, ctx, a);
  else attention_typed<float>(c, ctx, a);
}

void run_attention(const Command& c, Context& ctx) { run_common(c, ctx, nullptr); }
void run_attention_lse(const Command& c, Context& ctx) { run_common(c, ctx, &c.out(1)); }

}  // namespace

KILN_CUDA_KERNEL("attention", supports_attention, run_attention);
KILN_CUDA_KERNEL("attention_lse", supports_attention, run_attention_lse);

}  // namespace cuda
}  // namespace kiln
