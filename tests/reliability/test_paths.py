"""Environment and paths: the warehouse is a warehouse; exports are whole; imports never empty a table by accident."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from broadening.schema import TABLE_ORDER
from broadening.warehouse import Warehouse

from .conftest import GOOD, snapshot, write_dir


def dump(path):
    with Warehouse(path, read_only=True) as wh:
        return {n: sorted(map(str, wh.table(n).itertuples(index=False))) for n in TABLE_ORDER}


@pytest.mark.parametrize("name, content", [
    ("prices.csv", GOOD["prices.csv"].encode()),
    ("data.json", b'{"a": 1}'),
    ("notes.txt", b"hello, this is not a database at all"),
])
def test_environment_warehouse_that_is_another_file_is_refused(cli, good_dir, tmp_path, name, content):
    # DuckDB opened these as an in-memory database: ingest said "stored" and nothing persisted
    wh = tmp_path / name
    wh.write_bytes(content)
    cli("--warehouse", wh, "ingest", "csv", good_dir).assert_clear_error(name, "not a DuckDB warehouse")
    assert wh.read_bytes() == content


def test_environment_warehouse_parquet_file_is_refused(cli, good_dir, tmp_path):
    wh = tmp_path / "x.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(wh)
    before = wh.read_bytes()
    cli("--warehouse", wh, "ingest", "synthetic", "--preset", "tiny").assert_clear_error("x.parquet", "not a DuckDB")
    assert wh.read_bytes() == before


@pytest.mark.parametrize("name", ["new.csv", "new.parquet", "new.json"])
def test_environment_new_warehouse_named_like_a_data_file(cli, good_dir, tmp_path, name):
    cli("--warehouse", tmp_path / name, "ingest", "csv", good_dir).assert_clear_error(name, "data file")
    assert not (tmp_path / name).exists()


def test_environment_warehouse_is_a_directory_or_has_no_parent(cli, good_dir, tmp_path):
    cli("--warehouse", tmp_path, "ingest", "csv", good_dir).assert_clear_error("is a directory")
    cli("--warehouse", tmp_path / "no" / "w.duckdb", "ingest", "csv", good_dir).assert_clear_error("does not exist")


@pytest.mark.parametrize("cut", [0.5, 0.05])
def test_environment_truncated_warehouse(cli, loaded, cut):
    data = loaded.read_bytes()
    loaded.write_bytes(data[: int(len(data) * cut)])
    cli("--warehouse", loaded, "info").assert_clear_error("w.duckdb", "corrupt or truncated")


def test_environment_corrupt_warehouse(cli, loaded):
    data = bytearray(loaded.read_bytes())
    data[:8] = b"\xff" * 8  # the header's checksum no longer matches
    loaded.write_bytes(bytes(data))
    cli("--warehouse", loaded, "info").assert_clear_error("w.duckdb", "corrupt or truncated")


def test_environment_export_is_whole_and_replaces_a_previous_export(cli, loaded, tmp_path):
    out = tmp_path / "exp"
    cli("--warehouse", loaded, "export", out).assert_ok()
    manifest = json.loads((out / "_meta.json").read_text())
    assert manifest["tables"]["prices"] == 6 and sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}.parquet" for n in TABLE_ORDER] + ["_meta.json"])
    cli("--warehouse", loaded, "export", out).assert_ok()  # over the previous export
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_environment_export_onto_a_file_or_foreign_directory(cli, loaded, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("keep me")
    cli("--warehouse", loaded, "export", f).assert_clear_error("file.txt", "is a file")
    assert f.read_text() == "keep me"
    d = write_dir(tmp_path / "mine", {"thesis.docx": "keep me"})
    cli("--warehouse", loaded, "export", d).assert_clear_error("mine", "other files", "thesis.docx")
    assert [p.name for p in d.iterdir()] == ["thesis.docx"]
    cli("--warehouse", loaded, "export", f / "sub").assert_clear_error("sub")


def test_environment_export_creates_a_missing_parent(cli, loaded, tmp_path):
    cli("--warehouse", loaded, "export", tmp_path / "a" / "b" / "exp").assert_ok()
    assert (tmp_path / "a" / "b" / "exp" / "_meta.json").exists()


def test_environment_import_of_a_partial_export_is_refused(cli, loaded, tmp_path):
    exp = tmp_path / "exp"
    cli("--warehouse", loaded, "export", exp).assert_ok()
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(exp / "prices.parquet", partial)  # an export cut short: one table, no manifest
    before = snapshot(loaded)
    cli("--warehouse", loaded, "import", partial).assert_clear_error("partial", "not a complete export", "_meta.json")
    assert snapshot(loaded) == before
    shutil.copy(exp / "_meta.json", partial)  # a manifest, but tables missing
    cli("--warehouse", loaded, "import", partial).assert_clear_error("incomplete export", "securities.parquet")
    assert snapshot(loaded) == before
    # --merge upserts the tables there are (the same prices here) and empties nothing
    contents = dump(loaded)
    cli("--warehouse", loaded, "import", "--merge", partial).assert_ok()
    assert dump(loaded) == contents and len(contents["series"]) == 1


def test_environment_import_checks_row_counts(cli, loaded, tmp_path):
    exp = tmp_path / "exp"
    cli("--warehouse", loaded, "export", exp).assert_ok()
    pd.read_parquet(exp / "prices.parquet").head(2).to_parquet(exp / "prices.parquet")
    before = snapshot(loaded)
    cli("--warehouse", loaded, "import", exp).assert_clear_error("prices.parquet", "6 rows as recorded", "2 rows")
    assert snapshot(loaded) == before


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_environment_bad_meta_json(cli, loaded, tmp_path, content):
    exp = tmp_path / "exp"
    cli("--warehouse", loaded, "export", exp).assert_ok()
    (exp / "_meta.json").write_bytes(content)
    before = snapshot(loaded)
    cli("--warehouse", loaded, "import", exp).assert_clear_error("_meta.json")
    assert snapshot(loaded) == before


def test_environment_import_never_empties_a_table_without_the_flag(cli, loaded, tmp_path):
    empty_series = tmp_path / "e"
    with Warehouse(tmp_path / "other.duckdb") as wh:
        from broadening.providers.files import read_table_dir

        tables, _ = read_table_dir(write_dir(tmp_path / "g", {k: v for k, v in GOOD.items() if k != "series.csv"}))
        wh.ingest(tables, source="t")
        wh.export_parquet(empty_series)
    before = snapshot(loaded)
    cli("--warehouse", loaded, "import", empty_series).assert_clear_error("series", "empty", "--allow-empty")
    assert snapshot(loaded) == before
    cli("--warehouse", loaded, "import", "--allow-empty", empty_series).assert_ok()
    assert dump(loaded)["series"] == []


def test_environment_round_trip_is_exact(cli, loaded, tmp_path):
    exp = tmp_path / "exp"
    cli("--warehouse", loaded, "export", exp).assert_ok()
    other = tmp_path / "o.duckdb"
    cli("--warehouse", other, "import", exp).assert_ok()
    assert dump(other) == dump(loaded)


def test_environment_report_out_is_a_directory(cli, loaded, tmp_path):
    d = tmp_path / "outdir"
    d.mkdir()
    cli("--warehouse", loaded, "report", "--out", d).assert_clear_error("outdir", "is a directory")
    assert list(d.iterdir()) == [] and not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_environment_failed_first_ingest_leaves_no_warehouse_behind(cli, tmp_path):
    src = write_dir(tmp_path / "bad", {"series.csv": "series_id,date,value\nHY,2024-02-30,1\n"})
    wh = tmp_path / "new.duckdb"
    cli("--warehouse", wh, "ingest", "csv", src).assert_clear_error("series.csv", "row 2", "column 'date'")
    assert not wh.exists() and not wh.with_name("new.duckdb.wal").exists()
    cli("--warehouse", wh, "import", src).assert_clear_error("not a complete export")
    assert not wh.exists()
