#!/usr/bin/env bash
# The device bundle's one command (docs/device-bundle.md). Runs beside `icl` in a folder built by
# scripts/bundle.sh, on a machine with no Swift and no OpenCL loader installed.
#
#   ./run.sh [--quick] [--only STEP,STEP,…] [RESULTS_DIR]        ./run.sh --summary RESULTS_DIR
#
# Steps, each under its own `timeout`, all within ICL_RUN_SECONDS (default 465 s, under 8 minutes in all):
# icl devices; icl check (onelayer, gpt2); icl bench (GPU variant, B up to 262 144, every pipeline); icl train
# (defaults); peers.py (torch, jax) when python3 has them; icl bench --model gpt2; icl train --model gpt2.
# Everything goes to RESULTS_DIR (default: results-DATE beside this script); a summary table ends the run
# (also in RESULTS_DIR/summary.txt). A failing step is recorded and the run goes on.
# --quick: small batches and short trains, for a slow CPU (checks only the GPU variant).
# --summary RESULTS_DIR: print the summary of an earlier run again (after editing run.sh's parsing, say).
# --only: run only these steps (devices check check-gpt2 bench train peers-torch peers-jax bench-gpt2 train-gpt2).
# Environment: OCL_ICD_VENDORS (respected when set; otherwise a vendors folder is written), ICL_OPENCL_LIB_DIRS
# (extra folders, colon-separated, searched first for the vendors' OpenCL libraries), ICL_SYSTEM_ICDS=0 (leave
# /etc/OpenCL/vendors out of the written folder), ICL_DEVICE, PYTHON (default python3), ICL_RUN_SECONDS.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ICL=$HERE/icl
QUICK=0
SUMMARY_ONLY=0
RES=
ONLY=
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --summary) SUMMARY_ONLY=1 ;;
        --only) ONLY=",${2:?--only needs a list of steps},"; shift ;;
        --only=*) ONLY=",${1#--only=}," ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
        -*) echo "run.sh: unknown option $1 (use --quick, --only, --summary, --help)" >&2; exit 2 ;;
        *) RES=$1 ;;
    esac
    shift
done
wanted() { [ -z "$ONLY" ] || [[ $ONLY == *",$1,"* ]]; }
if [ "$SUMMARY_ONLY" = 1 ] && [ -z "$RES" ]; then echo "run.sh: --summary needs a RESULTS_DIR" >&2; exit 2; fi
RES=${RES:-$HERE/results-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RES" || { echo "run.sh: cannot create $RES" >&2; exit 2; }
RES=$(cd "$RES" && pwd)
START=$SECONDS
TOTAL=${ICL_RUN_SECONDS:-465}
GRACE=5            # timeout -k: a step that ignores SIGTERM is killed this much later
LOG=$RES/run.log
STEPS=$RES/steps.tsv

log() { printf '%s\n' "$*" | tee -a "$LOG"; }

# ---------------------------------------------------------------------------------------------- summary (functions)

last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-110; }

figures() {  # figures NAME: the key figures of a step, parsed from RES/NAME.txt
    local f=$RES/$1.txt
    [ -s "$f" ] || return 0
    case $1 in
        devices) grep -m1 '^opencl:' "$f" | sed 's/^opencl:[0-9]* *//' | cut -c1-110 ;;
        check|check-gpt2)
            awk '/^\[.*\].*: (pass|FAIL)$/ { if ($NF == "pass") cp++; else cf++ }
                 /^  .*(pass|FAIL)$/ { if ($NF == "pass") tp++; else tf++ }
                 END { printf "cases %d pass, %d FAIL; tensors %d pass, %d FAIL", cp, cf, tp, tf }' "$f" ;;
        bench|bench-gpt2)
            awk '/^measured ceilings:/ { sub(/^measured ceilings: /, ""); ceil = $0 }
                 ($1 == "train") && $3 ~ /^[0-9]+$/ && $4 + 0 > best { best = $4 + 0; bp = $2; bb = $3; pk = $7 }
                 END { if (best) printf "best train %s B=%s: %.4g prompts/s%s; ceilings %s", bp, bb, best, (pk == "-" ? "" : " (" pk "% of FMA peak)"), ceil }' "$f" ;;
        train|train-gpt2)
            awk '/prompts\/s\)/ { match($0, /[0-9.]+ prompts\/s/); rate = substr($0, RSTART, RLENGTH) }
                 /^ +[0-9]+ +[0-9.]+ \(/ { l = $1; id = $3; ood = $5 }
                 END { if (l != "") printf "error at l=%s: in-domain %s, OOD %s; %s in steps", l, id, ood, rate }' "$f" | tr -d '()' ;;
        peers-*)
            awk '/^# (torch|jax) / { dev = $4 }
                 ($1 == "torch" || $1 == "jax") && $3 ~ /^[0-9]+$/ { s = s sprintf("%sB=%s %.4g", sep, $3, $7); sep = ", " }
                 END { if (s != "") printf "%s prompts/s (%s)", s, dev }' "$f" ;;
    esac
}

summarize() {  # prints the summary of the run in RES (steps.tsv, run.meta and the steps' outputs)
    local meta=$RES/run.meta name status rc secs note fig b peers
    {
    echo
    echo "== icl device run: $(sed -n 's/^finished=//p' "$meta"), $(sed -n 's/^mode=//p' "$meta") mode, $(sed -n 's/^seconds=//p' "$meta") s in all =="
    echo "results: $RES"
    echo "device: $(grep -m1 '^opencl:' "$RES/devices.txt" 2>/dev/null || last_line "$RES/devices.txt")"
    echo "vendors: $(sed -n 's/^vendors=//p' "$meta")"
    echo
    printf '%-12s %-8s %4s %7s  %s\n' step status exit seconds "key figures"
    while IFS=$'\t' read -r name status rc secs note; do
        fig=$note
        case $status in
            ok) fig=$(figures "$name") ;;
            timeout) fig=$(figures "$name"); fig="${fig:+$fig; }$note; last line: $(last_line "$RES/$name.txt")" ;;
            FAIL) fig=$(figures "$name"); fig="${fig:+$fig; }$(last_line "$RES/$name.txt")" ;;
        esac
        printf '%-12s %-8s %4s %7s  %s\n' "$name" "$status" "$rc" "$secs" "$fig"
    done < "$RES/steps.tsv"
    for b in bench bench-gpt2; do
        grep -q '^end to end' "$RES/$b.txt" 2>/dev/null || continue
        echo
        echo "$b, end to end ($(grep -m1 '^device:' "$RES/$b.txt" | sed 's/.*), //'); $(grep -m1 '^measured ceilings:' "$RES/$b.txt")):"
        awk '/^end to end/ { on = 1; next } on && NF == 0 { on = 0 } on' "$RES/$b.txt"
    done
    peers=$(cat "$RES"/peers-torch.txt "$RES"/peers-jax.txt 2>/dev/null | awk '($1 == "torch" || $1 == "jax") && $3 ~ /^[0-9]+$/')
    if [ -n "$peers" ]; then
        echo
        echo "peers (prompts/s, train), beside icl's best train pipeline at the same B:"
        printf '  %-6s %-6s %8s %14s %14s %8s\n' fw what B peer icl-best "icl/peer"
        echo "$peers" | while read -r fw what b l m d rate steps; do
            best=$(awk -v B="$b" '($1 == "train") && $3 == B && $4 + 0 > x { x = $4 + 0 } END { print x + 0 }' "$RES/bench.txt" 2>/dev/null)
            awk -v fw="$fw" -v w="$what" -v B="$b" -v r="$rate" -v x="${best:-0}" 'BEGIN {
                if (x > 0) printf "  %-6s %-6s %8s %14.4g %14.4g %7.2fx\n", fw, w, B, r, x, x / r
                else printf "  %-6s %-6s %8s %14.4g %14s %8s\n", fw, w, B, r, "-", "-" }'
        done
    fi
    } > "$RES/summary.txt"
    cat "$RES/summary.txt"
}

if [ "$SUMMARY_ONLY" = 1 ]; then
    [ -f "$RES/steps.tsv" ] && [ -f "$RES/run.meta" ] || { echo "run.sh: $RES holds no run (steps.tsv, run.meta)" >&2; exit 2; }
    summarize
    exit 0
fi

# ---------------------------------------------------------------------------------------------- environment

: > "$STEPS"

export LD_LIBRARY_PATH="$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The compiled-program cache: ~/.cache/icl unless HOME is missing or read-only.
if [ -z "${ICL_CACHE_DIR:-}" ] && ! { [ -n "${HOME:-}" ] && mkdir -p "$HOME/.cache" 2>/dev/null && [ -w "$HOME/.cache" ]; }; then
    export ICL_CACHE_DIR=$RES/program-cache
fi

find_lib() {  # find_lib NAME: the full path of an x86-64 shared library, from ldconfig -p or the usual folders
    local name=$1 p d ldc
    local IFS=:
    for d in ${ICL_OPENCL_LIB_DIRS:-}; do
        [ -n "$d" ] && [ -e "$d/$name" ] && { echo "$d/$name"; return 0; }
    done
    unset IFS
    for ldc in ldconfig /sbin/ldconfig /usr/sbin/ldconfig; do
        if command -v "$ldc" >/dev/null 2>&1; then
            p=$("$ldc" -p 2>/dev/null | awk -v n="$name" '$1 == n && /x86-64/ { print $NF; exit }')
            [ -n "$p" ] && [ -e "$p" ] && { echo "$p"; return 0; }
            break
        fi
    done
    for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib/x86_64-linux-gnu /lib64 /usr/local/lib \
             /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/local/cuda/lib64 /usr/lib/wsl/lib \
             /opt/rocm/lib /opt/rocm/opencl/lib /opt/amdgpu-pro/lib/x86_64-linux-gnu /opt/amdgpu/lib/x86_64-linux-gnu \
             /usr/lib/x86_64-linux-gnu/intel-opencl /opt/intel/opencl /opt/intel/opencl/lib64; do
        [ -e "$d/$name" ] && { echo "$d/$name"; return 0; }
    done
    # A driver folder that lacks the .so.1 link still has the versioned file (libnvidia-opencl.so.550.54.15).
    for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/lib/wsl/lib; do
        for p in "$d/${name%.so*}".so.[0-9]*; do [ -e "$p" ] && { echo "$p"; return 0; }; done
    done
    return 1
}

if [ -n "${OCL_ICD_VENDORS+x}" ]; then
    VENDOR_NOTE="OCL_ICD_VENDORS set by the caller: $OCL_ICD_VENDORS (respected)"
else
    V=$RES/vendors
    mkdir -p "$V"
    if [ "${ICL_SYSTEM_ICDS:-1}" != 0 ]; then   # keep what the system lists (ICL_SYSTEM_ICDS=0: do not)
        for f in /etc/OpenCL/vendors/*.icd; do [ -f "$f" ] && cp "$f" "$V/system-$(basename "$f")"; done
    fi
    for pair in nvidia:libnvidia-opencl.so.1 amd:libamdocl64.so intel:libigdrcl.so; do
        vendor=${pair%%:*}; lib=${pair#*:}
        if path=$(find_lib "$lib"); then
            if grep -qs "${lib%.so*}.so" "$V"/system-*.icd; then
                log "vendors: $vendor: $path (already listed in /etc/OpenCL/vendors)"
            else
                echo "$path" > "$V/$vendor.icd"
                log "vendors: $vendor: $path"
            fi
        fi
    done
    export OCL_ICD_VENDORS=$V
    n=$(ls "$V" | wc -l)
    VENDOR_NOTE="OCL_ICD_VENDORS=$V ($n .icd file(s): $(ls "$V" | tr '\n' ' '))"
    [ "$n" -gt 0 ] || VENDOR_NOTE="$VENDOR_NOTE; no OpenCL driver library found: icl will see no device"
fi
log "vendors: $VENDOR_NOTE"

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm)"
    [ -r /etc/os-release ] && echo "os: $(. /etc/os-release; echo "${PRETTY_NAME:-?}")"
    echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null), $(getconf _NPROCESSORS_ONLN 2>/dev/null) cpus"
    echo "mode: $([ $QUICK = 1 ] && echo quick || echo full), budget ${TOTAL} s"
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    echo "OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
    for f in "$OCL_ICD_VENDORS"/*.icd "$OCL_ICD_VENDORS"; do [ -f "$f" ] && echo "  $f: $(cat "$f")"; done
    echo "ICL_DEVICE=${ICL_DEVICE:-} ICL_CACHE_DIR=${ICL_CACHE_DIR:-}"
    [ -r "$HERE/VERSION" ] && sed 's/^/bundle /' "$HERE/VERSION"
    echo "ldd icl:"; ldd "$ICL" 2>&1 | sed 's/^/  /'
    if command -v nvidia-smi >/dev/null 2>&1; then echo "nvidia-smi:"; timeout 15 nvidia-smi 2>&1 | sed 's/^/  /'; fi
} > "$RES/environment.txt" 2>&1

# ---------------------------------------------------------------------------------------------- steps

time_left() { echo $((TOTAL - (SECONDS - START) - GRACE)); }

# run_step NAME BUDGET_S CMD...: runs CMD with its output in RES/NAME.txt, records status and seconds.
run_step() {
    local name=$1 budget=$2; shift 2
    wanted "$name" || return 0
    local left t rc t0 t1 status note
    left=$(time_left)
    if [ "$left" -lt 10 ]; then
        printf '%s\tskipped\t-\t-\tno time left in the %s s budget\n' "$name" "$TOTAL" >> "$STEPS"
        log "[$name] skipped: no time left"
        return
    fi
    t=$budget; [ "$t" -gt "$left" ] && t=$left
    log "[$name] $(date +%H:%M:%S) timeout ${t}s: $*"
    t0=$(date +%s%N)
    # (the braces also catch the shell's own "Aborted"/"Killed" line for a step that dies of a signal)
    { timeout -k "$GRACE" "$t" "$@"; } > "$RES/$name.txt" 2>&1 < /dev/null
    rc=$?
    t1=$(date +%s%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    case $rc in
        0) status=ok ;;
        124|137) status="timeout" ;;
        *) status=FAIL ;;
    esac
    note=; [ "$status" = timeout ] && note="cut at the ${t} s timeout"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$secs" "$note" >> "$STEPS"
    log "[$name] $status (exit $rc) in $secs s -> $RES/$name.txt"
}

skip_step() { wanted "$1" || return 0; printf '%s\tskipped\t-\t-\t%s\n' "$1" "$2" >> "$STEPS"; log "[$1] skipped: $2"; }

CHECK_ARGS=(--variant both)
if [ $QUICK = 1 ]; then
    CHECK_ARGS=(--variant gpu)
    CHECK_ARGS+=(--quick)
fi

if [ $QUICK = 1 ]; then
    BENCH=(bench --variant gpu --quick --batch 64,1024 --kernel-batch 64 --no-reference --prune-rates 0)
    BENCH_GPT2=(bench --model gpt2 --quick --batch 16 --kernel-batch 0 --no-reference)
    TRAIN=(train)   # the quick start's run: a few seconds on PoCL
    TRAIN_GPT2=(train --model gpt2 --set "steps=300 batch=32 evalPrompts=1000")
    PEER_ARGS=(--quick --batch 64 1024 --what train --repeats 1)
else
    BENCH=(bench --variant gpu --batch 1024,16384,65536,262144 --no-reference --prune-rates 0)
    BENCH_GPT2=(bench --model gpt2 --batch 64,256,1024 --no-reference)
    TRAIN=(train)
    TRAIN_GPT2=(train --model gpt2)
    PEER_ARGS=(--batch 1024 16384 65536 262144 --what train --seconds 1.0 --repeats 3)
fi

run_step devices 30 "$ICL" devices
run_step check 120 "$ICL" check --model onelayer "${CHECK_ARGS[@]}"
run_step check-gpt2 90 "$ICL" check --model gpt2 "${CHECK_ARGS[@]}"
run_step bench 150 "$ICL" "${BENCH[@]}"
run_step train 75 "$ICL" "${TRAIN[@]}" --out "$RES/train"

PY=${PYTHON:-python3}
if ! { wanted peers-torch || wanted peers-jax; }; then
    :
elif ! command -v "$PY" >/dev/null 2>&1; then
    skip_step peers-torch "no $PY on PATH"; skip_step peers-jax "no $PY on PATH"
else
    for fw in torch jax; do
        wanted "peers-$fw" || continue
        if [ "$(time_left)" -lt 30 ]; then
            skip_step "peers-$fw" "no time left in the $TOTAL s budget"
        elif ! timeout 20 "$PY" -c "import numpy, $fw" > "$RES/peers-$fw-import.txt" 2>&1; then
            skip_step "peers-$fw" "$PY cannot import numpy and $fw"
        else
            PYTHONUNBUFFERED=1 run_step "peers-$fw" 75 "$PY" "$HERE/peers/peers.py" --frameworks "$fw" "${PEER_ARGS[@]}"
        fi
    done
fi

run_step bench-gpt2 60 "$ICL" "${BENCH_GPT2[@]}"
run_step train-gpt2 90 "$ICL" "${TRAIN_GPT2[@]}" --out "$RES/train-gpt2"

# ---------------------------------------------------------------------------------------------- summary

{
    echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "mode=$([ $QUICK = 1 ] && echo quick || echo full)"
    echo "seconds=$((SECONDS - START))"
    echo "vendors=$VENDOR_NOTE"
} > "$RES/run.meta"
summarize | tee -a "$LOG"
