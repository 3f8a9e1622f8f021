"""Helpers shared by the warehouse tests: a small market with every table, and exact table snapshots."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from broadening.schema import TABLE_ORDER
from broadening.warehouse import Warehouse


def abc_tables(make_tables: Callable[..., dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Three securities over four days (C stops after two), with shares, one fundamentals row and one series."""
    return make_tables(
        {"A": [10, 11, 12, 13], "B": [20, 19, 18, 17], "C": [5, 5.5, None, None]},
        shares={"A": 100, "B": 50, "C": 10},
        fundamentals=[
            {"security_id": "A", "period_end": "2023-12-31", "available_date": "2024-01-03", "eps": 1.0, "net_income": 100.0},
        ],
        series=[{"series_id": "HY", "date": "2024-01-02", "value": 3.1}],
    )


def snapshot(wh: Warehouse) -> dict[str, pd.DataFrame]:
    """Every canonical table, sorted, for exact comparison."""
    out = {}
    for n in TABLE_ORDER:
        df = wh.table(n)
        out[n] = df.sort_values(list(df.columns[:3])).reset_index(drop=True)
    return out


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    """The two snapshots hold the same rows in every table."""
    for n in TABLE_ORDER:
        pd.testing.assert_frame_equal(a[n], b[n], check_dtype=False)
