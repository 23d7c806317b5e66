#!/usr/bin/env bash
# The README's scaling table: training and inference prompts/s at B = 1024 as l, d and m grow
# (one `icl bench` run per row, pattern-space and dense fused pipelines). Usage: bash bench/scaling.sh [icl]
set -euo pipefail
icl=${1:-.build/release/icl}
row() {  # label, then --set arguments
  local label=$1; shift
  "$icl" bench --batch 1024 --kernel-batch 0 --pipelines pattern,fused --no-reference --json "$@" |
    python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
get = lambda what, p: next(r["prompts_per_s"] for r in rows if r.get("what") == what and r.get("pipeline") == p)
print("| %s | %.2e | %.2e | %.2e | %.2e |" % (sys.argv[1], get("train", "pattern"), get("train", "fused"),
      get("infer", "pattern"), get("infer", "fused")))' "$label"
}
echo "| config (B = 1024) | train pattern | train fused | infer pattern | infer fused |"
echo "|---|---|---|---|---|"
for l in 10 20 50 100 200; do row "l=$l, d=40, m=64" --set lTrain=$l; done
for d in 128 256; do row "l=20, d=$d, m=64" --set dX=$((d - 10)); done
for m in 256 1024; do row "l=20, d=40, m=$m" --set m=$m; done
