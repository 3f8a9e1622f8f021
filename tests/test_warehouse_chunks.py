"""Warehouse.ingest_chunks: a market stored chunk by chunk, in one transaction."""

from __future__ import annotations

import pandas as pd
import pytest

from broadening.errors import DataValidationError
from broadening.schema import TABLE_ORDER
from broadening.warehouse import Warehouse

from .warehouse_helpers import abc_tables, assert_same, snapshot


def by_security(tables: dict[str, pd.DataFrame], groups: list[list[str]]) -> list[dict[str, pd.DataFrame]]:
    """The securities first, then prices and shares one group of securities at a time, then the rest."""
    chunks: list[dict[str, pd.DataFrame]] = [{"securities": tables["securities"]}]
    for ids in groups:
        chunks.append({n: tables[n][tables[n]["security_id"].astype(str).isin(ids)] for n in ("prices", "shares")})
    chunks.append({n: tables[n] for n in ("fundamentals", "membership", "series")})
    return chunks


@pytest.fixture
def tables(make_tables):
    return abc_tables(make_tables)


def test_chunks_store_the_same_as_one_ingest(tables):
    whole, chunked = Warehouse(":memory:"), Warehouse(":memory:")
    whole.ingest(tables, source="t", replace=True, meta={"seed": 1})
    calls = []
    rep = chunked.ingest_chunks(by_security(tables, [["A"], ["B", "C"]]), source="t", replace=True,
                                meta=lambda: {"seed": 1}, progress=lambda s, d, t: calls.append((d, t)), total=4)
    assert rep.rows == {n: len(tables[n]) for n in TABLE_ORDER}
    assert_same(snapshot(whole), snapshot(chunked))
    assert chunked.meta()["seed"] == 1
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    prov = chunked.provenance()
    assert dict(zip(prov["table_name"], prov["rows"], strict=True))["prices"] == len(tables["prices"])


def test_a_security_in_two_chunks_is_upserted_not_duplicated(tables):
    wh = Warehouse(":memory:")
    px = tables["prices"]
    a = px[px["security_id"].astype(str) == "A"]
    newer = a.assign(close=a["close"] * 2)
    chunks = [{"securities": tables["securities"]}, {"prices": a}, {"prices": newer}]
    wh.ingest_chunks(chunks, source="t", replace=True)
    got = wh.table("prices").sort_values("date")
    assert len(got) == len(a)
    assert got["close"].tolist() == (a.sort_values("date")["close"] * 2).tolist()


def test_a_bad_chunk_keeps_the_previous_contents(tables, tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.ingest(tables, source="before", meta={"seed": 3})
    before = snapshot(wh)
    chunks = by_security(tables, [["A"], ["B", "C"]])
    bad = chunks[2]["prices"].copy()
    bad.loc[bad.index[1], "close"] = -1.0
    chunks[2]["prices"] = bad
    with pytest.raises(DataValidationError, match="chunk 3"):
        wh.ingest_chunks(iter(chunks), source="after", replace=True, meta={"seed": 4})
    after = snapshot(wh)
    for n in TABLE_ORDER:
        pd.testing.assert_frame_equal(before[n], after[n])
    assert wh.meta()["seed"] == 3


def test_rows_must_follow_their_securities(tables):
    wh = Warehouse(":memory:")
    chunks = [{"prices": tables["prices"]}, {"securities": tables["securities"]}]
    with pytest.raises(DataValidationError, match="security_id"):
        wh.ingest_chunks(chunks, source="t", replace=True)
    assert wh.counts() == dict.fromkeys(TABLE_ORDER, 0)


def test_synthetic_us_all_stream_ingests(tmp_path):
    from broadening.providers.synthetic import stream

    ms = stream(seed=5, preset="us-all", scale=0.02)
    with Warehouse(tmp_path / "u.duckdb") as wh:
        rep = wh.ingest_chunks(ms, source="synthetic", synthetic=True, replace=True, meta=lambda: ms.meta)
        assert wh.synthetic and wh.meta()["preset"] == "us-all"
        assert rep.rows["prices"] == ms.meta["calibration"]["live_security_days"] == wh.counts()["prices"]
        dup = wh.con.execute("SELECT count(*) FROM (SELECT security_id, date FROM prices GROUP BY 1, 2 HAVING count(*) > 1)")
        assert dup.fetchone()[0] == 0


def test_replacing_the_market_drops_results_computed_on_the_old_one(tables):
    wh = Warehouse(":memory:")
    wh.ingest(tables, source="old")
    wh.save_results({"backtest": pd.DataFrame({"x": [1.0]})})
    wh.ingest_chunks([tables], source="new", replace=True)
    assert wh.result_names() == []
    wh.save_results({"backtest": pd.DataFrame({"x": [1.0]})})
    wh.ingest_chunks([{"series": tables["series"]}], source="upsert")
    assert wh.result_names() == ["backtest"]


def test_an_unknown_table_in_a_chunk_names_the_chunk_and_stores_nothing(tables):
    wh = Warehouse(":memory:")
    chunks = [{"securities": tables["securities"]}, {"prices": tables["prices"], "quotes": tables["prices"]}]
    with pytest.raises(DataValidationError) as err:
        wh.ingest_chunks(chunks, source="feed", replace=True)
    assert str(err.value).startswith("chunk 2 from feed: expected a canonical table name (securities, prices,")
    assert str(err.value).endswith("got 'quotes'")
    assert wh.counts()["securities"] == 0
