"""TrimTopK and Redeploy ("trim the tax"), and their helpers, on hand-built rows whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.errors import BroadeningError
from broadening.playbook.algos import (
    CAP_SLEEVE,
    CORE_SLEEVE,
    Redeploy,
    TrimTopK,
    WeighByCap,
    concentration_factor,
    regime_intensity,
)

NAN = float("nan")


# --- helpers ---------------------------------------------------------------------------------


def test_regime_intensity_is_floor_plus_the_clipped_score():
    # floor 0.2: 0.2 + 0.8 * clip(score, 0, 1); an unknown score trims fully
    out = regime_intensity(np.array([-0.5, 0.0, 0.5, 1.0, 1.5, NAN]), True, 0.2)
    np.testing.assert_allclose(out, [0.2, 0.2, 0.6, 1.0, 1.0, 1.0], rtol=0, atol=1e-15)
    one = regime_intensity(0.3, True, 0.5)  # 0.5 + 0.5 * 0.3
    assert type(one) is float and one == pytest.approx(0.65)
    assert regime_intensity(1.0, True, 0.5) == 1.0
    assert regime_intensity(NAN, True, 0.5) == 1.0


def test_regime_intensity_without_scaling_is_one_as_floats():
    assert regime_intensity(0.3, False, 0.5) == 1.0
    out = regime_intensity(np.array([0, 1, 2]), False, 0.5)  # integer scores still give float intensities
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 1.0, 1.0])
    assert type(regime_intensity(0, False, 0.5)) is float


def test_concentration_factor_clips_share_over_reference():
    # shares / 0.25 = 1.2, 2.4, 0.4 -> clipped to [1, 1.5] by default
    np.testing.assert_allclose(concentration_factor(np.array([0.3, 0.6, 0.1]), 0.25), [1.2, 1.5, 1.0])
    np.testing.assert_allclose(concentration_factor(np.array([0.3, 0.6, 0.1]), 0.25, 0.5, 2.0), [1.2, 2.0, 0.5])
    flat = concentration_factor(np.array([0.3, 0.6]), 0.0)  # no reference: no scaling
    assert flat.shape == (2,)
    np.testing.assert_array_equal(flat, [1.0, 1.0])


# --- TrimTopK ------------------------------------------------------------------------------


def test_trim_cap_mode_and_regime_scaling(market, ctx_at):
    ctx = ctx_at(market)
    w = ctx.weights.copy()
    TrimTopK(k=2, mode="cap", cap=0.15)(ctx.ctx)
    top = np.argsort(-w)[:2]
    expected_freed = float(np.maximum(w[top] - 0.15, 0).sum())
    assert ctx.freed == pytest.approx(expected_freed)
    assert np.all(ctx.sleeve("cap_weight")[top] <= 0.15 + 1e-12)
    assert set(ctx.topk) == set(top)

    half = ctx_at(market, regime=pd.Series([0.0], index=[market.index[0]]))
    TrimTopK(k=2, mode="cap", cap=0.15, regime_scaling=True, regime_floor=0.5)(half.ctx)
    assert half.freed == pytest.approx(0.5 * expected_freed)


def test_trim_cut_mode(market, ctx_at):
    ctx = ctx_at(market)
    w = ctx.weights.copy()
    TrimTopK(k=3, mode="cut", cut=0.2)(ctx.ctx)
    top = np.argsort(-w)[:3]
    assert ctx.freed == pytest.approx(0.2 * w[top].sum())
    np.testing.assert_allclose(ctx.sleeve("cap_weight")[top], 0.8 * w[top])


def test_trim_cut_scaled_by_concentration(market, ctx_at):
    # the top 3 hold share s; with concentration_ref = s / 1.2 the cut is 1.2x, capped at concentration_max
    ctx = ctx_at(market)
    w = ctx.weights.copy()
    top = np.argsort(-w)[:3]
    s = w[top].sum()
    TrimTopK(k=3, mode="cut", cut=0.2, concentration_ref=s / 1.2)(ctx.ctx)
    assert ctx.freed == pytest.approx(0.2 * 1.2 * s)
    capped = ctx_at(market)
    TrimTopK(k=3, mode="cut", cut=0.2, concentration_ref=s / 3.0, concentration_max=1.5)(capped.ctx)
    assert capped.freed == pytest.approx(0.2 * 1.5 * s)
    # a less concentrated market than the reference is trimmed the plain cut (the factor's floor is 1)
    low = ctx_at(market)
    TrimTopK(k=3, mode="cut", cut=0.2, concentration_ref=0.99)(low.ctx)
    assert low.freed == pytest.approx(0.2 * s)


@pytest.mark.parametrize("ranked", [True, False])
def test_trim_defaults_cut_the_top_ten_by_a_quarter(hand_data, hand_ctx, ranked):
    # caps 1..12 (total 78); the defaults cut the 10 largest (caps 3..12, 75/78) by 25%, whatever the regime
    cap = np.arange(1.0, 13.0)
    data = hand_data([cap], regime=[0.0])
    ctx = hand_ctx(data)
    if ranked:
        WeighByCap()(ctx)
        assert ctx.cap_ranked is True
    else:
        ctx.sleeves = {CAP_SLEEVE: (cap / 78.0)[None, :]}
    TrimTopK()(ctx)
    assert ctx.freed[0] == pytest.approx(0.25 * 75 / 78, rel=1e-12)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], np.r_[cap[:2], 0.75 * cap[2:]] / 78, rtol=1e-12)
    np.testing.assert_array_equal(ctx.trimmed[0], [False, False] + [True] * 10)
    assert ctx.cap_ranked is False


def test_trim_cap_mode_default_cap_is_four_percent(hand_data, hand_ctx):
    # k = min(10, 4): each name is cut to 0.04; freed = 1 - 4 * 0.04
    data = hand_data([[4.0, 3.0, 2.0, 1.0]])
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.3, 0.15, 0.05]]})
    TrimTopK(mode="cap")(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [0.04] * 4, rtol=0, atol=1e-15)
    assert ctx.freed[0] == pytest.approx(0.84)


def test_trim_regime_scaling_default_floor_is_half(hand_data, hand_ctx):
    # regime 0 -> intensity 0.5: half of the 50% cut of 0.5; regime 1.5 is clipped to 1 (full cut)
    for regime, removed in ((0.0, 0.125), (1.5, 0.25), (NAN, 0.25)):
        data = hand_data([[5.0, 3.0, 2.0]], regime=[regime])
        ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.3, 0.2]]})
        TrimTopK(k=1, cut=0.5, regime_scaling=True)(ctx)
        assert ctx.freed[0] == pytest.approx(removed), regime
        assert ctx.sleeves[CAP_SLEEVE][0][0] == pytest.approx(0.5 - removed)


def test_trim_concentration_factor_default_and_given_maximum(hand_data, hand_ctx):
    data = hand_data([[5.0, 3.0, 2.0]])
    # top-1 share 0.5 vs ref 0.1: factor 5, capped at the default 1.5 -> cut 0.3, removes 0.15
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.3, 0.2]]})
    TrimTopK(k=1, cut=0.2, concentration_ref=0.1)(ctx)
    assert ctx.freed[0] == pytest.approx(0.15)
    # ref 0.25: factor 2 within a maximum of 2 -> cut 0.4, removes 0.2
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.3, 0.2]]})
    TrimTopK(k=1, cut=0.2, concentration_ref=0.25, concentration_max=2.0)(ctx)
    assert ctx.freed[0] == pytest.approx(0.2)


def test_trim_cut_is_capped_at_all_of_it_before_regime_scaling(hand_data, hand_ctx):
    # cut 0.8 x factor 1.5 = 1.2 -> capped at 1; regime 0 with floor 0.5 then halves it: 0.5 * 0.5 = 0.25
    data = hand_data([[5.0, 3.0, 2.0]], regime=[0.0])
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.3, 0.2]]})
    TrimTopK(k=1, cut=0.8, concentration_ref=0.25, concentration_max=1.5, regime_scaling=True,
             regime_floor=0.5)(ctx)
    assert ctx.freed[0] == pytest.approx(0.25)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [0.25, 0.3, 0.2])


def test_trim_concentration_uses_each_rows_own_share(hand_data, hand_ctx):
    # row 0: top-1 share 0.5 / ref 0.25 = 2 -> 1.5 -> cut 0.3 removes 0.15
    # row 1: four ties at 0.25 -> the first by position; share 0.25 / 0.25 = 1 -> cut 0.2 removes 0.05
    w = [[0.5, 0.3, 0.2, 0.0], [0.25, 0.25, 0.25, 0.25]]
    data = hand_data([[5.0, 3.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    ctx = hand_ctx(data, {CAP_SLEEVE: w})
    TrimTopK(k=1, cut=0.2, concentration_ref=0.25)(ctx)
    np.testing.assert_allclose(ctx.freed, [0.15, 0.05])
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE], [[0.35, 0.3, 0.2, 0.0], [0.2, 0.25, 0.25, 0.25]])
    np.testing.assert_array_equal(ctx.trimmed, [[True, False, False, False], [True, False, False, False]])


def test_trim_top_k_per_row_by_decreasing_weight(hand_data, hand_ctx):
    # each row's two largest are cut to 0.25: row 0 names 1 and 3, row 1 names 0 and 2
    w = [[0.1, 0.4, 0.2, 0.3], [0.4, 0.1, 0.3, 0.2]]
    ctx = hand_ctx(hand_data(np.ones((2, 4))), {CAP_SLEEVE: w})
    TrimTopK(k=2, mode="cap", cap=0.25)(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE], [[0.1, 0.25, 0.2, 0.25], [0.25, 0.1, 0.25, 0.2]])
    np.testing.assert_allclose(ctx.freed, [0.2, 0.2])
    np.testing.assert_array_equal(ctx.trimmed, [[False, True, False, True], [True, False, True, False]])


def test_trim_ties_go_to_the_first_names_like_the_cap_rank_order(hand_data, hand_ctx):
    # 40 names in three tied weight levels: the k largest are taken in position order among ties,
    # the same as the memoised (stable) cap rank order
    caps = np.random.default_rng(0).choice([1.0, 2.0, 3.0], size=40)
    data = hand_data([caps])
    ranked = hand_ctx(data)
    WeighByCap()(ranked)
    plain = hand_ctx(data, {CAP_SLEEVE: ranked.sleeves[CAP_SLEEVE].copy()})
    expected = np.flatnonzero(caps == 3.0)[:7]
    for ctx in (ranked, plain):
        TrimTopK(k=7, mode="cap", cap=0.0)(ctx)
        np.testing.assert_array_equal(np.flatnonzero(ctx.trimmed[0]), expected)
    np.testing.assert_array_equal(ranked.sleeves[CAP_SLEEVE], plain.sleeves[CAP_SLEEVE])


def test_trim_top_k_names_without_weight_are_left_alone(hand_data, hand_ctx):
    # k = 3 but only two names hold weight: the empty one is neither trimmed nor touched
    ctx = hand_ctx(hand_data([[3.0, 2.0, 0.0, 0.0]]), {CAP_SLEEVE: [[0.6, 0.4, 0.0, 0.0]]})
    TrimTopK(k=3, mode="cap", cap=0.3)(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [0.3, 0.3, 0.0, 0.0], rtol=0, atol=1e-15)
    assert ctx.freed[0] == pytest.approx(0.4)
    np.testing.assert_array_equal(ctx.trimmed[0], [True, True, False, False])


def test_trim_twice_ranks_the_trimmed_weights(hand_data, hand_ctx):
    # caps 5, 4, 1: cut the largest to 0.3 (0.5 -> 0.3); the largest is now name 1 (0.4), cut to 0.35
    ctx = hand_ctx(hand_data([[5.0, 4.0, 1.0]]))
    WeighByCap()(ctx)
    TrimTopK(k=1, mode="cap", cap=0.3)(ctx)
    assert ctx.cap_ranked is False
    TrimTopK(k=1, mode="cap", cap=0.35)(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [0.3, 0.35, 0.1])
    assert ctx.freed[0] == pytest.approx(0.25)
    np.testing.assert_array_equal(ctx.trimmed[0], [True, True, False])


def test_trim_needs_the_cap_sleeve_alone(hand_data, hand_ctx):
    data = hand_data([[2.0, 1.0]])
    msg = r"^TrimTopK needs a cap-weighted sleeve first \(WeighByCap\)$"
    with pytest.raises(BroadeningError, match=msg):
        TrimTopK(k=1)(hand_ctx(data, {"equal_weight": [[0.5, 0.5]]}))
    with pytest.raises(BroadeningError, match=msg):
        TrimTopK(k=1)(hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.0]], "other": [[0.0, 0.5]]}))
    # without the split by sleeve the one total sleeve is trimmed
    ctx = hand_ctx(data, {"total": [[0.6, 0.4]]}, split=False)
    TrimTopK(k=1, mode="cap", cap=0.5)(ctx)
    np.testing.assert_allclose(ctx.sleeves["total"][0], [0.5, 0.4])


def test_trim_mode_must_be_cap_or_cut():
    with pytest.raises(ValueError, match="^mode must be 'cap' or 'cut', got 'clip'$"):
        TrimTopK(mode="clip")


# --- Redeploy ------------------------------------------------------------------------------


def test_redeploy_empty_sleeve_goes_to_core_and_excludes_topk(market, ctx_at):
    T, N = market.shape
    only_s0 = np.zeros((T, N), dtype=bool)
    only_s0[:, 0] = True
    baskets = {"bdcs": lambda m: only_s0, "ai_adopters": lambda m: np.zeros((T, N), dtype=bool)}
    ctx = ctx_at(market, baskets=baskets)
    TrimTopK(k=1, mode="cut", cut=0.5)(ctx.ctx)
    freed = ctx.freed
    red = Redeploy({CORE_SLEEVE: 0.5, "bdcs": 0.25, "ai_adopters": 0.25}, baskets)
    red(ctx.ctx)
    assert ctx.empty == ["ai_adopters"]
    assert ctx.sleeve("bdcs")[0] == pytest.approx(0.25 * freed)
    core = ctx.sleeve(CORE_SLEEVE)
    assert core[ctx.topk[0]] == 0.0
    assert core.sum() == pytest.approx(0.75 * freed)  # its own half plus the empty sleeve's quarter
    assert ctx.weights.sum() == pytest.approx(1.0)


def test_redeploy_unavailable_basket_is_empty_with_a_note(market, ctx_at):
    def broken(m):
        raise KeyError("no fundamentals stored")

    ctx = ctx_at(market, baskets={"small_cap_quality": broken})
    TrimTopK(k=1, mode="cut", cut=0.5)(ctx.ctx)
    freed = ctx.freed
    red = Redeploy({CORE_SLEEVE: 0.5, "small_cap_quality": 0.5}, {"small_cap_quality": broken})
    red(ctx.ctx)
    assert ctx.empty == ["small_cap_quality"]
    assert ctx.notes == ["sleeve 'small_cap_quality' unavailable ('no fundamentals stored'); its share went to the core"]
    assert ctx.sleeve(CORE_SLEEVE).sum() == pytest.approx(freed)
    assert ctx.weights.sum() == pytest.approx(1.0)


def test_redeploy_builds_a_basket_not_prepared_with_the_data(market, ctx_at):
    # the data were built without baskets: Redeploy's own basket function is evaluated on the market
    T, N = market.shape
    only_s0 = np.zeros((T, N), dtype=bool)
    only_s0[:, 0] = True
    ctx = ctx_at(market)
    TrimTopK(k=1, mode="cut", cut=0.5)(ctx.ctx)
    freed = ctx.freed
    Redeploy({CORE_SLEEVE: 0.5, "bdcs": 0.5}, {"bdcs": lambda m: only_s0})(ctx.ctx)
    np.testing.assert_allclose(ctx.sleeve("bdcs"), np.r_[0.5 * freed, np.zeros(N - 1)])
    assert ctx.empty == []


def test_redeploy_without_a_core_share_fills_the_sleeves_only(hand_data, hand_ctx):
    # freed 0.2, all to sleeve b: its two eligible names get 0.1 each; no core sleeve appears
    data = hand_data([[4.0, 3.0, 2.0, 1.0]], baskets={"b": [[False, False, True, True]]})
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.2, 0.3, 0.2, 0.1]]}, freed=[0.2], trimmed=[[True, False, False, False]])
    Redeploy({"b": 1.0}, {})(ctx)
    assert set(ctx.sleeves) == {CAP_SLEEVE, "b"}
    np.testing.assert_allclose(ctx.sleeves["b"][0], [0.0, 0.0, 0.1, 0.1], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(ctx.empty["b"], [False])
    np.testing.assert_array_equal(ctx.freed, [0.0])
    assert ctx.notes == []


def test_redeploy_with_nobody_selected_and_no_core_share_does_nothing_else(hand_data, hand_ctx):
    data = hand_data([[4.0, 3.0, 2.0, 1.0]], baskets={"b": [[False, False, True, True]]})
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.4, 0.3, 0.1, 0.0]]}, selected=np.zeros((1, 4), dtype=bool),
                   freed=[0.2], trimmed=[[True, False, False, False]])
    Redeploy({"b": 1.0}, {})(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [0.4, 0.3, 0.1, 0.0])
    np.testing.assert_allclose(ctx.sleeves["b"][0], [0.0, 0.0, 0.1, 0.1])
    assert ctx.notes == []


def test_redeploy_skips_a_sleeve_with_no_share(hand_data, hand_ctx):
    # z has share 0: never evaluated, never marked empty; the core takes all 0.3 over names 1, 2
    data = hand_data([[4.0, 3.0, 2.0]], baskets={"z": [[False, False, False]]})
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.4, 0.2, 0.1]]}, freed=[0.3], trimmed=[[True, False, False]])
    Redeploy({CORE_SLEEVE: 1.0, "z": 0.0}, {})(ctx)
    assert set(ctx.sleeves) == {CAP_SLEEVE, CORE_SLEEVE}
    assert ctx.empty == {}
    np.testing.assert_allclose(ctx.sleeves[CORE_SLEEVE][0], [0.0, 0.15, 0.15])


def test_redeploy_unavailable_sleeve_then_an_available_one(hand_data, hand_ctx):
    # x cannot be computed (no reason recorded): its half goes to the core (names 1..3, 0.1 / 3 each);
    # b (after it) still gets its half on its two names (0.05 each)
    data = hand_data([[4.0, 3.0, 2.0, 1.0]], baskets={"x": None, "b": [[False, False, True, True]]})
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.3, 0.3, 0.2, 0.0]]}, freed=[0.2], trimmed=[[True, False, False, False]])
    Redeploy({"x": 0.5, "b": 0.5}, {})(ctx)
    assert ctx.notes == ["sleeve 'x' unavailable (no data); its share went to the core"]
    assert ctx.empty["x"].dtype == bool
    np.testing.assert_array_equal(ctx.empty["x"], [True])
    np.testing.assert_array_equal(ctx.empty["b"], [False])
    np.testing.assert_allclose(ctx.sleeves["b"][0], [0.0, 0.0, 0.05, 0.05])
    np.testing.assert_allclose(ctx.sleeves[CORE_SLEEVE][0], [0.0, 0.1 / 3, 0.1 / 3, 0.1 / 3])


def test_redeploy_core_falls_back_to_the_trimmed_names_when_nothing_else_is_selected(hand_data, hand_ctx):
    # row 0: the only selected name was trimmed -> the core holds it (nc = 1, all 0.1)
    # row 1: names 0, 1 selected, 0 trimmed -> the core holds name 1
    data = hand_data(np.ones((2, 3)))
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.9, 0.0, 0.0], [0.5, 0.4, 0.0]]},
                   selected=[[True, False, False], [True, True, False]], freed=[0.1, 0.1],
                   trimmed=[[True, False, False], [True, False, False]])
    Redeploy({CORE_SLEEVE: 1.0}, {})(ctx)
    np.testing.assert_allclose(ctx.sleeves[CORE_SLEEVE], [[0.1, 0.0, 0.0], [0.0, 0.1, 0.0]])
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE], [[0.9, 0.0, 0.0], [0.5, 0.4, 0.0]])
    assert ctx.notes == []


def test_redeploy_core_share_differs_by_row(hand_data, hand_ctx):
    # b (share 1) has a name on row 0 only: row 0 gives b all 0.2; row 1 hands it to the core (names 1, 2)
    data = hand_data(np.ones((2, 3)), baskets={"b": [[False, False, True], [False, False, False]]})
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.4, 0.2, 0.2], [0.4, 0.2, 0.2]]}, freed=[0.2, 0.2],
                   trimmed=[[True, False, False], [True, False, False]])
    Redeploy({"b": 1.0}, {})(ctx)
    np.testing.assert_array_equal(ctx.empty["b"], [False, True])
    np.testing.assert_allclose(ctx.sleeves["b"], [[0.0, 0.0, 0.2], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(ctx.sleeves[CORE_SLEEVE], [[0.0, 0.0, 0.0], [0.0, 0.1, 0.1]])


def test_redeploy_with_nobody_to_hold_returns_the_weight_to_the_cap_names(hand_data, hand_ctx):
    # the core's half of the freed weight goes back pro rata to the cap sleeve's names when nobody is selected:
    # row 0: freed 0.2, core half 0.1 over cap (0.3, 0.1): +0.075, +0.025
    # row 1: freed 0.2 but the cap sleeve is empty: nothing to return to (stays cash)
    # row 2: nothing freed: unchanged
    # row 3: names 0, 1 selected: the core holds them (0.05 each), the cap sleeve is unchanged
    # b (the other half) has name 2 on every row: 0.1 where something was freed
    data = hand_data(np.ones((4, 3)), baskets={"b": np.tile([False, False, True], (4, 1))})
    cap = [[0.3, 0.1, 0.0], [0.0, 0.0, 0.0], [0.3, 0.1, 0.0], [0.3, 0.1, 0.0]]
    sel = np.zeros((4, 3), dtype=bool)
    sel[3, :2] = True
    ctx = hand_ctx(data, {CAP_SLEEVE: cap}, selected=sel, freed=[0.2, 0.2, 0.0, 0.2])
    Redeploy({CORE_SLEEVE: 0.5, "b": 0.5}, {})(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE],
                               [[0.375, 0.125, 0.0], [0.0, 0.0, 0.0], [0.3, 0.1, 0.0], [0.3, 0.1, 0.0]])
    np.testing.assert_allclose(ctx.sleeves[CORE_SLEEVE], [[0.0] * 3, [0.0] * 3, [0.0] * 3, [0.05, 0.05, 0.0]])
    np.testing.assert_allclose(ctx.sleeves["b"][:, 2], [0.1, 0.1, 0.0, 0.1])
    assert ctx.notes == ["no index members to redeploy into; freed weight returned pro rata"]
    np.testing.assert_array_equal(ctx.freed, np.zeros(4))


def test_redeploy_with_nobody_to_hold_and_only_a_core_adds_no_core_sleeve(hand_data, hand_ctx):
    # freed 0.2, nobody selected: all of it back to the cap names (0.6, 0.2) pro rata -> (0.75, 0.25)
    data = hand_data([[3.0, 1.0, 0.0]])
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.6, 0.2, 0.0]]}, selected=np.zeros((1, 3), dtype=bool), freed=[0.2])
    Redeploy({CORE_SLEEVE: 1.0}, {})(ctx)
    assert set(ctx.sleeves) == {CAP_SLEEVE}
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [0.75, 0.25, 0.0])


def test_redeploy_with_nothing_freed_and_nobody_selected_is_silent(hand_data, hand_ctx):
    data = hand_data([[3.0, 1.0, 0.0]])
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.6, 0.2, 0.0]]}, selected=np.zeros((1, 3), dtype=bool), freed=[0.0])
    Redeploy({CORE_SLEEVE: 1.0}, {})(ctx)
    assert ctx.notes == []
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [0.6, 0.2, 0.0])
