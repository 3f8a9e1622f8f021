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
    ``volume`` is shares traded (turnover 0.2-1.5% a day, higher on big moves).
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

What it realises (demo preset, seed 7, regime "broadening"): the top-10 share is within
about one point of every knot (21.5% at 2005-01-03, 19.4% end-2010, 38.3% end-2024,
40.4% mid-2025, 35.3% end-2025); equal weight 6.3% a year vs cap weight 6.1% over
2005-2022 (price plus dividends), 13% vs 24% a year in 2023-2024; cap-weighted index vol
18.5% a year; median large-cap trailing P/E 15-25; small/mid median P/E relative to the
large-cap median about 0.77 in late 2021 and 0.71 at end-2024; HY OAS from 2.35% to 21.8%.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

GENERATOR = "broadening.synthetic v1"
REGIMES = ("broadening", "concentrating")
FINAL_PHASE_START = "2025-07-01"


@dataclass(frozen=True)
class Preset:
    """Size and span of a synthetic market.

    Parameters
    ----------
    name : str
        Preset name.
    n_large : int
        Size of the large-cap index (``"sp500"``) at any date.
    n_small : int
        Size of the small/mid universe (``"smallmid"``) at any date.
    start, end : str
        First and last calendar date; the market trades on business days in between.
    n_bdc : int
        Number of BDCs in the small/mid universe.
    n_mega : int
        Size of the mega-cap group that carries the concentration drift.
    turnover : float
        IPOs (and delistings) a year, as a share of the live count.
    """

    name: str
    n_large: int
    n_small: int
    start: str
    end: str
    n_bdc: int = 15
    n_mega: int = 10
    turnover: float = 0.025


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", 40, 60, "2016-01-01", "2025-12-31", n_bdc=4, n_mega=4),
    "demo": Preset("demo", 500, 1500, "2005-01-03", "2025-12-31"),
    "research": Preset("research", 500, 2300, "2001-01-02", "2025-12-31", n_bdc=20),
}

#: Target top-10 share of the large-cap index (cap-weighted), linearly interpolated.
#: The last knot depends on the regime (see :data:`TOP10_FINAL`).
TOP10_KNOTS: tuple[tuple[str, float], ...] = (
    ("2000-12-31", 0.235),
    ("2002-12-31", 0.225),
    ("2005-01-03", 0.215),
    ("2007-12-31", 0.200),
    ("2010-12-31", 0.190),
    ("2013-12-31", 0.180),
    ("2015-12-31", 0.190),
    ("2017-12-31", 0.215),
    ("2019-12-31", 0.235),
    ("2020-12-31", 0.270),
    ("2021-12-31", 0.295),
    ("2022-12-31", 0.250),
    ("2023-12-31", 0.310),
    ("2024-12-31", 0.380),
    ("2025-06-30", 0.400),
)
#: Top-10 share at the end of 2025 in each regime.
TOP10_FINAL: dict[str, tuple[str, float]] = {
    "broadening": ("2025-12-31", 0.350),
    "concentrating": ("2025-12-31", 0.445),
}

#: Broad-market level path (log-linearly interpolated) the market factor is pinned to. It is
#: the market without the mega-cap drift, so it rises less than the cap-weighted index in
#: concentration phases (2023-24) and more in broadening ones.
MARKET_KNOTS: tuple[tuple[str, float], ...] = (
    ("2000-12-29", 1.00),
    ("2002-10-09", 0.62),
    ("2007-10-09", 1.05),
    ("2008-09-12", 0.86),
    ("2008-11-20", 0.53),
    ("2009-03-09", 0.47),
    ("2010-12-31", 0.83),
    ("2011-10-03", 0.76),
    ("2015-12-31", 1.45),
    ("2018-09-20", 2.05),
    ("2018-12-24", 1.65),
    ("2020-02-19", 2.45),
    ("2020-03-23", 1.62),
    ("2021-12-31", 3.25),
    ("2022-10-12", 2.45),
    ("2023-12-31", 2.80),
    ("2024-12-31", 3.10),
    ("2025-04-08", 2.70),
    ("2025-06-30", 3.20),
)
#: End-2025 broad-market level per regime (the mega-cap drift comes on top of it).
MARKET_FINAL = {"broadening": ("2025-12-31", 3.60), "concentrating": ("2025-12-31", 3.25)}
#: Windows of extra market volatility (multiplier on the GARCH shock).
CRISES: tuple[tuple[str, str, float], ...] = (
    ("2002-06-01", "2002-10-31", 1.6),
    ("2008-09-15", "2008-12-31", 2.6),
    ("2009-01-01", "2009-04-30", 1.7),
    ("2020-02-24", "2020-04-15", 3.2),
    ("2022-05-01", "2022-10-31", 1.3),
    ("2025-04-01", "2025-04-30", 2.0),
)

#: Small/mid P/E relative to large caps (target of the fundamentals model).
SMALL_REL_PE_KNOTS: tuple[tuple[str, float], ...] = (
    ("2000-12-31", 0.82),
    ("2003-12-31", 1.00),
    ("2007-12-31", 1.02),
    ("2010-12-31", 1.00),
    ("2013-12-31", 0.98),
    ("2016-12-31", 0.95),
    ("2019-12-31", 0.90),
    ("2021-10-31", 0.72),
    ("2022-12-31", 0.78),
    ("2023-12-31", 0.72),
    ("2024-12-31", 0.71),
    ("2025-06-30", 0.69),
)
SMALL_REL_PE_FINAL = {"broadening": ("2025-12-31", 0.80), "concentrating": ("2025-12-31", 0.64)}

#: ICE BofA US High Yield option-adjusted spread, percent (FRED BAMLH0A0HYM2 shape).
HY_OAS_KNOTS: tuple[tuple[str, float], ...] = (
    ("2000-12-29", 8.8),
    ("2001-09-30", 9.5),
    ("2002-10-09", 10.8),
    ("2003-12-31", 4.2),
    ("2004-12-31", 3.1),
    ("2007-06-01", 2.41),
    ("2007-12-31", 5.6),
    ("2008-09-12", 8.5),
    ("2008-12-15", 21.8),
    ("2009-06-30", 10.5),
    ("2009-12-31", 6.0),
    ("2011-04-30", 4.6),
    ("2011-10-04", 7.6),
    ("2014-06-20", 3.4),
    ("2016-02-11", 8.4),
    ("2018-09-30", 3.2),
    ("2018-12-31", 5.3),
    ("2020-02-19", 3.6),
    ("2020-03-23", 10.9),
    ("2021-06-30", 3.0),
    ("2022-07-05", 5.9),
    ("2023-12-31", 3.4),
    ("2024-12-31", 2.9),
    ("2025-04-08", 4.5),
    ("2025-06-30", 3.0),
)
HY_OAS_FINAL = {
    "broadening": (("2025-09-30", 3.1), ("2025-12-31", 2.75)),
    "concentrating": (("2025-09-30", 2.9), ("2025-12-31", 3.2)),
}

#: Bank commercial & industrial loans, $bn (FRED BUSLOANS shape).
BUSLOANS_KNOTS: tuple[tuple[str, float], ...] = (
    ("2001-01-01", 1080.0),
    ("2004-06-01", 870.0),
    ("2008-10-01", 1600.0),
    ("2010-10-01", 1200.0),
    ("2015-01-01", 1800.0),
    ("2019-12-01", 2350.0),
    ("2020-05-01", 3000.0),
    ("2021-12-01", 2450.0),
    ("2023-01-01", 2800.0),
    ("2024-12-01", 2780.0),
    ("2025-06-01", 2830.0),
)
BUSLOANS_FINAL = {"broadening": ("2025-12-01", 2825.0), "concentrating": ("2025-12-01", 2930.0)}

#: Private-credit / non-bank lending AUM, $bn (order of magnitude of industry estimates).
PRIVATE_CREDIT_KNOTS: tuple[tuple[str, float], ...] = (
    ("2000-12-31", 45.0),
    ("2005-12-31", 140.0),
    ("2010-12-31", 300.0),
    ("2015-12-31", 520.0),
    ("2020-12-31", 1000.0),
    ("2024-12-31", 1700.0),
    ("2025-06-30", 1800.0),
)
PRIVATE_CREDIT_FINAL = {"broadening": ("2025-12-31", 2000.0), "concentrating": ("2025-12-31", 1850.0)}

FACTORS = ("market", "size", "mega", "ai", "dom", "quality", "credit")
#: Annualised drifts of the style factors by period (all regimes), before the final phase.
FACTOR_DRIFTS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "size": (("2001-01-01", "2006-12-31", 0.03), ("2023-01-01", "2025-06-30", -0.06)),
    "ai": (("2023-01-01", "2025-06-30", 0.25),),
    "dom": (("2023-01-01", "2024-12-31", -0.04),),
    "quality": (
        ("2000-01-01", "2025-06-30", 0.02),
        ("2009-03-09", "2009-12-31", -0.35),
        ("2020-04-01", "2021-03-31", -0.15),
    ),
    "credit": (("2020-06-01", "2025-06-30", 0.03),),
}
#: Annualised style-factor drifts in the final phase, per regime.
FINAL_DRIFTS: dict[str, dict[str, float]] = {
    "broadening": {"size": 0.35, "ai": -0.32, "dom": 0.35, "quality": 0.25, "credit": 0.30},
    "concentrating": {"size": -0.30, "ai": 0.40, "dom": -0.25, "quality": -0.05, "credit": -0.10},
}

# sector: (weight, domestic share base, cyclical, base P/E, op margin, div yield, industries)
# industries: (name, weight, ai layer, P(ai layer))
SECTORS: dict[str, tuple] = {
    "Information Technology": (0.13, 0.40, 0, 24.0, 0.20, 0.006, (
        ("Semiconductors", 0.3, "infrastructure", 1.0),
        ("Technology Hardware", 0.2, "infrastructure", 1.0),
        ("Software", 0.35, "adopter", 1.0),
        ("IT Services", 0.15, "adopter", 1.0))),
    "Communication Services": (0.06, 0.65, 0, 19.0, 0.16, 0.015, (
        ("Interactive Media", 0.3, "adopter", 0.6),
        ("Media & Entertainment", 0.4, "none", 1.0),
        ("Telecom Services", 0.3, "none", 1.0))),
    "Consumer Discretionary": (0.11, 0.72, 1, 20.0, 0.10, 0.012, (
        ("Internet Retail", 0.15, "adopter", 0.7),
        ("Automobiles", 0.15, "adopter", 0.5),
        ("Hotels & Restaurants", 0.3, "none", 1.0),
        ("Specialty Retail", 0.4, "none", 1.0))),
    "Consumer Staples": (0.06, 0.70, 0, 20.0, 0.11, 0.028, (
        ("Food & Beverage", 0.5, "none", 1.0),
        ("Household Products", 0.25, "none", 1.0),
        ("Food & Staples Retail", 0.25, "adopter", 0.4))),
    "Health Care": (0.13, 0.72, 0, 21.0, 0.14, 0.012, (
        ("Pharmaceuticals", 0.25, "none", 1.0),
        ("Biotechnology", 0.35, "none", 1.0),
        ("Health Care Providers", 0.2, "adopter", 0.5),
        ("Medical Devices", 0.2, "none", 1.0))),
    "Financials": (0.15, 0.85, 1, 13.0, 0.28, 0.026, (
        ("Regional Banks", 0.45, "none", 1.0),
        ("Diversified Banks", 0.1, "adopter", 0.3),
        ("Insurance", 0.25, "none", 1.0),
        ("Capital Markets", 0.2, "adopter", 0.5))),
    "Industrials": (0.14, 0.80, 1, 19.0, 0.12, 0.016, (
        ("Machinery", 0.3, "adopter", 0.5),
        ("Aerospace & Defense", 0.15, "none", 1.0),
        ("Transportation & Logistics", 0.25, "adopter", 0.7),
        ("Construction & Engineering", 0.15, "none", 1.0),
        ("Electrical Equipment", 0.15, "infrastructure", 0.6))),
    "Materials": (0.05, 0.75, 1, 15.0, 0.13, 0.022, (
        ("Chemicals", 0.45, "none", 1.0),
        ("Metals & Mining", 0.3, "none", 1.0),
        ("Construction Materials", 0.25, "none", 1.0))),
    "Energy": (0.05, 0.45, 1, 12.0, 0.15, 0.035, (
        ("Oil & Gas E&P", 0.5, "none", 1.0),
        ("Integrated Oil & Gas", 0.15, "none", 1.0),
        ("Energy Equipment & Services", 0.35, "none", 1.0))),
    "Utilities": (0.05, 0.95, 0, 17.0, 0.20, 0.038, (
        ("Electric Utilities", 0.55, "infrastructure", 0.3),
        ("Independent Power Producers", 0.15, "infrastructure", 0.8),
        ("Gas & Water Utilities", 0.3, "none", 1.0))),
    "Real Estate": (0.07, 0.92, 1, 18.0, 0.30, 0.038, (
        ("Residential REITs", 0.35, "none", 1.0),
        ("Industrial REITs", 0.35, "none", 1.0),
        ("Data Center REITs", 0.1, "infrastructure", 1.0),
        ("Retail & Office REITs", 0.2, "none", 1.0))),
}
SECTOR_NAMES = tuple(SECTORS)
BDC_INDUSTRY = "Business Development Companies"
# Mega-cap group templates: (sector, industry, ai layer), cycled.
_MEGA_TEMPLATES = (
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
_ADJ = ("Apex", "Blue", "Cedar", "Delta", "Evergreen", "First", "Granite", "Harbor", "Iron", "Juniper",
        "Keystone", "Liberty", "Meridian", "North", "Oak", "Pioneer", "Quantum", "River", "Summit",
        "Titan", "Union", "Vertex", "Western", "Zenith", "Atlas", "Beacon", "Crescent", "Pacific")
_NOUN = ("Systems", "Holdings", "Industries", "Group", "Partners", "Technologies", "Resources",
         "Brands", "Networks", "Capital", "Labs", "Works", "Dynamics", "Solutions", "Energy")

TRADING_DAYS = 252.0


@dataclass
class SyntheticMarket:
    """A generated market: the canonical tables plus a description of how it was made.

    Attributes
    ----------
    tables : dict of str to pandas.DataFrame
        ``securities``, ``prices``, ``shares``, ``fundamentals``, ``membership``,
        ``series``, with exactly the columns of :data:`broadening.schema.TABLES`.
    meta : dict
        ``{"synthetic": True, "seed", "preset", "regime", "generator", "calibration"}``;
        ``calibration`` holds the targets and what the generated market realised.
    """

    tables: dict[str, pd.DataFrame]
    meta: dict = field(default_factory=dict)


def _interp_knots(days: np.ndarray, knots, final=None, log: bool = False) -> np.ndarray:
    """Linear (or log-linear) interpolation of date knots at datetime64[D] ``days``."""
    if final and isinstance(final[0], tuple):
        pts = list(knots) + list(final)
    else:
        pts = list(knots) + ([final] if final else [])
    x = np.array([np.datetime64(d, "D") for d, _ in pts]).astype("int64")
    y = np.array([v for _, v in pts], dtype=float)
    xi = days.astype("datetime64[D]").astype("int64")
    return np.exp(np.interp(xi, x, np.log(y))) if log else np.interp(xi, x, y)


def _zipf_top_share(n: int, a: float = 0.7, k: int = 10) -> float:
    w = np.arange(1, n + 1, dtype=float) ** -a
    return float(w[:k].sum() / w.sum())


def _logit(p):
    return np.log(p / (1 - p))


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _tickers(n: int) -> list[str]:
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


def _garch_t(rng, n: int, sigma: float, alpha: float, beta: float, nu: float, mult: np.ndarray):
    """A GARCH(1,1) series of length ``n`` with standardised Student-t shocks."""
    z = rng.standard_t(nu, size=n) / np.sqrt(nu / (nu - 2))
    var_lr = sigma**2
    omega = var_lr * (1 - alpha - beta)
    h = var_lr
    out = np.empty(n)
    hs = np.empty(n)
    for t in range(n):
        e = np.sqrt(h) * z[t]
        out[t] = e * mult[t]
        hs[t] = h
        # The crisis multiplier scales the shock, not the recursion, so it cannot explode.
        h = omega + alpha * e * e + beta * h
    return out, np.sqrt(hs)


def generate(seed: int = 7, preset: str = "demo", regime: str = "broadening") -> SyntheticMarket:
    """Generate the synthetic demo market.

    Parameters
    ----------
    seed : int, default 7
        Seed of the numpy random generator; the same seed gives identical tables.
    preset : {"tiny", "demo", "research"}, default "demo"
        Universe size and date span (see :data:`PRESETS`).
    regime : {"broadening", "concentrating"}, default "broadening"
        Story of the final phase (from :data:`FINAL_PHASE_START`): the top-10 share falls
        and breadth widens, or concentration keeps rising.

    Returns
    -------
    SyntheticMarket
        The six canonical tables and ``meta`` (``meta["synthetic"]`` is ``True``).

    Raises
    ------
    ValueError
        If ``preset`` or ``regime`` is unknown.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown synthetic preset {preset!r}: expected one of {', '.join(PRESETS)}")
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}: expected one of {', '.join(REGIMES)}")
    return _Generator(int(seed), PRESETS[preset], regime).run()


class _Generator:
    def __init__(self, seed: int, p: Preset, regime: str, timings: dict | None = None):
        self.seed, self.p, self.regime = seed, p, regime
        self.timings = timings
        self.rng = np.random.default_rng([seed, 0x5EED])
        self.dates = pd.bdate_range(p.start, p.end)
        self.days = self.dates.values.astype("datetime64[D]")
        self.T = len(self.dates)

    # ------------------------------------------------------------------ universe
    def _universe(self):
        p, rng, T = self.p, self.rng, self.T
        years = T / TRADING_DAYS
        n0 = int(round((p.n_large + p.n_small) * 1.08))
        n_ipo = int(round(n0 * p.turnover * years))
        N = n0 + n_ipo
        self.N, self.n0 = N, n0
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
        self.riser = riser

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
        tmpl = _MEGA_TEMPLATES
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

        self.first, self.last = first, last
        self.rank, self.logcap0, self.mega = rank, logcap, mega
        self.distress, self.merger, self.bdc = distress, merger, bdc
        self.sector, self.industry, self.ai = sector, ind_name, ai
        self.dom, self.cyc, self.quality, self.small0 = dom, cyc, quality, small0

    # ------------------------------------------------------------------ returns
    def _factor_returns(self):
        rng, T, days = self.rng, self.T, self.days
        mult = np.ones(T)
        for a, b, m in CRISES:
            mult[(days >= np.datetime64(a)) & (days <= np.datetime64(b))] = m
        for t in range(1, T):  # crises fade out instead of ending abruptly
            mult[t] = max(mult[t], 1.0 + (mult[t - 1] - 1.0) * 0.97)
        eps, vol = _garch_t(rng, T, 0.0095, 0.08, 0.90, 5.0, mult)
        # Brownian bridge: the market's cumulative log level hits MARKET_KNOTS exactly.
        lvl = np.log(_interp_knots(days, MARKET_KNOTS, MARKET_FINAL[self.regime], log=True))
        noise = np.cumsum(eps)
        kd = np.array([np.datetime64(d) for d, _ in (*MARKET_KNOTS, MARKET_FINAL[self.regime])])
        kd = kd[(kd > days[0]) & (kd < days[-1])]
        kidx = np.unique(np.concatenate([[0], np.searchsorted(days, kd), [T - 1]]))
        noise = noise - np.interp(np.arange(T), kidx, noise[kidx])
        mkt = np.diff(lvl + noise, prepend=lvl[0] + noise[0] - eps[0])
        self.vol_state = vol / 0.0095 * mult
        # Style factors: t shocks scaled by the market vol state, plus phase drifts.
        sig = {"size": 0.0035, "mega": 0.004, "ai": 0.005, "dom": 0.003, "quality": 0.0025, "credit": 0.004}
        K = len(FACTORS) + len(SECTOR_NAMES)
        F = np.empty((T, K))
        F[:, 0] = mkt
        vs = np.sqrt(self.vol_state)
        zt = rng.standard_t(5, size=(T, K - 1)) / np.sqrt(5 / 3)
        for j, name in enumerate(FACTORS[1:], start=1):
            F[:, j] = sig[name] * zt[:, j - 1] * vs
            for a, b, d in FACTOR_DRIFTS.get(name, ()):
                F[(days >= np.datetime64(a)) & (days <= np.datetime64(b)), j] += d / TRADING_DAYS
            fin = days >= np.datetime64(FINAL_PHASE_START)
            F[fin, j] += FINAL_DRIFTS[self.regime].get(name, 0.0) / TRADING_DAYS
        F[:, len(FACTORS):] = 0.0055 * zt[:, len(FACTORS) - 1:] * vs[:, None]
        self.F = F

    def _loadings(self):
        rng, N = self.rng, self.N
        K = self.F.shape[1]
        B = np.zeros((N, K))
        B[:, 0] = np.clip(rng.normal(1.0, 0.25, N), 0.3, 1.9)
        B[self.mega, 0] = rng.uniform(1.05, 1.3, self.mega.sum())
        B[self.sector == SECTOR_NAMES.index("Utilities"), 0] *= 0.6
        B[self.sector == SECTOR_NAMES.index("Consumer Staples"), 0] *= 0.7
        z = -np.log(self.rank)
        B[:, 1] = -(z - z.mean()) / z.std() * 0.5  # small minus big
        B[self.mega, 2] = 1.0
        layer_load = {"infrastructure": 1.0, "platform": 0.5, "adopter": -0.6, "none": 0.0}
        B[:, 3] = [layer_load[x] for x in self.ai]
        # Only cyclicals load: domestic ones long, export-heavy ones short.
        B[:, 4] = self.cyc * (self.dom - 0.45) * 2.5
        B[:, 5] = self.quality * 0.6
        B[self.bdc, 6] = 1.0
        B[self.bdc, 4] = 0.0  # BDCs ride the credit factor, not the domestic-cyclical one
        B[self.bdc, 1] *= 0.5
        B[np.arange(N), len(FACTORS) + self.sector] = rng.uniform(0.6, 1.2, N)
        self.B = B

    def _returns(self):
        """Daily log price returns: factors + per-security GARCH(1,1) feeding an OU log-cap."""
        rng, T, N = self.rng, self.T, self.N
        # Dividend yields; half the yield comes out of the price drift.
        base_y = np.array([SECTORS[s][5] for s in SECTOR_NAMES])[self.sector]
        y = np.clip(base_y * np.exp(rng.normal(0, 0.4, N)) + 0.004 * self.quality, 0.0, 0.04)
        y[(self.quality < -0.8) | self.mega] *= 0.3
        y[self.bdc] = 0.04
        self.div_yield = y
        drift = -0.5 * y / TRADING_DAYS
        drift[self.riser] += 0.12 / TRADING_DAYS  # an NVDA-like climb through the ranks

        ann = np.where(self.small0, 0.36, 0.22) * np.exp(rng.normal(0, 0.2, N) - 0.08 * self.quality)
        ann[self.mega] = 0.22
        ann = np.clip(ann, 0.12, 0.75)
        s2 = (ann / np.sqrt(TRADING_DAYS)) ** 2
        a, b = 0.06, 0.92
        omega = s2 * (1 - a - b)
        decay = 1.0 - 0.15 / TRADING_DAYS  # OU mean reversion of the idiosyncratic log cap
        r = np.empty((T, N))
        rng.standard_normal(out=r)
        vm = np.sqrt(self.vol_state)
        F, BT = self.F, np.ascontiguousarray(self.B.T)
        h = s2.copy()
        x = np.zeros(N)
        e = np.empty(N)
        xn = np.empty(N)
        for t in range(T):
            row = r[t]
            np.sqrt(h, out=e)
            e *= row
            np.multiply(x, decay, out=xn)
            xn += e * vm[t]
            np.subtract(xn, x, out=row)
            row += F[t] @ BT
            row += drift
            x, xn = xn, x
            e *= e
            h *= b
            h += omega
            h += a * e
        # Delistings: distress slides (vol up), merger jump 40 days out then calm.
        for idx, kind in ((np.flatnonzero(self.distress), "d"), (np.flatnonzero(self.merger), "m")):
            if not len(idx):
                continue
            span = 250 if kind == "d" else 40
            lens = np.minimum(span, self.last[idx] - self.first[idx])
            rows = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
            sec = np.repeat(idx, lens)
            tt = np.repeat(self.last[idx], lens) - rows
            if kind == "d":
                r[tt, sec] = r[tt, sec] * 1.6 - np.log(4.0) / span
            else:
                r[tt, sec] *= 0.15
                r[self.last[idx] - lens, idx] += np.log(1.25)
        self.r = r

    # ------------------------------------------------------------------ shares
    def _share_counts(self):
        """Split-adjusted share counts (relative to the listing count), daily."""
        rng, T, N = self.rng, self.T, self.N
        month_end = np.flatnonzero(np.diff(self.dates.month.values, append=0) != 0)
        M = len(month_end)
        ev = rng.random((M, N)) < 0.25
        mu = np.where(self.quality > 0.3, -0.006, 0.004) + np.where(self.small0, 0.004, 0.0)
        chg = ev * (mu + rng.normal(0, 0.006, (M, N)))
        fin = self.days[month_end] >= np.datetime64(FINAL_PHASE_START)
        bdc_boost = 0.03 if self.regime == "broadening" else 0.0
        chg[np.ix_(fin, self.bdc)] += bdc_boost
        # Event takes effect the business day after the month-end.
        eff = np.minimum(month_end + 1, T - 1)
        chg[eff[:, None] <= self.first[None, :]] = 0.0
        chg[eff[:, None] > self.last[None, :]] = 0.0
        cum = np.vstack([np.zeros((1, N)), np.cumsum(chg, axis=0)])
        ri = np.searchsorted(eff, np.arange(T), side="right")
        return cum[ri], eff

    # ------------------------------------------------------------------ concentration solve
    def _solve_concentration(self, lcap_m: np.ndarray, alive: np.ndarray):
        """Daily log k(t) for the mega group so the top-10 share follows the target."""
        p = self.p
        days = self.days
        month_end = self.solve_days  # the first day and every month-end
        target = _interp_knots(days[month_end], TOP10_KNOTS, TOP10_FINAL[self.regime])
        shift = _logit(_zipf_top_share(p.n_large)) - _logit(_zipf_top_share(500))
        target = _expit(_logit(target) + shift)
        self.top10_target_daily = _expit(_logit(_interp_knots(days, TOP10_KNOTS, TOP10_FINAL[self.regime])) + shift)
        age_ok = (month_end[:, None] - self.first[None, :] >= 63) | (self.first[None, :] == 0)
        caps = np.where(alive[month_end] & age_ok, np.exp(lcap_m - 20.0), 0.0)
        g = caps[:, self.mega]
        rest = np.sort(caps[:, ~self.mega], axis=1)[:, ::-1][:, : p.n_large]
        rc = np.concatenate([np.zeros((len(month_end), 1)), np.cumsum(rest, axis=1)], axis=1)
        ng = g.shape[1]
        nl = p.n_large

        def share(logk):
            gs = np.sort(g * np.exp(logk)[:, None], axis=1)[:, ::-1]
            gc = np.concatenate([np.zeros((len(month_end), 1)), np.cumsum(gs, axis=1)], axis=1)
            j = np.arange(min(ng, 10) + 1)
            top10 = (gc[:, j] + rc[:, np.minimum(10 - j, rc.shape[1] - 1)]).max(axis=1)
            j2 = np.arange(ng + 1)
            tot = (gc[:, j2] + rc[:, np.clip(nl - j2, 0, rc.shape[1] - 1)]).max(axis=1)
            return top10 / tot

        lo = np.full(len(month_end), -4.0)
        hi = np.full(len(month_end), 4.0)
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            up = share(mid) < target
            lo = np.where(up, mid, lo)
            hi = np.where(up, hi, mid)
        logk = 0.5 * (lo + hi)
        daily = np.interp(np.arange(self.T), month_end, logk)
        return daily

    # ------------------------------------------------------------------ membership
    def _membership(self, cap_at, alive: np.ndarray):
        """Quarterly size-ranked reconstitution with hysteresis; delisted names leave."""
        p, T, N = self.p, self.T, self.N
        q_end = np.flatnonzero(np.diff(self.dates.quarter.values, append=0) != 0)
        reb = np.unique(np.concatenate([[0], q_end[q_end + 1 < T - 1] + 1]))
        R = len(reb)
        large = np.zeros((R, N), dtype=bool)
        small = np.zeros((R, N), dtype=bool)
        cur_l = np.zeros(N, dtype=bool)
        cur_s = np.zeros(N, dtype=bool)
        for k, t in enumerate(reb):
            elig = alive[t] & ((t - self.first >= 63) | (self.first == 0)) & ((self.last > t + 5) | (self.last == T - 1))
            cap_t = cap_at(t)
            for size, hyst, cur, excl in ((p.n_large, 1.25, cur_l, None), (p.n_small, 1.2, cur_s, cur_l)):
                # BDCs are never large-cap index members (as in the real S&P 500).
                ok = elig & ~self.bdc if excl is None else elig & ~excl
                c = np.where(ok, cap_t, -1.0)
                order = np.argsort(-c, kind="stable")
                rank = np.empty(N, dtype=np.int64)
                rank[order] = np.arange(N)
                keep = cur & ok & (rank < int(size * hyst))
                if keep.sum() > size:
                    keep &= rank <= np.sort(rank[keep])[size - 1]
                need = size - int(keep.sum())
                cand = order[ok[order] & ~keep[order]][:need]
                keep[cand] = True
                if excl is None:
                    cur_l = keep
                else:
                    cur_s = keep
            large[k], small[k] = cur_l, cur_s
        self.reb, self.reb_large, self.reb_small = reb, large, small
        frames = []
        for idx_id, dec in (("sp500", large), ("smallmid", small)):
            d = np.diff(dec.T.astype(np.int8), axis=1, prepend=0, append=0)
            s_sec, s_k = np.nonzero(d == 1)
            e_sec, e_k = np.nonzero(d == -1)
            # Out at the next reconstitution, or the day after the last trade if delisted first.
            end_t = np.where(e_k < R, reb[np.minimum(e_k, R - 1)], T)
            end_t = np.minimum(end_t, self.last[e_sec] + 1)
            end = np.where(end_t < T, self.days[np.minimum(end_t, T - 1)], np.datetime64("NaT"))
            frames.append(pd.DataFrame({
                "index_id": idx_id,
                "security_id": self.ids[s_sec],
                "start": self.days[reb[s_k]].astype("datetime64[ns]"),
                "end": end.astype("datetime64[ns]"),
            }))
        return pd.concat(frames, ignore_index=True)

    def member_at(self, t: int, index: str = "sp500") -> np.ndarray:
        k = int(np.searchsorted(self.reb, t, side="right") - 1)
        dec = self.reb_large if index == "sp500" else self.reb_small
        return dec[k] & (self.first <= t) & (self.last >= t)

    # ------------------------------------------------------------------ fundamentals
    def _fundamentals(self, lcap_m: np.ndarray, shares_raw: np.ndarray):
        """Quarterly fundamentals from month-end log caps ``lcap_m`` (months x securities)."""
        rng, p, T, N = self.rng, self.p, self.T, self.N
        start = pd.Timestamp(p.start)
        qe = pd.date_range(start - pd.DateOffset(years=1), p.end, freq="QE")
        Q = len(qe)
        qd = qe.values.astype("datetime64[D]")
        tq = np.clip(np.searchsorted(self.days, qd, side="right") - 1, 0, T - 1)
        # Trailing 6-month mean of month-end log caps: a smooth earnings base.
        M = len(self.month_end)
        cs = np.vstack([np.zeros((1, N)), np.cumsum(lcap_m, axis=0)])
        mq = np.searchsorted(self.month_end, tq, side="right")  # months up to and incl. tq
        lo = np.maximum(mq - 6, 0)
        n = np.maximum(mq - lo, 1)[:, None]
        sm = (cs[np.minimum(mq, M)] - cs[lo]) / n
        pre = mq == 0
        sm[pre] = lcap_m[0][None, :] - 0.02 * (pre.sum() - np.arange(pre.sum()))[:, None]
        # From 2025 the earnings base is half trend (2% a quarter), half the price-driven
        # path, so the regime overlay below sets the direction of earnings momentum.
        q0 = np.flatnonzero(qd == np.datetime64("2024-12-31"))
        if len(q0):
            k = np.arange(Q) - q0[0]
            late = k > 0
            trend = sm[q0[0]][None, :] + 0.02 * k[late][:, None]
            sm[late] = 0.5 * trend + 0.5 * sm[late]
        base_cap = np.exp(sm)

        sec_pe = np.array([SECTORS[s][3] for s in SECTOR_NAMES])[self.sector]
        pe_i = 0.95 * sec_pe * np.exp(rng.normal(0, 0.2, N) + 0.06 * self.quality)
        rel = _interp_knots(qd, SMALL_REL_PE_KNOTS, SMALL_REL_PE_FINAL[self.regime])
        # Size group at each quarter: outside the large-cap index's size range.
        rank_q = np.argsort(np.argsort(-lcap_m[np.clip(mq - 1, 0, M - 1)], axis=1), axis=1)
        is_small = rank_q >= p.n_large
        top_share = _interp_knots(qd, TOP10_KNOTS, TOP10_FINAL[self.regime])
        mega_prem = 1.0 + 2.2 * np.maximum(top_share - 0.19, 0.0)
        pe = pe_i[None, :] * np.where(is_small, rel[:, None], 1.0)
        pe = np.where(self.mega[None, :], pe * mega_prem[:, None], pe)
        pe = np.clip(pe * np.exp(rng.normal(0, 0.05, (Q, N))), 7.0, 60.0)

        # Earnings-momentum overlay in the last quarters (cumulative growth in log).
        gq = np.zeros((Q, N))
        steps = {"2024-12-31": (0.0, 0.0), "2025-03-31": (0.02, 0.0), "2025-06-30": (0.06, 0.01),
                 "2025-09-30": (0.12, 0.0), "2025-12-31": (0.12, 0.0)}
        sgn = 1.0 if self.regime == "broadening" else -1.0
        for d, (broad, mega_g) in steps.items():
            k = np.flatnonzero(qd == np.datetime64(d))
            if len(k):
                gq[k[0], ~self.mega] = sgn * broad
                gq[k[0], self.mega] = -sgn * (broad * 0.8) + mega_g
        gq = np.cumsum(gq, axis=0)

        ni_target = base_cap / (4.0 * pe) * np.exp(gq)
        sec_m = np.array([SECTORS[s][4] for s in SECTOR_NAMES])[self.sector]
        m_base = np.clip(sec_m + 0.04 * self.quality + rng.normal(0, 0.03, N), 0.04, 0.55)
        loss_score = self.quality + rng.normal(0, 0.5, N)
        loss = np.where(self.small0, loss_score < -1.5, loss_score < -2.3) & ~self.mega
        # Loss-makers that grow into the top of the large-cap range turn profitable.
        loss_q = loss[None, :] & (rank_q >= int(0.6 * p.n_large))
        roe = np.clip(0.13 + 0.05 * self.quality + rng.normal(0, 0.03, N), 0.06, 0.6)
        de = np.clip(np.exp(-0.3 - 0.45 * self.quality + rng.normal(0, 0.35, N)), 0.02, 3.0)
        fin_sec = self.sector == SECTOR_NAMES.index("Financials")
        de[fin_sec] *= 2.0
        de[self.bdc] = 1.1
        de[loss] *= 2.5

        book = 4.0 * ni_target / roe[None, :]
        book = np.where(loss_q, base_cap * rng.uniform(0.25, 0.8, N)[None, :], book)
        debt = book * de[None, :]
        interest = debt * 0.0125
        # Margins: AI adopters expand in the broadening regime from 2024 Q3.
        ramp = np.clip((qd - np.datetime64("2024-06-30")).astype(float) / 450.0, 0.0, 1.0)
        adopter = self.ai == "adopter"
        infra = self.ai == "infrastructure"
        dm = np.zeros((Q, N))  # relative margin change
        if self.regime == "broadening":
            dm[:, adopter] = 0.30 * ramp[:, None]
            dm[:, infra] = -0.08 * ramp[:, None]
        else:
            dm[:, infra] = 0.15 * ramp[:, None]
        m_q = m_base[None, :] * (1.0 + dm + rng.normal(0, 0.04, (Q, N)))
        rev = (ni_target / 0.78 + interest) / m_base[None, :]
        loss_m = -rng.uniform(0.02, 0.12, N)
        rev = np.where(loss_q, base_cap * 0.06 * rng.uniform(0.5, 1.5, N)[None, :], rev)
        m_q = np.where(loss_q, loss_m[None, :] + rng.normal(0, 0.01, (Q, N)), m_q)
        oi = rev * m_q
        pretax = oi - interest
        ni = np.where(pretax > 0, 0.78 * pretax, pretax)
        cap_int = np.where(infra, 0.12, 0.05)[None, :] * (1 + np.where(infra & (self.regime == "concentrating"), 1.0, 0.5)[None, :] * ramp[:, None])
        capex = rev * cap_int
        eps = ni / shares_raw[tq]

        # Filing lags.
        q4 = (qe.month.values == 12)[:, None]
        lag = np.where(q4, rng.integers(45, 76, (Q, N)), rng.integers(25, 46, (Q, N)))
        avail = qd[:, None] + lag.astype("timedelta64[D]")
        first_d = self.days[self.first]
        last_d = np.where(self.last < T - 1, self.days[self.last], self.days[-1])
        ok = (avail <= last_d[None, :]) & ((qd[:, None] >= first_d[None, :]) | (self.first == 0)[None, :])
        qi, si = np.nonzero(ok.T)
        df = pd.DataFrame({
            "security_id": self.ids[qi],
            "period_end": qd[si].astype("datetime64[ns]"),
            "available_date": avail[si, qi].astype("datetime64[ns]"),
            "revenue": rev[si, qi],
            "net_income": ni[si, qi],
            "eps": eps[si, qi],
            "book_equity": book[si, qi],
            "total_debt": debt[si, qi],
            "operating_income": oi[si, qi],
            "capex": capex[si, qi],
        })
        return df

    # ------------------------------------------------------------------ series
    def _series(self):
        rng, days = self.rng, self.days
        rg = self.regime
        oas = _interp_knots(days, HY_OAS_KNOTS, HY_OAS_FINAL[rg], log=True)
        e = rng.normal(0, 0.025, len(days))
        ou = np.empty(len(days))
        x = 0.0
        for t in range(len(days)):
            x = 0.97 * x + e[t]
            ou[t] = x
        # Pin the noise to zero at the knots (a bridge) so the extremes land on the figures.
        kd = np.array([np.datetime64(d) for d, _ in (*HY_OAS_KNOTS, *HY_OAS_FINAL[rg])])
        kidx = np.unique(np.concatenate([[0], np.searchsorted(days, kd[(kd > days[0]) & (kd < days[-1])]), [len(days) - 1]]))
        ou -= np.interp(np.arange(len(days)), kidx, ou[kidx])
        oas = np.clip(oas * np.exp(ou), 2.35, 21.8)
        months = pd.date_range(pd.Timestamp(self.p.start).to_period("M").to_timestamp(), self.p.end, freq="MS")
        md = months.values.astype("datetime64[D]")
        bl = _interp_knots(md, BUSLOANS_KNOTS, BUSLOANS_FINAL[rg]) * np.exp(rng.normal(0, 0.002, len(md)))
        qs = pd.date_range(self.p.start, self.p.end, freq="QE")
        qd = qs.values.astype("datetime64[D]")
        pc = _interp_knots(qd, PRIVATE_CREDIT_KNOTS, PRIVATE_CREDIT_FINAL[rg], log=True)
        pc = pc * np.exp(rng.normal(0, 0.01, len(qd)))
        self.oas = oas
        return pd.DataFrame({
            "series_id": np.repeat(["BUSLOANS", "BAMLH0A0HYM2", "PRIVATE_CREDIT_AUM"], [len(md), len(days), len(qd)]),
            "date": np.concatenate([md, days, qd]).astype("datetime64[ns]"),
            "value": np.concatenate([bl, oas, pc]),
        })

    # ------------------------------------------------------------------ main
    def _tick(self, label: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[label] = now - self._t0
            self._t0 = now

    def run(self) -> SyntheticMarket:
        rng, p = self.rng, self.p
        self._t0 = time.perf_counter()
        self._universe()
        T, N = self.T, self.N
        self.ids = np.array([f"SYN{i:05d}" for i in range(N)], dtype=object)
        self._factor_returns()
        self._loadings()
        self._tick("factors")
        self._returns()
        self._tick("returns")
        r = self.r
        tix = np.arange(T)[:, None]
        alive = (tix >= self.first[None, :]) & (tix <= self.last[None, :])
        ar = r[alive]  # |daily return| for volumes
        np.abs(ar, out=ar)
        lp = np.cumsum(r, axis=0, out=r)  # log price (split-adjusted, ex-dividend)
        del self.r, r
        lp -= lp[self.first, np.arange(N)][None, :]
        ls, _ = self._share_counts()
        ls += self.logcap0[None, :]
        self.month_end = np.flatnonzero(np.diff(self.dates.month.values, append=0) != 0)
        me = self.month_end
        sd = self.solve_days = np.unique(np.concatenate([[0], me]))
        logk = self._solve_concentration(lp[sd] + ls[sd], alive)
        self.logk = logk
        lp[:, self.mega] += logk[:, None]
        lcap_m = lp[me] + ls[me]
        self._tick("solve")

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
        dy = self.div_yield / TRADING_DAYS
        c0 = dy * self.first
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
        self._tick("prices")
        securities = self._securities_table()
        membership = self._membership(lambda t: close[t] * shares_raw[t], alive)
        self._tick("membership")
        fundamentals = self._fundamentals(lcap_m, shares_raw)
        self._tick("fundamentals")
        series = self._series()

        # Long tables in date-major order (cheapest to extract from the date x security panels).
        cat_ids = pd.Index(self.ids)
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
            "date": self.dates.values[t_i],
            "close": c,
            "total_return_index": tri,
            "volume": vol,
        }, copy=False)
        del t_i, sec_i
        self._tick("prices table")
        # Shares: rows only where the raw count changes (and on the listing day).
        chg = np.zeros_like(alive)
        np.not_equal(shares_raw[1:], shares_raw[:-1], out=chg[1:])
        chg[self.first, np.arange(N)] = True
        chg &= alive
        s_sec, s_t = np.nonzero(chg.T)
        shares = pd.DataFrame({
            "security_id": pd.Categorical.from_codes(s_sec.astype(np.int32), categories=cat_ids),
            "date": self.dates.values[s_t],
            "shares_outstanding": shares_raw[s_t, s_sec],
        })
        self._tick("shares table")
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
            "seed": self.seed,
            "preset": p.name,
            "regime": self.regime,
            "generator": GENERATOR,
            "calibration": self._calibration(lambda t: close[t] * shares_raw[t]),
        }
        return SyntheticMarket(tables=tables, meta=meta)

    def _securities_table(self) -> pd.DataFrame:
        N, T, rng = self.N, self.T, self.rng
        adj = np.array(_ADJ, dtype=object)[rng.integers(0, len(_ADJ), N)]
        noun = np.array(_NOUN, dtype=object)[rng.integers(0, len(_NOUN), N)]
        names = [f"{a} {b}" for a, b in zip(adj, noun, strict=True)]
        for i in np.flatnonzero(self.bdc):
            names[i] = f"{adj[i]} Capital BDC"
        delisted = self.last < T - 1
        dret = np.full(N, np.nan)
        dret[self.distress] = np.clip(rng.normal(-0.3, 0.1, self.distress.sum()), -0.6, -0.05)
        last = np.where(delisted, self.days[self.last], np.datetime64("NaT"))
        return pd.DataFrame({
            "security_id": self.ids,
            "ticker": _tickers(N),
            "name": names,
            "sector": np.array(SECTOR_NAMES, dtype=object)[self.sector],
            "industry": self.industry,
            "domestic_revenue_share": np.round(self.dom, 3),
            "ai_layer": self.ai,
            "is_bdc": self.bdc,
            "first_date": self.days[self.first].astype("datetime64[ns]"),
            "last_date": last.astype("datetime64[ns]"),
            "delisting_return": dret,
        })

    def _calibration(self, cap_at) -> dict:
        knots = dict(TOP10_KNOTS)
        knots[TOP10_FINAL[self.regime][0]] = TOP10_FINAL[self.regime][1]
        realised, target = {}, {}
        for d in knots:
            dd = np.datetime64(d)
            if dd < self.days[0] or dd > self.days[-1]:
                continue
            t = int(np.searchsorted(self.days, dd, side="right") - 1)
            c = np.where(self.member_at(t), cap_at(t), 0.0)
            realised[d] = float(np.sort(c)[-10:].sum() / c.sum())
            target[d] = float(self.top10_target_daily[t])
        return {
            "top10_share_target": target,
            "top10_share_realised": realised,
            "final_phase_start": FINAL_PHASE_START,
            "hy_oas_min": float(self.oas.min()),
            "hy_oas_max": float(self.oas.max()),
            "n_securities": int(self.N),
            "n_delisted": int((self.last < self.T - 1).sum()),
            "n_ipo": int((self.first > 0).sum()),
            "n_bdc": int(self.bdc.sum()),
        }
