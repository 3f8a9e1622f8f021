"""C6 credit handoff: from bank loans to private credit.

Series (from the ``series`` table, each value usable from its own date):

- ``BUSLOANS``: bank commercial and industrial loans (level);
- ``BAMLH0A0HYM2``: US high-yield option-adjusted spread, percent (FRED keeps only about
  three years of it);
- ``BAA10Y``: Moody's Baa corporate yield minus the 10-year Treasury, percent, daily since
  1986: the long-history credit spread;
- ``PRIVATE_CREDIT_AUM``: private-credit assets under management (level), optional.

The BDC basket (``securities.is_bdc``) is a market-traded private-credit proxy. When a
series is missing its columns are NaN and :func:`credit_status` says why; nothing is
filled in.

The spread history C6 is judged on (``credit_spread``) is ``BAA10Y`` when it is stored (it
covers decades; the HY OAS on FRED now covers about three years, too short for a
percentile), else the HY OAS; :func:`spread_series` names the one used.
All series are read as of their stored date, which for a live pull is the publication
date (see :mod:`broadening.providers.fred`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening import baskets as bk
from broadening.baskets import cached_panel, config_or_default
from broadening.config import Config
from broadening.market import Market
from broadening.signals.history import change, window_return

BANK_LOANS = "BUSLOANS"
HY_SPREAD = "BAMLH0A0HYM2"
LONG_SPREAD = "BAA10Y"
PRIVATE_CREDIT = "PRIVATE_CREDIT_AUM"

__all__ = ["BANK_LOANS", "HY_SPREAD", "LONG_SPREAD", "PRIVATE_CREDIT", "spread_series", "aligned_series", "yoy_growth", "credit", "credit_status"]


def aligned_series(market: Market, series_id: str, *, shift_days: int = 0) -> np.ndarray:
    """A series as of each market date (last value dated on or before it), ``(T,)``.

    Parameters
    ----------
    shift_days : int, default 0
        Look up the value as of ``date - shift_days`` calendar days instead (for growth).

    Returns
    -------
    ndarray, shape (T,)
        NaN before the first observation, or everywhere if the series is absent.
    """
    st = market.series_table
    s = st[st["series_id"] == series_id]
    out = np.full(market.shape[0], np.nan)
    if s.empty:
        return out
    s = s.sort_values("date")
    d = s["date"].to_numpy().astype("datetime64[D]")
    v = s["value"].to_numpy(dtype="float64")
    at = market.dates - np.timedelta64(int(shift_days), "D")
    pos = np.searchsorted(d, at, side="right") - 1
    return np.where(pos >= 0, v[np.maximum(pos, 0)], np.nan)


def yoy_growth(market: Market, series_id: str, days: int = 365) -> np.ndarray:
    """Growth of a series over ``days`` calendar days, as of each market date, ``(T,)``."""
    now = aligned_series(market, series_id)
    then = aligned_series(market, series_id, shift_days=days)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(then > 0, now / then - 1.0, np.nan)


def credit_status(market: Market) -> dict[str, str | None]:
    """Why each credit input is unavailable (``None`` when it is there)."""
    have = set(market.series_table["series_id"].unique()) if not market.series_table.empty else set()
    n_bdc = int(market.securities["is_bdc"].fillna(False).astype(bool).sum()) if "is_bdc" in market.securities else 0
    return {
        BANK_LOANS: None if BANK_LOANS in have else f"no '{BANK_LOANS}' series (bank business loans) in the warehouse",
        HY_SPREAD: None if HY_SPREAD in have else f"no '{HY_SPREAD}' series (high-yield spread) in the warehouse",
        PRIVATE_CREDIT: None if PRIVATE_CREDIT in have else f"no '{PRIVATE_CREDIT}' series; BDC market cap used as the private-credit proxy",
        "bdcs": None if n_bdc else "no securities flagged is_bdc",
    }


def spread_series(market: Market) -> str:
    """The series C6's spread history uses: ``BAA10Y`` when stored, else the HY OAS."""
    have = set(market.series_table["series_id"].unique()) if not market.series_table.empty else set()
    return LONG_SPREAD if LONG_SPREAD in have else HY_SPREAD


def credit(market: Market, cfg: Config | None = None) -> pd.DataFrame:
    """C6: bank lending vs private-credit proxies, and a handoff indicator.

    Columns
    -------
    bank_loan_growth
        Year-on-year growth of ``BUSLOANS`` (365 calendar days).
    private_credit_growth
        Year-on-year growth of ``PRIVATE_CREDIT_AUM`` where it is known that day, else of
        the BDC basket's total market cap over ``signals.credit_growth_days`` trading days.
    bdc_return
        Cap-weighted BDC basket return over ``signals.credit_growth_days``.
    bdc_cap
        Total market cap of the BDC basket.
    bdc_cap_growth
        Growth of ``bdc_cap`` over ``signals.credit_growth_days`` trading days.
    hy_spread, hy_spread_change
        High-yield spread (percent) and its change over ``signals.trend_window``.
    baa_spread
        Baa minus 10-year Treasury (percent), NaN when not stored.
    credit_spread, credit_spread_change
        The spread C6's history is judged on (:func:`spread_series`) and its change over
        ``signals.trend_window``.
    handoff
        ``private_credit_growth - bank_loan_growth`` (positive: non-banks growing faster).
    """
    cfg = config_or_default(cfg)
    days = cfg.signals.credit_growth_days
    bdc = bk.bdcs(market, cfg)
    bc = np.flatnonzero(bdc.any(axis=0))
    cap = market.market_cap[:, bc]
    cap = np.where(bdc[:, bc] & np.isfinite(cap), cap, 0.0).sum(axis=1)
    bdc_cap = np.where(bdc.any(axis=1), cap, np.nan)
    prev = np.full_like(bdc_cap, np.nan)
    if len(bdc_cap) > days:
        prev[days:] = bdc_cap[:-days]
    with np.errstate(invalid="ignore", divide="ignore"):
        bdc_growth = np.where(prev > 0, bdc_cap / prev - 1.0, np.nan)
    r = cached_panel(market, ("sig", "bret", "bdc", cfg.fingerprint), lambda: bk.basket_returns(market, bdc, "cap"))
    bank = yoy_growth(market, BANK_LOANS)
    # per date, so the choice of proxy never depends on data after that date
    pc = yoy_growth(market, PRIVATE_CREDIT)
    pc = np.where(np.isfinite(pc), pc, bdc_growth)
    hy = aligned_series(market, HY_SPREAD)
    baa = aligned_series(market, LONG_SPREAD)
    spread = baa if spread_series(market) == LONG_SPREAD else hy
    return pd.DataFrame({
        "bank_loan_growth": bank,
        "private_credit_growth": pc,
        "bdc_return": window_return(r, days),
        "bdc_cap": bdc_cap,
        "bdc_cap_growth": bdc_growth,
        "hy_spread": hy,
        "hy_spread_change": change(hy, cfg.signals.trend_window),
        "baa_spread": baa,
        "credit_spread": spread,
        "credit_spread_change": change(spread, cfg.signals.trend_window),
        "handoff": pc - bank,
    }, index=market.index)
