// Runs every rendered kernel (render.cc's output compiled as host C++ with host_shim.h: one block
// of 8 std::threads, __syncthreads a barrier) against the CPU's fused-program interpreter
// (backends/cpu/kernels/fused.cc) on the same random operands, and compares the outputs
// (integers and bools exactly, floats within a few ulps of their dtype).
//   emulate <programs.txt>      (built and run by run.sh)
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include "../../backends/cpu/kernels/fused.h"
#include "host_shim.h"
#include "layouts.h"

thread_local KzDim3 threadIdx, blockIdx;
KzDim3 blockDim, gridDim;

namespace {
std::mutex bar_mu;
std::condition_variable bar_cv;
unsigned bar_count = 0, bar_gen = 0;
}  // namespace
void __syncthreads() {
  std::unique_lock<std::mutex> l(bar_mu);
  unsigned gen = bar_gen;
  if (++bar_count == blockDim.x) {
    bar_count = 0;
    bar_gen++;
    bar_cv.notify_all();
  } else {
    bar_cv.wait(l, [&] { return bar_gen != gen; });
  }
}

using namespace kiln;
using namespace kiln::cuda;

namespace {
uint64_t rng = 88172645463325252ull;
uint64_t next() {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
double uniform() { return (double)(next() >> 11) / 9007199254740992.0; }

void fill(char* p, int dt, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    double v = uniform() * 4 - 2;
    double u = uniform();
    if (u < 0.03) v = 0;
    else if (u < 0.10) {  // specials: NaN propagation, infinities, out-of-range casts
      const double special[] = {NAN, INFINITY, -INFINITY, 1e20, -1e20, 3e9, -0.0};
      v = special[next() % 7];
    }
    switch (dt) {
      case kBool: p[i] = (char)(next() & 1); break;
      case kUint8: ((uint8_t*)p)[i] = (uint8_t)(next() % 40); break;
      case kUint16: ((uint16_t*)p)[i] = (uint16_t)(next() % 40); break;
      case kUint32: ((uint32_t*)p)[i] = (uint32_t)(next() % 40); break;
      case kUint64: ((uint64_t*)p)[i] = next() % 40; break;
      case kInt8: ((int8_t*)p)[i] = (int8_t)((int)(next() % 41) - 20); break;
      case kInt16: ((int16_t*)p)[i] = (int16_t)((int)(next() % 41) - 20); break;
      case kInt32: ((int32_t*)p)[i] = (int32_t)((int)(next() % 41) - 20); break;
      case kInt64: ((int64_t*)p)[i] = (int64_t)(next() % 41) - 20; break;
      case kFloat16: ((uint16_t*)p)[i] = float_to_half((float)v); break;
      case kBfloat16: ((uint16_t*)p)[i] = float_to_bf16((float)v); break;
      case kFloat32: ((float*)p)[i] = (float)v; break;
      case kFloat64: ((double*)p)[i] = v; break;
      default: break;
    }
  }
}

double value(const char* p, int dt, int64_t i) {
  switch (dt) {
    case kBool: return p[i];
    case kUint8: return ((const uint8_t*)p)[i];
    case kUint16: return ((const uint16_t*)p)[i];
    case kUint32: return ((const uint32_t*)p)[i];
    case kUint64: return (double)((const uint64_t*)p)[i];
    case kInt8: return ((const int8_t*)p)[i];
    case kInt16: return ((const int16_t*)p)[i];
    case kInt32: return ((const int32_t*)p)[i];
    case kInt64: return (double)((const int64_t*)p)[i];
    case kFloat16: return half_to_float(((const uint16_t*)p)[i]);
    case kBfloat16: return bf16_to_float(((const uint16_t*)p)[i]);
    case kFloat32: return ((const float*)p)[i];
    case kFloat64: return ((const double*)p)[i];
    default: return 0;
  }
}
bool exact_bits(const char* a, const char* b, int dt, int64_t i) {
  int64_t s = dtype_size(dt);
  return std::memcmp(a + i * s, b + i * s, s) == 0;
}
double tolerance(int dt) {
  switch (dt) {
    case kFloat16: return 2e-3;
    case kBfloat16: return 1.6e-2;
    case kFloat32: return 2e-5;
    case kFloat64: return 1e-9;
    default: return 0;
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: emulate <programs.txt>\n";
    return 2;
  }
  std::vector<std::vector<double>> progs;
  {
    std::ifstream in(argv[1]);
    std::string line, tok;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      std::vector<double> w;
      std::stringstream ss(line);
      while (std::getline(ss, tok, ',')) w.push_back(std::strtod(tok.c_str(), nullptr));
      progs.push_back(w);
    }
  }
  int ran = 0, failed = 0;
  for (KzEntry* e = kz_entries; e->fn; e++) {
    const std::vector<double>& w = progs.at(e->prog);
    FzProgram P;
    std::string why;
    if (!fz_parse(w.data(), w.size(), P, &why)) return 1;
    std::vector<int64_t> shape = harness_shape(P, e->variant);
    std::vector<std::vector<int64_t>> st = harness_strides(P, shape, e->variant);
    std::vector<const int64_t*> sp;
    for (auto& v : st) sp.push_back(v.data());
    FzGeom g = fz_geometry(P, shape.data(), sp);
    const int nops = P.nops();
    std::vector<std::unique_ptr<char[]>> cpu(nops), gpu(nops);
    std::vector<int64_t> extent(nops);
    Command c;
    int64_t h = fused_compile(w.data(), w.size());
    c.params = {(double)h};
    c.n_inputs = P.n_in;
    std::vector<const void*> ptrs;
    for (int k = 0; k < nops; k++) {
      int dt = k < P.n_in ? P.in_dtype[k] : P.out_dtype[k - P.n_in];
      int64_t ext = 1;
      for (int d = 0; d < P.ndim; d++) ext += (shape[d] - 1) * st[k][d];
      extent[k] = ext;
      int64_t bytes = ext * dtype_size(dt) + 16;
      cpu[k].reset(new char[bytes]());
      gpu[k].reset(new char[bytes]());
      if (k < P.n_in) {
        fill(cpu[k].get(), dt, ext);
        std::memcpy(gpu[k].get(), cpu[k].get(), bytes);
      }
      View v;
      v.buf = std::make_shared<Buffer>();
      v.buf->data = cpu[k].get();
      v.dtype = dt;
      v.ndim = P.ndim;
      v.size = 1;
      for (int d = 0; d < P.ndim; d++) v.shape[d] = shape[d], v.strides[d] = st[k][d], v.size *= shape[d];
      c.ops.push_back(v);
      ptrs.push_back(gpu[k].get());
    }
    check_fused(c);
    run_fused(c);
    std::unique_ptr<char[]> spill(new char[fz_spill_bytes(P, g) + 8]());
    blockDim.x = 8;
    gridDim.x = 1;
    blockIdx.x = 0;
    const int group = P.nred > 0 ? std::min(8, fz_group(g)) : 1;
    std::vector<long long> args = fz_args(P, g, ptrs, spill.get(), group);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < blockDim.x; t++)
      threads.emplace_back([&, t] {
        threadIdx.x = t;
        e->fn(args.data());
      });
    for (auto& t : threads) t.join();
    ran++;
    int bad = 0;
    for (int k = P.n_in; k < nops; k++) {
      int dt = P.out_dtype[k - P.n_in];
      for (int64_t i = 0; i < extent[k] && bad < 3; i++) {
        if (exact_bits(cpu[k].get(), gpu[k].get(), dt, i)) continue;
        double a = value(cpu[k].get(), dt, i), b = value(gpu[k].get(), dt, i);
        bool ok = (std::isnan(a) && std::isnan(b)) || a == b ||
                  std::fabs(a - b) <= tolerance(dt) * std::max(1.0, std::fabs(a));
        if (ok) continue;
        std::printf("program %d layout %s output %d (%s) element %lld: cpu %.9g gpu %.9g\n", e->prog,
                    fz_layout_key(g).c_str(), k - P.n_in, dtype_name(dt), (long long)i, a, b);
        bad++;
      }
    }
    if (bad) failed++;
    fused_release(h);
  }
  std::printf("emulate: %d kernels run against the CPU interpreter, %d differ\n", ran, failed);
  return failed ? 1 : 0;
}
