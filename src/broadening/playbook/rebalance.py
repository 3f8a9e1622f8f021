"""The playbook applied to a real book: a trade list from the user's holdings.

:func:`rebalance` takes holdings (``ticker,shares`` or ``security_id,shares``) and cash,
values them at the as-of close, asks the playbook for its target weights on that date
(the turnover budget measured against *this* book, so the move from the user's
holdings obeys it), and returns one row per name with the trade to make.

Conventions (the backtest engine's, so the numbers match what a backtest would charge)
------------------------------------------------------------------------------------------
- **Prices.** Every holding is valued and traded at its raw close on the as-of date
  (the last trading date on or before ``asof``). A holding without a price that day
  (not yet listed, or delisted) is an error.
- **Weights.** ``current_weight = shares x close / NAV`` with ``NAV`` = holdings + cash.
  Target weights may sum to less than one; the rest is cash.
- **Costs.** :class:`~broadening.backtest.engine.CostModel` of the playbook config: name
  ``i`` pays ``c_i |trade_value_i|`` with ``c_i`` = fixed bps + size-dependent half-spread
  at the as-of market cap. As in the engine, costs are paid out of the book and the
  post-trade book holds exactly the target weights of its post-cost value ``V'``
  (``V' = V - sum_i c_i |w_i V' - h_i|``, solved by fixed-point iteration).
- **Round lots** (optional, ``round_lot = L`` shares): trades are whole multiples of
  ``L``; buys round down, sells round up (never below zero: selling a whole position
  may be an odd lot), and a name leaving the book is sold in full. So the book never spends cash it does not have, and every final
  position is within one lot of its exact target. Without lots, shares are fractional
  and the post-trade weights equal the target weights exactly.
- **Turnover** is one-way, ``0.5 sum_i |trade_value_i| / V`` (pre-trade ``V``).
- **Risk.** Ex-ante tracking error against cap weight (the index members' cap weights on
  the date) uses the playbook's own factor covariance (:func:`~broadening.playbook.algos.factor_covariance`
  of the last ``constraints.te_lookback`` days, shrunk by ``constraints.te_shrinkage``);
  active share is ``0.5 sum_i |w_i - w_b,i|``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening.backtest.costs import post_cost_value
from broadening.errors import BroadeningError, DataValidationError
from broadening.playbook.algos import HELD_SLEEVE, BasketFn, TrackingErrorBudget, factor_covariance
from broadening.playbook.config import PlaybookConfig, investable_count, load_playbook_config
from broadening.playbook.strategies import default_baskets
from broadening.playbook.targets import playbook_targets

if TYPE_CHECKING:
    from broadening.config import Config
    from broadening.market import Market

CURRENT_SLEEVE = HELD_SLEEVE  # weight the turnover budget leaves where the user's book had it
NO_SLEEVE = "none"  # a name the book holds and the playbook does not
TE_FACTORS = 20
TRADE_COLUMNS = (
    "ticker", "security_id", "sector", "sleeve", "price", "current_shares", "current_value", "current_weight",
    "target_weight", "target_shares", "trade_shares", "trade_value", "est_cost", "final_shares", "final_weight",
    "benchmark_weight",
)


@dataclass
class TradeList:
    """What to trade to move a book to the playbook.

    Attributes
    ----------
    trades : DataFrame
        One row per name held now or wanted by the playbook, columns :data:`TRADE_COLUMNS`:
        ``current_*`` before the trade (weights of the pre-trade NAV), ``target_weight`` of
        the post-cost NAV, ``trade_shares`` / ``trade_value`` (positive = buy),
        ``est_cost`` (currency), ``final_*`` after the trade and ``benchmark_weight``
        (cap weight). Sorted by target weight, then current weight.
    totals : dict
        ``asof, nav, nav_after, cash_before, cash_after, turnover, est_cost, est_cost_bps,
        tracking_error_before, tracking_error_after, active_share_before, active_share_after,
        sector_weights_before, sector_weights_after, sector_weights_benchmark, names_before,
        names_after, buys, sells, round_lot, turnover_budget``.
    notes : list of str
        Fallbacks and warnings (playbook notes, a binding turnover budget, constraints the
        budget left broken).
    """

    trades: pd.DataFrame
    totals: dict[str, object]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """``{"totals": {...}, "trades": [{column: value}, ...], "notes": [...]}``."""
        return {
            "totals": dict(self.totals),
            "trades": self.trades.to_dict(orient="records"),
            "notes": list(self.notes),
        }


# -- holdings --------------------------------------------------------------------------------
def read_holdings(path: str | Path) -> pd.DataFrame:
    """Read a holdings file (CSV, or Parquet by extension ``.parquet``/``.pq``).

    Columns, case-insensitive: ``ticker`` or ``security_id``, and ``shares``; others are
    ignored. Returns the validated frame (see :func:`check_holdings`).

    Raises
    ------
    DataValidationError
        Unreadable file, missing columns, duplicate names, negative or missing shares.
    """
    p = Path(path)
    if not p.is_file():
        raise DataValidationError(str(p), None, "a holdings file (CSV or Parquet); no such file")
    parquet = p.suffix.lower() in (".parquet", ".pq")
    try:
        frame = pd.read_parquet(p) if parquet else pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file, said once
        kind = "Parquet" if parquet else "CSV"
        raise DataValidationError(str(p), None, f"a readable {kind} file with columns ticker,shares ({exc})") from None
    return check_holdings(frame, source=str(p), first_row=1 if parquet else 2)


def check_holdings(frame: pd.DataFrame, source: str = "<holdings>", first_row: int = 1) -> pd.DataFrame:
    """Validate holdings; returns columns ``key`` (ticker or id), ``by``, ``shares`` and ``row``.

    The result remembers ``source`` (in ``attrs``), so later errors still name the file.

    Parameters
    ----------
    frame : DataFrame
        ``ticker`` or ``security_id`` column (``security_id`` wins if both), ``shares``.
    source : str
        Named in errors.
    first_row : int
        Row number a user sees for the first data row (2 for a CSV with a header line).
    """
    cols = {str(c).strip().lower(): c for c in frame.columns}
    by = "security_id" if "security_id" in cols else "ticker" if "ticker" in cols else None
    if by is None or "shares" not in cols:
        raise DataValidationError(source, None, "columns 'ticker,shares' (or 'security_id,shares')",
                                  got=[", ".join(map(str, frame.columns)) or "no columns"])
    keys = frame[cols[by]].astype(str).str.strip().to_numpy(dtype=object)
    rows = np.arange(len(frame)) + first_row
    blank = np.flatnonzero((keys == "") | (keys == "nan") | (keys == "None"))
    if len(blank):
        raise DataValidationError(source, by, f"a {by} on every row", rows=rows[blank].tolist())
    raw = frame[cols["shares"]]
    shares = pd.to_numeric(raw.astype(str).str.replace(",", "", regex=False).str.strip() if raw.dtype == object else raw,
                           errors="coerce").to_numpy(dtype="float64")
    bad = np.flatnonzero(~np.isfinite(shares) | (shares < 0))
    if len(bad):
        raise DataValidationError(source, "shares", "a number of shares >= 0", rows=rows[bad].tolist(),
                                  got=[raw.iloc[i] for i in bad])
    norm = np.array([k.upper() for k in keys], dtype=object) if by == "ticker" else keys
    dup = pd.Series(norm).duplicated(keep=False).to_numpy()
    if dup.any():
        idx = np.flatnonzero(dup)
        raise DataValidationError(source, by, f"each {by} once (one row per holding)", rows=rows[idx].tolist(),
                                  got=[keys[i] for i in idx])
    out = pd.DataFrame({"key": keys, "by": by, "shares": shares, "row": rows})
    out.attrs["source"] = source
    return out


def _resolve(market: Market, holdings: pd.DataFrame, t: int, source: str) -> np.ndarray:
    """Column of every holding on row ``t`` (errors name the row)."""
    asof = pd.Timestamp(market.dates[t]).date()
    by = holdings["by"].iloc[0] if len(holdings) else "ticker"
    keys = holdings["key"].to_numpy(dtype=object)
    rows = holdings["row"].to_numpy()
    # per security (row of ``securities``): trading on the date
    occ = market.occupants_at(t)
    alive = np.zeros(len(market.securities), dtype=bool)
    alive[occ[market.alive[t] & (occ >= 0)]] = True
    if by == "security_id":
        pos, ok = market.security_rows(keys)
    else:
        sec = market.securities
        tick = (sec["ticker"] if "ticker" in sec else pd.Series(market.security_ids, index=sec.index)).astype(str).str.upper().to_numpy()
        # a reused ticker: the security trading on the date, else the latest one to trade
        order = np.lexsort((market.last_index, alive))
        table = dict(zip(tick[order], order, strict=True))
        pos = np.array([table.get(str(k).upper(), -1) for k in keys], dtype=np.int64)
        ok = pos >= 0
        live_count = pd.Series(tick[alive]).value_counts()
        amb = [i for i, k in enumerate(keys) if ok[i] and live_count.get(str(k).upper(), 0) > 1]
        if amb:
            raise DataValidationError(source, "ticker", f"a ticker naming one security trading on {asof} "
                                      "(several do: give security_id instead)", rows=rows[amb].tolist(),
                                      got=[keys[i] for i in amb])
    unknown = np.flatnonzero(~ok)
    if len(unknown):
        raise DataValidationError(source, by, f"a {by} the warehouse knows as of {asof}",
                                  rows=rows[unknown].tolist(), got=[keys[i] for i in unknown])
    pos = pos.astype(np.int64)
    no_price = np.flatnonzero(~alive[pos] & (holdings["shares"].to_numpy() > 0))
    if len(no_price):
        raise DataValidationError(source, by, f"a holding with a price on the as-of date {asof} "
                                  "(not listed yet, or delisted)", rows=rows[no_price].tolist(),
                                  got=[keys[i] for i in no_price])
    return market.columns[pos]


# -- the playbook's targets -----------------------------------------------------------------------
def _playbook_targets(
    market: Market,
    cfg: PlaybookConfig,
    regime_score: pd.Series | None,
    current: np.ndarray,
    baskets: Mapping[str, BasketFn],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The playbook's target weights on the market's last date, the turnover budget measured from ``current``.

    Returns (weights (N,), the sleeve holding most of each name (N,), notes).
    """
    t = len(market.dates) - 1
    _check_feasible(market, cfg, t, baskets)
    held = current > 0
    ids = market.ids_at(t)  # the security in each column on the date
    book = pd.Series(current[held], index=ids[held]) if held.any() else None
    weights, sleeves = playbook_targets(market, cfg, regime_score=regime_score, current_weights=book, baskets=baskets)
    pos = pd.Index(ids).get_indexer(weights.index)
    w = np.zeros(len(ids))
    w[pos] = weights.to_numpy()
    dominant = np.full(len(ids), NO_SLEEVE, dtype=object)
    dominant[pos] = sleeves.to_numpy()
    notes = []
    if cfg.trim.regime_scaling and regime_score is None:
        notes.append("no regime score given, the trim was not scaled by regime")
    budget = cfg.constraints.turnover_budget
    if book is not None and budget > 0 and 0.5 * float(np.abs(w - current).sum()) >= budget * (1 - 1e-9):
        notes.append(f"turnover budget {budget:.1%} binds: the book moves only part of the way to the playbook "
                     f"(sleeve '{CURRENT_SLEEVE}' is weight kept from the book)")
    return w, dominant, notes


def _check_feasible(market: Market, cfg: PlaybookConfig, t: int, baskets: Mapping[str, BasketFn]) -> None:
    index = cfg.portfolio.index
    masks = [market.members(index) if market.has_index(index) else market.alive]
    for name, fn in baskets.items():
        if cfg.sleeves.shares().get(name, 0.0) <= 0:
            continue
        try:
            masks.append(np.asarray(fn(market), dtype=bool) & market.alive)
        except (BroadeningError, KeyError, ValueError):
            continue  # an unavailable sleeve is empty; the playbook notes it
    cfg.check_market(market, investable_count(market, masks, np.array([t])))


# -- the trade list -------------------------------------------------------------------------------
def _round_trades(current: np.ndarray, target: np.ndarray, lot: int) -> np.ndarray:
    """Trades in whole lots: buys round down, sells round up (capped at the position), exits in full."""
    d = target - current
    eps = 1e-9
    trade = np.where(d > 0, np.floor(d / lot + eps) * lot, -np.minimum(np.ceil(-d / lot - eps) * lot, current))
    return np.where(target <= 0, -current, trade)


def _sector_weights(w: np.ndarray, sectors: np.ndarray) -> dict[str, float]:
    s = pd.Series(w).groupby(sectors).sum()
    return {str(k): float(v) for k, v in s.items() if v != 0}


def rebalance(
    market: Market,
    holdings: pd.DataFrame | str | Path,
    cfg: PlaybookConfig | str | Path | None = None,
    asof: str | pd.Timestamp | None = None,
    cash: float = 0.0,
    round_lot: int | None = None,
    regime_score: pd.Series | None = None,
    *,
    baskets: Mapping[str, BasketFn] | None = None,
    basket_config: Config | None = None,
) -> TradeList:
    """The trade list that moves ``holdings`` (plus ``cash``) to the playbook on ``asof``.

    Parameters
    ----------
    market : Market
    holdings : DataFrame or path
        ``ticker,shares`` or ``security_id,shares`` (a path is read by :func:`read_holdings`).
    cfg : PlaybookConfig, path or None
        The playbook (defaults when None).
    asof : date, optional
        Trade at the close of the last trading date on or before it (default: the last
        date of ``market``). The market is cut there first: nothing later is seen.
    cash : float, default 0
        Cash in the book, in the price currency.
    round_lot : int, optional
        Trade in whole multiples of this many shares (see the module docstring).
    regime_score : Series, optional
        Diffusion score by date, to scale the trim when ``trim.regime_scaling`` is on.
    baskets : mapping, optional
        Sleeve eligibility functions (default: the shipped baskets).
    basket_config : broadening.config.Config, optional
        Classification configuration of the default baskets.

    Returns
    -------
    TradeList

    Raises
    ------
    DataValidationError
        A holding the market does not know, one without a price on the date, a duplicate,
        negative or missing shares, an unreadable file.
    BroadeningError
        Negative cash, a book worth nothing, a bad round lot, an impossible config.
    """
    if isinstance(cfg, PlaybookConfig):
        pcfg = cfg
    else:
        pcfg = load_playbook_config(cfg)
    if not np.isfinite(cash) or cash < 0:
        raise BroadeningError(f"cash: expected an amount >= 0, got {cash}")
    if round_lot is not None and (int(round_lot) != round_lot or round_lot < 1):
        raise BroadeningError(f"round lot: expected a whole number of shares >= 1, got {round_lot}")
    if isinstance(holdings, str | Path):
        source = str(holdings)
        frame = read_holdings(holdings)
    elif {"key", "by", "shares", "row"} <= set(holdings.columns):  # already checked
        frame = holdings
        source = str(holdings.attrs.get("source", "<holdings>"))
    else:
        source = "<holdings>"
        frame = check_holdings(holdings, source)
    if asof is not None:
        market = market.until(asof)
    t = len(market.dates) - 1
    pos = _resolve(market, frame, t, source)

    N = len(market.ids)
    price = market.close[t]
    shares = np.zeros(N)
    shares[pos] = frame["shares"].to_numpy(dtype="float64")
    held = shares > 0
    value = np.where(held, shares * np.nan_to_num(price), 0.0)
    V = float(value.sum()) + float(cash)
    if not V > 0:
        raise BroadeningError("holdings: the book is worth nothing on the as-of date (give holdings or cash)")
    current = value / V

    basket_fns = dict(baskets) if baskets is not None else default_baskets(basket_config)
    w, sleeve_of, notes = _playbook_targets(market, pcfg, regime_score, current, basket_fns)

    rates = pcfg.cost_model().rates(market.market_cap[t])
    c = np.broadcast_to(np.asarray(rates, dtype="float64"), (N,))
    live = np.flatnonzero((w != 0) | (value != 0))
    Vp = post_cost_value(V, w[live], value[live], c[live]) if not pcfg.cost_model().is_zero else V
    target_value = w * Vp
    with np.errstate(invalid="ignore", divide="ignore"):
        target_shares = np.where(w > 0, target_value / price, 0.0)
    if round_lot:
        trade_shares = _round_trades(shares, target_shares, int(round_lot))
        trade_value = trade_shares * np.nan_to_num(price)
        final_shares = shares + trade_shares
        final_value = final_shares * np.nan_to_num(price)
    else:
        trade_value = target_value - value
        with np.errstate(invalid="ignore", divide="ignore"):
            trade_shares = np.where(trade_value != 0, trade_value / price, 0.0)
        final_shares = np.where(w > 0, target_shares, 0.0)
        final_value = target_value
    est_cost = c * np.abs(trade_value)
    total_cost = float(est_cost.sum())
    cash_after = float(cash) - float(trade_value.sum()) - total_cost
    if abs(cash_after) <= 1e-9 * V:
        cash_after = 0.0
    nav_after = float(final_value.sum()) + cash_after
    final_w = final_value / nav_after

    wb = _benchmark(market, pcfg, t)
    at = market.occupants_at(t)  # per column, its security on the date (-1: an empty lane)
    sec = market.securities
    sectors = np.append(sec["sector"].fillna("Unknown").astype(str).to_numpy(), "Unknown")[at]
    te_before, te_after, te_note = _tracking_errors(market, pcfg, t, current, final_w, wb, w)
    if te_note:
        notes.append(te_note)
    notes += _constraint_breaks(pcfg, final_w, sectors)
    if round_lot:
        short = int(((w > 0) & (final_shares == 0)).sum())
        if short:
            notes.append(f"round lots of {int(round_lot)}: {short} target(s) smaller than one lot were not bought; "
                         f"cash after the trade is {cash_after / nav_after:.1%} of the book")

    rows = np.flatnonzero(held | (w > 0) | (final_value > 0))
    dominant = sleeve_of[rows]
    tickers = np.append(sec["ticker"].astype(str).to_numpy() if "ticker" in sec else market.security_ids, "")[at]
    trades = pd.DataFrame({
        "ticker": tickers[rows], "security_id": market.ids_at(t)[rows], "sector": sectors[rows],
        "sleeve": dominant, "price": price[rows], "current_shares": shares[rows], "current_value": value[rows],
        "current_weight": current[rows], "target_weight": w[rows], "target_shares": target_shares[rows],
        "trade_shares": trade_shares[rows], "trade_value": trade_value[rows], "est_cost": est_cost[rows],
        "final_shares": final_shares[rows], "final_weight": final_w[rows], "benchmark_weight": wb[rows],
    }, columns=list(TRADE_COLUMNS))
    trades = trades.sort_values(["target_weight", "current_weight", "ticker"], ascending=[False, False, True],
                                kind="stable").reset_index(drop=True)
    totals: dict[str, object] = {
        "asof": str(pd.Timestamp(market.dates[t]).date()),
        "nav": V,
        "nav_after": nav_after,
        "cash_before": float(cash),
        "cash_after": cash_after,
        "turnover": 0.5 * float(np.abs(trade_value).sum()) / V,
        "est_cost": total_cost,
        "est_cost_bps": total_cost / V * 1e4,
        "tracking_error_before": te_before,
        "tracking_error_after": te_after,
        "active_share_before": 0.5 * float(np.abs(current - wb).sum()),
        "active_share_after": 0.5 * float(np.abs(final_w - wb).sum()),
        "sector_weights_before": _sector_weights(current, sectors),
        "sector_weights_after": _sector_weights(final_w, sectors),
        "sector_weights_benchmark": _sector_weights(wb, sectors),
        "names_before": int(held.sum()),
        "names_after": int((final_shares > 0).sum()),
        "buys": int((trade_shares > 0).sum()),
        "sells": int((trade_shares < 0).sum()),
        "round_lot": int(round_lot) if round_lot else None,
        "turnover_budget": pcfg.constraints.turnover_budget or None,
        "config": pcfg.source,
        "synthetic": bool(market.synthetic),
    }
    return TradeList(trades=trades, totals=totals, notes=notes)


def _benchmark(market: Market, cfg: PlaybookConfig, t: int) -> np.ndarray:
    """Cap weights of the index members on ``t`` (every listed name without stored membership)."""
    index = cfg.portfolio.index
    members = market.members(index)[t] if market.has_index(index) else market.alive[t]
    cap = market.market_cap[t]
    wb = np.where(members & np.isfinite(cap) & (cap > 0), cap, 0.0)
    return wb / wb.sum() if wb.sum() > 0 else wb


def _tracking_errors(market: Market, cfg: PlaybookConfig, t: int, before: np.ndarray, after: np.ndarray,
                     wb: np.ndarray, target: np.ndarray) -> tuple[float, float, str | None]:
    if t < 20:
        return float("nan"), float("nan"), "ex-ante tracking error not computed: less than 20 days of returns"
    # one universe for the factor model whatever the rounding: the book, the target and the benchmark
    U = np.flatnonzero((before != 0) | (after != 0) | (target != 0) | (wb != 0))
    k = cfg.constraints
    X = np.nan_to_num(market.returns[max(1, t - k.te_lookback + 1): t + 1][:, U])
    B, D = factor_covariance(X, k.te_shrinkage, TE_FACTORS)
    return (TrackingErrorBudget.te(before[U] - wb[U], B, D), TrackingErrorBudget.te(after[U] - wb[U], B, D), None)


def _constraint_breaks(cfg: PlaybookConfig, w: np.ndarray, sectors: np.ndarray) -> list[str]:
    """Constraints the post-trade book breaks (a binding turnover budget can leave some)."""
    k = cfg.constraints
    out = []
    over = int((w > k.max_weight * (1 + 1e-9) + 1e-12).sum())
    if over:
        out.append(f"after the trade {over} name(s) stay above max weight {k.max_weight:.1%} "
                   "(the turnover budget stops the book short of the target)")
    for s, (lo, hi) in k.sector_bounds.items():
        sw = float(w[sectors == s].sum())
        if sw > hi + 1e-9 or (0 < sw < lo - 1e-9):
            out.append(f"after the trade sector '{s}' weighs {sw:.1%}, outside its bounds [{lo:.1%}, {hi:.1%}]")
    return out


__all__ = ["TradeList", "TRADE_COLUMNS", "read_holdings", "check_holdings", "rebalance"]
