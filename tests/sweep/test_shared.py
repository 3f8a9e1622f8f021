"""Sweep shared data: the split windows, the bytes shipped to workers, empty metric windows (hand-computed)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from broadening.backtest import metrics as M
from broadening.sweep.grid import FULL, Split
from broadening.sweep.shared import SweepData, _metrics, _window

# ten business days 2024-01-01 (Mon) .. 2024-01-12 (Fri)
DATES = pd.bdate_range("2024-01-01", periods=10).values.astype("datetime64[D]")
POS = np.array([0, 2, 4, 6, 8])  # rebalance rows


def test_window_full_without_default_start_covers_everything_but_the_last_date():
    # rebalances at rows 0,2,4,6,8; the last row (9) is never a rebalance, so hi = searchsorted(POS, 9) = 5
    assert _window(DATES, POS, FULL, None) == (0, 5, 10)


def test_window_full_with_default_start_skips_earlier_rebalances():
    # default start 2024-01-05 is row 4 -> first rebalance at or after it is POS[2]
    assert _window(DATES, POS, FULL, pd.Timestamp("2024-01-05")) == (2, 5, 10)
    # a start between rebalance rows (row 3 = 2024-01-04) -> next rebalance row 4 -> index 2
    assert _window(DATES, POS, FULL, pd.Timestamp("2024-01-04")) == (2, 5, 10)


def test_window_split_ends_after_test_end_and_excludes_the_end_row():
    s = Split("s1", pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-04"), pd.Timestamp("2024-01-09"))
    # test_end 2024-01-09 is row 6 -> t_end = 7; rebalances before row 6 (=t_end-1): 0,2,4 -> hi = 3
    # train_start 2024-01-02 is row 1 -> first rebalance at/after it is row 2 -> lo = 1
    assert _window(DATES, POS, s, pd.Timestamp("2024-01-10")) == (1, 3, 7)


def test_window_split_test_end_on_a_weekend_uses_the_last_date_before_it():
    s = Split("s2", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-06"))
    # Saturday 2024-01-06 -> rows up to Friday 2024-01-05 (row 4) -> t_end = 5; hi = searchsorted(POS, 4) = 2
    assert _window(DATES, POS, s, None) == (0, 2, 5)


def _data(sims, rebs):
    return SweepData(dates=DATES, ids=np.array(["A"]), rebalances=rebs, simulations=sims, baskets={})


def test_nbytes_counts_each_array_once():
    prices = np.zeros((10, 3))  # 240 bytes
    cap = np.zeros((5, 3))  # 120 bytes
    sims = {"m": SimpleNamespace(data=SimpleNamespace(prices=prices), cap=cap),
            "q": SimpleNamespace(data=SimpleNamespace(prices=prices), cap=None)}  # shared prices, no cap
    members = np.zeros((5, 3), dtype=bool)  # 15 bytes
    basket = np.zeros((5, 3), dtype=np.float32)  # 60 bytes
    reb = SimpleNamespace(members=members, alive=members, cap=cap, tri=None, returns=None, baskets={"b": basket})
    data = _data(sims, {"m": reb, "q": reb})
    assert data.nbytes == 240 + 120 + 15 + 60


def test_nbytes_of_empty_data_is_zero():
    assert _data({}, {}).nbytes == 0


def _bench(idx, n_reb):
    return SimpleNamespace(returns=pd.Series(0.0, index=idx), weights=np.full((n_reb, 2), 0.5))


def test_metrics_window_without_rebalance_is_all_nan():
    idx = pd.bdate_range("2024-01-01", periods=6)
    rets = pd.Series([0.01, -0.02, 0.0, 0.03, 0.01, 0.0], index=idx)
    rdates = pd.DatetimeIndex(["2024-01-01", "2024-01-03"])
    out = _metrics(rets, _bench(idx, 2), np.array([1.0, 0.2]), np.full((2, 2), 0.5), rdates, 0.0,
                   pd.Timestamp("2024-01-04"), None, False)
    assert set(out) == set(M.METRIC_KEYS)
    assert all(np.isnan(v) for v in out.values())


def test_metrics_train_window_matches_summary_on_the_slice():
    idx = pd.bdate_range("2024-01-01", periods=6)
    rets = pd.Series([0.01, -0.02, 0.0, 0.03, 0.01, 0.0], index=idx)
    rdates = pd.DatetimeIndex(["2024-01-01", "2024-01-04"])
    bench = _bench(idx, 2)
    w = np.array([[0.6, 0.4], [0.3, 0.7]])
    out = _metrics(rets, bench, np.array([1.0, 0.2]), w, rdates, 0.0, None, pd.Timestamp("2024-01-03"), True)
    # the train window holds rows 0..2 and only the first rebalance
    ref = M.summary(rets.iloc[:3], bench.returns.iloc[:3], rf=0.0, turnover=pd.Series([1.0]),
                    weights=w[:1], benchmark_weights=bench.weights[:1])
    assert out.keys() == ref.keys()
    for k in out:
        assert out[k] == pytest.approx(ref[k], nan_ok=True)
    # by hand: active share 0.5 * (|0.6-0.5| + |0.4-0.5|); drawdown 1.01*0.98/1.01 - 1; sample vol * sqrt(252)
    assert out["active_share"] == pytest.approx(0.1)
    assert out["max_drawdown"] == pytest.approx(-0.02)
    assert out["volatility"] == pytest.approx(np.std([0.01, -0.02, 0.0], ddof=1) * np.sqrt(252))


def test_metrics_later_window_adds_no_initial_investment():
    idx = pd.bdate_range("2024-01-01", periods=6)
    rets = pd.Series([0.01, -0.02, 0.0, 0.03, 0.01, 0.0], index=idx)
    rdates = pd.DatetimeIndex(["2024-01-01", "2024-01-04"])
    bench = _bench(idx, 2)
    w = np.array([[0.6, 0.4], [0.3, 0.7]])
    out = _metrics(rets, bench, np.array([1.0, 0.2]), w, rdates, 0.0, pd.Timestamp("2024-01-04"), None, False)
    ref = M.summary(rets.iloc[3:], bench.returns.iloc[3:], rf=0.0, turnover=pd.Series([0.0, 0.2]),
                    weights=w[1:], benchmark_weights=bench.weights[1:])
    # only the second rebalance is in the window: active share 0.5 * (0.2 + 0.2); no drawdown on +3%, +1%, 0
    assert out["active_share"] == pytest.approx(0.2)
    assert out["max_drawdown"] == 0.0
    assert out["hit_rate"] == 1.0
    for k in out:
        assert out[k] == pytest.approx(ref[k], nan_ok=True)


def test_prepare_notes_a_sleeve_without_a_basket_and_fills_every_window(tiny_market, tmp_path):
    from broadening.sweep.grid import parse_grid
    from broadening.sweep.shared import prepare

    (tmp_path / "pb.toml").write_text("[constraints]\ntracking_error_budget = 0.0\n")
    doc = {"sweep": {"playbook": "pb.toml"},
           "grid": {"schedule": ["quarterly"], "sleeves": {"s": {"equal_weight_core": 0.5, "bdcs": 0.5}}}}
    g = parse_grid(doc, "g.toml", base_dir=tmp_path)
    data, g = prepare(tiny_market, g, baskets={})
    assert "sleeve 'bdcs' has no basket; its share goes to the core" in data.notes
    assert data.baskets == {}
    assert set(data.windows) == {("quarterly", "full")}
    lo, hi, t_end = data.windows[("quarterly", "full")]
    assert t_end == len(tiny_market.dates) and 0 <= lo < hi
    assert data.nbytes > 0


def test_prepare_with_a_tracking_error_budget_shares_one_returns_panel(tiny_market):
    from broadening.sweep.grid import parse_grid
    from broadening.sweep.shared import prepare

    # the default playbook has a tracking-error budget: every schedule must read the same returns panel
    g = parse_grid({"grid": {"schedule": ["monthly", "quarterly"]}}, "g.toml")
    assert g.base.constraints.tracking_error_budget > 0
    data, _ = prepare(tiny_market, g)
    m, q = data.rebalances["monthly"].returns, data.rebalances["quarterly"].returns
    assert m is not None and m is q
    assert all(d.market is None for d in data.rebalances.values())


def test_walk_forward_variant_reports_train_and_test_windows(tiny_market, tmp_path):
    from broadening.sweep.grid import parse_grid
    from broadening.sweep.shared import evaluate, evaluate_many, prepare

    (tmp_path / "pb.toml").write_text("[constraints]\ntracking_error_budget = 0.0\n")
    dates = tiny_market.index
    a, b, c = dates[len(dates) // 4], dates[len(dates) // 2], dates[-1]
    doc = {"sweep": {"playbook": "pb.toml"}, "grid": {"schedule": ["monthly"], "top_k": [2, 3]},
           "walk_forward": {"splits": [{"train": [str(a.date()), str(b.date())], "test_end": str(c.date())}]}}
    data, g = prepare(tiny_market, parse_grid(doc, "g.toml", base_dir=tmp_path))
    rows = evaluate_many(data, g.variants)
    assert [r["id"] for r in rows] == [0, 1]
    for v, r in zip(g.variants, rows, strict=True):
        assert r == evaluate(data, v)
        assert r["split"] == {"split": "wf1", "train_start": str(a.date()), "train_end": str(b.date()),
                              "test_end": str(c.date())}
        assert r["in_sample"] is not None and set(r["in_sample"]) == set(r["metrics"])
        assert r["start"] >= str(a.date()) and r["end"] == str(c.date())
    # the two variants differ in top_k, so at least one metric differs
    assert rows[0]["metrics"] != rows[1]["metrics"]


def test_a_split_without_a_rebalance_date_is_refused(tiny_market, tmp_path):
    from broadening.errors import ConfigError
    from broadening.sweep.grid import parse_grid
    from broadening.sweep.shared import prepare

    (tmp_path / "pb.toml").write_text("[constraints]\ntracking_error_budget = 0.0\n")
    d = tiny_market.index
    # train starts after the last quarterly rebalance: nothing to rebalance in the window
    doc = {"sweep": {"playbook": "pb.toml"}, "grid": {"schedule": ["quarterly"]},
           "walk_forward": {"splits": [{"train": [str(d[-4].date()), str(d[-3].date())], "test_end": str(d[-1].date())}]}}
    with pytest.raises(ConfigError, match=r"g.toml: key 'walk_forward': split wf1 holds no rebalance date on the quarterly"):
        prepare(tiny_market, parse_grid(doc, "g.toml", base_dir=tmp_path))


def test_a_market_without_share_counts_benchmarks_on_equal_weights_and_says_so(make_tables, tmp_path):
    from broadening.market import Market
    from broadening.sweep.grid import parse_grid
    from broadening.sweep.shared import prepare

    rng = np.random.default_rng(1)
    closes = {f"S{i:02d}": list(10 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))) for i in range(30)}
    t = make_tables(closes)
    del t["shares"]  # prices only: no market cap anywhere
    (tmp_path / "pb.toml").write_text("[constraints]\ntracking_error_budget = 0.0\n")
    g = parse_grid({"sweep": {"playbook": "pb.toml"}, "grid": {"top_k": [2]}}, "g.toml", base_dir=tmp_path)
    data, _ = prepare(Market.from_tables(t), g)
    assert data.notes == ["no market caps on some rebalance dates: equal weight used instead"]
    bench = data.benchmarks[("monthly", "full")]
    first = bench.weights[np.flatnonzero(bench.weights.sum(axis=1) > 0)[0]]
    assert (first > 0).sum() == 30
    np.testing.assert_allclose(first[first > 0], 1 / 30)
