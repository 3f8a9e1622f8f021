"""Benchmark: every signal (C1-C10), the regime and the scorecard on a synthetic market.

Usage::

    python benchmarks/bench_signals.py              # demo preset (target <= 3 s)
    python benchmarks/bench_signals.py --research   # also the research preset (target <= 15 s)

For each preset it generates the market, loads it as a :class:`~broadening.market.Market`,
then times one cold call of ``compute_signals`` + ``scorecard`` (this includes the lazily
built fundamental panels of the market) and a second, warm call on a fresh market whose
fundamental panels were built beforehand (the cost of the signals alone). It prints wall
and CPU time (on a shared machine CPU time is the fairer number), the peak memory traced
by ``tracemalloc`` during the cold run (numpy reports its buffers to it) and the process's
peak resident set size.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc

from broadening.market import Market
from broadening.providers.synthetic import generate
from broadening.signals import compute_signals, scorecard

TARGETS = {"demo": 3.0, "research": 15.0}
FUNDAMENTALS = (("net_income", True), ("book_equity", False), ("total_debt", False),
                ("operating_income", True), ("revenue", True))


def _run(market: Market) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    compute_signals(market)
    scorecard(market)
    return time.perf_counter() - t0, time.process_time() - c0


def bench(preset: str, seed: int) -> dict[str, float]:
    t = time.perf_counter()
    tables = generate(seed=seed, preset=preset, regime="broadening").tables
    gen = time.perf_counter() - t
    t = time.perf_counter()
    market = Market.from_tables(tables, synthetic=True)
    load = time.perf_counter() - t
    T, N = market.shape

    cold_wall, cold_cpu = _run(market)
    del market
    gc.collect()

    warm_market = Market.from_tables(tables, synthetic=True)
    t = time.perf_counter()
    for name, ttm in FUNDAMENTALS:
        warm_market.fundamental(name, ttm=ttm)
    _ = warm_market.returns, warm_market.market_cap
    panels = time.perf_counter() - t
    warm_wall, warm_cpu = _run(warm_market)
    del warm_market
    gc.collect()

    mem_market = Market.from_tables(tables, synthetic=True)
    gc.collect()
    tracemalloc.start()
    _run(mem_market)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"T": T, "N": N, "generate_s": gen, "load_s": load, "cold_wall_s": cold_wall, "cold_cpu_s": cold_cpu,
            "market_panels_s": panels, "warm_wall_s": warm_wall, "warm_cpu_s": warm_cpu,
            "peak_traced_mb": peak / 2**20, "peak_rss_mb": rss}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--research", action="store_true", help="also run the research preset")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    presets = ["demo"] + (["research"] if args.research else [])
    for p in presets:
        r = bench(p, args.seed)
        print(f"[{p}] {r['T']:,} dates x {r['N']:,} securities (generate {r['generate_s']:.1f} s, load {r['load_s']:.1f} s)")
        print(f"  all signals + scorecard, cold : wall {r['cold_wall_s']:6.2f} s   cpu {r['cold_cpu_s']:6.2f} s"
              f"   (target <= {TARGETS[p]:.0f} s)")
        print(f"  market fundamental panels     : wall {r['market_panels_s']:6.2f} s")
        print(f"  all signals + scorecard, warm : wall {r['warm_wall_s']:6.2f} s   cpu {r['warm_cpu_s']:6.2f} s")
        print(f"  peak memory: traced {r['peak_traced_mb']:,.0f} MiB during signals; process peak RSS {r['peak_rss_mb']:,.0f} MiB")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
