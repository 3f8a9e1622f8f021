"""Files: duplicate columns, truncated or hostile compression, huge fields, encodings, misnamed tables."""

from __future__ import annotations

import gzip
import io
import resource
import time

import pandas as pd
import pytest

from broadening.providers.files import read_table_file

from .conftest import GOOD, snapshot, write_dir

PRICES = GOOD["prices.csv"]


def test_files_duplicate_column_is_refused_not_dropped(cli, loaded, tmp_path):
    text = "security_id,date,close,close\nA,2024-01-04,12,99\n"
    src = write_dir(tmp_path / "in", {"prices.csv": text})
    before = snapshot(loaded)
    cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error("prices.csv", "column 'close'", "named once")
    assert snapshot(loaded) == before


def test_files_duplicate_column_in_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.Table.from_arrays([pa.array(["A"]), pa.array(["2024-01-04"]), pa.array([1.0]), pa.array([2.0])],
                             names=["security_id", "date", "close", "close"])
    pq.write_table(t, tmp_path / "prices.parquet")
    with pytest.raises(Exception, match="column 'close'"):
        read_table_file(tmp_path / "prices.parquet")


def test_files_truncated_gzip_is_a_clear_error_not_exit_130(cli, loaded, tmp_path):
    blob = gzip.compress(PRICES.encode() * 50)
    src = write_dir(tmp_path / "in", {"prices.csv.gz": blob[: len(blob) // 2]})
    before = snapshot(loaded)
    cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error("prices.csv.gz", "truncated or corrupt")
    assert snapshot(loaded) == before


def test_files_not_gzip_at_all(cli, loaded, tmp_path):
    src = write_dir(tmp_path / "in", {"prices.csv.gz": PRICES})
    cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error("prices.csv.gz", "gzip")


def test_files_huge_field_is_not_echoed_in_full(cli, loaded, tmp_path):
    big = "9" * 5_000_000 + "x"  # not a number: its value is quoted in the message
    src = write_dir(tmp_path / "in", {"prices.csv": "security_id,date,close\nA,2024-01-04," + big + "\n"})
    line = cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error("prices.csv", "row 2", "column 'close'",
                                                                              "characters)")
    assert len(line) < 600


def test_files_gzip_bomb_stops_at_the_limit_with_bounded_memory(cli, loaded, tmp_path, monkeypatch):
    monkeypatch.setenv("BROADENING_MAX_TABLE_MB", "2")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        gz.write(b"security_id,date,close\n")
        row = b"A,2024-01-04,1\n" * 65536
        for _ in range(100):  # ~100 MB once inflated, ~100 KB on disk
            gz.write(row)
    src = write_dir(tmp_path / "in", {"prices.csv.gz": buf.getvalue()})
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error("prices.csv.gz", "more than 2 MB",
                                                                        "BROADENING_MAX_TABLE_MB")
    assert time.perf_counter() - t0 < 10
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert grown_mb < 100, f"peak memory grew by {grown_mb:.0f} MB reading a 2 MB-limited file"


def test_files_plain_file_over_the_limit(cli, loaded, tmp_path, monkeypatch):
    monkeypatch.setenv("BROADENING_MAX_TABLE_MB", "0.001")
    src = write_dir(tmp_path / "in", {"prices.csv": PRICES * 10})
    cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error("prices.csv", "limit", "BROADENING_MAX_TABLE_MB")


def test_files_not_utf8_csv(cli, loaded, tmp_path):
    src = write_dir(tmp_path / "in", {"securities.csv": "security_id,ticker,name\nD,DDD,Soci\xe9t\xe9\n".encode("latin-1")})
    cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error("securities.csv", "UTF-8")


def test_files_utf8_with_bom_is_read(cli, loaded, tmp_path):
    src = write_dir(tmp_path / "in", {"securities.csv": "\ufeffsecurity_id,ticker,name\nD,DDD,Soci\u00e9t\u00e9\n"})
    cli("--warehouse", loaded, "ingest", "csv", src).assert_ok()


def test_files_not_utf8_toml(cli, loaded, tmp_path):
    p = tmp_path / "c.toml"
    p.write_bytes("[universe]\nlarge_index = \"sp\xe9\"\n".encode("latin-1"))
    cli("--warehouse", loaded, "monitor", "--config", p).assert_clear_error("c.toml", "UTF-8")


@pytest.mark.parametrize("name, content", [
    ("prices.parquet", b"PAR1 this is not parquet"),
    ("prices.csv", b""),
    ("prices.csv", b"\x00\x01\x02\xff\xfe"),
])
def test_files_garbage_is_one_error(cli, loaded, tmp_path, name, content):
    src = write_dir(tmp_path / "in", {name: content})
    before = snapshot(loaded)
    cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error(name)
    assert snapshot(loaded) == before


def test_files_truncated_parquet(cli, loaded, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    pd.DataFrame({"security_id": ["A"] * 1000, "date": "2024-01-04", "close": 1.0}).to_parquet(d / "prices.parquet")
    data = (d / "prices.parquet").read_bytes()
    (d / "prices.parquet").write_bytes(data[: len(data) // 2])
    cli("--warehouse", loaded, "ingest", "csv", d).assert_clear_error("prices.parquet", "readable")


def test_files_misnamed_table_file_is_reported_as_not_used(cli, loaded, tmp_path):
    src = write_dir(tmp_path / "in", {"series.csv": GOOD["series.csv"], "price.csv": PRICES, "Shares.CSV": "x"})
    res = cli("--warehouse", loaded, "ingest", "csv", src)
    res.assert_ok()
    assert "not used" in res.err and "price.csv" in res.err and "Shares.CSV" in res.err


def test_files_only_misnamed_files_is_an_error_naming_them(cli, loaded, tmp_path):
    src = write_dir(tmp_path / "in", {"price.csv": PRICES})
    cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error("at least one table file", "price.csv")
