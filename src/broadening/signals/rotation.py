"""C5 domestic-cyclical rotation (and quality vs junk), C7 the trim's liquidity source, C8 AI stack.

Basket returns are cap-weighted with the previous day's mask and caps
(:func:`broadening.baskets.basket_returns`), so nothing looks ahead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening import baskets as bk
from broadening.baskets import cached_panel, config_or_default
from broadening.config import Config
from broadening.market import Market
from broadening.signals.concentration import index_total_cap, topk_share
from broadening.signals.history import change, window_return

__all__ = ["cap_share", "rotation", "liquidity_source", "ai_rotation", "aggregate_margin"]


def _ret(market: Market, name: str, mask: np.ndarray, cfg: Config) -> np.ndarray:
    return cached_panel(market, ("sig", "bret", name, cfg.fingerprint), lambda: bk.basket_returns(market, mask, "cap"))


def cap_share(market: Market, mask: np.ndarray, universe: np.ndarray, *, total: np.ndarray | None = None) -> np.ndarray:
    """Basket's share of the universe's total market cap each day, ``(T,)``.

    ``total`` (the universe's total cap per day) may be passed to avoid recomputing it.
    """
    if total is None:
        total = _total_cap(market, universe)
    part, _ = bk.masked_row_sums(mask & universe, market.market_cap)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, part / np.where(total > 0, total, 1.0), np.nan)


def _total_cap(market: Market, universe: np.ndarray) -> np.ndarray:
    return bk.masked_row_sums(universe, market.market_cap)[0]


def rotation(market: Market, cfg: Config | None = None, window: int | None = None) -> pd.DataFrame:
    """C5: are high-quality domestic cyclicals absorbing liquidity, and is it not a junk rally?

    Columns
    -------
    dc_minus_megatech
        Domestic-cyclical basket minus mega-cap tech compounded return over ``window``
        (``signals.breadth_window``).
    dc_relative_line
        Cumulative relative strength: growth of 1 in domestic cyclicals / in mega-cap tech.
    quality_minus_junk
        Quality minus junk domestic cyclicals, return over ``window``.
    dc_cap_share, qdc_cap_share, jdc_cap_share, megatech_cap_share
        Each basket's share of the basket universe's market cap.
    dc_flow, qdc_flow, jdc_flow, megatech_flow
        Change of those shares over ``signals.trend_window`` (market-cap flow into each).
    """
    cfg = config_or_default(cfg)
    window = int(window or cfg.signals.breadth_window)
    dc, qdc, jdc = bk.domestic_cyclicals(market, cfg), bk.quality_domestic_cyclicals(market, cfg), bk.junk_domestic_cyclicals(market, cfg)
    mt = bk.megacap_tech(market, cfg)
    r_dc, r_mt = _ret(market, "dc", dc, cfg), _ret(market, "megatech", mt, cfg)
    r_q, r_j = _ret(market, "qdc", qdc, cfg), _ret(market, "jdc", jdc, cfg)
    with np.errstate(invalid="ignore"):
        line = np.exp(np.nancumsum(np.log1p(r_dc) - np.log1p(r_mt)))
    line = np.where(np.isfinite(r_dc) & np.isfinite(r_mt), line, np.nan)
    uni = bk.basket_universe(market, cfg)
    if cfg.universe.basket_universe == "small":
        uni = uni | mt  # otherwise the universe holds the large index, so mega-cap tech already
    out = {
        "dc_minus_megatech": window_return(r_dc, window) - window_return(r_mt, window),
        "dc_relative_line": line,
        "quality_minus_junk": window_return(r_q, window) - window_return(r_j, window),
    }
    total = _total_cap(market, uni)
    cap = market.market_cap
    for name, mask in (("dc", dc), ("qdc", qdc), ("jdc", jdc), ("megatech", mt)):
        # every basket here lies inside ``uni`` (built from it), so no intersection is needed
        part = bk.masked_row_sums(mask, cap)[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(total > 0, part / np.where(total > 0, total, 1.0), np.nan)
        out[f"{name}_cap_share"] = s
        out[f"{name}_flow"] = change(s, cfg.signals.trend_window)
    return pd.DataFrame(out, index=market.index)


def liquidity_source(market: Market, cfg: Config | None = None) -> pd.DataFrame:
    """C7: the trim rule's liquidity source, measured.

    Columns
    -------
    topk_weight
        Weight of the top-k names in the cap-weighted large index (what a trim could free).
    topk_weight_change
        Its change over ``signals.trend_window`` (negative: liquidity already leaving).
    megatech_weight
        Weight of the mega-cap tech names (top-k in the tech sectors) in the large index.
    """
    cfg = config_or_default(cfg)
    tw = topk_share(market, cfg, cfg.universe.k)
    # mega-cap tech names are index members with a cap, so their weight is their cap share
    total = index_total_cap(market, cfg)
    part = bk.masked_row_sums(bk.megacap_tech(market, cfg), market.market_cap)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mt = np.where(total > 0, part / np.where(total > 0, total, 1.0), 0.0)
    mt = np.where(np.isfinite(tw), mt, np.nan)
    return pd.DataFrame({
        "topk_weight": tw,
        "topk_weight_change": change(tw, cfg.signals.trend_window),
        "megatech_weight": mt,
    }, index=market.index)


def aggregate_margin(market: Market, mask: np.ndarray) -> np.ndarray:
    """Aggregate TTM operating margin of a basket: sum operating income / sum revenue, ``(T,)``."""
    num, den, _ = bk.masked_row_sums(mask, market.fundamental_steps("operating_income", ttm=True),
                                     market.fundamental_steps("revenue", ttm=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def ai_rotation(market: Market, cfg: Config | None = None, window: int | None = None) -> pd.DataFrame:
    """C8: moving down the AI stack, from shovel-sellers (infrastructure) to adopters.

    Columns
    -------
    adopters_minus_infra
        Adopters minus infrastructure compounded return over ``window`` (``signals.breadth_window``).
    platform_minus_infra
        Platforms minus infrastructure over the same window.
    adopter_margin, infra_margin
        Aggregate TTM operating margins of each layer.
    adopter_margin_change, infra_margin_change
        Their change over ``signals.growth_lag_days`` (margin expansion).
    margin_gap
        ``adopter_margin_change - infra_margin_change``.
    """
    cfg = config_or_default(cfg)
    window = int(window or cfg.signals.breadth_window)
    ad = bk.ai_layer(market, cfg, "adopter")
    inf = bk.ai_layer(market, cfg, "infrastructure")
    pl = bk.ai_layer(market, cfg, "platform")
    r_ad, r_inf, r_pl = _ret(market, "adopter", ad, cfg), _ret(market, "infra", inf, cfg), _ret(market, "platform", pl, cfg)
    m_ad, m_inf = aggregate_margin(market, ad), aggregate_margin(market, inf)
    lag = cfg.signals.growth_lag_days
    d_ad, d_inf = change(m_ad, lag), change(m_inf, lag)
    return pd.DataFrame({
        "adopters_minus_infra": window_return(r_ad, window) - window_return(r_inf, window),
        "platform_minus_infra": window_return(r_pl, window) - window_return(r_inf, window),
        "adopter_margin": m_ad,
        "infra_margin": m_inf,
        "adopter_margin_change": d_ad,
        "infra_margin_change": d_inf,
        "margin_gap": d_ad - d_inf,
    }, index=market.index)
