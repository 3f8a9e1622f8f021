"""Does the thesis pay: rank IC, Newey-West t-stats, hit rates, out-of-sample forecasts, no look-ahead."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadening.config import load_config
from broadening.signals import scorecard
from broadening.signals.claims import REGISTRY
from broadening.signals.compute import family
from broadening.signals.evaluate import (
    evaluate,
    expanding_forecast,
    forward_active_return,
    hit_rate,
    newey_west_slope,
    rank_ic,
    verdict_path,
)

CFG = load_config()


def test_rank_ic_by_hand():
    # Spearman = 1 - 6 sum d^2 / (n (n^2 - 1)) with rank differences d = (-1, 1, -1, 1, 0)
    r = rank_ic(np.array([1.0, 2, 3, 4, 5]), np.array([2.0, 1, 4, 3, 5]))
    assert r["ic"] == pytest.approx(0.8) and r["n"] == 5
    # NaNs drop the date; a monotone transform of the signal changes nothing
    r2 = rank_ic(np.array([np.nan, 1.0, 8, 27, 64, 125]), np.array([7.0, 2, 1, 4, 3, 5]))
    assert r2["ic"] == pytest.approx(0.8) and r2["n"] == 5


def test_rank_ic_recovers_a_known_correlation():
    # Gaussian pairs with correlation rho have Spearman correlation (6 / pi) asin(rho / 2)
    rng = np.random.default_rng(11)
    rho, n = 0.6, 40_000
    z = rng.standard_normal((n, 2))
    x = z[:, 0]
    y = rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]
    r = rank_ic(np.exp(x), y)  # ranks: any increasing transform of x gives the same IC
    assert r["ic"] == pytest.approx(6 / np.pi * np.arcsin(rho / 2), abs=0.01)
    # independent draws: an IC near zero and a t-stat that is no evidence
    r0 = rank_ic(x, z[:, 1])
    assert abs(r0["ic"]) < 0.015 and abs(r0["t_stat"]) < 3


def _nw_by_hand(x, y, lag):
    n = len(x)
    xb, yb = sum(x) / n, sum(y) / n
    sxx = sum((xi - xb) ** 2 for xi in x)
    b = sum((xi - xb) * (yi - yb) for xi, yi in zip(x, y, strict=True)) / sxx
    a = yb - b * xb
    u = [(x[t] - xb) * (y[t] - a - b * x[t]) for t in range(n)]
    s = 0.0
    for j in range(0, lag + 1):
        w = 1.0 if j == 0 else 2.0 * (1 - j / (lag + 1))
        s += w * sum(u[t] * u[t - j] for t in range(j, n))
    return b, s**0.5 / sxx


def test_newey_west_against_a_hand_computation_and_statsmodels():
    rng = np.random.default_rng(5)
    n, h = 300, 10
    x = rng.standard_normal(n)
    eps = np.convolve(rng.standard_normal(n + h - 1), np.ones(h), mode="valid")  # overlapping sums: MA(h-1)
    y = 0.3 * x + eps
    b, se, t = newey_west_slope(x, y, h - 1)
    hb, hse = _nw_by_hand(list(x), list(y), h - 1)
    assert b == pytest.approx(hb, rel=1e-12) and se == pytest.approx(hse, rel=1e-10)
    assert t == pytest.approx(b / se)
    # overlap makes the naive (lag 0) standard error too small
    assert newey_west_slope(x, y, 0)[1] < se
    sm = pytest.importorskip("statsmodels.api")
    fit = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HAC", cov_kwds={"maxlags": h - 1, "use_correction": False})
    assert b == pytest.approx(fit.params[1], rel=1e-10)
    assert se == pytest.approx(fit.bse[1], rel=1e-8)


def test_hit_rate_by_hand():
    calls = np.array([1, 1, -1, -1, 0, 1, np.nan])
    target = np.array([0.02, -0.01, -0.03, 0.01, 0.05, np.nan, 0.02])
    assert hit_rate(calls, target) == {"hit_rate": 0.5, "calls": 4}
    assert np.isnan(hit_rate(np.zeros(3), np.ones(3))["hit_rate"])


def test_expanding_forecast_by_hand():
    h = 2
    score = np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.6])
    target = np.array([-1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0])  # score and target move together
    fc = expanding_forecast(score, target, h, min_train=2)
    # at t the known targets are those of s <= t - 2; two are needed: t = 3 is the first forecast
    assert np.isnan(fc[:3]).all()
    np.testing.assert_allclose(fc[3:], score[3:] - 0.5)
    fc_neg = expanding_forecast(score, -target, h, min_train=2)
    np.testing.assert_allclose(fc_neg[3:], 0.5 - score[3:])


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), h=st.integers(1, 30), cut=st.integers(40, 200), min_train=st.integers(5, 60))
def test_forecast_never_reads_the_future(seed, h, cut, min_train):
    """Changing what happens after t (scores after t, targets not yet known at t) never moves the forecast at t."""
    rng = np.random.default_rng(seed)
    T = 240
    score = rng.uniform(0, 1, T)
    target = 0.3 * (score - 0.5) + rng.normal(0, 0.2, T)
    base = expanding_forecast(score, target, h, min_train)
    s2, f2 = score.copy(), target.copy()
    s2[cut + 1:] = rng.uniform(0, 1, T - cut - 1)
    f2[max(0, cut - h + 1):] = rng.normal(0, 5, T - max(0, cut - h + 1))  # targets that end after the cut
    f2[rng.random(T) < 0.05] = np.nan
    changed = expanding_forecast(s2, np.where(np.arange(T) <= cut - h, target, f2), h, min_train)
    np.testing.assert_array_equal(base[: cut + 1], changed[: cut + 1])


def test_forward_active_return_by_hand(make_market):
    # three index names, shares 1, 2, 3: cap weights from the previous close; equal weights 1/3
    closes = {"A": [10.0, 11, 12.1, 12.1, 13.31], "B": [20.0, 20, 22, 19.8, 19.8], "C": [5.0, 5.5, 5.5, 6.05, 6.05]}
    m = make_market(closes, shares={"A": 1, "B": 2, "C": 3})
    px = np.array(list(closes.values())).T
    caps = px * np.array([1, 2, 3])
    r = px[1:] / px[:-1] - 1
    cw = (caps[:-1] * r).sum(axis=1) / caps[:-1].sum(axis=1)
    ew = r.mean(axis=1)
    h = 2
    fwd = forward_active_return(m, CFG, h)
    for t in range(0, 5 - h):
        want = (np.prod(1 + ew[t: t + h]) - 1) - (np.prod(1 + cw[t: t + h]) - 1)
        assert fwd[t] == pytest.approx(want, abs=1e-12), t
    assert np.isnan(fwd[-h:]).all()


def test_verdict_path_ends_on_the_scorecard_verdicts(tiny_market):
    card = scorecard(tiny_market).table.set_index("id")
    for cid, claim in REGISTRY.items():
        assert verdict_path(claim, tiny_market)[-1] == card.loc[cid, "verdict"], cid


def test_evaluate_on_the_synthetic_market(tiny_market):
    from scipy.stats import spearmanr

    ev = evaluate(tiny_market, horizons=(63, 126))
    d = ev.to_dict()
    json.dumps(d)
    assert list(d["signals"]) == [*REGISTRY, "regime"]
    assert set(d["signals"]["C1"]) == {"63", "126"}
    row = d["signals"]["C4"]["63"]
    assert set(row) >= {"ic", "t_stat", "n", "n_independent", "hit_rate", "oos_ic", "oos_t_stat", "oos_n", "oos_hit_rate"}
    # the IC is scipy's Spearman correlation of the oriented headline with the forward return
    fwd = forward_active_return(tiny_market, CFG, 63)
    for cid in ("C4", "C9"):
        c = REGISTRY[cid]
        x = c.orientation * family(tiny_market, cid, CFG)[c.headline_column(CFG)].to_numpy()
        ok = np.isfinite(x) & np.isfinite(fwd)
        assert d["signals"][cid]["63"]["ic"] == pytest.approx(spearmanr(x[ok], fwd[ok]).statistic, abs=1e-12)
        assert d["signals"][cid]["63"]["n"] == int(ok.sum())
        assert d["signals"][cid]["63"]["n_independent"] == pytest.approx(ok.sum() / 63)
    # the verdict hit rate counts supported / not supported days against the forward return
    calls = verdict_path(REGISTRY["C4"], tiny_market)
    made = np.isin(calls, ["supported", "not supported"]) & np.isfinite(fwd)
    right = ((calls == "supported") & (fwd > 0)) | ((calls == "not supported") & (fwd < 0))
    assert row["hit_rate"] == pytest.approx(right[made].mean())
    assert row["calls"] == int(made.sum())
    with pytest.raises(ValueError, match="horizons"):
        evaluate(tiny_market, horizons=(0,))


def test_out_of_sample_forecast_is_the_same_on_a_truncated_market(tiny_market):
    """Point in time end to end: the forecasts up to a date come out the same from data up to that date."""
    from broadening.signals.history import trailing_percentile

    cut = "2022-12-30"
    early = tiny_market.until(cut)
    n = early.shape[0]
    c = REGISTRY["C4"]

    def forecast(m):
        x = family(m, "C4", CFG)[c.headline_column(CFG)].to_numpy()
        p = trailing_percentile(x, c.window(CFG), CFG.history.min_periods)
        return expanding_forecast(p, forward_active_return(m, CFG, 63), 63, 252)

    full, part = forecast(tiny_market)[:n], forecast(early)
    assert np.isfinite(part).sum() > 200
    np.testing.assert_allclose(part, full, rtol=0, atol=1e-12, equal_nan=True)


def test_playbook_target_by_hand(tiny_market):
    import pandas as pd

    from broadening.signals.evaluate import forward_strategy_active

    idx = tiny_market.index
    rng = np.random.default_rng(2)
    rets = pd.DataFrame({"playbook": rng.normal(0.0005, 0.01, len(idx)), "cap_weight": rng.normal(0.0004, 0.01, len(idx))},
                        index=idx).iloc[100:]  # a backtest that starts later than the market
    fwd = forward_strategy_active(rets, idx, 5)
    t = 300
    want = np.prod(1 + rets["playbook"].iloc[t - 99: t - 94]) - np.prod(1 + rets["cap_weight"].iloc[t - 99: t - 94])
    assert fwd[t] == pytest.approx(want, abs=1e-12)
    assert np.isnan(fwd[:95]).all() and np.isnan(fwd[-5:]).all()
    ev = evaluate(tiny_market, horizons=(63,), strategy_returns=rets)
    row = ev.table.set_index("signal").loc["C4"]
    c = REGISTRY["C4"]
    x = family(tiny_market, "C4", CFG)[c.headline_column(CFG)].to_numpy()
    ref = rank_ic(x, forward_strategy_active(rets, idx, 63), lag=62)
    assert row["playbook_ic"] == pytest.approx(ref["ic"]) and row["playbook_n"] == ref["n"] > 1000
    assert ev.to_dict()["signals"]["C4"]["63"]["playbook_t_stat"] == pytest.approx(ref["t_stat"])
    assert evaluate(tiny_market, horizons=(63,)).to_dict()["signals"]["C4"]["63"]["playbook_ic"] is None


# -- issue #17: undefined statistics are NaN, never a number -------------------------------------
def test_statistics_that_cannot_be_computed_are_nan():
    import pandas as pd

    from broadening.signals.evaluate import forward_strategy_active

    assert all(np.isnan(v) for v in newey_west_slope(np.array([1.0, 2.0]), np.array([3.0, 1.0]), 0))  # two points
    assert all(np.isnan(v) for v in newey_west_slope(np.ones(10), np.arange(10.0), 2))  # no spread in x
    # a signal that never moves has no rank correlation (but its dates are counted)
    got = rank_ic(np.full(10, 0.5), np.arange(10.0))
    assert np.isnan(got["ic"]) and np.isnan(got["t_stat"]) and got["n"] == 10
    # a horizon as long as the backtest: no forward window ends inside it
    idx = pd.bdate_range("2024-01-01", periods=5)
    rets = pd.DataFrame({"playbook": 0.01, "cap_weight": 0.0}, index=idx)
    assert np.isnan(forward_strategy_active(rets, idx, 5)).all()
    np.testing.assert_allclose(forward_strategy_active(rets, idx, 4)[0], 1.01 ** 4 - 1)
