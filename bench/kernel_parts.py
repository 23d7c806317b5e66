#!/usr/bin/env python3
"""Where a CPU-variant tile kernel's time goes, by part of its source.

Runs `icl train` for one pipeline under `perf record -e cpu-clock` (a software clock: it works in VMs without
hardware counters), with PoCL building every kernel with debug lines (POCL_EXTRA_BUILD_FLAGS=-g, fresh kernel
caches; -g adds line tables, not different code). Each sample in the tile kernel's shared object is mapped to its line
of the program source (the kernel files concatenated as ProgramBuild does), and the lines are grouped into parts:
in the tile kernel's own file, by the full-line comment that opens the block (`// Scores ...`); in every other file,
by the function the line is in. Prints each part's share of the kernel's samples, and the share of the whole step
that each kernel of the pipeline takes.

    python3 bench/kernel_parts.py --pipeline fused                 # d = 40, l = 20, m = 64, B = 1024, every prompt
                                                                  # back-propagating (lr 1e-30), as in icl bench's rows
    python3 bench/kernel_parts.py --pipeline pattern               # the pattern tile on the device's best path
    python3 bench/kernel_parts.py --pipeline pattern --portable    # ... on the portable path
    python3 bench/kernel_parts.py --pipeline pattern --kernel pattern_grads_sgd --batch 256   # another kernel's parts
    python3 bench/kernel_parts.py --pipeline pattern --train-steps 8000 --batch 256   # icl train's steps (the quick
                                                                  # start's, most of which back-propagate nothing)

Needs perf (Debian's linux-perf) and objdump (binutils). Numbers are of the machine it runs on; say which.
"""
import argparse
import bisect
import collections
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def program_files(pipeline, path, target):
    """The kernel files of the pipeline's CPU-variant program, in ProgramBuild's order (`target`: the device's best
    path, which picks the Philox layout as DevicePath.philoxFile does)."""
    sampler = ["sampler.cl", "philox8_wide.cl" if target == "avx512" else "philox8_packed.cl", "sampler_chunks.cl"]
    if pipeline == "fused":
        return ["common.cl", "onelayer.cl"] + sampler + ["fused.cl", "tile_cpu.cl", "fused_tile.cl"], "fused_tile"
    reads = ["pattern_reads_portable.cl"] if path == "portable" else [f"pattern_lookup_{path}.cl", "pattern_reads_vector.cl"]
    return (["common.cl", "onelayer.cl"] + sampler + ["pattern_common.cl", "pattern_tables.cl"] + reads
            + ["tile_cpu.cl", "pattern_tile.cl", "pattern_reduce.cl", "pattern_grads.cl"]), "pattern_tile"


def line_owners(files, kernel_dir, kernel_file):
    """For each line of the concatenated source (1-based): (file, part name)."""
    owners = [None]
    for name in files:
        text = open(os.path.join(kernel_dir, name), encoding="utf-8").read()
        part = f"{name}: top level"
        previous = ""
        for line in text.split("\n"):
            if name == kernel_file:
                m = re.match(r"^ {4,}// (.*)", line)
                if m and not re.match(r"^\s*//", previous):   # a comment's first line names the block
                    part = m.group(1)[:60]
                elif re.match(r"^(__kernel|inline|void)", line):
                    bare = re.sub(r"__attribute__\s*\(\(.*?\)\)", "", line)
                    part = f"{name}: " + (re.search(r"(\w+)\s*\(", bare) or re.search(r"(\w+)", bare)).group(1)
            elif previous.rstrip().endswith("\\"):
                pass      # inside a macro's body: its code is counted at the line that expands it
            else:
                m = re.match(r"^(?:__kernel\s+)?(?:inline\s+)?(?:__attribute__\(\(.*?\)\)\s+)?[\w ]+?\s\**(\w+)\s*\(", line)
                expands = re.match(r"^[A-Z][A-Z0-9_]*\((\w+)", line)   # a macro that defines a function, by its name
                if expands:
                    part = f"{name}: {expands.group(1)}"
                elif m and not line.startswith(" ") and not line.startswith("#"):
                    part = f"{name}: {m.group(1)}"
            previous = line
            owners.append((name, part))
    return owners


def decoded_lines(so):
    """Sorted (address, line) pairs of the shared object's line table."""
    out = subprocess.run(["objdump", "--dwarf=decodedline", so], capture_output=True, text=True, check=True).stdout
    pairs = []
    for row in out.splitlines():
        m = re.match(r"^tempfile\S*\.cl\s+(\d+)\s+(0x[0-9a-f]+)", row)
        if m:
            pairs.append((int(m.group(2), 16), int(m.group(1))))
    pairs.sort()
    return pairs


def instructions(so):
    """Each function of the shared object: its instructions as (address, opcode)."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", so], capture_output=True, text=True, check=True).stdout
    funcs, current = {}, None
    for row in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <(\S+)>:", row)
        if m:
            current = funcs.setdefault(m.group(2), [])
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)", row)
        if m and current is not None:
            current.append((int(m.group(1), 16), m.group(2)))
    return funcs


def workgroup_to_kernel(funcs, kernel):
    """PoCL runs _pocl_kernel_K_workgroup, a copy of _pocl_kernel_K without line tables. Aligns the two instruction
    streams (difflib on opcodes) and maps each work-group instruction to the kernel instruction it matches, or, where
    none matches, to the one matched before it. Returns (address map, set of matched work-group addresses)."""
    a, b = funcs[f"_pocl_kernel_{kernel}"], funcs[f"_pocl_kernel_{kernel}_workgroup"]
    sm = difflib.SequenceMatcher(None, [x[1] for x in a], [x[1] for x in b], autojunk=False)
    mapping, matched = {}, set()
    for block in sm.get_matching_blocks():
        for k in range(block.size):
            mapping[b[block.b + k][0]] = a[block.a + k][0]
            matched.add(b[block.b + k][0])
    last = a[0][0]
    for addr, _ in b:
        last = mapping.setdefault(addr, last)
    return mapping, matched


def symbols(so):
    out = subprocess.run(["nm", so], capture_output=True, text=True, check=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (r.split() for r in out.splitlines()) if len(parts) == 3}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipeline", choices=["fused", "pattern"], default="fused")
    ap.add_argument("--portable", action="store_true", help="the pattern tile's portable table reads "
                    "(ICL_PORTABLE_KERNELS=1) instead of the device's best path; the fused pipeline has no paths")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--icl", default=os.path.join(ROOT, ".build/release/icl"))
    ap.add_argument("--kernel-dir", default=os.path.join(ROOT, "Kernels"))
    ap.add_argument("--set", default="", help="config fields for icl train --set (e.g. \"m=256 dX=60\")")
    ap.add_argument("--train-steps", type=int, default=0,
                    help="profile N steps of `icl train` with the config's lr (most of the quick start's steps "
                         "back-propagate nothing) instead of 4000 steps at lr 1e-30, in which every prompt "
                         "back-propagates, as in icl bench's training rows")
    ap.add_argument("--kernel", help="another kernel of the pipeline to split into parts (default: its tile kernel); "
                    "its own file is the one of the program's files that defines it")
    a = ap.parse_args()
    for tool in ("perf", "objdump", "nm"):
        if not shutil.which(tool):
            sys.exit(f"kernel_parts: {tool} is not installed; apt-get install linux-perf binutils, then rerun.")
    if not os.access(a.icl, os.X_OK):
        sys.exit(f"kernel_parts: no icl at {a.icl}; run `swift build -c release` or pass --icl PATH.")
    work = tempfile.mkdtemp(prefix="kernel-parts-")
    env = dict(os.environ, POCL_EXTRA_BUILD_FLAGS="-g", POCL_CACHE_DIR=os.path.join(work, "pocl"),
               ICL_CACHE_DIR="off", ICL_KERNEL_DIR=a.kernel_dir)
    if a.pipeline == "pattern" and a.portable:
        env["ICL_PORTABLE_KERNELS"] = "1"
    devices = subprocess.run([a.icl, "devices"], capture_output=True, text=True, env=env).stdout
    m = re.search(r"(avx512|avx2|portable) path", devices)
    target = m.group(1) if m else "portable"
    path = target if a.pipeline == "pattern" else "portable"
    files, kernel = program_files(a.pipeline, path, target)
    kernel_file = kernel + ".cl"
    if a.kernel:
        kernel = a.kernel
        owner = [f for f in files if re.search(r"__kernel\b[^;{]*?\b" + kernel + r"\s*\(",
                                               open(os.path.join(a.kernel_dir, f), encoding="utf-8").read())]
        if not owner:
            sys.exit(f"kernel_parts: no kernel {kernel} in the {a.pipeline} pipeline's files ({', '.join(files)}).")
        kernel_file = owner[0]
    perf_data = os.path.join(work, "perf.data")
    # Not `icl bench`: its inference rows run the tile kernel built a second time (the evaluation program), and that
    # build would get the most samples. A tiny lr keeps every margin below 1, as the bench's step size 0 does.
    steps, lr = (a.train_steps, "") if a.train_steps > 0 else (4000, "lr=1e-30 ")
    cmd = [a.icl, "train", "--out", os.path.join(work, "run"), "--pipeline", a.pipeline, "--quiet",
           "--set", f"steps={steps} batch={a.batch} {lr}evalEvery=0 checkpointEvery=0 evalPrompts=100 {a.set}"]
    print("running:", " ".join(cmd), file=sys.stderr)
    train = subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "4000", "-o", perf_data, "--"] + cmd,
                           capture_output=True, text=True, env=env)
    if train.returncode != 0:
        sys.exit(f"kernel_parts: {' '.join(cmd[:2])} failed:\n{train.stderr[-2000:]}")
    print("device:", next((row.strip() for row in devices.splitlines() if row.strip().startswith("opencl:")), "?"))
    script = subprocess.run(["perf", "script", "-i", perf_data, "-F", "ip,sym,symoff,dso"], capture_output=True,
                            text=True, check=True).stdout
    per_kernel = collections.Counter()
    # A kernel built twice (a program per batch or length, as training and evaluation have) has a shared object per
    # build; the parts are of the one with the most samples.
    by_object = collections.defaultdict(list)
    for row in script.splitlines():
        m = re.match(r"^\s*[0-9a-f]+ (\S+)\+0x([0-9a-f]+) \((\S+\.so)\)", row)
        if not m or "/kernel-parts-" not in m.group(3):
            continue
        name = os.path.basename(m.group(3))[:-3]
        per_kernel[name] += 1
        if name == kernel:
            by_object[m.group(3)].append((m.group(1), int(m.group(2), 16)))
    so_path = max(by_object, key=lambda p: len(by_object[p])) if by_object else None
    tile_samples = by_object.get(so_path, [])
    if not tile_samples:
        sys.exit(f"kernel_parts: perf recorded no samples in {kernel}; is {a.pipeline} running on a CPU-variant "
                 f"PoCL device?")
    kernel_total = sum(per_kernel[k] for k in per_kernel if not k.startswith("icl_"))
    print(f"\nkernels of the step (share of their cpu-clock samples; the ceiling probes left out):")
    for name, n in per_kernel.most_common():
        if not name.startswith("icl_"):
            print(f"  {name:24s} {100 * n / kernel_total:5.1f} %")
    syms = symbols(so_path)
    table = decoded_lines(so_path)
    addrs = [p[0] for p in table]
    owners = line_owners(files, a.kernel_dir, kernel_file)
    mapping, matched = workgroup_to_kernel(instructions(so_path), kernel)
    parts = collections.Counter()
    order = {}
    aligned = 0
    for sym, off in tile_samples:
        addr = syms.get(sym, 0) + off
        if sym.endswith("_workgroup"):
            aligned += addr in matched
            addr = mapping.get(addr, addr)
        else:
            aligned += 1
        i = bisect.bisect_right(addrs, addr) - 1
        line = table[i][1] if i >= 0 else 0
        owner = owners[line][1] if 0 < line < len(owners) else "no line (compiler-made code)"
        parts[owner] += 1
        order.setdefault(owner, line if line else 10 ** 9)
    print(f"\n{kernel}: {len(tile_samples)} samples, by part (source order); {100 * aligned / len(tile_samples):.0f} % of "
          f"them on instructions aligned with the line-tabled copy, the rest counted with the aligned one before:")
    for owner in sorted(parts, key=lambda o: order[o]):
        print(f"  {100 * parts[owner] / len(tile_samples):5.1f} %  {owner}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
