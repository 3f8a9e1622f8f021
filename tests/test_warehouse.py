"""Warehouse: validated, idempotent, transactional ingest; Parquet round trip; crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from broadening.errors import DataValidationError
from broadening.schema import TABLE_ORDER
from broadening.warehouse import Warehouse

from .warehouse_helpers import abc_tables, assert_same, snapshot


@pytest.fixture
def tables(make_tables):
    return abc_tables(make_tables)


def test_ingest_counts_and_info(tables):
    wh = Warehouse(":memory:")
    rep = wh.ingest(tables, source="test")
    assert rep.rows == {"securities": 3, "prices": 10, "shares": 3, "fundamentals": 1, "membership": 3, "series": 1}
    info = wh.info()
    assert info["tables"]["prices"]["rows"] == 10
    assert info["start"] == "2024-01-01" and info["end"] == "2024-01-04"
    assert info["synthetic"] is False
    assert info["tables"]["prices"]["sources"][0]["source"] == "test"
    assert info["indexes"] == ["sp500"] and info["series"] == ["HY"]


def test_ingest_twice_changes_nothing(tables, tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.ingest(tables, source="test")
    first = snapshot(wh)
    wh.ingest(tables, source="test")
    assert_same(first, snapshot(wh))
    assert wh.counts()["prices"] == 10


def test_upsert_replaces_by_key(tables):
    wh = Warehouse(":memory:")
    wh.ingest(tables, source="test")
    fix = pd.DataFrame({"security_id": ["A"], "date": ["2024-01-02"], "close": [99.0]})
    wh.ingest({"prices": fix}, source="fix")
    p = wh.table("prices")
    assert len(p) == 10
    assert p.loc[(p.security_id == "A") & (p.date == "2024-01-02"), "close"].item() == 99.0


def test_synthetic_flag_and_replace(tables):
    wh = Warehouse(":memory:")
    wh.ingest(tables, source="synthetic", synthetic=True, replace=True, meta={"seed": 3})
    assert wh.synthetic and wh.meta()["seed"] == 3
    wh.ingest({"securities": tables["securities"].iloc[:1]}, source="x", replace=True)
    assert not wh.synthetic
    assert wh.counts()["prices"] == 0


def test_validation_error_leaves_store_unchanged(tables, tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.ingest(tables, source="test")
    before = snapshot(wh)
    bad = dict(tables)
    bad["series"] = pd.DataFrame({"series_id": ["HY"], "date": ["2024-01-05"], "value": ["high"]})
    with pytest.raises(DataValidationError, match=r"series \(from t\), row 1, column 'value': expected a number"):
        wh.ingest(bad, source="t")
    assert_same(before, snapshot(wh))


def test_membership_overlap_with_stored_rows(tables):
    wh = Warehouse(":memory:")
    wh.ingest(tables, source="t")
    clash = pd.DataFrame({"index_id": ["sp500"], "security_id": ["A"], "start": ["2024-01-03"], "end": [None]})
    with pytest.raises(DataValidationError, match="do not overlap those already stored"):
        wh.ingest({"membership": clash}, source="t")
    assert len(wh.table("membership")) == 3


def test_parquet_round_trip(tables, tmp_path):
    wh = Warehouse(tmp_path / "a.duckdb")
    wh.ingest(tables, source="test", synthetic=True, replace=True, meta={"seed": 1})
    wh.export_parquet(tmp_path / "pq")
    assert sorted(p.name for p in (tmp_path / "pq").glob("*.parquet")) == sorted(f"{n}.parquet" for n in TABLE_ORDER)
    other = Warehouse(tmp_path / "b.duckdb")
    other.import_parquet(tmp_path / "pq")
    assert_same(snapshot(wh), snapshot(other))
    assert other.synthetic and other.meta()["seed"] == 1


def test_results_store(tmp_path):
    wh = Warehouse(tmp_path / "r.duckdb")
    df = pd.DataFrame({"date": pd.bdate_range("2024-01-01", periods=3), "x": [1.0, 2.0, 3.0]})
    wh.save_results({"returns": df, "other": df[["x"]] * 2}, meta={"costs": True})
    got, meta = wh.load_result("returns")
    assert got["x"].tolist() == [1.0, 2.0, 3.0] and meta == {"costs": True}
    assert list(got["date"]) == list(df["date"])
    other, meta = wh.load_result("other")
    assert other["x"].tolist() == [2.0, 4.0, 6.0] and meta == {"costs": True}
    assert wh.load_result("missing") is None
    assert wh.result_names() == ["other", "returns"]
    with pytest.raises(ValueError, match="alphanumeric"):
        wh.save_results({"bad name;": df})


def test_results_are_stored_all_or_nothing(tmp_path, monkeypatch):
    wh = Warehouse(tmp_path / "r.duckdb")
    wh.save_results({"a": pd.DataFrame({"x": [1.0]}), "b": pd.DataFrame({"y": [1.0]})}, meta={"run": 1})
    real = wh._run

    def fail_on_b(sql, params=None):
        if "result_b" in sql:
            raise RuntimeError("disk full")
        return real(sql, params)

    monkeypatch.setattr(wh, "_run", fail_on_b)
    with pytest.raises(RuntimeError, match="disk full"):
        wh.save_results({"a": pd.DataFrame({"x": [2.0]}), "b": pd.DataFrame({"y": [2.0]})}, meta={"run": 2})
    monkeypatch.undo()
    a, meta = wh.load_result("a")
    assert a["x"].tolist() == [1.0] and meta == {"run": 1}  # the first frame's write was rolled back too


def test_replacing_the_market_drops_its_results(tables):
    wh = Warehouse(":memory:")
    wh.ingest(tables, source="t")
    wh.save_results({"backtest_returns": pd.DataFrame({"x": [1.0]})}, meta={})
    wh.ingest(tables, source="t")  # an upsert keeps them
    assert wh.result_names() == ["backtest_returns"]
    wh.ingest(tables, source="t", replace=True)
    assert wh.result_names() == [] and wh.load_result("backtest_returns") is None


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys, pandas as pd
    from broadening.warehouse import Warehouse
    n = 200
    sec = pd.DataFrame({"security_id": [f"N{i}" for i in range(n)], "ticker": [f"N{i}" for i in range(n)]})
    d = pd.bdate_range("2020-01-01", periods=50)
    prices = pd.DataFrame({"security_id": [f"N{i}" for i in range(n) for _ in d],
                           "date": list(d) * n, "close": 1.0})
    wh = Warehouse(sys.argv[1])
    wh.ingest({"securities": sec, "prices": prices}, source="second", replace=True)
    """
)


def test_sigkill_mid_ingest_keeps_previous_state(tables, tmp_path):
    path = tmp_path / "k.duckdb"
    wh = Warehouse(path)
    wh.ingest(tables, source="first")
    before = snapshot(wh)
    wh.close()
    env = dict(os.environ, BROADENING_PAUSE_IN_INGEST="60")
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(path)], stderr=subprocess.PIPE, env=env, text=True)
    try:
        deadline = time.time() + 60
        line = ""
        while "PAUSED" not in line and time.time() < deadline:
            line = proc.stderr.readline()
        assert "PAUSED" in line, "the ingest never reached its pause point"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    after = Warehouse(path)
    assert_same(before, snapshot(after))
    assert after.counts()["prices"] == 10
    assert set(after.provenance()["source"]) == {"first"}


def test_an_unknown_table_name_is_refused_naming_its_file(tables):
    # e.g. a directory reader handing over 'price' for a file called price.csv
    wh = Warehouse(":memory:")
    with pytest.raises(DataValidationError) as err:
        wh.ingest({"prices": tables["prices"], "price": tables["prices"]}, source="csv:/in",
                  sources={"price": "/in/price.csv"})
    assert str(err.value) == ("/in/price.csv: expected a canonical table name (securities, prices, shares, "
                              "fundamentals, membership, series); got 'price'")
    assert wh.counts()["prices"] == 0
    with pytest.raises(KeyError, match="price"):
        wh.table("price")
