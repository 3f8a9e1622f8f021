"""report.changes_section: the "What changed" section when nothing moved."""

from __future__ import annotations

import pandas as pd

from broadening.report.changes_section import changes_section
from broadening.signals.changes import what_changed
from broadening.signals.scorecard import COLUMNS, Scorecard


def _card(asof, regime, rows):
    table = pd.DataFrame([[cid, f"claim {cid}", "m", v, p, "flat", verdict, "why"] for cid, v, p, verdict in rows],
                         columns=COLUMNS)
    return Scorecard(table=table, regime=regime, diffusion_score=0.5, asof=pd.Timestamp(asof))


def test_nothing_changed_says_so_with_the_regime():
    before = _card("2025-09-30", "transition", [("C1", 0.30, 0.80, "supported")])
    after = _card("2025-12-31", "transition", [("C1", 0.31, 0.85, "supported")])  # +5 points: not a big move
    sec = changes_section(what_changed(before, after), {"C1": "concentration peaks"})
    assert sec.intro.startswith("The scorecard from 2025-09-30 to 2025-12-31:")
    assert sec.html == ("<p>No verdict changed and no percentile moved that much.</p>"
                        "<p><b>Regime</b> unchanged; diffusion score 0.50 then, 0.50 now.</p>")
