#!/usr/bin/env bash
# Where a training step's time goes on a PoCL device, from PoCL's own event trace: the median run time of each
# kernel, the median gap between consecutive commands, and the step period (tables launch to tables launch),
# over the steps of an `icl train` run at B = 1024 (all-backward: lr 1e-30 keeps the margins below 1).
# Usage: bash bench/trace_steps.sh [icl] [steps]     (PoCL only: POCL_TRACING=text; about 10 s)
#        BATCH=256 LR=1 bash bench/trace_steps.sh    (the quick start's steps: most prompts stop back-propagating)
#        PIPELINE=fused bash bench/trace_steps.sh     (another pipeline; the period is then precompute to precompute)
#        SPLIT=1 BATCH=256 LR=1 bash bench/trace_steps.sh .build/release/icl 2000
#            (also: the steps split by their loss, from a loss line per step: still steps, where no prompt
#             back-propagates, and learning steps; their kernels, periods and share of the run's step time)
set -euo pipefail
icl=$(realpath "${1:-.build/release/icl}")
steps=${2:-3000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && POCL_TRACING=text "$icl" train --out "$work/run" --set batch="${BATCH:-1024}" --set lr="${LR:-1e-30}" --set steps="$steps" ${PIPELINE:+--pipeline "$PIPELINE"} \
    --set evalEvery=0 --set checkpointEvery=0 --set evalPrompts=100 ${SPLIT:+--set logEvery=1} --quiet >/dev/null)
python3 - "$work/pocl_trace_events.log" "${SPLIT:+$work/run/metrics.jsonl}" <<'PY'
import collections, json, statistics, sys
events = collections.OrderedDict()
for line in open(sys.argv[1]):
    f = [x.strip() for x in line.split('|')]
    if len(f) < 6:
        continue
    name = f[7].split('=', 1)[1] if len(f) > 7 and 'name=' in f[7] else f[4]
    events.setdefault(int(f[1].split()[2]), {'name': name})[f[5]] = int(f[0])
done = [e for e in events.values() if 'running' in e and 'complete' in e]
steady = done[len(done) // 4:-50]          # skip the start-up and the final evaluation
us = lambda ns: statistics.median(ns) / 1e3
runs, gaps = collections.defaultdict(list), collections.defaultdict(list)
for e in steady:
    runs[e['name']].append(e['complete'] - e['running'])
for a, b in zip(steady, steady[1:]):
    gaps[(a['name'], b['name'])].append(b['running'] - a['complete'])
first = 'pattern_tables' if any(e['name'] == 'pattern_tables' for e in steady) else 'fused_precompute'
starts = [e['running'] for e in steady if e['name'] == first]
print('command                     runs   median µs')
for name, v in sorted(runs.items(), key=lambda kv: -len(kv[1])):
    print('%-26s %6d %10.1f' % (name, len(v), us(v)))
print('gap (end of one to start of the next)')
for (a, b), v in sorted(gaps.items(), key=lambda kv: -len(kv[1])):
    if len(v) >= len(starts) // 10:
        print('  %-24s -> %-20s %6d %8.1f' % (a, b, len(v), us(v)))
if len(starts) > 1:
    print('step period (' + first + ' to ' + first + '): median %.1f µs over %d steps' % (us([b - a for a, b in zip(starts, starts[1:])]), len(starts) - 1))
if len(sys.argv) > 2 and sys.argv[2]:
    # Every training step, in order: the commands from one `first` launch to the next (the final evaluation's
    # launches, after the last step, are left out with the last step). Step i + 1 of metrics.jsonl is step i here.
    losses = {r['step']: r['loss'] for r in map(json.loads, open(sys.argv[2])) if 'loss' in r}
    steps = []
    for e in done:
        if e['name'] == first:
            steps.append([])
        if steps:
            steps[-1].append(e)
    kinds = collections.defaultdict(list)
    for i, (a, b) in enumerate(zip(steps, steps[1:])):
        if i + 1 in losses:
            kinds['still' if losses[i + 1] == 0 else 'learning'].append((a, b[0]['running'] - a[0]['running']))
    total = sum(p for v in kinds.values() for _, p in v)
    print('steps by kind (still: the batch loss is exactly 0, no prompt back-propagates)')
    for kind, v in sorted(kinds.items()):
        runs = collections.defaultdict(list)
        for a, _ in v:
            for e in a:
                runs[e['name']].append(e['complete'] - e['running'])
        print('  %-9s %5d steps, %5.1f %% of the step time; period median %.1f µs; %s' % (kind, len(v),
              100 * sum(p for _, p in v) / total, us([p for _, p in v]),
              ', '.join('%s %.1f' % (n, us(t)) for n, t in runs.items() if len(t) * 2 > len(v))))
PY
