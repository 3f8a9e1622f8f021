"""Benchmark: every signal (C1-C10), the regime and the scorecard on a synthetic market.

Usage::

    python benchmarks/bench_signals.py              # demo preset (target <= 3 s)
    python benchmarks/bench_signals.py --research   # also the research preset (target <= 15 s)
    python benchmarks/bench_signals.py --runs 5     # more repeats

For each preset it generates the market once, loads it, then times ``compute_signals`` +
``scorecard`` on a *cold* market each run: a fresh :class:`~broadening.market.Market` over
the same loaded arrays with nothing cached, so every derived panel (returns, market caps,
membership masks, the fundamentals' event-in-force index, baskets) is built inside the
timed call. Runs alternate between one thread and the default thread count
(:func:`~broadening.signals.compute.default_workers`), and the best and the median of each
are printed side by side with the target; the verdict uses the median. Wall time is the
measure (threads are the point); CPU time is printed too. Peak memory is traced with
``tracemalloc`` (numpy reports its buffers to it) over one more cold run, and the process's
peak resident set size is printed at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import resource
import statistics
import sys
import time
import tracemalloc

from broadening.market import Market
from broadening.providers.synthetic import generate
from broadening.signals import compute_signals, scorecard
from broadening.signals.compute import default_workers

TARGETS = {"demo": 3.0, "research": 15.0}


def cold(market: Market) -> Market:
    """The same market with every cache empty (the loaded arrays are shared, never written)."""
    return dataclasses.replace(market, _cache={}, _locks={})


def one_run(market: Market, workers: int) -> tuple[float, float]:
    m = cold(market)
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    compute_signals(m, workers=workers)
    scorecard(m, workers=workers)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    del m
    gc.collect()
    return wall, cpu


def bench(preset: str, seed: int, runs: int) -> dict:
    t = time.perf_counter()
    tables = generate(seed=seed, preset=preset, regime="broadening").tables
    gen = time.perf_counter() - t
    t = time.perf_counter()
    market = Market.from_tables(tables, synthetic=True)
    load = time.perf_counter() - t
    del tables
    threads = default_workers()
    settings = [1] if threads == 1 else [1, threads]
    timings: dict[int, list[tuple[float, float]]] = {w: [] for w in settings}
    for _ in range(runs):
        for w in settings:  # alternate, so drift on a shared machine hits both alike
            timings[w].append(one_run(market, w))
    gc.collect()
    tracemalloc.start()
    one_run(market, threads)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"T": market.shape[0], "N": market.shape[1], "generate_s": gen, "load_s": load,
            "timings": timings, "peak_traced_mb": peak / 2**20}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--research", action="store_true", help="also run the research preset")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=3, help="cold runs per thread setting (default 3)")
    args = ap.parse_args(argv)
    presets = ["demo"] + (["research"] if args.research else [])
    for p in presets:
        r = bench(p, args.seed, max(1, args.runs))
        target = TARGETS[p]
        print(f"[{p}] {r['T']:,} dates x {r['N']:,} securities (generate {r['generate_s']:.1f} s, load {r['load_s']:.1f} s)")
        print(f"  all signals + scorecard on a cold market, {args.runs} runs each (target <= {target:.0f} s):")
        for w, ts in r["timings"].items():
            walls = [x for x, _ in ts]
            cpus = [c for _, c in ts]
            med = statistics.median(walls)
            verdict = "met" if med <= target else "MISSED"
            print(f"    {w} thread{'s' if w > 1 else ' '}: wall best {min(walls):6.2f} s, median {med:6.2f} s "
                  f"(cpu median {statistics.median(cpus):6.2f} s)   median vs target: {verdict}")
        print(f"  peak memory traced during one cold run: {r['peak_traced_mb']:,.0f} MiB")
        sys.stdout.flush()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"process peak RSS {rss:,.0f} MiB (includes generating and loading the market)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
