"""Side by side: broadening's engine vs vectorbt vs bt on the same backtest, checked to agree.

Workload (the issue's): 3,000 securities x 25 years daily (with listings and delistings),
rebalanced on the last trading day of each month, equal weight over the top half by 12-1
month momentum (``bench_backtest.make_panel`` / ``momentum_half_weights``); run once with
costs off and once with 10 bps of traded value.

- **broadening**: :func:`broadening.backtest.engine.backtest` (prices in, returns out).
- **vectorbt**: ``Portfolio.from_orders`` with ``size_type="targetpercent"``, ``cash_sharing=True``,
  ``group_by=True``, ``call_seq="auto"`` (sells before buys), order sizes NaN off rebalance
  dates; timed warm (numba compiled by a small run first).
- **bt** 1.4.1: ``RunOnDate -> WeighTarget -> Rebalance``, ``integer_positions=False``.

Same inputs: the peers get the same total-return prices with the gaps a peer cannot take
filled: before listing with the first price (no position is ever held there), after
delisting with the last price (our engine's convention with a 0 delisting return: the
position keeps its last value, as cash, until the next rebalance sells it). With costs off
the daily returns must agree to 1e-8 (checked). With costs on the models differ by design:

- ours pays the costs out of the portfolio and then holds exactly the target weights of the
  post-cost value, and sweeps a delisted position into cash without costs;
- bt sizes each buy so that amount + commission equals the target trade (buys land slightly
  under target), and charges the commission on selling a delisted name at its last price;
- vectorbt targets weights of the pre-cost value and charges fees on top, so the last buys
  are trimmed when cash runs short, and also charges fees on selling a delisted name.

Each charges the same rate on traded value, so with 10 bps they agree to first order: we
report the largest daily difference and the final-wealth difference (expected: a few 1e-5
per day, final wealth within a few 1e-3 after 25 years of 10 bps monthly trading).

The last lines put side by side, from this one run: the engine's time against its floor (one
numpy pass over the ``(T, N)`` price panel; warm = a prepared :class:`Simulation`, cold =
prices in, returns out) and the speed ratios against vectorbt and bt (ours timed cold, as
the peers are: each gets the raw panel).

``--quick`` runs the peers on a 500 x 5-year slice (broadening on the same slice, so the
ratio is measured at that size; nothing is extrapolated). bt on the full size takes minutes.

Run: ``.venv/bin/python benchmarks/bench_vs_peers.py [--quick] [--securities 3000 --years 25] [--skip-bt]``
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backtest import engine_vs_floor, make_panel, momentum_half_weights  # noqa: E402

from broadening.backtest.engine import CostModel, PriceData, backtest  # noqa: E402
from broadening.backtest.schedule import rebalance_positions  # noqa: E402

CAPITAL = 1e6


def peer_prices(prices: np.ndarray) -> np.ndarray:
    """Prices a peer can take: first price before listing, last price after delisting."""
    df = pd.DataFrame(prices)
    return df.ffill().bfill().to_numpy()


def run_ours(prices, dates, W, pos, bps):
    data = PriceData.from_prices(prices, dates=dates)
    return backtest(data, W, pos, costs=CostModel(bps=bps) if bps else False)


def run_vectorbt(close: pd.DataFrame, W: np.ndarray, pos: np.ndarray, bps: float) -> pd.Series:
    import vectorbt as vbt

    size = np.full(close.shape, np.nan)
    size[pos] = W
    pf = vbt.Portfolio.from_orders(
        close=close, size=pd.DataFrame(size, index=close.index, columns=close.columns),
        size_type="targetpercent", group_by=True, cash_sharing=True, call_seq="auto",
        fees=bps / 1e4, init_cash=CAPITAL, freq="1D",
    )
    return pf.value()


def run_bt(close: pd.DataFrame, W: np.ndarray, pos: np.ndarray, bps: float) -> pd.Series:
    import bt

    wdf = pd.DataFrame(W, index=close.index[pos], columns=close.columns)
    strat = bt.Strategy("s", [bt.algos.RunOnDate(*wdf.index), bt.algos.WeighTarget(wdf), bt.algos.Rebalance()])
    comm = (lambda q, p: abs(q * p) * bps / 1e4) if bps else None
    test = bt.Backtest(strat, close, integer_positions=False, initial_capital=CAPITAL, commissions=comm,
                       progress_bar=False)
    res = bt.run(test)
    return res.backtests["s"].strategy.prices


def timed(fn, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def compare(ours, value: pd.Series) -> tuple[float, float]:
    """Largest daily return difference (after the first day) and final-wealth relative difference."""
    theirs = value.pct_change().reindex(ours.dates)
    d = np.abs(theirs.to_numpy()[1:] - ours.returns.to_numpy()[1:])
    ours_w = ours.value.iloc[-1]
    theirs_w = value.iloc[-1] / value.reindex(ours.dates).iloc[0] * ours.value.iloc[0]
    return float(np.nanmax(d)), float(abs(theirs_w / ours_w - 1.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--securities", type=int, default=3000)
    ap.add_argument("--years", type=int, default=25)
    ap.add_argument("--quick", action="store_true", help="run everything on a 500 x 5-year slice")
    ap.add_argument("--skip-bt", action="store_true")
    ap.add_argument("--skip-vectorbt", action="store_true")
    ap.add_argument("--repeat", type=int, default=5, help="runs of our engine (best of)")
    ap.add_argument("--peer-repeat", type=int, default=1, help="runs of each peer (best of)")
    args = ap.parse_args()
    N, Y = (500, 5) if args.quick else (args.securities, args.years)
    warnings.filterwarnings("ignore")

    prices, dates = make_panel(N, Y, seed=0)
    pos = rebalance_positions(dates, "monthly")
    W = momentum_half_weights(prices, pos)
    close = pd.DataFrame(peer_prices(prices), index=dates, columns=[f"s{i}" for i in range(N)])
    T = len(dates)
    print(f"same backtest, same data: {N:,} securities x {T:,} days ({Y} years), {len(pos)} monthly rebalances, "
          f"equal weight over the top half by 12-1 momentum; best of {args.repeat} for broadening, "
          f"{args.peer_repeat} for peers (shared 2-core machine: timings are noisy)")
    rows = []
    for bps in (0.0, 10.0):
        t_ours, ours = timed(lambda b=bps: run_ours(prices, dates, W, pos, b), args.repeat)
        line = {"costs": f"{bps:g} bps", "broadening": t_ours}
        if not args.skip_vectorbt:
            run_vectorbt(close.iloc[:300, :20], W[:, :20][pos < 300], pos[pos < 300], bps)  # numba compile
            t_v, val = timed(lambda b=bps: run_vectorbt(close, W, pos, b), args.peer_repeat)
            line["vectorbt"] = t_v
            line["vectorbt_diff"] = compare(ours, val)
        if not args.skip_bt:
            t_b, val = timed(lambda b=bps: run_bt(close, W, pos, b), args.peer_repeat)
            line["bt"] = t_b
            line["bt_diff"] = compare(ours, val)
        rows.append(line)
        _print(line)
    ok = True
    nc = rows[0]
    for peer in ("vectorbt", "bt"):
        if f"{peer}_diff" in nc and nc[f"{peer}_diff"][0] > 1e-8:
            ok = False
            print(f"  !! {peer} disagrees without costs: max daily diff {nc[f'{peer}_diff'][0]:.2e} > 1e-8")
    print("agreement without costs (1e-8):", "OK" if ok else "FAILED")
    targets = {"vectorbt": 50, "bt": 200}
    fl = engine_vs_floor(prices, dates, W, pos, args.repeat)
    print(f"engine vs floor, 10 bps (best of {args.repeat}, interleaved; CPU time): one pass over the "
          f"{prices.nbytes / 2**20:,.0f} MiB panel {fl['sum_cpu'] * 1e3:.1f} ms (row sum) / {fl['blas_cpu'] * 1e3:.1f} ms (BLAS); "
          f"warm {fl['warm_cpu'] * 1e3:.1f} ms = {fl['warm_cpu'] / fl['sum_cpu']:.1f}x / {fl['warm_cpu'] / fl['blas_cpu']:.1f}x; "
          f"cold {fl['cold_cpu'] * 1e3:.1f} ms = {fl['cold_cpu'] / fl['sum_cpu']:.1f}x / {fl['cold_cpu'] / fl['blas_cpu']:.1f}x "
          f"(target warm <= 4x; wall clock: warm {fl['warm'] * 1e3:.1f} ms, cold {fl['cold'] * 1e3:.1f} ms)")
    for line in rows:
        parts = [f"{p} {line[p] / line['broadening']:,.0f}x (target >= {targets[p]}x: "
                 f"{'met' if line[p] / line['broadening'] >= targets[p] else 'NOT met'})" for p in targets if p in line]
        print(f"speed ratios, {line['costs']}: engine/floor {line['broadening'] / fl['floor']:.1f}x (cold, wall); "
              + "; ".join(parts))


def _print(line: dict) -> None:
    print(f"  {line['costs']:>7}: broadening {line['broadening']:.3f} s", end="")
    for p in ("vectorbt", "bt"):
        if p in line:
            d, w = line[f"{p}_diff"]
            print(f" | {p} {line[p]:.2f} s (max daily diff {d:.1e}, final wealth diff {w:.1e})", end="")
    print()


if __name__ == "__main__":
    main()
