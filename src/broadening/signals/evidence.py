"""What a claim's verdict reads and says: :class:`ClaimView`, data requirements, evidence sentences.

The :class:`~broadening.signals.claims.Claim` objects in the registry point at these
functions: ``requires`` checks (``check(view) -> reason or None``: the n/a reason when data
the claim cannot do without is missing) and ``evidence`` sentences (``sentence(view) ->
str``, printed with a verdict). They only format; every number comes from the claim's
family frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening.signals.credit import (
    BANK_LOANS,
    HY_SPREAD,
    LONG_SPREAD,
    PRIVATE_CREDIT,
    credit_status,
    spread_series,
)

if TYPE_CHECKING:
    from broadening.config import Config
    from broadening.market import Market

#: A column name, or a function of the config giving it (e.g. ``top{k}_share``).
Col = str | Callable[["Config"], str]

NO_FUNDAMENTALS = "no fundamentals in the warehouse"


def col_name(c: Col, cfg: Config) -> str:
    """The column a :data:`Col` names under ``cfg``."""
    return c(cfg) if callable(c) else c


def snap_days(cfg: Config) -> int:
    """Trading days of the C2 snap window (``scorecard.C2.snap_months``)."""
    return {1: 21, 3: 63, 6: 126, 12: 252}[int(cfg.scorecard["C2"]["snap_months"])]


@dataclass(frozen=True)
class ClaimView:
    """One claim's data as of row ``t`` of its family frame.

    Attributes
    ----------
    market, cfg :
        The (as-of) market and the configuration.
    frame : DataFrame
        The claim's family of metrics by date.
    t : int
        The row described.
    value, percentile : float
        The headline and its trailing percentile at ``t`` (NaN when unknown).
    th : dict
        The claim's thresholds (``cfg.scorecard[id]``).
    """

    market: Market
    cfg: Config
    frame: pd.DataFrame
    t: int
    value: float
    percentile: float
    th: dict[str, float]

    @property
    def k(self) -> int:
        """k of the mega-cap basket."""
        return self.cfg.universe.k

    def at(self, column: Col) -> float:
        """A family column (or ``"value"`` / ``"percentile"``) at row ``t``; NaN when unknown."""
        name = col_name(column, self.cfg)
        if name == "value":
            return self.value
        if name == "percentile":
            return self.percentile
        if name not in self.frame:
            return float("nan")
        v = float(np.asarray(self.frame[name], dtype=float)[self.t])
        return v if np.isfinite(v) else float("nan")


def fmt(v: float, pct: bool = False) -> str:
    """``+1.2%`` (``pct``) or three significant digits; ``n/a`` when unknown."""
    if not np.isfinite(v):
        return "n/a"
    return f"{v:+.1%}" if pct else f"{v:.3g}"


# -- requirements ------------------------------------------------------------------------
def fundamentals_requirement(view: ClaimView) -> str | None:
    """n/a when the warehouse holds no fundamentals."""
    return NO_FUNDAMENTALS if view.market.fundamentals.empty else None


def basket_requirement(mask: Callable[[Market, Config], np.ndarray], reason: str) -> Callable[[ClaimView], str | None]:
    """n/a with ``reason`` when the basket ``mask(market, cfg)`` is empty on the described date."""
    def check(view: ClaimView) -> str | None:
        return reason if int(mask(view.market, view.cfg)[view.t].sum()) == 0 else None

    return check


def credit_requirement(view: ClaimView) -> str | None:
    """n/a without bank loans, or without both a private-credit series and BDCs."""
    status = credit_status(view.market)
    no_private = status[PRIVATE_CREDIT] is not None and status["bdcs"] is not None
    if status[BANK_LOANS] is not None or no_private:
        return status[BANK_LOANS] or "no private-credit series and no BDCs"
    return None


# -- evidence sentences ----------------------------------------------------------------------
def c1(v: ClaimView) -> str:
    others = ", ".join(f"top-{kk} {fmt(v.at(f'top{kk}_share'), True)[1:]}" for kk in v.cfg.universe.k_report if kk != v.k)
    return (f"top-{v.k} {v.value:.1%} at the {v.percentile:.0%} percentile of its history "
            f"({others}; effective N {v.at('effective_n'):.0f})")


def c2(v: ClaimView) -> str:
    snap = v.at(f"ew_cw_{snap_days(v.cfg)}d")
    return (f"CW P/E {v.at('cw_pe'):.1f} vs EW median {v.at('ew_median_pe'):.1f} "
            f"(gap at the {v.percentile:.0%} percentile); EW minus CW {snap:+.1%} over {int(v.th['snap_months'])}m")


def c3(v: ClaimView) -> str:
    return (f"outside {fmt(v.at('growth_outside'), True)} vs inside {fmt(v.at('growth_inside'), True)}; "
            f"acceleration {v.at('acceleration'):+.1%}; {v.at('share_positive'):.0%} profitable, "
            f"{v.at('share_rising'):.0%} growing")


def c4(v: ClaimView) -> str:
    s = v.cfg.signals
    half = v.at("half_return_count")
    tail = (f"half the index's {s.breadth_window}d return from {half:.0f} names" if np.isfinite(half)
            else f"index return over {s.breadth_window}d not positive")
    return f"{v.value:.0%} beat the index, {v.at('above_ma_share'):.0%} above their {s.moving_average}-day average; " + tail


def c5(v: ClaimView) -> str:
    return (f"relative return {v.value:+.1%}; quality minus junk {v.at('quality_minus_junk'):+.1%}; "
            f"cap-share flow {fmt(v.at('dc_flow'), True)}")


def c5_partial(v: ClaimView) -> str:
    why = "no fundamentals" if v.market.fundamentals.empty else "an empty quality or junk basket"
    return f"relative return {v.value:+.1%}; quality vs junk unknown ({why})"


def c6(v: ClaimView) -> str:
    level, change = v.at("credit_spread"), v.at("credit_spread_change")
    return (f"private credit {fmt(v.at('private_credit_growth'), True)} vs banks "
            f"{fmt(v.at('bank_loan_growth'), True)} y/y; {_spread_name(v)} "
            f"{f'{level:.2f}%' if np.isfinite(level) else 'n/a'} "
            f"({f'{change:+.2f}' if np.isfinite(change) else 'n/a'} over {v.cfg.signals.trend_window}d)")


def _spread_name(v: ClaimView) -> str:
    return "BAA-10y spread" if spread_series(v.market) == LONG_SPREAD else "HY spread"


def c6_partial(v: ClaimView) -> str:
    return f"handoff {v.value:+.1%}; spread trend unknown ({credit_status(v.market)[HY_SPREAD] or 'short history'})"


def c7(v: ClaimView) -> str:
    return (f"top-{v.k} weight {v.value:.1%} (percentile {v.percentile:.0%}), {v.at('topk_weight_change'):+.1%} "
            f"over {v.cfg.signals.trend_window}d; mega-cap tech {v.at('megatech_weight'):.1%}")


def c8(v: ClaimView) -> str:
    return (f"relative return {v.value:+.1%}; adopter margin {fmt(v.at('adopter_margin'), True)[1:]} "
            f"({fmt(v.at('adopter_margin_change'), True)} y/y) vs infrastructure "
            f"{fmt(v.at('infra_margin'), True)[1:]} ({fmt(v.at('infra_margin_change'), True)})")


def c8_partial(v: ClaimView) -> str:
    why = NO_FUNDAMENTALS if v.market.fundamentals.empty else "short history"
    return f"relative return {v.value:+.1%}; margins unknown ({why})"


def c9(v: ClaimView) -> str:
    return (f"relative P/E {v.value:.2f} at the {v.percentile:.0%} percentile of {v.th['years']:g} years "
            f"(small-cap quality {v.at('scq_pe'):.1f} vs large {v.at('large_pe'):.1f})")


def c10(v: ClaimView) -> str:
    return (f"top-{v.k} took {v.at('topk_down_share'):.0%} of down-day losses and {v.at('topk_up_share'):.0%} of "
            f"up-day gains at a {v.at('topk_weight'):.0%} weight; variance share {fmt(v.at('topk_variance_share'))}")
