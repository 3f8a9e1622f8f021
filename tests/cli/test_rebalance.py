"""``broadening rebalance``: trade list as table, JSON and file; every bad input exits 2 and writes nothing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from broadening.market import load_market
from broadening.warehouse import Warehouse

T = 30
CONFIG = """
[trim]
top_k = 1
mode = "cap"
cap = 0.4
regime_scaling = false

[sleeves]
equal_weight_core = 1.0
quality_domestic_cyclicals = 0.0
ai_adopters = 0.0
small_cap_quality = 0.0
bdcs = 0.0

[constraints]
max_weight = 1.0

[costs]
bps = 10.0
spread_bps = 0.0
"""


@pytest.fixture
def setup(tmp_path, make_tables):
    """A warehouse with A/B/C (cap weights 60/30/10%, flat prices) and D (delisted after ten days)."""
    closes = {"A": [100.0] * T, "B": [50.0] * T, "C": [20.0] * T, "D": [10.0] * 10 + [None] * (T - 10)}
    tables = make_tables(closes, shares={"A": 6.0, "B": 6.0, "C": 5.0, "D": 1.0})
    wh_path = tmp_path / "w.duckdb"
    with Warehouse(wh_path) as wh:
        wh.ingest(tables, source="test", replace=True)
    cfg = tmp_path / "pb.toml"
    cfg.write_text(CONFIG)
    return wh_path, cfg, tmp_path


def _book(path, text: str):
    path.write_text(text)
    return str(path)


def test_json_and_csv_out(run, setup, capsys):
    wh, cfg, tmp = setup
    out = tmp / "trades.csv"
    code, stdout, err = run(capsys, "-w", str(wh), "rebalance", "--holdings", _book(tmp / "b.csv", "ticker,shares\nA,10\nC,50\n"),
                            "--playbook", str(cfg), "--out", str(out), "--json")
    assert code == 0, err
    data = json.loads(stdout)
    vp = 1998 / 0.9998  # see tests/playbook/test_rebalance.py for the hand computation
    assert data["totals"]["nav"] == 2000.0
    assert data["totals"]["nav_after"] == pytest.approx(vp, rel=1e-12)
    trades = {r["ticker"]: r for r in data["trades"]}
    assert trades["B"]["trade_value"] == pytest.approx(0.4 * vp, rel=1e-12)
    assert trades["C"]["trade_shares"] == pytest.approx((0.2 * vp - 1000) / 20, rel=1e-12)
    written = pd.read_csv(out)
    assert list(written["ticker"]) == ["A", "B", "C"]
    assert {"ticker", "sleeve", "current_shares", "current_weight", "target_weight", "trade_shares", "trade_value",
            "est_cost"} <= set(written.columns)
    assert written["trade_value"].tolist() == pytest.approx([trades[k]["trade_value"] for k in "ABC"], rel=1e-12)


def test_table_round_lots_and_parquet(run, setup, capsys):
    wh, cfg, tmp = setup
    out = tmp / "trades.parquet"
    code, stdout, err = run(capsys, "-w", str(wh), "rebalance", "--holdings", _book(tmp / "b.csv", "ticker,shares\nA,10\nC,50\n"),
                            "--playbook", str(cfg), "--round-lots", "5", "--out", str(out))
    assert code == 0, err
    for word in ("rebalance", "turnover", "tracking error", "active share", "sector weights", "Industrials"):
        assert word in stdout
    got = pd.read_parquet(out).set_index("ticker")
    assert got.loc[["A", "B", "C"], "trade_shares"].tolist() == [-5.0, 15.0, -35.0]


def test_cash_only_with_asof(run, setup, capsys):
    wh, cfg, tmp = setup
    code, stdout, err = run(capsys, "-w", str(wh), "rebalance", "--holdings", _book(tmp / "b.csv", "ticker,shares\n"),
                            "--playbook", str(cfg), "--cash", "1000", "--asof", "2024-01-05", "--json")
    assert code == 0, err
    data = json.loads(stdout)
    assert data["totals"]["asof"] == "2024-01-05"
    assert {r["ticker"] for r in data["trades"]} == {"A", "B", "C", "D"}  # D still trades that day


@pytest.mark.parametrize("book, message", [
    ("ticker,shares\nA,10\nZZZ,5\n", "row 3, column 'ticker': expected a ticker the warehouse knows as of"),
    ("ticker,shares\nA,10\nD,5\n", "row 3, column 'ticker': expected a holding with a price on the as-of date"),
    ("ticker,shares\nA,10\nA,5\n", "rows 2, 3, column 'ticker': expected each ticker once"),
    ("ticker,shares\nA,-10\n", "row 2, column 'shares': expected a number of shares >= 0; got '-10'"),
    ("ticker,shares\nA,\n", "row 2, column 'shares': expected a number of shares >= 0"),
    ("ticker,shares\nA,NaN\n", "row 2, column 'shares'"),
    ("symbol,qty\nA,10\n", "expected columns 'ticker,shares'"),
])
def test_bad_holdings_exit_2_and_write_nothing(run, setup, capsys, book, message):
    wh, cfg, tmp = setup
    out = tmp / "trades.csv"
    holdings = _book(tmp / "book.csv", book)
    code, stdout, err = run(capsys, "-w", str(wh), "rebalance", "--holdings", holdings, "--playbook", str(cfg), "--out", str(out))
    assert code == 2, err
    assert "book.csv" in err and message in err
    assert not out.exists() and stdout == ""
    assert [p.name for p in tmp.iterdir() if p.name.startswith(".trades")] == []


def test_unreadable_and_missing_files(run, setup, capsys):
    wh, cfg, tmp = setup
    out = tmp / "trades.csv"
    junk = tmp / "book.parquet"
    junk.write_bytes(b"PAR1 this is not parquet")
    code, _, err = run(capsys, "-w", str(wh), "rebalance", "--holdings", str(junk), "--out", str(out))
    assert code == 2 and "book.parquet: expected a readable Parquet file" in err
    code, _, err = run(capsys, "-w", str(wh), "rebalance", "--holdings", str(tmp / "nope.csv"), "--out", str(out))
    assert code == 2 and "nope.csv" in err and "no such file" in err
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--out", "trades.xlsx"], "expected a .csv or .parquet file name"),
    (["--cash", "-5"], "--cash: expected an amount >= 0"),
    (["--round-lots", "0"], "--round-lots: expected a whole number of shares >= 1"),
    (["--asof", "2024-13-45"], "--asof: expected a date"),
])
def test_bad_options_exit_2(run, setup, capsys, args, message):
    wh, cfg, tmp = setup
    holdings = _book(tmp / "book.csv", "ticker,shares\nA,10\n")
    code, _, err = run(capsys, "-w", str(wh), "rebalance", "--holdings", holdings, "--playbook", str(cfg), *args)
    assert code == 2 and message in err
    assert not (tmp / "trades.xlsx").exists()


def test_demo_market_default_playbook(run, tiny_warehouse, tmp_path, capsys):
    with Warehouse(tiny_warehouse, read_only=True) as wh:
        m = load_market(wh)
    alive = m.alive[-1]
    tickers = m.securities["ticker"].to_numpy()[alive][:4]
    book = tmp_path / "book.csv"
    book.write_text("ticker,shares\n" + "".join(f"{t},{100 * (i + 1)}\n" for i, t in enumerate(tickers)))
    code, stdout, err = run(capsys, "-w", str(tiny_warehouse), "rebalance", "--holdings", str(book), "--cash", "25000", "--json")
    assert code == 0, err
    data = json.loads(stdout)
    tot = data["totals"]
    assert tot["synthetic"] is True and tot["names_before"] == 4 and tot["names_after"] > 4
    assert abs(sum(r["final_weight"] for r in data["trades"]) + tot["cash_after"] / tot["nav_after"] - 1) < 1e-9
    assert tot["tracking_error_after"] < tot["tracking_error_before"]
    assert tot["active_share_after"] < tot["active_share_before"]


def test_config_is_the_old_name_of_playbook(run, setup, capsys):
    wh, cfg, tmp = setup
    holdings = _book(tmp / "book.csv", "ticker,shares\nA,10\nC,50\n")
    code, stdout, err = run(capsys, "-w", str(wh), "rebalance", "--holdings", holdings, "--config", str(cfg), "--json")
    assert code == 0 and "--config is deprecated" in err
    assert json.loads(stdout)["totals"]["config"] == str(cfg)
    code, _, err = run(capsys, "-w", str(wh), "rebalance", "--holdings", holdings, "--config", str(cfg), "--playbook", str(cfg))
    assert code == 2 and "give only --playbook" in err


def test_demo_market_table_badge_row_limit_and_notes(run, tiny_warehouse, tmp_path, capsys):
    with Warehouse(tiny_warehouse, read_only=True) as wh:
        m = load_market(wh)
    tickers = m.securities["ticker"].to_numpy()[m.alive[-1]][:4]
    book = tmp_path / "book.csv"
    book.write_text("ticker,shares\n" + "".join(f"{t},100\n" for t in tickers))
    pb = tmp_path / "pb.toml"
    pb.write_text("[constraints]\nturnover_budget = 0.02\n")  # binds: the note says so
    args = ["-w", str(tiny_warehouse), "rebalance", "--holdings", str(book), "--cash", "25000", "--playbook", str(pb)]
    code, stdout, err = run(capsys, *args, "--json")
    assert code == 0, err
    data = json.loads(stdout)
    assert len(data["trades"]) > 40 and any("turnover budget 2.0% binds" in n for n in data["notes"])
    code, table, err = run(capsys, *args)
    assert code == 0, err
    assert "SYNTHETIC" in table.splitlines()[0] + table.splitlines()[1]  # in the title, wrapped or not
    flat = " ".join(table.split())
    assert f"... and {len(data['trades']) - 40} more names (--out or --json lists every trade)" in flat
    for note in data["notes"]:
        assert f"note: {' '.join(note.split())}" in flat


def test_out_is_a_directory_is_refused_before_any_work(run, setup, capsys):
    # it was found only when writing, and reported under the temporary file's name
    wh, cfg, tmp = setup
    (tmp / "trades.csv").mkdir()
    code, stdout, err = run(capsys, "-w", str(wh), "rebalance", "--holdings", _book(tmp / "b.csv", "ticker,shares\nA,10\n"),
                            "--playbook", str(cfg), "--out", str(tmp / "trades.csv"))
    assert code == 2 and stdout == ""
    assert err == f"error: --out {tmp / 'trades.csv'}: is a directory; give the file's name"
    assert list((tmp / "trades.csv").iterdir()) == []
