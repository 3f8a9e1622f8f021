"""playbook_targets: one date, a given current book; the same targets as the backtest's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.errors import BroadeningError
from broadening.playbook import PlaybookConfig, playbook_targets, run_backtests
from broadening.playbook.config import ConstraintsSection


@pytest.fixture(scope="module")
def score(tiny_market):
    x = np.linspace(0.0, 1.0, len(tiny_market.dates))
    return pd.Series(0.5 + 0.5 * np.sin(9 * x), index=tiny_market.index)


def test_from_cash_equals_the_backtest_targets_on_a_rebalance_date(tiny_market, score):
    cfg = PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08))
    suite = run_backtests(tiny_market, cfg, regime_score=score, start="2022-01-01")
    tw = suite.targets["playbook"]
    ids = suite.results["playbook"].ids
    for r in (0, len(tw.positions) // 2, len(tw.positions) - 1):
        d = tiny_market.dates[tw.positions[r]]
        w, sleeves = playbook_targets(tiny_market, cfg, d, regime_score=score)
        ref = pd.Series(tw.weights[r], index=ids)
        ref = ref[ref > 0]
        pd.testing.assert_series_equal(w.sort_index(), ref.sort_index(), check_names=False, rtol=0, atol=1e-12)
        assert list(w.index) == list(w.sort_values(ascending=False, kind="stable").index)
        assert sleeves.index.equals(w.index)
        assert set(sleeves) <= set(tw.sleeves)


def test_turnover_budget_applies_to_the_move_from_the_current_book(tiny_market, score):
    budget = 0.05
    cfg = PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08, turnover_budget=budget))
    free, _ = playbook_targets(tiny_market, PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08)),
                               "2023-06-30", regime_score=score)
    # the current book: equal weight in the 20 smallest target names, 10% cash
    cur = pd.Series(0.9 / 20, index=free.index[-20:])
    w, sleeves = playbook_targets(tiny_market, cfg, "2023-06-30", regime_score=score, current_weights=cur)
    both = w.index.union(cur.index)
    before = cur.reindex(both, fill_value=0.0)
    after = w.reindex(both, fill_value=0.0)
    full = 0.5 * (free.reindex(both, fill_value=0.0) - before).abs().sum()
    assert full > budget
    assert 0.5 * (after - before).abs().sum() == pytest.approx(budget, rel=1e-9)
    # a blend: a = budget / full of the way from the book to the free target
    a = budget / full
    np.testing.assert_allclose(after, before + a * (free.reindex(both, fill_value=0.0) - before), atol=1e-12)
    assert "current_book" in set(sleeves)


def test_a_book_with_an_unknown_security_is_an_error(tiny_market):
    with pytest.raises(BroadeningError, match="NOPE"):
        playbook_targets(tiny_market, None, current_weights={"NOPE": 0.5})
    with pytest.raises(BroadeningError, match="sum to"):
        playbook_targets(tiny_market, None, current_weights={tiny_market.ids[0]: 0.7, tiny_market.ids[1]: 0.7})
