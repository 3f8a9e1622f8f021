"""The report's active-attribution section, from Bacon's four-quarter example."""

from __future__ import annotations

import pandas as pd

from broadening.backtest.brinson import brinson_fachler
from broadening.report.brinson_section import brinson_section, brinson_table

GROUPS = ["UK equities", "Japanese equities", "US equities"]
# Bacon (2008), Exhibit 8.1 (see tests/backtest/test_brinson.py)
WP = [[0.4, 0.3, 0.3], [0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.3, 0.5, 0.2]]
WB = [[0.4, 0.2, 0.4], [0.4, 0.3, 0.3], [0.5, 0.4, 0.1], [0.4, 0.4, 0.2]]
RP = [[0.2, -0.05, 0.06], [-0.05, 0.03, -0.05], [-0.2, 0.08, -0.15], [0.1, -0.07, 0.25]]
RB = [[0.1, -0.04, 0.08], [-0.07, 0.04, -0.1], [-0.25, 0.05, -0.2], [0.05, -0.05, 0.1]]


def test_section_tables_and_charts():
    att = brinson_fachler(*(pd.DataFrame(x, columns=GROUPS) for x in (WP, WB, RP, RB)))
    frame = brinson_table({"sector": att, "sleeve": att})
    sec = brinson_section(frame)
    assert sec is not None and sec.id == "attribution"
    assert [c.id for c in sec.charts] == ["chart-brinson-sleeve", "chart-brinson-sector"]
    assert sec.html.count("<table") == 2 and "By sleeve" in sec.html
    # Carino-linked allocation of UK equities, 1.65% in Bacon's Exhibit 8.2
    assert "+1.65%" in sec.html
    total = att.totals()["active_return"]
    assert f"{total:+.2%}" in sec.html and "active return" in sec.html and "costs" in sec.html


def test_nothing_to_show():
    assert brinson_section(pd.DataFrame()) is None
