"""The report's "What changed" section: the scorecard and the regime against an earlier date.

:func:`changes_section` renders a :class:`~broadening.signals.changes.Changes` (verdicts that
changed, percentiles that moved a lot, the regime) as a :class:`~broadening.report.html.Section`;
:func:`default_since` is the date the report compares with when none is given (three months
before the as-of date).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from broadening.report.html import VERDICT_CLASS, Section, esc, table_html

if TYPE_CHECKING:
    from broadening.signals.changes import Changes

#: How far back the report looks by default.
DEFAULT_LOOKBACK = pd.DateOffset(months=3)


def default_since(asof: pd.Timestamp) -> pd.Timestamp:
    """Three months before ``asof``."""
    return pd.Timestamp(asof) - DEFAULT_LOOKBACK


def _verdict(v: str) -> str:
    return f'<span class="verdict {VERDICT_CLASS.get(v, "na")}">{esc(v)}</span>'


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0%}"


def changes_section(ch: Changes | None, claims: dict[str, str], *, why: str = "") -> Section:
    """The "What changed" section.

    Parameters
    ----------
    ch : Changes or None
        The comparison; None when there is none (``why`` says why).
    claims : dict
        Claim id -> the claim in words.
    why : str
        Shown when ``ch`` is None.
    """
    if ch is None:
        return Section("changes", "What changed", esc(why or "No earlier scorecard to compare with."))
    span = f"from {ch.since.date()} to {ch.asof.date()}"
    score = (f"diffusion score {ch.score_from:.2f} then, {ch.score_to:.2f} now"
             if ch.score_from is not None and ch.score_to is not None else "diffusion score unknown on one of the dates")
    if ch.regime_change is None:
        regime = f"<p><b>Regime</b> unchanged; {esc(score)}.</p>"
    else:
        rc = ch.regime_change
        regime = (f'<p><b>Regime</b> changed: <span class="regime {esc(rc["from"])}">{esc(rc["from"])}</span> &rarr; '
                  f'<span class="regime {esc(rc["to"])}">{esc(rc["to"])}</span>; {esc(score)}.</p>')
    intro = (f"The scorecard {span}: claims whose verdict changed, and claims whose headline moved "
             f"{ch.big_move * 100:.0f} percentile points or more in its own history.")
    if not ch.claims:
        return Section("changes", "What changed", esc(intro),
                       html=f"<p>No verdict changed and no percentile moved that much.</p>{regime}")
    rows = [{
        "id": esc(c["claim"]), "claim": esc(claims.get(c["claim"], "")),
        "then": _verdict(c["from"]), "now": _verdict(c["to"]) + ("" if c["verdict_changed"] else " <small>(same)</small>"),
        "pct": f"{_pct(c['percentile_from'])} &rarr; {_pct(c['percentile_to'])}"
               + ("" if c["percentile_change"] is None else f" ({c['percentile_change'] * 100:+.0f} pts)"),
    } for c in ch.claims]
    table = table_html(rows, [("id", "#"), ("claim", "Claim"), ("then", f"Verdict {ch.since.date()}"),
                              ("now", f"Verdict {ch.asof.date()}"), ("pct", "Percentile")],
                       classes="changes", raw={"id", "claim", "then", "now", "pct"})
    return Section("changes", "What changed", esc(intro), html=table + regime)
