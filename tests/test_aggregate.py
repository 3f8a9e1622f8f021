"""aggregate: basket weights and returns, hand-computed on a three-name market."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.aggregate import basket_returns, basket_weights


@pytest.fixture
def market(make_market):
    # C lists on day 1; caps = closes (one share each)
    return make_market({"A": [10, 11, 12], "B": [30, 30, 33], "C": [None, 5, 6]})


def test_equal_weights_split_among_the_alive_members(market):
    mask = np.ones(market.shape, dtype=bool)
    mask[2, 1] = False  # B leaves the basket on day 2
    w = basket_weights(market, mask, "equal")
    np.testing.assert_allclose(w, [[0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0, 0.5]])


def test_cap_weights_follow_the_caps(market):
    mask = np.ones(market.shape, dtype=bool)
    w = basket_weights(market, mask, "cap")
    np.testing.assert_allclose(w[0], [10 / 40, 30 / 40, 0])
    np.testing.assert_allclose(w[1], [11 / 46, 30 / 46, 5 / 46])


@pytest.mark.parametrize("fn", [basket_weights, basket_returns])
def test_an_unknown_weighting_is_refused_naming_it(market, fn):
    with pytest.raises(ValueError, match="weighting: expected 'cap' or 'equal', got 'median'"):
        fn(market, np.ones(market.shape, dtype=bool), "median")


def test_returns_start_on_the_last_day_are_all_nan(market):
    mask = np.ones(market.shape, dtype=bool)
    full = basket_returns(market, mask, "equal")
    # day 1: A +10%, B 0% (C was not listed on day 0); day 2: A +1/11, B +10%, C +20%
    assert np.isnan(full[0]) and full[1] == pytest.approx(0.05)
    assert full[2] == pytest.approx((1 / 11 + 0.1 + 0.2) / 3)
    assert np.isnan(basket_returns(market, mask, "equal", start=2)).all()
    np.testing.assert_allclose(basket_returns(market, mask, "equal", start=1)[2], full[2])
