"""The report's active-attribution section: Brinson-Fachler effects by sleeve and by sector.

:func:`brinson_section` turns the long table of
:func:`broadening.backtest.brinson.brinson_frame` (what ``BacktestSuite.brinson`` gives, see
:func:`brinson_table`) into a :class:`~broadening.report.html.Section`: one table per grouping
(average weights, allocation, selection, interaction, total, and the costs line) and a bar
chart of each group's total effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from broadening.backtest.brinson import EFFECTS, brinson_frame
from broadening.report import charts as ch
from broadening.report.html import Chart, Section, esc, table_html

if TYPE_CHECKING:
    from broadening.backtest.brinson import BrinsonAttribution

_ORDER = ("sleeve", "sector")
INTRO = (
    "Where the playbook's return against cap weight came from, Brinson-Fachler style. "
    "<b>Allocation</b>: over- or under-weighting a group that beat or lagged the whole benchmark; "
    "<b>selection</b>: holding the group's names in different proportions than the benchmark does, at the "
    "benchmark's weight in the group; <b>interaction</b>: the two together. Periods run from one rebalance to "
    "the next and are linked with Carino's log scaling, so the effects and the costs line add up to the "
    "compounded difference between the playbook's and cap weight's returns."
)


def brinson_table(attributions: Mapping[str, BrinsonAttribution]) -> pd.DataFrame:
    """The long table :func:`brinson_section` reads, from ``BacktestSuite.brinson``."""
    return brinson_frame(attributions)


def _pct(v: float, digits: int = 2) -> str:
    return "-" if pd.isna(v) else f"{v:+.{digits}%}"


def brinson_section(frame: pd.DataFrame, *, section_id: str = "attribution") -> Section | None:
    """The active-attribution section, or None when ``frame`` holds nothing.

    Parameters
    ----------
    frame : DataFrame
        Columns ``by, group, allocation, selection, interaction, costs, total,
        portfolio_weight, benchmark_weight`` with one ``group == "total"`` row per ``by``
        (:func:`~broadening.backtest.brinson.brinson_frame`).
    section_id : str
        Anchor of the section.
    """
    if frame is None or frame.empty:
        return None
    charts: list[Chart] = []
    html: list[str] = []
    bys = [b for b in _ORDER if b in set(frame["by"])] + sorted(set(frame["by"]) - set(_ORDER))
    for by in bys:
        part = frame[frame["by"] == by]
        groups = part[(part["group"] != "total") & ((part["portfolio_weight"] > 0) | (part["benchmark_weight"] > 0))]
        total = part[part["group"] == "total"]
        rows = [{
            "group": str(r.group).replace("_", " "),
            "pw": f"{r.portfolio_weight:.1%}", "bw": f"{r.benchmark_weight:.1%}",
            **{e: _pct(getattr(r, e)) for e in EFFECTS}, "total": _pct(r.total),
        } for r in groups.itertuples(index=False)]
        if len(total):
            t = total.iloc[0]
            rows.append({"group": "costs", "total": _pct(t["costs"])})
            rows.append({"group": "active return", **{e: _pct(t[e]) for e in EFFECTS}, "total": _pct(t["total"])})
        cols = [("group", by.capitalize()), ("pw", "Playbook (avg)"), ("bw", "Cap weight (avg)"),
                ("allocation", "Allocation"), ("selection", "Selection"), ("interaction", "Interaction"), ("total", "Total")]
        html.append(f"<div><h3>By {esc(by)}</h3>{table_html(rows, cols, classes='metrics brinson')}</div>")
        bars = groups.set_index(groups["group"].astype(str).str.replace("_", " "))["total"].sort_values(ascending=False)
        charts.append(Chart(f"chart-brinson-{by}", ch.bars(bars, f"Active return vs cap weight by {by} (allocation + selection + interaction)"),
                            f"Each {by}'s total Brinson-Fachler effect, Carino-linked over the backtest."))
    return Section(section_id, "Active attribution vs cap weight", INTRO, charts=charts,
                   html=f"<div class='two'>{''.join(html)}</div>")
