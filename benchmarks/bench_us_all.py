"""The whole US market (``us-all``) against the demo: ingest memory, and the chain per live security-day.

Two measurements, each in fresh subprocesses so every peak RSS is its own:

1. **Ingest**: ``ingest synthetic --preset us-all`` (generation and the chunked, single-
   transaction ingest, the same code path as the CLI) at ``--ingest-scale`` (default 1.0,
   the full market: about 25,000 securities, 46 million live security-days): wall time,
   peak RSS, rows. Target: peak at most 8 GiB.
2. **Chain** (load, signals + scorecard, backtest, report; as ``bench_scaling.py``) on the
   demo (and ``--research``), on ``us-all`` at the ``--scales`` given and on a full ``us-all``
   warehouse (``--us-all-db``), side by side in one run, in each ``--layouts`` (``dense``: a
   column per security; ``lanes``: securities packed one after another into columns, see
   ``broadening.lanes``): cells, live security-days, time and peak RSS per million *live*
   security-days and their ratio to the demo's in the same layout, and where the memory goes
   (the ``(T, N)`` arrays the market holds at the end, by dtype, and each stage's peak). A
   dense point whose peak, extrapolated from the points before it, would not fit in the
   available memory is skipped rather than pushing a shared machine into swap.
   Targets (issue 16): peak at most 8 GiB, time per live security-day at most 1.3x the demo's.

Run: ``.venv/bin/python benchmarks/bench_us_all.py [--ingest-scale 1.0] [--scales 0.05 0.1 0.2] [--skip-ingest]
[--research] [--us-all-db /tmp/usall.duckdb] [--layouts dense lanes]``
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


def ingest(kind: str, scale: float, db: str, seed: int = 7) -> dict:
    """Generate ``kind`` (``demo``, ``research`` or ``us-all`` at ``scale``) and store it in ``db``; time, rows, peak RSS."""
    import resource

    from broadening.providers.synthetic import generate, stream
    from broadening.warehouse import Warehouse

    t = time.perf_counter()
    with Warehouse(db) as wh:
        if kind != "us-all":
            m = generate(seed=seed, preset=kind)
            rep = wh.ingest(m.tables, source="synthetic", synthetic=True, replace=True, meta=m.meta)
        else:
            ms = stream(seed=seed, preset="us-all", scale=scale)
            rep = wh.ingest_chunks(ms, source="synthetic", synthetic=True, replace=True, meta=lambda: ms.meta)
    return {"seconds": time.perf_counter() - t, "rows": rep.rows,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def chain(db: str, layout: str = "auto") -> dict:
    """Load the market from ``db`` (in ``layout``) and run signals + backtest + report in this process."""
    import resource
    import threading

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
        market = stage("load", lambda: load_market(wh, layout=layout))
    cfg, pcfg = load_config(None), load_playbook_config(None)
    card = stage("signals", lambda: scorecard(market, cfg))
    suite = stage("backtest", lambda: run_backtests(market, pcfg, regime_score=diffusion_score(market, cfg),
                                                    basket_config=cfg))
    with tempfile.TemporaryDirectory() as d:
        stage("report", lambda: build_report(market, Path(d) / "r.html", cfg=cfg, suite=suite, card=card))
    T, N = market.shape
    held = _held_panels(market, T * N)
    return {"T": T, "N": N, "S": len(market.securities), "packed": market.packed, "live": int(market.alive.sum()),
            **times, **{f"peak_{k}": v for k, v in peaks.items()},
            "chain": times["signals"] + times["backtest"] + times["report"],
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "held": held}


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


def _point(kind: str, scale: float, db: str | None, layouts: list[str], args, per_cell: dict) -> list[dict]:
    """The chain on one market in each layout (its warehouse ingested once, unless given)."""
    name = kind if kind != "us-all" else f"us-all@{scale:g}"
    out = []
    with tempfile.TemporaryDirectory() as d:
        if db is None:
            db = str(Path(d) / "w.duckdb")
            _sub(["--child", "ingest", f"{kind}:{scale}:{args.seed}", db], args.timeout)
        for layout in layouts:
            if kind == "us-all" and per_cell.get(layout):
                n, t = _us_all_cells(scale)
                est = per_cell[layout] * n * t if layout == "dense" else 0.0
                if est > args.memory_share * _available():
                    print(f"{name:<14}{layout:<7}{n:>7,}{t:>6,} skipped: estimated peak {est / GiB:.1f} GiB", flush=True)
                    continue
            r = _sub(["--child", "chain", f"{kind}:{scale}:{layout}", db], args.timeout)
            r["name"], r["layout"] = name, layout
            per_cell[layout] = r["peak_mib"] * 2**20 / (r["N"] * r["T"])
            out.append(r)
            _row(r)
    return out


_BASE: dict[str, dict] = {}


def _row(r: dict) -> None:
    """One line of the table (the first point of each layout is its demo baseline)."""
    cells = r["N"] * r["T"]
    base = _BASE.setdefault(r["layout"], r)  # the demo in the same layout
    s_live = r["chain"] / (r["live"] / 1e6)
    b_live = r["peak_mib"] * 2**20 / r["live"]
    s0 = base["chain"] / (base["live"] / 1e6)
    b0 = base["peak_mib"] * 2**20 / base["live"]
    print(f"{r['name']:<14}{r['layout']:<7}{r['S']:>7,}{r['N']:>7,}{r['T']:>6,}{cells / 1e6:>8.1f}{r['live'] / 1e6:>7.1f}"
          f"{cells / r['live']:>7.2f}{r['load']:>7.1f}{r['chain']:>8.1f}{s_live:>9.2f}{s_live / s0:>7.2f}"
          f"{r['peak_mib']:>9,.0f}{b_live:>7.0f}{b_live / b0:>7.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ingest-scale", type=float, default=1.0, help="scale of the us-all ingest measurement")
    ap.add_argument("--skip-ingest", action="store_true", help="only the chain comparison")
    ap.add_argument("--seed", type=int, default=7, help="generator seed")
    ap.add_argument("--scales", nargs="*", type=float, default=[0.05, 0.1, 0.2], help="us-all scales for the chain")
    ap.add_argument("--research", action="store_true", help="also the research preset")
    ap.add_argument("--us-all-db", help="a warehouse holding the full us-all market (chain at full scale, no ingest)")
    ap.add_argument("--layouts", nargs="*", default=["dense", "lanes"], help="panel layouts to compare")
    ap.add_argument("--memory-share", type=float, default=0.6, help="skip a chain point above this share of free memory")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        import warnings

        warnings.filterwarnings("ignore")
        what, spec, db = args.child
        kind, scale, extra = spec.split(":")
        print(json.dumps(ingest(kind, float(scale), db, int(extra)) if what == "ingest" else chain(db, extra)))
        return

    print("shared 2-core machine, other jobs running: timings are noisy (one run each)")
    if not args.skip_ingest:
        with tempfile.TemporaryDirectory() as d:
            r = _sub(["--child", "ingest", f"us-all:{args.ingest_scale}:{args.seed}", str(Path(d) / "u.duckdb")], args.timeout)
        rows = r["rows"]
        print(f"\ningest synthetic --preset us-all (scale {args.ingest_scale}): {rows['securities']:,} securities, "
              f"{rows['prices']:,} price rows (live security-days), {r['seconds']:.0f} s, "
              f"peak RSS {r['peak_mib'] / 1024:.2f} GiB (target <= 8 GiB)")

    points: list[tuple[str, float, str | None]] = [("demo", 1.0, None)]
    if args.research:
        points.append(("research", 1.0, None))
    points += [("us-all", s, None) for s in args.scales]
    if args.us_all_db:
        points.append(("us-all", 1.0, args.us_all_db))
    res: list[dict] = []
    print("\ns/M live, B/live: chain seconds per million live security-days and peak bytes per live security-day; "
          "x demo: against the demo in the same layout")
    print(f"\n{'market':<14}{'layout':<7}{'secs':>7}{'cols':>7}{'days':>6}{'M cells':>8}{'M live':>7}{'cells/l':>7}"
          f"{'load s':>7}{'chain s':>8}{'s/M live':>9}{'x demo':>7}{'peak MiB':>9}{'B/live':>7}{'x demo':>7}")
    per_cell: dict[str, float] = {}
    for kind, scale, db in points:
        res += _point(kind, scale, db, args.layouts, args, per_cell)
    print("\nwhere the memory goes (MiB of (T, N) arrays held after the chain, by dtype) and the peak of each stage:")
    for r in res:
        held = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(r["held"].items(), key=lambda kv: -kv[1]))
        print(f"  {r['name']:<14}{r['layout']:<7} {held}; stage peaks: " +
              ", ".join(f"{k} {r[f'peak_{k}']:,.0f}" for k in ("load", "signals", "backtest", "report")))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "us_all.json").write_text(json.dumps(res, indent=1))
    try:
        plot(res, OUT / "us_all.png")
        print(f"results: {OUT / 'us_all.json'}; plot: {OUT / 'us_all.png'}")
    except ImportError:
        print(f"results: {OUT / 'us_all.json'} (matplotlib not installed: no plot)")


def plot(res: list[dict], path: Path) -> None:
    """Time and peak memory per live security-day against cells per live security-day, per layout."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    style = {"dense": ("o", "C0"), "lanes": ("s", "C2"), "auto": ("^", "C1")}
    for r in res:
        x = r["N"] * r["T"] / r["live"]
        ys = (r["chain"] / (r["live"] / 1e6), r["peak_mib"] * 2**20 / r["live"])
        marker, color = style.get(r["layout"], ("x", "C3"))
        for ax, y in zip(axes, ys, strict=True):
            ax.plot([x], [y], marker, color=color)
            ax.annotate(f"{r['name']} {r['layout']}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    axes[0].set(xlabel="cells (columns x days) per live security-day", ylabel="chain seconds per M live security-days",
                title="Time follows cells: lanes bring them to the live days")
    axes[1].set(xlabel="cells (columns x days) per live security-day", ylabel="peak bytes per live security-day",
                title="Memory follows cells (o dense, s lanes)")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
