"""warehouse_file: opening the warehouse file, with one clear line for each way it can fail."""

from __future__ import annotations

import pytest

from broadening.errors import WarehouseError
from broadening.warehouse_file import connect


def test_an_empty_file_is_reported_as_truncated_and_left_alone(tmp_path):
    p = tmp_path / "w.duckdb"
    p.write_bytes(b"")  # e.g. a copy that was cut off at once
    with pytest.raises(WarehouseError, match=r"w.duckdb: the warehouse file is corrupt or truncated"):
        connect(p)
    assert p.read_bytes() == b""


def test_reading_a_warehouse_that_does_not_exist(tmp_path):
    p = tmp_path / "new.duckdb"
    with pytest.raises(WarehouseError) as err:
        connect(p, read_only=True)
    assert str(err.value).startswith(f"{p}: cannot open the warehouse (IO Error: Cannot open database")
    assert not p.exists()


def test_a_path_duckdb_keeps_in_memory_is_refused():
    with pytest.raises(WarehouseError, match=r"^:memory:: DuckDB would open this path as a throwaway in-memory "
                                             r"database; give --warehouse a .duckdb file$"):
        connect(":memory:")
