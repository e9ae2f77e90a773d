#!/usr/bin/env bash
# Runs backends/cuda/kernels/gemv.cu (the decode matmul) as host C++ without a GPU: shim.h makes a
# block 256 std::threads (barriers for __syncthreads, a per-warp exchange for __shfl_xor_sync),
# kernel launches become host loops over the grid, and main.cc calls the real gemv_matmul on
# constructed commands (vector and scalar loads, warps sharing rows, split-K, strides, offsets,
# batch dims, the cases it must decline) against a double reference: integer inputs exactly,
# fractional within the rounding. About 5 minutes on 2 busy cores. Last line: "N cases, 0 failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/gemv-emu}
mkdir -p "$out"
cuda_inc=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")/include
[ -f "$cuda_inc/cuda_runtime.h" ] || cuda_inc=/usr/local/cuda/include
# the conversions of elementwise.cuh alone (the rest of it launches kernels)
{
  echo '#pragma once'
  echo '#include "common.cuh"'
  echo 'namespace kiln { namespace cuda {'
  sed -n '/^__device__ __forceinline__ float d_half_to_float/,/^\/\/ double -> float rounded to odd/p' backends/cuda/kernels/elementwise.cuh
  echo '}}'
} >"$out/emu_conv.h"
sed -e 's/\([A-Za-z_]*\)<<<\(.*\), \([^,]*\), 0, ctx.stream>>>(\(.*\));/emu_launch([\&] { \1(\4); }, dim3(\2), \3);/' \
  -e 's/#include "elementwise.cuh"/#include "emu_conv.h"/' backends/cuda/kernels/gemv.cu >"$out/gemv_emu.cu"
[ "$(grep -c emu_launch "$out/gemv_emu.cu")" = 2 ] || { echo "gemv_emu: the launches of gemv.cu changed: update the sed"; exit 1; }
g++ -std=c++17 -O1 -g -Wno-attributes -include tools/gemv_emu/shim.h -I "$out" -I backends/cuda/kernels -I "$cuda_inc" \
  -x c++ "$out/gemv_emu.cu" tools/gemv_emu/main.cc -o "$out/emu" -lpthread
"$out/emu"
