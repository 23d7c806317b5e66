#!/usr/bin/env bash
# Builds the device bundle: a self-contained folder for a bare x86-64 Linux machine that has a GPU driver
# but no Swift and no OpenCL ICD loader (docs/device-bundle.md).
#
#   bash scripts/bundle.sh [OUT_DIR]        default OUT_DIR: out/icl-bundle (git-ignored)
#
# OUT_DIR/icl        release build, Swift runtime linked statically, kernels embedded
# OUT_DIR/lib/       libOpenCL.so.1, the ICD loader of Debian's ocl-icd-libopencl1 (+ its copyright file)
# OUT_DIR/peers/     bench/peers (peers.py, requirements.txt, README.md)
# OUT_DIR/run.sh     the one command to run on the lent machine (scripts/bundle/run.sh)
#
# The build compiles a snapshot of the working tree (Package.swift, Sources, Kernels, Plugins, Tests, copied into
# .build/bundle/src) with its own scratch path (.build/bundle/scratch): it never takes the lock of .build, and
# edits made in the checkout while it builds do not break it. ICL_BUNDLE_REF=REF (e.g. HEAD): build that commit
# instead of the working tree. ICL_BUNDLE_NICE (default 10): the build's niceness.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/out/icl-bundle}
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac
STAGE=$ROOT/.build/bundle/src
SCRATCH=$ROOT/.build/bundle/scratch
LOADER=/usr/lib/x86_64-linux-gnu/libOpenCL.so.1

say() { printf 'bundle: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(uname -m)" = x86_64 ] || die "the bundle is for x86-64; this machine is $(uname -m)"
command -v swift >/dev/null || die "swift is not on PATH"
[ -e "$LOADER" ] || die "$LOADER is missing: apt-get install ocl-icd-libopencl1"
# OUT is replaced: only an earlier bundle or an empty folder.
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ] && ! grep -qs '^icl device bundle' "$OUT/VERSION"; then
    die "$OUT exists and is not an earlier bundle; pick another OUT_DIR"
fi

cd "$ROOT"
# Snapshot: copy the files whose content changed (their mtime becomes now; the others keep theirs, so the build
# stays incremental) and drop the deleted ones. ICL_BUNDLE_REF=REF (e.g. HEAD) snapshots a commit instead.
parts=(Package.swift Sources Kernels Plugins Tests)
[ -f Package.resolved ] && parts+=(Package.resolved)
mkdir -p "$STAGE" "$SCRATCH"
FROM=$ROOT
if [ -n "${ICL_BUNDLE_REF:-}" ]; then
    FROM=$SCRATCH/ref
    rm -rf "$FROM"; mkdir -p "$FROM"
    git archive "$ICL_BUNDLE_REF" -- "${parts[@]}" | tar -x -C "$FROM"
fi
say "snapshot of ${ICL_BUNDLE_REF:-the working tree} in $STAGE"
(cd "$FROM" && find "${parts[@]}" -type f ! -name '.*' 2>/dev/null | LC_ALL=C sort) > "$SCRATCH/files.src"
(cd "$STAGE" && { find "${parts[@]}" -type f 2>/dev/null || true; } | LC_ALL=C sort) > "$SCRATCH/files.stage"
LC_ALL=C comm -13 "$SCRATCH/files.src" "$SCRATCH/files.stage" | (cd "$STAGE" && xargs -r -d '\n' rm -f --)
while IFS= read -r f; do
    cmp -s "$FROM/$f" "$STAGE/$f" || { mkdir -p "$STAGE/$(dirname "$f")" && cp "$FROM/$f" "$STAGE/$f"; }
done < "$SCRATCH/files.src"

say "building icl (release, --static-swift-stdlib, scratch $SCRATCH)"
t0=$SECONDS
# $ORIGIN/lib as RUNPATH: ./icl finds the bundled loader even without run.sh's LD_LIBRARY_PATH.
nice -n "${ICL_BUNDLE_NICE:-10}" swift build --package-path "$STAGE" --scratch-path "$SCRATCH" \
    -c release --static-swift-stdlib --product icl -Xlinker -rpath -Xlinker '$ORIGIN/lib'
BIN=$(swift build --package-path "$STAGE" --scratch-path "$SCRATCH" -c release --show-bin-path)/icl
say "build took $((SECONDS - t0)) s"
[ -x "$BIN" ] || die "no binary at $BIN"

rm -rf "$OUT"
mkdir -p "$OUT/lib" "$OUT/peers"
cp "$BIN" "$OUT/icl"
# Fully stripped (symbols too): 60 MB instead of 78 MB, so the bundle fits a 64 MiB transfer.
strip "$OUT/icl"
cp -L "$LOADER" "$OUT/lib/libOpenCL.so.1"
if [ -f /usr/share/doc/ocl-icd-libopencl1/copyright ]; then
    cp /usr/share/doc/ocl-icd-libopencl1/copyright "$OUT/lib/libOpenCL.copyright"
fi
# (peers/ and run.sh come from the working tree also with ICL_BUNDLE_REF.)
cp bench/peers/peers.py bench/peers/requirements.txt bench/peers/README.md "$OUT/peers/"
cp scripts/bundle/run.sh "$OUT/run.sh"
chmod +x "$OUT/icl" "$OUT/run.sh"
{
    echo "icl device bundle"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm)"
    if [ -n "${ICL_BUNDLE_REF:-}" ]; then
        echo "commit: $(git -C "$ROOT" rev-parse --short "$ICL_BUNDLE_REF")"
    else
        echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- "${parts[@]}" 2>/dev/null || echo ' + uncommitted changes of the working tree')"
    fi
    echo "swift: $(swift --version 2>&1 | head -n 1)"
    echo "loader: $(dpkg-query -W -f='${Package} ${Version}' ocl-icd-libopencl1 2>/dev/null || echo "$LOADER")"
} > "$OUT/VERSION"

# The binary may need only the C/C++ runtime and the OpenCL loader from the system.
say "checking the binary's shared libraries"
allowed='^(linux-vdso\.so|/lib64/ld-linux-x86-64\.so|ld-linux-x86-64\.so|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libutil\.so|libstdc\+\+\.so|libgcc_s\.so|libOpenCL\.so)'
bad=$(ldd "$OUT/icl" | awk '{print $1}' | grep -Ev "$allowed" || true)
ldd "$OUT/icl" | sed 's/^/  /' >&2
[ -z "$bad" ] || die "the binary needs libraries a bare machine may lack: $(echo $bad)"
ldd "$OUT/icl" | grep -q "libOpenCL.so.1 => $OUT/lib/libOpenCL.so.1" \
    || die "icl does not resolve libOpenCL.so.1 to the bundled lib/ (RUNPATH missing?)"

# The binary must run outside the checkout: no Swift on PATH, no kernel folder nearby.
say "smoke test from an empty folder"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && env -i PATH=/usr/bin:/bin HOME="$tmp" "$OUT/icl" help >/dev/null) || die "icl help failed outside the checkout"
(cd "$tmp" && env -i PATH=/usr/bin:/bin HOME="$tmp" "$OUT/icl" devices) >&2 || say "icl devices failed here (no OpenCL device?)"

say "done: $OUT ($(du -sh "$OUT" | cut -f1)); run it with: $OUT/run.sh [--quick] [RESULTS_DIR]"
