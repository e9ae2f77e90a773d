// Lets rendered fused kernels compile as host C++ (emulate.cc): blockDim.x std::threads run one
// block, __syncthreads is a barrier, __shared__ arrays are statics shared by those threads.
#pragma once
#include <math.h>
#include <cstddef>
#include <cstdint>
#include <cstring>
#define __device__
#define __global__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__
#define __launch_bounds__(x)
struct KzDim3 {
  unsigned x = 0, y = 1, z = 1;
};
extern thread_local KzDim3 threadIdx, blockIdx;
extern KzDim3 blockDim, gridDim;
void __syncthreads();
// round-to-nearest arithmetic intrinsics (the host build never contracts: -ffp-contract=off)
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline float __int_as_float(int u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline long long __double_as_longlong(double d) {
  long long u;
  std::memcpy(&u, &d, 8);
  return u;
}
inline double __longlong_as_double(long long u) {
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}
struct KzEntry {
  int prog, variant;
  void (*fn)(const long long*);
};
extern KzEntry kz_entries[];
