"""The report file: self-contained, provenance-labelled, one anchored chart per claim."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from broadening.market import Market
from broadening.playbook.suite import run_backtests
from broadening.report import CLAIM_CHART, build_report
from broadening.report.charts import thin
from broadening.signals import scorecard


@pytest.fixture(scope="module")
def tiny_report(tiny_market, tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "report.html"
    res = build_report(tiny_market, out, suite=run_backtests(tiny_market))
    return res, out.read_text()


def test_self_contained_and_small(tiny_report):
    res, page = tiny_report
    assert not re.search(r"<script[^>]+src=", page), "scripts must be inlined, not fetched"
    # plotly.js mentions its CDN internally (geo/mathjax, unused here); what matters is that
    # the page itself loads nothing from the network
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', page)
    assert page.count("<script") == 2  # plotly.js once, then the figures
    assert res.size_bytes <= 10 * 1024 * 1024
    assert res.claims == 10


def test_synthetic_banner_and_provenance(tiny_report):
    _, page = tiny_report
    assert "SYNTHETIC DATA" in page
    assert "<b>As of</b> 2025-12-31" in page
    assert "<b>Sources</b> memory" in page


def test_every_claim_links_to_its_chart(tiny_report):
    _, page = tiny_report
    for cid, anchor in CLAIM_CHART.items():
        assert f'id="{anchor}"' in page, anchor
        assert f'renderChart("{anchor}-plot"' in page, anchor
        if cid != "R":
            assert f'<a href="#{anchor}">{cid}</a>' in page
    for chart in ("chart-equity", "chart-drawdown", "chart-rolling", "chart-attribution"):
        assert f'id="{chart}"' in page


def test_real_data_has_no_banner_and_thin_data_still_reports(make_market, tmp_path):
    rng = np.random.default_rng(3)
    closes = {f"S{i}": list(100 * np.cumprod(1 + rng.normal(0, 0.01, 300))) for i in range(12)}
    m = make_market(closes, shares={f"S{i}": 1 + i for i in range(12)}, start="2023-01-02")
    assert not m.synthetic
    res = build_report(m, tmp_path / "r.html", no_backtest_reason="too short to test")
    page = res.path.read_text()
    assert "SYNTHETIC DATA" not in page
    assert "too short to test" in page
    # no fundamentals, no credit series: the claims are n/a with reasons, never invented
    na = scorecard(m).table.query("verdict == 'n/a'")
    assert set(na["id"]) >= {"C2", "C3", "C6", "C9"}
    assert page.count('class="verdict na"') == len(na)
    for reason in na["reason"]:
        assert html.escape(reason) in page


def test_thin_keeps_short_series_and_weekly_samples_long_ones():
    short = pd.Series(range(100), index=pd.bdate_range("2020-01-01", periods=100), dtype=float)
    assert thin(short) is short
    long = pd.Series(np.arange(5000.0), index=pd.bdate_range("2000-01-03", periods=5000))
    th = thin(long)
    assert len(th) < 1300 and th.iloc[-1] == long.iloc[-1] and th.index.freqstr.startswith("W")


def test_report_is_replaced_atomically(tiny_market, tmp_path):
    out = tmp_path / "r.html"
    out.write_text("old")
    build_report(Market.until(tiny_market, "2024-06-28"), out)
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert not (tmp_path / "r.html.tmp").exists()


def test_what_changed_and_the_regime_switch_count(tiny_market, tiny_report):
    from broadening.signals import regime_labels
    from broadening.signals.changes import what_changed
    from broadening.signals.regime import switch_count
    from broadening.signals.scorecard import scorecard_at

    _, page = tiny_report
    section = re.search(r'<section id="changes">.*?</section>', page, re.S).group(0)
    # default: against three months before the as-of date (2025-12-31)
    assert "from 2025-09-30 to 2025-12-31" in section
    ch = what_changed(scorecard_at(tiny_market, None, "2025-09-30"), scorecard(tiny_market))
    listed = re.findall(r"<tr><td>(C\d+)</td>", section)
    assert listed == [c["claim"] for c in ch.claims]
    if ch.regime_change:
        assert f'{ch.regime_change["from"]}</span> &rarr; <span class="regime {ch.regime_change["to"]}' in section
    else:
        assert "<b>Regime</b> unchanged" in section
    sc = switch_count(regime_labels(tiny_market))
    assert f"The label changed {sc['switches']} times in {sc['years']:.1f} years" in page
    assert f"<b>{sc['per_year']:.1f}</b><small>regime changes a year</small>" in page


def test_what_changed_since_a_given_date(tiny_market, tmp_path):
    m = Market.until(tiny_market, "2024-06-28")
    page = build_report(m, tmp_path / "r.html", since="2023-06-30").path.read_text()
    assert "from 2023-06-30 to 2024-06-28" in page
    page = build_report(m, tmp_path / "r2.html", since="2001-01-01").path.read_text()
    assert "No data on or before 2001-01-01 to compare with." in page


def test_does_the_thesis_pay_table(tiny_market, tiny_report):
    from broadening.report.evaluate_section import reading
    from broadening.signals.evaluate import evaluate

    _, page = tiny_report
    section = re.search(r'<section id="pays">.*?</section>', page, re.S).group(0)
    ev = evaluate(tiny_market)
    rows = re.findall(r"<tr><td>([^<]+)</td><td>[^<]*</td><td>(\d+)d</td><td>([^<]+)</td><td>([^<]+)</td>", section)
    assert len(rows) == len(ev.table) == 11 * 3
    for (sig, h, ic, t), r in zip(rows, ev.table.itertuples(index=False), strict=True):
        assert (sig, int(h), ic, t) == (r.signal, r.horizon, f"{r.ic:+.2f}", f"{r.t_stat:+.1f}")
        assert html.escape(reading(r.ic, r.t_stat, r.n_independent, r.oos_t_stat)) in section
    # ten years of data: about ten independent one-year windows, and the page says so
    assert "hold only about 10 independent 252-day windows" in section


def test_reading_is_plain_about_small_samples():
    from broadening.report.evaluate_section import reading

    assert reading(0.5, 5.0, 4.0, 3.0) == "too little history: 4 independent windows"
    assert reading(0.2, 1.9, 40.0, 3.0) == "no reliable relation (|t| < 2)"
    assert reading(0.2, 2.5, 40.0, 2.1) == "paid; held out of sample"
    assert reading(0.2, 2.5, 40.0, 1.9) == "paid in sample only"
    # the out-of-sample forecast learns the sign: a reversed signal that keeps paying holds too
    assert reading(-0.3, -2.5, 40.0, 2.4) == "paid the other way; held out of sample"
    assert reading(-0.3, -2.5, 40.0, float("nan")) == "paid the other way in sample only"


def test_the_sources_given_are_the_ones_the_header_names(make_market, tmp_path):
    rng = np.random.default_rng(4)
    closes = {f"S{i}": list(100 * np.cumprod(1 + rng.normal(0, 0.01, 300))) for i in range(12)}
    m = make_market(closes, start="2023-01-02")
    page = build_report(m, tmp_path / "r.html", no_backtest_reason="not asked", sources=["Bloomberg <terminal>"]).path.read_text()
    assert "Bloomberg &lt;terminal&gt;" in page and "Bloomberg <terminal>" not in page
