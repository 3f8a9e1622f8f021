"""Constraints (Constrain, TurnoverBudget) and their helpers (cap_rows, cap_weights, sector_fit, drift)."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.playbook.algos import (
    CAP_SLEEVE,
    CORE_SLEEVE,
    Constrain,
    Context,
    RebalanceData,
    TurnoverBudget,
    cap_rows,
    cap_weights,
    sector_fit,
)
from broadening.playbook.constraints import drift, sector_bounds_hold


def test_cap_weights_water_filling():
    w = np.array([0.5, 0.3, 0.1, 0.1])
    out = cap_weights(w, 0.3)
    assert out.sum() == pytest.approx(1.0)
    assert out.max() <= 0.3 + 1e-12
    np.testing.assert_allclose(out, [0.3, 0.3, 0.2, 0.2])
    # impossible: 2 names x 0.3 < 1, the rest stays cash
    np.testing.assert_allclose(cap_weights(np.array([0.5, 0.5]), 0.3), [0.3, 0.3])


def test_sector_fit_holds_bounds_and_total():
    w = np.array([0.4, 0.3, 0.1, 0.1, 0.05, 0.05])
    sectors = np.array(["E", "E", "F", "F", "T", "T"])
    out = sector_fit(w, sectors, {"E": (0.0, 0.4), "T": (0.2, 1.0)})
    assert out.sum() == pytest.approx(1.0)
    assert out[sectors == "E"].sum() == pytest.approx(0.4)
    assert out[sectors == "T"].sum() >= 0.2 - 1e-9


def test_constrain_keeps_sleeve_split(market, ctx_at):
    ctx = ctx_at(market)
    w = ctx.sleeves.pop("cap_weight")
    ctx.ctx.sleeves = {"a": 0.5 * w, "b": 0.5 * w}
    Constrain(max_weight=0.2)(ctx.ctx)
    assert ctx.weights.max() <= 0.2 + 1e-12
    np.testing.assert_allclose(ctx.sleeve("a"), ctx.sleeve("b"))
    assert ctx.weights.sum() == pytest.approx(1.0)


def test_turnover_budget_blends_to_the_budget(market, ctx_at):
    ctx = ctx_at(market)
    n = len(market.ids)
    prev = np.full(n, 1.0 / n)
    ctx.ctx.initial = prev
    target = ctx.weights.copy()
    full = 0.5 * np.abs(target - prev).sum()
    TurnoverBudget(full / 2)(ctx.ctx)
    assert 0.5 * np.abs(ctx.weights - prev).sum() == pytest.approx(full / 2)
    np.testing.assert_allclose(ctx.weights, 0.5 * target + 0.5 * prev)
    # the part still held from the book is its own sleeve, the rest keeps its sleeve
    np.testing.assert_allclose(ctx.sleeve("current_book"), 0.5 * prev)
    np.testing.assert_allclose(ctx.sleeve("cap_weight"), 0.5 * target)


def test_turnover_budget_blends_each_row_with_the_previous_result_drifted(market):
    pos = np.array([200, 221, 242, 263])
    data = RebalanceData.build(market, pos, "sp500")
    R, N = data.shape
    ctx = Context(data=data, selected=np.zeros((R, N), dtype=bool), freed=np.zeros(R), trimmed=np.zeros((R, N), dtype=bool))
    rng = np.random.default_rng(3)
    targets = rng.dirichlet(np.ones(N), size=R)
    ctx.sleeves = {"x": targets.copy()}
    budget = 0.05
    TurnoverBudget(budget)(ctx)
    out = ctx.weights
    np.testing.assert_allclose(out[0], targets[0])  # built from cash: no budget
    tri = market.total_return_index[pos]
    for r in range(1, R):
        grown = out[r - 1] * tri[r] / tri[r - 1]
        prev = grown / grown.sum()  # fully invested, nothing delisted: no cash
        full = 0.5 * np.abs(targets[r] - prev).sum()
        a = min(1.0, budget / full)
        np.testing.assert_allclose(out[r], prev + a * (targets[r] - prev), atol=1e-15)



# --- cap_rows / cap_weights ----------------------------------------------------------------


def test_cap_rows_hands_the_excess_pro_rata_and_leaves_the_input_alone():
    # row 0: 3 over 2 -> its excess 1 goes to the two names at 1 (0.5 each); integer input, float output
    # row 1: 0.6, 0.25, 0.15 at 0.35 takes two passes: 0.25 of excess -> 0.40625, 0.24375; then name 1's
    # 0.05625 goes to name 2 -> 0.35, 0.35, 0.3
    np.testing.assert_allclose(cap_rows(np.array([[3, 1, 1]]), 2.0), [[2.0, 1.5, 1.5]])
    w = np.array([[0.6, 0.25, 0.15], [0.2, 0.3, 0.5]])
    before = w.copy()
    out = cap_rows(w, 0.35)
    np.testing.assert_array_equal(w, before)
    np.testing.assert_allclose(out[0], [0.35, 0.35, 0.3])
    # row 1: 0.5 -> 0.35, its 0.15 to names 0, 1 pro rata (0.2, 0.3 -> 0.26, 0.39), then 0.04 from name 1
    # to name 0 -> 0.30, 0.35, 0.35
    np.testing.assert_allclose(out[1], [0.3, 0.35, 0.35])


def test_cap_rows_stops_after_max_iter_passes():
    # one pass leaves name 1 at 0.40625, clipped to the limit; the remainder is cash
    np.testing.assert_allclose(cap_weights(np.array([0.6, 0.25, 0.15]), 0.35, max_iter=1), [0.35, 0.35, 0.24375])
    np.testing.assert_allclose(cap_rows(np.array([[0.6, 0.25, 0.15]]), 0.35, max_iter=1), [[0.35, 0.35, 0.24375]])
    np.testing.assert_allclose(cap_weights(np.array([0.6, 0.25, 0.15]), 0.35), [0.35, 0.35, 0.3])


def test_cap_rows_clips_a_hair_over_the_limit_without_redistributing():
    # within the 1e-12 relative tolerance a weight is clipped, not treated as over (nothing handed on)
    hair = 0.5 * (1 + 1e-12)
    out = cap_rows(np.array([[hair, 0.25, 0.25]]), 0.5)
    np.testing.assert_array_equal(out, [[0.5, 0.25, 0.25]])


# --- sector_fit ----------------------------------------------------------------------------

SEC = np.array(["A", "A", "B", "B", "C", "C"])


def test_sector_fit_one_pass_fixes_sectors_at_their_bounds():
    # A (hi 0.3) holds 0.5 -> 0.3; B sits at its hi 0.3 exactly (fixed, takes nothing); C is free and
    # takes the rest, 1 - 0.6 = 0.4, in a single pass
    w = np.array([0.25, 0.25, 0.2, 0.1, 0.1, 0.1])
    out = sector_fit(w, SEC, {"A": (0.0, 0.3), "B": (0.0, 0.3)}, max_iter=1)
    np.testing.assert_allclose(out, [0.15, 0.15, 0.2, 0.1, 0.2, 0.2])


def test_sector_fit_a_sector_at_its_floor_takes_nothing():
    # A (hi 0.4) holds 0.6 -> 0.4; B sits at its floor 0.3 exactly: fixed, so C alone takes the 0.2
    w = np.array([0.3, 0.3, 0.15, 0.15, 0.05, 0.05])
    out = sector_fit(w, SEC, {"A": (0.0, 0.4), "B": (0.3, 1.0)})
    np.testing.assert_allclose(out, [0.2, 0.2, 0.15, 0.15, 0.15, 0.15])


def test_sector_fit_in_bound_sectors_absorb_with_the_unbounded():
    # A (hi 0.4) holds 0.6 -> 0.4; B (bounds 0.2..0.9, holding 0.3) is inside them: B and C take the
    # freed 0.2 pro rata to their 0.3 and 0.1 -> B 0.45, C 0.15
    w = np.array([0.3, 0.3, 0.2, 0.1, 0.05, 0.05])
    out = sector_fit(w, SEC, {"A": (0.0, 0.4), "B": (0.2, 0.9)})
    np.testing.assert_allclose(out, [0.2, 0.2, 0.3, 0.15, 0.075, 0.075])


def test_sector_fit_repeats_until_no_sector_is_pushed_past_a_bound():
    # pass 1: A (hi 0.4) 0.6 -> 0.4; B (hi 0.35) and C absorb 0.2 pro rata: B 0.45, C 0.15 - B now over
    # pass 2: B 0.45 -> 0.35 (x 7/9); A and B fixed, C takes the rest 0.25
    w = np.array([0.3, 0.3, 0.2, 0.1, 0.05, 0.05])
    out = sector_fit(w, SEC, {"A": (0.0, 0.4), "B": (0.0, 0.35)})
    np.testing.assert_allclose(out, [0.2, 0.2, 0.7 / 3, 0.35 / 3, 0.125, 0.125])


def test_sector_fit_seeds_an_empty_sector_with_a_floor_over_its_candidates():
    # C (floor 0.1) holds nothing: seeded equally over its candidate names (4, not 5), then scaled to 0.1;
    # A and B give it up pro rata
    w = np.array([0.5, 0.2, 0.2, 0.1, 0.0, 0.0])
    cand = np.array([True, True, True, True, True, False])
    out = sector_fit(w, SEC, {"C": (0.1, 1.0)}, candidates=cand)
    np.testing.assert_allclose(out, [0.45, 0.18, 0.18, 0.09, 0.1, 0.0])
    # the seed is tiny: with a ceiling of 0.3 the sector still lands on its floor, not its ceiling
    out = sector_fit(w, SEC, {"C": (0.1, 0.3)}, candidates=cand)
    np.testing.assert_allclose(out, [0.45, 0.18, 0.18, 0.09, 0.1, 0.0])
    # no floor, no candidates, or already held: nothing is seeded
    np.testing.assert_array_equal(sector_fit(w, SEC, {"C": (0.0, 0.5)}, candidates=cand), w)
    np.testing.assert_array_equal(sector_fit(w, SEC, {"C": (0.1, 0.5)}), w)
    held = np.array([0.5, 0.2, 0.1, 0.1, 0.1, 0.0])
    np.testing.assert_allclose(sector_fit(held, SEC, {"C": (0.05, 0.5)}, candidates=cand), held)


def test_sector_fit_tolerances_at_the_bounds():
    # within 1e-10 relative of a bound a sector is left exactly as it is
    w = np.array([0.2 * (1 + 5e-11), 0.2 * (1 + 5e-11), 0.3, 0.3 * (1 - 5e-11), 0.0, 0.0])
    w[4] = 1.0 - w.sum()
    out = sector_fit(w, SEC, {"A": (0.0, 0.4), "B": (0.6, 1.0)})
    np.testing.assert_array_equal(out, w)
    # a sector bounded at 0 that holds nothing stays empty (no 0 / 0)
    w = np.array([0.5, 0.5, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(sector_fit(w, SEC, {"B": (0.0, 0.0)}), w)


def test_sector_fit_leaves_an_unseeded_empty_sector_below_its_floor():
    # B (floor 0.2) holds nothing and there are no candidates: allowed (a held sector is at least its floor)
    w = np.array([0.5, 0.5, 0.0, 0.0, 0.0, 0.0])
    out = sector_fit(w, SEC, {"B": (0.2, 1.0)})
    np.testing.assert_array_equal(out, w)


# --- sector_bounds_hold --------------------------------------------------------------------


def test_sector_bounds_hold_checks_max_weight_with_a_tolerance():
    sec = np.array(["A", "B"])
    assert sector_bounds_hold(np.array([0.9, 0.1]), sec, {}, None) is True
    assert sector_bounds_hold(np.array([0.5, 0.5]), sec, {}, 0.5) is True
    assert sector_bounds_hold(np.array([0.5 * (1 + 1e-9), 0.4]), sec, {}, 0.5) is True
    assert sector_bounds_hold(np.array([0.5 * (1 + 3e-9), 0.4]), sec, {}, 0.5) is False
    assert sector_bounds_hold(np.array([0.6, 0.4]), sec, {}, 0.5) is False


def test_sector_bounds_hold_checks_each_sector():
    sec = np.array(["A", "A", "B"])
    w = np.array([0.3, 0.3, 0.4])  # A 0.6, B 0.4
    assert sector_bounds_hold(w, sec, {"A": (0.6, 0.6), "B": (0.4, 0.4)}, None) is True
    assert sector_bounds_hold(w, sec, {"A": (0.0, 0.6 + 1e-9)}, None) is True
    assert sector_bounds_hold(w, sec, {"A": (0.0, 0.55)}, None) is False
    assert sector_bounds_hold(w, sec, {"A": (0.0, 0.5)}, 1.0) is False
    assert sector_bounds_hold(w, sec, {"B": (0.0, 0.5)}, None) is True  # sector B alone, not "not A"
    assert sector_bounds_hold(w, sec, {"A": (0.7, 1.0)}, None) is False
    assert sector_bounds_hold(w, sec, {"A": (0.5, 1.0)}, None) is True
    # a sector not held may sit under its floor
    assert sector_bounds_hold(np.array([0.6, 0.4, 0.0]), sec, {"B": (0.2, 1.0)}, None) is True
    # a held sector under its floor by more than 1e-9
    assert sector_bounds_hold(np.array([0.5, 0.3, 0.2]), sec, {"B": (0.3, 1.0)}, None) is False


# --- Constrain -----------------------------------------------------------------------------


def test_constrain_reads_sector_bounds_as_lo_hi_floats():
    c = Constrain(max_weight=0.1, sector_bounds={"Tech": [0, 1], "Energy": (0.05, 0.3)})
    assert c.sector_bounds == {"Tech": (0.0, 1.0), "Energy": (0.05, 0.3)}
    assert all(type(v) is float for b in c.sector_bounds.values() for v in b)
    assert c.max_weight == 0.1
    assert Constrain().sector_bounds == {}


def test_constrain_without_limits_or_within_them_changes_nothing(hand_data, hand_ctx):
    data = hand_data([[5.0, 3.0, 2.0]])
    for algo in (Constrain(), Constrain(max_weight=0.5)):
        ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.3, 0.2]]}, cap_ranked=True)
        sleeve = ctx.sleeves[CAP_SLEEVE]
        algo(ctx)
        assert ctx.sleeves[CAP_SLEEVE] is sleeve and ctx.cap_ranked is True


def test_constrain_leaves_a_weight_within_the_tolerance_of_the_max(hand_data, hand_ctx):
    hair = 0.5 * (1 + 1e-12)
    ctx = hand_ctx(hand_data([[5.0, 3.0, 2.0]]), {CAP_SLEEVE: [[hair, 0.3, 0.2]]}, cap_ranked=True)
    sleeve = ctx.sleeves[CAP_SLEEVE]
    Constrain(max_weight=0.5)(ctx)
    assert ctx.sleeves[CAP_SLEEVE] is sleeve and ctx.cap_ranked is True


def test_constrain_max_weight_on_every_row(hand_data, hand_ctx):
    # row 0: 0.6 -> 0.4, its 0.2 to 0.25, 0.15 pro rata -> 0.375, 0.225; row 1 within the cap
    data = hand_data(np.ones((2, 3)))
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.6, 0.25, 0.15], [0.4, 0.3, 0.3]]}, cap_ranked=True)
    Constrain(max_weight=0.4)(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE], [[0.4, 0.375, 0.225], [0.4, 0.3, 0.3]])
    assert set(ctx.sleeves) == {CAP_SLEEVE} and ctx.cap_ranked is False


def test_constrain_sector_bounds_seed_the_selection_into_the_core(hand_data, hand_ctx):
    # A (hi 0.5) holds 0.7 -> 5/14, 1/7; C (floor 0.1) is empty: seeded over its selected names (0.05 each,
    # new names -> the core sleeve); B takes the rest 0.4 pro rata -> 4/15, 2/15
    # row 1: within every bound, unchanged
    data = hand_data(np.ones((2, 6)), sectors=SEC)
    w = [[0.5, 0.2, 0.2, 0.1, 0.0, 0.0], [0.25, 0.2, 0.2, 0.1, 0.15, 0.1]]
    ctx = hand_ctx(data, {CAP_SLEEVE: w})
    Constrain(sector_bounds={"A": (0.0, 0.5), "C": (0.1, 1.0)})(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE], [[5 / 14, 1 / 7, 4 / 15, 2 / 15, 0, 0], w[1]])
    np.testing.assert_allclose(ctx.sleeves[CORE_SLEEVE], [[0, 0, 0, 0, 0.05, 0.05], [0] * 6])
    assert ctx.notes == []


def test_constrain_sector_bounds_then_max_weight(hand_data, hand_ctx):
    # sector fit: A (hi 0.6) 0.7 -> 18/35, 3/35; B takes 0.4 -> 4/15, 2/15
    # cap 0.4: name 0 gives 4/35 to the others (17/35) pro rata, x 21/17 -> 0.4, 9/85, 28/85, 14/85
    data = hand_data(np.ones((1, 4)), sectors=["A", "A", "B", "B"])
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.6, 0.1, 0.2, 0.1]]})
    Constrain(max_weight=0.4, sector_bounds={"A": (0.0, 0.6)})(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE][0], [34 / 85, 9 / 85, 28 / 85, 14 / 85])
    assert ctx.notes == []


def test_constrain_notes_when_max_weight_and_sector_bounds_conflict(hand_data, hand_ctx):
    # A is one name with a floor of 0.8 but the max weight is 0.5: the fit and the cap undo each other;
    # the capped weights are kept: 0.5 in A, the rest back in B
    data = hand_data(np.ones((1, 3)), sectors=["A", "B", "B"])
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.5, 0.25, 0.25]]})
    Constrain(max_weight=0.5, sector_bounds={"A": (0.8, 1.0)})(ctx)
    np.testing.assert_allclose(ctx.weights[0], [0.5, 0.25, 0.25])
    assert ctx.notes == ["constraints: max weight and sector bounds could not both be met exactly"]


# --- drift and TurnoverBudget --------------------------------------------------------------


def test_drift_turns_delisted_weight_into_cash():
    # 0.5 grows 20%, 0.3 is delisted (cash), 0.2 was cash: value 0.6 + 0.5 cash = 1.1
    w, scale = drift(np.array([0.5, 0.3]), np.array([1.2, 0.0]))
    np.testing.assert_allclose(w, [0.6 / 1.1, 0.0])
    assert scale == pytest.approx(1 / 1.1)


def test_turnover_budget_drifts_blends_each_sleeve_and_drops_delisted_names(hand_data, hand_ctx):
    # row 0 is built from cash (no budget). Row 1: name 1 is delisted (no price), name 0 grew 10%:
    # drifted book (0.55, 0, 0.2) / 1.05 with 0.3 / 1.05 cash; target (0.5, 0, 0.5) (name 1's 0.1 dropped):
    # turnover 0.5 (0.025 + 0.325) / 1.05 = 1/6 > 0.1 -> a = 0.6 of the way, sleeve by sleeve:
    #   a: 0.6 * 0.5 + 0.4 * 0.55 / 1.05 on name 0;  b: 0.6 * 0.5 + 0.4 * 0.2 / 1.05 on name 2
    # Row 2: prices flat, target = row 1's target; the drifted book is row 1's result: turnover
    # 0.5 (|0.5 - a0| + |0.5 - b2|) = 0.5 (0.4 (0.5 - 0.55/1.05) + 0.4 (0.5 - 0.2/1.05)) < 0.1: kept.
    # Row 3: a jump in target (name 0 to 0): binding again against row 2's result.
    data = hand_data(np.ones((4, 3)), alive=[[True] * 3, [True, False, True], [True, False, True], [True, False, True]],
                     tri=[[1.0, 1.0, 1.0], [1.1, np.nan, 1.0], [1.1, np.nan, 1.0], [1.1, np.nan, 1.0]])
    a = [[0.5, 0.3, 0.0], [0.5, 0.1, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]]
    b = [[0.0, 0.0, 0.2], [0.0, 0.0, 0.5], [0.0, 0.0, 0.5], [0.0, 0.0, 1.0]]
    ctx = hand_ctx(data, {"a": a, "b": b}, cap_ranked=True)
    TurnoverBudget(0.1)(ctx)
    a1, b1 = 0.3 + 0.4 * 0.55 / 1.05, 0.3 + 0.4 * 0.2 / 1.05
    np.testing.assert_allclose(ctx.sleeves["a"][:3], [[0.5, 0.3, 0.0], [a1, 0.0, 0.0], [0.5, 0.0, 0.0]])
    np.testing.assert_allclose(ctx.sleeves["b"][:3], [[0.0, 0.0, 0.2], [0.0, 0.0, b1], [0.0, 0.0, 0.5]])
    # row 3: from (0.5, 0, 0.5) with 0 cash -> turnover to (0, 0, 1) is 0.5 -> a = 0.2
    np.testing.assert_allclose(ctx.sleeves["a"][3], [0.4, 0.0, 0.0])
    np.testing.assert_allclose(ctx.sleeves["b"][3], [0.0, 0.0, 0.6])
    assert set(ctx.sleeves) == {"a", "b"}  # no book sleeve without a book
    assert ctx.cap_ranked is False


def test_turnover_budget_not_binding_changes_nothing(hand_data, hand_ctx):
    # from a book of (0.5, 0.5) to (1, 0): turnover exactly 0.5 = the budget
    data = hand_data([[1.0, 1.0]])
    ctx = hand_ctx(data, {CAP_SLEEVE: [[1.0, 0.0]]}, initial=np.array([0.5, 0.5]), cap_ranked=True)
    sleeve = ctx.sleeves[CAP_SLEEVE]
    TurnoverBudget(0.5)(ctx)
    assert set(ctx.sleeves) == {CAP_SLEEVE} and ctx.sleeves[CAP_SLEEVE] is sleeve
    assert ctx.cap_ranked is True


def test_turnover_budget_drops_the_book_sleeve_when_nothing_is_still_held(hand_data, hand_ctx):
    # row 0 moves from the book (0.5, 0.5) to (0.6, 0.4): turnover 0.1 <= 0.2, the target is kept whole;
    # row 1 jumps to (0, 1): turnover 0.6 -> a = 1/3, blended with row 0's result, nothing from the book
    data = hand_data(np.ones((2, 2)))
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.6, 0.4], [0.0, 1.0]], "z": np.zeros((2, 2))}, initial=np.array([0.5, 0.5]))
    TurnoverBudget(0.2)(ctx)
    assert set(ctx.sleeves) == {CAP_SLEEVE, "z"}  # an empty sleeve of the target stays
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE], [[0.6, 0.4], [0.4, 0.6]])


def test_constrain_reads_each_rows_sectors_on_a_lane_packed_market(hand_data, hand_ctx):
    # a lane's sector can change between rows: row 0 has A = names 0, 1 (0.6 -> 0.4, B takes the rest),
    # row 1 has A = name 0 only (0.3, within the bound)
    data = hand_data(np.ones((2, 3)), sectors=[["A", "A", "B"], ["A", "B", "B"]])
    ctx = hand_ctx(data, {CAP_SLEEVE: [[0.3, 0.3, 0.4], [0.3, 0.3, 0.4]]})
    Constrain(sector_bounds={"A": (0.0, 0.4)})(ctx)
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE], [[0.2, 0.2, 0.6], [0.3, 0.3, 0.4]])
