"""Constraints (Constrain, TurnoverBudget) and their helpers (cap_rows, cap_weights, sector_fit, drift)."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.playbook.algos import (
    Constrain,
    Context,
    RebalanceData,
    TurnoverBudget,
    cap_weights,
    sector_fit,
)


def test_cap_weights_water_filling():
    w = np.array([0.5, 0.3, 0.1, 0.1])
    out = cap_weights(w, 0.3)
    assert out.sum() == pytest.approx(1.0)
    assert out.max() <= 0.3 + 1e-12
    np.testing.assert_allclose(out, [0.3, 0.3, 0.2, 0.2])
    # impossible: 2 names x 0.3 < 1, the rest stays cash
    np.testing.assert_allclose(cap_weights(np.array([0.5, 0.5]), 0.3), [0.3, 0.3])


def test_sector_fit_holds_bounds_and_total():
    w = np.array([0.4, 0.3, 0.1, 0.1, 0.05, 0.05])
    sectors = np.array(["E", "E", "F", "F", "T", "T"])
    out = sector_fit(w, sectors, {"E": (0.0, 0.4), "T": (0.2, 1.0)})
    assert out.sum() == pytest.approx(1.0)
    assert out[sectors == "E"].sum() == pytest.approx(0.4)
    assert out[sectors == "T"].sum() >= 0.2 - 1e-9


def test_constrain_keeps_sleeve_split(market, ctx_at):
    ctx = ctx_at(market)
    w = ctx.sleeves.pop("cap_weight")
    ctx.ctx.sleeves = {"a": 0.5 * w, "b": 0.5 * w}
    Constrain(max_weight=0.2)(ctx.ctx)
    assert ctx.weights.max() <= 0.2 + 1e-12
    np.testing.assert_allclose(ctx.sleeve("a"), ctx.sleeve("b"))
    assert ctx.weights.sum() == pytest.approx(1.0)


def test_turnover_budget_blends_to_the_budget(market, ctx_at):
    ctx = ctx_at(market)
    n = len(market.ids)
    prev = np.full(n, 1.0 / n)
    ctx.ctx.initial = prev
    target = ctx.weights.copy()
    full = 0.5 * np.abs(target - prev).sum()
    TurnoverBudget(full / 2)(ctx.ctx)
    assert 0.5 * np.abs(ctx.weights - prev).sum() == pytest.approx(full / 2)
    np.testing.assert_allclose(ctx.weights, 0.5 * target + 0.5 * prev)
    # the part still held from the book is its own sleeve, the rest keeps its sleeve
    np.testing.assert_allclose(ctx.sleeve("current_book"), 0.5 * prev)
    np.testing.assert_allclose(ctx.sleeve("cap_weight"), 0.5 * target)


def test_turnover_budget_blends_each_row_with_the_previous_result_drifted(market, ctx_at):
    pos = np.array([200, 221, 242, 263])
    data = RebalanceData.build(market, pos, "sp500")
    R, N = data.shape
    ctx = Context(data=data, selected=np.zeros((R, N), dtype=bool), freed=np.zeros(R), trimmed=np.zeros((R, N), dtype=bool))
    rng = np.random.default_rng(3)
    targets = rng.dirichlet(np.ones(N), size=R)
    ctx.sleeves = {"x": targets.copy()}
    budget = 0.05
    TurnoverBudget(budget)(ctx)
    out = ctx.weights
    np.testing.assert_allclose(out[0], targets[0])  # built from cash: no budget
    tri = market.total_return_index[pos]
    for r in range(1, R):
        grown = out[r - 1] * tri[r] / tri[r - 1]
        prev = grown / grown.sum()  # fully invested, nothing delisted: no cash
        full = 0.5 * np.abs(targets[r] - prev).sum()
        a = min(1.0, budget / full)
        np.testing.assert_allclose(out[r], prev + a * (targets[r] - prev), atol=1e-15)

