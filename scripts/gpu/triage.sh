#!/usr/bin/env bash
# A broad first look on the GPU machine in one call: build, the smoke table (scripts/gpu/smoke.mjs),
# then every conformance file and every tests/gpu file (or TRIAGE_GLOBS), six at a time (TRIAGE_JOBS), each bounded by a timeout,
# so a slow or crashing file cannot hide the others. Logs: $OUT/triage.log (all files), $OUT/smoke.txt.
# Needs dist/ (carry it). Usage: bash scripts/gpu/triage.sh [per-file timeout s, default 150]
set -uo pipefail
cd "$(dirname "$0")/../.."
[ -f .device/setup.sh ] && source .device/setup.sh >/dev/null
out=${OUT:-build/gpu-logs}
mkdir -p "$out/parts"
per=${1:-150}
if [ "${KILN_GPU_SKIP_BUILD:-0}" != 1 ]; then
  bash scripts/gpu/test.sh build >/dev/null 2>&1
  tail -1 "$out/summary.txt"
  [ -f build/Release/kiln_cuda.so ] || { grep -E "error" "$out/build.log" | head -40; exit 1; }
fi
node scripts/gpu/smoke.mjs 2>&1 | tee "$out/smoke.txt"
export per out
# TRIAGE_GLOBS: which test files (default: conformance and tests/gpu)
ls ${TRIAGE_GLOBS:-tests/conformance/*.test.ts tests/gpu/*.test.ts} | xargs -P "${TRIAGE_JOBS:-6}" -I{} bash -c '
  f={}; log="$out/parts/$(echo "$f" | tr "/" "_").log"
  KILN_DEVICE=gpu KILN_GPU_TESTS=1 timeout "$per" vitest run --no-color "$f" >"$log" 2>&1
  rc=$?
  echo "$f rc=$rc $(grep -E "^ *Tests " "$log" | tail -1)"'
cat "$out"/parts/*.log >"$out/triage.log"
rm -rf "$out/parts"
