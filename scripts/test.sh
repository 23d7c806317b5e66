#!/usr/bin/env bash
# All tests, on a fresh machine: installs what is missing, then
#  1. SwiftPM: builds and runs every XCTest (unit, kernel cross-checks on PoCL for both variants, end to end);
#  2. CMake + Ninja: builds the same library, CLI and tests, and runs them through CTest;
#  3. interop: a checkpoint and a check dump are opened with the PyPI `safetensors` package;
#  4. ICLKit as a library: Examples/TrainAndEvaluate builds against the root package, trains, evaluates and saves;
#  5. two more OpenCL implementations (scripts/test-implementations.sh): Oclgrind (races, out-of-bounds, uninitialised
#     reads, API misuse) and Mesa rusticl on llvmpipe (another compiler, GPU-like limits); and on an AVX-512 CPU,
#     PoCL built for haswell (the avx2 path's own code, checked and bit-identical to the avx512 path's training);
#  6. `icl sweep` on a real scheduler (scripts/slurm-sweep.sh): a single-node SLURM cluster runs a sweep as an
#     sbatch array of shards; merged, it must equal the unsharded run byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export POCL_CACHE_DIR="$PWD/.build/pocl-cache"
mkdir -p "$POCL_CACHE_DIR"

# A build's last line, or its whole log when it fails (a one-line tail hides the error).
build() {
  local log=$1; shift
  if "$@" > "$log" 2>&1; then tail -n 1 "$log"; else cat "$log" >&2; echo "build failed: $*" >&2; exit 1; fi
}

echo "== swift test"
build .build/swift-build.log swift build --build-tests
status=0
swift test --skip-build --disable-swift-testing > .build/swift-test.log 2>&1 || status=$?
grep -E "error:|Executed .* tests" .build/swift-test.log | tail -n 30
if [ "$status" -ne 0 ]; then echo "swift test failed (exit $status); full log in .build/swift-test.log" >&2; exit 1; fi
swift_tests=$(grep -E "Executed [0-9]+ tests" .build/swift-test.log | tail -n 1 | sed -E 's/.*Executed ([0-9]+) tests.*/\1/')

echo "== cmake + ninja + ctest"
bash scripts/cmake-build.sh build/cmake

echo "== safetensors interop (PyPI safetensors)"
venv=.build/py
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check safetensors numpy
tmp=$(mktemp -d)
.build/debug/icl train --out "$tmp/run" --set steps=5 --set batch=32 --set evalPrompts=100 --quiet >/dev/null
"$venv/bin/python" scripts/check_safetensors.py "$tmp/run/checkpoint.safetensors" W_Q=40x40 W_K=40x40 W_V=40x40 W_O=64x40 a=64
.build/debug/icl check --variant cpu --dump "$tmp/dump.safetensors" >/dev/null
"$venv/bin/python" scripts/check_safetensors.py "$tmp/dump.safetensors" prompts=64x21x40 labels=64 F=64 loss=1 \
  grad.W_Q=40x40 grad.W_K=40x40 grad.W_V=40x40 grad.W_O=64x40
"$venv/bin/python" scripts/verify_dump.py "$tmp/dump.safetensors"
rm -rf "$tmp"

echo "== ICLKit as a library (Examples/TrainAndEvaluate: its own package on the root's ICLKit)"
build .build/example-build.log swift build --package-path Examples/TrainAndEvaluate
tmp=$(mktemp -d)
swift run --skip-build --package-path Examples/TrainAndEvaluate TrainAndEvaluate "$tmp/example" 1000
.build/debug/icl eval --checkpoint "$tmp/example/checkpoint.safetensors" --prompts 500
rm -rf "$tmp"
echo "== oclgrind, rusticl and PoCL built for haswell (scripts/test-implementations.sh)"
bash scripts/test-implementations.sh .build/debug/icl
echo "== icl sweep as a SLURM array (scripts/slurm-sweep.sh)"
bash scripts/slurm-sweep.sh --icl .build/debug/icl

echo "all test stages passed (swift test: $swift_tests tests; ctest, interop and example checks above)"
echo "tests: $swift_tests passed, 0 failed"
