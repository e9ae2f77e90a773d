#!/usr/bin/env bash
# Builds glue_emulate (README.md next to this file) into $1 (default /tmp/kz-glue).
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=${1:-/tmp/kz-glue}
mkdir -p "$out"
cuda_inc=${CUDA_INC:-$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")/include}
[ -f "$cuda_inc/cuda.h" ] || cuda_inc=/usr/local/cuda/include
cxx="g++ -std=c++17 -O1 -g"
# fused_nvrtc.cc exactly as the GPU build compiles it, against the real cuda.h and the stand-in nvrtc.h
$cxx -Wall -Wno-unused-function -Itools/fused_render/glue -I"$cuda_inc" -c backends/cuda/fused_nvrtc.cc -o "$out/fused_nvrtc.o"
$cxx -Itools/fused_render/glue -I"$cuda_inc" -c tools/fused_render/glue/fake_driver.cc -o "$out/fake_driver.o"
$cxx -I"$cuda_inc" -c tools/fused_render/glue/glue_emulate.cc -o "$out/glue_emulate.o"
$cxx -rdynamic -o "$out/glue_emulate" "$out/glue_emulate.o" "$out/fused_nvrtc.o" "$out/fake_driver.o" \
  backends/cuda/fused_codegen.cc backends/cuda/fused_prelude.cc backends/cpu/kernels/fused.cc backends/common/view.cc tools/fused_render/stubs.cc \
  -ldl -lpthread
echo "$out/glue_emulate"
