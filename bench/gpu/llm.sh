#!/usr/bin/env bash
# The GPU LLM benchmark of issue 14 in one go: kiln (bench/gpu/llm.mjs, from dist/) and PyTorch
# (bench/gpu/llm_torch.py: HF eager generate, compiled static-cache decode, SDPA prefill) on the
# same GPU, one config at a time, joined into one markdown table (bench/gpu/llm_table.mjs).
#   CONFIGS=llama-3.2-1b,llama-2-7b,llama-2-13b bash bench/gpu/llm.sh   # default CONFIGS=llama-3.2-1b
# Env: CONFIGS (names in models/configs/ or config.json paths), PROMPT (512), GEN (128),
#      PREFILL_LONG (2048), KILN_EAGER=1 (also kiln with KILN_DECODE_GRAPH=0, a column of its own),
#      LLM_LIMIT (seconds per step, default 300), LLM_KILN_ARGS / LLM_TORCH_ARGS (extra flags, e.g.
#      LLM_TORCH_ARGS="--compiled own" or "--tuning"), LLM_SKIP_BUILD=1 (no build: by default a GPU machine
#      without build/Release/kiln_cuda.so builds it first with scripts/gpu/test.sh build).
# Each step (one side, one config) runs under its own time limit, so a hung or crashed step keeps
# the others' rows. Logs: ${OUT:-build/gpu-logs}/llm/{kiln,kiln-eager,torch}.out (JSON lines),
# *.stderr, table.md. Needs dist/ (npx tsc -p tsconfig.json); on the GPU machine without node on
# PATH it sources .device/setup.sh.
set -u
cd "$(dirname "$0")/../.."
if ! command -v node >/dev/null 2>&1 && [ -f .device/setup.sh ]; then
  # shellcheck disable=SC1091
  source .device/setup.sh >/dev/null
fi
LOG="${OUT:-build/gpu-logs}/llm"
mkdir -p "$LOG"
rm -f "$LOG"/kiln.out "$LOG"/kiln-eager.out "$LOG"/torch.out "$LOG"/*.stderr "$LOG"/table.md
CONFIGS=${CONFIGS:-llama-3.2-1b}
P=${PROMPT:-512}
G=${GEN:-128}
LONG=${PREFILL_LONG:-2048}
LIMIT=${LLM_LIMIT:-300}

step() { # step NAME OUTFILE ERRFILE CMD...: runs CMD under the time limit, appending its output
  local name=$1 out=$2 err=$3
  shift 3
  local t0=$SECONDS
  timeout -k 5 "$LIMIT" "$@" >>"$out" 2>>"$err"
  local rc=$?
  local note=""
  { [ $rc -eq 124 ] || [ $rc -eq 137 ]; } && note=" (TIME LIMIT ${LIMIT}s)"
  echo "[llm.sh] $name: exit $rc after $((SECONDS - t0)) s$note" >&2
  [ $rc -ne 0 ] && tail -n 5 "$err" | sed "s/^/[$name stderr] /" >&2
  return 0
}

# builds only on a machine with a GPU (never the shared build on a development machine without one)
if [ ! -f build/Release/kiln_cuda.so ] && [ "${LLM_SKIP_BUILD:-0}" != 1 ] && nvidia-smi -L >/dev/null 2>&1; then
  echo "[llm.sh] build/Release/kiln_cuda.so missing: building (scripts/gpu/test.sh build)" >&2
  bash scripts/gpu/test.sh build >/dev/null 2>&1 || echo "[llm.sh] build failed: see ${OUT:-build/gpu-logs}/build.log" >&2
fi
have_torch=1
python3 -c 'import torch, transformers' 2>/dev/null || {
  have_torch=0
  echo "[llm.sh] torch: python3 has no torch + transformers here, skipped" >&2
}

# shellcheck disable=SC2086 # the extra flags are words on purpose
for c in ${CONFIGS//,/ }; do
  step "kiln $c" "$LOG/kiln.out" "$LOG/kiln.stderr" node bench/gpu/llm.mjs --configs "$c" -p "$P" -g "$G" --prefill-long "$LONG" ${LLM_KILN_ARGS:-}
  if [ "${KILN_EAGER:-0}" = 1 ]; then
    step "kiln eager $c" "$LOG/kiln-eager.out" "$LOG/kiln-eager.stderr" node bench/gpu/llm.mjs --eager --configs "$c" -p "$P" -g "$G" --prefill-long 0 ${LLM_KILN_ARGS:-}
  fi
  if [ $have_torch = 1 ]; then
    step "torch $c" "$LOG/torch.out" "$LOG/torch.stderr" python3 bench/gpu/llm_torch.py --configs "$c" --prompt "$P" --gen "$G" --prefill-long "$LONG" ${LLM_TORCH_ARGS:-}
  fi
done
node bench/gpu/llm_table.mjs "$LOG" | tee "$LOG/table.md"
