// Host emulation shim for gemv.cu: blocks run one at a time as 256 std::threads.
#pragma once
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cmath>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#include <functional>
#undef __shared__
#define __shared__ static
#undef __launch_bounds__
#define __launch_bounds__(...)
using std::max;
using std::min;
struct EmuBarrier {
  std::mutex m;
  std::condition_variable cv;
  int n, count = 0;
  long gen = 0;
  explicit EmuBarrier(int n_) : n(n_) {}
  void wait() {
    std::unique_lock<std::mutex> l(m);
    long g = gen;
    if (++count == n) {
      count = 0;
      gen++;
      cv.notify_all();
      return;
    }
    cv.wait(l, [&] { return gen != g; });
  }
};
extern thread_local uint3 emu_tid, emu_bid;
extern dim3 emu_bdim, emu_gdim;
extern EmuBarrier* emu_block_bar;
extern EmuBarrier* emu_warp_bar[32];
extern float emu_slot[32][32];
#define threadIdx emu_tid
#define blockIdx emu_bid
#define blockDim emu_bdim
#define gridDim emu_gdim
inline void __syncthreads() { emu_block_bar->wait(); }
inline float __shfl_xor_sync(unsigned, float v, int o) {
  int w = threadIdx.x >> 5, l = threadIdx.x & 31;
  emu_warp_bar[w]->wait();
  emu_slot[w][l] = v;
  emu_warp_bar[w]->wait();
  float r = emu_slot[w][l ^ o];
  return r;
}
template <class T> T __ldg(const T* p) { return *p; }
template <class T> T __ldcs(const T* p) { return *p; }
inline float emu_u2f(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline unsigned emu_f2u(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
#define __uint_as_float emu_u2f
#define __float_as_uint emu_f2u
void emu_launch(const std::function<void()>& body, dim3 grid, int threads);
