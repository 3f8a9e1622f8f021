"""The thesis scorecard: one row per claim (C1-C10), with a verdict under configured thresholds.

Each row holds the claim in words, its headline metric, the latest value, the value's
percentile in its own trailing history, the trend over ``signals.trend_window`` days, a
verdict (``supported`` / ``not supported`` / ``mixed`` / ``n/a``) and the reason for it.
Missing data gives ``n/a`` with the reason; nothing is ever filled in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from broadening import baskets as bk
from broadening.baskets import config_or_default
from broadening.config import Config
from broadening.market import Market
from broadening.signals.compute import compute_families, family
from broadening.signals.credit import BANK_LOANS, HY_SPREAD, credit_status
from broadening.signals.history import change, trailing_percentile, trend_label
from broadening.signals.regime import diffusion_score, regime_labels

__all__ = ["Scorecard", "scorecard", "CLAIMS", "SUPPORTED", "NOT_SUPPORTED", "MIXED", "NA"]

SUPPORTED, NOT_SUPPORTED, MIXED, NA = "supported", "not supported", "mixed", "n/a"

#: Claim id -> the claim in words.
CLAIMS: dict[str, str] = {
    "C1": "Capital is concentrated in a few mega-caps",
    "C2": "The cap-weight vs equal-weight valuation gap is extreme and the rubber band is snapping",
    "C3": "The median company is healthy and accelerating",
    "C4": "Breadth: participation is widening",
    "C5": "High-quality domestic cyclicals are absorbing liquidity; it is not a junk rally",
    "C6": "Credit creation is handed from banks to private credit",
    "C7": "Trim mega-cap tech: it is a liquidity source",
    "C8": "Move down the AI stack: adopters over infrastructure",
    "C9": "Small-cap quality is at multi-year relative valuation lows",
    "C10": "The passive-index shield works in reverse",
}

COLUMNS = ["id", "claim", "metric", "value", "percentile", "trend", "verdict", "reason"]


@dataclass
class Scorecard:
    """The thesis scorecard as of one date.

    Attributes
    ----------
    table : DataFrame
        One row per claim with columns ``id, claim, metric, value, percentile, trend,
        verdict, reason``.
    regime : str
        Regime label at ``asof`` (scarcity / transition / diffusion / n/a).
    diffusion_score : float
        Diffusion score at ``asof`` in [0, 1] (NaN when unknown).
    asof : Timestamp
        The date the scorecard describes.
    synthetic : bool
        Whether the market data is synthetic.
    """

    table: pd.DataFrame
    regime: str
    diffusion_score: float
    asof: pd.Timestamp
    synthetic: bool = False

    def to_dict(self) -> dict:
        """The JSON shape: ``asof``, ``regime``, ``diffusion_score``, ``claims`` (list of rows)."""
        def num(v):
            return None if v is None or not np.isfinite(v) else float(v)

        claims = []
        for row in self.table.itertuples(index=False):
            claims.append({
                "id": row.id, "claim": row.claim, "metric": row.metric, "value": num(row.value),
                "percentile": num(row.percentile), "trend": row.trend, "verdict": row.verdict,
                "reason": row.reason,
            })
        return {
            "asof": self.asof.date().isoformat(),
            "regime": self.regime,
            "diffusion_score": num(self.diffusion_score),
            "synthetic": bool(self.synthetic),
            "claims": claims,
        }


def _at(s: pd.Series | np.ndarray, t: int) -> float:
    v = float(np.asarray(s, dtype=float)[t])
    return v if np.isfinite(v) else float("nan")


def _fmt(v: float, pct: bool = False) -> str:
    if not np.isfinite(v):
        return "n/a"
    return f"{v:+.1%}" if pct else f"{v:.3g}"


def _two_part(a: bool | None, b: bool | None, why: str) -> tuple[str, str]:
    """Verdict from two conditions: both -> supported, neither -> not, one -> mixed."""
    if a is None or b is None:
        return NA, why
    if a and b:
        return SUPPORTED, why
    if not a and not b:
        return NOT_SUPPORTED, why
    return MIXED, why


def _cond(v: float, test) -> bool | None:
    return None if not np.isfinite(v) else bool(test(v))


def scorecard(market: Market, cfg: Config | None = None, asof: str | pd.Timestamp | None = None,
              *, workers: int | None = None) -> Scorecard:
    """Build the thesis scorecard.

    Parameters
    ----------
    market : Market
    cfg : Config, optional
        Thresholds and classification (defaults to the shipped config).
    asof : date-like, optional
        Describe this date (the last trading date on or before it): the scorecard is built
        on ``market.until(asof)``. Default: the market's last date.
    workers : int, optional
        Threads for computing the claims' metrics (see
        :func:`~broadening.signals.compute.compute_families`).

    Returns
    -------
    Scorecard
    """
    cfg = config_or_default(cfg)
    if asof is not None:
        if market.date_position(asof) < 0:
            raise ValueError(f"asof {asof} is before the first date {market.index[0].date()}")
        if market.date_position(asof) < market.shape[0] - 1:
            market = market.until(asof)  # reasons (what data exists) must be as of then too
    compute_families(market, cfg, workers=workers)
    t = market.shape[0] - 1
    W = cfg.signals.trend_window
    h = cfg.history
    th = cfg.scorecard

    def pct(x, window=None) -> float:
        x = np.asarray(x, dtype=float)[: t + 1]
        return _at(trailing_percentile(x[-(window or h.window):], window or h.window, h.min_periods), -1) if len(x) else float("nan")

    def trend(x) -> str:
        return trend_label(_at(change(np.asarray(x, dtype=float), W), t), W)

    def short(n: int) -> str:
        return f"not enough history at {market.index[t].date()} (needs about {n} trading days)"

    rows = []

    def add(cid, metric, value, percentile, trend_text, verdict, reason):
        if verdict == NA:
            value, percentile = float("nan"), float("nan")
        rows.append([cid, CLAIMS[cid], metric, value, percentile, trend_text, verdict, reason])

    has_fund = not market.fundamentals.empty
    no_fund = "no fundamentals in the warehouse"
    k = cfg.universe.k

    # C1 -------------------------------------------------------------------------------
    c1 = family(market, "C1", cfg)
    x = c1[f"top{k}_share"]
    v, p = _at(x, t), pct(x)
    c = th["C1"]
    others = ", ".join(f"top-{kk} {_fmt(_at(c1[f'top{kk}_share'], t), True)[1:]}" for kk in cfg.universe.k_report if kk != k)
    if not np.isfinite(v):
        add("C1", f"top-{k} weight share", v, p, trend(x), NA, "no large-index market caps")
    elif not np.isfinite(p):
        add("C1", f"top-{k} weight share", v, p, trend(x), NA, short(h.min_periods))
    else:
        verdict = SUPPORTED if p >= c["supported_percentile"] else NOT_SUPPORTED if p <= c["not_supported_percentile"] else MIXED
        add("C1", f"top-{k} weight share", v, p, trend(x), verdict,
            f"top-{k} {v:.1%} at the {p:.0%} percentile of its history ({others}; effective N {_at(c1['effective_n'], t):.0f})")

    # C2 -------------------------------------------------------------------------------
    c2 = family(market, "C2", cfg)
    c = th["C2"]
    snap_days = {1: 21, 3: 63, 6: 126, 12: 252}[int(c["snap_months"])]
    x = c2["pe_gap"]
    v, p = _at(x, t), pct(x)
    snap = _at(c2[f"ew_cw_{snap_days}d"], t) if f"ew_cw_{snap_days}d" in c2 else float("nan")
    metric = "cap-weighted P/E / equal-weight median P/E"
    if not has_fund:
        add("C2", metric, v, p, trend(x), NA, no_fund)
    elif not np.isfinite(v) or not np.isfinite(p) or not np.isfinite(snap):
        add("C2", metric, v, p, trend(x), NA, short(max(h.min_periods, snap_days)))
    else:
        verdict, why = _two_part(p >= c["gap_percentile"], snap > c["snap_min"],
                                 f"CW P/E {_at(c2['cw_pe'], t):.1f} vs EW median {_at(c2['ew_median_pe'], t):.1f} "
                                 f"(gap at the {p:.0%} percentile); EW minus CW {snap:+.1%} over {int(c['snap_months'])}m")
        add("C2", metric, v, p, trend(x), verdict, why)

    # C3 -------------------------------------------------------------------------------
    c3 = family(market, "C3", cfg)
    c = th["C3"]
    x = c3["growth_gap"]
    v, p = _at(x, t), pct(x)
    acc = _at(c3["acceleration"], t)
    metric = f"median TTM earnings growth outside minus inside top-{k}"
    if not has_fund:
        add("C3", metric, v, p, trend(x), NA, no_fund)
    elif not np.isfinite(v) or not np.isfinite(acc):
        add("C3", metric, v, p, trend(x), NA, short(cfg.signals.growth_lag_days + cfg.signals.acceleration_lag_days))
    else:
        verdict, why = _two_part(v > c["growth_gap_min"], acc > c["acceleration_min"],
                                 f"outside {_fmt(_at(c3['growth_outside'], t), True)} vs inside {_fmt(_at(c3['growth_inside'], t), True)}; "
                                 f"acceleration {acc:+.1%}; {_at(c3['share_positive'], t):.0%} profitable, "
                                 f"{_at(c3['share_rising'], t):.0%} growing")
        add("C3", metric, v, p, trend(x), verdict, why)

    # C4 -------------------------------------------------------------------------------
    c4 = family(market, "C4", cfg)
    c = th["C4"]
    x = c4["beat_share"]
    v, p = _at(x, t), pct(x)
    ma = _at(c4["above_ma_share"], t)
    metric = f"share of members beating the index over {cfg.signals.breadth_window}d"
    if not np.isfinite(v) or not np.isfinite(ma):
        add("C4", metric, v, p, trend(x), NA, short(max(cfg.signals.breadth_window, cfg.signals.moving_average)))
    else:
        verdict, why = _two_part(v >= c["beat_share_min"], ma >= c["above_ma_min"],
                                 f"{v:.0%} beat the index, {ma:.0%} above their {cfg.signals.moving_average}-day average; "
                                 + (f"half the index's {cfg.signals.breadth_window}d return from {half:.0f} names"
                                    if np.isfinite(half := _at(c4['half_return_count'], t))
                                    else f"index return over {cfg.signals.breadth_window}d not positive"))
        add("C4", metric, v, p, trend(x), verdict, why)

    # C5 -------------------------------------------------------------------------------
    c5 = family(market, "C5", cfg)
    c = th["C5"]
    x = c5["dc_minus_megatech"]
    v, p = _at(x, t), pct(x)
    qmj = _at(c5["quality_minus_junk"], t)
    metric = f"domestic cyclicals minus mega-cap tech return, {cfg.signals.breadth_window}d"
    n_dc = int(bk.domestic_cyclicals(market, cfg)[t].sum())
    n_mt = int(bk.megacap_tech(market, cfg)[t].sum())
    if n_dc == 0 or n_mt == 0:
        add("C5", metric, v, p, trend(x), NA,
            "no domestic cyclicals (check sectors and domestic_revenue_share)" if n_dc == 0 else "no mega-cap tech names")
    elif not np.isfinite(v):
        add("C5", metric, v, p, trend(x), NA, short(cfg.signals.breadth_window))
    elif not np.isfinite(qmj):
        verdict = MIXED if v > c["relative_min"] else NOT_SUPPORTED
        add("C5", metric, v, p, trend(x), verdict,
            f"relative return {v:+.1%}; quality vs junk unknown ({'no fundamentals' if not has_fund else 'an empty quality or junk basket'})")
    else:
        verdict, why = _two_part(v > c["relative_min"], qmj > c["quality_minus_junk_min"],
                                 f"relative return {v:+.1%}; quality minus junk {qmj:+.1%}; "
                                 f"cap-share flow {_fmt(_at(c5['dc_flow'], t), True)}")
        add("C5", metric, v, p, trend(x), verdict, why)

    # C6 -------------------------------------------------------------------------------
    c6 = family(market, "C6", cfg)
    c = th["C6"]
    x = c6["handoff"]
    v, p = _at(x, t), pct(x)
    status = credit_status(market)
    hy_ch = _at(c6["hy_spread_change"], t)
    metric = "private-credit growth minus bank-loan growth (y/y)"
    pc_missing = status["PRIVATE_CREDIT_AUM"] is not None and status["bdcs"] is not None
    if status[BANK_LOANS] is not None or pc_missing:
        add("C6", metric, v, p, trend(x), NA, status[BANK_LOANS] or "no private-credit series and no BDCs")
    elif not np.isfinite(v):
        add("C6", metric, v, p, trend(x), NA, short(cfg.signals.credit_growth_days))
    elif status[HY_SPREAD] is not None or not np.isfinite(hy_ch):
        verdict = MIXED if v > c["handoff_min"] else NOT_SUPPORTED
        add("C6", metric, v, p, trend(x), verdict, f"handoff {v:+.1%}; spread trend unknown ({status[HY_SPREAD] or 'short history'})")
    else:
        verdict, why = _two_part(v > c["handoff_min"], hy_ch <= c["spread_change_max"],
                                 f"private credit {_fmt(_at(c6['private_credit_growth'], t), True)} vs banks "
                                 f"{_fmt(_at(c6['bank_loan_growth'], t), True)} y/y; HY spread {_at(c6['hy_spread'], t):.2f}% "
                                 f"({hy_ch:+.2f} over {W}d)")
        add("C6", metric, v, p, trend(x), verdict, why)

    # C7 -------------------------------------------------------------------------------
    c7 = family(market, "C7", cfg)
    c = th["C7"]
    x = c7["topk_weight"]
    v, p = _at(x, t), pct(x)
    ch = _at(c7["topk_weight_change"], t)
    metric = f"top-{k} index weight (what a trim frees)"
    if not np.isfinite(v) or not np.isfinite(p) or not np.isfinite(ch):
        add("C7", metric, v, p, trend(x), NA, short(max(W, h.min_periods)))
    else:
        verdict, why = _two_part(p >= c["weight_percentile"], ch < c["weight_change_max"],
                                 f"top-{k} weight {v:.1%} (percentile {p:.0%}), {ch:+.1%} over {W}d; "
                                 f"mega-cap tech {_at(c7['megatech_weight'], t):.1%}")
        add("C7", metric, v, p, trend(x), verdict, why)

    # C8 -------------------------------------------------------------------------------
    c8 = family(market, "C8", cfg)
    c = th["C8"]
    x = c8["adopters_minus_infra"]
    v, p = _at(x, t), pct(x)
    mg = _at(c8["margin_gap"], t)
    metric = f"AI adopters minus infrastructure return, {cfg.signals.breadth_window}d"
    n_ad = int(bk.ai_layer(market, cfg, "adopter")[t].sum())
    n_in = int(bk.ai_layer(market, cfg, "infrastructure")[t].sum())
    if n_ad == 0 or n_in == 0:
        add("C8", metric, v, p, trend(x), NA, f"no securities tagged '{'adopter' if n_ad == 0 else 'infrastructure'}' (ai_layer)")
    elif not np.isfinite(v):
        add("C8", metric, v, p, trend(x), NA, short(cfg.signals.breadth_window))
    elif not np.isfinite(mg):
        verdict = MIXED if v > c["relative_min"] else NOT_SUPPORTED
        add("C8", metric, v, p, trend(x), verdict, f"relative return {v:+.1%}; margins unknown ({no_fund if not has_fund else 'short history'})")
    else:
        verdict, why = _two_part(v > c["relative_min"], mg > c["margin_gap_min"],
                                 f"relative return {v:+.1%}; adopter margin {_fmt(_at(c8['adopter_margin'], t), True)[1:]} "
                                 f"({_fmt(_at(c8['adopter_margin_change'], t), True)} y/y) vs infrastructure "
                                 f"{_fmt(_at(c8['infra_margin'], t), True)[1:]} ({_fmt(_at(c8['infra_margin_change'], t), True)})")
        add("C8", metric, v, p, trend(x), verdict, why)

    # C9 -------------------------------------------------------------------------------
    c9 = family(market, "C9", cfg)
    c = th["C9"]
    x = c9["relative_pe"]
    years_days = int(round(c["years"] * 252))
    v, p = _at(x, t), pct(x, years_days)
    metric = "small-cap quality P/E / large-cap P/E"
    if not has_fund:
        add("C9", metric, v, p, trend(x), NA, no_fund)
    elif not np.isfinite(v):
        add("C9", metric, v, p, trend(x), NA, "no small-cap quality basket (no small universe or no eligible names)")
    elif not np.isfinite(p):
        add("C9", metric, v, p, trend(x), NA, short(h.min_periods))
    else:
        verdict = SUPPORTED if p <= c["low_percentile"] else NOT_SUPPORTED if p >= c["high_percentile"] else MIXED
        add("C9", metric, v, p, trend(x), verdict,
            f"relative P/E {v:.2f} at the {p:.0%} percentile of {c['years']:g} years "
            f"(small-cap quality {_at(c9['scq_pe'], t):.1f} vs large {_at(c9['large_pe'], t):.1f})")

    # C10 ------------------------------------------------------------------------------
    c10 = family(market, "C10", cfg)
    c = th["C10"]
    x = c10["down_minus_up"]
    v, p = _at(x, t), pct(x)
    down, tw = _at(c10["topk_down_share"], t), _at(c10["topk_weight"], t)
    metric = f"top-{k} share of index losses minus share of gains, {cfg.signals.crowding_window}d"
    if not np.isfinite(v) or not np.isfinite(tw):
        add("C10", metric, v, p, trend(x), NA, short(cfg.signals.crowding_window))
    else:
        verdict, why = _two_part(v > c["down_minus_up_min"], down > tw,
                                 f"top-{k} took {down:.0%} of down-day losses and {_at(c10['topk_up_share'], t):.0%} of "
                                 f"up-day gains at a {tw:.0%} weight; variance share {_fmt(_at(c10['topk_variance_share'], t))}")
        add("C10", metric, v, p, trend(x), verdict, why)

    table = pd.DataFrame(rows, columns=COLUMNS)
    score = diffusion_score(market, cfg)
    labels = regime_labels(market, cfg)
    return Scorecard(
        table=table, regime=str(labels.iloc[t]), diffusion_score=_at(score, t),
        asof=pd.Timestamp(market.index[t]), synthetic=bool(market.synthetic),
    )
