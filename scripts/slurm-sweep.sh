#!/usr/bin/env bash
# `icl sweep` on a real scheduler, end to end, on this one machine:
#  1. installs Debian's slurm-wlm and munge if missing, and starts a single-node SLURM cluster (munged, slurmctld,
#     slurmd) whose configuration and state live in a private folder, not /etc;
#  2. submits the sweep as `sbatch --array=1-N`, one `icl sweep --shard i/N` per array task, and waits;
#  3. merges the shards' folders with `icl sweep --merge`;
#  4. runs the same sweep unsharded and compares: sweep.csv, means.csv and every measure-K.svg must be the same bytes;
#  5. stops the cluster.
# Steps 2-4 run the unsharded reference first, which also fills the kernel caches the array tasks share.
# Usage: scripts/slurm-sweep.sh [--shards N] [--work DIR] [--icl PATH] [-- SWEEP OPTIONS...]
# Without sweep options it runs a reduced form of the issue's example (2 × 2 grid, 2 seeds, eval and pruning).
# Needs root (or sudo) for the packages and the daemons. Exit 0 only when the merged files equal the unsharded ones.
set -euo pipefail
cd "$(dirname "$0")/.."
shards=4
work=${TMPDIR:-/tmp}/icl-slurm
icl=.build/release/icl
sweep=(--grid m=32,64 --grid xi=0.01,0.1 --seeds 2 --set "steps=300 evalPrompts=2000"
       --measure "eval ood l=8 s1=1.1" --measure "prune magnitude,random rates=0:0.4:0.1")
while [ $# -gt 0 ]; do
  case "$1" in
    --shards) shards=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --icl) icl=$2; shift 2 ;;
    --) shift; sweep=("$@"); break ;;
    *) echo "slurm-sweep: unknown argument '$1'; use --shards N, --work DIR, --icl PATH, then -- and the sweep's options." >&2; exit 2 ;;
  esac
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

need=()
for pkg in slurm-wlm munge; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "slurm-sweep: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x "$icl" ]; then
  echo "slurm-sweep: building $icl" >&2
  swift build -c release --product icl >/dev/null
fi
icl=$(realpath "$icl")

rm -rf "$work"
mkdir -p "$work"/{etc,state,spool,log,munge,shards}
work=$(realpath "$work")
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

# munge: a fresh key and a private socket, so this cluster touches nothing of the machine's own.
dd if=/dev/urandom bs=1 count=1024 of="$work/munge/munge.key" status=none
chmod 400 "$work/munge/munge.key"
socket="$work/munge/munge.socket"
$sudo munged --force --key-file="$work/munge/munge.key" --socket="$socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"

export SLURM_CONF="$work/etc/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=icl
SlurmctldHost=$host
SlurmUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=icl Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

stop() {
  scontrol shutdown >/dev/null 2>&1 || true
  sleep 1
  for pid in "$work/slurmd.pid" "$work/slurmctld.pid" "$work/munge/munged.pid"; do
    [ -f "$pid" ] && $sudo kill "$(cat "$pid")" 2>/dev/null || true
  done
}
trap stop EXIT
$sudo slurmctld -f "$SLURM_CONF"
$sudo slurmd -f "$SLURM_CONF"
up=0
for _ in $(seq 60); do
  if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then up=1; break; fi
  sleep 1
done
if [ $up -eq 0 ]; then
  echo "slurm-sweep: the node did not come up within 60 s; see $work/log/slurmctld.log and slurmd.log" >&2
  exit 1
fi
echo "slurm-sweep: cluster up: $(sinfo -h -o '%P %D node(s) %c CPUs %t')"

# One array task per shard, one CPU each; PoCL's threads follow the CPUs SLURM gives the task.
cat > "$work/shard.sbatch" <<JOB
#!/usr/bin/env bash
#SBATCH --job-name=icl-sweep
#SBATCH --array=1-$shards
#SBATCH --cpus-per-task=1
#SBATCH --output=$work/log/shard-%a.out
set -euo pipefail
export POCL_CACHE_DIR=$work/pocl-cache
exec "$icl" sweep $(printf '%q ' "${sweep[@]}") --shard "\$SLURM_ARRAY_TASK_ID/$shards" --out "$work/shards/shard-\$SLURM_ARRAY_TASK_ID"
JOB
# The unsharded reference first; it also fills the kernel caches the array tasks then share.
started=$(date +%s)
POCL_CACHE_DIR=$work/pocl-cache "$icl" sweep "${sweep[@]}" --out "$work/whole" 2>/dev/null >/dev/null
echo "slurm-sweep: unsharded run in $(( $(date +%s) - started )) s"
started=$(date +%s)
if ! job=$(sbatch --wait --parsable "$work/shard.sbatch"); then
  echo "slurm-sweep: an array task failed; its log:" >&2
  cat "$work"/log/shard-*.out >&2
  exit 1
fi
echo "slurm-sweep: array job $job: all $shards tasks finished in $(( $(date +%s) - started )) s"
for i in $(seq "$shards"); do echo "  shard $i: $(grep -c '^sweep: \[' "$work/log/shard-$i.out" || true) (grid point, seed) jobs measured"; done

"$icl" sweep --merge "$work"/shards/shard-* --out "$work/merged" 2>/dev/null >/dev/null
echo "slurm-sweep: merged the shards into $work/merged"

status=0
for f in sweep.csv means.csv $(cd "$work/whole" && ls measure-*.svg); do
  if cmp -s "$work/merged/$f" "$work/whole/$f"; then
    echo "  same bytes: $f ($(wc -c < "$work/whole/$f") bytes)"
  else
    echo "  DIFFERENT: $f" >&2; status=1
  fi
done
[ $status -eq 0 ] && echo "slurm-sweep: the merged SLURM array run equals the unsharded run ($work/merged, $work/whole)"
exit $status
