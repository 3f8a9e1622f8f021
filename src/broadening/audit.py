"""``broadening check``: a data-quality audit of what the warehouse holds.

What a careful analyst looks at before trusting a chart, each as a check that yields
findings (``check, item, date, detail, value``):

``cap_jump``
    A one-day market-cap move that the security's total return does not show: the cap
    ratio and the total-return ratio of a day differ by more than ``jump`` (40% by
    default) in log terms. A split applied to the price but not to the share count (or
    the reverse) moves the cap 2x, 4x, 10x in a day; a real issuance of that size is
    rare enough to deserve a look too.
``stale_fundamentals``
    A live company (priced on the last date) whose latest filing became available more
    than ``stale_days`` (200, about two quarters) before the last date.
``short_series``
    A series a claim's history rests on (C6: bank loans and the spread it is judged on,
    see :func:`broadening.signals.credit.spread_series`) that starts more than a year
    after the prices do, or ends more than ``stale_days`` before them.
``member_without_price``
    An index member with more than ``member_gap_days`` (5) member days without a price
    (before its first or after its last price, or never priced at all).
``shares_disagree``
    Where two sources gave share counts (a live pull keeps both in ``_share_counts``),
    a count that differs from the one the policy keeps by more than ``tolerance`` (5%),
    both on the same split basis.

Findings are aggregated per check and item (one finding per security, with the number
of days and the worst one), so a broken security shows once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from broadening.market import Market
from broadening.providers.shares import DEFAULT_TOLERANCE, compare_counts
from broadening.providers.shares import reconcile as reconcile_shares
from broadening.signals.credit import BANK_LOANS, spread_series

CHECKS: tuple[str, ...] = ("cap_jump", "stale_fundamentals", "short_series", "member_without_price", "shares_disagree")
#: where a live pull keeps every source's raw share counts and the split events (read here,
#: written by :mod:`broadening.live_store`)
RAW_COUNTS_TABLE = "_share_counts"
SPLITS_TABLE = "_splits"


@dataclass(frozen=True)
class Finding:
    """One thing the audit flags."""

    check: str
    item: str
    date: str | None
    detail: str
    value: float | None = None


@dataclass
class AuditReport:
    """All findings of an audit and what each check looked at."""

    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        """Findings per check (every check listed, zero included)."""
        out = dict.fromkeys(CHECKS, 0)
        for f in self.findings:
            out[f.check] = out.get(f.check, 0) + 1
        return out

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "counts": self.counts(), "checked": dict(self.checked),
                "findings": [asdict(f) for f in self.findings]}

    def summary(self) -> str:
        """One line: the counts of findings, or that there are none."""
        if self.ok:
            return "audit: no findings (" + ", ".join(CHECKS) + ")"
        return "audit: " + ", ".join(f"{k} {v}" for k, v in self.counts().items() if v)


def _day(d) -> str:
    return str(pd.Timestamp(d).date())


def cap_jumps(market: Market, jump: float = 0.4) -> list[Finding]:
    """One-day market-cap moves the total return does not show (see the module notes)."""
    cap, tri = market.market_cap, market.total_return_index
    lim = np.log1p(jump)
    up, down = np.exp(lim) * (1 - 1e-6), np.exp(-lim) * (1 + 1e-6)
    near = np.zeros(cap.shape[1], dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # logs are the cost on a whole panel: a ratio test with a margin far above rounding,
        # by blocks of days (no panel-sized temporaries), picks the few securities that could
        # jump; the exact test below runs on those only
        for lo in range(0, cap.shape[0] - 1, 256):
            hi = min(lo + 256, cap.shape[0] - 1)
            q = (cap[lo + 1 : hi + 1] / cap[lo:hi]) / (tri[lo + 1 : hi + 1] / tri[lo:hi])
            near |= ((q > up) | (q < down)).any(axis=0)
        cols = np.flatnonzero(near)
        if 2 * len(cols) < cap.shape[1]:
            c, r = cap[:, cols], tri[:, cols]
        else:  # a loose ``jump``: the whole panels beat copying most of their columns
            cols, c, r = np.arange(cap.shape[1]), cap, tri
        gap = np.abs(np.log(c[1:] / c[:-1]) - np.log(r[1:] / r[:-1]))
    bad = np.isfinite(gap) & (gap > lim)
    out = []
    for k in np.flatnonzero(bad.any(axis=0)):
        j = cols[k]
        hit = np.flatnonzero(bad[:, k])
        who = market.occupants_at(hit + 1)[:, j]  # a lane's days belong to several securities
        for s in np.unique(who):
            days = hit[who == s]
            worst = days[np.argmax(gap[days, k])]
            ratio = float(np.exp(gap[worst, k]))
            out.append(Finding("cap_jump", str(market.security_ids[s]), _day(market.dates[worst + 1]),
                               f"{len(days)} day(s) with a market-cap move the price does not show; worst "
                               f"x{ratio:.2f} on {_day(market.dates[worst + 1])} (a split missed in the share count?)",
                               ratio))
    return sorted(out, key=lambda f: f.item) if market.packed else out  # by security, as a dense market's columns


def stale_fundamentals(market: Market, stale_days: int = 200) -> list[Finding]:
    """Live companies whose latest filing is older than ``stale_days`` at the last date."""
    f = market.fundamentals
    if f.empty:
        return []
    last = f.groupby("security_id")["available_date"].max()
    live = set(market.ids_at(len(market.dates) - 1)[market.alive[-1]].astype(str))
    asof = pd.Timestamp(market.dates[-1])
    old = last[(asof - last).dt.days > stale_days]
    return [Finding("stale_fundamentals", sid, _day(d),
                    f"latest filing available {_day(d)}, {(asof - d).days} days before {_day(asof)}", float((asof - d).days))
            for sid, d in old.items() if sid in live]


def short_series(market: Market, stale_days: int = 200) -> list[Finding]:
    """Claim series covering less than the market's history (see the module notes)."""
    st = market.series_table
    if st.empty:
        return []
    start, end = pd.Timestamp(market.dates[0]), pd.Timestamp(market.dates[-1])
    out = []
    for sid, claim in ((BANK_LOANS, "C6"), (spread_series(market), "C6")):
        s = st[st["series_id"] == sid]
        if s.empty:
            continue
        first, last = pd.Timestamp(s["date"].min()), pd.Timestamp(s["date"].max())
        if (first - start).days > 365:
            out.append(Finding("short_series", sid, _day(first),
                               f"{claim} history starts {_day(first)}, {(first - start).days / 365.25:.1f} years after "
                               f"the prices ({_day(start)})", float((first - start).days)))
        elif (end - last).days > stale_days:
            out.append(Finding("short_series", sid, _day(last),
                               f"{claim} series ends {_day(last)}, {(end - last).days} days before the prices", float((end - last).days)))
    return out


def members_without_prices(market: Market, member_gap_days: int = 5) -> list[Finding]:
    """Index members with member days outside their priced life (see the module notes)."""
    m = market.membership
    if m.empty:
        return []
    T = market.shape[0]
    ids = m["security_id"].to_numpy().astype(str)
    srow, known = market.security_rows(ids)
    dates = market.dates
    start = np.searchsorted(dates, pd.to_datetime(m["start"]).to_numpy().astype("datetime64[D]"), side="left")
    end = np.searchsorted(dates, pd.to_datetime(m["end"].fillna(pd.Timestamp("2262-01-01"))).to_numpy().astype("datetime64[D]"), side="left")
    first = np.where(known, market.first_index[srow], T)
    last = np.where(known, market.last_index[srow], -1)
    member_days = np.maximum(end - start, 0)
    priced = np.maximum(np.minimum(end, last + 1) - np.maximum(start, first), 0)
    missing = member_days - priced
    per = pd.DataFrame({"security_id": ids, "index_id": m["index_id"].to_numpy(), "missing": missing,
                        "days": member_days, "known": known})
    agg = per.groupby(["index_id", "security_id"], sort=True).agg(missing=("missing", "sum"), days=("days", "sum"),
                                                                  known=("known", "any"))
    agg = agg[agg["missing"] > member_gap_days]
    return [Finding("member_without_price", f"{sid} ({idx})", None,
                    (f"{int(r.missing)} of {int(r.days)} member days without a price"
                     + ("" if r.known else " (never priced)")), float(r.missing))
            for (idx, sid), r in agg.iterrows()]


def shares_disagreements(counts: pd.DataFrame | None, splits: pd.DataFrame | None,
                         tolerance: float = DEFAULT_TOLERANCE) -> list[Finding]:
    """Counts of two sources (``security_id, source, date, as_of, shares_outstanding``) that differ."""
    if counts is None or counts.empty or counts["source"].nunique() < 2:
        return []
    sec = counts[counts["source"] == "sec"]
    other = counts[counts["source"] != "sec"]
    sec_adj, _, dis = reconcile_shares(sec, other, splits)
    against = "the SEC's"
    if sec.empty:  # no SEC: compare the other sources to the first one
        first = counts["source"].iloc[0]
        dis = compare_counts(counts[counts["source"] == first], counts[counts["source"] != first], tolerance)
        against = f"{first}'s"
    dis = dis[dis["difference"].abs() > tolerance]
    out = []
    for sid, g in dis.groupby("security_id", sort=True):
        w = g.loc[g["difference"].abs().idxmax()]
        out.append(Finding("shares_disagree", str(sid), _day(w["date"]),
                           f"{len(g)} count(s) differ from {against} by more than {tolerance:.0%}; worst {w['difference']:+.1%} "
                           f"on {_day(w['date'])} ({w['other']:,.0f} vs {w['primary']:,.0f})", float(w["difference"])))
    return out


def audit(
    market: Market,
    *,
    share_counts: pd.DataFrame | None = None,
    splits: pd.DataFrame | None = None,
    jump: float = 0.4,
    stale_days: int = 200,
    member_gap_days: int = 5,
    tolerance: float = DEFAULT_TOLERANCE,
) -> AuditReport:
    """Run every check on ``market`` (and the raw share counts of a live pull, if given).

    Parameters
    ----------
    market : Market
    share_counts, splits : DataFrame, optional
        The raw counts per source and the split events a live pull keeps (``_share_counts``,
        ``_splits``); without them the share check has nothing to compare.
    jump, stale_days, member_gap_days, tolerance : see the module notes.

    Returns
    -------
    AuditReport
    """
    rep = AuditReport()
    rep.findings += cap_jumps(market, jump)
    rep.findings += stale_fundamentals(market, stale_days)
    rep.findings += short_series(market, stale_days)
    rep.findings += members_without_prices(market, member_gap_days)
    rep.findings += shares_disagreements(share_counts, splits, tolerance)
    T, N = market.shape[0], len(market.securities)
    rep.checked = {
        "cap_jump": f"{N} securities x {T} days, moves over {jump:.0%} beyond the total return",
        "stale_fundamentals": f"{int(market.alive[-1].sum())} live securities, latest filing within {stale_days} days",
        "short_series": f"C6 series {BANK_LOANS}, {spread_series(market)} against {_day(market.dates[0])}..{_day(market.dates[-1])}",
        "member_without_price": f"{len(market.membership)} membership intervals, more than {member_gap_days} days unpriced",
        "shares_disagree": ("no second source of share counts" if share_counts is None or share_counts.empty
                            else f"{share_counts['security_id'].nunique()} securities, tolerance {tolerance:.0%}"),
    }
    return rep


def side_tables(wh) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The raw share counts per source and the split events a live pull keeps (``None`` if absent)."""
    tables = {r[0] for r in wh.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    counts = splits = None
    if RAW_COUNTS_TABLE in tables:
        counts = wh.con.execute(f"SELECT * FROM {RAW_COUNTS_TABLE}").df()
        for c in ("date", "as_of"):
            counts[c] = pd.to_datetime(counts[c])
    if SPLITS_TABLE in tables:
        splits = wh.con.execute(f"SELECT * FROM {SPLITS_TABLE}").df()
        splits["date"] = pd.to_datetime(splits["date"])
    return counts, splits


def audit_warehouse(wh, **kw) -> AuditReport:
    """:func:`audit` of a warehouse: its as-of market plus the pull's raw share counts."""
    from broadening.market import load_market

    counts, splits = side_tables(wh)
    return audit(load_market(wh), share_counts=counts, splits=splits, **kw)


def universe_note(market: Market) -> str | None:
    """How the stored universe was chosen and what it leaves out (``None`` for the demo)."""
    if market.synthetic:
        return None
    prov = market.provenance
    labels = set(prov["source"]) if not prov.empty and "source" in prov else set()
    live = labels & {"yahoo", "sec", "fred", "french"}
    mem = sorted(set(prov[prov["table_name"] == "membership"]["source"])) if live and "table_name" in prov else []
    if not live:
        return None
    own = sorted(x for x in set(prov[prov["table_name"] == "securities"]["source"]) if x not in live and x != "pull")
    domestic = (" Domestic-revenue share: a sector proxy (S&P DJI global-sales shares by sector) where no value was "
                "supplied" + (f"; values from {', '.join(own)} kept." if own else "; none was supplied."))
    if mem:
        return (f"Universe: index members from {', '.join(mem)}. Companies that left the index, or were delisted "
                "before the pull, are included only where the price source still serves them (the others are counted "
                "as failed in the pull), so the past is partly missing its losers: survivorship bias." + domestic)
    return ("Universe: a fixed list of tickers chosen today, so it holds only names that exist now "
            "(survivorship bias) and index membership is not point-in-time." + domestic)


def pull_gap_notes(pull: Mapping[str, object] | None) -> list[str]:
    """One line per source of what the last live pull could not get (``meta.pull.gaps``).

    Parameters
    ----------
    pull : mapping or None
        The ``pull`` entry of the warehouse meta, as :func:`broadening.live.pull` stores it
        (``{"gaps": {source: {kind: count}}, ...}``); ``None`` or no gaps give no lines.

    Returns
    -------
    list of str
        e.g. ``"gaps (sec): no cik 3, late field values 12"``: never hidden, so a reader knows
        which numbers rest on fewer companies than the universe holds.
    """
    gaps = (pull or {}).get("gaps") or {}
    return [f"gaps ({source}): " + ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in dict(kinds).items())
            for source, kinds in dict(gaps).items() if kinds]


def data_notes(market: Market, report: AuditReport | None = None) -> list[str]:
    """Lines for the report's data notes: the universe's survivorship and the audit."""
    rep = report if report is not None else audit(market)
    lines = [n for n in [universe_note(market)] if n]
    lines.append(rep.summary().replace("audit:", "Data audit (broadening check):", 1))
    for f in rep.findings[:10]:
        lines.append(f"{f.check}: {f.item}: {f.detail}")
    if len(rep.findings) > 10:
        lines.append(f"... and {len(rep.findings) - 10} more (run broadening check)")
    return lines
