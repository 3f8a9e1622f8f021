"""The report's sweep section: Sharpe and information-ratio heatmaps over two grid axes.

``broadening sweep`` stores one row per variant as the ``sweep_variants`` result (see
:func:`broadening.results.save_sweep`). :func:`sweep_section` turns that frame and its meta
into a :class:`~broadening.report.html.Section`.

Cells average the metric over the variants that share the two chosen axis values (the other
axes, and walk-forward splits, are averaged over; the caption says how many per cell). Under
walk-forward the metrics are out-of-sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from broadening.report import charts as ch
from broadening.report.html import Chart, Section, esc, table_html

#: The grid axes a variants table may carry (``broadening.sweep.grid.AXES``, which the report
#: does not import; a test holds the two equal).
AXES = ("schedule", "regime_scaling", "top_k", "cap", "cut", "sleeves")
_LABEL = {"top_k": "top-k trimmed", "cap": "cap per name", "cut": "share of the top-k cut", "sleeves": "sleeve shares", "schedule": "rebalance",
          "regime_scaling": "regime scaling", "split": "walk-forward split"}


def _varied(df: pd.DataFrame, meta: dict[str, Any]) -> list[str]:
    got = [a for a in meta.get("varied", []) if a in df.columns and a != "split"]
    return got or [a for a in AXES if a in df.columns and df[a].nunique() > 1]


def _sort_key(values: pd.Index) -> pd.Index:
    try:
        return pd.Index(sorted(values, key=float))
    except (TypeError, ValueError):
        return pd.Index(sorted(values, key=str))


def _pivot(df: pd.DataFrame, metric: str, x: str, y: str | None) -> tuple[pd.DataFrame, int]:
    data = df.copy()
    if "regime_scaling" in data:
        data["regime_scaling"] = data["regime_scaling"].map(lambda v: "on" if bool(v) else "off")
    if y is None:
        data["_all"] = "all variants"
        y = "_all"
    table = data.pivot_table(index=y, columns=x, values=metric, aggfunc="mean")
    table = table.reindex(index=_sort_key(table.index), columns=_sort_key(table.columns))
    table.index = [f"{v:g}" if isinstance(v, float) else str(v) for v in table.index]
    table.columns = [f"{v:g}" if isinstance(v, float) else str(v) for v in table.columns]
    per_cell = int(round(len(data) / max(1, table.size)))
    return table, per_cell


def sweep_section(
    variants: pd.DataFrame,
    meta: dict[str, Any] | None = None,
    *,
    x: str | None = None,
    y: str | None = None,
    top: int = 10,
) -> Section | None:
    """A report section from stored sweep results.

    Parameters
    ----------
    variants : DataFrame
        The ``sweep_variants`` result: ``id``, the grid axes (``schedule, regime_scaling,
        top_k, cap, sleeves``), ``split``, the metrics, and ``is_<metric>`` in-sample columns.
    meta : dict, optional
        Its stored meta (``varied``, ``metric``, ``best``, ``walk_forward``, ``grid``, ...).
    x, y : str, optional
        The two grid axes of the heatmaps (columns, rows). Default: the first two axes the
        grid varies (``y=None`` with a single varied axis gives a one-row heatmap).
    top : int, default 10
        Variants listed in the table (best first by the stored ranking metric).

    Returns
    -------
    Section or None
        None when ``variants`` is empty.

    Raises
    ------
    ValueError
        If ``x`` or ``y`` is not a column of ``variants``.
    """
    if variants is None or variants.empty:
        return None
    meta = dict(meta or {})
    df = variants.copy()
    varied = _varied(df, meta)
    for name, ax in (("x", x), ("y", y)):
        if ax is not None and ax not in df.columns:
            raise ValueError(f"sweep_section: {name}={ax!r} is not a grid axis (axes: {', '.join(a for a in AXES if a in df)})")
    if x is None:
        x = varied[0] if varied else "schedule"
    if y is None:
        rest = [a for a in varied if a != x]
        y = rest[0] if rest else None
    metric = str(meta.get("metric", "sharpe"))
    wf = "split" in meta.get("varied", []) or (df["split"].nunique() > 1 if "split" in df else False) or (
        "split" in df and (df["split"] != "full").any())
    scope = "out-of-sample (test windows)" if wf else "whole history"
    charts = []
    for key, label in (("sharpe", "Sharpe ratio"), ("information_ratio", "Information ratio vs cap weight")):
        if key not in df:
            continue
        table, per_cell = _pivot(df, key, x, y)
        fig = ch.heatmap(table, f"{label} by {_LABEL.get(x, x)}" + (f" and {_LABEL.get(y, y)}" if y else ""),
                         percent=False)
        fig.update_xaxes(title_text=_LABEL.get(x, x))
        if y:
            fig.update_yaxes(title_text=_LABEL.get(y, y))
        charts.append(Chart(
            id=f"chart-sweep-{key.replace('_', '-')}", figure=fig,
            caption=f"{label}, {scope}; each cell is the mean over the {per_cell} variant(s) sharing its "
                    f"{_LABEL.get(x, x)}{' and ' + _LABEL.get(y, y) if y else ''}.",
        ))

    sort_col = metric if metric in df else "sharpe"
    best = df.sort_values([sort_col, "id"], ascending=[False, True], na_position="last").head(top)
    cols = [("id", "variant")] + [(a, _LABEL.get(a, a)) for a in (varied or ["schedule"])]
    if wf:
        cols += [("split", "split"), (f"is_{sort_col}", f"in-sample {sort_col.replace('_', ' ')}")]
    cols += [(k, k.replace("_", " ")) for k in ("cagr", "sharpe", "information_ratio", "tracking_error", "max_drawdown")]
    rows = []
    for r in best.to_dict("records"):
        row = {}
        for k, _ in cols:
            v = r.get(k)
            if k in ("cagr", "tracking_error", "max_drawdown"):
                row[k] = "n/a" if v is None or not np.isfinite(v) else f"{v:.1%}"
            elif isinstance(v, bool | np.bool_):
                row[k] = "on" if v else "off"
            elif isinstance(v, float | np.floating):
                row[k] = "n/a" if not np.isfinite(v) else (f"{v:.2f}" if k not in ("cap", "cut") else f"{v:g}")
            else:
                row[k] = v
        rows.append(row)
    parts = [f"<p class='small'>Top {len(rows)} of {len(df)} variants by {esc(sort_col.replace('_', ' '))} ({scope}).</p>",
             table_html(rows, cols)]
    wfs = meta.get("walk_forward") or []
    if wfs:
        wrows = [{
            "split": w.get("split"), "train": f"{w.get('train_start')} .. {w.get('train_end')}", "test_end": w.get("test_end"),
            "best": w.get("best_in_sample"),
            "params": ", ".join(f"{k}={v}" for k, v in (w.get("params") or {}).items()),
            "is": _num((w.get("in_sample") or {}).get(sort_col)), "oos": _num((w.get("out_of_sample") or {}).get(sort_col)),
        } for w in wfs]
        parts.append("<h3>Walk-forward: the best variant in-sample, out of sample</h3>")
        parts.append(table_html(wrows, [("split", "split"), ("train", "train"), ("test_end", "test to"),
                                         ("best", "best in-sample variant"), ("params", "parameters"),
                                         ("is", f"in-sample {sort_col}"), ("oos", f"out-of-sample {sort_col}")]))
    intro = (f"{len(df)} playbook variants from the sweep grid {esc(meta.get('grid', ''))}"
             f"{' (synthetic data)' if meta.get('synthetic') else ''}: how Sharpe and information ratio move "
             f"with {esc(_LABEL.get(x, x))}{' and ' + esc(_LABEL.get(y, y)) if y else ''}. "
             "Metrics are net of costs, against the cap-weighted benchmark.")
    return Section(id="sweep", title="Parameter sweep", intro=intro, charts=charts, html="".join(parts))


def _num(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not np.isfinite(f) else f"{f:.2f}"
