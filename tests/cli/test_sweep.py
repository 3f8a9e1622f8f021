"""``broadening sweep``: JSON shape, table, stored results, Dask by scheduler address, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broadening.results import load_sweep
from broadening.warehouse import Warehouse

KEYS = {"cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "beta", "tracking_error",
        "information_ratio", "turnover", "active_share", "hit_rate"}
GRID = """
[grid]
top_k = [2, 4]
cap = [0.03, 0.06]
regime_scaling = [false]
[grid.sleeves.article]
equal_weight_core = 0.3
quality_domestic_cyclicals = 0.25
ai_adopters = 0.2
small_cap_quality = 0.15
bdcs = 0.1
[grid.sleeves.core]
equal_weight_core = 1.0
"""




@pytest.fixture(scope="module")
def warehouse(tiny_warehouse):
    return tiny_warehouse


@pytest.fixture
def grid(tmp_path) -> Path:
    p = tmp_path / "grid.toml"
    p.write_text(GRID)
    return p


def test_json_shape_and_stored_results(run, warehouse, grid, capsys):
    code, out, err = run(capsys, "-w", str(warehouse), "sweep", "--grid", str(grid), "--workers", "0", "--json",
                         "--metric", "information_ratio")
    assert code == 0, err
    data = json.loads(out)
    assert len(data["variants"]) == 8
    for i, v in enumerate(data["variants"]):
        assert v["id"] == i
        assert {"top_k", "cap", "sleeves", "schedule", "regime_scaling", "split"} <= set(v)
        assert set(v["metrics"]) == KEYS
    best = data["best"]
    assert best["metric"] == "information_ratio"
    assert best["value"] == max(v["metrics"]["information_ratio"] for v in data["variants"])
    assert data["synthetic"] is True and data["walk_forward"] == []
    with Warehouse(warehouse, read_only=True) as wh:
        df, meta = load_sweep(wh)
    assert list(df["id"]) == list(range(8)) and {"top_k", "cap", "sleeves", "sharpe", "information_ratio"} <= set(df)
    assert meta["metric"] == "information_ratio" and meta["best"] == best["id"]
    assert set(meta["varied"]) == {"top_k", "cap", "sleeves"}


def test_table_on_a_running_scheduler(run, warehouse, grid, capsys):
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cl:
        code, out, err = run(capsys, "-w", str(warehouse), "sweep", "--grid", str(grid),
                             "--scheduler", cl.scheduler_address, "--rows", "5")
    assert code == 0, err
    assert "best by sharpe" in out and "SYNTHETIC" in out and "3 more variants" in out
    assert "stored results: sweep_variants" in err


@pytest.mark.parametrize("argv, msg", [
    (["--metric", "alpha"], "--metric"),
    (["--workers", "-1"], "--workers"),
])
def test_bad_options_exit_2(run, warehouse, grid, capsys, argv, msg):
    code, _, err = run(capsys, "-w", str(warehouse), "sweep", "--grid", str(grid), *argv)
    assert code == 2 and msg in err


def test_bad_grid_exits_2_naming_file_and_key(run, warehouse, tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text("[grid]\ntop_k = [5]\nmax_weight = [0.1]\n")
    code, _, err = run(capsys, "-w", str(warehouse), "sweep", "--grid", str(p), "--workers", "0")
    assert code == 2 and str(p) in err and "grid.max_weight" in err


WF_GRID = """
[sweep]
playbook = "pb.toml"
[grid]
top_k = [2, 4]
regime_scaling = [false]
[walk_forward]
train_years = 3
test_years = 2
"""


def test_walk_forward_table_on_real_data_without_membership(run, tiny_synthetic, tmp_path, capsys):
    # a real (not synthetic) market with no index membership stored: the sweep uses every
    # listed name and says so; each variant runs once per walk-forward split
    wh = tmp_path / "real.duckdb"
    with Warehouse(wh) as w:
        w.ingest({k: v for k, v in tiny_synthetic.tables.items() if k != "membership"}, source="csv:/data")
    (tmp_path / "pb.toml").write_text("[constraints]\ntracking_error_budget = 0.0\n")
    (tmp_path / "wf.toml").write_text(WF_GRID)
    args = ["-w", str(wh), "sweep", "--grid", str(tmp_path / "wf.toml"), "--workers", "0"]
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    code, table, err = run(capsys, *args, "--rows", "6")
    assert code == 0, err
    flat = " ".join(table.split())
    assert "2 variant(s) per walk-forward split" in err
    assert "sweep 6 variants, ranked by sharpe (out of sample)" in flat and "SYNTHETIC" not in table
    assert "more variants not shown" not in flat
    for w in data["walk_forward"]:
        assert (f"walk-forward {w['split']} (train {w['train_start']}..{w['train_end']}, test to {w['test_end']}): "
                f"best in-sample variant {w['best_in_sample']} (sharpe {w['in_sample']['sharpe']:.2f}) "
                f"-> out of sample {w['out_of_sample']['sharpe']:.2f}") in flat
    assert [w["split"] for w in data["walk_forward"]] == ["wf1", "wf2", "wf3"]
    assert "note: no membership stored for index 'sp500': all listed securities used" in flat
    assert data["notes"] == ["no membership stored for index 'sp500': all listed securities used"]


def test_estimates_and_missing_values_as_printed():
    from broadening.cli.sweep import _duration, _fmt

    assert [_duration(s) for s in (0.2, 89, 90, 5399, 5400, 9000)] == ["1 s", "89 s", "2 min", "90 min", "1.5 h", "2.5 h"]
    assert _fmt("sharpe", float("nan")) == "-" and _fmt("cagr", None) == "-"
    assert _fmt("cagr", 0.1234) == "12.3%" and _fmt("sharpe", 1.234) == "1.23"
