"""The whole US market's listings and delistings since 1990 (the ``us-all`` preset's universe).

The live count follows :data:`~broadening.providers.synthetic.calibration.ALIVE_KNOTS` day
by day and new listings arrive at the yearly rates of
:data:`~broadening.providers.synthetic.calibration.NEW_LISTINGS` (IPO waves in the late
1990s and 2020-21, droughts in 2001-03 and 2008-09), both times the preset's ``scale``.
Each day, as many names delist as keep the live count on its path; who delists is drawn
with a hazard that is higher for small and fragile names, never a mega-cap, a name in its
first year, or one of the durable names (about an eighth of those listed in 1990). A
delisting is a distress case (a slide, then a negative delisting return) with probability
:data:`~broadening.providers.synthetic.calibration.DISTRESS_SHARE` (more in busts), else a
merger.
"""

from __future__ import annotations

import numpy as np

from broadening.providers.synthetic.calibration import (
    ALIVE_KNOTS,
    DISTRESS_SHARE,
    DISTRESS_SHARE_BUST,
    MARKET_FINAL,
    MARKET_KNOTS,
    NEW_LISTINGS,
    interp_knots,
)
from broadening.providers.synthetic.state import GeneratorState
from broadening.providers.synthetic.universe import assign_attributes

#: Market cap of the largest US company at the start of 1990 (about IBM's or Exxon's).
TOP_CAP_1990 = 7e10
#: Listing dates of the mega-cap group's later arrivals (Amazon-, Google-, Meta-like).
MEGA_IPO_DATES = ("1997-05-15", "2004-08-19", "2012-05-18")


def _listing_days(g: GeneratorState) -> np.ndarray:
    """Row of each new listing: every year's count spread at random over its business days."""
    years = g.dates.year.values
    out = []
    for y, n in NEW_LISTINGS.items():
        rows = np.flatnonzero((years == y) & (np.arange(g.T) >= 20))
        k = int(round(n * g.p.scale * len(rows) / max(1, (years == y).sum())))
        if len(rows) and k:
            out.append(g.rng.choice(rows, size=k))
    return np.sort(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)


def draw_us_listings(g: GeneratorState) -> None:
    """Draw the ``us-history`` universe on ``g``: sizes, listing and delisting rows, attributes."""
    p, rng, T, days = g.p, g.rng, g.T, g.days
    target = interp_knots(days, ALIVE_KNOTS) * p.scale
    n0 = int(round(target[0]))
    ipo_rows = _listing_days(g)
    n_ipo = len(ipo_rows)
    N = n0 + n_ipo
    g.N, g.n0 = N, n0
    first = np.concatenate([np.zeros(n0, dtype=np.int64), ipo_rows.astype(np.int64)])

    # Sizes: a broken Zipf law over the 1990 ranks; a new listing gets a rank drawn mostly from
    # the small/mid range, and its cap grows with the market level up to its listing day.
    rank = np.empty(N)
    rank[:n0] = np.arange(1, n0 + 1)
    rank[n0:] = np.exp(rng.uniform(np.log(60), np.log(n0), n_ipo))
    a1, a2 = 0.7, 1.3
    brk = float(p.n_large)
    logcap = np.where(rank <= brk, -a1 * np.log(rank), -a1 * np.log(brk) - a2 * np.log(rank / brk))
    level = np.log(interp_knots(days, MARKET_KNOTS, MARKET_FINAL[g.regime], log=True))
    logcap = np.log(TOP_CAP_1990) + logcap + rng.normal(0, 0.15, N) + (level[first] - level[0])

    # Mega group: incumbents spread over the top ranks, a riser, and later arrivals.
    nm = p.n_mega
    n_late = min(len(MEGA_IPO_DATES), nm - 2) if n_ipo else 0
    n_top = nm - 1 - n_late
    mega_idx = list(np.linspace(1, max(2, 3 * n_top - 1), n_top).round().astype(int) - 1)
    riser = min(n0 - 1, int(5 * nm + 10))
    mega_idx.append(riser)
    for d in MEGA_IPO_DATES[:n_late]:
        i = n0 + int(np.searchsorted(ipo_rows, np.searchsorted(days, np.datetime64(d))))
        i = min(i, N - 1)
        while i in mega_idx and i > n0:
            i -= 1
        mega_idx.append(i)
        logcap[i] = np.log(TOP_CAP_1990) - 0.7 * np.log(25.0) + (level[first[i]] - level[0])
    mega = np.zeros(N, dtype=bool)
    mega[mega_idx] = True
    g.riser = riser

    # Delistings, day by day, keep the live count on its path.
    fragility = rng.normal(0, 1, N)
    logw = 0.8 * fragility + np.where(rank > p.n_large, 0.4, -0.7)
    durable = (first == 0) & (rng.random(N) < 0.125)
    protected = mega | durable
    open_from = np.where(first == 0, 20, first + 260)  # no delisting in the first year
    last = np.full(N, T - 1, dtype=np.int64)
    gone = np.zeros(N, dtype=bool)
    arrivals = np.bincount(first, minlength=T)
    n_alive = n0
    for t in range(T - 1):
        excess = n_alive + arrivals[t + 1] - int(round(target[t + 1]))
        if excess > 0:
            cand = np.flatnonzero((open_from <= t) & ~gone & ~protected)
            k = min(excess, len(cand))
            if k:
                keys = logw[cand] + rng.gumbel(size=len(cand))
                pick = cand[np.argpartition(-keys, k - 1)[:k]]
                last[pick] = t
                gone[pick] = True
                n_alive -= k
        n_alive += arrivals[t + 1]
    dl = np.flatnonzero(gone)
    share = np.full(len(dl), DISTRESS_SHARE)
    for a, b, s in DISTRESS_SHARE_BUST:
        share[(days[last[dl]] >= np.datetime64(a)) & (days[last[dl]] <= np.datetime64(b))] = s
    isd = rng.random(len(dl)) < share
    distress = np.zeros(N, dtype=bool)
    merger = np.zeros(N, dtype=bool)
    distress[dl[isd]] = True
    merger[dl[~isd]] = True
    assign_attributes(g, rank, logcap, mega, first, last, distress, merger)
    # Fragile names are also the low-quality ones.
    g.quality -= 0.3 * fragility
