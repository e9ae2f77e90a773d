// The CUDA kernel table: each kernel file registers its families by catalog name with
// KILN_CUDA_KERNEL(name, supports, run). `supports` sees the parsed, validated command (dtypes,
// params, layouts) and says whether the GPU runs it; the core runs every other command on the CPU.
#pragma once
#include <vector>
#include "context.h"

namespace kiln {
namespace cuda {

struct CudaKernel {
  const char* name;                          // the catalog name (backends/cpu/catalog.cc)
  bool (*supports)(const Command&);          // null: every command of this kernel
  void (*run)(const Command&, Context&);     // queues the work on ctx.stream
};

std::vector<CudaKernel>& cuda_kernels();

struct CudaKernelRegistrar {
  explicit CudaKernelRegistrar(const CudaKernel& k) { cuda_kernels().push_back(k); }
};

#define KILN_CUDA_CONCAT2(a, b) a##b
#define KILN_CUDA_CONCAT(a, b) KILN_CUDA_CONCAT2(a, b)
#define KILN_CUDA_KERNEL(name, supports, run) \
  static ::kiln::cuda::CudaKernelRegistrar KILN_CUDA_CONCAT(kiln_cuda_kernel_, __LINE__)({name, supports, run})

}  // namespace cuda
}  // namespace kiln
