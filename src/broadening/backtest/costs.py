"""Transaction costs: the cost model and the exact post-cost value of a rebalance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CostModel:
    """Transaction costs charged on traded value at each rebalance.

    The rate paid on name ``i`` is ``bps + spread_i`` (both in basis points of traded
    value), with the size-dependent half-spread

        ``spread_i = min(spread_bps * sqrt(spread_ref_cap / cap_i), max_spread_bps)``

    where ``cap_i`` is the market cap on the rebalance date: a company of
    ``spread_ref_cap`` pays ``spread_bps``, one a hundred times smaller ten times more,
    capped at ``max_spread_bps``; a name without a known cap pays ``max_spread_bps``.
    The spread applies only when market caps are available (a Market, or
    ``market_cap=`` for arrays).

    Parameters
    ----------
    bps : float, default 10
        Fixed cost in basis points of traded value.
    spread_bps : float, default 0
        Half-spread in bps for a company of ``spread_ref_cap`` (0 disables the spread).
    spread_ref_cap : float, default 1e10
        Reference market cap (in price currency) for ``spread_bps``.
    max_spread_bps : float, default 50
        Upper bound of the size-dependent spread.
    """

    bps: float = 10.0
    spread_bps: float = 0.0
    spread_ref_cap: float = 1e10
    max_spread_bps: float = 50.0

    def __post_init__(self) -> None:
        for name in ("bps", "spread_bps", "max_spread_bps"):
            if getattr(self, name) < 0:
                raise ValueError(f"CostModel.{name} must be >= 0, got {getattr(self, name)}")
        if self.spread_ref_cap <= 0:
            raise ValueError(f"CostModel.spread_ref_cap must be > 0, got {self.spread_ref_cap}")

    @property
    def is_zero(self) -> bool:
        return self.bps == 0 and self.spread_bps == 0

    def rates(self, cap: np.ndarray | None) -> np.ndarray | float:
        """Cost rate per unit traded, shape (N,) (or a scalar without a spread)."""
        fixed = self.bps / 1e4
        if self.spread_bps == 0 or cap is None:
            return fixed
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = self.spread_bps * np.sqrt(self.spread_ref_cap / cap)
        spread = np.where(np.isfinite(spread) & (cap > 0), spread, self.max_spread_bps)  # pragma: no mutate (equivalent cap >= 0: a zero cap already gives an infinite spread)
        return fixed + np.minimum(spread, self.max_spread_bps) / 1e4


NO_COSTS = CostModel(bps=0.0)


def cost_model(costs: CostModel | bool | float | None) -> CostModel:
    """A :class:`CostModel` from the shorthand :func:`backtest` accepts (True = 10 bps, False/None = none, a float = bps)."""
    if isinstance(costs, CostModel):
        return costs
    if costs is True:
        return CostModel()
    if costs is False or costs is None:  # pragma: no mutate (equivalent: False falling through gives CostModel(bps=0.0) == NO_COSTS)
        return NO_COSTS
    return CostModel(bps=float(costs))


def post_cost_value(V: float, w: np.ndarray, h: np.ndarray, c: np.ndarray | float) -> float:
    """Solve ``x = V - sum_i c_i |w_i x - h_i|`` for the post-cost value ``x``.

    The right side is piecewise linear in ``x``: once it is known which names are bought
    (``w_i x > h_i``) and which sold, ``x = (V + sum_i s_i c_i h_i) / (1 + sum_i s_i c_i w_i)``
    with ``s_i`` the sign of the trade. Starting from the signs at ``x = V``, each step
    solves with the current signs and re-reads them at the solution (Newton's method on a
    convex piecewise-linear equation: exact once the signs are stable, usually in one or two
    steps); should that not settle, fixed-point iteration (a contraction since
    ``sum_i c_i w_i < 1``) to machine precision.
    """
    x = V
    sign = np.sign(w * x - h)  # pragma: no mutate (equivalent: a wrong start costs a Newton step; each step re-reads the signs)
    for _ in range(8):  # pragma: no mutate (equivalent: the cap only picks which of two exact methods finishes)
        # piecewise-linear Newton: exact once the signs hold at the solution
        cs = np.broadcast_to(c * sign, sign.shape)
        x = (V + float(cs @ h)) / (1.0 + float(cs @ w))
        nxt = np.sign(w * x - h)
        if np.array_equal(nxt, sign):
            return x
        sign = nxt
    x = V
    for _ in range(100):  # pragma: no mutate (equivalent: converged long before at any real cost rate)
        nxt = V - float(np.sum(c * np.abs(w * x - h)))
        if abs(nxt - x) <= 1e-16 * V:  # pragma: no mutate (equivalent: only decides when to stop once converged)
            return nxt
        x = nxt
    return x
