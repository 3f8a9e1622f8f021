"""The report in a real browser: no JavaScript errors, every chart drawn, every claim listed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from broadening.playbook.suite import run_backtests
from broadening.report import CLAIM_CHART, build_report

from .browser import chromium_path, inspect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_file(tiny_market, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    build_report(tiny_market, out, suite=run_backtests(tiny_market))
    return out


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (make test installs Debian's chromium when run as root)")
def test_report_renders_in_chromium(report_file):
    shots = Path(os.environ.get("BROADENING_SCREENSHOT_DIR", report_file.parent))
    shots.mkdir(parents=True, exist_ok=True)
    rep = inspect(report_file, shots / "report.png")
    assert rep.console_errors == []
    assert rep.charts_expected == len(CLAIM_CHART) + 4  # one per claim, the regime, four for the playbook
    assert rep.charts_rendered == rep.charts_expected
    assert rep.svg_charts == rep.charts_expected
    assert rep.scorecard_rows == [f"C{i}" for i in range(1, 11)]
    assert "SYNTHETIC" in rep.banner
    assert (shots / "report.png").stat().st_size > 10_000
