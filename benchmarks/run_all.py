"""Run every benchmark script in ``benchmarks/`` with quick settings (``make bench``).

Each script runs in its own process, one after the other (they would fight over the two
cores otherwise); a failing script is reported and the others still run. Exit status 1 if
any failed.

Run: ``.venv/bin/python benchmarks/run_all.py [--full]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: quick arguments per script (scripts not listed run without arguments)
QUICK = {
    "bench_backtest.py": ["--repeat", "3"],
    "bench_demo_chain.py": ["--runs", "1"],
    "bench_foundation.py": [],
    "bench_signals.py": [],
    "bench_synthetic.py": [],
    "bench_vs_peers.py": ["--quick"],
    "bench_scaling.py": ["--quick"],
    "bench_sweep.py": ["--quick"],
    "profile_demo.py": ["--quick"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="full sizes (takes much longer: bt on 3,000 x 25 years)")
    args = ap.parse_args()
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))
    failed = []
    for p in scripts:
        argv = [] if args.full else QUICK.get(p.name, [])
        print(f"\n=== {p.name} {' '.join(argv)}", flush=True)
        t = time.perf_counter()
        rc = subprocess.call([sys.executable, str(p), *argv], cwd=HERE.parent)
        print(f"=== {p.name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {time.perf_counter() - t:.1f} s", flush=True)
        if rc:
            failed.append(p.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        sys.exit(1)
    print(f"\nall {len(scripts)} benchmarks ran")


if __name__ == "__main__":
    main()
