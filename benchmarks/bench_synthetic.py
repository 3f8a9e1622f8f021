"""Generation time and peak memory of the synthetic demo market, per preset.

Usage::

    .venv/bin/python benchmarks/bench_synthetic.py            # tiny and demo
    .venv/bin/python benchmarks/bench_synthetic.py --research # also the research preset
    .venv/bin/python benchmarks/bench_synthetic.py --us-all 1.0  # also us-all, streamed, at that scale

Each preset runs in a fresh subprocess so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import psutil
from broadening.providers.synthetic import generate
from broadening.providers.synthetic import stream
preset, repeat = sys.argv[1], int(sys.argv[2])
base = psutil.Process().memory_info().rss
times, cpu = [], []
for i in range(repeat):
    t0, c0 = time.perf_counter(), time.process_time()
    if preset.startswith("us-all@"):  # streamed: one block at a time, nothing kept
        rows = {}
        for chunk in stream(seed=7, preset="us-all", scale=float(preset.split("@")[1])):
            for k, v in chunk.items():
                rows[k] = rows.get(k, 0) + len(v)
            del chunk
    else:
        m = generate(seed=7, preset=preset)
        rows = {k: len(v) for k, v in m.tables.items()}
        del m
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
print(json.dumps({"preset": preset, "best_s": min(times), "times_s": times, "best_cpu_s": min(cpu),
                  "peak_rss_mb": peak / 2**20, "base_rss_mb": base / 2**20, "rows": rows}))
"""


def run(preset: str, repeat: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, preset, str(repeat)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--research", action="store_true", help="also run the research preset")
    ap.add_argument("--us-all", type=float, metavar="SCALE", help="also us-all at this scale (streamed block by block)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per preset (best is reported)")
    args = ap.parse_args()
    presets = [("tiny", args.repeat), ("demo", args.repeat)]
    if args.research:
        presets.append(("research", 1))
    if args.us_all:
        presets.append((f"us-all@{args.us_all:g}", 1))
    # CPU seconds are less sensitive than wall time to other jobs on a shared machine.
    print(f"{'preset':<14}{'best s':>9}{'best CPU s':>12}{'peak RSS MB':>14}{'price rows':>14}")
    for name, rep in presets:
        r = run(name, rep)
        print(f"{name:<14}{r['best_s']:>9.2f}{r['best_cpu_s']:>12.2f}{r['peak_rss_mb']:>14.0f}"
              f"{r['rows']['prices']:>14,}")


if __name__ == "__main__":
    main()
