// Host stand-ins for the CUDA runtime calls backends/cuda/backend.cc makes, so the real backend
// (allocator, transfers, dispatch) builds into a device library the core loads with
// KILN_CUDA_LIB (fake_device.sh): "device memory" is host memory of its own, filled with 0xA5 when
// allocated, so a result read from the wrong copy shows; copies are memcpy (the stream is
// synchronous); only the kernels linked in (the fused glue) run, everything else falls back to
// the CPU as on a GPU without that kernel.
#include <cuda_runtime.h>
#include <cstdlib>
#include <cstring>

namespace {
int sms() {
  const char* s = std::getenv("KZ_SMS");
  return s ? std::atoi(s) : 4;
}
}  // namespace

cudaError_t CUDARTAPI cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t CUDARTAPI cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof *p);
  std::strcpy(p->name, "host emulation of a GPU (tools/fused_render/glue)");
  p->major = 9;
  p->minor = 0;
  p->totalGlobalMem = (size_t)8 << 30;
  p->multiProcessorCount = sms();
  p->sharedMemPerBlockOptin = 227 * 1024;
  return cudaSuccess;
}
cudaError_t CUDARTAPI cudaSetDevice(int) { return cudaSuccess; }
cudaError_t CUDARTAPI cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int) {
  static int token;
  *s = reinterpret_cast<cudaStream_t>(&token);
  return cudaSuccess;
}
cudaError_t CUDARTAPI cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t CUDARTAPI cudaGetLastError(void) { return cudaSuccess; }
const char* CUDARTAPI cudaGetErrorName(cudaError_t e) { return e == cudaSuccess ? "cudaSuccess" : "cudaErrorFake"; }
const char* CUDARTAPI cudaGetErrorString(cudaError_t e) { return cudaGetErrorName(e); }
cudaError_t CUDARTAPI cudaMallocAsync(void** p, size_t n, cudaStream_t) {
  *p = std::malloc(n ? n : 1);
  if (!*p) return cudaErrorMemoryAllocation;
  std::memset(*p, 0xa5, n);
  return cudaSuccess;
}
cudaError_t CUDARTAPI cudaFreeAsync(void* p, cudaStream_t) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t CUDARTAPI cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind, cudaStream_t) {
  std::memcpy(dst, src, n);
  return cudaSuccess;
}
cudaError_t CUDARTAPI cudaMemGetInfo(size_t* f, size_t* t) {
  *f = *t = (size_t)8 << 30;
  return cudaSuccess;
}
cudaError_t CUDARTAPI cudaDeviceGetDefaultMemPool(cudaMemPool_t* pool, int) {
  *pool = nullptr;
  return cudaSuccess;
}
cudaError_t CUDARTAPI cudaMemPoolTrimTo(cudaMemPool_t, size_t) { return cudaSuccess; }
