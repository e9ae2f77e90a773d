// The prefill half of quantized_gguf.cc (from kGemmMinRows32 / kGemmMinRowsK activation rows), included there after
// quantized_gguf_simd.h, once per instruction set (QG_VNNI 1: AVX-512 VNNI on zmm, 16 weight rows
// per vector; QG_VNNI 0: AVX2 on ymm, 8 weight rows per vector).
//
// Every block type is unpacked, one tile of kTile weight rows at a time, into one common form: for
// each 32 elements, unsigned bytes u with value = dw * u + mw, where dw and mw are per 16 (H = 2:
// Q2_K, Q3_K, Q6_K) or per 32 elements (H = 1: the others). The tile is interleaved so that int32
// lane n of a vector holds 4 consecutive bytes of weight row n, and one vpdpbusd (or maddubs/madd)
// with 4 broadcast activation bytes advances kLanes rows at once: the weights of the tile are read
// from L1/L2 once per R activation rows, the activations once per tile, and the float work is per
// 16 or 32 elements, not per element. Activations are 8-bit blocks of 32 (XG, with the half sums
// the offsets/mins multiply) for every type, with one scale per 32 or, for the K types, per 256
// values: the 8-bit values of the row dots, so prefill and decode sum the same integers.
// (No include guard: this file is meant to be included once per instruction set.)

namespace kiln {
namespace QG_NS {

#if QG_VNNI
constexpr int kLanes = 16;  // int32 lanes per vector
constexpr int kLV = 2;      // vectors of weight rows per tile
constexpr int kRows = 6;    // activation rows per micro-kernel pass
#else
constexpr int kLanes = 8;
constexpr int kLV = 1;
constexpr int kRows = 4;
#endif
constexpr int kTile = kLanes * kLV;  // weight rows per packed tile

constexpr int halves_of(int type) { return type == Q2_K || type == Q3_K || type == Q6_K ? 2 : 1; }
// bytes of one packed 32-element block of a tile: u [8 groups][kTile][4], then dw [H][kTile], mw [H][kTile]
constexpr int64_t packed_block_bytes(int H) { return 32 * kTile + 8 * H * kTile; }

// ---- activations ---------------------------------------------------------------------------------

// nb32 blocks of 32 with one scale per `per` values (32 for the 32-element types, 256 for the K
// types: the same 8-bit values as the row dots' activation blocks, so both paths sum the same integers)
QG_TARGET void quantize_xg(const float* x, int64_t nb32, int per, XG* y) {
  const int chunks = per / 32;
  for (int64_t b = 0; b < nb32; b += chunks, x += per) {
    const float d = amax_of(x, per) / 127.f;
    const __m256 id = _mm256_set1_ps(d != 0 ? 1.f / d : 0.f);
    for (int c = 0; c < chunks; c++) {
      XG& o = y[b + c];
      int lo, hi;
      quant32_with(x + 32 * c, id, o.q, lo, hi);
      o.d = d;
      o.s = d * (float)(lo + hi);
      o.s0 = d * (float)lo;
      o.s1 = d * (float)hi;
    }
  }
}

// ---- packing ---------------------------------------------------------------------------------------

// One type block of one weight row, unpacked: C chunks of 32 bytes u (C = 1, or 8 for the K types)
// with the H scale/offset pairs of each chunk.
struct RowBlock {
  alignas(32) uint8_t u[8][32];
  float dw[16], mw[16];
};

constexpr bool is_k(int type) { return type == Q2_K || type == Q3_K || type == Q4_K || type == Q5_K || type == Q6_K; }
constexpr int block_bytes(int T) {
  return T == Q4_0 ? 18 : T == Q4_1 ? 20 : T == Q5_0 ? 22 : T == Q5_1 ? 24 : T == Q8_0 ? 34
       : T == Q2_K ? 84 : T == Q3_K ? 110 : T == Q4_K ? 144 : T == Q5_K ? 176 : 210;
}

template <int T> QG_TARGET inline void unpack_row_block(const uint8_t* b, RowBlock& o) {
  if (!is_k(T)) {
    float d, m;
    __m256i u = unpack32<T>(b, d, m);
#if QG_VNNI
    if (T == Q8_0) {  // vpdpbusd wants unsigned weights: q + 128, and the -128 back through the activation sum
      u = _mm256_xor_si256(u, _mm256_set1_epi8((char)0x80));
      m = -128.f * d;
    }
#endif
    _mm256_store_si256(reinterpret_cast<__m256i*>(o.u[0]), u);
    o.dw[0] = d;
    o.mw[0] = m;
    return;
  }
  KRegs k;
  unpackk<T>(b, k);
  for (int c = 0; c < 8; c++) _mm256_store_si256(reinterpret_cast<__m256i*>(o.u[c]), k.u[c]);
  if (T == Q4_K || T == Q5_K) {
    for (int j = 0; j < 8; j++) {
      int sc, mn;
      scale_min_k4(j, b + 4, sc, mn);
      o.dw[j] = k.d * (float)sc;
      o.mw[j] = -k.dmin * (float)mn;
    }
  } else if (T == Q6_K) {
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
    for (int s = 0; s < 16; s++) {
      o.dw[s] = k.d * (float)sc[s];
      o.mw[s] = -32.f * o.dw[s];
    }
  } else if (T == Q3_K) {
    int8_t s8[16];
    q3k_scales(b + 96, s8);
    for (int s = 0; s < 16; s++) {
      o.dw[s] = k.d * (float)(s8[s] - 32);
      o.mw[s] = -4.f * o.dw[s];
    }
  } else {  // Q2_K
    for (int s = 0; s < 16; s++) {
      o.dw[s] = k.d * (float)(b[s] & 0xF);
      o.mw[s] = -k.dmin * (float)(b[s] >> 4);
    }
  }
}

// 8 rows of 8 dwords -> vector g holds dword g of every row
QG_TARGET inline void transpose8x8(__m256i* r) {
  __m256i t[8], u[8];
  for (int p = 0; p < 8; p += 2) {
    t[p] = _mm256_unpacklo_epi32(r[p], r[p + 1]);
    t[p + 1] = _mm256_unpackhi_epi32(r[p], r[p + 1]);
  }
  for (int q = 0; q < 8; q += 4) {
    u[q] = _mm256_unpacklo_epi64(t[q], t[q + 2]);
    u[q + 1] = _mm256_unpackhi_epi64(t[q], t[q + 2]);
    u[q + 2] = _mm256_unpacklo_epi64(t[q + 1], t[q + 3]);
    u[q + 3] = _mm256_unpackhi_epi64(t[q + 1], t[q + 3]);
  }
  for (int g = 0; g < 4; g++) {
    r[g] = _mm256_permute2x128_si256(u[g], u[g + 4], 0x20);
    r[g + 4] = _mm256_permute2x128_si256(u[g], u[g + 4], 0x31);
  }
}

// Packs weight rows [0, rows) of a tile (rows `ws` bytes apart), 8 rows at a time through an 8x8
// dword transpose; the lanes past `rows` are zero.
template <int T> QG_TARGET void pack_tile_t(const uint8_t* w, int64_t ws, int rows, int64_t nb32, uint8_t* pk) {
  constexpr int C = is_k(T) ? 8 : 1, H = halves_of(T), BY = block_bytes(T);
  constexpr int64_t BB = packed_block_bytes(H);
  RowBlock rb[8];
  for (int n0 = 0; n0 < kTile; n0 += 8) {
    const int nr = std::max(0, std::min(8, rows - n0));
    for (int n = nr; n < 8; n++) std::memset(&rb[n], 0, sizeof(RowBlock));
    for (int64_t i = 0; i < nb32 / C; i++) {
      for (int n = 0; n < nr; n++) unpack_row_block<T>(w + (n0 + n) * ws + i * BY, rb[n]);
      for (int c = 0; c < C; c++) {
        uint8_t* blk = pk + (i * C + c) * BB;
        __m256i v[8];
        for (int n = 0; n < 8; n++) v[n] = _mm256_load_si256(reinterpret_cast<const __m256i*>(rb[n].u[c]));
        transpose8x8(v);
        for (int g = 0; g < 8; g++) _mm256_store_si256(reinterpret_cast<__m256i*>(blk + (g * kTile + n0) * 4), v[g]);
        float* sc = reinterpret_cast<float*>(blk + 32 * kTile);
        for (int h = 0; h < H; h++)
          for (int n = 0; n < 8; n++) {
            sc[h * kTile + n0 + n] = rb[n].dw[H * c + h];
            sc[(H + h) * kTile + n0 + n] = rb[n].mw[H * c + h];
          }
      }
    }
  }
}

QG_TARGET void pack_tile(int type, const uint8_t* w, int64_t ws, int rows, int64_t K, uint8_t* pk) {
  const int64_t nb32 = K / 32;
  switch (type) {
    case Q4_0: return pack_tile_t<Q4_0>(w, ws, rows, nb32, pk);
    case Q4_1: return pack_tile_t<Q4_1>(w, ws, rows, nb32, pk);
    case Q5_0: return pack_tile_t<Q5_0>(w, ws, rows, nb32, pk);
    case Q5_1: return pack_tile_t<Q5_1>(w, ws, rows, nb32, pk);
    case Q8_0: return pack_tile_t<Q8_0>(w, ws, rows, nb32, pk);
    case Q2_K: return pack_tile_t<Q2_K>(w, ws, rows, nb32, pk);
    case Q3_K: return pack_tile_t<Q3_K>(w, ws, rows, nb32, pk);
    case Q4_K: return pack_tile_t<Q4_K>(w, ws, rows, nb32, pk);
    case Q5_K: return pack_tile_t<Q5_K>(w, ws, rows, nb32, pk);
    default: return pack_tile_t<Q6_K>(w, ws, rows, nb32, pk);
  }
}

// ---- micro-kernels: R activation rows x kTile weight rows, over all K ------------------------------

#if QG_VNNI
using VF = __m512;
using VI = __m512i;
QG_TARGET inline VF vzero() { return _mm512_setzero_ps(); }
QG_TARGET inline VI izero() { return _mm512_setzero_si512(); }
QG_TARGET inline VF vload(const float* p) { return _mm512_load_ps(p); }
QG_TARGET inline VF vset(float v) { return _mm512_set1_ps(v); }
QG_TARGET inline VF vmul(VF a, VF b) { return _mm512_mul_ps(a, b); }
QG_TARGET inline VF vfma(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
// (maskz: GCC 12 warns on the plain form's undefined passthrough)
QG_TARGET inline VF vcvt(VI v) { return _mm512_maskz_cvtepi32_ps(0xFFFF, v); }
QG_TARGET inline void store_lanes(float* p, VF v, int lanes) {
  if (lanes >= kLanes) return _mm512_storeu_ps(p, v);
  _mm512_mask_storeu_ps(p, (__mmask16)((1u << lanes) - 1), v);
}
#else
using VF = __m256;
using VI = __m256i;
QG_TARGET inline VF vzero() { return _mm256_setzero_ps(); }
QG_TARGET inline VI izero() { return _mm256_setzero_si256(); }
QG_TARGET inline VF vload(const float* p) { return _mm256_load_ps(p); }
QG_TARGET inline VF vset(float v) { return _mm256_set1_ps(v); }
QG_TARGET inline VF vmul(VF a, VF b) { return _mm256_mul_ps(a, b); }
QG_TARGET inline VF vfma(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
QG_TARGET inline VF vcvt(VI v) { return _mm256_cvtepi32_ps(v); }
QG_TARGET inline void store_lanes(float* p, VF v, int lanes) {
  if (lanes >= kLanes) return _mm256_storeu_ps(p, v);
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  for (int l = 0; l < lanes; l++) p[l] = t[l];
}
#endif

// bytes 4g..4g+3 of an activation block in every lane
QG_TARGET inline int32_t group_of(const XG& x, int g) {
  int32_t v;
  std::memcpy(&v, x.q + 4 * g, 4);
  return v;
}

// The integer dots of groups [g0, g1) of block `blk` with R activation blocks: acc[r][v] lane l is
// weight row 16v + l (8v + l on AVX2).
#if QG_VNNI
template <int R, int SIGNED, int DEPTH>
QG_TARGET inline void int_dots(const uint8_t* blk, const XG* const* xr, int g0, int g1, VI (*acc)[kLV]) {
  for (int r = 0; r < R; r++)
    for (int v = 0; v < kLV; v++) acc[r][v] = izero();
  for (int g = g0; g < g1; g++) {
    VI w[kLV];
    for (int v = 0; v < kLV; v++) w[v] = _mm512_load_si512(blk + (g * kTile + kLanes * v) * 4);
    for (int r = 0; r < R; r++) {
      const VI x = _mm512_set1_epi32(group_of(*xr[r], g));
      for (int v = 0; v < kLV; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], w[v], x);
    }
  }
}
#else
// DEPTH maddubs results (int16) are summed before widening, as far as the weights' bit width keeps
// them under 2^15 (4 bits: 8, 5 bits: 4, 6 bits: 2); SIGNED is Q8_0, whose signed bytes go through
// maddubs as |w| times x with w's sign (at most 2 * 128 * 127).
template <int R, int SIGNED, int DEPTH>
QG_TARGET inline void int_dots(const uint8_t* blk, const XG* const* xr, int g0, int g1, VI (*acc)[kLV]) {
  const __m256i ones = _mm256_set1_epi16(1);
  for (int r = 0; r < R; r++)
    for (int v = 0; v < kLV; v++) acc[r][v] = izero();
  for (int g = g0; g < g1; g += DEPTH) {
    __m256i t[R][kLV];
    for (int d = 0; d < DEPTH; d++) {
      __m256i w[kLV], wa[kLV];
      for (int v = 0; v < kLV; v++) {
        w[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(blk + ((g + d) * kTile + kLanes * v) * 4));
        wa[v] = SIGNED ? _mm256_sign_epi8(w[v], w[v]) : w[v];
      }
      for (int r = 0; r < R; r++) {
        const __m256i x = _mm256_set1_epi32(group_of(*xr[r], g + d));
        for (int v = 0; v < kLV; v++) {
          const __m256i p = _mm256_maddubs_epi16(wa[v], SIGNED ? _mm256_sign_epi8(x, w[v]) : x);
          t[r][v] = d ? _mm256_add_epi16(t[r][v], p) : p;
        }
      }
    }
    for (int r = 0; r < R; r++)
      for (int v = 0; v < kLV; v++) acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(t[r][v], ones));
  }
}
#endif

template <int H, int R, int SIGNED, int DEPTH>
QG_TARGET void micro(int64_t nb32, const uint8_t* pk, const XG* x, int64_t xrow, float* out, int64_t ldo, int lanes) {
  constexpr int64_t BB = packed_block_bytes(H);
  VF acc[R][kLV];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < kLV; v++) acc[r][v] = vzero();
  for (int64_t i = 0; i < nb32; i++) {
    const uint8_t* blk = pk + i * BB;
    const float* sc = reinterpret_cast<const float*>(blk + 32 * kTile);
    const XG* xr[R];
    for (int r = 0; r < R; r++) xr[r] = x + r * xrow + i;
    for (int h = 0; h < H; h++) {
      VI ia[R][kLV];
      int_dots<R, SIGNED, DEPTH>(blk, xr, h * 8 / H, (h + 1) * 8 / H, ia);
      for (int v = 0; v < kLV; v++) {
        const VF dw = vload(sc + h * kTile + kLanes * v), mw = vload(sc + (H + h) * kTile + kLanes * v);
        for (int r = 0; r < R; r++) {
          const float xs = H == 1 ? xr[r]->s : h ? xr[r]->s1 : xr[r]->s0;
          acc[r][v] = vfma(vcvt(ia[r][v]), vmul(dw, vset(xr[r]->d)), acc[r][v]);
          acc[r][v] = vfma(mw, vset(xs), acc[r][v]);
        }
      }
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < kLV && kLanes * v < lanes; v++) store_lanes(out + r * ldo + kLanes * v, acc[r][v], lanes - kLanes * v);
}

using MicroFn = void (*)(int64_t, const uint8_t*, const XG*, int64_t, float*, int64_t, int);

template <int H, int SIGNED, int DEPTH> QG_TARGET MicroFn micro_for(int rows) {
  switch (rows) {
    case 1: return micro<H, 1, SIGNED, DEPTH>;
    case 2: return micro<H, 2, SIGNED, DEPTH>;
    case 3: return micro<H, 3, SIGNED, DEPTH>;
#if QG_VNNI
    case 4: return micro<H, 4, SIGNED, DEPTH>;
    case 5: return micro<H, 5, SIGNED, DEPTH>;
#endif
    default: return micro<H, kRows, SIGNED, DEPTH>;
  }
}

// The micro-kernel for `rows` (<= kRows) activation rows of a type.
QG_TARGET MicroFn micro_of(int type, int rows) {
#if QG_VNNI
  return halves_of(type) == 2 ? micro_for<2, 0, 0>(rows) : micro_for<1, 0, 0>(rows);
#else
  switch (type) {
    case Q8_0: return micro_for<1, 1, 1>(rows);
    case Q5_0:
    case Q5_1:
    case Q5_K: return micro_for<1, 0, 4>(rows);
    case Q6_K: return micro_for<2, 0, 2>(rows);
    case Q2_K:
    case Q3_K: return micro_for<2, 0, 4>(rows);
    default: return micro_for<1, 0, 8>(rows);  // Q4_0 Q4_1 Q4_K
  }
#endif
}

// out [M, N] (row stride N) = x @ dequant(w)^T from activations already in XG blocks (nb32 per row).
QG_TARGET void gemm(int type, int64_t M, int64_t N, int64_t K, const uint8_t* w, int64_t ws, const XG* xq, float* out) {
  const int64_t nb32 = K / 32, tiles = (N + kTile - 1) / kTile;
  const int64_t pack_bytes = nb32 * packed_block_bytes(halves_of(type));
  const MicroFn full = micro_of(type, kRows), tail = micro_of(type, (int)(M % kRows));
  parallel_for(tiles, 1, [&](int64_t t0, int64_t t1) {
    thread_local Scratch scratch;
    uint8_t* pk = scratch.get<uint8_t>(pack_bytes);
    for (int64_t t = t0; t < t1; t++) {
      const int64_t n0 = t * kTile;
      const int rows = (int)std::min<int64_t>(kTile, N - n0);
      pack_tile(type, w + n0 * ws, ws, rows, K, pk);
      int64_t m = 0;
      for (; m + kRows <= M; m += kRows) full(nb32, pk, xq + m * nb32, nb32, out + m * N + n0, N, rows);
      if (m < M) tail(nb32, pk, xq + m * nb32, nb32, out + m * N + n0, N, rows);
    }
  });
}

}  // namespace QG_NS
}  // namespace kiln
