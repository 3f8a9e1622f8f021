"""``broadening backtest``: table, JSON, returns file, stored results, bad configs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from broadening.results import load_backtest
from broadening.warehouse import Warehouse

# a classification whose regime listens to concentration (C1) alone
C1_ONLY = "[regime.weights]\nC1 = 1.0\nC2 = 0.0\nC3 = 0.0\nC4 = 0.0\nC5 = 0.0\nC9 = 0.0\n"
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
    with Warehouse(warehouse, read_only=True) as wh:
        stored = load_backtest(wh)
    meta = stored.meta()
    assert len(stored.returns) == len(r) and meta["synthetic"] is True and meta["costs"] is True
    np.testing.assert_allclose(stored.returns.to_numpy(), r.drop(columns="date").to_numpy(), rtol=0, atol=1e-15)
    for name, metrics in data["strategies"].items():
        got = [stored.metrics.loc[name, k] for k in metrics]
        want = [np.nan if v is None else v for v in metrics.values()]  # JSON writes NaN as null
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)
    assert abs((stored.attribution.sum(axis=1) - stored.returns["playbook"]).max()) < 1e-10
    assert {"security_id", "playbook", "cap_weight", "active"} <= set(stored.holdings.columns)
    assert stored.holdings["active"].to_numpy() == pytest.approx((stored.holdings["playbook"] - stored.holdings["cap_weight"]).to_numpy())
    assert list(stored.rolling.columns) == ["playbook", "equal_weight", "momentum"]
    empty = [{"date": str(pd.Timestamp(d).date()), "sleeve": s} for d, s in stored.empty_sleeves[["date", "sleeve"]].itertuples(index=False)]
    assert empty == data["empty_sleeves"]
    assert meta["classification"] == "defaults" and meta["config"] == "<built-in defaults>"


def test_playbook_and_classification_files_are_used_and_stored(run, warehouse, tmp_path, capsys):
    pb = tmp_path / "pb.toml"
    pb.write_text("[costs]\nbps = 25.0\n")
    cls = tmp_path / "c1.toml"
    cls.write_text(C1_ONLY)
    code, out, err = run(capsys, "-w", str(warehouse), "backtest", "--json", "--playbook", str(pb))
    assert code == 0, err
    base = json.loads(out)["strategies"]["playbook"]
    code, out, err = run(capsys, "-w", str(warehouse), "backtest", "--json", "--playbook", str(pb), "--classification", str(cls))
    assert code == 0, err
    other = json.loads(out)["strategies"]["playbook"]
    with Warehouse(warehouse, read_only=True) as wh:
        meta = load_backtest(wh).meta()
    assert meta["config"] == str(pb) and meta["classification"] == str(cls)
    # the classification's regime weights change the regime score, so the trim, so the playbook
    assert other["cagr"] != pytest.approx(base["cagr"], abs=1e-9)


def test_config_is_a_deprecated_name_of_playbook(run, warehouse, tmp_path, capsys):
    pb = tmp_path / "pb.toml"
    pb.write_text("[costs]\nbps = 25.0\n")
    code, out, err = run(capsys, "-w", str(warehouse), "backtest", "--json", "--config", str(pb))
    assert code == 0, err
    assert "warning: --config is deprecated here; use --playbook (same meaning)" in err
    with Warehouse(warehouse, read_only=True) as wh:
        assert load_backtest(wh).meta()["config"] == str(pb)
    code, out, err = run(capsys, "-w", str(warehouse), "backtest", "--config", str(pb), "--playbook", str(pb))
    assert code == 2 and "--config is the old name of --playbook: give only --playbook" in err and out == ""


def test_table_no_costs_and_parquet(run, warehouse, tmp_path, capsys):
    pq = tmp_path / "r.parquet"
    code, out, err = run(capsys, "-w", str(warehouse), "backtest", "--no-costs", "--start", "2023-01-01",
                         "--end", "2024-12-31", "--returns-out", str(pq))
    assert code == 0, err
    assert "no costs" in out and "SYNTHETIC" in out
    r = pd.read_parquet(pq)
    assert pd.Timestamp(r["date"].iloc[-1]) == pd.Timestamp("2024-12-31")
    with Warehouse(warehouse, read_only=True) as wh:
        stored = load_backtest(wh)
    assert stored.costs is False
    # the table shows the stored metrics: the CAGR row, one cell per strategy in column order
    row = next(line for line in out.splitlines() if line.strip(" │|").startswith("cagr"))
    cells = [c.strip() for c in row.strip(" │|").split("│")][1:]
    assert cells == [f"{stored.metrics.loc[s, 'cagr']:.1%}" for s in ("playbook", "cap_weight", "equal_weight", "momentum")]


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


def test_real_data_shows_no_synthetic_badge(run, real_warehouse, capsys):
    code, out, err = run(capsys, "-w", str(real_warehouse), "backtest", "--start", "2023-01-01", "--end", "2024-12-31")
    assert code == 0, err
    # the title, without the badge (returns start at the first monthly rebalance)
    assert out.splitlines()[0].strip() == "backtest 2023-01-31 .. 2024-12-31  (costs on; vs cap_weight)"
    assert "SYNTHETIC" not in out


def test_returns_out_is_a_directory_is_refused_before_the_backtest(run, warehouse, tmp_path, capsys):
    (tmp_path / "r.csv").mkdir()
    code, out, err = run(capsys, "-w", str(warehouse), "backtest", "--returns-out", str(tmp_path / "r.csv"))
    assert code == 2 and out == "" and "backtest: holdings" not in err
    assert err == f"error: --returns-out {tmp_path / 'r.csv'}: is a directory; give the file's name"
