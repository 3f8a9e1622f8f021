"""Sizes and spans of the synthetic markets (presets) and the generated market's container."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

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
        IPOs (and delistings) a year, as a share of the live count (``"steady"`` listings).
    listings : {"steady", "us-history"}
        ``"steady"``: a constant live count, IPOs and delistings spread evenly over
        history. ``"us-history"``: the live count and new listings follow the US record
        (:data:`~broadening.providers.synthetic.calibration.ALIVE_KNOTS`,
        :data:`~broadening.providers.synthetic.calibration.NEW_LISTINGS`), times ``scale``.
    scale : float
        Size of a ``"us-history"`` market relative to the whole US market (1.0: about
        25,000 securities, 5,000 alive a day).
    block : int
        Securities generated (and handed to the warehouse) at a time; 0 for all at once.
    """

    name: str
    n_large: int
    n_small: int
    start: str
    end: str
    n_bdc: int = 15
    n_mega: int = 10
    turnover: float = 0.025
    listings: str = "steady"
    scale: float = 1.0
    block: int = 0


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", 40, 60, "2016-01-01", "2025-12-31", n_bdc=4, n_mega=4),
    "demo": Preset("demo", 500, 1500, "2005-01-03", "2025-12-31"),
    "research": Preset("research", 500, 2300, "2001-01-02", "2025-12-31", n_bdc=20),
    "us-all": Preset("us-all", 500, 2000, "1990-01-02", "2025-12-31", n_bdc=40, listings="us-history", block=2000),
}


def scaled(p: Preset, scale: float) -> Preset:
    """A ``"us-history"`` preset at ``scale`` times its size (index sizes, BDCs and blocks too).

    Raises
    ------
    ValueError
        If ``p`` does not follow the US listing history, or ``scale`` is not in (0, 1].
    """
    if p.listings != "us-history":
        raise ValueError(f"preset {p.name!r} has a fixed size; only us-all takes a scale")
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"scale must be in (0, 1], got {scale!r}")
    if scale == 1.0:
        return p
    n_large = max(20, round(p.n_large * scale))  # the top-10 share needs more than ten members
    return replace(p, n_large=n_large, n_small=max(10, round(p.n_small * scale)),
                   n_bdc=max(2, round(p.n_bdc * scale)), n_mega=10 if n_large >= 100 else 4,
                   scale=scale, block=max(50, round(p.block * scale)))


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


class OneChunk:
    """A generated market handed over as one chunk (the streaming interface of a small preset)."""

    n_blocks = 1

    def __init__(self, market: SyntheticMarket) -> None:
        self.market = market
        self.meta = market.meta

    def __iter__(self) -> Iterator[dict[str, pd.DataFrame]]:
        yield self.market.tables
