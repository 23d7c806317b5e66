#!/usr/bin/env python3
"""E4/E5 regime search verdict: reads the sweep.csv of each `icl sweep` folder given (each with a measure
`prune magnitude,random ...`), and for every grid point, test length l and pruning rate R > 0 computes, per seed,
  gap      = (mean over random draws of the error) - (magnitude pruning's error)      [random worse when > 0]
  rise     = magnitude pruning's error - the unpruned error
then the mean over seeds and its 95% t interval (t(n-1)·std/sqrt(n)). The paper's separation at a point (E4's
claim lines: magnitude pruning within 1.5x the unpruned error, random pruning ≈1e-2 → 4.5e-2 against an unpruned
7e-3) is: random pruning's error is at least 1.5x the unpruned one and above magnitude pruning's beyond the
interval, while magnitude pruning stays within 1.5x the unpruned error. Writes regime.csv, regime.svg (the largest gap found at each grid point, with its bar) and
prints the verdict as markdown. Standard library only.

usage: regime_verdict.py OUT_DIR SWEEP_DIR [SWEEP_DIR ...]
"""
import csv, math, os, sys
from collections import defaultdict

def load(folder):
    rows = list(csv.DictReader(open(os.path.join(folder, "sweep.csv"))))
    axes = []
    for c in rows[0].keys():
        if c == "seed": break
        axes.append(c)
    return axes, [r for r in rows if r["measure"].startswith("prune") and r["metric"] == "error"]

# Two-sided 95% quantiles of Student's t for 1..10 degrees of freedom.
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]

def mean_ci(xs):
    """Mean and the half-width of its 95% t interval."""
    n = len(xs)
    m = sum(xs) / n
    if n < 2: return m, float("nan"), n
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    return m, (T95[n - 2] if n - 2 < len(T95) else 1.96) * sd / math.sqrt(n), n

def analyse(folder):
    axes, rows = load(folder)
    # (point, l, rate, method, seed) -> [errors over draws]
    cell = defaultdict(list)
    for r in rows:
        point = ",".join(f"{a}={r[a]}" for a in axes)
        cell[(point, int(r["length"]), float(r["rate"]), r["method"], int(r["seed"]))].append(float(r["value"]))
    points = list(dict.fromkeys(k[0] for k in cell))
    out = []
    for point in points:
        for l in sorted({k[1] for k in cell if k[0] == point}):
            seeds = sorted({k[4] for k in cell if k[0] == point and k[1] == l})
            base = {s: cell[(point, l, 0.0, "magnitude", s)][0] for s in seeds}
            for rate in sorted({k[2] for k in cell if k[0] == point and k[1] == l and k[2] > 0}):
                gaps, rises = [], []
                for s in seeds:
                    mag = cell[(point, l, rate, "magnitude", s)][0]
                    rnd = cell[(point, l, rate, "random", s)]
                    gaps.append(sum(rnd) / len(rnd) - mag)
                    rises.append(mag - base[s])
                g, gse, n = mean_ci(gaps)
                ri, rise_se, _ = mean_ci(rises)
                unpruned = sum(base.values()) / len(base)
                magnitude = unpruned + ri
                random = magnitude + g
                separated = g > gse and random >= 1.5 * unpruned and magnitude <= 1.5 * unpruned
                out.append(dict(sweep=os.path.basename(folder.rstrip("/")), point=point, length=l, rate=rate, seeds=n,
                                unpruned=unpruned, magnitude=magnitude, random=random,
                                gap=g, gap_ci95=gse, rise=ri, rise_ci95=rise_se, separated=separated))
    return out

def svg(results, path):
    # One row per (sweep, point): the largest gap over l and R, with its two-standard-error bar.
    best = {}
    for r in results:
        key = (r["sweep"], r["point"])
        if key not in best or r["gap"] > best[key]["gap"]: best[key] = r
    items = list(best.values())
    lo = min(min(r["gap"] - r["gap_ci95"] for r in items), -1e-3)
    hi = max(max(r["gap"] + r["gap_ci95"] for r in items), 1e-3)
    W, rowh, left, top = 900, 18, 330, 60
    H = top + rowh * len(items) + 60
    x = lambda v: left + (v - lo) / (hi - lo) * (W - left - 30)
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W/2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">E4/E5 regime search: random − magnitude pruning, OOD error</text>',
         f'<text x="{W/2}" y="38" text-anchor="middle">largest gap over l and R at each grid point (mean over seeds, 95% t interval); right of 0: random pruning worse</text>',
         f'<line x1="{x(0):.1f}" y1="{top-5}" x2="{x(0):.1f}" y2="{top + rowh*len(items)}" stroke="#888" stroke-dasharray="4 3"/>']
    for i, r in enumerate(items):
        y = top + rowh * i + rowh / 2
        colour = "#d62728" if r["separated"] else "#1f77b4"
        s.append(f'<text x="{left-8}" y="{y+4:.1f}" text-anchor="end">{r["sweep"]}: {r["point"]} (l={r["length"]}, R={r["rate"]:g})</text>')
        if not math.isnan(r["gap_ci95"]):
            s.append(f'<line x1="{x(r["gap"]-r["gap_ci95"]):.1f}" y1="{y:.1f}" x2="{x(r["gap"]+r["gap_ci95"]):.1f}" y2="{y:.1f}" stroke="{colour}"/>')
        s.append(f'<circle cx="{x(r["gap"]):.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>')
    yb = top + rowh * len(items) + 10
    s.append(f'<line x1="{left}" y1="{yb}" x2="{W-30}" y2="{yb}" stroke="black"/>')
    for k in range(6):
        v = lo + (hi - lo) * k / 5
        s.append(f'<line x1="{x(v):.1f}" y1="{yb}" x2="{x(v):.1f}" y2="{yb+4}" stroke="black"/><text x="{x(v):.1f}" y="{yb+16}" text-anchor="middle">{v:.1e}</text>')
    s.append(f'<text x="{(left+W-30)/2}" y="{yb+36}" text-anchor="middle">OOD error: random pruning − magnitude pruning (red: the paper\'s separation, outside the bar)</text>')
    s.append("</svg>")
    open(path, "w").write("\n".join(s) + "\n")

def main():
    if len(sys.argv) < 3: sys.exit(__doc__)
    out, folders = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    results = [r for f in folders for r in analyse(f)]
    with open(os.path.join(out, "regime.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(results[0].keys()))
        w.writeheader()
        for r in results: w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    svg(results, os.path.join(out, "regime.svg"))
    hits = [r for r in results if r["separated"]]
    top = max(results, key=lambda r: r["gap"])
    worst_rise = max(results, key=lambda r: r["rise"])
    random_rise = max(results, key=lambda r: r["random"] - r["unpruned"])
    print(f"{len({(r['sweep'], r['point']) for r in results})} grid points, {len(results)} (point, l, R) cells, "
          f"{results[0]['seeds']} seeds each.")
    print(f"Cells where random pruning raises the OOD error above magnitude pruning's (outside the 95% interval) and to at least 1.5x unpruned, "
          f"while magnitude pruning stays within 1.5x unpruned: {len(hits)}.")
    for r in hits:
        print(f"- {r['sweep']} {r['point']} l={r['length']} R={r['rate']:g}: unpruned {r['unpruned']:.4g}, magnitude "
              f"{r['magnitude']:.4g}, random {r['random']:.4g} (gap {r['gap']:+.2e} ± {r['gap_ci95']:.1e})")
    print(f"Largest gap anywhere: {top['sweep']} {top['point']} l={top['length']} R={top['rate']:g}: "
          f"{top['gap']:+.2e} ± {top['gap_ci95']:.1e} (unpruned {top['unpruned']:.4g}, magnitude {top['magnitude']:.4g}, random {top['random']:.4g}).")
    print(f"Largest rise of magnitude pruning over unpruned: {worst_rise['sweep']} {worst_rise['point']} l={worst_rise['length']} "
          f"R={worst_rise['rate']:g}: {worst_rise['rise']:+.2e} ± {worst_rise['rise_ci95']:.1e} (unpruned {worst_rise['unpruned']:.4g}).")
    print(f"Largest rise of random pruning over unpruned: {random_rise['sweep']} {random_rise['point']} l={random_rise['length']} "
          f"R={random_rise['rate']:g}: {random_rise['random'] - random_rise['unpruned']:+.2e} (unpruned {random_rise['unpruned']:.4g}, "
          f"random {random_rise['random']:.4g}, magnitude {random_rise['magnitude']:.4g}).")

main()
