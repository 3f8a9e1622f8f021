"""The whole-market generator, one block of securities at a time (the ``us-all`` preset).

A market of 25,000 securities over 36 years is 235 million security-days, of which only a
fifth hold a live security; a dense (days x securities) panel of it is 1.9 GB per array.
This generator never builds one. It draws everything per security first (the universe,
loadings, return parameters, split thresholds: vectors of length N), then simulates blocks
of securities grouped by listing window: securities are sorted by listing day, and within
runs of four blocks by delisting day, so a block's panel spans only the days from its
first listing to its last delisting. Each block has its own random stream (seeded from
the seed and the block's number), so the market is a function of the seed alone.

What the later steps need across securities is kept as small (dates x N) records on a
few dates: log caps at month-ends (the concentration solve, fundamentals), market caps at
index reconstitutions and calibration dates (membership, meta), and share counts at
quarter-ends (fundamentals). The mega-cap group forms its own block, simulated last, once
every other name's caps are known, so the concentration solve sees the whole market.

:func:`stream` yields the canonical tables chunk by chunk (``securities`` first, then the
``prices`` and ``shares`` of each block, then ``fundamentals``, ``membership`` and
``series``) for a streaming ingest; peak memory is a few blocks, not the market.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from broadening.providers.synthetic.calibration import GENERATOR, TOP10_FINAL, TOP10_KNOTS
from broadening.providers.synthetic.fundamentals import credit_series, fundamentals_table
from broadening.providers.synthetic.listings import draw_us_listings
from broadening.providers.synthetic.membership import membership_table
from broadening.providers.synthetic.model import (
    delisting_paths,
    factor_returns,
    loadings,
    month_ends,
    return_params,
    share_count_changes,
    simulate_returns,
    solve_concentration,
)
from broadening.providers.synthetic.prices import (
    prices_frame,
    raw_prices,
    shares_frame,
    split_params,
)
from broadening.providers.synthetic.state import GeneratorState
from broadening.providers.synthetic.tables import calibration_meta
from broadening.providers.synthetic.universe import securities_table


def blocks_by_listing_window(first: np.ndarray, last: np.ndarray, mega: np.ndarray, size: int) -> list[np.ndarray]:
    """Security indices in blocks of about ``size``, grouped by listing window; the mega group last.

    Sorted by listing row, then within runs of four blocks by delisting row, so each block's
    rows run from about the same first listing to about the same last delisting.
    """
    rest = np.flatnonzero(~mega)
    rest = rest[np.lexsort((rest, first[rest]))]
    out = []
    run = 4 * size
    for a in range(0, len(rest), run):
        grp = rest[a:a + run]
        grp = grp[np.lexsort((grp, last[grp]))]
        out.extend(np.sort(grp[b:b + size]) for b in range(0, len(grp), size))
    out.append(np.flatnonzero(mega))
    return out


class _Records:
    """Values of every security on a few rows, filled block by block."""

    def __init__(self, rows: np.ndarray, n: int, fill: float) -> None:
        self.rows = rows
        self.values = np.full((len(rows), n), fill)

    def put(self, t0: int, idx: np.ndarray, a: np.ndarray, b: np.ndarray | None = None, op=np.add) -> None:
        """Record panel ``a`` (or ``op(a, b)``), whose row 0 is day ``t0``, for the securities ``idx``."""
        k = np.flatnonzero((self.rows >= t0) & (self.rows < t0 + a.shape[0]))
        w = self.rows[k] - t0
        self.values[np.ix_(k, idx)] = a[w] if b is None else op(a[w], b[w])

    def at(self, t) -> np.ndarray:
        """The recorded values on row(s) ``t`` (which must be recorded rows)."""
        k = np.searchsorted(self.rows, t)
        if not np.array_equal(self.rows[np.minimum(k, len(self.rows) - 1)], t):
            raise KeyError(f"rows {t} were not recorded")
        return self.values[k]


class MarketStream:
    """A synthetic market generated block by block; iterate it for chunks of canonical tables.

    Parameters
    ----------
    g : GeneratorState
        Seed, preset (with ``listings="us-history"``) and regime.

    Attributes
    ----------
    meta : dict
        Filled once iteration has finished (like :attr:`SyntheticMarket.meta`).
    n_blocks : int
        Number of blocks of securities.
    """

    def __init__(self, g: GeneratorState) -> None:
        self.g = g
        draw_us_listings(g)
        g.ids = np.array([f"SYN{i:05d}" for i in range(g.N)], dtype=object)
        factor_returns(g)
        loadings(g)
        return_params(g)
        self.lp0, self.thr, self.ratio = split_params(g.rng, g.N)
        self.turn = np.exp(g.rng.normal(np.log(0.006), 0.4, g.N))
        self.blocks = blocks_by_listing_window(g.first, g.last, g.mega, g.p.block or g.N)
        self.n_blocks = len(self.blocks)
        self.meta: dict = {}

    def __iter__(self) -> Iterator[dict[str, pd.DataFrame]]:
        g = self.g
        T, N = g.T, g.N
        g.month_end = me = month_ends(g.dates)
        g.solve_days = sd = np.unique(np.concatenate([[0], me]))
        q_end = np.flatnonzero(np.diff(g.dates.quarter.values, append=0) != 0)
        reb = np.unique(np.concatenate([[0], q_end[q_end + 1 < T - 1] + 1]))
        knots = dict(TOP10_KNOTS)
        knots[TOP10_FINAL[g.regime][0]] = TOP10_FINAL[g.regime][1]
        kd = np.array([np.datetime64(d) for d in knots])
        kd = kd[(kd >= g.days[0]) & (kd <= g.days[-1])]
        cal_rows = np.searchsorted(g.days, kd, side="right") - 1
        qe = pd.date_range(pd.Timestamp(g.p.start) - pd.DateOffset(years=1), g.p.end, freq="QE")
        tq = np.clip(np.searchsorted(g.days, qe.values.astype("datetime64[D]"), side="right") - 1, 0, T - 1)
        lcap = _Records(sd, N, 0.0)
        caps = _Records(np.unique(np.concatenate([reb, cal_rows])), N, 0.0)
        shares_q = _Records(np.unique(tq), N, np.nan)
        cat_ids = pd.Index(g.ids)
        day_values = g.dates.values

        yield {"securities": securities_table(g)}
        for b, idx in enumerate(self.blocks):
            if not len(idx):
                continue
            is_mega = b == len(self.blocks) - 1
            rng = np.random.default_rng([g.seed, 0x5EED, b + 1])
            t0, t1 = int(g.first[idx].min()), int(g.last[idx].max()) + 1
            first, last = g.first[idx] - t0, g.last[idx] - t0
            r = np.empty((t1 - t0, len(idx)))
            rng.standard_normal(out=r)
            simulate_returns(r, g.F[t0:t1], g.B[idx], g.s2[idx], g.drift[idx], g.vol_state[t0:t1])
            delisting_paths(r, first, last, g.distress[idx], g.merger[idx])
            tix = np.arange(t1 - t0)[:, None]
            alive = (tix >= first[None, :]) & (tix <= last[None, :])
            del tix
            abs_ret = np.abs(r[alive])
            lp = np.cumsum(r, axis=0, out=r)
            lp -= lp[first, np.arange(len(idx))][None, :]
            me_w = me[(me >= t0) & (me < t1)] - t0
            ls, _ = share_count_changes(rng, g.days[t0:t1], me_w, first, last, g.quality[idx], g.small0[idx],
                                        g.bdc[idx], g.regime)
            ls += g.logcap0[idx][None, :]
            lcap.put(t0, idx, lp, ls)
            if is_mega:
                # Every other name's caps are known: steer the mega group to the top-10 path.
                g.logk = solve_concentration(g, lcap.values)
                lp += g.logk[t0:t1, None]
                lcap.put(t0, idx, lp, ls)
            close, shares, tri = raw_prices(lp, ls, alive, first, g.div_yield[idx], self.lp0[idx], self.thr[idx],
                                            self.ratio[idx])
            del lp, ls
            caps.put(t0, idx, close, shares, np.multiply)
            shares_q.put(t0, idx, shares)
            codes = idx.astype(np.int32)
            days = day_values[t0:t1]
            prices = prices_frame(close, shares, tri, abs_ret, alive, self.turn[idx], rng, days, codes, cat_ids)
            del abs_ret, tri
            chunk = {"prices": prices, "shares": shares_frame(shares, alive, first, days, codes, cat_ids)}
            del close, shares, alive
            yield chunk
            del chunk, prices
        lcap_m = lcap.values[np.searchsorted(sd, me)]
        membership = membership_table(g, caps.at)
        fundamentals = fundamentals_table(g, lcap_m, shares_q.at)
        series = credit_series(g)
        self.meta = {
            "synthetic": True,
            "seed": g.seed,
            "preset": g.p.name,
            "regime": g.regime,
            "generator": GENERATOR,
            "scale": g.p.scale,
            "calibration": calibration(g, caps.at),
        }
        yield {"fundamentals": fundamentals, "membership": membership, "series": series}


def calibration(g: GeneratorState, cap_at) -> dict:
    """The whole-market calibration (:func:`calibration_meta`) plus the listing counts per day."""
    alive = np.bincount(g.first, minlength=g.T) - np.bincount(g.last + 1, minlength=g.T + 1)[: g.T]
    alive = np.cumsum(alive)
    return {
        **calibration_meta(g, cap_at),
        "alive_per_day_mean": float(alive.mean()),
        "alive_per_day_min": int(alive.min()),
        "alive_per_day_max": int(alive.max()),
        "live_security_days": int(alive.sum()),
    }
