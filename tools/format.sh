#!/usr/bin/env bash
# Formats the tree (TypeScript/JS/JSON with prettier, C/C++ with clang-format), or with --check
# lists what would change and fails. Configs: .prettierrc, .prettierignore, .clang-format.
# clang-format comes from the system (Debian: apt-get install clang-format).
set -uo pipefail
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = "--check" ] && check=1
if ! command -v clang-format >/dev/null; then
  echo "[format] clang-format not found (Debian: apt-get install -y clang-format)" >&2
  exit 2
fi
# our C/C++ only: sub-packages' node_modules (bench/llamacpp ships llama.cpp's sources) stay out
mapfile -d '' cxx < <(find backends tests bench -path '*/node_modules' -prune -o \( -name '*.cc' -o -name '*.h' -o -name '*.c' -o -name '*.cu' -o -name '*.cuh' \) -print0 | sort -z)
if [ "$check" = 1 ]; then
  npx prettier --check --log-level warn .
  js=$?
  bad=0
  for f in "${cxx[@]}"; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || { echo "[warn] $f"; bad=1; }
  done
  [ "$bad" = 1 ] && echo "[format] C/C++ files above differ from .clang-format (npm run format fixes them)"
  [ "$js" = 0 ] && [ "$bad" = 0 ] && echo "[format] all files are formatted"
  [ "$js" = 0 ] && [ "$bad" = 0 ]
  exit $?
fi
npx prettier --write --log-level warn . && clang-format -i "${cxx[@]}"
