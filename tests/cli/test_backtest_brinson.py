"""``broadening backtest``: the Brinson-Fachler attribution in the table and the JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd


def test_json_brinson_explains_the_active_return(run, tiny_warehouse, tmp_path, capsys):
    out_csv = tmp_path / "r.csv"
    code, out, err = run(capsys, "-w", str(tiny_warehouse), "backtest", "--json", "--start", "2021-01-01",
                         "--returns-out", str(out_csv))
    assert code == 0, err
    data = json.loads(out)
    r = pd.read_csv(out_csv)
    active = float(np.prod(1 + r["playbook"]) - np.prod(1 + r["cap_weight"]))
    assert set(data["brinson"]) == {"sector", "sleeve"}
    for by, att in data["brinson"].items():
        tot = att["totals"]
        assert att["linking"] == "carino"
        assert abs(tot["active_return"] - active) < 1e-9, by
        assert abs(tot["allocation"] + tot["selection"] + tot["interaction"] + tot["costs"] - active) < 1e-9, by
        assert abs(sum(g["total"] for g in att["groups"].values()) + tot["costs"] - active) < 1e-9, by
    assert "cash" in data["brinson"]["sector"]["groups"]


def test_table_shows_the_attribution(run, tiny_warehouse, capsys):
    code, out, err = run(capsys, "-w", str(tiny_warehouse), "backtest", "--start", "2023-01-01")
    assert code == 0, err
    assert "active return vs cap_weight by sector" in out and "active return vs cap_weight by sleeve" in out
    assert "Brinson-Fachler" in out
