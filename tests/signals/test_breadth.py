"""C4 breadth on four hand-built stocks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from broadening.signals.breadth import breadth, half_return_count

CLOSES = {
    "A": [10.0, 11.0, 12.0, 12.0],
    "B": [10.0, 10.0, 9.0, 9.0],
    "C": [10.0, 12.0, 12.0, 15.0],
    "D": [10.0, 10.0, 10.0, 10.0],
}


def test_breadth_by_hand(make_market, small_cfg):
    b = breadth(make_market(CLOSES), small_cfg)  # 2-day window, 2-day moving average
    # advancers/decliners per day: d1 A,C up; d2 A up, B down; d3 C up
    assert b["advancers"].tolist() == [0, 2, 1, 1]
    assert b["decliners"].tolist() == [0, 0, 1, 0]
    assert b["ad_line"].tolist() == [0, 2, 2, 3]
    r1 = np.array([0.1, 0.0, 0.2, 0.0])
    assert b["dispersion"].iloc[1] == pytest.approx(r1.std())
    # index 2-day return at t=2: 7.5% then 0% -> 7.5%; A +20%, C +20% beat it, B -10%, D 0% do not
    # at t=3: 0% then 3/43 -> 3/43; A +9.1%, C +25% beat it
    assert b["beat_share"].iloc[:2].isna().all()
    np.testing.assert_allclose(b["beat_share"].iloc[2:], [0.5, 0.5])
    # above the 2-day mean (strictly): t1 A, C; t2 A; t3 C
    np.testing.assert_allclose(b["above_ma_share"], [np.nan, 0.5, 0.25, 0.25])
    # contributions over d1-d2: A .025 + 1/43, B -1/43, C .05, D 0: C alone is half of 7.5%
    assert b["half_return_count"].iloc[2] == 1
    assert b["half_return_share"].iloc[2] == pytest.approx(0.25)
    # rows 0-1 lack a whole 2-day window of returns (days 1..2 is the first)
    assert b["half_return_count"].iloc[:2].isna().all()
    # d2-d3 (caps 43 both days): A 1/43, B -1/43, C 0 + 12/43 x 25% = 3/43: C alone again
    assert b["half_return_count"].iloc[3] == 1


def test_half_return_count_by_hand():
    c = np.array([[0.3, 0.3, 0.3, -0.1], [0.1, -0.2, np.nan, 0.0], [0.5, 0.1, np.nan, np.nan]])
    count, holders = half_return_count(c)
    # row 0: total .8, half .4: .3 + .3 -> 2; row 1: total -.1 -> NaN; row 2: .5 >= .3 -> 1
    np.testing.assert_allclose(count, [2, np.nan, 1])
    np.testing.assert_allclose(holders, [4, 3, 2])


def test_half_return_count_partial_sort_matches_a_full_sort():
    rng = np.random.default_rng(5)
    c = rng.normal(0.001, 0.01, (40, 30))
    c[rng.random(c.shape) < 0.2] = np.nan
    full, _ = half_return_count(c, top=30)
    for top in (1, 3, 8):  # most rows need more than these: the fallback sorts them in full
        np.testing.assert_array_equal(half_return_count(c, top=top)[0], full)


def test_breadth_ignores_non_members(make_market, small_cfg):
    m = make_market(
        {**CLOSES, "E": [10.0, 20.0, 40.0, 80.0]},
        membership=[{"index_id": "sp500", "security_id": s, "start": "2024-01-01", "end": None} for s in CLOSES],
    )
    assert breadth(m, small_cfg)["advancers"].tolist() == [0, 2, 1, 1]


# --- behaviours a mutation run found unpinned (issue 17) ----------------------------------------

# "r1000": A always; B until day 5; C on days 0-3 and 6-8; D listed on day 3; E never a member
SPANS = {"A": [("2024-01-01", None)], "B": [("2024-01-01", "2024-01-09")],
         "C": [("2024-01-01", "2024-01-05"), ("2024-01-10", None)], "D": [("2024-01-04", None)]}
MIXED = {
    "A": [50.0, 52.0, 51.0, 55.0, 54.0, 56.0, 58.0, 57.0, 60.0],
    "B": [30.0, 29.0, 31.0, 31.0, 33.0, 32.0, 30.0, 31.0, 29.0],
    "C": [20.0, 21.0, 19.0, 20.0, 22.0, 21.0, 23.0, 22.0, 24.0],
    "D": [None, None, None, 10.0, 11.0, 10.5, 10.0, 11.5, 12.0],
    "E": [5.0, 10.0, 2.0, 8.0, 1.0, 9.0, 3.0, 12.0, 4.0],
}


def _mixed_market(make_market):
    return make_market(MIXED, index_id="r1000", membership=[
        {"index_id": "r1000", "security_id": s, "start": a, "end": b} for s, spans in SPANS.items() for a, b in spans])


def _breadth_reference(tri, ret, mem, contrib, idx_ret, window, ma_len):
    """Plain loops over dates and names (contributions and index returns as the index defines them)."""
    T, N = tri.shape
    out = {k: np.full(T, np.nan) for k in ("beat_share", "above_ma_share", "advancers", "decliners", "dispersion", "half_return_count")}
    for t in range(T):
        m = mem[t]
        out["advancers"][t] = np.sum(m & (ret[t] > 0))
        out["decliners"][t] = np.sum(m & (ret[t] < 0))
        rt = ret[t][m & np.isfinite(ret[t])]
        if len(rt) > 1:
            out["dispersion"][t] = np.sqrt(np.mean((rt - rt.mean()) ** 2))
        if t >= ma_len - 1:
            ma = tri[t - ma_len + 1 : t + 1].mean(axis=0)  # NaN unless every price is known
            base = m & np.isfinite(ma)
            if base.any():
                out["above_ma_share"][t] = np.sum(base & (tri[t] > ma)) / base.sum()
        if t >= window:
            ir = np.prod(1 + idx_ret[t - window + 1 : t + 1]) - 1
            sr = tri[t] / tri[t - window] - 1
            base = m & np.isfinite(sr)
            if np.isfinite(ir) and base.any():
                out["beat_share"][t] = np.sum(base & (sr > ir)) / base.sum()
            c = np.nansum(contrib[t - window + 1 : t + 1], axis=0)
            if c.sum() > 0:
                cs = np.cumsum(np.sort(c)[::-1])
                out["half_return_count"][t] = 1 + np.argmax(cs >= 0.5 * c.sum() - 1e-15)
    out["ad_line"] = np.cumsum(out["advancers"] - out["decliners"])
    members = mem.sum(axis=1)
    out["half_return_share"] = np.where(members > 0, out["half_return_count"] / np.maximum(members, 1), np.nan)
    return out


# cells=8: the 4 index columns take 2-row blocks while the 5 securities would take 1-row blocks
@pytest.mark.parametrize("window,cells", [(2, None), (3, None), (3, 10), (3, 5), (3, 8)])
def test_breadth_against_loops(make_market, small_cfg, monkeypatch, window, cells):
    import broadening.panel as panel
    from broadening.baskets import index_members
    from broadening.signals.concentration import index_contributions, index_returns

    if cells:
        monkeypatch.setattr(panel, "BLOCK_CELLS", cells)  # blocks of 1 or 2 rows over the 4 index names
    cfg = small_cfg.with_overrides({"universe": {"large_index": "r1000"}})
    m = _mixed_market(make_market)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")  # empty windows, missing prices: NaN without warnings
        got = breadth(m, cfg, window=window)
    mem = index_members(m, cfg)
    ref = _breadth_reference(m.total_return_index, m.returns, mem, index_contributions(m, cfg),
                             index_returns(m, cfg), window, 2)
    assert list(got.columns) == ["beat_share", "above_ma_share", "advancers", "decliners", "ad_line",
                                 "dispersion", "half_return_count", "half_return_share"]
    assert got.index.equals(m.index) and got.dtypes.eq(np.float64).all()
    for k, v in ref.items():
        np.testing.assert_allclose(got[k].to_numpy(), v, rtol=1e-12, atol=1e-15, err_msg=k)
    assert np.isfinite(got["beat_share"].iloc[window:]).all()
    assert not mem[:, 4].any() and np.isfinite(got["half_return_count"].iloc[window:]).all()


def test_one_and_two_member_days(make_market, small_cfg):
    # day 2 has A alone in the index, day 3 has A and B
    m = make_market({"A": [10.0, 11.0, 12.1, 13.31, 13.31], "B": [10.0, 9.0, 9.0, 9.9, 9.9]}, membership=[
        {"index_id": "sp500", "security_id": "A", "start": "2024-01-01", "end": None},
        {"index_id": "sp500", "security_id": "B", "start": "2024-01-01", "end": "2024-01-03"},
        {"index_id": "sp500", "security_id": "B", "start": "2024-01-04", "end": None},
    ])
    b = breadth(m, small_cfg, window=1)
    assert np.isnan(b["dispersion"].iloc[2])  # one return has no dispersion
    assert b["dispersion"].iloc[3] == pytest.approx(0.0, abs=1e-15)  # both +10%
    assert b["dispersion"].iloc[1] == pytest.approx(0.1)  # +10% and -10% around 0
    # one member: A's 10% on day 2 is the whole index's return, so A alone is half of it
    assert b["half_return_count"].iloc[2] == 1 and b["half_return_share"].iloc[2] == 1.0
    assert b["above_ma_share"].iloc[2] == 1.0  # 12.1 above its 2-day mean, out of one member
    # the index earns day 2 on day 1's weights (A 11, B 9): 5.5%, which A's 10% beats
    assert b["beat_share"].iloc[2] == 1.0


def test_a_tie_with_the_index_does_not_beat_it(make_market, small_cfg):
    # equal caps, both +25% then flat: each name's 2-day return is exactly the index's
    b = breadth(make_market({"A": [10.0, 12.5, 12.5], "B": [10.0, 12.5, 12.5]}), small_cfg)
    assert b["beat_share"].iloc[2] == 0.0


def test_half_return_count_counts_an_exact_half():
    count, _ = half_return_count(np.array([[0.5, 0.5, 0.0], [0.25, 0.25, 0.5]]))
    np.testing.assert_array_equal(count, [1, 1])
    count, _ = half_return_count(np.array([[0.3, 0.3, 0.4, -0.2]]))  # total 0.8: 0.4 alone is half
    np.testing.assert_array_equal(count, [1])
