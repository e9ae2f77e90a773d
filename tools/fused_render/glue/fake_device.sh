#!/usr/bin/env bash
# Builds a device library from the real CUDA backend (backends/cuda/backend.cc, fused_nvrtc.cc,
# fused_codegen.cc) over host stand-ins of the runtime, the driver and NVRTC (fake_runtime.cc,
# fake_driver.cc): the core loads it with KILN_CUDA_LIB as if it were kiln_cuda.so, so the whole
# path of a compiled function on a GPU (command parse, residency and the valid bits, uploads and
# downloads, the fused glue and its caches, the rendered kernels run as host C++) runs on a
# machine without a GPU. Only `fused` has a "GPU" kernel; every other command falls back to the
# CPU, moving data as on a real GPU. Usage (README.md):
#   tools/fused_render/glue/fake_device.sh [out dir]     # prints the library's path
#   KILN_CUDA_LIB=<path> KILN_DEVICE=gpu KILN_GPU_TESTS=1 npx vitest run tests/gpu/fused.test.ts
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
out=${1:-/tmp/kz-fake-device}
mkdir -p "$out"
cuda_inc=${CUDA_INC:-$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")/include}
[ -f "$cuda_inc/cuda.h" ] || cuda_inc=/usr/local/cuda/include
cxx="g++ -std=c++17 -O1 -g -fPIC -fvisibility=hidden -I$root/tools/fused_render/glue -I$cuda_inc"
objs=()
for f in backends/cuda/backend.cc backends/cuda/fused_nvrtc.cc backends/cuda/fused_codegen.cc backends/cuda/fused_prelude.cc backends/common/view.cc \
  tools/fused_render/glue/fake_runtime.cc; do
  o="$out/$(basename "$f" .cc).o"
  $cxx -Wall -Wno-unused-function -c "$f" -o "$o"
  objs+=("$o")
done
$cxx -DKZ_FAKE_RUNTIME -DKZ_SHIM_DIR_DEFAULT="\"$root/tools/fused_render\"" -c tools/fused_render/glue/fake_driver.cc \
  -o "$out/fake_driver.o"
g++ -shared -Wl,--no-undefined -o "$out/kiln_cuda_fake.so" "${objs[@]}" "$out/fake_driver.o" -ldl -lpthread
echo "$out/kiln_cuda_fake.so"
