#include "backend.h"
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <algorithm>

namespace kiln {
namespace cuda {

std::vector<CudaKernel>& cuda_kernels() {
  static std::vector<CudaKernel>* k = new std::vector<CudaKernel>();
  return *k;
}

namespace {

std::mutex programs_mu;
std::map<int64_t, std::vector<double>>& programs() {
  static auto* p = new std::map<int64_t, std::vector<double>>();
  return *p;
}

// Small blocks round to 512 B, larger ones to 1/8 of their power of two (at most 12.5% waste).
int64_t size_class(int64_t n) {
  if (n <= 512) return 512;
  int64_t p = 1;
  while (p < n) p <<= 1;
  int64_t step = p >= 4096 ? p / 8 : 512;
  return (n + step - 1) / step * step;
}

bool sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
      return true;
    default:
      return false;
  }
}

}  // namespace

const std::vector<double>* program_words(int64_t handle) {
  std::lock_guard<std::mutex> g(programs_mu);
  auto it = programs().find(handle);
  return it == programs().end() ? nullptr : &it->second;
}

void* Context::scratch(int64_t nbytes) {
  if (capture_scratch) {
    // a recorded graph keeps its own scratch (relaunches write the same addresses); cudaMalloc,
    // not the stream-ordered pool, so the allocation is not itself recorded
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, (size_t)std::max<int64_t>(nbytes, 1));
    if (e != cudaSuccess) {
      cudaGetLastError();
      fail("[memory] out of memory on cuda:", ordinal, " allocating ", nbytes, " bytes of scratch for a CUDA graph (", cudaGetErrorString(e), ")");
    }
    capture_scratch->push_back(p);
    return p;
  }
  int64_t cap = 0;
  void* p = owner->alloc(nbytes, &cap);
  scratch_blocks.emplace_back(p, cap);
  return p;
}

void check(cudaError_t e, const Command& c, const char* what) {
  if (e != cudaSuccess) {
    throw Error(std::string("[") + catalog_name(c.kernel) + "] " + what + ": CUDA error " + cudaGetErrorName(e) + ": " +
                cudaGetErrorString(e));
  }
}

namespace {
std::vector<std::string>& catalog() {
  static auto* c = new std::vector<std::string>();
  return *c;
}
}  // namespace
const char* catalog_name(int kernel) {
  return kernel >= 0 && kernel < (int)catalog().size() ? catalog()[kernel].c_str() : "cuda";
}

}  // namespace cuda

// kiln::kernel_name (command.h) lives in the core addon's command.cc, which this library does not
// link: here it names a command's kernel from the catalog the backend was created with.
const char* kernel_name(const Command& c) { return cuda::catalog_name(c.kernel); }

namespace cuda {

CudaBackend::CudaBackend(int kiln_device, int ordinal, const char* const* kernel_names, int n_kernels)
    : kiln_device_(kiln_device), ordinal_(ordinal) {
  cudaDeviceProp prop;
  cudaError_t e = cudaGetDeviceProperties(&prop, ordinal);
  if (e != cudaSuccess) fail("CUDA device ", ordinal, ": ", cudaGetErrorString(e));
  name_ = prop.name;
  arch_ = "sm_" + std::to_string(prop.major) + std::to_string(prop.minor);
  total_ = (int64_t)prop.totalGlobalMem;
  select();
  e = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
  if (e != cudaSuccess) fail("CUDA device ", ordinal, ": creating a stream: ", cudaGetErrorString(e));
  ctx_.device = kiln_device;
  ctx_.ordinal = ordinal;
  ctx_.stream = stream_;
  ctx_.sm_count = prop.multiProcessorCount;
  ctx_.cc_major = prop.major;
  ctx_.cc_minor = prop.minor;
  ctx_.smem_per_block_optin = (int64_t)prop.sharedMemPerBlockOptin;
  ctx_.owner = this;
  // the record captured index checks write into (zero-copy host memory: read after any wait)
  e = cudaHostAlloc(reinterpret_cast<void**>(&deferred_host_), sizeof(DeferredError), cudaHostAllocMapped);
  if (e == cudaSuccess) e = cudaHostGetDevicePointer(reinterpret_cast<void**>(&deferred_dev_), deferred_host_, 0);
  if (e != cudaSuccess) {
    cudaGetLastError();
    deferred_host_ = deferred_dev_ = nullptr;  // captured replays then skip index checks' records (kernels still drop bad indices)
  } else {
    std::memset(deferred_host_, 0, sizeof(DeferredError));
  }
  graphs_ = new ReplayGraphs(*this, ctx_);
  if (catalog().empty())
    for (int i = 0; i < n_kernels; i++) catalog().push_back(kernel_names[i]);
  by_id_.assign(n_kernels, nullptr);
  for (const CudaKernel& k : cuda_kernels())
    for (int i = 0; i < n_kernels; i++)
      if (std::strcmp(kernel_names[i], k.name) == 0) by_id_[i] = &k;
}

CudaBackend::~CudaBackend() {}

void CudaBackend::select() const { cudaSetDevice(ordinal_); }

std::string CudaBackend::label() const { return "cuda:" + std::to_string(ordinal_) + " (" + name_ + ")"; }

void CudaBackend::ensure_usable() const {
  if (!broken_.empty()) fail("[", label(), "] the device is unusable after an earlier error: ", broken_);
}

void CudaBackend::raise(cudaError_t e, const char* kernel, const char* what) {
  std::string msg = std::string("[") + kernel + "] " + what + " on " + label() + ": CUDA error " + cudaGetErrorName(e) +
                    ": " + cudaGetErrorString(e);
  cudaGetLastError();  // clear a non-sticky error so the device stays usable
  if (sticky(e)) broken_ = msg;
  throw Error(msg);
}

bool CudaBackend::supports(const Command& c) const {
  if (c.kernel < 0 || c.kernel >= (int)by_id_.size() || !by_id_[c.kernel]) return false;
  const CudaKernel* k = by_id_[c.kernel];
  return !k->supports || k->supports(c);
}

std::vector<std::string> CudaBackend::kernels() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < by_id_.size(); i++)
    if (by_id_[i]) out.push_back(catalog()[i]);
  return out;
}

void* CudaBackend::alloc(int64_t nbytes, int64_t* capacity) {
  ensure_usable();
  const int64_t cap = size_class(nbytes);
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = cache_.lower_bound(cap);
    // the block freed last among the best-fitting size (a stack: a call that repeats gets the
    // same addresses back, which keeps recorded CUDA graphs valid, and memory stays warm)
    if (it != cache_.end()) it = std::prev(cache_.upper_bound(it->first));
    if (it != cache_.end() && it->first <= cap + cap / 4) {
      void* p = it->second;
      *capacity = it->first;
      cached_ -= it->first;
      active_ += it->first;
      if (active_ > peak_) peak_ = active_;
      cache_.erase(it);
      return p;
    }
    if (limit_ > 0 && active_ + cap > limit_) {
      trim_locked(0);
      fail("[memory] allocating ", nbytes, " bytes on ", label(), " would exceed its memory limit of ", limit_,
           " bytes (", active_, " bytes active)");
    }
  }
  select();
  void* p = nullptr;
  cudaError_t e = cudaMallocAsync(&p, (size_t)cap, stream_);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    {
      std::lock_guard<std::mutex> g(mu_);
      trim_locked(0);
    }
    // blocks freed stream-ordered return to the pool once the stream reaches them
    cudaStreamSynchronize(stream_);
    cudaMemPool_t pool;
    if (cudaDeviceGetDefaultMemPool(&pool, ordinal_) == cudaSuccess) cudaMemPoolTrimTo(pool, 0);
    e = cudaMallocAsync(&p, (size_t)cap, stream_);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    std::lock_guard<std::mutex> g(mu_);
    fail("[memory] out of memory on ", label(), ": allocating ", nbytes, " bytes failed (", cudaGetErrorString(e), "; ",
         active_, " bytes active in kiln, ", (int64_t)free_b, " of ", (int64_t)total_b, " bytes free on the device",
         limit_ > 0 ? ", limit " : "", limit_ > 0 ? std::to_string(limit_) : std::string(), ")");
  }
  std::lock_guard<std::mutex> g(mu_);
  *capacity = cap;
  active_ += cap;
  if (active_ > peak_) peak_ = active_;
  return p;
}

void CudaBackend::release(void* p, int64_t capacity) {
  std::lock_guard<std::mutex> g(mu_);
  active_ -= capacity;
  const int64_t climit = cache_limit_ >= 0 ? cache_limit_ : (limit_ > 0 ? limit_ : total_ / 2);
  if (broken_.empty() && cached_ + capacity <= climit) {
    cache_.emplace(capacity, p);
    cached_ += capacity;
  } else {
    select();
    cudaFreeAsync(p, stream_);
  }
}

void CudaBackend::trim_locked(int64_t keep) {
  select();
  while (cached_ > keep && !cache_.empty()) {
    auto it = std::prev(cache_.end());
    cached_ -= it->first;
    cudaFreeAsync(it->second, stream_);
    cache_.erase(it);
  }
}

void CudaBackend::upload(void* dst, const void* src, int64_t nbytes) {
  ensure_usable();
  select();
  cudaError_t e = cudaMemcpyAsync(dst, src, (size_t)nbytes, cudaMemcpyHostToDevice, stream_);
  if (e != cudaSuccess) raise(e, "upload", "copying to the device");
}

void CudaBackend::download(void* dst, const void* src, int64_t nbytes) {
  ensure_usable();
  select();
  cudaError_t e = cudaMemcpyAsync(dst, src, (size_t)nbytes, cudaMemcpyDeviceToHost, stream_);
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream_);
  if (e != cudaSuccess) {
    std::string what = std::string("reading a result (the latest kernel queued was ") + last_kernel_ + ")";
    raise(e, "download", what.c_str());
  }
  raise_deferred();
}

void CudaBackend::raise_deferred() {
  volatile DeferredError* d = deferred_host_;
  if (!d || !d->set) return;
  const int op = d->op;
  const long long value = d->value, n = d->n;
  d->set = 0;
  fail("[", op == 1 ? "take" : "scatter", "] index ", value, " is out of bounds for an axis of size ", n, " (found on ", label(),
       " while replaying a compiled function: its results are not valid)");
}

bool CudaBackend::run_replay(uint64_t key, const std::vector<const Command*>& cmds) {
  ensure_usable();
  select();
  return graphs_->run(key, cmds);
}

void CudaBackend::run(const Command& c) {
  ensure_usable();
  select();
  const CudaKernel* k = by_id_.at(c.kernel);
  last_kernel_ = k->name;
  ctx_.scratch_blocks.clear();
  auto free_scratch = [&] {
    for (auto& [p, cap] : ctx_.scratch_blocks) release(p, cap);
    ctx_.scratch_blocks.clear();
  };
  try {
    k->run(c, ctx_);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) raise(e, k->name, "launch");
  } catch (...) {
    free_scratch();
    throw;
  }
  free_scratch();
}

void CudaBackend::synchronize() {
  ensure_usable();
  select();
  cudaError_t e = cudaStreamSynchronize(stream_);
  if (e != cudaSuccess) {
    std::string what = std::string("waiting for queued work (the latest kernel queued was ") + last_kernel_ + ")";
    raise(e, "synchronize", what.c_str());
  }
  raise_deferred();
}

void CudaBackend::program_registered(int64_t handle, const double* words, size_t n) {
  std::lock_guard<std::mutex> g(programs_mu);
  programs()[handle].assign(words, words + n);
}

void CudaBackend::program_released(int64_t handle) {
  std::lock_guard<std::mutex> g(programs_mu);
  programs().erase(handle);
}

DeviceMemoryStats CudaBackend::memory() {
  std::lock_guard<std::mutex> g(mu_);
  DeviceMemoryStats m;
  m.active = active_;
  m.peak = peak_;
  m.cache = cached_;
  m.limit = limit_;
  m.cache_limit = cache_limit_;
  m.total = total_;
  return m;
}

void CudaBackend::set_limit(int64_t bytes) {
  std::lock_guard<std::mutex> g(mu_);
  limit_ = bytes;
}
void CudaBackend::set_cache_limit(int64_t bytes) {
  std::lock_guard<std::mutex> g(mu_);
  cache_limit_ = bytes;
  trim_locked(bytes < 0 ? 0 : bytes);
}
void CudaBackend::reset_peak() {
  std::lock_guard<std::mutex> g(mu_);
  peak_ = active_;
}
void CudaBackend::clear_cache() {
  std::lock_guard<std::mutex> g(mu_);
  trim_locked(0);
}

}  // namespace cuda
}  // namespace kiln

extern "C" __attribute__((visibility("default"))) int kiln_create_device_backends(int abi, const char* const* kernel_names,
                                                                                  int n_kernels,
                                                                                  kiln::DeviceBackend** out, int max,
                                                                                  char* err, size_t errlen) {
  if (abi != kiln::kDeviceAbi) {
    std::snprintf(err, errlen, "kiln_cuda.so was built for device ABI %d, the core addon has %d: rebuild both", kiln::kDeviceAbi,
                  abi);
    return 0;
  }
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    std::snprintf(err, errlen, "CUDA backend unavailable: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    return 0;
  }
  if (n == 0) {
    std::snprintf(err, errlen, "CUDA backend unavailable: no CUDA GPU found");
    return 0;
  }
  int made = 0;
  try {
    for (int i = 0; i < n && made < max; i++) out[made++] = new kiln::cuda::CudaBackend(1 + i, i, kernel_names, n_kernels);
  } catch (const std::exception& ex) {
    std::snprintf(err, errlen, "CUDA backend unavailable: %s", ex.what());
    for (int i = 0; i < made; i++) delete out[i];
    return 0;
  }
  return made;
}
