"""Risk: the factor covariance, tracking error and its bound, and the tracking-error budget."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

from broadening.playbook.algos import (
    CAP_SLEEVE,
    CORE_SLEEVE,
    TrackingErrorBudget,
    factor_covariance,
    tracking_error,
)
from broadening.playbook.risk import (
    one_blas_thread,
    risk_model,
    solve_min_te,
    solve_te_projection,
    tracking_error_bound,
)


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



# --- the factor model --------------------------------------------------------------------------


def reference_model(X, shrinkage, k):
    """``(1 - s) (C_k + diag(C - C_k)) + s diag(C)`` from numpy's eigendecomposition of the sample covariance."""
    C = np.cov(X, rowvar=False)
    lam, V = np.linalg.eigh(C)
    Vk = V[:, len(lam) - k:]
    Ck = Vk @ np.diag(lam[len(lam) - k:]) @ Vk.T
    return (1 - shrinkage) * (Ck + np.diag(np.diag(C) - np.diag(Ck))) + shrinkage * np.diag(np.diag(C))


@pytest.mark.parametrize("shrinkage", [0.0, 0.3])
def test_factor_covariance_keeps_the_top_components_and_the_residual_variance(shrinkage):
    # two strong factors among 12 names: the rank-2 model equals numpy's top two eigenpairs plus the rest
    # of each variance on the diagonal, shrunk toward the diagonal
    rng = np.random.default_rng(5)
    F = rng.normal(0, 0.02, (80, 2))
    X = F @ rng.normal(1, 0.5, (2, 12)) + rng.normal(0, 0.002, (80, 12))
    B, D = factor_covariance(X, shrinkage, factors=2)
    assert B.shape == (12, 2) and D.shape == (12,)
    S = reference_model(X, shrinkage, 2)
    np.testing.assert_allclose(B @ B.T + np.diag(D**2), S, rtol=0, atol=1e-12 * np.abs(S).max())


def test_factor_covariance_defaults_to_20_factors_at_most_one_per_name_and_is_deterministic():
    rng = np.random.default_rng(6)
    X = rng.normal(0, 0.01, (60, 30))
    B, D = factor_covariance(X, 0.25)
    assert B.shape == (30, 20)
    B2, D2 = factor_covariance(X, 0.25)
    assert np.array_equal(B, B2) and np.array_equal(D, D2)  # bit for bit: a fixed seed
    B, _ = factor_covariance(X[:, :5], 0.25, factors=20)
    assert B.shape == (5, 5)


def test_factor_covariance_rank_is_at_most_the_sample_rank():
    # 4 days of 6 names: the centred sample has rank 3, so 20 factors are cut to 3 and reproduce C exactly
    rng = np.random.default_rng(2)
    X = rng.normal(0, 0.01, (4, 6))
    B, D = factor_covariance(X, 0.25, factors=20)
    assert B.shape == (6, 3)
    C = np.cov(X, rowvar=False)
    np.testing.assert_allclose(B @ B.T + np.diag(D**2), 0.75 * C + 0.25 * np.diag(np.diag(C)), atol=1e-15)
    # 2 days: rank 1 (the sample covariance divides by L - 1 = 1)
    X2 = X[:2]
    B, D = factor_covariance(X2, 0.0, factors=5)
    assert B.shape == (6, 1)
    np.testing.assert_allclose(B @ B.T + np.diag(D**2), np.cov(X2, rowvar=False), atol=1e-15)


def test_factor_covariance_without_factors_is_the_sample_variance():
    rng = np.random.default_rng(3)
    X = rng.normal(0, 0.01, (30, 4))
    B, D = factor_covariance(X, 0.5, factors=0)
    assert B.shape == (4, 0)
    np.testing.assert_allclose(D**2, np.var(X, axis=0, ddof=1), rtol=1e-12)
    # a single day: no factor and no variance
    B, D = factor_covariance(X[:1], 0.5, factors=3)
    assert B.shape == (4, 0)
    np.testing.assert_array_equal(D, np.zeros(4))


def test_tracking_error_by_hand():
    # B = (1, 2)', D = (0.1, 0.2), d = (0.5, -0.5): (B'd)^2 = 0.25, sum (D d)^2 = 0.0125
    B = np.array([[1.0], [2.0]])
    D = np.array([0.1, 0.2])
    assert tracking_error(np.array([0.5, -0.5]), B, D) == pytest.approx(np.sqrt(252 * 0.2625), rel=1e-14)


def test_tracking_error_bound_with_shrinkage_and_untouched_names():
    rng = np.random.default_rng(4)
    X = rng.normal(0, 0.01, (40, 5))
    d = np.array([0.1, 0.0, -0.05, 0.0, -0.05])
    C = np.cov(X, rowvar=False)
    expected = np.sqrt(252 * (0.7 * d @ C @ d + (np.diag(C) * d**2).sum()))
    assert tracking_error_bound(X, d, 0.3) == pytest.approx(expected, rel=1e-12)
    assert tracking_error_bound(X, np.zeros(5), 0.3) == 0.0
    # one day: no variance, a zero bound (no division by L - 1 = 0)
    assert tracking_error_bound(X[:1], d, 0.3) == 0.0
    # two days, one active name: var = (x1 - x0)^2 / 2, bound^2 = 252 (0.7 + 1) var d^2
    one = np.array([0.0, 0.0, 0.2, 0.0, 0.0])
    var = (X[1, 2] - X[0, 2]) ** 2 / 2
    assert tracking_error_bound(X[:2], one, 0.3) == pytest.approx(np.sqrt(252 * 1.7 * var * 0.04), rel=1e-12)


def test_one_blas_thread_limits_blas_to_one_thread():
    from threadpoolctl import threadpool_info

    with one_blas_thread():
        inside = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        with one_blas_thread():  # re-entrant, the controller is built once
            pass
    assert inside and set(inside) == {1}


# --- the solvers -------------------------------------------------------------------------------
# CLARABEL's default tolerances leave the interior-point solution within ~4e-5 of the exact one here.
SOLVER_ATOL = 1e-4
# With A = sigma I the tracking error is sigma ||w - wb||: the projection onto the budget is the point
# on the segment from wb to wt at distance budget / sigma from wb.


def test_projection_onto_the_budget_by_hand():
    A = sp.identity(3, format="csr") * 0.1
    wt, wb = np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.3, 0.5])
    # ||wt - wb|| = 0.3 sqrt(2); budget 0.02 -> t = 0.2 / (0.3 sqrt(2))
    t = 0.2 / (0.3 * np.sqrt(2))
    x = solve_te_projection(wt, wb, A, 0.02, None, [], [])
    np.testing.assert_allclose(x, wb + t * (wt - wb), atol=SOLVER_ATOL)


def test_projection_with_sector_bounds_by_hand():
    # budget not binding; sector {0, 1} at most 0.5 and {2} at least 0.5: the closest point to
    # (0.3, 0.3, 0.4) moves along (1, 1, -2) / 3 -> (0.25, 0.25, 0.5)
    A = sp.identity(3, format="csr") * 0.1
    masks = [np.array([1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])]
    x = solve_te_projection(np.array([0.3, 0.3, 0.4]), np.array([0.3, 0.3, 0.4]), A, 1.0, None, masks,
                            [(0.0, 0.5), (0.5, 1.0)])
    np.testing.assert_allclose(x, [0.25, 0.25, 0.5], atol=SOLVER_ATOL)
    # a floor above the current weight: sector {2} at least 0.6 -> (0.2, 0.2, 0.6)
    x = solve_te_projection(np.array([0.3, 0.3, 0.4]), np.array([0.3, 0.3, 0.4]), A, 1.0, None, masks,
                            [(0.0, 1.0), (0.6, 1.0)])
    np.testing.assert_allclose(x, [0.2, 0.2, 0.6], atol=SOLVER_ATOL)


def test_smallest_tracking_error_under_a_max_weight_by_hand():
    # closest point to wb = (0.6, 0.3, 0.1) with weights <= 0.4 summing to 1: (0.4, 0.4, 0.2)
    A = sp.identity(3, format="csr") * 0.1
    x = solve_min_te(1.0, np.array([0.6, 0.3, 0.1]), A, 0.4, [], [])
    np.testing.assert_allclose(x, [0.4, 0.4, 0.2], atol=SOLVER_ATOL)
    # a sector floor on names {1, 2}: w1 + w2 >= 0.5 (they hold 0.4)
    x = solve_min_te(1.0, np.array([0.6, 0.3, 0.1]), A, None, [np.array([0.0, 1.0, 1.0])], [(0.5, 1.0)])
    # w1 + w2 >= 0.5: move along (-2, 1, 1) / 3 by 0.1 -> (0.5, 0.35, 0.15)
    np.testing.assert_allclose(x, [0.5, 0.35, 0.15], atol=SOLVER_ATOL)


def test_solvers_return_none_when_infeasible():
    A = sp.identity(3, format="csr") * 0.1
    wt, wb = np.array([0.4, 0.3, 0.3]), np.array([0.2, 0.3, 0.5])
    assert solve_te_projection(wt, wb, A, 0.01, 0.3, [], []) is None  # 3 x 0.3 < 1
    assert solve_min_te(1.0, wb, A, 0.3, [], []) is None


# --- the risk model of a row and the budget ------------------------------------------------------
# Returns whose last 8 days are the columns of an order-8 Hadamard matrix (+-a, zero mean, orthogonal):
# over a lookback of 8 their sample covariance is exactly (8 a^2 / 7) I. With no factors the model is
# that diagonal, so TE(w) = sigma ||w - wb|| with sigma = sqrt(252 * 8 a^2 / 7) = 0.1.

SIGMA = 0.1
AMP = np.sqrt(SIGMA**2 * 7 / (252 * 8))


def hadamard_returns(n, t=300, seed=0):
    H = scipy.linalg.hadamard(8)[:, 1 : n + 1] * AMP
    r = np.random.default_rng(seed).normal(0, 0.03, (t + 1, n))  # noise outside the window
    r[t - 7 : t + 1] = H
    return r


def te_data(hand_data, cap, n, sectors=None, positions=(300,), members=None):
    return hand_data(np.atleast_2d(cap), returns=hadamard_returns(n, max(positions)), positions=list(positions),
                     sectors=sectors, members=members)


def test_risk_model_reads_the_lookback_window_of_the_holdable_names(hand_data):
    r = hadamard_returns(7)
    members = [[True, True, False, True, False, False, False]]
    data = hand_data(np.ones((1, 7)), returns=r, positions=[300], members=members,
                     baskets={"b": [[False, False, True, False, False, False, False]], "gone": None})
    U, B, D = risk_model(data, 0, 8, 0.25, 0)
    np.testing.assert_array_equal(U, [0, 1, 2, 3])
    assert B.shape == (4, 0)
    np.testing.assert_allclose(D, np.full(4, SIGMA / np.sqrt(252)), rtol=1e-12)
    assert risk_model(data, 0, 8, 0.25, 0)[1] is B  # memoised
    # a lookback longer than the data starts on day 1 (day 0 has no return)
    U, B, D = risk_model(data, 0, 1000, 0.0, 2)
    ref = reference_model(r[1:301][:, :4], 0.0, 2)
    np.testing.assert_allclose(B @ B.T + np.diag(D**2), ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_tracking_error_budget_defaults():
    te = TrackingErrorBudget(0.05, sector_bounds={"Tech": [0, 0.4]})
    assert (te.budget, te.lookback, te.shrinkage, te.factors, te.max_weight) == (0.05, 252, 0.25, 20, None)
    assert te.sector_bounds == {"Tech": (0.0, 0.4)} and te.solves == 0
    assert TrackingErrorBudget(0.05).sector_bounds == {}
    assert te.index_id is None and TrackingErrorBudget(0.05, index_id="sp500").index_id == "sp500"


def test_tracking_error_budget_projects_a_row_over_budget(hand_data, hand_ctx):
    # benchmark (0.2, 0.3, 0.5, 0, 0), target (0.5, 0.3, 0, 0.2, 0): d = (0.3, 0, -0.5, 0.2, 0), TE = 0.1
    # sqrt(0.38); a budget of 0.02 moves t = 0.2 / sqrt(0.38) of the way from the benchmark. Name 3 is held by
    # the target only, name 4 by nobody (left out of the solve). The Energy bound names no held sector.
    data = te_data(hand_data, [0.2, 0.3, 0.5, 0.0, 0.0], 5, sectors=["Tech"] * 5,
                   members=[[True, True, True, True, True]])
    target = np.array([[0.5, 0.3, 0.0, 0.2, 0.0]])
    ctx = hand_ctx(data, {CORE_SLEEVE: target})
    algo = TrackingErrorBudget(0.02, lookback=8, factors=0, sector_bounds={"Tech": (0.0, 1.0), "Energy": (0.1, 1.0)})
    algo(ctx)
    wb = np.array([0.2, 0.3, 0.5, 0.0, 0.0])
    t = 0.2 / np.sqrt(0.38)
    w = wb + t * (target[0] - wb)
    np.testing.assert_allclose(ctx.weights[0], w, atol=SOLVER_ATOL)
    # name 2, held by the benchmark only, is new to the sleeves: it goes to the cap sleeve
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [0, 0, w[2], 0, 0], atol=SOLVER_ATOL)
    assert ctx.sleeves[CORE_SLEEVE][0][2] == 0.0
    assert algo.solves == 1 and ctx.notes == []
    te = algo.ex_ante(data, ctx.weights)
    assert te[0] == pytest.approx(0.02, rel=1e-5)
    assert algo.ex_ante(data, target)[0] == pytest.approx(SIGMA * np.sqrt(0.38), rel=1e-12)


def test_tracking_error_budget_leaves_rows_within_budget_without_a_model(hand_data, hand_ctx):
    # TE 0.1 sqrt(0.38) = 0.0616 but its bound (x sqrt(2 - 0.25)) is above 0.07: the model decides (kept);
    # with a budget of 0.09 the bound alone (0.0816) keeps it and no risk model is built
    target = np.array([[0.5, 0.3, 0.0, 0.2, 0.0]])
    for budget, model in ((0.07, True), (0.09, False)):
        data = te_data(hand_data, [0.2, 0.3, 0.5, 0.0, 0.0], 5)
        ctx = hand_ctx(data, {CAP_SLEEVE: target})
        algo = TrackingErrorBudget(budget, lookback=8, factors=0, shrinkage=0.25)
        algo(ctx)
        np.testing.assert_array_equal(ctx.weights, target)
        assert algo.solves == 0
        assert (("risk_model", 0, 8, 0.25, 0) in data._memo) is model
    assert SIGMA * np.sqrt(0.38) * np.sqrt(1.75) == pytest.approx(0.08155, abs=1e-5)


def test_tracking_error_budget_skips_short_history_and_rows_without_caps(hand_data, hand_ctx):
    # row 0 at position 19: less than 20 days of returns (noted); row 1 has no caps (no benchmark);
    # row 2 at position 20 is the first one checked
    cap = [[0.2, 0.3, 0.5], [np.nan, np.nan, np.nan], [0.2, 0.3, 0.5]]
    r = np.zeros((301, 3))
    r[13:21] = scipy.linalg.hadamard(8)[:, 1:4] * AMP
    data = hand_data(cap, returns=r, positions=[19, 300, 20])
    target = np.tile([0.5, 0.3, 0.2], (3, 1))
    ctx = hand_ctx(data, {CAP_SLEEVE: target})
    algo = TrackingErrorBudget(0.02, lookback=8, factors=0)
    algo(ctx)
    np.testing.assert_array_equal(ctx.weights[:2], target[:2])
    t = 0.2 / (0.3 * np.sqrt(2))
    np.testing.assert_allclose(ctx.weights[2], [0.2 + 0.3 * t, 0.3, 0.5 - 0.3 * t], atol=SOLVER_ATOL)
    assert ctx.notes == ["tracking-error budget skipped: less than 20 days of returns"]
    te = algo.ex_ante(data, target)
    assert np.isnan(te[0]) and np.isnan(te[1])
    assert te[2] == pytest.approx(SIGMA * 0.3 * np.sqrt(2), rel=1e-12)


def test_tracking_error_budget_takes_the_smallest_te_the_max_weight_allows(hand_data, hand_ctx):
    # benchmark (0.6, 0.3, 0.1) breaks a 0.4 max weight: no weights within 1e-6 of it; the closest are
    # (0.4, 0.4, 0.2), noted
    data = te_data(hand_data, [0.6, 0.3, 0.1], 3)
    ctx = hand_ctx(data, {CORE_SLEEVE: [[1 / 3, 1 / 3, 1 / 3]]})
    algo = TrackingErrorBudget(1e-6, lookback=8, factors=0, max_weight=0.4)
    algo(ctx)
    np.testing.assert_allclose(ctx.weights[0], [0.4, 0.4, 0.2], atol=SOLVER_ATOL)
    assert ctx.weights[0].max() <= 0.4
    assert ctx.weights[0].sum() == pytest.approx(1.0, abs=1e-12)
    assert algo.solves == 2
    assert ctx.notes == ["tracking-error budget cannot hold with max weight / sector bounds on some dates: "
                         "the smallest tracking error they allow was used"]


def test_tracking_error_budget_keeps_the_target_when_nothing_is_feasible(hand_data, hand_ctx):
    # three names at most 0.3 each cannot hold 1: both solves fail, the target is kept
    data = te_data(hand_data, [0.6, 0.3, 0.1], 3)
    target = np.array([[0.5, 0.3, 0.2]])
    ctx = hand_ctx(data, {CORE_SLEEVE: target})
    algo = TrackingErrorBudget(0.001, lookback=8, factors=0, max_weight=0.3)
    algo(ctx)
    np.testing.assert_array_equal(ctx.weights, target)
    assert algo.solves == 2
    assert ctx.notes[-1] == "tracking-error budget: solver failed on some dates; target kept"


def test_tracking_error_budget_new_names_go_to_the_cap_sleeve(hand_data, hand_ctx):
    # the target holds names 0, 1 only; the projection toward the benchmark (0.2, 0.3, 0.5) buys name 2,
    # which no sleeve held: it lands in the cap sleeve
    data = te_data(hand_data, [0.2, 0.3, 0.5], 3)
    ctx = hand_ctx(data, {CORE_SLEEVE: [[0.7, 0.3, 0.0]]})
    TrackingErrorBudget(0.02, lookback=8, factors=0)(ctx)
    d = np.array([0.5, 0.0, -0.5])
    t = 0.2 / np.linalg.norm(d)
    w = np.array([0.2, 0.3, 0.5]) + t * d
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [0, 0, w[2]], atol=SOLVER_ATOL)
    np.testing.assert_allclose(ctx.sleeves[CORE_SLEEVE][0], [w[0], w[1], 0], atol=SOLVER_ATOL)



def spike_data(hand_data, t, lookback_day, T=None):
    """Returns 0 but on ``lookback_day`` (names 0, 1 at +-5%); benchmark (0.2, 0.3, 0.5) at position ``t``."""
    r = np.zeros((T or t + 1, 3))
    r[lookback_day, :2] = [0.05, -0.05]
    return hand_data([[0.2, 0.3, 0.5]], returns=r, positions=[t])


@pytest.mark.parametrize("t, lookback, day", [(300, 8, 300), (300, 8, 293), (20, 30, 1)])
def test_tracking_error_budget_sees_every_day_of_its_window(hand_data, hand_ctx, t, lookback, day):
    # the one day with returns is the last, the first, or day 1 (a window longer than the data): the
    # target is over a 1e-4 budget and gets projected
    data = spike_data(hand_data, t, day)
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.3, 0.2]]})
    algo = TrackingErrorBudget(1e-4, lookback=lookback, factors=0)
    algo(ctx)
    assert algo.solves == 1
    assert algo.ex_ante(data, ctx.weights)[0] == pytest.approx(1e-4, rel=1e-3)


def test_tracking_error_budget_never_reads_after_the_date(hand_data, hand_ctx):
    # the only return is the day after the rebalance: nothing is known, within budget, no model
    data = spike_data(hand_data, 300, 301, T=303)
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.3, 0.2]]})
    algo = TrackingErrorBudget(1e-4, lookback=8, factors=0)
    algo(ctx)
    assert algo.solves == 0 and not any(isinstance(k, tuple) and k[0] == "risk_model" for k in data._memo)


@pytest.mark.parametrize("budget", [0.07, 0.09])
def test_tracking_error_budget_goes_on_after_a_row_within_budget(hand_data, hand_ctx, budget):
    # row 0 is within budget (by the bound at 0.09, by the model at 0.07); row 1 targets (1, 0, 0, 0, 0):
    # d = (0.8, -0.3, -0.5, 0, 0), TE = 0.1 x 0.98995 over budget -> projected t = budget / 0.098995 of the way
    data = hand_data([[0.2, 0.3, 0.5, 0.0, 0.0]] * 2, returns=hadamard_returns(5), positions=[300, 300])
    target = np.array([[0.5, 0.3, 0.0, 0.2, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0]])
    ctx = hand_ctx(data, {CAP_SLEEVE: target})
    algo = TrackingErrorBudget(budget, lookback=8, factors=0)
    algo(ctx)
    wb = np.array([0.2, 0.3, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(ctx.weights[0], target[0])
    np.testing.assert_allclose(ctx.weights[1], wb + budget / (SIGMA * np.sqrt(0.98)) * (target[1] - wb), atol=SOLVER_ATOL)
    assert algo.solves == 1


def test_tracking_error_budget_counts_every_solve_and_keeps_the_cash(hand_data, hand_ctx):
    # two rows over budget, each solved once; the second target holds 20% cash: so does its projection
    data = hand_data([[0.2, 0.3, 0.5]] * 2, returns=hadamard_returns(3), positions=[300, 300])
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.3, 0.2], [0.4, 0.24, 0.16]]})
    algo = TrackingErrorBudget(0.02, lookback=8, factors=0)
    algo(ctx)
    assert algo.solves == 2
    t = 0.2 / (0.3 * np.sqrt(2))
    np.testing.assert_allclose(ctx.weights[0], [0.2 + 0.3 * t, 0.3, 0.5 - 0.3 * t], atol=SOLVER_ATOL)
    assert ctx.weights[1].sum() == pytest.approx(0.8, abs=1e-12)
    assert algo.ex_ante(data, ctx.weights)[1] == pytest.approx(0.02, rel=1e-3)


def test_tracking_error_budget_with_a_binding_sector_bound(hand_data, hand_ctx):
    # target (0.5, 0.3, 0.2) is over a 0.03 budget (TE 0.1 x 0.4243); Tech (names 0, 1) at most 0.6: the
    # closest point keeping the total moves 0.1 from each Tech name to name 2 -> (0.4, 0.2, 0.4), whose TE
    # 0.1 ||(0.2, -0.1, -0.1)|| = 0.0245 is within budget: the sector bound alone binds.
    # Energy has no name on the row (its bound is dropped). Sectors given per row (a lane-packed market).
    data = hand_data([[0.2, 0.3, 0.5]], returns=hadamard_returns(3), positions=[300],
                     sectors=[["Tech", "Tech", "Utilities"]])
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.3, 0.2]]})
    algo = TrackingErrorBudget(0.03, lookback=8, factors=0, sector_bounds={"Tech": (0.0, 0.6), "Energy": (0.1, 1.0)})
    algo(ctx)
    np.testing.assert_allclose(ctx.weights[0], [0.4, 0.2, 0.4], atol=SOLVER_ATOL)
    assert ctx.notes == []


def test_risk_windows_longer_than_the_lane_gap_are_refused(make_tables):
    from broadening.errors import BroadeningError
    from broadening.market import Market
    from broadening.playbook.context import Context, RebalanceData

    closes = {"X": [10, 10] + [None] * 6, "Y": [None] * 4 + [20, 21, 22, 23], "Z": [5, 6, 5, 6, 5, 6, 5, 6]}
    market = Market.from_tables(make_tables(closes), layout="lanes", gap=1)
    assert market.packed
    data = RebalanceData.build(market, np.array([7]), "sp500", returns=True)
    with pytest.raises(BroadeningError, match=r"^risk model \(constraints\.te_lookback\): a look-back of 2 rows"):
        risk_model(data, 0, 2, 0.25, 0)
    U, B, D = risk_model(data, 0, 1, 0.25, 0)  # one day fits in the gap
    assert B.shape == (len(U), 0)
    ctx = Context(data=data, selected=data.members, sleeves={CAP_SLEEVE: np.ones((1, data.shape[1])) / data.shape[1]})
    with pytest.raises(BroadeningError, match=r"^tracking-error budget \(constraints\.te_lookback\): a look-back"):
        TrackingErrorBudget(0.01, lookback=2)(ctx)
