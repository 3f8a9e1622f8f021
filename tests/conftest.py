"""Shared fixtures: tiny hand-built markets whose answers are known, and the tiny synthetic market."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from broadening.market import Market

# CI replays the same examples every run (a red build is reproducible); a developer's run
# keeps drawing new ones, which is how the property tests keep finding new cases.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")



def build_tables(
    closes: Mapping[str, Sequence[float | None]],
    *,
    start: str = "2024-01-01",
    shares: Mapping[str, float] | None = None,
    tri: Mapping[str, Sequence[float | None]] | None = None,
    sectors: Mapping[str, str] | None = None,
    index_id: str | None = "sp500",
    securities: Mapping[str, Mapping[str, object]] | None = None,
    fundamentals: Sequence[Mapping[str, object]] = (),
    membership: Sequence[Mapping[str, object]] | None = None,
    series: Sequence[Mapping[str, object]] = (),
) -> dict[str, pd.DataFrame]:
    """Canonical tables for a hand-built market.

    ``closes[id]`` lists the close on each business day from ``start`` (``None`` = no
    price that day). Shares default to 1 per security (so market cap = close). Every
    security is a member of ``index_id`` over its whole life unless ``membership`` is given.
    """
    ids = list(closes)
    n = max(len(v) for v in closes.values())
    dates = pd.bdate_range(start, periods=n)
    rows = []
    for sid, vals in closes.items():
        tvals = (tri or {}).get(sid, vals)
        for d, c, t in zip(dates, vals, tvals, strict=False):
            if c is not None:
                rows.append((sid, d, float(c), float(t), 1000.0))
    prices = pd.DataFrame(rows, columns=["security_id", "date", "close", "total_return_index", "volume"])
    sec = pd.DataFrame({"security_id": ids, "ticker": ids, "name": ids})
    sec["sector"] = [(sectors or {}).get(i, "Industrials") for i in ids]
    for sid, extra in (securities or {}).items():
        for k, v in extra.items():
            if k not in sec.columns:
                sec[k] = None
            sec.loc[sec["security_id"] == sid, k] = v
    sh = pd.DataFrame(
        {"security_id": ids, "date": dates[0] - pd.Timedelta(days=30), "shares_outstanding": [(shares or {}).get(i, 1.0) for i in ids]}
    )
    tables = {"securities": sec, "prices": prices, "shares": sh}
    if index_id is not None:
        if membership is None:
            first = prices.groupby("security_id")["date"].min()
            membership = [{"index_id": index_id, "security_id": i, "start": first[i], "end": None} for i in ids]
        tables["membership"] = pd.DataFrame(list(membership), columns=["index_id", "security_id", "start", "end"])
    if fundamentals:
        tables["fundamentals"] = pd.DataFrame(list(fundamentals))
    if series:
        tables["series"] = pd.DataFrame(list(series))
    return tables


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
def make_market():
    """Factory: ``make_market(closes, **kw) -> Market`` (see :func:`build_tables`)."""

    def _make(closes, asof=None, **kw) -> Market:
        return Market.from_tables(build_tables(closes, **kw), asof=asof)

    return _make


@pytest.fixture
def make_tables():
    """Factory: ``make_tables(closes, **kw) -> dict of canonical tables``."""
    return build_tables


@pytest.fixture(scope="session")
def tiny_synthetic():
    """The tiny synthetic market's tables (generated once per session)."""
    from broadening.providers.synthetic import generate

    return generate(seed=7, preset="tiny")


@pytest.fixture(scope="session")
def tiny_market(tiny_synthetic) -> Market:
    """The tiny synthetic market loaded as a Market (once per session; treat as read-only)."""
    return Market.from_tables(tiny_synthetic.tables, synthetic=True)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="module")
def dask_client():
    """A real local Dask cluster: 2 worker processes, 1 thread each (one per test module)."""
    pytest.importorskip("distributed")
    import logging

    from distributed import Client

    from broadening.sweep.run import local_cluster

    cluster = local_cluster(2, silence_logs=logging.CRITICAL)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def submitted(dask_client):
    """The positional arguments of every task the test submits to ``dask_client``, in order."""
    calls = []
    real = dask_client.submit

    def recording(*a, **kw):
        calls.append(a)
        return real(*a, **kw)

    dask_client.submit = recording
    try:
        yield calls
    finally:
        dask_client.submit = real
