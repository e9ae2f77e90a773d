// What a CUDA kernel sees of its device: the stream its work is queued on, the device's numbers,
// scratch memory for one command, and the library handles of the glue (cuBLASLt). Kernels are
// plain host functions that launch on ctx.stream and never synchronise.
#pragma once
#include <cuda_runtime.h>
#include <cstdint>
#include <utility>
#include <vector>
#include "../common/command.h"

namespace kiln {
namespace cuda {

class CudaBackend;

// An out-of-range index found by a kernel while no host wait was allowed (a captured replay):
// written on the device into host-mapped memory, raised by the next synchronize or download.
struct DeferredError {
  unsigned int set;  // 0 until the first error; the first kernel to set it writes the rest
  int op;            // 1 take, 2 scatter
  long long value;   // the bad index
  long long n;       // the axis size
};

struct Context {
  int device = 1;   // kiln's device number (Command::device, the index into Buffer::dev)
  int ordinal = 0;  // the CUDA device ordinal
  cudaStream_t stream = nullptr;
  int sm_count = 0, cc_major = 0, cc_minor = 0;
  int64_t smem_per_block_optin = 0;  // bytes of shared memory a block may opt into
  void* blas = nullptr;              // cuBLASLt state (cuda_blas.cc); null where not built
  CudaBackend* owner = nullptr;
  // Device memory valid until the current command is queued; freed stream-ordered after it, so
  // the kernels that use it still may. Throws like any allocation (naming the kernel).
  void* scratch(int64_t nbytes);
  std::vector<std::pair<void*, int64_t>> scratch_blocks;
  // While a replay is captured into a CUDA graph: scratch is allocated for the graph and kept
  // with it (relaunches reuse those addresses), and index checks record into `deferred`.
  std::vector<void*>* capture_scratch = nullptr;
  DeferredError* deferred = nullptr;  // device-visible pointer of the host-mapped record
};

// The device copy of an operand (the view's element offset applied).
template <typename T> inline T* dptr(const View& v, const Context& ctx) {
  return reinterpret_cast<T*>(v.device_data(ctx.device));
}

// The core's name for a kernel id (the catalog the backend was created with).
const char* catalog_name(int kernel);

// Turns a failed CUDA call into "[kernel] what: CUDA error <name>: <message>".
void check(cudaError_t e, const Command& c, const char* what);
// After a launch: a bad configuration is reported now, naming the kernel.
inline void check_launch(const Command& c, const char* what = "launch") { check(cudaGetLastError(), c, what); }

}  // namespace cuda
}  // namespace kiln
