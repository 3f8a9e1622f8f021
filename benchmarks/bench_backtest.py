"""Time one research-scale backtest: 3,000 securities x 25 years daily, monthly, 10 bps.

The workload is the one the issue quotes for the peer tools: equal weight over the top
half of the universe by 12-1 month momentum, rebalanced on the last trading day of each
month, 10 bps of traded value in costs. Prints, measured side by side in one run (the three
interleaved, best of ``--repeat`` each):

- the **floor**: one numpy pass over the ``(T, N)`` price panel (the faster of a row sum and
  a BLAS matrix-vector product; the engine cannot read its prices in less);
- **warm**: :meth:`Simulation.run` on a simulation built once (what a sweep pays per variant);
- **cold**: ``PriceData.from_prices`` + :func:`backtest` from the raw panel (nothing cached);

and the engine/floor ratios (issue 16: warm within 4x of the floor), the engine's peak
allocation and the peak memory of the process.

The data and weights builders are plain functions so other benchmarks (bt, vectorbt side
by side) can reuse exactly the same inputs::

    prices, dates = make_panel(3000, 25, seed=0)
    pos = rebalance_positions(dates, "monthly")
    W = momentum_half_weights(prices, pos)

Run: ``.venv/bin/python benchmarks/bench_backtest.py [--securities 3000] [--years 25]``
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd
import psutil

from broadening.backtest.engine import CostModel, PriceData, Simulation, backtest
from broadening.backtest.schedule import rebalance_positions


def make_panel(n_securities: int = 3000, n_years: int = 25, seed: int = 0) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Total-return prices ``(T, N)`` with listings and delistings, and their dates.

    One market factor plus idiosyncratic noise (daily vol about 2%); 10% of the names list
    during the sample (NaN before) and 10% delist (NaN after), so the engine's life-cycle
    paths are exercised.

    Returns
    -------
    prices : ndarray, shape (T, N), T = 252 * n_years
    dates : DatetimeIndex, shape (T,)
    """
    rng = np.random.default_rng(seed)
    T, N = 252 * n_years, n_securities
    dates = pd.bdate_range("2000-01-03", periods=T)
    mkt = rng.normal(0.0003, 0.011, size=(T, 1))
    beta = rng.uniform(0.6, 1.4, size=(1, N))
    r = mkt * beta + rng.normal(0.0001, 0.017, size=(T, N))
    prices = 50.0 * np.cumprod(1.0 + r, axis=0)
    k = N // 10
    late = rng.choice(N, size=k, replace=False)
    starts = rng.integers(300, T - 300, size=k)
    rows = np.arange(T)[:, None]
    sub = prices[:, late]
    sub[rows < starts[None, :]] = np.nan
    prices[:, late] = sub
    rest = np.setdiff1d(np.arange(N), late)
    gone = rng.choice(rest, size=k, replace=False)
    ends = rng.integers(300, T - 300, size=k)
    sub = prices[:, gone]
    sub[rows > ends[None, :]] = np.nan
    prices[:, gone] = sub
    return prices, dates


def momentum_half_weights(prices: np.ndarray, positions: np.ndarray, lookback: int = 252, skip: int = 21) -> np.ndarray:
    """Equal weight over the top half by 12-1 momentum at each rebalance, shape (R, N).

    Momentum on date ``t`` = ``P[t - skip] / P[t - lookback] - 1`` (uses nothing after
    ``t``); a name needs a price on ``t`` and both lookback dates. Before a full lookback
    exists, all names with a price are equally weighted.
    """
    R, N = len(positions), prices.shape[1]
    W = np.zeros((R, N))
    for r, t in enumerate(positions):
        alive = ~np.isnan(prices[t])
        if t < lookback:
            W[r, alive] = 1.0 / max(alive.sum(), 1)
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            mom = prices[t - skip] / prices[t - lookback] - 1.0
        ok = alive & np.isfinite(mom)
        n = int(ok.sum())
        if n == 0:
            continue
        cut = np.median(mom[ok])
        top = ok & (mom >= cut)
        W[r, top] = 1.0 / top.sum()
    return W


def run_engine(prices: np.ndarray, dates: pd.DatetimeIndex, W: np.ndarray, pos: np.ndarray, bps: float = 10.0):
    """The timed unit: prices in, daily returns out (returns computed inside)."""
    data = PriceData.from_prices(prices, dates=dates)
    return backtest(data, W, pos, costs=CostModel(bps=bps))


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def floor_pass(prices: np.ndarray) -> dict[str, float]:
    """Wall and CPU seconds of one numpy pass over the panel, two ways: a row sum (a numpy
    reduction: ``sum``, ``sum_cpu``) and a BLAS matrix-vector product (``blas``, ``blas_cpu``:
    the memory-bandwidth bound; BLAS may use several threads, whose CPU time adds up)."""
    ones = np.ones(prices.shape[1])
    out = {}
    for key, fn in (("sum", lambda: prices.sum(axis=1)), ("blas", lambda: prices @ ones)):
        w0, c0 = _clocks()
        fn()
        w1, c1 = _clocks()
        out[key], out[key + "_cpu"] = w1 - w0, c1 - c0
    return out


def engine_vs_floor(prices: np.ndarray, dates: pd.DatetimeIndex, W: np.ndarray, pos: np.ndarray,
                    repeat: int = 7, bps: float = 10.0) -> dict[str, float]:
    """Best-of-``repeat`` seconds of the floors (:func:`floor_pass`), the warm and the cold
    engine, interleaved so that the load of a shared machine weighs on all alike; wall clock
    and CPU time of this process (``*_cpu``: what a loaded machine's waiting does not
    inflate). ``floor`` is the faster of the two passes."""
    sim = Simulation(PriceData.from_prices(prices, dates=dates), pos, costs=CostModel(bps=bps))
    sim.run(W)
    keys = ("sum", "blas", "warm", "cold")
    best = dict.fromkeys(keys + tuple(k + "_cpu" for k in keys), np.inf)
    for _ in range(repeat):
        for k, v in floor_pass(prices).items():
            best[k] = min(best[k], v)
        for key, fn in (("warm", lambda: sim.run(W)), ("cold", lambda: run_engine(prices, dates, W, pos, bps))):
            w0, c0 = _clocks()
            fn()
            w1, c1 = _clocks()
            best[key], best[key + "_cpu"] = min(best[key], w1 - w0), min(best[key + "_cpu"], c1 - c0)
    best["floor"], best["floor_cpu"] = min(best["sum"], best["blas"]), min(best["sum_cpu"], best["blas_cpu"])
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--securities", type=int, default=3000)
    ap.add_argument("--years", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()

    prices, dates = make_panel(args.securities, args.years, seed=0)
    pos = rebalance_positions(dates, "monthly")
    W = momentum_half_weights(prices, pos)
    proc = psutil.Process()
    base = proc.memory_info().rss
    res = run_engine(prices, dates, W, pos)
    t = engine_vs_floor(prices, dates, W, pos, args.repeat)
    peak = _peak_rss()
    tracemalloc.start()
    run_engine(prices, dates, W, pos)
    engine_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    T, N = prices.shape
    print(f"broadening engine: {N:,} securities x {T:,} days, {len(pos)} monthly rebalances, 10 bps "
          f"(best of {args.repeat}, interleaved)")
    print(f"  one numpy pass over the {prices.nbytes / 2**20:,.0f} MiB price panel: row sum {t['sum'] * 1e3:.1f} ms wall, "
          f"{t['sum_cpu'] * 1e3:.1f} ms CPU; BLAS product {t['blas'] * 1e3:.1f} ms wall, {t['blas_cpu'] * 1e3:.1f} ms CPU")
    for key, what in (("warm", "warm (Simulation.run)                  "), ("cold", "cold (PriceData.from_prices + backtest)")):
        print(f"  {what}: {t[key] * 1e3:.1f} ms wall, {t[key + '_cpu'] * 1e3:.1f} ms CPU = "
              f"{t[key + '_cpu'] / t['sum_cpu']:.1f}x the row-sum pass, {t[key + '_cpu'] / t['blas_cpu']:.1f}x the BLAS pass (CPU)")
    for floor in ("sum", "blas"):
        ok_wall = t["warm"] <= min(4 * t[floor], 0.06)
        ok_cpu = t["warm_cpu"] <= min(4 * t[floor + "_cpu"], 0.06)
        print(f"  target (issue 16) warm <= 4x the {floor} pass and <= 60 ms: wall {'met' if ok_wall else 'NOT met'}, "
              f"CPU {'met' if ok_cpu else 'NOT met'}")
    print(f"  engine peak allocation {engine_peak / 2**20:,.0f} MiB (tracemalloc, one cold run; the prices input is {prices.nbytes / 2**20:,.0f} MiB)")
    print(f"  process peak RSS {peak / 2**20:,.0f} MiB (includes building the panel; RSS before runs {base / 2**20:,.0f} MiB)")
    print(f"  final value {res.value.iloc[-1]:.4f}, costs paid {res.total_costs:.4f}, mean one-way turnover {res.turnover.mean():.3f}")


def _peak_rss() -> int:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except ImportError:  # pragma: no cover - non-POSIX
        return psutil.Process().memory_info().rss


if __name__ == "__main__":
    main()
