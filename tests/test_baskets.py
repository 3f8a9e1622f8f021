"""Basket masks and basket returns on hand-built markets (answers worked out by hand)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadening import aggregate
from broadening import baskets as b
from broadening.config import load_config
from broadening.panel import StepPanel


@pytest.fixture
def three(make_market):
    # caps = closes (1 share each): A 10,11,12; B 20,20,10; C 5,6,30
    return make_market({"A": [10, 11, 12], "B": [20, 20, 10], "C": [5, 6, 30]})


def test_megacaps_top1_and_top2(three):
    assert b.megacaps(three, k=1).tolist() == [[False, True, False], [False, True, False], [False, False, True]]
    assert b.megacaps(three, k=2).tolist() == [[True, True, False], [True, True, False], [True, False, True]]
    # k larger than the universe: everyone
    assert b.megacaps(three, k=50).all()


def test_megacaps_only_large_index_members(make_market):
    m = make_market(
        {"A": [10, 10], "B": [50, 50], "C": [5, 5]},
        membership=[
            {"index_id": "sp500", "security_id": "A", "start": "2024-01-01", "end": None},
            {"index_id": "sp500", "security_id": "C", "start": "2024-01-01", "end": None},
            {"index_id": "sp500", "security_id": "B", "start": "2024-01-02", "end": None},
        ],
    )
    # B is the biggest but joins the index only on day 2
    assert b.megacaps(m, k=1).tolist() == [[True, False, False], [False, True, False]]


def test_topk_ties_are_all_included():
    v = np.array([[3.0, 3.0, 1.0]])
    assert b.topk_mask(v, np.ones_like(v, bool), 1).tolist() == [[True, True, False]]


def test_cap_and_equal_weighted_returns_exact(three):
    cw = b.basket_returns(three, three.alive, "cap")
    ew = b.basket_returns(three, three.alive, "equal")
    assert np.isnan(cw[0]) and np.isnan(ew[0])
    # day 1: caps at day 0 (10, 20, 5) weight returns (0.1, 0, 0.2)
    assert cw[1] == pytest.approx((10 * 0.1 + 20 * 0 + 5 * 0.2) / 35)
    assert ew[1] == pytest.approx((0.1 + 0 + 0.2) / 3)
    # day 2: caps at day 1 (11, 20, 6); returns (1/11, -0.5, 4)
    assert cw[2] == pytest.approx((11 * (1 / 11) + 20 * -0.5 + 6 * 4) / 37)
    assert ew[2] == pytest.approx((1 / 11 - 0.5 + 4) / 3)


def test_basket_return_uses_yesterdays_mask(three):
    top1 = b.megacaps(three, k=1)
    r = b.basket_returns(three, top1, "cap")
    # B is the top name on days 0 and 1, so it earns days 1 and 2; C only from day 3
    assert r[1] == pytest.approx(0.0)
    assert r[2] == pytest.approx(-0.5)


def test_weights_rows_sum_to_one(three):
    w = b.basket_weights(three, three.alive, "cap")
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w[0], [10 / 35, 20 / 35, 5 / 35])
    with pytest.raises(ValueError):
        b.basket_weights(three, three.alive, "magic")


def test_small_universe_from_index_or_fallback(make_market):
    closes = {"A": [10, 10], "B": [20, 20], "C": [5, 5]}
    m = make_market(closes, membership=[{"index_id": "sp500", "security_id": "B", "start": "2024-01-01", "end": None}])
    assert b.small_universe(m).tolist() == [[True, False, True]] * 2
    m2 = make_market(closes, membership=[
        {"index_id": "sp500", "security_id": "B", "start": "2024-01-01", "end": None},
        {"index_id": "smallmid", "security_id": "C", "start": "2024-01-02", "end": None},
    ])
    assert b.small_universe(m2).tolist() == [[False, False, False], [False, False, True]]


def test_domestic_cyclicals_sector_industry_and_share(make_market):
    m = make_market(
        {s: [10, 10] for s in "ABCDE"},
        sectors={"A": "Industrials", "B": "Materials", "C": "Utilities", "D": "Health Care", "E": "Industrials"},
        securities={
            "A": {"domestic_revenue_share": 0.9, "industry": "Machinery"},
            "B": {"domestic_revenue_share": 0.3, "industry": "Chemicals"},
            "C": {"domestic_revenue_share": 0.95, "industry": "Grid Infrastructure"},
            "D": {"domestic_revenue_share": 0.95, "industry": "Biotech"},
            "E": {"industry": "Machinery"},
        },
    )
    assert b.domestic_cyclicals(m)[0].tolist() == [True, False, True, False, True]
    exc = load_config().with_overrides({"domestic_cyclicals": {"missing_domestic_share": "exclude"}})
    assert b.domestic_cyclicals(m, exc)[0].tolist() == [True, False, True, False, False]


def test_quality_and_junk(make_market, quarters):
    funds = (
        quarters("A", net_income=20, book_equity=100, total_debt=50)  # ROE .2, D/E .5: quality
        + quarters("B", net_income=5, book_equity=100, total_debt=10)  # ROE .05: neither
        + quarters("C", net_income=-4, book_equity=100, total_debt=0)  # loss: junk
        + quarters("D", net_income=30, book_equity=100, total_debt=300)  # D/E 3: junk
    )
    m = make_market({s: [10, 10] for s in "ABCDE"}, fundamentals=funds)
    assert b.quality(m)[0].tolist() == [True, False, False, False, False]
    assert b.junk(m)[0].tolist() == [False, False, True, True, False]
    both = b.quality(m) & b.junk(m)
    assert not both.any()


def test_quality_is_point_in_time(make_market, quarters):
    # A's profitable quarters only become available on day 2
    funds = quarters("A", net_income=20, available="2024-01-03")
    m = make_market({"A": [10, 10, 10, 10]}, fundamentals=funds)
    assert b.quality(m)[:, 0].tolist() == [False, False, True, True]


def test_ai_layer_precedence(make_market):
    m = make_market(
        {s: [10] for s in "ABCD"},
        securities={
            "A": {"ai_layer": "infrastructure", "industry": "Software"},
            "B": {"industry": "Software"},
            "C": {"ai_layer": "adopter"},
            "D": {"industry": "Pet Food"},
        },
    )
    assert b.ai_layers(m).tolist() == ["infrastructure", "adopter", "adopter", "none"]
    cfg = load_config().with_overrides({"ai_layer": {"tickers": {"A": "platform"}}})
    assert b.ai_layers(m, cfg).tolist() == ["platform", "adopter", "adopter", "none"]
    assert b.ai_layer(m, cfg, "adopter")[0].tolist() == [False, True, True, False]
    with pytest.raises(ValueError):
        b.ai_layer(m, cfg, "shovels")


def test_bdcs(make_market):
    m = make_market({"A": [10, 10], "B": [5, None]}, securities={"A": {"is_bdc": False}, "B": {"is_bdc": True}})
    assert b.bdcs(m).tolist() == [[False, True], [False, False]]


def _scq_market(make_market, quarters):
    # eight small names; ROE, E/P and growth all rise with the letter: the top 2 (25%) are G, H
    ids = "ABCDEFGH"
    funds = []
    for i, s in enumerate(ids):
        ni = 4.0 * (i + 1)
        old = quarters(s, net_income=ni / (1 + 0.1 * (i + 1)), available="2023-12-31")
        new = quarters(s, net_income=ni, available="2024-12-31",
                       ends=("2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31"))
        funds += old + new
    # Mon 2024-12-30 .. Thu 2025-01-02: the new quarters arrive on day 1 (12-31)
    closes = {s: [100.0] * 4 for s in ids}
    return make_market(closes, start="2024-12-30", membership=[
        {"index_id": "smallmid", "security_id": s, "start": "2024-12-30", "end": None} for s in ids
    ], fundamentals=funds)


def test_small_cap_quality_top_quartile_daily(make_market, quarters):
    m = _scq_market(make_market, quarters)
    cfg = load_config().with_overrides({"small_cap_quality": {"growth_lag_days": 1, "reconstitute": "daily"}})
    got = b.small_cap_quality(m, cfg)
    # day 0: no lagged EPS -> nobody; day 1: growth 10%..80% -> G, H; day 2-3: growth 0 -> nobody
    assert not got[0].any()
    assert got[1].tolist() == [False] * 6 + [True, True]
    assert not got[2:].any()
    relaxed = cfg.with_overrides({"small_cap_quality": {"require_positive_growth": False}})
    # zero growth allowed: ROE and E/P still rank G, H on top
    assert b.small_cap_quality(m, relaxed)[3].tolist() == [False] * 6 + [True, True]


def test_small_cap_quality_monthly_holds_the_pick(make_market, quarters):
    m = _scq_market(make_market, quarters)
    cfg = load_config().with_overrides({"small_cap_quality": {"growth_lag_days": 1, "require_positive_growth": False}})
    got = b.small_cap_quality(m, cfg)
    # rebuilt on 12-30 (no growth known yet: empty, held through 12-31 although the daily
    # basket would pick G, H that day) and on 01-01 (G, H)
    assert b.reconstitution_rows(m.dates, "monthly").tolist() == [0, 2]
    none, top2 = [False] * 8, [False] * 6 + [True, True]
    assert [row.tolist() for row in got] == [none, none, top2, top2]


def test_row_percentile_ties_and_invalid():
    v = np.array([[1.0, 2.0, 2.0, 5.0, np.nan]])
    p = b.row_percentile(v, np.array([[True, True, True, True, True]]))
    np.testing.assert_allclose(p[0, :4], [0.0, 0.5, 0.5, 1.0])
    assert np.isnan(p[0, 4])


def _row_percentile_reference(values, valid):
    """Plain per-row average ranks, one cell at a time."""
    out = np.full(values.shape, np.nan)
    for t in range(values.shape[0]):
        ok = valid[t] & np.isfinite(values[t])
        x = values[t][ok]
        for i in np.flatnonzero(ok):
            below, equal = (x < values[t, i]).sum(), (x == values[t, i]).sum()
            out[t, i] = (below + (equal - 1) / 2) / (len(x) - 1) if len(x) > 1 else 1.0
    return out


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.data())
def test_row_percentile_matches_per_row_average_ranks(T, N, data):
    values = np.array(data.draw(st.lists(st.sampled_from([np.nan, -1.0, 0.0, 0.5, 2.0, 3.0]), min_size=T * N, max_size=T * N))).reshape(T, N)
    valid = np.array(data.draw(st.lists(st.booleans(), min_size=T * N, max_size=T * N))).reshape(T, N)
    np.testing.assert_allclose(b.row_percentile(values, valid), _row_percentile_reference(values, valid), equal_nan=True)


def test_masks_are_cached_and_read_only(three):
    a = b.megacaps(three, k=1)
    assert b.megacaps(three, k=1) is a
    with pytest.raises(ValueError):
        a[0, 0] = True


@pytest.mark.parametrize("weighting", ["cap", "equal"])
@pytest.mark.parametrize("sparse", [True, False])
def test_basket_returns_from_a_start_equal_the_full_series_tail(tiny_market, weighting, sparse):
    mask = b.index_members(tiny_market)
    if sparse:  # every seventh cell on a diagonal pattern: a low fill of the touched columns
        t, i = np.indices(mask.shape)
        mask = mask & ((t + i) % 7 == 0)
    assert aggregate._layout(mask[:-1])[0] == sparse  # both code paths
    full = b.basket_returns(tiny_market, mask, weighting)
    start = tiny_market.shape[0] - 300
    part = b.basket_returns(tiny_market, mask, weighting, start=start)
    assert np.isnan(part[: start + 1]).all()
    np.testing.assert_array_equal(part[start + 1 :], full[start + 1 :])


@pytest.mark.parametrize("sparse", [0.0, 1.0])  # every mask scanned in blocks / gathered cell by cell
def test_masked_row_sums_by_hand_on_both_paths(monkeypatch, sparse):
    monkeypatch.setattr(aggregate, "_SPARSE", sparse)
    mask = np.array([[True, True, False], [False, True, True], [False, False, False]])
    x = np.array([[1.0, 2.0, 100.0], [np.nan, 3.0, 4.0], [5.0, 6.0, 7.0]])
    y = np.array([[10.0, np.nan, 0.0], [0.0, 30.0, 40.0], [0.0, 0.0, 0.0]])
    sx, sy, n = b.masked_row_sums(mask, x, y)
    # row 0: cell (0, 1) lacks y, so only (0, 0) counts; row 1: both cells; row 2: none
    np.testing.assert_array_equal(sx, [1.0, 7.0, 0.0])
    np.testing.assert_array_equal(sy, [10.0, 70.0, 0.0])
    np.testing.assert_array_equal(n, [1.0, 2.0, 0.0])
    steps = StepPanel(np.array([[0, 1, -1], [0, 2, 2], [0, 0, 0]], dtype=np.int32), np.array([10.0, np.nan, 40.0]))
    sx2, ss, n2 = b.masked_row_sums(mask, x, steps)
    np.testing.assert_array_equal(ss, [10.0, 80.0, 0.0])  # (0, 1) reads NaN (event 1); (1, 1), (1, 2) read 40
    np.testing.assert_array_equal(n2, [1.0, 2.0, 0.0])
    np.testing.assert_array_equal(sx2, [1.0, 7.0, 0.0])


# -- issue #17 ------------------------------------------------------------------------------------
def test_lagged_by_more_than_the_history_is_empty():
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(b.lagged(x, 1), [[np.nan, np.nan], [0, 1], [2, 3]])
    assert np.isnan(b.lagged(x, 3)).all()
    assert not b.lagged(np.ones((3, 2), dtype=bool), 5).any()


def test_universes_by_the_configured_basket_universe(make_market):
    closes = {"A": [10, 10], "B": [20, 20], "C": [5, 5]}
    m = make_market(closes, membership=[
        {"index_id": "sp500", "security_id": "B", "start": "2024-01-01", "end": None},
        {"index_id": "smallmid", "security_id": "C", "start": "2024-01-01", "end": None},
    ])
    large = load_config().with_overrides({"universe": {"basket_universe": "large"}})
    small = load_config().with_overrides({"universe": {"basket_universe": "small"}})
    assert b.basket_universe(m, large).tolist() == [[False, True, False]] * 2
    assert b.basket_universe(m, small).tolist() == [[False, False, True]] * 2
    assert b.basket_universe(m).tolist() == [[False, True, True]] * 2  # the default: large + small
    # an index that is not stored (and is not the large one): no members, not everyone
    assert not b.index_members(m, index_id="russell2000").any()


def test_a_blank_industry_keyword_matches_nothing(make_market):
    # '' is in every string: a blank keyword in a user's config must not make every name a cyclical
    m = make_market({s: [10] for s in "AB"}, sectors={"A": "Health Care", "B": "Health Care"},
                    securities={"A": {"domestic_revenue_share": 0.9, "industry": "Biotech"},
                                "B": {"domestic_revenue_share": 0.9, "industry": "Machinery"}})
    cfg = load_config().with_overrides({"domestic_cyclicals": {"industry_keywords": ["  ", "machinery"]}})
    assert b.domestic_cyclicals(m, cfg)[0].tolist() == [False, True]


def test_quality_without_the_profit_requirement(make_market, quarters):
    funds = quarters("A", net_income=-4, book_equity=-100, total_debt=0)  # a loss on negative equity: ROE +4%
    m = make_market({"A": [10, 10]}, fundamentals=funds)
    lax = load_config().with_overrides({"quality": {"profitable_ttm": False, "min_roe": 0.0}})
    # negative equity never makes quality, whatever the profit rule
    assert not b.quality(m, lax).any() and b.junk(m, lax).all()
    funds = quarters("B", net_income=-4, book_equity=100, total_debt=0)  # a loss: ROE -4%
    m = make_market({"B": [10, 10]}, fundamentals=funds)
    very_lax = load_config().with_overrides({"quality": {"profitable_ttm": False, "min_roe": -0.05}})
    assert b.quality(m, very_lax).all()
    assert not b.quality(m, load_config().with_overrides({"quality": {"min_roe": -0.05}})).any()


def test_small_cap_quality_may_admit_a_loss_maker_when_told(make_market, quarters):
    # P earns 4 then 8 a year; L loses 8 then 4 (growing towards profit): both improve
    funds = []
    for s, before, after in (("P", 4.0, 8.0), ("L", -8.0, -4.0)):
        funds += quarters(s, net_income=before, available="2023-12-31")
        funds += quarters(s, net_income=after, available="2024-12-31", ends=("2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31"))
    m = make_market({"P": [100.0] * 4, "L": [100.0] * 4}, start="2024-12-30", membership=[
        {"index_id": "smallmid", "security_id": s, "start": "2024-12-30", "end": None} for s in "PL"], fundamentals=funds)
    cfg = load_config().with_overrides({"small_cap_quality": {"growth_lag_days": 1, "reconstitute": "daily", "top_fraction": 1.0}})
    # day 1 (12-31): the new quarters arrive, growth against the day before is known
    picked = lambda c: dict(zip(m.ids, b.small_cap_quality(m, c)[1].tolist(), strict=True))  # noqa: E731
    assert picked(cfg) == {"P": True, "L": False}  # profits required: L is out
    lax = cfg.with_overrides({"small_cap_quality": {"require_profitable": False}})
    assert picked(lax) == {"P": True, "L": True}
