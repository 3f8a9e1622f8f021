"""Every chart's title clear of plotly's mode bar (and of its legend), measured in headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from broadening.playbook.suite import run_backtests
from broadening.report import build_report

from .browser import CHROMIUM_FLAGS, chromium_path

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (make test installs Debian's chromium when run as root)"),
]

#: For every chart: the title's box, the mode bar's box and the legend's box, in page pixels.
_BOXES = """
() => Array.from(document.querySelectorAll('.chart .plot')).map(div => {
  const box = el => { if (!el) return null; const r = el.getBoundingClientRect();
                      return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; };
  return {id: div.id, title: box(div.querySelector('.gtitle')), modebar: box(div.querySelector('.modebar')),
          legend: box(div.querySelector('.legend'))};
})
"""


def _overlap(a: dict | None, b: dict | None) -> bool:
    if not a or not b or a["width"] == 0 or b["width"] == 0:
        return False
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.fixture(scope="module")
def report_file(tiny_market, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("titles") / "report.html"
    build_report(tiny_market, out, suite=run_backtests(tiny_market))
    return out


@pytest.mark.parametrize("width", [1440, 1000])  # two charts a row, and one (the narrow layout)
def test_titles_clear_the_mode_bar(report_file, width):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("BROADENING_SCREENSHOT_DIR", report_file.parent))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(report_file.resolve().as_uri(), wait_until="load", timeout=60_000)
            n = page.locator(".chart .plot").count()
            page.wait_for_function(f"window.CHARTS_RENDERED >= {n}", timeout=60_000)
            boxes = page.evaluate(_BOXES)
            # the mode bar shows on hover: hover the first claim's chart and keep a picture of it
            first = page.locator("#chart-concentration")
            first.scroll_into_view_if_needed()
            first.locator(".plot").hover()
            page.wait_for_timeout(300)
            first.screenshot(path=str(shots / f"chart-title-{width}.png"))
        finally:
            browser.close()
    assert len(boxes) == n >= 15
    for b in boxes:
        assert b["title"] and b["title"]["width"] > 50, b["id"]  # every chart has a visible title
        assert b["modebar"] and b["modebar"]["width"] > 20, b["id"]  # and plotly's mode bar
        assert not _overlap(b["title"], b["modebar"]), (b["id"], b["title"], b["modebar"])
        assert not _overlap(b["title"], b["legend"]), (b["id"], b["title"], b["legend"])
    assert (shots / f"chart-title-{width}.png").stat().st_size > 5_000
