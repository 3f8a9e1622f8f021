"""The embedded demo market: a synthetic, deterministic US-like equity market (DESIGN §5).

Everything here is **synthetic**. :func:`generate` builds, from a seed, the six canonical
tables (:data:`broadening.schema.TABLES`) of a market that behaves like the real one in
the ways the thesis signals care about. ``SyntheticMarket.meta["synthetic"]`` is always
``True`` so every output built from it can say so.

Model
-----
Universe
    ``n_large`` index-sized names plus ``n_small`` small/mid names alive at the start,
    plus IPOs (about 2.5% of the live count a year, spread over history) so the live
    count stays roughly constant while about the same number delist. Eleven GICS-like
    sectors, each with a few industries (:data:`SECTORS`). Each security gets a
    ``domestic_revenue_share`` (sector base plus noise: utilities, real estate, regional
    banks, industrials, materials high; technology and energy low), an AI-stack layer
    (infrastructure: semis, hardware, data centres, power; platform: the mega-cap
    internet/cloud names; adopter: software, IT services, logistics, autos, providers,
    capital markets and a share of enterprise users everywhere; else none), a latent
    quality score, and about 15 business development companies (BDCs) in the small/mid
    universe (BDCs never join the large-cap index, as in the real S&P 500).
Size distribution
    Initial market caps follow a broken Zipf law, ``cap ∝ rank^-0.7`` over the first
    ``n_large`` ranks (tail exponent about 1.4) and ``rank^-1.3`` below, times lognormal
    noise; the largest name starts near $500bn, rank 500 near $6bn, rank 2,000 near $1bn.
    Idiosyncratic log-cap moves are mildly mean-reverting (an OU process, half-life about
    4.6 years) so the cross-section does not diffuse without bound over 25 years.
Returns
    Daily log price returns ``r = B f + e + drift``: factor returns ``f`` for the market,
    11 sectors, size (small minus big), a mega-cap/concentration factor, an AI-layer
    factor (infrastructure and platforms long, adopters short), a domestic-cyclical factor
    (only cyclical sectors load, by domestic revenue share), a quality factor and a
    private-credit (BDC) factor, with per-security loadings ``B``.
    The market factor is a GARCH(1,1) with Student-t(5) shocks (long-run vol about 16%
    a year) pinned by a Brownian bridge to the broad-market level knots of
    :data:`MARKET_KNOTS` (the cap-weighted index adds the mega-cap drift on top),
    with crisis vol multipliers, so the market has a 2002 trough, a 2008-like crash
    (about -55% peak to trough), a 2020-like shock (-34% in a month), the 2022 bear market
    and the 2025 tariff dip. Other factors have Student-t shocks scaled by the market's
    vol state, plus the phase drifts in :data:`FACTOR_DRIFTS` and :data:`FINAL_DRIFTS`.
    Idiosyncratic shocks are a per-security GARCH(1,1) (vol clustering, alpha 0.06, beta
    0.92) scaled by the market vol state: single stocks run at 20-60% annualised vol
    (median near 38%), the cap-weighted index near 18%, and daily returns have clear
    excess kurtosis (about 4 for single stocks, 6 for the index).
Concentration
    A designated mega-cap group (platforms and AI infrastructure, including a riser and
    a mid-history IPO) receives a deterministic relative drift ``log k(t)``. ``k`` is
    solved on the first day and at every month-end (bisection over the exact top-10 /
    top-``n_large`` share given all other caps) so that the realised top-10 share of the
    ``n_large`` largest eligible names follows :data:`TOP10_KNOTS` (linearly
    interpolated; the last knot per regime in :data:`TOP10_FINAL`); ``log k`` is linear
    between solve dates, so daily and intra-month noise remains. For universes with fewer
    than 500 index names the target is shifted in logit space by the difference between
    the Zipf top-10 shares of ``n_large`` and 500 names, so the story keeps its shape.
Phases and regimes
    Concentration (2010-2021, again 2023-mid 2025), a 2022 partial unwind, and the final
    phase from :data:`FINAL_PHASE_START` (2025-07-01). ``regime="broadening"``: the top-10
    share falls by about five points, equal weight beats cap weight, quality domestic
    cyclicals, small caps, BDCs and AI adopters outperform mega-cap tech and AI
    infrastructure, non-mega earnings accelerate, adopters' operating margins expand,
    small-cap P/E re-rates, private credit AUM and BDC share issuance accelerate, bank
    business loans stall. ``regime="concentrating"`` is the mirror image: the top-10 share
    climbs further, mega-caps and infrastructure lead, median earnings decelerate.
Index membership
    Two indexes, reconstituted quarterly (first business day of each quarter) by market
    cap among live names listed for at least 63 business days: ``"sp500"`` keeps
    ``n_large`` names (a member stays while it ranks within 1.25 x ``n_large``; the
    largest non-members fill the gaps) and ``"smallmid"`` the next ``n_small`` names
    (hysteresis 1.2 x). A delisted member leaves the day after its last trade; a
    replacement joins at the next reconstitution. Intervals are point-in-time, ``end``
    exclusive and null while a member.
IPOs, delistings, splits, shares
    IPO names start mid-history (prices, shares and fundamentals begin at ``first_date``).
    About 2.5% of names a year delist: 40% in distress (a -75% slide over the last year,
    then ``delisting_return`` about -0.3) and 60% by merger (a +25% jump 40 days before
    the end, then quiet; ``delisting_return`` null). Delisted names stay in every table.
    ``close`` is the raw, split-affected price: each splitting name has a price threshold
    ($150-$600) and a ratio (2:1, 3:1 or 4:1); a split happens when the running-max
    unsplit price crosses threshold x ratio^j, and shares are multiplied the same day, so
    market cap is continuous. Buybacks (quality names) and issuance (junk, small caps,
    BDCs) change share counts a few times a year. ``shares`` has a row only when the count
    changes. ``total_return_index`` is split-adjusted and includes dividends (yields 0-4%).
    ``volume`` is shares traded (turnover 0.2-1.5% a day, higher on big moves, at most
    all the shares outstanding: ``MAX_TURNOVER``).
Fundamentals
    One row per fiscal quarter from a year before the start (or from the IPO). Net income
    is the trailing six-month geometric-mean market cap divided by a target P/E (sector
    base, a mega-cap premium that grows with concentration, the small-cap relative P/E of
    :data:`SMALL_REL_PE_KNOTS`, quality), times an earnings-momentum overlay in the last
    quarters (accelerating for non-mega names in the broadening regime, decelerating in
    the concentrating one). From 2025 the earnings base is half a 2%-a-quarter trend and
    half the price-driven path, so the overlay sets the direction of earnings momentum.
    Loss-makers (more common in small caps and junk, none among the largest 60% of the
    large-cap range) have negative margins and higher leverage. Book equity follows from
    a return on equity tied to quality, debt from a leverage tied to low quality (capped),
    revenue from an operating margin by sector and quality; AI adopters' margins expand by
    up to 30% (relative) from 2024 Q3 in the broadening regime while infrastructure
    margins ease, and the reverse in the concentrating one. ``available_date =
    period_end + lag``: 25-45 days for fiscal Q1-Q3, 45-75 days for Q4 (10-K-like). Rows
    not yet available at the end of the data or after a delisting are dropped. ``eps`` is
    per raw (as-reported) share in force at the period end.
Credit series
    ``BUSLOANS`` (monthly, $bn, commercial and industrial loans of banks: the 2008 peak and
    2010 trough, the 2020 PPP spike, slowing in the broadening regime), ``BAMLH0A0HYM2``
    (daily high-yield option-adjusted spread in percent from :data:`HY_OAS_KNOTS` plus
    OU noise bridged to zero at the knots, so the extremes land on the figures; clipped to
    [2.35, 21.8]; tightening into the end of the broadening regime, widening in the other)
    and ``PRIVATE_CREDIT_AUM`` (quarterly, $bn).
Tables
    ``prices`` rows are in date-major order and, like ``shares``, carry ``security_id``
    as a pandas Categorical. The ``research`` preset has about 3,000 live names at any
    date (about 4,900 over 25 years with IPOs and delisted names).
The whole US market (``us-all``)
    Every US common stock since 1990, dead ones included: about 25,000 securities over
    9,392 business days (1990-01-02 to 2025-12-31), about 4,900 alive a day (46 million
    live security-days). The live count follows :data:`ALIVE_KNOTS` (the CRSP shape: a
    6,500 peak in 1997-98, 4,000 in the 2010s, a 2021 rebound) and new listings the
    yearly counts of :data:`NEW_LISTINGS` (IPO waves in 1993-2000 and 2020-21); each day
    as many names delist as keep the count on its path, drawn with a hazard that is
    higher for small and fragile names (:mod:`.listings`). ``sp500`` keeps 500 names and
    ``smallmid`` the next 2,000. The knots above reach back to 1990 (the 1990 and 1998
    stresses, the late-1990s technology run and its 2000 reversal). It is generated one
    block of securities at a time (:mod:`.stream`, :func:`stream`) and stored chunk by
    chunk in one transaction; ``scale`` shrinks it for tests (``scale=0.04``: about
    1,000 securities). Realised at full scale, seed 7: every top-10 knot from 1990 to
    2025 within about a point (20.0% in 1990, 25.5% end-1999, 19.5% end-2010, 38.9%
    end-2024), 497 ``sp500`` and 1,966 ``smallmid`` members mid-2015, 20,563 delistings,
    4,000 to 6,500 alive a day.

Public figures it imitates (approximate, see DESIGN §5)
-------------------------------------------------------
- S&P 500 top-10 weight: about 23% in 2000, 21% in 2005, 19% in 2010, 38% at end-2024 and
  about 40% in mid-2025 (:data:`TOP10_KNOTS`).
- S&P 500 Equal Weight vs cap weight: comparable over 2003-2022 (about 10.5% vs 10.0% a
  year to 2023), then equal weight trailing badly in 2023-2024 (follows from the
  concentration path; not forced day by day).
- Small-cap P/E relative to large caps: about 0.72 in late 2021 against a 10-year average
  near 0.95, low again (about 0.70) in 2024-25 (:data:`SMALL_REL_PE_KNOTS`, a target for
  the fundamentals; realised ratios also move with prices).
- US high-yield OAS (ICE BofA, FRED BAMLH0A0HYM2): about 2.4% in mid-2007, 21.8% at the
  end-2008 peak, about 11% in March 2020, near 2.8% in 2025 (:data:`HY_OAS_KNOTS`).
- FRED BUSLOANS levels and private-credit AUM orders of magnitude (:data:`BUSLOANS_KNOTS`,
  :data:`PRIVATE_CREDIT_KNOTS`).
- ``us-all`` only: the count of listed US common stocks (CRSP shape, levelled to about
  5,000 a day), the yearly shape of US IPO counts (Ritter), the S&P 500 level from 1990
  (about 0.27 of its end-2000 level) and its top-10 share in the 1990s (about 20% in
  1990, 25% at the 2000 peak).

What it realises (demo preset, seed 7, regime "broadening"): the top-10 share is within
about one point of every knot (21.5% at 2005-01-03, 19.4% end-2010, 38.3% end-2024,
40.4% mid-2025, 35.3% end-2025); equal weight 6.3% a year vs cap weight 6.1% over
2005-2022 (price plus dividends), 13% vs 24% a year in 2023-2024; cap-weighted index vol
18.5% a year; median large-cap trailing P/E 15-25; small/mid median P/E relative to the
large-cap median about 0.77 in late 2021 and 0.71 at end-2024; HY OAS from 2.35% to 21.8%.

The package is split by concern: :mod:`.calibration` (the figures and constants above),
:mod:`.presets` (sizes and spans), :mod:`.universe` (who the securities are),
:mod:`.model` (returns, shares, the concentration solve), :mod:`.membership`,
:mod:`.fundamentals` (fundamentals and credit series) and :mod:`.tables` (the steps in
order and the canonical tables), :mod:`.prices` (raw closes, splits, total return,
volumes: any block of securities over any window of days), and for ``us-all``
:mod:`.listings` (the listing history) and :mod:`.stream` (block by block).
"""

from __future__ import annotations

import pandas as pd

from broadening.providers.synthetic.calibration import (
    ALIVE_KNOTS,
    BDC_INDUSTRY,
    BUSLOANS_FINAL,
    BUSLOANS_KNOTS,
    CRISES,
    FACTOR_DRIFTS,
    FACTORS,
    FINAL_DRIFTS,
    FINAL_PHASE_START,
    GENERATOR,
    HY_OAS_FINAL,
    HY_OAS_KNOTS,
    MARKET_FINAL,
    MARKET_KNOTS,
    NEW_LISTINGS,
    PRIVATE_CREDIT_FINAL,
    PRIVATE_CREDIT_KNOTS,
    REGIMES,
    SECTOR_NAMES,
    SECTORS,
    SMALL_REL_PE_FINAL,
    SMALL_REL_PE_KNOTS,
    TOP10_FINAL,
    TOP10_KNOTS,
    TRADING_DAYS,
)
from broadening.providers.synthetic.presets import (
    PRESETS,
    OneChunk,
    Preset,
    SyntheticMarket,
    scaled,
)
from broadening.providers.synthetic.state import GeneratorState
from broadening.providers.synthetic.stream import MarketStream
from broadening.providers.synthetic.tables import run
from broadening.schema import TABLE_ORDER

__all__ = [
    "ALIVE_KNOTS", "BDC_INDUSTRY", "BUSLOANS_FINAL", "BUSLOANS_KNOTS", "CRISES", "FACTORS", "FACTOR_DRIFTS", "FINAL_DRIFTS",
    "FINAL_PHASE_START", "GENERATOR", "HY_OAS_FINAL", "HY_OAS_KNOTS", "MARKET_FINAL", "MARKET_KNOTS", "NEW_LISTINGS", "PRESETS",
    "PRIVATE_CREDIT_FINAL", "PRIVATE_CREDIT_KNOTS", "REGIMES", "SECTORS", "SECTOR_NAMES", "SMALL_REL_PE_FINAL",
    "SMALL_REL_PE_KNOTS", "TOP10_FINAL", "TOP10_KNOTS", "TRADING_DAYS", "MarketStream", "Preset", "SyntheticMarket", "generate", "stream",
]


def _state(seed: int, preset: str, regime: str, scale: float) -> GeneratorState:
    if preset not in PRESETS:
        raise ValueError(f"unknown synthetic preset {preset!r}: expected one of {', '.join(PRESETS)}")
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}: expected one of {', '.join(REGIMES)}")
    p = PRESETS[preset]
    if p.listings == "us-history":
        p = scaled(p, scale)
    elif scale != 1.0:
        raise ValueError(f"preset {preset!r} has a fixed size; only us-all takes a scale")
    return GeneratorState(int(seed), p, regime)


def generate(seed: int = 7, preset: str = "demo", regime: str = "broadening", scale: float = 1.0) -> SyntheticMarket:
    """Generate a synthetic market in memory.

    Parameters
    ----------
    seed : int, default 7
        Seed of the numpy random generator; the same seed gives identical tables.
    preset : {"tiny", "demo", "research", "us-all"}, default "demo"
        Universe size and date span (see :data:`PRESETS`). ``"us-all"`` is the whole US
        market since 1990 (about 25,000 securities, 5,000 alive a day); at full scale use
        :func:`stream` and a streaming ingest instead of holding it in memory.
    regime : {"broadening", "concentrating"}, default "broadening"
        Story of the final phase (from :data:`FINAL_PHASE_START`): the top-10 share falls
        and breadth widens, or concentration keeps rising.
    scale : float, default 1.0
        ``us-all`` only: size relative to the whole market (0.02 gives about 100 names
        alive a day, with the same listing history and index sizes scaled alike).

    Returns
    -------
    SyntheticMarket
        The six canonical tables and ``meta`` (``meta["synthetic"]`` is ``True``).

    Raises
    ------
    ValueError
        If ``preset`` or ``regime`` is unknown, or ``scale`` is given for a fixed-size preset.
    """
    g = _state(seed, preset, regime, scale)
    if g.p.listings != "us-history":
        return run(g)
    ms = MarketStream(g)
    parts: dict[str, list[pd.DataFrame]] = {}
    for chunk in ms:
        for name, df in chunk.items():
            parts.setdefault(name, []).append(df)
    tables = {n: pd.concat(dfs, ignore_index=True) if len(dfs) > 1 else dfs[0] for n, dfs in parts.items()}
    return SyntheticMarket(tables={n: tables[n] for n in TABLE_ORDER}, meta=ms.meta)


def stream(seed: int = 7, preset: str = "us-all", regime: str = "broadening", scale: float = 1.0) -> MarketStream:
    """A synthetic market generated block by block, for a streaming ingest.

    Iterating the result yields dicts of canonical tables: ``securities`` first, then the
    ``prices`` and ``shares`` of one block of securities at a time, then
    ``fundamentals``, ``membership`` and ``series``; ``meta`` is filled at the end.
    A preset with ``block=0`` (``tiny``, ``demo``, ``research``) comes as one chunk.
    Parameters and errors as in :func:`generate`.
    """
    g = _state(seed, preset, regime, scale)
    if g.p.listings == "us-history":
        return MarketStream(g)
    return OneChunk(run(g))
