#!/usr/bin/env bash
# One command: make the data, fine-tune the shipped model with LoRA (examples/lora/config.yaml),
# test it, and compare greedy answers with and without the adapter on held-out test prompts.
# Run from anywhere: bash examples/lora/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
node examples/lora/make_data.mjs
node cli/kiln.mjs lora -c examples/lora/config.yaml --train --test
node -e "require('fs').readFileSync('examples/lora/data/test.jsonl','utf8').trim().split('\n').slice(0,3).forEach(l=>console.log(JSON.parse(l).messages[0].content))" |
  while IFS= read -r verse; do
    echo "== user: $verse"
    echo -n "base:    "; node cli/kiln.mjs generate --model examples/models/kjv-llama-5m -p "$verse" -m 48 2>/dev/null
    echo -n "adapter: "; node cli/kiln.mjs generate --model examples/models/kjv-llama-5m --adapter-path examples/lora/adapters -p "$verse" -m 48 2>/dev/null
  done
