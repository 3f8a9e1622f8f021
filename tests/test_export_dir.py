"""export_dir: an export is replaced whole or not at all, and an import reads only a whole export."""

from __future__ import annotations

import json

import pytest

from broadening.export_dir import MANIFEST, ExportError, read_export, write_export
from broadening.schema import TABLE_ORDER
from broadening.warehouse import Warehouse


@pytest.fixture
def exported(make_tables, tmp_path):
    wh = Warehouse(":memory:")
    wh.ingest(make_tables({"A": [10, 11], "B": [20, 21]}), source="t", synthetic=True, replace=True, meta={"seed": 3})
    out = tmp_path / "exp"
    wh.export_parquet(out)
    yield wh, out
    wh.close()


def test_a_failed_export_keeps_the_previous_one_whole(exported):
    wh, out = exported
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def write_table(name, path):
        if name == "fundamentals":
            raise OSError(28, "No space left on device")
        wh.con.execute(f"COPY {name} TO '{path}' (FORMAT PARQUET)")

    with pytest.raises(OSError, match="No space left"):
        write_export(out, write_table, wh.meta(), wh.counts())
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["exp"]  # no temporary left beside it


def test_reading_a_file_as_an_export_is_refused(exported):
    _, out = exported
    with pytest.raises(ExportError, match=r"prices.parquet: not a directory \(expected one written by 'broadening export'\)"):
        read_export(out / "prices.parquet", complete=True)


def test_a_manifest_whose_tables_are_not_an_object_is_refused(exported):
    _, out = exported
    doc = json.loads((out / MANIFEST).read_text())
    doc["tables"] = ["prices"]
    (out / MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(ExportError, match=r"_meta.json: expected 'tables' and 'meta' objects$"):
        read_export(out, complete=True)


def test_an_export_from_before_manifests_had_row_counts(exported):
    # its _meta.json was the warehouse's meta dict itself
    _, out = exported
    (out / MANIFEST).write_text(json.dumps({"seed": 3, "synthetic": True}))
    got = read_export(out, complete=True)
    assert got.synthetic is True and got.meta == {"seed": 3}
    assert sorted(got.tables) == sorted(TABLE_ORDER) and len(got.tables["prices"]) == 4
