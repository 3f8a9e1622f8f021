"""Render the report as one self-contained HTML file.

plotly.js is inlined once at the top (no CDN), every figure is a ``<div>`` plus a small
``Plotly.newPlot`` call with its JSON, and the CSS is inline, so the file opens offline
in any browser and can be mailed as is.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from broadening.errors import BroadeningError

VERDICT_CLASS = {"supported": "ok", "not supported": "bad", "mixed": "mixed", "n/a": "na"}


@dataclass
class Chart:
    """A figure with its anchor id and a one-line reading guide."""

    id: str
    figure: go.Figure
    caption: str = ""
    wide: bool = False


@dataclass
class Section:
    """A titled block of charts and/or raw HTML (tables)."""

    id: str
    title: str
    intro: str = ""
    charts: list[Chart] = field(default_factory=list)
    html: str = ""


@dataclass
class Header:
    title: str
    asof: str
    universe: str
    sources: list[str]
    synthetic: bool
    generated: str
    notes: list[str] = field(default_factory=list)


def esc(text: object) -> str:
    """``text`` made safe for HTML element content and quoted attribute values."""
    return html.escape(str(text), quote=True)


# Characters that could end a <script> element, open an HTML comment or CDATA section
# inside it, or end a JavaScript string literal in older engines: JSON allows all of them
# raw, so they are written as \u escapes of four hex digits (the decoded value is unchanged).
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_UNSAFE_RE = re.compile("[<>&\u2028\u2029]")


def script_json(obj: object) -> str:
    """``obj`` as JSON that is safe to place inside an inline ``<script>`` element.

    ``json.dumps`` leaves ``</script>``, ``<!--`` and the line separators U+2028/U+2029
    as they are; any of them in user text (a security name, a sweep's sleeve-set name)
    would end the script block or corrupt it. They are escaped here, so the browser's
    JSON/JavaScript parser sees exactly the original strings.

    Examples
    --------
    >>> script_json({"name": "</script><script>alert(1)</script>"})
    '{"name":"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"}'
    """
    text = json.dumps(obj, separators=(",", ":"), default=_default, allow_nan=True)
    return _SCRIPT_UNSAFE_RE.sub(lambda m: _SCRIPT_UNSAFE[m.group()], text)


def script_hash(source: str) -> str:
    """The CSP source expression (``'sha256-...'``) that allows exactly this inline script."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(scripts: list[str]) -> str:
    """A Content-Security-Policy for the offline, self-contained report.

    Nothing is loaded from anywhere (``default-src 'none'``); only the page's own inline
    scripts run, each allowed by its SHA-256 hash (an injected ``<script>`` or event
    handler has no hash and is blocked); styles are inline (the page's and plotly's);
    plotly draws text measurement images from ``data:``/``blob:`` URLs.
    """
    hashes = " ".join(script_hash(s) for s in scripts)
    return (
        "default-src 'none'; "
        f"script-src {hashes}; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
        "connect-src 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
    )


def table_html(rows: list[dict[str, object]], columns: list[tuple[str, str]], *, classes: str = "", row_class=None, raw: set[str] | None = None) -> str:
    """A plain HTML table: ``columns`` is a list of (key, heading); values pre-formatted."""
    raw = raw or set()
    head = "".join(f"<th>{esc(h)}</th>" for _, h in columns)
    body = []
    for r in rows:
        cls = f' class="{esc(row_class(r))}"' if row_class else ""
        cells = "".join(f"<td>{r.get(k, '') if k in raw else esc(r.get(k, ''))}</td>" for k, _ in columns)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<table class="{esc(classes)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


_CSS = """
:root{--ink:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#f6f7f9;--ok:#1e7d4f;--bad:#b03a2e;--mixed:#b7791f;--na:#7f8794}
*{box-sizing:border-box}body{margin:0;font-family:Inter,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg);font-size:14px;line-height:1.45}
.banner{background:#b03a2e;color:#fff;text-align:center;font-weight:700;letter-spacing:.08em;padding:6px 10px;font-size:13px}
header{background:#fff;border-bottom:1px solid var(--line);padding:18px 32px 12px}
header h1{margin:0 0 4px;font-size:22px}header .meta{color:var(--muted);font-size:13px}
header .meta span{margin-right:18px}
nav{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--line);padding:6px 32px;font-size:13px}
nav a{color:var(--muted);text-decoration:none;margin-right:16px}nav a:hover{color:var(--ink)}
main{max-width:1320px;margin:0 auto;padding:12px 32px 40px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:18px 0}
section h2{margin:0 0 6px;font-size:18px}.intro{color:var(--muted);margin:0 0 10px;max-width:980px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:14px}
.chart{border:1px solid var(--line);border-radius:6px;padding:4px 6px 8px;min-width:0}.chart.wide{grid-column:1/-1}
.chart .plot{width:100%;min-height:260px}.caption{color:var(--muted);font-size:12px;margin:2px 6px 0}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#fafbfc;font-weight:600;color:var(--muted);white-space:nowrap}td.num,th.num{text-align:right}
.scorecard td:nth-child(1){font-weight:700;white-space:nowrap}.scorecard a{color:inherit}
.verdict{display:inline-block;padding:2px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px;white-space:nowrap}
.verdict.ok{background:var(--ok)}.verdict.bad{background:var(--bad)}.verdict.mixed{background:var(--mixed)}.verdict.na{background:var(--na)}
.regime{display:inline-block;padding:3px 10px;border-radius:12px;font-weight:700;color:#fff}
.regime.scarcity{background:var(--bad)}.regime.transition{background:var(--mixed)}.regime.diffusion{background:var(--ok)}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:6px 0 10px}.kpi{background:var(--bg);border-radius:6px;padding:8px 12px;min-width:150px}
.kpi b{display:block;font-size:18px}.kpi small{color:var(--muted)}
.small{font-size:12px;color:var(--muted)}.two{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:1100px){.grid{grid-template-columns:1fr}.two{grid-template-columns:1fr}}
footer{color:var(--muted);font-size:12px;text-align:center;padding:20px}
"""


def render(header: Header, sections: list[Section], *, summary_html: str = "") -> str:
    """The whole report as one HTML string (plotly.js inlined once)."""
    figs = []
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    body = []
    for s in sections:
        charts = []
        for c in s.charts:
            figs.append((c.id, c.figure))
            cls = "chart wide" if c.wide else "chart"
            cap = f'<p class="caption">{esc(c.caption)}</p>' if c.caption else ""
            charts.append(f'<div class="{cls}" id="{esc(c.id)}"><div class="plot" id="{esc(c.id)}-plot"></div>{cap}</div>')
        grid = f'<div class="grid">{"".join(charts)}</div>' if charts else ""
        intro = f'<p class="intro">{s.intro}</p>' if s.intro else ""
        body.append(f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>{intro}{s.html}{grid}</section>')
    banner = (
        '<div class="banner">SYNTHETIC DATA: generated by broadening\'s demo market model, not real securities. '
        "Nothing here describes a real market.</div>" if header.synthetic else ""
    )
    notes = "".join(f"<div class='small'>{esc(n)}</div>" for n in header.notes)
    meta = (
        f"<span><b>As of</b> {esc(header.asof)}</span><span><b>Universe</b> {esc(header.universe)}</span>"
        f"<span><b>Sources</b> {esc(', '.join(header.sources) or 'n/a')}</span><span><b>Generated</b> {esc(header.generated)}</span>"
    )
    calls = []
    for fid, fig in figs:
        spec = fig.to_plotly_json()
        payload = script_json({"data": spec.get("data", []), "layout": spec.get("layout", {})})
        calls.append(f"renderChart({script_json(f'{fid}-plot')},{payload});")
    plotly_js = get_plotlyjs()
    charts_js = (
        "\nvar CHARTS_RENDERED=0;\n"
        "function renderChart(id,fig){Plotly.newPlot(id,fig.data,fig.layout,{responsive:true,displaylogo:false})"
        ".then(function(){CHARTS_RENDERED+=1;});}\n" + "".join(calls) + "\n"
    )
    csp = content_security_policy([plotly_js, charts_js])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(header.title)}</title><style>{_CSS}</style>
<script type="text/javascript">{plotly_js}</script></head>
<body>{banner}<header><h1>{esc(header.title)}</h1><div class="meta">{meta}</div>{notes}</header>
<nav>{nav}</nav><main>{summary_html}{"".join(body)}</main>
<footer>broadening report; every metric is computed point-in-time from the data named above. Not investment advice.</footer>
<script type="text/javascript">{charts_js}</script></body></html>"""


def check_out_path(out: str | Path) -> Path:
    """Check the report can be written to ``out`` before any work (it is not a directory).

    Raises
    ------
    ReportPathError
        ``out`` is an existing directory, or its parent is a file.
    """
    out = Path(out)
    if out.is_dir():
        raise ReportPathError(f"{out}: is a directory; --out takes the report's file name (e.g. {out / 'report.html'})")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ReportPathError(f"{out}: {parent} is a file, not a directory")
            break
    return out


def write_page(out: str | Path, page: str) -> Path:
    """Write the page to ``out`` atomically: a temporary file beside it, then a rename.

    On any failure (a full disk, a directory in the way) the temporary file is removed
    and ``out`` keeps its previous contents; the error is one line.
    """
    out = check_out_path(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ReportPathError(f"{exc.strerror or exc}: {out} could not be written"
                              f"{' (its previous version is kept)' if out.exists() else ''}") from None
    return out


class ReportPathError(BroadeningError):
    """The report cannot be written where asked (a directory, a full disk...)."""


def _default(o):
    import numpy as np

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)
