"""Properties of the engine that must hold for any prices and weights (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from broadening.backtest import PriceData, backtest

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def panels(draw, min_t=4, max_t=40, min_n=1, max_n=6):
    T = draw(st.integers(min_t, max_t))
    N = draw(st.integers(min_n, max_n))
    r = draw(arrays(np.float64, (T, N), elements=st.floats(-0.5, 0.5, allow_nan=False)))
    prices = 10.0 * np.cumprod(1.0 + r, axis=0)
    return prices


@st.composite
def panel_and_schedule(draw):
    prices = draw(panels())
    T, N = prices.shape
    pos = np.array(sorted(draw(st.sets(st.integers(0, T - 1), min_size=1, max_size=min(T, 8)))))
    raw = draw(arrays(np.float64, (len(pos), N), elements=st.floats(0.0, 1.0, allow_nan=False)))
    raw[:, 0] += 0.01  # never an all-zero row
    W = raw / raw.sum(axis=1, keepdims=True)
    return prices, W, pos


@SETTINGS
@given(panel_and_schedule(), st.sampled_from([0.0, 10.0, 50.0]))
def test_weights_sum_to_one_after_each_rebalance(case, bps):
    prices, W, pos = case
    res = backtest(prices, W, pos, costs=bps)
    np.testing.assert_allclose(res.weights.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(res.weights, W, atol=1e-12)
    np.testing.assert_allclose(res.cash.iloc[0], 0.0, atol=1e-12)


@SETTINGS
@given(panels(), st.data())
def test_cap_weight_buy_and_hold_equals_index_return(prices, data):
    T, N = prices.shape
    shares = data.draw(arrays(np.float64, (N,), elements=st.floats(0.1, 1000.0)))
    caps = prices * shares
    W = caps[0] / caps[0].sum()
    res = backtest(prices, W[None, :], np.array([0]), costs=False)
    index_ret = caps.sum(axis=1)[1:] / caps.sum(axis=1)[:-1] - 1.0
    np.testing.assert_allclose(res.returns.to_numpy()[1:], index_ret, rtol=1e-10, atol=1e-13)


@SETTINGS
@given(panels(min_n=2))
def test_equal_weight_rebalanced_daily_is_cross_sectional_mean(prices):
    T, N = prices.shape
    W = np.full((T, N), 1.0 / N)
    res = backtest(prices, W, np.arange(T), costs=False)
    mean_ret = (prices[1:] / prices[:-1] - 1.0).mean(axis=1)
    np.testing.assert_allclose(res.returns.to_numpy()[1:], mean_ret, rtol=1e-10, atol=1e-13)


@SETTINGS
@given(panel_and_schedule(), st.data())
def test_no_look_ahead(case, data):
    prices, W, pos = case
    T = prices.shape[0]
    t = data.draw(st.integers(0, T - 2))
    changed = prices.copy()
    changed[t + 1 :] *= data.draw(arrays(np.float64, changed[t + 1 :].shape, elements=st.floats(0.5, 2.0)))
    a = backtest(prices, W, pos, costs=10.0)
    b = backtest(changed, W, pos, costs=10.0)
    dates = PriceData.from_prices(prices).dates
    keep = dates[pos[0] :] <= dates[t]
    np.testing.assert_array_equal(a.returns.to_numpy()[keep], b.returns.to_numpy()[keep])


@SETTINGS
@given(panel_and_schedule(), st.data())
def test_delisted_name_never_comes_back(case, data):
    prices, W, pos = case
    T, N = prices.shape
    victim = data.draw(st.integers(0, N - 1))
    last = data.draw(st.integers(0, T - 2))
    prices = prices.copy()
    prices[last + 1 :, victim] = np.nan
    W = W.copy()
    W[pos > last, victim] = 0.0
    rows = W.sum(axis=1) > 0
    W[rows] /= W[rows].sum(axis=1, keepdims=True)
    dl = np.zeros(N)
    dl[victim] = data.draw(st.floats(-0.9, 0.5))
    res = backtest(PriceData.from_prices(prices, delisting_return=dl), W, pos, costs=10.0, record=np.arange(T))
    dates = PriceData.from_prices(prices).dates
    dead = np.asarray(res.recorded.index.values.astype("datetime64[D]") > dates[last])
    assert (res.recorded.to_numpy()[dead, victim] == 0.0).all()
    assert (res.weights[pos > last, victim] == 0.0).all()


def reference_backtest(prices, W, pos, bps, cash_daily, delisting_return):
    """An independent day-by-day engine: one value per held name, grown by its daily price
    ratio (1 over a missing price and the day after), the delisting return the day after its
    last price and the cash rate after that; costs by fixed-point iteration at each rebalance."""
    T, N = prices.shape
    alive = ~np.isnan(prices)
    last = np.where(alive.any(axis=0), T - 1 - np.argmax(alive[::-1], axis=0), -1)
    h = np.zeros(N)
    cash = 1.0
    values = []
    c = bps / 1e4
    for t in range(pos[0], T):
        if t > pos[0]:
            for i in range(N):
                if h[i] == 0:
                    continue
                if t <= last[i]:
                    g = prices[t, i] / prices[t - 1, i]
                    h[i] *= 1.0 if np.isnan(g) else g
                elif t == last[i] + 1:
                    h[i] *= 1.0 + delisting_return[i]
                else:
                    h[i] *= 1.0 + cash_daily[t]
            cash *= 1.0 + cash_daily[t]
        if t in pos:
            w = W[list(pos).index(t)]
            dead = (h != 0) & (last < t)
            cash += h[dead].sum()
            h[dead] = 0.0
            V = h.sum() + cash
            x = V
            for _ in range(200):
                x = V - c * np.abs(w * x - h).sum()
            h = w * x
            cash = x - h.sum()
        values.append(h.sum() + cash)
    v = np.array(values)
    return v / np.r_[1.0, v[:-1]] - 1.0


@st.composite
def life_cycle_case(draw):
    """Prices with listings (NaN before), delistings (NaN after) and gaps inside a life, and
    weights only on names with a price on each rebalance date."""
    prices = draw(panels(min_t=6, max_t=40, min_n=2, max_n=6))
    T, N = prices.shape
    for i in range(N):
        kind = draw(st.sampled_from(["whole", "late", "delisted", "gap"]))
        if kind == "late":
            prices[: draw(st.integers(1, T - 2)), i] = np.nan
        elif kind == "delisted":
            prices[draw(st.integers(2, T - 1)) :, i] = np.nan
        elif kind == "gap":
            k = draw(st.integers(1, T - 2))
            prices[k, i] = np.nan
    pos = np.array(sorted(draw(st.sets(st.integers(0, T - 2), min_size=1, max_size=6))))
    raw = draw(arrays(np.float64, (len(pos), N), elements=st.floats(0.0, 1.0, allow_nan=False)))
    raw = np.where(np.isnan(prices[pos]), 0.0, raw)
    scale = draw(st.floats(0.5, 1.0))
    sums = raw.sum(axis=1, keepdims=True)
    W = np.divide(raw, sums, out=np.zeros_like(raw), where=sums > 0) * scale
    dl = draw(arrays(np.float64, (N,), elements=st.floats(-0.9, 0.5)))
    return prices, W, pos, dl


@settings(max_examples=80, deadline=None)
@given(life_cycle_case(), st.sampled_from([0.0, 10.0, 50.0]), st.sampled_from([0.0, 0.05]))
def test_engine_equals_a_day_by_day_reference(case, bps, rate):
    prices, W, pos, dl = case
    data = PriceData.from_prices(prices, delisting_return=dl)
    res = backtest(data, W, pos, costs=bps, cash_rate=rate)
    cash_daily = np.full(prices.shape[0], (1.0 + rate) ** (1 / 252) - 1.0)
    ref = reference_backtest(prices, W, pos, bps, cash_daily, dl)
    np.testing.assert_allclose(res.returns.to_numpy(), ref, rtol=1e-9, atol=1e-12)
