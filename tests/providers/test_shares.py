"""The share-count policy: SEC cover counts on the split basis of every day, from split
events in Yahoo's chart JSON; real recorded payloads (see payloads/README.md) plus
hand-written edge cases."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from localserver import PAYLOADS

from broadening.providers.sec_facts import shares_outstanding
from broadening.providers.shares import (
    adjust_for_splits,
    compare_counts,
    reconcile,
    splits_from_history,
)
from broadening.providers.yahoo import history_from_chart


def chart(name: str) -> dict:
    with gzip.open(PAYLOADS / f"yahoo_chart_{name}.json.gz") as fh:
        return json.load(fh)


def sec_counts(name: str) -> pd.DataFrame:
    with gzip.open(PAYLOADS / f"sec_companyfacts_{name}.json.gz") as fh:
        return shares_outstanding(json.load(fh), name)


def in_force(shares: pd.DataFrame, day: str) -> float:
    s = shares.set_index("date")["shares_outstanding"].sort_index()
    return float(s[s.index <= pd.Timestamp(day)].iloc[-1])


def test_nvda_2021_split_from_the_chart_rebases_the_cover_count():
    splits = splits_from_history(history_from_chart(chart("NVDA_2021"), "NVDA"), "NVDA")
    assert splits.to_dict("list") == {"security_id": ["NVDA"], "date": [pd.Timestamp("2021-07-20")], "ratio": [4.0]}
    counts = sec_counts("NVDA")
    adj = adjust_for_splits(counts, splits)
    # the 10-Q filed 2021-05-26 states 623 M shares (pre-split); filed 2021-08-20: 2,500 M
    assert in_force(counts, "2021-07-20") == 623e6  # unadjusted: cap / 4 from the split day
    assert in_force(adj, "2021-07-19") == 623e6
    assert in_force(adj, "2021-07-20") == 4 * 623e6
    assert in_force(adj, "2021-08-20") == 2500e6
    # later counts are untouched
    assert (adj[adj["date"] > "2021-08-01"].set_index("date")["shares_outstanding"]
            == counts[counts["date"] > "2021-08-01"].set_index("date")["shares_outstanding"]).all()


def test_apple_split_on_the_first_day_of_the_chart():
    # AAPL's chart starts on the 4:1 split day (2020-08-31); the cover count of the 10-Q filed
    # 2020-07-31 (4,275,634,000 as of 2020-07-17) is in force then
    splits = splits_from_history(history_from_chart(chart("AAPL_2020"), "AAPL"), "AAPL")
    assert splits["ratio"].tolist() == [4.0] and splits["date"].tolist() == [pd.Timestamp("2020-08-31")]
    adj = adjust_for_splits(sec_counts("AAPL"), splits)
    assert in_force(adj, "2020-08-31") == 4 * 4275634000
    # market cap on the split day with the first close of the chart (129.04): 2.21 T, as reported
    close = history_from_chart(chart("AAPL_2020"), "AAPL")["Close"].iloc[0]
    assert close * in_force(adj, "2020-08-31") / 1e12 == pytest.approx(2.207, abs=0.005)


def split_frame(*rows):
    return pd.DataFrame([{"security_id": s, "date": pd.Timestamp(d), "ratio": r} for s, d, r in rows])


def counts_frame(*rows):
    return pd.DataFrame([{"security_id": s, "date": pd.Timestamp(d), "shares_outstanding": v, "as_of": pd.Timestamp(a)}
                         for s, d, v, a in rows])


def test_count_stated_between_as_of_and_filing_takes_the_basis_nearer_its_neighbour():
    # hand-written: a 10:1 split on 2024-06-10 between a cover's as-of date and its filing
    sp = split_frame(("X", "2024-06-10", 10.0))
    pre = counts_frame(("X", "2024-03-01", 100.0, "2024-02-25"), ("X", "2024-06-12", 101.0, "2024-06-05"))
    post = counts_frame(("X", "2024-03-01", 100.0, "2024-02-25"), ("X", "2024-06-12", 1010.0, "2024-06-05"))
    # stated pre-split (literal cover): multiplied; stated post-split already: kept
    assert in_force(adjust_for_splits(pre, sp), "2024-06-12") == 1010.0
    assert in_force(adjust_for_splits(post, sp), "2024-06-12") == 1010.0
    # the split day itself carries the earlier count x10 in both
    assert in_force(adjust_for_splits(pre, sp), "2024-06-10") == 1000.0


def test_reconcile_sec_wins_yahoo_fills_before_and_disagreements_are_listed():
    sp = split_frame(("X", "2024-06-10", 10.0))
    sec = counts_frame(("X", "2024-03-01", 100.0, "2024-02-25"), ("X", "2024-09-01", 1000.0, "2024-08-25"))
    yahoo = counts_frame(("X", "2023-06-01", 95.0, "2023-06-01"), ("X", "2024-07-01", 1200.0, "2024-07-01"),
                         ("Y", "2024-01-02", 50.0, "2024-01-02"))
    sec_rows, y_rows, dis = reconcile(sec, yahoo, sp)
    assert y_rows[["security_id", "date"]].values.tolist() == [["X", pd.Timestamp("2023-06-01")], ["Y", pd.Timestamp("2024-01-02")]]
    assert dis[["security_id", "date"]].values.tolist() == [["X", pd.Timestamp("2024-07-01")]]
    assert dis["primary"].iloc[0] == 1000.0 and dis["difference"].iloc[0] == pytest.approx(0.2)
    assert len(sec_rows) == 3  # the two counts and the split-day row
    assert compare_counts(sec_rows, yahoo.iloc[[0]]).empty  # before SEC's first count: nothing to compare


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.tuples(st.integers(0, 2000), st.floats(1e6, 1e10)), min_size=1, max_size=8, unique_by=lambda x: x[0]),
    splits=st.lists(st.tuples(st.integers(0, 2000), st.sampled_from([2.0, 3.0, 4.0, 10.0, 0.1])), max_size=4, unique_by=lambda x: x[0]),
)
def test_a_split_never_moves_market_cap(counts, splits):
    """With constant value per share (price x cumulative split factor constant) and counts that
    are the same holding on each basis, cap is the same every day, splits or not."""
    base = pd.Timestamp("2015-01-01")
    sp = split_frame(*[("X", base + pd.Timedelta(days=d), r) for d, r in splits]) if splits else None
    sd = np.array(sorted((base + pd.Timedelta(days=d)).to_datetime64() for d, _ in splits), dtype="datetime64[ns]")
    ratio = {base + pd.Timedelta(days=d): r for d, r in splits}

    def factor(day):  # cumulative split factor on a day
        return float(np.prod([ratio[pd.Timestamp(s)] for s in sd if s <= np.datetime64(day)])) if len(sd) else 1.0

    holding = 1e9  # one constant holding, stated on the basis of each count's own day
    cnt = counts_frame(*[("X", base + pd.Timedelta(days=d), holding * factor(base + pd.Timedelta(days=d)),
                          base + pd.Timedelta(days=d)) for d, _ in counts])
    adj = adjust_for_splits(cnt, sp).sort_values("date")
    days = pd.date_range(cnt["date"].min(), base + pd.Timedelta(days=2100), freq="7D")
    k = np.searchsorted(adj["date"].to_numpy(), days.to_numpy(), side="right") - 1
    shares = adj["shares_outstanding"].to_numpy()[k]
    price = 100.0 / np.array([factor(d) for d in days])
    np.testing.assert_allclose(price * shares, 100.0 * holding, rtol=1e-9)


# -- issue #17 ------------------------------------------------------------------------------------
def test_a_first_count_straddling_a_split_takes_the_basis_of_the_next_count():
    # a 10:1 split on 2024-06-10; the first count is as of 2024-06-05 but filed 2024-06-12, so
    # its basis is unclear: the next count (1,000 post-split, 100 pre-split units) decides
    sp = split_frame(("X", "2024-06-10", 10.0))
    later = ("X", "2024-09-01", 1000.0, "2024-08-25")
    pre = counts_frame(("X", "2024-06-12", 101.0, "2024-06-05"), later)
    post = counts_frame(("X", "2024-06-12", 1010.0, "2024-06-05"), later)
    assert in_force(adjust_for_splits(pre, sp), "2024-06-12") == 1010.0
    assert in_force(adjust_for_splits(post, sp), "2024-06-12") == 1010.0
    # alone, with no neighbour to compare with, a count is read on the basis of its as-of day
    assert in_force(adjust_for_splits(pre.iloc[[0]], sp), "2024-06-12") == 1010.0
    assert in_force(adjust_for_splits(post.iloc[[0]], sp), "2024-06-12") == 10100.0


def test_splits_from_a_history_without_splits_or_time_zones():
    hist = history_from_chart(chart("NVDA_2021"), "NVDA")
    assert splits_from_history(None, "NVDA").empty
    assert splits_from_history(hist.drop(columns="Stock Splits"), "NVDA").empty
    assert splits_from_history(hist.iloc[:0], "NVDA").empty
    # the same history with naive dates (as saved to a CSV without zones): the same event
    naive = hist.set_axis(hist.index.tz_localize(None))
    assert splits_from_history(naive, "NVDA").to_dict("list") == {
        "security_id": ["NVDA"], "date": [pd.Timestamp("2021-07-20")], "ratio": [4.0]}
