"""Time each Workspace step of the demo chain (what ``broadening demo`` runs).

The steps, in order, on one :class:`~broadening.workspace.Workspace`: ``ingest`` (generate
the synthetic market and store it), ``market`` (load the point-in-time panels), ``scorecard``
(signals and the thesis scorecard), ``backtest`` (the playbook suite, then stored) and
``report`` (the HTML report, given the suite and the scorecard, as the demo does). Each run
is a fresh subprocess on a fresh warehouse, so nothing is cached between runs and the peak
RSS (``ru_maxrss``) is the run's own. Prints the best of ``--runs`` per step and for the
whole chain, plus the largest peak RSS.

The machine this was written on has 2 cores shared with other jobs: expect noise, compare
old and new code in the same invocation (``--src`` takes several source trees, A/B).

Run: ``.venv/bin/python benchmarks/bench_demo_chain.py [--runs 3] [--preset demo] [--src src /tmp/old/src]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

STEPS = ("ingest", "market", "scorecard", "backtest", "report")

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from broadening.workspace import Workspace

out, preset, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
t = {}
ws = Workspace(str(out / "chain.duckdb"))
s = time.perf_counter(); ws.ingest_synthetic(seed=seed, preset=preset); t["ingest"] = time.perf_counter() - s
s = time.perf_counter(); ws.market(); t["market"] = time.perf_counter() - s
s = time.perf_counter(); card = ws.scorecard(); t["scorecard"] = time.perf_counter() - s
s = time.perf_counter(); suite = ws.backtest(); ws.save_backtest(suite); t["backtest"] = time.perf_counter() - s
s = time.perf_counter(); ws.report(out / "report.html", suite=suite, card=card); t["report"] = time.perf_counter() - s
ws.close()
t["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(t))
"""


def run_once(src: str | None, preset: str, seed: int) -> dict[str, float]:
    """One chain in a fresh process; seconds per step and the peak RSS in MiB."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = str(Path(src).resolve())
    with tempfile.TemporaryDirectory(prefix="bench_chain_") as tmp:
        done = subprocess.run([sys.executable, "-c", _CHILD, tmp, preset, str(seed)], env=env,
                              capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"chain failed ({src or 'installed'}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per source tree (best of)")
    ap.add_argument("--preset", default="demo", help="tiny | demo | research")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--src", nargs="*", default=[None],
                    help="source trees to compare (put first on PYTHONPATH); default: the installed package")
    args = ap.parse_args()
    best: dict[str, dict[str, float]] = {}
    for i in range(args.runs):  # interleaved, so load changes hit every tree alike
        for src in args.src:
            r = run_once(src, args.preset, args.seed)
            r["chain"] = sum(r[s] for s in STEPS)
            b = best.setdefault(str(src or "installed"), {})
            for k, v in r.items():
                b[k] = max(b.get(k, v), v) if k == "peak_rss_mib" else min(b.get(k, v), v)
            print(f"run {i + 1}/{args.runs} {src or 'installed'}: chain {r['chain']:.1f} s", flush=True)
    cols = [*STEPS, "chain", "peak_rss_mib"]
    print(f"\n'{args.preset}' demo chain, best of {args.runs} per step (s); peak RSS is the largest seen (MiB)")
    print(f"{'source':<28}" + "".join(f"{c:>13}" for c in cols))
    for name, b in best.items():
        print(f"{name[-28:]:<28}" + "".join(f"{b[c]:>13.2f}" for c in cols))


if __name__ == "__main__":
    main()
