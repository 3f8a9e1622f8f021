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


def test_targets_default_to_the_last_date_largest_first(tiny_market, score):
    cfg = PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08))
    last = pd.Timestamp(tiny_market.dates[-1])
    w, sleeves = playbook_targets(tiny_market, cfg, regime_score=score)
    w2, _ = playbook_targets(tiny_market, cfg, last, regime_score=score)
    pd.testing.assert_series_equal(w, w2)
    assert w.name == "weight" and w.index.name == "security_id"
    assert sleeves.name == "sleeve" and sleeves.dtype == object
    assert (w > 0).all() and w.sum() == pytest.approx(1.0, abs=1e-9)
    assert list(w.values) == sorted(w.values, reverse=True)
    # an earlier date reads only the market up to it: different targets
    early, _ = playbook_targets(tiny_market, cfg, "2022-06-30", regime_score=score)
    assert not early.reindex(w.index, fill_value=0.0).equals(w)


def test_a_book_the_budget_barely_moves_is_held_as_it_is(tiny_market, score):
    # a turnover budget of 1e-9: the targets are the book itself (to 1e-9), its names in the book sleeve
    ids = [str(i) for i in tiny_market.ids[[3, 10, 20]]]
    cur = {ids[0]: 0.5, ids[1]: 0.3, ids[2]: 0.2}
    cfg = PlaybookConfig(constraints=ConstraintsSection(max_weight=0.6, turnover_budget=1e-9, tracking_error_budget=0.0))
    w, sleeves = playbook_targets(tiny_market, cfg, "2023-06-30", regime_score=score, current_weights=cur)
    assert set(w.index[w > 1e-6]) == set(ids)
    np.testing.assert_allclose(w[ids], [0.5, 0.3, 0.2], atol=1e-8)
    assert list(sleeves[ids]) == ["current_book"] * 3


def test_a_bad_current_book_is_an_error_that_says_why(tiny_market):
    last = pd.Timestamp(tiny_market.dates[-1]).date()
    ok = str(tiny_market.ids[0])
    with pytest.raises(BroadeningError, match=rf"^current book: 1 security id\(s\) not in the market on {last}, e\.g\. NOPE$"):
        playbook_targets(tiny_market, None, current_weights={ok: 0.1, "NOPE": 0.5})
    many = {f"X{i}": 0.01 for i in range(7)}
    with pytest.raises(BroadeningError, match=r"7 security id\(s\) .* e\.g\. X0, X1, X2, X3, X4$"):
        playbook_targets(tiny_market, None, current_weights=many)
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(BroadeningError, match=r"^current book: weights must be finite and >= 0 \(long only\)$"):
            playbook_targets(tiny_market, None, current_weights={ok: bad})
    with pytest.raises(BroadeningError, match=r"^current book: weights sum to 1\.000001 > 1 \(no leverage\)$"):
        playbook_targets(tiny_market, None, current_weights={ok: 1.000001})
    with pytest.raises(BroadeningError, match="no prices on or before"):
        playbook_targets(tiny_market, None, "1990-01-01")


def test_a_fully_invested_book_is_allowed(tiny_market):
    ids = [str(i) for i in tiny_market.ids[:2]]
    cfg = PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08, turnover_budget=0.05))
    w, _ = playbook_targets(tiny_market, cfg, current_weights={ids[0]: 0.6, ids[1]: 0.4 + 1e-10})
    assert w.sum() == pytest.approx(1.0, abs=1e-6)


def test_a_playbook_file_is_read_like_its_config(tiny_market, score, tmp_path):
    # a TOML path is loaded: the same targets as the PlaybookConfig it spells, not the defaults
    toml = tmp_path / "pb.toml"
    toml.write_text("[constraints]\nmax_weight = 0.08\n")
    cfg = PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08))
    from_file, _ = playbook_targets(tiny_market, str(toml), "2023-06-30", regime_score=score)
    from_cfg, _ = playbook_targets(tiny_market, cfg, "2023-06-30", regime_score=score)
    pd.testing.assert_series_equal(from_file, from_cfg)
    default, _ = playbook_targets(tiny_market, None, "2023-06-30", regime_score=score)
    assert not default.reindex(from_cfg.index, fill_value=0.0).equals(from_cfg)


def test_a_book_with_a_zero_weight_is_the_book_without_it(tiny_market, score):
    ids = [str(i) for i in tiny_market.ids[[3, 10]]]
    cfg = PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08, turnover_budget=0.05))
    with_zero, _ = playbook_targets(tiny_market, cfg, "2023-06-30", regime_score=score,
                                    current_weights={ids[0]: 0.5, ids[1]: 0.0})
    without, _ = playbook_targets(tiny_market, cfg, "2023-06-30", regime_score=score, current_weights={ids[0]: 0.5})
    pd.testing.assert_series_equal(with_zero, without)



def test_baskets_given_replace_the_default_eligibility(tiny_market, score):
    # the default baskets passed explicitly give the default targets; one sleeve's basket
    # emptied moves its weight elsewhere (the baskets given are the ones used)
    from broadening.playbook.strategies import default_baskets

    cfg = PlaybookConfig(constraints=ConstraintsSection(max_weight=0.08))
    default, sleeves = playbook_targets(tiny_market, cfg, "2023-06-30", regime_score=score)
    same, _ = playbook_targets(tiny_market, cfg, "2023-06-30", regime_score=score, baskets=default_baskets())
    pd.testing.assert_series_equal(same, default)
    held = [k for k in default_baskets() if k in set(sleeves)]
    assert held, "the case needs a redeploy sleeve that holds names"
    fns = default_baskets()
    fns[held[0]] = lambda m: np.zeros(m.shape, dtype=bool)
    emptied, emptied_sleeves = playbook_targets(tiny_market, cfg, "2023-06-30", regime_score=score, baskets=fns)
    assert held[0] not in set(emptied_sleeves)
    assert not emptied.reindex(default.index, fill_value=0.0).equals(default)
