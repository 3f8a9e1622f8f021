"""``pull``: real data from every live source into the warehouse, in resumable batches.

This module sits above ``providers`` (which only turn a source into canonical tables and
never touch the warehouse) and the warehouse: it decides what to fetch, combines the
sources (share counts, split events), stores each batch and keeps the resume state.

Order of work
-------------
1. **Universe and membership.** The S&P 500 history (``index-constitution``, or the
   user's ``membership_file``) gives the tickers that were members on or after ``start``
   (optionally restricted to ``tickers``) plus, unless ``tickers`` is given, the listed
   BDCs (:data:`~broadening.providers.yahoo.KNOWN_BDCS`, the private-credit basket). One
   ingest stores a ``securities`` row per ticker and the membership intervals.
2. **Tickers in batches** of ``batch_size``: Yahoo (prices, shares, sector, industry) and
   SEC (quarterly fundamentals, shares) are fetched for the batch, then each source's
   tables are stored in **their own transaction** (so provenance says which source wrote
   which table, and whatever was stored survives an interruption). A ticker that fails is
   recorded with its reason; the others continue.
3. **Series**: FRED series and Ken French datasets, one ingest per source.

Shares come from SEC when ``sec`` is pulled and it has them for that ticker (cover-page
counts dated by filing), else from Yahoo. Securities rows are merged with what is stored,
so a later pull of one source never blanks fields another source filled.

Resuming
--------
Every stored item (ticker or series per source) is recorded in ``_pull_state`` right
after its batch commits, under a run key made of the pull's parameters. Running the same
pull again after an interruption skips the items already stored and retries the rest
(failed items too). A finished run is marked as such; the next identical pull starts
over (the HTTP cache then makes unchanged downloads free). A crash between a batch's
commit and its state record only means that batch is fetched and upserted again
(idempotent).

Prices start at ``start``; fundamentals and shares are kept from two years earlier so
trailing-twelve-month figures and the share count in force exist from ``start`` on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from broadening import live_store as store
from broadening.errors import BroadeningError
from broadening.live_store import RAW_COUNTS_TABLE, RUN_ITEM, SPLITS_TABLE, STATE_TABLE  # noqa: F401  (public names)
from broadening.providers.http import HttpClient, NotFoundError, ProviderError, SourceDownError
from broadening.providers.universe import (
    RANK_RANGE,
    SMALL_INDEX,
    common_stock_candidates,
    domestic_share_proxy,
    rank_membership,
)

SOURCES: tuple[str, ...] = ("yahoo", "sec", "fred", "french")
UNIVERSES: tuple[str, ...] = ("sp500", "smallcap", "tickers")
DEFAULT_START = "2010-01-01"

Progress = Callable[[str, int, int], None]


@dataclass
class SourceSummary:
    """What one source did in a pull."""

    source: str
    rows: dict[str, int] = field(default_factory=dict)
    ok: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)
    gaps: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source, "rows": dict(self.rows), "ok": len(self.ok), "failed": dict(self.failed),
            "resumed": len(self.resumed), "gaps": {k: dict(v) for k, v in self.gaps.items()},
            "notes": list(self.notes),
            "requests": self.requests, "cache_hits": self.cache_hits,
            "retries": self.retries, "seconds": round(self.seconds, 2),
        }


@dataclass
class PullReport:
    """Per-source summary of a pull."""

    universe: str
    start: str | None
    tickers: list[str]
    membership_source: str | None
    sources: dict[str, SourceSummary] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    resumed: bool = False
    domestic_proxy: int = 0  # securities given the sector proxy of the domestic-revenue share
    domestic_given: int = 0  # securities with a share of their own (supplied or stored)

    @property
    def total_rows(self) -> int:
        return sum(s.total_rows for s in self.sources.values())

    @property
    def nothing_pulled(self) -> bool:
        """True when no source stored a single price, fundamental or series row."""
        return not any(
            s.total_rows and s.source != "membership" for s in self.sources.values()
        ) and not any(s.resumed for s in self.sources.values())

    def domestic_note(self) -> str:
        """Which domestic-revenue share the pulled securities carry."""
        return (f"sector proxy (S&P DJI global-sales shares by sector) for {self.domestic_proxy} securities; "
                f"{self.domestic_given} already had one (supplied by you, or filled by an earlier pull) and kept it")

    def gap_counts(self) -> dict[str, dict[str, int]]:
        """Per source, how many items each kind of gap affected (0 kinds: no entry)."""
        return {k: {kind: len(items) for kind, items in s.gaps.items()} for k, s in self.sources.items() if s.gaps}

    def failures(self) -> dict[str, dict[str, str]]:
        return {k: dict(s.failed) for k, s in self.sources.items() if s.failed}

    def as_dict(self) -> dict[str, object]:
        return {
            "universe": self.universe, "start": self.start, "tickers": len(self.tickers),
            "membership_source": self.membership_source, "resumed": self.resumed,
            "sources": {k: s.as_dict() for k, s in self.sources.items()}, "notes": list(self.notes),
            "gaps": self.gap_counts(), "survivorship": survivorship_note(self.universe, self.membership_source),
            "domestic_revenue_share": self.domestic_note(),
        }


def survivorship_note(universe: str, membership_source: str | None) -> str:
    """What the pulled universe leaves out, in one sentence (shown by ``info`` and the report)."""
    if universe == "smallcap":
        return ("small caps ranked from today's SEC listing of exchange-listed common stocks: companies delisted, "
                "acquired or bankrupt before the pull are missing from every past year (survivorship bias; past "
                "small-cap returns are biased upwards). Foreign issuers listed in the US are not told apart.")
    if universe == "sp500":
        return (f"S&P 500 members from {membership_source or 'the membership source'}; companies that left the "
                "index are included only where Yahoo still serves their prices (delisted tickers are counted as "
                "failed), so returns before a name's delisting are partly missing: survivorship bias. The "
                "index-constitution history is thinner before 2010.")
    return ("a fixed list of tickers chosen today: the universe holds only names that exist now "
            "(survivorship bias); no membership, so index-based signals are not point-in-time.")


def _run_key(**params) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]


# -- helpers -------------------------------------------------------------------------------------
def _batches(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i:i + size]) for i in range(0, len(items), max(1, size))]


def _take_stats(summary: SourceSummary, client: HttpClient) -> None:
    summary.requests = client.stats.requests
    summary.cache_hits = client.stats.cache_hits
    summary.retries = client.stats.retries


def _add_rows(summary: SourceSummary, report) -> None:
    for k, v in report.rows.items():
        summary.rows[k] = summary.rows.get(k, 0) + v


# -- the pull ------------------------------------------------------------------------------------
def pull(
    warehouse,
    universe: str = "sp500",
    start: str | pd.Timestamp | None = DEFAULT_START,
    sources: Iterable[str] = SOURCES,
    *,
    tickers: Iterable[str] | None = None,
    membership_file: str | None = None,
    fred_series: Iterable[str] | None = None,
    french_datasets: Iterable[str] | None = None,
    include_bdcs: bool = True,
    batch_size: int = 25,
    resume: bool = True,
    replace: bool = False,
    progress: Progress | None = None,
    yahoo_fetcher=None,
    http: Callable[[str], HttpClient] | None = None,
    sec_user_agent: str | None = None,
    small_ranks: tuple[int, int] = RANK_RANGE,
) -> PullReport:
    """Pull real data into ``warehouse`` (see the module docstring).

    Parameters
    ----------
    warehouse : Warehouse
        Target (opened for writing).
    universe : {"sp500", "smallcap", "tickers"}
        ``"sp500"``: the point-in-time S&P 500 (needs membership); ``"smallcap"``: every
        exchange-listed common stock of the SEC's listing, ranked each May by market cap
        into the ``smallmid`` index (ranks ``small_ranks``, see
        :mod:`broadening.providers.universe`); ``"tickers"``: only ``tickers``, no membership.
    start : date-like, optional
        First price date (default 2010-01-01, when SEC XBRL facts and the membership
        history are both complete enough). ``None``: everything.
    sources : iterable of str
        Any of ``yahoo``, ``sec``, ``fred``, ``french``.
    tickers : iterable of str, optional
        Restrict the universe to these tickers.
    membership_file : str, optional
        A membership CSV/Parquet (intervals or snapshots) instead of ``index-constitution``.
    fred_series, french_datasets : iterable of str, optional
        Defaults: :data:`~broadening.providers.fred.DEFAULT_SERIES`,
        :data:`~broadening.providers.french.DEFAULT_DATASETS`.
    include_bdcs : bool, default True
        Add the listed BDCs to a full-universe pull (not members of the index).
    batch_size : int, default 25
        Tickers per stored batch.
    resume : bool, default True
        Continue an interrupted identical pull instead of starting over.
    replace : bool, default False
        Allowed to discard a synthetic market stored in the warehouse.
    progress : callable, optional
        ``progress(step, done, total)``.
    yahoo_fetcher : callable, optional
        Replaces yfinance (``fetcher(ticker, start, end) -> YahooRaw``; tests).
    http : callable, optional
        ``http(source) -> HttpClient``: the client of each HTTP source (default: a new
        :class:`HttpClient` per source, sharing the on-disk cache).
    sec_user_agent : str, optional
        Else ``$BROADENING_SEC_USER_AGENT``.
    small_ranks : (int, int), default (1001, 3000)
        Market-cap ranks that make the small-cap universe.

    Returns
    -------
    PullReport

    Raises
    ------
    BroadeningError
        For bad arguments, a missing SEC User-Agent, a synthetic warehouse without
        ``replace``, or an unreadable membership source. Per-ticker and per-series
        failures are reported in the result instead.
    """
    from broadening.providers import fred as fred_mod
    from broadening.providers import french as french_mod
    from broadening.providers.membership import INDEX_ID, load_membership
    from broadening.providers.sec import SecProvider
    from broadening.providers.yahoo import KNOWN_BDCS, YahooProvider, security_id

    sources = [s.strip().lower() for s in sources if s.strip()]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise BroadeningError(f"--sources: unknown source {unknown[0]!r}; expected any of {', '.join(SOURCES)}")
    if universe not in UNIVERSES:
        raise BroadeningError(f"--universe: expected {', '.join(UNIVERSES)}, got {universe!r}")
    if universe == "tickers" and not tickers:
        raise BroadeningError("--universe tickers needs --tickers A,B,...")
    start_ts = pd.Timestamp(start) if start is not None else None
    early = start_ts - pd.DateOffset(years=2) if start_ts is not None else None
    http = http or (lambda source: HttpClient())
    # checks the UA first; the small-cap universe needs the SEC's listing even without its facts
    sec = SecProvider(http("sec"), user_agent=sec_user_agent) if "sec" in sources or universe == "smallcap" else None

    if warehouse.synthetic and not replace:
        raise BroadeningError(
            f"{warehouse.path} holds a SYNTHETIC market; pull real data into another file "
            "(--warehouse real.duckdb) or pass --replace to discard it"
        )

    wanted = sorted({security_id(t) for t in tickers}) if tickers else None
    report = PullReport(universe, str(start_ts.date()) if start_ts is not None else None, [], None)

    # 1. universe and membership
    t0 = time.perf_counter()
    mem_sum = SourceSummary("membership")
    membership = None
    if universe == "sp500":
        membership = load_membership(membership_file, INDEX_ID).since(start_ts)
        report.membership_source = membership.source
        report.notes.extend(membership.notes)
        universe_ids = membership.tickers
        if wanted is not None:
            missing = [t for t in wanted if t not in set(universe_ids)]
            if missing:
                report.notes.append(f"not S&P 500 members since {report.start}: {', '.join(missing)} (pulled anyway)")
            universe_ids = wanted
        elif include_bdcs:
            universe_ids = sorted(set(universe_ids) | set(KNOWN_BDCS))
    elif universe == "smallcap":
        universe_ids = _smallcap_candidates(sec, report)
        report.membership_source = "ranks 1001-3000 of the SEC exchange listing"
        if wanted is not None:
            universe_ids = [t for t in universe_ids if t in set(wanted)]
    else:
        universe_ids = wanted or []
    report.tickers = list(universe_ids)
    if universe == "smallcap" and "sec" not in sources:
        sec = None  # the listing was all it was needed for

    run = _run_key(universe=universe, start=report.start, sources=sorted(sources), tickers=universe_ids,
                   membership=report.membership_source, fred=list(fred_series or []), french=list(french_datasets or []))
    store.ensure_state(warehouse)
    running, done = store.state_done(warehouse, run)
    if running and resume:
        report.resumed = True
    else:
        warehouse.con.execute(f"DELETE FROM {STATE_TABLE} WHERE run = ?", [run])
        done = set()
        store.state_write(warehouse, run, "*", {RUN_ITEM: ("running", json.dumps({"started": datetime.now(UTC).isoformat()}))})

    fred_ids = [s.upper() for s in (fred_series or fred_mod.DEFAULT_SERIES)] if "fred" in sources else []
    ff_ids = list(french_datasets or french_mod.DEFAULT_DATASETS) if "french" in sources else []
    per_ticker = [s for s in ("yahoo", "sec") if s in sources]
    total = 1 + len(universe_ids) * len(per_ticker) + len(fred_ids) + len(ff_ids)
    step = 0

    def tick(msg: str, n: int = 1) -> None:
        nonlocal step
        step += n
        if progress:
            progress(msg, step, total)

    names = {}
    if membership is not None:
        names = dict(zip(membership.securities["security_id"], membership.securities["name"], strict=False))
    if ("membership", universe) not in done and universe_ids:
        secs = pd.DataFrame({"security_id": universe_ids, "ticker": universe_ids,
                             "name": [names.get(t) for t in universe_ids]})
        secs["is_bdc"] = [t in KNOWN_BDCS for t in universe_ids]
        tables = {"securities": store.merge_securities(warehouse, secs)}
        if membership is not None:
            m = membership.membership[membership.membership["security_id"].isin(set(universe_ids))]
            store.drop_stale_membership(warehouse, m)
            tables["membership"] = m
        rep = warehouse.ingest(tables, source=report.membership_source or "tickers", replace=replace and warehouse.synthetic)
        _add_rows(mem_sum, rep)
        store.state_write(warehouse, run, "membership", {universe: ("ok", "")})
    else:
        mem_sum.resumed.append(universe)
    mem_sum.seconds = time.perf_counter() - t0
    report.sources["membership"] = mem_sum
    tick("universe and membership")

    # 2. tickers in batches
    ysum, ssum = SourceSummary("yahoo"), SourceSummary("sec")
    yahoo = YahooProvider(yahoo_fetcher) if "yahoo" in sources else None
    sec_down: str | None = None
    if sec is not None:
        try:
            sec.ticker_map()  # every ticker needs it: no map, no SEC at all
        except ProviderError as exc:
            sec_down = f"SEC ticker map unavailable, source skipped: {exc}"
            report.notes.append(sec_down)
    store.ensure_side_tables(warehouse)
    for batch in _batches(universe_ids, batch_size):
        todo_y = [t for t in batch if ("yahoo", t) not in done] if yahoo else []
        todo_s = [t for t in batch if ("sec", t) not in done] if sec else []
        if yahoo:
            ysum.resumed += [t for t in batch if t not in todo_y]
        if sec:
            ssum.resumed += [t for t in batch if t not in todo_s]
        skipped = (len(batch) - len(todo_y) if yahoo else 0) + (len(batch) - len(todo_s) if sec else 0)
        if skipped:
            tick(f"resumed {skipped} already stored", skipped)

        # fetch both sources for the batch, then store each source's tables in its own transaction
        sec_rows: dict[str, object] = {}
        sec_state: dict[str, tuple[str, str]] = {}
        t1 = time.perf_counter()
        for t in todo_s:
            if sec_down is not None:
                ssum.failed[t] = sec_down
                sec_state[t] = ("failed", sec_down)
                tick(f"sec {t} (source down)")
                continue
            try:
                sec_rows[t] = sec.company(t, security_id=t, start=early)
                sec_state[t] = ("ok", "")
                ssum.ok.append(t)
                if sec_rows[t].late:
                    ssum.gaps.setdefault("late_field_values", {})[t] = str(sec_rows[t].late)
            except NotFoundError as exc:
                if "ticker map" in str(exc):
                    ssum.gaps.setdefault("no_cik", {})[t] = str(exc)
                    sec_state[t] = ("ok", "no CIK")
                else:
                    ssum.failed[t] = str(exc)
                    sec_state[t] = ("failed", str(exc))
            except SourceDownError as exc:
                sec_down = str(exc)
                ssum.failed[t] = sec_down
                sec_state[t] = ("failed", sec_down)
            except ProviderError as exc:
                ssum.failed[t] = str(exc)
                sec_state[t] = ("failed", str(exc))
            tick(f"sec {t}")
        ssum.seconds += time.perf_counter() - t1

        res = None
        if yahoo and todo_y:
            t1 = time.perf_counter()
            res = yahoo.fetch(todo_y, start_ts, progress=lambda s, d, n: tick(s))
            ysum.ok += res.ok
            ysum.failed.update(res.failed)
            for kind, items in res.gaps.items():
                ysum.gaps.setdefault(kind, {}).update(items)
            ysum.seconds += time.perf_counter() - t1
            ysum.requests, ysum.cache_hits = yahoo.requests, yahoo.cache_hits

        # raw counts and split events are kept, so shares can be put on one basis later too
        raw_sec = {t: c.shares for t, c in sec_rows.items()}
        raw_y = {t: g for t, g in res.shares.groupby("security_id")} if res is not None and len(res.shares) else {}
        store.store_raw_counts(warehouse, "sec", list(sec_rows), raw_sec)
        if res is not None:
            store.store_raw_counts(warehouse, "yahoo", res.ok, raw_y)
            store.store_splits(warehouse, res.ok, res.splits)
        touched = sorted(set(sec_rows) | set(res.ok if res is not None else []))
        sec_sh, y_sh, disagree = store.reconciled_shares(warehouse, touched, early)
        if len(disagree):
            for sid, g in disagree.groupby("security_id"):
                ssum.gaps.setdefault("shares_disagree_with_yahoo", {})[sid] = (
                    f"{len(g)} Yahoo count(s) differ from the SEC's by more than 5% (largest {g['difference'].abs().max():.0%})")

        t1 = time.perf_counter()
        if sec_rows:
            fund = pd.concat([c.fundamentals for c in sec_rows.values()], ignore_index=True)
            secs = pd.DataFrame({"security_id": list(sec_rows), "ticker": list(sec_rows),
                                 "name": [names.get(t) or c.name for t, c in sec_rows.items()]})
            shr = sec_sh[sec_sh["security_id"].isin(set(sec_rows))]
            tables = {"securities": store.merge_securities(warehouse, secs), "fundamentals": fund, "shares": shr}
            store.drop_stale_shares(warehouse, shr)
            rep = warehouse.ingest({k: v for k, v in tables.items() if len(v)}, source="sec")
            _add_rows(ssum, rep)
        store.state_write(warehouse, run, "sec", sec_state)
        ssum.seconds += time.perf_counter() - t1
        if sec:
            _take_stats(ssum, sec.client)

        if res is not None:
            t1 = time.perf_counter()
            tables = {}
            if res.ok:
                secs = res.securities.copy()
                secs["name"] = [n or names.get(s) for s, n in zip(secs["security_id"], secs["name"], strict=False)]
                tables["securities"] = _with_domestic_proxy(store.merge_securities(warehouse, secs), report)
                tables["prices"] = res.prices
                # SEC counts win where the SEC has them (and were just re-based on these splits)
                shr = pd.concat([y_sh[y_sh["security_id"].isin(set(res.ok))],
                                 sec_sh[sec_sh["security_id"].isin(set(res.ok) - set(sec_rows))]], ignore_index=True)
                if len(shr):
                    tables["shares"] = shr
                    store.drop_stale_shares(warehouse, shr)
                rep = warehouse.ingest(tables, source="yahoo")
                _add_rows(ysum, rep)
            state = {t: ("ok", "") for t in res.ok}
            state.update({t: ("failed", r) for t, r in res.failed.items()})
            store.state_write(warehouse, run, "yahoo", state)
            ysum.seconds += time.perf_counter() - t1
    if yahoo:
        report.sources["yahoo"] = ysum
    if sec:
        report.sources["sec"] = ssum
    if universe == "smallcap" and yahoo:
        _store_ranks(warehouse, universe_ids, report, mem_sum, small_ranks)

    # 3. series
    if fred_ids:
        client = http("fred")
        prov = fred_mod.FredProvider(client)
        fsum = _pull_series(
            warehouse, run, "fred", fred_ids, done, lambda sid: prov.series(sid, early), tick, client,
        )
        for sid, note in prov.notes.items():
            fsum.gaps.setdefault("short_history", {})[sid] = note
            report.notes.append(note)
        fsum.notes.extend(f"{sid}: dated by {how}" for sid, how in prov.dating.items())
        report.sources["fred"] = fsum
    if ff_ids:
        client = http("french")
        prov_f = french_mod.FrenchProvider(client)
        report.sources["french"] = _pull_series(
            warehouse, run, "french", ff_ids, done, lambda d: prov_f.dataset(d, early), tick, client,
        )

    store.state_write(warehouse, run, "*", {RUN_ITEM: ("finished", json.dumps({"finished": datetime.now(UTC).isoformat()}))})
    meta = {"pull": {"universe": universe, "start": report.start, "sources": sources, "tickers": len(universe_ids),
                     "membership_source": report.membership_source, "finished_at": datetime.now(UTC).isoformat(),
                     "failed": {k: len(v) for k, v in report.failures().items()},
                     "gaps": report.gap_counts(), "notes": list(report.notes),
                     "survivorship": survivorship_note(universe, report.membership_source),
                     "domestic_revenue_share": report.domestic_note()}}
    if not report.nothing_pulled:
        warehouse.ingest({}, source="pull", meta=meta)
    return report


def _pull_series(wh, run, source, items, done, fetch, tick, client) -> SourceSummary:
    summ = SourceSummary(source)
    t0 = time.perf_counter()
    frames, state = [], {}
    for it in items:
        if (source, it) in done:
            summ.resumed.append(it)
            tick(f"{source} {it} (already stored)")
            continue
        try:
            df = fetch(it)
            frames.append(df)
            summ.ok.append(it)
            state[it] = ("ok", "")
        except ProviderError as exc:
            summ.failed[it] = str(exc)
            state[it] = ("failed", str(exc))
        tick(f"{source} {it}")
    if frames:
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if len(df):
            _add_rows(summ, wh.ingest({"series": df}, source=source))
    store.state_write(wh, run, source, state)
    _take_stats(summ, client)
    summ.seconds = time.perf_counter() - t0
    return summ



def _smallcap_candidates(sec, report: PullReport) -> list[str]:
    """Exchange-listed common stocks of the SEC listing (the drops by rule become notes)."""
    from broadening.providers.yahoo import security_id

    listing = sec.exchange_listing()
    cands, drops = common_stock_candidates(listing)
    report.notes.append(f"small-cap candidates: {len(cands):,} exchange-listed common stocks of {len(listing):,} SEC tickers "
                        "(dropped: " + ", ".join(f"{k} {v:,}" for k, v in drops.items() if v) + ")")
    return sorted({security_id(t) for t in cands["ticker"]})


def _with_domestic_proxy(secs: pd.DataFrame, report: PullReport) -> pd.DataFrame:
    """Fill a missing domestic-revenue share with the sector proxy (a stored or supplied value wins)."""
    share = pd.to_numeric(secs.get("domestic_revenue_share"), errors="coerce")
    proxy = domestic_share_proxy(secs["sector"]) if "sector" in secs else pd.Series(np.nan, index=secs.index)
    fill = share.isna() & proxy.notna()
    out = secs.copy()
    out["domestic_revenue_share"] = share.where(~fill, proxy)
    report.domestic_proxy += int(fill.sum())
    report.domestic_given += int(share.notna().sum())
    return out


def _store_ranks(warehouse, ids: Sequence[str], report: PullReport, summary: SourceSummary,
                 ranks: tuple[int, int] = RANK_RANGE) -> None:
    """Yearly rank membership of the small-cap universe from the stored caps (point-in-time)."""
    from broadening.market import load_market

    market = load_market(warehouse, layout="dense")  # ranks read each column as one security over the years
    cols = np.flatnonzero(np.isin(market.ids, list(ids)))
    m = rank_membership(market.dates, market.ids[cols], market.market_cap[:, cols], ranks=ranks)
    if m.empty:
        report.notes.append("small-cap ranks: no rank day (end of May) with prices and share counts yet")
        return
    store.drop_stale_membership(warehouse, m)
    warehouse.con.execute("DELETE FROM membership WHERE index_id = ?", [SMALL_INDEX])
    _add_rows(summary, warehouse.ingest({"membership": m}, source=report.membership_source))
    years = pd.DatetimeIndex(m["start"]).year
    report.notes.append(f"small-cap universe ('{SMALL_INDEX}'): ranks {ranks[0]:,}-{ranks[1]:,} by market cap each May for "
                        f"{years.min()}-{years.max()}, {m['security_id'].nunique():,} securities over the years")
