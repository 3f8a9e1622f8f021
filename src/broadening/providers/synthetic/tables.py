"""One synthetic market from start to end: the steps in order, then the canonical tables.

The order of the steps is the order of draws from the one random generator, so changing it
changes every market; new steps go at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from broadening.providers.synthetic.calibration import (
    FINAL_PHASE_START,
    GENERATOR,
    TOP10_FINAL,
    TOP10_KNOTS,
)
from broadening.providers.synthetic.fundamentals import credit_series, fundamentals_table
from broadening.providers.synthetic.membership import member_at, membership_table
from broadening.providers.synthetic.model import (
    factor_returns,
    loadings,
    returns,
    share_counts,
    solve_concentration,
)
from broadening.providers.synthetic.presets import SyntheticMarket
from broadening.providers.synthetic.prices import (
    prices_frame,
    raw_prices,
    shares_frame,
    split_params,
)
from broadening.providers.synthetic.state import GeneratorState
from broadening.providers.synthetic.universe import draw_universe, securities_table


def run(g: GeneratorState) -> SyntheticMarket:
    """Run every step of the generator on ``g`` and return the six canonical tables and meta."""
    rng, p = g.rng, g.p
    g.t0 = time.perf_counter()
    draw_universe(g)
    T, N = g.T, g.N
    g.ids = np.array([f"SYN{i:05d}" for i in range(N)], dtype=object)
    factor_returns(g)
    loadings(g)
    returns(g)
    r = g.r
    tix = np.arange(T)[:, None]
    alive = (tix >= g.first[None, :]) & (tix <= g.last[None, :])
    ar = r[alive]  # |daily return| for volumes
    np.abs(ar, out=ar)
    lp = np.cumsum(r, axis=0, out=r)  # log price (split-adjusted, ex-dividend)
    del g.r, r
    lp -= lp[g.first, np.arange(N)][None, :]
    ls, _ = share_counts(g)
    ls += g.logcap0[None, :]
    g.month_end = np.flatnonzero(np.diff(g.dates.month.values, append=0) != 0)
    me = g.month_end
    sd = g.solve_days = np.unique(np.concatenate([[0], me]))
    logk = solve_concentration(g, lp[sd] + ls[sd])
    g.logk = logk
    lp[:, g.mega] += logk[:, None]
    lcap_m = lp[me] + ls[me]

    lp0, thr, ratio = split_params(rng, N)
    close, shares_raw, tri = raw_prices(lp, ls, alive, g.first, g.div_yield, lp0, thr, ratio)
    del lp, ls
    securities = securities_table(g)
    membership = membership_table(g, lambda t: close[t] * shares_raw[t])
    fundamentals = fundamentals_table(g, lcap_m, lambda t: shares_raw[t])
    series = credit_series(g)

    # Long tables in date-major order (cheapest to extract from the date x security panels).
    cat_ids = pd.Index(g.ids)
    codes = np.arange(N, dtype=np.int32)
    turn = np.exp(rng.normal(np.log(0.006), 0.4, N))
    prices = prices_frame(close, shares_raw, tri, ar, alive, turn, rng, g.dates.values, codes, cat_ids)
    del ar, tri
    shares = shares_frame(shares_raw, alive, g.first, g.dates.values, codes, cat_ids)
    tables = {
        "securities": securities,
        "prices": prices,
        "shares": shares,
        "fundamentals": fundamentals,
        "membership": membership,
        "series": series,
    }
    meta = {
        "synthetic": True,
        "seed": g.seed,
        "preset": p.name,
        "regime": g.regime,
        "generator": GENERATOR,
        "calibration": calibration_meta(g, lambda t: close[t] * shares_raw[t]),
    }
    return SyntheticMarket(tables=tables, meta=meta)


def calibration_meta(g: GeneratorState, cap_at: Callable[[int], np.ndarray]) -> dict:
    """Top-10 share targets against what the market realised, and universe counts."""
    knots = dict(TOP10_KNOTS)
    knots[TOP10_FINAL[g.regime][0]] = TOP10_FINAL[g.regime][1]
    realised, target = {}, {}
    for d in knots:
        dd = np.datetime64(d)
        if dd < g.days[0] or dd > g.days[-1]:
            continue
        t = int(np.searchsorted(g.days, dd, side="right") - 1)
        c = np.where(member_at(g, t), cap_at(t), 0.0)
        realised[d] = float(np.sort(c)[-10:].sum() / c.sum())
        target[d] = float(g.top10_target_daily[t])
    return {
        "top10_share_target": target,
        "top10_share_realised": realised,
        "final_phase_start": FINAL_PHASE_START,
        "hy_oas_min": float(g.oas.min()),
        "hy_oas_max": float(g.oas.max()),
        "n_securities": int(g.N),
        "n_delisted": int((g.last < g.T - 1).sum()),
        "n_ipo": int((g.first > 0).sum()),
        "n_bdc": int(g.bdc.sum()),
    }
