"""C4 breadth on four hand-built stocks."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.signals.breadth import breadth, half_return_count

CLOSES = {
    "A": [10.0, 11.0, 12.0, 12.0],
    "B": [10.0, 10.0, 9.0, 9.0],
    "C": [10.0, 12.0, 12.0, 15.0],
    "D": [10.0, 10.0, 10.0, 10.0],
}


def test_breadth_by_hand(make_market, small_cfg):
    b = breadth(make_market(CLOSES), small_cfg)  # 2-day window, 2-day moving average
    # advancers/decliners per day: d1 A,C up; d2 A up, B down; d3 C up
    assert b["advancers"].tolist() == [0, 2, 1, 1]
    assert b["decliners"].tolist() == [0, 0, 1, 0]
    assert b["ad_line"].tolist() == [0, 2, 2, 3]
    r1 = np.array([0.1, 0.0, 0.2, 0.0])
    assert b["dispersion"].iloc[1] == pytest.approx(r1.std())
    # index 2-day return at t=2: 7.5% then 0% -> 7.5%; A +20%, C +20% beat it, B -10%, D 0% do not
    # at t=3: 0% then 3/43 -> 3/43; A +9.1%, C +25% beat it
    assert b["beat_share"].iloc[:2].isna().all()
    np.testing.assert_allclose(b["beat_share"].iloc[2:], [0.5, 0.5])
    # above the 2-day mean (strictly): t1 A, C; t2 A; t3 C
    np.testing.assert_allclose(b["above_ma_share"], [np.nan, 0.5, 0.25, 0.25])
    # contributions over d1-d2: A .025 + 1/43, B -1/43, C .05, D 0: C alone is half of 7.5%
    assert b["half_return_count"].iloc[2] == 1
    assert b["half_return_share"].iloc[2] == pytest.approx(0.25)
    # rows 0-1 lack a whole 2-day window of returns (days 1..2 is the first)
    assert b["half_return_count"].iloc[:2].isna().all()
    # d2-d3 (caps 43 both days): A 1/43, B -1/43, C 0 + 12/43 x 25% = 3/43: C alone again
    assert b["half_return_count"].iloc[3] == 1


def test_half_return_count_by_hand():
    c = np.array([[0.3, 0.3, 0.3, -0.1], [0.1, -0.2, np.nan, 0.0], [0.5, 0.1, np.nan, np.nan]])
    count, holders = half_return_count(c)
    # row 0: total .8, half .4: .3 + .3 -> 2; row 1: total -.1 -> NaN; row 2: .5 >= .3 -> 1
    np.testing.assert_allclose(count, [2, np.nan, 1])
    np.testing.assert_allclose(holders, [4, 3, 2])


def test_half_return_count_partial_sort_matches_a_full_sort():
    rng = np.random.default_rng(5)
    c = rng.normal(0.001, 0.01, (40, 30))
    c[rng.random(c.shape) < 0.2] = np.nan
    full, _ = half_return_count(c, top=30)
    for top in (1, 3, 8):  # most rows need more than these: the fallback sorts them in full
        np.testing.assert_array_equal(half_return_count(c, top=top)[0], full)


def test_breadth_ignores_non_members(make_market, small_cfg):
    m = make_market(
        {**CLOSES, "E": [10.0, 20.0, 40.0, 80.0]},
        membership=[{"index_id": "sp500", "security_id": s, "start": "2024-01-01", "end": None} for s in CLOSES],
    )
    assert breadth(m, small_cfg)["advancers"].tolist() == [0, 2, 1, 1]
