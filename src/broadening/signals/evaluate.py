"""Does the thesis pay? Each claim's headline and the diffusion score against forward returns.

For every claim of the registry (:data:`~broadening.signals.claims.REGISTRY`) and for the
regime, at each horizon ``h`` (trading days):

- **target**: the forward equal-weight minus cap-weight return of the large index over
  ``(t, t + h]`` (:func:`forward_active_return`), the trade the thesis recommends; given a
  backtest's returns, also the playbook's forward return minus cap weight's
  (:func:`forward_strategy_active`);
- **rank IC**: Spearman correlation of the signal at ``t`` (oriented by the claim, so a
  positive IC means "the claim's direction paid") with the target, over every date where
  both are known; its **t-statistic** is Newey-West corrected for the ``h - 1`` days that
  consecutive windows share (:func:`newey_west_slope`), because daily observations of an
  ``h``-day return are not independent: ``n_independent = n / h`` says how many
  non-overlapping windows the sample really holds;
- **hit rate of the verdict**: on dates where the claim's verdict (from its declared rule,
  :func:`~broadening.signals.claims.decide`) is ``supported`` (read as "equal weight will
  beat cap weight") or ``not supported`` (the opposite), the share of calls that the target
  proved right; ``mixed`` and ``n/a`` make no call. For the regime, ``diffusion`` and
  ``scarcity`` are the calls;
- **out of sample** (expanding window): at each date ``t`` the signal's sign is the sign of
  its covariance with the target over the dates ``s <= t - h`` whose target was already
  known at ``t`` (at least ``min_train`` of them), and the forecast is that sign times the
  signal's point-in-time percentile minus one half (:func:`expanding_forecast`). Nothing at
  ``t`` reads data after ``t``; the IC, t-statistic and hit rate of these forecasts are the
  out-of-sample version.

Small samples are the rule here: 20 years hold only 20 independent one-year windows, so
a t-statistic below 2, or fewer than about 10 independent windows, is no evidence either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from broadening import baskets as bk
from broadening.baskets import cached_panel, config_or_default
from broadening.config import Config
from broadening.market import Market
from broadening.signals.claims import NOT_SUPPORTED, REGISTRY, SUPPORTED, Claim, decide
from broadening.signals.compute import compute_families, family
from broadening.signals.concentration import index_returns
from broadening.signals.evidence import col_name
from broadening.signals.history import trailing_percentile, window_return
from broadening.signals.regime import diffusion_score, regime_labels

__all__ = [
    "HORIZONS", "MIN_TRAIN", "Evaluation", "evaluate", "forward_active_return", "forward_strategy_active", "rank_ic",
    "newey_west_slope",
    "expanding_forecast", "verdict_path", "hit_rate",
]

#: Default horizons (trading days): three, six and twelve months.
HORIZONS = (63, 126, 252)
#: Dates with a known target needed before the out-of-sample forecast starts (two years).
MIN_TRAIN = 504


def forward_active_return(market: Market, cfg: Config | None, horizon: int) -> np.ndarray:
    """Equal-weight minus cap-weight return of the large index from close ``t`` to close ``t + h``.

    Both legs compound their daily returns over the window (the index members of each
    day, as in claim C2). NaN for the last ``h`` dates and wherever a leg is unknown.

    Returns
    -------
    ndarray, shape (T,)
    """
    cfg = config_or_default(cfg)
    h = int(horizon)
    members = bk.index_members(market, cfg)
    ew = cached_panel(market, ("evaluate", "ew_ret", cfg.fingerprint), lambda: bk.basket_returns(market, members, "equal"))
    trailing = window_return(ew, h) - window_return(index_returns(market, cfg), h)
    out = np.full(trailing.shape[0], np.nan)
    if trailing.shape[0] > h:
        out[:-h] = trailing[h:]
    return out


def forward_strategy_active(returns: pd.DataFrame, index: pd.Index, horizon: int,
                            strategy: str = "playbook", benchmark: str = "cap_weight") -> np.ndarray:
    """Forward ``strategy`` minus ``benchmark`` return over ``(t, t + h]`` from daily backtest returns.

    ``returns`` holds daily net returns by date (a backtest's ``returns``); dates outside
    it are NaN.

    Returns
    -------
    ndarray, shape (len(index),)
    """
    r = returns.reindex(pd.DatetimeIndex(index))
    h = int(horizon)
    trailing = (window_return(r[strategy].to_numpy(dtype=float), h)
                - window_return(r[benchmark].to_numpy(dtype=float), h))
    out = np.full(trailing.shape[0], np.nan)
    if trailing.shape[0] > h:
        out[:-h] = trailing[h:]
    return out


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank(method="average").to_numpy()


def newey_west_slope(x: np.ndarray, y: np.ndarray, lag: int) -> tuple[float, float, float]:
    """OLS slope of ``y`` on ``x`` (with an intercept) and its Newey-West standard error.

    ``var(b) = Σ_j w_j Σ_t u_t u_{t-j} (both orders) / (Σ (x - x̄)²)²`` with
    ``u_t = (x_t - x̄) e_t``, ``e`` the OLS residuals and Bartlett weights
    ``w_j = 1 - j / (lag + 1)`` for ``j = 0 .. lag`` (no small-sample correction).

    Returns
    -------
    slope, standard error, t-statistic (NaN when undefined).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    if n < 3:
        return float("nan"), float("nan"), float("nan")
    xc = x - x.mean()
    sxx = float(xc @ xc)
    if sxx <= 0:
        return float("nan"), float("nan"), float("nan")
    b = float(xc @ (y - y.mean())) / sxx
    e = (y - y.mean()) - b * xc
    u = xc * e
    s = float(u @ u)
    for j in range(1, min(int(lag), n - 1) + 1):
        s += 2.0 * (1.0 - j / (lag + 1.0)) * float(u[j:] @ u[:-j])
    se = float(np.sqrt(s)) / sxx if s > 0 else float("nan")
    return b, se, (b / se if se > 0 else float("nan"))


def rank_ic(signal: np.ndarray, target: np.ndarray, lag: int = 0) -> dict[str, float]:
    """Spearman rank correlation of ``signal`` with ``target`` and its overlap-corrected t-stat.

    The ranks (over dates where both are known) are standardised, so the slope of one on
    the other is the rank correlation; its t-statistic uses :func:`newey_west_slope` with
    ``lag`` (``h - 1`` for ``h``-day forward returns sampled daily).

    Returns
    -------
    dict
        ``ic``, ``t_stat``, ``n`` (dates used).
    """
    s = np.asarray(signal, dtype=float)
    f = np.asarray(target, dtype=float)
    ok = np.isfinite(s) & np.isfinite(f)
    n = int(ok.sum())
    if n < 3:
        return {"ic": float("nan"), "t_stat": float("nan"), "n": n}
    rx, ry = _ranks(s[ok]), _ranks(f[ok])
    if rx.std() == 0 or ry.std() == 0:
        return {"ic": float("nan"), "t_stat": float("nan"), "n": n}
    zx, zy = (rx - rx.mean()) / rx.std(), (ry - ry.mean()) / ry.std()
    b, _, t = newey_west_slope(zx, zy, lag)
    return {"ic": b, "t_stat": t, "n": n}


def hit_rate(calls: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Share of calls (+1: target > 0 expected, -1: target < 0, 0: no call) that came true.

    Returns
    -------
    dict
        ``hit_rate`` (NaN without calls) and ``calls`` (dates with a call and a known target).
    """
    c = np.asarray(calls, dtype=float)
    f = np.asarray(target, dtype=float)
    made = np.isfinite(f) & np.isfinite(c) & (c != 0)
    n = int(made.sum())
    if n == 0:
        return {"hit_rate": float("nan"), "calls": 0}
    return {"hit_rate": float(np.mean(np.sign(c[made]) == np.sign(f[made]))), "calls": n}


def expanding_forecast(score: np.ndarray, target: np.ndarray, horizon: int, min_train: int = MIN_TRAIN) -> np.ndarray:
    """Out-of-sample forecast: ``sign(cov of score and target known by t) * (score_t - 0.5)``.

    The covariance at ``t`` is taken over dates ``s <= t - horizon`` where both are known,
    since the target of ``s`` (a return over ``(s, s + horizon]``) is only known at
    ``s + horizon``. Fewer than ``min_train`` such dates, a zero covariance or an unknown
    score give NaN. ``score`` must itself be point-in-time (a trailing percentile).

    Returns
    -------
    ndarray, shape (T,)
    """
    p = np.asarray(score, dtype=float)
    f = np.asarray(target, dtype=float)
    T = p.shape[0]
    ok = np.isfinite(p) & np.isfinite(f)
    pz, fz = np.where(ok, p, 0.0), np.where(ok, f, 0.0)
    n, sp, sf, spf = (np.cumsum(a) for a in (ok.astype(float), pz, fz, pz * fz))
    out = np.full(T, np.nan)
    h = int(horizon)
    if T <= h:
        return out
    t = np.arange(h, T)
    k = t - h  # last date whose target is known at t
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = spf[k] - sp[k] * sf[k] / n[k]
    good = (n[k] >= min_train) & (cov != 0) & np.isfinite(p[t])
    out[t] = np.where(good, np.sign(cov) * (p[t] - 0.5), np.nan)
    return out


def verdict_path(claim: Claim, market: Market, cfg: Config | None = None, *,
                 percentile: np.ndarray | None = None) -> np.ndarray:
    """The claim's verdict on every date, by its declared rule (point-in-time percentiles).

    Data requirements that hold for the whole warehouse (fundamentals, credit series)
    show as unknown quantities, hence ``n/a``.

    Parameters
    ----------
    claim : Claim
    market : Market
    cfg : Config, optional
    percentile : ndarray, shape (T,), optional
        The headline's trailing percentile when the caller already has it (as
        :func:`evaluate` does); computed here otherwise.

    Returns
    -------
    ndarray of str, shape (T,)
    """
    cfg = config_or_default(cfg)
    frame = family(market, claim.id, cfg)
    x = np.asarray(frame[claim.headline_column(cfg)], dtype=float)
    if percentile is None:
        percentile = trailing_percentile(x, claim.window(cfg), cfg.history.min_periods)
    values = {"value": x, "percentile": percentile}
    for q in claim.rule.quantities():
        name = col_name(q, cfg)
        if name not in values:
            values[name] = np.asarray(frame[name], dtype=float) if name in frame else np.full(x.shape, np.nan)
    return decide(claim, cfg, values)[0]


def _calls_from_verdicts(v: np.ndarray) -> np.ndarray:
    return np.where(v == SUPPORTED, 1.0, np.where(v == NOT_SUPPORTED, -1.0, 0.0))


@dataclass
class Evaluation:
    """What :func:`evaluate` found.

    Attributes
    ----------
    table : DataFrame
        One row per (signal, horizon): ``signal, metric, horizon, ic, t_stat, n,
        n_independent, hit_rate, calls, oos_ic, oos_t_stat, oos_n, oos_hit_rate, playbook_ic,
        playbook_t_stat, playbook_n``.
    horizons : tuple of int
    start, end : Timestamp
        The market's first and last date.
    synthetic : bool
    notes : list of str
    """

    table: pd.DataFrame
    horizons: tuple[int, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """``{"asof", "horizons", "synthetic", "metrics", "signals": {id: {"63": {...}}}, "notes"}``."""
        def num(v):
            return None if v is None or not np.isfinite(v) else float(v)

        signals: dict[str, dict[str, dict]] = {}
        metrics: dict[str, str] = {}
        for r in self.table.itertuples(index=False):
            metrics[r.signal] = r.metric
            signals.setdefault(r.signal, {})[str(r.horizon)] = {
                "ic": num(r.ic), "t_stat": num(r.t_stat), "n": int(r.n), "n_independent": num(r.n_independent),
                "hit_rate": num(r.hit_rate), "calls": int(r.calls), "oos_ic": num(r.oos_ic),
                "oos_t_stat": num(r.oos_t_stat), "oos_n": int(r.oos_n), "oos_hit_rate": num(r.oos_hit_rate),
                "playbook_ic": num(r.playbook_ic), "playbook_t_stat": num(r.playbook_t_stat), "playbook_n": int(r.playbook_n),
            }
        return {"asof": self.end.date().isoformat(), "start": self.start.date().isoformat(),
                "horizons": list(self.horizons), "synthetic": bool(self.synthetic), "metrics": metrics,
                "signals": signals, "notes": list(self.notes)}


def _row(name: str, metric: str, h: int, score: np.ndarray, pct: np.ndarray, calls: np.ndarray,
         fwd: np.ndarray, min_train: int, fwd_playbook: np.ndarray | None) -> dict:
    pb = rank_ic(score, fwd_playbook, lag=h - 1) if fwd_playbook is not None else {"ic": np.nan, "t_stat": np.nan, "n": 0}
    ic = rank_ic(score, fwd, lag=h - 1)
    hits = hit_rate(calls, fwd)
    fc = expanding_forecast(pct, fwd, h, min_train)
    oos = rank_ic(fc, fwd, lag=h - 1)
    oos_hits = hit_rate(np.sign(fc), fwd)
    return {"signal": name, "metric": metric, "horizon": h, "ic": ic["ic"], "t_stat": ic["t_stat"], "n": ic["n"],
            "n_independent": ic["n"] / h, "hit_rate": hits["hit_rate"], "calls": hits["calls"],
            "oos_ic": oos["ic"], "oos_t_stat": oos["t_stat"], "oos_n": oos["n"], "oos_hit_rate": oos_hits["hit_rate"],
            "playbook_ic": pb["ic"], "playbook_t_stat": pb["t_stat"], "playbook_n": pb["n"]}


def evaluate(market: Market, cfg: Config | None = None, horizons: Iterable[int] = HORIZONS,
             *, min_train: int = MIN_TRAIN, strategy_returns: pd.DataFrame | None = None) -> Evaluation:
    """Rank IC, overlap-corrected t-stat, verdict hit rate and out-of-sample IC per claim and horizon.

    Parameters
    ----------
    market : Market
    cfg : Config, optional
    horizons : iterable of int
        Forward horizons in trading days (default 63, 126, 252).
    min_train : int
        Dates with a known target before the out-of-sample forecast starts.
    strategy_returns : DataFrame, optional
        Daily backtest returns with ``playbook`` and ``cap_weight`` columns (a backtest's
        ``returns``): adds the rank IC against the playbook's forward active return
        (``playbook_ic``, ``playbook_t_stat``, ``playbook_n``; NaN / 0 without it).

    Returns
    -------
    Evaluation
    """
    cfg = config_or_default(cfg)
    hs = tuple(int(h) for h in horizons)
    if not hs or min(hs) < 1:
        raise ValueError(f"horizons: expected positive whole numbers of trading days, got {hs}")
    compute_families(market, cfg)
    fwds = {h: forward_active_return(market, cfg, h) for h in hs}
    pbs = {h: None for h in hs}
    if strategy_returns is not None:
        pbs = {h: forward_strategy_active(strategy_returns, market.index, h) for h in hs}
    rows = []
    for claim in REGISTRY.values():
        x = np.asarray(family(market, claim.id, cfg)[claim.headline_column(cfg)], dtype=float)
        score = claim.orientation * x
        pct_x = trailing_percentile(x, claim.window(cfg), cfg.history.min_periods)
        # the oriented score is the headline itself for most claims: one percentile serves both
        pct = pct_x if claim.orientation == 1 else trailing_percentile(score, claim.window(cfg), cfg.history.min_periods)
        calls = _calls_from_verdicts(verdict_path(claim, market, cfg, percentile=pct_x))
        rows += [_row(claim.id, claim.metric(cfg), h, score, pct, calls, fwds[h], min_train, pbs[h]) for h in hs]
    d = diffusion_score(market, cfg).to_numpy()
    lab = regime_labels(market, cfg).to_numpy()
    reg_calls = np.where(lab == "diffusion", 1.0, np.where(lab == "scarcity", -1.0, 0.0))
    rows += [_row("regime", "diffusion score", h, d, d, reg_calls, fwds[h], min_train, pbs[h]) for h in hs]
    table = pd.DataFrame(rows)
    notes = [
        "IC: Spearman rank correlation of the signal (oriented: positive = the claim's direction paid) with the "
        "forward equal-weight minus cap-weight return; t-stat Newey-West with lag h-1.",
        "n_independent = n / h: the number of non-overlapping windows; below about 10, or |t| < 2, "
        "the sample cannot tell skill from luck.",
        f"Out of sample: expanding window, sign learnt from targets known at the time, after {min_train} dates.",
    ]
    if strategy_returns is not None:
        notes.append("playbook_ic: rank IC against the playbook's forward return minus cap weight's (from the backtest given).")
    if market.synthetic:
        notes.append("Synthetic data: these numbers describe the generator, not a market.")
    return Evaluation(table=table, horizons=hs, start=pd.Timestamp(market.index[0]), end=pd.Timestamp(market.index[-1]),
                      synthetic=bool(market.synthetic), notes=notes)
