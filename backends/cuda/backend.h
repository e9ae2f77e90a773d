// One CUDA device as a kiln DeviceBackend: a stream, a caching allocator on cudaMallocAsync with
// size classes, transfers, and dispatch of commands to the registered kernels (registry.h).
#pragma once
#include <map>
#include <mutex>
#include <string>
#include <vector>
#include "../common/device.h"
#include "context.h"
#include "registry.h"
#include "replay_graphs.h"

namespace kiln {
namespace cuda {

class CudaBackend final : public DeviceBackend {
 public:
  CudaBackend(int kiln_device, int ordinal, const char* const* kernel_names, int n_kernels);
  ~CudaBackend() override;
  const char* backend() const override { return "cuda"; }
  std::string name() const override { return name_; }
  std::string arch() const override { return arch_; }
  int ordinal() const override { return ordinal_; }
  int64_t total_memory() const override { return total_; }
  bool supports(const Command& c) const override;
  std::vector<std::string> kernels() const override;
  void* alloc(int64_t nbytes, int64_t* capacity) override;
  void release(void* p, int64_t capacity) override;
  void upload(void* dst, const void* src, int64_t nbytes) override;
  void download(void* dst, const void* src, int64_t nbytes) override;
  void run(const Command& c) override;
  void synchronize() override;
  bool run_replay(uint64_t key, const std::vector<const Command*>& cmds) override;
  void program_registered(int64_t handle, const double* words, size_t n) override;
  void program_released(int64_t handle) override;
  DeviceMemoryStats memory() override;
  void set_limit(int64_t bytes) override;
  void set_cache_limit(int64_t bytes) override;
  void reset_peak() override;
  void clear_cache() override;

  // "cuda:0 (NVIDIA H100 80GB HBM3)": how errors name this device
  std::string label() const;
  // Throws when an earlier error left the CUDA context unusable.
  void ensure_usable() const;
  // Raises a failed CUDA call as a JS-facing error; a sticky error also marks the device unusable.
  [[noreturn]] void raise(cudaError_t e, const char* kernel, const char* what);
  // The device-visible address of the record where captured index checks report (context.h).
  DeferredError* deferred_record() const { return deferred_dev_; }

 private:
  void select() const;  // makes this device current on the calling thread
  void trim_locked(int64_t keep);
  // After a wait: raises an index error a captured replay recorded (and clears it).
  void raise_deferred();
  int kiln_device_, ordinal_;
  std::string name_, arch_;
  int64_t total_ = 0;
  cudaStream_t stream_ = nullptr;
  Context ctx_;
  std::vector<const CudaKernel*> by_id_;  // catalog id -> kernel (null: runs on the CPU)
  const char* last_kernel_ = "none";      // the latest kernel queued (named in asynchronous errors)
  std::string broken_;                    // set by a sticky error: every later call fails with it
  std::mutex mu_;
  std::multimap<int64_t, void*> cache_;  // capacity -> block
  int64_t active_ = 0, peak_ = 0, cached_ = 0, limit_ = 0, cache_limit_ = -1;
  DeferredError* deferred_host_ = nullptr;  // host-mapped (pinned) memory
  DeferredError* deferred_dev_ = nullptr;
  ReplayGraphs* graphs_ = nullptr;  // never destroyed (backends live as long as the process)
};

// Fused programs registered with the core (kn.compile), as words (backends/cpu/kernels/fused.h).
// Null when the handle is unknown.
const std::vector<double>* program_words(int64_t handle);

}  // namespace cuda
}  // namespace kiln
