#!/usr/bin/env bash
# Dumps kn.compile programs, renders them to CUDA C, compile-checks the result with nvcc (when
# present) and runs every kernel on the host against the CPU interpreter (README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cxx="g++ -std=c++17 -O1"
node tools/fused_render/dump_programs.mjs "$out/programs.txt"
$cxx -Wall -Wextra -o "$out/render" tools/fused_render/render.cc backends/cuda/fused_codegen.cc backends/cuda/fused_prelude.cc
"$out/render" "$out/programs.txt" "$out/fused.cu"
if command -v nvcc >/dev/null; then
  nvcc -std=c++17 -O1 -arch=sm_90 -Werror all-warnings -c "$out/fused.cu" -o "$out/fused.o"
  echo "fused_render: nvcc ok"
else
  echo "fused_render: nvcc not found, compile check skipped"
fi
cp "$out/fused.cu" "$out/kernels.cc"
$cxx -ffp-contract=off -w -DKZ_HOST_EMULATION -include tools/fused_render/host_shim.h -c "$out/kernels.cc" -o "$out/kernels.o"
$cxx -o "$out/emulate" tools/fused_render/emulate.cc tools/fused_render/stubs.cc backends/cpu/kernels/fused.cc \
  backends/common/view.cc backends/cuda/fused_codegen.cc backends/cuda/fused_prelude.cc "$out/kernels.o" -lpthread
for isa in portable avx2; do KILN_ISA=$isa "$out/emulate" "$out/programs.txt"; done
# the whole GPU path (core residency, the real backend and glue, caches, launches) over host
# stand-ins of the runtime, driver and NVRTC (glue/README.md); FUSED_RENDER_GLUE=0 skips it
if [ "${FUSED_RENDER_GLUE:-1}" != 0 ]; then
  lib=$(tools/fused_render/glue/fake_device.sh "$out/fake-device" | tail -1)
  KILN_CUDA_LIB=$lib KILN_DEVICE=gpu KILN_GPU_TESTS=1 KZ_TMP="$out" npx vitest run --no-color tests/gpu/fused.test.ts >"$out/glue.log" 2>&1 ||
    { tail -40 "$out/glue.log"; exit 1; }
  echo "fused_render: tests/gpu/fused.test.ts passes on the host-emulated GPU ($(grep -E '^ +Tests ' "$out/glue.log" | tr -s ' '))"
fi
echo "fused_render: ok"
