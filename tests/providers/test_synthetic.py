"""Tests of the synthetic demo market (the providers/synthetic package).

Every calibration figure is recomputed here from the canonical tables alone (close x shares
in force, sp500 members that day), independently of the generator's own bookkeeping.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.providers.synthetic import (
    PRESETS,
    TOP10_FINAL,
    TOP10_KNOTS,
    SyntheticMarket,
    generate,
)
from broadening.schema import TABLES, validate_table


@pytest.fixture(scope="module")
def tiny() -> SyntheticMarket:
    return generate(seed=7, preset="tiny")


@pytest.fixture(scope="module")
def tiny_conc() -> SyntheticMarket:
    return generate(seed=7, preset="tiny", regime="concentrating")


@pytest.fixture(scope="module")
def demo() -> SyntheticMarket:
    return generate(seed=7, preset="demo")


# ---------------------------------------------------------------- independent helpers
_DAYS: dict[tuple[int, int], np.ndarray] = {}


def _last_trading_day(prices: pd.DataFrame, date: str) -> pd.Timestamp:
    key = (id(prices), len(prices))
    if key not in _DAYS:
        _DAYS[key] = np.sort(prices["date"].unique())
    days = _DAYS[key]
    return pd.Timestamp(days[np.searchsorted(days, np.datetime64(pd.Timestamp(date)), side="right") - 1])


def _members(tables, index_id: str, day: pd.Timestamp) -> pd.Index:
    m = tables["membership"]
    m = m[(m["index_id"] == index_id) & (m["start"] <= day) & (m["end"].isna() | (m["end"] > day))]
    return pd.Index(m["security_id"].astype(str))


def _caps(tables, day: pd.Timestamp) -> pd.Series:
    px = tables["prices"]
    px = px[px["date"] == day]
    close = pd.Series(px["close"].to_numpy(), index=px["security_id"].astype(str).to_numpy())
    sh = tables["shares"]
    sh = sh[sh["date"] <= day].sort_values("date")
    shares = sh.groupby(sh["security_id"].astype(str), observed=True)["shares_outstanding"].last()
    return (close * shares.reindex(close.index)).dropna()


def _top10_share(tables, date: str, index_id: str = "sp500") -> float:
    day = _last_trading_day(tables["prices"], date)
    cap = _caps(tables, day).reindex(_members(tables, index_id, day)).dropna()
    return float(cap.nlargest(10).sum() / cap.sum())


def _tri_panel(tables) -> pd.DataFrame:
    px = tables["prices"]
    return px.pivot(index="date", columns="security_id", values="total_return_index")


# ---------------------------------------------------------------- schema and determinism
def test_tiny_tables_pass_validation_unchanged(tiny):
    assert set(tiny.tables) == set(TABLES)
    for name, df in tiny.tables.items():
        assert list(df.columns) == TABLES[name].column_names, name
        out = validate_table(name, df)
        assert len(out) == len(df), name
    assert isinstance(tiny.tables["prices"]["security_id"].dtype, pd.CategoricalDtype)
    assert isinstance(tiny.tables["shares"]["security_id"].dtype, pd.CategoricalDtype)


def test_meta_says_synthetic(tiny):
    meta = tiny.meta
    assert meta["synthetic"] is True
    assert meta["seed"] == 7 and meta["preset"] == "tiny" and meta["regime"] == "broadening"
    assert meta["generator"] == "broadening.synthetic v1"
    assert "top10_share_realised" in meta["calibration"]


def test_same_seed_same_market_other_seed_differs(tiny):
    again = generate(seed=7, preset="tiny")
    for name in tiny.tables:
        # DataFrame.equals is exact (dtypes and values) and much faster than
        # assert_frame_equal on categorical columns.
        assert tiny.tables[name].equals(again.tables[name]), name
        assert (tiny.tables[name].dtypes == again.tables[name].dtypes).all(), name
    other = generate(seed=8, preset="tiny")
    a, b = tiny.tables["prices"], other.tables["prices"]
    assert len(a) != len(b) or not np.allclose(a["close"].to_numpy(), b["close"].to_numpy())


def test_unknown_preset_or_regime_is_a_clear_error():
    with pytest.raises(ValueError, match="preset"):
        generate(preset="huge")
    with pytest.raises(ValueError, match="regime"):
        generate(preset="tiny", regime="sideways")


def test_tiny_preset_is_fast():
    import time

    t0 = time.perf_counter()
    generate(seed=3, preset="tiny")
    assert time.perf_counter() - t0 < 1.0


# ---------------------------------------------------------------- universe
def test_universe_shape_and_labels(tiny):
    sec = tiny.tables["securities"]
    assert sec["security_id"].is_unique and sec["ticker"].is_unique
    assert sec["sector"].nunique() == 11
    assert sec["domestic_revenue_share"].between(0, 1).all()
    assert set(sec["ai_layer"]) == {"infrastructure", "platform", "adopter", "none"}
    bdc = sec[sec["is_bdc"]]
    assert len(bdc) >= 1
    assert (bdc["sector"] == "Financials").all()
    assert (bdc["industry"] == "Business Development Companies").all()
    by_sector = sec.groupby("sector")["domestic_revenue_share"].mean()
    assert by_sector["Utilities"] > by_sector["Information Technology"]
    assert by_sector["Industrials"] > by_sector["Energy"]


def test_demo_universe_sizes(demo):
    t = demo.tables
    px = t["prices"]
    for date in ("2006-06-30", "2015-06-30", "2025-06-30", "2025-12-31"):
        day = _last_trading_day(px, date)
        n_large = len(_members(t, "sp500", day))
        n_small = len(_members(t, "smallmid", day))
        assert 480 <= n_large <= 500, (date, n_large)
        assert 1400 <= n_small <= 1500, (date, n_small)
    sec = t["securities"]
    assert 10 <= sec["is_bdc"].sum() <= 20
    bdc_ids = set(sec.loc[sec["is_bdc"], "security_id"])
    m = t["membership"]
    assert bdc_ids <= set(m.loc[m["index_id"] == "smallmid", "security_id"])
    # Turnover: names join and leave the large-cap index over time.
    sp = m[m["index_id"] == "sp500"]
    assert sp["end"].notna().sum() > 200
    assert (sp["start"] > pd.Timestamp(PRESETS["demo"].start)).sum() > 200


def test_membership_intervals_do_not_overlap_and_follow_life(tiny):
    t = tiny.tables
    m = t["membership"].merge(t["securities"], on="security_id")
    assert (m["start"] >= m["first_date"]).all()
    dead = m[m["last_date"].notna()]
    # A delisted name is out from the day after its last trade at the latest.
    assert (dead["end"].notna()).all()
    assert (dead["end"] <= dead["last_date"] + pd.offsets.BDay(1)).all()
    assert (m.loc[m["end"].isna(), "last_date"].isna()).all()


# ---------------------------------------------------------------- calibration (demo)
def test_top10_share_follows_documented_knots(demo):
    t = demo.tables
    knots = dict(TOP10_KNOTS)
    knots[TOP10_FINAL["broadening"][0]] = TOP10_FINAL["broadening"][1]
    start = pd.Timestamp(PRESETS["demo"].start)
    realised = {}
    for date, target in knots.items():
        if pd.Timestamp(date) < start:
            continue
        realised[date] = _top10_share(t, date)
        assert abs(realised[date] - target) <= 0.02, (date, realised[date], target)
    # The public figures it imitates.
    assert 0.20 <= realised["2005-01-03"] <= 0.23
    assert 0.17 <= realised["2010-12-31"] <= 0.21
    assert 0.36 <= realised["2024-12-31"] <= 0.40
    assert 0.38 <= realised["2025-06-30"] <= 0.42
    assert realised["2025-12-31"] <= realised["2025-06-30"] - 0.03


def test_market_caps_are_heavy_tailed(demo):
    t = demo.tables
    day = _last_trading_day(t["prices"], "2015-06-30")
    cap = _caps(t, day).sort_values(ascending=False)
    top1pct = cap.iloc[: max(1, len(cap) // 100)].sum() / cap.sum()
    assert top1pct > 0.15
    # Hill estimator of the Pareto tail exponent over the largest 200 names.
    x = cap.iloc[:200].to_numpy()
    alpha = 1.0 / np.mean(np.log(x[:-1] / x[-1]))
    assert 0.6 < alpha < 2.5


def test_hy_spread_range(demo):
    s = demo.tables["series"]
    oas = s[s["series_id"] == "BAMLH0A0HYM2"].set_index("date")["value"]
    assert 2.0 <= oas.min() <= 2.8
    assert 18.0 <= oas.max() <= 22.0
    assert oas.idxmax().year == 2008
    assert 2.3 <= oas.iloc[-1] <= 3.5
    ids = set(s["series_id"])
    assert {"BUSLOANS", "BAMLH0A0HYM2", "PRIVATE_CREDIT_AUM"} <= ids


def test_equal_weight_trails_in_2023_2024_and_index_vol_is_realistic(demo):
    t = demo.tables
    px = t["prices"]
    px = px[px["date"] >= "2022-12-01"]
    tri = px.pivot(index="date", columns="security_id", values="total_return_index")
    close = px.pivot(index="date", columns="security_id", values="close")
    sh = t["shares"].copy()
    sh["security_id"] = sh["security_id"].astype(str)
    sh = sh.pivot(index="date", columns="security_id", values="shares_outstanding")
    tri.columns = tri.columns.astype(str)
    close.columns = close.columns.astype(str)
    shares = sh.reindex(sh.index.union(close.index)).ffill().reindex(close.index)[close.columns]
    ret = tri.pct_change(fill_method=None)
    day = _last_trading_day(t["prices"], "2022-12-30")
    mem = _members(t, "sp500", day)
    cap = (close * shares)[mem]
    w = cap.shift(1)
    w = w.div(w.sum(axis=1), axis=0)
    cw = (ret[mem] * w).sum(axis=1)["2023":"2024"]
    ew = ret[mem].mean(axis=1)["2023":"2024"]
    assert (1 + cw).prod() - (1 + ew).prod() > 0.10
    vol = cw.std() * np.sqrt(252)
    assert 0.10 < vol < 0.25


def test_trailing_pe_mostly_in_range(demo):
    t = demo.tables
    day = _last_trading_day(t["prices"], "2019-12-31")
    f = t["fundamentals"]
    f = f[f["available_date"] <= day].sort_values("period_end")
    ttm = f.groupby("security_id").tail(4).groupby("security_id")
    ni = ttm["net_income"].sum()[ttm.size() == 4]
    cap = _caps(t, day)
    mem = _members(t, "sp500", day)
    pe = (cap / ni).reindex(mem).dropna()
    assert 0.6 < pe.between(10, 40).mean()
    assert 12 < pe.median() < 30
    assert (pe < 0).mean() < 0.15
    small = _members(t, "smallmid", day)
    pe_small = (cap / ni).reindex(small).dropna()
    assert (pe_small < 0).mean() > (pe < 0).mean()


# ---------------------------------------------------------------- prices
def test_daily_returns_are_fat_tailed_and_vols_realistic(tiny):
    ret = _tri_panel(tiny.tables).pct_change(fill_method=None)
    kurt = ret.kurt()
    assert np.nanmedian(kurt) > 1.0
    vol = ret.std() * np.sqrt(252)
    assert 0.18 < vol.median() < 0.6


def test_delisted_names_stay_with_prices_to_last_date(tiny):
    t = tiny.tables
    sec = t["securities"]
    dead = sec[sec["last_date"].notna()].set_index("security_id")
    assert len(dead) >= 5
    px = t["prices"]
    last_px = px.groupby(px["security_id"].astype(str), observed=True)["date"].max()
    first_px = px.groupby(px["security_id"].astype(str), observed=True)["date"].min()
    assert (last_px.reindex(dead.index) == dead["last_date"]).all()
    assert (first_px.reindex(sec["security_id"]).to_numpy() == sec["first_date"].to_numpy()).all()
    # Both kinds: distress (negative delisting return) and merger (null).
    assert (dead["delisting_return"] < 0).any() and dead["delisting_return"].isna().any()
    assert (sec["first_date"] > pd.Timestamp(PRESETS["tiny"].start) + pd.Timedelta(days=10)).any()
    mem_ids = set(t["membership"]["security_id"])
    assert len(set(dead.index) & mem_ids) >= 3


def test_splits_keep_market_cap_continuous(tiny):
    t = tiny.tables
    sh = t["shares"].copy()
    sh["security_id"] = sh["security_id"].astype(str)
    sh = sh.sort_values(["security_id", "date"])
    sh["ratio"] = sh.groupby("security_id")["shares_outstanding"].pct_change() + 1
    splits = sh[sh["ratio"] >= 1.9]
    assert len(splits) >= 3
    px = t["prices"].copy()
    px["security_id"] = px["security_id"].astype(str)
    px = px.sort_values(["security_id", "date"])
    px["prev_close"] = px.groupby("security_id")["close"].shift()
    px["prev_tri"] = px.groupby("security_id")["total_return_index"].shift()
    j = splits.merge(px, on=["security_id", "date"])
    price_ratio = j["prev_close"] / j["close"]
    # Raw close drops by about the split ratio, the split-adjusted index does not.
    assert np.allclose(np.log(price_ratio), np.log(j["ratio"]), atol=0.25)
    assert (np.abs(np.log(j["total_return_index"] / j["prev_tri"])) < 0.25).all()
    cap_ratio = j["close"] * j["shares_outstanding"] / (j["prev_close"] * j["shares_outstanding"] / j["ratio"])
    assert (np.abs(np.log(cap_ratio)) < 0.25).all()
    # Shares rows only when the count changes.
    same = sh.groupby("security_id")["shares_outstanding"].diff() == 0
    assert not same.any()


# ---------------------------------------------------------------- fundamentals
def test_fundamentals_filing_lags(tiny):
    f = tiny.tables["fundamentals"]
    lag = (f["available_date"] - f["period_end"]).dt.days
    assert lag.between(25, 75).all()
    q4 = f["period_end"].dt.month == 12
    assert (lag[q4] >= 45).all() and (lag[~q4] <= 45).all()
    assert (f["period_end"] == f["period_end"] + pd.offsets.QuarterEnd(0)).all()
    end = pd.Timestamp(PRESETS["tiny"].end)
    assert (f["available_date"] <= end).all()
    sec = tiny.tables["securities"].set_index("security_id")
    last = sec["last_date"].reindex(f["security_id"]).to_numpy()
    ok = pd.isna(last) | (f["available_date"].to_numpy() <= last)
    assert ok.all()


def test_quality_screen_separates_quality_from_junk(tiny):
    f = tiny.tables["fundamentals"]
    f = f[f["period_end"] == "2024-12-31"]
    roe = 4 * f["net_income"] / f["book_equity"]
    lev = f["total_debt"] / f["book_equity"]
    quality = (f["net_income"] > 0) & (roe > 0.15) & (lev < 1.0)
    junk = (f["net_income"] <= 0) | (lev > 2.0)
    assert quality.sum() >= 5 and junk.sum() >= 5
    assert roe[quality].median() > roe[junk].median() + 0.1


# ---------------------------------------------------------------- regimes
def _ew_minus_cw(tables, start: str, end: str) -> float:
    day = _last_trading_day(tables["prices"], start)
    mem = _members(tables, "sp500", day)
    cap0 = _caps(tables, day).reindex(mem).dropna()
    px = tables["prices"]
    px = px[(px["date"] >= day) & (px["date"] <= end)]
    tri = px.pivot(index="date", columns="security_id", values="total_return_index")
    tri.columns = tri.columns.astype(str)
    tri = tri[cap0.index].ffill()
    growth = tri.iloc[-1] / tri.iloc[0]
    cw = float((growth * cap0).sum() / cap0.sum())
    ew = float(growth.mean())
    return ew - cw


def test_regimes_end_with_opposite_stories(tiny, tiny_conc):
    mid, end = "2025-06-30", "2025-12-31"
    b0, b1 = _top10_share(tiny.tables, mid), _top10_share(tiny.tables, end)
    c0, c1 = _top10_share(tiny_conc.tables, mid), _top10_share(tiny_conc.tables, end)
    assert b1 < b0 - 0.02
    assert c1 > c0 + 0.02
    assert _ew_minus_cw(tiny.tables, mid, end) > 0.02
    assert _ew_minus_cw(tiny_conc.tables, mid, end) < -0.02
    # History before the final phase is the same story in both regimes.
    assert abs(_top10_share(tiny.tables, "2024-12-31") - _top10_share(tiny_conc.tables, "2024-12-31")) < 0.02


def test_broadening_credit_handoff_and_adopter_margins(tiny, tiny_conc):
    def series(m, sid):
        s = m.tables["series"]
        return s[s["series_id"] == sid].set_index("date")["value"]

    def loan_growth(m):
        b = series(m, "BUSLOANS")
        return b.iloc[-1] / b.loc[:"2025-06-30"].iloc[-1] - 1

    assert loan_growth(tiny) < loan_growth(tiny_conc)
    pc_b, pc_c = series(tiny, "PRIVATE_CREDIT_AUM"), series(tiny_conc, "PRIVATE_CREDIT_AUM")
    assert pc_b.iloc[-1] > pc_c.iloc[-1]

    def adopter_margin_change(m):
        sec = m.tables["securities"]
        ids = set(sec.loc[sec["ai_layer"] == "adopter", "security_id"])
        f = m.tables["fundamentals"]
        f = f[f["security_id"].isin(ids) & (f["net_income"] > 0)]
        margin = (f["operating_income"] / f["revenue"]).groupby(f["period_end"]).median()
        return margin.loc["2025-09-30"] - margin.loc["2024-06-30"]

    assert adopter_margin_change(tiny) > 0.015
    assert adopter_margin_change(tiny) > adopter_margin_change(tiny_conc) + 0.01


def _ttm_net_income(tables, day: pd.Timestamp) -> pd.Series:
    f = tables["fundamentals"]
    f = f[f["available_date"] <= day].sort_values("period_end")
    last4 = f.groupby("security_id").tail(4).groupby("security_id")
    return last4["net_income"].sum()[last4.size() == 4]


def _median_ttm_growth(tables, period_end: str, ids) -> float:
    f = tables["fundamentals"].sort_values(["security_id", "period_end"])
    f = f[f["security_id"].isin(ids)]
    ttm = f.groupby("security_id")["net_income"].transform(lambda s: s.rolling(4).sum())
    growth = ttm.groupby(f["security_id"]).pct_change(4)
    ok = (f["period_end"] == period_end) & (ttm.groupby(f["security_id"]).shift(4) > 0)
    return float(growth[ok].median())


def _final_phase_stories(m: SyntheticMarket) -> tuple[float, float, float]:
    """(earnings acceleration outside the top 10, small-cap relative P/E change, BDC cap growth)."""
    t = m.tables
    mid = _last_trading_day(t["prices"], "2025-06-30")
    end = _last_trading_day(t["prices"], "2025-12-31")
    cap_mid = _caps(t, mid).reindex(_members(t, "sp500", mid)).dropna()
    rest = cap_mid.drop(cap_mid.nlargest(10).index).index
    accel = _median_ttm_growth(t, "2025-09-30", rest) - _median_ttm_growth(t, "2025-03-31", rest)

    def rel_pe(day):
        pe = _caps(t, day) / _ttm_net_income(t, day)
        large = pe.reindex(_members(t, "sp500", day)).dropna()
        small = pe.reindex(_members(t, "smallmid", day)).dropna()
        return small[small > 0].median() / large[large > 0].median()

    sec = t["securities"]
    bdc = sec.loc[sec["is_bdc"], "security_id"].astype(str)
    bdc_growth = _caps(t, end).reindex(bdc).sum() / _caps(t, mid).reindex(bdc).sum()
    return accel, rel_pe(end) - rel_pe(mid), bdc_growth


def test_final_phase_fundamentals_and_valuation_flip(tiny, tiny_conc):
    b_accel, b_rerate, b_bdc = _final_phase_stories(tiny)
    c_accel, c_rerate, c_bdc = _final_phase_stories(tiny_conc)
    assert b_accel > c_accel + 0.03
    assert b_rerate > c_rerate + 0.03
    assert b_bdc > c_bdc + 0.1


def test_demo_broadening_earnings_accelerate_and_small_caps_rerate(demo):
    accel, rerate, bdc_growth = _final_phase_stories(demo)
    assert accel > 0.01
    assert rerate > 0.03
    assert bdc_growth > 1.1


def test_only_the_us_history_preset_scales():
    from broadening.providers.synthetic.presets import PRESETS, scaled

    us = PRESETS["us-all"]
    assert scaled(us, 1.0) is us
    half = scaled(us, 0.5)
    assert (half.n_large, half.n_small, half.n_bdc, half.block, half.scale) == (250, 1000, 20, 1000, 0.5)
    small = scaled(us, 0.01)  # the floors: enough index members for a top-10 share
    assert (small.n_large, small.n_small, small.n_bdc, small.n_mega, small.block) == (20, 20, 2, 4, 50)
    with pytest.raises(ValueError, match="preset 'demo' has a fixed size; only us-all takes a scale"):
        scaled(PRESETS["demo"], 0.5)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match=rf"scale must be in \(0, 1\], got {bad}"):
            scaled(us, bad)
