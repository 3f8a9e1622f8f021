"""Script injection: what enters the report's inline script is inert, and the CSP allows only the page's own scripts."""

from __future__ import annotations

import html
import json
import re

import plotly.graph_objects as go
import pytest

from broadening.report.html import Chart, Header, Section, render, script_hash, script_json

HOSTILE = ["</script><script>alert(1)</script>", "<!--", "<![CDATA[", "a\u2028b\u2029c", "&amp;", "</SCRIPT >"]


@pytest.mark.parametrize("text", HOSTILE)
def test_script_injection_script_json_round_trips_and_is_inert(text):
    out = script_json({"k": text, text: [text]})
    assert "<" not in out and ">" not in out and "&" not in out and "\u2028" not in out and "\u2029" not in out
    assert json.loads(out) == {"k": text, text: [text]}


def test_script_injection_page_has_a_csp_matching_its_scripts():
    fig = go.Figure(go.Scatter(x=[1, 2], y=[1, 2], name=HOSTILE[0]))
    page = render(Header(HOSTILE[0], "2024", HOSTILE[1], [HOSTILE[2]], False, "now", [HOSTILE[3]]),
                  [Section("s", HOSTILE[0], charts=[Chart(HOSTILE[5], fig, caption=HOSTILE[0])])])
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1))
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    assert len(scripts) == 2  # plotly.js and the page's charts: nothing injected closed a script early
    for s in scripts:
        assert script_hash(s) in csp
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert HOSTILE[0] not in page  # neither raw in the HTML nor in the JSON
