"""The front door: one classification drives baskets, regime and trim; stored results are reused only when they match."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import broadening
from broadening.config import load_config
from broadening.errors import BroadeningError, ConfigError, EmptyWarehouseError
from broadening.market import load_market
from broadening.playbook.config import load_playbook_config
from broadening.playbook.suite import run_backtests
from broadening.results import BACKTEST_RESULTS
from broadening.schema import TABLE_ORDER
from broadening.signals.regime import diffusion_score
from broadening.warehouse import Warehouse
from broadening.workspace import Workspace

# a classification whose regime listens to concentration (C1) alone: a different diffusion score
C1_ONLY = "[regime.weights]\nC1 = 1.0\nC2 = 0.0\nC3 = 0.0\nC4 = 0.0\nC5 = 0.0\nC9 = 0.0\n"


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory, tiny_synthetic) -> Path:
    path = tmp_path_factory.mktemp("ws") / "w.duckdb"
    with Warehouse(path) as wh:
        wh.ingest(tiny_synthetic.tables, source="synthetic", synthetic=True, replace=True, meta=tiny_synthetic.meta)
    return path


@pytest.fixture(scope="module")
def c1_only(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "c1.toml"
    p.write_text(C1_ONLY)
    return p


def test_the_regime_score_uses_the_workspace_classification(warehouse_file, c1_only):
    ws = Workspace(warehouse_file, classification=c1_only)
    m = ws.market()
    score, note = ws.regime_score(m)
    assert note is None
    pd.testing.assert_series_equal(score, diffusion_score(m, load_config(c1_only)))
    default_score, _ = Workspace(warehouse_file).regime_score(m)
    assert (score - default_score).abs().max() > 0.05  # the file changed the regime


def test_a_bad_threads_setting_is_an_error_not_a_missing_regime(warehouse_file, monkeypatch):
    # before: the ValueError became the note "no regime score on this data" and the trim ran unscaled
    ws = Workspace(warehouse_file)
    with Warehouse(warehouse_file, read_only=True) as wh:
        m = load_market(wh)
    monkeypatch.setenv("BROADENING_THREADS", "four")
    with pytest.raises(ConfigError, match="BROADENING_THREADS"):
        ws.regime_score(m)
    monkeypatch.setenv("BROADENING_THREADS", "1")
    score, note = ws.regime_score(m)
    assert note is None and score.notna().any()


def test_backtest_is_the_reference_composition_with_the_users_classification(warehouse_file, c1_only):
    ws = Workspace(warehouse_file, classification=c1_only)
    suite = ws.backtest()
    with Warehouse(warehouse_file, read_only=True) as wh:
        m = load_market(wh)
    cfg = load_config(c1_only)
    ref = run_backtests(m, load_playbook_config(None), regime_score=diffusion_score(m, cfg), basket_config=cfg)
    pd.testing.assert_frame_equal(suite.returns, ref.returns)
    pd.testing.assert_frame_equal(suite.metrics, ref.metrics)
    # and the classification matters: the default one trims differently
    default = Workspace(warehouse_file).backtest()
    assert (suite.returns["playbook"] - default.returns["playbook"]).abs().max() > 1e-5
    pd.testing.assert_series_equal(suite.returns["cap_weight"], default.returns["cap_weight"])


def test_report_reuses_a_stored_backtest_only_when_both_configurations_match(warehouse_file, c1_only, tmp_path):
    ws = Workspace(warehouse_file)
    suite = ws.backtest()
    assert ws.save_backtest(suite) == list(BACKTEST_RESULTS)

    same = Workspace(warehouse_file).report(tmp_path / "same.html")
    assert same.backtest == "stored"
    assert same.stored_span == (suite.returns.index[0], suite.returns.index[-1])

    # another classification: the stored backtest (default baskets and regime) is not mixed in
    other = Workspace(warehouse_file, classification=c1_only)
    run = other.report(tmp_path / "other.html")
    assert run.backtest == "ran" and run.stored_span is None
    # another playbook file with the same settings is the same playbook
    pb = tmp_path / "pb.toml"
    pb.write_text("[portfolio]\n")
    assert Workspace(warehouse_file, playbook=pb).report(tmp_path / "pb.html").backtest == "stored"
    # a different as-of date cannot use a backtest that ends later
    early = Workspace(warehouse_file).report(tmp_path / "early.html", asof="2024-06-28")
    assert early.backtest == "ran"
    assert "<b>As of</b> 2024-06-28" in (tmp_path / "early.html").read_text()


def test_stored_results_round_trip(warehouse_file):
    ws = Workspace(warehouse_file)
    suite = ws.backtest(start="2022-01-03", costs=False)
    ws.save_backtest(suite)
    got = ws.stored_backtest()
    pd.testing.assert_frame_equal(got.returns, suite.returns, check_freq=False)
    pd.testing.assert_frame_equal(got.metrics, suite.metrics, check_names=False)
    pd.testing.assert_frame_equal(got.attribution, suite.attribution, check_freq=False, check_names=False)
    pd.testing.assert_frame_equal(got.rolling, suite.rolling, check_freq=False, check_names=False)
    pd.testing.assert_series_equal(got.attribution_total, suite.attribution_total, check_names=False)
    assert got.costs is False and got.synthetic is True and got.notes == suite.notes
    assert got.meta()["start"] == str(suite.returns.index[0].date()) and got.meta()["classification"] == "defaults"
    assert got.made_with(ws.playbook, ws.classification)
    assert list(got.holdings["security_id"]) == list(suite.holdings["security_id"])


def test_market_is_loaded_once_per_asof(warehouse_file):
    ws = Workspace(warehouse_file)
    m = ws.market()
    assert ws.market() is m
    card = ws.scorecard()
    assert card.asof == m.asof
    early = ws.market("2024-06-28")
    assert early is not m and early.asof == pd.Timestamp("2024-06-28")
    assert ws.market("2024-06-28") is early
    # storing results leaves the market (and every signal memoised on it) in place
    ws.save_backtest(ws.backtest(end="2024-06-28"))
    assert ws.market("2024-06-28") is early


def test_in_memory_workspace_and_data_commands(tiny_synthetic, tmp_path):
    with Workspace(":memory:") as ws:
        with pytest.raises(EmptyWarehouseError, match="holds no prices"):
            ws.market()
        rep = ws.ingest(tiny_synthetic.tables, source="synthetic", synthetic=True, replace=True)
        assert rep.rows["prices"] == len(tiny_synthetic.tables["prices"])
        m = ws.market()
        assert ws.info()["synthetic"] is True and ws.info()["end"] == str(m.dates[-1])
        written = ws.export_parquet(tmp_path / "pq")
        assert sorted(written) == sorted(TABLE_ORDER)
        ws.ingest(tiny_synthetic.tables, source="again", synthetic=True)
        assert ws.market() is not m  # a write drops the cached market
        other = Workspace(tmp_path / "o.duckdb")
        other.import_parquet(tmp_path / "pq")
        assert other.info()["tables"]["prices"]["rows"] == len(tiny_synthetic.tables["prices"])
        np.testing.assert_array_equal(other.market().close, m.close)


def test_bad_options_fail_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml"):
        Workspace(tmp_path / "w.duckdb", classification=tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sleeves]\nbdcs = 0.9\n")
    with pytest.raises(ConfigError, match="sum to 1"):
        Workspace(tmp_path / "w.duckdb", playbook=bad)
    ws = Workspace(tmp_path / "w.duckdb")
    with pytest.raises(BroadeningError, match="--preset: expected one of"):
        ws.ingest_synthetic(preset="huge")
    with pytest.raises(BroadeningError, match="--regime: expected broadening or concentrating"):
        ws.ingest_synthetic(preset="tiny", regime="sideways")
    with pytest.raises(EmptyWarehouseError, match="no warehouse here"):
        ws.market()
    assert not (tmp_path / "w.duckdb").exists()


def test_public_api_is_lazy_and_complete():
    import subprocess
    import sys

    code = ("import sys, broadening; assert not [m for m in sys.modules if m.startswith('broadening.')], "
            "sorted(m for m in sys.modules if m.startswith('broadening.')); print(len(broadening.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == len(broadening.__all__)
    for name in broadening.__all__:
        assert getattr(broadening, name).__name__ == name
    assert broadening.Workspace is Workspace and broadening.diffusion_score is diffusion_score
    with pytest.raises(AttributeError):
        _ = broadening.no_such_name


def test_a_workspace_over_the_callers_warehouse_leaves_it_open(make_tables):
    wh = Warehouse(":memory:")
    wh.ingest(make_tables({"A": [10, 11], "B": [20, 21]}), source="t")
    with Workspace(wh) as ws:
        assert ws.path == ":memory:" and ws.market().shape == (2, 2)
    # closing the workspace dropped its cached market, not the caller's connection
    assert wh.counts()["prices"] == 4
    wh.close()


def test_generating_the_us_market_reports_each_block(tmp_path):
    calls = []
    with Workspace(tmp_path / "u.duckdb") as ws:
        ws.ingest_synthetic(seed=5, preset="us-all", scale=0.02, progress=lambda s, d, t: calls.append((s, d, t)))
        assert ws.info()["synthetic"] is True
    first, last = calls[0], calls[-1]
    n_blocks = first[2] - 2  # securities, the blocks, then the rest
    assert first == (f"generating and storing the 'us-all' market (seed 5) in {n_blocks} blocks", 0, n_blocks + 2)
    assert last[1:] == (n_blocks + 2, n_blocks + 2)
    assert [d for _, d, _ in calls[1:]] == list(range(1, n_blocks + 3))


def test_version_and_unknown_names_of_the_package():
    from importlib.metadata import version

    assert broadening.__version__ == version("broadening") and broadening.__version__[0].isdigit()
    with pytest.raises(AttributeError, match="module 'broadening' has no attribute 'Workspaces'"):
        broadening.Workspaces  # noqa: B018
