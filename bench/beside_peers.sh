#!/usr/bin/env bash
# The speed bars in one run each: `icl bench` (training and inference at B, every CPU pipeline it can run, with its
# own FMA ceiling), then bench/peers/peers.py (JAX jit and PyTorch eager training at the same B) straight after, on
# the same machine; RUNS rounds. Prints one row per round and pipeline: prompts/s, % of the FP32 ceiling measured in
# that round, and the ratios to the peers of that round.
#
#   bash bench/beside_peers.sh                   # 3 rounds at B = 1024, pattern and fused
#   RUNS=5 B=16384 bash bench/beside_peers.sh
#   PYTHON=/tmp/peers-venv/bin/python ICL=.build/release/icl bash bench/beside_peers.sh
#
# Needs a python with jax and/or torch (bench/peers/requirements.txt); a framework it lacks is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
B=${B:-1024}
ICL=${ICL:-.build/release/icl}
PYTHON=${PYTHON:-python3}
PIPELINES=${PIPELINES:-pattern,fused}
[ -x "$ICL" ] || { echo "beside_peers: no icl at $ICL; run 'swift build -c release' or set ICL=PATH." >&2; exit 2; }
frameworks=()
for f in jax torch; do "$PYTHON" -c "import $f" 2>/dev/null && frameworks+=("$f"); done
[ ${#frameworks[@]} -gt 0 ] || { echo "beside_peers: $PYTHON has neither jax nor torch; install bench/peers/requirements.txt or set PYTHON=." >&2; exit 2; }
fw=$(IFS=,; echo "${frameworks[*]}")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$ICL" devices | head -1
for r in $(seq 1 "$RUNS"); do
  "$ICL" bench --batch "$B" --pipelines "$PIPELINES" --no-reference --prune-rates 0 --kernel-batch 0 --json > "$out/icl-$r.jsonl" 2>/dev/null
  "$PYTHON" bench/peers/peers.py --frameworks "$fw" --batch "$B" --what train --json > "$out/peers-$r.jsonl" 2>/dev/null
done
"$PYTHON" - "$out" "$RUNS" <<'EOF'
import json, sys, os
out, runs = sys.argv[1], int(sys.argv[2])
print(f"{'run':>3} {'what':5} {'pipeline':8} {'B':>6} {'icl prompts/s':>14} {'% ceiling':>9} {'ceiling GFLOP/s':>15} "
      f"{'JAX jit':>10} {'÷ JAX':>6} {'PyTorch':>10} {'÷ PyTorch':>9}")
for r in range(1, runs + 1):
    rows = [json.loads(x) for x in open(os.path.join(out, f"icl-{r}.jsonl")) if x.strip()]
    peers = {p["framework"]: p["prompts_per_s"] for p in (json.loads(x) for x in open(os.path.join(out, f"peers-{r}.jsonl")) if x.strip())}
    ceiling = next(x["peak_gflops"] for x in rows if x["what"] == "ceiling")
    for x in rows:
        if x["what"] not in ("train", "infer"):
            continue
        jax, torch = peers.get("jax"), peers.get("torch")
        ratio = lambda p: f"{x['prompts_per_s'] / p:.1f}×" if p and x["what"] == "train" else ""
        fmt = lambda p: f"{p:.3g}" if p and x["what"] == "train" else ""
        print(f"{r:>3} {x['what']:5} {x['pipeline']:8} {x['B']:>6} {x['prompts_per_s']:>14.4g} {x['pct_peak_flops']:>9.1f} "
              f"{ceiling:>15.1f} {fmt(jax):>10} {ratio(jax):>6} {fmt(torch):>10} {ratio(torch):>9}")
EOF
