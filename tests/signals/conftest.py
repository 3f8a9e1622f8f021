"""Fixtures for the signal tests: hand-built fundamentals and a small-window config."""

from __future__ import annotations

import pandas as pd
import pytest

from broadening.config import load_config

QUARTER_ENDS = ("2023-03-31", "2023-06-30", "2023-09-30", "2023-12-31")


def four_quarters(
    sid: str,
    *,
    net_income: float,
    book_equity: float = 100.0,
    total_debt: float = 0.0,
    eps: float | None = None,
    operating_income: float | None = None,
    revenue: float | None = None,
    available: str = "2023-12-31",
    ends=QUARTER_ENDS,
) -> list[dict]:
    """Four consecutive quarters whose TTM sums are the given annual figures.

    Every quarter but the last is available at its period end; the last from ``available``.
    """
    rows = []
    for pe in ends:
        avail = max(pd.Timestamp(pe), pd.Timestamp(available)) if pe == ends[-1] else pd.Timestamp(pe)
        rows.append({
            "security_id": sid, "period_end": pe, "available_date": avail,
            "net_income": net_income / 4, "eps": (eps if eps is not None else net_income) / 4,
            "book_equity": book_equity, "total_debt": total_debt,
            "operating_income": (operating_income if operating_income is not None else net_income) / 4,
            "revenue": (revenue if revenue is not None else 4 * net_income) / 4,
        })
    return rows


@pytest.fixture
def quarters():
    """``quarters(sid, net_income=..., ...) -> list of fundamentals rows`` (see :func:`four_quarters`)."""
    return four_quarters


@pytest.fixture
def small_cfg():
    """The default config with windows short enough for hand-built markets."""
    return load_config().with_overrides({
        "universe": {"k": 1, "k_report": [1, 2]},
        "history": {"window": 50, "min_periods": 2},
        "signals": {"trend_window": 2, "breadth_window": 2, "moving_average": 2, "snap_windows": [1, 2],
                    "crowding_window": 2, "growth_lag_days": 1, "acceleration_lag_days": 1, "credit_growth_days": 2},
        "small_cap_quality": {"growth_lag_days": 1, "reconstitute": "daily"},
        "regime": {"hysteresis": {"smooth_span": 1, "min_days": 1}},
        "megacap_tech": {"sectors": []},
    })
