"""The context the algos share: RebalanceData, Context and AlgoStack over every rebalance row at once."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from broadening.errors import BroadeningError
from broadening.playbook.algos import (
    CAP_SLEEVE,
    CORE_SLEEVE,
    Algo,
    AlgoStack,
    RebalanceData,
    Redeploy,
    SelectMembers,
    TrackingErrorBudget,
    TrimTopK,
    TurnoverBudget,
    WeighByCap,
    WeighEqually,
)
from broadening.playbook.context import regime_at

# --- a hand-built market: five names over six business days from Mon 2024-01-01 -------------
# A member all along (2 shares), B member from its first price on day 2, C never a member (in the
# basket "b"), D never a member nor in a basket, E a member priced from day 4 only.

DAYS = pd.bdate_range("2024-01-01", periods=6)


@pytest.fixture
def five(make_market):
    closes = {"A": [10, 10, 11, 12, 12, 12], "B": [None, None, 20, 20, 21, 22], "C": [5] * 6, "D": [7] * 6,
              "E": [None] * 4 + [30, 30]}
    membership = [{"index_id": "sp500", "security_id": s, "start": DAYS[0], "end": None} for s in "ABE"]
    return make_market(closes, shares={"A": 2.0}, membership=membership,
                       sectors={"A": "Tech", "B": "Energy", "C": "Tech", "D": "Tech", "E": "Tech"})


def basket_c(market):
    out = np.zeros(market.shape, dtype=bool)
    out[:, list(market.ids).index("C")] = True
    return out


def broken(market):
    raise KeyError("no flags stored")


def test_build_cuts_the_market_to_the_rebalance_rows_and_holdable_names(five):
    score = pd.Series([0.7, 0.2], index=[DAYS[0], DAYS[3]])
    data = RebalanceData.build(five, np.array([1, 3]), "sp500", baskets={"b": basket_c, "bad": broken},
                               regime_score=score, returns=True)
    # holdable: members with a price on a row (A; A, B) or basket names (C); D and E are not
    assert list(data.ids) == ["A", "B", "C"]
    np.testing.assert_array_equal(data.cols, [0, 1, 2])
    assert data.has_index and data.index_id == "sp500"
    np.testing.assert_array_equal(data.positions, [1, 3])
    assert data.shape == (2, 3)
    np.testing.assert_array_equal(data.alive, [[True, False, True], [True, True, True]])
    np.testing.assert_array_equal(data.members, [[True, False, False], [True, True, False]])
    np.testing.assert_allclose(data.cap, [[20.0, np.nan, 5.0], [24.0, 20.0, 5.0]])
    np.testing.assert_allclose(data.tri, [[10.0, np.nan, 5.0], [12.0, 20.0, 5.0]])
    np.testing.assert_array_equal(data.sectors, ["Tech", "Energy", "Tech"])
    np.testing.assert_array_equal(data.baskets["b"], [[False, False, True], [False, False, True]])
    assert data.baskets["bad"] is None and data.why == {"bad": "'no flags stored'"}
    np.testing.assert_allclose(data.regime, [0.7, 0.2])
    # daily returns of A, B, C, 0 where unknown (B before day 3)
    np.testing.assert_allclose(data.returns[:, :2], [[0, 0], [0, 0], [0.1, 0], [1 / 11, 0], [0, 0.05], [0, 1 / 21]])
    np.testing.assert_array_equal(data.returns[:, 2], np.zeros(6))
    assert data.dates[0] == np.datetime64("2024-01-01") and len(data.dates) == 6
    assert data.market is five
    assert data.alive.flags["C_CONTIGUOUS"] and data.members.flags["C_CONTIGUOUS"]


def test_build_keeps_asked_names_and_uses_every_listed_name_without_membership(five):
    data = RebalanceData.build(five, np.array([1, 3]), "sp500", keep=np.array([False, False, False, True, False]))
    assert list(data.ids) == ["A", "B", "D"]
    assert data.returns is None and data.baskets == {}
    assert np.isnan(data.regime).all() and data.regime.shape == (2,)
    # no membership stored for "other": every name with a price is a member
    data = RebalanceData.build(five, np.array([1, 3]), "other")
    assert not data.has_index
    assert list(data.ids) == ["A", "B", "C", "D"]
    np.testing.assert_array_equal(data.members, data.alive)
    np.testing.assert_array_equal(data.members, [[True, False, True, True], [True, True, True, True]])


def test_build_labels_a_missing_sector_unknown(make_market):
    market = make_market({"A": [1.0, 1.0], "B": [2.0, 2.0]}, securities={"B": {"sector": None}})
    data = RebalanceData.build(market, np.array([1]), "sp500")
    np.testing.assert_array_equal(data.sectors, ["Industrials", "Unknown"])


def test_pickled_data_travel_without_the_market_or_the_memo(five):
    data = RebalanceData.build(five, np.array([1, 3]), "sp500")
    data.cap_weights()
    back = pickle.loads(pickle.dumps(data))
    assert back.market is None and back._memo == {}
    assert data.market is five and "cap_weights" in data._memo  # the original is untouched
    np.testing.assert_array_equal(back.members, data.members)
    assert back.memo("k", lambda: 41 + 1) == 42  # a working lock again


def test_memo_builds_once_per_key(hand_data):
    data = hand_data([[1.0]])
    calls = []
    assert data.memo("x", lambda: calls.append(1) or "v") == "v"
    assert data.memo("x", lambda: calls.append(2) or "w") == "v"
    assert data.memo("y", lambda: calls.append(3) or "w") == "w"
    assert calls == [1, 3]


def test_window_cuts_rows_and_is_memoised(hand_data):
    cap = np.arange(12.0).reshape(4, 3)
    data = hand_data(cap, baskets={"b": np.eye(4, 3, dtype=bool), "none": None}, regime=[0.1, 0.2, 0.3, 0.4])
    assert data.window(0, 4) is data
    w = data.window(1, 3)
    assert w is data.window(1, 3)
    np.testing.assert_array_equal(w.positions, data.positions[1:3])
    np.testing.assert_array_equal(w.cap, cap[1:3])
    np.testing.assert_array_equal(w.members, data.members[1:3])
    np.testing.assert_array_equal(w.alive, data.alive[1:3])
    np.testing.assert_array_equal(w.tri, data.tri[1:3])
    np.testing.assert_array_equal(w.baskets["b"], [[False, True, False], [False, False, True]])
    assert w.baskets["none"] is None
    np.testing.assert_array_equal(w.regime, [0.2, 0.3])
    assert w.ids is data.ids and w.cols is data.cols and w.sectors is data.sectors and w.dates is data.dates
    assert w.index_id == data.index_id and w.has_index == data.has_index and w.why is data.why
    np.testing.assert_allclose(w.cap_weights()[0], cap[1:3] / cap[1:3].sum(axis=1)[:, None])


def test_with_regime_reads_another_score_and_shares_the_memo(five):
    data = RebalanceData.build(five, np.array([1, 3]), "sp500")
    data.memo("k", lambda: "v")
    other = data.with_regime(pd.Series([0.4], index=[DAYS[2]]))
    np.testing.assert_array_equal(other.regime[1], 0.4)
    assert np.isnan(other.regime[0])  # before the score starts
    assert np.isnan(data.regime).all()
    assert other._memo is data._memo and other.memo("k", lambda: "w") == "v"
    assert other.market is five and other.members is data.members
    assert other.memo("j", lambda: 1) == 1  # its own working lock


def test_basket_prepared_built_or_unavailable(five):
    data = RebalanceData.build(five, np.array([1, 3]), "sp500", baskets={"b": basket_c, "bad": broken})
    mask, why = data.basket("b", None)
    assert mask is data.baskets["b"] and why == ""
    assert data.basket("bad", basket_c) == (None, "'no flags stored'")
    assert data.basket("nothing", None) == (None, "no basket defined")
    # not prepared: built from the market, cut to the rows and names, only where priced
    only_b = lambda m: np.tile(np.array([False, True, False, False, False]), (6, 1))  # noqa: E731
    mask, why = data.basket("late", only_b)
    np.testing.assert_array_equal(mask, [[False, False, False], [False, True, False]])
    assert why == ""
    assert data.basket("late", basket_c)[0] is mask  # memoised
    assert data.basket("oops", broken) == (None, "'no flags stored'")
    data.market = None
    with pytest.raises(BroadeningError, match="basket 'new' was not prepared with the data"):
        data.basket("new", basket_c)


def test_lagged_tri_reads_lag_days_back_and_nan_before_the_data(five):
    data = RebalanceData.build(five, np.array([1, 3, 5]), "sp500")
    # lag 2: days -1 (none), 1, 3 for A, B, E... names A, B, E are holdable here
    assert list(data.ids) == ["A", "B", "E"]
    np.testing.assert_allclose(data.lagged_tri(2), [[np.nan] * 3, [10.0, np.nan, np.nan], [12.0, 20.0, np.nan]])
    np.testing.assert_allclose(data.lagged_tri(1), [[10.0, np.nan, np.nan], [11.0, 20.0, np.nan],
                                                    [12.0, 21.0, 30.0]])
    assert data.lagged_tri(1) is data.lagged_tri(1)
    data.market = None
    with pytest.raises(BroadeningError, match="lagged prices were not prepared with the data"):
        data.lagged_tri(3)


def test_returns_block_from_the_data_or_the_market(five, hand_data):
    data = RebalanceData.build(five, np.array([3]), "sp500")
    full = np.nan_to_num(five.returns[:, data.cols])
    np.testing.assert_allclose(full[:, 0], [0, 0, 0.1, 1 / 11, 0, 0])
    assert full.shape[1] >= 2
    for lo, hi, cols in ((0, 6, [0]), (2, 5, [1, 0]), (1, 4, [])):
        block = data.returns_block(lo, hi, np.array(cols, dtype=int))
        np.testing.assert_array_equal(block, full[lo:hi][:, cols])
        assert np.isfinite(block).all()
    given = np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(hand_data([[1.0, 1.0]], returns=given).returns_block(1, 3, np.array([1])), [[3.0], [5.0]])
    with pytest.raises(BroadeningError, match="daily returns were not prepared with the data"):
        hand_data([[1.0]]).returns_block(0, 1, np.array([0]))


def test_cap_weights_of_the_members_with_an_equal_weight_fallback(hand_data):
    # row 0: caps 1, 3, NaN (no weight), non-member 4 -> 1/4, 3/4; row 1: no usable cap -> 1/2, 1/2 over
    # the members; row 2: no member -> nothing
    cap = [[1.0, 3.0, np.nan, 4.0], [0.0, -1.0, np.nan, 5.0], [1.0, 1.0, 1.0, 1.0]]
    members = [[True, True, True, False], [True, True, False, False], [False] * 4]
    w, eq = hand_data(cap, members=members).cap_weights()
    np.testing.assert_allclose(w, [[0.25, 0.75, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 0, 0]], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(eq, [False, True, False])


def test_cap_order_is_decreasing_cap_weight_ties_by_position(hand_data):
    data = hand_data([[1.0, 3.0, 1.0, 3.0, 2.0]], members=[[True, True, True, True, False]])
    np.testing.assert_array_equal(data.cap_order(), [[1, 3, 0, 2, 4]])
    assert data.cap_order() is data.cap_order()


def test_regime_at_takes_the_last_value_on_or_before_each_date():
    dates = DAYS.to_numpy().astype("datetime64[D]")
    score = pd.Series([0.2, 0.9, 0.5], index=[DAYS[4], DAYS[1], DAYS[2]])  # not sorted
    np.testing.assert_allclose(regime_at(score, dates, np.array([0, 1, 3, 5])), [np.nan, 0.9, 0.5, 0.2])
    assert np.isnan(regime_at(None, dates, np.array([1, 2]))).all()
    ints = regime_at(pd.Series([0, 1], index=[DAYS[0], DAYS[3]]), dates, np.array([1, 4]))
    assert ints.dtype == np.float64
    np.testing.assert_array_equal(ints, [0.0, 1.0])
    on_dates = regime_at(pd.Series([0, 1], index=[DAYS[1], DAYS[4]]), dates, np.array([1, 4]))
    assert on_dates.dtype == np.float64
    out = regime_at(pd.Series([], dtype=float), dates, np.array([1, 2]))
    assert out.shape == (2,) and np.isnan(out).all()


# --- Context ---------------------------------------------------------------------------------


def test_context_weights_add_and_keys(hand_data, hand_ctx):
    data = hand_data([[1.0, 1.0, 1.0]], regime=[0.3])
    ctx = hand_ctx(data, {"a": [[0.2, 0.1, 0.0]]})
    np.testing.assert_array_equal(ctx.weights, [[0.2, 0.1, 0.0]])
    ctx.add("a", np.array([[0.1, 0.0, 0.0]]))
    ctx.add("b", np.array([[0.0, 0.0, 0.5]]))
    np.testing.assert_allclose(ctx.sleeves["a"], [[0.3, 0.1, 0.0]])
    np.testing.assert_allclose(ctx.weights, [[0.3, 0.1, 0.5]])
    assert ctx.shape == (1, 3) and ctx.regime is data.regime
    assert ctx.key("a") == "a"
    flat = hand_ctx(data, split=False)
    assert flat.key("a") == "total"
    flat.add("a", np.array([[0.1, 0.0, 0.0]]))
    flat.add("b", np.array([[0.0, 0.2, 0.0]]))
    assert set(flat.sleeves) == {"total"}
    np.testing.assert_allclose(flat.weights, [[0.1, 0.2, 0.0]])
    ctx.note("x")
    ctx.note("y")
    ctx.note("x")
    assert ctx.notes == ["x", "y"]


def test_set_total_keeps_each_names_split_and_puts_new_names_in_the_default_sleeve(hand_data, hand_ctx):
    # old totals 0.4, 0.1, 0, 0 -> new 0.2, 0.3, 0.5, 0: names 0, 1 scale by 0.5 and 3 in both sleeves;
    # name 2 held by nobody goes to the default sleeve
    data = hand_data(np.ones((1, 4)))
    ctx = hand_ctx(data, {"a": [[0.2, 0.1, 0.0, 0.0]], "b": [[0.2, 0.0, 0.0, 0.0]]}, cap_ranked=True)
    ctx.set_total(np.array([[0.2, 0.3, 0.5, 0.0]]))
    assert ctx.cap_ranked is False
    np.testing.assert_allclose(ctx.sleeves["a"], [[0.1, 0.3, 0.0, 0.0]])
    np.testing.assert_allclose(ctx.sleeves["b"], [[0.1, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(ctx.sleeves[CAP_SLEEVE], [[0.0, 0.0, 0.5, 0.0]])
    ctx = hand_ctx(data, {"a": [[0.2, 0.1, 0.0, 0.0]]})
    ctx.set_total(np.array([[0.2, 0.1, 0.3, 0.0]]), default_sleeve="a")
    assert set(ctx.sleeves) == {"a"}
    np.testing.assert_allclose(ctx.sleeves["a"], [[0.2, 0.1, 0.3, 0.0]])
    # nothing new: no default sleeve appears
    ctx = hand_ctx(data, {"a": [[0.2, 0.1, 0.0, 0.0]]})
    ctx.set_total(np.array([[0.1, 0.1, 0.0, 0.0]]))
    assert set(ctx.sleeves) == {"a"}
    flat = hand_ctx(data, {"total": [[0.2, 0.1, 0.0, 0.0]]}, split=False, cap_ranked=True)
    flat.set_total(np.array([[0.1, 0.1, 0.1, 0.0]]))
    assert set(flat.sleeves) == {"total"} and flat.cap_ranked is False
    np.testing.assert_allclose(flat.sleeves["total"], [[0.1, 0.1, 0.1, 0.0]])


# --- AlgoStack -------------------------------------------------------------------------------


class SetSleeves(Algo):
    """Sets given sleeves, empty marks and notes (what a real algo would compute)."""

    def __init__(self, sleeves, empty=None, notes=()):
        self.sleeves, self.empty, self.notes = sleeves, empty or {}, notes

    def __call__(self, ctx):
        ctx.sleeves = {k: np.asarray(v, dtype="float64") for k, v in self.sleeves.items()}
        ctx.empty = {k: np.asarray(v, dtype=bool) for k, v in self.empty.items()}
        for n in self.notes:
            ctx.note(n)


def test_run_on_zeroes_unpriced_names_and_lists_empty_sleeves_by_date(hand_data):
    data = hand_data(np.ones((2, 3)), alive=[[True, False, True], [True, True, True]], positions=[3, 5])
    algo = SetSleeves({"x": [[0.5, 0.2, 0.0], [0.5, 0.2, 0.0]], "y": [[0.0, 0.0, 0.3], [0.1, 0.0, 0.0]]},
                      empty={"z": [False, True], "y": [True, True]}, notes=["n1"])
    tw = AlgoStack([algo]).run_on(data)
    np.testing.assert_allclose(tw.sleeves["x"], [[0.5, 0.0, 0.0], [0.5, 0.2, 0.0]])
    np.testing.assert_allclose(tw.weights, [[0.5, 0.0, 0.3], [0.6, 0.2, 0.0]])
    assert list(tw.empty_sleeves.columns) == ["date", "sleeve"]
    assert list(tw.empty_sleeves["date"]) == [pd.Timestamp("2020-01-04"), pd.Timestamp("2020-01-06"),
                                              pd.Timestamp("2020-01-06")]
    assert list(tw.empty_sleeves["sleeve"]) == ["y", "z", "y"]
    assert tw.empty_sleeves["date"].dtype == "datetime64[ns]" and tw.empty_sleeves["sleeve"].dtype == object
    assert tw.notes == ["n1"]
    assert tw.positions is data.positions and tw.ids is data.ids
    # one sleeve: the weights are that sleeve; nothing empty: an empty, typed table
    one = AlgoStack([SetSleeves({"x": [[0.5, 0.2, 0.0], [0.5, 0.2, 0.0]]})]).run_on(data)
    np.testing.assert_allclose(one.weights, [[0.5, 0.0, 0.0], [0.5, 0.2, 0.0]])
    assert len(one.empty_sleeves) == 0 and one.empty_sleeves["date"].dtype == "datetime64[ns]"
    assert one.notes == []


def test_run_on_without_split_keeps_only_the_total(hand_data):
    data = hand_data([[3.0, 1.0]])
    tw = AlgoStack([SelectMembers("sp500"), WeighByCap(), TrimTopK(k=1, mode="cap", cap=0.5),
                    Redeploy({CORE_SLEEVE: 1.0}, {})]).run_on(data, split=False)
    assert set(tw.sleeves) == {"total"}
    np.testing.assert_allclose(tw.weights, [[0.5, 0.5]])


def test_run_spreads_targets_over_the_whole_market_and_starts_from_the_given_book(five):
    # positions 3, 5: members A, B (caps 24, 20), then A, B, E (24, 22, 30); C, D get nothing
    stack = AlgoStack([SelectMembers("sp500"), WeighByCap()])
    tw = stack.run(five, np.array([3, 5]))
    assert list(tw.ids) == ["A", "B", "C", "D", "E"]
    np.testing.assert_allclose(tw.weights, [[24 / 44, 20 / 44, 0, 0, 0], [24 / 76, 22 / 76, 0, 0, 30 / 76]])
    np.testing.assert_allclose(tw.sleeves[CAP_SLEEVE], tw.weights)
    # from a book of half A, half B: one-way turnover to (24, 20) / 44 is 1/22; a budget of 0.02 trades
    # a = 0.02 * 22 = 0.44 of the way: cap sleeve 0.44 * (24, 20) / 44 = (0.24, 0.2), book (0.28, 0.28)
    book = AlgoStack([SelectMembers("sp500"), WeighByCap(), TurnoverBudget(0.02)])
    tw = book.run(five, np.array([3]), initial=np.array([0.5, 0.5, 0.0, 0.0, 0.0]))
    np.testing.assert_allclose(tw.weights, [[0.52, 0.48, 0, 0, 0]])
    np.testing.assert_allclose(tw.sleeves[CAP_SLEEVE], [[0.24, 0.2, 0, 0, 0]])
    np.testing.assert_allclose(tw.sleeves["current_book"], [[0.28, 0.28, 0, 0, 0]])


def test_run_on_every_name_returns_the_targets_as_they_are(make_market):
    market = make_market({"A": [1.0, 1.0], "B": [3.0, 3.0]})
    tw = AlgoStack([SelectMembers("sp500"), WeighByCap()]).run(market, np.array([1]))
    np.testing.assert_allclose(tw.weights, [[0.25, 0.75]])
    assert list(tw.ids) == ["A", "B"]


def test_stack_prepares_what_its_algos_need(five):
    score = pd.Series([0.6], index=[DAYS[0]])
    plain = AlgoStack([SelectMembers("sp500"), WeighByCap()], name="cap", baskets={"b": basket_c})
    assert plain.name == "cap" and plain.index_id == "sp500"
    data = plain.data(five, np.array([1, 3]), score)
    assert list(data.ids) == ["A", "B", "C"] and data.returns is None
    np.testing.assert_allclose(data.regime, [0.6, 0.6])
    te = AlgoStack([TrackingErrorBudget(0.01)], index_id="other")
    data = te.data(five, np.array([1, 3]))
    # no zero-filled copy of the returns: the budget reads windows of the market's (#16)
    assert data.index_id == "other" and data.returns is None and data.market is five


# --- lane-packed markets: a column's sector can change between rows --------------------------


@pytest.fixture
def lanes(make_tables):
    # X (Tech) lives on days 0-1 and Y (Energy) on days 4-7: they share a lane (gap 1); V (Finance) is
    # priced from day 6, so its lane is empty before; W (Health) is never holdable
    from broadening.market import Market

    closes = {"X": [10, 10] + [None] * 6, "Y": [None] * 4 + [20] * 4, "Z": [5] * 8, "W": [7] * 8,
              "V": [None] * 6 + [3, 3]}
    membership = [{"index_id": "sp500", "security_id": s, "start": DAYS[0], "end": None} for s in "XYZV"]
    tables = make_tables(closes, membership=membership,
                         sectors={"X": "Tech", "Y": "Energy", "Z": "Utilities", "W": "Health", "V": "Finance"})
    return Market.from_tables(tables, layout="lanes", gap=1)


def test_build_reads_each_lanes_sector_on_each_row(lanes):
    assert lanes.packed
    data = RebalanceData.build(lanes, np.array([1, 5, 7]), "sp500")
    assert [list(lanes.ids_at(p)[data.cols]) for p in (1, 5, 7)] == [["X", "Z", ""], ["Y", "Z", ""], ["Y", "Z", "V"]]
    # an empty cell reads as the first holdable security's sector (V, Finance): it adds no sector group
    np.testing.assert_array_equal(data.sectors, [["Tech", "Utilities", "Finance"], ["Energy", "Utilities", "Finance"],
                                                 ["Energy", "Utilities", "Finance"]])
    np.testing.assert_array_equal(data.sectors_at(0), ["Tech", "Utilities", "Finance"])
    w = data.window(1, 3)
    np.testing.assert_array_equal(w.sectors, data.sectors[1:3])
    np.testing.assert_array_equal(w.sectors_at(0), ["Energy", "Utilities", "Finance"])
    # a kept lane holding a security no strategy holds still reads its sector
    keep = np.zeros(lanes.shape[1], dtype=bool)
    keep[list(lanes.ids_at(1)).index("W")] = True
    data = RebalanceData.build(lanes, np.array([1, 5, 7]), "sp500", keep=keep)
    assert "Health" in set(data.sectors.ravel())


def test_a_lane_cell_of_a_security_no_strategy_holds_reads_the_first_holdable_sector(make_tables):
    # A (Health) is never holdable and first in id order; X (Tech, member, days 0-1) and Q (Energy,
    # never a member, days 4-7) share a lane; Z (Utilities) is a member. On day 5 the X/Q lane holds Q:
    # it reads as Tech (X, the first holdable security), not Energy, and never Health
    from broadening.market import Market

    closes = {"A": [7] * 8, "X": [10, 10] + [None] * 6, "Q": [None] * 4 + [20] * 4, "Z": [5] * 8}
    membership = [{"index_id": "sp500", "security_id": s, "start": DAYS[0], "end": None} for s in "XZ"]
    tables = make_tables(closes, membership=membership,
                         sectors={"A": "Health", "X": "Tech", "Q": "Energy", "Z": "Utilities"})
    market = Market.from_tables(tables, layout="lanes", gap=1)
    data = RebalanceData.build(market, np.array([1, 5]), "sp500")
    assert [list(market.ids_at(p)[data.cols]) for p in (1, 5)] == [["X", "Z"], ["Q", "Z"]]
    np.testing.assert_array_equal(data.sectors, [["Tech", "Utilities"], ["Tech", "Utilities"]])


def test_sectors_at_on_a_dense_market_is_the_one_row(hand_data):
    data = hand_data(np.ones((2, 2)), sectors=["A", "B"])
    assert data.sectors_at(1) is data.sectors
    assert data.window(1, 2).sectors is data.sectors


def test_lagged_prices_longer_than_the_lane_gap_are_refused(lanes):
    # a window over more rows than the gap between a lane's occupants would mix X's and Y's prices
    data = RebalanceData.build(lanes, np.array([5, 7]), "sp500")
    np.testing.assert_allclose(data.lagged_tri(1), [[20.0, 5.0, np.nan], [20.0, 5.0, 3.0]])  # days 4 and 6
    with pytest.raises(BroadeningError, match=r"^lagged prices \(momentum\.lookback\): a look-back of 2 rows"):
        data.lagged_tri(2)


# --- survivors of the first mutation run -----------------------------------------------------


def test_build_takes_positions_and_baskets_of_any_numeric_type(five):
    # positions as floats, a basket as 0/1 floats that reads the market it is given
    def basket(market):
        out = np.zeros(market.shape)
        out[:, list(market.ids).index("C")] = 1.0
        return out

    data = RebalanceData.build(five, np.array([1.0, 3.0]), "sp500", baskets={"b": basket})
    assert data.positions.dtype == np.int64
    np.testing.assert_array_equal(data.positions, [1, 3])
    assert data.baskets["b"].dtype == bool
    np.testing.assert_array_equal(data.baskets["b"], [[False, False, True], [False, False, True]])
    mask, _ = data.basket("late", basket)
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, [[False, False, True], [False, False, True]])


def test_windows_keep_the_returns_and_market_and_differ_by_rows(five):
    data = RebalanceData.build(five, np.array([1, 3, 5]), "sp500", returns=True)
    a, b = data.window(0, 2), data.window(1, 3)
    assert a is not b
    np.testing.assert_array_equal(a.positions, [1, 3])
    np.testing.assert_array_equal(b.positions, [3, 5])
    assert a.returns is data.returns and a.market is five


def test_missing_inputs_say_exactly_what_was_not_prepared(hand_data):
    data = hand_data([[1.0]])
    with pytest.raises(BroadeningError, match=r"^lagged prices were not prepared with the data$"):
        data.lagged_tri(1)
    with pytest.raises(BroadeningError, match=r"^daily returns were not prepared with the data$"):
        data.returns_block(0, 1, np.array([0]))


def test_cap_weights_with_caps_summing_to_less_than_one(hand_data):
    # caps 0.2, 0.6 (in any unit): weights 0.25, 0.75, not the equal-weight fallback
    w, eq = hand_data([[0.2, 0.6]]).cap_weights()
    np.testing.assert_allclose(w, [[0.25, 0.75]])
    np.testing.assert_array_equal(eq, [False])


def test_cap_order_ties_among_many_names_stay_in_position_order(hand_data):
    caps = np.random.default_rng(0).choice([1.0, 2.0, 3.0], size=40)
    order = hand_data([caps]).cap_order()[0]
    np.testing.assert_array_equal(order, sorted(range(40), key=lambda i: (-caps[i], i)))


class Recorder(Algo):
    """Records the regime it sees and cap-weights the members."""

    def __init__(self):
        self.regime = None

    def __call__(self, ctx):
        self.regime = ctx.regime.copy()
        ctx.sleeves = {CAP_SLEEVE: ctx.data.cap_weights()[0]}


def test_run_hands_the_regime_to_the_algos_and_names_the_positions(five):
    rec = Recorder()
    stack = AlgoStack([rec])
    assert stack.name == "strategy"
    tw = stack.run(five, np.array([3, 5]), pd.Series([0.25, 0.75], index=[DAYS[0], DAYS[4]]))
    np.testing.assert_allclose(rec.regime, [0.25, 0.75])
    np.testing.assert_array_equal(tw.positions, [3, 5])
    assert tw.notes == [] and len(tw.empty_sleeves) == 0


def test_run_on_starts_from_nothing_selected_and_no_sleeves(hand_data):
    seen = []

    class Peek(Algo):
        def __call__(self, ctx):
            seen.append((ctx.selected.dtype, ctx.selected.shape, bool(ctx.selected.any())))

    data = hand_data(np.ones((2, 3)))
    tw = AlgoStack([Peek(), WeighEqually()]).run_on(data)
    assert seen == [(np.dtype(bool), (2, 3), False)]
    np.testing.assert_array_equal(tw.weights, np.zeros((2, 3)))
    empty = AlgoStack([]).run_on(data)
    assert empty.sleeves == {} and empty.weights.shape == (2, 3)
    np.testing.assert_array_equal(empty.weights, np.zeros((2, 3)))
