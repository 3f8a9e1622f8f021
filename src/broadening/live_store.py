"""The warehouse side of a live pull: resume state, raw share counts and split events kept
beside the canonical tables, share counts re-based under the policy, and merges that never
blank what another source stored. Used by :mod:`broadening.live` only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd

from broadening.audit import RAW_COUNTS_TABLE, SPLITS_TABLE  # noqa: F401  (every source's raw counts; splits)
from broadening.providers.shares import empty_splits
from broadening.providers.shares import reconcile as reconcile_shares
from broadening.schema import TABLES, empty_table

STATE_TABLE = "_pull_state"
RUN_ITEM = "__run__"


# -- pull state ------------------------------------------------------------------------------
def ensure_state(wh) -> None:
    wh.con.execute(
        f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (run VARCHAR, source VARCHAR, item VARCHAR, "
        "status VARCHAR, detail VARCHAR, updated_at TIMESTAMP)"
    )


def state_done(wh, run: str) -> tuple[bool, set[tuple[str, str]]]:
    rows = wh.con.execute(f"SELECT source, item, status FROM {STATE_TABLE} WHERE run = ?", [run]).fetchall()
    running = any(it == RUN_ITEM and st == "running" for _, it, st in rows)
    return running, {(s, it) for s, it, st in rows if st == "ok" and it != RUN_ITEM}


def state_write(wh, run: str, source: str, items: dict[str, tuple[str, str]]) -> None:
    if not items:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    df = pd.DataFrame(
        [(run, source, it, st, det[:500], now) for it, (st, det) in items.items()],
        columns=["run", "source", "item", "status", "detail", "updated_at"],
    )
    wh.con.register("_ps", df)
    try:
        with wh.transaction():
            wh.con.execute(
                f"DELETE FROM {STATE_TABLE} t USING _ps p WHERE t.run = p.run AND t.source = p.source AND t.item = p.item"
            )
            wh.con.execute(f"INSERT INTO {STATE_TABLE} SELECT * FROM _ps")
    finally:
        wh.con.unregister("_ps")


def merge_securities(wh, incoming: pd.DataFrame) -> pd.DataFrame:
    """Incoming securities rows with blanks filled from the stored rows (never blank a field)."""
    cols = [c.name for c in TABLES["securities"].columns]
    inc = incoming.copy()
    for c in cols:
        if c not in inc:
            inc[c] = None
    inc = inc[cols].drop_duplicates("security_id", keep="last").set_index("security_id")
    ids = list(inc.index)
    if not ids:
        return incoming
    stored = wh.con.execute(
        "SELECT * FROM securities WHERE security_id IN (SELECT * FROM UNNEST(?))", [ids]
    ).df()
    if stored.empty:
        return inc.reset_index()
    stored = stored.set_index("security_id").reindex(inc.index)
    merged = inc.astype(object).where(inc.notna(), stored.astype(object))
    # is_bdc defaults to False: a stored True survives an incoming default
    merged["is_bdc"] = inc["is_bdc"].fillna(False).astype(bool) | stored["is_bdc"].fillna(False).astype(bool)
    return merged.reset_index()


def ensure_side_tables(wh) -> None:
    """Raw share counts per source and split events, kept beside the canonical tables."""
    wh.con.execute(f"CREATE TABLE IF NOT EXISTS {RAW_COUNTS_TABLE} (security_id VARCHAR, source VARCHAR, "
                   "date DATE, as_of DATE, shares_outstanding DOUBLE)")
    wh.con.execute(f"CREATE TABLE IF NOT EXISTS {SPLITS_TABLE} (security_id VARCHAR, date DATE, ratio DOUBLE)")


def replace_rows(wh, table: str, where: str, params: list, df: pd.DataFrame) -> None:
    wh.con.register("_side", df)
    try:
        with wh.transaction():
            wh.con.execute(f"DELETE FROM {table} WHERE {where}", params)
            if len(df):
                wh.con.execute(f"INSERT INTO {table} SELECT * FROM _side")
    finally:
        wh.con.unregister("_side")


def store_raw_counts(wh, source: str, ids: Sequence[str], counts: dict[str, pd.DataFrame]) -> None:
    if not ids:
        return
    frames = []
    for sid in ids:
        c = counts.get(sid)
        if c is not None and len(c):
            as_of = c["as_of"] if "as_of" in c else c["date"]
            frames.append(pd.DataFrame({"security_id": sid, "source": source, "date": pd.to_datetime(c["date"]),
                                        "as_of": pd.to_datetime(as_of), "shares_outstanding": c["shares_outstanding"].astype(float)}))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"security_id": [], "source": [], "date": pd.to_datetime([]), "as_of": pd.to_datetime([]), "shares_outstanding": []})
    replace_rows(wh, RAW_COUNTS_TABLE, "source = ? AND security_id IN (SELECT * FROM UNNEST(?))", [source, list(ids)], df)


def store_splits(wh, ids: Sequence[str], splits: pd.DataFrame) -> None:
    if ids:
        df = splits[["security_id", "date", "ratio"]] if len(splits) else empty_splits()
        replace_rows(wh, SPLITS_TABLE, "security_id IN (SELECT * FROM UNNEST(?))", [list(ids)], df)


def reconciled_shares(wh, ids: Sequence[str], early) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """SEC and Yahoo ``shares`` rows of ``ids`` under the share-count policy, and their disagreements."""
    if not ids:
        e = empty_table("shares")
        return e, e, pd.DataFrame(columns=["security_id", "date", "primary", "other", "difference"])
    raw = wh.con.execute(f"SELECT * FROM {RAW_COUNTS_TABLE} WHERE security_id IN (SELECT * FROM UNNEST(?))", [list(ids)]).df()
    spl = wh.con.execute(f"SELECT * FROM {SPLITS_TABLE} WHERE security_id IN (SELECT * FROM UNNEST(?))", [list(ids)]).df()
    for c in ("date", "as_of"):
        raw[c] = pd.to_datetime(raw[c])
    spl["date"] = pd.to_datetime(spl["date"])
    sec_sh, y_sh, disagree = reconcile_shares(raw[raw["source"] == "sec"], raw[raw["source"] == "yahoo"], spl)
    if early is not None:
        sec_sh = sec_sh[sec_sh["date"] >= early]
        y_sh = y_sh[y_sh["date"] >= early]
    return sec_sh.reset_index(drop=True), y_sh.reset_index(drop=True), disagree


def drop_stale_shares(wh, incoming: pd.DataFrame) -> None:
    """Remove stored counts of these securities that the re-based series no longer has."""
    if incoming.empty:
        return
    wh.con.register("_inc_sh", incoming[["security_id", "date"]])
    try:
        wh.con.execute(
            "DELETE FROM shares t WHERE t.security_id IN (SELECT DISTINCT security_id FROM _inc_sh) "
            "AND NOT EXISTS (SELECT 1 FROM _inc_sh i WHERE i.security_id = t.security_id AND i.date = t.date)"
        )
    finally:
        wh.con.unregister("_inc_sh")


def drop_stale_membership(wh, incoming: pd.DataFrame) -> None:
    """Remove stored intervals of the pulled securities that the new history no longer has.

    Keeps a re-pull from tripping the overlap check when the source revised an interval's
    start (e.g. a newer ``index-constitution``). Intervals still present are upserted.
    """
    if incoming.empty:
        return
    stored = wh.con.execute(
        "SELECT index_id, security_id, start FROM membership WHERE security_id IN (SELECT * FROM UNNEST(?))",
        [sorted(incoming["security_id"].unique())],
    ).df()
    if stored.empty:
        return
    stored["start"] = pd.to_datetime(stored["start"])
    key = ["index_id", "security_id", "start"]
    merged = stored.merge(incoming[key], on=key, how="left", indicator=True)
    stale = merged[merged["_merge"] == "left_only"]
    for r in stale.itertuples():
        wh.con.execute(
            "DELETE FROM membership WHERE index_id = ? AND security_id = ? AND start = ?",
            [r.index_id, r.security_id, r.start.date()],
        )


