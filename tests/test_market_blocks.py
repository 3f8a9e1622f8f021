"""One block's market equals the whole market's cells; passes over blocks run serially or
on Dask and name the block that failed."""

from __future__ import annotations

import numpy as np
import pytest

import broadening.market_blocks as mb
from broadening.errors import BroadeningError
from broadening.export_blocks import BlockError, export_blocks
from broadening.market import load_market
from broadening.market_blocks import load_block, map_blocks
from broadening.warehouse import Warehouse

PANELS = ("close", "total_return_index", "shares", "returns", "market_cap", "alive")


def _tables(make_tables):
    n = 12
    closes = {
        "A": [None] * 6 + [10.0 + i for i in range(6)],
        "B": [None] * 3 + [20.0 + i for i in range(9)],
        "C": [30.0, 31.0, None, 33.0] + [34.0 + i for i in range(n - 4)],  # a gap the block alone cannot see
        "D": [40.0, 41.0, 42.0, 43.0, 44.0] + [None] * 7,
        "E": [50.0 + i for i in range(n)],
    }
    # E is in the index from day 4 to day 8; A never
    membership = [{"index_id": "sp500", "security_id": s, "start": "2024-01-01", "end": None} for s in "BCD"]
    membership.append({"index_id": "sp500", "security_id": "E", "start": "2024-01-05", "end": "2024-01-11"})
    t = make_tables(closes, shares={"A": 2.0, "B": 3.0, "C": 1.5, "D": 1.0, "E": 0.5}, membership=membership)
    return t


@pytest.fixture
def exported(make_tables, tmp_path):
    wh = Warehouse(":memory:")
    wh.ingest(_tables(make_tables), source="test")
    out = {}
    for size in (1, 2):
        export_blocks(wh, tmp_path / f"b{size}", block_size=size)
        out[size] = tmp_path / f"b{size}"
    yield wh, out
    wh.close()


@pytest.mark.parametrize("size", [1, 2])
@pytest.mark.parametrize("asof", [None, "2024-01-08"])
def test_every_block_equals_the_whole_market_on_its_cells(exported, size, asof):
    wh, dirs = exported
    whole = load_market(wh, asof=asof)
    seen = []
    for k in range(len(mb.read_blocks(dirs[size]).blocks)):
        bm = load_block(dirs[size], k, asof)
        if bm is None:  # A lists on day 6, after 2024-01-08's row 5
            assert asof is not None and mb.read_blocks(dirs[size]).blocks[k].ids == ("A",)
            continue
        b = bm.market
        cols = np.searchsorted(whole.ids, b.ids)
        assert (whole.ids[cols] == b.ids).all() and bm.rows == whole.shape[0]
        rows = slice(bm.offset, bm.rows)
        assert (b.dates == whole.dates[rows]).all()
        for name in PANELS:
            np.testing.assert_array_equal(getattr(b, name), getattr(whole, name)[rows][:, cols], err_msg=name)
        assert not whole.alive[: bm.offset, cols].any()  # nothing of the block before its first row
        np.testing.assert_array_equal(bm.members("sp500"), whole.members("sp500")[rows][:, cols])
        seen += list(b.ids)
    assert sorted(seen) == sorted(whole.ids)


def test_the_block_of_a_gappy_security_keeps_the_whole_calendar(exported):
    _, dirs = exported
    blocks = mb.read_blocks(dirs[1]).blocks
    c = next(b.number for b in blocks if b.ids == ("C",))
    m = load_block(dirs[1], c).market
    assert m.shape == (12, 1)
    assert m.close[2, 0] == 31.0 and m.returns[2, 0] == 0.0  # carried across day 2, as in the whole market
    assert m.drops["price_gaps_carried"] == 1


def test_members_of_a_block_without_any_of_the_index(exported):
    _, dirs = exported
    a = next(b.number for b in mb.read_blocks(dirs[1]).blocks if b.ids == ("A",))
    bm = load_block(dirs[1], a)
    assert bm.market.alive.any() and not bm.members("sp500").any()
    assert not bm.members("other").any()  # an index the market does not store: no one
    bm.indexes = []  # a market storing no membership at all: every alive security, as index_members
    np.testing.assert_array_equal(bm.members("sp500"), bm.market.alive)


def _ids(directory, block, suffix):
    return [f"{i}{suffix}" for i in load_block(directory, block).market.ids]


def _fails_on_two(directory, block):
    if block == 2:
        raise ValueError("bad value")
    return block


def test_map_blocks_serially_in_block_order_and_errors_name_the_block(exported):
    _, dirs = exported
    assert map_blocks(_ids, dirs[2], "!") == [["C!", "D!"], ["B!", "E!"], ["A!"]]
    assert map_blocks(_ids, dirs[2], "?", blocks=[2, 0]) == [["A?"], ["C?", "D?"]]
    with pytest.raises(BlockError, match=r"block=2: block 2 failed in _fails_on_two: ValueError: bad value"):
        map_blocks(_fails_on_two, dirs[2])
    with pytest.raises(BlockError, match="no block 7"):
        load_block(dirs[2], 7)


def test_missing_distributed_is_a_clear_error(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_distributed(name, *a, **k):
        if name == "distributed":
            raise ImportError("no module")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(BroadeningError, match=r"pip install 'broadening\[dask\]'"):
        mb.require_distributed()
