// The `fused` kernel on the GPU: each registered program (kn.compile) is rendered to CUDA C per
// layout class (fused_codegen.h), compiled with NVRTC for the device's architecture, loaded with
// the driver API and launched on the command's stream. Compiled images are cached in memory per
// (device, program, layout class) and on disk under $KILN_CACHE_DIR (default ~/.cache/kiln),
// keyed by a hash of the source, the architecture, the NVRTC version and the options; a corrupt
// or unreadable cache file is ignored and rewritten.
#include <cuda.h>
#include <nvrtc.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>
#include "backend.h"
#include "fused_codegen.h"
#include "registry.h"

namespace kiln {
namespace cuda {
namespace {

// ---- programs ------------------------------------------------------------------------------

struct Parsed {
  FzProgram P;
  std::string unsupported;  // why the GPU does not run it (empty: it does)
};

std::mutex fz_mu;  // guards every map below
std::map<int64_t, std::shared_ptr<const Parsed>>& parsed() {
  static auto* m = new std::map<int64_t, std::shared_ptr<const Parsed>>();
  return *m;
}

int64_t handle_of(const Command& c) { return c.params.empty() ? -1 : (int64_t)c.params[0]; }

// The parsed program of a command (null: the CUDA backend never saw its words). Handles are
// never reused by the core, so an entry stays valid after its program is released.
std::shared_ptr<const Parsed> program_of(const Command& c) {
  const int64_t h = handle_of(c);
  {
    std::lock_guard<std::mutex> g(fz_mu);
    auto it = parsed().find(h);
    if (it != parsed().end()) return it->second;
  }
  const std::vector<double>* w = program_words(h);
  if (!w) return nullptr;
  std::vector<double> words = *w;
  auto p = std::make_shared<Parsed>();
  std::string why;
  if (!fz_parse(words.data(), words.size(), p->P, &why)) p->unsupported = why;
  else p->unsupported = fz_unsupported(p->P);
  std::lock_guard<std::mutex> g(fz_mu);
  parsed()[h] = p;
  return p;
}

FzGeom geometry_of(const FzProgram& P, const Command& c) {
  std::vector<const int64_t*> strides;
  for (const View& v : c.ops) strides.push_back(v.strides);
  return fz_geometry(P, c.ops[0].shape, strides);
}

// ---- hashing and the disk cache ------------------------------------------------------------

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

std::string cache_dir() {
  const char* d = std::getenv("KILN_CACHE_DIR");
  if (d && *d) return d;
  const char* home = std::getenv("HOME");
  if (!home || !*home) return "";
  return std::string(home) + "/.cache/kiln";
}

// mkdir -p; false when the folder cannot be made
bool make_dirs(const std::string& path) {
  if (path.empty()) return false;
  for (size_t p = 1; p <= path.size(); p++) {
    if (p == path.size() || path[p] == '/') {
      std::string part = path.substr(0, p);
      if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return false;
    }
  }
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'F', 'Z', '0', '1'};

// File layout: magic, check hash of the key, image kind (0 cubin, 1 ptx), image size, image,
// fnv1a of the image. Anything that does not add up is a miss.
bool read_cache(const std::string& path, uint64_t check, std::string* image, int* kind) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t head = 8 + 8 + 8 + 8;
  if (data.size() < head + 8 || std::memcmp(data.data(), kMagic, 8) != 0) return false;
  uint64_t c = 0, k = 0, n = 0, sum = 0;
  std::memcpy(&c, data.data() + 8, 8);
  std::memcpy(&k, data.data() + 16, 8);
  std::memcpy(&n, data.data() + 24, 8);
  if (c != check || k > 1 || n == 0 || data.size() != head + n + 8) return false;
  image->assign(data.data() + head, n);
  std::memcpy(&sum, data.data() + head + n, 8);
  if (sum != fnv1a(*image)) return false;
  *kind = (int)k;
  return true;
}

void write_cache(const std::string& dir, const std::string& path, uint64_t check, const std::string& image, int kind) {
  if (!make_dirs(dir)) return;
  static std::atomic<int> counter{0};
  std::string tmp = path + ".tmp." + std::to_string((long)::getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return;
    uint64_t k = (uint64_t)kind, n = image.size(), sum = fnv1a(image);
    f.write(kMagic, 8);
    f.write(reinterpret_cast<const char*>(&check), 8);
    f.write(reinterpret_cast<const char*>(&k), 8);
    f.write(reinterpret_cast<const char*>(&n), 8);
    f.write(image.data(), (std::streamsize)image.size());
    f.write(reinterpret_cast<const char*>(&sum), 8);
    if (!f) {
      f.close();
      std::remove(tmp.c_str());
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
}

// ---- NVRTC and the driver ------------------------------------------------------------------

bool debug() {
  static const bool on = [] {
    const char* d = std::getenv("KILN_DEBUG");
    return d && *d && std::strcmp(d, "0") != 0;
  }();
  return on;
}

[[noreturn]] void driver_fail(CUresult r, int64_t h, const char* what) {
  const char* name = nullptr;
  const char* msg = nullptr;
  cuGetErrorName(r, &name);
  cuGetErrorString(r, &msg);
  fail("[fused] program ", h, ": ", what, ": CUDA driver error ", name ? name : "?", ": ", msg ? msg : "?");
}

// The first lines of an NVRTC log (errors come first; a long log of a big program is cut).
std::string log_head(const std::string& log, int lines = 12) {
  std::string out;
  int n = 0;
  size_t p = 0;
  while (p < log.size() && n < lines) {
    size_t e = log.find('\n', p);
    if (e == std::string::npos) e = log.size();
    if (e > p) {
      out += "\n  " + log.substr(p, e - p);
      n++;
    }
    p = e + 1;
  }
  if (p < log.size()) out += "\n  ...";
  return out;
}

struct Target {
  std::string option;  // --gpu-architecture=sm_90 (cubin) or compute_XX (ptx, JIT by the driver)
  bool cubin = true;
};

// The device's real architecture when this NVRTC knows it, else PTX for the newest it knows below.
Target target_for(int cc) {
  Target t;
  int n = 0;
  std::vector<int> archs;
  if (nvrtcGetNumSupportedArchs(&n) == NVRTC_SUCCESS && n > 0) {
    archs.resize(n);
    if (nvrtcGetSupportedArchs(archs.data()) != NVRTC_SUCCESS) archs.clear();
  }
  if (archs.empty() || std::find(archs.begin(), archs.end(), cc) != archs.end()) {
    t.option = "--gpu-architecture=sm_" + std::to_string(cc);
    return t;
  }
  int best = archs.front();
  for (int a : archs)
    if (a <= cc) best = std::max(best, a);
  t.option = "--gpu-architecture=compute_" + std::to_string(best);
  t.cubin = false;
  return t;
}

std::string nvrtc_version() {
  int major = 0, minor = 0;
  nvrtcVersion(&major, &minor);
  return std::to_string(major) + "." + std::to_string(minor);
}

// NVRTC's defaults are nvcc's, which builds the eager kernels (fmad on, IEEE division and square
// root, no flush to zero): libm and the ops' own bodies (erfinv's polynomial, ...) then contract
// as in the eager kernels, for the same bits; the rendered add/subtract/multiply use __f*_rn, so
// no FMA spans two ops (an eager chain rounds every op). (--fmad=false differed from the eager
// kernels wherever nvcc contracts inside an op.)
const char* const kOptions[] = {"-std=c++17"};

// Compiles source to an image (cubin, or ptx with its terminating NUL). Throws with the log.
std::string nvrtc_compile(const std::string& src, const Target& t, int64_t h, const std::string& layout) {
  nvrtcProgram prog = nullptr;
  nvrtcResult r = nvrtcCreateProgram(&prog, src.c_str(), "kiln_fused.cu", 0, nullptr, nullptr);
  if (r != NVRTC_SUCCESS) fail("[fused] program ", h, ": nvrtcCreateProgram: ", nvrtcGetErrorString(r));
  std::vector<const char*> opts = {t.option.c_str()};
  for (const char* o : kOptions) opts.push_back(o);
  r = nvrtcCompileProgram(prog, (int)opts.size(), opts.data());
  if (r != NVRTC_SUCCESS) {
    std::string log;
    size_t n = 0;
    if (nvrtcGetProgramLogSize(prog, &n) == NVRTC_SUCCESS && n > 1) {
      log.resize(n);
      if (nvrtcGetProgramLog(prog, &log[0]) != NVRTC_SUCCESS) log.clear();
      while (!log.empty() && log.back() == '\0') log.pop_back();
    }
    nvrtcDestroyProgram(&prog);
    fail("[fused] NVRTC failed to compile program ", h, " (layout ", layout, ", ", t.option,
         "): ", nvrtcGetErrorString(r), log_head(log));
  }
  std::string image;
  size_t n = 0;
  if (t.cubin) {
    r = nvrtcGetCUBINSize(prog, &n);
    if (r == NVRTC_SUCCESS && n > 0) {
      image.resize(n);
      r = nvrtcGetCUBIN(prog, &image[0]);
    }
  } else {
    r = nvrtcGetPTXSize(prog, &n);  // includes the terminating NUL
    if (r == NVRTC_SUCCESS && n > 0) {
      image.resize(n);
      r = nvrtcGetPTX(prog, &image[0]);
    }
  }
  nvrtcDestroyProgram(&prog);
  if (r != NVRTC_SUCCESS || image.empty())
    fail("[fused] program ", h, ": reading the compiled image: ", nvrtcGetErrorString(r));
  return image;
}

// Makes sure the calling thread has the device's primary context current (the runtime's).
void ensure_context(const Context& ctx, int64_t h) {
  static std::once_flag once;
  static CUresult init = CUDA_SUCCESS;
  std::call_once(once, [] { init = cuInit(0); });
  if (init != CUDA_SUCCESS) driver_fail(init, h, "cuInit");
  CUcontext cur = nullptr;
  if (cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur) return;
  cudaSetDevice(ctx.ordinal);  // makes the primary context current (CUDA 12)
  if (cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur) return;
  CUdevice dev = 0;
  CUresult r = cuDeviceGet(&dev, ctx.ordinal);
  if (r != CUDA_SUCCESS) driver_fail(r, h, "cuDeviceGet");
  r = cuDevicePrimaryCtxRetain(&cur, dev);
  if (r != CUDA_SUCCESS) driver_fail(r, h, "cuDevicePrimaryCtxRetain");
  r = cuCtxSetCurrent(cur);
  if (r != CUDA_SUCCESS) driver_fail(r, h, "cuCtxSetCurrent");
}

// device ordinal + source hash -> function (shared by every program with the same source)
std::map<std::pair<int, uint64_t>, CUfunction>& by_source() {
  static auto* m = new std::map<std::pair<int, uint64_t>, CUfunction>();
  return *m;
}
// (device ordinal, handle, layout key) -> function
std::map<std::tuple<int, int64_t, std::string>, CUfunction>& by_layout() {
  static auto* m = new std::map<std::tuple<int, int64_t, std::string>, CUfunction>();
  return *m;
}

bool load_image(const std::string& image, CUfunction* fn, CUresult* err) {
  CUmodule mod = nullptr;
  CUresult r = cuModuleLoadData(&mod, image.data());
  if (r == CUDA_SUCCESS) {
    r = cuModuleGetFunction(fn, mod, "kiln_fused");
    if (r != CUDA_SUCCESS) cuModuleUnload(mod);
  }
  *err = r;
  return r == CUDA_SUCCESS;
}

CUfunction function_for(const Parsed& pp, const FzGeom& g, const Context& ctx, int64_t h) {
  const std::string layout = fz_layout_key(g);
  auto lk = std::make_tuple(ctx.ordinal, h, layout);
  {
    std::lock_guard<std::mutex> lock(fz_mu);
    auto it = by_layout().find(lk);
    if (it != by_layout().end()) return it->second;
  }
  const std::string src = fz_render(pp.P, g);
  const Target t = target_for(ctx.cc_major * 10 + ctx.cc_minor);
  std::string key = src;
  key += '\0' + t.option + '\0' + nvrtc_version();
  for (const char* o : kOptions) key += '\0' + std::string(o);
  const uint64_t hash = fnv1a(key), check = fnv1a(key, 0x9e3779b97f4a7c15ull);
  std::lock_guard<std::mutex> lock(fz_mu);  // one compile at a time (compiles are rare)
  auto sk = std::make_pair(ctx.ordinal, hash);
  auto it = by_source().find(sk);
  if (it != by_source().end()) return by_layout()[lk] = it->second;
  const std::string dir = cache_dir();
  char name[64];
  std::snprintf(name, sizeof name, "/fused-%016llx.bin", (unsigned long long)hash);
  const std::string path = dir.empty() ? "" : dir + name;
  CUfunction fn = nullptr;
  CUresult err = CUDA_SUCCESS;
  std::string image;
  int kind = 0;
  if (!path.empty() && read_cache(path, check, &image, &kind) && kind == (t.cubin ? 0 : 1) &&
      load_image(image, &fn, &err)) {
    if (debug())
      std::fprintf(stderr, "[kiln] fused: program %lld layout %s from %s\n", (long long)h, layout.c_str(),
                   path.c_str());
  } else {
    auto t0 = std::chrono::steady_clock::now();
    image = nvrtc_compile(src, t, h, layout);
    if (!load_image(image, &fn, &err)) driver_fail(err, h, "loading the compiled module");
    if (!path.empty()) write_cache(dir, path, check, image, t.cubin ? 0 : 1);
    if (debug()) {
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "[kiln] fused: compiled program %lld layout %s (%s) in %.0f ms\n", (long long)h,
                   layout.c_str(), t.option.c_str(), ms);
    }
  }
  by_source()[sk] = fn;
  return by_layout()[lk] = fn;
}

// ---- the kernel ----------------------------------------------------------------------------

bool fused_supports(const Command& c) {
  auto pp = program_of(c);
  if (!pp || !pp->unsupported.empty()) return false;
  if ((int)c.ops.size() != pp->P.nops() || c.ops.empty()) return false;
  FzGeom g = geometry_of(pp->P, c);
  return fz_arg_slots(pp->P.nops(), g.no, g.ni).count <= kFzMaxArgWords;
}

void fused_run(const Command& c, Context& ctx) {
  const int64_t h = handle_of(c);
  auto pp = program_of(c);
  if (!pp || !pp->unsupported.empty()) fail("[fused] program ", h, " cannot run on the GPU");
  const FzProgram& P = pp->P;
  FzGeom g = geometry_of(P, c);
  const bool red = P.nred > 0;
  if (g.rows == 0 || (!red && g.inner == 0)) return;
  ensure_context(ctx, h);
  CUfunction fn = function_for(*pp, g, ctx, h);
  std::vector<const void*> ptrs;
  for (const View& v : c.ops) ptrs.push_back(v.device_data(ctx.device));
  const int64_t spill_bytes = fz_spill_bytes(P, g);
  void* spill = spill_bytes > 0 ? ctx.scratch(spill_bytes) : nullptr;
  const int group = red ? fz_group(g) : 1;
  std::vector<long long> args = fz_args(P, g, ptrs, spill, group);
  const int64_t units =
      red ? (g.rows + (kFzBlock / group) - 1) / (kFzBlock / group) : (g.inner + kFzBlock - 1) / kFzBlock;
  const int64_t cap = std::max<int64_t>(1, (int64_t)std::max(ctx.sm_count, 1) * 32);
  const unsigned grid = (unsigned)std::max<int64_t>(1, std::min(units, cap));
  void* params[] = {args.data()};
  CUresult r = cuLaunchKernel(fn, grid, 1, 1, kFzBlock, 1, 1, 0, (CUstream)ctx.stream, params, nullptr);
  if (r != CUDA_SUCCESS) driver_fail(r, h, "cuLaunchKernel");
}

}  // namespace

KILN_CUDA_KERNEL("fused", fused_supports, fused_run);

}  // namespace cuda
}  // namespace kiln
