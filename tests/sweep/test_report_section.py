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


def test_walk_forward_sweep_shows_splits_in_sample_values_and_regime_on_off(tiny_market, tmp_path):
    (tmp_path / "pb.toml").write_text("[constraints]\ntracking_error_budget = 0.0\n")
    doc = {"sweep": {"playbook": "pb.toml"}, "grid": {"top_k": [3], "regime_scaling": [True, False]},
           "walk_forward": {"train_years": 3, "test_years": 2}}
    res = run_sweep(tiny_market, parse_grid(doc, "g.toml", base_dir=tmp_path), workers=0)
    df, meta = res.frame(), res.meta("sharpe")
    sec = sweep_section(df, meta)
    assert "out-of-sample (test windows)" in sec.charts[0].caption
    assert list(sec.charts[0].figure.data[0].x) == ["off", "on"]  # regime scaling as the reader reads it
    assert "<th>split</th>" in sec.html and "<th>in-sample sharpe</th>" in sec.html
    assert ">on<" in sec.html and ">off<" in sec.html
    assert "Walk-forward: the best variant in-sample, out of sample" in sec.html
    for w in meta["walk_forward"]:
        assert f"{w['train_start']} .. {w['train_end']}" in sec.html
        assert f"{w['out_of_sample']['sharpe']:.2f}" in sec.html


def test_a_stored_sweep_without_some_columns_still_gets_its_section(result):
    # e.g. stored by an earlier version: no information ratio, no regime-scaling axis
    df = result.frame().drop(columns=["information_ratio", "is_information_ratio", "regime_scaling"])
    sec = sweep_section(df, result.meta(), x="top_k", y="cap")
    assert [c.id for c in sec.charts] == ["chart-sweep-sharpe"]
    assert "whole history" in sec.charts[0].caption and "Walk-forward" not in sec.html
