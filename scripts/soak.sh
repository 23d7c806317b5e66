#!/usr/bin/env bash
# Soak run (documented manual run, not a test): 10^6 training steps at a small size, a checkpoint every
# 10^4 steps, sampling the process's resident memory and open file descriptors as it goes.
# Usage: bash scripts/soak.sh [steps] [out-dir]. Prints a line per sample and a start/end summary.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-1000000}
out=${2:-runs/soak-$(date +%Y%m%d-%H%M%S)}
icl=.build/release/icl
[ -x "$icl" ] || swift build -c release --product icl
"$icl" train --out "$out" --set steps="$steps" --set batch=16 --set lTrain=5 --set lTest=5 --set m=16 \
  --set checkpointEvery=10000 --set evalEvery=100000 --set evalPrompts=1000 --set logEvery=1000 --quiet \
  > "$out.stdout" 2> "$out.stderr" &
pid=$!
first=""
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || true)
  fds=$(ls /proc/$pid/fd 2>/dev/null | wc -l || true)
  step=$(tail -n 1 "$out/metrics.jsonl" 2>/dev/null | sed -E 's/.*"step":([0-9]+).*/\1/' || true)
  if [ -n "$rss" ]; then
    line="t=$(date +%s) step=${step:-0} rss_kib=$rss fds=$fds"
    echo "$line"
    [ -n "$first" ] || [ "${step:-0}" = 0 ] || first=$line   # the first sample once training runs
    last=$line
  fi
  sleep 10
done
wait "$pid"; status=$?
echo "exit status: $status"
echo "first sample after start-up: $first"
echo "last sample:  $last"
tail -n 3 "$out.stdout"
