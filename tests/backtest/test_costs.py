"""Transaction costs: the cost model's rates and the post-cost value of a rebalance, by hand (#17)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from broadening.backtest.costs import NO_COSTS, CostModel, cost_model, post_cost_value


def test_invalid_models_are_refused_with_the_value():
    for name in ("bps", "spread_bps", "max_spread_bps"):
        with pytest.raises(ValueError, match=rf"^CostModel\.{name} must be >= 0, got -1\.5$"):
            CostModel(**{name: -1.5})
    with pytest.raises(ValueError, match=r"^CostModel\.spread_ref_cap must be > 0, got 0\.0$"):
        CostModel(spread_ref_cap=0.0)
    # zero costs and a reference cap below one currency unit are fine
    assert CostModel(bps=0.0, spread_bps=0.0, max_spread_bps=0.0).is_zero
    assert CostModel(spread_ref_cap=0.5).spread_ref_cap == 0.5


def test_is_zero_needs_both_the_fixed_cost_and_the_spread_at_zero():
    assert NO_COSTS.is_zero and CostModel(bps=0.0).is_zero
    assert not CostModel(bps=0.0, spread_bps=5.0).is_zero
    assert not CostModel(bps=10.0).is_zero
    # the spread cap alone charges nothing: no spread is asked for
    assert CostModel(bps=0.0, max_spread_bps=80.0).is_zero


def test_rates_without_a_spread_are_the_fixed_rate():
    # 10 bps = 0.001 per unit traded, whatever the caps (even missing or zero ones)
    caps = np.array([1e10, 0.0, np.nan])
    assert CostModel(bps=10.0).rates(caps) == 0.001
    assert CostModel(bps=10.0).rates(None) == 0.001
    # a spread model without caps falls back to the fixed rate too
    assert CostModel(bps=7.0, spread_bps=5.0).rates(None) == pytest.approx(0.0007, abs=1e-18)


def test_size_dependent_spread_by_hand():
    m = CostModel(bps=10.0, spread_bps=5.0, spread_ref_cap=1e10, max_spread_bps=50.0)
    caps = np.array([1e10, 4e10, 1e8, 1e6, np.inf])
    # spreads: 5 * sqrt(1) = 5; 5 * sqrt(1/4) = 2.5; 5 * sqrt(100) = 50; 5 * sqrt(1e4) = 500 -> 50
    # (capped); an infinite cap pays no spread. Rates add the fixed 10 bps.
    np.testing.assert_allclose(m.rates(caps), np.array([15.0, 12.5, 60.0, 60.0, 10.0]) / 1e4, rtol=1e-15)
    # a small reference cap (caps in millions, say): 2 bps at 1.0, 4 at 0.25, 1 at 4.0
    small = CostModel(bps=0.0, spread_bps=2.0, spread_ref_cap=1.0)
    np.testing.assert_allclose(small.rates(np.array([1.0, 0.25, 4.0])), np.array([2.0, 4.0, 1.0]) / 1e4, rtol=1e-15)


def test_unknown_caps_pay_the_maximum_spread_quietly():
    m = CostModel(bps=10.0, spread_bps=5.0, max_spread_bps=40.0)
    caps = np.array([0.0, np.nan, -1e9, -np.inf, 1e10])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or sqrt-of-negative warnings
        got = m.rates(caps)
    np.testing.assert_allclose(got, np.array([50.0, 50.0, 50.0, 50.0, 15.0]) / 1e4, rtol=1e-15)


def test_cost_model_shorthands():
    assert cost_model(True) == CostModel(bps=10.0)
    assert cost_model(None) == NO_COSTS and cost_model(False) == NO_COSTS
    assert cost_model(25) == CostModel(bps=25.0) and cost_model(2.5).bps == 2.5
    spread = CostModel(bps=3.0, spread_bps=4.0)
    assert cost_model(spread) is spread


def test_post_cost_value_moving_a_whole_book():
    # all in name 0, to 50/50 at 1%: the trades are 0.5x - 1 (a sale) and 0.5x (a purchase),
    # sum |.| = 1 - 0.5x + 0.5x = 1 whatever x, so x = 1 - 0.01 = 0.99
    x = post_cost_value(1.0, np.array([0.5, 0.5]), np.array([1.0, 0.0]), 0.01)
    assert x == pytest.approx(0.99, abs=1e-15)


def test_post_cost_value_buying_on_one_side():
    # two names bought out of cash: x = 1 - 0.01 (0.5x - 0.2 + 0.4x - 0.2), x = 1.004 / 1.009
    x = post_cost_value(1.0, np.array([0.5, 0.4]), np.array([0.2, 0.2]), 0.01)
    assert x == pytest.approx(1.004 / 1.009, abs=1e-15)


def test_post_cost_value_per_name_rates_and_a_value_other_than_one():
    # V = 2: sell name 0 (1.5 held, target 0.25x) at 10 bps, buy name 1 (target 0.5x) at 2%:
    # x = 2 - 0.001 (1.5 - 0.25x) - 0.02 (0.5x)  ->  x = (2 - 0.0015) / (1 - 0.00025 + 0.01)
    x = post_cost_value(2.0, np.array([0.25, 0.5]), np.array([1.5, 0.0]), np.array([0.001, 0.02]))
    assert x == pytest.approx(1.9985 / 1.00975, abs=1e-15)
    # V = 2 with 0.8 held in one name and a 0.5 target: at x = V it is a purchase (1.0 > 0.8),
    # so is it at the solution: x = (2 + 0.01 * 0.8) / (1 + 0.01 * 0.5)
    x = post_cost_value(2.0, np.array([0.5]), np.array([0.8]), 0.01)
    assert x == pytest.approx(2.008 / 1.005, abs=1e-15)
    # V = 2, 0.3 held, target 0.2: w / V = 0.1 would read a sale, w * V = 0.4 is a purchase
    x = post_cost_value(2.0, np.array([0.2]), np.array([0.3]), 0.01)
    assert x == pytest.approx(2.003 / 1.002, abs=1e-15)


def test_post_cost_value_when_the_costs_turn_a_purchase_into_a_sale():
    # at x = V = 1 name 0 looks like a purchase (0.5 > 0.4996); after paying for name 1 the
    # book is worth less and name 0 is sold: x = 1 - 0.01 (0.4996 - 0.5x) - 0.01 (0.5x - 0.2)
    # = 1 - 0.002996 exactly (the 0.5x terms cancel)
    x = post_cost_value(1.0, np.array([0.5, 0.5]), np.array([0.4996, 0.2]), 0.01)
    assert x == pytest.approx(0.997004, abs=1e-15)
    assert 0.5 * x < 0.4996


def test_post_cost_value_is_exact_where_the_fixed_point_would_crawl():
    # everything bought out of cash at a 95% cost rate: x = 1 - 0.95 x, x = 1 / 1.95. The
    # fixed-point fallback would shrink its error only by 0.95 a step (0.95^100 = 0.6% left
    # after its 100 steps), so this pins the Newton step doing the work; the second name is
    # neither held nor wanted (a zero trade, sign 0) and costs nothing
    x = post_cost_value(1.0, np.array([1.0, 0.0]), np.array([0.0, 0.0]), 0.95)
    assert x == pytest.approx(1 / 1.95, abs=1e-15)


def _newton_steps(V, w, h, c):
    """Steps the piecewise-linear Newton iteration takes to settle (the test's own loop)."""
    x, sign = V, np.sign(w * V - h)
    for k in range(1, 50):
        x = (V + float((c * sign) @ h)) / (1.0 + float((c * sign) @ w))
        nxt = np.sign(w * x - h)
        if np.array_equal(nxt, sign):
            return k
        sign = nxt
    return 50


def _bisect(V, w, h, c):
    """Root of x - V + sum c |w x - h| on [0, V] by bisection (independent of the solver)."""
    lo, hi = 0.0, V
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if mid - V + float(np.sum(c * np.abs(w * mid - h))) > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def test_post_cost_value_falls_back_when_newton_takes_many_steps():
    # a purchase of 0.3 and eight small positions whose break-even values h_i / w_i sit, one
    # each, between successive Newton iterates (built by placing each halfway between the
    # last iterate and the solution): every step re-reads one more sign, nine steps in all,
    # so the solver hands over to its fixed-point iteration (contraction 0.415)
    t = np.array([0.9926108374384237, 0.985203700315166, 0.9848378344965497, 0.9848188209428638,
                  0.9848177784676984, 0.9848177179813606, 0.9848177142546222, 0.9848177140098475])
    w = np.r_[0.3, np.full(8, 0.1)]
    h = np.r_[0.0, 0.1 * t]
    c = np.r_[0.05, np.full(8, 0.5)]
    assert _newton_steps(1.0, w, h, c) > 8
    x = post_cost_value(1.0, w, h, c)
    assert x == pytest.approx(_bisect(1.0, w, h, c), abs=2e-16)
    assert x == pytest.approx(1.0 - float(np.sum(c * np.abs(w * x - h))), abs=2e-16)
    # the same book at twice the value: everything scales
    assert post_cost_value(2.0, w, 2 * h, c) == pytest.approx(2 * x, abs=4e-16)
