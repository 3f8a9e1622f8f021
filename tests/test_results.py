"""Stored backtests: the Brinson-Fachler attribution is stored and read back, and is optional on reading."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from broadening.backtest.brinson import brinson_frame
from broadening.config import load_config
from broadening.playbook.suite import run_backtests
from broadening.results import (
    BACKTEST_OPTIONAL,
    BACKTEST_RESULTS,
    BRINSON_COLUMNS,
    load_backtest,
    save_backtest,
)
from broadening.warehouse import Warehouse

SECTORS = ("Technology", "Financials", "Industrials")


@pytest.fixture
def suite(make_market):
    """The playbook against cap weight on 24 names in three sectors, over ~6 monthly rebalances."""
    rng = np.random.default_rng(5)
    sector = {f"S{i}": SECTORS[i % 3] for i in range(24)}
    drift = {"Technology": 0.0008, "Financials": -0.0002, "Industrials": 0.0004}
    closes = {s: list(100 * np.cumprod(1 + drift[sec] + rng.normal(0, 0.01, 400))) for s, sec in sector.items()}
    m = make_market(closes, shares={f"S{i}": 1.25 ** (24 - i) for i in range(24)}, sectors=sector, start="2023-01-02")
    return run_backtests(m)


def _save(path, suite) -> list[str]:
    with Warehouse(path) as wh:
        return save_backtest(wh, suite, load_config(None))


def _load(path):
    with Warehouse(path, read_only=True) as wh:
        return load_backtest(wh)


def test_brinson_round_trip_keeps_every_value(suite, tmp_path):
    path = tmp_path / "w.duckdb"
    assert _save(path, suite) == list(BACKTEST_RESULTS) and "backtest_brinson" in BACKTEST_RESULTS
    got = _load(path).brinson_frame
    want = brinson_frame(suite.brinson)
    pd.testing.assert_frame_equal(got, want[list(BRINSON_COLUMNS)], check_exact=True)
    assert list(got.columns) == list(BRINSON_COLUMNS)
    # the values read back still explain the stored daily returns: per grouping, the linked effects
    # and the costs add up to the compounded active return, and the groups add up to the total row
    returns = _load(path).returns
    active = float(np.prod(1 + returns["playbook"]) - np.prod(1 + returns["cap_weight"]))
    assert abs(active) > 1e-3
    for by in ("sector", "sleeve"):
        part = got[got["by"] == by].set_index("group")
        tot = part.loc["total"]
        assert tot["allocation"] + tot["selection"] + tot["interaction"] + tot["costs"] == pytest.approx(active, abs=1e-12)
        assert tot["total"] == pytest.approx(active, abs=1e-12)
        assert part.drop(index="total")["total"].sum() + tot["costs"] == pytest.approx(active, abs=1e-12)
    sectors = set(got.loc[got["by"] == "sector", "group"])
    assert sectors == {*SECTORS, "cash", "total"}
    # one hand check of a stored cell against the attribution object
    tech = suite.brinson["sector"].by_group().loc["Technology"]
    row = got[(got["by"] == "sector") & (got["group"] == "Technology")].iloc[0]
    assert row["selection"] == tech["selection"] and row["portfolio_weight"] == tech["portfolio_weight"]


def test_a_warehouse_written_before_brinson_still_loads(suite, tmp_path):
    path = tmp_path / "w.duckdb"
    _save(path, suite)
    with Warehouse(path) as wh:
        wh.con.execute("DROP TABLE result_backtest_brinson")  # what an older version left behind
        assert "backtest_brinson" not in wh.result_names()
    old = _load(path)
    assert BACKTEST_OPTIONAL == {"backtest_brinson"}
    assert old is not None and old.brinson_frame is None
    pd.testing.assert_frame_equal(old.returns, suite.returns, check_freq=False)
    # a required frame missing still means no stored backtest
    with Warehouse(path) as wh:
        wh.con.execute("DROP TABLE result_backtest_rolling")
    assert _load(path) is None


def test_a_brinson_frame_left_by_an_earlier_save_is_not_mixed_in(suite, tmp_path):
    path = tmp_path / "w.duckdb"
    _save(path, suite)
    # an older version re-saves the backtest: every frame but backtest_brinson, with a new meta
    with Warehouse(path) as wh:
        frames = {n: wh.load_result(n)[0] for n in BACKTEST_RESULTS if n not in BACKTEST_OPTIONAL}
        meta = {**wh.load_result("backtest_returns")[1], "end": "2099-01-01"}
        wh.save_results(frames, meta)
    got = _load(path)
    assert got is not None and got.meta()["end"] == "2099-01-01" and got.brinson_frame is None


def test_a_suite_without_brinson_stores_an_empty_table(suite, tmp_path):
    path = tmp_path / "w.duckdb"
    _save(path, dataclasses.replace(suite, brinson={}))
    got = _load(path).brinson_frame
    assert got is not None and got.empty and list(got.columns) == list(BRINSON_COLUMNS)
