"""The thesis as a table: each claim (C1-C10) is one declarative :class:`Claim` in :data:`REGISTRY`.

A claim says what measures it (its family function and headline column), which way the
headline points (``orientation``), how its verdict is decided (a :class:`Band` on the
headline's percentile or two :class:`Condition` s in a :class:`Both`), what data it needs before
a verdict means anything, the evidence sentence printed with the verdict, the chart that
shows it in the report and, optionally, how it feeds the regime's diffusion score.

Everything that talks about claims reads this registry: the scorecard
(:mod:`broadening.signals.scorecard`), the regime components
(:mod:`broadening.signals.regime`), the evaluation (:mod:`broadening.signals.evaluate`), the
report and ``docs/claims.md`` (:func:`claims_markdown`). Adding a claim is adding one
:class:`Claim` to :data:`REGISTRY` plus its thresholds table ``[scorecard.<id>]`` (and a regime
weight if it has a component) in ``config/classification.toml``.

The verdict rules (:func:`decide`) work on numpy arrays, so the same rule gives the verdict
on the as-of date (the scorecard) and on every date at once (the evaluation's hit rates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening import baskets as bk
from broadening.signals import evidence as ev
from broadening.signals.breadth import breadth
from broadening.signals.concentration import concentration, crowding
from broadening.signals.credit import credit
from broadening.signals.evidence import (
    ClaimView,
    Col,
    basket_requirement,
    col_name,
    credit_requirement,
    fundamentals_requirement,
    snap_days,
)
from broadening.signals.rotation import ai_rotation, liquidity_source, rotation
from broadening.signals.valuation import earnings, small_cap_valuation, valuation

if TYPE_CHECKING:
    from broadening.config import Config
    from broadening.market import Market

__all__ = [
    "Claim", "Condition", "Band", "Both", "ChartSpec", "RegimeComponent", "ClaimView", "REGISTRY", "CLAIMS",
    "SUPPORTED", "NOT_SUPPORTED", "MIXED", "NA", "VERDICTS", "decide", "get", "claims_markdown", "snap_days",
]

SUPPORTED, NOT_SUPPORTED, MIXED, NA = "supported", "not supported", "mixed", "n/a"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, MIXED, NA)

FamilyFn = Callable[["Market", "Config"], pd.DataFrame]

_OPS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal,
}


@dataclass(frozen=True)
class Condition:
    """One condition of a verdict: ``quantity op threshold`` (or ``quantity op against``).

    ``quantity`` and ``against`` are ``"value"`` (the headline), ``"percentile"`` (its trailing
    percentile) or a column of the claim's family; ``threshold`` is a key of the claim's
    ``[scorecard.<id>]`` config table.
    """

    quantity: Col
    op: str
    threshold: str | None = None
    against: Col | None = None

    def quantities(self) -> tuple[Col, ...]:
        """The quantities the test compares."""
        return (self.quantity,) if self.against is None else (self.quantity, self.against)


@dataclass(frozen=True)
class Band:
    """Verdict from the headline's percentile alone.

    With ``high_supports``: supported at a percentile ``>= th[supported]``, not supported at
    ``<= th[not_supported]``; otherwise the reverse (``<=`` supports, ``>=`` contradicts).
    Mixed in between.
    """

    supported: str
    not_supported: str
    high_supports: bool = True

    def required(self) -> tuple[Col, ...]:
        """Quantities that must be known for a verdict."""
        return ("value", "percentile")

    def quantities(self) -> tuple[Col, ...]:
        """Every quantity the rule reads."""
        return self.required()


@dataclass(frozen=True)
class Both:
    """Two tests: both pass -> supported, neither -> not supported, one -> mixed.

    With ``second_optional``, an unknown second quantity leaves the verdict to the first
    alone, at most mixed: mixed when it passes, not supported when it fails.
    """

    first: Condition
    second: Condition
    second_optional: bool = False

    def required(self) -> tuple[Col, ...]:
        """Quantities that must be known for a verdict."""
        return ("value", *self.first.quantities(), *(() if self.second_optional else self.second.quantities()))

    def quantities(self) -> tuple[Col, ...]:
        """Every quantity the rule reads."""
        return ("value", "percentile", *self.first.quantities(), *self.second.quantities())


@dataclass(frozen=True)
class ChartSpec:
    """The report chart of a claim (the report draws it; nothing here imports plotting).

    ``kind`` is ``"lines"`` (one line per series), ``"dual_axis"`` (first series on the left
    axis, second on the right) or ``"baskets"`` (the report's basket-return heatmap).
    ``series`` are ``(column of the claim's family, legend label)``. ``right_zscore`` turns
    the right series into its z-score against its own ``right_zscore`` trading days
    (minimum a year).
    """

    anchor: str
    title: str
    caption: str
    kind: str = "lines"
    series: tuple[tuple[str, str], ...] = ()
    yaxis: str = ""
    right_title: str = ""
    percent: bool = False
    right_percent: bool = False
    zero_line: bool = False
    right_zscore: int | None = None


@dataclass(frozen=True)
class RegimeComponent:
    """How a claim feeds the diffusion score (see :mod:`broadening.signals.regime`).

    The component is the mean over ``columns`` of the trailing percentile of each column,
    taken after ``transform``: ``"level"`` (as is), ``"change"`` (change over
    ``regime.horizon`` days) or ``"mean"`` (trailing mean over ``regime.horizon`` days). ``orientation`` -1
    turns the percentile into ``1 - percentile`` so that 1 always means "diffusing".
    """

    columns: tuple[Col, ...]
    transform: str = "level"
    orientation: int = 1


@dataclass(frozen=True)
class Claim:
    """One claim of the thesis, declared once.

    Attributes
    ----------
    id, text : str
        ``"C1"`` and the claim in words.
    family : callable
        ``family(market, cfg) -> DataFrame`` of the claim's metrics by date.
    headline : Col
        The family column the verdict, percentile, trend and evaluation read.
    metric : callable
        ``metric(cfg) -> str``: the headline in words.
    orientation : int
        +1 when a higher headline means more support for the claim, -1 when lower does.
    rule : Band or Both
        The verdict rule; thresholds come from ``cfg.scorecard[id]``.
    evidence : callable
        ``evidence(view) -> str``: the sentence printed with a verdict.
    history_days : callable
        ``history_days(cfg) -> int``: history the claim needs (for the n/a reason).
    requires : tuple of callables
        ``check(view) -> reason or None``: data the claim cannot do without; the first reason
        found makes the verdict n/a.
    missing_value : str, optional
        The n/a reason when the headline itself is unknown (default: not enough history).
    partial_evidence : callable, optional
        The sentence when the optional second test of a :class:`Both` is unknown.
    percentile_window : callable, optional
        ``window(cfg) -> int`` days for the headline percentile (default ``history.window``).
    percent : bool
        Whether the headline is shown as a percentage.
    chart : ChartSpec
    regime : RegimeComponent, optional
        Present when the claim feeds the diffusion score (weight ``regime.weights.<id>``).
    """

    id: str
    text: str
    family: FamilyFn
    headline: Col
    metric: Callable[[Config], str]
    orientation: int
    rule: Band | Both
    history_days: Callable[[Config], int]
    chart: ChartSpec
    evidence: Callable[[ClaimView], str]
    requires: tuple[Callable[[ClaimView], str | None], ...] = ()
    partial_evidence: Callable[[ClaimView], str] | None = None
    missing_value: str | None = None
    percentile_window: Callable[[Config], int] | None = None
    percent: bool = True
    regime: RegimeComponent | None = None

    def headline_column(self, cfg: Config) -> str:
        """The headline's column name under ``cfg``."""
        return col_name(self.headline, cfg)

    def window(self, cfg: Config) -> int:
        """Days of history the headline's percentile is taken over."""
        return self.percentile_window(cfg) if self.percentile_window else cfg.history.window


def _quantity(q: Col, cfg: Config, values: dict[str, np.ndarray]) -> np.ndarray:
    return np.asarray(values[col_name(q, cfg)], dtype=float)


def _test(test: Condition, cfg: Config, th: dict[str, float], values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(passes, known) of one test over arrays."""
    q = _quantity(test.quantity, cfg, values)
    ref = _quantity(test.against, cfg, values) if test.against is not None else np.full(q.shape, th[test.threshold])
    known = np.isfinite(q) & np.isfinite(ref)
    with np.errstate(invalid="ignore"):  # pragma: no mutate (equivalent: comparing NaN raises no numpy warning)
        return _OPS[test.op](q, ref) & known, known


def decide(claim: Claim, cfg: Config, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The verdict of ``claim`` wherever its inputs are given (arrays of any common shape).

    Parameters
    ----------
    claim : Claim
    cfg : Config
    values : dict
        ``"value"``, ``"percentile"`` and every family column the rule names, as arrays.

    Returns
    -------
    verdict : ndarray of str
        One of :data:`VERDICTS` (``n/a`` where a required quantity is unknown).
    partial : ndarray of bool
        Where the verdict came from the first test alone (optional second unknown).
    """
    th = cfg.scorecard[claim.id]
    rule = claim.rule
    shape = np.shape(values["value"])
    known = np.ones(shape, dtype=bool)
    for q in rule.required():
        known &= np.isfinite(_quantity(q, cfg, values))
    out = np.full(shape, NA, dtype=object)
    partial = np.zeros(shape, dtype=bool)
    if isinstance(rule, Band):
        p = _quantity("percentile", cfg, values)  # pragma: no mutate (equivalent: "percentile" is a plain name, read without the config)
        sup, nsup = th[rule.supported], th[rule.not_supported]
        with np.errstate(invalid="ignore"):  # pragma: no mutate (equivalent: comparing NaN raises no numpy warning)
            yes = p >= sup if rule.high_supports else p <= sup
            no = p <= nsup if rule.high_supports else p >= nsup
        out[known] = np.where(yes, SUPPORTED, np.where(no, NOT_SUPPORTED, MIXED))[known]
        return out.astype(str), partial
    a, _ = _test(rule.first, cfg, th, values)
    b, b_known = _test(rule.second, cfg, th, values)
    both = np.where(a & b, SUPPORTED, np.where(~a & ~b, NOT_SUPPORTED, MIXED))
    if rule.second_optional:
        partial = known & ~b_known
        both = np.where(partial, np.where(a, MIXED, NOT_SUPPORTED), both)  # pragma: no mutate (equivalent: an unknown second test already fails in `both`; kept to state the rule)
    out[known] = both[known]
    return out.astype(str), partial


def _k(cfg: Config) -> int:
    return cfg.universe.k


REGISTRY: dict[str, Claim] = {c.id: c for c in (
    Claim(
        id="C1", text="Capital is concentrated in a few mega-caps",
        evidence=ev.c1, family=concentration,
        headline=lambda cfg: f"top{cfg.universe.k}_share", metric=lambda cfg: f"top-{_k(cfg)} weight share",
        orientation=1, rule=Band("supported_percentile", "not_supported_percentile"),
        history_days=lambda cfg: cfg.history.min_periods, missing_value="no large-index market caps",
        chart=ChartSpec(
            "chart-concentration", "C1 Concentration: top-10 weight share and effective number of stocks",
            "Share of the cap-weighted index held by its ten largest names, and the number of equally weighted stocks with the same concentration.",
            kind="dual_axis", series=(("top10_share", "top-10 share"), ("effective_n", "effective N (1/HHI)")),
            yaxis="top-10 share", right_title="effective N", percent=True),
        regime=RegimeComponent((lambda cfg: f"top{cfg.universe.k}_share",), transform="change", orientation=-1),
    ),
    Claim(
        id="C2", text="The cap-weight vs equal-weight valuation gap is extreme and the rubber band is snapping",
        evidence=ev.c2, family=valuation, headline="pe_gap", metric=lambda cfg: "cap-weighted P/E / equal-weight median P/E",
        orientation=1, percent=False,
        rule=Both(Condition("percentile", ">=", "gap_percentile"), Condition(lambda cfg: f"ew_cw_{snap_days(cfg)}d", ">", "snap_min")),
        history_days=lambda cfg: max(cfg.history.min_periods, snap_days(cfg)), requires=(fundamentals_requirement,),
        chart=ChartSpec(
            "chart-ew-cw", "C2 Equal weight vs cap weight: 12-month relative return and the valuation-gap z-score",
            "The snap: equal-weight minus cap-weight return over 12 months; the dotted line is the cap-weighted/equal-weighted P/E gap as a z-score against its own 10-year history.",
            kind="dual_axis", series=(("ew_cw_252d", "equal minus cap weight, 12m"), ("pe_gap", "P/E gap z-score")),
            yaxis="EW minus CW (12m)", right_title="z-score", percent=True, right_zscore=2520),
        regime=RegimeComponent((lambda cfg: f"ew_cw_{max(cfg.signals.snap_windows)}d",)),
    ),
    Claim(
        id="C3", text="The median company is healthy and accelerating",
        evidence=ev.c3, family=earnings, headline="growth_gap",
        metric=lambda cfg: f"median TTM earnings growth outside minus inside top-{_k(cfg)}", orientation=1,
        rule=Both(Condition("value", ">", "growth_gap_min"), Condition("acceleration", ">", "acceleration_min")),
        history_days=lambda cfg: cfg.signals.growth_lag_days + cfg.signals.acceleration_lag_days,
        requires=(fundamentals_requirement,),
        chart=ChartSpec(
            "chart-earnings", "C3 The median company: trailing EPS growth outside vs inside the top-k",
            "Median trailing-twelve-month EPS growth of index members outside the mega-caps against the mega-caps themselves (point-in-time: filings count from their availability date).",
            series=(("growth_outside", "median EPS growth, outside top-k"), ("growth_inside", "median EPS growth, top-k")),
            yaxis="y/y TTM EPS growth", percent=True, zero_line=True),
        regime=RegimeComponent(("growth_gap",)),
    ),
    Claim(
        id="C4", text="Breadth: participation is widening",
        evidence=ev.c4, family=breadth, headline="beat_share",
        metric=lambda cfg: f"share of members beating the index over {cfg.signals.breadth_window}d", orientation=1,
        rule=Both(Condition("value", ">=", "beat_share_min"), Condition("above_ma_share", ">=", "above_ma_min")),
        history_days=lambda cfg: max(cfg.signals.breadth_window, cfg.signals.moving_average),
        chart=ChartSpec(
            "chart-breadth", "C4 Breadth: participation",
            "Share of index members beating the index over three months, and share trading above their 200-day average.",
            series=(("beat_share", "share beating the index (63d)"), ("above_ma_share", "share above 200-day average")),
            yaxis="share of members", percent=True),
        regime=RegimeComponent(("beat_share", "above_ma_share"), transform="mean"),
    ),
    Claim(
        id="C5", text="High-quality domestic cyclicals are absorbing liquidity; it is not a junk rally",
        evidence=ev.c5, partial_evidence=ev.c5_partial, family=rotation,
        headline="dc_minus_megatech",
        metric=lambda cfg: f"domestic cyclicals minus mega-cap tech return, {cfg.signals.breadth_window}d", orientation=1,
        rule=Both(Condition("value", ">", "relative_min"), Condition("quality_minus_junk", ">", "quality_minus_junk_min"),
                  second_optional=True),
        history_days=lambda cfg: cfg.signals.breadth_window,
        requires=(basket_requirement(bk.domestic_cyclicals, "no domestic cyclicals (check sectors and domestic_revenue_share)"),
                  basket_requirement(bk.megacap_tech, "no mega-cap tech names")),
        chart=ChartSpec(
            "chart-rotation", "C5 Rotation: basket returns over 1, 3, 6 and 12 months",
            "Trailing total return of each basket, ending on the as-of date; quality vs junk cyclicals separate a quality rotation from a junk rally.",
            kind="baskets"),
        regime=RegimeComponent(("dc_minus_megatech",), transform="mean"),
    ),
    Claim(
        id="C6", text="Credit creation is handed from banks to private credit",
        evidence=ev.c6, partial_evidence=ev.c6_partial, family=credit, headline="handoff",
        metric=lambda cfg: "private-credit growth minus bank-loan growth (y/y)", orientation=1,
        rule=Both(Condition("value", ">", "handoff_min"), Condition("credit_spread_change", "<=", "spread_change_max"),
                  second_optional=True),
        history_days=lambda cfg: cfg.signals.credit_growth_days, requires=(credit_requirement,),
        chart=ChartSpec(
            "chart-credit", "C6 Credit handoff: private-credit minus bank-loan growth, and the credit spread",
            "Year-on-year growth of the private-credit proxy (BDC market cap / AUM) minus bank business-loan growth; on the right axis the credit spread C6 is judged on: Moody's BAA minus the 10-year Treasury (BAA10Y, decades of history) when stored, else the high-yield option-adjusted spread.",
            kind="dual_axis", series=(("handoff", "private minus bank credit growth"), ("credit_spread", "credit spread (%)")),
            yaxis="growth gap (y/y)", right_title="credit spread, %", percent=True),
    ),
    Claim(
        id="C7", text="Trim mega-cap tech: it is a liquidity source",
        evidence=ev.c7, family=liquidity_source, headline="topk_weight",
        metric=lambda cfg: f"top-{_k(cfg)} index weight (what a trim frees)", orientation=1,
        rule=Both(Condition("percentile", ">=", "weight_percentile"), Condition("topk_weight_change", "<", "weight_change_max")),
        history_days=lambda cfg: max(cfg.signals.trend_window, cfg.history.min_periods),
        chart=ChartSpec(
            "chart-liquidity", "C7 The liquidity source: weight a trim of the mega-caps frees",
            "What the playbook's trim works on: the index weight of the top-k names and of mega-cap technology.",
            series=(("topk_weight", "top-k index weight"), ("megatech_weight", "mega-cap tech weight")),
            yaxis="index weight", percent=True),
    ),
    Claim(
        id="C8", text="Move down the AI stack: adopters over infrastructure",
        evidence=ev.c8, partial_evidence=ev.c8_partial, family=ai_rotation,
        headline="adopters_minus_infra",
        metric=lambda cfg: f"AI adopters minus infrastructure return, {cfg.signals.breadth_window}d", orientation=1,
        rule=Both(Condition("value", ">", "relative_min"), Condition("margin_gap", ">", "margin_gap_min"), second_optional=True),
        history_days=lambda cfg: cfg.signals.breadth_window,
        requires=(basket_requirement(lambda m, cfg: bk.ai_layer(m, cfg, "adopter"), "no securities tagged 'adopter' (ai_layer)"),
                  basket_requirement(lambda m, cfg: bk.ai_layer(m, cfg, "infrastructure"),
                                     "no securities tagged 'infrastructure' (ai_layer)")),
        chart=ChartSpec(
            "chart-ai", "C8 Down the AI stack: adopters vs infrastructure",
            "Three-month return of AI adopters minus AI infrastructure (shovel-sellers), and the adopters' operating-margin expansion relative to infrastructure's.",
            kind="dual_axis", series=(("adopters_minus_infra", "adopters minus infrastructure, 63d"), ("margin_gap", "operating-margin gap")),
            yaxis="relative return (63d)", right_title="margin gap", percent=True, right_percent=True),
    ),
    Claim(
        id="C9", text="Small-cap quality is at multi-year relative valuation lows",
        evidence=ev.c9, family=small_cap_valuation,
        headline="relative_pe", metric=lambda cfg: "small-cap quality P/E / large-cap P/E", orientation=-1, percent=False,
        rule=Band("low_percentile", "high_percentile", high_supports=False),
        history_days=lambda cfg: cfg.history.min_periods, requires=(fundamentals_requirement,),
        missing_value="no small-cap quality basket (no small universe or no eligible names)",
        percentile_window=lambda cfg: int(round(cfg.scorecard["C9"]["years"] * 252)),
        chart=ChartSpec(
            "chart-smallcap", "C9 Small-cap quality: relative valuation",
            "P/E of the top quartile of small/mid caps by earnings quality, relative to the large-cap index P/E.",
            series=(("relative_pe", "small-cap quality P/E / large-cap P/E"),), yaxis="relative P/E"),
        regime=RegimeComponent(("relative_pe",), transform="change"),
    ),
    Claim(
        id="C10", text="The passive-index shield works in reverse",
        evidence=ev.c10, family=crowding, headline="down_minus_up",
        metric=lambda cfg: f"top-{_k(cfg)} share of index losses minus share of gains, {cfg.signals.crowding_window}d",
        orientation=1,
        rule=Both(Condition("value", ">", "down_minus_up_min"), Condition("topk_down_share", ">", against="topk_weight")),
        history_days=lambda cfg: cfg.signals.crowding_window,
        chart=ChartSpec(
            "chart-crowding", "C10 The passive shield in reverse: who drives the index down and up",
            "Share of the index's down-day (and up-day) moves explained by the top-k over three months: above their weight on the way down means crowding works in reverse.",
            series=(("topk_down_share", "top-k share of index losses"), ("topk_up_share", "top-k share of index gains")),
            yaxis="share", percent=True),
    ),
)}

#: Claim id -> the claim in words.
CLAIMS: dict[str, str] = {cid: c.text for cid, c in REGISTRY.items()}


def get(claim_id: str) -> Claim:
    """The registered claim ``claim_id``; a KeyError names the known ids."""
    try:
        return REGISTRY[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim {claim_id!r} (known: {', '.join(REGISTRY)})") from None


def _rule_words(c: Claim, cfg: Config) -> str:
    r = c.rule
    if isinstance(r, Band):
        hi, lo = (">=", "<=") if r.high_supports else ("<=", ">=")
        return (f"supported: `percentile` {hi} `{r.supported}`; not supported: `percentile` {lo} "
                f"`{r.not_supported}`; else mixed")

    def words(t: Condition) -> str:
        ref = f"`{t.threshold}`" if t.threshold else f"`{col_name(t.against, cfg)}`"
        return f"`{col_name(t.quantity, cfg)}` {t.op} {ref}"

    opt = " (second unknown: mixed if the first passes, else not supported)" if r.second_optional else ""
    return f"both of {words(r.first)} and {words(r.second)}: supported; neither: not supported; one: mixed{opt}"


def claims_markdown(cfg: Config) -> str:
    """The registry as a markdown table (``docs/claims.md`` is this text; a test keeps them equal)."""
    lines = [
        "# The claims (generated from `broadening.signals.claims.REGISTRY`; do not edit by hand)",
        "",
        "| id | claim | headline metric | orientation | verdict rule (thresholds in `[scorecard.<id>]`) | regime weight |",
        "|---|---|---|---|---|---|",
    ]
    for c in REGISTRY.values():
        w = cfg.regime.weights.get(c.id, 0.0) if c.regime else None
        lines.append(f"| {c.id} | {c.text} | {c.metric(cfg)} (`{c.headline_column(cfg)}`) | "
                     f"{'higher supports' if c.orientation > 0 else 'lower supports'} | {_rule_words(c, cfg)} | "  # pragma: no mutate (equivalent >= 0: orientation is +1 or -1)
                     f"{'-' if w is None else f'{w:g}'} |")
    return "\n".join(lines) + "\n"
