"""Open a report in headless Chromium (Debian's package) and read what a person would see."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


@dataclass
class PageReport:
    console_errors: list[str] = field(default_factory=list)
    charts_expected: int = 0
    charts_rendered: int = 0
    svg_charts: int = 0
    scorecard_rows: list[str] = field(default_factory=list)
    title: str = ""
    banner: str = ""
    probe: object = None
    body_text: str = ""


def inspect(html: Path, screenshot: Path, width: int = 1440, height: int = 900, probe: str | None = None) -> PageReport:
    """Load ``html`` from file://, wait for every chart, collect errors, save a screenshot.

    ``probe`` is a JavaScript expression evaluated after the charts are drawn (its value
    lands in ``PageReport.probe``), e.g. a global an injected script would have set.
    """
    from playwright.sync_api import sync_playwright

    rep = PageReport()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: rep.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: rep.console_errors.append(str(e)))
            page.goto(html.resolve().as_uri(), wait_until="load", timeout=60_000)
            rep.charts_expected = page.locator(".chart .plot").count()
            page.wait_for_function(f"window.CHARTS_RENDERED >= {rep.charts_expected}", timeout=60_000)
            rep.charts_rendered = page.evaluate("window.CHARTS_RENDERED")
            rep.svg_charts = page.locator(".chart .plot .main-svg").count() and page.evaluate(
                "Array.from(document.querySelectorAll('.chart .plot')).filter(d => d.querySelector('.main-svg')).length"
            )
            rep.scorecard_rows = page.locator("table.scorecard tbody tr td:first-child").all_inner_texts()
            rep.title = page.title()
            rep.body_text = page.inner_text("body")
            if probe is not None:
                rep.probe = page.evaluate(f"typeof {probe} === 'undefined' ? null : {probe}")
            rep.banner = page.locator(".banner").all_inner_texts()[0] if page.locator(".banner").count() else ""
            page.screenshot(path=str(screenshot), full_page=False)
            page.screenshot(path=str(screenshot.with_name(screenshot.stem + "-full.png")), full_page=True)
        finally:
            browser.close()
    return rep
