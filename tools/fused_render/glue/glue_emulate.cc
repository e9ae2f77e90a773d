// Runs recorded fused launches (dump_setup.ts: a program's words and its operands' dtypes,
// offsets, shapes and strides) through the real GPU glue (backends/cuda/fused_nvrtc.cc: the
// program parse, layout classes, the memory and disk caches, the argument array, the launch
// shape) over a host stand-in of the driver and NVRTC (fake_driver.cc: kernels compiled as host
// C++, the parameter bytes copied from kernelParams as the driver copies them, the whole grid
// run with blockDim.x threads), and compares every output buffer, guard bytes included, with the
// CPU interpreter (backends/cpu/kernels/fused.cc) on the same inputs.
//   glue_emulate <cases.txt> [max elements per case]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include "../../../backends/cpu/kernels/fused.h"
#include "../../../backends/cuda/fused_codegen.h"
#include "../../../backends/cuda/registry.h"

extern std::atomic<int> fake_compiles, fake_launches, fake_loads;

namespace kiln {
namespace cuda {
std::vector<CudaKernel>& cuda_kernels() {
  static std::vector<CudaKernel>* k = new std::vector<CudaKernel>();
  return *k;
}
std::map<int64_t, std::vector<double>> g_words;
const std::vector<double>* program_words(int64_t h) {
  auto it = g_words.find(h);
  return it == g_words.end() ? nullptr : &it->second;
}
void* Context::scratch(int64_t nbytes) {
  void* p = std::malloc((size_t)nbytes + 64);
  scratch_blocks.emplace_back(p, nbytes);
  return p;
}
}  // namespace cuda
}  // namespace kiln

using namespace kiln;

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
    double v = uniform() * 8 - 4;
    double u = uniform();
    if (u < 0.03) v = 0;
    else if (u < 0.08) {
      const double special[] = {NAN, INFINITY, -INFINITY, 1e20, -1e20, 3e9, -0.0};
      v = special[next() % 7];
    }
    switch (dt) {
      case kBool: p[i] = (char)(next() & 1); break;
      case kUint8: ((uint8_t*)p)[i] = (uint8_t)next(); break;
      case kUint16: ((uint16_t*)p)[i] = (uint16_t)(next() % 300); break;
      case kUint32: ((uint32_t*)p)[i] = (uint32_t)(next() % 300); break;
      case kUint64: ((uint64_t*)p)[i] = next() % 300; break;
      case kInt8: ((int8_t*)p)[i] = (int8_t)next(); break;
      case kInt16: ((int16_t*)p)[i] = (int16_t)((int)(next() % 301) - 150); break;
      case kInt32: ((int32_t*)p)[i] = (int32_t)((int)(next() % 301) - 150); break;
      case kInt64: ((int64_t*)p)[i] = (int64_t)(next() % 301) - 150; break;
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
double tolerance(int dt) {
  switch (dt) {
    case kFloat16: return 2e-3;
    case kBfloat16: return 1.6e-2;
    case kFloat32: return 2e-5;
    case kFloat64: return 1e-9;
    default: return 0;
  }
}
std::vector<double> numbers(const std::string& s) {
  std::vector<double> v;
  std::stringstream ss(s);
  std::string t;
  while (ss >> t) v.push_back(std::strtod(t.c_str(), nullptr));
  return v;
}
std::vector<std::string> split(const std::string& s, char c) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string t;
  while (std::getline(ss, t, c)) out.push_back(t);
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: glue_emulate <cases.txt> [max elements]\n";
    return 2;
  }
  const int64_t max_elems = argc > 2 ? std::atoll(argv[2]) : 200000;
  const cuda::CudaKernel* fused = nullptr;
  for (auto& k : cuda::cuda_kernels())
    if (std::strcmp(k.name, "fused") == 0) fused = &k;
  if (!fused) return 1;
  cuda::Context ctx;
  ctx.device = 1;
  ctx.ordinal = 0;
  ctx.sm_count = std::getenv("KZ_SMS") ? std::atoi(std::getenv("KZ_SMS")) : 132;
  ctx.cc_major = 9;
  ctx.cc_minor = 0;
  std::ifstream in(argv[1]);
  std::string line;
  int ran = 0, failed = 0, skipped = 0, fallback = 0, lineno = 0;
  std::map<int64_t, int64_t> cpu_handle;
  while (std::getline(in, line)) {
    lineno++;
    if (line.empty()) continue;
    auto parts = split(line, '|');
    const int64_t h = std::atoll(parts.at(0).c_str());
    std::vector<double> words = numbers(parts.at(1));
    std::vector<double> sh = numbers(parts.at(2));
    const int ndim = (int)sh.at(0);
    std::vector<int64_t> shape(sh.begin() + 1, sh.end());
    int64_t size = 1;
    for (int64_t n : shape) size *= n;
    if (size > max_elems) {
      skipped++;
      continue;
    }
    auto& known = cuda::g_words[h];
    if (known.empty()) known = words;
    else if (known != words) std::printf("line %d: handle %lld reused with other words\n", lineno, (long long)h);
    if (!cpu_handle.count(h)) cpu_handle[h] = fused_compile(words.data(), words.size());
    const int nops = (int)parts.size() - 3;
    Command cg, cc;
    cg.params = {(double)h};
    cc.params = {(double)cpu_handle[h]};
    cuda::FzProgram P;
    std::string why;
    if (!cuda::fz_parse(words.data(), words.size(), P, &why)) {
      std::printf("line %d: parse failed\n", lineno);
      failed++;
      continue;
    }
    cg.n_inputs = cc.n_inputs = P.n_in;
    std::vector<std::unique_ptr<char[]>> keep;
    std::vector<int64_t> bytes(nops);
    std::vector<int> dts(nops);
    for (int k = 0; k < nops; k++) {
      std::vector<double> o = numbers(parts.at(3 + k));
      View v;
      v.dtype = (int)o.at(0);
      v.offset = (int64_t)o.at(1);
      v.ndim = ndim;
      int64_t hi = v.offset, lo = v.offset;
      for (int d = 0; d < ndim; d++) {
        v.shape[d] = shape[d];
        v.strides[d] = (int64_t)o.at(2 + d);
        v.size *= shape[d];
        if (shape[d] > 0) (v.strides[d] > 0 ? hi : lo) += (shape[d] - 1) * v.strides[d];
      }
      if (lo < 0) {
        std::printf("line %d: operand %d reaches before its buffer\n", lineno, k);
        return 1;
      }
      const int64_t es = dtype_size(v.dtype);
      bytes[k] = (hi + 1) * es + 64;  // 64 guard bytes past the last element
      dts[k] = v.dtype;
      char* host = new char[bytes[k]];
      char* dev = new char[bytes[k]];
      keep.emplace_back(host);
      keep.emplace_back(dev);
      if (k < P.n_in) fill(host, v.dtype, bytes[k] / es);
      else std::memset(host, 0x5a, bytes[k]);
      std::memcpy(dev, host, bytes[k]);
      View vc = v;
      v.buf = std::make_shared<Buffer>();
      v.buf->dev[1] = dev;
      vc.buf = std::make_shared<Buffer>();
      vc.buf->data = host;
      cg.ops.push_back(v);
      cc.ops.push_back(vc);
    }
    check_fused(cc);
    run_fused(cc);
    if (!fused->supports(cg)) {
      fallback++;
      continue;
    }
    try {
      fused->run(cg, ctx);
    } catch (const std::exception& e) {
      std::printf("line %d (handle %lld): %s\n", lineno, (long long)h, e.what());
      failed++;
      continue;
    }
    for (auto& [p, n] : ctx.scratch_blocks) std::free(p);
    ctx.scratch_blocks.clear();
    ran++;
    int bad = 0;
    for (int k = P.n_in; k < nops; k++) {
      const char* a = keep[2 * k].get();
      const char* b = keep[2 * k + 1].get();
      const int dt = dts[k];
      const int64_t es = dtype_size(dt);
      for (int64_t i = 0; i < bytes[k] / es && bad < 3; i++) {
        if (std::memcmp(a + i * es, b + i * es, es) == 0) continue;
        double x = value(a, dt, i), y = value(b, dt, i);
        bool ok = (std::isnan(x) && std::isnan(y)) || x == y || std::fabs(x - y) <= tolerance(dt) * std::max(1.0, std::fabs(x));
        if (ok && dt != kBool && tolerance(dt) > 0) continue;
        std::printf("line %d (handle %lld, %s, shape", lineno, (long long)h, dtype_name(dt));
        for (int64_t n : shape) std::printf(" %lld", (long long)n);
        std::printf(") output %d element %lld: cpu %.9g gpu %.9g\n", k - P.n_in, (long long)i, x, y);
        bad++;
      }
    }
    if (bad) failed++;
  }
  std::printf("glue_emulate: %d launches through the glue (%d compiles, %d module loads, %d kernel launches), %d differ, "
              "%d ran on the CPU (supports false), %d skipped (> %lld elements)\n",
              ran, fake_compiles.load(), fake_loads.load(), fake_launches.load(), failed, fallback, skipped,
              (long long)max_elems);
  return failed ? 1 : 0;
}
