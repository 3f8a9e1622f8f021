"""Baskets: point-in-time boolean masks over the whole ``(T, N)`` panel (zipline-Pipeline-like).

Every basket is a function of a :class:`~broadening.market.Market` and a
:class:`~broadening.config.Config` returning a read-only bool array of shape ``(T, N)``
(dates x securities): ``mask[t, i]`` is True when security ``i`` belongs to the basket on
date ``t`` using only information available at the close of ``t``. Masks are cached on
the market (keyed by the config), so one compute call builds each basket once.

To turn a mask into a return series without look-ahead, :func:`basket_returns` (in
:mod:`broadening.aggregate`, re-exported here) weights the return of day ``t`` with the mask
(and market caps) of day ``t - 1``.

Missing data never puts a name in a basket: a security without fundamentals is neither
quality nor junk. A security without a domestic-revenue share is judged by the sector and
industry rules alone under the default ``missing_domestic_share = "include"`` (live pulls
carry no such share), or left out with ``"exclude"``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from broadening.aggregate import basket_returns, basket_weights, masked_row_sums
from broadening.config import Config, load_config
from broadening.market import Market
from broadening.panel import (
    block_columns,
    block_copies,
    block_copy,
    block_width,
    row_blocks,
)

__all__ = [
    "index_members",
    "large_universe",
    "small_universe",
    "basket_universe",
    "megacaps",
    "megacap_tech",
    "domestic_cyclicals",
    "quality",
    "junk",
    "quality_domestic_cyclicals",
    "junk_domestic_cyclicals",
    "ai_layer",
    "ai_layers",
    "small_cap_quality",
    "bdcs",
    "basket_weights",
    "basket_returns",
    "masked_row_sums",
    "topk_mask",
    "row_percentile",
    "reconstitution_rows",
    "lagged",
]


@lru_cache(maxsize=1)
def _default_config() -> Config:
    return load_config()


def config_or_default(cfg: Config | None) -> Config:
    """The given classification config, or the shipped default (read once)."""
    return cfg if cfg is not None else _default_config()


def cached_panel(market: Market, key: tuple, build: Callable[[], np.ndarray]) -> np.ndarray:
    """``build()`` once per market and key (``Market.memo``); arrays come back read-only."""
    def frozen():
        out = build()
        if isinstance(out, np.ndarray):
            out.setflags(write=False)
        return out

    return market.memo(key, frozen)


def _static(market: Market, column: np.ndarray) -> np.ndarray:
    """Spread a per-security bool ``(S,)`` over the ``(T, N)`` cells, restricted to alive names."""
    return market.alive & market.cell(column)


def _lower(values) -> np.ndarray:
    """Lower-cased, stripped strings of a metadata column ('' for missing)."""
    return np.array([v.strip().lower() if isinstance(v, str) else "" for v in values], dtype=object)


def lagged(panel: np.ndarray, lag: int) -> np.ndarray:
    """``panel`` shifted down ``lag`` rows (row ``t`` holds row ``t - lag``); NaN/False on top."""
    out = np.zeros_like(panel) if panel.dtype == bool else np.full_like(panel, np.nan, dtype="float64")
    if lag < panel.shape[0]:
        out[lag:] = panel[: panel.shape[0] - lag]
    return out


# -- universes ----------------------------------------------------------------------------
def index_members(market: Market, cfg: Config | None = None, *, index_id: str | None = None) -> np.ndarray:
    """Membership mask of an index (default: the configured large index).

    When no membership is stored at all, every alive security counts (a user's own data
    without a membership table); a large index missing from stored membership is an error.

    Returns
    -------
    ndarray of bool, shape (T, N)
    """
    cfg = config_or_default(cfg)
    index_id = index_id or cfg.universe.large_index
    if market.has_index(index_id):
        return market.members(index_id)
    if index_id == cfg.universe.large_index:
        cfg.check_large_index(market.membership["index_id"])  # a typo must not widen the universe to all
        return market.alive
    return np.zeros(market.shape, dtype=bool)


def large_universe(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Members of the large index, ``(T, N)`` bool (alias of :func:`index_members`)."""
    return index_members(market, cfg)


def small_universe(market: Market, cfg: Config | None = None) -> np.ndarray:
    """The small/mid universe, ``(T, N)`` bool.

    Members of ``universe.small_index`` when it is stored; otherwise every alive security
    not in the large index that day.
    """
    cfg = config_or_default(cfg)
    key = ("basket", "small", cfg.fingerprint)

    def build() -> np.ndarray:
        if market.has_index(cfg.universe.small_index):
            return market.members(cfg.universe.small_index)
        return market.alive & ~index_members(market, cfg)

    return cached_panel(market, key, build)


def basket_universe(market: Market, cfg: Config | None = None) -> np.ndarray:
    """The universe thematic baskets draw from (``universe.basket_universe``), ``(T, N)`` bool."""
    cfg = config_or_default(cfg)
    which = cfg.universe.basket_universe
    if which == "large":
        return index_members(market, cfg)
    if which == "small":
        return small_universe(market, cfg)
    if not market.has_index(cfg.universe.small_index):
        return market.alive  # the large index plus every other alive name: all alive names
    return cached_panel(market, ("basket", "universe", cfg.fingerprint),
                   lambda: index_members(market, cfg) | small_universe(market, cfg))


# -- mega-caps ----------------------------------------------------------------------------
def topk_mask(values: np.ndarray, eligible: np.ndarray, k: int) -> np.ndarray:
    """Per row, the ``k`` largest finite ``values`` among ``eligible`` cells.

    Ties at the k-th value are all included (so the result never depends on column
    order); rows with fewer than ``k`` eligible cells select all of them.

    Parameters
    ----------
    values : ndarray, shape (T, N)
    eligible : ndarray of bool, shape (T, N)
    k : int

    Returns
    -------
    ndarray of bool, shape (T, N)
    """
    T, N = eligible.shape
    out = np.zeros((T, N), dtype=bool)
    cols = block_columns(eligible.any(axis=0))  # only ever-eligible columns can be picked
    n = block_width(cols, N)
    for rows in row_blocks(0, T, n):
        v = block_copy(values, rows, cols)
        ok = eligible[rows, cols] & np.isfinite(v)
        if k < n:
            v[~ok] = -np.inf
            kth = np.partition(v, n - k, axis=1)[:, n - k]
            ok &= v >= kth[:, None]
        out[rows, cols] = ok
    return out


def megacaps(market: Market, cfg: Config | None = None, k: int | None = None) -> np.ndarray:
    """Top-``k`` large-index members by market cap each day, ``(T, N)`` bool.

    Parameters
    ----------
    k : int, optional
        Defaults to ``cfg.universe.k`` (10).
    """
    cfg = config_or_default(cfg)
    k = int(k or cfg.universe.k)
    return cached_panel(market, ("basket", "megacaps", k, cfg.fingerprint),
                   lambda: topk_mask(market.market_cap, index_members(market, cfg), k))


def _sector_mask(market: Market, sectors) -> np.ndarray:
    wanted = {s.strip().lower() for s in sectors}
    return np.isin(_lower(market.securities["sector"].to_numpy()), list(wanted)) if wanted else np.zeros(len(market.securities), bool)


def megacap_tech(market: Market, cfg: Config | None = None, k: int | None = None) -> np.ndarray:
    """Top-``k`` names in the ``megacap_tech.sectors`` (all top-k if the list is empty), ``(T, N)`` bool."""
    cfg = config_or_default(cfg)
    top = megacaps(market, cfg, k)
    if not cfg.megacap_tech.sectors:
        return top
    return cached_panel(market, ("basket", "megacap_tech", k, cfg.fingerprint),
                   lambda: top & market.cell(_sector_mask(market, cfg.megacap_tech.sectors)))


# -- thematic baskets ---------------------------------------------------------------------
def domestic_cyclicals(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Domestic cyclicals in the basket universe, ``(T, N)`` bool.

    A security qualifies when its sector is in ``domestic_cyclicals.sectors`` or its
    industry contains one of ``industry_keywords``, and its domestic revenue share is at
    least ``domestic_revenue_min``.
    """
    cfg = config_or_default(cfg)
    dc = cfg.domestic_cyclicals

    def build() -> np.ndarray:
        sec = market.securities
        industry = _lower(sec["industry"].to_numpy()) if "industry" in sec else np.full(len(sec), "", object)
        by_industry = np.zeros(len(sec), dtype=bool)
        for kw in dc.industry_keywords:
            kw = kw.strip().lower()
            if kw:
                by_industry |= np.array([kw in s for s in industry], dtype=bool)
        theme = _sector_mask(market, dc.sectors) | by_industry
        share = sec["domestic_revenue_share"].to_numpy(dtype="float64") if "domestic_revenue_share" in sec else np.full(len(sec), np.nan)
        with np.errstate(invalid="ignore"):
            domestic = share >= dc.domestic_revenue_min
        if dc.missing_domestic_share == "include":
            domestic |= np.isnan(share)
        return basket_universe(market, cfg) & market.cell(theme & domestic)

    return cached_panel(market, ("basket", "domestic_cyclicals", cfg.fingerprint), build)


def _fundamental_flags(market: Market, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """The quality and junk flags of the basket universe, ``(T, N)`` bool each.

    One pass over row blocks of the universe's columns: TTM net income, book equity and
    total debt are gathered per block from the market's step panels, so no whole float
    panel (nor ROE and debt/equity panels) is ever built.
    """
    q = cfg.quality

    def build():
        uni = basket_universe(market, cfg)
        ni_s = market.fundamental_steps("net_income", ttm=True)
        be_s = market.fundamental_steps("book_equity")
        debt_s = market.fundamental_steps("total_debt")
        T, N = uni.shape
        good = np.zeros((T, N), dtype=bool)
        bad = np.zeros((T, N), dtype=bool)
        cols = block_columns(uni.any(axis=0))
        for rows in row_blocks(0, T, block_width(cols, N)):
            ni, be, debt = block_copies((ni_s, be_s, debt_s), rows, cols)
            with np.errstate(invalid="ignore", divide="ignore"):
                pos = be > 0  # ROE and debt/equity only mean something with positive equity
                roe = ni / be
                de = debt / be  # a missing debt figure stays unknown (NaN), never zero debt
                ok = pos & (roe >= q.min_roe) & (de <= q.max_debt_to_equity)
                if q.profitable_ttm:
                    ok &= ni > 0
                junk = (ni <= 0) | (be <= 0) | (pos & (de > q.junk_debt_to_equity))
            in_uni = uni[rows, cols]
            good[rows, cols] = ok & in_uni
            bad[rows, cols] = junk & in_uni
        good.setflags(write=False)
        bad.setflags(write=False)
        return good, bad

    return cached_panel(market, ("basket", "fundamental_flags", cfg.fingerprint), build)


def quality(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Quality names of the basket universe, ``(T, N)`` bool.

    Profitable TTM (if ``quality.profitable_ttm``), ROE >= ``min_roe`` and debt/equity <=
    ``max_debt_to_equity`` with positive book equity, all point-in-time. A missing debt
    figure is unknown, not zero: such a name is not quality (its leverage cannot be checked).
    """
    return _fundamental_flags(market, config_or_default(cfg))[0]


def junk(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Junk names of the basket universe, ``(T, N)`` bool.

    Unprofitable TTM, or non-positive book equity, or debt/equity above
    ``junk_debt_to_equity``. Names without fundamentals are not junk (unknown).
    """
    return _fundamental_flags(market, config_or_default(cfg))[1]


def quality_domestic_cyclicals(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Domestic cyclicals that pass the quality rules, ``(T, N)`` bool."""
    cfg = config_or_default(cfg)
    return cached_panel(market, ("basket", "qdc", cfg.fingerprint),
                   lambda: domestic_cyclicals(market, cfg) & quality(market, cfg))


def junk_domestic_cyclicals(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Domestic cyclicals that are junk, ``(T, N)`` bool."""
    cfg = config_or_default(cfg)
    return cached_panel(market, ("basket", "jdc", cfg.fingerprint),
                   lambda: domestic_cyclicals(market, cfg) & junk(market, cfg))


def ai_layers(market: Market, cfg: Config | None = None) -> np.ndarray:
    """The AI-stack layer of each security, ``(S,)`` of str (``"none"`` when untagged; rows of ``securities``).

    Precedence: ``ai_layer.tickers`` override, then the stored ``securities.ai_layer``
    tag, then ``ai_layer.industries`` for untagged securities.
    """
    cfg = config_or_default(cfg)

    def build() -> np.ndarray:
        sec = market.securities
        n = len(sec)
        stored = sec["ai_layer"].to_numpy() if "ai_layer" in sec else np.full(n, None, object)
        industry = _lower(sec["industry"].to_numpy()) if "industry" in sec else np.full(n, "", object)
        tickers = sec["ticker"].to_numpy() if "ticker" in sec else np.full(n, None, object)
        by_industry = {k.strip().lower(): v for k, v in cfg.ai_layer.industries.items()}
        out = np.empty(n, dtype=object)
        for i in range(n):  # metadata only (N strings), not the panel
            t = tickers[i]
            if isinstance(t, str) and t in cfg.ai_layer.tickers:
                out[i] = cfg.ai_layer.tickers[t]
            elif isinstance(stored[i], str) and stored[i]:
                out[i] = stored[i]
            else:
                out[i] = by_industry.get(industry[i], "none")
        return out.astype(str)

    return cached_panel(market, ("basket", "ai_layers", cfg.fingerprint), build)


def ai_layer(market: Market, cfg: Config | None = None, layer: str = "adopter") -> np.ndarray:
    """Securities of one AI-stack layer in the basket universe, ``(T, N)`` bool.

    Parameters
    ----------
    layer : {"infrastructure", "platform", "adopter", "none"}
    """
    cfg = config_or_default(cfg)
    if layer not in ("infrastructure", "platform", "adopter", "none"):
        raise ValueError(f"layer: expected infrastructure, platform, adopter or none, got {layer!r}")
    return cached_panel(market, ("basket", "ai", layer, cfg.fingerprint),
                   lambda: basket_universe(market, cfg) & market.cell(ai_layers(market, cfg) == layer))


def row_percentile(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Cross-sectional percentile rank in [0, 1] of ``values`` among ``valid`` cells per row.

    Ties get their average rank (so the result never depends on column order); a row
    with one valid cell gets 1.0; invalid cells are NaN.

    Parameters
    ----------
    values : ndarray, shape (T, N)
    valid : ndarray of bool, shape (T, N)

    Returns
    -------
    ndarray, shape (T, N)
    """
    ok = valid & np.isfinite(values)
    T, N = ok.shape
    out = np.full((T, N), np.nan)
    counts = ok.sum(axis=1)
    if not counts.any():
        return out
    # sort each row (invalid cells last), then work on the valid cells only: cheap when few
    # are valid, as in a basket reconstituted from a small eligible set
    x = np.where(ok, values, np.inf)
    order = np.argsort(x, axis=1)  # order within ties is irrelevant: ties share their average rank
    sel = np.arange(N)[None, :] < counts[:, None]
    vs = np.take_along_axis(x, order, axis=1)[sel]
    cs = order[sel]
    rs = np.repeat(np.arange(T), counts)
    E = vs.shape[0]
    row_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    new = np.ones(E, dtype=bool)
    new[1:] = (vs[1:] != vs[:-1]) | (rs[1:] != rs[:-1])
    first = np.flatnonzero(new)  # where each run of ties starts
    last = np.append(first[1:], E) - 1
    run = np.cumsum(new) - 1
    rank = (first[run] + last[run]) / 2.0 - row_start[rs]  # average zero-based rank in the row
    n = counts[rs].astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(n > 1, rank / (n - 1.0), 1.0)
    out[rs, cs] = pct
    return out


def reconstitution_rows(dates: np.ndarray, how: str) -> np.ndarray:
    """Rows where a periodically rebuilt basket is reconstituted, ``(R,)`` int.

    ``"daily"``: every row; ``"monthly"``: the first trading date of each month (known on
    that date, so no look-ahead).
    """
    if how == "daily":
        return np.arange(dates.shape[0])
    month = dates.astype("datetime64[M]")
    new = np.ones(dates.shape[0], dtype=bool)
    new[1:] = month[1:] != month[:-1]
    return np.flatnonzero(new)


def small_cap_quality(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Top ``small_cap_quality.top_fraction`` of the small universe by earnings quality, ``(T, N)`` bool.

    Earnings quality = mean cross-sectional percentile (among eligible names that day) of
    ROE, earnings yield (TTM net income / market cap) and TTM earnings growth over
    ``growth_lag_days`` (net income, so share splits cannot fake a collapse). Eligible: in the small universe with all three figures, profitable
    and growing if the config requires it. The basket is rebuilt on the
    ``small_cap_quality.reconstitute`` schedule (as of that day) and held in between,
    keeping only names still in the small universe.
    """
    cfg = config_or_default(cfg)
    c = cfg.small_cap_quality

    def build() -> np.ndarray:
        market.require_lookback(c.growth_lag_days, "small-cap quality (small_cap_quality.growth_lag_days)")
        small = small_universe(market, cfg)
        cols = np.flatnonzero(small.any(axis=0))
        rows = reconstitution_rows(market.dates, c.reconstitute)
        # TTM net income: growth immune to share splits (EPS is per as-reported share)
        ni = market.fundamental_steps("net_income", ttm=True)
        lag_rows = rows - c.growth_lag_days
        has_prev = lag_rows >= 0
        ix = np.ix_(rows, cols)
        e_now = ni[ix]
        be = market.fundamental_steps("book_equity")[ix]
        e_prev = np.where(has_prev[:, None], ni[np.ix_(np.maximum(lag_rows, 0), cols)], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            growth = (e_now - e_prev) / np.abs(e_prev)
            ey = e_now / market.market_cap[ix]
            r = np.where(be > 0, e_now / be, np.nan)
        eligible = small[ix] & np.isfinite(r) & np.isfinite(ey) & np.isfinite(growth)
        with np.errstate(invalid="ignore"):
            if c.require_profitable:
                eligible &= e_now > 0
            if c.require_positive_growth:
                eligible &= growth > 0
        score = (row_percentile(r, eligible) + row_percentile(ey, eligible) + row_percentile(growth, eligible)) / 3.0
        picked = eligible & (row_percentile(score, eligible) >= 1.0 - c.top_fraction - 1e-12)
        # hold each pick until the next reconstitution
        which = np.searchsorted(rows, np.arange(market.shape[0]), side="right") - 1
        out = np.zeros(market.shape, dtype=bool)
        for block in row_blocks(0, market.shape[0], cols.shape[0]):
            out[block, cols] = picked[which[block]] & small[block, cols]
        return out

    return cached_panel(market, ("basket", "scq", cfg.fingerprint), build)


def bdcs(market: Market, cfg: Config | None = None) -> np.ndarray:
    """Business development companies (``securities.is_bdc``) alive each day, ``(T, N)`` bool."""
    flag = market.securities["is_bdc"].fillna(False).to_numpy(dtype=bool) if "is_bdc" in market.securities else np.zeros(len(market.securities), bool)
    return cached_panel(market, ("basket", "bdcs"), lambda: _static(market, flag))


# -- from masks to returns ----------------------------------------------------------------
