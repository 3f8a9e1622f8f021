"""Trailing-twelve-month sums of quarterly flows (revenue, net income, ...)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.schema import FLOW_FIELDS

__all__ = ["ttm_sums"]


def ttm_sums(f: pd.DataFrame) -> pd.DataFrame:
    """Trailing four-quarter sums of the flows of ``f`` (sorted by security, period_end).

    A sum needs four consecutive quarters of one security (period ends spanning 250 to
    300 days: fiscal calendars get some slack) and is available once the latest of the
    four is.
    """
    f = f.copy()
    n = len(f)
    grp = pd.factorize(f["security_id"])[0]
    i = np.arange(n)
    pe = f["period_end"].to_numpy().astype("datetime64[D]").astype(np.int64)
    av = f["available_date"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    back3 = i - 3
    has3 = back3 >= 0
    has3[has3] = grp[back3[has3]] == grp[has3]
    span = np.where(has3, pe - pe[np.maximum(back3, 0)], -1)
    consecutive = has3 & (span >= 250) & (span <= 300)
    latest_av = av.copy()
    for lag in (1, 2, 3):
        prev = np.maximum(i - lag, 0)
        same = (i >= lag) & (grp[prev] == grp)
        latest_av = np.where(same, np.maximum(latest_av, av[prev]), latest_av)
    for c in FLOW_FIELDS:
        v = f[c].to_numpy(dtype="float64")
        s = v.copy()
        for lag in (1, 2, 3):
            s += v[np.maximum(i - lag, 0)]
        f[c] = np.where(consecutive, s, np.nan)
    f["available_date"] = latest_av.astype("datetime64[ns]")
    return f

