"""The as-of cut of the long tables and of the panels, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.asof import point_in_time, rows_through


def test_point_in_time_cut_by_hand():
    """The one as-of cut of the long tables, on a hand-made table per rule."""
    sec = pd.DataFrame(
        {"last_date": pd.to_datetime(["2024-01-03", "2024-01-10", None]), "delisting_return": [-0.5, -0.2, np.nan]},
        index=pd.Index(["A", "B", "C"], name="security_id"),
    )
    fund = pd.DataFrame({"security_id": ["A", "A", "B"], "available_date": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-01-04"])})
    memb = pd.DataFrame({
        "index_id": "sp500", "security_id": ["A", "B", "C", "C"],
        "start": pd.to_datetime(["2023-01-01", "2023-01-01", "2024-01-04", "2024-01-09"]),
        "end": pd.to_datetime(["2024-01-03", "2024-01-08", "2024-01-06", None]),
    })
    ser = pd.DataFrame({"series_id": "S", "date": pd.to_datetime(["2024-01-03", "2024-01-04", "2024-01-05"]), "value": [1.0, 2.0, 3.0]})
    known = point_in_time(sec, fund, memb, ser, "2024-01-04")
    # A's delisting (01-03) is known, B's (01-10) not yet
    assert known.securities.loc["A", "delisting_return"] == -0.5 and known.securities.loc["A", "last_date"] == pd.Timestamp("2024-01-03")
    assert pd.isna(known.securities.loc["B", "last_date"]) and np.isnan(known.securities.loc["B", "delisting_return"])
    assert list(known.fundamentals["available_date"]) == list(pd.to_datetime(["2024-01-02", "2024-01-04"]))
    # started intervals only; an end after the as-of date is not known yet
    assert list(known.membership["security_id"]) == ["A", "B", "C"]
    assert list(known.membership["end"]) == [pd.Timestamp("2024-01-03"), pd.NaT, pd.NaT]
    assert known.series["value"].tolist() == [1.0, 2.0]
    # the inputs are untouched
    assert sec.loc["B", "delisting_return"] == -0.2 and memb["end"].notna().sum() == 3
    dates = np.array(["2024-01-02", "2024-01-03", "2024-01-05"], dtype="datetime64[D]")
    assert [rows_through(dates, d) for d in ("2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05", "2025-01-01")] == [0, 1, 2, 3, 3]
