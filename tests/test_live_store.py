"""live_store: what a re-pull keeps, merges and drops in the warehouse (hand-built stored rows)."""

from __future__ import annotations

import pandas as pd
import pytest

from broadening import live_store as store
from broadening.warehouse import Warehouse


@pytest.fixture
def wh(make_tables):
    w = Warehouse(":memory:")
    t = make_tables({"A": [10, 11, 12], "B": [20, 21, 22]},
                    securities={"A": {"sector": "Financials", "is_bdc": True}, "B": {"is_bdc": False}})
    t["shares"] = pd.DataFrame({"security_id": ["A", "A", "B"], "date": pd.to_datetime(["2023-12-01", "2023-12-15", "2023-12-01"]),
                                "shares_outstanding": [1.0, 2.0, 3.0]})
    w.ingest(t, source="yahoo")
    yield w
    w.close()


def test_merge_securities_never_blanks_a_stored_field(wh):
    incoming = pd.DataFrame({"security_id": ["A", "C"], "ticker": ["A", "C"], "name": ["Alpha Inc", "Gamma"],
                             "sector": [None, "Energy"], "is_bdc": [False, False]})
    got = store.merge_securities(wh, incoming).set_index("security_id")
    assert got.loc["A", "name"] == "Alpha Inc" and got.loc["A", "sector"] == "Financials"
    assert bool(got.loc["A", "is_bdc"]) is True  # a stored True survives the incoming default
    assert got.loc["C", "sector"] == "Energy" and bool(got.loc["C", "is_bdc"]) is False
    empty = incoming.iloc[:0]
    assert store.merge_securities(wh, empty) is empty


def test_drop_stale_shares_only_of_the_securities_pulled(wh):
    store.drop_stale_shares(wh, pd.DataFrame(columns=["security_id", "date"]))
    assert len(wh.table("shares")) == 3  # nothing pulled: nothing dropped
    store.drop_stale_shares(wh, pd.DataFrame({"security_id": ["A"], "date": pd.to_datetime(["2023-12-15"])}))
    left = wh.table("shares").sort_values(["security_id", "date"])
    assert left[["security_id", "shares_outstanding"]].values.tolist() == [["A", 2.0], ["B", 3.0]]


def test_drop_stale_membership_removes_intervals_the_source_revised(wh):
    store.drop_stale_membership(wh, pd.DataFrame(columns=["index_id", "security_id", "start"]))
    assert len(wh.table("membership")) == 2
    # the source now says A joined a day later: the stored interval with the old start goes
    revised = pd.DataFrame({"index_id": ["sp500"], "security_id": ["A"], "start": [pd.Timestamp("2024-01-02")],
                            "end": [pd.NaT]})
    store.drop_stale_membership(wh, revised)
    assert wh.table("membership")["security_id"].tolist() == ["B"]
    wh.ingest({"membership": revised}, source="index-constitution")
    store.drop_stale_membership(wh, revised)  # still present: kept
    assert sorted(wh.table("membership")["security_id"]) == ["A", "B"]


def test_reconciled_shares_from_an_early_date(wh):
    store.ensure_side_tables(wh)
    days = pd.DataFrame({"date": pd.to_datetime(["2020-01-02", "2023-06-01"])})
    store.store_raw_counts(wh, "sec", ["A"], {"A": days.assign(shares_outstanding=[5.0, 6.0])})
    sec_all, _, _ = store.reconciled_shares(wh, ["A"], None)
    sec_late, _, _ = store.reconciled_shares(wh, ["A"], pd.Timestamp("2022-01-01"))
    assert sec_all["shares_outstanding"].tolist() == [5.0, 6.0]
    assert sec_late["date"].tolist() == [pd.Timestamp("2023-06-01")]
