// Exhaustive accuracy check of the AVX2 float32 erf (elementwise_math.h) against double erf:
// every float32 input, the largest error in float32 ulps of the correctly rounded result, and
// how many inputs are off by more than one ulp. Not part of the build.
//   g++ -O2 -std=c++17 -pthread backends/cpu/tools/check_erf.cc -o /tmp/check_erf && /tmp/check_erf
#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>
#include "../kernels/elementwise_math.h"

using namespace kiln::ew;

namespace {

double ulp_of(double y) {
  float f = (float)std::fabs(y);
  if (f < 1.17549435e-38f) return std::ldexp(1.0, -149);
  int e;
  std::frexp(f, &e);
  return std::ldexp(1.0, e - 24);
}

struct Result {
  double worst = 0;
  uint32_t at = 0;
  uint64_t over_one = 0;
  bool wrong_special = false;
};

KILN_AVX2 void check(uint64_t b0, uint64_t b1, Result* res) {
  alignas(32) float xs[8], rs[8];
  for (uint64_t b = b0; b < b1; b += 8) {
    for (int j = 0; j < 8; j++) {
      uint32_t bits = (uint32_t)(b + j);
      std::memcpy(&xs[j], &bits, 4);
    }
    _mm256_store_ps(rs, erf_ps(_mm256_load_ps(xs)));
    for (int j = 0; j < 8; j++) {
      double x = xs[j], ref = std::erf(x);
      if (std::isnan(x)) {
        res->wrong_special |= !std::isnan(rs[j]);
        continue;
      }
      if (std::signbit(rs[j]) != std::signbit(ref)) res->wrong_special = true;
      double err = std::fabs(rs[j] - ref) / ulp_of(ref);
      if (err > 1) res->over_one++;
      if (err > res->worst) res->worst = err, res->at = (uint32_t)(b + j);
    }
  }
}

}  // namespace

int main() {
  if (!has_avx2()) {
    std::printf("this CPU has no AVX2/FMA: nothing to check\n");
    return 0;
  }
  const int nt = std::max(1u, std::thread::hardware_concurrency());
  const uint64_t total = uint64_t(1) << 32, per = (total / nt) & ~uint64_t(7);
  std::vector<Result> res(nt);
  std::vector<std::thread> threads;
  for (int k = 0; k < nt; k++) threads.emplace_back(check, k * per, k == nt - 1 ? total : (k + 1) * per, &res[k]);
  for (auto& t : threads) t.join();
  Result all;
  for (const Result& r : res) {
    if (r.worst > all.worst) all.worst = r.worst, all.at = r.at;
    all.over_one += r.over_one;
    all.wrong_special |= r.wrong_special;
  }
  float at;
  std::memcpy(&at, &all.at, 4);
  std::printf("erf_ps: max error %.3f ulp (at x = %.9g), %llu inputs over 1 ulp, signs and NaNs %s\n", all.worst, at,
              (unsigned long long)all.over_one, all.wrong_special ? "WRONG" : "right");
  return all.wrong_special ? 1 : 0;
}
