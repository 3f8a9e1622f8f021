"""Lane-packed markets against dense ones: every panel, mapped back per security, agrees.

Markets with many listings and delistings, price gaps, delisting returns, late filings,
memberships ending and restarting, share counts arriving after listing (or dated before the
listing and after the delisting) are loaded twice, dense and lane-packed with a small gap
(so lanes are shared a lot), and compared cell by cell per security.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadening.errors import BroadeningError
from broadening.market import Market
from broadening.schema import FUNDAMENTAL_FIELDS


def unpack(market: Market, panel, fill=np.nan) -> np.ndarray:
    """A ``(T, N)`` panel of ``market`` as ``(T, S)``: one column per row of ``securities``."""
    panel = np.asarray(panel)
    if not market.packed:
        return panel
    T = market.shape[0]
    out = np.full((T, len(market.securities)), fill, dtype=panel.dtype)
    r, c = np.nonzero(market.occupant >= 0)
    out[r, market.occupant[r, c]] = panel[r, c]
    return out


def random_tables(seed: int, S: int = 14, T: int = 80) -> dict[str, pd.DataFrame]:
    """Canonical tables of ``S`` securities over ``T`` business days with short, gappy lives."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=T)
    ids = [f"S{k:02d}" for k in range(S)]
    prices, shares, fund, memb = [], [], [], []
    last_date, dl = [], []
    for k, sid in enumerate(ids):
        a = int(rng.integers(0, T - 2))
        b = int(min(T - 1, a + rng.integers(1, 30)))
        if k == 0:
            a, b = 0, T - 1  # one name alive throughout
        px = 10 + np.cumsum(rng.normal(0, 0.3, b - a + 1))
        for t in range(a, b + 1):
            if t in (a, b) or rng.random() > 0.15:  # gaps inside the life
                prices.append((sid, dates[t], float(abs(px[t - a]) + 1), float(abs(px[t - a]) + 2), 1000.0 + t))
        last_date.append(dates[b] if b < T - 1 else pd.NaT)
        dl.append(float(rng.uniform(-0.9, 0.2)) if b < T - 1 and rng.random() < 0.7 else np.nan)
        # share counts: one before the listing, some inside (maybe none at the start), one after
        if rng.random() < 0.6:
            shares.append((sid, dates[a] - pd.Timedelta(days=int(rng.integers(1, 40))), 100.0 + k))
        for t in sorted(set(rng.integers(a, b + 1, size=2).tolist())):
            shares.append((sid, dates[t], 200.0 + k + t))
        if b < T - 1:
            shares.append((sid, dates[b] + pd.Timedelta(days=3), 999.0))
        # quarters: available inside the life, one before the listing, one filed late
        q_ends = pd.date_range(dates[0] - pd.Timedelta(days=400), dates[-1], freq="QE")
        for pe in q_ends:
            if rng.random() < 0.5:
                continue
            avail = pe + pd.Timedelta(days=int(rng.integers(5, 120)))
            row = {"security_id": sid, "period_end": pe, "available_date": avail}
            for f in FUNDAMENTAL_FIELDS:
                row[f] = float(rng.normal(50, 20)) if rng.random() > 0.1 else np.nan
            fund.append(row)
        # membership: in, out, back in; the last interval may stay open past the delisting
        s1 = dates[a]
        e1 = dates[min(b, a + int(rng.integers(1, 10)))] if rng.random() < 0.6 else None
        memb.append(("sp500", sid, s1, e1))
        if e1 is not None and rng.random() < 0.7:
            s2 = e1 + pd.Timedelta(days=int(rng.integers(1, 20)))
            memb.append(("sp500", sid, s2, None if rng.random() < 0.5 else s2 + pd.Timedelta(days=int(rng.integers(1, 40)))))
        if rng.random() < 0.3:
            memb.append(("sp400", sid, dates[a] - pd.Timedelta(days=10), None))
    sec = pd.DataFrame({
        "security_id": ids, "ticker": ids, "name": ids,
        "sector": rng.choice(["Information Technology", "Industrials", "Financials", None], size=S),
        "is_bdc": rng.random(S) < 0.2, "last_date": last_date, "delisting_return": dl,
    })
    return {
        "securities": sec,
        "prices": pd.DataFrame(prices, columns=["security_id", "date", "close", "total_return_index", "volume"]),
        "shares": pd.DataFrame(shares, columns=["security_id", "date", "shares_outstanding"]).drop_duplicates(["security_id", "date"]),
        "fundamentals": pd.DataFrame(fund),
        "membership": pd.DataFrame(memb, columns=["index_id", "security_id", "start", "end"]),
    }


def both(tables, asof=None, gap: int = 3) -> tuple[Market, Market]:
    dense = Market.from_tables(tables, asof=asof, layout="dense", volume=True)
    lanes = Market.from_tables(tables, asof=asof, layout="lanes", gap=gap, volume=True)
    return dense, lanes


def assert_same_market(dense: Market, lanes: Market) -> None:
    assert lanes.packed and not dense.packed
    pd.testing.assert_frame_equal(dense.securities, lanes.securities)
    assert np.array_equal(dense.security_ids, lanes.security_ids)
    assert np.array_equal(dense.first_index, lanes.first_index)
    assert np.array_equal(dense.last_index, lanes.last_index)
    assert np.array_equal(dense.delisted, lanes.delisted)
    for name in ("close", "total_return_index", "volume", "shares", "returns", "market_cap"):
        np.testing.assert_array_equal(unpack(lanes, getattr(lanes, name)), getattr(dense, name), err_msg=name)
    assert np.array_equal(unpack(lanes, lanes.alive, False), dense.alive)
    for index_id in sorted(dense.membership["index_id"].unique()):
        assert np.array_equal(unpack(lanes, lanes.members(index_id), False), dense.members(index_id)), index_id
    for f in FUNDAMENTAL_FIELDS:
        for ttm in (False, True):
            np.testing.assert_array_equal(unpack(lanes, lanes.fundamental(f, ttm)), dense.fundamental(f, ttm), err_msg=f)
    assert lanes.drops == dense.drops
    # the carried cells are the same cells, per security
    def carried(m: Market) -> set:
        r, c = np.divmod(m.carried, m.shape[1])
        occ = m.occupant[r, c] if m.packed else c
        return set(zip(r.tolist(), occ.tolist(), strict=True))
    assert carried(lanes) == carried(dense)


@pytest.mark.parametrize("seed", range(6))
def test_lanes_equal_dense_per_security(seed):
    dense, lanes = both(random_tables(seed))
    assert lanes.shape[1] < dense.shape[1]  # short lives share lanes
    assert_same_market(dense, lanes)


@pytest.mark.parametrize("seed", range(4))
def test_as_of_views_agree(seed):
    tables = random_tables(seed)
    dense, lanes = both(tables)
    for row in (5, 23, 41, 60, dense.shape[0] - 1):
        d = pd.Timestamp(dense.dates[row])
        assert_same_market(dense.until(d), lanes.until(d))
        # and a view cut on loading is the same view
        assert_same_market(*both(tables, asof=d))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 6))
def test_random_listing_histories(seed, gap):
    dense, lanes = both(random_tables(seed, S=10, T=50), gap=gap)
    assert_same_market(dense, lanes)


def test_cells_ids_and_lookback_guard():
    tables = random_tables(3)
    dense, lanes = both(tables)
    sector = dense.securities["sector"].fillna("none").to_numpy().astype(str)
    assert dense.cell(sector).shape == (1, dense.shape[1])
    got = unpack(lanes, np.broadcast_to(lanes.cell(sector), lanes.shape), "")
    want = np.where(dense.alive, np.broadcast_to(dense.cell(sector), dense.shape), "")
    assert np.array_equal(np.where(dense.alive, got, ""), want)
    for row in (0, 30, lanes.shape[0] - 1):
        occ = lanes.occupant[row]
        ids = lanes.ids_at(row)
        assert np.array_equal(ids[occ >= 0], lanes.security_ids[occ[occ >= 0]])
        assert (ids[occ < 0] == "").all()
        assert np.array_equal(dense.ids_at(row), dense.ids)
    lanes.require_lookback(3, "test")
    with pytest.raises(BroadeningError, match="gap of 3"):
        lanes.require_lookback(4, "momentum")
    dense.require_lookback(10_000, "dense markets take any look-back")
    with pytest.raises(ValueError, match="gap"):  # a daily return looks back one row
        Market.from_tables(tables, layout="lanes", gap=0)
