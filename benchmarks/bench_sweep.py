"""Time a 1,000-variant playbook sweep on the demo market: serial cost per variant, 1 vs 2 Dask workers.

The grid: top-k (5) x cap (5) x schedule (monthly, quarterly) x regime scaling (on, off) x
10 sleeve sets = 1,000 variants, on the ``demo`` synthetic preset (~3,300 securities x 21
years). The base playbook trims in "cap" mode without a tracking-error budget, so the numbers
compare with earlier runs of this benchmark (before the default became a "cut" trim with a 5%
budget); ``--te 0.05`` times the same grid with a tracking-error budget on every variant. Prints the one-off preparation (precomputing what variants share), the serial cost
per variant (best of ``--repeat`` over a sample), and the wall time of the whole sweep on a
LocalCluster of 1 and of 2 workers (cluster start-up reported apart), with the speed-up.
The machine is shared, so timings are noisy: per-variant costs are best-of-N, sweeps single runs
unless ``--repeat`` says otherwise (then best-of-N too).

Run: ``.venv/bin/python benchmarks/bench_sweep.py [--quick] [--warehouse demo.duckdb]``
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np


def sleeve_sets(n: int = 10) -> dict[str, dict[str, float]]:
    """``n`` named sleeve-share sets (the article's, core only, then pairs and mixes)."""
    names = ["quality_domestic_cyclicals", "ai_adopters", "small_cap_quality", "bdcs"]
    sets = {
        "article": {"equal_weight_core": 0.30, "quality_domestic_cyclicals": 0.25, "ai_adopters": 0.20,
                    "small_cap_quality": 0.15, "bdcs": 0.10},
        "core": {"equal_weight_core": 1.0},
    }
    for a in names:
        sets[f"core+{a.split('_')[0]}"] = {"equal_weight_core": 0.5, a: 0.5}
    for a, b in itertools.combinations(names, 2):
        if len(sets) >= n:
            break
        sets[f"{a.split('_')[0]}+{b.split('_')[0]}"] = {"equal_weight_core": 0.4, a: 0.3, b: 0.3}
    return dict(list(sets.items())[:n])


def grid_doc(quick: bool, te: float = 0.0) -> dict:
    """The benchmark grid, on a base playbook written to a temporary file ("cap" trim, budget ``te``)."""
    import tempfile
    from pathlib import Path

    base = Path(tempfile.mkdtemp()) / "base.toml"
    base.write_text(f'[trim]\nmode = "cap"\n[constraints]\ntracking_error_budget = {te}\n')
    doc = _grid(quick)
    doc["sweep"] = {"playbook": str(base)}
    return doc


def _grid(quick: bool) -> dict:
    if quick:
        return {"grid": {"top_k": [3, 5], "cap": [0.02, 0.04, 0.06], "schedule": ["monthly", "quarterly"],
                         "regime_scaling": [True, False], "sleeves": sleeve_sets(4)}}
    return {"grid": {"top_k": [5, 10, 15, 20, 25], "cap": [0.01, 0.02, 0.03, 0.04, 0.05],
                     "schedule": ["monthly", "quarterly"], "regime_scaling": [True, False],
                     "sleeves": sleeve_sets(10)}}


def load_market(preset: str, warehouse: str | None):
    from broadening.market import Market
    from broadening.market import load_market as load
    from broadening.providers.synthetic import generate
    from broadening.warehouse import Warehouse

    if warehouse:
        with Warehouse(warehouse, read_only=True) as wh:
            return load(wh)
    return Market.from_tables(generate(seed=7, preset=preset).tables, synthetic=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny preset, 96 variants")
    ap.add_argument("--warehouse", help="read the market from this warehouse instead of generating the preset")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each sweep (best of)")
    ap.add_argument("--sample", type=int, default=40, help="variants timed serially for the per-variant cost")
    ap.add_argument("--te", type=float, default=0.0, help="tracking-error budget of the base playbook (0 = off)")
    ap.add_argument("--serial-only", action="store_true", help="skip the Dask runs")
    args = ap.parse_args()

    import logging

    from distributed import Client

    from broadening.signals.regime import diffusion_score
    from broadening.sweep.grid import parse_grid
    from broadening.sweep.run import evaluate, local_cluster, prepare, run_variants

    preset = "tiny" if args.quick else "demo"
    t = time.perf_counter()
    market = load_market(preset, args.warehouse)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    score = diffusion_score(market)
    t_score = time.perf_counter() - t
    grid = parse_grid(grid_doc(args.quick, args.te), "bench_sweep grid")
    t = time.perf_counter()
    data, grid = prepare(market, grid, regime_score=score)
    t_prep = time.perf_counter() - t
    n = len(grid.variants)
    T, N = market.shape
    print(f"sweep benchmark: {preset} market {N:,} securities x {T:,} days; {n:,} variants "
          f"({', '.join(f'{k} {len(v)}' for k, v in grid.axes.items())})")
    print(f"  one-off: load market {t_load:.1f} s, regime score {t_score:.1f} s, prepare shared data {t_prep:.1f} s "
          f"({data.nbytes / 2**20:,.0f} MiB scattered once; {len(data.ids):,} holdable securities)")

    rng = np.random.default_rng(0)
    sample = [grid.variants[i] for i in sorted(rng.choice(n, size=min(args.sample, n), replace=False))]
    for sched in grid.axes["schedule"]:
        evaluate(data, next(v for v in grid.variants if v.config.portfolio.schedule == sched))  # growth blocks
    best = np.inf
    cpu = np.inf
    for _ in range(3):
        t = time.perf_counter()
        c = time.process_time()
        for v in sample:
            evaluate(data, v)
        best = min(best, (time.perf_counter() - t) / len(sample))
        cpu = min(cpu, (time.process_time() - c) / len(sample))
    per = {}
    for sched in grid.axes["schedule"]:
        vs = [v for v in sample if v.config.portfolio.schedule == sched][:10]
        tt = np.inf
        for _ in range(3):
            t = time.perf_counter()
            for v in vs:
                evaluate(data, v)
            tt = min(tt, (time.perf_counter() - t) / max(len(vs), 1))
        per[sched] = tt
    print(f"  serial cost per variant (best of 3 over {len(sample)}): {best * 1e3:.1f} ms wall, {cpu * 1e3:.1f} ms CPU "
          f"({', '.join(f'{k} {v * 1e3:.1f} ms' for k, v in per.items())}); {n:,} variants serially ~ {best * n:.1f} s")
    if args.serial_only:
        return

    walls = {}
    for workers in (1, 2):
        t = time.perf_counter()
        cluster = local_cluster(workers, silence_logs=logging.CRITICAL)
        client = Client(cluster)
        t_start = time.perf_counter() - t
        try:
            runs = []
            cpu0 = client.run(time.process_time)
            for _ in range(args.repeat):
                t = time.perf_counter()
                out = run_variants(data, grid.variants, client=client)
                runs.append(time.perf_counter() - t)
            cpu1 = client.run(time.process_time)
            cpu = sum(cpu1[k] - cpu0.get(k, 0.0) for k in cpu1) / args.repeat
            assert [r["id"] for r in out] == list(range(n))
        finally:
            client.close()
            cluster.close()
        walls[workers] = min(runs)
        print(f"  {workers} worker{'s' if workers > 1 else ' '}: {n:,} variants in {min(runs):.1f} s "
              f"(scatter + evaluate; cluster start-up {t_start:.1f} s apart) = {min(runs) / n * 1e3:.1f} ms/variant wall; "
              f"worker CPU {cpu:.1f} s = {cpu / n * 1e3:.1f} ms/variant")
    target = "" if args.quick else (f"   (target: 1,000 variants on demo <= 60 s on 2 cores: "
                                     f"{'met' if walls[2] <= 60 else 'NOT met'})")
    print(f"  speed-up 1 -> 2 workers: {walls[1] / walls[2]:.2f}x{target}")


if __name__ == "__main__":
    main()
