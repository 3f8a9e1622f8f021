"""Ken French library: zip wrapper, multi-table CSV layout, ids, units, missing values."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest
from localserver import Reply, payload

from broadening.providers.french import (
    DEFAULT_DATASETS,
    FrenchProvider,
    parse_french_csv,
    read_text,
    tables_to_series,
)
from broadening.providers.http import MalformedResponseError, NotFoundError
from broadening.schema import validate_table

FILES = ("F-F_Research_Data_Factors_daily", "F-F_Research_Data_Factors", "Portfolios_Formed_on_ME")


@pytest.fixture
def french(server, make_client):
    for f in FILES:
        server.routes[f"/{f}_CSV.zip"] = Reply(200, payload(f"{f}_CSV.zip"), {"Content-Type": "application/x-zip-compressed"})
    return FrenchProvider(make_client(), base_url=server.url)


def test_daily_factors(french):
    df = french.dataset("FF_DAILY")
    validate_table("series", df)
    s = df.set_index(["series_id", "date"])["value"]
    assert sorted(df["series_id"].unique()) == ["FF_DAILY:HML", "FF_DAILY:Mkt-RF", "FF_DAILY:RF", "FF_DAILY:SMB"]
    assert s[("FF_DAILY:Mkt-RF", pd.Timestamp("2024-01-02"))] == pytest.approx(-0.0071)  # percent -> decimal
    assert s[("FF_DAILY:RF", pd.Timestamp("2024-01-08"))] == pytest.approx(0.00021)
    assert len(df) == 5 * 4


def test_monthly_and_annual_tables(french):
    df = french.dataset("FF_MONTHLY")
    s = df.set_index(["series_id", "date"])["value"]
    assert s[("FF_MONTHLY:Mkt-RF", pd.Timestamp("2023-11-30"))] == pytest.approx(0.0883)  # month end
    assert s[("FF_MONTHLY.ANNUAL:HML", pd.Timestamp("2022-12-31"))] == pytest.approx(0.2588)
    assert (df["series_id"].str.startswith("FF_MONTHLY.ANNUAL:")).sum() == 8


def test_size_portfolios_tags_missing_and_units(french):
    df = french.dataset("ME")
    validate_table("series", df)
    ids = set(df["series_id"])
    assert "ME.VW:Lo 10" in ids and "ME.EW:Hi 10" in ids and "ME.VW_ANNUAL:Dec 5" in ids
    assert "ME.NFIRMS:Lo 30" in ids and "ME.SIZE:Hi 10" in ids
    assert not any(i.endswith(":<= 0") and i.startswith(("ME.VW:", "ME.SIZE:")) for i in ids)  # -99.99 dropped
    s = df.set_index(["series_id", "date"])["value"]
    assert s[("ME.VW:Lo 30", pd.Timestamp("2024-01-31"))] == pytest.approx(0.01)
    assert s[("ME.NFIRMS:Lo 30", pd.Timestamp("2024-02-29"))] == 300  # counts keep their units
    assert s[("ME.NFIRMS:<= 0", pd.Timestamp("2024-02-29"))] == 0
    assert s[("ME.SIZE:Lo 30", pd.Timestamp("2024-01-31"))] == pytest.approx(100.5)


def test_fetch_many_start_and_cache(french, server):
    df = french.fetch(("FF_DAILY", "FF_MONTHLY"), start="2024-01-01")
    assert df["date"].min() >= pd.Timestamp("2024-01-01")
    n = server.count()
    french.fetch(("FF_DAILY", "FF_MONTHLY"))
    assert server.count() == n == 2
    assert set(DEFAULT_DATASETS) >= {"FF_DAILY", "FF_MONTHLY"}


def test_plain_csv_and_unknown_dataset_name(server, make_client):
    text = payload("F-F_Research_Data_Factors_daily_CSV.zip")
    csv = read_text(text)
    assert csv.startswith("This file was created")
    server.routes["/My_File_CSV.zip"] = Reply(200, csv.encode())
    fr = FrenchProvider(make_client(), base_url=server.url)
    df = fr.dataset("My_File")
    assert df["series_id"].iloc[0].startswith("My_File:")
    with pytest.raises(NotFoundError, match="Ken French dataset NOPE"):
        fr.dataset("NOPE")


def test_malformed_files(server, make_client):
    with pytest.raises(MalformedResponseError, match="no table"):
        parse_french_csv("<html>Server error</html>", "x")
    with pytest.raises(MalformedResponseError, match="line 3: expected 2 values"):
        parse_french_csv("text\n,A,B\n202401,1.0\n", "x")
    with pytest.raises(MalformedResponseError, match="not a valid zip"):
        read_text(b"PK\x03\x04garbage", "x.zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.pdf", b"%PDF")
    with pytest.raises(MalformedResponseError, match="no CSV"):
        read_text(buf.getvalue(), "x.zip")
    server.routes["/Bad_CSV.zip"] = [Reply(200, b"PK\x03\x04broken"), Reply(200, payload("F-F_Research_Data_Factors_CSV.zip"))]
    fr = FrenchProvider(make_client(), base_url=server.url)
    with pytest.raises(MalformedResponseError):
        fr.dataset("Bad")
    assert len(fr.dataset("Bad")) > 0  # the broken body was not cached


def test_tags_filter_and_raw_percent():
    tables = parse_french_csv(read_text(payload("F-F_Research_Data_Factors_CSV.zip")))
    assert [t.tag for t in tables] == ["", "ANNUAL"]
    df = tables_to_series(tables, "FF", tags=[""], as_decimal=False)
    assert df["series_id"].str.startswith("FF:").all()
    assert df.set_index(["series_id", "date"])["value"][("FF:SMB", pd.Timestamp("2023-12-31"))] == pytest.approx(6.34)


@pytest.mark.live
def test_live_french_factors(tmp_path):  # pragma: no cover - needs the network
    from broadening.providers.http import HttpClient

    df = FrenchProvider(HttpClient(cache_dir=tmp_path)).dataset("FF_MONTHLY", start="2020-01-01")
    assert "FF_MONTHLY:Mkt-RF" in set(df["series_id"])


# -- issue #17: edits of the recorded downloads ----------------------------------------------------
def _text(name: str) -> str:
    return read_text(payload(f"{name}_CSV.zip"))


def test_a_download_cut_after_a_data_row_keeps_every_row():
    text = _text("F-F_Research_Data_Factors_daily")
    cut = text[: text.index("20240108")] + "20240108,    1.42,   -0.47,   -0.80,   0.021"  # no newline, no footer
    (t,) = parse_french_csv(cut, "cut.csv")
    assert t.dates == ["20240102", "20240103", "20240104", "20240105", "20240108"]
    assert list(t.values[-1]) == [1.42, -0.47, -0.80, 0.021]


def test_an_impossible_date_names_the_table_and_the_value():
    text = _text("F-F_Research_Data_Factors_daily").replace("20240105", "20240135")
    with pytest.raises(MalformedResponseError, match=r"^daily.csv: table '\(first\)': bad date '20240135'$"):
        tables_to_series(parse_french_csv(text, "daily.csv"), "FF", source="daily.csv")


def test_other_titles_are_slugs_numbered_when_repeated():
    text = _text("F-F_Research_Data_Factors").replace(" Annual Factors: January-December ", "Momentum factor (2x3)")
    annual = text[text.index("Momentum"): text.index("Copyright")]  # a factor table: stored as decimals
    # the block again, then a header row with no dated rows under it (skipped)
    text = text.replace("Copyright", annual + "Empty table\n,A,B\n\nCopyright")
    tables = parse_french_csv(text, "f.csv")
    assert [t.tag for t in tables] == ["", "MOMENTUM_FACTOR_2X3", "MOMENTUM_FACTOR_2X3_2"]
    df = tables_to_series(tables, "FF", tags=["MOMENTUM_FACTOR_2X3_2"])
    assert df.set_index(["series_id", "date"])["value"][("FF.MOMENTUM_FACTOR_2X3_2:HML", pd.Timestamp("2022-12-31"))] == pytest.approx(0.2588)
    none = tables_to_series(tables, "FF", tags=["VW"])  # a tag the file does not have: no rows
    assert none.empty and list(none.columns) == ["series_id", "date", "value"]
