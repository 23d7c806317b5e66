#!/usr/bin/env bash
# Alternating A/B of builds by PoCL's event trace: runs bench/trace_steps.sh on each icl binary in turn, ROUNDS
# times, and prints per binary the median over rounds of each kernel's median run time and of the step period, with
# every round's value (a VM's slow phases show as outlying rounds, which the median mostly ignores).
#   bash bench/trace_ab.sh ROUNDS STEPS ICL_A ICL_B ...          e.g. 4 3000 old/icl .build/release/icl
#   BATCH=256 LR=1 bash bench/trace_ab.sh 4 3000 A B             (the quick start's steps; env as trace_steps.sh)
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: bash bench/trace_ab.sh ROUNDS STEPS ICL_A [ICL_B ...]" >&2; exit 2; }
rounds=$1 steps=$2
shift 2
here=$(dirname "$0")
for r in $(seq 1 "$rounds"); do
  for b in "$@"; do
    bash "$here/trace_steps.sh" "$b" "$steps" | B="$b" python3 -c '
import os, re, sys
for line in sys.stdin:
    m = re.match(r"^(\w+)\s+(\d+)\s+([\d.]+)$", line.strip())
    if m and int(m.group(2)) > 100 and m.group(1) not in ("read_buffer", "write_buffer"):
        print(os.environ["B"], m.group(1), m.group(3))
    m = re.match(r"^step period.*median ([\d.]+)", line)
    if m:
        print(os.environ["B"], "step-period", m.group(1))'
  done
done | python3 -c '
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in sys.stdin:
    b, k, v = line.split()
    rows[(k, b)].append(float(v))
for (k, b), v in sorted(rows.items()):
    print("%-26s %-40s median %7.1f µs   rounds %s" % (k, b[-40:], statistics.median(v), " ".join("%.1f" % x for x in v)))'
