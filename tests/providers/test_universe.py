"""The small-cap universe: candidates from the SEC's exchange listing (a real, trimmed
``company_tickers_exchange.json``, see payloads/README.md), yearly rank membership
point-in-time, and the sector proxy of the domestic-revenue share."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from localserver import PAYLOADS

from broadening.providers.http import MalformedResponseError
from broadening.providers.universe import (
    common_stock_candidates,
    domestic_share_proxy,
    parse_company_tickers_exchange,
    rank_days,
    rank_membership,
)


def listing() -> pd.DataFrame:
    with gzip.open(PAYLOADS / "sec_company_tickers_exchange.json.gz") as fh:
        return parse_company_tickers_exchange(json.load(fh))


def test_candidates_are_exchange_listed_common_stocks():
    df = listing()
    assert len(df) == 608 and list(df.columns) == ["cik", "name", "ticker", "exchange"]
    cands, drops = common_stock_candidates(df)
    t = set(cands["ticker"])
    assert {"AAPL", "NVDA", "BRK-B", "BF-B", "MOG-A", "NTRS", "ESS"} <= t  # share classes, a bank, a REIT
    assert not {"SPY", "QQQ", "GLD", "DIA", "MDY"} & t  # funds and grantor trusts
    assert not {"CTA-PA", "JPM-PC", "GRP-UN", "BLEUU", "PSNYW"} & t  # preferred, units, warrants
    assert not set(df[df["exchange"].isin(["OTC"]) | df["exchange"].isna()]["ticker"]) & t
    assert sum(drops.values()) == len(df) - len(cands)
    assert drops["not exchange-listed (OTC or none)"] == int((~df["exchange"].isin(["NYSE", "Nasdaq", "CBOE"])).sum())


def test_malformed_listing_is_one_clear_error():
    with pytest.raises(MalformedResponseError, match="fields"):
        parse_company_tickers_exchange({"0": {"cik_str": 1, "ticker": "A"}})


def test_rank_membership_by_hand():
    dates = pd.bdate_range("2020-05-01", "2022-08-31").to_numpy()
    ids = np.array(["A", "B", "C", "D"])
    T = len(dates)
    cap = np.tile(np.array([400.0, 300.0, 200.0, 100.0]), (T, 1))
    d = pd.DatetimeIndex(dates)
    cap[d > "2021-01-01", 3] = 500.0  # D becomes the largest before the 2021 rank day
    cap[d > "2021-05-31", 1] = 1.0  # after the 2021 rank day: changes nothing until the next one
    m = rank_membership(dates, ids, cap, ranks=(2, 3))
    got = {(r.security_id, str(r.start.date()), None if pd.isna(r.end) else str(r.end.date())) for r in m.itertuples()}
    # 2020 (ranked 2020-05-29): B, C; 2021 (2021-05-31): A, B (D first, C fourth); 2022: B fell to the bottom
    assert got == {("B", "2020-07-01", "2022-07-01"), ("C", "2020-07-01", "2021-07-01"),
                   ("A", "2021-07-01", None), ("C", "2022-07-01", None)}
    assert [str(pd.Timestamp(x).date()) for x in dates[rank_days(dates)]] == ["2020-05-29", "2021-05-31", "2022-05-31"]


def test_ranks_never_use_data_after_the_rank_day():
    rng = np.random.default_rng(1)
    dates = pd.bdate_range("2019-01-01", "2023-12-29").to_numpy()
    cap = rng.lognormal(5, 2, size=(len(dates), 40))
    ids = np.array([f"S{i}" for i in range(40)])
    base = rank_membership(dates, ids, cap, ranks=(5, 20))
    cut = pd.DatetimeIndex(dates) > "2022-05-31"
    changed = cap.copy()
    changed[cut] = rng.lognormal(5, 2, size=changed[cut].shape)
    alt = rank_membership(dates, ids, changed, ranks=(5, 20))
    before = lambda m: m[m["start"] <= "2022-05-31"].assign(end=lambda x: x["end"].where(x["end"] <= "2022-07-01"))  # noqa: E731
    pd.testing.assert_frame_equal(before(base).reset_index(drop=True), before(alt).reset_index(drop=True))


def test_domestic_share_proxy_by_sector():
    s = domestic_share_proxy(pd.Series(["Utilities", "Information Technology", None, "Unknown"]))
    assert s.iloc[0] == 0.98 and s.iloc[1] == 0.42 and s.iloc[2:].isna().all()


def test_ranks_need_a_rank_day_and_a_july_after_it():
    ids = np.array(["A", "B"])
    # January to April: no end of May, no membership
    early = pd.bdate_range("2021-01-04", "2021-04-30").to_numpy()
    assert rank_days(early).size == 0
    assert rank_membership(early, ids, np.ones((len(early), 2)), ranks=(1, 1)).empty
    # ranked on 2021-05-31, but the data stops before July: the new member has no first day yet
    june = pd.bdate_range("2021-05-03", "2021-06-30").to_numpy()
    assert rank_membership(june, ids, np.tile([2.0, 1.0], (len(june), 1)), ranks=(1, 1)).empty
    july = pd.bdate_range("2021-05-03", "2021-07-02").to_numpy()
    m = rank_membership(july, ids, np.tile([2.0, 1.0], (len(july), 1)), ranks=(1, 1))
    assert m[["security_id", "start"]].values.tolist() == [["A", pd.Timestamp("2021-07-01")]]
