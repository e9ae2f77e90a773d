// Host stand-ins for the CUDA driver API and NVRTC calls fused_nvrtc.cc makes (glue_emulate.cc):
// nvrtcCompileProgram compiles the rendered source as host C++ (host_shim.h) into a shared object
// whose bytes are the "cubin"; cuModuleLoadData dlopens those bytes; cuLaunchKernel copies the
// parameter bytes exactly as the driver does (the size the kernel declares, from the pointer in
// kernelParams[0]) and runs the grid: blockDim.x std::threads, the blocks one after the other
// with a barrier between them (one block's shared memory at a time). Each kernel's shared object
// carries its own grid runner (threadIdx, __syncthreads, ...), so it needs no symbol of the
// process that loads it (the core dlopens a device library RTLD_LOCAL).
#include <cuda.h>
#include <dlfcn.h>
#include <unistd.h>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include "nvrtc.h"

// counters the driver test reads
std::atomic<int> fake_compiles{0}, fake_launches{0}, fake_loads{0};
std::string fake_last_source;
long long fake_last_param_bytes = 0;

namespace {
std::string shim_dir() {
  const char* d = std::getenv("KZ_SHIM_DIR");
#ifdef KZ_SHIM_DIR_DEFAULT
  return d ? d : KZ_SHIM_DIR_DEFAULT;
#else
  return d ? d : "tools/fused_render";
#endif
}
std::string tmp_dir() {
  const char* d = std::getenv("KZ_TMP");
  return d ? d : "/tmp";
}
struct Prog {
  std::string src, image, log;
};
struct Fn {
  void (*run_grid)(const void*, unsigned, unsigned) = nullptr;
  unsigned long param_bytes = 0;
};
std::atomic<int> counter{0};
std::string unique_path(const char* ext) {
  return tmp_dir() + "/kzglue-" + std::to_string((long)getpid()) + "-" + std::to_string(counter++) + ext;
}
}  // namespace

// Appended to every kernel's source: the block threads, the barrier, the grid loop, and the
// parameter's size (which a real driver reads from the image).
const char* const kGridRunner = R"KZ(
#undef __device__
#undef __global__
#undef __forceinline__
#undef __shared__
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
thread_local KzDim3 threadIdx, blockIdx;
KzDim3 blockDim, gridDim;
static std::mutex kz_bar_mu;
static std::condition_variable kz_bar_cv;
static unsigned kz_bar_count = 0, kz_bar_gen = 0;
void __syncthreads() {
  std::unique_lock<std::mutex> l(kz_bar_mu);
  unsigned gen = kz_bar_gen;
  if (++kz_bar_count == blockDim.x) {
    kz_bar_count = 0;
    kz_bar_gen++;
    kz_bar_cv.notify_all();
  } else {
    kz_bar_cv.wait(l, [&] { return kz_bar_gen != gen; });
  }
}
extern "C" void kz_run_grid(const void* param, unsigned gx, unsigned bx) {
  blockDim.x = bx;
  gridDim.x = gx;
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < bx; t++)
    ts.emplace_back([=] {
      threadIdx.x = t;
      for (unsigned b = 0; b < gx; b++) {
        blockIdx.x = b;
        kiln_fused(*(const KzArgs*)param);
        __syncthreads();  // the next block starts with its own shared memory
      }
    });
  for (auto& t : ts) t.join();
}
extern "C" const unsigned long kz_param_bytes = sizeof(KzArgs);
)KZ";

extern "C" {
const char* nvrtcGetErrorString(nvrtcResult r) { return r == NVRTC_SUCCESS ? "NVRTC_SUCCESS" : "NVRTC_ERROR_COMPILATION"; }
nvrtcResult nvrtcVersion(int* major, int* minor) {
  *major = 12;
  *minor = 4;
  return NVRTC_SUCCESS;
}
nvrtcResult nvrtcGetNumSupportedArchs(int* n) {
  *n = 3;
  return NVRTC_SUCCESS;
}
nvrtcResult nvrtcGetSupportedArchs(int* a) {
  a[0] = 75, a[1] = 80, a[2] = 90;
  return NVRTC_SUCCESS;
}
nvrtcResult nvrtcCreateProgram(nvrtcProgram* prog, const char* src, const char*, int, const char* const*,
                               const char* const*) {
  Prog* p = new Prog();
  p->src = src;
  *prog = reinterpret_cast<nvrtcProgram>(p);
  return NVRTC_SUCCESS;
}
nvrtcResult nvrtcDestroyProgram(nvrtcProgram* prog) {
  delete reinterpret_cast<Prog*>(*prog);
  *prog = nullptr;
  return NVRTC_SUCCESS;
}
nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int n, const char* const* opts) {
  Prog* p = reinterpret_cast<Prog*>(prog);
  fake_compiles++;
  fake_last_source = p->src;
  bool arch = false;
  for (int i = 0; i < n; i++) arch = arch || std::strncmp(opts[i], "--gpu-architecture=", 19) == 0;
  if (!arch) {
    p->log = "no --gpu-architecture";
    return NVRTC_ERROR_COMPILATION;
  }
  std::string cc = unique_path(".cc"), so = unique_path(".so"), log = unique_path(".log");
  {
    std::ofstream f(cc);
    // the driver reads the parameter's size from the image: the wrapper exports it
    f << p->src << kGridRunner;
  }
  std::string cmd = "g++ -std=c++17 -O1 -ffp-contract=off -w -fPIC -shared -DKZ_HOST_EMULATION -include " + shim_dir() +
                    "/host_shim.h -o " + so + " " + cc + " >" + log + " 2>&1";
  int rc = std::system(cmd.c_str());
  {
    std::ifstream f(log);
    p->log.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  if (rc != 0) {
    std::fprintf(stderr, "fake nvrtc: g++ failed, source kept in %s\n%s\n", cc.c_str(), p->log.c_str());
    return NVRTC_ERROR_COMPILATION;
  }
  std::ifstream f(so, std::ios::binary);
  p->image.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  std::remove(cc.c_str());
  std::remove(so.c_str());
  std::remove(log.c_str());
  return NVRTC_SUCCESS;
}
nvrtcResult nvrtcGetPTXSize(nvrtcProgram, size_t*) { return NVRTC_ERROR_INVALID_INPUT; }
nvrtcResult nvrtcGetPTX(nvrtcProgram, char*) { return NVRTC_ERROR_INVALID_INPUT; }
nvrtcResult nvrtcGetCUBINSize(nvrtcProgram prog, size_t* n) {
  *n = reinterpret_cast<Prog*>(prog)->image.size();
  return NVRTC_SUCCESS;
}
nvrtcResult nvrtcGetCUBIN(nvrtcProgram prog, char* out) {
  Prog* p = reinterpret_cast<Prog*>(prog);
  std::memcpy(out, p->image.data(), p->image.size());
  return NVRTC_SUCCESS;
}
nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t* n) {
  *n = reinterpret_cast<Prog*>(prog)->log.size() + 1;
  return NVRTC_SUCCESS;
}
nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char* log) {
  Prog* p = reinterpret_cast<Prog*>(prog);
  std::memcpy(log, p->log.c_str(), p->log.size() + 1);
  return NVRTC_SUCCESS;
}
}  // extern "C"

// ---- the driver ----------------------------------------------------------------------------
static int fake_ctx_token;
CUresult CUDAAPI cuInit(unsigned int) { return CUDA_SUCCESS; }
CUresult CUDAAPI cuCtxGetCurrent(CUcontext* c) {
  *c = reinterpret_cast<CUcontext>(&fake_ctx_token);
  return CUDA_SUCCESS;
}
CUresult CUDAAPI cuCtxSetCurrent(CUcontext) { return CUDA_SUCCESS; }
CUresult CUDAAPI cuDeviceGet(CUdevice* d, int ordinal) {
  *d = ordinal;
  return CUDA_SUCCESS;
}
CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext* c, CUdevice) { return cuCtxGetCurrent(c); }
CUresult CUDAAPI cuGetErrorName(CUresult r, const char** s) {
  *s = r == CUDA_SUCCESS ? "CUDA_SUCCESS" : "CUDA_ERROR_FAKE";
  return CUDA_SUCCESS;
}
CUresult CUDAAPI cuGetErrorString(CUresult r, const char** s) { return cuGetErrorName(r, s); }
CUresult CUDAAPI cuModuleLoadData(CUmodule* mod, const void* image) {
  // the image is a shared object of unknown length: its ELF header says where the section
  // headers end, which is the end of the file g++ wrote
  const unsigned char* b = static_cast<const unsigned char*>(image);
  if (std::memcmp(b, "\x7f" "ELF", 4) != 0) return CUDA_ERROR_INVALID_IMAGE;
  uint64_t shoff;
  uint16_t shentsize, shnum;
  std::memcpy(&shoff, b + 0x28, 8);
  std::memcpy(&shentsize, b + 0x3a, 2);
  std::memcpy(&shnum, b + 0x3c, 2);
  size_t n = shoff + (size_t)shentsize * shnum;
  std::string so = unique_path(".so");
  {
    std::ofstream f(so, std::ios::binary);
    f.write(static_cast<const char*>(image), (std::streamsize)n);
  }
  void* h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  std::remove(so.c_str());
  if (!h) {
    std::fprintf(stderr, "fake driver: dlopen: %s\n", dlerror());
    return CUDA_ERROR_INVALID_IMAGE;
  }
  fake_loads++;
  *mod = reinterpret_cast<CUmodule>(h);
  return CUDA_SUCCESS;
}
CUresult CUDAAPI cuModuleGetFunction(CUfunction* fn, CUmodule mod, const char* name) {
  void* h = reinterpret_cast<void*>(mod);
  if (std::strcmp(name, "kiln_fused") != 0 || !dlsym(h, "kiln_fused")) return CUDA_ERROR_NOT_FOUND;
  Fn* f = new Fn();
  f->run_grid = reinterpret_cast<void (*)(const void*, unsigned, unsigned)>(dlsym(h, "kz_run_grid"));
  f->param_bytes = *reinterpret_cast<const unsigned long*>(dlsym(h, "kz_param_bytes"));
  *fn = reinterpret_cast<CUfunction>(f);
  return CUDA_SUCCESS;
}
CUresult CUDAAPI cuModuleUnload(CUmodule mod) {
  dlclose(reinterpret_cast<void*>(mod));
  return CUDA_SUCCESS;
}
CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                                unsigned bz, unsigned shmem, CUstream, void** params, void** extra) {
  Fn* fn = reinterpret_cast<Fn*>(f);
  if (gy != 1 || gz != 1 || by != 1 || bz != 1 || extra || gx == 0 || bx == 0 || bx > 1024) return CUDA_ERROR_INVALID_VALUE;
  if (gx > 2147483647u) return CUDA_ERROR_INVALID_VALUE;
  if (shmem > 48 * 1024) return CUDA_ERROR_INVALID_VALUE;
  if (fn->param_bytes > 4096) return CUDA_ERROR_INVALID_VALUE;  // (the compile fails first on a real one)
  fake_launches++;
  fake_last_param_bytes = (long long)fn->param_bytes;
  // the driver copies the parameter's bytes at launch: the caller may reuse its buffer afterwards
  std::vector<long long> copy((fn->param_bytes + 7) / 8);
  std::memcpy(copy.data(), params[0], fn->param_bytes);
  fn->run_grid(copy.data(), gx, bx);
  return CUDA_SUCCESS;
}
#ifndef KZ_FAKE_RUNTIME
// the runtime call ensure_context makes (cudaError_t is an int-sized enum; 0 is cudaSuccess);
// fake_runtime.cc has it where the whole backend is built
extern "C" int cudaSetDevice(int) { return 0; }
#endif
