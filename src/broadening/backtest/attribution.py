"""Return attribution by sleeve.

A strategy's target weights are a sum of sleeve weights (``W = sum_s S_s``, each ``(R, N)``).
Within a rebalance period a name's holding drifts as one position, so each sleeve owns a
constant fraction of it; the contribution of sleeve ``s`` on day ``t`` is

    ``c_s(t) = sum_i S_s[r, i] * (G_i(t) - G_i(t - 1)) / (V(t - 1) / V(t_r))``

where ``G_i`` is the cumulative growth of name ``i`` since the rebalance close ``t_r``
(the same growth the engine applies, delisting returns included) and ``V`` the portfolio
value. Cash earns in the ``cash`` column; ``costs`` takes what is left of the day's
return (nonzero only on rebalance dates). Per day, the columns sum exactly to the
portfolio return; the total of a column is the sum of its daily contributions
(arithmetic, not compounded).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening.backtest.engine import BacktestResult, PriceData, growth_block

if TYPE_CHECKING:
    from broadening.market import Market


@dataclass
class Attribution:
    """Sleeve contributions.

    Attributes
    ----------
    daily : DataFrame, shape (T', S + 2)
        Contribution per day of each sleeve, ``cash`` and ``costs`` (rows sum to the
        portfolio's daily return).
    total : Series, shape (S + 2,)
        Sum of the daily contributions per column.
    """

    daily: pd.DataFrame
    total: pd.Series


def attribute(
    result: BacktestResult,
    data: Market | PriceData,
    sleeves: Mapping[str, np.ndarray],
) -> Attribution:
    """Split a backtest's daily returns by sleeve.

    Parameters
    ----------
    result : BacktestResult
        The backtest of the summed sleeve weights.
    data : Market or PriceData
        The same data the backtest ran on.
    sleeves : mapping of str to ndarray, shape (R, N)
        Sleeve weights per rebalance; their sum must equal the traded target weights.

    Returns
    -------
    Attribution
    """
    pdata = data if isinstance(data, PriceData) else PriceData.from_market(data)
    names = list(sleeves)
    S = np.stack([np.asarray(sleeves[k], dtype="float64") for k in names]) if names else np.zeros((0,) + result.weights.shape)
    if S.shape[1:] != result.weights.shape:
        raise ValueError(f"sleeves: expected arrays of shape {result.weights.shape}, got {S.shape[1:]}")
    if names and not np.allclose(S.sum(axis=0), result.weights, rtol=0.0, atol=1e-9):
        raise ValueError("sleeves: their sum differs from the backtest's weights")
    pos = result.positions
    T = len(pdata.dates)
    s0 = int(pos[0])
    value = result.value.to_numpy()
    cash_daily = result.cash_daily if result.cash_daily is not None else np.zeros(T)
    out = np.zeros((T - s0, len(names) + 1))
    for r in range(len(pos)):
        t0 = int(pos[r])
        t1 = int(pos[r + 1]) if r + 1 < len(pos) else T - 1
        if t1 <= t0:  # pragma: no mutate (equivalent: t1 == t0 only on the last row, an empty period)
            continue  # pragma: no mutate (equivalent: break; only the last period can be empty)
        g = growth_block(pdata, cash_daily, t0, t1)
        dg = np.diff(g, axis=0, prepend=np.ones((1, g.shape[1])))
        vprev = value[t0 - s0 : t1 - s0] / value[t0 - s0]
        rows = slice(t0 + 1 - s0, t1 + 1 - s0)
        if names:
            out[rows, :-1] = (dg @ S[:, r, :].T) / vprev[:, None]
        cash_w = 1.0 - result.weights[r].sum()
        cg = np.cumprod(1.0 + cash_daily[t0 + 1 : t1 + 1])
        dcg = np.diff(cg, prepend=1.0)
        out[rows, -1] = cash_w * dcg / vprev
    daily = pd.DataFrame(out, index=result.dates, columns=[*names, "cash"])
    daily["costs"] = result.returns.to_numpy() - out.sum(axis=1)
    return Attribution(daily=daily, total=daily.sum())
