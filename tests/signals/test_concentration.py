"""C1 concentration and C10 crowding on three hand-built stocks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from broadening.market import Market
from broadening.signals.concentration import (
    concentration,
    crowding,
    index_contributions,
    index_returns,
    index_total_cap,
    index_weights,
    topk_share,
)


def test_top_share_hhi_effective_n_exact(make_market, small_cfg):
    # caps 50, 30, 20 (one share each): total 100
    m = make_market({"A": [50.0, 50.0], "B": [30.0, 30.0], "C": [20.0, 20.0]})
    c = concentration(m, small_cfg)
    assert c["top1_share"].iloc[0] == pytest.approx(0.5)
    assert c["top2_share"].iloc[0] == pytest.approx(0.8)
    assert c["hhi"].iloc[0] == pytest.approx(0.5**2 + 0.3**2 + 0.2**2)
    assert c["effective_n"].iloc[0] == pytest.approx(1 / 0.38)
    assert list(c.index) == list(m.index)


def test_concentration_uses_shares_and_membership(make_market, small_cfg):
    # C has 10 shares at 5 = cap 50; B leaves the index on day 2
    m = make_market(
        {"A": [30.0, 30.0, 30.0], "B": [20.0, 20.0, 20.0], "C": [5.0, 5.0, 5.0]},
        shares={"C": 10.0},
        membership=[
            {"index_id": "sp500", "security_id": "A", "start": "2024-01-01", "end": None},
            {"index_id": "sp500", "security_id": "B", "start": "2024-01-01", "end": "2024-01-03"},
            {"index_id": "sp500", "security_id": "C", "start": "2024-01-01", "end": None},
        ],
    )
    c = concentration(m, small_cfg)
    np.testing.assert_allclose(c["top1_share"], [0.5, 0.5, 50 / 80])
    np.testing.assert_allclose(index_weights(m, small_cfg)[2], [30 / 80, 0.0, 50 / 80])
    assert topk_share(m, small_cfg, k=5)[0] == pytest.approx(1.0)


def test_index_return_is_cap_weighted_with_yesterdays_weights(make_market, small_cfg):
    m = make_market({"A": [60.0, 66.0], "B": [40.0, 40.0]})
    assert index_returns(m, small_cfg)[1] == pytest.approx(0.6 * 0.1)


def test_crowding_by_hand(make_market, small_cfg):
    # A (top-1) +10% then -10%; B flat then +10%
    m = make_market({"A": [60.0, 66.0, 59.4], "B": [40.0, 40.0, 44.0]})
    cr = crowding(m, small_cfg)
    c1, r1 = 0.6 * 0.1, 0.6 * 0.1
    c2 = 66 / 106 * -0.1
    r2 = c2 + 40 / 106 * 0.1
    row = cr.iloc[2]
    assert row["topk_down_share"] == pytest.approx(c2 / r2)  # A made 254% of the loss
    assert row["topk_up_share"] == pytest.approx(c1 / r1)
    assert row["down_minus_up"] == pytest.approx(c2 / r2 - 1.0)
    assert row["topk_variance_share"] == pytest.approx((c1 - c2) / (r1 - r2))
    assert row["topk_weight"] == pytest.approx(66 / 106)
    assert cr.iloc[:2]["down_minus_up"].isna().all()  # no full window yet


# --- behaviours a mutation run found unpinned (issue 17) ----------------------------------------

# A, B, C, D in the "r1000" index (E never is); D's prices stop after day 2, so on day 3 it has
# a weight from day 2 but no return: the index re-weights over A, B, C.
REWEIGHT = {
    "A": [40.0, 44.0, 44.0, 48.4, 48.4, 43.56],
    "B": [30.0, 30.0, 33.0, 33.0, 29.7, 29.7],
    "C": [20.0, 18.0, 18.0, 19.8, 19.8, 21.78],
    "D": [10.0, 10.0, 12.0, None, None, None],
    "E": [5.0, 10.0, 20.0, 40.0, 80.0, 160.0],
}
CAPS = [[40, 30, 20, 10], [44, 30, 18, 10], [44, 33, 18, 12], [48.4, 33, 19.8, 0], [48.4, 29.7, 19.8, 0], [43.56, 29.7, 21.78, 0]]
RETS = [[0.1, 0.0, -0.1, 0.0], [0.0, 0.1, 0.0, 0.2], [0.1, 0.0, 0.1, np.nan], [0.0, -0.1, 0.0, np.nan], [-0.1, 0.0, 0.1, np.nan]]


def _r1000(make_market, closes=REWEIGHT, members=("A", "B", "C", "D")):
    return make_market(closes, index_id="r1000", membership=[
        {"index_id": "r1000", "security_id": s, "start": "2024-01-01", "end": None} for s in members])


@pytest.fixture
def r1000_cfg(small_cfg):
    return small_cfg.with_overrides({"universe": {"large_index": "r1000"}})


def _reference(caps, rets):
    """Plain-numpy index: weights of t - 1 over the names with a return on t."""
    caps = np.asarray(caps, dtype=float)
    w = caps / caps.sum(axis=1, keepdims=True)
    contrib = np.full(caps.shape, np.nan)
    for t in range(1, len(caps)):
        r = np.asarray(rets[t - 1], dtype=float)
        has = np.isfinite(r) & (w[t - 1] > 0)
        contrib[t] = np.where(has, w[t - 1] * np.nan_to_num(r), 0.0) / w[t - 1][has].sum()
    return w, contrib


@pytest.mark.parametrize("cells", [None, 4, 8])  # default blocks; one row per block; two-row blocks
def test_index_reweights_when_a_member_has_no_return(make_market, r1000_cfg, monkeypatch, cells):
    import broadening.panel as panel

    if cells:
        monkeypatch.setattr(panel, "BLOCK_CELLS", cells)
    m = _r1000(make_market)
    w_ref, c_ref = _reference(CAPS, RETS)
    np.testing.assert_allclose(index_weights(m, r1000_cfg, sub=True), w_ref, rtol=1e-14)
    full_w = index_weights(m, r1000_cfg)
    assert full_w.shape == (6, 5)
    np.testing.assert_array_equal(full_w[:, 4], 0.0)  # E is never in the index
    np.testing.assert_allclose(index_contributions(m, r1000_cfg, sub=True), c_ref, rtol=1e-13, atol=1e-17)
    full_c = index_contributions(m, r1000_cfg)
    assert np.isnan(full_c[:, 4]).all() and np.isnan(full_c[0]).all()
    np.testing.assert_allclose(full_c[:, :4], c_ref, rtol=1e-13, atol=1e-17)
    # day 3: D drops out, A and C earn 10% on weights 44 and 18 out of 44 + 33 + 18
    assert index_returns(m, r1000_cfg)[3] == pytest.approx((4.4 + 1.8) / 95, rel=1e-14)
    np.testing.assert_allclose(index_returns(m, r1000_cfg)[1:], np.nansum(c_ref[1:], axis=1), rtol=1e-13)
    assert np.isnan(index_returns(m, r1000_cfg)[0])
    np.testing.assert_allclose(index_total_cap(m, r1000_cfg), np.asarray(CAPS).sum(axis=1), rtol=1e-14)
    # k = 3 lies between the largest reported k (2) and the n = 4 index names
    np.testing.assert_allclose(topk_share(m, r1000_cfg, k=3), np.sort(w_ref, axis=1)[:, ::-1][:, :3].sum(axis=1), rtol=1e-14)
    np.testing.assert_allclose(topk_share(m, r1000_cfg, k=4), 1.0, rtol=1e-14)
    c = concentration(m, r1000_cfg)
    np.testing.assert_allclose(c["top1_share"], w_ref.max(axis=1), rtol=1e-14)
    np.testing.assert_allclose(c["top2_share"], np.sort(w_ref, axis=1)[:, -2:].sum(axis=1), rtol=1e-14)
    np.testing.assert_allclose(c["hhi"], (w_ref**2).sum(axis=1), rtol=1e-14)
    # crowding: the top-1 (A every day) contributes c[t, A]; its weight at the start of day t is w[t - 1, A]
    cr = crowding(m, r1000_cfg, window=2)
    np.testing.assert_allclose(cr["topk_weight"].iloc[1:], w_ref[:-1, 0], rtol=1e-14)


def test_a_day_without_members_is_nan_not_zero(make_market, small_cfg):
    # A and B leave the index for day 2 only: nothing to weigh that day, no weights for day 3's return
    closes = {"A": [60.0, 66.0, 66.0, 72.6, 72.6], "B": [40.0, 40.0, 44.0, 44.0, 39.6]}
    spans = [("2024-01-01", "2024-01-03"), ("2024-01-04", None)]
    m = make_market(closes, membership=[
        {"index_id": "sp500", "security_id": s, "start": a, "end": b} for s in closes for a, b in spans])
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        w = index_weights(m, small_cfg)
        c = concentration(m, small_cfg)
        ret = index_returns(m, small_cfg)
        cr = crowding(m, small_cfg, window=1)
    np.testing.assert_array_equal(w[2], 0.0)
    assert np.isnan(c.iloc[2]).all()  # top-k shares, HHI and effective N
    np.testing.assert_allclose(c["top1_share"].iloc[[0, 1, 3, 4]], [0.6, 66 / 106, 72.6 / 116.6, 72.6 / 112.2], rtol=1e-14)
    assert np.isnan(ret[3]) and ret[2] == pytest.approx(40 / 106 * 0.1, rel=1e-14)
    assert index_total_cap(m, small_cfg)[2] == 0.0
    assert cr["topk_weight"].iloc[3] == 0.0 and np.isnan(cr.iloc[3, :4]).all()


def test_concentration_reports_every_k_above_the_index_size(make_market, small_cfg):
    # k = 6 is more names than the index holds (3): the top-6 share is the whole index
    cfg = small_cfg.with_overrides({"universe": {"k": 1, "k_report": [1, 6]}})
    m = make_market({"A": [50.0, 55.0], "B": [30.0, 30.0], "C": [20.0, 15.0]})
    c = concentration(m, cfg)
    assert list(c.columns) == ["top1_share", "top6_share", "hhi", "effective_n"]
    np.testing.assert_allclose(c["top6_share"], 1.0, rtol=1e-15)
    np.testing.assert_allclose(c["top1_share"], [0.5, 0.55], rtol=1e-15)
    assert c["hhi"].iloc[1] == pytest.approx(0.55**2 + 0.3**2 + 0.15**2, rel=1e-14)
    assert c.dtypes.eq(np.float64).all()


def test_weights_of_penny_stocks_are_normalised(make_market, small_cfg):
    m = make_market({"A": [0.3, 0.3], "B": [0.2, 0.1]})  # total caps below 1
    np.testing.assert_allclose(index_weights(m, small_cfg), [[0.6, 0.4], [0.75, 0.25]], rtol=1e-14)


def test_cached_results_are_read_only(make_market, small_cfg):
    m = make_market({"A": [60.0, 66.0], "B": [40.0, 40.0]})
    for a in (index_returns(m, small_cfg), index_total_cap(m, small_cfg), index_contributions(m, small_cfg, sub=True)):
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 1.0


def _crowding_reference(r, c, window):
    """Plain loops over each trailing window of index returns r and top-k contributions c."""
    T = len(r)
    out = np.full((T, 3), np.nan)
    for t in range(window, T):
        rr, cc = r[t - window + 1 : t + 1], c[t - window + 1 : t + 1]
        fin = np.isfinite(rr)
        rr, cc = rr[fin], cc[fin]
        if len(rr) >= 2 and np.var(rr) > 1e-18:
            out[t, 0] = np.cov(rr, cc)[0, 1] / np.var(rr, ddof=1)
        if (rr < 0).any():
            out[t, 1] = cc[rr < 0].sum() / rr[rr < 0].sum()
        if (rr > 0).any():
            out[t, 2] = cc[rr > 0].sum() / rr[rr > 0].sum()
    return out


@pytest.mark.parametrize("window", [1, 3, 4])
def test_crowding_windows_against_loops(make_market, small_cfg, window):
    # caps 48 / 16 on day 3 -> 54 / 10: A earns 0.75 x 12.5%, B loses 0.25 x 37.5%, the index is
    # exactly flat (a day neither up nor down); the index is empty on day 6, so day 7 has no return
    a = [40.0, 44.0, 39.6, 48.0, 54.0, 50.0, 55.0, 60.5, 54.45, 59.0]
    b = [20.0, 20.0, 22.0, 16.0, 10.0, 12.0, 12.0, 12.0, 13.2, 13.2]
    spans = [("2024-01-01", "2024-01-09"), ("2024-01-10", None)]
    m = make_market({"A": a, "B": b}, membership=[
        {"index_id": "sp500", "security_id": s, "start": lo, "end": hi} for s in "AB" for lo, hi in spans])
    a, b = np.array(a), np.array(b)
    wa = a[:-1] / (a[:-1] + b[:-1])
    ra, rb = a[1:] / a[:-1] - 1, b[1:] / b[:-1] - 1
    r = np.concatenate([[np.nan], wa * ra + (1 - wa) * rb])
    c = np.concatenate([[np.nan], wa * ra])
    r[7] = c[7] = np.nan  # day 6 held nothing
    assert r[4] == 0.0
    got = crowding(m, small_cfg, window=window)
    ref = _crowding_reference(r, c, window)
    np.testing.assert_allclose(got[["topk_variance_share", "topk_down_share", "topk_up_share"]].to_numpy(), ref, rtol=1e-10)
    np.testing.assert_allclose(got["down_minus_up"], ref[:, 1] - ref[:, 2], rtol=1e-10)
    assert got.index.equals(m.index) and got.dtypes.eq(np.float64).all()
    assert np.isfinite(ref[window:, 1]).any() and np.isfinite(ref[window:, 2]).any()


@pytest.mark.parametrize("cells", [None, 4, 6])  # one block; blocks of 2 and 3 rows over 2 names
def test_crowding_when_the_top_name_changes(make_market, small_cfg, monkeypatch, cells):
    import broadening.panel as panel

    if cells:
        monkeypatch.setattr(panel, "BLOCK_CELLS", cells)
    # B overtakes A on day 4 and falls back behind it on day 7: the top-1 is the larger cap of t - 1
    a = np.array([50.0, 52.0, 49.0, 51.0, 45.0, 44.0, 46.0, 60.0, 58.0, 61.0, 59.0])
    b = np.array([30.0, 33.0, 36.0, 40.0, 48.0, 50.0, 47.0, 45.0, 46.0, 44.0, 47.0])
    m = make_market({"A": a.tolist(), "B": b.tolist()})
    caps = np.stack([a, b], axis=1)
    w = caps / caps.sum(axis=1, keepdims=True)
    ret = caps[1:] / caps[:-1] - 1
    top = np.argmax(caps[:-1], axis=1)
    r = np.concatenate([[np.nan], (w[:-1] * ret).sum(axis=1)])
    c = np.concatenate([[np.nan], w[:-1][np.arange(10), top] * ret[np.arange(10), top]])
    got = crowding(m, small_cfg, window=3)
    ref = _crowding_reference(r, c, 3)
    np.testing.assert_allclose(got[["topk_variance_share", "topk_down_share", "topk_up_share"]].to_numpy(), ref, rtol=1e-10)
    np.testing.assert_allclose(got["topk_weight"].iloc[1:], w[:-1].max(axis=1), rtol=1e-14)
    assert set(top) == {0, 1}


def test_index_membership_comes_from_the_configured_index(make_market, small_cfg):
    # B leaves "r1000" on day 2 but keeps trading: from then on it carries no index weight
    m = make_market({"A": [30.0, 33.0, 36.0, 36.0], "B": [20.0, 20.0, 22.0, 24.2]}, index_id="r1000", membership=[
        {"index_id": "r1000", "security_id": "A", "start": "2024-01-01", "end": None},
        {"index_id": "r1000", "security_id": "B", "start": "2024-01-01", "end": "2024-01-03"},
    ])
    cfg = small_cfg.with_overrides({"universe": {"large_index": "r1000"}})
    np.testing.assert_allclose(index_weights(m, cfg), [[0.6, 0.4], [33 / 53, 20 / 53], [1.0, 0.0], [1.0, 0.0]], rtol=1e-14)
    np.testing.assert_allclose(index_total_cap(m, cfg), [50.0, 53.0, 36.0, 36.0], rtol=1e-14)
    # day 2 still earns on day 1's weights (B included); day 3 on A alone
    np.testing.assert_allclose(index_returns(m, cfg)[1:], [0.6 * 0.1, (3.0 + 2.0) / 53, 0.0], rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(concentration(m, cfg)["top1_share"], [0.6, 33 / 53, 1.0, 1.0], rtol=1e-14)


def test_top_shares_with_more_reported_ks_than_half_the_names(make_market, small_cfg):
    # 4 names and a reported k of 5: the largest weights are kept for every k up to 4
    cfg = small_cfg.with_overrides({"universe": {"k": 1, "k_report": [1, 5]}})
    m = make_market({"A": [40.0], "B": [30.0], "C": [20.0], "D": [10.0]})
    for k, want in [(1, 0.4), (2, 0.7), (3, 0.9), (4, 1.0), (5, 1.0)]:
        assert topk_share(m, cfg, k=k)[0] == pytest.approx(want, rel=1e-14)


def test_topk_share_on_many_names_against_a_sort(make_tables):
    # enough names that a partition cannot happen to leave them sorted
    rng = np.random.default_rng(8)
    caps = rng.lognormal(3.0, 1.0, (3, 40))
    m = Market.from_tables(make_tables({f"S{i:02d}": caps[:, i].tolist() for i in range(40)}))
    w = caps / caps.sum(axis=1, keepdims=True)
    for k in (3, 7, 19, 39):
        np.testing.assert_allclose(topk_share(m, None, k=k), np.sort(w, axis=1)[:, ::-1][:, :k].sum(axis=1), rtol=1e-13)
