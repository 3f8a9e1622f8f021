"""Each algo on hand-built inputs: what it reads, what it sets."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.playbook.algos import (
    CORE_SLEEVE,
    Constrain,
    Context,
    Redeploy,
    SelectMembers,
    TrackingErrorBudget,
    TrimTopK,
    TurnoverBudget,
    WeighByCap,
    cap_weights,
    regime_intensity,
    sector_fit,
)


@pytest.fixture
def market(make_market):
    rng = np.random.default_rng(0)
    closes = {f"S{i}": list(50 * np.cumprod(1 + rng.normal(0, 0.01, 300))) for i in range(6)}
    # caps 1..6 x price via shares; S5 largest
    shares = {f"S{i}": float(i + 1) for i in range(6)}
    sectors = {"S0": "Energy", "S1": "Energy", "S2": "Financials", "S3": "Financials", "S4": "Tech", "S5": "Tech"}
    return make_market(closes, shares=shares, sectors=sectors)


def ctx_at(market, t=260) -> Context:
    ctx = Context(market=market, t=t, r=1, selected=np.zeros(len(market.ids), dtype=bool))
    for a in (SelectMembers("sp500"), WeighByCap()):
        a.prepare(market)
        a(ctx)
    return ctx


def test_cap_weight_step(market):
    ctx = ctx_at(market)
    cap = market.market_cap[260]
    np.testing.assert_allclose(ctx.sleeves["cap_weight"], cap / cap.sum())


def test_trim_cap_mode_and_regime_scaling(market):
    ctx = ctx_at(market)
    w = ctx.weights.copy()
    TrimTopK(k=2, mode="cap", cap=0.15)(ctx)
    top = np.argsort(-w)[:2]
    expected_freed = float(np.maximum(w[top] - 0.15, 0).sum())
    assert ctx.freed == pytest.approx(expected_freed)
    assert np.all(ctx.sleeves["cap_weight"][top] <= 0.15 + 1e-12)
    assert set(ctx.topk) == set(top)

    half = ctx_at(market)
    half.regime = 0.0
    TrimTopK(k=2, mode="cap", cap=0.15, regime_scaling=True, regime_floor=0.5)(half)
    assert half.freed == pytest.approx(0.5 * expected_freed)
    assert regime_intensity(1.0, True, 0.5) == 1.0
    assert regime_intensity(float("nan"), True, 0.5) == 1.0
    assert regime_intensity(0.3, False, 0.5) == 1.0


def test_trim_cut_mode(market):
    ctx = ctx_at(market)
    w = ctx.weights.copy()
    TrimTopK(k=3, mode="cut", cut=0.2)(ctx)
    top = np.argsort(-w)[:3]
    assert ctx.freed == pytest.approx(0.2 * w[top].sum())
    np.testing.assert_allclose(ctx.sleeves["cap_weight"][top], 0.8 * w[top])


def test_redeploy_empty_sleeve_goes_to_core_and_excludes_topk(market):
    ctx = ctx_at(market)
    TrimTopK(k=1, mode="cut", cut=0.5)(ctx)
    freed = ctx.freed
    T, N = market.shape
    only_s0 = np.zeros((T, N), dtype=bool)
    only_s0[:, 0] = True
    red = Redeploy({CORE_SLEEVE: 0.5, "bdcs": 0.25, "ai_adopters": 0.25},
                   {"bdcs": lambda m: only_s0, "ai_adopters": lambda m: np.zeros((T, N), dtype=bool)})
    red.prepare(market)
    red(ctx)
    assert ctx.empty == ["ai_adopters"]
    assert ctx.sleeves["bdcs"][0] == pytest.approx(0.25 * freed)
    core = ctx.sleeves[CORE_SLEEVE]
    assert core[ctx.topk[0]] == 0.0
    assert core.sum() == pytest.approx(0.75 * freed)  # its own half plus the empty sleeve's quarter
    assert ctx.weights.sum() == pytest.approx(1.0)


def test_redeploy_unavailable_basket_is_empty_with_a_note(market):
    ctx = ctx_at(market)
    TrimTopK(k=1, mode="cut", cut=0.5)(ctx)

    def broken(m):
        raise KeyError("no fundamentals stored")

    red = Redeploy({CORE_SLEEVE: 0.5, "small_cap_quality": 0.5}, {"small_cap_quality": broken})
    red.prepare(market)
    red(ctx)
    assert ctx.empty == ["small_cap_quality"]
    assert any("small_cap_quality" in n for n in ctx.notes)
    assert ctx.weights.sum() == pytest.approx(1.0)


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


def test_constrain_keeps_sleeve_split(market):
    ctx = ctx_at(market)
    w = ctx.sleeves.pop("cap_weight")
    ctx.sleeves = {"a": 0.5 * w, "b": 0.5 * w}
    c = Constrain(max_weight=0.2)
    c.prepare(market)
    c(ctx)
    assert ctx.weights.max() <= 0.2 + 1e-12
    np.testing.assert_allclose(ctx.sleeves["a"], ctx.sleeves["b"])
    assert ctx.weights.sum() == pytest.approx(1.0)


def test_turnover_budget_blends_to_the_budget(market):
    ctx = ctx_at(market)
    n = len(market.ids)
    ctx.prev = np.full(n, 1.0 / n)
    ctx.prev_sleeves = {"cap_weight": ctx.prev.copy()}
    target = ctx.weights.copy()
    full = 0.5 * np.abs(target - ctx.prev).sum()
    TurnoverBudget(full / 2)(ctx)
    assert 0.5 * np.abs(ctx.weights - ctx.prev).sum() == pytest.approx(full / 2)
    np.testing.assert_allclose(ctx.weights, 0.5 * target + 0.5 * ctx.prev)


def test_factor_covariance_matches_sample_covariance_at_full_rank():
    from broadening.playbook.algos import factor_covariance

    rng = np.random.default_rng(1)
    X = rng.normal(0, 0.01, (60, 5))
    B, D = factor_covariance(X, shrinkage=0.3, factors=5)
    C = np.cov(X, rowvar=False)
    expected = 0.7 * C + 0.3 * np.diag(np.diag(C))
    np.testing.assert_allclose(B @ B.T + np.diag(D**2), expected, rtol=1e-8, atol=1e-12)


def test_tracking_error_budget_solves_within_budget(market):
    ctx = ctx_at(market)
    n = len(market.ids)
    bench = ctx.weights.copy()
    ctx.sleeves = {CORE_SLEEVE: np.full(n, 1.0 / n)}
    algo = TrackingErrorBudget(budget=0.004, lookback=200, shrinkage=0.2, max_weight=0.5, index_id="sp500")
    algo.prepare(market)
    U = np.arange(n)
    B, D = algo.model(ctx, U)
    assert algo.te(ctx.weights - bench, B, D) > 0.004
    algo(ctx)
    assert algo.solves == 1
    assert algo.te(ctx.weights - bench, B, D) <= 0.004 * (1 + 1e-4)
    assert ctx.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert ctx.weights.min() >= 0


def test_tracking_error_budget_respects_max_weight_when_infeasible(market):
    ctx = ctx_at(market)
    n = len(market.ids)
    bench = ctx.weights.copy()
    assert bench.max() > 0.2
    ctx.sleeves = {CORE_SLEEVE: np.full(n, 1.0 / n)}
    # cap weight itself breaks a 0.2 max weight, so a tiny budget cannot hold
    algo = TrackingErrorBudget(budget=1e-6, lookback=200, shrinkage=0.2, max_weight=0.2, index_id="sp500")
    algo.prepare(market)
    algo(ctx)
    assert ctx.weights.max() <= 0.2 + 1e-6
    assert any("cannot hold" in n for n in ctx.notes)
