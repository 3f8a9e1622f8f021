"""Each algo on hand-built inputs: what it reads, what it sets (one rebalance row, and rows at once)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.playbook.algos import (
    CORE_SLEEVE,
    Constrain,
    Context,
    DropTopK,
    RebalanceData,
    Redeploy,
    SelectMembers,
    TrackingErrorBudget,
    TrimTopK,
    TurnoverBudget,
    WeighByCap,
    cap_weights,
    regime_intensity,
    sector_fit,
    tracking_error,
)


@pytest.fixture
def market(make_market):
    rng = np.random.default_rng(0)
    closes = {f"S{i}": list(50 * np.cumprod(1 + rng.normal(0, 0.01, 300))) for i in range(6)}
    # caps 1..6 x price via shares; S5 largest
    shares = {f"S{i}": float(i + 1) for i in range(6)}
    sectors = {"S0": "Energy", "S1": "Energy", "S2": "Financials", "S3": "Financials", "S4": "Tech", "S5": "Tech"}
    return make_market(closes, shares=shares, sectors=sectors)


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


def ctx_at(market, t=260, baskets=None, regime=None, returns=False) -> Row:
    data = RebalanceData.build(market, np.array([t]), "sp500", baskets=baskets, returns=returns,
                               regime_score=regime)
    R, N = data.shape
    ctx = Context(data=data, selected=np.zeros((R, N), dtype=bool), freed=np.zeros(R),
                  trimmed=np.zeros((R, N), dtype=bool))
    for a in (SelectMembers("sp500"), WeighByCap()):
        a(ctx)
    return Row(ctx)


def test_cap_weight_step(market):
    ctx = ctx_at(market)
    cap = market.market_cap[260]
    np.testing.assert_allclose(ctx.sleeve("cap_weight"), cap / cap.sum())


def test_drop_topk_removes_the_largest_caps_ties_included():
    cap = np.array([[5.0, 9.0, 7.0, np.nan, 7.0, 1.0],   # 9 and the two tied 7s are the top 2
                    [5.0, 9.0, 7.0, 3.0, 2.0, 1.0],
                    [5.0, np.nan, np.nan, np.nan, np.nan, np.nan]])  # one name with a cap: it is the top 2
    sel = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=bool)
    data = RebalanceData(dates=np.arange(3).astype("datetime64[D]"), positions=np.arange(3), ids=np.array(list("abcdef")),
                         cols=np.arange(6), index_id="sp500", has_index=True, members=sel, alive=sel, cap=cap,
                         tri=cap, sectors=np.array(["x"] * 6), baskets={}, why={}, regime=np.full(3, np.nan))
    ctx = Context(data=data, selected=sel, freed=np.zeros(3), trimmed=np.zeros((3, 6), dtype=bool))
    DropTopK(2)(ctx)
    # a member without a cap (d, row 0; b and c, row 2) is never top-k and stays
    np.testing.assert_array_equal(ctx.selected, [[1, 0, 0, 1, 0, 0], [0, 0, 0, 1, 1, 1], [0, 1, 1, 0, 0, 0]])
    with pytest.raises(ValueError, match="at least 1"):
        DropTopK(0)


def test_trim_cap_mode_and_regime_scaling(market):
    ctx = ctx_at(market)
    w = ctx.weights.copy()
    TrimTopK(k=2, mode="cap", cap=0.15)(ctx.ctx)
    top = np.argsort(-w)[:2]
    expected_freed = float(np.maximum(w[top] - 0.15, 0).sum())
    assert ctx.freed == pytest.approx(expected_freed)
    assert np.all(ctx.sleeve("cap_weight")[top] <= 0.15 + 1e-12)
    assert set(ctx.topk) == set(top)

    half = ctx_at(market, regime=pd.Series([0.0], index=[market.index[0]]))
    TrimTopK(k=2, mode="cap", cap=0.15, regime_scaling=True, regime_floor=0.5)(half.ctx)
    assert half.freed == pytest.approx(0.5 * expected_freed)
    assert regime_intensity(1.0, True, 0.5) == 1.0
    assert regime_intensity(float("nan"), True, 0.5) == 1.0
    assert regime_intensity(0.3, False, 0.5) == 1.0


def test_trim_cut_mode(market):
    ctx = ctx_at(market)
    w = ctx.weights.copy()
    TrimTopK(k=3, mode="cut", cut=0.2)(ctx.ctx)
    top = np.argsort(-w)[:3]
    assert ctx.freed == pytest.approx(0.2 * w[top].sum())
    np.testing.assert_allclose(ctx.sleeve("cap_weight")[top], 0.8 * w[top])


def test_trim_cut_scaled_by_concentration(market):
    # the top 3 hold share s; with concentration_ref = s / 1.2 the cut is 1.2x, capped at concentration_max
    ctx = ctx_at(market)
    w = ctx.weights.copy()
    top = np.argsort(-w)[:3]
    s = w[top].sum()
    TrimTopK(k=3, mode="cut", cut=0.2, concentration_ref=s / 1.2)(ctx.ctx)
    assert ctx.freed == pytest.approx(0.2 * 1.2 * s)
    capped = ctx_at(market)
    TrimTopK(k=3, mode="cut", cut=0.2, concentration_ref=s / 3.0, concentration_max=1.5)(capped.ctx)
    assert capped.freed == pytest.approx(0.2 * 1.5 * s)
    # a less concentrated market than the reference is trimmed the plain cut (the factor's floor is 1)
    low = ctx_at(market)
    TrimTopK(k=3, mode="cut", cut=0.2, concentration_ref=0.99)(low.ctx)
    assert low.freed == pytest.approx(0.2 * s)


def test_redeploy_empty_sleeve_goes_to_core_and_excludes_topk(market):
    T, N = market.shape
    only_s0 = np.zeros((T, N), dtype=bool)
    only_s0[:, 0] = True
    baskets = {"bdcs": lambda m: only_s0, "ai_adopters": lambda m: np.zeros((T, N), dtype=bool)}
    ctx = ctx_at(market, baskets=baskets)
    TrimTopK(k=1, mode="cut", cut=0.5)(ctx.ctx)
    freed = ctx.freed
    red = Redeploy({CORE_SLEEVE: 0.5, "bdcs": 0.25, "ai_adopters": 0.25}, baskets)
    red(ctx.ctx)
    assert ctx.empty == ["ai_adopters"]
    assert ctx.sleeve("bdcs")[0] == pytest.approx(0.25 * freed)
    core = ctx.sleeve(CORE_SLEEVE)
    assert core[ctx.topk[0]] == 0.0
    assert core.sum() == pytest.approx(0.75 * freed)  # its own half plus the empty sleeve's quarter
    assert ctx.weights.sum() == pytest.approx(1.0)


def test_redeploy_unavailable_basket_is_empty_with_a_note(market):
    def broken(m):
        raise KeyError("no fundamentals stored")

    ctx = ctx_at(market, baskets={"small_cap_quality": broken})
    TrimTopK(k=1, mode="cut", cut=0.5)(ctx.ctx)
    red = Redeploy({CORE_SLEEVE: 0.5, "small_cap_quality": 0.5}, {"small_cap_quality": broken})
    red(ctx.ctx)
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
    ctx.ctx.sleeves = {"a": 0.5 * w, "b": 0.5 * w}
    Constrain(max_weight=0.2)(ctx.ctx)
    assert ctx.weights.max() <= 0.2 + 1e-12
    np.testing.assert_allclose(ctx.sleeve("a"), ctx.sleeve("b"))
    assert ctx.weights.sum() == pytest.approx(1.0)


def test_turnover_budget_blends_to_the_budget(market):
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


def test_turnover_budget_blends_each_row_with_the_previous_result_drifted(market):
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


def test_factor_covariance_matches_sample_covariance_at_full_rank():
    from broadening.playbook.algos import factor_covariance

    rng = np.random.default_rng(1)
    X = rng.normal(0, 0.01, (60, 5))
    B, D = factor_covariance(X, shrinkage=0.3, factors=5)
    C = np.cov(X, rowvar=False)
    expected = 0.7 * C + 0.3 * np.diag(np.diag(C))
    np.testing.assert_allclose(B @ B.T + np.diag(D**2), expected, rtol=1e-8, atol=1e-12)


def test_tracking_error_budget_solves_within_budget(market):
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


def test_tracking_error_budget_respects_max_weight_when_infeasible(market):
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
    from broadening.playbook.risk import factor_covariance, tracking_error_bound

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


def test_rows_at_once_equal_each_row_alone(tiny_market):
    """The block algos never mix rebalance rows: the stack over every row equals it row by row."""
    from broadening.backtest import rebalance_positions
    from broadening.playbook import PlaybookConfig, playbook
    from broadening.playbook.config import ConstraintsSection, TrimSection

    x = np.linspace(0.0, 1.0, len(tiny_market.dates))
    score = pd.Series(0.5 + 0.5 * np.sin(7 * x), index=tiny_market.index)
    pos = rebalance_positions(tiny_market.dates, "quarterly")
    for cfg in (PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08, tracking_error_budget=0.0)),
                PlaybookConfig(trim=TrimSection(mode="cap", cap=0.05, top_k=5),
                               constraints=ConstraintsSection(max_weight=0.08, tracking_error_budget=0.0))):
        stack = playbook(cfg)
        data = stack.data(tiny_market, pos, score)
        whole = stack.run_on(data)
        for r in range(0, len(pos), 5):
            one = stack.run_on(data.window(r, r + 1))
            np.testing.assert_allclose(one.weights[0], whole.weights[r], rtol=0, atol=1e-15)
            for k, v in one.sleeves.items():
                np.testing.assert_allclose(v[0], whole.sleeves[k][r], rtol=0, atol=1e-15)
