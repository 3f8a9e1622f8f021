"""The report's active-attribution section: Brinson-Fachler effects by sleeve and by sector.

:func:`brinson_section` turns the long table of
:func:`broadening.backtest.brinson.brinson_frame` (what ``BacktestSuite.brinson`` gives, see
:func:`brinson_table`) into a :class:`~broadening.report.html.Section`: one table per grouping
(average weights, allocation, selection, interaction, total, and the costs line) and a bar
chart of each group's total effect. :func:`attribution_section` is what the report shows for a
backtest: that section as the headline attribution, followed by the playbook's raw sleeve
contributions (its own return split by sleeve, not measured against anything), labelled as such.
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
    from broadening.playbook.suite import BacktestSuite

_ORDER = ("sleeve", "sector")
#: A group whose average weight on both sides is at most this is not shown (e.g. cash at 1e-17).
HELD = 1e-9
INTRO = (
    "Where the playbook's return against cap weight came from, Brinson-Fachler style. "
    "<b>Allocation</b>: over- or under-weighting a group that beat or lagged the whole benchmark; "
    "<b>selection</b>: holding the group's names in different proportions than the benchmark does, at the "
    "benchmark's weight in the group; <b>interaction</b>: the two together. Periods run from one rebalance to "
    "the next and are linked with Carino's log scaling, so the effects and the costs line add up to the "
    "compounded difference between the playbook's and cap weight's returns."
)
RAW_TITLE = "Raw sleeve contributions to the playbook's own return"
RAW_CAPTION = (
    "Raw contributions, not active return: each sleeve's summed daily weight x return within the playbook, "
    "against nothing. A big sleeve contributes a lot by being big; the tables above say what beat cap weight. "
    "Costs are negative."
)
NOT_STORED = (
    "This backtest was stored without its active attribution against cap weight (by an older version); run "
    "<code>broadening backtest</code> again to add it. Shown meanwhile: the raw sleeve contributions only."
)


def brinson_table(attributions: Mapping[str, BrinsonAttribution]) -> pd.DataFrame:
    """The long table :func:`brinson_section` reads, from ``BacktestSuite.brinson``."""
    return brinson_frame(attributions)


def suite_brinson(suite: BacktestSuite) -> pd.DataFrame | None:
    """The long Brinson table of a backtest run now or read back from the warehouse (None when
    it has none: a backtest stored before the attribution was kept).

    A stored backtest (``broadening.results.StoredBacktest``, which the report does not import)
    carries the table as ``brinson_frame``; a suite run now carries the attributions.
    """
    if hasattr(suite, "brinson_frame"):
        return suite.brinson_frame
    return brinson_frame(suite.brinson) if suite.brinson else None


def attribution_section(suite: BacktestSuite, *, section_id: str = "attribution") -> Section:
    """The report's attribution: Brinson-Fachler against cap weight first (:func:`brinson_section`),
    then the raw sleeve contributions (chart ``chart-attribution``), labelled as raw.

    Parameters
    ----------
    suite : BacktestSuite or a stored backtest (``broadening.results.StoredBacktest``)
        Its ``attribution_total`` gives the raw contributions; its Brinson table the headline
        (:func:`suite_brinson`).
    section_id : str
        Anchor of the section.
    """
    raw_total = suite.attribution_total.sort_values(ascending=False)
    raw_total.index = [str(k).replace("_", " ") for k in raw_total.index]  # labelled like the Brinson charts
    raw = Chart("chart-attribution", ch.bars(raw_total, RAW_TITLE), RAW_CAPTION)
    section = brinson_section(suite_brinson(suite), section_id=section_id)
    if section is None:
        return Section(section_id, "Attribution", NOT_STORED, charts=[raw])
    section.charts.append(raw)
    return section


def _pct(v: float, digits: int = 2) -> str:
    return "-" if pd.isna(v) else f"{v:+.{digits}%}"


def brinson_section(frame: pd.DataFrame | None, *, section_id: str = "attribution") -> Section | None:
    """The active-attribution section, or None when ``frame`` holds nothing.

    Parameters
    ----------
    frame : DataFrame or None
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
        held = part[["portfolio_weight", "benchmark_weight"]].abs().max(axis=1) > HELD  # float dust is not a holding
        groups = part[(part["group"] != "total") & held]
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
                   html="".join(html))  # one table a row: seven columns side by side overflow a half-width column
