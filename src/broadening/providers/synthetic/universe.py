"""The synthetic universe: who the securities are (size, sector, AI layer, quality, life span).

Also the ``securities`` table built from it, with tickers and names that look like real ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.providers.synthetic.calibration import (
    BDC_INDUSTRY,
    SECTOR_NAMES,
    SECTORS,
    TRADING_DAYS,
)
from broadening.providers.synthetic.state import GeneratorState

# Mega-cap group templates: (sector, industry, ai layer), cycled.
MEGA_TEMPLATES = (
    ("Information Technology", "Software", "platform"),
    ("Communication Services", "Interactive Media", "platform"),
    ("Information Technology", "Semiconductors", "infrastructure"),
    ("Consumer Discretionary", "Internet Retail", "platform"),
    ("Information Technology", "Technology Hardware", "infrastructure"),
    ("Communication Services", "Interactive Media", "platform"),
    ("Information Technology", "Semiconductors", "infrastructure"),
    ("Information Technology", "Software", "platform"),
    ("Consumer Discretionary", "Automobiles", "adopter"),
    ("Information Technology", "Semiconductors", "infrastructure"),
    ("Information Technology", "Technology Hardware", "infrastructure"),
    ("Communication Services", "Interactive Media", "platform"),
)
NAME_ADJECTIVES = ("Apex", "Blue", "Cedar", "Delta", "Evergreen", "First", "Granite", "Harbor", "Iron", "Juniper",
        "Keystone", "Liberty", "Meridian", "North", "Oak", "Pioneer", "Quantum", "River", "Summit",
        "Titan", "Union", "Vertex", "Western", "Zenith", "Atlas", "Beacon", "Crescent", "Pacific")
NAME_NOUNS = ("Systems", "Holdings", "Industries", "Group", "Partners", "Technologies", "Resources",
         "Brands", "Networks", "Capital", "Labs", "Works", "Dynamics", "Solutions", "Energy")



def tickers(n: int) -> list[str]:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    out = []
    for i in range(n):
        # Bijective base-26 with a scramble so neighbouring ids do not look alike.
        j = (i * 7919 + 1234) % (26**4)
        s = "".join(letters[[(j // 26**p) % 26 for p in range(3, -1, -1)]])
        out.append(s[1:] if i % 3 == 0 else s)
    # Guarantee uniqueness (3-letter forms can collide with 4-letter suffixes).
    seen: dict[str, int] = {}
    res = []
    for t in out:
        c = seen.get(t, 0)
        seen[t] = c + 1
        res.append(t if c == 0 else f"{t}{c}")
    return res



def draw_universe(g: GeneratorState) -> None:
    """The steady universe: a constant live count, IPOs and delistings spread over history."""
    p, rng, T = g.p, g.rng, g.T
    years = T / TRADING_DAYS
    n0 = int(round((p.n_large + p.n_small) * 1.08))
    n_ipo = int(round(n0 * p.turnover * years))
    N = n0 + n_ipo
    g.N, g.n0 = N, n0
    # Initial size ranks; IPOs get a rank drawn mostly from the small/mid range.
    rank = np.empty(N)
    rank[:n0] = np.arange(1, n0 + 1)
    rank[n0:] = np.exp(rng.uniform(np.log(60), np.log(n0), n_ipo))
    a1, a2 = 0.7, 1.3
    brk = float(p.n_large)
    logcap = np.where(rank <= brk, -a1 * np.log(rank), -a1 * np.log(brk) - a2 * np.log(rank / brk))
    logcap = np.log(5e11) + logcap + rng.normal(0, 0.15, N)

    first = np.zeros(N, dtype=np.int64)
    first[n0:] = rng.integers(20, max(T - 60, 21), n_ipo)
    # Mega group: spread over the top ranks, plus a riser and (if room) an IPO.
    nm = p.n_mega
    mega_idx = list(np.linspace(1, max(2, 3 * nm - 1), nm - 2).round().astype(int) - 1)
    riser = min(n0 - 1, int(5 * nm + 10))
    mega_idx.append(riser)
    ipo_mega = n0 if n_ipo > 0 else min(n0 - 1, riser + 1)
    mega_idx.append(ipo_mega)
    mega = np.zeros(N, dtype=bool)
    mega[mega_idx] = True
    if n_ipo > 0:
        first[ipo_mega] = int(T * 0.35)
        logcap[ipo_mega] = np.log(5e11) - 0.7 * np.log(25.0)
    g.riser = riser

    # Delistings: a share of names, never mega, at least a year after listing.
    n_del = int(round(n0 * p.turnover * years))
    cand = np.flatnonzero(~mega & (first < T - 300))
    dl = rng.choice(cand, size=min(n_del, len(cand)), replace=False)
    last = np.full(N, T - 1, dtype=np.int64)
    lo = first[dl] + 260
    last[dl] = lo + (rng.random(len(dl)) * (T - 2 - lo)).astype(np.int64)
    distress = np.zeros(N, dtype=bool)
    merger = np.zeros(N, dtype=bool)
    isd = rng.random(len(dl)) < 0.4
    distress[dl[isd]] = True
    merger[dl[~isd]] = True

    assign_attributes(g, rank, logcap, mega, first, last, distress, merger)




def securities_table(g: GeneratorState) -> pd.DataFrame:
    N, T, rng = g.N, g.T, g.rng
    adj = np.array(NAME_ADJECTIVES, dtype=object)[rng.integers(0, len(NAME_ADJECTIVES), N)]
    noun = np.array(NAME_NOUNS, dtype=object)[rng.integers(0, len(NAME_NOUNS), N)]
    names = [f"{a} {b}" for a, b in zip(adj, noun, strict=True)]
    for i in np.flatnonzero(g.bdc):
        names[i] = f"{adj[i]} Capital BDC"
    delisted = g.last < T - 1
    dret = np.full(N, np.nan)
    dret[g.distress] = np.clip(rng.normal(-0.3, 0.1, g.distress.sum()), -0.6, -0.05)
    last = np.where(delisted, g.days[g.last], np.datetime64("NaT"))
    return pd.DataFrame({
        "security_id": g.ids,
        "ticker": tickers(N),
        "name": names,
        "sector": np.array(SECTOR_NAMES, dtype=object)[g.sector],
        "industry": g.industry,
        "domestic_revenue_share": np.round(g.dom, 3),
        "ai_layer": g.ai,
        "is_bdc": g.bdc,
        "first_date": g.days[g.first].astype("datetime64[ns]"),
        "last_date": last.astype("datetime64[ns]"),
        "delisting_return": dret,
    })


def assign_attributes(g: GeneratorState, rank: np.ndarray, logcap: np.ndarray, mega: np.ndarray, first: np.ndarray,
                      last: np.ndarray, distress: np.ndarray, merger: np.ndarray) -> None:
    """Sector, industry, AI layer, BDCs, domestic revenue share and quality of each security.

    Stores them on ``g`` with the life spans and sizes drawn before (``rank``: initial size
    rank, ``logcap``: log market cap at listing, ``mega``: the concentration group).
    """
    p, rng, T, N = g.p, g.rng, g.T, len(rank)
    # Sectors and industries.
    sw = np.array([SECTORS[s][0] for s in SECTOR_NAMES])
    sector = rng.choice(len(SECTOR_NAMES), size=N, p=sw / sw.sum())
    ind_name = np.empty(N, dtype=object)
    ai = np.empty(N, dtype=object)
    u = rng.random(N)
    for k, s in enumerate(SECTOR_NAMES):
        sel = np.flatnonzero(sector == k)
        inds = SECTORS[s][6]
        iw = np.array([x[1] for x in inds])
        pick = rng.choice(len(inds), size=len(sel), p=iw / iw.sum())
        for j, (iname, _, layer, prob) in enumerate(inds):
            m = sel[pick == j]
            ind_name[m] = iname
            ai[m] = np.where(u[m] < prob, layer, "none")
    # Adopters among enterprise users everywhere.
    extra = (ai == "none") & (rng.random(N) < 0.08)
    ai[extra] = "adopter"
    tmpl = MEGA_TEMPLATES
    for j, i in enumerate(np.flatnonzero(mega)):
        s, ind, layer = tmpl[j % len(tmpl)]
        sector[i] = SECTOR_NAMES.index(s)
        ind_name[i] = ind
        ai[i] = layer
    # BDCs: small/mid financials.
    small_pool = np.flatnonzero(
        ~mega & (rank > p.n_large * 1.3) & (rank < 0.8 * (p.n_large + p.n_small)) & (last == T - 1) & (first == 0)
    )
    bdc_idx = rng.choice(small_pool, size=min(p.n_bdc, len(small_pool)), replace=False)
    bdc = np.zeros(N, dtype=bool)
    bdc[bdc_idx] = True
    sector[bdc] = SECTOR_NAMES.index("Financials")
    ind_name[bdc] = BDC_INDUSTRY
    ai[bdc] = "none"

    dom_base = np.array([SECTORS[s][1] for s in SECTOR_NAMES])[sector]
    dom = np.clip(dom_base + rng.normal(0, 0.12, N), 0.02, 1.0)
    dom[mega] = rng.uniform(0.4, 0.55, mega.sum())
    cyc = np.array([SECTORS[s][2] for s in SECTOR_NAMES], dtype=float)[sector]
    small0 = rank > p.n_large
    quality = rng.normal(0, 1, N) - 0.35 * small0
    quality[mega] = np.abs(quality[mega]) + 0.8
    quality[distress] -= 1.0

    g.first, g.last = first, last
    g.rank, g.logcap0, g.mega = rank, logcap, mega
    g.distress, g.merger, g.bdc = distress, merger, bdc
    g.sector, g.industry, g.ai = sector, ind_name, ai
    g.dom, g.cyc, g.quality, g.small0 = dom, cyc, quality, small0
