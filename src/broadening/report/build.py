"""Assemble the report from a market, its signals and the backtest suite.

:func:`build_report` is the one entry point: it computes nothing new about the thesis
(the signals and the backtest do that) and only arranges their outputs into the
sections a portfolio manager reads: provenance, the thesis scorecard, one chart per
claim, the regime timeline, and the playbook against its benchmarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening import baskets as bk
from broadening.audit import data_notes
from broadening.report import charts as ch
from broadening.report.brinson_section import attribution_section
from broadening.report.changes_section import changes_section, default_since
from broadening.report.evaluate_section import evaluate_section
from broadening.report.html import (
    VERDICT_CLASS,
    Chart,
    Header,
    Section,
    esc,
    render,
    table_html,
    write_page,
)
from broadening.signals import compute_signals, index_returns, regime, scorecard
from broadening.signals.changes import what_changed
from broadening.signals.claims import CLAIMS, REGISTRY, Claim
from broadening.signals.evaluate import Evaluation, evaluate
from broadening.signals.history import zscore_frame
from broadening.signals.regime import regime_claims, switch_count
from broadening.signals.scorecard import scorecard_at

if TYPE_CHECKING:
    from broadening.config import Config
    from broadening.market import Market
    from broadening.playbook.suite import BacktestSuite
    from broadening.signals.scorecard import Scorecard

Progress = Callable[[str, int, int], None]

#: Claim id -> the chart that shows it (the scorecard links each row there), from the registry.
CLAIM_CHART = {**{cid: c.chart.anchor for cid, c in REGISTRY.items()}, "R": "chart-regime"}
WINDOWS = {"1M": 21, "3M": 63, "6M": 126, "12M": 252}


@dataclass
class ReportResult:
    """Where the report went and what it cost."""

    path: Path
    seconds: float
    size_bytes: int
    charts: int
    claims: int


def _pct(v: object, digits: int = 1) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not np.isfinite(f) else f"{f:.{digits}%}"


def _num(v: object, digits: int = 2) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not np.isfinite(f) else f"{f:.{digits}f}"


def _value(claim_id: str, v: float) -> str:
    claim = REGISTRY.get(claim_id)
    return _pct(v) if claim is not None and claim.percent else _num(v, 3)


def _col(sig: pd.DataFrame, name: str) -> pd.Series:
    return sig[name] if name in sig.columns else pd.Series(np.nan, index=sig.index, name=name)


def _basket_heatmap(market: Market, cfg: Config | None) -> pd.DataFrame:
    """Trailing returns of each basket over 1/3/6/12 months, ending at the as-of date."""
    masks = {
        "Cap-weighted index": (bk.index_members(market, cfg), "cap"),
        "Equal-weighted index": (bk.index_members(market, cfg), "equal"),
        "Mega-cap tech": (bk.megacap_tech(market, cfg), "cap"),
        "Domestic cyclicals": (bk.domestic_cyclicals(market, cfg), "cap"),
        "Quality domestic cyclicals": (bk.quality_domestic_cyclicals(market, cfg), "cap"),
        "Junk domestic cyclicals": (bk.junk_domestic_cyclicals(market, cfg), "cap"),
        "AI infrastructure": (bk.ai_layer(market, cfg, "infrastructure"), "cap"),
        "AI platforms": (bk.ai_layer(market, cfg, "platform"), "cap"),
        "AI adopters": (bk.ai_layer(market, cfg, "adopter"), "cap"),
        "Small-cap quality": (bk.small_cap_quality(market, cfg), "equal"),
        "BDCs (private credit)": (bk.bdcs(market, cfg), "cap"),
    }
    rows = {}
    for name, (mask, how) in masks.items():
        if not mask.any():
            continue
        # the longest window is all the heatmap needs: skip the rest of the history
        r = np.nan_to_num(bk.basket_returns(market, mask, how, start=max(0, market.shape[0] - max(WINDOWS.values()) - 2)))
        logc = np.cumsum(np.log1p(r))
        rows[name] = {
            w: (float(np.expm1(logc[-1] - logc[-1 - n])) if len(logc) > n else np.nan) for w, n in WINDOWS.items()
        }
    return pd.DataFrame(rows).T[list(WINDOWS)]


def _scorecard_html(card: Scorecard) -> str:
    rows = []
    for r in card.table.itertuples(index=False):
        anchor = CLAIM_CHART.get(r.id, "")
        verdict = f'<span class="verdict {VERDICT_CLASS.get(r.verdict, "na")}">{esc(r.verdict)}</span>'
        rows.append({
            "id": f'<a href="#{anchor}">{esc(r.id)}</a>',
            "claim": f'<a href="#{anchor}">{esc(r.claim)}</a>',
            "metric": r.metric,
            "value": _value(r.id, r.value),
            "percentile": _pct(r.percentile, 0),
            "trend": r.trend,
            "verdict": verdict,
            "reason": r.reason,
        })
    cols = [("id", "#"), ("claim", "Claim"), ("metric", "Metric"), ("value", "Latest"), ("percentile", "Percentile"),
            ("trend", "Trend"), ("verdict", "Verdict"), ("reason", "Why")]
    return table_html(rows, cols, classes="scorecard", raw={"id", "claim", "verdict"},
                      row_class=lambda r: "claim-row")


def _metrics_html(suite: BacktestSuite) -> str:
    m = suite.metrics
    pct_keys = {"cagr", "volatility", "max_drawdown", "tracking_error", "turnover", "active_share", "hit_rate"}
    labels = {"cagr": "CAGR", "volatility": "Volatility", "sharpe": "Sharpe", "sortino": "Sortino", "max_drawdown": "Max drawdown",
              "calmar": "Calmar", "beta": "Beta", "tracking_error": "Tracking error", "information_ratio": "Information ratio",
              "turnover": "Turnover (annual)", "active_share": "Active share", "hit_rate": "Hit rate vs cap weight"}
    rows = []
    for key in m.columns:
        row = {"metric": labels.get(key, key)}
        for s in m.index:
            row[s] = _pct(m.loc[s, key]) if key in pct_keys else _num(m.loc[s, key])
        rows.append(row)
    cols = [("metric", "Metric")] + [(s, s.replace("_", " ")) for s in m.index]
    return table_html(rows, cols, classes="metrics")


def _holdings_html(suite: BacktestSuite) -> str:
    h = suite.holdings.copy().sort_values("playbook", ascending=False).head(25)
    rows = [{
        "ticker": r.ticker, "sector": r.sector if isinstance(r.sector, str) else "", "sleeve": str(r.sleeve).replace("_", " "),
        "playbook": _pct(r.playbook, 2), "cap_weight": _pct(r.cap_weight, 2), "active": f"{r.active:+.2%}",
    } for r in h.itertuples(index=False)]
    return table_html(rows, [("ticker", "Ticker"), ("sector", "Sector"), ("sleeve", "Sleeve"), ("playbook", "Playbook"),
                             ("cap_weight", "Cap weight"), ("active", "Active")], classes="holdings")


def _summary_html(card: Scorecard, sig: pd.DataFrame, suite: BacktestSuite | None, labels: pd.Series) -> str:
    counts = card.table["verdict"].value_counts()
    kpis = [
        (f'<span class="regime {esc(card.regime)}">{esc(card.regime)}</span>', "regime today"),
        (_num(card.diffusion_score, 2), "diffusion score (0 = scarcity, 1 = diffusion)"),
        (_num(switch_count(labels)["per_year"], 1), "regime changes a year"),
        (f"{counts.get('supported', 0)} / {len(card.table)}", "claims supported"),
        (_pct(_col(sig, "C1.top10_share").dropna().iloc[-1] if _col(sig, "C1.top10_share").notna().any() else np.nan), "top-10 share of the index"),
        (_pct(_col(sig, "C2.ew_cw_252d").dropna().iloc[-1] if _col(sig, "C2.ew_cw_252d").notna().any() else np.nan), "equal minus cap weight, 12 months"),
    ]
    if suite is not None:
        m = suite.metrics
        kpis.append((f"{_pct(m.loc['playbook', 'cagr'])} vs {_pct(m.loc['cap_weight', 'cagr'])}", "playbook vs cap-weight CAGR"))
    items = "".join(f'<div class="kpi"><b>{v}</b><small>{esc(lbl)}</small></div>' for v, lbl in kpis)
    return f'<section id="summary"><h2>Where the market stands</h2><div class="kpis">{items}</div></section>'


def _switches_text(labels: pd.Series) -> str:
    sc = switch_count(labels)
    if not sc["years"]:
        return "No regime label yet: not enough history for its components."
    return (f"The label changed {sc['switches']} times in {sc['years']:.1f} years of labels "
            f"({sc['per_year']:.1f} a year; median spell {sc['median_spell_days']:.0f} trading days): "
            "a structural call, held at least half a year before it is reversed.")


def _changes(market: Market, cfg: Config | None, card: Scorecard, since: str | pd.Timestamp | None) -> Section:
    """The "What changed" section against ``since`` (default three months before the as-of date)."""
    when = default_since(card.asof) if since is None else pd.Timestamp(since)
    if when >= card.asof:
        return changes_section(None, CLAIMS, why=f"The comparison date {when.date()} is not before the as-of date {card.asof.date()}.")
    if market.date_position(when) < 0:
        return changes_section(None, CLAIMS, why=f"No data on or before {when.date()} to compare with.")
    return changes_section(what_changed(scorecard_at(market, cfg, when), card), CLAIMS)


def _claim_chart(claim: Claim, sig: pd.DataFrame, market: Market, cfg: Config | None) -> Chart:
    """The chart a claim declares (:class:`~broadening.signals.claims.ChartSpec`), from the signals."""
    spec = claim.chart
    if spec.kind == "baskets":
        return Chart(spec.anchor, ch.heatmap(_basket_heatmap(market, cfg), spec.title), spec.caption)
    cols = [(f"{claim.id}.{c}", label) for c, label in spec.series]
    if spec.kind == "dual_axis":
        (lc, ll), (rc, rl) = cols
        right = _col(sig, rc)
        if spec.right_zscore:
            right = zscore_frame(sig[[rc]], spec.right_zscore, 252)[rc] if rc in sig else right
        fig = ch.dual_axis(_col(sig, lc).rename(ll), right.rename(rl), spec.title, left_title=spec.yaxis,
                           right_title=spec.right_title, left_percent=spec.percent, right_percent=spec.right_percent)
        return Chart(spec.anchor, fig, spec.caption)
    data = _col(sig, cols[0][0]).rename(cols[0][1]) if len(cols) == 1 else \
        sig[[c for c, _ in cols if c in sig]].rename(columns=dict(cols))
    return Chart(spec.anchor, ch.lines(data, spec.title, yaxis=spec.yaxis, percent=spec.percent, zero_line=spec.zero_line),
                 spec.caption)


def build_report(
    market: Market,
    out: str | Path,
    *,
    cfg: Config | None = None,
    suite: BacktestSuite | None = None,
    card: Scorecard | None = None,
    sources: list[str] | None = None,
    no_backtest_reason: str | None = None,
    extra_sections: list[Section] | None = None,
    since: str | pd.Timestamp | None = None,
    evaluation: Evaluation | None = None,
    notes: list[str] | None = None,
    progress: Progress | None = None,
) -> ReportResult:
    """Write the self-contained HTML report for ``market`` to ``out``.

    Parameters
    ----------
    market : Market
        The as-of market view (its last date is the report's as-of date).
    out : str or Path
        Output HTML file (parent directories are created).
    cfg : Config, optional
        Classification config (shipped defaults when omitted).
    suite : BacktestSuite, optional
        Playbook and benchmark backtests; without it the playbook section says so.
    card : Scorecard, optional
        A scorecard already computed for ``market`` (recomputed when omitted).
    sources : list of str, optional
        Provenance labels for the header (from ``market.provenance`` when omitted).
    no_backtest_reason : str, optional
        Why there is no ``suite`` (shown in the playbook section).
    extra_sections : list of Section, optional
        Appended after the playbook (e.g. the parameter sweep, see
        :func:`broadening.report.sweep_section.sweep_section`).
    notes : list of str, optional
        More lines for the data notes (the workspace passes the last live pull's gap counts,
        :func:`broadening.audit.pull_gap_notes`).
    since : date-like, optional
        The "What changed" section compares the scorecard with the one as of this date
        (default three months before the as-of date).
    evaluation : Evaluation, optional
        The "Does the thesis pay?" table (:func:`broadening.signals.evaluate.evaluate` at the
        default horizons when omitted).
    progress : callable, optional
        ``progress(step, done, total)``.

    Returns
    -------
    ReportResult
    """
    t0 = time.perf_counter()
    total = 5
    step = 0

    def tick(label: str) -> None:
        nonlocal step
        step += 1
        if progress:
            progress(label, step, total)

    sig = compute_signals(market, cfg)
    card = card or scorecard(market, cfg)
    reg = regime(market, cfg)
    changed = _changes(market, cfg, card, since)
    pays = evaluate_section(evaluation or evaluate(market, cfg, strategy_returns=suite.returns if suite is not None else None),
                            CLAIMS)
    tick("signals")

    idx = sig.index
    sections: list[Section] = []

    thesis = [_claim_chart(c, sig, market, cfg) for c in REGISTRY.values()]
    tick("thesis charts")
    level = pd.Series(np.cumprod(1 + np.nan_to_num(index_returns(market, cfg))), index=idx, name="cap-weighted index")
    parts = ", ".join(regime_claims())
    regime_chart = Chart(CLAIM_CHART["R"], ch.regime_timeline(level, reg["regime"], reg["diffusion_score"]),
                         f"Composite diffusion score from {parts} over a one-year horizon, with hysteresis, confirmation and a "
                         "half-year dwell (see the regime docstring); bands show the regime label each day.", wide=True)

    sections.append(Section("scorecard", "Thesis scorecard",
                            "Each claim of the thesis as a measured signal: its latest value, its percentile in its own history, "
                            "its trend, and a verdict under the thresholds in the classification config. Click a claim for its chart.",
                            html=_scorecard_html(card)))
    sections.append(changed)
    sections.append(Section("regime", "Regime", esc(_switches_text(reg["regime"])), charts=[regime_chart]))
    sections.append(Section("evidence", "The evidence, claim by claim", "", charts=thesis))
    sections.append(pays)

    if suite is not None:
        rets = suite.returns
        pb = [
            Chart("chart-equity", ch.equity_curves(rets), "Net of costs; weights set at the close of a rebalance date earn from the next day.", wide=True),
            Chart("chart-drawdown", ch.drawdowns(rets)),
            Chart("chart-rolling", ch.rolling_excess(rets)),
        ]
        empty = suite.empty_sleeves
        empty_note = ""
        if not empty.empty:
            per = empty.groupby("sleeve").size()
            empty_note = "<p class='small'>Sleeves with no eligible names on some rebalance dates (their share went to the equal-weight core): " + \
                ", ".join(f"{esc(s)} ({n} dates)" for s, n in per.items()) + "</p>"
        notes = "".join(f"<p class='small'>{esc(n)}</p>" for n in suite.notes)
        tables = (f"<div class='two'><div><h3>Metrics vs cap weight</h3>{_metrics_html(suite)}</div>"
                  f"<div><h3>Current holdings (top 25, weight vs benchmark)</h3>{_holdings_html(suite)}</div></div>{empty_note}{notes}")
        meta = suite.meta()
        sections.append(Section(
            "playbook", "The playbook vs its benchmarks",
            f"Trim the top-k, redeploy into sleeves, constrain; rebalanced {esc(meta['schedule'])} from {esc(meta['start'])} to {esc(meta['end'])}, "
            f"costs {'on' if suite.costs else 'off'}. Benchmarks: cap weight, equal weight, and the 2023-2024 momentum model (12-1 month, top quintile, cap-weighted).",
            charts=pb, html=tables))
        # the headline attribution is active (Brinson-Fachler vs cap weight); raw sleeve contributions follow it
        sections.append(attribution_section(suite))
    else:
        why = esc(no_backtest_reason) if no_backtest_reason else "No backtest was run for this report; run <code>broadening backtest</code> first."
        sections.append(Section("playbook", "The playbook vs its benchmarks", why))
    sections.extend(extra_sections or [])
    tick("playbook charts")

    drops = market.drops
    data_html = table_html([{"what": k.replace("_", " "), "count": f"{v:,}"} for k, v in drops.items()], [("what", "Filled or filtered"), ("count", "Count")])
    data_html += "".join(f"<p class='small'>{esc(n)}</p>" for n in [*data_notes(market), *(notes or [])])  # audit, survivorship, pull gaps
    sections.append(Section("data", "Data notes", "Nothing is dropped silently: every fill and filter made while building the point-in-time panels is counted here.", html=data_html))

    if sources is None:
        prov = market.provenance
        sources = sorted({f"{r.source} ({r.table_name}, {pd.Timestamp(r.ingested_at):%Y-%m-%d %H:%M} UTC)" for r in prov.itertuples()}) if not prov.empty else []
        # one line per source is enough in the header; the data notes carry the rest
        sources = sorted({s.split(" (")[0] for s in sources})
    n_members = int(bk.index_members(market, cfg)[-1].sum())
    small = bk.small_universe(market, cfg)
    universe = f"{n_members} index members on the as-of date, {int(small[-1].sum())} small/mid; {len(market.securities):,} securities over {market.shape[0]:,} days from {market.dates[0]}"
    header = Header(
        title="broadening: the broadening thesis, measured", asof=str(market.asof.date()), universe=universe, sources=sources,
        synthetic=market.synthetic, generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        notes=(["Every number below comes from the synthetic demo market."] if market.synthetic else []),
    )
    page = render(header, sections, summary_html=_summary_html(card, sig, suite, reg["regime"]))
    tick("html")
    out = write_page(out, page)  # atomic; a directory or a full disk is one line, no .tmp left behind
    tick("written")
    n_charts = sum(len(s.charts) for s in sections)
    return ReportResult(path=out, seconds=time.perf_counter() - t0, size_bytes=out.stat().st_size, charts=n_charts, claims=len(card.table))
