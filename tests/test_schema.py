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


# -- issue #17: the remaining rules, each with the message a user reads ----------------------------
def test_last_date_before_first_date_names_the_row_and_shows_the_day():
    df = pd.DataFrame({"security_id": ["A", "B"], "ticker": ["A", "B"],
                       "first_date": ["2020-01-02", "2021-03-01"], "last_date": ["2020-05-01", "2021-02-01"]})
    with pytest.raises(DataValidationError) as err:
        schema.validate_table("securities", df, source="securities.csv")
    # the day as the user wrote it, not a pandas repr (the other date rules already did this)
    assert str(err.value) == ("securities.csv, row 3, column 'last_date': expected last_date on or after "
                              "first_date; got '2021-02-01'")


def test_a_frame_with_a_column_twice_is_refused_naming_it():
    # a Parquet file or a provider frame can carry a column twice (a CSV header is caught earlier)
    df = pd.DataFrame([["A", "2024-01-02", 10.0, 11.0]], columns=["security_id", "date", "close", "close"])
    with pytest.raises(DataValidationError, match=r"^prices.parquet, column 'close': expected each column to appear once"):
        schema.validate_table("prices", df, source="prices.parquet")


def test_an_unknown_table_name_lists_the_tables():
    with pytest.raises(DataValidationError) as err:
        schema.validate_table("price", _prices([("A", "2024-01-02")]), source="price.csv")
    assert str(err.value) == ("price.csv: expected one of the tables securities, prices, shares, fundamentals, "
                              "membership, series")


def test_column_lookup_by_name():
    spec = schema.TABLES["fundamentals"]
    assert spec.column("available_date").kind == "date" and spec.column("eps").nullable
    with pytest.raises(KeyError):
        spec.column("price")


def test_categorical_ids_equal_after_trimming_are_one_id():
    # a provider frame with categorical ids: 'A' and ' A' are the same security, so the
    # two rows share a key (the categories cannot simply be renamed: they would collide)
    ids = pd.Series(pd.Categorical(["A", " A", "B"]))
    df = pd.DataFrame({"security_id": ids, "date": ["2024-01-02"] * 3, "close": 1.0})
    with pytest.raises(DataValidationError, match=r"rows 2, 3: expected unique \(security_id, date\) per row; got \('A', '2024-01-02'\)"):
        schema.validate_table("prices", df, source="p")
    ok = schema.validate_table("prices", df.iloc[[0, 2]])
    assert list(ok["security_id"]) == ["A", "B"]


def test_key_check_beyond_the_bitmap_size_still_finds_duplicates():
    # 6,000 ids x 1900..2024: (id, day) packs above 2**28, so the check hashes instead of
    # using a bitmap; it must give the same answers
    n = 6000
    keys = [(f"S{i:04d}", "1900-01-02" if i % 2 else "2024-01-02") for i in range(n)]
    spec = schema.TABLES["prices"]
    ok = schema.validate_table("prices", _prices(keys))
    assert n * (pd.Timestamp("2024-01-02") - pd.Timestamp("1900-01-02")).days > 2**28
    assert schema._fast_key_unique(spec, ok) is True
    with pytest.raises(DataValidationError, match=rf"rows 3, {n + 2}: expected unique"):
        schema.validate_table("prices", _prices(keys + [keys[1]]))


def test_parse_day_refuses_a_time_zone():
    import datetime

    assert schema.parse_day(datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)) is None
    assert schema.parse_day(datetime.datetime(2024, 1, 2, 15, 30)) == pd.Timestamp("2024-01-02")
