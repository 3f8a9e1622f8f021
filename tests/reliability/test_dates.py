"""Dates: every date a user can give (table cell, Parquet column, option) is a real day in 1900 .. today."""

from __future__ import annotations

import pandas as pd
import pytest

from broadening import schema
from broadening.warehouse import Warehouse

from .conftest import GOOD, snapshot, write_dir

PRICES_HEAD = "security_id,date,close,adj_close,volume\n"
TODAY = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()


@pytest.mark.parametrize("value, why", [
    ("1600-01-03", "from 1900-01-01 to today"),
    ("2300-01-03", "from 1900-01-01 to today"),
    ("2200-06-30", "from 1900-01-01 to today"),
    ((TODAY + pd.Timedelta(days=3)).strftime("%Y-%m-%d"), "from 1900-01-01 to today"),
    ("1899-12-31", "from 1900-01-01 to today"),
    ("2024-02-30", "a real calendar day"),
    ("2024-01-02T00:00:00+05:00", "without a time zone"),
    ("2024-01-02Z", "without a time zone"),
    ("-1", "a date (YYYY-MM-DD)"),
    ("45000", "a date (YYYY-MM-DD)"),
    ("yesterday", "a date (YYYY-MM-DD)"),
])
def test_dates_bad_cell_is_one_error_and_nothing_changes(cli, loaded, tmp_path, value, why):
    # one bad row among good ones: the single 2200 price used to be accepted and move monitor's as-of to 2200
    prices = PRICES_HEAD + "A,2024-01-04,12,12,100\n" + f"B,{value},22,22,50\n"
    src = write_dir(tmp_path / "in", {**GOOD, "prices.csv": prices})
    before = snapshot(loaded)
    line = cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error(
        "prices.csv", "row 3", "column 'date'", why)
    assert repr(value) in line
    assert snapshot(loaded) == before


@pytest.mark.parametrize("value", ["2024-01-04", "20240104", "2024/01/04", " 2024-01-04 ", "2024-01-04 00:00:00",
                                   "2024-01-04T16:00"])
def test_dates_accepted_spellings_mean_the_same_day(cli, loaded, tmp_path, value):
    src = write_dir(tmp_path / "in", {"prices.csv": PRICES_HEAD + f"A,{value},12,12,100\n"})
    cli("--warehouse", loaded, "ingest", "csv", src).assert_ok()
    with Warehouse(loaded, read_only=True) as wh:
        got = wh.table("prices", "security_id = 'A'")
    assert pd.Timestamp("2024-01-04") in set(got["date"]) and len(got) == 3


@pytest.mark.parametrize("dates", [
    pd.Series([19725, 19726], dtype="int64"),        # days since 1970 written as integers
    pd.Series([1.7042e9, 1.7043e9], dtype="float64"),  # seconds as floats
])
def test_dates_parquet_numbers_are_refused_not_1970(cli, loaded, tmp_path, dates):
    d = tmp_path / "pq"
    d.mkdir()
    pd.DataFrame({"security_id": ["A", "A"], "date": dates, "close": [1.0, 2.0]}).to_parquet(d / "prices.parquet")
    before = snapshot(loaded)
    cli("--warehouse", loaded, "ingest", "csv", d).assert_clear_error("prices.parquet", "column 'date'", "not a number")
    assert snapshot(loaded) == before


def test_dates_parquet_timestamps_out_of_range_and_tz(cli, loaded, tmp_path):
    d = tmp_path / "pq"
    d.mkdir()
    # 1600 fits a second-resolution Parquet timestamp but not pandas' nanoseconds: it used to be a traceback
    frame = pd.DataFrame({"security_id": ["A", "A"], "date": pd.array(["2024-01-02", "1600-01-03"], dtype="datetime64[s]"),
                          "close": [1.0, 2.0]})
    frame.to_parquet(d / "prices.parquet")
    cli("--warehouse", loaded, "ingest", "csv", d).assert_clear_error("prices.parquet", "row 3", "from 1900-01-01")
    tz = pd.DataFrame({"security_id": ["A"], "date": [pd.Timestamp("2024-01-02", tz="America/New_York")], "close": [1.0]})
    tz.to_parquet(d / "prices.parquet")
    cli("--warehouse", loaded, "ingest", "csv", d).assert_clear_error("prices.parquet", "column 'date'", "without a time zone")


@pytest.mark.parametrize("value, why", [
    ("", "expected a date like"), ("-1", "expected a date like"), ("2024-06-28+02:00", "expected a date like"),
    ("2024-06-28T00:00:00Z", "expected a date like"), ("2024-02-30", "expected a date like"),
    ("1850-01-01", "from 1900-01-01 to today"), ("2300-01-01", "from 1900-01-01 to today"),
])
def test_dates_asof_is_checked_before_any_work(cli, loaded, value, why):
    before = snapshot(loaded)
    cli("--warehouse", loaded, "monitor", "--asof", value).assert_clear_error("--asof", why)
    assert snapshot(loaded) == before


@pytest.mark.parametrize("command", [("report", "--asof"), ("backtest", "--start"), ("backtest", "--end")])
def test_dates_every_date_option_uses_the_same_check(cli, loaded, command):
    cli("--warehouse", loaded, *command, "-1").assert_clear_error(command[1], "expected a date like")


def test_dates_pull_start_impossible_day_fails_before_the_network(cli, tmp_path):
    wh = tmp_path / "w.duckdb"
    cli("--warehouse", wh, "pull", "--start", "2024-02-30", "--tickers", "AAA").assert_clear_error("--start", "2024-02-30")
    assert not wh.exists()


def test_dates_parse_day_unit():
    assert schema.parse_day("2024-01-31") == pd.Timestamp("2024-01-31")
    assert schema.parse_day("20240131") == pd.Timestamp("2024-01-31")
    for bad in ("", "-1", "2024-13-01", "2024-02-30", "2024-01-31+01:00", 20240131, 1.5, None, True):
        assert schema.parse_day(bad) is None, bad
    assert schema.check_day_range(pd.Timestamp("1900-01-01")) is None
    assert schema.check_day_range(pd.Timestamp("1899-12-31")) is not None


@pytest.mark.parametrize("value, why", [("-1", "expected a date like"), ("2015-01-01T00:00:00+02:00", "no time zone"),
                                        ("1800-01-01", "from 1900-01-01 to today")])
def test_dates_sweep_grid_dates_use_the_same_check(value, why):
    from broadening.errors import ConfigError
    from broadening.sweep.grid import parse_grid

    with pytest.raises(ConfigError, match="walk_forward.start") as err:
        parse_grid({"grid": {"top_k": [1]}, "walk_forward": {"train_years": 2, "test_years": 1, "start": value}}, "g.toml")
    assert why in str(err.value)
