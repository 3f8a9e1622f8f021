"""The whole US market (``us-all``) against the demo: ingest memory, and the chain per live security-day.

Two measurements, each in fresh subprocesses so every peak RSS is its own:

1. **Ingest**: ``ingest synthetic --preset us-all`` (generation and the chunked, single-
   transaction ingest, the same code path as the CLI) at ``--ingest-scale`` (default 1.0,
   the full market: about 25,000 securities, 46 million live security-days): wall time,
   peak RSS, rows. Target: peak at most 8 GiB.
2. **Chain** (load, signals + scorecard, backtest, report; as ``bench_scaling.py``) on the
   demo and on ``us-all`` at the ``--scales`` given, side by side in one run: time and peak
   RSS per million *live* security-days, their ratio to the demo's, and where the memory
   goes (the ``(T, N)`` arrays the market holds at the end, by dtype). A point whose peak,
   extrapolated from the points before it, would not fit in the available memory is
   skipped and extrapolated instead of pushing a shared machine into swap; the full
   ``us-all`` chain is extrapolated from the measured bytes per ``(date, id)`` cell.
   Targets (issue 16): peak at most 8 GiB, time per live security-day at most 1.3x the demo's.

It also prints the cells a panel would hold if securities were stored in blocks grouped
by listing window (each block over the days from its first listing to its last
delisting), the layout the generator already uses, against the dense ``(T, N)`` panel
and the live security-days.

Run: ``.venv/bin/python benchmarks/bench_us_all.py [--ingest-scale 1.0] [--scales 0.05 0.1 0.2] [--skip-ingest]``
(run it with ``nice -n 10`` on a shared machine; the full ingest takes a few minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
GiB = 2**30


def ingest(kind: str, scale: float, db: str) -> dict:
    """Generate ``kind`` (``demo`` or ``us-all`` at ``scale``) and store it in ``db``; time, rows, peak RSS."""
    import resource

    from broadening.providers.synthetic import generate, stream
    from broadening.warehouse import Warehouse

    t = time.perf_counter()
    with Warehouse(db) as wh:
        if kind == "demo":
            m = generate(seed=7, preset="demo")
            rep = wh.ingest(m.tables, source="synthetic", synthetic=True, replace=True, meta=m.meta)
        else:
            ms = stream(seed=7, preset="us-all", scale=scale)
            rep = wh.ingest_chunks(ms, source="synthetic", synthetic=True, replace=True, meta=lambda: ms.meta)
    return {"seconds": time.perf_counter() - t, "rows": rep.rows,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def chain(db: str) -> dict:
    """Load the market from ``db`` and run signals + backtest + report in this process."""
    import resource
    import threading

    import numpy as np
    import psutil

    from broadening.config import load_config
    from broadening.market import load_market
    from broadening.playbook.config import load_playbook_config
    from broadening.playbook.suite import run_backtests
    from broadening.report import build_report
    from broadening.signals import scorecard
    from broadening.signals.regime import diffusion_score
    from broadening.warehouse import Warehouse

    proc, peak = psutil.Process(), [0]

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    times, peaks = {}, {}

    def stage(name, fn):
        peak[0] = proc.memory_info().rss
        t = time.perf_counter()
        out = fn()
        times[name], peaks[name] = time.perf_counter() - t, peak[0] / 2**20
        return out

    with Warehouse(db, read_only=True) as wh:
        market = stage("load", lambda: load_market(wh))
    cfg, pcfg = load_config(None), load_playbook_config(None)
    card = stage("signals", lambda: scorecard(market, cfg))
    suite = stage("backtest", lambda: run_backtests(market, pcfg, regime_score=diffusion_score(market, cfg),
                                                    basket_config=cfg))
    with tempfile.TemporaryDirectory() as d:
        stage("report", lambda: build_report(market, Path(d) / "r.html", cfg=cfg, suite=suite, card=card))
    T, N = market.shape
    held = _held_panels(market, T * N)
    first, last = market.first_index, market.last_index
    return {"T": T, "N": N, "live": int(market.alive.sum()), **times,
            **{f"peak_{k}": v for k, v in peaks.items()},
            "chain": times["signals"] + times["backtest"] + times["report"],
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "held": held, "block_cells": _block_cells(np.asarray(first), np.asarray(last), 500)}


def _held_panels(market, cells: int) -> dict[str, float]:
    """MiB of the ``(T, N)``-sized arrays the market holds (each buffer once), by dtype."""
    import numpy as np

    seen: set[int] = set()
    by: dict[str, float] = {}

    def add(v) -> None:
        if isinstance(v, np.ndarray) and v.size >= cells // 4:
            b = v
            while isinstance(b.base, np.ndarray):
                b = b.base
            if id(b) not in seen:
                seen.add(id(b))
                by[str(v.dtype)] = by.get(str(v.dtype), 0.0) + b.nbytes / 2**20

    def walk(v, depth: int = 0) -> None:
        add(v)
        if depth < 2:
            items = v if isinstance(v, (list, tuple)) else v.values() if isinstance(v, dict) else (
                vars(v).values() if hasattr(v, "__dict__") and not isinstance(v, type) else ())
            for x in items:
                walk(x, depth + 1)

    for v in list(vars(market).values()):
        if isinstance(v, np.ndarray):
            add(v)
    for v in market._cache.values():  # noqa: SLF001 (a benchmark looks inside)
        walk(v)
    return by


def _block_cells(first, last, size: int) -> int:
    """Cells of a panel stored in blocks of ``size`` securities grouped by listing window."""
    import numpy as np

    from broadening.providers.synthetic.stream import blocks_by_listing_window

    blocks = blocks_by_listing_window(first, last, np.zeros(len(first), dtype=bool), size)
    return int(sum((last[b].max() - first[b].min() + 1) * len(b) for b in blocks if len(b)))


def _sub(args: list[str], timeout: float) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _available() -> float:
    import psutil

    return float(psutil.virtual_memory().available)


def _us_all_cells(scale: float) -> tuple[int, int]:
    """(ids, days) of the us-all market at ``scale``, from its listing history (cheap: no prices)."""
    from broadening.providers.synthetic import PRESETS
    from broadening.providers.synthetic.listings import draw_us_listings
    from broadening.providers.synthetic.presets import scaled
    from broadening.providers.synthetic.state import GeneratorState

    g = GeneratorState(7, scaled(PRESETS["us-all"], scale), "broadening")
    draw_us_listings(g)
    return g.N, g.T


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingest-scale", type=float, default=1.0, help="scale of the us-all ingest measurement")
    ap.add_argument("--skip-ingest", action="store_true", help="only the chain comparison")
    ap.add_argument("--scales", nargs="*", type=float, default=[0.05, 0.1, 0.2], help="us-all scales for the chain")
    ap.add_argument("--memory-share", type=float, default=0.6, help="skip a chain point above this share of free memory")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        import warnings

        warnings.filterwarnings("ignore")
        what, kind_scale, db = args.child
        kind, scale = kind_scale.split(":")
        print(json.dumps(ingest(kind, float(scale), db) if what == "ingest" else chain(db)))
        return

    print("shared 2-core machine, other jobs running: timings are noisy (one run each)")
    if not args.skip_ingest:
        with tempfile.TemporaryDirectory() as d:
            r = _sub(["--child", "ingest", f"us-all:{args.ingest_scale}", str(Path(d) / "u.duckdb")], args.timeout)
        rows = r["rows"]
        print(f"\ningest synthetic --preset us-all (scale {args.ingest_scale}): {rows['securities']:,} securities, "
              f"{rows['prices']:,} price rows (live security-days), {r['seconds']:.0f} s, "
              f"peak RSS {r['peak_mib'] / 1024:.2f} GiB (target <= 8 GiB)")

    points: list[tuple[str, float]] = [("demo", 1.0)] + [("us-all", s) for s in args.scales]
    res: list[dict] = []
    print(f"\n{'market':<14}{'ids':>7}{'days':>6}{'M cells':>8}{'M live':>7}{'load s':>7}{'chain s':>8}"
          f"{'s/M live':>9}{'x demo':>7}{'peak MiB':>9}{'B/live':>7}{'x demo':>7}{'B/cell':>7}{'blocks/live':>12}")
    per_cell = None
    for kind, scale in points:
        name = "demo" if kind == "demo" else f"us-all@{scale:g}"
        if kind != "demo" and per_cell:
            n, t = _us_all_cells(scale)
            est = per_cell * n * t
            if est > args.memory_share * _available():
                print(f"{name:<14}{n:>7,}{t:>6,} skipped: estimated peak {est / GiB:.1f} GiB")
                continue
        with tempfile.TemporaryDirectory() as d:
            db = str(Path(d) / "w.duckdb")
            _sub(["--child", "ingest", f"{kind}:{scale}", db], args.timeout)
            r = _sub(["--child", "chain", f"{kind}:{scale}", db], args.timeout)
        r["name"] = name
        res.append(r)
        cells = r["N"] * r["T"]
        per_cell = r["peak_mib"] * 2**20 / cells
        base = res[0]
        s_live = r["chain"] / (r["live"] / 1e6)
        b_live = r["peak_mib"] * 2**20 / r["live"]
        s0 = base["chain"] / (base["live"] / 1e6)
        b0 = base["peak_mib"] * 2**20 / base["live"]
        print(f"{name:<14}{r['N']:>7,}{r['T']:>6,}{cells / 1e6:>8.1f}{r['live'] / 1e6:>7.1f}{r['load']:>7.1f}"
              f"{r['chain']:>8.1f}{s_live:>9.2f}{s_live / s0:>7.2f}{r['peak_mib']:>9,.0f}{b_live:>7.0f}"
              f"{b_live / b0:>7.2f}{per_cell:>7.0f}{r['block_cells'] / r['live']:>12.2f}", flush=True)
    print("\nwhere the memory goes (MiB of (T, N) arrays held after the chain, by dtype):")
    for r in res:
        held = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(r["held"].items(), key=lambda kv: -kv[1]))
        print(f"  {r['name']:<14} {held}; stage peaks: " +
              ", ".join(f"{k} {r[f'peak_{k}']:,.0f}" for k in ("load", "signals", "backtest", "report")))
    full_n, full_t = _us_all_cells(1.0)
    us = [r for r in res if r["name"] != "demo"]
    if us:
        big = max(us, key=lambda r: r["N"] * r["T"])
        per_cell = big["peak_mib"] * 2**20 / (big["N"] * big["T"])
        print(f"\nfull us-all: {full_n:,} ids x {full_t:,} days = {full_n * full_t / 1e6:,.0f} M cells; at "
              f"{per_cell:.0f} B per cell (measured on {big['name']}) the dense chain would peak near "
              f"{per_cell * full_n * full_t / GiB:.0f} GiB (target 8 GiB)")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "us_all.json").write_text(json.dumps(res, indent=1))
    try:
        plot(res, OUT / "us_all.png")
        print(f"results: {OUT / 'us_all.json'}; plot: {OUT / 'us_all.png'}")
    except ImportError:
        print(f"results: {OUT / 'us_all.json'} (matplotlib not installed: no plot)")


def plot(res: list[dict], path: Path) -> None:
    """Time and peak memory per live security-day against cells per live security-day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in res:
        x = r["N"] * r["T"] / r["live"]
        ys = (r["chain"] / (r["live"] / 1e6), r["peak_mib"] * 2**20 / r["live"])
        for ax, y in zip(axes, ys, strict=True):
            ax.plot([x], [y], "o", color="C1" if r["name"] == "demo" else "C0")
            ax.annotate(r["name"], (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    axes[0].set(xlabel="cells (ids x days) per live security-day", ylabel="chain seconds per M live security-days",
                title="Time follows cells, not live security-days")
    axes[1].set(xlabel="cells (ids x days) per live security-day", ylabel="peak bytes per live security-day",
                title="Memory follows cells, not live security-days")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
