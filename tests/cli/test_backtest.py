"""``broadening backtest``: table, JSON, returns file, stored results, bad configs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from broadening.warehouse import Warehouse

KEYS = {"cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "beta", "tracking_error",
        "information_ratio", "turnover", "active_share", "hit_rate"}




@pytest.fixture(scope="module")
def warehouse(tiny_warehouse):
    return tiny_warehouse


def test_json_and_returns_out_and_stored_results(run, warehouse, tmp_path, capsys):
    out_csv = tmp_path / "r.csv"
    code, out, err = run(capsys, "-w", str(warehouse), "backtest", "--json", "--start", "2021-01-01",
                         "--returns-out", str(out_csv))
    assert code == 0, err
    data = json.loads(out)
    assert set(data["strategies"]) == {"playbook", "cap_weight", "equal_weight", "momentum"}
    for metrics in data["strategies"].values():
        assert set(metrics) == KEYS
    assert "empty_sleeves" in data and data["synthetic"] is True
    r = pd.read_csv(out_csv)
    assert list(r.columns) == ["date", "playbook", "cap_weight", "equal_weight", "momentum"]
    assert pd.Timestamp(r["date"].iloc[0]) >= pd.Timestamp("2021-01-01")
    wh = Warehouse(warehouse, read_only=True)
    try:
        stored, meta = wh.load_result("backtest_returns")
        metrics, _ = wh.load_result("backtest_metrics")
        att, _ = wh.load_result("backtest_attribution")
        hold, _ = wh.load_result("backtest_holdings")
        roll, _ = wh.load_result("backtest_rolling")
        assert wh.load_result("backtest_empty_sleeves") is not None
    finally:
        wh.close()
    assert len(stored) == len(r) and meta["synthetic"] is True and meta["costs"] is True
    assert metrics.set_index("strategy").loc["playbook", "cagr"] == pytest.approx(data["strategies"]["playbook"]["cagr"])
    assert abs((att.drop(columns="date").sum(axis=1) - stored["playbook"]).max()) < 1e-10
    assert {"security_id", "playbook", "cap_weight", "active"} <= set(hold.columns)
    assert list(roll.columns) == ["date", "playbook", "equal_weight", "momentum"]


def test_table_no_costs_and_parquet(run, warehouse, tmp_path, capsys):
    pq = tmp_path / "r.parquet"
    code, out, err = run(capsys, "-w", str(warehouse), "backtest", "--no-costs", "--start", "2023-01-01",
                         "--end", "2024-12-31", "--returns-out", str(pq))
    assert code == 0, err
    for word in ("playbook", "cap_weight", "equal_weight", "momentum", "no costs", "SYNTHETIC"):
        assert word in out
    r = pd.read_parquet(pq)
    assert pd.Timestamp(r["date"].iloc[-1]) <= pd.Timestamp("2024-12-31")


def test_bad_config_fails_before_work_and_keeps_results(run, warehouse, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[sleeves]\nbdcs = 0.9\n")
    wh = Warehouse(warehouse, read_only=True)
    before = wh.result_names()
    wh.close()
    code, out, err = run(capsys, "-w", str(warehouse), "backtest", "--config", str(bad))
    assert code == 2
    assert str(bad) in err and "'sleeves'" in err and "sum to 1" in err
    assert out == ""
    wh = Warehouse(warehouse, read_only=True)
    assert wh.result_names() == before
    wh.close()


def test_bad_returns_out_extension(run, warehouse, tmp_path, capsys):
    code, _, err = run(capsys, "-w", str(warehouse), "backtest", "--returns-out", str(tmp_path / "r.xlsx"))
    assert code == 2 and ".csv or .parquet" in err
