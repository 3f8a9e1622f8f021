"""Membership: user files (intervals, snapshots) and the index-constitution history."""

from __future__ import annotations

import builtins

import pandas as pd
import pytest

from broadening.errors import BroadeningError, DataValidationError
from broadening.providers.membership import (
    from_index_constitution,
    load_membership,
    read_membership_file,
    snapshots_to_intervals,
)
from broadening.schema import validate_table

T = pd.Timestamp


def test_interval_file(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("ticker,start,end,name\nAAPL,1982-11-30,,Apple\nBRK.B,2010-02-16,,Berkshire\nLEH,1976-07-01,2008-09-16,Lehman\n")
    m = read_membership_file(p)
    validate_table("membership", m.membership)
    assert m.tickers == ["AAPL", "BRK-B", "LEH"]
    assert m.members_at("2008-09-15") == ["AAPL", "LEH"]
    assert m.members_at("2008-09-16") == ["AAPL"]  # end is exclusive
    assert m.securities.set_index("security_id").loc["BRK-B", "name"] == "Berkshire"
    assert m.since("2009-01-01").tickers == ["AAPL", "BRK-B"]


def test_wide_snapshot_file(tmp_path):
    p = tmp_path / "snap.csv"
    p.write_text('date,tickers\n2020-01-02,"AAA,BBB,CCC"\n2020-03-02,"AAA,CCC,DDD"\n2020-06-01,"AAA,BBB,DDD"\n')
    m = read_membership_file(p)
    rows = {(r.security_id, r.start.date().isoformat(), None if pd.isna(r.end) else r.end.date().isoformat())
            for r in m.membership.itertuples()}
    assert rows == {
        ("AAA", "2020-01-02", None),
        ("BBB", "2020-01-02", "2020-03-02"),
        ("BBB", "2020-06-01", None),
        ("CCC", "2020-01-02", "2020-06-01"),
        ("DDD", "2020-03-02", None),
    }
    validate_table("membership", m.membership)


def test_long_snapshot_file(tmp_path):
    p = tmp_path / "long.csv"
    p.write_text("date,ticker\n2020-01-02,AAA\n2020-01-02,BBB\n2020-02-03,AAA\n")
    m = read_membership_file(p)
    assert m.members_at("2020-01-15") == ["AAA", "BBB"] and m.members_at("2020-02-03") == ["AAA"]


def test_overlapping_reused_ticker_is_merged(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("symbol,opt-in,opt-out\nT,1976-07-01,2005-11-18\nT,1983-11-30,\n")
    m = read_membership_file(p)
    assert len(m.membership) == 1 and pd.isna(m.membership["end"].iloc[0])
    assert any("merged 1" in n for n in m.notes)


def test_bad_files_name_the_problem(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("ticker,start,end\nAAA,2020-01-02,\nBBB,not-a-date,\n")
    with pytest.raises(DataValidationError, match=r"bad.csv, row 3, column 'start'"):
        read_membership_file(p)
    q = tmp_path / "cols.csv"
    q.write_text("a,b\n1,2\n")
    with pytest.raises(DataValidationError, match="ticker,start,end"):
        read_membership_file(q)
    with pytest.raises(BroadeningError, match="not found"):
        read_membership_file(tmp_path / "nope.csv")


def test_snapshots_to_intervals_empty():
    assert snapshots_to_intervals({}).empty
    df = snapshots_to_intervals({T("2020-01-01"): {"A"}})
    assert df["end"].isna().all()


def test_index_constitution_history():
    pytest.importorskip("index_constitution")
    m = from_index_constitution()
    validate_table("membership", m.membership)
    validate_table("securities", m.securities)
    n2020 = len(m.members_at("2020-01-02"))
    assert 480 <= n2020 <= 520
    assert "AAPL" in m.members_at("2024-06-03") and "BRK-B" in m.members_at("2024-06-03")
    assert "LEH" in m.members_at("2008-01-02") and "LEH" not in m.members_at("2008-09-16")
    assert load_membership().source == "index-constitution:sp500"


def test_missing_package_says_what_to_do(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *a, **kw):
        if name == "index_constitution":
            raise ImportError(name)
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(BroadeningError, match="--membership-file"):
        from_index_constitution()


# -- issue #17 ------------------------------------------------------------------------------------
def test_interval_file_as_parquet_and_the_whole_history(tmp_path):
    p = tmp_path / "m.parquet"
    pd.DataFrame({"ticker": ["AAPL", "LEH"], "start": ["1982-11-30", "1976-07-01"], "end": [None, "2008-09-16"]}).to_parquet(p)
    m = read_membership_file(p)
    assert m.source == f"file:{p.resolve()}" and m.tickers == ["AAPL", "LEH"]
    assert m.since(None) is m  # a pull of the whole history keeps every interval


def test_a_blank_ticker_in_an_interval_file_names_its_row(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("ticker,start,end\nAAA,2020-01-02,\n ,2021-01-04,\n")
    with pytest.raises(DataValidationError) as err:
        read_membership_file(p)
    assert str(err.value) == f"{p}, row 3, column 'ticker': expected a ticker (no blanks)"


def test_blank_cells_of_a_long_snapshot_file_are_skipped(tmp_path):
    p = tmp_path / "long.csv"
    p.write_text("date,ticker\n2020-01-02,AAA\n2020-01-02,\n2020-02-03,AAA\n2020-02-03,BBB\n")
    m = read_membership_file(p)
    assert m.tickers == ["AAA", "BBB"] and m.members_at("2020-01-02") == ["AAA"]
