"""Report number formatting: percentages and plain numbers, "n/a" for anything not a finite number."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.report.build import _num, _pct


@pytest.mark.parametrize("v, digits, want", [
    (0.12345, 1, "12.3%"), (-0.005, 2, "-0.50%"), ("0.5", 0, "50%"), (np.float32(0.25), 1, "25.0%"),
    (None, 1, "n/a"), ("abc", 1, "n/a"), (float("nan"), 1, "n/a"), (float("inf"), 1, "n/a"), ([1], 1, "n/a"),
])
def test_pct(v, digits, want):
    assert _pct(v, digits) == want


@pytest.mark.parametrize("v, digits, want", [
    (1.2345, 2, "1.23"), (-3, 0, "-3"), ("2.5", 1, "2.5"),
    (None, 2, "n/a"), ("x", 2, "n/a"), (float("-inf"), 2, "n/a"), (np.nan, 2, "n/a"), ({}, 2, "n/a"),
])
def test_num(v, digits, want):
    assert _num(v, digits) == want


@pytest.mark.parametrize("since", ["2024-03-01", "2024-06-30"])
def test_changes_section_explains_a_comparison_date_not_before_the_asof_date(since):
    from types import SimpleNamespace

    import pandas as pd

    from broadening.report.build import _changes

    s = _changes(None, None, SimpleNamespace(asof=pd.Timestamp("2024-03-01")), since)
    assert s.id == "changes" and s.charts == [] and s.html == ""
    assert s.intro == f"The comparison date {since} is not before the as-of date 2024-03-01."
