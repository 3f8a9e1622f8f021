"""The report's sweep section: heatmaps of Sharpe and information ratio over two grid axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.report.html import Header, render
from broadening.report.sweep_section import sweep_section
from broadening.results import load_sweep, save_sweep
from broadening.sweep.grid import parse_grid
from broadening.sweep.run import run_sweep
from broadening.warehouse import Warehouse


@pytest.fixture(scope="module")
def result(tiny_market):
    doc = {"grid": {"top_k": [2, 4], "cap": [0.03, 0.06], "regime_scaling": [False],
                    "sleeves": {"a": {"equal_weight_core": 1.0}, "b": {"equal_weight_core": 0.5, "bdcs": 0.5}}}}
    return run_sweep(tiny_market, parse_grid(doc, "g.toml"), workers=0)


def test_heatmaps_over_chosen_axes(result):
    df, meta = result.frame(), result.meta("sharpe")
    sec = sweep_section(df, meta, x="cap", y="sleeves")
    assert sec is not None and [c.id for c in sec.charts] == ["chart-sweep-sharpe", "chart-sweep-information-ratio"]
    hm = sec.charts[0].figure.data[0]
    assert list(hm.x) == ["0.03", "0.06"] and list(hm.y) == ["a", "b"]
    # a cell is the mean over the variants sharing its two values
    want = df[(df["cap"] == 0.03) & (df["sleeves"] == "a")]["sharpe"].mean()
    assert hm.z[0][0] == pytest.approx(round(want, 6))
    html = render(Header("t", "2025", "u", [], True, "now"), [sec])
    assert "Parameter sweep" in html and "chart-sweep-sharpe" in html


def test_default_axes_and_errors(result):
    sec = sweep_section(result.frame(), result.meta())
    hm = sec.charts[0].figure.data[0]
    assert len(hm.x) == 2 and len(hm.y) == 2  # the first two varied axes: top_k x cap
    with pytest.raises(ValueError, match="not a grid axis"):
        sweep_section(result.frame(), result.meta(), x="colour")
    assert sweep_section(pd.DataFrame(), {}) is None


def test_from_the_warehouse(result, tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        assert load_sweep(wh) is None
        save_sweep(wh, result, "information_ratio")
        sec = sweep_section(*load_sweep(wh), x="top_k", y="sleeves")
    assert sec is not None and np.isfinite(sec.charts[1].figure.data[0].z[0][0])
    assert "information ratio" in sec.html


def test_the_report_knows_every_grid_axis():
    """The report keeps its own list of grid axes (it does not import the sweep): a new axis
    (like ``cut``, the default trim's) must reach the heatmaps' fallback and labels too."""
    from broadening.report.sweep_section import AXES as REPORT_AXES
    from broadening.sweep.grid import AXES as GRID_AXES

    assert set(REPORT_AXES) == set(GRID_AXES)
