"""``broadening check``: clean on the synthetic market, non-zero with --strict on a planted
defect, JSON output."""

from __future__ import annotations

import json

import pandas as pd

from broadening.warehouse import Warehouse


def test_check_finds_nothing_on_the_synthetic_market(run, tiny_warehouse, capsys, monkeypatch):
    monkeypatch.setenv("BROADENING_WAREHOUSE", str(tiny_warehouse))
    code, out, _ = run(capsys, "check", "--strict")
    assert code == 0 and "no findings" in out
    code, out, _ = run(capsys, "check", "--json")
    data = json.loads(out)
    assert data["ok"] is True and set(data["counts"]) >= {"cap_jump", "shares_disagree"}


def test_strict_check_fails_on_a_planted_split_defect(run, tiny_synthetic, tmp_path, capsys, monkeypatch):
    tables = {k: v.copy() for k, v in tiny_synthetic.tables.items()}
    p = tables["prices"]
    sid = p["security_id"].iloc[0]
    day = p.loc[p["security_id"] == sid, "date"].iloc[100]
    m = (p["security_id"] == sid) & (p["date"] >= day)
    p.loc[m, "close"] = p.loc[m, "close"] / 10  # a 10:1 split the share count never saw
    path = tmp_path / "bad.duckdb"
    with Warehouse(path) as wh:
        wh.ingest(tables, source="synthetic", synthetic=True, replace=True, meta=tiny_synthetic.meta)
    monkeypatch.setenv("BROADENING_WAREHOUSE", str(path))
    code, out, err = run(capsys, "check", "--strict")
    assert code == 1 and "check failed" in err
    assert f"cap_jump {sid}" in " ".join(out.split())
    code, out, _ = run(capsys, "check", "--json")
    assert code == 0
    f = json.loads(out)["findings"]
    assert [(x["check"], x["item"], x["date"]) for x in f] == [("cap_jump", str(sid), str(pd.Timestamp(day).date()))]


def test_more_than_fifty_findings_are_counted_not_all_listed(run, make_tables, tmp_path, capsys, monkeypatch):
    # 53 index members that were never priced (e.g. a membership file wider than the price files)
    t = make_tables({"A": [10.0] * 10})
    ghosts = [f"G{i:02d}" for i in range(53)]
    t["securities"] = pd.concat([t["securities"], pd.DataFrame({"security_id": ghosts, "ticker": ghosts})])
    t["membership"] = pd.concat([t["membership"], pd.DataFrame(
        {"index_id": "sp500", "security_id": ghosts, "start": pd.Timestamp("2024-01-01"), "end": pd.NaT})])
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        wh.ingest(t, source="csv:/mine")
    monkeypatch.setenv("BROADENING_WAREHOUSE", str(path))
    code, out, _ = run(capsys, "check")
    assert code == 0
    flat = " ".join(out.split())
    assert "member_without_price G49 (sp500): 10 of 10 member days without a price (never priced)" in flat
    assert "G50 (sp500)" not in flat and "... and 3 more (--json lists all)" in flat
