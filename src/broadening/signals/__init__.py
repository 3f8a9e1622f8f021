"""Signals: every claim of the thesis measured point-in-time, the regime, and the scorecard.

One import for a notebook::

    from broadening.signals import compute_signals, scorecard, regime
    sig = compute_signals(market)            # DataFrame (T, M): "C1.top10_share", ...
    card = scorecard(market)                 # Scorecard: .table, .regime, .diffusion_score
    reg = regime(market)                     # DataFrame: components, score, label per date

Every claim is declared once in :data:`REGISTRY` (:mod:`broadening.signals.claims`).
Each family function (``concentration``, ``breadth``...) returns a DataFrame indexed by
date; :mod:`broadening.signals.history` gives a metric's percentile and z-score against
its own past.
"""

from broadening.signals.breadth import breadth
from broadening.signals.claims import CLAIMS, REGISTRY, Claim
from broadening.signals.compute import FAMILIES, compute_signals, family
from broadening.signals.concentration import (
    concentration,
    crowding,
    index_returns,
    index_weights,
    topk_share,
)
from broadening.signals.credit import credit, credit_status
from broadening.signals.history import (
    percentile_frame,
    trailing_percentile,
    trailing_zscore,
    zscore_frame,
)
from broadening.signals.regime import components, diffusion_score, regime, regime_labels
from broadening.signals.rotation import ai_rotation, liquidity_source, rotation
from broadening.signals.scorecard import Scorecard, scorecard, scorecard_at
from broadening.signals.valuation import earnings, small_cap_valuation, valuation

__all__ = [
    "compute_signals",
    "scorecard",
    "scorecard_at",
    "regime",
    "diffusion_score",
    "regime_labels",
    "components",
    "Scorecard",
    "CLAIMS",
    "REGISTRY",
    "Claim",
    "FAMILIES",
    "family",
    "concentration",
    "crowding",
    "breadth",
    "valuation",
    "earnings",
    "small_cap_valuation",
    "rotation",
    "liquidity_source",
    "ai_rotation",
    "credit",
    "credit_status",
    "index_weights",
    "index_returns",
    "topk_share",
    "trailing_percentile",
    "trailing_zscore",
    "percentile_frame",
    "zscore_frame",
]
