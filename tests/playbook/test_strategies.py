"""Benchmarks and the playbook end to end: point-in-time, thin data, the suite."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.backtest import rebalance_positions
from broadening.market import Market
from broadening.playbook import (
    PlaybookConfig,
    cap_weight,
    equal_weight,
    momentum,
    playbook,
    run_backtests,
)
from broadening.playbook.config import ConstraintsSection, SleevesSection, TrimSection


def test_cap_weight_uses_only_members_on_the_date(make_market):
    closes = {"A": [10.0] * 60, "B": [20.0] * 60, "C": [5.0] * 60}
    start = pd.bdate_range("2024-01-01", periods=60)
    membership = [
        {"index_id": "sp500", "security_id": "A", "start": start[0], "end": None},
        {"index_id": "sp500", "security_id": "B", "start": start[0], "end": start[30]},
        {"index_id": "sp500", "security_id": "C", "start": start[25], "end": None},
    ]
    m = make_market(closes, shares={"A": 1.0, "B": 1.0, "C": 2.0}, membership=membership)
    pos = np.array([10, 26, 40])
    tw = cap_weight().run(m, pos)
    np.testing.assert_allclose(tw.weights[0], [10 / 30, 20 / 30, 0.0])
    np.testing.assert_allclose(tw.weights[1], [10 / 40, 20 / 40, 10 / 40])
    np.testing.assert_allclose(tw.weights[2], [0.5, 0.0, 0.5])
    ew = equal_weight().run(m, pos)
    np.testing.assert_allclose(ew.weights[2], [0.5, 0.0, 0.5])


def test_momentum_picks_top_quintile_cap_weighted(make_market):
    T = 300
    closes = {f"S{i}": list(100 * (1 + 0.0005 * i) ** np.arange(T)) for i in range(10)}
    m = make_market(closes, shares={f"S{i}": float(10 - i) for i in range(10)})
    tw = momentum(lookback=252, skip=21, quantile=0.2).run(m, np.array([280]))
    held = np.flatnonzero(tw.weights[0])
    assert list(m.ids[held]) == ["S8", "S9"]  # the two fastest risers
    caps = m.market_cap[280, held]
    np.testing.assert_allclose(tw.weights[0, held], caps / caps.sum())


@pytest.fixture(scope="module")
def tiny(tiny_market):
    return tiny_market


def _small_cfg(**constraints) -> PlaybookConfig:
    base = {"max_weight": 0.25}
    base.update(constraints)
    return PlaybookConfig(constraints=ConstraintsSection(**base))


def test_strategies_never_look_ahead(make_market):
    rng = np.random.default_rng(4)
    T, N = 320, 8
    paths = 50 * np.cumprod(1 + rng.normal(0, 0.02, (T, N)), axis=0)
    closes = {f"S{i}": list(paths[:, i]) for i in range(N)}
    shares = {f"S{i}": float(i + 1) for i in range(N)}
    m1 = make_market(closes, shares=shares)
    t = 290
    changed = paths.copy()
    changed[t + 1 :] *= rng.uniform(0.5, 2.0, changed[t + 1 :].shape)
    m2 = make_market({f"S{i}": list(changed[:, i]) for i in range(N)}, shares=shares)
    pos = rebalance_positions(m1.dates, "monthly")
    early = pos[pos <= t]
    T_, N_ = m1.shape
    always = lambda m: np.ones(m.shape, dtype=bool)  # noqa: E731
    stacks = [cap_weight(), equal_weight(), momentum(), playbook(_small_cfg(), baskets={"bdcs": always})]
    for stack in stacks:
        a = stack.run(m1, pos)
        b = stack.run(m2, pos)
        np.testing.assert_array_equal(a.weights[: len(early)], b.weights[: len(early)], err_msg=stack.name)


@pytest.mark.parametrize("index_id", ["sp500", None], ids=["with-membership", "no-membership"])
def test_thin_data_prices_only(make_tables, index_id):
    rng = np.random.default_rng(9)
    T, N = 400, 12
    paths = 30 * np.cumprod(1 + rng.normal(0.0003, 0.015, (T, N)), axis=0)
    tables = make_tables({f"S{i}": list(paths[:, i]) for i in range(N)}, shares={f"S{i}": float(N - i) for i in range(N)},
                         index_id=index_id)
    m = Market.from_tables(tables)
    assert m.fundamentals.empty and not m.securities["is_bdc"].any()
    suite = run_backtests(m, _small_cfg(), costs=True)
    assert list(suite.returns.columns) == ["playbook", "cap_weight", "equal_weight", "momentum"]
    assert suite.returns.notna().all().all()
    n_reb = len(suite.results["playbook"].rebalance_dates)
    counts = suite.empty_sleeves.groupby("sleeve").size().to_dict()
    # no fundamentals, no BDCs, no small caps: every thematic sleeve is empty on every date
    for s in ("quality_domestic_cyclicals", "small_cap_quality", "bdcs"):
        assert counts.get(s) == n_reb, s
    np.testing.assert_allclose(suite.results["playbook"].weights.sum(axis=1), 1.0, atol=1e-9)
    if index_id is None:
        assert any("no membership stored" in n for n in suite.notes)
    js = suite.metrics_json()
    assert set(js["strategies"]) == {"playbook", "cap_weight", "equal_weight", "momentum"}
    assert len(js["empty_sleeves"]) == len(suite.empty_sleeves)


def test_suite_on_tiny_synthetic(tiny):
    from broadening.signals.regime import diffusion_score

    score = diffusion_score(tiny)
    cfg = PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08, turnover_budget=0.3))
    suite = run_backtests(tiny, cfg, regime_score=score, start="2020-01-01")
    pb = suite.results["playbook"]
    # attribution adds up to the playbook's daily return
    np.testing.assert_allclose(suite.attribution.sum(axis=1), suite.returns["playbook"], atol=1e-12)
    assert pb.weights.max() <= 0.08 + 1e-9
    # the turnover budget binds after the first rebalance (small drift aside)
    assert pb.turnover.iloc[1:].max() <= 0.3 + 0.02
    assert suite.returns.index[0] >= pd.Timestamp("2020-01-01")
    assert set(suite.holdings.columns) == {"security_id", "ticker", "sector", "playbook", "cap_weight", "active", "sleeve"}
    np.testing.assert_allclose(suite.holdings["active"], suite.holdings["playbook"] - suite.holdings["cap_weight"])
    assert suite.metrics.loc["cap_weight", "beta"] == pytest.approx(1.0)
    assert suite.metrics.loc["cap_weight", "active_share"] == 0.0
    # the playbook moves away from cap weight, the redeploy sleeves get weight
    assert suite.metrics.loc["playbook", "active_share"] > 0.05
    assert {"equal_weight_core", "quality_domestic_cyclicals"} <= set(suite.attribution.columns)


def test_no_costs_beats_costs_and_shares_change_weights(tiny):
    on = run_backtests(tiny, PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08)), start="2022-01-01")
    off = run_backtests(tiny, PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08)), start="2022-01-01", costs=False)
    assert (off.returns.add(1).prod() > on.returns.add(1).prod()).all()
    assert off.attribution_total["costs"] == pytest.approx(0.0, abs=1e-12)
    core_only = PlaybookConfig(
        constraints=ConstraintsSection(max_weight=0.08),
        sleeves=SleevesSection(equal_weight_core=1.0, quality_domestic_cyclicals=0.0, ai_adopters=0.0,
                               small_cap_quality=0.0, bdcs=0.0),
    )
    s = run_backtests(tiny, core_only, start="2022-01-01")
    assert set(s.targets["playbook"].sleeves) <= {"cap_weight", "equal_weight_core"}


def test_a_playbook_close_to_cap_weight_says_so_and_why(tiny):
    # a cap far above every name's weight: the trim removes nothing
    barely = PlaybookConfig(trim=TrimSection(mode="cap", cap=0.9), constraints=ConstraintsSection(max_weight=0.9,
                                                                                                  tracking_error_budget=0.0))
    s = run_backtests(tiny, barely, start="2022-01-01")
    assert s.metrics.loc["playbook", "active_share"] < 0.05
    note = next(n for n in s.notes if "close to the benchmark" in n)
    assert f"{s.metrics.loc['playbook', 'active_share']:.1%}" in note
    assert "trim.cap 90.0% is above the largest name's average weight" in note
    # the shipped default expresses the thesis: no such note, active share well above 5%
    d = run_backtests(tiny, PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08)), start="2022-01-01")
    assert d.metrics.loc["playbook", "active_share"] > 0.15
    assert not any("close to the benchmark" in n for n in d.notes)


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
