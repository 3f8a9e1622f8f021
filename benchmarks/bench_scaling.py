"""Scaling curves of the whole chain (signals + backtest + report) over universe size and history.

Each point runs in two subprocesses: the first generates a synthetic market of ``N`` live
securities (a quarter in the large-cap index, the rest small/mid; IPOs and delistings add
more ids over time) over ``Y`` years with a custom :class:`~broadening.providers.synthetic.Preset`
and stores it in a temporary warehouse (not part of the chain); the second (whose peak RSS
is the chain's alone) loads the point-in-time market from it (``load``), then runs, timed
stage by stage: ``signals`` (the thesis scorecard, which
computes every signal family and the regime), ``backtest`` (``run_backtests``: playbook and
its three benchmarks, with the regime score), ``report`` (``build_report`` to HTML). Peak
memory is the chain subprocess's maximum RSS. A point whose memory, extrapolated from the
points already run, would not fit in the available memory is skipped (and says so) rather
than pushing a shared machine into swap.

Prints a table (time per stage, chain total, peak RSS, and the chain time per million
security-days, which is flat when growth is linear in securities x days, and per million live
security-days, with the peak bytes per live security-day; ``bench_us_all.py`` compares these
on the demo and the whole-market ``us-all`` preset) and saves a PNG
plot and a CSV under ``benchmarks/out/`` (``scaling.png``, ``scaling.csv``; ``scaling_quick.*``
with ``--quick``; the directory is git-ignored).

Run: ``.venv/bin/python benchmarks/bench_scaling.py [--quick] [--sizes 500 1000 3000 6000] [--years 5 10 25]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def _preset(n: int, years: int):
    import pandas as pd

    from broadening.providers import synthetic

    end = pd.Timestamp("2025-12-31")
    start = end - pd.DateOffset(years=years) + pd.Timedelta(days=1)
    n_large = max(40, n // 4)
    name = f"bench{n}x{years}"
    synthetic.PRESETS[name] = synthetic.Preset(name, n_large, n - n_large, str(start.date()), str(end.date()),
                                               n_bdc=max(4, n // 130), n_mega=10 if n_large >= 100 else 4)
    return name


def prep(n: int, years: int, db: str) -> dict:
    """Generate the ``n`` x ``years`` synthetic market and store it in the warehouse ``db`` (not timed as chain)."""
    from broadening.providers import synthetic
    from broadening.warehouse import Warehouse

    t = time.perf_counter()
    gen = synthetic.generate(seed=7, preset=_preset(n, years))
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    with Warehouse(db) as wh:
        wh.ingest(gen.tables, source="synthetic", synthetic=True, replace=True, meta=gen.meta)
    return {"generate": t_gen, "ingest": time.perf_counter() - t}


def chain(db: str) -> dict:
    """Load the market from ``db`` and run signals + backtest + report (in this process)."""
    import resource
    import tempfile

    from broadening.config import load_config
    from broadening.market import load_market
    from broadening.playbook.config import load_playbook_config
    from broadening.playbook.suite import run_backtests
    from broadening.report import build_report
    from broadening.signals import scorecard
    from broadening.warehouse import Warehouse

    times: dict[str, float] = {}
    t = time.perf_counter()
    with Warehouse(db, read_only=True) as wh:
        market = load_market(wh)
    times["load"] = time.perf_counter() - t
    cfg, pcfg = load_config(None), load_playbook_config(None)
    t = time.perf_counter()
    card = scorecard(market, cfg)
    times["signals"] = time.perf_counter() - t
    t = time.perf_counter()
    suite = None
    try:
        from broadening.signals.regime import diffusion_score

        suite = run_backtests(market, pcfg, regime_score=diffusion_score(market, cfg), basket_config=cfg)
    except Exception as exc:  # a history too short to backtest still gets a report
        times["backtest_error"] = str(exc)  # type: ignore[assignment]
    times["backtest"] = time.perf_counter() - t
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        build_report(market, Path(d) / "report.html", cfg=cfg, suite=suite, card=card)
    times["report"] = time.perf_counter() - t
    T, N = market.shape
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"T": T, "N": N, "live": int(market.alive.sum()), "peak_mib": peak / 2**20, **times,
            "chain": times["signals"] + times["backtest"] + times["report"]}


def _sub(args: list[str], timeout: float) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_point(n: int, years: int, timeout: float) -> dict:
    """Prepare the warehouse in one subprocess, run the chain in another (its peak RSS is the chain's)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        db = str(Path(d) / "w.duckdb")
        try:
            out = {"n": n, "years": years, **_sub(["--point", str(n), str(years), "--prep", db], timeout)}
            out.update(_sub(["--point", str(n), str(years), "--chain", db], timeout))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return {"n": n, "years": years, "error": str(exc)[:200]}
    return out


def _estimate_bytes(n: int, years: int, done: list[dict]) -> float | None:
    """Peak RSS of a point, extrapolated from the points already run: ``a + b x cells`` (least squares)."""
    import numpy as np

    ok = [r for r in done if "error" not in r and "skipped" not in r]
    if not ok:
        return None
    cells = np.array([r["N"] * r["T"] for r in ok], dtype=float)
    peak = np.array([r["peak_mib"] * 2**20 for r in ok])
    if len(ok) >= 2 and np.ptp(cells) > 0:
        b, a = np.polyfit(cells, peak, 1)
    else:
        a, b = 0.0, float(peak[0] / cells[0])
    same = [r["N"] / r["n"] for r in ok if r["years"] == years]
    ids = n * (max(same) if same else 1.5)
    return float(a + b * ids * 261 * years)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ok = [r for r in rows if "error" not in r and "skipped" not in r]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for years in sorted({r["years"] for r in ok}):
        pts = sorted((r for r in ok if r["years"] == years), key=lambda r: r["N"])
        x = [r["N"] * r["T"] / 1e6 for r in pts]
        axes[0].plot(x, [r["chain"] for r in pts], "o-", label=f"{years} years")
        axes[1].plot(x, [r["peak_mib"] for r in pts], "o-", label=f"{years} years")
    if ok:
        xs = np.array([r["N"] * r["T"] / 1e6 for r in ok])
        ys = np.array([r["chain"] for r in ok])
        k = np.median(ys / xs)
        grid = np.linspace(xs.min(), xs.max(), 50)
        axes[0].plot(grid, k * grid, "k--", lw=1, label="linear in securities x days")
    axes[0].set(xscale="log", yscale="log", xlabel="million security-days (ids x dates)",
                ylabel="seconds (signals + backtest + report)", title="Whole chain: time")
    axes[1].set(xscale="log", yscale="log", xlabel="million security-days (ids x dates)", ylabel="peak RSS (MiB)",
                title="Whole chain: peak memory")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--point", nargs=2, type=int, metavar=("N", "YEARS"), help=argparse.SUPPRESS)
    ap.add_argument("--sizes", nargs="+", type=int, default=[500, 1000, 3000, 6000])
    ap.add_argument("--years", nargs="+", type=int, default=[5, 10, 25])
    ap.add_argument("--quick", action="store_true", help="500 and 1,000 securities over 5 and 10 years")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per point")
    ap.add_argument("--memory-share", type=float, default=0.7,
                    help="skip a point whose estimated peak exceeds this share of the available memory")
    ap.add_argument("--append", action="store_true",
                    help="merge with the points already in benchmarks/out/scaling.csv (same points replaced)")
    ap.add_argument("--replot", action="store_true", help="only redraw the plot from benchmarks/out/scaling.csv")
    ap.add_argument("--prep", help=argparse.SUPPRESS)
    ap.add_argument("--chain", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.point:
        import warnings

        warnings.filterwarnings("ignore")
        n, y = args.point
        print(json.dumps(prep(n, y, args.prep) if args.prep else chain(args.chain)))
        return
    stem = "scaling_quick" if args.quick else "scaling"  # a quick run never overwrites the full curves
    if args.replot:
        import csv

        with open(OUT / f"{stem}.csv", newline="") as fh:
            plot([_typed(r) for r in csv.DictReader(fh)], OUT / f"{stem}.png")
        print(f"plot: {OUT / f'{stem}.png'}")
        return
    sizes, years = ([500, 1000], [5, 10]) if args.quick else (args.sizes, args.years)
    rows: list[dict] = []
    hdr = (f"{'securities':>10} {'years':>5} {'ids':>6} {'days':>5} {'load':>6} {'signals':>8} {'backtest':>8} "
           f"{'report':>7} {'chain':>7} {'s/M sec-days':>12} {'s/M live':>9} {'peak MiB':>9} {'B/live':>7}")
    print("whole chain on synthetic markets, one subprocess per point (shared 2-core machine: noisy)")
    print(hdr)
    for y in years:
        for n in sizes:
            est = _estimate_bytes(n, y, rows)
            avail = _available()
            if est is not None and avail is not None and est > args.memory_share * avail:
                rows.append({"n": n, "years": y, "skipped": f"estimated peak {est / 2**30:.1f} GiB > "
                                                            f"{args.memory_share:.0%} of {avail / 2**30:.1f} GiB available"})
                print(f"{n:>10,} {y:>5} skipped: {rows[-1]['skipped']}", flush=True)
                continue
            r = run_point(n, y, args.timeout)
            rows.append(r)
            if "error" in r:
                print(f"{n:>10,} {y:>5} failed: {r['error']}")
                continue
            per = r["chain"] / (r["N"] * r["T"] / 1e6)
            per_live = r["chain"] / (r["live"] / 1e6)
            print(f"{n:>10,} {y:>5} {r['N']:>6,} {r['T']:>5,} {r['load']:>6.1f} {r['signals']:>8.1f} {r['backtest']:>8.1f} "
                  f"{r['report']:>7.1f} {r['chain']:>7.1f} {per:>12.2f} {per_live:>9.2f} {r['peak_mib']:>9,.0f} "
                  f"{r['peak_mib'] * 2**20 / r['live']:>7.0f}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    import csv

    if args.append and (OUT / f"{stem}.csv").is_file():
        with open(OUT / f"{stem}.csv", newline="") as fh:
            old = [_typed(r) for r in csv.DictReader(fh)]
        have = {(r["n"], r["years"]) for r in rows}
        rows = [r for r in old if (r["n"], r["years"]) not in have] + rows
        rows.sort(key=lambda r: (r["years"], r["n"]))

    keys = sorted({k for r in rows for k in r})
    with open(OUT / f"{stem}.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    try:
        plot(rows, OUT / f"{stem}.png")
        print(f"plot: {OUT / f'{stem}.png'}; table: {OUT / f'{stem}.csv'}")
    except ImportError:
        print("matplotlib not installed (pip install -e '.[bench]'): no plot; table in", OUT / f"{stem}.csv")


def _typed(row: dict) -> dict:
    out: dict = {}
    for k, v in row.items():
        if v in ("", None):
            continue
        try:
            out[k] = int(v) if k in ("n", "years", "N", "T") else float(v)
        except ValueError:
            out[k] = v
    return out


def _available() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return float(psutil.virtual_memory().available)


if __name__ == "__main__":
    main()
