#!/usr/bin/env bash
# The GPU benchmark of issue 13 in one go: kiln (bench/gpu/ops.mjs, from dist/) and PyTorch
# (bench/gpu/ops_torch.py) on the same GPU, joined into one table (bench/gpu/table.mjs).
#   bash bench/gpu/run.sh            # on the GPU machine, dist/ built (npx tsc -p tsconfig.json)
#   KILN_BENCH_DEVICE=cpu KILN_BENCH_SMALL=1 bash bench/gpu/run.sh   # quick check without a GPU
# Each step has a time limit (about 140 s in all), so a hung step never hangs the run; every row
# is written as soon as it is measured, so a step cut short keeps its finished rows.
# Logs (JSON lines, stderr) go to $OUT/kiln-gpu-bench when $OUT is set, else /tmp/kiln-gpu-bench.
set -u
cd "$(dirname "$0")/../.."
LOG="${OUT:-/tmp}/kiln-gpu-bench"
mkdir -p "$LOG"
exec 3>&2 # run.sh's own notes, while each step's stderr goes to its log
rm -f "$LOG"/probe.jsonl "$LOG"/kiln.jsonl "$LOG"/torch.jsonl

step() { # step NAME SECONDS CMD...: runs CMD under a time limit and says how it ended
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout -k 5 "$limit" "$@"
  local rc=$?
  local note=""
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && note=" (TIME LIMIT ${limit}s: later rows missing)"
  echo "[run.sh] $name: exit $rc after $((SECONDS - t0)) s$note" >&3
}

# 1. probe: each kiln row once under KILN_DEBUG=1, so fallbacks to the CPU show (also fills the NVRTC cache)
KILN_DEBUG=1 KILN_BENCH_PROBE=1 KILN_BENCH_OUT="$LOG/probe.jsonl" step "kiln probe" 30 node bench/gpu/ops.mjs 2>"$LOG/probe.stderr"
# 2. kiln timings
KILN_BENCH_OUT="$LOG/kiln.jsonl" step "kiln" 65 node bench/gpu/ops.mjs 2>"$LOG/kiln.stderr"
# 3. torch timings (skipped where python3 has no torch)
if python3 -c 'import torch' 2>/dev/null; then
  KILN_BENCH_OUT="$LOG/torch.jsonl" step "torch" 40 python3 bench/gpu/ops_torch.py 2>"$LOG/torch.stderr"
else
  echo "[run.sh] torch: not installed here, skipped" >&2
fi
for f in probe kiln torch; do
  [ -s "$LOG/$f.stderr" ] && grep -v '^@@kiln\|^\[eval\]\|^  [0-9]*: ' "$LOG/$f.stderr" | tail -n 5 | sed "s/^/[$f stderr] /" >&2
done
node bench/gpu/table.mjs "$LOG/kiln.jsonl" "$LOG/torch.jsonl" "$LOG/probe.stderr" | tee "$LOG/table.txt"
