"""Performance metrics, each defined once.

Inputs are daily simple returns ``r_t`` (a Series, or an array of shape (T,)), an optional
benchmark ``b_t`` on the same dates, and an optional risk-free rate ``rf`` (an annual rate,
turned into a daily one as ``rf_d = (1 + rf) ** (1 / 252) - 1``, or a daily Series).
Annualisation uses ``A = 252`` trading days. A metric that does not need a benchmark
gives the same value whether or not one is passed to :func:`summary`.

Formulas (``n`` = number of days, ``x_t = r_t - rf_d`` the excess return,
``a_t = r_t - b_t`` the active return)

=====================  ===================================================================
cagr                   ``prod(1 + r) ** (A / n) - 1``
volatility             ``std(r, ddof=1) * sqrt(A)``
sharpe                 ``mean(x) / std(x, ddof=1) * sqrt(A)``
sortino                ``mean(x) * A / (sqrt(mean(min(x, 0) ** 2)) * sqrt(A))``
max_drawdown           ``min_t(W_t / max_{s<=t} W_s - 1)``, wealth ``W`` starting at 1 before day 1 (<= 0)
calmar                 ``cagr / |max_drawdown|`` (NaN when there is no drawdown)
beta                   ``cov(r, b) / var(b)``
tracking_error         ``std(a, ddof=1) * sqrt(A)``
information_ratio      ``mean(a) * A / tracking_error``
hit_rate               share of calendar months whose compounded return beats the benchmark's
                       (without a benchmark: share of months with a positive return); exact
                       ties are left out
turnover               annualised one-way turnover: sum of per-rebalance one-way turnover
                       (the initial investment excluded) / years
active_share           ``0.5 * sum_i |w_i - w_b,i|`` averaged over rebalance dates
=====================  ===================================================================

Agreement with empyrical (``empyrical-reloaded``): cagr, volatility (``annual_volatility``),
sharpe (``sharpe_ratio``), sortino (``sortino_ratio``), max_drawdown, calmar
(``calmar_ratio``) and beta match to floating-point precision. Differences in definition:

- **information_ratio**: empyrical's ``excess_sharpe`` is ``mean(a) / std(a)`` per day
  with ``ddof=1`` and not annualised; ours is annualised:
  ``information_ratio = excess_sharpe * sqrt(252)``.
- **tracking_error**: empyrical has no tracking error; ours is the annualised sample
  standard deviation of active returns (the denominator of the information ratio).
- **risk-free rate**: empyrical takes a per-period rate; we take an annual rate and
  convert it geometrically (passing ``rf_d`` to empyrical gives the same numbers).
- **beta with a risk-free rate**: both subtract ``rf_d`` from strategy and benchmark; a
  constant rate leaves beta unchanged.
- **hit_rate** counts calendar months and leaves exact ties out; empyrical's
  ``batting_average`` counts every period it is given (a tie is a miss). On
  monthly-compounded returns without ties the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

A = 252
METRIC_KEYS = (
    "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "beta",
    "tracking_error", "information_ratio", "turnover", "active_share", "hit_rate",
)


def _arr(x: pd.Series | np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype="float64")


def daily_rf(rf: float | pd.Series | None, index: pd.Index | None = None, n: int | None = None) -> np.ndarray | float:
    """Daily risk-free return: an annual rate compounds over 252 days; a Series is daily."""
    if rf is None:
        return 0.0
    if isinstance(rf, pd.Series):
        if index is None:
            return rf.to_numpy(dtype="float64")
        return rf.reindex(index, method="ffill").fillna(0.0).to_numpy(dtype="float64")
    return (1.0 + float(rf)) ** (1.0 / A) - 1.0


def _excess(returns, rf) -> np.ndarray:
    idx = returns.index if isinstance(returns, pd.Series) else None
    return _arr(returns) - daily_rf(rf, idx)


def cagr(returns: pd.Series | np.ndarray) -> float:
    """Compound annual growth rate: ``prod(1 + r) ** (252 / n) - 1``."""
    r = _arr(returns)
    if len(r) == 0:
        return float("nan")  # pragma: no mutate (equivalent: float("NAN") parses to the same NaN)
    return float(np.prod(1.0 + r) ** (A / len(r)) - 1.0)


def volatility(returns: pd.Series | np.ndarray) -> float:
    """Annualised volatility: ``std(r, ddof=1) * sqrt(252)``."""
    r = _arr(returns)
    return float(np.std(r, ddof=1) * np.sqrt(A)) if len(r) > 1 else float("nan")


def _flat(x: np.ndarray, sd: float) -> bool:
    """Whether a deviation is only rounding: at most 1e-10 of the series' RMS (or zero).

    A constant active return computed as a difference of two return series is uneven in its
    last bits; dividing by that noise would report a ratio of ~1e16 instead of "undefined".
    """
    return not sd > 1e-10 * float(np.sqrt(np.mean(np.square(x))))


def sharpe(returns: pd.Series | np.ndarray, rf: float | pd.Series | None = None) -> float:
    """Annualised Sharpe ratio of excess returns (``ddof=1``)."""
    x = _excess(returns, rf)
    if len(x) < 2:
        return float("nan")  # pragma: no mutate (equivalent: float("NAN") parses to the same NaN)
    sd = np.std(x, ddof=1)
    return float("nan") if _flat(x, sd) else float(np.mean(x) / sd * np.sqrt(A))


def sortino(returns: pd.Series | np.ndarray, rf: float | pd.Series | None = None) -> float:
    """Annualised Sortino ratio: mean excess return over downside deviation (target ``rf``)."""
    x = _excess(returns, rf)
    if len(x) == 0:
        return float("nan")  # pragma: no mutate (equivalent: float("NAN") parses to the same NaN)
    dd = np.sqrt(np.mean(np.minimum(x, 0.0) ** 2)) * np.sqrt(A)
    return float(np.mean(x) * A / dd) if dd > 0 else float("nan")


def drawdown(returns: pd.Series | np.ndarray) -> np.ndarray:
    """Drawdown path ``W_t / max_{s<=t} W_s - 1`` (wealth starting at 1), shape (T,)."""
    w = np.cumprod(1.0 + _arr(returns))
    peak = np.maximum.accumulate(np.concatenate([[1.0], w]))[1:]
    return w / peak - 1.0


def max_drawdown(returns: pd.Series | np.ndarray) -> float:
    """Largest peak-to-trough fall of wealth (a number <= 0)."""
    r = _arr(returns)
    return float(min(drawdown(r).min(), 0.0)) if len(r) else float("nan")


def calmar(returns: pd.Series | np.ndarray) -> float:
    """CAGR over the absolute max drawdown (NaN without a drawdown)."""
    mdd = max_drawdown(returns)
    return float(cagr(returns) / abs(mdd)) if mdd < 0 else float("nan")


def _check_bench(returns, benchmark) -> np.ndarray:
    if isinstance(returns, pd.Series) and isinstance(benchmark, pd.Series):
        b = benchmark.reindex(returns.index)
        if b.isna().any():
            raise ValueError("benchmark: missing returns on some of the strategy's dates")
        return b.to_numpy(dtype="float64")
    b = _arr(benchmark)
    if b.shape != _arr(returns).shape:
        raise ValueError(f"benchmark: expected shape {_arr(returns).shape}, got {b.shape}")
    return b


def beta(returns: pd.Series | np.ndarray, benchmark: pd.Series | np.ndarray) -> float:
    """``cov(r, b) / var(b)``."""
    r, b = _arr(returns), _check_bench(returns, benchmark)
    vb = np.var(b)
    return float(np.mean((b - b.mean()) * (r - r.mean())) / vb) if vb > 0 else float("nan")


def tracking_error(returns: pd.Series | np.ndarray, benchmark: pd.Series | np.ndarray) -> float:
    """Annualised standard deviation of active returns ``r - b`` (``ddof=1``)."""
    a = _arr(returns) - _check_bench(returns, benchmark)
    return float(np.std(a, ddof=1) * np.sqrt(A)) if len(a) > 1 else float("nan")


def information_ratio(returns: pd.Series | np.ndarray, benchmark: pd.Series | np.ndarray) -> float:
    """Annualised mean active return over tracking error."""
    a = _arr(returns) - _check_bench(returns, benchmark)
    te = tracking_error(returns, benchmark)
    return float("nan") if len(a) < 2 or _flat(a, te / np.sqrt(A)) else float(np.mean(a) * A / te)


def hit_rate(returns: pd.Series, benchmark: pd.Series | None = None) -> float:
    """Share of calendar months beating the benchmark (or positive, without one).

    Needs a DatetimeIndex; months are compounded from daily returns. Months that tie
    exactly (e.g. the benchmark against itself, or a month in cash without a benchmark)
    are left out; NaN when every month ties.
    """
    if not isinstance(returns, pd.Series) or not isinstance(returns.index, pd.DatetimeIndex):
        raise TypeError("hit_rate needs a Series with a DatetimeIndex")
    if len(returns) == 0:
        return float("nan")  # pragma: no mutate (equivalent: float("NAN") parses to the same NaN)
    key = returns.index.to_period("M")
    m = (1.0 + returns).groupby(key).prod() - 1.0
    if benchmark is None:
        diff = m
    else:
        b = pd.Series(_check_bench(returns, benchmark), index=returns.index)
        diff = m - ((1.0 + b).groupby(key).prod() - 1.0)
    decided = diff != 0
    return float((diff > 0).sum() / decided.sum()) if decided.any() else float("nan")


def annual_turnover(turnover: pd.Series, n_days: int) -> float:
    """Annualised one-way turnover: sum over rebalances after the first / years.

    Parameters
    ----------
    turnover : Series, shape (R,)
        One-way turnover per rebalance (``BacktestResult.turnover``).
    n_days : int
        Length of the return series in trading days.
    """
    if n_days <= 0:
        return float("nan")  # pragma: no mutate (equivalent: float("NAN") parses to the same NaN)
    return float(_arr(turnover)[1:].sum() / (n_days / A))


def active_share(weights: np.ndarray, benchmark_weights: np.ndarray) -> float:
    """Mean over rebalance dates of ``0.5 * sum_i |w_i - w_b,i|``.

    Parameters
    ----------
    weights, benchmark_weights : ndarray, shape (R, N) or (N,)
        Weights on the same dates and securities.
    """
    w, wb = np.atleast_2d(weights), np.atleast_2d(benchmark_weights)
    if w.shape != wb.shape:
        raise ValueError(f"active_share: shapes differ {w.shape} vs {wb.shape}")
    return float(np.mean(0.5 * np.abs(w - wb).sum(axis=1)))


def summary(
    returns: pd.Series,
    benchmark: pd.Series | None = None,
    *,
    rf: float | pd.Series | None = None,
    turnover: pd.Series | None = None,
    weights: np.ndarray | None = None,
    benchmark_weights: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of :data:`METRIC_KEYS` for one strategy (NaN where an input is missing).

    Benchmark-free metrics are computed by the same functions whether or not
    ``benchmark`` is given, so they never change when one is passed.
    """
    out = {
        "cagr": cagr(returns),
        "volatility": volatility(returns),
        "sharpe": sharpe(returns, rf),
        "sortino": sortino(returns, rf),
        "max_drawdown": max_drawdown(returns),
        "calmar": calmar(returns),
        "beta": float("nan"),  # pragma: no mutate (equivalent: float("NAN") parses to the same NaN)
        "tracking_error": float("nan"),  # pragma: no mutate (equivalent: float("NAN") parses to the same NaN)
        "information_ratio": float("nan"),  # pragma: no mutate (equivalent: float("NAN") parses to the same NaN)
        "turnover": annual_turnover(turnover, len(returns)) if turnover is not None else float("nan"),
        "active_share": float("nan"),  # pragma: no mutate (equivalent: float("NAN") parses to the same NaN)
        "hit_rate": hit_rate(returns, benchmark),
    }
    if benchmark is not None:
        x_b = benchmark
        out["beta"] = beta(returns, x_b)
        out["tracking_error"] = tracking_error(returns, x_b)
        out["information_ratio"] = information_ratio(returns, x_b)
    if weights is not None and benchmark_weights is not None:
        out["active_share"] = active_share(weights, benchmark_weights)
    return out


def rolling(
    returns: pd.Series,
    benchmark: pd.Series | None = None,
    *,
    window: int = A,
    rf: float | pd.Series | None = None,
) -> pd.DataFrame:
    """Rolling (default 1-year) metrics, one row per date (NaN until the window is full).

    Columns: ``return`` (compounded over the window), ``volatility``, ``sharpe``; with a
    benchmark also ``excess_return`` (window return minus the benchmark's),
    ``tracking_error`` and ``beta``. Same formulas as the full-sample functions.
    """
    r = returns.astype("float64")
    x = r - daily_rf(rf, r.index)
    logw = np.log1p(r)
    out = pd.DataFrame(index=r.index)  # pragma: no mutate (equivalent: the first column assigned sets the same index)
    out["return"] = np.expm1(logw.rolling(window).sum())
    out["volatility"] = r.rolling(window).std(ddof=1) * np.sqrt(A)
    out["sharpe"] = x.rolling(window).mean() / x.rolling(window).std(ddof=1) * np.sqrt(A)
    if benchmark is not None:
        b = pd.Series(_check_bench(r, benchmark), index=r.index)
        out["excess_return"] = out["return"] - np.expm1(np.log1p(b).rolling(window).sum())
        a = r - b
        out["tracking_error"] = a.rolling(window).std(ddof=1) * np.sqrt(A)
        out["beta"] = r.rolling(window).cov(b, ddof=0) / b.rolling(window).var(ddof=0)
    return out


def table(summaries: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Metrics of several strategies as a DataFrame (rows: strategies, columns: metrics)."""
    return pd.DataFrame({k: dict(v) for k, v in summaries.items()}).T.reindex(columns=list(METRIC_KEYS))
