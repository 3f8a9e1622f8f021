"""R: the regime, scarcity vs diffusion, as a composite score with hysteresis and a dwell.

The regime is a structural call a portfolio manager can allocate on: it reads each claim
over a year, ranks it against up to ten years of its own history, and once it calls a
regime it holds the call for at least half a year.

Formula
-------
Each component is a point-in-time percentile ``pct(x)_t`` of a metric within its own
trailing ``history.window`` days (10 years), reported once ``regime.min_history`` days of
it exist (2 years; see :func:`~broadening.signals.history.trailing_percentile`), oriented so
that 1 means "capital is diffusing". The components are declared by the claims that feed
the regime (``Claim.regime`` in :mod:`broadening.signals.claims`); with ``H`` the regime
horizon ``regime.horizon`` (252 days), ``Δ_H`` the change over ``H`` days and ``mean_H`` the
trailing mean over ``H`` days (of the known values, once half are known):

==========  ================================================================  ==========
component   score in [0, 1]                                                   claim
==========  ================================================================  ==========
``s_C1``    ``1 - pct(Δ_H top-k share)``: concentration falling over a year   C1
``s_C2``    ``pct(EW - CW return over the longest snap window, 12 months)``   C2
``s_C3``    ``pct(median TTM growth outside top-k - inside)``                 C3
``s_C4``    ``(pct(mean_H share beating) + pct(mean_H share above MA)) / 2``  C4
``s_C5``    ``pct(mean_H domestic cyclicals - mega-cap tech 63d return)``     C5
``s_C9``    ``pct(Δ_H small-cap quality relative P/E)``: re-rating            C9
==========  ================================================================  ==========

The raw score is the weighted mean over the components known that day,

    ``D_raw_t = Σ_c w_c s_c,t / Σ_c w_c 1[s_c,t known]``   (weights ``regime.weights``),

and the diffusion score ``D_t`` is its exponential moving average with span
``regime.hysteresis.smooth_span`` (63 days; causal, so no look-ahead).

Labels (hysteresis, confirmation and dwell)
-------------------------------------------
Start in ``transition``. Enter ``diffusion`` once ``D >= enter_diffusion`` for ``min_days``
days in a row (confirmation, 21 days) and leave it (back to ``transition``) once
``D < exit_diffusion`` for ``min_days`` days; symmetrically enter ``scarcity`` once
``D <= enter_scarcity`` and leave it once ``D > exit_scarcity``. Leaving one regime and
entering the other on the same day is one change. The gap between enter and exit
thresholds stops a score hovering near one threshold from flipping the label, the
confirmation ignores one-off spikes, and the **dwell** holds every call for at least
``min_dwell`` known days (126, half a year) before it may be reversed. Carrying on through
``transition`` to the other regime (scarcity -> transition -> diffusion) is the same move,
not a reversal, and needs only the confirmation, so a shift that keeps going is called
without waiting out the dwell. At most two changes fit in ``min_dwell`` days; on the demo
market the label changes 0.9 times a year (median spell about 200 days; before the
one-year components, the dwell and the onward rule it was 4.3 times, median 31 days), see
:func:`switch_count`. Dates before a score exists are ``"n/a"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.baskets import cached_panel, config_or_default
from broadening.config import Config, HysteresisConfig
from broadening.market import Market
from broadening.signals.claims import REGISTRY, RegimeComponent
from broadening.signals.compute import compute_families
from broadening.signals.evidence import col_name
from broadening.signals.history import change, rolling_mean, trailing_percentile

__all__ = ["components", "regime_claims", "switch_count", "diffusion_score", "regime_labels", "regime", "hysteresis_labels", "LABELS"]

LABELS = ("scarcity", "transition", "diffusion")

def regime_claims() -> tuple[str, ...]:
    """The claims whose metrics make up the score (those with a regime component)."""
    return tuple(cid for cid, c in REGISTRY.items() if c.regime is not None)


def _component(spec: RegimeComponent, frame: pd.DataFrame, cfg: Config) -> np.ndarray:
    r = cfg.regime
    parts = []
    for col in spec.columns:
        name = col_name(col, cfg)
        # a column the configuration does not produce leaves the component unknown (it then
        # drops out of the weighted mean) rather than standing in another window for it
        x = np.asarray(frame[name], dtype=float) if name in frame else np.full(len(frame), np.nan)
        if spec.transform == "change":
            x = change(x, r.horizon)
        elif spec.transform == "mean":
            x = rolling_mean(x, r.horizon, min_periods=max(1, r.horizon // 2))
        p = trailing_percentile(x, cfg.history.window, r.min_history)
        parts.append(p if spec.orientation > 0 else 1.0 - p)
    return parts[0] if len(parts) == 1 else np.mean(parts, axis=0)


def components(market: Market, cfg: Config | None = None) -> pd.DataFrame:
    """The regime components in [0, 1] per date, one column per claim with a component."""
    cfg = config_or_default(cfg)

    def build() -> pd.DataFrame:
        claims = regime_claims()
        frames = compute_families(market, cfg, claims=claims)  # on threads, each built once
        return pd.DataFrame({cid: _component(REGISTRY[cid].regime, frames[cid], cfg) for cid in claims},
                            index=market.index)

    return cached_panel(market, ("regime", "components", cfg.fingerprint), build)


def _raw_score(comp: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    cols = [c for c in comp.columns if weights.get(c, 0.0) > 0]
    if not cols:
        return np.full(len(comp), np.nan)
    s = comp[cols].to_numpy()
    w = np.array([weights[c] for c in cols])
    known = np.isfinite(s)
    num = np.where(known, s, 0.0) @ w
    den = known.astype(float) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _ewma(x: np.ndarray, span: int) -> np.ndarray:
    # pandas' ewm is causal; ignore_na keeps gaps from resetting the average
    return pd.Series(x).ewm(span=span, adjust=False, ignore_na=True).mean().to_numpy()


def diffusion_score(market: Market, cfg: Config | None = None) -> pd.Series:
    """Composite diffusion score per date in [0, 1] (0 = full scarcity, 1 = full diffusion).

    Point-in-time: the value at ``t`` uses only data known at ``t``, so a caller can compute
    it once on the full market and read it at each rebalance date (it is cached on the
    market; each call returns a copy).

    Returns
    -------
    Series of float indexed by date (NaN until enough history exists).
    """
    cfg = config_or_default(cfg)

    def build() -> pd.Series:
        raw = _raw_score(components(market, cfg), cfg.regime.weights)
        sm = _ewma(raw, cfg.regime.hysteresis.smooth_span)
        sm = np.where(np.isfinite(raw) | (np.cumsum(np.isfinite(raw)) > 0), sm, np.nan)
        return pd.Series(np.clip(sm, 0.0, 1.0), index=market.index, name="diffusion_score")

    return cached_panel(market, ("regime", "score", cfg.fingerprint), build).copy()


def _run_length(cond: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at each position (0 where False)."""
    idx = np.arange(cond.shape[0])
    last_false = np.maximum.accumulate(np.where(~cond, idx, -1))
    return idx - last_false


def hysteresis_labels(score: np.ndarray, h: HysteresisConfig) -> np.ndarray:
    """Regime labels from a score path: enter/exit thresholds held ``min_days`` days, and a dwell.

    A label holds at least ``h.min_dwell`` known days before it is reversed; moving on from
    ``transition`` to the regime opposite the one it came from is exempt (module docstring).

    Parameters
    ----------
    score : ndarray, shape (T,)
    h : HysteresisConfig

    Returns
    -------
    ndarray of str, shape (T,)
        ``"scarcity"``, ``"transition"``, ``"diffusion"``, or ``"n/a"`` where the score is NaN.
    """
    score = np.asarray(score, dtype=float)
    known = np.isfinite(score)
    with np.errstate(invalid="ignore"):
        enter_d = _run_length(known & (score >= h.enter_diffusion)) >= h.min_days
        leave_d = _run_length(known & (score < h.exit_diffusion)) >= h.min_days
        enter_s = _run_length(known & (score <= h.enter_scarcity)) >= h.min_days
        leave_s = _run_length(known & (score > h.exit_scarcity)) >= h.min_days
    out = np.empty(score.shape[0], dtype=object)
    dwell = max(1, int(h.min_dwell))
    # the starting "transition" is a default, not a call: it may change on the first day
    state, held, came_from = 1, dwell, 1
    # a state machine is inherently sequential; T steps of scalar work
    for t in range(score.shape[0]):
        if not known[t]:
            out[t] = "n/a"
            continue
        new = state
        if state == 2 and leave_d[t]:
            new = 1
        elif state == 0 and leave_s[t]:
            new = 1
        if new == 1:
            if enter_d[t]:
                new = 2
            elif enter_s[t]:
                new = 0
        # the dwell stops reversals; carrying on through transition to the other regime
        # (scarcity -> transition -> diffusion) is the same move and needs no wait
        onward = state == 1 and new != 1 and came_from not in (1, new)
        if new != state and (held >= dwell or onward):
            came_from = state if new == 1 else came_from
            state, held = new, 0
        held += 1
        out[t] = LABELS[state]
    return out.astype(str)


def switch_count(labels: pd.Series | np.ndarray) -> dict[str, float]:
    """How often a label path changes: the number a portfolio manager asks of a regime call.

    Parameters
    ----------
    labels : Series or ndarray of str
        Regime labels per trading day (``"n/a"`` days are skipped).

    Returns
    -------
    dict
        ``switches`` (label changes between consecutive known days), ``years`` (known
        days / 252), ``per_year`` (switches / years; NaN without labels) and ``median_spell_days`` (median length of a run of one label).
    """
    lab = np.asarray(labels).astype(str)
    lab = lab[lab != "n/a"]
    if lab.size == 0:
        return {"switches": 0, "years": 0.0, "per_year": float("nan"), "median_spell_days": float("nan")}
    change_at = np.flatnonzero(lab[1:] != lab[:-1]) + 1
    bounds = np.concatenate([[0], change_at, [lab.size]])
    years = lab.size / 252
    return {"switches": int(change_at.size), "years": years, "per_year": change_at.size / years,
            "median_spell_days": float(np.median(np.diff(bounds)))}


def regime_labels(market: Market, cfg: Config | None = None) -> pd.Series:
    """Regime label per date: ``"scarcity"``, ``"transition"``, ``"diffusion"`` (or ``"n/a"``).

    Returns
    -------
    Series of str indexed by date.
    """
    cfg = config_or_default(cfg)
    score = diffusion_score(market, cfg)
    return cached_panel(market, ("regime", "labels", cfg.fingerprint), lambda: pd.Series(
        hysteresis_labels(score.to_numpy(), cfg.regime.hysteresis), index=market.index, name="regime")).copy()


def regime(market: Market, cfg: Config | None = None) -> pd.DataFrame:
    """Components, raw score, smoothed diffusion score and label per date.

    Returns
    -------
    DataFrame indexed by date with columns ``s_C1 ... s_C9``, ``raw_score``,
    ``diffusion_score`` and ``regime``.
    """
    cfg = config_or_default(cfg)
    comp = components(market, cfg)
    out = comp.add_prefix("s_")
    out["raw_score"] = _raw_score(comp, cfg.regime.weights)
    out["diffusion_score"] = diffusion_score(market, cfg)
    out["regime"] = regime_labels(market, cfg)
    return out
