"""Schema checks that are easiest to see on their own: the fast key-uniqueness test."""

from __future__ import annotations

import pandas as pd
import pytest

from broadening import schema
from broadening.errors import DataValidationError


def _prices(keys):
    return pd.DataFrame({
        "security_id": [k[0] for k in keys], "date": [k[1] for k in keys],
        "close": 10.0, "total_return_index": 10.0, "volume": 1.0,
    })


def test_fast_key_check_sees_unique_and_duplicate_keys():
    spec = schema.TABLES["prices"]
    keys = [("A", "2024-01-02"), ("A", "2024-01-03"), ("B", "2024-01-02"), ("B", "2021-05-06")]
    ok = schema.validate_table("prices", _prices(keys))
    assert schema._fast_key_unique(spec, ok) is True
    # the same (id, day) twice, far apart in the table: the bitmap must catch it
    dup = pd.concat([ok, ok.iloc[[2]]], ignore_index=True)
    assert schema._fast_key_unique(spec, dup) is False


def test_duplicate_price_key_is_one_clear_error_naming_the_rows():
    keys = [("A", "2024-01-02"), ("B", "2024-01-02"), ("A", "2024-01-02")]
    with pytest.raises(DataValidationError) as err:
        schema.validate_table("prices", _prices(keys), source="prices.csv")
    msg = str(err.value)
    assert msg.startswith("prices.csv, rows 2, 4:") and "unique (security_id, date)" in msg


# -- issue #15: dates and plausible values -------------------------------------------------------
def _one_row(table: str, column: str, value) -> pd.DataFrame:
    base = {
        "securities": {"security_id": "A", "ticker": "A"},
        "prices": {"security_id": "A", "date": "2024-01-02", "close": 10.0},
        "shares": {"security_id": "A", "date": "2024-01-02", "shares_outstanding": 1.0},
        "fundamentals": {"security_id": "A", "period_end": "2023-12-31", "available_date": "2024-01-02"},
        "membership": {"index_id": "x", "security_id": "A", "start": "2024-01-02"},
        "series": {"series_id": "s", "date": "2024-01-02", "value": 1.0},
    }[table]
    return pd.DataFrame([{**base, column: value}])


@pytest.mark.parametrize("table, column", sorted(schema.PLAUSIBLE))
def test_values_every_plausible_range_is_inclusive_and_enforced(table, column):
    lo, hi = schema.PLAUSIBLE[table, column]
    for ok in (lo, hi) if column != "delisting_return" else (hi, -0.99):
        got = schema.validate_table(table, _one_row(table, column, ok))
        assert got[column].iloc[0] == ok
    for bad in (hi * 10 if hi > 0 else hi + 1, -1e300, 1e300):
        with pytest.raises(DataValidationError, match=f"column '{column}'"):
            schema.validate_table(table, _one_row(table, column, bad))


@pytest.mark.parametrize("value", [20240102, 1.7e9, True, "2024-01-02+01:00", "1899-12-31", "2400-01-01", "2023-02-29"])
def test_dates_validate_table_refuses(value):
    with pytest.raises(DataValidationError, match="column 'date'"):
        schema.validate_table("prices", _one_row("prices", "date", value))


def test_dates_each_distinct_value_parsed_once_gives_the_same_days():
    days = pd.Series(["2024-01-02", "20240103", "2024/01/04", None, "2024-01-02"] * 1000)
    df = pd.DataFrame({"series_id": [f"s{i}" for i in range(len(days))], "date": days, "value": 1.0})
    got = schema.validate_table("series", df.dropna()).set_index("series_id")["date"]
    want = pd.to_datetime(days.dropna().str.replace("/", "-").map(lambda v: v if "-" in v else f"{v[:4]}-{v[4:6]}-{v[6:]}"))
    assert list(got) == list(want)
