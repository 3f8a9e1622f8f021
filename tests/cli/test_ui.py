"""cli._ui: what --json prints for the values the library hands it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from broadening.cli._ui import print_json


def test_json_of_numpy_scalars_missing_values_and_dates(capsys):
    print_json({"n": np.int64(2), "x": np.float64(1.5), "ok": np.bool_(True), "gap": np.float64("nan"),
                "inf": float("inf"), "day": pd.Timestamp("2024-01-02"), "at": pd.Timestamp("2024-01-02 15:30"),
                "list": (np.float32(0.25), pd.Timestamp("2023-12-29"))})
    got = json.loads(capsys.readouterr().out)
    assert got == {"n": 2, "x": 1.5, "ok": True, "gap": None, "inf": None, "day": "2024-01-02",
                   "at": "2024-01-02T15:30:00", "list": [0.25, "2023-12-29"]}
