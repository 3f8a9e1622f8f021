"""SEC company facts -> quarters, on real recorded EDGAR responses (see payloads/README.md):
per-field availability, concept families, debt within one filing, convertibles, and the
warehouse/market loader reading the rows point-in-time."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from localserver import PAYLOADS

from broadening.market import load_market
from broadening.providers.sec_facts import quarterly_fundamentals, shares_outstanding
from broadening.warehouse import Warehouse

B = 1e9


def facts(name: str) -> dict:
    # recorded from data.sec.gov/api/xbrl/companyfacts by dgunning/edgartools test cassettes
    with gzip.open(PAYLOADS / f"sec_companyfacts_{name}.json.gz") as fh:
        return json.load(fh)


def ttm_panel(fund: pd.DataFrame, tmp_path, field: str = "net_income") -> pd.Series:
    """The market layer's point-in-time TTM panel of one security (flat prices on business days)."""
    sid = fund["security_id"].iloc[0]
    days = pd.bdate_range("2019-01-01", "2024-12-31")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.ingest({"securities": pd.DataFrame({"security_id": [sid], "ticker": [sid]}),
                   "prices": pd.DataFrame({"security_id": sid, "date": days, "close": 1.0}),
                   "fundamentals": fund}, source="sec")
        m = load_market(wh)
        return pd.Series(m.fundamental(field, ttm=True)[:, 0], index=pd.DatetimeIndex(m.dates))


def test_nvda_quarter_is_dated_by_its_own_filing_not_by_a_late_field(tmp_path):
    late: list = []
    f = quarterly_fundamentals(facts("NVDA"), "NVDA", late=late).set_index("period_end")
    # Q4 FY2023 (to 2023-01-29): its 10-K was filed 2023-02-24. NVIDIA's capex for FY2023 was
    # first tagged (PaymentsToAcquireProductiveAssets) only as comparatives a year later: Q4 =
    # FY (10-K of 2024-02-21) minus 9 months (10-Q of 2023-11-21). That value is left blank and
    # counted; the quarter is not held back to 2024 (the row used to be dated 2024-02-21).
    q = f.loc["2023-01-29"]
    assert q["available_date"] == pd.Timestamp("2023-02-24")
    assert q["net_income"] == 1414e6 and q["revenue"] == 6051e6
    assert np.isnan(q["capex"])
    assert (pd.Timestamp("2023-01-29"), "capex", pd.Timestamp("2024-02-21")) in late
    assert f.loc["2022-07-31", "available_date"] == pd.Timestamp("2022-08-31")
    # trailing-twelve-month net income as the market layer sees it (issue #12: it stayed at
    # 8.2 bn from mid-2022 to end-2023). By hand from the 10-Qs/10-K:
    # June 2023: 0.680 + 1.414 + 2.043 + 0.656 = 4.793 bn (Q2 FY23 .. Q1 FY24)
    # Dec 2023: 1.414 + 2.043 + 6.188 + 9.243 = 18.888 bn (Q4 FY23 .. Q3 FY24)
    ttm = ttm_panel(f.reset_index(), tmp_path)
    assert ttm.asof(pd.Timestamp("2023-06-30")) == pytest.approx((656 + 680 + 1414 + 2043) * 1e6)
    assert ttm.asof(pd.Timestamp("2023-12-29")) == pytest.approx((1414 + 2043 + 6188 + 9243) * 1e6)
    # and never before the filing: the day before Q3 FY24's 10-Q (2023-11-21) the sum still ends at Q2
    assert ttm.asof(pd.Timestamp("2023-11-20")) == pytest.approx((680 + 1414 + 2043 + 6188) * 1e6)


def test_googl_q4_is_derived_across_the_tag_family(tmp_path):
    f = quarterly_fundamentals(facts("GOOGL"), "GOOGL").set_index("period_end")
    # Q4 2020 = FY2020 (10-K filed 2021-02-03) minus Q1..Q3: 182.527 - 41.159 - 38.297 - 46.173
    q4 = f.loc["2020-12-31"]
    assert q4["available_date"] == pd.Timestamp("2021-02-03")
    assert q4["revenue"] == pytest.approx(56.898 * B)
    assert q4["net_income"] == pytest.approx(15.227 * B)
    # TTM net income in mid-2021 and mid-2022 (it stayed at 35.7 bn from 2020 to 2023 before)
    ttm = ttm_panel(f.reset_index(), tmp_path)
    assert ttm.asof(pd.Timestamp("2021-06-30")) == pytest.approx((6.959 + 11.247 + 15.227 + 17.930) * B)
    assert ttm.asof(pd.Timestamp("2022-06-30")) / B == pytest.approx(74.54, abs=0.01)


def test_marvell_debt_is_one_filings_total_not_a_sum_across_retags():
    f = quarterly_fundamentals(facts("MRVL"), "MRVL").set_index("period_end")
    fy26 = f.loc["2026-01-31"]
    # the 10-K (filed 2026-03-11): 3,970.8 non-current + 499.8 short-term borrowings = 4,470.6
    # (= its LongTermDebt). The 10-Q of 2026-05-28 re-tags the same 499.8 as
    # LongTermDebtCurrent; adding both gave 4,970.4 and dated the row 2026-05-28.
    assert fy26["total_debt"] == pytest.approx(4470.6e6)
    assert fy26["available_date"] == pd.Timestamp("2026-03-11")
    assert f.loc["2026-05-02", "total_debt"] == pytest.approx(4961.3e6)


def test_snowflake_convertible_notes_are_debt_and_missing_stays_missing():
    f = quarterly_fundamentals(facts("SNOW"), "SNOW").set_index("period_end")
    assert f.loc["2024-10-31", "total_debt"] == pytest.approx(2269.459e6)  # ConvertibleDebtNoncurrent
    assert f.loc["2025-01-31", "total_debt"] == pytest.approx(2271.529e6)
    assert np.isnan(f.loc["2024-07-31", "total_debt"])  # no debt concept reported: missing, not 0


def test_cover_counts_keep_their_as_of_date():
    s = shares_outstanding(facts("AAPL"), "AAPL").set_index("date")
    # the 10-Q filed 2020-07-31 states 4,275,634,000 shares as of 2020-07-17 (before the 4:1
    # split of 2020-08-31); the 10-K filed 2020-10-30 states 17,001,802,000 as of 2020-10-16
    assert s.loc["2020-07-31", "shares_outstanding"] == 4275634000
    assert s.loc["2020-07-31", "as_of"] == pd.Timestamp("2020-07-17")
    assert s.loc["2020-10-30", "shares_outstanding"] == 17001802000


# -- issue #17: hand-written company facts for the layouts the recorded filers do not use ----------
def _fact(end, val, filed, accn, form="10-Q", start=None):
    return {"start": start, "end": end, "val": val, "filed": filed, "accn": accn, "form": form} if start else \
        {"end": end, "val": val, "filed": filed, "accn": accn, "form": form}


def _facts(**concepts) -> dict:
    return {"facts": {"us-gaap": {c: {"units": {"USD": items}} for c, items in concepts.items()}}}


def test_debt_of_a_filer_reporting_only_current_debt():
    from broadening.providers.sec_facts import debt

    only_total = _facts(DebtCurrent=[_fact("2024-03-31", 50e6, "2024-04-30", "A1")])
    assert debt(only_total) == {pd.Timestamp("2024-03-31"): (50e6, pd.Timestamp("2024-04-30"))}
    # no DebtCurrent total: its parts, a borrowing tagged twice counted once
    parts = _facts(LongTermDebtCurrent=[_fact("2024-03-31", 20e6, "2024-04-30", "A1")],
                   CommercialPaper=[_fact("2024-03-31", 5e6, "2024-04-30", "A1")],
                   ShortTermBorrowings=[_fact("2024-03-31", 5e6, "2024-04-30", "A1")])
    assert debt(parts)[pd.Timestamp("2024-03-31")][0] == 25e6


def test_a_first_annual_report_alone_gives_no_quarter():
    # a 10-K's full-year revenue cannot be placed in a quarter: no row rather than a wrong one
    data = {"facts": {"us-gaap": {"Revenues": {"units": {"USD": [
        _fact("2023-12-31", 400e6, "2024-02-20", "K1", form="10-K", start="2023-01-01")]}}}}}
    assert quarterly_fundamentals(data, "NEWCO").empty
