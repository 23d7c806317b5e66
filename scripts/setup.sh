#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and run icl: the OpenCL ICD loader and
# headers, PoCL (OpenCL on the CPU), clinfo, CMake and Ninja; and, for the test command's stage on two more OpenCL
# implementations, Mesa's rusticl (mesa-opencl-icd) and the Oclgrind simulator. Swift itself must already be on PATH.
set -euo pipefail
need=()
for pkg in pocl-opencl-icd ocl-icd-opencl-dev opencl-headers clinfo cmake ninja-build pkg-config mesa-opencl-icd oclgrind; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH; install the Swift 6 toolchain from swift.org" >&2; exit 1; }
