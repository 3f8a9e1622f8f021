"""The report's "Does the thesis pay?" section: each signal's IC against forward returns, plainly read.

:func:`evaluate_section` renders an :class:`~broadening.signals.evaluate.Evaluation`: per
signal and horizon the rank IC with its overlap-corrected t-statistic, the verdict's hit
rate, the out-of-sample IC, and a reading in words that says when the sample is too small
to tell anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from broadening.report.html import Section, esc, table_html

if TYPE_CHECKING:
    from broadening.signals.evaluate import Evaluation

#: Below this many non-overlapping windows nothing is read into an IC.
MIN_INDEPENDENT = 10


def reading(ic: float, t: float, n_independent: float, oos_t: float) -> str:
    """A plain reading of one IC: too few windows, no reliable relation, or paid (and which way).

    The out-of-sample forecast learns the sign as it goes, so a signal that pays the other
    way holds out of sample when its out-of-sample t-statistic is 2 or more.

    Parameters
    ----------
    ic, t : float
        In-sample rank IC and its Newey-West t-statistic.
    n_independent : float
        Non-overlapping windows in the sample.
    oos_t : float
        Out-of-sample t-statistic (NaN when there is none).
    """
    if not n_independent >= MIN_INDEPENDENT:
        return f"too little history: {n_independent:.0f} independent windows"
    if not abs(t) >= 2:
        return "no reliable relation (|t| < 2)"
    way = "paid" if ic > 0 else "paid the other way"
    if oos_t >= 2:
        return f"{way}; held out of sample"
    return f"{way} in sample only"


def _f(v: float, fmt: str) -> str:
    return "n/a" if v is None or v != v else format(v, fmt)


def evaluate_section(ev: Evaluation, claims: dict[str, str]) -> Section:
    """The "Does the thesis pay?" section (one row per signal and horizon)."""
    years = (ev.end - ev.start).days / 365.25
    longest = max(ev.horizons)
    intro = (
        f"Each claim's headline (oriented so that a positive IC means the claim's direction paid) and the diffusion "
        f"score, ranked against the forward equal-weight minus cap-weight return, {ev.start.date()} to {ev.end.date()}. "
        f"Be careful with these numbers: {years:.0f} years hold only about {years * 252 / longest:.0f} independent "
        f"{longest}-day windows, t-statistics are corrected for overlapping windows (Newey-West), and a |t| below 2 "
        f"or fewer than {MIN_INDEPENDENT} independent windows is no evidence either way. The hit rate is the share of "
        "days on which the verdict (supported: equal weight will beat cap weight; not supported: the opposite) came true; "
        "out of sample, the sign is learnt only from returns already known at the time."
    )
    if ev.synthetic:
        intro += " Synthetic data: these numbers describe the demo generator, not a market."
    rows = []
    for r in ev.table.itertuples(index=False):
        rows.append({
            "signal": r.signal, "what": "regime (diffusion score)" if r.signal == "regime" else claims.get(r.signal, r.metric),
            "h": f"{r.horizon}d", "ic": _f(r.ic, "+.2f"), "t": _f(r.t_stat, "+.1f"), "n": _f(r.n_independent, ".0f"),
            "hit": f"{_f(r.hit_rate, '.0%')} of {r.calls:,} days" if r.calls else "no calls",
            "oos": f"{_f(r.oos_ic, '+.2f')} (t {_f(r.oos_t_stat, '+.1f')})",
            "playbook": f"{_f(r.playbook_ic, '+.2f')} (t {_f(r.playbook_t_stat, '+.1f')})",
            "reading": reading(r.ic, r.t_stat, r.n_independent, r.oos_t_stat),
        })
    cols = [("signal", "#"), ("what", "Signal"), ("h", "Horizon"), ("ic", "Rank IC"), ("t", "t (NW)"),
            ("n", "Independent windows"), ("hit", "Verdict hit rate"), ("oos", "Out-of-sample IC"), ("reading", "Reading")]
    if "playbook_n" in ev.table and ev.table["playbook_n"].gt(0).any():
        cols.insert(-1, ("playbook", "IC vs playbook's active return"))
    return Section("pays", "Does the thesis pay?", esc(intro), html=table_html(rows, cols, classes="evaluate"))
