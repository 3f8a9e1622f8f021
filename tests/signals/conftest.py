"""Fixtures for the signal tests: hand-built fundamentals and a small-window config."""

from __future__ import annotations

import pytest

from broadening.config import load_config


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
