"""Block exports: the per-security tables partitioned by security block, whole or absent,
read back one block at a time with row counts checked."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import broadening.export_blocks as eb
from broadening.export_blocks import (
    BLOCK_TABLES,
    MANIFEST,
    BlockError,
    export_blocks,
    open_block,
    read_blocks,
)
from broadening.warehouse import Warehouse


def _closes():
    # five securities listed on different days (E first, A last), D delisted early, C with a gap
    n = 12
    return {
        "A": [None] * 6 + [10.0 + i for i in range(6)],
        "B": [None] * 3 + [20.0 + i for i in range(9)],
        "C": [30.0, 31.0, None, 33.0] + [34.0 + i for i in range(n - 4)],
        "D": [40.0, 41.0, 42.0, 43.0, 44.0] + [None] * 7,
        "E": [50.0 + i for i in range(n)],
    }


@pytest.fixture
def wh(make_tables):
    w = Warehouse(":memory:")
    w.ingest(make_tables(_closes(), series=[{"series_id": "X", "date": "2024-01-02", "value": 1.0}]),
             source="test", synthetic=True)
    yield w
    w.close()


def test_blocks_group_securities_by_listing_date_and_partition_every_row(wh, tmp_path):
    ex = export_blocks(wh, tmp_path / "b", block_size=2)
    # listing order: C, D, E on day 0 (then by id), B on day 3, A on day 6
    assert [b.ids for b in ex.blocks] == [("C", "D"), ("E", "B"), ("A",)]
    assert [(b.first, b.last) for b in ex.blocks] == [("2024-01-01", "2024-01-16"), ("2024-01-01", "2024-01-16"),
                                                     ("2024-01-09", "2024-01-16")]
    assert ex.dates == 12 and ex.indexes == ["sp500"] and ex.synthetic and ex.block_size == 2
    assert (tmp_path / "b" / "prices" / "block=0").is_dir() and (tmp_path / "b" / MANIFEST).is_file()
    for t in BLOCK_TABLES:
        stored = wh.table(t)
        assert ex.tables[t] == len(stored)
        parts = []
        for b in ex.blocks:
            with open_block(ex, b.number) as one:
                got = one.table(t)
            assert len(got) == b.rows[t]
            assert set(got["security_id"]) <= set(b.ids)
            parts.append(got)
        both = pd.concat(parts).sort_values(list(eb.TABLES[t].key)).reset_index(drop=True)
        ref = stored.sort_values(list(eb.TABLES[t].key)).reset_index(drop=True)
        pd.testing.assert_frame_equal(both, ref, check_dtype=False)
    with open_block(ex, 2) as one:  # the series go with every block
        assert len(one.table("series")) == 1
    assert list(ex.calendar().astype(str)) == [str(d.date()) for d in pd.bdate_range("2024-01-01", periods=12)]


def test_a_new_export_replaces_the_old_whole_and_a_failed_one_leaves_it(wh, tmp_path, monkeypatch):
    out = tmp_path / "b"
    export_blocks(wh, out, block_size=1)
    assert len(read_blocks(out).blocks) == 5
    export_blocks(wh, out, block_size=10)
    assert len(read_blocks(out).blocks) == 1
    assert not (out / "prices" / "block=4").exists()  # nothing of the old layout is left

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(eb, "_manifest", boom)
    with pytest.raises(BlockError, match="No space left on device"):
        export_blocks(wh, out, block_size=2)
    assert len(read_blocks(out).blocks) == 1  # the previous export, whole
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no partial directory left behind


def test_refusals(wh, tmp_path):
    with pytest.raises(BlockError, match="positive number"):
        export_blocks(wh, tmp_path / "b", block_size=0)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(BlockError, match="holds other files"):
        export_blocks(wh, tmp_path / "mine")
    (tmp_path / "f").write_text("x")
    with pytest.raises(BlockError, match="is a file"):
        export_blocks(wh, tmp_path / "f")
    with pytest.raises(BlockError, match="not a block export"):
        read_blocks(tmp_path / "mine")
    (tmp_path / "mine" / MANIFEST).write_text(json.dumps({"format": "other"}))
    with pytest.raises(BlockError, match="expected a manifest"):
        read_blocks(tmp_path / "mine")


def test_a_damaged_block_names_the_block_and_the_file(wh, tmp_path):
    ex = export_blocks(wh, tmp_path / "b", block_size=2)
    f = ex.files("prices", 1)[0]
    f.write_bytes(f.read_bytes()[:100])  # truncated
    with pytest.raises(BlockError) as err:
        open_block(ex, 1)
    assert str(f) in str(err.value) and "block 1, table prices" in str(err.value)
    # a file of another block put in its place: readable, but not the rows the manifest records
    f.write_bytes(ex.files("prices", 2)[0].read_bytes())
    with pytest.raises(BlockError, match="block 1, table prices: 6 rows, the manifest records 21"):
        open_block(ex, 1)
    for p in ex.files("shares", 0):
        p.unlink()
    with pytest.raises(BlockError, match="block 0 has no shares file"):
        open_block(ex, 0)
    with open_block(ex, 2) as one:  # the other blocks still read
        assert one.counts()["prices"] == 6
