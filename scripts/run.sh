#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install dependencies, build in release, train the paper's
# default model on the best OpenCL device, and print the ICL error on unseen in-domain and OOD tasks.
# Extra arguments go to `icl train` (e.g. --device cpu-reference, --set steps=500, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$PWD/.build/pocl-cache}"
swift build -c release --product icl 2>&1 | tail -n 1
out="runs/train-$(date +%Y%m%d-%H%M%S)-$$"   # the process id keeps two runs started in the same second apart
exec .build/release/icl train --out "$out" "$@"
