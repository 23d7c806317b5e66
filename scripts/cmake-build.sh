#!/usr/bin/env bash
# Build the library, the `icl` CLI and the tests with CMake + Ninja, then run them with CTest.
#
#   scripts/cmake-build.sh [BUILD_DIR]        (default: build/cmake)
#
# On a fresh Debian/Ubuntu it first installs what is missing (cmake, ninja, PoCL, the OpenCL ICD loader and
# headers), with sudo when not root. Needs a Swift toolchain: `swiftc` on PATH, or /opt/swift/usr/bin.
# Environment: CMAKE_BUILD_TYPE (default Release), CTEST_PARALLEL_LEVEL (ctest's own), extra configure
# options in CMAKE_ARGS. Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build/cmake}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac

say() { printf '== %s\n' "$*"; }

# --- system packages, only those missing -------------------------------------------------------------
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v ninja >/dev/null 2>&1 || need+=(ninja-build)
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in pocl-opencl-icd ocl-icd-opencl-dev opencl-headers; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
  done
fi
if ((${#need[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "cmake-build.sh: missing ${need[*]} and no apt-get here; install them and rerun." >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  say "installing ${need[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

cmake_version="$(cmake --version | awk 'NR == 1 {print $3}')"
if [ "$(printf '%s\n' 3.25 "$cmake_version" | sort -V | head -1)" != 3.25 ]; then
  echo "cmake-build.sh: CMake $cmake_version is too old; 3.25 or newer is needed (pip install cmake, or backports)." >&2
  exit 1
fi

# --- Swift toolchain ---------------------------------------------------------------------------------
if ! command -v swiftc >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swiftc ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  else
    echo "cmake-build.sh: no Swift compiler found; install a Swift toolchain (https://swift.org/install) and put its usr/bin on PATH." >&2
    exit 1
  fi
fi

# --- configure, build, test --------------------------------------------------------------------------
start=$(date +%s)
say "configuring $build"
# shellcheck disable=SC2086 # CMAKE_ARGS is a list of options
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" \
  -DCMAKE_Swift_COMPILER="$(command -v swiftc)" ${CMAKE_ARGS:-}
say "building"
cmake --build "$build"
built=$(date +%s)
say "testing"
status=0
(cd "$build" && ctest --output-on-failure) || status=$?
done_at=$(date +%s)
say "cmake configure + build $((built - start)) s, ctest $((done_at - built)) s"
exit "$status"
