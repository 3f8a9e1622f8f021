"""The whole chain on a lane-packed market equals the dense one (to 1e-10, per security).

Signals, scorecard, regime, the playbook suite (returns, metrics, weights and sleeves per
security id, holdings, attribution, Brinson), the audit findings, "does the thesis pay?"
and the HTML report are computed on the same market loaded dense and lane-packed. Sums may
run in another order across columns, so floats agree to 1e-10, not bit for bit.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from broadening.audit import audit
from broadening.backtest.brinson import brinson_frame
from broadening.config import load_config
from broadening.market import Market
from broadening.playbook.config import load_playbook_config
from broadening.playbook.suite import run_backtests
from broadening.playbook.targets import playbook_targets
from broadening.report import build_report
from broadening.signals import compute_signals, scorecard
from broadening.signals.evaluate import evaluate
from broadening.signals.regime import diffusion_score, regime

TOL = dict(rtol=1e-10, atol=1e-10)


def by_security(market: Market, positions: np.ndarray, ids: np.ndarray, values: np.ndarray) -> pd.Series:
    """``(R, N')`` values on rebalance ``positions`` over columns labelled ``ids``, as a Series
    indexed by (date, security_id), zeros left out."""
    where = {str(k): i for i, k in enumerate(market.ids)}
    cols = np.array([where[str(k)] for k in ids], dtype=np.int64)
    r, c = np.nonzero(values)
    occ = market.occupants_at(positions)[:, cols]
    sid = market.security_ids[occ[r, c]]
    idx = pd.MultiIndex.from_arrays([pd.DatetimeIndex(market.dates[positions[r]]), sid], names=["date", "security_id"])
    return pd.Series(values[r, c], index=idx).sort_index()


def chain(market: Market, tmp_path, name: str) -> dict:
    cfg, pcfg = load_config(None), load_playbook_config(None)
    out = {"signals": compute_signals(market, cfg), "regime": regime(market, cfg)}
    card = scorecard(market, cfg)
    out["scorecard"] = card.table
    out["card"] = (card.regime, card.diffusion_score)
    score = diffusion_score(market, cfg)
    suite = run_backtests(market, pcfg, regime_score=score, basket_config=cfg)
    out["returns"], out["metrics"] = suite.returns, suite.metrics
    out["attribution"], out["attribution_total"] = suite.attribution, suite.attribution_total
    out["holdings"], out["rolling"] = suite.holdings, suite.rolling
    out["brinson"] = brinson_frame(suite.brinson)
    out["notes"] = suite.notes
    for k, res in suite.results.items():
        out[f"weights {k}"] = by_security(market, res.positions, res.ids, res.weights)
        tw = suite.targets[k]
        for s, w in tw.sleeves.items():
            out[f"sleeve {k} {s}"] = by_security(market, tw.positions, tw.ids, w)
    w, sl = playbook_targets(market, pcfg, regime_score=score)
    out["targets"] = (w.sort_index(), sl.sort_index())
    out["audit"] = [(f.check, f.item, f.date, f.detail, f.value) for f in audit(market).findings]
    ev = evaluate(market, cfg)
    out["evaluate"] = ev.table if hasattr(ev, "table") else ev
    path = tmp_path / f"{name}.html"
    build_report(market, path, cfg=cfg, suite=suite, card=card)
    out["report"] = report_text(path.read_text())
    return out


def report_text(html: str) -> str:
    """The report with numbers to 8 significant digits (the charts embed full floats, whose last
    bits follow the order of summation), without the script hashes that change with them."""
    html = re.sub(r"sha256-[A-Za-z0-9+/=]+", "sha256", html)
    html = re.sub(r"<b>Generated</b> [^<]*", "", html)  # the clock
    return re.sub(r"-?\d+\.\d+(?:[eE][-+]?\d+)?", lambda m: f"{float(m.group()):.8g}", html)


def assert_same(a, b, what: str) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=False, **TOL, obj=what)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=False, **TOL, obj=what)
    elif isinstance(a, (tuple, list)) and a and isinstance(a[0], (pd.Series, pd.DataFrame, tuple)):
        assert len(a) == len(b), what
        for x, y in zip(a, b, strict=True):
            assert_same(x, y, what)
    elif isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float):
                np.testing.assert_allclose(x, y, **TOL, err_msg=what)
            else:
                assert x == y, what
    elif isinstance(a, str) and a != b:
        at = next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)
        raise AssertionError(f"{what}: differs at {at}: {a[max(0, at - 200): at + 200]!r} vs {b[max(0, at - 200): at + 200]!r}")
    else:
        assert a == b, what


def assert_same_chain(dense: dict, lanes: dict) -> None:
    assert dense.keys() == lanes.keys()
    for k in dense:
        assert_same(dense[k], lanes[k], k)


@pytest.mark.slow
def test_tiny_market_chain_dense_equals_lanes(tiny_synthetic, tmp_path):
    dense = Market.from_tables(tiny_synthetic.tables, synthetic=True, layout="dense")
    lanes = Market.from_tables(tiny_synthetic.tables, synthetic=True, layout="lanes")
    assert lanes.packed and lanes.shape[1] < dense.shape[1]
    assert_same_chain(chain(dense, tmp_path, "dense"), chain(lanes, tmp_path, "lanes"))


@pytest.mark.slow
def test_demo_market_chain_dense_equals_lanes(tmp_path):
    """The embedded demo market (3,334 securities over 21 years): the chain agrees dense vs lanes."""
    import gc

    from broadening.market import load_market
    from broadening.providers.synthetic import generate
    from broadening.warehouse import Warehouse

    demo = generate(seed=7, preset="demo")
    db = str(tmp_path / "demo.duckdb")
    with Warehouse(db) as wh:
        wh.ingest(demo.tables, source="synthetic", synthetic=True)
    del demo
    got = {}
    for layout in ("dense", "lanes"):
        with Warehouse(db, read_only=True) as wh:
            market = load_market(wh, layout=layout)
        assert market.packed == (layout == "lanes")
        got[layout] = chain(market, tmp_path, layout)
        del market
        gc.collect()
    assert_same_chain(got["dense"], got["lanes"])
