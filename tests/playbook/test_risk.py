"""Risk: the factor covariance, tracking error and its bound, and the tracking-error budget."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.playbook.algos import (
    CORE_SLEEVE,
    TrackingErrorBudget,
    factor_covariance,
    tracking_error,
)
from broadening.playbook.risk import tracking_error_bound


def test_factor_covariance_matches_sample_covariance_at_full_rank():

    rng = np.random.default_rng(1)
    X = rng.normal(0, 0.01, (60, 5))
    B, D = factor_covariance(X, shrinkage=0.3, factors=5)
    C = np.cov(X, rowvar=False)
    expected = 0.7 * C + 0.3 * np.diag(np.diag(C))
    np.testing.assert_allclose(B @ B.T + np.diag(D**2), expected, rtol=1e-8, atol=1e-12)


def test_tracking_error_budget_solves_within_budget(market, ctx_at):
    ctx = ctx_at(market, returns=True)
    n = len(market.ids)
    bench = ctx.weights.copy()
    ctx.ctx.sleeves = {CORE_SLEEVE: np.full((1, n), 1.0 / n)}
    algo = TrackingErrorBudget(budget=0.004, lookback=200, shrinkage=0.2, max_weight=0.5, index_id="sp500")
    U, B, D = algo.model(ctx.data, 0)
    assert list(U) == list(range(n))
    assert tracking_error(ctx.weights - bench, B, D) > 0.004
    algo(ctx.ctx)
    assert algo.solves == 1
    assert tracking_error(ctx.weights - bench, B, D) <= 0.004 * (1 + 1e-4)
    assert algo.ex_ante(ctx.data, ctx.ctx.weights)[0] == pytest.approx(tracking_error(ctx.weights - bench, B, D))
    assert ctx.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert ctx.weights.min() >= 0


def test_tracking_error_budget_respects_max_weight_when_infeasible(market, ctx_at):
    ctx = ctx_at(market, returns=True)
    n = len(market.ids)
    bench = ctx.weights.copy()
    assert bench.max() > 0.2
    ctx.ctx.sleeves = {CORE_SLEEVE: np.full((1, n), 1.0 / n)}
    # cap weight itself breaks a 0.2 max weight, so a tiny budget cannot hold
    algo = TrackingErrorBudget(budget=1e-6, lookback=200, shrinkage=0.2, max_weight=0.2, index_id="sp500")
    algo(ctx.ctx)
    assert ctx.weights.max() <= 0.2 + 1e-6
    assert any("cannot hold" in n for n in ctx.notes)


def test_tracking_error_bound_is_above_the_factor_model_tracking_error():

    rng = np.random.default_rng(7)
    for trial in range(30):
        L, U = rng.integers(25, 120), rng.integers(3, 60)
        X = rng.normal(0, 0.01, (L, U)) + rng.normal(0, 0.01, (L, 1)) * rng.uniform(0, 2, U)
        d = rng.normal(0, 0.02, U) * (rng.random(U) < 0.7)
        shrink = rng.uniform(0, 1)
        B, D = factor_covariance(X, shrink, factors=int(rng.integers(1, 20)))
        assert tracking_error(d, B, D) <= tracking_error_bound(X, d, shrink) * (1 + 1e-12), trial
    # at full rank without shrinkage the bound is the sample tracking error plus the diagonal
    X = rng.normal(0, 0.01, (60, 4))
    d = np.array([0.1, -0.05, 0.0, -0.05])
    C = np.cov(X, rowvar=False)
    expected = np.sqrt(252 * (d @ C @ d + (np.diag(C) * d**2).sum()))
    assert tracking_error_bound(X, d, 0.0) == pytest.approx(expected, rel=1e-12)

