// Harness: runs gemv_matmul (host emulated) on constructed commands, checks against a double reference.
#include "shim.h"
#include "gemv.h"  // backends/cuda/kernels (-I)
#include <cstdio>
#include <cstdlib>
#include <random>
using namespace kiln;
using namespace kiln::cuda;
thread_local uint3 emu_tid, emu_bid;
dim3 emu_bdim, emu_gdim;
EmuBarrier* emu_block_bar;
EmuBarrier* emu_warp_bar[32];
float emu_slot[32][32];
kiln::Buffer::~Buffer() {}
namespace kiln {
namespace cuda {
void check(cudaError_t, const Command&, const char*) {}
void* Context::scratch(int64_t n) {
  void* p = aligned_alloc(256, (n + 255) / 256 * 256);
  memset(p, 0xA5, n);
  return p;
}
}  // namespace cuda
}  // namespace kiln
extern "C" cudaError_t cudaGetLastError(void) { return cudaSuccess; }
static long g_blocks = 0;
void emu_launch(const std::function<void()>& body, dim3 grid, int threads) {
  emu_gdim = grid;
  emu_bdim = dim3(threads);
  for (unsigned by = 0; by < grid.y; by++)
    for (unsigned bx = 0; bx < grid.x; bx++) {
      EmuBarrier bb(threads);
      emu_block_bar = &bb;
      std::vector<EmuBarrier*> wb;
      for (int w = 0; w < threads / 32; w++) {
        emu_warp_bar[w] = new EmuBarrier(32);
      }
      std::vector<std::thread> ts;
      for (int t = 0; t < threads; t++)
        ts.emplace_back([&, t] {
          emu_tid = make_uint3(t, 0, 0);
          emu_bid = make_uint3(bx, by, 0);
          body();
        });
      for (auto& t : ts) t.join();
      for (int w = 0; w < threads / 32; w++) delete emu_warp_bar[w];
      g_blocks++;
    }
}
static double load(int dt, const char* p, int64_t i) {
  if (dt == kFloat32) return ((const float*)p)[i];
  uint16_t b = ((const uint16_t*)p)[i];
  return dt == kBfloat16 ? bf16_to_float(b) : half_to_float(b);
}
static void store(int dt, char* p, int64_t i, double v) {
  if (dt == kFloat32) ((float*)p)[i] = (float)v;
  else ((uint16_t*)p)[i] = dt == kBfloat16 ? float_to_bf16((float)v) : float_to_half((float)v);
}
static int fails = 0, cases = 0;
// x [batch.., M, K] with row stride xs (elements) and offset xo; W [N, K] rows ws apart, offset wo;
// out rows os apart. bshape: batch dims of size bs (A/O batch strides given), B broadcast.
struct Case {
  int dt;
  int64_t M, K, N, xs, xo, ws, wo, os;
  int sms;
  bool expect;
  bool integer;
  int64_t bM = 1;
  bool bt = true;
};
static void run(const Case& k) {
  cases++;
  const int es = dtype_size(k.dt);
  const int64_t rowsA = k.bM * k.M;
  auto mk = [&](int64_t nel) {
    auto b = std::make_shared<Buffer>();
    b->dev[1] = calloc(nel + 64, es);
    b->nbytes = nel * es;
    return b;
  };
  const int64_t xel = k.xo + (rowsA - 1) * k.xs + k.K, wel = k.wo + (k.N - 1) * k.ws + k.K,
                oel = (rowsA - 1) * k.os + k.N;
  auto xa = mk(xel), wa = mk(wel), oa = mk(oel);
  std::mt19937 rng(k.M * 1000 + k.K * 7 + k.N);
  auto val = [&]() -> double {
    return k.integer ? (double)((int)(rng() % 7) - 3) : (double)((int)(rng() % 2001) - 1000) / 997.0;
  };
  for (int64_t i = 0; i < xel; i++) store(k.dt, (char*)xa->dev[1], i, val());
  for (int64_t i = 0; i < wel; i++) store(k.dt, (char*)wa->dev[1], i, val());
  for (int64_t i = 0; i < oel + 64; i++) store(k.dt, (char*)oa->dev[1], i, 12345.0);
  Command c;
  c.n_inputs = 2;
  c.ops.resize(3);
  View& A = c.ops[0];
  View& B = c.ops[1];
  View& O = c.ops[2];
  const int nd = 3;
  for (View* v : {&A, &B, &O}) {
    v->dtype = k.dt;
    v->ndim = nd;
  }
  A.buf = xa;
  A.offset = k.xo;
  A.shape[0] = k.bM;
  A.shape[1] = k.M;
  A.shape[2] = k.K;
  A.strides[0] = k.M * k.xs;
  A.strides[1] = k.xs;
  A.strides[2] = 1;
  B.buf = wa;
  B.offset = k.wo;
  B.shape[0] = k.bM;
  B.shape[1] = k.K;
  B.shape[2] = k.N;
  B.strides[0] = 0;
  if (k.bt) {
    B.strides[1] = 1;
    B.strides[2] = k.ws;
  } else {
    B.strides[1] = k.ws;
    B.strides[2] = 1;
  }
  O.buf = oa;
  O.offset = 0;
  O.shape[0] = k.bM;
  O.shape[1] = k.M;
  O.shape[2] = k.N;
  O.strides[0] = k.M * k.os;
  O.strides[1] = k.os;
  O.strides[2] = 1;
  O.size = k.bM * k.M * k.N;
  Context ctx;
  ctx.sm_count = k.sms;
  g_blocks = 0;
  const bool took = gemv_matmul(c, ctx);
  if (took != k.expect) {
    printf("FAIL took=%d expected %d: dt %d M %ld K %ld N %ld\n", took, k.expect, k.dt, k.M, k.K, k.N);
    fails++;
    return;
  }
  if (!took) return;
  const char* x = (const char*)xa->dev[1] + k.xo * es;
  const char* w = (const char*)wa->dev[1] + k.wo * es;
  const char* o = (const char*)oa->dev[1];
  int bad = 0;
  for (int64_t m = 0; m < rowsA; m++)
    for (int64_t n = 0; n < k.N; n++) {
      double s = 0, mag = 0;
      for (int64_t kk = 0; kk < k.K; kk++) {
        double p = load(k.dt, x, m * k.xs + kk) * load(k.dt, w, k.bt ? n * k.ws + kk : kk * k.ws + n);
        s += p;
        mag += fabs(p);
      }
      const double got = load(k.dt, o, m * k.os + n);
      double want;
      {
        std::vector<char> t(8);
        store(k.dt, t.data(), 0, s);
        want = load(k.dt, t.data(), 0);
      }
      const double rel = k.dt == kBfloat16 ? 1.0 / 128 : k.dt == kFloat16 ? 1.0 / 1024 : 1e-6;
      const bool ok = k.integer ? got == want : fabs(got - want) <= rel * fabs(want) + 1e-5 * mag;
      if (!ok && bad++ < 3) printf("  mismatch m %ld n %ld got %g want %g\n", m, n, got, want);
    }
  // untouched: gaps between output rows and past the end
  for (int64_t i = 0; i < oel + 64; i++) {
    const int64_t m = i / k.os, n = i % k.os;
    if (m < rowsA && n < k.N) continue;
    if (load(k.dt, o, i) != (k.dt == kBfloat16 ? 12288.0 : 12345.0) && load(k.dt, o, i) != 12344.0 &&
        load(k.dt, o, i) != 12352.0) {
      if (bad++ < 3) printf("  clobbered %ld: %g\n", i, load(k.dt, o, i));
    }
  }
  if (bad) {
    fails++;
    printf("FAIL dt %d M %ld K %ld N %ld xs %ld xo %ld ws %ld wo %ld os %ld sms %d int %d bM %ld (%d bad)\n", k.dt, k.M,
           k.K, k.N, k.xs, k.xo, k.ws, k.wo, k.os, k.sms, k.integer, k.bM, bad);
  } else
    printf("ok dt %d M %ld K %ld N %ld xs %ld xo %ld ws %ld wo %ld os %ld sms %d bM %ld blocks %ld\n", k.dt, k.M, k.K,
           k.N, k.xs, k.xo, k.ws, k.wo, k.os, k.sms, k.bM, g_blocks);
  fflush(stdout);
}
int main() {
  for (int dt : {kBfloat16, kFloat16, kFloat32}) {
    for (int64_t M : {1, 3, 8})
      for (auto KN : std::vector<std::pair<int64_t, int64_t>>{
               {64, 1}, {64, 7}, {100, 7}, {64, 200}, {2048, 7}, {8192, 3}, {8191, 5}, {512, 64}, {256, 33}})
        for (bool integer : {true, false}) {
          const int64_t K = KN.first, N = KN.second;
          run({dt, M, K, N, K, 0, K, 0, N, 4, true, integer});
        }
    // strides, offsets
    run({dt, 4, 256, 40, 512, 0, 264, 0, 50, 4, true, true});          // xs 2K, ws K+8, os 50
    run({dt, 4, 256, 40, 257, 1, 256, 0, 40, 4, true, true});          // x unaligned: scalar
    run({dt, 2, 256, 40, 256, 0, 257, 1, 40, 4, true, false});         // w unaligned
    run({dt, 4, 2, 9, 2, 0, 2, 0, 9, 4, true, true});                  // K=2 (< vector width)
    run({dt, 1, 1, 5, 1, 0, 1, 0, 5, 4, true, true});                  // K=1
    run({dt, 4, 64, 16, 64, 0, 64, 0, 16, 4, true, true, 2});          // batch 2 x M 4 -> 8 rows
    run({dt, 3, 64, 16, 64, 0, 64, 0, 16, 4, false, true, 3});         // 9 rows: no
    run({dt, 9, 64, 16, 64, 0, 64, 0, 16, 4, false, true});            // M 9: no
    run({dt, 2, 64, 16, 16, 0, 16, 0, 16, 4, false, true, 1, false});  // B not transposed: no
    run({dt, 2, 64, 1, 64, 0, 1, 0, 1, 4, true, true, 1, false});      // N=1 not transposed: fine
    run({dt, 8, 128, 2048, 128, 0, 128, 0, 2048, 132, true, true});    // H100 sm count
  }
  printf("%d cases, %d failed\n", cases, fails);
  return fails != 0;
}
