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

from broadening.baskets import config_or_default
from broadening.config import Config
from broadening.market import Market
from broadening.signals.claims import (
    CLAIMS,
    MIXED,
    NA,
    NOT_SUPPORTED,
    REGISTRY,
    SUPPORTED,
    Claim,
    decide,
)
from broadening.signals.compute import compute_families, family
from broadening.signals.evidence import ClaimView, col_name
from broadening.signals.history import change, trailing_percentile, trend_label
from broadening.signals.regime import diffusion_score, regime_labels

__all__ = ["Scorecard", "scorecard", "scorecard_at", "claim_row", "CLAIMS", "SUPPORTED", "NOT_SUPPORTED", "MIXED", "NA"]

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


def _at(x, t: int) -> float:
    v = float(np.asarray(x, dtype=float)[t])
    return v if np.isfinite(v) else float("nan")


def claim_row(claim: Claim, market: Market, cfg: Config, t: int) -> list:
    """One scorecard row ``[id, claim, metric, value, percentile, trend, verdict, reason]`` at row ``t``.

    The verdict follows the claim's declared rule (:func:`~broadening.signals.claims.decide`):
    the first failed data requirement, an unknown headline (``missing_value``) or any unknown
    quantity the rule needs gives ``n/a`` with the reason, and then value and percentile are
    NaN; otherwise the reason is the claim's evidence sentence.
    """
    frame = family(market, claim.id, cfg)
    x = np.asarray(frame[claim.headline_column(cfg)], dtype=float)[: t + 1]
    w, mp = claim.window(cfg), cfg.history.min_periods
    value = _at(x, t)
    # the percentile of the last point only: its trailing window is all it reads
    percentile = _at(trailing_percentile(x[-w:], w, mp), -1) if len(x) else float("nan")
    W = cfg.signals.trend_window
    trend = trend_label(_at(change(x, W), t), W)
    metric = claim.metric(cfg)
    view = ClaimView(market, cfg, frame, t, value, percentile, cfg.scorecard[claim.id])

    def row(verdict: str, reason: str) -> list:
        v, p = (float("nan"), float("nan")) if verdict == NA else (value, percentile)
        return [claim.id, claim.text, metric, v, p, trend, verdict, reason]

    for check in claim.requires:
        why = check(view)
        if why:
            return row(NA, why)
    if claim.missing_value and not np.isfinite(value):
        return row(NA, claim.missing_value)
    values = {n: np.array([view.at(n)]) for n in {col_name(q, cfg) for q in claim.rule.quantities()}}
    verdict, partial = decide(claim, cfg, values)
    if verdict[0] == NA:
        return row(NA, f"not enough history at {market.index[t].date()} (needs about {claim.history_days(cfg)} trading days)")
    text = claim.partial_evidence if partial[0] and claim.partial_evidence else claim.evidence
    return row(str(verdict[0]), text(view))


def scorecard(market: Market, cfg: Config | None = None, asof: str | pd.Timestamp | None = None,
              *, workers: int | None = None) -> Scorecard:
    """Build the thesis scorecard: one row per claim of the registry
    (:data:`~broadening.signals.claims.REGISTRY`), see :func:`claim_row`.

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
    table = pd.DataFrame([claim_row(c, market, cfg, t) for c in REGISTRY.values()], columns=COLUMNS)
    score = diffusion_score(market, cfg)
    labels = regime_labels(market, cfg)
    return Scorecard(
        table=table, regime=str(labels.iloc[t]), diffusion_score=_at(score, t),
        asof=pd.Timestamp(market.index[t]), synthetic=bool(market.synthetic),
    )


def scorecard_at(market: Market, cfg: Config | None = None, asof: str | pd.Timestamp | None = None,
                 *, workers: int | None = None) -> Scorecard:
    """The scorecard as of an earlier date, read off ``market``'s own signals (nothing recomputed).

    Every metric is point-in-time, so the values, percentiles, trends, verdicts and regime
    at an earlier row of the full market are those :func:`scorecard` finds on
    ``market.until(asof)`` (to floating-point rounding, about 1e-14), at a fraction of the
    cost: what-changed comparisons use this. The one difference: a claim whose data arrived
    only after ``asof`` (fundamentals, a credit series) is ``n/a`` for "not enough history"
    rather than for the missing table.

    Parameters
    ----------
    market : Market
    cfg : Config, optional
    asof : date-like, optional
        The earlier date (the last trading date on or before it); default the last date.
    workers : int, optional

    Returns
    -------
    Scorecard
    """
    cfg = config_or_default(cfg)
    t = market.shape[0] - 1 if asof is None else market.date_position(asof)
    if t < 0:
        raise ValueError(f"asof {asof} is before the first date {market.index[0].date()}")
    compute_families(market, cfg, workers=workers)
    table = pd.DataFrame([claim_row(c, market, cfg, t) for c in REGISTRY.values()], columns=COLUMNS)
    return Scorecard(
        table=table, regime=str(regime_labels(market, cfg).iloc[t]), diffusion_score=_at(diffusion_score(market, cfg), t),
        asof=pd.Timestamp(market.index[t]), synthetic=bool(market.synthetic),
    )
