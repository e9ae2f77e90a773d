#!/usr/bin/env bash
# The GPU test run (npm run test:gpu), made for one call on the GPU machine:
#   1. builds the core addon and kiln_cuda.so (cmake-js compile, CUDA on),
#   2. checks that the addon finds a GPU (fails loudly with the CUDA backend's reason otherwise),
#   3. runs the CPU suites with KILN_DEVICE=gpu (conformance, grad, nn, compile, random, io) and
#      tests/gpu (mixed devices, GPU memory, errors; excluded from npm test),
#   4. writes each suite's log to $OUT (else build/gpu-logs) and prints one summary line per suite.
# Usage: bash scripts/gpu/test.sh [suite ...]   suites: build conformance grad nn compile random io gpu
#   (default: all), or any tests/<path> (run with KILN_DEVICE=gpu). KILN_GPU_SKIP_BUILD=1 skips the build; KILN_GPU_SUITE_TIMEOUT (s, default 420)
#   bounds each suite. Exit status: 0 when every suite passed.
# On the GPU machine there is no npm/npx: `source .device/setup.sh` (../shared/device/README.md)
# puts node and node_modules/.bin on PATH; this script sources it when node is missing.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
if ! command -v node >/dev/null 2>&1 && [ -f .device/setup.sh ]; then
  # shellcheck disable=SC1091
  source .device/setup.sh
fi
export PATH="$root/node_modules/.bin:$PATH"
export NO_COLOR=1
# Makefile builds in parallel too (Ninja is parallel anyway)
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 8)}
logs=${OUT:-$root/build/gpu-logs}
mkdir -p "$logs"
suite_timeout=${KILN_GPU_SUITE_TIMEOUT:-420}

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(build conformance grad nn compile random io gpu)
for s in "${suites[@]}"; do
  case $s in
    build | conformance | grad | nn | compile | io | random | gpu | tests/*) ;;
    *)
      echo "unknown suite '$s' (expected build conformance grad nn compile random io gpu, or tests/<path>)" >&2
      exit 2
      ;;
  esac
done
summary=()
failed=0

# each line also goes to summary.txt at once: a call cut off by its time limit still brings it back
: >"$logs/summary.txt"
note() {
  local line
  line=$(printf '%-12s %s' "$1" "$2")
  summary+=("$line")
  echo "$line" >>"$logs/summary.txt"
  echo "   $line"
}

# vitest's "Test Files" and "Tests" lines, folded into one
vitest_summary() {
  local log=$1 files tests
  files=$(grep -E '^ *Test Files ' "$log" | tail -1 | sed -E 's/^ *Test Files +//')
  tests=$(grep -E '^ *Tests ' "$log" | tail -1 | sed -E 's/^ *Tests +//')
  echo "files: ${files:-?} | tests: ${tests:-?}"
}

run_vitest() {
  local name=$1
  shift
  local log="$logs/$name.log" t0=$SECONDS rc
  echo "== $name: $* ($(date -u +%H:%M:%S))"
  timeout "$suite_timeout" "$@" >"$log" 2>&1
  rc=$?
  local s
  s="$(vitest_summary "$log") | ${SECONDS}s total, $((SECONDS - t0))s"
  if [ $rc -eq 0 ]; then
    note "$name" "PASS $s"
  else
    failed=1
    [ $rc -eq 124 ] && s="$s | TIMED OUT after ${suite_timeout}s"
    note "$name" "FAIL (exit $rc) $s"
    # the failures, so a one-call run shows what broke without fetching the log
    grep -E '^ *(FAIL|×) ' "$log" | head -20 | sed 's/^/    /'
  fi
}

check_gpu() {
  node -e '
    const a = require(process.argv[1]);
    if (typeof a.devices !== "function") { console.error("the addon has no devices(): rebuild it"); process.exit(2); }
    const r = a.devices();
    if (!r.devices.length) { console.error("NO GPU: CUDA backend unavailable: " + r.unavailable); process.exit(3); }
    for (const d of r.devices) console.log(`device ${d.index}: ${d.backend} ${d.name} ${d.arch} ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB, ${d.kernels.length} native kernels: ${d.kernels.join(" ")}`);
  ' "$root/build/Release/kiln_cpu.node" 2>&1 | tee "$logs/devices.log"
  return "${PIPESTATUS[0]}"
}

# once, before the first test suite: a run without a GPU must not pass as a CPU run
checked=0
ensure_gpu() {
  [ $checked = 1 ] && return 0
  checked=1
  if check_gpu; then
    note devices "PASS $(grep -c '^device ' "$logs/devices.log") GPU(s): $(grep '^device ' "$logs/devices.log" | head -1 | cut -d, -f1)"
    return 0
  fi
  note devices "FAIL: the addon lists no GPU ($(tail -1 "$logs/devices.log"))"
  failed=1
  return 1
}

for s in "${suites[@]}"; do
  case $s in
    build)
      if [ "${KILN_GPU_SKIP_BUILD:-0}" = 1 ]; then
        note build "skipped (KILN_GPU_SKIP_BUILD=1)"
        continue
      fi
      echo "== build: cmake-js compile --CDKILN_CUDA=ON ($(date -u +%H:%M:%S))"
      t0=$SECONDS
      if cmake-js compile --CDKILN_CUDA=ON >"$logs/build.log" 2>&1 && [ -f build/Release/kiln_cuda.so ]; then
        note build "PASS kiln_cpu.node + kiln_cuda.so in $((SECONDS - t0))s"
      else
        tail -40 "$logs/build.log"
        [ -f build/Release/kiln_cuda.so ] || echo "build/Release/kiln_cuda.so was not built (is the CUDA toolkit with cuBLASLt, cuSOLVER and NVRTC found? see $logs/build.log)"
        note build "FAIL after $((SECONDS - t0))s (log: $logs/build.log)"
        failed=1
        break
      fi
      ;;
    conformance | grad | nn | compile | io | random | gpu | tests/*)
      ensure_gpu || break
      ;;&
    tests/*)
      # any other test file or folder, against the GPU
      KILN_DEVICE=gpu run_vitest "$(echo "${s#tests/}" | tr '/' '_')" vitest run --no-color "$s"
      ;;
    conformance | grad | nn | compile | io)
      KILN_DEVICE=gpu run_vitest "$s" vitest run --no-color "tests/$s"
      ;;
    random)
      KILN_DEVICE=gpu run_vitest random vitest run --no-color tests/random.test.ts
      ;;
    gpu)
      KILN_GPU_TESTS=1 run_vitest gpu vitest run --no-color tests/gpu
      ;;
  esac
done

echo
echo "== GPU test summary (logs in $logs)"
printf '%s\n' "${summary[@]}"
exit $failed
