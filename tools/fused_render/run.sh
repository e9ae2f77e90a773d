#!/usr/bin/env bash
# Dumps kn.compile programs, renders them to CUDA C and compile-checks the result (README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
node tools/fused_render/dump_programs.mjs "$out/programs.txt"
g++ -std=c++17 -O1 -Wall -Wextra -o "$out/render" tools/fused_render/render.cc backends/cuda/fused_codegen.cc
"$out/render" "$out/programs.txt" "$out/fused.cu"
nvcc -std=c++17 -O1 -arch=sm_90 -Werror all-warnings -c "$out/fused.cu" -o "$out/fused.o"
echo "fused_render: ok"
