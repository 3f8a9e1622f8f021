"""The claims registry: every claim declared once, rules checked by hand, one object adds a claim."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from broadening.config import load_config
from broadening.signals import claims as cl
from broadening.signals import compute_signals, scorecard
from broadening.signals.claims import REGISTRY, Band, Both, ChartSpec, Claim, Condition, decide
from broadening.signals.concentration import concentration
from broadening.signals.regime import components, regime_claims

CFG = load_config()


def test_registry_holds_c1_to_c10_with_their_headlines(tiny_market):
    assert list(REGISTRY) == [f"C{i}" for i in range(1, 11)]
    sig = compute_signals(tiny_market)
    for cid, c in REGISTRY.items():
        assert f"{cid}.{c.headline_column(CFG)}" in sig.columns, cid
        for q in c.rule.quantities():
            name = cl.col_name(q, CFG)
            assert name in ("value", "percentile") or f"{cid}.{name}" in sig.columns, (cid, name)
        if c.chart.kind != "baskets":
            for col, _ in c.chart.series:
                assert f"{cid}.{col}" in sig.columns, (cid, col)
        if c.rule.__class__ is Both:
            for t in (c.rule.first, c.rule.second):
                assert t.threshold is None or t.threshold in CFG.scorecard[cid], (cid, t.threshold)
    # the regime reads exactly the claims that declare a component, with a configured weight
    assert regime_claims() == ("C1", "C2", "C3", "C4", "C5", "C9")
    assert set(regime_claims()) == set(CFG.regime.weights)
    assert list(components(tiny_market).columns) == list(regime_claims())


def test_band_rule_by_hand():
    c = REGISTRY["C1"]  # supported >= 0.7, not supported <= 0.4
    p = np.array([0.95, 0.7, 0.69, 0.41, 0.4, 0.0, np.nan, 0.8])
    v = np.array([0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, np.nan])
    verdict, partial = decide(c, CFG, {"value": v, "percentile": p})
    assert verdict.tolist() == ["supported", "supported", "mixed", "mixed", "not supported", "not supported", "n/a", "n/a"]
    assert not partial.any()
    # C9 points the other way: low relative P/E supports (<= 0.25), high contradicts (>= 0.5)
    verdict, _ = decide(REGISTRY["C9"], CFG, {"value": np.ones(4), "percentile": np.array([0.1, 0.25, 0.3, 0.5])})
    assert verdict.tolist() == ["supported", "supported", "mixed", "not supported"]


def test_two_part_rule_by_hand_with_an_optional_second_test():
    c5 = REGISTRY["C5"]  # relative return > 0 and quality minus junk > 0; quality optional
    v = np.array([0.05, 0.05, -0.02, -0.02, 0.05, -0.02, np.nan])
    qmj = np.array([0.01, -0.01, 0.01, -0.01, np.nan, np.nan, 0.01])
    verdict, partial = decide(c5, CFG, {"value": v, "percentile": np.full(7, 0.5), "quality_minus_junk": qmj})
    assert verdict.tolist() == ["supported", "mixed", "mixed", "not supported", "mixed", "not supported", "n/a"]
    assert partial.tolist() == [False, False, False, False, True, True, False]
    # C2's second test is not optional: an unknown snap return is n/a
    c2 = REGISTRY["C2"]
    snap = cl.col_name(c2.rule.second.quantity, CFG)
    assert snap == "ew_cw_63d"
    verdict, _ = decide(c2, CFG, {"value": np.ones(3), "percentile": np.array([0.8, 0.8, 0.2]),
                                  snap: np.array([0.01, np.nan, -0.01])})
    assert verdict.tolist() == ["supported", "n/a", "not supported"]
    # C10 compares two columns: down-day share above the weight
    verdict, _ = decide(REGISTRY["C10"], CFG, {"value": np.array([0.1, 0.1, -0.1]), "percentile": np.full(3, 0.5),
                                               "topk_down_share": np.array([0.5, 0.3, 0.3]),
                                               "topk_weight": np.array([0.4, 0.4, 0.4])})
    assert verdict.tolist() == ["supported", "mixed", "not supported"]


def test_scorecard_verdicts_follow_the_declared_rules(tiny_market):
    """An independent re-reading of C1, C4 and C10 from the raw signals at the last date."""
    card = scorecard(tiny_market).table.set_index("id")
    sig = compute_signals(tiny_market, stats=True)
    last = sig.iloc[-1]
    k = CFG.universe.k
    p1 = last[(f"C1.top{k}_share", "percentile")]
    th = CFG.scorecard["C1"]
    want1 = "supported" if p1 >= th["supported_percentile"] else "not supported" if p1 <= th["not_supported_percentile"] else "mixed"
    assert card.loc["C1", "verdict"] == want1
    assert card.loc["C1", "percentile"] == pytest.approx(p1)
    beat, ma = last[("C4.beat_share", "value")], last[("C4.above_ma_share", "value")]
    a, b = beat >= 0.5, ma >= 0.5
    assert card.loc["C4", "verdict"] == ("supported" if a and b else "not supported" if not (a or b) else "mixed")
    assert card.loc["C4", "value"] == pytest.approx(beat)
    d, w = last[("C10.topk_down_share", "value")], last[("C10.topk_weight", "value")]
    a, b = last[("C10.down_minus_up", "value")] > 0, d > w
    assert card.loc["C10", "verdict"] == ("supported" if a and b else "not supported" if not (a or b) else "mixed")


def test_adding_a_claim_is_adding_one_object(tiny_market, monkeypatch):
    extra = Claim(
        id="C11", text="The index is more concentrated than 30 equal names", family=concentration,
        headline="hhi", metric=lambda cfg: "Herfindahl index", orientation=1,
        rule=Both(Condition("value", ">", "hhi_min"), Condition("effective_n", "<", "effective_n_max")),
        history_days=lambda cfg: cfg.history.min_periods, evidence=lambda v: f"HHI {v.value:.4f}",
        chart=ChartSpec("chart-c11", "C11 HHI", "", series=(("hhi", "HHI"),)),
    )
    monkeypatch.setitem(REGISTRY, "C11", extra)
    cfg = dataclasses.replace(CFG, scorecard={**CFG.scorecard, "C11": {"hhi_min": 1 / 30, "effective_n_max": 30.0}})
    t = scorecard(tiny_market, cfg).table.set_index("id")
    assert list(t.index)[-1] == "C11"
    hhi = concentration(tiny_market, cfg)["hhi"].iloc[-1]
    n = concentration(tiny_market, cfg)["effective_n"].iloc[-1]
    a, b = hhi > 1 / 30, n < 30
    assert t.loc["C11", "verdict"] == ("supported" if a and b else "not supported" if not (a or b) else "mixed")
    assert t.loc["C11", "reason"] == f"HHI {hhi:.4f}"
    assert t.loc["C11", "claim"] == extra.text


def test_docs_table_is_the_registry():
    docs = Path(__file__).resolve().parents[2] / "docs" / "claims.md"
    assert docs.read_text() == cl.claims_markdown(CFG), "regenerate docs/claims.md from claims_markdown()"


def test_unknown_claim_is_named():
    with pytest.raises(KeyError, match="C99"):
        cl.get("C99")
    assert isinstance(REGISTRY["C9"].rule, Band) and not REGISTRY["C9"].rule.high_supports
