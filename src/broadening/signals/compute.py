"""All signal families in one wide, date-indexed frame (cached per market and config)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from broadening.baskets import _cached, _cfg
from broadening.config import Config
from broadening.market import Market
from broadening.signals.breadth import breadth
from broadening.signals.concentration import concentration, crowding
from broadening.signals.credit import credit
from broadening.signals.history import percentile_frame, zscore_frame
from broadening.signals.rotation import ai_rotation, liquidity_source, rotation
from broadening.signals.valuation import earnings, small_cap_valuation, valuation

#: Claim id -> the family function that measures it.
FAMILIES: dict[str, Callable[[Market, Config], pd.DataFrame]] = {
    "C1": concentration,
    "C2": valuation,
    "C3": earnings,
    "C4": breadth,
    "C5": rotation,
    "C6": credit,
    "C7": liquidity_source,
    "C8": ai_rotation,
    "C9": small_cap_valuation,
    "C10": crowding,
}


def family(market: Market, claim: str, cfg: Config | None = None) -> pd.DataFrame:
    """One claim's metrics, a frame indexed by date (cached on the market: treat as read-only)."""
    cfg = _cfg(cfg)
    return _cached(market, ("family", claim, cfg.fingerprint), lambda: FAMILIES[claim](market, cfg))


def compute_signals(market: Market, cfg: Config | None = None, *, stats: bool = False) -> pd.DataFrame:
    """Every metric of claims C1-C10 per date.

    Parameters
    ----------
    market : Market
    cfg : Config, optional
        Classification config (defaults to the shipped one).
    stats : bool, default False
        Also return each metric's trailing percentile and z-score against its own history
        (``history.window`` days, ``history.min_periods`` minimum).

    Returns
    -------
    DataFrame, shape (T, M)
        Indexed by date; columns ``"C1.top10_share"``, ``"C2.pe_gap"``... With
        ``stats=True`` the columns are a MultiIndex ``(metric, stat)`` with stat in
        ``value``, ``percentile``, ``zscore``.
    """
    cfg = _cfg(cfg)
    parts = []
    for claim in FAMILIES:
        f = family(market, claim, cfg)
        parts.append(f.rename(columns=lambda c, claim=claim: f"{claim}.{c}"))
    values = pd.concat(parts, axis=1)
    if not stats:
        return values
    h = cfg.history
    out = pd.concat(
        {"value": values, "percentile": percentile_frame(values, h.window, h.min_periods),
         "zscore": zscore_frame(values, h.window, h.min_periods)},
        axis=1,
    )
    return out.swaplevel(0, 1, axis=1).sort_index(axis=1, level=0, sort_remaining=False)
