"""Plotly figures for the report, built from plain pandas objects.

Each function takes Series/DataFrames indexed by date and returns a
``plotly.graph_objects.Figure``; none of them computes a metric (that is the signals'
and the backtest's job). Long daily series are thinned for display with :func:`thin`,
which keeps the shape of a line chart while keeping the HTML small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

STRATEGY_COLOURS = {
    "playbook": "#1f4e9c",
    "cap_weight": "#6b6b6b",
    "equal_weight": "#2e8b57",
    "momentum": "#d2691e",
}
REGIME_COLOURS = {"scarcity": "rgba(200,60,60,0.13)", "transition": "rgba(230,180,40,0.15)", "diffusion": "rgba(40,150,90,0.15)"}
_PALETTE = ["#1f4e9c", "#d2691e", "#2e8b57", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#b7950b"]
#: Pixels at the top of every chart kept free for plotly's mode bar (its icons are about 25 px
#: high, drawn over the top-right corner on hover): the title starts below this band, so a long
#: title never runs under the icons.
MODEBAR_BAND = 30
#: Where the legend starts, in pixels from the top: under the band and the one-line title.
LEGEND_TOP = MODEBAR_BAND + 26
#: Top margin: the band, the title and one row of legend (plotly pushes it further when a
#: legend wraps onto more rows).
_TOP = LEGEND_TOP + 30
_LAYOUT = dict(
    template="plotly_white",
    margin=dict(l=55, r=25, t=_TOP, b=35),
    height=380,
    hovermode="x unified",
    font=dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=12),
)


def thin(obj: pd.Series | pd.DataFrame, max_points: int = 1300) -> pd.Series | pd.DataFrame:
    """Downsample a daily series for display: weekly (last value) when it is long.

    Weekly sampling of a 20-year daily line keeps every visible feature of the chart
    (the eye cannot resolve more than a few hundred points per axis width) while
    cutting the HTML size five-fold.
    """
    if len(obj) <= max_points or not isinstance(obj.index, pd.DatetimeIndex):
        return obj
    out = obj.resample("W-FRI").last()
    if len(out) > max_points:
        out = obj.resample("ME").last()
    return out.dropna(how="all")


def _title(text: str) -> dict:
    """A left-aligned title hung ``MODEBAR_BAND`` px below the top of the chart (container coordinates)."""
    return dict(text=text, x=0.01, xanchor="left", xref="container", y=1, yref="container", yanchor="top",
                pad=dict(t=MODEBAR_BAND), font=dict(size=14), automargin=True)


def _fig(title: str, **kw) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(**{**_LAYOUT, **kw}, title=_title(title))
    return fig


def finish(fig: go.Figure) -> go.Figure:
    """Lay out the top of a chart once its height is final: mode bar band, title, legend, plot.

    The legend hangs ``LEGEND_TOP`` px below the top (container coordinates, so a legend
    that wraps pushes the plot down instead of climbing into the title); a chart without a
    legend gives the plot the legend's room.
    """
    h = float(fig.layout.height or _LAYOUT["height"])
    entries = sum(1 for tr in fig.data if tr.showlegend is not False)
    if fig.layout.showlegend is False or entries < 2:
        fig.update_layout(margin=dict(t=LEGEND_TOP + 4))
        return fig
    fig.update_layout(legend=dict(orientation="h", xref="container", x=0.01, xanchor="left",
                                  yref="container", y=1.0 - LEGEND_TOP / h, yanchor="top"))
    return fig


def _x(index: pd.Index) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in pd.DatetimeIndex(index)]


def lines(
    data: pd.DataFrame | pd.Series,
    title: str,
    *,
    yaxis: str = "",
    percent: bool = False,
    log: bool = False,
    colours: dict[str, str] | None = None,
    zero_line: bool = False,
) -> go.Figure:
    """A line per column (or one line for a Series), thinned for display."""
    df = data.to_frame() if isinstance(data, pd.Series) else data
    df = thin(df)
    fig = _fig(title)
    for k, col in enumerate(df.columns):
        s = df[col]
        colour = (colours or {}).get(str(col), _PALETTE[k % len(_PALETTE)])
        fig.add_trace(go.Scatter(x=_x(s.index), y=_round(s), name=str(col), mode="lines", line=dict(color=colour, width=1.6)))
    fig.update_yaxes(title_text=yaxis, tickformat=".0%" if percent else None, type="log" if log else "linear")
    if zero_line:
        fig.add_hline(y=0, line=dict(color="#999", width=1, dash="dot"))
    return finish(fig)


def dual_axis(left: pd.Series, right: pd.Series, title: str, *, left_title: str, right_title: str,
              left_percent: bool = False, right_percent: bool = False, right_kind: str = "line") -> go.Figure:
    """Two series on two y axes (e.g. top-10 share and effective N)."""
    left, right = thin(left), thin(right)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.update_layout(**_LAYOUT, title=_title(title))
    fig.add_trace(go.Scatter(x=_x(left.index), y=_round(left), name=left.name or left_title, line=dict(color=_PALETTE[0], width=1.8)), secondary_y=False)
    if right_kind == "bar":
        fig.add_trace(go.Bar(x=_x(right.index), y=_round(right), name=right.name or right_title, marker_color="rgba(210,105,30,0.45)"), secondary_y=True)
    else:
        fig.add_trace(go.Scatter(x=_x(right.index), y=_round(right), name=right.name or right_title, line=dict(color=_PALETTE[1], width=1.4)), secondary_y=True)
    fig.update_yaxes(title_text=left_title, tickformat=".0%" if left_percent else None, secondary_y=False)
    fig.update_yaxes(title_text=right_title, tickformat=".0%" if right_percent else None, secondary_y=True, showgrid=False)
    return finish(fig)


def heatmap(table: pd.DataFrame, title: str, *, percent: bool = True) -> go.Figure:
    """Rows x columns heatmap with values printed in the cells (e.g. baskets x windows)."""
    z = table.to_numpy(dtype=float)
    text = [[("" if np.isnan(v) else (f"{v:+.1%}" if percent else f"{v:.2f}")) for v in row] for row in z]
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig = _fig(title, hovermode="closest")
    fig.add_trace(go.Heatmap(
        z=[[None if np.isnan(v) else float(v) for v in row] for row in np.round(z, 6)],
        x=[str(c) for c in table.columns], y=[str(i) for i in table.index],
        text=text, texttemplate="%{text}", colorscale="RdYlGn", zmid=0, zmin=-lim, zmax=lim,
        colorbar=dict(tickformat=".0%" if percent else None),
    ))
    fig.update_layout(height=max(280, 45 * len(table.index) + 130))
    return finish(fig)


def regime_bands(fig: go.Figure, labels: pd.Series) -> go.Figure:
    """Shade the background of ``fig`` by regime label (contiguous runs as bands).

    The shapes are built as one list and set once: plotly's ``add_vrect`` re-validates
    every existing shape on each call, which is quadratic in the number of bands.
    """
    if labels.empty:
        return fig
    lab = labels.astype(str)
    change = lab.ne(lab.shift()).cumsum()
    shapes = list(fig.layout.shapes or [])
    for _, run in lab.groupby(change):
        colour = REGIME_COLOURS.get(run.iloc[0])
        if colour is None:
            continue
        shapes.append(dict(type="rect", xref="x", yref="paper", x0=run.index[0].strftime("%Y-%m-%d"),
                           x1=run.index[-1].strftime("%Y-%m-%d"), y0=0, y1=1, fillcolor=colour, line_width=0, layer="below"))
    fig.update_layout(shapes=shapes)
    return fig


def regime_timeline(index_level: pd.Series, labels: pd.Series, score: pd.Series | None = None) -> go.Figure:
    """The cap-weighted index (log) with regime bands behind it, and the diffusion score."""
    lvl = thin(index_level)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.update_layout(**_LAYOUT, title=_title("Regime timeline: cap-weighted index with scarcity / transition / diffusion bands"))
    fig.update_layout(height=420)
    fig.add_trace(go.Scatter(x=_x(lvl.index), y=_round(lvl), name="cap-weighted index", line=dict(color="#222", width=1.6)), secondary_y=False)
    if score is not None and not score.dropna().empty:
        sc = thin(score.dropna())
        fig.add_trace(go.Scatter(x=_x(sc.index), y=_round(sc), name="diffusion score", line=dict(color=_PALETTE[2], width=1.2, dash="dot")), secondary_y=True)
        fig.update_yaxes(title_text="diffusion score (0-1)", range=[0, 1], secondary_y=True, showgrid=False)
    fig.update_yaxes(type="log", title_text="index level (log)", secondary_y=False)
    for name, colour in REGIME_COLOURS.items():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker=dict(size=12, color=colour.replace("0.13", "0.6").replace("0.15", "0.6"), symbol="square"), name=name), secondary_y=False)
    return finish(regime_bands(fig, labels))


def equity_curves(returns: pd.DataFrame) -> go.Figure:
    """Growth of 1 per strategy on a log scale."""
    growth = (1 + returns.fillna(0)).cumprod()
    return lines(growth, "Equity curves (growth of 1, log scale)", yaxis="growth of 1", log=True, colours=STRATEGY_COLOURS)


def drawdowns(returns: pd.DataFrame) -> go.Figure:
    """Drawdown from the running peak per strategy."""
    growth = (1 + returns.fillna(0)).cumprod()
    dd = growth / growth.cummax() - 1
    return lines(dd, "Drawdowns", yaxis="drawdown", percent=True, colours=STRATEGY_COLOURS)


def rolling_excess(returns: pd.DataFrame, benchmark: str = "cap_weight", window: int = 252) -> go.Figure:
    """Rolling 1-year return of each strategy minus the benchmark's."""
    growth = np.log1p(returns.fillna(0))
    roll = np.expm1(growth.rolling(window, min_periods=window).sum())
    excess = roll.sub(roll[benchmark], axis=0).drop(columns=[benchmark]).dropna(how="all")
    return lines(excess, f"Rolling 1-year excess return vs {benchmark.replace('_', '-')}", yaxis="excess return",
                 percent=True, colours=STRATEGY_COLOURS, zero_line=True)


def bars(values: pd.Series, title: str, *, percent: bool = True) -> go.Figure:
    """Horizontal bars (e.g. sleeve attribution), sorted as given."""
    fig = _fig(title, hovermode="closest")
    colours = ["#2e8b57" if v >= 0 else "#c0392b" for v in values.fillna(0)]
    fig.add_trace(go.Bar(y=[str(i) for i in values.index], x=_round(values), orientation="h", marker_color=colours,
                         text=[f"{v:+.2%}" if percent else f"{v:.2f}" for v in values.fillna(0)], textposition="auto"))
    fig.update_xaxes(tickformat=".1%" if percent else None)
    fig.update_layout(height=max(260, 38 * len(values) + 120), showlegend=False)
    return finish(fig)


def _round(s: pd.Series) -> list:
    # six significant digits are plenty for display and halve the JSON
    arr = np.asarray(s, dtype=float)
    out = np.round(arr, 6)
    return [None if np.isnan(v) else float(v) for v in out]
