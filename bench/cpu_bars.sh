#!/usr/bin/env bash
# Issue 16's speed bars on the machine at hand, in one command: the quick start's SGD-step rate against a reference
# build (default f30e69b, the build the issue was filed against), alternating round by round, then bench/beside_peers.sh
# (icl bench beside JAX jit and PyTorch eager, B = 1024). Prints every round and one line per bar: the median over
# the rounds, the bar, and whether the median meets it. Say which machine the figures come from (printed first).
#
#   PYTHON=/path/to/venv/bin/python bash bench/cpu_bars.sh
#   QS_ROUNDS=10 RUNS=4 REF=f30e69b PYTHON=... bash bench/cpu_bars.sh
#   POCL_KERNELLIB_NAME=avx2 PYTHON=... bash bench/cpu_bars.sh     # an AVX-512 CPU running PoCL's haswell build
#
# The reference is built once with `swift build -c release` in a git worktree under .build/ref-<rev> (minutes).
# Needs the peers' python (bench/peers/requirements.txt), as beside_peers.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${REF:-f30e69b}
QS_ROUNDS=${QS_ROUNDS:-6}
ICL=${ICL:-.build/release/icl}
[ -x "$ICL" ] || { echo "cpu_bars: no icl at $ICL; run 'swift build -c release --product icl' or set ICL=PATH." >&2; exit 2; }
[[ "$QS_ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "cpu_bars: QS_ROUNDS must be a positive integer, not '$QS_ROUNDS'." >&2; exit 2; }
rev=$(git rev-parse --short "$REF^{commit}" 2>/dev/null) \
  || { echo "cpu_bars: REF '$REF' is not a commit of this repository; pass REF=<commit>." >&2; exit 2; }
PYTHON=${PYTHON:-python3}
for f in jax torch; do
  "$PYTHON" -c "import $f" 2>/dev/null \
    || { echo "cpu_bars: $PYTHON cannot import $f; install bench/peers/requirements.txt or set PYTHON=." >&2; exit 2; }
done
export PYTHON
ref_dir=.build/ref-$rev
if [ ! -x "$ref_dir/.build/release/icl" ]; then
  echo "cpu_bars: building the reference $rev in $ref_dir (once)" >&2
  # (prune first: a worktree whose folder went with a deleted .build is still registered)
  [ -d "$ref_dir" ] || { git worktree prune; git worktree add --detach "$ref_dir" "$rev" >/dev/null; }
  (cd "$ref_dir" && swift build -c release --product icl >/dev/null)
fi
ref_icl=$ref_dir/.build/release/icl

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if grep -qw avx512f /proc/cpuinfo; then cpu="AVX-512"; else cpu="AVX2 (no AVX-512)"; fi
device=$("$ICL" devices | head -1)
path=$(echo "$device" | grep -o '[a-z0-9]* path$' | cut -d' ' -f1 || true)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $cpu CPU"
echo "$device"

# The quick start (icl train's defaults, B = 256): its "in SGD steps" rate, reference and this build alternating.
rate() { "$1" train --out "$work/run" 2>/dev/null | sed -n 's/.*in SGD steps: \([0-9]*\) prompts\/s.*/\1/p'; rm -rf "$work/run"; }
rate "$ref_icl" >/dev/null; rate "$ICL" >/dev/null     # untimed: PoCL compiles each build's kernels on first use
for r in $(seq 1 "$QS_ROUNDS"); do
  old=$(rate "$ref_icl"); new=$(rate "$ICL")
  [ -n "$old" ] && [ -n "$new" ] || { echo "cpu_bars: a quick-start run printed no SGD-step rate (round $r)." >&2; exit 1; }
  echo "quick start round $r: reference $rev $old prompts/s, this build $new prompts/s"
  echo "$old $new" >> "$work/qs.txt"
done

bash bench/beside_peers.sh | tee "$work/peers.txt"

python3 - "$work" "$rev" "$cpu" "${path:-?}" <<'EOF'
import statistics, sys
work, rev, cpu, path = sys.argv[1:5]
qs = [tuple(map(float, l.split())) for l in open(f"{work}/qs.txt")]
rows = [f for f in map(str.split, open(f"{work}/peers.txt")) if f and f[0].isdigit()]   # one per round and row
train = lambda p: [r for r in rows if r[1] == "train" and r[2] == p]
num = lambda s: float(s.rstrip("×")) if s else float("nan")
bars = []
def bar(name, values, floor, unit=""):
    if values:
        med = statistics.median(values)
        bars.append(f"  {name:44s} median {med:9.3g}{unit}  rounds {' '.join(f'{v:.3g}' for v in values)}  "
                    f"bar ≥ {floor:g}{unit}: {'met' if med >= floor else 'MISSED'}")
pattern, fused = train("pattern"), train("fused")
# A round whose FMA probe ran in a slow moment of the machine reads a low ceiling and so a high share; the share of
# the highest ceiling of all rounds (the hardware's FMA rate does not change) is the one the bars are judged by.
top = max(num(r[6]) for r in rows)
share = lambda rs: [num(r[5]) * num(r[6]) / top for r in rs]
print(f"\nthe highest FP32 ceiling of the rounds: {top:.1f} GFLOP/s (each round's own: "
      f"{' '.join(sorted({r[6] for r in rows}, key=float))})")
bar("train, pattern, % of the highest ceiling", share(pattern), 50, " %")
bar("train, pattern, ÷ JAX jit", [num(r[8]) for r in pattern if len(r) > 8], 9, "×")
bar("train, pattern, ÷ PyTorch eager", [num(r[10]) for r in pattern if len(r) > 10], 20, "×")
bar("train, fused (dense), % of the highest ceiling", share(fused), 30, " %")
# 2× on AVX2; on the avx512 path the issue asks only that nothing be slower.
bar(f"quick start SGD steps, ÷ reference {rev}", [n / o for o, n in qs], 1 if path == "avx512" else 2, "×")
if path == "avx512":
    bar("train, pattern, prompts/s (avx512 path: not below)", [num(r[4]) for r in pattern], 5.07e6)
print(f"issue 16's bars on this machine ({cpu} CPU, the {path} path; medians over the rounds above):")
print("\n".join(bars))
EOF
