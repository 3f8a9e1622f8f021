"""Properties over every signal: no look-ahead, and security ids are only labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from broadening import panel
from broadening.config import load_config
from broadening.errors import ConfigError
from broadening.market import Market
from broadening.signals import compute_signals, diffusion_score, regime, regime_labels, scorecard
from broadening.signals.compute import compute_families, default_workers

T = 90
N = 8
SECTORS = ["Information Technology", "Industrials", "Materials", "Health Care"]
LAYERS = ["infrastructure", "platform", "adopter", "none"]

CFG = load_config().with_overrides({
    "universe": {"k": 2, "k_report": [1, 2, 3]},
    "history": {"window": 60, "min_periods": 5},
    "signals": {"trend_window": 5, "breadth_window": 5, "moving_average": 10, "snap_windows": [3, 5],
                "crowding_window": 10, "growth_lag_days": 20, "acceleration_lag_days": 5, "credit_growth_days": 20},
    "small_cap_quality": {"growth_lag_days": 20, "top_fraction": 0.5, "require_positive_growth": False,
                          "reconstitute": "monthly"},
    "scorecard": {"C2": {"snap_months": 1}},
    "regime": {"hysteresis": {"smooth_span": 3, "min_days": 2}},
})


def random_tables(seed: int) -> dict[str, pd.DataFrame]:
    """A small random market with every table (prices, shares, fundamentals, membership, series)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2024-01-01", periods=T)
    ids = [f"S{i}" for i in range(N)]
    close = 20 * np.exp(np.cumsum(rng.normal(0, 0.02, (T, N)), axis=0)) * rng.uniform(0.5, 5, N)
    prices = pd.DataFrame({
        "security_id": np.repeat(ids, T), "date": np.tile(dates, N),
        "close": close.T.ravel(), "volume": 1000.0,
    })
    prices["total_return_index"] = prices["close"]
    shares = pd.DataFrame({"security_id": ids, "date": dates[0] - pd.Timedelta(days=5),
                           "shares_outstanding": rng.uniform(1, 10, N)})
    # a share change mid-sample for a couple of names
    shares = pd.concat([shares, pd.DataFrame({"security_id": ids[:2], "date": dates[T // 2],
                                              "shares_outstanding": rng.uniform(1, 10, 2)})])
    sec = pd.DataFrame({
        "security_id": ids, "ticker": ids,
        "sector": [SECTORS[i % 4] for i in range(N)],
        "domestic_revenue_share": rng.uniform(0.3, 1.0, N),
        "ai_layer": [LAYERS[i % 4] for i in range(N)],
        "is_bdc": [i == N - 1 for i in range(N)],
    })
    fund = []
    ends = pd.date_range("2023-03-31", periods=8, freq="QE")
    for sid in ids:
        base = rng.uniform(-1, 4)
        for pe in ends:
            ni = base + rng.normal(0, 1)
            avail = pe + pd.Timedelta(days=int(rng.integers(20, 60)))
            fund.append({"security_id": sid, "period_end": pe, "available_date": avail, "net_income": ni, "eps": ni / 2,
                         "revenue": 20 + rng.uniform(0, 5), "operating_income": ni + 1, "book_equity": rng.uniform(5, 30),
                         "total_debt": rng.uniform(0, 40), "capex": 1.0})
    memb = [{"index_id": "sp500" if i < 5 else "smallmid", "security_id": sid, "start": dates[0], "end": None}
            for i, sid in enumerate(ids)]
    series = []
    for sid, lvl in (("BUSLOANS", 2000.0), ("BAMLH0A0HYM2", 4.0), ("PRIVATE_CREDIT_AUM", 1500.0)):
        sd = pd.date_range("2022-12-01", dates[-1], freq="W-FRI")
        v = lvl * np.exp(np.cumsum(rng.normal(0, 0.01, len(sd))))
        series += [{"series_id": sid, "date": d, "value": x} for d, x in zip(sd, v, strict=True)]
    return {"securities": sec, "prices": prices, "shares": shares, "fundamentals": pd.DataFrame(fund),
            "membership": pd.DataFrame(memb), "series": pd.DataFrame(series)}


def perturb_after(tables: dict[str, pd.DataFrame], cut: pd.Timestamp, seed: int) -> dict[str, pd.DataFrame]:
    """Change every price, share count, fundamental and series value dated after ``cut``."""
    rng = np.random.default_rng(seed + 1)
    out = {k: v.copy() for k, v in tables.items()}
    p = out["prices"]
    late = p["date"] > cut
    p.loc[late, "close"] *= rng.uniform(0.3, 3.0, late.sum())
    p.loc[late, "total_return_index"] = p.loc[late, "close"] * 1.01
    f = out["fundamentals"]
    late = f["available_date"] > cut
    for c in ("net_income", "eps", "revenue", "operating_income", "book_equity", "total_debt"):
        f.loc[late, c] = f.loc[late, c] * rng.uniform(-2, 3, late.sum()) + 0.5
    s = out["series"]
    late = s["date"] > cut
    s.loc[late, "value"] *= rng.uniform(0.2, 5, late.sum())
    sh = out["shares"]
    out["shares"] = pd.concat([sh, pd.DataFrame({"security_id": ["S3"], "date": [cut + pd.Timedelta(days=1)],
                                                 "shares_outstanding": [77.0]})])
    return out


def _everything(market: Market) -> pd.DataFrame:
    sig = compute_signals(market, CFG, stats=True)
    sig.columns = ["|".join(c) for c in sig.columns]
    reg = regime(market, CFG).drop(columns="regime")
    return pd.concat([sig, reg.add_prefix("R.")], axis=1)


# no shrinking: each example builds two markets; a failing seed is printed as it is
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(seed=st.integers(0, 10_000), cut=st.integers(15, T - 5))
def test_no_look_ahead(seed, cut):
    tables = random_tables(seed)
    dates = pd.bdate_range("2024-01-01", periods=T)
    t_cut = dates[cut]
    base = Market.from_tables(tables)
    moved = Market.from_tables(perturb_after(tables, t_cut, seed))
    a, b = _everything(base), _everything(moved)
    assert a.shape == b.shape and a.shape[1] > 150
    upto = a.index <= t_cut
    pd.testing.assert_frame_equal(a[upto], b[upto], rtol=1e-10, atol=1e-12)
    assert (regime_labels(base, CFG)[upto] == regime_labels(moved, CFG)[upto]).all()
    # and the data after the cut did change something (the test can fail)
    assert not a[~upto].equals(b[~upto])
    assert scorecard(base, CFG, asof=t_cut).to_dict() == scorecard(moved, CFG, asof=t_cut).to_dict()


def assert_same_card(a: dict, b: dict) -> None:
    """Scorecard dicts equal up to float rounding (sums run in another column order)."""
    assert a.keys() == b.keys()
    for k in a:
        if k == "claims":
            for ra, rb in zip(a[k], b[k], strict=True):
                for f in ra:
                    if isinstance(ra[f], float):
                        assert ra[f] == pytest.approx(rb[f], rel=1e-9, abs=1e-8), (ra["id"], f)
                    elif f not in ("reason", "trend"):
                        assert ra[f] == rb[f], (ra["id"], f)
        elif isinstance(a[k], float):
            assert a[k] == pytest.approx(b[k], rel=1e-9)
        else:
            assert a[k] == b[k], k


def _relabel(tables: dict[str, pd.DataFrame], mapping: dict[str, str]) -> dict[str, pd.DataFrame]:
    out = {}
    for k, v in tables.items():
        v = v.copy()
        if "security_id" in v:
            v["security_id"] = v["security_id"].map(mapping)
        if k == "securities":
            v["ticker"] = v["security_id"]
        out[k] = v
    return out


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(seed=st.integers(0, 10_000), perm_seed=st.integers(0, 10_000))
@example(seed=2467, perm_seed=10_000)  # a flat window whose variance was pure rounding
def test_relabelling_ids_changes_nothing(seed, perm_seed):
    tables = random_tables(seed)
    ids = [f"S{i}" for i in range(N)]
    names = np.random.default_rng(perm_seed).permutation([f"X{c}" for c in "QWERTYUI"])
    mapping = dict(zip(ids, names, strict=True))
    a = _everything(Market.from_tables(tables))
    b = _everything(Market.from_tables(_relabel(tables, mapping)))
    # sums over securities run in another order: values agree to rounding; a z-score
    # divides that rounding by its window's std, so it gets a looser absolute tolerance
    z = [c for c in a.columns if c.endswith("|zscore")]
    rest = [c for c in a.columns if c not in z]
    pd.testing.assert_frame_equal(a[rest], b[rest], rtol=1e-9, atol=1e-8)
    pd.testing.assert_frame_equal(a[z], b[z], rtol=1e-6, atol=1e-5)
    sa = scorecard(Market.from_tables(tables), CFG).to_dict()
    sb = scorecard(Market.from_tables(_relabel(tables, mapping)), CFG).to_dict()
    assert_same_card(sa, sb)


def test_diffusion_score_is_cached_and_callers_cannot_corrupt_it():
    m = Market.from_tables(random_tables(1))
    first = diffusion_score(m, CFG)
    expected = first.copy()
    first[:] = -1.0
    pd.testing.assert_series_equal(diffusion_score(m, CFG), expected)
    assert ("regime", "score", CFG.fingerprint) in m._cache


@pytest.mark.parametrize("seed", [3, 4242])
def test_results_do_not_depend_on_row_blocks_or_threads(seed, monkeypatch):
    """Every blocked reduction carries its state across block edges, and threads share panels safely."""
    tables = random_tables(seed)
    ref = compute_signals(Market.from_tables(tables), CFG, stats=True, workers=1)
    ref_card = scorecard(Market.from_tables(tables), CFG, workers=1).table
    monkeypatch.setattr(panel, "BLOCK_CELLS", 5)  # one row per block: every block edge exercised
    m = Market.from_tables(tables)
    got = compute_signals(m, CFG, stats=True, workers=3)
    # sums over other block shapes differ in the last bits; a z-score of a flat series
    # magnifies that to ~1e-8, while a block-edge bug would be off by whole units
    pd.testing.assert_frame_equal(got, ref, rtol=1e-7, atol=1e-7)
    pd.testing.assert_frame_equal(scorecard(m, CFG, workers=3).table, ref_card, rtol=1e-7, atol=1e-7)


def test_compute_families_subset_and_unknown_claims():
    m = Market.from_tables(random_tables(9))
    got = compute_families(m, CFG, claims=["C4", "C1"], workers=2)
    assert list(got) == ["C1", "C4"]  # claim order
    with pytest.raises(KeyError, match="C11"):
        compute_families(m, CFG, claims=["C11"])


def test_threads_setting_is_checked(monkeypatch):
    monkeypatch.setenv("BROADENING_THREADS", "two")
    with pytest.raises(ConfigError, match=r"^\$BROADENING_THREADS: expected a whole number of threads, got 'two'$"):
        default_workers()
    monkeypatch.setenv("BROADENING_THREADS", "2")
    assert default_workers() == 2
