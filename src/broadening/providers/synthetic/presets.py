"""Sizes and spans of the synthetic markets (presets) and the generated market's container."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


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
