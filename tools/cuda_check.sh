#!/usr/bin/env bash
# Compile-checks the CUDA kernels with nvcc alone (no link, no cuBLAS/NVRTC needed): what CI can do
# on a machine with nvcc and the runtime headers. Usage: tools/cuda_check.sh [file.cu ...]
# (default: every backends/cuda/kernels/*.cu), two files at a time (CUDA_CHECK_JOBS). Exit status:
# non-zero when any file fails.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvcc >/dev/null; then
  echo "cuda_check: nvcc not found, skipped"
  exit 0
fi
files=("$@")
if [ ${#files[@]} -eq 0 ]; then files=(backends/cuda/kernels/*.cu); fi
[ -e "${files[0]}" ] || { echo "cuda_check: no CUDA kernel files"; exit 0; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export out
check_one() {
  # -O0 everywhere: a check of the sources, not of the code generated (half the time of -O1)
  if nvcc -std=c++17 -O0 -Xcicc -O0 -Xptxas -O0 --expt-relaxed-constexpr -arch=sm_90 -Xcompiler=-fPIC \
    -Xcompiler=-Wall -c "$1" -o "$out/$(basename "$1").o" >"$out/$(basename "$1").log" 2>&1; then
    echo "cuda_check: ok $1"
  else
    echo "cuda_check: FAILED $1"
    cat "$out/$(basename "$1").log"
    return 1
  fi
}
export -f check_one
printf '%s\n' "${files[@]}" | xargs -P "${CUDA_CHECK_JOBS:-2}" -I{} bash -c 'check_one "$@"' _ {}
