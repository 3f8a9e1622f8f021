"""Fixtures for the algo tests: a six-name market, and rebalance data and contexts built by hand.

``hand_data`` builds a :class:`RebalanceData` straight from (R, N) arrays (no market), so a
test states every input and works the answer out in a comment.
"""

from __future__ import annotations

import numpy as np
import pytest

from broadening.playbook.algos import Context, RebalanceData, SelectMembers, WeighByCap


@pytest.fixture
def market(make_market):
    """Six names over 300 days; shares 1..6 so S5 is the largest cap; two names per sector."""
    rng = np.random.default_rng(0)
    closes = {f"S{i}": list(50 * np.cumprod(1 + rng.normal(0, 0.01, 300))) for i in range(6)}
    shares = {f"S{i}": float(i + 1) for i in range(6)}
    sectors = {"S0": "Energy", "S1": "Energy", "S2": "Financials", "S3": "Financials", "S4": "Tech", "S5": "Tech"}
    return make_market(closes, shares=shares, sectors=sectors)


def _hand_data(cap, *, members=None, alive=None, tri=None, sectors=None, baskets=None, why=None, regime=None,
               positions=None, returns=None, market=None, has_index=True, index_id="sp500") -> RebalanceData:
    cap = np.atleast_2d(np.asarray(cap, dtype="float64"))
    R, N = cap.shape
    alive = np.ones((R, N), dtype=bool) if alive is None else np.atleast_2d(np.asarray(alive, dtype=bool))
    members = alive.copy() if members is None else np.atleast_2d(np.asarray(members, dtype=bool)) & alive
    positions = np.arange(300, 300 + 21 * R, 21) if positions is None else np.asarray(positions, dtype=np.int64)
    T = int(positions.max()) + 1
    if returns is not None:
        T = max(T, len(returns))
    return RebalanceData(
        dates=np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + T),
        positions=positions, ids=np.array([f"S{i}" for i in range(N)]), cols=np.arange(N), index_id=index_id,
        has_index=has_index, members=members, alive=alive, cap=cap,
        tri=np.ones((R, N)) if tri is None else np.atleast_2d(np.asarray(tri, dtype="float64")),
        sectors=np.array(["Industrials"] * N if sectors is None else list(sectors)),
        baskets={k: (None if v is None else np.atleast_2d(np.asarray(v, dtype=bool)) & alive)
                 for k, v in (baskets or {}).items()},
        why=dict(why or {}), regime=np.full(R, np.nan) if regime is None else np.asarray(regime, dtype="float64"),
        returns=returns, market=market,
    )


@pytest.fixture
def hand_data():
    """Factory: ``hand_data(cap (R, N), members=, alive=, tri=, sectors=, baskets=, regime=, ...)``.

    Defaults: every name alive and a member, TRI 1, sector "Industrials", regime unknown,
    rebalance positions 300, 321, ... (so history-length checks pass).
    """
    return _hand_data


def _hand_ctx(data: RebalanceData, sleeves=None, *, selected=None, split=True, initial=None, freed=None,
              trimmed=None, cap_ranked=False) -> Context:
    R, N = data.shape
    return Context(
        data=data, selected=data.members if selected is None else np.atleast_2d(np.asarray(selected, dtype=bool)),
        sleeves={k: np.atleast_2d(np.asarray(v, dtype="float64")) for k, v in (sleeves or {}).items()},
        split=split, initial=initial, freed=np.zeros(R) if freed is None else np.asarray(freed, dtype="float64"),
        trimmed=np.zeros((R, N), dtype=bool) if trimmed is None else np.atleast_2d(np.asarray(trimmed, dtype=bool)),
        cap_ranked=cap_ranked,
    )


@pytest.fixture
def hand_ctx():
    """Factory: ``hand_ctx(data, {sleeve: weights (R, N)}, selected=, freed=, trimmed=, ...) -> Context``.

    The selection defaults to ``data.members``.
    """
    return _hand_ctx


class Row:
    """One rebalance row of a block context, read and written as (N,) vectors."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def __getattr__(self, name):
        return getattr(self.ctx, name)

    @property
    def weights(self):
        return self.ctx.weights[0]

    @property
    def freed(self):
        return float(self.ctx.freed[0])

    @property
    def topk(self):
        return np.flatnonzero(self.ctx.trimmed[0])

    @property
    def empty(self):
        return [k for k, v in self.ctx.empty.items() if v[0]]

    def sleeve(self, name):
        return self.ctx.sleeves[name][0]


def _ctx_at(market, t=260, baskets=None, regime=None, returns=False) -> Row:
    data = RebalanceData.build(market, np.array([t]), "sp500", baskets=baskets, returns=returns,
                               regime_score=regime)
    R, N = data.shape
    ctx = Context(data=data, selected=np.zeros((R, N), dtype=bool), freed=np.zeros(R),
                  trimmed=np.zeros((R, N), dtype=bool))
    for a in (SelectMembers("sp500"), WeighByCap()):
        a(ctx)
    return Row(ctx)


@pytest.fixture
def ctx_at():
    """Factory: ``ctx_at(market, t=260, baskets=, regime=, returns=)`` -> one cap-weighted row (a :class:`Row`)."""
    return _ctx_at
