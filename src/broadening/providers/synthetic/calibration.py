"""Calibration of the synthetic market: the public figures it imitates and the model constants.

Every knot here is a target the generator is pinned or steered to (see the package
docstring for the figures they come from); :func:`interp_knots` reads them at any dates.
"""

from __future__ import annotations

import numpy as np

GENERATOR = "broadening.synthetic v1"
REGIMES = ("broadening", "concentrating")
FINAL_PHASE_START = "2025-07-01"


#: Target top-10 share of the large-cap index (cap-weighted), linearly interpolated.
#: The last knot depends on the regime (see :data:`TOP10_FINAL`).
TOP10_KNOTS: tuple[tuple[str, float], ...] = (
    ("1990-01-02", 0.200),
    ("1993-12-31", 0.175),
    ("1996-12-31", 0.190),
    ("1999-12-31", 0.250),
    ("2000-03-31", 0.260),
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
    ("1990-01-02", 0.27),
    ("1990-10-11", 0.22),
    ("1993-12-31", 0.35),
    ("1994-12-30", 0.35),
    ("1995-12-29", 0.47),
    ("1996-12-31", 0.56),
    ("1997-12-31", 0.73),
    ("1998-08-31", 0.72),
    ("1998-12-31", 0.93),
    ("1999-12-31", 1.11),
    ("2000-03-24", 1.16),
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
    ("1990-08-01", "1990-10-31", 1.5),
    ("1998-08-01", "1998-10-15", 2.0),
    ("2000-04-03", "2000-05-31", 1.5),
    ("2002-06-01", "2002-10-31", 1.6),
    ("2008-09-15", "2008-12-31", 2.6),
    ("2009-01-01", "2009-04-30", 1.7),
    ("2020-02-24", "2020-04-15", 3.2),
    ("2022-05-01", "2022-10-31", 1.3),
    ("2025-04-01", "2025-04-30", 2.0),
)

#: Small/mid P/E relative to large caps (target of the fundamentals model).
SMALL_REL_PE_KNOTS: tuple[tuple[str, float], ...] = (
    ("1990-01-02", 1.05),
    ("1995-12-31", 1.00),
    ("1999-12-31", 0.72),
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
    ("1990-01-02", 7.0),
    ("1990-12-31", 11.0),
    ("1992-12-31", 5.5),
    ("1994-12-30", 3.8),
    ("1997-10-01", 2.7),
    ("1998-10-08", 6.5),
    ("1999-12-31", 5.2),
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
    ("1990-01-01", 640.0),
    ("1993-06-01", 590.0),
    ("2000-10-01", 1090.0),
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
    ("1990-01-02", 5.0),
    ("1995-12-31", 15.0),
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
    "size": (("1995-01-01", "1999-12-31", -0.06), ("2001-01-01", "2006-12-31", 0.03),
             ("2023-01-01", "2025-06-30", -0.06)),
    "ai": (("1995-01-01", "2000-03-24", 0.20), ("2000-03-27", "2000-12-29", -0.30), ("2023-01-01", "2025-06-30", 0.25)),
    "dom": (("2023-01-01", "2024-12-31", -0.04),),
    "quality": (
        ("1999-01-01", "2000-03-24", -0.15),
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

TRADING_DAYS = 252.0


def interp_knots(days: np.ndarray, knots, final=None, log: bool = False) -> np.ndarray:
    """Linear (or log-linear) interpolation of date knots at datetime64[D] ``days``."""
    if final and isinstance(final[0], tuple):
        pts = list(knots) + list(final)
    else:
        pts = list(knots) + ([final] if final else [])
    x = np.array([np.datetime64(d, "D") for d, _ in pts]).astype("int64")
    y = np.array([v for _, v in pts], dtype=float)
    xi = days.astype("datetime64[D]").astype("int64")
    return np.exp(np.interp(xi, x, np.log(y))) if log else np.interp(xi, x, y)


def zipf_top_share(n: int, a: float = 0.7, k: int = 10) -> float:
    """Share of the ``k`` largest of ``n`` weights ``rank^-a`` (the Zipf top-``k`` share)."""
    w = np.arange(1, n + 1, dtype=float) ** -a
    return float(w[:k].sum() / w.sum())


def logit(p):
    """Log-odds of a share."""
    return np.log(p / (1 - p))


def expit(x):
    """Inverse of :func:`logit`."""
    return 1.0 / (1.0 + np.exp(-x))



#: Listed US common stocks on any day (whole-market ``us-all`` preset, full scale), linearly
#: interpolated: the shape of the CRSP count (a late-1990s peak, a long decline to the 2010s,
#: a 2021 rebound), levelled so the average is about 5,000 a day.
ALIVE_KNOTS: tuple[tuple[str, float], ...] = (
    ("1990-01-02", 5200.0),
    ("1993-12-31", 5600.0),
    ("1997-12-31", 6500.0),
    ("2000-12-29", 6000.0),
    ("2002-12-31", 5300.0),
    ("2008-12-31", 4500.0),
    ("2012-12-31", 4000.0),
    ("2019-12-31", 4000.0),
    ("2021-12-31", 4700.0),
    ("2025-12-31", 4400.0),
)
#: New listings a year (IPOs, spin-offs, transfers; ``us-all``, full scale): the shape of
#: Ritter's US IPO counts (the 1990s wave peaking in 1996, the 2001-03 and 2008-09 droughts,
#: the 2020-21 SPAC wave), levelled so the market holds about 25,000 securities in all.
NEW_LISTINGS: dict[int, int] = {
    1990: 350, 1991: 580, 1992: 810, 1993: 1050, 1994: 870, 1995: 930, 1996: 1280, 1997: 1100, 1998: 810,
    1999: 930, 2000: 760, 2001: 290, 2002: 230, 2003: 230, 2004: 520, 2005: 460, 2006: 490, 2007: 520,
    2008: 170, 2009: 140, 2010: 350, 2011: 330, 2012: 330, 2013: 460, 2014: 520, 2015: 410, 2016: 290,
    2017: 370, 2018: 410, 2019: 370, 2020: 810, 2021: 1280, 2022: 290, 2023: 290, 2024: 350, 2025: 410,
}
#: Share of delistings that are distress (the rest are mergers), by default and in busts.
DISTRESS_SHARE = 0.4
DISTRESS_SHARE_BUST: tuple[tuple[str, str, float], ...] = (
    ("2000-10-01", "2003-03-31", 0.6),
    ("2008-06-01", "2009-12-31", 0.6),
)
