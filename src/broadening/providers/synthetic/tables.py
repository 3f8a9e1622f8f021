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
    TRADING_DAYS,
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
    g.tick("factors")
    returns(g)
    g.tick("returns")
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
    logk = solve_concentration(g, lp[sd] + ls[sd], alive)
    g.logk = logk
    lp[:, g.mega] += logk[:, None]
    lcap_m = lp[me] + ls[me]
    g.tick("solve")

    # Raw prices and splits: split j happens when the running-max unsplit price first
    # crosses thr * ratio**j, and the share count is multiplied the same day.
    p0 = np.exp(rng.normal(np.log(35.0), 0.5, N))
    thr = rng.uniform(150.0, 600.0, N)
    thr[rng.random(N) < 0.25] = np.inf
    ratio = rng.choice([2.0, 3.0, 4.0], size=N, p=[0.7, 0.2, 0.1])
    lp0 = np.log(p0)
    sp = np.flatnonzero(lp.max(axis=0) + lp0 >= np.log(thr))
    lsplit = np.zeros((T, 0))
    if len(sp):
        lu = np.where(alive[:, sp], lp[:, sp], 0.0) + lp0[sp][None, :]
        lsplit = np.maximum.accumulate(lu, axis=0)
        del lu
        lsplit -= np.log(thr[sp])[None, :]
        lsplit /= np.log(ratio[sp])[None, :]
        np.floor(lsplit, out=lsplit)
        lsplit += 1.0
        np.maximum(lsplit, 0.0, out=lsplit)
        lsplit *= np.log(ratio[sp])[None, :]
    # Total return index before lp becomes the raw close.
    # Row by row: no (dates x securities) temporaries.
    dy = g.div_yield / TRADING_DAYS
    c0 = dy * g.first
    for t in range(T):
        lp[t] += dy * t - c0
    tri = lp[alive]
    np.exp(tri, out=tri)
    tri *= 100.0
    for t in range(T):
        lp[t] -= dy * t - c0
    # log close = lp + lp0 - lsplit; log raw shares = ls - lp0 + lsplit
    close = lp
    close += lp0[None, :]
    close[:, sp] -= lsplit
    np.exp(close, out=close)
    ls -= lp0[None, :]
    ls[:, sp] += lsplit
    del lsplit, lp
    shares_raw = np.exp(ls, out=ls)
    np.round(shares_raw, out=shares_raw)
    g.tick("prices")
    securities = securities_table(g)
    membership = membership_table(g, lambda t: close[t] * shares_raw[t], alive)
    g.tick("membership")
    fundamentals = fundamentals_table(g, lcap_m, shares_raw)
    g.tick("fundamentals")
    series = credit_series(g)

    # Long tables in date-major order (cheapest to extract from the date x security panels).
    cat_ids = pd.Index(g.ids)
    c = close[alive]
    sh = shares_raw[alive]
    t_i, sec_i = np.nonzero(alive)
    turn = np.exp(rng.normal(np.log(0.006), 0.4, N))
    vol = rng.standard_normal(len(sec_i))
    vol *= 0.35
    ar *= 25.0
    vol += ar
    del ar
    np.exp(vol, out=vol)
    vol *= sh
    del sh
    vol *= turn[sec_i]
    np.round(vol, out=vol)
    prices = pd.DataFrame({
        "security_id": pd.Categorical.from_codes(sec_i.astype(np.int32), categories=cat_ids),
        "date": g.dates.values[t_i],
        "close": c,
        "total_return_index": tri,
        "volume": vol,
    }, copy=False)
    del t_i, sec_i
    g.tick("prices table")
    # Shares: rows only where the raw count changes (and on the listing day).
    chg = np.zeros_like(alive)
    np.not_equal(shares_raw[1:], shares_raw[:-1], out=chg[1:])
    chg[g.first, np.arange(N)] = True
    chg &= alive
    s_sec, s_t = np.nonzero(chg.T)
    shares = pd.DataFrame({
        "security_id": pd.Categorical.from_codes(s_sec.astype(np.int32), categories=cat_ids),
        "date": g.dates.values[s_t],
        "shares_outstanding": shares_raw[s_t, s_sec],
    })
    g.tick("shares table")
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
