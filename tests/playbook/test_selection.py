"""Selection and weighting algos (SelectMembers, SelectMomentum, WeighByCap, WeighEqually) on hand-built rows."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.playbook.algos import (
    CAP_SLEEVE,
    Context,
    DropTopK,
    RebalanceData,
    SelectMembers,
    SelectMomentum,
    WeighByCap,
    WeighEqually,
)


def test_cap_weight_step(market, ctx_at):
    ctx = ctx_at(market)
    cap = market.market_cap[260]
    np.testing.assert_allclose(ctx.sleeve("cap_weight"), cap / cap.sum())



# --- SelectMembers -------------------------------------------------------------------------


def test_select_members_selects_the_prepared_members_without_a_note(hand_data, hand_ctx):
    data = hand_data([[1.0, 2.0, 3.0]], members=[[True, False, True]])
    ctx = hand_ctx(data, selected=np.zeros((1, 3), dtype=bool))
    SelectMembers("sp500")(ctx)
    assert ctx.selected is data.members
    np.testing.assert_array_equal(ctx.selected, [[True, False, True]])
    assert ctx.notes == []


def test_select_members_without_membership_notes_that_all_listed_names_are_used(hand_data, hand_ctx):
    data = hand_data([[1.0, 2.0]], has_index=False)
    ctx = hand_ctx(data, selected=np.zeros((1, 2), dtype=bool))
    SelectMembers("sp500")(ctx)
    np.testing.assert_array_equal(ctx.selected, [[True, True]])
    assert ctx.notes == ["no membership stored for index 'sp500': all listed securities used"]


def test_select_members_refuses_data_prepared_for_another_index(hand_data, hand_ctx):
    ctx = hand_ctx(hand_data([[1.0]], index_id="russell2000"))
    with pytest.raises(ValueError, match=r"SelectMembers\('sp500'\) on data prepared for index 'russell2000'"):
        SelectMembers("sp500")(ctx)


# --- SelectMomentum ------------------------------------------------------------------------


def _momentum_market(make_market, T, spikes, n=6, late=()):
    """Closes (= TRI) of 100 every day but the ``spikes`` {(name, day): close}; ``late`` names start on day 3."""
    closes = {}
    for i in range(n):
        c = [100.0] * T
        for (j, d), v in spikes.items():
            if j == i:
                c[d] = v
        if i in late:
            c[:3] = [None] * 3
        closes[f"S{i}"] = c
    return make_market(closes)


def _select(market, positions, algo, selected=None):
    from broadening.playbook.algos import Context, RebalanceData

    data = RebalanceData.build(market, np.asarray(positions), "sp500")
    R, N = data.shape
    ctx = Context(data=data, selected=data.members if selected is None else np.asarray(selected),
                  freed=np.zeros(R), trimmed=np.zeros((R, N), dtype=bool))
    algo(ctx)
    return ctx


def test_select_momentum_keeps_the_top_quantile_rounded_up(make_market):
    # lookback 4, skip 1 at position 6: momentum = TRI[5] / TRI[2] - 1
    # S0 +10%, S1 +30%, S2 -10%, S3 +20%, S4 0%; S5 has no price on day 2 (no momentum, dropped)
    # 5 names with momentum, quantile 0.5 -> ceil(2.5) = 3 kept: S1, S3, S0
    spikes = {(0, 5): 110.0, (1, 5): 130.0, (2, 5): 90.0, (3, 5): 120.0}
    market = _momentum_market(make_market, 8, spikes, late=(5,))
    ctx = _select(market, [6], SelectMomentum(lookback=4, skip=1, quantile=0.5))
    np.testing.assert_array_equal(ctx.selected[0], [True, True, False, True, False, False])
    assert ctx.notes == []
    # quantile 0.1: ceil(0.5) = 1 -> the best alone
    ctx = _select(market, [6], SelectMomentum(lookback=4, skip=1, quantile=0.1))
    np.testing.assert_array_equal(ctx.selected[0], [False, True, False, False, False, False])


def test_select_momentum_ranks_only_the_selection(make_market):
    # S1 (best) and S3 are not selected: of S0, S2, S4 (+10%, -10%, 0%) quantile 0.5 keeps ceil(1.5) = 2: S0, S4
    spikes = {(0, 5): 110.0, (1, 5): 130.0, (2, 5): 90.0, (3, 5): 120.0}
    market = _momentum_market(make_market, 8, spikes)
    sel = np.array([[True, False, True, False, True, False]])
    ctx = _select(market, [6], SelectMomentum(lookback=4, skip=1, quantile=0.5), selected=sel)
    np.testing.assert_array_equal(ctx.selected[0], [True, False, False, False, True, False])


def test_select_momentum_ties_go_by_position_and_nobody_selected_keeps_nobody(make_market):
    # every momentum 0 (flat prices): quantile 0.5 of 6 keeps the first three
    market = _momentum_market(make_market, 8, {})
    ctx = _select(market, [6, 7], SelectMomentum(lookback=4, skip=1, quantile=0.5),
                  selected=np.array([[True] * 6, [False] * 6]))
    np.testing.assert_array_equal(ctx.selected, [[True] * 3 + [False] * 3, [False] * 6])



def test_select_momentum_ties_among_many_names_stay_in_position_order(make_market):
    # 40 names in three momentum levels (0%, +10%, +20%, drawn at random): quantile 0.25 keeps 10 -
    # the +20% names first, then the +10% ones, each level in position order (a stable sort)
    level = np.random.default_rng(0).choice([0, 1, 2], size=40)
    spikes = {(i, 5): 100.0 * (1 + 0.1 * int(level[i])) for i in range(40)}
    market = _momentum_market(make_market, 8, spikes, n=40)
    ctx = _select(market, [6], SelectMomentum(lookback=4, skip=1, quantile=0.25))
    lv = np.array([level[int(str(s)[1:])] for s in market.ids])  # columns are sorted as strings: S0, S1, S10, ...
    order = sorted(range(40), key=lambda i: (-lv[i], i))
    np.testing.assert_array_equal(np.flatnonzero(ctx.selected[0]), sorted(order[:10]))


def test_select_momentum_keeps_a_lone_name_with_momentum(make_market):
    # only S2 has a price on day 2: n = 1, ceil(0.2) = 1 -> S2 kept
    market = _momentum_market(make_market, 8, {(2, 5): 90.0}, late=(0, 1, 3, 4, 5))
    ctx = _select(market, [6], SelectMomentum(lookback=4, skip=1, quantile=0.2))
    np.testing.assert_array_equal(ctx.selected[0], [False, False, True, False, False, False])


def test_select_momentum_keeps_the_whole_selection_without_a_lookback_of_history(make_market):
    # lookback 4: position 3 is short (whole selection kept, noted); position 4 reads TRI[3] / TRI[0]
    spikes = {(0, 3): 110.0, (1, 3): 130.0, (2, 3): 90.0, (3, 3): 120.0}
    market = _momentum_market(make_market, 8, spikes)
    ctx = _select(market, [3, 4], SelectMomentum(lookback=4, skip=1, quantile=0.5))
    np.testing.assert_array_equal(ctx.selected, [[True] * 6, [True, True, False, True, False, False]])
    assert ctx.notes == ["momentum: less than a lookback of history; whole selection kept"]


def test_select_momentum_defaults_are_12_1_months_top_fifth(make_market):
    # position 300: momentum = TRI[279] / TRI[48] - 1 (skip 21, lookback 252)
    # S0 is 50 on day 48 only (+100%), S1 is 300 on day 279 only (+200%); the rest are flat (0%);
    # 10 names, top 20% -> S1, S0. Any other lag reads 100 for both and keeps S0, S1 or S2 by position.
    spikes = {(0, 48): 50.0, (1, 279): 300.0, (3, 47): 50.0, (4, 49): 50.0, (5, 278): 300.0, (6, 280): 300.0}
    market = _momentum_market(make_market, 301, spikes, n=10)
    ctx = _select(market, [300], SelectMomentum())
    np.testing.assert_array_equal(np.flatnonzero(ctx.selected[0]), [0, 1])
    assert ctx.notes == []


# --- WeighByCap, WeighEqually ----------------------------------------------------------------


def test_weigh_by_cap_on_the_members_and_on_a_subset(hand_data, hand_ctx):
    # caps 1, 3, NaN, 4: the members' weights are 1/8, 3/8, 0, 4/8 (no cap, no weight)
    data = hand_data([[1.0, 3.0, np.nan, 4.0]])
    ctx = hand_ctx(data, {"old": [[1.0, 0, 0, 0]]})
    WeighByCap()(ctx)
    assert set(ctx.sleeves) == {CAP_SLEEVE}
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [0.125, 0.375, 0.0, 0.5])
    assert ctx.cap_ranked is True
    assert ctx.notes == []
    # a selection other than the members: its own caps, 1 / 4 and 3 / 4
    sub = hand_ctx(data, {"old": [[1.0, 0, 0, 0]]}, selected=[[True, True, True, False]])
    WeighByCap()(sub)
    assert set(sub.sleeves) == {CAP_SLEEVE}
    np.testing.assert_allclose(sub.sleeves[CAP_SLEEVE][0], [0.25, 0.75, 0.0, 0.0])
    assert sub.cap_ranked is False


def test_weigh_by_cap_into_another_sleeve_is_not_cap_ranked(hand_data, hand_ctx):
    ctx = hand_ctx(hand_data([[1.0, 3.0]]))
    WeighByCap(sleeve="mine")(ctx)
    np.testing.assert_allclose(ctx.sleeves["mine"][0], [0.25, 0.75])
    assert ctx.cap_ranked is False


@pytest.mark.parametrize("subset", [False, True])
def test_weigh_by_cap_falls_back_to_equal_weight_on_a_row_without_caps(hand_data, hand_ctx, subset):
    # row 0 has caps (2, 6, 0) -> 0.25, 0.75, 0; row 1 none (NaN, 0, -1) -> equal weight over its selection
    data = hand_data([[2.0, 6.0, 0.0], [np.nan, 0.0, -1.0]])
    ctx = hand_ctx(data)
    if subset:
        ctx.selected = data.members.copy()
    WeighByCap()(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE], [[0.25, 0.75, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    assert ctx.notes == ["no market caps on a rebalance date: equal weight used instead"]


def test_weigh_by_cap_on_a_row_with_nobody_selected_is_all_cash(hand_data, hand_ctx):
    data = hand_data([[2.0, 6.0], [1.0, 1.0]])
    ctx = hand_ctx(data, selected=[[False, False], [True, False]])
    WeighByCap()(ctx)
    np.testing.assert_array_equal(ctx.sleeves[CAP_SLEEVE], [[0.0, 0.0], [1.0, 0.0]])
    assert ctx.notes == []


def test_weigh_equally(hand_data, hand_ctx):
    data = hand_data(np.ones((2, 4)))
    ctx = hand_ctx(data, {CAP_SLEEVE: np.ones((2, 4))}, selected=[[True, False, True, True], [False] * 4])
    WeighEqually()(ctx)
    assert set(ctx.sleeves) == {"equal_weight"}
    np.testing.assert_allclose(ctx.sleeves["equal_weight"], [[1 / 3, 0, 1 / 3, 1 / 3], [0, 0, 0, 0]])
    ctx.selected = np.array([[False, True, False, False], [True, True, False, False]])
    WeighEqually()(ctx)
    np.testing.assert_allclose(ctx.sleeves["equal_weight"], [[0, 1, 0, 0], [0.5, 0.5, 0, 0]])
    WeighEqually(sleeve="ew")(ctx)
    assert set(ctx.sleeves) == {"ew"}


# --- DropTopK -------------------------------------------------------------------------------


def test_drop_topk_removes_the_largest_caps_ties_included():
    cap = np.array([[5.0, 9.0, 7.0, np.nan, 7.0, 1.0],   # 9 and the two tied 7s are the top 2
                    [5.0, 9.0, 7.0, 3.0, 2.0, 1.0],
                    [5.0, np.nan, np.nan, np.nan, np.nan, np.nan]])  # one name with a cap: it is the top 2
    sel = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=bool)
    data = RebalanceData(dates=np.arange(3).astype("datetime64[D]"), positions=np.arange(3), ids=np.array(list("abcdef")),
                         cols=np.arange(6), index_id="sp500", has_index=True, members=sel, alive=sel, cap=cap,
                         tri=cap, sectors=np.array(["x"] * 6), baskets={}, why={}, regime=np.full(3, np.nan))
    ctx = Context(data=data, selected=sel, freed=np.zeros(3), trimmed=np.zeros((3, 6), dtype=bool))
    DropTopK(2)(ctx)
    # a member without a cap (d, row 0; b and c, row 2) is never top-k and stays
    np.testing.assert_array_equal(ctx.selected, [[1, 0, 0, 1, 0, 0], [0, 0, 0, 1, 1, 1], [0, 1, 1, 0, 0, 0]])
    with pytest.raises(ValueError, match="at least 1"):
        DropTopK(0)


def test_drop_topk_defaults_to_ten_and_accepts_one(hand_data, hand_ctx):
    # caps 1..12: the default drops the ten largest (caps 3..12), k = 1 the largest alone
    data = hand_data([np.arange(1.0, 13.0)])
    ctx = hand_ctx(data)
    DropTopK()(ctx)
    np.testing.assert_array_equal(np.flatnonzero(ctx.selected[0]), [0, 1])
    ctx = hand_ctx(data)
    DropTopK(1)(ctx)
    np.testing.assert_array_equal(np.flatnonzero(ctx.selected[0]), np.arange(11))
