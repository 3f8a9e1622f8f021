"""CLI data commands: bad input gets one clear message, exit status 2, warehouse unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from broadening.schema import TABLE_ORDER
from broadening.warehouse import Warehouse

from ..good_csv import GOOD, write_dir


def dump(path: Path) -> dict[str, list]:
    wh = Warehouse(path, read_only=True)
    try:
        return {n: sorted(map(str, wh.table(n).itertuples(index=False))) for n in TABLE_ORDER} | {"prov": len(wh.provenance())}
    finally:
        wh.close()


@pytest.fixture
def loaded(run, tmp_path, capsys):
    wh = tmp_path / "w.duckdb"
    src = write_dir(tmp_path / "good", GOOD)
    code, _, err = run(capsys, "--warehouse", str(wh), "ingest", "csv", str(src))
    assert code == 0, err
    return wh


def edit(files: dict[str, str], name: str, old: str, new: str) -> dict[str, str]:
    out = dict(files)
    assert old in out[name], (name, old)
    out[name] = out[name].replace(old, new, 1)
    return out


# (case id, files, expected message fragments)
BAD = [
    ("missing column", edit(GOOD, "prices.csv", "security_id,date,close,", "security_id,date,price,"),
     ["prices.csv", "column 'close'", "expected a column named 'close'"]),
    ("negative price", edit(GOOD, "prices.csv", "A,2024-01-03,11,", "A,2024-01-03,-11,"),
     ["prices.csv, row 3, column 'close'", "expected a positive number", "'-11'"]),
    ("zero price", edit(GOOD, "prices.csv", "B,2024-01-02,20,", "B,2024-01-02,0,"),
     ["prices.csv, row 4, column 'close'", "expected a positive number"]),
    ("bad date", edit(GOOD, "prices.csv", "C,2024-01-02", "C,2024-13-45"),
     ["prices.csv, row 6, column 'date'", "expected a date (YYYY-MM-DD)", "'2024-13-45'"]),
    ("text price", edit(GOOD, "prices.csv", "B,2024-01-03,21,", "B,2024-01-03,abc,"),
     ["prices.csv, row 5, column 'close'", "expected a number", "'abc'"]),
    ("duplicate price key", edit(GOOD, "prices.csv", "A,2024-01-03,11,", "A,2024-01-02,11,"),
     ["prices.csv, rows 2, 3", "expected unique (security_id, date) per row"]),
    ("negative shares", edit(GOOD, "shares.csv", "B,2023-12-01,50", "B,2023-12-01,-50"),
     ["shares.csv, row 3, column 'shares_outstanding'", "expected a number >= 0"]),
    ("available before period end", edit(GOOD, "fundamentals.csv", "B,2023-09-30,2023-10-25", "B,2023-09-30,2023-09-01"),
     ["fundamentals.csv, row 3, column 'available_date'", "on or after period_end"]),
    ("overlapping membership", edit(GOOD, "membership.csv", "sp500,B,2023-07-01,", "sp500,B,2023-05-01,"),
     ["membership.csv, rows 3, 4", "intervals of one index and security that do not overlap"]),
    ("membership end before start", edit(GOOD, "membership.csv", "sp500,A,2020-01-01,", "sp500,A,2020-01-01,2019-01-01"),
     ["membership.csv, row 2, column 'end'", "end after start"]),
    ("unknown security", edit(GOOD, "prices.csv", "C,2024-01-03", "Z,2024-01-03"),
     ["prices.csv, row 7, column 'security_id'", "a security_id listed in the securities table", "'Z'"]),
    ("share above one", edit(GOOD, "securities.csv", "Alpha,Industrials,0.8", "Alpha,Industrials,1.5"),
     ["securities.csv, row 2, column 'domestic_revenue_share'", "a share between 0 and 1"]),
    ("unknown ai layer", edit(GOOD, "securities.csv", "0.3,infrastructure", "0.3,quantum"),
     ["securities.csv, row 3, column 'ai_layer'", "one of infrastructure, platform, adopter, none", "'quantum'"]),
    ("duplicate security", edit(GOOD, "securities.csv", "C,CCC,Gamma", "A,CCC,Gamma"),
     ["securities.csv, rows 2, 4", "unique (security_id)"]),
    ("text series value", edit(GOOD, "series.csv", "HY,2024-01-02,3.1", "HY,2024-01-02,n/a"),
     ["series.csv, row 2, column 'value'", "expected a number", "'n/a'"]),
    ("bad boolean", edit(GOOD, "securities.csv", "0.9,,true", "0.9,,maybe"),
     ["securities.csv, row 4, column 'is_bdc'", "a boolean"]),
    ("blank id", edit(GOOD, "prices.csv", "B,2024-01-03,21", ",2024-01-03,21"),
     ["prices.csv, row 5, column 'security_id'", "a value (no blanks)"]),
    ("delisting return below -100%", {**GOOD, "securities.csv": GOOD["securities.csv"].replace(",is_bdc\n", ",is_bdc,delisting_return\n").replace("adopter,false\n", "adopter,false,-1.5\n").replace("infrastructure,false\n", "infrastructure,false,\n").replace(",true\n", ",true,\n")},
     ["securities.csv, row 2, column 'delisting_return'", "greater than -1"]),
    ("infinite number", edit(GOOD, "fundamentals.csv", "B,2023-09-30,2023-10-25,2.0", "B,2023-09-30,2023-10-25,inf"),
     ["fundamentals.csv, row 3, column 'eps'", "a finite number"]),
    ("blank date", edit(GOOD, "series.csv", "HY,2024-01-02,3.1", "HY,,3.1"),
     ["series.csv, row 2, column 'date'", "a value (no blanks)"]),
]


@pytest.mark.parametrize("case, files, fragments", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_rejected_whole(run, case, files, fragments, loaded, tmp_path, capsys):
    before = dump(loaded)
    bad_dir = write_dir(tmp_path / "bad", files)
    code, out, err = run(capsys, "--warehouse", str(loaded), "ingest", "csv", str(bad_dir))
    assert code == 2, (case, err)
    for frag in fragments:
        assert frag in err, f"{case}: {frag!r} not in {err!r}"
    assert err.count("error:") == 1
    assert dump(loaded) == before


def test_overlap_with_stored_membership(run, loaded, tmp_path, capsys):
    before = dump(loaded)
    d = write_dir(tmp_path / "m", {"membership.csv": "index_id,security_id,start,end\nsp500,A,2021-01-01,\n"})
    code, _, err = run(capsys, "--warehouse", str(loaded), "ingest", "csv", str(d))
    assert code == 2 and "membership.csv, row 2" in err and "already stored" in err
    assert dump(loaded) == before


def test_unreadable_file_and_empty_dir(run, loaded, tmp_path, capsys):
    before = dump(loaded)
    d = tmp_path / "junk"
    d.mkdir()
    (d / "prices.parquet").write_bytes(b"\x00\x01not parquet")
    code, _, err = run(capsys, "--warehouse", str(loaded), "ingest", "csv", str(d))
    assert code == 2 and "prices.parquet" in err and "a readable CSV or Parquet file" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "--warehouse", str(loaded), "ingest", "csv", str(empty))
    assert code == 2 and "at least one table file" in err
    code, _, err = run(capsys, "--warehouse", str(loaded), "ingest", "csv", str(tmp_path / "nope"))
    assert code == 2 and "expected a directory" in err
    assert dump(loaded) == before


def test_csv_ingest_is_idempotent_and_info_json(run, loaded, tmp_path, capsys):
    before = dump(loaded)
    code, _, _ = run(capsys, "--warehouse", str(loaded), "ingest", "csv", str(tmp_path / "good"))
    assert code == 0
    after = dump(loaded)
    assert {k: v for k, v in after.items() if k != "prov"} == {k: v for k, v in before.items() if k != "prov"}
    code, out, _ = run(capsys, "--warehouse", str(loaded), "info", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["tables"]["prices"]["rows"] == 6 and info["synthetic"] is False
    assert info["start"] == "2024-01-02" and info["end"] == "2024-01-03"
    assert info["tables"]["prices"]["sources"][0]["source"].startswith("csv:")


def test_export_import_cli(run, loaded, tmp_path, capsys):
    pq = tmp_path / "pq"
    assert run(capsys, "--warehouse", str(loaded), "export", str(pq))[0] == 0
    other = tmp_path / "o.duckdb"
    assert run(capsys, "--warehouse", str(other), "import", str(pq))[0] == 0
    a, b = dump(loaded), dump(other)
    assert {k: v for k, v in a.items() if k != "prov"} == {k: v for k, v in b.items() if k != "prov"}


def test_info_on_missing_warehouse(run, tmp_path, capsys):
    code, _, err = run(capsys, "--warehouse", str(tmp_path / "none.duckdb"), "info")
    assert code == 2 and "no warehouse here" in err


def test_env_var_selects_warehouse(run, loaded, monkeypatch, capsys):
    monkeypatch.setenv("BROADENING_WAREHOUSE", str(loaded))
    code, out, _ = run(capsys, "info", "--json")
    assert code == 0 and json.loads(out)["path"] == str(loaded)


def test_parquet_user_files(run, loaded, tmp_path, capsys):
    d = tmp_path / "pqin"
    d.mkdir()
    pd.DataFrame({"series_id": ["X"], "date": [pd.Timestamp("2024-01-02")], "value": [1.5]}).to_parquet(d / "series.parquet")
    code, _, err = run(capsys, "--warehouse", str(loaded), "ingest", "csv", str(d))
    assert code == 0, err
    wh = Warehouse(loaded, read_only=True)
    assert set(wh.table("series")["series_id"]) == {"HY", "X"}
    wh.close()
    shutil.rmtree(d)


# -- helpers of the data commands, without a warehouse ----------------------------------------
def test_a_failed_command_removes_the_warehouse_file_it_created(tmp_path):
    from broadening.cli.data import _no_new_file_on_error

    path = tmp_path / "new.duckdb"
    with pytest.raises(RuntimeError, match="boom"), _no_new_file_on_error(str(path)):
        path.write_bytes(b"half")
        (tmp_path / "new.duckdb.wal").write_bytes(b"log")
        raise RuntimeError("boom")
    assert not path.exists() and not (tmp_path / "new.duckdb.wal").exists()


def test_a_failed_command_keeps_a_warehouse_file_that_existed(tmp_path):
    from broadening.cli.data import _no_new_file_on_error

    path = tmp_path / "old.duckdb"
    path.write_bytes(b"stored")
    with pytest.raises(RuntimeError), _no_new_file_on_error(str(path)):
        raise RuntimeError("boom")
    assert path.read_bytes() == b"stored"


def test_a_successful_command_keeps_the_file_it_created(tmp_path):
    from broadening.cli.data import _no_new_file_on_error

    path = tmp_path / "new.duckdb"
    with _no_new_file_on_error(str(path)):
        path.write_bytes(b"data")
    assert path.read_bytes() == b"data"


def test_note_unused_names_the_data_files_that_are_not_tables(tmp_path, capsys):
    from broadening.cli.data import _note_unused

    (tmp_path / "prices.parquet").write_bytes(b"")
    (tmp_path / "price.parquet").write_bytes(b"")
    (tmp_path / "prices.csv").write_bytes(b"")  # not a table file when only parquet is read
    (tmp_path / "README.md").write_text("x")  # not data-looking
    _note_unused(tmp_path, ("parquet",))
    err = " ".join(capsys.readouterr().err.split())
    assert "not used (not a table name): price.parquet, prices.csv;" in err
    _note_unused(tmp_path, ("csv", "parquet"))
    err = " ".join(capsys.readouterr().err.split())
    assert "not used (not a table name): price.parquet;" in err


def test_info_table_lists_rows_indexes_and_series(run, loaded, capsys):
    code, out, err = run(capsys, "--warehouse", str(loaded), "info")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "2024-01-02 .. 2024-01-03" in flat and "SYNTHETIC" not in flat
    assert "indexes: sp500" in flat and "series: HY" in flat
    assert "stored results" not in flat  # nothing stored yet
    rows = {ln.split("│")[1].strip(): ln.split("│")[2].strip() for ln in out.splitlines()
            if ln.count("│") >= 3 and ln.split("│")[1].strip()}
    assert rows["prices"] == "6" and rows["securities"] == "3" and rows["membership"] == "3"


def test_export_blocks_cli(run, tiny_warehouse, tmp_path, capsys):
    from broadening.export_blocks import read_blocks

    out = tmp_path / "blocks"
    code, _, err = run(capsys, "--warehouse", str(tiny_warehouse), "export", str(out), "--blocks", "--block-size", "50")
    assert code == 0, err
    ex = read_blocks(out)
    assert "wrote 3 blocks of up to 50 securities (136 in all)" in err
    assert [len(b.ids) for b in ex.blocks] == [50, 50, 36]
    code, _, err = run(capsys, "--warehouse", str(tiny_warehouse), "export", str(out), "--blocks", "--block-size", "0")
    assert code == 2 and "--block-size: expected a positive number" in err
    assert len(read_blocks(out).blocks) == 3  # the refused export left the previous one


def test_info_table_synthetic_no_index_no_series_and_stored_results(run, make_tables, tmp_path, capsys):
    wh = tmp_path / "s.duckdb"
    with Warehouse(wh) as w:
        w.ingest(make_tables({"A": [10, 11]}, index_id=None), source="synthetic", synthetic=True, replace=True)
        w.save_results({"backtest": pd.DataFrame({"x": [1.0]})})
    code, out, err = run(capsys, "--warehouse", str(wh), "info")
    assert code == 0, err
    assert "SYNTHETIC" in out.split("┏")[0]  # in the title, above the table
    flat = " ".join(out.split())
    assert "stored results: backtest" in flat
    assert "indexes:" not in flat and "series:" not in flat  # nothing to list, no empty line for it
