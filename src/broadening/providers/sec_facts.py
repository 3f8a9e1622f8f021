"""SEC company facts (XBRL JSON) -> canonical ``fundamentals`` and ``shares`` rows.

Pure conversion of one ``companyfacts`` document; :mod:`broadening.providers.sec` fetches it.

Point-in-time rules
-------------------
- Only facts from 10-K / 10-Q filings (and their amendments and transition reports).
- **Per field, as first reported**: among the filings that report a value for a period,
  the one filed first wins (later restatements are ignored) and its ``filed`` date is when
  the value became known. A derived quarter (below) is known once all its parts are.
- **A quarter row is dated by its first filing**: ``available_date`` is the earliest date
  any of its fields became known (normally the quarter's own 10-Q or 10-K). A field first
  reported *later* (only in a later filing's comparatives) is left blank in that row, never
  dated back and never allowed to hold the rest of the quarter back; the market layer
  carries the previous quarter's value for a blank field. Such values are counted
  (:func:`late_values`). A trailing-twelve-month sum never needs them: by the time a
  comparative reports an old quarter, newer quarters have replaced it in the sum.
- **A concept family is one field**: the tags a company may use for one line (e.g.
  ``Revenues`` and ``RevenueFromContractWithCustomerExcludingAssessedTax``) are pooled
  before quarters are derived, so a company that changes tags mid-year still gets its Q4
  (annual on the new tag minus quarters on the old one). Within one filing the earlier tag
  in :data:`CONCEPTS` wins.

Quarter rows (flows are the quarter's own values)
-------------------------------------------------
1. Duration facts of about three months (80-100 days) are quarters as reported.
2. Year-to-date facts are differenced: a 6-, 9- or 12-month value minus the value of the
   same fiscal year-to-date ending one quarter earlier (same ``start``).
3. A quarter still missing (typically Q4) is the annual value minus the three quarters
   inside that year, when all three are known.
EPS is differenced the same way (an approximation: share counts move within a year).
Balance-sheet items are the instants at each quarter end.

Total debt (one filing at a time)
---------------------------------
Debt is assembled **inside each filing** from the instants that filing reports, then the
first filing's total wins, so a borrowing re-tagged by a later filing (Marvell's current
notes: ``LongTermDebtCurrent`` in one filing, ``ShortTermBorrowings`` in the next) is never
summed twice. In a filing: non-current debt (``LongTermDebtNoncurrent``, else
``LongTermDebtAndCapitalLeaseObligations``, else convertible notes ``ConvertibleDebtNoncurrent``
/ ``ConvertibleNotesPayable``) plus current debt (``DebtCurrent``, else the sum of
``LongTermDebtCurrent``, ``ShortTermBorrowings``, ``CommercialPaper``,
``ConvertibleDebtCurrent``, ``ConvertibleNotesPayableCurrent``, one value counted once when
two of them repeat it); without a non-current figure, ``LongTermDebt`` (which includes its
current maturities) plus ``ShortTermBorrowings`` and ``CommercialPaper``. A company that
reports none of these has no debt figure (NaN, missing), never zero.

Shares (``shares`` table)
-------------------------
``dei:EntityCommonStockSharesOutstanding``, the cover-page count (share classes of one
filing summed), dated by the **filing date**, with its as-of date kept in ``as_of`` (the
cover reports the count a few days before filing; a split in between is resolved by
:mod:`broadening.providers.shares`). Falls back to ``us-gaap:CommonStockSharesOutstanding``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.schema import FUNDAMENTAL_FIELDS, empty_table

FORMS = frozenset({"10-K", "10-Q", "10-K/A", "10-Q/A", "10-KT", "10-QT", "10-KT/A", "10-QT/A"})

#: field -> (unit, concept family in priority order); debt is assembled separately.
CONCEPTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "revenue": ("USD", (
        "Revenues",
        "RevenueFromContractWithCustomerExcludingAssessedTax",
        "RevenueFromContractWithCustomerIncludingAssessedTax",
        "SalesRevenueNet",
        "SalesRevenueGoodsNet",
    )),
    "net_income": ("USD", ("NetIncomeLoss", "ProfitLoss")),
    "eps": ("USD/shares", ("EarningsPerShareDiluted", "EarningsPerShareBasicAndDiluted", "EarningsPerShareBasic")),
    "operating_income": ("USD", ("OperatingIncomeLoss",)),
    "capex": ("USD", ("PaymentsToAcquirePropertyPlantAndEquipment", "PaymentsToAcquireProductiveAssets")),
    "book_equity": ("USD", (
        "StockholdersEquity",
        "StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest",
    )),
}
FLOWS = ("revenue", "net_income", "eps", "operating_income", "capex")
STOCKS = ("book_equity",)
DEBT_NONCURRENT = ("LongTermDebtNoncurrent", "LongTermDebtAndCapitalLeaseObligations",
                   "ConvertibleDebtNoncurrent", "ConvertibleNotesPayable")
DEBT_CURRENT = "DebtCurrent"
DEBT_CURRENT_PARTS = ("LongTermDebtCurrent", "ShortTermBorrowings", "CommercialPaper",
                      "ConvertibleDebtCurrent", "ConvertibleNotesPayableCurrent")
DEBT_TOTAL_LT = "LongTermDebt"
DEBT_SHORT_PARTS = ("ShortTermBorrowings", "CommercialPaper")
DEBT_CONCEPTS = tuple(dict.fromkeys((*DEBT_NONCURRENT, DEBT_CURRENT, *DEBT_CURRENT_PARTS, DEBT_TOTAL_LT)))

_Q = (80, 100)  # days in a reported quarter
_STEP = (75, 105)  # days between consecutive year-to-date ends

#: period end -> (value, date it became known)
Known = dict[pd.Timestamp, tuple[float, pd.Timestamp]]


def facts_frame(data: dict, concept: str, unit: str, taxonomy: str = "us-gaap") -> pd.DataFrame:
    """The facts of one concept/unit from 10-K/10-Q filings as a frame
    (``start, end, val, filed, accn, form``)."""
    node = data.get("facts", {}).get(taxonomy, {}).get(concept, {})
    items = node.get("units", {}).get(unit, []) if isinstance(node, dict) else []
    if not items:
        return pd.DataFrame(columns=["start", "end", "val", "filed", "accn", "form"])
    df = pd.DataFrame(items)
    for c in ("start", "frame", "form", "accn"):
        if c not in df:
            df[c] = None
    df = df[df["form"].isin(FORMS)]
    out = pd.DataFrame(
        {
            "start": pd.to_datetime(df["start"], errors="coerce"),
            "end": pd.to_datetime(df["end"], errors="coerce"),
            "val": pd.to_numeric(df["val"], errors="coerce"),
            "filed": pd.to_datetime(df["filed"], errors="coerce"),
            "accn": df["accn"].astype(str),
            "form": df["form"],
        }
    )
    return out[out["end"].notna() & out["val"].notna() & out["filed"].notna()].reset_index(drop=True)


def _family(data: dict, concepts: tuple[str, ...], unit: str) -> pd.DataFrame:
    """The facts of every concept of a family, with the concept's rank in ``prio``."""
    frames = []
    for i, c in enumerate(concepts):
        f = facts_frame(data, c, unit)
        if len(f):
            frames.append(f.assign(prio=i))
    if not frames:
        return pd.DataFrame(columns=["start", "end", "val", "filed", "accn", "form", "prio"])
    return pd.concat(frames, ignore_index=True)


def _first_reported(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per period, the value of the earliest filing (within a filing, the earlier concept)."""
    order = [c for c in ("filed", "prio", "accn") if c in df.columns]
    return df.sort_values(order, kind="mergesort").drop_duplicates(keys, keep="first")


def flow_quarters(df: pd.DataFrame) -> Known:
    """Quarter end -> (quarter value, date known) from the duration facts of one family."""
    df = df[df["start"].notna()]
    if df.empty:
        return {}
    df = _first_reported(df, ["start", "end"])
    days = (df["end"] - df["start"]).dt.days
    q: dict[pd.Timestamp, tuple[float, pd.Timestamp, pd.Timestamp | None]] = {}  # end -> (val, known, start)
    for r in df[(days >= _Q[0]) & (days <= _Q[1])].itertuples():
        if r.end not in q or r.filed < q[r.end][1]:
            q[r.end] = (float(r.val), r.filed, r.start)
    # year-to-date differencing: same start, ends one quarter apart
    ytd = {(r.start, r.end): (float(r.val), r.filed) for r in df.itertuples()}
    by_start: dict[pd.Timestamp, list[pd.Timestamp]] = {}
    for s, e in ytd:
        by_start.setdefault(s, []).append(e)
    for s, ends in by_start.items():
        ends = sorted(ends)
        for prev, cur in zip(ends[:-1], ends[1:], strict=False):
            if cur in q or not (_STEP[0] <= (cur - prev).days <= _STEP[1]):
                continue
            v1, f1 = ytd[(s, cur)]
            v0, f0 = ytd[(s, prev)]
            q[cur] = (v1 - v0, max(f0, f1), prev + pd.Timedelta(days=1))
    # annual minus three known quarters
    annual = df[(days >= 350) & (days <= 380)].sort_values("filed", kind="mergesort")
    for r in annual.itertuples():
        if r.end in q:
            continue
        inside = [
            v for e, v in q.items()
            if v[2] is not None and v[2] >= r.start - pd.Timedelta(days=7) and r.start < e < r.end - pd.Timedelta(days=60)
        ]
        if len(inside) == 3:
            q[r.end] = (float(r.val) - sum(v[0] for v in inside), max([r.filed] + [v[1] for v in inside]), None)
    return {e: (v[0], v[1]) for e, v in q.items()}


def instants(df: pd.DataFrame) -> Known:
    """Period end -> (balance, date known) from the instant facts of one family."""
    df = df[df["start"].isna()] if "start" in df else df
    if df.empty:
        return {}
    df = _first_reported(df, ["end"])
    return {r.end: (float(r.val), r.filed) for r in df.itertuples()}


def _filing_debt(vals: dict[str, float]) -> float:
    """Total debt from the instants one filing reports for one date (see the module notes).

    ``vals`` holds at least one of :data:`DEBT_CONCEPTS`, so one of the rules below applies.
    """
    nc = next((vals[c] for c in DEBT_NONCURRENT if c in vals), None)
    if nc is not None:
        if DEBT_CURRENT in vals:
            return nc + vals[DEBT_CURRENT]
        parts = {vals[c] for c in DEBT_CURRENT_PARTS if c in vals}  # one borrowing tagged twice counts once
        return nc + sum(parts)
    if DEBT_TOTAL_LT in vals:
        return vals[DEBT_TOTAL_LT] + sum({vals[c] for c in DEBT_SHORT_PARTS if c in vals})
    if DEBT_CURRENT in vals:
        return vals[DEBT_CURRENT]
    return sum({vals[c] for c in DEBT_CURRENT_PARTS if c in vals})


def debt(data: dict) -> Known:
    """Period end -> (total debt, date known), assembled within each filing."""
    frames = [facts_frame(data, c, "USD").assign(concept=c) for c in DEBT_CONCEPTS]
    frames = [f for f in frames if len(f)]
    if not frames:
        return {}
    df = pd.concat(frames, ignore_index=True)
    df = df[df["start"].isna()].sort_values(["filed", "accn"], kind="mergesort")
    out: Known = {}
    for (end, _accn), g in df.groupby(["end", "accn"], sort=False):
        if end in out:
            continue  # an earlier filing already reported this date
        total = _filing_debt(dict(zip(g["concept"], g["val"].astype(float), strict=False)))
        out[end] = (float(total), g["filed"].iloc[0])
    return out


def period_ends(data: dict) -> set[pd.Timestamp]:
    """Each 10-K/10-Q filing's own period end (the latest ``end`` among its mapped facts)."""
    ends: dict[str, pd.Timestamp] = {}
    concepts = {c for _, cs in CONCEPTS.values() for c in cs} | set(DEBT_CONCEPTS)
    gaap = data.get("facts", {}).get("us-gaap", {})
    for concept in concepts:
        node = gaap.get(concept)
        if isinstance(node, dict):
            for items in (node.get("units", {}) or {}).values():
                for it in items:
                    if it.get("form") in FORMS and it.get("accn") and it.get("end"):
                        e = pd.Timestamp(it["end"])
                        a = it["accn"]
                        if a not in ends or e > ends[a]:
                            ends[a] = e
    return set(ends.values())


def field_values(data: dict) -> dict[str, Known]:
    """Every fundamental field as period end -> (value, date first known)."""
    fields: dict[str, Known] = {}
    for f in FLOWS:
        unit, concepts = CONCEPTS[f]
        fields[f] = flow_quarters(_family(data, concepts, unit))
    for f in STOCKS:
        unit, concepts = CONCEPTS[f]
        fields[f] = instants(_family(data, concepts, unit))
    fields["total_debt"] = debt(data)
    return fields


def quarterly_fundamentals(data: dict, security_id: str, *, late: list | None = None) -> pd.DataFrame:
    """Canonical ``fundamentals`` rows (one per fiscal quarter) from company facts.

    Parameters
    ----------
    late : list, optional
        Receives ``(period_end, field, date known)`` for each value left blank because it
        was first reported after its quarter's row became available.
    """
    fields = field_values(data)
    quarter_ends = set().union(*(fields[f].keys() for f in FLOWS)) | period_ends(data)
    rows = []
    for e in sorted(quarter_ends):
        vals = {f: fields[f].get(e) for f in FUNDAMENTAL_FIELDS}
        known = [v[1] for v in vals.values() if v is not None]
        if not known:
            continue
        avail = min(known)
        row = {"security_id": security_id, "period_end": e, "available_date": max(avail, e)}
        for f, v in vals.items():
            if v is not None and v[1] > avail:
                if late is not None:
                    late.append((e, f, v[1]))
                v = None
            row[f] = v[0] if v is not None else np.nan
        rows.append(row)
    if not rows:
        return empty_table("fundamentals")
    return pd.DataFrame(rows, columns=["security_id", "period_end", "available_date", *FUNDAMENTAL_FIELDS])


def shares_outstanding(data: dict, security_id: str) -> pd.DataFrame:
    """Cover-page shares outstanding dated by filing date: canonical ``shares`` columns plus
    ``as_of`` (the date the cover states the count for)."""
    df = facts_frame(data, "EntityCommonStockSharesOutstanding", "shares", taxonomy="dei")
    if df.empty:
        df = facts_frame(data, "CommonStockSharesOutstanding", "shares")
        df = df[df["start"].isna()]
    if df.empty:
        return empty_table("shares").assign(as_of=pd.Series(dtype="datetime64[ns]"))
    # one filing may report several share classes (same accn and as-of date): add them up
    per_filing = (
        df.drop_duplicates(["accn", "end", "val"])
        .groupby(["accn", "end"], as_index=False)
        .agg(val=("val", "sum"), filed=("filed", "min"))
    )
    # the latest as-of date in each filing is the cover count (older ends are comparatives)
    per_filing = per_filing.sort_values("end").drop_duplicates("accn", keep="last")
    per_date = per_filing.sort_values(["filed", "end"]).drop_duplicates("filed", keep="last")
    per_date = per_date[per_date["val"] >= 0]
    return pd.DataFrame(
        {"security_id": security_id, "date": per_date["filed"].to_numpy(),
         "shares_outstanding": per_date["val"].to_numpy(dtype=float), "as_of": per_date["end"].to_numpy()}
    ).reset_index(drop=True)
