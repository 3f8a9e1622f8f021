"""What changed between two scorecards: verdicts, big percentile moves, the regime."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from broadening.signals import scorecard
from broadening.signals.changes import what_changed
from broadening.signals.scorecard import COLUMNS, Scorecard


def _card(asof, regime, score, rows):
    table = pd.DataFrame([[cid, f"claim {cid}", "m", v, p, "flat", verdict, "why"] for cid, v, p, verdict in rows],
                         columns=COLUMNS)
    return Scorecard(table=table, regime=regime, diffusion_score=score, asof=pd.Timestamp(asof))


def test_changes_by_hand():
    before = _card("2025-09-30", "transition", 0.55, [
        ("C1", 0.30, 0.80, "supported"),      # verdict changes
        ("C2", 1.20, 0.50, "mixed"),          # same verdict, percentile +0.30: a big move
        ("C3", 0.01, 0.50, "mixed"),          # same verdict, +0.24: not big
        ("C4", np.nan, np.nan, "n/a"),        # becomes known: a verdict change, no move
    ])
    after = _card("2025-12-31", "diffusion", 0.65, [
        ("C1", 0.28, 0.35, "not supported"),
        ("C2", 1.25, 0.80, "mixed"),
        ("C3", 0.02, 0.74, "mixed"),
        ("C4", 0.55, 0.90, "supported"),
    ])
    ch = what_changed(before, after)
    assert [c["claim"] for c in ch.claims] == ["C1", "C2", "C4"]
    c1, c2, c4 = ch.claims
    assert (c1["from"], c1["to"], c1["verdict_changed"]) == ("supported", "not supported", True)
    assert c1["percentile_change"] == pytest.approx(-0.45)
    assert (c2["from"], c2["to"], c2["verdict_changed"]) == ("mixed", "mixed", False)
    assert c2["percentile_change"] == pytest.approx(0.30)
    assert c4["percentile_from"] is None and c4["percentile_change"] is None and c4["value_to"] == 0.55
    assert ch.regime_change == {"from": "transition", "to": "diffusion"}
    assert ch.verdicts_changed == ["C1", "C4"] and ch.any
    d = ch.to_dict()
    assert d["since"] == "2025-09-30" and d["regime_change"] == {"from": "transition", "to": "diffusion"}
    assert d["diffusion_score_from"] == 0.55 and d["diffusion_score_to"] == 0.65
    json.dumps(d)
    # a smaller threshold lists C3 too; the same card against itself changes nothing
    assert [c["claim"] for c in what_changed(before, after, big_move=0.2).claims] == ["C1", "C2", "C3", "C4"]
    same = what_changed(after, after)
    assert same.claims == [] and same.regime_change is None and not same.any
    with pytest.raises(ValueError, match="later"):
        what_changed(after, before)


def test_changes_on_the_synthetic_market_match_the_two_scorecards(tiny_market):
    now, then = scorecard(tiny_market), scorecard(tiny_market, asof="2025-06-30")
    ch = what_changed(then, now)
    t0, t1 = then.table.set_index("id"), now.table.set_index("id")
    changed = [cid for cid in t1.index if t0.loc[cid, "verdict"] != t1.loc[cid, "verdict"]]
    assert ch.verdicts_changed == changed
    for c in ch.claims:
        assert c["from"] == t0.loc[c["claim"], "verdict"] and c["to"] == t1.loc[c["claim"], "verdict"]
    assert (ch.regime_change is None) == (then.regime == now.regime)


def test_a_claim_the_earlier_scorecard_did_not_have_is_not_a_change():
    before = _card("2025-09-30", "transition", 0.55, [("C1", 0.30, 0.80, "supported")])
    after = _card("2025-12-31", "transition", 0.55, [("C1", 0.30, 0.80, "supported"), ("C9", 0.1, 0.95, "supported")])
    ch = what_changed(before, after)
    assert ch.claims == [] and ch.verdicts_changed == [] and not ch.any
