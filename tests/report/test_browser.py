"""The report in a real browser: no JavaScript errors, every chart drawn, every claim listed.

Also the reliability side (issue #15): a report built from hostile names (securities,
sectors and a sweep sleeve set named ``</script><script>...``) runs none of their script,
and still draws every chart under the page's Content-Security-Policy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from broadening.market import Market
from broadening.playbook.suite import run_backtests
from broadening.report import CLAIM_CHART, build_report
from broadening.report.sweep_section import sweep_section
from broadening.sweep.grid import parse_grid
from broadening.sweep.run import run_sweep

from .browser import chromium_path, inspect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None,
                       reason="Chromium is not installed (make test installs Debian's chromium when run as root)"),
]

#: Names that would run script if any of them reached the page unescaped.
HOSTILE = (
    "</script><script>window.PWNED='script'</script>",
    "<!--<script>window.PWNED='comment'</script>",
    "\"><img src=x onerror=\"window.PWNED='attr'\">",
    "x\u2028y\u2029z'</SCRIPT ><svg onload=window.PWNED='svg'>",
)


@pytest.fixture(scope="module")
def report_file(tiny_market, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    build_report(tiny_market, out, suite=run_backtests(tiny_market))
    return out


def test_report_renders_in_chromium(report_file):
    shots = Path(os.environ.get("BROADENING_SCREENSHOT_DIR", report_file.parent))
    shots.mkdir(parents=True, exist_ok=True)
    rep = inspect(report_file, shots / "report.png")
    assert rep.console_errors == []
    # one per claim, the regime, three for the playbook, three for its attribution (Brinson by sleeve, by sector, raw)
    assert rep.charts_expected == len(CLAIM_CHART) + 6
    assert rep.charts_rendered == rep.charts_expected
    assert rep.svg_charts == rep.charts_expected
    assert rep.scorecard_rows == [f"C{i}" for i in range(1, 11)]
    assert "SYNTHETIC" in rep.banner
    assert (shots / "report.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def hostile_report(tiny_synthetic, tmp_path_factory) -> Path:
    tables = {k: v.copy() for k, v in tiny_synthetic.tables.items()}
    sec = tables["securities"]
    for col, k in (("name", 0), ("ticker", 1), ("sector", 2)):
        # the largest names carry the hostile text, so it reaches the charts' legends and the holdings table
        sec[col] = sec[col].astype(object)
        sec.loc[sec.index[:40], col] = [f"{HOSTILE[(i + k) % len(HOSTILE)]}{i}" for i in range(40)]
    market = Market.from_tables(tables, synthetic=True)
    doc = {"grid": {"top_k": [3], "regime_scaling": [False],
                    "sleeves": {HOSTILE[0]: {"equal_weight_core": 1.0},
                                HOSTILE[3]: {"equal_weight_core": 0.5, "bdcs": 0.5}}}}
    res = run_sweep(market, parse_grid(doc, HOSTILE[1] + ".toml"), workers=0)
    extra = [sweep_section(res.frame(), res.meta("sharpe"))]
    out = tmp_path_factory.mktemp("hostile") / "report.html"
    build_report(market, out, suite=run_backtests(market), extra_sections=extra)
    return out


def test_hostile_names_run_no_script_and_charts_still_render(hostile_report):
    text = hostile_report.read_text(encoding="utf-8")
    assert 'http-equiv="Content-Security-Policy"' in text and HOSTILE[0] not in text
    rep = inspect(hostile_report, hostile_report.with_suffix(".png"), probe="window.PWNED")
    assert rep.probe is None  # no injected script ran (nor an event handler)
    assert rep.console_errors == []  # in particular no CSP violation: the page's own scripts are all allowed
    assert rep.charts_expected == len(CLAIM_CHART) + 6 + 2  # plus the sweep's two heatmaps
    assert rep.charts_rendered == rep.charts_expected == rep.svg_charts
    # the names are shown as text, exactly as given
    assert HOSTILE[0] in rep.body_text
