"""report.charts: what a long history, a bar axis and an empty regime history become on the page."""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.report import charts as ch


def test_a_long_daily_history_is_thinned_to_weeks_then_months():
    days = pd.bdate_range("1990-01-01", "2024-12-31")  # 35 years: ~1,800 weeks, too many for 1,300 points
    s = pd.Series(np.arange(len(days), dtype=float), index=days)
    out = ch.thin(s)
    assert len(out) == 35 * 12 and out.index[0] == pd.Timestamp("1990-01-31")
    assert out.iloc[-1] == s.iloc[-1]  # the last value of each month
    ten = s["2015-01-01":]
    assert len(ch.thin(ten)) == len(ten.resample("W-FRI").last())  # ten years: weekly is enough


def test_dual_axis_with_bars_on_the_right():
    idx = pd.bdate_range("2024-01-01", periods=5)
    fig = ch.dual_axis(pd.Series([0.3, 0.31, 0.32, 0.33, 0.34], index=idx, name="top-10 share"),
                       pd.Series([1, 0, 2, 0, 1], index=idx, name="new members"), "t",
                       left_title="share", right_title="count", right_kind="bar")
    assert [type(t).__name__ for t in fig.data] == ["Scatter", "Bar"] and fig.data[1].name == "new members"


def test_no_regime_history_adds_no_bands():
    fig = ch.dual_axis(pd.Series([1.0]), pd.Series([2.0]), "t", left_title="a", right_title="b")
    assert ch.regime_bands(fig, pd.Series([], dtype=object)) is fig and not fig.layout.shapes
